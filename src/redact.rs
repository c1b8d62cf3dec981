//! Secret redaction for everything the tool prints.
//!
//! Command strings (and, later, transcripts) carry secrets people typed: AWS keys and session
//! tokens, bearer tokens and JWTs, private keys, `password=...`, connection strings with
//! passwords. Output replaces each with `<redacted:xxxxxxxx>`, a short stable hash of the secret,
//! so equal secrets stay joinable across rows without being shown. `--show-secrets` turns it off.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Each pattern's first capture group (or the whole match when it has none) is the secret.
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Private key blocks.
        r"(?s)(-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$))",
        // AWS secret keys and session tokens given by name (env vars, CLI flags, config lines).
        r#"(?i)(?:aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|aws_security_token)["']?\s*[=:]\s*["']?([A-Za-z0-9/+=]{16,})"#,
        // JSON Web Tokens.
        r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
        // Tokens given by name (`"Token":"..."` in credential responses, token=...).
        r#"(?i)\b(?:token|session_token|security_token)["']?\s*[=:]\s*["']?([A-Za-z0-9/+=._-]{16,})"#,
        // AWS STS session tokens by their prefixes.
        r"\b((?:IQoJ|FwoG|FQoG)[A-Za-z0-9/+=]{16,})",
        // Bearer / token authorization values.
        r"(?i)\b(?:bearer|token)\s+([A-Za-z0-9._~+/-]{16,}=*)",
        // Passwords and secrets given by name.
        r#"(?i)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token)["']?\s*[=:]\s*["']?([^\s"'&;]{3,})"#,
        // MySQL-style -pPASSWORD and --password PASSWORD.
        r"(?:^|\s)-p([^\s-][^\s]{2,})",
        r"(?i)--password[= ]([^\s]{3,})",
        // Credentials in URLs / connection strings: scheme://user:PASSWORD@host.
        r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s@/]{1,})@",
        // GitHub, Slack and similar high-entropy tokens by prefix.
        r"\b((?:ghp|gho|ghu|ghs|ghr|github_pat|xox[abprs])[_-][A-Za-z0-9_-]{16,})",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("redaction patterns compile"))
    .collect()
});

/// Short stable hash of a secret (FNV-1a 64, first 8 hex digits).
pub fn fingerprint(secret: &str) -> String {
    let h = secret.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", h >> 32)
}

/// Replaces every secret in `text` with `<redacted:hash>`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for re in PATTERNS.iter() {
        if !re.is_match(&out) {
            continue;
        }
        let replaced = re
            .replace_all(&out, |c: &regex::Captures| {
                let whole = c.get(0).expect("match");
                let secret = c.get(1).unwrap_or(whole);
                let (a, b) = (secret.start() - whole.start(), secret.end() - whole.start());
                let w = whole.as_str();
                format!(
                    "{}<redacted:{}>{}",
                    &w[..a],
                    fingerprint(secret.as_str()),
                    &w[b..]
                )
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_common_secrets_and_keeps_the_rest() {
        let cases = [
            ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
            ("curl -H 'Authorization: Bearer abcdefghijklmnop1234567890'", "abcdefghijklmnop"),
            ("mysql -u root -pS3cretPass db", "S3cretPass"),
            ("psql postgres://app:hunter22@db.internal:5432/app", "hunter22"),
            ("echo password=letmein123", "letmein123"),
            (r#"{"AccessKeyId":"ASIA5EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","Token":"IQoJb3JpZ2luX2VjEXAMPLETOKEN"}"#, "IQoJb3JpZ2lu"),
            ("tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{text} -> {r}");
            assert!(r.contains("<redacted:"), "{text} -> {r}");
        }
        assert_eq!(redact("/bin/sh"), "/bin/sh");
        assert_eq!(redact("sh -c 'ls -la /app'"), "sh -c 'ls -la /app'");
    }

    #[test]
    fn equal_secrets_get_equal_marks() {
        let a = redact("password=abc123xyz");
        let b = redact("PASSWORD: abc123xyz");
        let mark = |s: &str| s[s.find("<redacted:").unwrap()..].to_owned();
        assert_eq!(mark(&a), mark(&b));
    }
}

//! Secret redaction for everything the tool prints.
//!
//! Commands, their output and CloudTrail fields carry secrets people typed or printed: AWS keys
//! and session tokens, bearer and basic credentials, JWTs, private keys, `password=...`,
//! connection strings and `curl -u user:pw`. Output replaces each with `<redacted:xxxxxxxx>`,
//! a short stable hash of the secret, so equal secrets stay joinable across rows without being
//! shown. `--show-secrets` turns it off. One `RegexSet` pass tells which patterns can match, so
//! text without secrets (nearly all of it) costs one scan.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// Each pattern's first capture group (or the whole match when it has none) is the secret.
const PATTERNS: &[&str] = &[
    // Private key blocks (a block cut off by the end of the text too).
    r"(?s)(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$))",
    // AWS secret keys and session tokens given by name (env vars, CLI flags, config lines).
    r#"(?i)(?:aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|aws_security_token)["']?\s*[=:]\s*["']?([A-Za-z0-9/+=]{16,})"#,
    // ... and after a space (`aws configure set aws_secret_access_key VALUE`; not a path).
    r#"(?i)(?:aws_secret_access_key|aws_session_token|aws_security_token)["']?[ \t]+["']?([A-Za-z0-9+=][A-Za-z0-9/+=]{15,})"#,
    // JSON Web Tokens.
    r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
    // Tokens given by name (`"Token":"..."` in credential responses, token=...).
    r#"(?i)\b(?:token|session_token|security_token)["']?\s*[=:]\s*["']?([A-Za-z0-9/+=._-]{16,})"#,
    // AWS STS session tokens by their prefixes.
    r"\b((?:IQoJ|FwoG|FQoG)[A-Za-z0-9/+=]{16,})",
    // Bearer / token authorization values.
    r"(?i)\b(?:bearer|token)\s+([A-Za-z0-9._~+/-]{16,}=*)",
    // Authorization headers of other schemes (Basic, Digest, NTLM, Negotiate).
    r"(?i)authorization:\s*(?:basic|digest|ntlm|negotiate)\s+([A-Za-z0-9+/=._-]{4,})",
    // API keys in headers (`X-Api-Key: ...`, `Private-Token: ...`).
    r"(?i)\b(?:x-api-key|api-key|private-token|x-auth-token)\s*:\s*([^\s'\x22]{8,})",
    // Passwords and secrets given by name, with an ending that still names a secret
    // (`APP_SECRET_KEY=`, `DB_PASSWORD_PROD:`); not `SECRET_NAME=`, `DB_SECRET_ARN=`,
    // `PASSWORD_FILE=`, `secretsmanager:`, which name where a secret is, not the secret.
    // (A Secrets Manager ARN's `:secret:NAME` is a name, not the secret.)
    r#"(?i)(?:^|[^:])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)(?:_(?:key|token|value|pass|prod|production|staging|stage|dev|test|live|[0-9]+))*["']?\s*[=:]\s*["']?([^\s"'&;]{3,})"#,
    // `redis-cli -a PASSWORD` (and `--pass`).
    r#"(?i)\bredis-cli\b[^|;&\n]*?\s(?:-a|--pass)\s+['"]?([^\s'"]{3,})"#,
    // MySQL-style -pPASSWORD, and `sshpass -p PASSWORD`.
    r"(?:^|\s)-p([^\s-][^\s]{2,})",
    r"(?i)\bsshpass\s+(?:-\w+\s+)*-p\s*([^\s]{3,})",
    r"(?i)--password[= ]([^\s]{3,})",
    // `curl -u user:pw`, `--user user:pw`, `wget --http-password`.
    r#"(?:^|\s)(?:-u|--user|--proxy-user)\s*['"]?[^\s:'"]*:([^\s'"@]{3,})"#,
    r"(?i)--(?:http-|ftp-|proxy-)?password[= ]([^\s]{3,})",
    // Credentials in URLs / connection strings: scheme://user:PASSWORD@host, and the empty
    // user of `redis://:PASSWORD@host`.
    r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:([^\s@/]{1,})@",
    // GitHub, Slack, GitLab, Stripe-like and similar high-entropy tokens by prefix.
    r"\b((?:ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abprs]|sk_live|rk_live)[_-][A-Za-z0-9_-]{16,})",
];

static SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(PATTERNS).expect("redaction patterns compile"));
static EACH: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PATTERNS
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
    let hits = SET.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for i in hits.iter() {
        let re = &EACH[i];
        let replaced = re
            .replace_all(&out, |c: &regex::Captures| {
                let whole = c.get(0).expect("match");
                let secret = c.get(1).unwrap_or(whole);
                let (a, b) = (secret.start() - whole.start(), secret.end() - whole.start());
                let w = whole.as_str();
                if secret.as_str().starts_with("<redacted:") {
                    return w.to_owned();
                }
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

/// The private key blocks among `lines`, as inclusive line ranges (a block the text cuts off
/// runs to its end): each line of one is a secret though none looks like one alone.
pub fn key_blocks(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, l) in lines.iter().enumerate() {
        if l.contains("-----BEGIN ") && l.contains("PRIVATE KEY-----") {
            start.get_or_insert(i);
        }
        if l.contains("-----END ") && l.contains("PRIVATE KEY-----") {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
        }
    }
    if let Some(s) = start {
        out.push((s, lines.len().saturating_sub(1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secret shapes (the secret part must disappear) and look-alikes that must stay as
    /// they are: triage commands mention "password" and "token" without carrying one.
    #[test]
    fn the_secret_corpus_is_redacted_and_the_look_alikes_are_not() {
        let secrets = [
            ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
            ("aws_session_token = IQoJb3JpZ2luX2VjEXAMPLETOKEN1234", "IQoJb3JpZ2lu"),
            ("curl -H 'Authorization: Bearer abcdefghijklmnop1234567890'", "abcdefghijklmnop"),
            ("curl -H 'Authorization: Basic dXNlcjpodW50ZXIy' https://api", "dXNlcjpodW50ZXIy"),
            ("curl -H \"X-Api-Key: 9f8e7d6c5b4a39281706\" https://api", "9f8e7d6c5b4a"),
            ("curl -u admin:hunter22 https://nexus.internal/", "hunter22"),
            ("curl --user deploy:S3cr3tPw https://x", "S3cr3tPw"),
            ("sshpass -p 'Passw0rd!' ssh root@10.0.0.5", "Passw0rd"),
            ("sshpass -p Passw0rd ssh root@10.0.0.5", "Passw0rd"),
            ("mysql -u root -pS3cretPass db", "S3cretPass"),
            ("mysql --password=S3cretPass db", "S3cretPass"),
            ("psql postgres://app:hunter22@db.internal:5432/app", "hunter22"),
            ("redis-cli -u redis://:r3d1sPw@cache:6379 ping", "r3d1sPw"),
            ("mongosh mongodb+srv://svc:m0ng0pw@cluster0.example.net/db", "m0ng0pw"),
            ("echo password=letmein123", "letmein123"),
            ("DB_PASSWORD: 'hunter2hunter2'", "hunter2hunter2"),
            ("client_secret=abcDEF123456", "abcDEF123456"),
            (r#"{"AccessKeyId":"ASIA5EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","Token":"IQoJb3JpZ2luX2VjEXAMPLETOKEN"}"#, "IQoJb3JpZ2lu"),
            ("tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "b3BlbnNzaC1rZXk"),
            ("git clone https://ghp_0123456789abcdefABCDEF0123@github.com/o/r", "ghp_0123456789"),
            ("export GITLAB_TOKEN=glpat-0123456789abcdefghij", "glpat-0123456789"),
            // Names with an ending of their own, a key after a space, redis-cli's -a.
            ("APP_SECRET_KEY=EnvSecret7", "EnvSecret7"),
            ("SECRET_KEY=django-insecure-k3y", "django-insecure"),
            ("DB_PASSWORD_PROD: hunter2x", "hunter2x"),
            ("export STRIPE_API_KEY_LIVE=abc123def456", "abc123def456"),
            ("aws configure set aws_secret_access_key SECRETACCESSKEYVALUE2", "SECRETACCESSKEYVALUE2"),
            ("redis-cli -a RedisPassXYZ ping", "RedisPassXYZ"),
            ("redis-cli -h cache -p 6379 -a 'RedisPassXYZ' --no-auth-warning ping", "RedisPassXYZ"),
        ];
        for (text, secret) in secrets {
            let r = redact(text);
            assert!(!r.contains(secret), "{text} -> {r}");
            assert!(r.contains("<redacted:"), "{text} -> {r}");
        }
        let look_alikes = [
            "/bin/sh",
            "sh -c 'ls -la /app'",
            "grep -ri password /etc/app/config.yml",
            "cat /run/secrets/ | wc -l",
            "env | grep -c TOKEN",
            "kubectl get secret -n app",
            "aws secretsmanager list-secrets",
            "curl -s http://localhost:8080/health",
            "ps aux | grep -v grep",
            "tail -n 100 /var/log/app.log",
            "mount | grep -p",
            "ls -p /tmp",
            "psql -h db -U app -c 'select 1'",
            "redis-cli -h cache ping",
            "curl -u admin https://nexus.internal/",
            "echo $PASSWORD_FILE",
            "python3 manage.py changepassword alice",
            "ls -a /tmp",
            "aws configure get aws_secret_access_key",
            "redis-cli -h cache info | grep -a used_memory",
            "export SECRET_NAME=prod/db/creds",
            "DB_SECRET_ARN=arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbC",
            "PASSWORD_FILE=/run/secrets/db",
            "PASSWORD_MIN_LENGTH=12",
            "aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbC",
            "User is not authorized to perform: secretsmanager:GetSecretValue",
            "secretKeyRef:",
            "grep -r aws_secret_access_key /home/appuser/config",
        ];
        for text in look_alikes {
            assert_eq!(redact(text), text, "{text}");
        }
    }

    #[test]
    fn equal_secrets_get_equal_marks() {
        let a = redact("password=abc123xyz");
        let b = redact("PASSWORD: abc123xyz");
        let mark = |s: &str| s[s.find("<redacted:").unwrap()..].to_owned();
        assert_eq!(mark(&a), mark(&b));
    }

    #[test]
    fn key_blocks_are_found_whole_or_cut_off() {
        let lines = [
            "a",
            "-----BEGIN EC PRIVATE KEY-----",
            "x",
            "-----END EC PRIVATE KEY-----",
            "b",
            "-----BEGIN PRIVATE KEY-----",
            "y",
        ];
        assert_eq!(key_blocks(&lines), [(1, 3), (5, 6)]);
    }
}

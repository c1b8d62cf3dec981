//! Reading the detection's TOML files (rules, policy) so that every mistake is reported with the
//! file, the line and the field it is in, before any data is read.

use std::fmt;
use std::ops::Range;

/// A problem in a rule or policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file as the user named it (shipped rules: `queries/rules/...`).
    pub file: String,
    /// 1-based line; 0 when the problem is the whole file (unreadable).
    pub line: usize,
    /// The field (`match.any`, `severity`, `scope[2].timezone`, ...), empty when none applies.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.file, self.message),
            (0, false) => write!(f, "{}: {}: {}", self.file, self.field, self.message),
            (l, true) => write!(f, "{}:{l}: {}", self.file, self.message),
            (l, false) => write!(f, "{}:{l}: {}: {}", self.file, self.field, self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// A TOML document being read: its name and text, to turn byte spans into lines and fields.
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span` about `field`.
    pub fn error(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: self.file.to_owned(),
            line: self.line_of(span.start),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Deserialises the document; a syntax error, a missing or unknown field or a wrong type
    /// becomes a [`FileError`] with the line and the dotted field it is in.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_owned();
            let line = if e.span().is_some() {
                self.line_of(span.start)
            } else {
                0
            };
            FileError {
                file: self.file.to_owned(),
                line,
                field: if e.span().is_some() {
                    self.field_at(span.start, &message)
                } else {
                    String::new()
                },
                message,
            }
        })
    }

    /// The dotted name of the key at (or whose value is at) `offset`: the nearest `[table]`
    /// header above joined with the key on that line. Unknown-field messages name the key
    /// themselves; this is for the line's own key.
    fn field_at(&self, offset: usize, message: &str) -> String {
        let before = &self.text[..offset.min(self.text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let line = self.text[line_start..line_end].trim();
        let mut table = String::new();
        for l in self.text[..line_start].lines().rev() {
            let l = l.trim();
            if l.starts_with('[') {
                table = l.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
                break;
            }
        }
        let key = if line.starts_with('[') {
            // The error is about a whole table (a missing field, an unknown table).
            table = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            String::new()
        } else {
            line.split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        // `unknown field `x``/`missing field `x``: the message names the field itself.
        let named = message.split('`').nth(1).filter(|_| {
            message.starts_with("unknown field") || message.starts_with("missing field")
        });
        let key = named.map(str::to_owned).unwrap_or(key);
        match (table.is_empty(), key.is_empty()) {
            (true, _) => key,
            (false, true) => table,
            (false, false) => format!("{table}.{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        id: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn err(text: &str) -> FileError {
        Source {
            file: "f.toml",
            text,
        }
        .parse::<Doc>()
        .unwrap_err()
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = err("id = \"x\"\n[inner]\nn = 1\nm = 2\n");
        assert_eq!((e.line, e.field.as_str()), (4, "inner.m"), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
        let e = err("id = \"x\"\n[inner]\nn = \"one\"\n");
        assert_eq!((e.line, e.field.as_str()), (3, "inner.n"), "{e}");
        let e = err("id = \"x\"\n[inner]\n");
        assert!(e.message.contains("missing field `n`"), "{e}");
        assert_eq!(e.field, "inner.n", "{e}");
        assert_eq!(
            e.to_string(),
            format!("f.toml:{}: inner.n: {}", e.line, e.message)
        );
        let e = err("id = \n");
        assert_eq!(e.line, 1, "{e}");
    }
}

//! Output: one renderer per format over any [`Table`]. Results go to stdout; the caller prints
//! diagnostics to stderr. Text that may hold secrets is redacted here, at the edge, unless the
//! user asked to see secrets.

use std::io::{self, Write};

use serde_json::Value;

use crate::model::Table;

pub mod sarif;
use crate::redact::redact;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (long values cut).
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// Columns whose text can hold secrets typed or passed by users.
const SENSITIVE: &[&str] = &[
    "command",
    "command_overrides",
    "detail",
    "error_message",
    "evidence",
    "output_excerpt",
    "text",
];

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    pub show_secrets: bool,
}

/// Table rows as (column name, JSON value) lists, redacted as needed.
pub fn rows<T: Table>(rows: &[T], show_secrets: bool) -> (Vec<&'static str>, Vec<Vec<Value>>) {
    let names: Vec<&'static str> = T::columns().iter().map(|c| c.name).collect();
    let sensitive: Vec<bool> = names
        .iter()
        .map(|n| !show_secrets && SENSITIVE.contains(n))
        .collect();
    let values = rows
        .iter()
        .map(|r| {
            r.json_values()
                .into_iter()
                .zip(&sensitive)
                .map(|(v, &s)| match v {
                    Value::String(t) if s => Value::String(redact(&t).into_owned()),
                    v => v,
                })
                .collect()
        })
        .collect();
    (names, values)
}

/// JSON object for one row.
pub fn object(names: &[&str], values: Vec<Value>) -> Value {
    Value::Object(names.iter().map(|n| (*n).to_owned()).zip(values).collect())
}

/// Renders a table in the chosen format. `table_columns` picks the columns the `table` format
/// shows (all formats meant for programs show every column).
pub fn render<T: Table>(
    out: &mut dyn Write,
    data: &[T],
    style: Style,
    table_columns: &[&str],
) -> io::Result<()> {
    let (names, values) = rows(data, style.show_secrets);
    match style.format {
        Format::Json => {
            let arr: Vec<Value> = values.into_iter().map(|v| object(&names, v)).collect();
            serde_json::to_writer_pretty(&mut *out, &arr)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for v in values {
                serde_json::to_writer(&mut *out, &object(&names, v))?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Csv => {
            writeln!(
                out,
                "{}",
                names
                    .iter()
                    .map(|n| csv_field(n))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
            for row in values {
                writeln!(
                    out,
                    "{}",
                    row.iter()
                        .map(|v| csv_field(&plain(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
            }
            Ok(())
        }
        Format::Table => {
            let idx: Vec<usize> = if table_columns.is_empty() {
                (0..names.len()).collect()
            } else {
                table_columns
                    .iter()
                    .filter_map(|c| names.iter().position(|n| n == c))
                    .collect()
            };
            let header: Vec<String> = idx.iter().map(|&i| names[i].to_owned()).collect();
            let cells: Vec<Vec<String>> = values
                .iter()
                .map(|r| idx.iter().map(|&i| cut(&plain(&r[i]), 48)).collect())
                .collect();
            text_table(out, &header, &cells)
        }
    }
}

/// A value as plain text (strings unquoted, null empty).
pub fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cut(s: &str, max: usize) -> String {
    // One line per row: control characters become spaces.
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Aligned plain-text columns.
pub fn text_table(out: &mut dyn Write, header: &[String], cells: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let parts: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    line(out, header)?;
    for row in cells {
        line(out, row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, Timestamp};

    fn sample() -> Vec<Attempt> {
        vec![Attempt {
            event_time: Timestamp(0),
            principal: Some("bob".into()),
            command: Some("sh -c 'echo password=hunter22, done'".into()),
            error_code: Some("AccessDenied".into()),
            ..Default::default()
        }]
    }

    fn to_string(format: Format, show_secrets: bool) -> String {
        let mut out = Vec::new();
        render(
            &mut out,
            &sample(),
            Style {
                format,
                show_secrets,
            },
            &["event_time", "principal", "command"],
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_format_redacts_unless_asked() {
        for f in [Format::Table, Format::Json, Format::Jsonl, Format::Csv] {
            let text = to_string(f, false);
            assert!(
                !text.contains("hunter22") && text.contains("<redacted:"),
                "{f:?}: {text}"
            );
            assert!(to_string(f, true).contains("hunter22"), "{f:?}");
        }
    }

    #[test]
    fn csv_quotes_and_json_uses_column_names() {
        let csv = to_string(Format::Csv, true);
        assert!(csv.starts_with("event_time,account,region,principal"));
        assert!(csv.contains("\"sh -c 'echo password=hunter22, done'\""));
        let json: Value = serde_json::from_str(&to_string(Format::Json, false)).unwrap();
        assert_eq!(json[0]["error_code"], "AccessDenied");
        assert_eq!(json[0]["event_time"], "1970-01-01T00:00:00Z");
    }
}

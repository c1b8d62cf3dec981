//! JSON and JSON Lines, written row by row (never a second copy of the result), with strings
//! escaped by [`super::escape::json_str`].

use std::io::{self, Write};

use polars::prelude::DataFrame;

use super::cells::{for_each_row, Cell};
use super::escape::json_str;
use super::Document;

fn value(c: &Cell<'_>, out: &mut String) {
    match c {
        Cell::Null => out.push_str("null"),
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Int(i) => out.push_str(&i.to_string()),
        Cell::Float(f) if f.is_finite() => {
            out.push_str(&serde_json::Number::from_f64(*f).map_or("null".into(), |n| n.to_string()))
        }
        Cell::Float(_) => out.push_str("null"),
        Cell::Str(s) => json_str(s, out),
        Cell::Time(_) => json_str(&c.text(), out),
        Cell::Json(j) => out.push_str(j),
    }
}

fn names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|n| {
            let mut s = String::new();
            json_str(n, &mut s);
            s
        })
        .collect()
}

/// A pretty JSON array of objects, indented by `indent` spaces (no trailing newline).
pub fn array(
    out: &mut dyn Write,
    df: &DataFrame,
    show_secrets: bool,
    indent: usize,
) -> io::Result<()> {
    if df.height() == 0 {
        return write!(out, "[]");
    }
    write!(out, "[")?;
    let mut first = true;
    rows(out, df, show_secrets, indent, &mut first)?;
    write!(out, "\n{}]", " ".repeat(indent))
}

/// The array's objects, after its `[` (`first`: none written yet; it is cleared).
fn rows(
    out: &mut dyn Write,
    df: &DataFrame,
    show_secrets: bool,
    indent: usize,
    first: &mut bool,
) -> io::Result<()> {
    let keys = names(df);
    let pad = " ".repeat(indent);
    let mut buf = String::new();
    for_each_row(df, show_secrets, |cells| {
        buf.clear();
        buf.push_str(if *first { "\n" } else { ",\n" });
        *first = false;
        buf.push_str(&pad);
        buf.push_str("  {");
        for (i, (k, c)) in keys.iter().zip(cells).enumerate() {
            buf.push_str(if i == 0 { "\n" } else { ",\n" });
            buf.push_str(&pad);
            buf.push_str("    ");
            buf.push_str(k);
            buf.push_str(": ");
            value(c, &mut buf);
        }
        buf.push('\n');
        buf.push_str(&pad);
        buf.push_str("  }");
        out.write_all(buf.as_bytes())
    })
}

/// The first row as a pretty object at depth one (null when there is none).
fn object(out: &mut dyn Write, df: &DataFrame, show_secrets: bool) -> io::Result<()> {
    if df.height() == 0 {
        return write!(out, "null");
    }
    let keys = names(df);
    let mut buf = String::from("{");
    for_each_row(&df.head(Some(1)), show_secrets, |cells| {
        for (i, (k, c)) in keys.iter().zip(cells).enumerate() {
            buf.push_str(if i == 0 { "\n    " } else { ",\n    " });
            buf.push_str(k);
            buf.push_str(": ");
            value(c, &mut buf);
        }
        Ok(())
    })?;
    buf.push_str("\n  }");
    out.write_all(buf.as_bytes())
}

/// One object per line; `table` adds a `"table": name` key first.
pub fn lines(
    out: &mut dyn Write,
    df: &DataFrame,
    show_secrets: bool,
    table: Option<&str>,
) -> io::Result<()> {
    let keys = names(df);
    let mut prefix = String::new();
    if let Some(t) = table {
        prefix.push_str("\"table\":");
        json_str(t, &mut prefix);
    }
    let mut buf = String::new();
    for_each_row(df, show_secrets, |cells| {
        buf.clear();
        buf.push('{');
        buf.push_str(&prefix);
        for (i, (k, c)) in keys.iter().zip(cells).enumerate() {
            if i > 0 || !prefix.is_empty() {
                buf.push(',');
            }
            buf.push_str(k);
            buf.push(':');
            value(c, &mut buf);
        }
        buf.push_str("}\n");
        out.write_all(buf.as_bytes())
    })
}

/// One object: the head fields, then one array per section.
pub fn document(out: &mut dyn Write, doc: &Document, show_secrets: bool) -> io::Result<()> {
    write!(out, "{{")?;
    let mut first = true;
    for (k, v) in &doc.head {
        let mut key = String::new();
        json_str(k, &mut key);
        let text = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
        write!(
            out,
            "{}\n  {key}: {}",
            if first { "" } else { "," },
            text.replace('\n', "\n  ")
        )?;
        first = false;
    }
    for s in &doc.sections {
        let mut key = String::new();
        json_str(&s.name, &mut key);
        write!(out, "{}\n  {key}: ", if first { "" } else { "," })?;
        first = false;
        if s.single {
            object(out, &s.frame, show_secrets)?;
        } else if s.more.is_some() {
            let mut first = true;
            write!(out, "[")?;
            s.for_each_frame(|df| rows(out, df, show_secrets, 2, &mut first))?;
            if first {
                write!(out, "]")?;
            } else {
                write!(out, "\n  ]")?;
            }
        } else {
            array(out, &s.frame, show_secrets, 2)?;
        }
    }
    writeln!(out, "\n}}")
}

//! Output: documents of frames, one renderer per format. Results go to stdout; diagnostics to
//! stderr. Every string is redacted here, at the edge, unless the user asked to see secrets,
//! and made harmless for where it is read ([`escape`]).
//!
//! A [`Document`] is one or more titled sections, each a polars frame with any columns plus
//! the columns the `table` format shows by default; `query`, the listing commands, `audit`,
//! `show` and findings all render through it.

pub mod cells;
mod csv;
pub mod escape;
pub mod html;
mod json;
pub mod markdown;
mod parquet;
pub mod sarif;
pub mod svg;
mod table;
pub mod weekly;

use std::io::{self, Write};

use polars::prelude::DataFrame;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (long values cut, control characters shown as escapes).
    Table,
    /// One JSON array (an object of arrays for documents with several sections).
    Json,
    /// One JSON object per line (with a `table` key for documents with several sections).
    Jsonl,
    /// CSV with a header row (formula triggers neutralised).
    Csv,
    /// Apache Parquet (one section only; to --out FILE or a pipe).
    Parquet,
}

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    pub show_secrets: bool,
}

/// One titled frame.
pub struct Section {
    /// Key in JSON documents and the `table` value in JSON Lines.
    pub name: String,
    /// Heading in the table format.
    pub title: String,
    pub frame: DataFrame,
    /// Columns the table format shows (all when empty).
    pub table_columns: Vec<String>,
    /// Shown in the table format when the frame is empty (instead of a bare header).
    pub when_empty: Option<String>,
    /// One record: JSON documents show its first row as an object (null when empty).
    pub single: bool,
}

impl Section {
    pub fn new(name: &str, title: &str, frame: DataFrame, table_columns: &[&str]) -> Section {
        Section {
            name: name.to_owned(),
            title: title.to_owned(),
            frame,
            table_columns: table_columns.iter().map(|c| (*c).to_owned()).collect(),
            when_empty: None,
            single: false,
        }
    }
}

/// Sections plus document-level fields (a summary) for JSON.
#[derive(Default)]
pub struct Document {
    pub head: Vec<(String, serde_json::Value)>,
    pub sections: Vec<Section>,
}

/// Renders one frame (the common case: a listing) in the chosen format.
pub fn render(
    out: &mut dyn Write,
    df: &DataFrame,
    style: Style,
    table_columns: &[&str],
) -> io::Result<()> {
    match style.format {
        Format::Table => table::write(out, df, style.show_secrets, table_columns),
        Format::Json => json::array(out, df, style.show_secrets, 0).and_then(|()| writeln!(out)),
        Format::Jsonl => json::lines(out, df, style.show_secrets, None),
        Format::Csv => csv::write(out, df, style.show_secrets),
        Format::Parquet => parquet::write(out, df, style.show_secrets),
    }
}

/// Renders a document: sections under headings (table), one JSON object, tagged JSON lines.
pub fn render_document(out: &mut dyn Write, doc: &Document, style: Style) -> io::Result<()> {
    match style.format {
        Format::Table => {
            for (i, s) in doc.sections.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(out, "== {} ({}) ==", s.title, s.frame.height())?;
                match (&s.when_empty, s.frame.height()) {
                    (Some(note), 0) => writeln!(out, "{note}")?,
                    _ => {
                        let cols: Vec<&str> = s.table_columns.iter().map(String::as_str).collect();
                        table::write(out, &s.frame, style.show_secrets, &cols)?;
                    }
                }
            }
            Ok(())
        }
        Format::Json => json::document(out, doc, style.show_secrets),
        Format::Jsonl => {
            for s in &doc.sections {
                json::lines(out, &s.frame, style.show_secrets, Some(&s.name))?;
            }
            Ok(())
        }
        Format::Csv | Format::Parquet => match doc.sections.as_slice() {
            [one] => render(out, &one.frame, style, &[]),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "this output has several tables: use --format table, json or jsonl",
            )),
        },
    }
}

/// Text for people on stderr or in the table format: control characters made visible.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    escape::visible(s, false)
}

#[cfg(test)]
mod tests;

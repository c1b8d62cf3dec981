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
    /// Rows too many to hold at once, produced a frame at a time after `frame`'s (which then
    /// only gives the columns, or the first rows): see [`Chunks`].
    pub more: Option<Chunks>,
}

/// The rest of a section's rows, a frame at a time (a listing larger than memory should hold:
/// every command of a week), each rendered as it comes and dropped.
pub struct Chunks {
    /// The section's rows in all, `frame`'s included: the table format's heading says it
    /// first (other formats do not need it: 0).
    pub height: usize,
    /// The next frame, `None` after the last.
    pub next:
        std::cell::RefCell<Box<dyn FnMut() -> polars::prelude::PolarsResult<Option<DataFrame>>>>,
}

impl Section {
    /// Rows in all.
    pub fn height(&self) -> usize {
        self.more.as_ref().map_or(self.frame.height(), |m| m.height)
    }

    /// Calls `each` with `frame`, then with every frame [`Section::more`] produces.
    pub fn for_each_frame(
        &self,
        mut each: impl FnMut(&DataFrame) -> io::Result<()>,
    ) -> io::Result<()> {
        each(&self.frame)?;
        if let Some(more) = &self.more {
            let mut next = more.next.borrow_mut();
            while let Some(df) = next().map_err(io::Error::other)? {
                each(&df)?;
            }
        }
        Ok(())
    }
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
            more: None,
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
                writeln!(out, "== {} ({}) ==", s.title, s.height())?;
                match (&s.when_empty, s.height()) {
                    (Some(note), 0) => writeln!(out, "{note}")?,
                    _ => {
                        let cols: Vec<&str> = s.table_columns.iter().map(String::as_str).collect();
                        // A frame at a time: each aligned on its own, the header once.
                        let mut first = true;
                        s.for_each_frame(|df| {
                            if df.height() == 0 && !first {
                                return Ok(());
                            }
                            let header = std::mem::take(&mut first);
                            table::write_part(out, df, style.show_secrets, &cols, header)
                        })?;
                    }
                }
            }
            Ok(())
        }
        Format::Json => json::document(out, doc, style.show_secrets),
        Format::Jsonl => {
            for s in &doc.sections {
                s.for_each_frame(|df| json::lines(out, df, style.show_secrets, Some(&s.name)))?;
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

//! The table format: aligned columns for people, long values cut, one line per row, every
//! control character shown as a visible escape.

use std::io::{self, Write};

use polars::prelude::DataFrame;

use super::cells::for_each_row;
use super::escape::visible;

/// Widest a cell is shown.
const MAX_WIDTH: usize = 48;

fn cut(s: &str) -> String {
    let flat = visible(s, false);
    if flat.chars().count() <= MAX_WIDTH {
        flat.into_owned()
    } else {
        let mut t: String = flat.chars().take(MAX_WIDTH - 1).collect();
        t.push('…');
        t
    }
}

/// Writes the chosen columns (all when `columns` is empty) as an aligned table.
pub fn write(
    out: &mut dyn Write,
    df: &DataFrame,
    show_secrets: bool,
    columns: &[&str],
) -> io::Result<()> {
    write_part(out, df, show_secrets, columns, true)
}

/// [`write`], with the header line or without it (the next part of a long table).
pub fn write_part(
    out: &mut dyn Write,
    df: &DataFrame,
    show_secrets: bool,
    columns: &[&str],
    header_line: bool,
) -> io::Result<()> {
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let idx: Vec<usize> = if columns.is_empty() {
        (0..names.len()).collect()
    } else {
        columns
            .iter()
            .filter_map(|c| names.iter().position(|n| n == c))
            .collect()
    };
    let header: Vec<String> = idx
        .iter()
        .map(|&i| visible(names[i], false).into_owned())
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(df.height());
    for_each_row(df, show_secrets, |cells| {
        rows.push(idx.iter().map(|&i| cut(&cells[i].text())).collect());
        Ok(())
    })?;
    aligned(out, &header, &rows, header_line)
}

/// Aligned plain-text columns, under a header line or not.
fn aligned(
    out: &mut dyn Write,
    header: &[String],
    cells: &[Vec<String>],
    header_line: bool,
) -> io::Result<()> {
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
    if header_line {
        line(out, header)?;
    }
    for row in cells {
        line(out, row)?;
    }
    Ok(())
}

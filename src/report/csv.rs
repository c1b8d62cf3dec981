//! CSV with a header row; fields made safe by [`super::escape::csv_field`].

use std::io::{self, Write};

use polars::prelude::DataFrame;

use super::cells::{for_each_row, Cell};
use super::escape::csv_field;

pub fn write(out: &mut dyn Write, df: &DataFrame, show_secrets: bool) -> io::Result<()> {
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| csv_field(n, true))
        .collect();
    writeln!(out, "{}", header.join(","))?;
    let mut line = String::new();
    for_each_row(df, show_secrets, |cells| {
        line.clear();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&csv_field(
                &c.text(),
                matches!(c, Cell::Str(_) | Cell::Json(_)),
            ));
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    })
}

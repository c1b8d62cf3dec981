//! Parquet output (`query --format parquet`): the frame as it is, with its string columns
//! redacted unless the user asked to see secrets.

use std::io::{self, Write};

use polars::prelude::*;

use crate::redact::redact;

pub fn write(out: &mut dyn Write, df: &DataFrame, show_secrets: bool) -> io::Result<()> {
    let mut df = df.clone();
    if !show_secrets {
        // Lists of strings (SQL's `array_agg`) have each element redacted.
        let lists: Vec<PlSmallStr> = df
            .columns()
            .iter()
            .filter(|c| matches!(c.dtype(), DataType::List(inner) if **inner == DataType::String))
            .map(|c| c.name().clone())
            .collect();
        for n in lists {
            let c = df.column(&n).map_err(io::Error::other)?;
            let ca = c.list().map_err(io::Error::other)?;
            let red: ListChunked = (0..ca.len())
                .map(|i| ca.get_as_series(i))
                .map(|item| {
                    item.map(|s| {
                        s.str()
                            .map(|t| {
                                t.iter()
                                    .map(|v| v.map(|v| redact(v).into_owned()))
                                    .collect::<StringChunked>()
                                    .into_series()
                            })
                            .unwrap_or(s)
                    })
                })
                .collect();
            df.with_column(red.with_name(n).into_column())
                .map_err(io::Error::other)?;
        }
        let names: Vec<PlSmallStr> = df
            .columns()
            .iter()
            .filter(|c| c.dtype() == &DataType::String)
            .map(|c| c.name().clone())
            .collect();
        for n in names {
            let c = df.column(&n).map_err(io::Error::other)?;
            let red: StringChunked = c
                .str()
                .map_err(io::Error::other)?
                .iter()
                .map(|v| v.map(|s| redact(s).into_owned()))
                .collect();
            df.with_column(red.with_name(n).into_column())
                .map_err(io::Error::other)?;
        }
    }
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(&mut df)
        .map_err(io::Error::other)?;
    out.write_all(&buf)
}

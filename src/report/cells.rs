//! Frames -> cells, a batch of rows at a time: the one place output reads polars values, and
//! where secrets are redacted (every string, unless the user asked to see secrets).

use std::borrow::Cow;

use polars::prelude::*;

use crate::model::Timestamp;
use crate::redact::redact;

/// Rows converted per batch: output never holds a second copy of a whole result.
pub const BATCH: usize = 4096;

/// One value ready to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A UTC time (milliseconds), printed as RFC 3339.
    Time(i64),
    /// A nested value (a list from SQL's `array_agg`, say) whole, as JSON text: JSON output
    /// writes it as it is, text formats print the text.
    Json(String),
}

impl Cell<'_> {
    /// The value as plain text (null empty, times RFC 3339).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Null => Cow::Borrowed(""),
            Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Float(f) => Cow::Owned(f.to_string()),
            Cell::Str(s) => Cow::Borrowed(s),
            Cell::Time(t) => Cow::Owned(Timestamp(*t).to_rfc3339()),
            Cell::Json(j) => Cow::Borrowed(j),
        }
    }
}

/// A column's cells for rows `[offset, offset + len)`.
pub fn column_cells(
    c: &Column,
    offset: usize,
    len: usize,
    show_secrets: bool,
) -> Vec<Cell<'static>> {
    let s = c.as_materialized_series().slice(offset as i64, len);
    let scrub = |v: &str| -> Cell<'static> {
        Cell::Str(if show_secrets {
            Cow::Owned(v.to_owned())
        } else {
            Cow::Owned(redact(v).into_owned())
        })
    };
    match s.dtype() {
        DataType::String => s
            .str()
            .expect("a string column")
            .iter()
            .map(|v| v.map_or(Cell::Null, scrub))
            .collect(),
        DataType::Boolean => s
            .bool()
            .expect("a boolean column")
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Bool))
            .collect(),
        DataType::Datetime(unit, _) => s
            .datetime()
            .expect("a datetime column")
            .physical()
            .iter()
            .map(|v| v.map_or(Cell::Null, |v| Cell::Time(millis(v, *unit))))
            .collect(),
        DataType::Float32 | DataType::Float64 => s
            .cast(&DataType::Float64)
            .expect("floats widen")
            .f64()
            .expect("a float column")
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Float))
            .collect(),
        dt if dt.is_integer() => match s.cast(&DataType::Int64) {
            Ok(i) => i
                .i64()
                .expect("an integer column")
                .iter()
                .map(|v| v.map_or(Cell::Null, Cell::Int))
                .collect(),
            Err(_) => as_text(&s, scrub),
        },
        DataType::List(_) => (0..s.len())
            .map(|i| match s.get(i) {
                Ok(AnyValue::Null) | Err(_) => Cell::Null,
                Ok(v) => {
                    let mut text = String::new();
                    write_json(v, show_secrets, &mut text);
                    Cell::Json(text)
                }
            })
            .collect(),
        _ => as_text(&s, scrub),
    }
}

/// Milliseconds of a datetime value in `unit`.
fn millis(v: i64, unit: TimeUnit) -> i64 {
    v.div_euclid(match unit {
        TimeUnit::Milliseconds => 1,
        TimeUnit::Microseconds => 1_000,
        TimeUnit::Nanoseconds => 1_000_000,
    })
}

/// A value as JSON text, nested values whole (polars' own display of a list cuts it short),
/// strings redacted unless `show_secrets` and escaped as every JSON output escapes them
/// (control, bidirectional and line-separator characters too).
fn write_json(v: AnyValue<'_>, show_secrets: bool, out: &mut String) {
    let text = |t: &str, out: &mut String| {
        if show_secrets {
            super::escape::json_str(t, out)
        } else {
            super::escape::json_str(&redact(t), out)
        }
    };
    let number = |f: f64, out: &mut String| match serde_json::Number::from_f64(f) {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("null"),
    };
    match v {
        AnyValue::Null => out.push_str("null"),
        AnyValue::Boolean(b) => out.push_str(if b { "true" } else { "false" }),
        AnyValue::String(t) => text(t, out),
        AnyValue::StringOwned(ref t) => text(t.as_str(), out),
        AnyValue::Float32(f) => number(f64::from(f), out),
        AnyValue::Float64(f) => number(f, out),
        AnyValue::Datetime(t, unit, _) => {
            super::escape::json_str(&Timestamp(millis(t, unit)).to_rfc3339(), out)
        }
        AnyValue::List(items) => {
            out.push('[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push(',');
                }
                match items.get(i) {
                    Ok(v) => write_json(v, show_secrets, out),
                    Err(_) => out.push_str("null"),
                }
            }
            out.push(']');
        }
        v if v.dtype().is_integer() => match v.extract::<i64>() {
            Some(i) => out.push_str(&i.to_string()),
            None => text(&v.to_string(), out),
        },
        v => text(&v.to_string(), out),
    }
}

/// Any other type (dates, lists, structs from SQL) as its text.
fn as_text(s: &Series, scrub: impl Fn(&str) -> Cell<'static>) -> Vec<Cell<'static>> {
    match s.cast(&DataType::String) {
        Ok(t) => t
            .str()
            .expect("cast to string")
            .iter()
            .map(|v| v.map_or(Cell::Null, &scrub))
            .collect(),
        Err(_) => (0..s.len())
            .map(|i| match s.get(i) {
                Ok(AnyValue::Null) | Err(_) => Cell::Null,
                Ok(v) => scrub(&v.to_string()),
            })
            .collect(),
    }
}

/// Calls `row` for every row of `df` with its cells, a batch at a time.
pub fn for_each_row(
    df: &DataFrame,
    show_secrets: bool,
    mut row: impl FnMut(&[Cell<'_>]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut offset = 0;
    let cols = df.columns();
    while offset < df.height() {
        let len = BATCH.min(df.height() - offset);
        let mut batch: Vec<_> = cols
            .iter()
            .map(|c| column_cells(c, offset, len, show_secrets).into_iter())
            .collect();
        let mut cells = Vec::with_capacity(cols.len());
        for _ in 0..len {
            cells.clear();
            cells.extend(batch.iter_mut().map(|c| c.next().unwrap_or(Cell::Null)));
            row(&cells)?;
        }
        offset += len;
    }
    Ok(())
}

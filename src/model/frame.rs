//! The only place that turns typed records into polars frames and back.
//!
//! Every table (exec events, control events, sessions, attempts) is declared once with
//! [`crate::table!`]: the struct, its frame columns, their types and their documentation all come
//! from that one declaration, so the Parquet files, the CLI's output columns and the schema
//! docs/schema.md lists cannot drift apart.

use polars::prelude::*;

/// Milliseconds since the Unix epoch, UTC; stored as a polars `Datetime(ms)` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses CloudTrail's `eventTime` and the other ISO 8601 forms met in exports
    /// (`2024-05-14T09:12:31Z`, fractional seconds, offsets, Lake's `2024-05-14 09:12:31.000`,
    /// and the basic form `20131102T010628Z`).
    pub fn parse(text: &str) -> Option<Timestamp> {
        use chrono::{DateTime, NaiveDateTime};
        let t = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Some(Timestamp(dt.timestamp_millis()));
        }
        let bare = t.trim_end_matches('Z');
        for fmt in [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y%m%dT%H%M%S",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(bare, fmt) {
                return Some(Timestamp(n.and_utc().timestamp_millis()));
            }
        }
        None
    }

    /// RFC 3339 with second precision (milliseconds only when present), always `Z`. Written
    /// by hand for the years 0-9999 (every time cell of every output: chrono's format string
    /// was parsed again for each).
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400_000);
        let ms = self.0.rem_euclid(86_400_000);
        // 0000-03-01 .. 9999-12-31: four-digit years, as chrono writes them.
        if (-719_468 + 60..=2_932_896).contains(&days) {
            let mut out = day_name(days);
            let (h, m, sec, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
            use std::fmt::Write;
            let _ = write!(out, "T{h:02}:{m:02}:{sec:02}");
            if milli != 0 {
                let _ = write!(out, ".{milli:03}");
            }
            out.push('Z');
            return out;
        }
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(dt) if self.0 % 1000 == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => self.0.to_string(),
        }
    }

    /// The UTC day, `YYYY-MM-DD`: the store's partition key.
    pub fn day(self) -> String {
        day_name(self.0.div_euclid(86_400_000))
    }

    /// The day of a time bound, for pruning day partitions: a time before any day name
    /// (before 0000-03-01) gives the lowest name, one past 9999 the highest (its day is
    /// `invalid`, which sorts after every date: a `--since` of year 0 pruned every day).
    pub fn bound_day(self) -> String {
        match self.day() {
            d if d != "invalid" => d,
            _ if self.0 < 0 => "0000-00-00".into(),
            _ => "9999-99-99".into(),
        }
    }

    /// Days since the epoch (the partition as a number).
    pub fn day_number(self) -> i64 {
        self.0.div_euclid(86_400_000)
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), without a formatter: it runs once
/// per stored row. Civil-from-days after Howard Hinnant's algorithm.
pub fn day_name(days: i64) -> String {
    if !(-719_468..=2_932_896).contains(&days) {
        return "invalid".to_string();
    }
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A value one frame column holds; implemented for the few types the tables use.
pub trait FrameValue: Sized {
    /// The type as docs/schema.md prints it.
    const TYPE_NAME: &'static str;
    /// Builds the column from one value per row.
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column
    where
        Self: 'a;
    /// Reads the column back. `None` when the frame has no such column (an older store):
    /// optional values then read as null, required ones fail.
    fn read(column: Option<&Column>, height: usize) -> PolarsResult<Vec<Self>>;
    /// The value as JSON, for the json/jsonl/csv/table renderers.
    fn to_json(&self) -> serde_json::Value;
    /// A builder for a column of these values, named `name`, for about `capacity` rows.
    fn builder(name: &str, capacity: usize) -> ColumnBuilder;
    /// Appends the value to a builder [`FrameValue::builder`] made (its strings are copied
    /// into the column's buffers and freed here, on the thread that made them).
    fn push(self, b: &mut ColumnBuilder);
}

/// A column being built a row at a time (see [`RowBuilder`]).
pub enum ColumnBuilder {
    Str(StringChunkedBuilder),
    Bool(Values<bool>),
    I64(Values<i64>),
    F64(Values<f64>),
    /// Milliseconds, a datetime column.
    Time(Values<i64>),
    /// A column the caller frames another way (see [`RowBuilder::skipping`]): values pushed
    /// are dropped, and the column comes out null.
    Skip(DataType),
}

impl ColumnBuilder {
    fn finish(self, name: &str, rows: usize) -> Column {
        match self {
            ColumnBuilder::Skip(dtype) => Column::full_null(name.into(), rows, &dtype),
            ColumnBuilder::Str(b) => b.finish().into_column(),
            ColumnBuilder::Bool(b) => {
                let values =
                    polars_arrow::bitmap::Bitmap::from_trusted_len_iter(b.values.iter().copied());
                let array = polars_arrow::array::BooleanArray::new(
                    ArrowDataType::Boolean,
                    values,
                    b.validity.map(Into::into),
                );
                BooleanChunked::with_chunk(name.into(), array).into_column()
            }
            ColumnBuilder::I64(b) => {
                Int64Chunked::from_vec_validity(name.into(), b.values, b.validity.map(Into::into))
                    .into_column()
            }
            ColumnBuilder::F64(b) => {
                Float64Chunked::from_vec_validity(name.into(), b.values, b.validity.map(Into::into))
                    .into_column()
            }
            ColumnBuilder::Time(b) => {
                Int64Chunked::from_vec_validity(name.into(), b.values, b.validity.map(Into::into))
                    .into_datetime(TimeUnit::Milliseconds, None)
                    .into_column()
            }
        }
    }
}

/// A nullable column of plain values built a row at a time: the values, and a validity bitmap
/// once a null is met. polars' chunked builders took about 35 instructions a value, and a batch
/// of 5 million commands has 12 such columns.
pub struct Values<T> {
    values: Vec<T>,
    validity: Option<polars_arrow::bitmap::MutableBitmap>,
}

impl<T: Copy + Default> Values<T> {
    pub fn with_capacity(capacity: usize) -> Values<T> {
        Values {
            values: Vec::with_capacity(capacity),
            validity: None,
        }
    }

    #[inline]
    pub fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) => {
                self.values.push(v);
                if let Some(valid) = &mut self.validity {
                    valid.push(true);
                }
            }
            None => self.push_null(),
        }
    }

    #[cold]
    fn push_null(&mut self) {
        let valid = self.validity.get_or_insert_with(|| {
            let mut valid = polars_arrow::bitmap::MutableBitmap::with_capacity(self.values.len());
            valid.extend_constant(self.values.len(), true);
            valid
        });
        valid.push(false);
        self.values.push(T::default());
    }
}

/// A table's frame built a row at a time, where the rows are made: no row is kept as a struct
/// until a batch is framed (5M command rows, ~300 bytes each, were framed column after column
/// on other threads, each pass over all of them).
pub struct RowBuilder {
    columns: Vec<ColumnBuilder>,
    names: Vec<&'static str>,
    rows: usize,
}

impl RowBuilder {
    /// Builders of a table's columns, in order, and their names (see [`Table::builder`]).
    pub fn new(columns: Vec<ColumnBuilder>, names: Vec<&'static str>) -> RowBuilder {
        RowBuilder {
            columns,
            names,
            rows: 0,
        }
    }

    /// The builder without the columns named `skip`, which the caller frames another way
    /// (ingest frames a transcript's ids and prompt parts once for all its commands): their
    /// values are not copied, and the frame has them null.
    pub fn skipping(mut self, skip: &[&str]) -> RowBuilder {
        for (b, name) in self.columns.iter_mut().zip(&self.names) {
            if skip.contains(name) {
                let dtype = match b {
                    ColumnBuilder::Str(_) => DataType::String,
                    ColumnBuilder::Bool(_) => DataType::Boolean,
                    ColumnBuilder::I64(_) => DataType::Int64,
                    ColumnBuilder::F64(_) => DataType::Float64,
                    ColumnBuilder::Time(_) => DataType::Datetime(TimeUnit::Milliseconds, None),
                    ColumnBuilder::Skip(d) => d.clone(),
                };
                *b = ColumnBuilder::Skip(dtype);
            }
        }
        self
    }

    /// Rows appended so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The next column's builder, for [`Table::push_row`].
    #[doc(hidden)]
    pub fn columns_mut(&mut self) -> std::slice::IterMut<'_, ColumnBuilder> {
        self.columns.iter_mut()
    }

    #[doc(hidden)]
    pub fn row_added(&mut self) {
        self.rows += 1;
    }

    /// The frame.
    pub fn finish(self) -> PolarsResult<DataFrame> {
        DataFrame::new(
            self.rows,
            self.columns
                .into_iter()
                .zip(self.names)
                .map(|(b, name)| b.finish(name, self.rows))
                .collect(),
        )
    }
}

/// A string shared by many rows (a prompt's user, host and directory, the same for a session's
/// commands): cloned by reference count while rows are made, instead of allocated per row.
pub type Shared = Option<std::sync::Arc<str>>;

/// Optional strings, owned or shared: a nullable string column.
macro_rules! optional_string {
    ($($t:ty),*) => {$(
        impl FrameValue for $t {
            const TYPE_NAME: &'static str = "string";
            fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
                StringChunked::from_iter_options(name.into(), values.map(|v| v.as_deref()))
                    .into_column()
            }
            fn read(column: Option<&Column>, height: usize) -> PolarsResult<Vec<Self>> {
                match column {
                    Some(c) => Ok(c.str()?.iter().map(|v| v.map(Into::into)).collect()),
                    None => Ok(vec![None; height]),
                }
            }
            fn to_json(&self) -> serde_json::Value {
                self.as_deref().map_or(serde_json::Value::Null, Into::into)
            }
            fn builder(name: &str, capacity: usize) -> ColumnBuilder {
                ColumnBuilder::Str(StringChunkedBuilder::new(name.into(), capacity))
            }
            fn push(self, b: &mut ColumnBuilder) {
                match b {
                    ColumnBuilder::Str(b) => b.append_option(self.as_deref()),
                    ColumnBuilder::Skip(_) => {}
                    _ => unreachable!("a string column's builder"),
                }
            }
        }
    )*};
}

optional_string!(Option<String>, Shared);

/// Optional primitives: a nullable column of the matching polars type.
macro_rules! optional_primitive {
    ($t:ty, $chunked:ty, $accessor:ident, $name:literal, $to_json:expr, $variant:ident) => {
        impl FrameValue for Option<$t> {
            const TYPE_NAME: &'static str = $name;
            fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
                <$chunked>::from_iter_options(name.into(), values.copied()).into_column()
            }
            fn read(column: Option<&Column>, height: usize) -> PolarsResult<Vec<Self>> {
                match column {
                    Some(c) => Ok(c.$accessor()?.iter().collect()),
                    None => Ok(vec![None; height]),
                }
            }
            fn to_json(&self) -> serde_json::Value {
                self.and_then($to_json).unwrap_or(serde_json::Value::Null)
            }
            fn builder(_name: &str, capacity: usize) -> ColumnBuilder {
                ColumnBuilder::$variant(Values::with_capacity(capacity))
            }
            #[inline]
            fn push(self, b: &mut ColumnBuilder) {
                match b {
                    ColumnBuilder::$variant(b) => b.push(self),
                    ColumnBuilder::Skip(_) => {}
                    _ => unreachable!("the column's own builder"),
                }
            }
        }
    };
}

optional_primitive!(
    bool,
    BooleanChunked,
    bool,
    "bool",
    |v: bool| Some(v.into()),
    Bool
);
optional_primitive!(
    i64,
    Int64Chunked,
    i64,
    "int64",
    |v: i64| Some(v.into()),
    I64
);
optional_primitive!(
    f64,
    Float64Chunked,
    f64,
    "float64",
    |v: f64| { serde_json::Number::from_f64(v).map(serde_json::Value::Number) },
    F64
);

/// A datetime column as milliseconds since the epoch, whatever unit it was stored in.
fn millis(c: &Column) -> PolarsResult<Vec<Option<i64>>> {
    let dt = c.datetime()?;
    let scale = match dt.time_unit() {
        TimeUnit::Milliseconds => 1,
        TimeUnit::Microseconds => 1_000,
        TimeUnit::Nanoseconds => 1_000_000,
    };
    Ok(dt.physical().iter().map(|v| v.map(|v| v / scale)).collect())
}

impl FrameValue for Timestamp {
    const TYPE_NAME: &'static str = "datetime[ms, UTC]";
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        Int64Chunked::from_iter_values(name.into(), values.map(|t| t.0))
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_column()
    }
    fn read(column: Option<&Column>, _height: usize) -> PolarsResult<Vec<Self>> {
        let Some(c) = column else {
            polars_bail!(ColumnNotFound: "a required time column is missing from the store")
        };
        Ok(millis(c)?
            .into_iter()
            .map(|v| Timestamp(v.unwrap_or(0)))
            .collect())
    }
    fn to_json(&self) -> serde_json::Value {
        self.to_rfc3339().into()
    }
    fn builder(_name: &str, capacity: usize) -> ColumnBuilder {
        ColumnBuilder::Time(Values::with_capacity(capacity))
    }
    fn push(self, b: &mut ColumnBuilder) {
        match b {
            ColumnBuilder::Time(b) => b.push(Some(self.0)),
            ColumnBuilder::Skip(_) => {}
            _ => unreachable!("a time column's builder"),
        }
    }
}

impl FrameValue for Option<Timestamp> {
    const TYPE_NAME: &'static str = "datetime[ms, UTC]";
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        Int64Chunked::from_iter_options(name.into(), values.map(|t| t.map(|t| t.0)))
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_column()
    }
    fn read(column: Option<&Column>, height: usize) -> PolarsResult<Vec<Self>> {
        let Some(c) = column else {
            return Ok(vec![None; height]);
        };
        Ok(millis(c)?.into_iter().map(|v| v.map(Timestamp)).collect())
    }
    fn to_json(&self) -> serde_json::Value {
        self.map_or(serde_json::Value::Null, |t| t.to_rfc3339().into())
    }
    fn builder(_name: &str, capacity: usize) -> ColumnBuilder {
        ColumnBuilder::Time(Values::with_capacity(capacity))
    }
    fn push(self, b: &mut ColumnBuilder) {
        match b {
            ColumnBuilder::Time(b) => b.push(self.map(|t| t.0)),
            ColumnBuilder::Skip(_) => {}
            _ => unreachable!("a time column's builder"),
        }
    }
}

/// One column of a table, as documented in the README.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub type_name: &'static str,
    pub doc: &'static str,
}

/// A table whose rows can be rendered and framed.
pub trait Table: Sized {
    /// The table's name (`exec_events`, `sessions`, ...).
    const NAME: &'static str;
    /// Its columns, in order.
    fn columns() -> Vec<ColumnSpec>;
    /// The rows as a polars frame.
    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame>;
    /// The rows `order` picks, in that order, as a polars frame (no row is moved or copied
    /// before its values go into the columns).
    fn to_frame_ordered(rows: &[Self], order: &[u32]) -> PolarsResult<DataFrame>;
    /// The rows back from a frame (missing optional columns read as null).
    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>>;
    /// One row as JSON values in column order.
    fn json_values(&self) -> Vec<serde_json::Value>;
    /// Builders of the table's columns, for about `capacity` rows.
    fn builder(capacity: usize) -> RowBuilder;
    /// Appends the row to a builder [`Table::builder`] made.
    fn push_row(self, b: &mut RowBuilder);
}

/// Declares a table struct: `table! { /// doc  pub struct Name("name") { /// doc  field: Type, ... } }`.
#[macro_export]
macro_rules! table {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident($table:literal) {
            $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $( $(#[doc = $doc])+ pub $field: $ty ),*
        }

        impl $crate::model::frame::Table for $name {
            const NAME: &'static str = $table;
            fn columns() -> Vec<$crate::model::frame::ColumnSpec> {
                vec![$( $crate::model::frame::ColumnSpec {
                    name: stringify!($field),
                    type_name: <$ty as $crate::model::frame::FrameValue>::TYPE_NAME,
                    doc: concat!($($doc),+).trim_ascii(),
                } ),*]
            }
            fn to_frame(rows: &[Self]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                use $crate::model::frame::FrameValue;
                polars::prelude::DataFrame::new(rows.len(), vec![$(
                    <$ty>::column(stringify!($field), rows.iter().map(|r| &r.$field))
                ),*])
            }
            fn to_frame_ordered(rows: &[Self], order: &[u32]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                use $crate::model::frame::FrameValue;
                polars::prelude::DataFrame::new(order.len(), vec![$(
                    <$ty>::column(stringify!($field), order.iter().map(|&i| &rows[i as usize].$field))
                ),*])
            }
            fn from_frame(df: &polars::prelude::DataFrame) -> polars::prelude::PolarsResult<Vec<Self>> {
                use $crate::model::frame::FrameValue;
                let h = df.height();
                $( let mut $field = <$ty>::read(df.column(stringify!($field)).ok(), h)?.into_iter(); )*
                Ok((0..h).map(|_| $name { $( $field: $field.next().unwrap_or_default() ),* }).collect())
            }
            fn json_values(&self) -> Vec<serde_json::Value> {
                use $crate::model::frame::FrameValue;
                vec![$( self.$field.to_json() ),*]
            }
            fn builder(capacity: usize) -> $crate::model::frame::RowBuilder {
                $crate::model::frame::RowBuilder::new(
                    vec![$(
                        <$ty as $crate::model::frame::FrameValue>::builder(
                            stringify!($field),
                            capacity,
                        )
                    ),*],
                    vec![$( stringify!($field) ),*],
                )
            }
            fn push_row(self, b: &mut $crate::model::frame::RowBuilder) {
                let mut columns = b.columns_mut();
                $( $crate::model::frame::FrameValue::push(
                    self.$field,
                    columns.next().expect("a builder for every column"),
                ); )*
                b.row_added();
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::table! {
        /// A test table.
        pub struct Demo("demo") {
            /// When.
            at: Timestamp,
            /// A name.
            name: Option<String>,
            /// A flag.
            flag: Option<bool>,
        }
    }

    #[test]
    fn frame_round_trip_keeps_values_and_nulls() {
        let rows = vec![
            Demo {
                at: Timestamp(1_715_677_951_000),
                name: Some("a".into()),
                flag: Some(true),
            },
            Demo {
                at: Timestamp(0),
                name: None,
                flag: None,
            },
        ];
        let df = Demo::to_frame(&rows).unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(Demo::from_frame(&df).unwrap(), rows);
    }

    #[test]
    fn skipped_columns_come_out_null_of_their_type_and_the_others_whole() {
        let rows: Vec<Demo> = (0..50)
            .map(|i| Demo {
                at: Timestamp(i * 1_000),
                name: Some(format!("name {i}")),
                flag: Some(i % 2 == 0),
            })
            .collect();
        let mut b = Demo::builder(4).skipping(&["at", "flag"]);
        for r in rows.clone() {
            r.push_row(&mut b);
        }
        let built = b.finish().unwrap();
        let framed = Demo::to_frame(&rows).unwrap();
        assert_eq!(built.schema(), framed.schema());
        assert!(built
            .column("name")
            .unwrap()
            .equals(framed.column("name").unwrap()));
        for name in ["at", "flag"] {
            assert_eq!(built.column(name).unwrap().null_count(), 50, "{name}");
        }
    }

    #[test]
    fn rows_built_one_at_a_time_make_the_frame_the_rows_make() {
        let rows: Vec<Demo> = (0..1_000)
            .map(|i| Demo {
                at: Timestamp(i * 1_000),
                name: (i % 3 != 0).then(|| format!("name {i} with more than twelve bytes")),
                flag: (i % 5 != 0).then_some(i % 2 == 0),
            })
            .collect();
        let mut b = Demo::builder(10);
        for r in rows.clone() {
            r.push_row(&mut b);
        }
        assert_eq!(b.rows(), 1_000);
        let built = b.finish().unwrap();
        let framed = Demo::to_frame(&rows).unwrap();
        assert_eq!(built.schema(), framed.schema());
        assert!(built.equals_missing(&framed));
        assert!(Demo::builder(0)
            .finish()
            .unwrap()
            .equals_missing(&Demo::to_frame(&[]).unwrap()));
    }

    crate::table! {
        /// A test table of every plain type.
        pub struct Plain("plain") {
            /// A count.
            count: Option<i64>,
            /// A share.
            ratio: Option<f64>,
            /// A flag.
            flag: Option<bool>,
            /// When, if known.
            seen: Option<Timestamp>,
        }
    }

    #[test]
    fn plain_columns_built_a_row_at_a_time_keep_their_nulls_wherever_they_fall() {
        // Nulls from the first row, from a later row only, never, and always.
        let patterns: [fn(i64) -> bool; 4] = [|i| i % 7 == 0, |i| i == 600, |_| false, |_| true];
        for (k, null) in patterns.into_iter().enumerate() {
            let rows: Vec<Plain> = (0..1_000_i64)
                .map(|i| Plain {
                    count: (!null(i)).then_some(i * 3 - 7),
                    ratio: (!null(i + 1)).then_some(i as f64 / 8.0),
                    flag: (!null(i)).then_some(i % 3 == 0),
                    seen: (!null(i)).then_some(Timestamp(i * 1_000)),
                })
                .collect();
            let mut b = Plain::builder(16);
            for r in rows.clone() {
                r.push_row(&mut b);
            }
            let built = b.finish().unwrap();
            let framed = Plain::to_frame(&rows).unwrap();
            assert_eq!(built.schema(), framed.schema(), "pattern {k}");
            assert!(built.equals_missing(&framed), "pattern {k}");
            assert_eq!(Plain::from_frame(&built).unwrap(), rows, "pattern {k}");
        }
    }

    #[test]
    fn missing_optional_column_reads_as_null() {
        let rows = vec![Demo {
            at: Timestamp(5),
            name: Some("x".into()),
            flag: Some(false),
        }];
        let df = Demo::to_frame(&rows).unwrap().drop("flag").unwrap();
        assert_eq!(Demo::from_frame(&df).unwrap()[0].flag, None);
    }

    #[test]
    fn timestamps_print_as_chrono_prints_them() {
        let chrono_way = |t: i64| match chrono::DateTime::from_timestamp_millis(t) {
            Some(dt) if t % 1000 == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => t.to_string(),
        };
        let mut t: i64 = 1;
        let mut cases = vec![0, -1, 1, 999, 1_000, 86_399_999, 86_400_000, -86_400_000];
        cases.extend([1_715_677_951_000, 1_715_677_951_007, 253_402_300_799_999]);
        cases.extend([
            -62_135_596_800_000,
            -62_167_219_200_000,
            -62_162_035_200_000,
        ]);
        for _ in 0..2_000 {
            t = t
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            cases.push(t % 300_000_000_000_000);
        }
        for t in cases {
            assert_eq!(Timestamp(t).to_rfc3339(), chrono_way(t), "{t}");
        }
    }

    #[test]
    fn timestamps_parse_every_form_met_in_exports() {
        let want = Timestamp(1_715_677_951_000);
        for text in [
            "2024-05-14T09:12:31Z",
            "2024-05-14T09:12:31.000Z",
            "2024-05-14T11:12:31+02:00",
            "2024-05-14 09:12:31.000",
            "20240514T091231Z",
        ] {
            assert_eq!(Timestamp::parse(text), Some(want), "{text}");
        }
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(want.to_rfc3339(), "2024-05-14T09:12:31Z");
        assert_eq!(want.day(), "2024-05-14");
        for ms in [
            0i64,
            -1,
            951_782_400_000,
            4_102_444_800_000,
            1_709_164_800_000,
        ] {
            let chrono_day = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string();
            assert_eq!(Timestamp(ms).day(), chrono_day, "{ms}");
        }
    }
}

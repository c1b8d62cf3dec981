//! The store's Parquet writer: polars' own encoders, with the encoding chosen per column and
//! every column of a row group encoded and compressed in parallel.
//!
//! polars' writer tries a dictionary for every string column: it estimates the distinct values
//! (hashing every value) and, when fewer than 3 in 4 look distinct, hashes them all again to
//! build it. For columns whose values are all but unique or long (a transcript's text, command
//! ids, output excerpts) that is wasted: 100k transcripts spent ~2 CPU-s in it, a tenth of the
//! ingest. Those columns ([`plain_columns`]) are written plain; the others keep polars' choice.
//! polars also compresses pages on the thread that writes the file; here the pages of a row
//! group are compressed where they are encoded, on the worker threads.

use std::io::Write;

use polars::prelude::SchemaExt;
use polars::prelude::{ArrowSchema, CompatLevel, DataFrame, PolarsResult, Schema};
use polars_arrow::array::{
    DictionaryArray, MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray, View,
};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding, CompressedPage,
    CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter, Page,
    StatisticsOptions, Version, WriteOptions,
};
use rayon::prelude::*;
use std::collections::HashMap;

use crate::model::frame::Table;
use crate::model::{CommandRow, ControlEvent, ExecEvent, TranscriptRow};

/// Compresses a page as polars-parquet does, but an LZ4 data page into room not zeroed first
/// (polars zeroes the whole bound of every page before compressing into it: 1% of an ingest).
fn compress_page(page: Page, compression: CompressionOptions) -> PolarsResult<CompressedPage> {
    use polars_parquet::parquet::compression::Compression;
    use polars_parquet::parquet::page::{CompressedDataPage, DataPageHeader};
    use polars_parquet::parquet::CowBuffer;
    match page {
        Page::Data(p)
            if compression == CompressionOptions::Lz4Raw
                && matches!(p.header(), DataPageHeader::V1(_))
                && p.buffer().len() < i32::MAX as usize / 2 =>
        {
            let input = p.buffer();
            let len = input.len() as std::ffi::c_int;
            // SAFETY: a pure function of the size.
            let bound = unsafe { lz4_sys::LZ4_compressBound(len) };
            let mut out: Vec<u8> = Vec::with_capacity(bound.max(0) as usize);
            // SAFETY: LZ4 reads `len` bytes of the input and writes at most `bound` bytes into
            // the vector's capacity; it returns how many (0 on failure).
            let n = unsafe {
                lz4_sys::LZ4_compress_default(
                    input.as_ptr().cast(),
                    out.as_mut_ptr().cast(),
                    len,
                    bound,
                )
            };
            if n <= 0 {
                return Ok(compress(Page::Data(p), Vec::new(), compression)?);
            }
            // SAFETY: LZ4 wrote `n` bytes.
            unsafe { out.set_len(n as usize) };
            let rows = p.num_rows().expect("pages being written count their rows");
            Ok(CompressedPage::Data(CompressedDataPage::new(
                p.header().clone(),
                CowBuffer::Owned(out),
                Compression::Lz4Raw,
                input.len(),
                p.descriptor.clone(),
                rows,
            )))
        }
        page => Ok(compress(page, Vec::new(), compression)?),
    }
}

/// Columns written without a dictionary: their values are nearly all distinct, or long, or in
/// runs LZ4 packs as well (a command's time, its transcript's; its confidence, mostly 1.0):
/// polars' estimate of the distinct values and its dictionary were 3% of an ingest for the
/// same store size.
pub(crate) fn plain_columns(table: &str) -> &'static [&'static str] {
    if table == TranscriptRow::NAME {
        &["transcript_id", "source", "digest", "text"]
    } else if table == CommandRow::NAME {
        &["command_id", "output_excerpt", "time", "confidence"]
    } else if table == ExecEvent::NAME || table == ControlEvent::NAME {
        &["event_id", "detail"]
    } else {
        &[]
    }
}

/// String columns whose few values the store knows: their dictionary is built here, in one
/// pass that hashes a value only where it differs from the row before (the ids come in runs,
/// a transcript's commands together), rather than by polars' estimate and cast, which hash
/// every value twice (~1 CPU-s for the 5M commands of 100k transcripts). Every string column
/// of the event tables but the plain ones is such a column (sources, names, principals,
/// accounts, the file an event came from); one with more than half its values distinct is
/// written plain.
pub(crate) fn dictionary_column(table: &str, column: &str) -> bool {
    if table == CommandRow::NAME {
        [
            "session_id",
            "transcript_id",
            "user",
            "host",
            "cwd",
            "command",
        ]
        .contains(&column)
    } else if table == TranscriptRow::NAME {
        ["format", "status", "shell"].contains(&column)
    } else {
        table == ExecEvent::NAME || table == ControlEvent::NAME
    }
}

/// How a column is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// As polars decides (a dictionary when its estimate finds few distinct values).
    Polars,
    /// Plain.
    Plain,
    /// A dictionary built by [`dictionary_of`].
    Dictionary,
}

/// The values of a string column as a dictionary: keys in row order, each distinct value once
/// (a value met again after other values gets its first key back). `None` when more than half
/// the values are distinct: then a dictionary would not pay, and the column is written plain.
fn dictionary_of(array: &Utf8ViewArray) -> Option<DictionaryArray<u32>> {
    let n = array.len();
    let mut keys: Vec<Option<u32>> = Vec::with_capacity(n);
    let mut values = MutableBinaryViewArray::<str>::new();
    let mut index: HashMap<&str, u32, foldhash::fast::RandomState> = HashMap::default();
    // A value repeated by view (ingest writes a transcript's ids once for all its commands) is
    // told equal to the row before without comparing its bytes.
    let views = array.views();
    let mut previous: Option<(View, &str, u32)> = None;
    for (v, &view) in array.iter().zip(views.iter()) {
        let Some(v) = v else {
            keys.push(None);
            continue;
        };
        let key = match previous {
            Some((pv, p, k)) if pv == view || p == v => k,
            _ => {
                let k = *index.entry(v).or_insert_with(|| {
                    values.push_value(v);
                    (values.len() - 1) as u32
                });
                previous = Some((view, v, k));
                k
            }
        };
        keys.push(Some(key));
    }
    if n > 128 && values.len() * 2 > n {
        return None;
    }
    let values: Utf8ViewArray = values.into();
    DictionaryArray::try_new(
        ArrowDataType::Dictionary(
            IntegerType::UInt32,
            Box::new(ArrowDataType::Utf8View),
            false,
        ),
        PrimitiveArray::<u32>::from(keys),
        values.boxed(),
    )
    .ok()
}

/// Plain columns that keep their statistics (min and max): ids a query may filter on. The
/// others' are of no use to a filter (nobody selects a transcript's text by its range), and
/// finding them compared every value with the smallest and largest so far, across long common
/// prefixes (`Script started on 2024-...`).
const FILTERED_IDS: [&str; 2] = ["transcript_id", "event_id"];

/// Writes row groups of frames with one schema to `W`.
pub(crate) struct PartWriter<W: Write> {
    writer: FileWriter<W>,
    encodings: Vec<Vec<Encoding>>,
    plans: Vec<Plan>,
    /// Per column: the options it is written with (with statistics or without).
    options: Vec<WriteOptions>,
}

impl<W: Write> PartWriter<W> {
    /// A writer for frames of `schema`, a part of `table`.
    pub(crate) fn new(w: W, schema: &Schema, table: &str) -> PolarsResult<PartWriter<W>> {
        let arrow: ArrowSchema = schema.to_arrow(CompatLevel::newest());
        let plain = plain_columns(table);
        let plans: Vec<Plan> = arrow
            .iter_values()
            .map(|f| {
                let name = f.name.as_str();
                if plain.contains(&name) {
                    Plan::Plain
                } else if f.dtype == ArrowDataType::Utf8View && dictionary_column(table, name) {
                    Plan::Dictionary
                } else {
                    Plan::Polars
                }
            })
            .collect();
        let encodings = arrow
            .iter_values()
            .zip(&plans)
            .map(|(f, plan)| {
                let mut e = get_dtype_encoding(&f.dtype);
                if *plan == Plan::Plain {
                    e.iter_mut().for_each(|e| *e = Encoding::Plain);
                }
                e
            })
            .collect();
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            compression: CompressionOptions::Lz4Raw,
            data_page_size: None,
        };
        let bare = WriteOptions {
            statistics: StatisticsOptions::empty(),
            ..options
        };
        let per_column = arrow
            .iter_values()
            .zip(&plans)
            .map(|(f, plan)| {
                if *plan == Plan::Plain && !FILTERED_IDS.contains(&f.name.as_str()) {
                    bare
                } else {
                    options
                }
            })
            .collect();
        Ok(PartWriter {
            // No page index: it needs statistics on every page. Row groups keep theirs, which
            // polars and DuckDB prune by.
            writer: FileWriter::try_new(w, arrow, bare)?,
            encodings,
            plans,
            options: per_column,
        })
    }

    /// Writes each chunk of `df` as a row group (the caller sizes them).
    pub(crate) fn write_batch(&mut self, df: &DataFrame) -> PolarsResult<()> {
        let fields = self.writer.parquet_schema().fields().to_vec();
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            let rows = batch.len();
            if rows == 0 {
                continue;
            }
            let columns: Vec<Vec<CompressedPage>> = batch
                .columns()
                .par_iter()
                .zip(&fields)
                .zip(&self.encodings)
                .zip(&self.plans)
                .zip(&self.options)
                .map(|((((array, type_), encoding), plan), &options)| {
                    let dictionary = match plan {
                        Plan::Dictionary => array
                            .as_any()
                            .downcast_ref::<Utf8ViewArray>()
                            .and_then(dictionary_of),
                        _ => None,
                    };
                    let leaves = match dictionary {
                        Some(d) => array_to_columns(
                            d.boxed(),
                            type_.clone(),
                            options,
                            &[Encoding::RleDictionary],
                        )?,
                        None if *plan == Plan::Dictionary => {
                            array_to_columns(array, type_.clone(), options, &[Encoding::Plain])?
                        }
                        None => array_to_columns(array, type_.clone(), options, encoding)?,
                    };
                    leaves
                        .into_iter()
                        .map(|pages| {
                            pages
                                .map(|page| compress_page(page?, options.compression))
                                .collect::<PolarsResult<Vec<CompressedPage>>>()
                        })
                        .collect::<PolarsResult<Vec<Vec<CompressedPage>>>>()
                })
                .collect::<PolarsResult<Vec<Vec<Vec<CompressedPage>>>>>()?
                .into_iter()
                .flatten()
                .collect();
            let group = DynIter::new(columns.iter().map(|pages| {
                Ok(DynStreamingIterator::new(
                    fallible_streaming_iterator::convert(pages.iter().map(PolarsResult::Ok)),
                ))
            }));
            self.writer.write(rows as u64, group)?;
        }
        Ok(())
    }

    /// Writes the footer; returns the file's size.
    pub(crate) fn finish(&mut self) -> PolarsResult<u64> {
        self.writer.end(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    /// `df` written as a part of `table`, a row group per (offset, length).
    pub(super) fn written(df: &DataFrame, table: &str, groups: &[(i64, usize)]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = PartWriter::new(&mut buf, df.schema(), table).unwrap();
        for &(offset, len) in groups {
            let mut rg = df.slice(offset, len);
            rg.rechunk_mut();
            w.write_batch(&rg).unwrap();
        }
        w.finish().unwrap();
        drop(w);
        buf
    }

    #[test]
    fn listed_columns_are_written_plain_and_text_without_statistics() {
        // 3,000 rows, few distinct values in both string columns: polars would give both a
        // dictionary, and `transcript_id` is listed as plain for transcripts.
        let n = 3_000;
        let ids: Vec<String> = (0..n)
            .map(|i| format!("ecs-execute-command-{}", i % 7))
            .collect();
        let shells: Vec<&str> = (0..n).map(|i| ["bash", "sh", "zsh"][i % 3]).collect();
        let seq: Vec<i64> = (0..n as i64).collect();
        let sources: Vec<String> = (0..n).map(|i| format!("s3://logs/{}.log", i % 5)).collect();
        let df = df!("transcript_id" => ids, "shell" => shells, "seq" => seq, "source" => sources)
            .unwrap();
        let buf = written(&df, TranscriptRow::NAME, &[(0, 1_000), (1_000, 2_000)]);

        let meta = polars_parquet::read::read_metadata(&mut std::io::Cursor::new(&buf)).unwrap();
        assert_eq!(meta.row_groups.len(), 2);
        for rg in &meta.row_groups {
            let dict = |name: &str| {
                rg.parquet_columns()
                    .iter()
                    .find(|c| c.descriptor().path_in_schema[0].as_str() == name)
                    .map(|c| c.dictionary_page_offset().is_some())
                    .unwrap()
            };
            assert!(!dict("transcript_id"), "a listed column has no dictionary");
            assert!(!dict("source"), "a listed column has no dictionary");
            assert!(dict("shell"), "other strings keep a dictionary");
            let column = |name: &str| {
                rg.parquet_columns()
                    .iter()
                    .find(|c| c.descriptor().path_in_schema[0].as_str() == name)
                    .unwrap()
            };
            assert!(
                column("source").statistics(&[]).is_none(),
                "no statistics for text"
            );
            let len = buf.len();
            let meta = u32::from_le_bytes(buf[len - 8..len - 4].try_into().unwrap()) as usize;
            let footer = &buf[len - 8 - meta..len - 8];
            for name in ["transcript_id", "shell", "seq"] {
                let stats = column(name)
                    .statistics(footer)
                    .expect("statistics kept")
                    .unwrap();
                assert!(stats.null_count().is_some(), "{name}: {stats:?}");
            }
        }
        let back = ParquetReader::new(std::io::Cursor::new(buf))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df), "{back:?}");
    }
}

#[cfg(test)]
mod dictionary_tests {
    use super::*;
    use polars::prelude::*;

    fn dictionary_pages(buf: &[u8]) -> Vec<(String, bool)> {
        let meta = polars_parquet::read::read_metadata(&mut std::io::Cursor::new(buf)).unwrap();
        meta.row_groups
            .iter()
            .flat_map(|rg| rg.parquet_columns())
            .map(|c| {
                (
                    c.descriptor().path_in_schema[0].to_string(),
                    c.dictionary_page_offset().is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn known_dictionaries_are_built_in_one_pass_and_read_back_whole() {
        // Runs of ids (a transcript's commands together), an id met again after others,
        // nulls, few users; and a "host" column of distinct values: written plain.
        let n = 5_000;
        let sid: Vec<Option<String>> = (0..n)
            .map(|i| (i % 97 != 0).then(|| format!("ecs-execute-command-{:03}", (i / 50) % 40)))
            .collect();
        let user: Vec<Option<&str>> = (0..n)
            .map(|i| ["root", "app"].get(i % 3).copied())
            .collect();
        let host: Vec<String> = (0..n).map(|i| format!("ip-10-0-{i}")).collect();
        let seq: Vec<i64> = (0..n as i64).collect();
        let df = df!("session_id" => sid, "user" => user, "host" => host, "seq" => seq).unwrap();
        let buf = super::tests::written(&df, CommandRow::NAME, &[(0, 2_000), (2_000, 3_000)]);
        for (name, dict) in dictionary_pages(&buf) {
            match name.as_str() {
                "session_id" | "user" => assert!(dict, "{name}"),
                "host" => assert!(!dict, "distinct values go plain"),
                _ => {}
            }
        }
        let back = ParquetReader::new(std::io::Cursor::new(buf.clone()))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df), "{back:?}");
        // Filters see the values (statistics of a dictionary column are its values').
        let one = ParquetReader::new(std::io::Cursor::new(buf))
            .finish()
            .unwrap()
            .lazy()
            .filter(col("session_id").eq(lit("ecs-execute-command-007")))
            .collect()
            .unwrap();
        assert_eq!(one.height(), 50 * 3 - 2, "{one}");
    }

    #[test]
    fn a_dictionary_keeps_first_keys_and_refuses_mostly_distinct_values() {
        let a = Utf8ViewArray::from_slice([Some("x"), Some("x"), Some("y"), None, Some("x")]);
        let d = dictionary_of(&a).unwrap();
        let keys: Vec<Option<u32>> = d.keys().iter().map(|k| k.copied()).collect();
        assert_eq!(keys, [Some(0), Some(0), Some(1), None, Some(0)]);
        assert_eq!(d.values().len(), 2);
        let distinct: Vec<String> = (0..200).map(|i| format!("v{i}")).collect();
        let a = Utf8ViewArray::from_slice(
            distinct
                .iter()
                .map(|s| Some(s.as_str()))
                .collect::<Vec<_>>(),
        );
        assert!(dictionary_of(&a).is_none());
    }

    /// Values repeated by view (as ingest writes a transcript's ids) and the same values
    /// written again are one key; long values differing past their prefix are two.
    #[test]
    fn values_repeated_by_view_or_by_bytes_share_a_key() {
        let long = "ecs-execute-command-0123456789abcdef~0123456789abcdef";
        let other = "ecs-execute-command-0123456789abcdef~fedcba9876543210";
        let mut m = MutableBinaryViewArray::<str>::new();
        m.extend_constant(3, Some(long));
        m.push_value(long);
        m.extend_constant(2, Some(other));
        m.push_value("short");
        m.extend_constant(2, Some(long));
        let a: Utf8ViewArray = m.into();
        let d = dictionary_of(&a).unwrap();
        let keys: Vec<Option<u32>> = d.keys().iter().map(|k| k.copied()).collect();
        let k = |v: u32| Some(v);
        assert_eq!(keys, [k(0), k(0), k(0), k(0), k(1), k(1), k(2), k(0), k(0)]);
        assert_eq!(d.values().len(), 3);
    }
}

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
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding, CompressedPage,
    CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter, StatisticsOptions,
    Version, WriteOptions,
};
use rayon::prelude::*;

use crate::model::frame::Table;
use crate::model::{CommandRow, ControlEvent, ExecEvent, TranscriptRow};

/// Columns written without a dictionary: their values are nearly all distinct, or long.
pub(crate) fn plain_columns(table: &str) -> &'static [&'static str] {
    if table == TranscriptRow::NAME {
        &["transcript_id", "source", "digest", "text"]
    } else if table == CommandRow::NAME {
        &["command_id", "output_excerpt"]
    } else if table == ExecEvent::NAME || table == ControlEvent::NAME {
        &["event_id", "request_id", "detail"]
    } else {
        &[]
    }
}

/// Writes row groups of frames with one schema to `W`.
pub(crate) struct PartWriter<W: Write> {
    writer: FileWriter<W>,
    encodings: Vec<Vec<Encoding>>,
    options: WriteOptions,
}

impl<W: Write> PartWriter<W> {
    /// A writer for frames of `schema`, a part of `table`.
    pub(crate) fn new(w: W, schema: &Schema, table: &str) -> PolarsResult<PartWriter<W>> {
        let arrow: ArrowSchema = schema.to_arrow(CompatLevel::newest());
        let plain = plain_columns(table);
        let encodings = arrow
            .iter_values()
            .map(|f| {
                let mut e = get_dtype_encoding(&f.dtype);
                if plain.contains(&f.name.as_str()) {
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
        Ok(PartWriter {
            writer: FileWriter::try_new(w, arrow, options)?,
            encodings,
            options,
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
            let options = self.options;
            let columns: Vec<Vec<CompressedPage>> = batch
                .columns()
                .par_iter()
                .zip(&fields)
                .zip(&self.encodings)
                .map(|((array, type_), encoding)| {
                    array_to_columns(array, type_.clone(), options, encoding)?
                        .into_iter()
                        .map(|pages| {
                            pages
                                .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
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

    #[test]
    fn listed_columns_are_written_plain_the_others_as_polars_chooses_and_read_back_whole() {
        // 3,000 rows, few distinct values in both string columns: polars would give both a
        // dictionary, and `transcript_id` is listed as plain for transcripts.
        let n = 3_000;
        let ids: Vec<String> = (0..n)
            .map(|i| format!("ecs-execute-command-{}", i % 7))
            .collect();
        let shells: Vec<&str> = (0..n).map(|i| ["bash", "sh", "zsh"][i % 3]).collect();
        let seq: Vec<i64> = (0..n as i64).collect();
        let df = df!("transcript_id" => ids, "shell" => shells, "seq" => seq).unwrap();
        let mut buf = Vec::new();
        let mut w = PartWriter::new(&mut buf, df.schema(), TranscriptRow::NAME).unwrap();
        for (offset, len) in [(0, 1_000), (1_000, 2_000)] {
            let mut rg = df.slice(offset, len);
            rg.rechunk_mut();
            w.write_batch(&rg).unwrap();
        }
        w.finish().unwrap();
        drop(w);

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
            assert!(dict("shell"), "other strings keep polars' dictionary");
        }
        let back = ParquetReader::new(std::io::Cursor::new(buf))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df), "{back:?}");
    }
}

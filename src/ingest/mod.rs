//! Ingest: inputs -> deduplicated exec and control events, with an account of every file.
//!
//! Files are scanned in parallel by one worker thread per core (as many as rayon would use,
//! so `RAYON_NUM_THREADS` applies), each with a reusable [`local::Reader`], taking files in input
//! order. Results are merged in input order with first-seen-wins deduplication on `eventID`, so
//! the output does not depend on the thread count, and the kept rows are handed on in batches
//! ([`scan_stream`]) while the workers go on reading: memory holds at most a window of results
//! and one batch, whatever the size of the corpus. [`scan_paths`] collects every batch.
//!
//! No file can take the run down: each may cost at most [`ScanOptions::max_file_bytes`], is
//! judged from its first bytes before the rest is read, and a panic while reading one is caught
//! and reported against that file.

pub mod cloudtrail;
pub mod gzip;
pub mod local;
pub mod transcript;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use polars::prelude::{DataFrame, PolarsResult};

use crate::model::idset::IdSet;
use crate::model::normalize::Classified;
use crate::model::{shown, CommandRow, Conflicts, ControlEvent, ExecEvent, Table, TranscriptRow};
use cloudtrail::InputKind;
use local::{Input, ReadError, Verdict};

/// What happened to one input file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    pub path: PathBuf,
    pub kind: Option<InputKind>,
    /// Bytes after decompression.
    pub bytes: u64,
    pub records: u64,
    pub candidates: u64,
    pub exec_events: u64,
    pub control_events: u64,
    pub transcripts: u64,
    /// Unusable records inside an otherwise readable file.
    pub bad_records: Vec<String>,
    /// A problem that did not stop the file being read (e.g. truncated, complete records kept).
    pub warning: Option<String>,
    /// Why the file was skipped entirely.
    pub error: Option<String>,
    /// Why a file found in a folder was passed over as plainly not a log (not an error).
    pub passed_over: Option<String>,
}

/// How files are read.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// The most one file may hold once decompressed; larger files are refused, by name.
    pub max_file_bytes: u64,
}

/// The default `--max-file-bytes`: far above any trail file CloudTrail delivers (tens of MB),
/// low enough that two workers on a gzip bomb stay well inside a small machine's memory.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// What a batch of files yielded, after de-duplication against everything read before it in
/// the same run. Transcripts and commands are already polars frames (built on the reading
/// side, in parallel), sorted by day, session and transcript, commands in order within each.
#[derive(Debug, Default)]
pub struct Batch {
    pub exec: Vec<ExecEvent>,
    pub control: Vec<ControlEvent>,
    pub transcripts: DataFrame,
    /// The commands reconstructed from `transcripts`.
    pub commands: DataFrame,
}

/// Rows of one batch before they become frames.
#[derive(Default)]
struct Rows {
    exec: Vec<ExecEvent>,
    control: Vec<ControlEvent>,
    transcripts: Vec<TranscriptRow>,
    /// Command rows, as the frames of the runs of files they were read in (see
    /// [`RunCommands`]); some rows of a run may belong to another batch or be dropped.
    chunks: Vec<DataFrame>,
    /// Where each transcript's commands sit: a chunk, and rows of it.
    ranges: Vec<(u32, std::ops::Range<u32>)>,
    /// Command rows held.
    commands: usize,
    /// The chunk in `chunks` of the run being merged, once one of its transcripts was kept.
    run_chunk: Option<u32>,
}

/// `n` times the same value (written once) or null. polars-arrow's `extend_constant` adds no
/// rows for a null, only validity bits: the array it froze then failed its length check (a
/// transcript without a session id, read from a file name).
fn repeat(array: &mut polars_arrow::array::MutableBinaryViewArray<str>, n: usize, v: Option<&str>) {
    match v {
        Some(v) => array.extend_constant(n, Some(v)),
        None => array.extend_null(n),
    }
}

/// Appends a shared string (a prompt's user, host or directory): when it is the one the row
/// before holds, its view is repeated, without copying the bytes again (and the store's
/// dictionary then tells it equal by the view).
fn push_shared(
    array: &mut polars_arrow::array::MutableBinaryViewArray<str>,
    last: &mut crate::model::Shared,
    v: crate::model::Shared,
) {
    match (v, array.views().last().copied()) {
        (Some(s), Some(view)) if last.as_ref().is_some_and(|l| std::sync::Arc::ptr_eq(l, &s)) => {
            // SAFETY: the view is the last row's, of this array's own buffers, and not null
            // (`last` is set only by a value); the byte count grows by its length.
            unsafe {
                array.views_mut().push(view);
                array.set_total_bytes_len(array.total_bytes_len() + view.length as usize);
            }
            if let Some(validity) = array.validity() {
                validity.push(true);
            }
        }
        (Some(s), _) => {
            array.push_value(&*s);
            *last = Some(s);
        }
        (None, _) => {
            array.push_null();
            *last = None;
        }
    }
}

/// The command rows of a run of files as one frame, built by the worker that read them, right
/// after reconstruction (the rows' strings are copied into columns and freed where they were
/// made): each transcript's rows in order, with the session and transcript ids written from its
/// transcript's row when the rows leave them out (see `transcript::rows_of_lean`), and the
/// command's key left for the store to derive (`store::with_keys`). Framing 5 million row structs in
/// the merge, column after column, was a tenth of an ingest of 100k transcripts.
struct RunCommands {
    frame: DataFrame,
    /// Per transcript (in the order given), its rows in `frame`.
    ranges: Vec<std::ops::Range<u32>>,
}

impl RunCommands {
    /// Frames the command rows of each `(transcript, rows)`, taking the rows.
    fn frame<'a>(
        found: impl Iterator<Item = (&'a TranscriptRow, Vec<CommandRow>)>,
        capacity: usize,
    ) -> PolarsResult<RunCommands> {
        use polars::prelude::{IntoColumn, StringChunked, StringChunkedBuilder};
        use polars_arrow::array::MutableBinaryViewArray;
        // The ids and the prompt's parts are framed here, apart: the row builder leaves them.
        let mut b = CommandRow::builder(capacity).skipping(&[
            "command_id",
            "session_id",
            "transcript_id",
            "user",
            "host",
            "cwd",
        ]);
        // Ingest leaves the command ids out (the store derives them): a column only once one
        // is given.
        let mut cid: Option<StringChunkedBuilder> = None;
        // A transcript's ids are written once and repeated by view for its commands: 5 million
        // copies of two ~45-byte ids were 460 MB, and the dictionary compared them all.
        let mut sid = MutableBinaryViewArray::<str>::with_capacity(capacity);
        let mut tid = MutableBinaryViewArray::<str>::with_capacity(capacity);
        // User, host and directory, shared by a prompt's commands, are repeated by view.
        let mut shared: [MutableBinaryViewArray<str>; 3] =
            std::array::from_fn(|_| MutableBinaryViewArray::<str>::with_capacity(capacity));
        let mut last: [crate::model::Shared; 3] = Default::default();
        let mut ranges = Vec::new();
        for (t, commands) in found {
            let start = b.rows() as u32;
            if commands
                .iter()
                .all(|c| c.session_id.is_none() && c.transcript_id.is_none())
            {
                repeat(&mut sid, commands.len(), t.session_id.as_deref());
                repeat(&mut tid, commands.len(), t.transcript_id.as_deref());
            } else {
                for c in &commands {
                    sid.push(c.session_id.as_deref().or(t.session_id.as_deref()));
                    tid.push(c.transcript_id.as_deref().or(t.transcript_id.as_deref()));
                }
            }
            for mut c in commands {
                // The store derives a key left out from the transcript and the sequence number
                // (`store::with_keys`).
                match (&mut cid, c.command_id.as_deref()) {
                    (Some(ids), id) => ids.append_option(id),
                    (None, Some(id)) => {
                        let mut ids = StringChunkedBuilder::new("command_id".into(), capacity);
                        for _ in 0..b.rows() {
                            ids.append_null();
                        }
                        ids.append_value(id);
                        cid = Some(ids);
                    }
                    (None, None) => {}
                }
                for (k, v) in [c.user.take(), c.host.take(), c.cwd.take()]
                    .into_iter()
                    .enumerate()
                {
                    push_shared(&mut shared[k], &mut last[k], v);
                }
                c.push_row(&mut b);
            }
            ranges.push(start..b.rows() as u32);
        }
        let mut frame = b.finish()?;
        let sid = StringChunked::with_chunk("session_id".into(), sid.freeze());
        let tid = StringChunked::with_chunk("transcript_id".into(), tid.freeze());
        let [user, host, cwd] = shared;
        let user = StringChunked::with_chunk("user".into(), user.freeze());
        let host = StringChunked::with_chunk("host".into(), host.freeze());
        let cwd = StringChunked::with_chunk("cwd".into(), cwd.freeze());
        if let Some(ids) = cid {
            frame.with_column(ids.finish().into_column())?;
        }
        for col in [sid, tid, user, host, cwd] {
            frame.with_column(col.into_column())?;
        }
        Ok(RunCommands { frame, ranges })
    }

    /// The command rows of a run of results, moved out of them.
    fn take_from(results: &mut [InputScan]) -> PolarsResult<RunCommands> {
        let n = results
            .iter()
            .flat_map(|r| &r.transcripts)
            .map(|(_, c)| c.len())
            .sum();
        RunCommands::frame(
            results
                .iter_mut()
                .flat_map(|r| r.transcripts.iter_mut())
                .map(|(t, c)| (&*t, std::mem::take(c))),
            n,
        )
    }
}

impl Rows {
    /// Rows held (commands included).
    fn len(&self) -> usize {
        self.exec.len() + self.control.len() + self.transcripts.len() + self.commands
    }

    /// Frames of the transcripts and commands, sorted (see [`Batch`]); text left out unless
    /// `keep_text`.
    fn into_batch(mut self, keep_text: bool) -> PolarsResult<Batch> {
        self.exec
            .sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
        self.control
            .sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
        if !keep_text {
            for t in &mut self.transcripts {
                t.text = None;
            }
        }
        let ts = &self.transcripts;
        let key = |i: u32| {
            let t = &ts[i as usize];
            (
                t.time.day_number(),
                t.session_id.as_deref(),
                t.transcript_id.as_deref(),
            )
        };
        let mut order: Vec<u32> = (0..ts.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
        // The texts (most of a batch's bytes) become the column's buffers as they are.
        let texts: Vec<Option<String>> = order
            .iter()
            .map(|&i| self.transcripts[i as usize].text.take())
            .collect();
        let ts = &self.transcripts;
        let spans: Vec<(u32, std::ops::Range<u32>)> = order
            .iter()
            .map(|&t| self.ranges[t as usize].clone())
            .collect();
        let chunks = std::mem::take(&mut self.chunks);
        let (t, c) = rayon::join(
            || {
                let mut t = TranscriptRow::to_frame_ordered(ts, &order)?;
                t.with_column(polars::prelude::IntoColumn::into_column(owned_strings(
                    "text", texts,
                )))?;
                Ok::<_, polars::prelude::PolarsError>(t)
            },
            || {
                if self.commands == 0 {
                    return CommandRow::to_frame(&[]);
                }
                gather_spans(&chunks, &spans, self.commands)
            },
        );
        Ok(Batch {
            exec: self.exec,
            control: self.control,
            transcripts: t?,
            commands: c?,
        })
    }
}

/// The rows of `frames` (of one table's columns, one chunk each) that `spans` name, in that
/// order, as one frame: each column is extended by slices of the frames' arrays, strings by
/// their views (sharing the frames' buffers). Stacking the frames into one and gathering the
/// rows by index copied every column twice, a row at a time.
fn gather_spans(
    frames: &[DataFrame],
    spans: &[(u32, std::ops::Range<u32>)],
    rows: usize,
) -> PolarsResult<DataFrame> {
    use polars::prelude::{ArrayRef, IntoColumn, Series};
    use polars_arrow::array::builder::{make_builder, ShareStrategy};
    use rayon::prelude::*;
    let Some(like) = frames.iter().find(|f| f.width() > 0) else {
        return CommandRow::to_frame(&[]);
    };
    let columns = (0..like.width())
        .into_par_iter()
        .map(|j| {
            let column = &like.columns()[j];
            // A frame without columns has no rows: no span points into it.
            let arrays: Vec<Option<ArrayRef>> = frames
                .iter()
                .map(|f| {
                    f.columns()
                        .get(j)
                        .map(|c| c.as_materialized_series().rechunk().chunks()[0].clone())
                })
                .collect();
            let dtype = column.as_materialized_series().rechunk().chunks()[0]
                .dtype()
                .clone();
            if dtype == polars_arrow::datatypes::ArrowDataType::Utf8View {
                let array = gather_views(&arrays, spans, rows);
                // SAFETY: a string array for a string column.
                return unsafe {
                    Series::from_chunks_and_dtype_unchecked(
                        column.name().clone(),
                        vec![Box::new(array)],
                        column.dtype(),
                    )
                }
                .into_column();
            }
            let mut b = make_builder(&dtype);
            b.reserve(rows);
            for (chunk, r) in spans.iter().filter(|(_, r)| !r.is_empty()) {
                let array = arrays[*chunk as usize]
                    .as_ref()
                    .expect("a span points into a frame with rows");
                b.subslice_extend(
                    array.as_ref(),
                    r.start as usize,
                    r.len(),
                    ShareStrategy::Always,
                );
            }
            // SAFETY: the array was built from arrays of this column's own type.
            unsafe {
                Series::from_chunks_and_dtype_unchecked(
                    column.name().clone(),
                    vec![b.freeze_reset()],
                    column.dtype(),
                )
            }
            .into_column()
        })
        .collect();
    DataFrame::new(rows, columns)
}

/// A string column of owned strings, each string's bytes becoming a buffer of the column as
/// they are (not copied into the column's own buffers: the transcripts' texts, 916 MB for 100k
/// transcripts, were copied once more so).
fn owned_strings(name: &str, values: Vec<Option<String>>) -> polars::prelude::StringChunked {
    use polars_arrow::array::View;
    use polars_arrow::bitmap::BitmapBuilder;
    let mut views = Vec::with_capacity(values.len());
    let mut buffers: Vec<polars_buffer::Buffer<u8>> = Vec::new();
    let mut validity = BitmapBuilder::with_capacity(values.len());
    let (mut bytes, mut buffer_len) = (0usize, 0usize);
    for v in values {
        validity.push(v.is_some());
        let Some(v) = v else {
            views.push(View::default());
            continue;
        };
        bytes += v.len();
        // A short value is held in its view; a long one points at its own buffer.
        views.push(View::new_from_bytes(v.as_bytes(), buffers.len() as u32, 0));
        if v.len() > View::MAX_INLINE_SIZE as usize {
            buffer_len += v.len();
            buffers.push(polars_buffer::Buffer::from(v.into_bytes()));
        }
    }
    // SAFETY: each long view points at the start of its own buffer, of its length, holding
    // the UTF-8 of a `String`; short ones hold their bytes.
    let array = unsafe { view_array(views, buffers, validity, bytes, buffer_len) };
    polars::prelude::StringChunked::with_chunk(name.into(), array)
}

/// A string array of views framed here, over `buffers`, with `bytes` the length of all its
/// values and `buffer_len` the buffers'.
///
/// # Safety
/// Every view holds UTF-8 (short) or points at UTF-8 within the buffer it names (long).
unsafe fn view_array(
    views: Vec<polars_arrow::array::View>,
    buffers: Vec<polars_buffer::Buffer<u8>>,
    validity: polars_arrow::bitmap::BitmapBuilder,
    bytes: usize,
    buffer_len: usize,
) -> polars_arrow::array::Utf8ViewArray {
    // SAFETY: as the caller promises.
    unsafe {
        polars_arrow::array::Utf8ViewArray::new_unchecked(
            polars_arrow::datatypes::ArrowDataType::Utf8View,
            views.into(),
            buffers.into(),
            validity.into_opt_validity(),
            Some(bytes),
            buffer_len,
        )
    }
}

/// [`gather_spans`] for a string column: the spans' views, copied slice by slice, with the
/// arrays' buffers side by side (a view into a buffer moves by the index its array's buffers
/// start at). polars' builder looked up every buffer of a span's array for each span.
fn gather_views(
    arrays: &[Option<polars::prelude::ArrayRef>],
    spans: &[(u32, std::ops::Range<u32>)],
    rows: usize,
) -> polars_arrow::array::Utf8ViewArray {
    use polars_arrow::array::{Array, Utf8ViewArray, View};
    use polars_arrow::bitmap::BitmapBuilder;
    let arrays: Vec<Option<&Utf8ViewArray>> = arrays
        .iter()
        .map(|a| {
            a.as_ref().map(|a| {
                a.as_any()
                    .downcast_ref::<Utf8ViewArray>()
                    .expect("a string column's array")
            })
        })
        .collect();
    let mut buffers = Vec::new();
    let mut first = Vec::with_capacity(arrays.len());
    for a in &arrays {
        first.push(buffers.len() as u32);
        if let Some(a) = a {
            buffers.extend(a.data_buffers().iter().cloned());
        }
    }
    let mut views: Vec<View> = Vec::with_capacity(rows);
    let mut validity = BitmapBuilder::with_capacity(rows);
    let mut bytes = 0usize;
    for (chunk, r) in spans.iter().filter(|(_, r)| !r.is_empty()) {
        let a = arrays[*chunk as usize].expect("a span points into a frame with rows");
        let at = first[*chunk as usize];
        let (start, len) = (r.start as usize, r.len());
        for v in &a.views()[start..start + len] {
            let mut v = *v;
            bytes += v.length as usize;
            if v.length > View::MAX_INLINE_SIZE {
                v.buffer_idx += at;
            }
            views.push(v);
        }
        validity.subslice_extend_from_opt_validity(a.validity(), start, len);
    }
    let total_buffer_len = buffers.iter().map(|b| b.len()).sum();
    // SAFETY: every view is of an array whose buffers sit, in order, from its index on; nulls'
    // views are counted in `bytes` as the arrays count them (a null's view has length 0).
    unsafe { view_array(views, buffers, validity, bytes, total_buffer_len) }
}

/// Everything one ingest pass produced.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub exec: Vec<ExecEvent>,
    pub control: Vec<ControlEvent>,
    /// Transcripts read (a frame: audits of many transcripts hold them columnar).
    pub transcripts: DataFrame,
    /// Commands reconstructed.
    pub commands: DataFrame,
    /// Totals over every input read.
    pub totals: FileTotals,
    /// The inputs with something to say (skipped, passed over, damaged); the others are
    /// only counted in `totals`, so that a scan of many files does not grow with them.
    pub noted: Vec<FileReport>,
    /// CloudTrail digest files passed over.
    pub digests: u64,
    /// Events dropped because an identical `eventID` was already read in this pass.
    pub duplicates: u64,
    /// Transcripts dropped because a copy with the same commands was already read for the
    /// session (e.g. from both S3 and CloudWatch Logs).
    pub duplicate_transcripts: u64,
    /// Transcripts kept beside another of the same session id with different commands.
    pub conflicting_transcripts: u64,
    /// `ExecuteCommand` records that reuse an `eventID` already read (or stored) with another
    /// identity, target, time, command or outcome.
    pub conflicting_events: Conflicts,
    /// Exec events kept (also when the rows went to a sink, not to `exec`).
    pub exec_count: u64,
    /// Of them, successful calls.
    pub exec_success: u64,
    /// Control events kept.
    pub control_count: u64,
    /// Transcripts kept, per status.
    pub transcript_status: BTreeMap<String, u64>,
    /// Commands reconstructed.
    pub command_count: u64,
    /// Transcripts that are not terminal recordings (unreadable).
    pub unreadable_transcripts: u64,
}

/// What one input (a file, an S3 object, a log stream, a LookupEvents page) yielded.
#[derive(Debug, Default)]
pub struct InputScan {
    pub report: FileReport,
    pub events: Vec<Classified>,
    pub transcripts: Vec<(TranscriptRow, Vec<CommandRow>)>,
}

/// Counts over every input of a scan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileTotals {
    pub files: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    pub records: u64,
    pub candidates: u64,
    pub bad_records: u64,
    /// Inputs per kind (by [`InputKind::label`]).
    pub kinds: BTreeMap<&'static str, u64>,
}

impl FileReport {
    /// Whether the report says more than counts: the summary names such an input.
    pub fn noteworthy(&self) -> bool {
        self.error.is_some()
            || self.passed_over.is_some()
            || self.warning.is_some()
            || !self.bad_records.is_empty()
    }
}

impl InputScan {
    /// About the memory the rows hold: text, and ~640 bytes a command row or event.
    fn held_bytes(&self) -> usize {
        let rows: usize = self
            .transcripts
            .iter()
            .map(|(t, commands)| {
                512 + t.text.as_ref().map_or(0, String::len)
                    + commands
                        .iter()
                        .map(|c| {
                            640 + c.command.as_ref().map_or(0, String::len)
                                + c.output_excerpt.as_ref().map_or(0, String::len)
                        })
                        .sum::<usize>()
            })
            .sum();
        rows + self.events.len() * 1_500
    }
}

impl ScanOutput {
    /// Counts one input's report, keeping it when it has something to say.
    pub fn note(&mut self, report: FileReport) {
        let t = &mut self.totals;
        t.files += 1;
        t.bytes += report.bytes;
        t.records += report.records;
        t.candidates += report.candidates;
        t.bad_records += report.bad_records.len() as u64;
        if let Some(k) = report.kind {
            *t.kinds.entry(k.label()).or_default() += 1;
        }
        if report.noteworthy() {
            self.noted.push(report);
        }
    }

    /// Files skipped entirely (errors).
    pub fn skipped(&self) -> impl Iterator<Item = &FileReport> {
        self.noted.iter().filter(|f| f.error.is_some())
    }

    /// Files passed over as plainly not logs.
    pub fn passed_over(&self) -> impl Iterator<Item = &FileReport> {
        self.noted.iter().filter(|f| f.passed_over.is_some())
    }

    fn count_transcript(&mut self, t: &TranscriptRow, commands: usize) {
        let status = t.status.clone().unwrap_or_else(|| "?".into());
        if status == "unreadable" {
            self.unreadable_transcripts += 1;
        }
        *self.transcript_status.entry(status).or_default() += 1;
        self.command_count += commands as u64;
    }

    /// Transcripts kept.
    pub fn transcript_count(&self) -> u64 {
        self.transcript_status.values().sum()
    }
}

fn read_transcripts(
    bytes: &[u8],
    source: &str,
    report: &mut FileReport,
) -> Vec<(TranscriptRow, Vec<CommandRow>)> {
    report.kind = Some(InputKind::Transcript);
    let found: Vec<_> = transcript::read(bytes, source)
        .iter()
        .map(transcript::rows_of_lean)
        .collect();
    let problems: Vec<String> = found
        .iter()
        .filter(|(t, _)| t.status.as_deref() != Some("present") || t.omitted_bytes.is_some())
        .map(|(t, _)| {
            let id = t.session_id.as_deref().unwrap_or("transcript");
            let status = t.status.as_deref().unwrap_or("");
            match &t.warnings {
                Some(w) => format!("{id}: {status}: {w}"),
                None => format!("{id}: {status}"),
            }
        })
        .collect();
    if !problems.is_empty() {
        report.warning = Some(problems.join("; "));
    }
    found
}

const CUT_GZIP: &str = "gzip data ends early (truncated file?)";

fn scan_one(reader: &mut local::Reader, input: &Input, opts: &ScanOptions) -> InputScan {
    let path = &input.path;
    let mut report = FileReport {
        path: path.clone(),
        ..FileReport::default()
    };
    let source = path.display().to_string();
    let check = |head: &[u8]| {
        if let Some(why) = input.walked.then(|| local::not_a_log(path, head)).flatten() {
            return Verdict::NotALog(why);
        }
        match cloudtrail::sniff(head) {
            // A `<session>.log` object is a transcript whatever it holds.
            Err(e) if !is_named_transcript(&source) => Verdict::Refuse(e.to_string()),
            _ => Verdict::Read,
        }
    };
    let content = match reader.read(path, opts.max_file_bytes, check) {
        Ok(c) => c,
        Err(ReadError::NotALog(why)) => {
            report.kind = Some(InputKind::NotALog);
            report.passed_over = Some(why);
            return InputScan {
                report,
                ..InputScan::default()
            };
        }
        Err(e) => {
            report.error = Some(e.to_string());
            return InputScan {
                report,
                ..InputScan::default()
            };
        }
    };
    let mut found = scan_bytes(content.bytes, &source);
    // The path as given, not as displayed (which is lossy for names that are not UTF-8).
    found.report.path = report.path;
    if content.truncated {
        note_cut_gzip(&mut found.report);
    }
    found
}

/// Marks an input whose gzip data ended early: what came before the cut was read (a warning),
/// or was not usable either (the error says both).
pub fn note_cut_gzip(report: &mut FileReport) {
    if let Some(e) = report.error.take() {
        report.error = Some(format!(
            "{CUT_GZIP}, and what came before the cut is not usable: {e}"
        ));
        return;
    }
    report.warning = Some(match report.warning.take() {
        Some(w) => format!("{CUT_GZIP}: {w}"),
        None => format!("{CUT_GZIP}: read what came before the cut"),
    });
}

/// Whether `source` names a `<session>.log` transcript object.
fn is_named_transcript(source: &str) -> bool {
    source.ends_with(".log") && transcript::session_id_in(source).is_some()
}

/// Scans one input's decompressed bytes, whatever it turns out to be (trail file, export,
/// transcript). `source` names it in the rows and messages: a path, an `s3://` URL, ...
/// This is the pure seam every source goes through: local files, S3 objects, LookupEvents pages.
pub fn scan_bytes(bytes: &[u8], source: &str) -> InputScan {
    let mut report = FileReport {
        path: PathBuf::from(source),
        bytes: bytes.len() as u64,
        ..FileReport::default()
    };
    let result = |report, events, transcripts| InputScan {
        report,
        events,
        transcripts,
    };
    // A `<session>.log` object is a transcript whatever it holds (even a stub without header).
    let named_transcript = is_named_transcript(source);
    match cloudtrail::scan(bytes, source) {
        Ok(s) if s.kind == Some(InputKind::Transcript) => {
            let t = read_transcripts(bytes, source, &mut report);
            result(report, Vec::new(), t)
        }
        Ok(s) => {
            report.kind = s.kind;
            report.records = s.records;
            report.candidates = s.candidates;
            report.bad_records = s.bad_records;
            report.warning = s.warning;
            result(report, s.events, Vec::new())
        }
        Err(_) if named_transcript => {
            let t = read_transcripts(bytes, source, &mut report);
            result(report, Vec::new(), t)
        }
        Err(e) => {
            report.error = Some(e.to_string());
            result(report, Vec::new(), Vec::new())
        }
    }
}

/// Reads bytes known to be a transcript (an object fetched by session id, a log stream named
/// by one, as a GetLogEvents-shaped document): never taken for CloudTrail, whatever it holds.
pub fn scan_transcript(bytes: &[u8], source: &str) -> InputScan {
    let mut report = FileReport {
        path: PathBuf::from(source),
        bytes: bytes.len() as u64,
        ..FileReport::default()
    };
    let transcripts = read_transcripts(bytes, source, &mut report);
    InputScan {
        report,
        events: Vec::new(),
        transcripts,
    }
}

/// Frames of transcripts and their commands, sorted as [`crate::store::Writer::append_transcripts`]
/// takes them (see [`Batch`]), for sources that gather rows themselves (`sync`).
pub fn transcript_frames(
    found: Vec<(TranscriptRow, Vec<CommandRow>)>,
) -> PolarsResult<(DataFrame, DataFrame)> {
    let (transcripts, commands): (Vec<TranscriptRow>, Vec<Vec<CommandRow>>) =
        found.into_iter().unzip();
    let n = commands.iter().map(Vec::len).sum();
    let run = RunCommands::frame(transcripts.iter().zip(commands), n)?;
    let rows = Rows {
        commands: run.frame.height(),
        chunks: vec![run.frame],
        ranges: run.ranges.into_iter().map(|r| (0, r)).collect(),
        transcripts,
        ..Rows::default()
    };
    let batch = rows.into_batch(true)?;
    Ok((batch.transcripts, batch.commands))
}

thread_local! {
    /// Each worker's reader: buffers sized by the largest file it has read, reused.
    static READER: RefCell<local::Reader> = RefCell::new(local::Reader::default());
}

/// Scans one file with this thread's reader. A panic (a bug) is reported against the file and
/// the run goes on.
fn scan_file(input: &Input, opts: &ScanOptions) -> InputScan {
    READER.with(|cell| {
        let mut reader = cell.borrow_mut();
        match catch_unwind(AssertUnwindSafe(|| scan_one(&mut reader, input, opts))) {
            Ok(r) => r,
            Err(panic) => {
                *reader = local::Reader::default();
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                InputScan {
                    report: FileReport {
                        path: input.path.clone(),
                        error: Some(format!(
                            "internal error while reading this file (please report it): {what}"
                        )),
                        ..FileReport::default()
                    },
                    events: Vec::new(),
                    transcripts: Vec::new(),
                }
            }
        }
    })
}

/// How far ahead of the merge the workers may read, in files and in the bytes their results
/// hold: enough to keep both cores busy while the merge hands a batch to the store (~60 ms for
/// 65,536 rows, in which the workers reconstruct ~1,200 transcripts of ~45 KB of rows each),
/// little enough that the results waiting stay small. With 256 files and no byte bound the
/// workers idled through every store write: 100k transcripts took 12.4-12.5 s on 1.5 cores.
const WINDOW_FILES: usize = 4096;
const WINDOW_BYTES: usize = 64 << 20;
/// Consecutive files a worker takes at a time: one hand-over (and one wake-up of the merging
/// thread), and one frame of command rows, per run of files rather than per file. Measured on
/// 100k transcripts (medians of four alternating runs): 8 files took 14.8 CPU-s, 16 took 14.1,
/// 32 took 13.9, 64 took 14.1 and 128 took 14.3 (with more memory).
const STRIDE_FILES: usize = 32;
/// Kept rows handed to the sink at a time: each batch becomes a row group per table and day.
/// A batch spreads over the days of its files, so its size sets the row groups' (a week of 100k
/// transcripts: 32,768-row batches left ~100 transcripts a row group and `show` took 0.44-0.60 s
/// on the fresh store; 65,536 give ~200, 0.28-0.29 s, and ingest the same 540 MB; 131,072 took
/// 615 MB). Measured on 100k transcripts, 8,192-row batches cost 1.6x the peak memory of
/// 32,768 (likely the writer's per-row-group overhead, not confirmed).
pub const BATCH_ROWS: usize = 65_536;
/// Events (exec and control rows, about 1.4 KB each in memory) handed to the sink at a time,
/// without the transcripts waiting beside them: an organisation trail keeps tens of thousands
/// of control rows, and holding 32,768 of them made ingest's memory grow with the trail (130 MB
/// at 1M records, 189 MB at 4M). The store gathers them into fuller row groups.
const BATCH_EVENTS: usize = 1_024;
/// Transcript text handed to the sink at a time, at most (about).
const BATCH_TEXT_BYTES: usize = 32 << 20;

/// First-seen-wins deduplication across a whole scan, and the batch being filled.
#[derive(Default)]
struct Merger {
    seen: IdSet,
    /// `eventID` -> the identity of the first `ExecuteCommand` read with it, and where it was
    /// read ([`ExecEvent::identity`]): a later copy that differs is named.
    first_exec: crate::model::idset::IdMap<(crate::model::Identity, u32)>,
    /// Where events were read (one entry a file), for `first_exec`.
    sources: crate::model::idset::Interned,
    seen_transcripts: IdSet,
    /// Session id -> the first transcript read for it (its id, where it was read, complete).
    first_transcript: HashMap<String, (String, String, bool)>,
    batch: Rows,
    text_bytes: usize,
}

impl Merger {
    /// Merges one result of a run whose command rows are `run` (`ranges` walks its
    /// transcripts' rows; the result's own rows were moved there).
    fn add(
        &mut self,
        r: InputScan,
        run: &RunCommands,
        ranges: &mut impl Iterator<Item = std::ops::Range<u32>>,
        out: &mut ScanOutput,
    ) {
        let InputScan {
            mut report,
            events,
            transcripts,
        } = r;
        for (t, _) in transcripts {
            let range = ranges
                .next()
                .expect("a range for every transcript of the run");
            if !t
                .transcript_id
                .as_deref()
                .is_some_and(|id| self.seen_transcripts.insert(id))
            {
                out.duplicate_transcripts += 1;
                continue;
            }
            if let (Some(sid), Some(tid)) = (&t.session_id, &t.transcript_id) {
                let complete = t.status.as_deref() == Some("present");
                match self.first_transcript.get(sid) {
                    // Two complete recordings of one session with different commands: one may
                    // be planted. (An incomplete one may be a cut-off upload of the other: the
                    // views decide from the commands.)
                    Some((first, source, first_complete))
                        if first != tid && complete && *first_complete =>
                    {
                        out.conflicting_transcripts += 1;
                        let w = format!(
                            "transcript of session {sid} differs from the one read from {source}: both kept, the session is marked conflicting"
                        );
                        report.warning = Some(match report.warning.take() {
                            Some(prev) => format!("{prev}; {w}"),
                            None => w,
                        });
                    }
                    Some(_) => {}
                    None => {
                        let source = t.source.clone().unwrap_or_default();
                        self.first_transcript
                            .insert(sid.clone(), (tid.clone(), source, complete));
                    }
                }
            }
            report.transcripts += 1;
            out.count_transcript(&t, range.len());
            self.text_bytes += t.text.as_ref().map_or(0, String::len);
            self.batch.transcripts.push(t);
            let chunk = match self.batch.run_chunk {
                Some(c) => c,
                None => {
                    // The run's frame is shared (its columns are reference-counted).
                    self.batch.chunks.push(run.frame.clone());
                    let c = (self.batch.chunks.len() - 1) as u32;
                    self.batch.run_chunk = Some(c);
                    c
                }
            };
            self.batch.commands += range.len();
            self.batch.ranges.push((chunk, range));
        }
        for event in events {
            let id = match &event {
                Classified::Exec(e) => e.event_id.as_deref(),
                Classified::Control(c) => c.event_id.as_deref(),
            };
            if let Some(id) = id {
                // Exec and control events are told apart by their own ids: a record of
                // another kind that reuses an `ExecuteCommand`'s id must not hide it.
                let fresh = match &event {
                    Classified::Exec(e) => self.first_exec_of(id, e, out),
                    Classified::Control(c) => {
                        let fresh = self.seen.insert(id);
                        if fresh {
                            if let Some((_, source)) = self.first_exec.get(id) {
                                out.conflicting_events.note(format!(
                                    "eventID {}: the {} read from {} reuses the id of the ExecuteCommand read from {}: both kept; one of the two was altered or forged",
                                    shown(id),
                                    shown(c.event_name.as_deref().unwrap_or("record")),
                                    shown(c.source.as_deref().unwrap_or("?")),
                                    shown(self.sources.get(*source))
                                ));
                            }
                        }
                        fresh
                    }
                };
                if !fresh {
                    out.duplicates += 1;
                    continue;
                }
            }
            match event {
                Classified::Exec(e) => {
                    report.exec_events += 1;
                    out.exec_count += 1;
                    out.exec_success += u64::from(e.outcome.as_deref() == Some("success"));
                    self.batch.exec.push(*e);
                }
                Classified::Control(c) => {
                    report.control_events += 1;
                    out.control_count += 1;
                    self.batch.control.push(*c);
                }
            }
        }
        out.note(report);
    }

    /// Whether an `ExecuteCommand` is the first read with its `eventID`; when not and it is
    /// not the same call as the first (another identity, target, time, command or outcome),
    /// it is counted and named. The first stays (when the store already holds the id, the
    /// stored one stays: see `Writer::append_exec`).
    fn first_exec_of(&mut self, id: &str, e: &ExecEvent, out: &mut ScanOutput) -> bool {
        let identity = e.identity();
        let Some((first, source)) = self.first_exec.get(id) else {
            if self.seen.contains(id) {
                out.conflicting_events.note(format!(
                    "eventID {}: the ExecuteCommand read from {} reuses the id of another kind of record read before it: both kept; one of the two was altered or forged",
                    shown(id),
                    shown(e.source.as_deref().unwrap_or("?"))
                ));
            }
            let index = self.sources.id(e.source.as_deref().unwrap_or(""));
            self.first_exec.insert(id, (identity, index));
            return true;
        };
        let fields = first.differences(&identity);
        if !fields.is_empty() {
            out.conflicting_events.note(format!(
                "eventID {}: the ExecuteCommand read from {} differs from the one read from {} in {}: one copy is kept (the one read first, or the one already stored); one of the two was altered or forged",
                shown(id),
                shown(e.source.as_deref().unwrap_or("?")),
                shown(self.sources.get(*source)),
                fields.join(", ")
            ));
        }
        false
    }

    fn full(&self) -> bool {
        self.batch.len() >= BATCH_ROWS
            || self.text_bytes >= BATCH_TEXT_BYTES
            || self.batch.exec.len() + self.batch.control.len() >= BATCH_EVENTS
    }

    /// The run being merged is over: the next one brings its own frame.
    fn end_run(&mut self) {
        self.batch.run_chunk = None;
    }

    /// Everything held (the end of the scan).
    fn take(&mut self, keep_text: bool) -> PolarsResult<Batch> {
        self.text_bytes = 0;
        std::mem::take(&mut self.batch).into_batch(keep_text)
    }

    /// What is due once [`Merger::full`]: the events alone while transcripts fill up.
    fn take_due(&mut self, keep_text: bool) -> PolarsResult<Batch> {
        let rows = if self.batch.len() < BATCH_ROWS && self.text_bytes < BATCH_TEXT_BYTES {
            // Only the events are due: transcripts and commands wait for a full batch, which
            // sets their row groups (the store gathers events into fuller row groups itself).
            Rows {
                exec: std::mem::take(&mut self.batch.exec),
                control: std::mem::take(&mut self.batch.control),
                ..Rows::default()
            }
        } else {
            self.text_bytes = 0;
            std::mem::take(&mut self.batch)
        };
        rows.into_batch(keep_text)
    }
}

/// Scans files and directories, handing the kept rows to `sink` in batches (each sorted by
/// time, de-duplicated against everything before it) while the workers go on reading; returns
/// the account of every file and the counts, with no rows. Transcript text is kept when
/// `keep_text`. A sink error stops the scan.
pub fn scan_stream(
    paths: &[PathBuf],
    keep_text: bool,
    sink: impl FnMut(Batch) -> anyhow::Result<()>,
) -> anyhow::Result<ScanOutput> {
    scan_stream_with(paths, keep_text, &ScanOptions::default(), sink)
}

/// [`scan_stream`] with read options.
pub fn scan_stream_with(
    paths: &[PathBuf],
    keep_text: bool,
    opts: &ScanOptions,
    mut sink: impl FnMut(Batch) -> anyhow::Result<()>,
) -> anyhow::Result<ScanOutput> {
    let inputs = local::collect(paths);
    crate::trace::stage("inputs listed");
    let mut out = ScanOutput {
        digests: inputs.digests.len() as u64,
        ..ScanOutput::default()
    };
    for (path, why) in inputs.unreadable {
        out.note(FileReport {
            path,
            error: Some(format!("cannot read: {why}")),
            ..FileReport::default()
        });
    }
    for path in inputs.special {
        out.note(FileReport {
            path,
            kind: Some(InputKind::NotALog),
            passed_over: Some("not a regular file (a FIFO, socket or device)".into()),
            ..FileReport::default()
        });
    }
    let files = &inputs.files;
    let workers = rayon::current_num_threads().clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    // Files merged so far: workers sleep rather than read past `merged + WINDOW_FILES`.
    let merged = AtomicUsize::new(0);
    // Bytes the results read but not merged yet hold (about).
    let held = AtomicUsize::new(0);
    let sleepers = AtomicUsize::new(0);
    let wake = (Mutex::new(()), Condvar::new());
    let stop = AtomicBool::new(false);
    // A run of results: where it starts, the results, their command rows, the bytes they hold.
    let (tx, rx) = mpsc::channel::<(usize, Vec<InputScan>, RunCommands, usize)>();
    let mut merger = Merger::default();
    let mut failure: Option<anyhow::Error> = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, merged, held, sleepers, wake, stop) =
                (&next, &merged, &held, &sleepers, &wake, &stop);
            scope.spawn(move || loop {
                let start = next.fetch_add(STRIDE_FILES, Ordering::Relaxed);
                if start >= files.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                // The run the merge waits for always goes ahead (else nothing would move).
                let behind = || {
                    let m = merged.load(Ordering::SeqCst);
                    start >= m + WINDOW_FILES
                        || (start > m && held.load(Ordering::SeqCst) > WINDOW_BYTES)
                };
                if behind() {
                    sleepers.fetch_add(1, Ordering::SeqCst);
                    let mut g = wake.0.lock().unwrap_or_else(|e| e.into_inner());
                    while behind() && !stop.load(Ordering::Relaxed) {
                        g = wake.1.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                    drop(g);
                    sleepers.fetch_sub(1, Ordering::SeqCst);
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let end = (start + STRIDE_FILES).min(files.len());
                let mut results: Vec<InputScan> = files[start..end]
                    .iter()
                    .map(|f| scan_file(f, opts))
                    .collect();
                let bytes = results.iter().map(InputScan::held_bytes).sum();
                let run = RunCommands::take_from(&mut results)
                    .expect("command columns of one length make a frame");
                held.fetch_add(bytes, Ordering::SeqCst);
                if tx.send((start, results, run, bytes)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Runs of results arrive in any order; they are merged in input order.
        let mut waiting: BTreeMap<usize, (Vec<InputScan>, RunCommands, usize)> = BTreeMap::new();
        let mut want = 0;
        for (start, results, run, bytes) in rx {
            waiting.insert(start, (results, run, bytes));
            while let Some((results, run, bytes)) = waiting.remove(&want) {
                want += results.len();
                held.fetch_sub(bytes, Ordering::SeqCst);
                let mut ranges = run.ranges.iter().cloned();
                for r in results {
                    merger.add(r, &run, &mut ranges, &mut out);
                    if merger.full() && failure.is_none() {
                        let sent = merger
                            .take_due(keep_text)
                            .map_err(anyhow::Error::from)
                            .and_then(&mut sink);
                        if let Err(e) = sent {
                            failure = Some(e);
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                merger.end_run();
            }
            merged.store(want, Ordering::SeqCst);
            if sleepers.load(Ordering::SeqCst) > 0 {
                let _g = wake.0.lock().unwrap_or_else(|e| e.into_inner());
                wake.1.notify_all();
            }
        }
    });
    // Every file is read: the allocator goes back to returning freed memory.
    crate::alloc::transcripts_done();
    if let Some(e) = failure {
        return Err(e);
    }
    if merger.batch.len() > 0 {
        sink(merger.take(keep_text)?)?;
    }
    Ok(out)
}

/// Scans files and directories and keeps every row in memory, sorted by time (a one-shot
/// audit). With `keep_text` false, transcripts lose their text as they are read.
pub fn scan_paths_with(paths: &[PathBuf], keep_text: bool) -> ScanOutput {
    scan_paths_with_options(paths, keep_text, &ScanOptions::default())
}

/// [`scan_paths_with`] with read options.
pub fn scan_paths_with_options(
    paths: &[PathBuf],
    keep_text: bool,
    opts: &ScanOptions,
) -> ScanOutput {
    scan_paths_selecting(paths, keep_text, opts, Vec::new())
}

/// What a scan held in memory keeps of the control rows, batch by batch as they arrive (an
/// organisation trail brings tens of thousands of them, most of which a one-shot audit leaves
/// out).
pub trait KeepControl {
    /// One batch of rows, in input order.
    fn batch(&mut self, rows: Vec<ControlEvent>);
    /// The rows kept, once the scan is over.
    fn finish(self) -> Vec<ControlEvent>;
}

/// Every row.
impl KeepControl for Vec<ControlEvent> {
    fn batch(&mut self, rows: Vec<ControlEvent>) {
        self.extend(rows);
    }
    fn finish(self) -> Vec<ControlEvent> {
        self
    }
}

/// [`scan_paths_with_options`], with the control rows chosen by `keep`.
pub fn scan_paths_selecting(
    paths: &[PathBuf],
    keep_text: bool,
    opts: &ScanOptions,
    mut keep: impl KeepControl,
) -> ScanOutput {
    let mut exec = Vec::new();
    let (mut transcripts, mut commands) = (Vec::new(), Vec::new());
    let mut out = scan_stream_with(paths, keep_text, opts, |b| {
        exec.extend(b.exec);
        keep.batch(b.control);
        transcripts.push(b.transcripts);
        commands.push(compact(b.commands));
        Ok(())
    })
    .expect("an in-memory sink does not fail");
    let mut control = keep.finish();
    exec.sort_by(|a: &ExecEvent, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
    control.sort_by(|a: &ControlEvent, b| {
        (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id))
    });
    out.exec = exec;
    out.control = control;
    out.transcripts = stack(transcripts, TranscriptRow::to_frame(&[]));
    out.commands = stack(commands, CommandRow::to_frame(&[]));
    out
}

/// The frame with each string column's text in one buffer of its exact size. A batch's
/// command rows point into the frames of the runs they were read in, whose buffers grew by
/// doubling and are shared with rows of other batches: held for a whole scan (a one-shot audit
/// of 100k transcripts) that slack was ~600 MB.
fn compact(df: DataFrame) -> DataFrame {
    use polars::prelude::{DataType, IntoColumn, StringChunked};
    let columns = df
        .columns()
        .iter()
        .map(|c| match (c.dtype(), c.str()) {
            (DataType::String, Ok(ca)) => {
                let chunks: Vec<_> = ca
                    .downcast_iter()
                    .map(|a| Box::new(exact_strings(a)) as polars::prelude::ArrayRef)
                    .collect();
                // SAFETY: string arrays for a string column.
                unsafe { StringChunked::from_chunks(ca.name().clone(), chunks) }.into_column()
            }
            _ => c.clone(),
        })
        .collect();
    DataFrame::new(df.height(), columns).unwrap_or(df)
}

/// A copy of a string array whose text (the values longer than a view holds) sits in one
/// buffer of exactly its size.
fn exact_strings(a: &polars_arrow::array::Utf8ViewArray) -> polars_arrow::array::Utf8ViewArray {
    use polars_arrow::array::{Array, View};
    use polars_buffer::Buffer;
    let long = |v: &View| v.length > View::MAX_INLINE_SIZE;
    let size: usize = a
        .views()
        .iter()
        .filter(|v| long(v))
        .map(|v| v.length as usize)
        .sum();
    if size > u32::MAX as usize {
        return a.clone().gc();
    }
    let buffers = a.data_buffers();
    let mut text: Vec<u8> = Vec::with_capacity(size);
    let views: Vec<View> = a
        .views()
        .iter()
        .map(|v| {
            if !long(v) {
                return *v;
            }
            let from = &buffers[v.buffer_idx as usize];
            let bytes = &from[v.offset as usize..v.offset as usize + v.length as usize];
            let at = text.len() as u32;
            text.extend_from_slice(bytes);
            View::new_from_bytes(bytes, 0, at)
        })
        .collect();
    let total_bytes = a.total_bytes_len();
    let stored: Buffer<Buffer<u8>> = if size == 0 {
        Buffer::from(Vec::new())
    } else {
        Buffer::from(vec![Buffer::from(text)])
    };
    // SAFETY: every long view points into the one buffer, at the bytes it had before.
    unsafe {
        polars_arrow::array::Utf8ViewArray::new_unchecked(
            a.dtype().clone(),
            Buffer::from(views),
            stored,
            a.validity().cloned(),
            Some(total_bytes),
            size,
        )
    }
}

/// Frames one under the other (an empty frame of the table's columns when there are none).
fn stack(frames: Vec<DataFrame>, empty: PolarsResult<DataFrame>) -> DataFrame {
    let mut it = frames.into_iter().filter(|f| f.width() > 0);
    let Some(mut first) = it.next() else {
        return empty.expect("an empty frame builds");
    };
    for f in it {
        first
            .vstack_mut_owned(f)
            .expect("frames of one table stack");
    }
    first
}

/// Scans files and directories and merges what they hold, in memory.
pub fn scan_paths(paths: &[PathBuf]) -> ScanOutput {
    scan_paths_with(paths, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_going_out_do_not_take_half_read_transcripts_with_them() {
        // Transcripts, then more than a batch of events, then more transcripts (S3 objects
        // and trail files in any order): the events went out with the transcripts read so
        // far, and the transcripts' row groups were cut at the events' pace.
        let dir = tempfile::tempdir().unwrap();
        crate::loadgen::generate(dir.path(), 1_500, 3, 7).unwrap();
        let mut logs = files_under(&dir.path().join("exec-logs"));
        logs.sort();
        assert!(logs.len() >= 2, "{} transcript files", logs.len());
        let rest = logs.split_off(logs.len() / 2);
        let mut paths = logs;
        paths.push(dir.path().join("AWSLogs"));
        paths.extend(rest);
        let mut batches = Vec::new();
        let out = scan_stream(&paths, false, |b| {
            batches.push((b.exec.len(), b.transcripts.height()));
            Ok(())
        })
        .unwrap();
        assert_eq!(out.exec_count, 1_500);
        assert_eq!(out.transcript_count(), 1_500);
        let with_transcripts: Vec<_> = batches.iter().filter(|b| b.1 > 0).collect();
        assert_eq!(with_transcripts.len(), 1, "batches: {batches:?}");
        assert!(
            batches.len() >= 2 && batches[0].1 == 0,
            "batches: {batches:?}"
        );
    }

    #[test]
    fn command_rows_without_their_ids_make_the_same_frames() {
        // The scan leaves each command row's ids to its transcript's row; the frames must be
        // what rows carrying them give.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
        let mut logs = files_under(&root.join("cases"));
        logs.extend(files_under(&root.join("classes")));
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        assert!(logs.len() > 100, "{} transcripts", logs.len());
        let (mut full, mut lean) = (Vec::new(), Vec::new());
        for p in &logs {
            let bytes = std::fs::read(p).unwrap();
            for raw in transcript::read(&bytes, &p.to_string_lossy()) {
                full.push(transcript::rows_of(&raw));
                lean.push(transcript::rows_of_lean(&raw));
            }
        }
        assert!(lean
            .iter()
            .flat_map(|(_, c)| c)
            .all(|c| c.command_id.is_none()));
        let commands: usize = full.iter().map(|(_, c)| c.len()).sum();
        assert!(commands > 1_000, "{commands} commands");
        // What framing the rows themselves gives, in the batch's order (day, session,
        // transcript; commands in order).
        let mut sorted = full.clone();
        sorted.sort_by(|(a, _), (b, _)| {
            (a.time.day_number(), &a.session_id, &a.transcript_id).cmp(&(
                b.time.day_number(),
                &b.session_id,
                &b.transcript_id,
            ))
        });
        let rows: Vec<CommandRow> = sorted.into_iter().flat_map(|(_, c)| c).collect();
        let direct = CommandRow::to_frame(&rows).unwrap();
        let (ft, fc) = transcript_frames(full).unwrap();
        assert_eq!(fc.schema(), direct.schema());
        assert!(fc.equals_missing(&direct), "{fc}\n{direct}");
        let (lt, lc) = transcript_frames(lean).unwrap();
        assert!(ft.equals_missing(&lt));
        // The lean frames leave the key to the store, which derives what the rows carried.
        assert_eq!(lc.column("command_id").unwrap().null_count(), lc.height());
        let info = crate::store::table(CommandRow::NAME).unwrap();
        let derived = crate::store::with_keys(info, polars::prelude::IntoLazy::lazy(lc))
            .collect()
            .unwrap();
        assert!(fc.equals_missing(&derived), "{fc}\n{derived}");
        assert_eq!(fc.column("command_id").unwrap().null_count(), 0);
    }

    /// A transcript without ids (read from a file whose name gives no session) frames its
    /// commands with null ids, beside one that has them.
    #[test]
    fn commands_of_a_transcript_without_ids_are_framed() {
        let command = |seq: i64| CommandRow {
            seq: Some(seq),
            command: Some(format!("echo {seq}")),
            ..CommandRow::default()
        };
        let with = TranscriptRow {
            session_id: Some("ecs-execute-command-aaa".into()),
            transcript_id: Some("ecs-execute-command-aaa~0123456789abcdef".into()),
            ..TranscriptRow::default()
        };
        let without = TranscriptRow::default();
        let (_, c) = transcript_frames(vec![
            (without, vec![command(1), command(2)]),
            (with, vec![command(1)]),
        ])
        .unwrap();
        assert_eq!(c.height(), 3);
        let sid = c.column("session_id").unwrap().str().unwrap().clone();
        let got: Vec<Option<&str>> = sid.iter().collect();
        assert_eq!(got, [None, None, Some("ecs-execute-command-aaa")]);
        assert_eq!(c.column("transcript_id").unwrap().null_count(), 2);
    }

    /// A prompt's user, host and directory are shared by its commands and framed by repeating
    /// the view: the frame holds each row's own value (shared or not, long or short, null),
    /// as framing the rows one by one does.
    #[test]
    fn shared_prompt_parts_are_framed_as_each_rows_value() {
        use std::sync::Arc;
        let dir: Arc<str> = "/srv/a/directory/longer/than/a/view".into();
        let user: Arc<str> = "root".into();
        let other: Arc<str> = "/srv/a/directory/longer/than/a/view".into();
        let command = |seq: i64, u: &Arc<str>, d: Option<&Arc<str>>| CommandRow {
            seq: Some(seq),
            user: Some(u.clone()),
            cwd: d.cloned(),
            host: (seq % 2 == 0).then(|| "h".into()),
            command: Some(format!("echo {seq}")),
            ..CommandRow::default()
        };
        let t = TranscriptRow {
            session_id: Some("s".into()),
            transcript_id: Some("s~t".into()),
            ..TranscriptRow::default()
        };
        let rows = vec![
            command(1, &user, Some(&dir)),
            command(2, &user, Some(&dir)),
            command(3, &user, None),
            command(4, &user, Some(&dir)),
            command(5, &user, Some(&other)),
            command(6, &"admin".into(), Some(&other)),
        ];
        let (_, c) = transcript_frames(vec![(t.clone(), rows.clone()), (t, rows.clone())]).unwrap();
        let expected = CommandRow::to_frame(&[rows.clone(), rows].concat()).unwrap();
        for name in ["user", "host", "cwd"] {
            assert!(
                c.column(name)
                    .unwrap()
                    .equals_missing(expected.column(name).unwrap()),
                "{name}: {:?}",
                c.column(name).unwrap()
            );
        }
    }

    /// A batch's commands, gathered span by span from the frames of the runs they were read
    /// in, are the rows a gather by index from the stacked frames gives, in the spans' order
    /// (strings long and short, nulls, times and numbers; a run without rows among them).
    #[test]
    fn spans_gather_the_rows_an_index_gather_does() {
        use polars::prelude::*;
        let run = |n: i64, tag: &str| {
            let rows: Vec<CommandRow> = (0..n)
                .map(|i| CommandRow {
                    seq: Some(i),
                    time: crate::model::Timestamp(i * 1_000),
                    session_id: Some(format!("{tag}-session")),
                    command: (i % 5 != 0)
                        .then(|| format!("{tag} a command longer than a view {i}")),
                    cwd: (i % 3 == 0).then(|| "/".into()),
                    confidence: Some(i as f64 / 10.0),
                    abandoned: (i % 4 == 0).then_some(true),
                    ..CommandRow::default()
                })
                .collect();
            CommandRow::to_frame(&rows).unwrap()
        };
        let frames = vec![run(10, "a"), DataFrame::empty(), run(7, "b"), run(12, "c")];
        let spans: Vec<(u32, std::ops::Range<u32>)> = vec![
            (3, 4..9),
            (0, 0..3),
            (2, 0..7),
            (1, 0..0),
            (0, 8..10),
            (3, 0..4),
            (0, 3..3),
        ];
        let rows = spans.iter().map(|(_, r)| r.len()).sum();
        let got = gather_spans(&frames, &spans, rows).unwrap();
        let offsets = [0u32, 10, 10, 17];
        let idx: Vec<IdxSize> = spans
            .iter()
            .flat_map(|(c, r)| {
                r.clone()
                    .map(move |i| (i + offsets[*c as usize]) as IdxSize)
            })
            .collect();
        let mut all = stack(frames, CommandRow::to_frame(&[]));
        all.rechunk_mut();
        let expected = all.take(&IdxCa::from_vec("".into(), idx)).unwrap();
        assert_eq!(got.height(), rows);
        assert!(got.equals_missing(&expected), "{got} {expected}");
        assert_eq!(got.schema(), expected.schema());
    }

    /// A run's commands framed at once (ids and prompt parts apart from the other columns) are
    /// the rows framed one by one, with a transcript's ids where its rows leave them out and
    /// the command ids null until one is given.
    #[test]
    fn a_runs_commands_frame_as_their_rows_do() {
        let transcript = |sid: &str, tid: &str| TranscriptRow {
            session_id: Some(sid.into()),
            transcript_id: Some(tid.into()),
            ..TranscriptRow::default()
        };
        let row = |i: i64, ids: Option<(&str, &str)>| CommandRow {
            command_id: ids.map(|(_, t)| format!("{t}#{i:05}")),
            session_id: ids.map(|(s, _)| s.to_owned()),
            transcript_id: ids.map(|(_, t)| t.to_owned()),
            seq: Some(i),
            time: crate::model::Timestamp(i * 1_000),
            user: (i % 2 == 0).then(|| "root".into()),
            host: Some("a-host-name-longer-than-a-view".into()),
            cwd: (i % 3 != 0).then(|| format!("/srv/{}", i / 2).into()),
            command: Some(format!("echo {i} and a command longer than a view")),
            edited: Some(i % 2 == 1),
            output_lines: Some(i),
            output_bytes: Some(i * 10),
            output_excerpt: (i % 4 != 0).then(|| format!("out {i}")),
            confidence: Some(0.5 + i as f64 / 100.0),
            ..CommandRow::default()
        };
        let ts = [
            transcript("s1", "t1"),
            transcript("s2", "t2"),
            transcript("s3", "t3"),
        ];
        let given = [
            (0..3).map(|i| row(i, None)).collect::<Vec<_>>(),
            Vec::new(),
            (3..6).map(|i| row(i, Some(("s3", "t3")))).collect(),
        ];
        let mut expected: Vec<CommandRow> = given.iter().flatten().cloned().collect();
        for r in &mut expected[..3] {
            r.session_id = Some("s1".into());
            r.transcript_id = Some("t1".into());
        }
        let run = RunCommands::frame(ts.iter().zip(given), 6).unwrap();
        assert_eq!(run.ranges, [0..3, 3..3, 3..6]);
        let expected = CommandRow::to_frame(&expected).unwrap();
        let names: Vec<String> = expected
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let got = run.frame.select(names).unwrap();
        assert!(got.equals_missing(&expected), "{got} {expected}");
        assert_eq!(got.schema(), expected.schema());
        // Without any id given, the ids' column is null throughout.
        let lean = [(0..4).map(|i| row(i, None)).collect::<Vec<_>>()];
        let run = RunCommands::frame(ts.iter().zip(lean), 4).unwrap();
        let ids = run.frame.column("command_id").unwrap();
        assert_eq!(
            (ids.null_count(), ids.dtype()),
            (4, &polars::prelude::DataType::String)
        );
    }

    #[test]
    fn owned_strings_become_the_column_they_make() {
        use polars::prelude::*;
        let values: Vec<Option<String>> = vec![
            Some("a transcript's text, longer than a view\nwith lines".into()),
            None,
            Some("short".into()),
            Some(String::new()),
            Some("twelve bytes".into()),
            Some("thirteen byte".into()),
            Some("é".repeat(100)),
            None,
        ];
        let expected =
            StringChunked::from_iter_options("text".into(), values.iter().map(|v| v.as_deref()));
        let got = owned_strings("text", values);
        assert!(got.equal_missing(&expected).all(), "{got:?}");
        assert_eq!(got.null_count(), 2);
        // Written and read back through Parquet as any column.
        let mut df = DataFrame::new(8, vec![got.into_column()]).unwrap();
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut df).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(buf))
            .finish()
            .unwrap();
        assert!(back
            .column("text")
            .unwrap()
            .as_materialized_series()
            .equals_missing(&expected.into_series()));
    }

    #[test]
    fn compacted_frames_hold_the_same_values() {
        use polars::prelude::*;
        let long: Vec<Option<String>> = (0..3_000)
            .map(|i| (i % 7 != 0).then(|| format!("a value longer than a view: {i}")))
            .collect();
        let short: Vec<&str> = (0..3_000).map(|i| ["ls", "id"][i % 2]).collect();
        let seq: Vec<i64> = (0..3_000).collect();
        let df = df!("long" => long, "short" => short, "seq" => seq).unwrap();
        // Rows taken from a frame of several chunks, as a batch takes them from its runs.
        let mut stacked = df.slice(0, 1_000);
        stacked.vstack_mut(&df.slice(1_000, 2_000)).unwrap();
        stacked.rechunk_mut();
        let idx = IdxCa::from_vec("".into(), (0..3_000).rev().step_by(2).collect());
        let taken = stacked.take(&idx).unwrap();
        let small = compact(taken.clone());
        assert!(small.equals_missing(&taken));
        let array = |df: &DataFrame| {
            let ca = df.column("long").unwrap().str().unwrap().clone();
            let first = ca.downcast_iter().next().unwrap().clone();
            first
        };
        let (a, b) = (array(&small), array(&taken));
        assert_eq!(a.data_buffers().len(), 1);
        assert!(a.total_buffer_len() < b.total_buffer_len() / 2 + 1_000);
        let empty = compact(df!("s" => ["a", "b"]).unwrap());
        assert_eq!(empty.column("s").unwrap().str().unwrap().get(1), Some("b"));
    }

    fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect()
    }
}

//! Ingest: inputs -> deduplicated exec and control events, with an account of every file.
//!
//! Files are scanned in parallel (rayon, one [`local::Reader`] per worker); results come back in
//! input order and are merged with first-seen-wins deduplication on `eventID`, so the output
//! does not depend on the thread count.

pub mod cloudtrail;
pub mod gzip;
pub mod local;
pub mod transcript;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use polars::prelude::{DataFrame, PolarsResult};
use rayon::prelude::*;

use crate::model::normalize::Classified;
use crate::model::{CommandRow, ControlEvent, ExecEvent, Table, TranscriptRow};
use cloudtrail::InputKind;

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
    pub files: Vec<FileReport>,
    pub digests: Vec<PathBuf>,
    /// Events dropped because an identical `eventID` was already read in this pass.
    pub duplicates: u64,
    /// Transcripts dropped because a copy with the same commands was already read for the
    /// session (e.g. from both S3 and CloudWatch Logs).
    pub duplicate_transcripts: u64,
    /// Transcripts kept beside another of the same session id with different commands.
    pub conflicting_transcripts: u64,
    /// Exec events kept (also when the rows went to a sink, not to `exec`).
    pub exec_count: u64,
    /// Of them, successful calls.
    pub exec_success: u64,
    /// Control events kept.
    pub control_count: u64,
    /// Transcripts kept, per status.
    pub transcript_status: std::collections::BTreeMap<String, u64>,
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

impl ScanOutput {
    /// Files skipped entirely (errors).
    pub fn skipped(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.error.is_some())
    }

    fn count_transcript(&mut self, t: &TranscriptRow, commands: &[CommandRow]) {
        let status = t.status.clone().unwrap_or_else(|| "?".into());
        if status == "unreadable" {
            self.unreadable_transcripts += 1;
        }
        *self.transcript_status.entry(status).or_default() += 1;
        self.command_count += commands.len() as u64;
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
        .map(|raw| transcript::to_rows(raw, &crate::terminal::reconstruct(&raw.body)))
        .collect();
    let problems: Vec<String> = found
        .iter()
        .filter(|(t, _)| t.status.as_deref() != Some("present"))
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

fn scan_one(reader: &mut local::Reader, path: PathBuf) -> InputScan {
    let source = path.display().to_string();
    match reader.read(&path) {
        Ok(bytes) => scan_bytes(bytes, &source),
        Err(e) => InputScan {
            report: FileReport {
                path,
                error: Some(e.to_string()),
                ..FileReport::default()
            },
            ..InputScan::default()
        },
    }
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
    let named_transcript = source.ends_with(".log") && transcript::session_id_in(source).is_some();
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
    let mut rows = Rows::default();
    for (t, commands) in found {
        let start = rows.commands.len() as u32;
        rows.transcripts.push(t);
        rows.commands.extend(commands);
        rows.ranges.push(start..rows.commands.len() as u32);
    }
    let batch = rows.into_batch(true)?;
    Ok((batch.transcripts, batch.commands))
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
    commands: Vec<CommandRow>,
    /// Where each transcript's commands sit in `commands`.
    ranges: Vec<std::ops::Range<u32>>,
}

impl Rows {
    /// Frames of the transcripts and commands, sorted (see [`Batch`]); text left out unless
    /// `keep_text`.
    fn into_batch(mut self, keep_text: bool) -> PolarsResult<Batch> {
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
        let commands: Vec<u32> = order
            .iter()
            .flat_map(|&t| self.ranges[t as usize].clone())
            .collect();
        let (t, c) = rayon::join(
            || TranscriptRow::to_frame_ordered(ts, &order),
            || CommandRow::to_frame_ordered(&self.commands, &commands),
        );
        Ok(Batch {
            exec: self.exec,
            control: self.control,
            transcripts: t?,
            commands: c?,
        })
    }
}

/// Input bytes a batch covers at most (files are read and reconstructed a batch at a time, so
/// memory follows the batch, not the corpus).
const BATCH_BYTES: u64 = 32 << 20;
/// Files a batch covers at most.
const BATCH_FILES: usize = 512;

/// First-seen-wins de-duplication across a whole run, whatever the batches.
#[derive(Default)]
struct Merger {
    seen: HashSet<String>,
    seen_transcripts: HashSet<String>,
    /// Session id -> the first transcript read for it (its id and where it was read).
    first_transcript: HashMap<String, (String, String)>,
}

impl Merger {
    fn merge(&mut self, results: Vec<InputScan>, out: &mut ScanOutput) -> Rows {
        let mut batch = Rows::default();
        for InputScan {
            mut report,
            events,
            transcripts,
        } in results
        {
            for (t, commands) in transcripts {
                if !t
                    .transcript_id
                    .clone()
                    .is_some_and(|id| self.seen_transcripts.insert(id))
                {
                    out.duplicate_transcripts += 1;
                    continue;
                }
                if let (Some(sid), Some(tid)) = (&t.session_id, &t.transcript_id) {
                    match self.first_transcript.get(sid) {
                        Some((first, source)) if first != tid => {
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
                                .insert(sid.clone(), (tid.clone(), source));
                        }
                    }
                }
                report.transcripts += 1;
                out.count_transcript(&t, &commands);
                let start = batch.commands.len() as u32;
                batch.transcripts.push(t);
                batch.commands.extend(commands);
                batch.ranges.push(start..batch.commands.len() as u32);
            }
            for event in events {
                let id = match &event {
                    Classified::Exec(e) => e.event_id.clone(),
                    Classified::Control(c) => c.event_id.clone(),
                };
                if let Some(id) = id {
                    if !self.seen.insert(id) {
                        out.duplicates += 1;
                        continue;
                    }
                }
                match event {
                    Classified::Exec(e) => {
                        report.exec_events += 1;
                        out.exec_count += 1;
                        if e.outcome.as_deref() == Some("success") {
                            out.exec_success += 1;
                        }
                        batch.exec.push(*e);
                    }
                    Classified::Control(c) => {
                        report.control_events += 1;
                        out.control_count += 1;
                        batch.control.push(*c);
                    }
                }
            }
            out.files.push(report);
        }
        batch
    }
}

/// Scans files and directories batch by batch, handing each batch to `sink` while the next
/// one is read (files within a batch in parallel, batches in input order, so the result does
/// not depend on the thread count). Returns the account of every file; the rows went to
/// `sink`. Transcript text is kept when `keep_text`.
pub fn scan_stream(
    paths: &[PathBuf],
    keep_text: bool,
    mut sink: impl FnMut(Batch) -> anyhow::Result<()>,
) -> anyhow::Result<ScanOutput> {
    let inputs = local::collect(paths);
    let mut out = ScanOutput {
        digests: inputs.digests,
        ..ScanOutput::default()
    };
    for (path, why) in inputs.unreadable {
        out.files.push(FileReport {
            path,
            error: Some(format!("cannot read: {why}")),
            ..FileReport::default()
        });
    }
    let mut chunks: Vec<Vec<PathBuf>> = Vec::new();
    let (mut size, mut chunk) = (0u64, Vec::new());
    for f in inputs.files {
        size += std::fs::metadata(&f).map_or(0, |m| m.len());
        chunk.push(f);
        if size >= BATCH_BYTES || chunk.len() >= BATCH_FILES {
            chunks.push(std::mem::take(&mut chunk));
            size = 0;
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    std::thread::scope(|scope| -> anyhow::Result<ScanOutput> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<PolarsResult<Batch>>(1);
        let reader = scope.spawn(move || {
            let mut merger = Merger::default();
            for chunk in chunks {
                let results: Vec<InputScan> = chunk
                    .into_par_iter()
                    .map_init(local::Reader::default, scan_one)
                    .collect();
                let batch = merger.merge(results, &mut out).into_batch(keep_text);
                if tx.send(batch).is_err() {
                    break;
                }
            }
            out
        });
        for batch in rx {
            sink(batch?)?;
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread failed"))
    })
}

/// Scans files and directories and keeps every row in memory (a one-shot audit). With
/// `keep_text` false, transcripts lose their text as they are read.
pub fn scan_paths_with(paths: &[PathBuf], keep_text: bool) -> ScanOutput {
    let (mut exec, mut control) = (Vec::new(), Vec::new());
    let (mut transcripts, mut commands) = (Vec::new(), Vec::new());
    let mut out = scan_stream(paths, keep_text, |b| {
        exec.extend(b.exec);
        control.extend(b.control);
        transcripts.push(b.transcripts);
        commands.push(b.commands);
        Ok(())
    })
    .expect("an in-memory sink does not fail");
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

//! Ingest: inputs -> deduplicated exec and control events, with an account of every file.
//!
//! Files are scanned in parallel (rayon, one [`local::Reader`] per worker); results come back in
//! input order and are merged with first-seen-wins deduplication on `eventID`, so the output
//! does not depend on the thread count.

pub mod cloudtrail;
pub mod gzip;
pub mod local;
pub mod transcript;

use std::collections::HashSet;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::model::normalize::Classified;
use crate::model::{CommandRow, ControlEvent, ExecEvent, TranscriptRow};
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
    pub transcripts: Vec<TranscriptRow>,
    pub commands: Vec<CommandRow>,
    pub files: Vec<FileReport>,
    pub digests: Vec<PathBuf>,
    /// Events dropped because an identical `eventID` was already read in this pass.
    pub duplicates: u64,
    /// Transcripts dropped because the same session's transcript was already read (e.g. from
    /// both S3 and CloudWatch Logs).
    pub duplicate_transcripts: u64,
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

/// Scans files and directories and merges what they hold.
pub fn scan_paths(paths: &[PathBuf]) -> ScanOutput {
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
    let results: Vec<InputScan> = inputs
        .files
        .into_par_iter()
        .map_init(local::Reader::default, scan_one)
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut seen_transcripts: HashSet<String> = HashSet::new();
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
                .is_some_and(|id| seen_transcripts.insert(id))
            {
                out.duplicate_transcripts += 1;
                continue;
            }
            report.transcripts += 1;
            out.transcripts.push(t);
            out.commands.extend(commands);
        }
        for event in events {
            let id = match &event {
                Classified::Exec(e) => e.event_id.clone(),
                Classified::Control(c) => c.event_id.clone(),
            };
            if let Some(id) = id {
                if !seen.insert(id) {
                    out.duplicates += 1;
                    continue;
                }
            }
            match event {
                Classified::Exec(e) => {
                    report.exec_events += 1;
                    out.exec.push(*e);
                }
                Classified::Control(c) => {
                    report.control_events += 1;
                    out.control.push(*c);
                }
            }
        }
        out.files.push(report);
    }
    out.exec
        .sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
    out.control
        .sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
    out
}

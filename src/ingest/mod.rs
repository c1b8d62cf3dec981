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

/// What one file yielded.
struct FileResult {
    report: FileReport,
    events: Vec<Classified>,
    transcripts: Vec<(TranscriptRow, Vec<CommandRow>)>,
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

fn scan_one(reader: &mut local::Reader, path: PathBuf) -> FileResult {
    let mut report = FileReport {
        path: path.clone(),
        ..FileReport::default()
    };
    let source = path.display().to_string();
    let result = |report, events, transcripts| FileResult {
        report,
        events,
        transcripts,
    };
    let bytes = match reader.read(&path) {
        Ok(b) => b,
        Err(e) => {
            report.error = Some(e.to_string());
            return result(report, Vec::new(), Vec::new());
        }
    };
    report.bytes = bytes.len() as u64;
    // A `<session>.log` object is a transcript whatever it holds (even a stub without header).
    let named_transcript = source.ends_with(".log") && transcript::session_id_in(&source).is_some();
    match cloudtrail::scan(bytes, &source) {
        Ok(s) if s.kind == Some(InputKind::Transcript) => {
            let t = read_transcripts(bytes, &source, &mut report);
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
            let t = read_transcripts(bytes, &source, &mut report);
            result(report, Vec::new(), t)
        }
        Err(e) => {
            report.error = Some(e.to_string());
            result(report, Vec::new(), Vec::new())
        }
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
    let results: Vec<FileResult> = inputs
        .files
        .into_par_iter()
        .map_init(local::Reader::default, scan_one)
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut seen_transcripts: HashSet<String> = HashSet::new();
    for FileResult {
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

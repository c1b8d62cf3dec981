//! What each source is doing (progress bars on stderr) and did (its report for the summary).
//!
//! Bars are drawn only when stderr is a terminal and `--quiet` is off; problems are always
//! printed, above the bars when they are shown.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::InputScan;
use crate::model::normalize::Classified;

/// What one source read, for the final summary.
#[derive(Debug, Clone, Default)]
pub struct SourceReport {
    /// `s3://bucket/prefix (trail)`, `LookupEvents 123456789012 us-east-1`, ...
    pub name: String,
    /// Objects, log streams or LookupEvents pages read.
    pub objects: u64,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// CloudTrail records seen.
    pub records: u64,
    /// Exec and control events kept.
    pub events: u64,
    /// Exec sessions among them (successful `ExecuteCommand` with a session id).
    pub sessions: u64,
    /// Transcripts read.
    pub transcripts: u64,
    /// Sessions whose transcript was looked for and is not there (yet).
    pub missing: u64,
    /// Inputs left alone: already read by an earlier run.
    pub unchanged: u64,
    /// Requests made, and throttling answers met.
    pub requests: u64,
    pub throttled: u64,
    /// Inputs or records that could not be read, each named.
    pub errors: Vec<String>,
    /// Remarks that are not errors (a truncated transcript, a skipped region).
    pub notes: Vec<String>,
    /// The source itself does not exist (a log group absent from an account or region).
    pub absent: bool,
}

impl SourceReport {
    /// A report for a named source.
    pub fn new(name: impl Into<String>) -> SourceReport {
        SourceReport {
            name: name.into(),
            ..SourceReport::default()
        }
    }

    /// Counts one scanned input; returns its problems (already named) for printing.
    pub fn count(&mut self, scan: &InputScan) -> Vec<String> {
        let r = &scan.report;
        let name = r.path.display().to_string();
        self.objects += 1;
        self.bytes += r.bytes;
        self.records += r.records;
        for e in &scan.events {
            self.events += 1;
            if let Classified::Exec(e) = e {
                if e.session_id.is_some() && e.error_code.is_none() {
                    self.sessions += 1;
                }
            }
        }
        self.transcripts += scan.transcripts.len() as u64;
        let mut problems = Vec::new();
        if let Some(e) = &r.error {
            problems.push(format!("{name}: skipped: {e}"));
        }
        if !r.bad_records.is_empty() {
            problems.push(format!(
                "{name}: {} record(s) could not be read, e.g. {}",
                r.bad_records.len(),
                r.bad_records[0]
            ));
        }
        for (t, _) in &scan.transcripts {
            if t.status.as_deref() == Some("unreadable") {
                problems.push(format!(
                    "{name}: not a terminal recording ({})",
                    t.warnings.as_deref().unwrap_or("binary content")
                ));
            }
        }
        if let Some(w) = &r.warning {
            if r.error.is_none() {
                self.notes.push(format!("{name}: {w}"));
            }
        }
        self.errors.extend(problems.iter().cloned());
        problems
    }
}

/// The progress display of one run.
pub struct Progress {
    multi: Option<MultiProgress>,
    quiet: bool,
}

impl Progress {
    /// Bars on stderr when it is a terminal and `quiet` is off.
    pub fn new(quiet: bool) -> Progress {
        let target = ProgressDrawTarget::stderr_with_hz(8);
        let multi =
            (!quiet && !target.is_hidden()).then(|| MultiProgress::with_draw_target(target));
        Progress { multi, quiet }
    }

    /// A bar for one source (a spinner with counts: totals are not known while listing).
    pub fn bar(&self, name: &str) -> Bar {
        let pb = match &self.multi {
            Some(m) => {
                let pb = m.add(ProgressBar::new_spinner());
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.set_prefix(name.to_owned());
                pb.enable_steady_tick(Duration::from_millis(125));
                Some(pb)
            }
            None => None,
        };
        Bar {
            pb,
            quiet: self.quiet,
        }
    }
}

/// One source's bar (or nothing, when bars are off).
pub struct Bar {
    pb: Option<ProgressBar>,
    quiet: bool,
}

impl Bar {
    /// Shows the report's running counts.
    pub fn show(&self, r: &SourceReport) {
        if let Some(pb) = &self.pb {
            pb.set_message(format!(
                "{} read, {}, {} events, {} transcripts{}",
                r.objects,
                human_bytes(r.bytes),
                r.events,
                r.transcripts,
                if r.errors.is_empty() {
                    String::new()
                } else {
                    format!(", {} errors", r.errors.len())
                }
            ));
        }
    }

    /// Shows a phase (discovering, listing) while there are no counts yet.
    pub fn phase(&self, text: &str) {
        if let Some(pb) = &self.pb {
            pb.set_message(text.to_owned());
        }
    }

    /// Prints a problem above the bars (or plainly on stderr when there are none); nothing with
    /// `--quiet`, whose summary still counts it.
    pub fn println(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.pb {
            Some(pb) => pb.suspend(|| eprintln!("execaudit: {line}")),
            None => eprintln!("execaudit: {line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(pb) = &self.pb {
            pb.finish_and_clear();
        }
    }
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

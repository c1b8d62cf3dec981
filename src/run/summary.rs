//! What a scan read, kept and skipped, for people (stderr or stdout) and programs (JSON).

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::ingest::ScanOutput;
use crate::model::{
    Attempt, ColumnSpec, CommandHit, CommandRow, ControlEvent, ExecEvent, Finding, Session, Table,
    TranscriptRow,
};
use crate::report::visible;
use crate::store::Appended;

/// A path for people: control characters in file names shown as escapes.
fn shown(p: &std::path::Path) -> String {
    visible(&p.display().to_string()).into_owned()
}

/// The schema of every table as Markdown (what the README lists).
pub fn schema_markdown() -> String {
    let mut out = String::from(
        "# execaudit: the tables\n\n\
         Every table the store holds and every view the commands and `query` return, column by\n\
         column: the output of `execaudit schema` (a test keeps this file equal to it). In `query`,\n\
         the tables are `exec_events`, `control_events`, `transcripts`, `commands`, and the views\n\
         `sessions` and `attempts`; `command_hits` is what `commands` and `search` print;\n\
         `findings` and `compliance` (with `--policy`) are computed when the SQL names them.\n\n",
    );
    let mut table = |name: &str, cols: Vec<ColumnSpec>| {
        out.push_str(&format!(
            "### `{name}`\n\n| column | type | meaning |\n| --- | --- | --- |\n"
        ));
        for c in cols {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.name,
                c.type_name,
                c.doc.replace('\n', " ")
            ));
        }
        out.push('\n');
    };
    table(ExecEvent::NAME, ExecEvent::columns());
    table(ControlEvent::NAME, ControlEvent::columns());
    table(TranscriptRow::NAME, TranscriptRow::columns());
    table(CommandRow::NAME, CommandRow::columns());
    table(Session::NAME, Session::columns());
    table(Attempt::NAME, Attempt::columns());
    table(CommandHit::NAME, CommandHit::columns());
    table(Finding::NAME, Finding::columns());
    table(
        super::weekly::ComplianceRow::NAME,
        super::weekly::ComplianceRow::columns(),
    );
    out
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// What the store took from one ingest, per table.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stored {
    pub exec: Appended,
    pub control: Appended,
    pub transcripts: Appended,
    pub commands: Appended,
}

impl Stored {
    fn already(&self) -> u64 {
        self.exec.already_stored + self.control.already_stored + self.transcripts.already_stored
    }
}

/// Counts of one scan, for the summary and JSON output.
pub fn summary_json(scan: &ScanOutput, stored: Option<Stored>) -> Value {
    let totals = &scan.totals;
    let statuses = &scan.transcript_status;
    let skipped: Vec<Value> = scan
        .skipped()
        .map(|f| json!({"path": f.path.display().to_string(), "reason": f.error}))
        .collect();
    let passed_over: Vec<Value> = scan
        .passed_over()
        .map(|f| json!({"path": f.path.display().to_string(), "reason": f.passed_over}))
        .collect();
    let damaged: Vec<Value> = scan
        .noted
        .iter()
        .filter(|f| f.warning.is_some() || !f.bad_records.is_empty())
        .map(|f| {
            json!({"path": f.path.display().to_string(), "warning": f.warning,
                   "bad_records": f.bad_records.len(), "examples": f.bad_records.iter().take(3).collect::<Vec<_>>()})
        })
        .collect();
    let mut v = json!({
        "files": totals.files,
        "bytes": totals.bytes,
        "kinds": totals.kinds,
        "digest_files_passed_over": scan.digests,
        "records": totals.records,
        "candidates": totals.candidates,
        "exec_events": scan.exec_count,
        "control_events": scan.control_count,
        "duplicates_in_input": scan.duplicates,
        "transcripts": scan.transcript_count(),
        "transcript_status": statuses,
        "duplicate_transcripts": scan.duplicate_transcripts,
        "conflicting_transcripts": scan.conflicting_transcripts,
        "conflicting_events": scan.conflicting_events.count,
        "conflicting_event_examples": scan.conflicting_events.examples,
        "commands": scan.command_count,
        "files_skipped": skipped,
        "files_passed_over": passed_over,
        "files_with_problems": damaged,
        "bad_records": totals.bad_records,
    });
    if let Some(s) = stored {
        v["stored"] = json!({"exec_added": s.exec.added, "control_added": s.control.added,
                             "transcripts_added": s.transcripts.added, "commands_added": s.commands.added,
                             "already_stored": s.already()});
    }
    v
}

/// True when anything could not be read: a file, a record, or a transcript that is not one.
/// Empty and cut-off transcripts are states of the evidence, reported, not read errors.
pub fn had_problems(scan: &ScanOutput) -> bool {
    let transcript_file = |f: &crate::ingest::FileReport| {
        f.kind == Some(crate::ingest::cloudtrail::InputKind::Transcript)
    };
    scan.noted.iter().any(|f| {
        f.error.is_some()
            || !f.bad_records.is_empty()
            || (f.warning.is_some() && !transcript_file(f))
    }) || scan.unreadable_transcripts > 0
}

/// `ExecuteCommand` records that reuse an `eventID` with other content, named (the first
/// few): always printed, `--quiet` or not, since one is a forged or altered record.
pub fn print_conflicts(out: &mut dyn Write, c: &crate::model::Conflicts) -> io::Result<()> {
    if c.count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "warning: {} ExecuteCommand record(s) reuse an eventID already read or stored with other content (the first copy is kept):",
        c.count
    )?;
    for m in &c.examples {
        writeln!(out, "  {}", visible(m))?;
    }
    if c.count > c.examples.len() as u64 {
        writeln!(out, "  ... and {} more", c.count - c.examples.len() as u64)?;
    }
    Ok(())
}

/// The human summary of a scan.
pub fn print_summary(
    out: &mut dyn Write,
    scan: &ScanOutput,
    stored: Option<Stored>,
    quiet: bool,
) -> io::Result<()> {
    let s = summary_json(scan, stored);
    let kinds: Vec<String> = s["kinds"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
        .unwrap_or_default();
    let mut read_line = format!(
        "read {} files ({}): {}",
        scan.totals.files,
        human_bytes(s["bytes"].as_u64().unwrap_or(0)),
        if kinds.is_empty() {
            "nothing usable".to_owned()
        } else {
            kinds.join(", ")
        }
    );
    if scan.digests > 0 {
        read_line.push_str(&format!(
            "; {} CloudTrail digest files passed over",
            scan.digests
        ));
    }
    writeln!(out, "{read_line}")?;
    let sessions = scan.exec_success;
    writeln!(
        out,
        "records {} · parsed {} candidates · kept {} exec events ({} successful, {} failed) and {} control events · {} duplicates dropped",
        s["records"],
        s["candidates"],
        scan.exec_count,
        sessions,
        scan.exec_count - sessions,
        scan.control_count,
        scan.duplicates
    )?;
    if scan.transcript_count() > 0 {
        let statuses: Vec<String> = s["transcript_status"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
            .unwrap_or_default();
        let mut line = format!(
            "transcripts {} ({}) · {} commands reconstructed",
            scan.transcript_count(),
            statuses.join(", "),
            scan.command_count
        );
        if scan.duplicate_transcripts > 0 {
            line.push_str(&format!(
                " · {} duplicate transcripts dropped",
                scan.duplicate_transcripts
            ));
        }
        if scan.conflicting_transcripts > 0 {
            line.push_str(&format!(
                " · {} conflicting transcripts kept (another of the same session differs)",
                scan.conflicting_transcripts
            ));
        }
        writeln!(out, "{line}")?;
    }
    if let Some(st) = stored {
        writeln!(
            out,
            "store: added {} exec and {} control events, {} transcripts, {} commands; {} were already stored",
            st.exec.added,
            st.control.added,
            st.transcripts.added,
            st.commands.added,
            st.already()
        )?;
    }
    print_conflicts(out, &scan.conflicting_events)?;
    let skipped: Vec<_> = scan.skipped().collect();
    if !skipped.is_empty() {
        writeln!(out, "skipped {} files:", skipped.len())?;
        for f in skipped.iter().take(if quiet { 0 } else { usize::MAX }) {
            writeln!(
                out,
                "  {}: {}",
                shown(&f.path),
                visible(f.error.as_deref().unwrap_or(""))
            )?;
        }
    }
    let passed_over: Vec<_> = scan.passed_over().collect();
    if !passed_over.is_empty() {
        writeln!(
            out,
            "passed over {} files that are not logs:",
            passed_over.len()
        )?;
        for f in passed_over.iter().take(if quiet { 0 } else { usize::MAX }) {
            writeln!(
                out,
                "  {}: {}",
                shown(&f.path),
                visible(f.passed_over.as_deref().unwrap_or(""))
            )?;
        }
    }
    for f in scan
        .noted
        .iter()
        .filter(|f| f.warning.is_some() || !f.bad_records.is_empty())
    {
        if let Some(w) = &f.warning {
            writeln!(out, "warning: {}: {}", shown(&f.path), visible(w))?;
        }
        if !f.bad_records.is_empty() {
            writeln!(
                out,
                "warning: {}: {} records skipped",
                shown(&f.path),
                f.bad_records.len()
            )?;
            for r in f.bad_records.iter().take(if quiet { 0 } else { 5 }) {
                writeln!(out, "  {}", visible(r))?;
            }
        }
    }
    Ok(())
}

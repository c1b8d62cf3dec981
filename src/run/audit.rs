//! The one-shot audit (inputs -> report, no store) and ingest (inputs -> store).

use std::io::{self, Write};

use anyhow::Context;
use serde_json::{json, Value};

use super::summary::{had_problems, print_summary, summary_json, Stored as StoredCounts};
use super::{
    explore, Data, ATTEMPT_COLUMNS, CONTROL_COLUMNS, EXIT_ERROR, EXIT_OK, HIT_COLUMNS,
    SESSION_COLUMNS, TRANSCRIPT_COLUMNS,
};
use crate::cli::{AuditArgs, AuditFormat, IngestArgs};
use crate::config::{self, Filter};
use crate::correlate;
use crate::ingest;
use crate::model::{Attempt, ControlEvent, Session, Table, TranscriptRow};
use crate::report::{self, Format, Style};
use crate::store::Store;

pub fn audit(a: AuditArgs) -> anyhow::Result<i32> {
    let filter = Filter::from_args(&a.filter, config::now())?;
    let opts = config::scan_options(&a.read)?;
    let scan = ingest::scan_paths_with(&a.paths, &opts);
    let problems = had_problems(&scan);
    let summary = summary_json(&scan, None);
    if a.format != AuditFormat::Json {
        print_summary(&mut io::stderr(), &scan, None, false)?;
    }
    let data = Data {
        exec: scan.exec,
        control: scan.control,
        transcripts: scan.transcripts,
        commands: scan.commands,
    };
    let sessions = data.sessions(&filter);
    let attempts = data.attempts(&filter);
    let control: Vec<ControlEvent> = data
        .control
        .iter()
        .filter(|c| c.kind.as_deref() != Some("kms_session") && filter.matches_control(c))
        .cloned()
        .collect();
    let hits = explore::hits(&data, &filter, None);
    let orphans: Vec<TranscriptRow> = correlate::orphans(&data.exec, &data.transcripts)
        .into_iter()
        .cloned()
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let style = Style {
        format: Format::Table,
        show_secrets: a.show_secrets,
    };
    match a.format {
        AuditFormat::Table => {
            writeln!(out, "== Sessions ({}) ==", sessions.len())?;
            report::render(&mut out, &sessions, style, SESSION_COLUMNS)?;
            writeln!(out, "\n== Failed attempts ({}) ==", attempts.len())?;
            report::render(&mut out, &attempts, style, ATTEMPT_COLUMNS)?;
            writeln!(
                out,
                "\n== Exec enablement, logging changes, SSM sessions, tampering ({}) ==",
                control.len()
            )?;
            report::render(&mut out, &control, style, CONTROL_COLUMNS)?;
            writeln!(out, "\n== Commands typed ({}) ==", hits.len())?;
            report::render(&mut out, &hits, style, HIT_COLUMNS)?;
            if !orphans.is_empty() {
                writeln!(
                    out,
                    "\n== Transcripts without an ExecuteCommand event ({}) ==",
                    orphans.len()
                )?;
                report::render(&mut out, &orphans, style, TRANSCRIPT_COLUMNS)?;
            }
        }
        AuditFormat::Json | AuditFormat::Jsonl => {
            let jsonl = a.format == AuditFormat::Jsonl;
            let table = |name: &str, (names, rows): (Vec<&str>, Vec<Vec<Value>>)| -> Vec<Value> {
                rows.into_iter()
                    .map(|r| {
                        let mut o = report::object(&names, r);
                        if jsonl {
                            o.as_object_mut()
                                .expect("object")
                                .insert("table".into(), name.into());
                        }
                        o
                    })
                    .collect()
            };
            let s = table(Session::NAME, report::rows(&sessions, a.show_secrets));
            let at = table(Attempt::NAME, report::rows(&attempts, a.show_secrets));
            let c = table(ControlEvent::NAME, report::rows(&control, a.show_secrets));
            let h = table("commands", report::rows(&hits, a.show_secrets));
            let o = table(
                "orphan_transcripts",
                report::rows(&without_text(&orphans), a.show_secrets),
            );
            if jsonl {
                for row in s.iter().chain(&at).chain(&c).chain(&h).chain(&o) {
                    serde_json::to_writer(&mut out, row)?;
                    writeln!(out)?;
                }
            } else {
                let doc = json!({"summary": summary, "sessions": s, "attempts": at, "control_events": c,
                                 "commands": h, "orphan_transcripts": o});
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(if problems { EXIT_ERROR } else { EXIT_OK })
}

/// Transcript rows without their (large) text, for listings.
fn without_text(rows: &[TranscriptRow]) -> Vec<TranscriptRow> {
    rows.iter()
        .map(|t| TranscriptRow {
            text: None,
            ..t.clone()
        })
        .collect()
}

pub fn ingest(a: IngestArgs) -> anyhow::Result<i32> {
    let opts = config::scan_options(&a.read)?;
    let root = config::store_path(a.store.store);
    let store = Store::open_for_write(&root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    // Rows go to the store a batch at a time as the scan goes: memory does not follow the corpus.
    let mut stored = StoredCounts::default();
    let scan = ingest::scan_stream(&a.paths, &opts, |b| -> anyhow::Result<()> {
        let add = |to: &mut crate::store::Appended, got: crate::store::Appended| {
            to.added += got.added;
            to.already_stored += got.already_stored;
        };
        add(
            &mut stored.exec,
            store
                .append(b.exec)
                .context("writing exec events to the store")?,
        );
        add(
            &mut stored.control,
            store
                .append(b.control)
                .context("writing control events to the store")?,
        );
        add(
            &mut stored.transcripts,
            store
                .append(b.transcripts)
                .context("writing transcripts to the store")?,
        );
        add(
            &mut stored.commands,
            store
                .append(b.commands)
                .context("writing commands to the store")?,
        );
        Ok(())
    })?;
    print_summary(
        &mut io::BufWriter::new(io::stdout().lock()),
        &scan,
        Some(stored),
        a.quiet,
    )?;
    Ok(if had_problems(&scan) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

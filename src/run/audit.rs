//! The one-shot audit (inputs -> report, no store) and ingest (inputs -> store).

use std::io::{self, Write};

use anyhow::Context;

use super::summary::{had_problems, print_summary, summary_json, Stored as StoredCounts};
use super::{
    emit_document, ATTEMPT_COLUMNS, CONTROL_COLUMNS, EXIT_ERROR, EXIT_OK, HIT_COLUMNS,
    SESSION_COLUMNS, TRANSCRIPT_COLUMNS,
};
use crate::cli::{AuditArgs, AuditFormat, IngestArgs};
use crate::config::{self, Filter};
use crate::dataset::{Damage, Dataset};
use crate::ingest;
use crate::report::{Document, Format, Section, Style};
use crate::store::Store;

pub fn audit(a: AuditArgs) -> anyhow::Result<i32> {
    let filter = Filter::from_args(&a.filter, config::now())?;
    let detector = super::findings::load_detector(&a.detect)?;
    let opts = config::scan_options(&a.read)?;
    ingest::transcript::set_max_bytes(a.read.max_transcript_bytes);
    // Control-plane changes that cannot matter to ECS Exec (a bucket policy, a log group
    // deleted, a trail updated, none of them an exec-logging destination: most of an
    // organisation trail's) are counted, not listed; no check reads them either.
    let mut others = 0;
    let scan = ingest::scan_paths_selecting(&a.paths, false, &opts, |batches| {
        let (kept, left_out) = keep_exec_related(batches, &detector);
        others = left_out;
        kept
    });
    crate::trace::stage("audit: inputs read");
    let problems = had_problems(&scan);
    let mut summary = summary_json(&scan, None);
    if a.format != AuditFormat::Json {
        print_summary(&mut io::stderr(), &scan, None, false)?;
    }
    if let serde_json::Value::Object(m) = &mut summary {
        m.insert("control_events_not_exec_related".into(), others.into());
    }
    if a.format != AuditFormat::Json && others > 0 {
        eprintln!(
            "control: {others} control-plane change(s) that concern no exec setting, exec-logging destination or ECS session counted, not listed"
        );
    }
    let data = Dataset::from_frames(
        &scan.exec,
        &scan.control,
        scan.transcripts.clone(),
        scan.commands.clone(),
    )?;
    drop(scan);
    crate::trace::stage("audit: dataset framed");
    let mut damage = Damage::default();
    let f = &filter;
    let mut get =
        |build: &dyn Fn(&Dataset) -> polars::prelude::PolarsResult<polars::prelude::LazyFrame>| {
            data.collect(&mut damage, build)
        };
    let sessions = get(&|d| d.sessions(f))?;
    let attempts = get(&|d| d.attempts(f))?;
    let control = get(&|d| {
        Ok(d.control(f, None)?
            .filter(polars::prelude::col("kind").neq(polars::prelude::lit("kms_session"))))
    })?;
    let commands = get(&|d| d.commands(f))?;
    let orphans = get(&|d| d.orphans())?;
    crate::trace::stage("audit: views");
    let findings = data.findings(&detector, &mut damage)?;
    let findings = super::findings::filtered_frame(findings, f)?;
    crate::trace::stage("audit: findings");
    let mut sections = vec![
        Section::new("sessions", "Sessions", sessions, SESSION_COLUMNS),
        Section::new("attempts", "Failed attempts", attempts, ATTEMPT_COLUMNS),
        Section::new(
            "findings",
            "Findings",
            findings,
            crate::detect::FINDING_COLUMNS,
        ),
        Section::new(
            "control_events",
            "Exec enablement, logging changes, SSM sessions, tampering",
            control,
            CONTROL_COLUMNS,
        ),
        Section::new("commands", "Commands typed", commands, HIT_COLUMNS),
    ];
    let table = a.format == AuditFormat::Table;
    if !table || orphans.height() > 0 {
        sections.push(Section::new(
            "orphan_transcripts",
            "Transcripts without an ExecuteCommand event",
            orphans,
            TRANSCRIPT_COLUMNS,
        ));
    }
    let doc = Document {
        head: vec![("summary".into(), summary)],
        sections,
    };
    let format = match a.format {
        AuditFormat::Table => Format::Table,
        AuditFormat::Json => Format::Json,
        AuditFormat::Jsonl => Format::Jsonl,
    };
    emit_document(
        &doc,
        Style {
            format,
            show_secrets: a.show_secrets,
        },
    )?;
    crate::trace::stage("audit: written");
    Ok(if problems { EXIT_ERROR } else { EXIT_OK })
}

/// The control events that matter to exec auditing (see
/// [`crate::detect::destinations::Destinations::is_exec_related`]: destinations are learned from
/// the same events and the policy's `[logging]`), and how many were left out.
fn keep_exec_related(
    batches: Vec<Vec<crate::model::ControlEvent>>,
    detector: &crate::detect::Detector,
) -> (Vec<crate::model::ControlEvent>, usize) {
    let d = crate::detect::destinations::Destinations::from_iter(
        batches.iter().flatten(),
        detector.policy().map(|p| &p.logging),
    );
    let total: usize = batches.iter().map(Vec::len).sum();
    let mut kept = Vec::new();
    for batch in batches {
        kept.extend(batch.into_iter().filter(|e| d.is_exec_related(e)));
    }
    let left_out = total - kept.len();
    (kept, left_out)
}

pub fn ingest(a: IngestArgs) -> anyhow::Result<i32> {
    let opts = config::scan_options(&a.read)?;
    ingest::transcript::set_max_bytes(a.read.max_transcript_bytes);
    let root = config::store_path(a.store.store);
    let mut store = Store::open_for_write(&root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    let mut stored = StoredCounts::default();
    let mut writer = store.writer();
    let scan = ingest::scan_stream_with(&a.paths, true, &opts, |batch| {
        stored.exec += writer
            .append(batch.exec)
            .context("writing exec events to the store")?;
        stored.control += writer
            .append(batch.control)
            .context("writing control events to the store")?;
        let (t, c) = writer
            .append_transcripts(batch.transcripts, batch.commands)
            .context("writing transcripts to the store")?;
        stored.transcripts += t;
        stored.commands += c;
        Ok(())
    })?;
    crate::trace::stage("inputs read and written");
    writer
        .commit()
        .context("publishing the ingest in the store")?;
    crate::trace::stage("store committed");
    print_summary(
        &mut io::BufWriter::new(io::stdout().lock()),
        &scan,
        Some(stored),
        a.quiet,
    )?;
    io::stdout().flush()?;
    Ok(if had_problems(&scan) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

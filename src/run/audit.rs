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
use crate::detect::destinations::{DestinationKind, Destinations};
use crate::ingest;
use crate::model::{ControlEvent, Table as _};
use crate::report::{Chunks, Document, Format, Section, Style};
use crate::store::Store;

pub fn audit(a: AuditArgs) -> anyhow::Result<i32> {
    let filter = Filter::from_args(&a.filter, config::now())?;
    let detector = super::findings::load_detector(&a.detect)?;
    let opts = config::scan_options(&a.read)?;
    ingest::transcript::set_max_bytes(a.read.max_transcript_bytes);
    // Control-plane changes that cannot matter to ECS Exec (a bucket policy, a log group
    // deleted, a trail updated, none of them an exec-logging destination: most of an
    // organisation trail's) are counted, not listed; no check reads them either.
    let others = std::cell::Cell::new(0);
    let mut keep = ExecRelated::new(detector.policy().map(|p| &p.logging), &others);
    // What is read goes to a store of its own, in a private folder removed at the end: the
    // views then read it as they read any store, a batch of rows in memory at a time (held in
    // memory, 100k transcripts took ~5 GB). Without a writable temporary folder, it is held in
    // memory as before.
    let (scan, data, _scratch) = match Scratch::new() {
        Ok(scratch) => {
            let mut store = Store::open_scratch(&scratch.0)
                .with_context(|| format!("opening a scratch store at {}", scratch.0.display()))?;
            let mut writer = store.writer();
            let scan = ingest::scan_stream_with(&a.paths, false, &opts, |batch| {
                writer
                    .append(batch.exec)
                    .context("writing exec events to the scratch store")?;
                ingest::KeepControl::batch(&mut keep, batch.control);
                writer
                    .append_transcripts(batch.transcripts, batch.commands)
                    .context("writing transcripts to the scratch store")?;
                Ok(())
            })?;
            writer
                .append(ingest::KeepControl::finish(keep))
                .context("writing control events to the scratch store")?;
            writer.commit().context("publishing the scratch store")?;
            drop(store);
            let data = Dataset::open(&scratch.0)?;
            (scan, data, Some(scratch))
        }
        Err(e) => {
            eprintln!(
                "execaudit: warning: {e:#}; reading into memory instead (set TMPDIR to a writable folder for large inputs)"
            );
            let scan = ingest::scan_paths_selecting(&a.paths, false, &opts, keep);
            let data = Dataset::from_frames(
                &scan.exec,
                &scan.control,
                scan.transcripts.clone(),
                scan.commands.clone(),
            )?;
            (scan, data, None)
        }
    };
    let others = others.get();
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
    drop(scan);
    crate::trace::stage("audit: dataset opened");
    let mut damage = Damage::default();
    let f = &filter;
    let mut get =
        |build: &dyn Fn(&Dataset) -> polars::prelude::PolarsResult<polars::prelude::LazyFrame>| {
            data.collect(&mut damage, build)
        };
    let sessions = get(&|d| d.sessions(f))?;
    let attempts = get(&|d| d.attempts(f))?;
    // A session's KMS data-key calls (a few per session) are counted, not listed: they were
    // left out without a word, and `control` over a store of the same inputs lists them.
    let (control, kms) = {
        use polars::prelude::{col, lit, IntoLazy};
        let all = get(&|d| d.control(f, None))?;
        let kms = col("kind").eq(lit("kms_session"));
        let listed = all.clone().lazy().filter(kms.clone().not()).collect()?;
        let counted = all.lazy().filter(kms).collect()?.height();
        (listed, counted)
    };
    if let serde_json::Value::Object(m) = &mut summary {
        m.insert("kms_session_events".into(), kms.into());
    }
    if a.format != AuditFormat::Json && kms > 0 {
        eprintln!(
            "control: {kms} KMS data-key call(s) of exec sessions counted, not listed (`control --kind kms_session` lists them in a store)"
        );
    }
    // Every command of the inputs: the one listing that grows with them, read and written a
    // day at a time.
    let mut days = data.commands_by_day(f)?.into_iter();
    let commands = match days.next() {
        Some(lf) => lf.collect()?,
        None => get(&|d| d.commands(f))?,
    };
    let height = if a.format == AuditFormat::Table {
        let mut n = commands.height();
        for lf in days.clone() {
            let c = lf.select([polars::prelude::len()]).collect()?;
            n += c.column("len")?.u32()?.get(0).unwrap_or(0) as usize;
        }
        n
    } else {
        0
    };
    let orphans = get(&|d| d.orphans(f))?;
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
        Section {
            more: Some(Chunks {
                height,
                next: std::cell::RefCell::new(Box::new(move || {
                    days.next().map(|lf| lf.collect()).transpose()
                })),
            }),
            ..Section::new("commands", "Commands typed", commands, HIT_COLUMNS)
        },
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

/// A private folder under the system's temporary folder (`TMPDIR`), removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    /// A new folder, made here with mode 0700: a name that exists (another user's folder or
    /// link, planted where the transcripts would go) is never used, another name is tried.
    fn new() -> anyhow::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut tries = 0;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = base.join(format!(
                "execaudit-audit-{}-{nanos}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 16 => {
                    tries += 1;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e))
                        .with_context(|| format!("creating a scratch folder at {}", dir.display()))
                }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keeps the control events that matter to exec auditing (see
/// [`Destinations::is_exec_related`]) and counts the others, holding little of what it leaves
/// out. Most rows are decided as they arrive: exec settings, SSM and KMS sessions, trails and
/// changes to no resource do not depend on anything else in the trail. A change to a log
/// group, bucket or key matters when a cluster's logging configuration names it, which may come
/// later in the trail: those rows wait, a batch at a time, as compressed Parquet in memory (a
/// small part of the ~1.4 KB a row takes as a struct), and the few whose resource turns out to
/// be a destination are read back at the end.
struct ExecRelated<'a> {
    policy: Option<&'a crate::detect::policy::LoggingPolicy>,
    /// Decides the rows that do not wait (it knows the policy, no configuration).
    now: Destinations,
    kept: Vec<ControlEvent>,
    waiting: Vec<Vec<u8>>,
    /// Rows seen.
    total: usize,
    left_out: &'a std::cell::Cell<usize>,
}

impl<'a> ExecRelated<'a> {
    fn new(
        policy: Option<&'a crate::detect::policy::LoggingPolicy>,
        left_out: &'a std::cell::Cell<usize>,
    ) -> ExecRelated<'a> {
        ExecRelated {
            policy,
            now: Destinations::new(policy),
            kept: Vec::new(),
            waiting: Vec::new(),
            total: 0,
            left_out,
        }
    }

    fn waits(e: &ControlEvent) -> bool {
        e.kind.as_deref() == Some("tampering")
            && Destinations::resource_of(e).is_some_and(|(k, _)| k != DestinationKind::Trail)
    }
}

impl ingest::KeepControl for ExecRelated<'_> {
    fn batch(&mut self, rows: Vec<ControlEvent>) {
        let (wait, now): (Vec<ControlEvent>, Vec<ControlEvent>) =
            rows.into_iter().partition(Self::waits);
        self.total += wait.len() + now.len();
        self.kept
            .extend(now.into_iter().filter(|e| self.now.is_exec_related(e)));
        if wait.is_empty() {
            return;
        }
        match parked(&wait) {
            Ok(bytes) => self.waiting.push(bytes),
            // Memory for a frame failed (rare): keep the rows as they are.
            Err(_) => self.kept.extend(wait),
        }
    }

    fn finish(self) -> Vec<ControlEvent> {
        // What the logging configurations kept so far name, then the waiting rows that touch
        // it; the decision over all of them together (a retention cut needs the earlier
        // retention of the same group).
        let configs = Destinations::from_iter(self.kept.iter(), self.policy);
        let mut rows = self.kept;
        for bytes in self.waiting {
            let batch = match unparked(&bytes) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("execaudit: warning: control rows held in memory could not be read back and are left out: {e}");
                    continue;
                }
            };
            rows.extend(batch.into_iter().filter(|e| {
                Destinations::resource_of(e).is_some_and(|(k, name)| {
                    configs.is_destination(k, e.account.as_deref(), e.region.as_deref(), &name)
                })
            }));
        }
        let d = Destinations::from_iter(rows.iter(), self.policy);
        rows.retain(|e| d.is_exec_related(e));
        self.left_out.set(self.total - rows.len());
        rows
    }
}

/// The rows as Parquet in memory, written as the store writes its parts (polars' own writer
/// estimated and hashed every string column of every batch for a dictionary).
fn parked(rows: &[ControlEvent]) -> polars::prelude::PolarsResult<Vec<u8>> {
    let mut df = ControlEvent::to_frame(rows)?;
    df.rechunk_mut();
    let mut out = Vec::new();
    let mut w = crate::store::parquet::PartWriter::new(&mut out, df.schema(), ControlEvent::NAME)?;
    w.write_batch(&df)?;
    w.finish()?;
    drop(w);
    Ok(out)
}

fn unparked(bytes: &[u8]) -> polars::prelude::PolarsResult<Vec<ControlEvent>> {
    use polars::prelude::*;
    let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    ControlEvent::from_frame(&df)
}

pub fn ingest(a: IngestArgs) -> anyhow::Result<i32> {
    let opts = config::scan_options(&a.read)?;
    ingest::transcript::set_max_bytes(a.read.max_transcript_bytes);
    let root = config::store_path(a.store.store);
    let mut store = Store::open_for_write(&root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    if let Some(mode) = store.exposed_mode() {
        eprintln!(
            "warning: the store {} is open to group or others (mode {mode:o}) and its transcripts hold what was typed and printed, secrets included: `chmod 700 {}`",
            root.display(),
            root.display()
        );
    }
    let mut stored = StoredCounts::default();
    let mut writer = store.writer();
    writer.copies_compared_by_caller();
    let scan = ingest::scan_stream_with(&a.paths, true, &opts, |batch| {
        stored.exec += writer
            .append_exec(batch.exec)
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
    let mut scan = scan;
    scan.conflicting_events.extend(writer.take_conflicts());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_folder_is_new_private_and_removed_when_done() {
        use std::os::unix::fs::PermissionsExt;
        let (a, b) = (Scratch::new().unwrap(), Scratch::new().unwrap());
        assert_ne!(a.0, b.0);
        let mode = std::fs::metadata(&a.0).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::write(a.0.join("part"), b"x").unwrap();
        let path = a.0.clone();
        drop(a);
        assert!(!path.exists());
    }
    use crate::ingest::KeepControl;
    use crate::model::Timestamp;

    fn change(id: &str, t: i64, group: &str) -> ControlEvent {
        ControlEvent {
            event_id: Some(id.into()),
            event_time: Timestamp(t),
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            event_source: Some("logs.amazonaws.com".into()),
            event_name: Some("DeleteLogGroup".into()),
            kind: Some("tampering".into()),
            resource: Some(group.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_change_waits_for_the_configuration_that_names_its_log_group() {
        let left_out = std::cell::Cell::new(0);
        let mut keep = ExecRelated::new(None, &left_out);
        // The deletion arrives before the configuration that makes the group a destination
        // (files are read in path order, not time order); another group is never one.
        keep.batch(vec![
            change("t1", 2_000, "/ecs/exec/prod"),
            change("t2", 2_000, "/aws/lambda/resize"),
        ]);
        assert!(keep.kept.is_empty() && keep.waiting.len() == 1);
        keep.batch(vec![ControlEvent {
            event_id: Some("cfg".into()),
            event_time: Timestamp(1_000),
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            event_source: Some("ecs.amazonaws.com".into()),
            event_name: Some("UpdateCluster".into()),
            kind: Some("exec_logging".into()),
            cluster: Some("prod".into()),
            exec_logging: Some("OVERRIDE".into()),
            exec_log_group: Some("/ecs/exec/prod".into()),
            ..Default::default()
        }]);
        let mut ids: Vec<String> = keep
            .finish()
            .into_iter()
            .filter_map(|e| e.event_id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["cfg", "t1"]);
        assert_eq!(left_out.get(), 1);
    }
}

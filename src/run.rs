//! Runs one command: wires the resolved settings to the pipeline stages. Returns the exit status.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Context;
use serde_json::{json, Value};

use crate::cli::{AuditArgs, AuditFormat, Cli, Command, ControlArgs, IngestArgs, QueryArgs};
use crate::config::{self, Filter};
use crate::correlate;
use crate::ingest::{self, ScanOutput};
use crate::model::{Attempt, ControlEvent, ExecEvent, Session, Table};
use crate::report::{self, Format, Style};
use crate::store::{Appended, Store, Stored};

/// Exit status when everything went well.
pub const EXIT_OK: i32 = 0;
/// Exit status for errors, including inputs or records that could not be read.
pub const EXIT_ERROR: i32 = 2;

const SESSION_COLUMNS: &[&str] = &[
    "start_time",
    "principal",
    "account",
    "region",
    "cluster",
    "task_id",
    "container",
    "command",
    "session_id",
];
const ATTEMPT_COLUMNS: &[&str] = &[
    "event_time",
    "principal",
    "account",
    "cluster",
    "task_id",
    "container",
    "error_code",
    "command",
];
const CONTROL_COLUMNS: &[&str] = &[
    "event_time",
    "kind",
    "event_name",
    "principal",
    "account",
    "region",
    "cluster",
    "service",
    "enable_execute_command",
    "exec_logging",
    "command_overrides",
    "resource",
    "session_id",
    "error_code",
];

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Audit(a) => audit(a),
        Command::Ingest(a) => ingest_cmd(a),
        Command::Sessions(q) => {
            let q = Query::open(q)?;
            q.emit(&correlate::sessions(&q.read()?, &q.filter), SESSION_COLUMNS)
        }
        Command::Attempts(q) => {
            let q = Query::open(q)?;
            q.emit(&correlate::attempts(&q.read()?, &q.filter), ATTEMPT_COLUMNS)
        }
        Command::Control(c) => control(c),
        Command::Schema => {
            print!("{}", schema_markdown());
            Ok(EXIT_OK)
        }
        Command::Generate(g) => {
            let written = crate::sample::generate(&g.out, g.records, g.seed, g.transcripts)
                .with_context(|| format!("writing {}", g.out.display()))?;
            eprintln!(
                "wrote {} files ({} records) under {}",
                written.files,
                written.records,
                g.out.display()
            );
            Ok(EXIT_OK)
        }
    }
}

/// The schema of every table as Markdown (what the README lists).
pub fn schema_markdown() -> String {
    let mut out = String::new();
    let mut table = |name: &str, cols: Vec<crate::model::ColumnSpec>| {
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
    table(Session::NAME, Session::columns());
    table(Attempt::NAME, Attempt::columns());
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

/// Counts of one scan, for the summary and JSON output.
fn summary_json(scan: &ScanOutput, stored: Option<(Appended, Appended)>) -> Value {
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &scan.files {
        if let Some(k) = f.kind {
            *kinds.entry(k.label()).or_default() += 1;
        }
    }
    let skipped: Vec<Value> = scan
        .skipped()
        .map(|f| json!({"path": f.path.display().to_string(), "reason": f.error}))
        .collect();
    let damaged: Vec<Value> = scan
        .files
        .iter()
        .filter(|f| f.warning.is_some() || !f.bad_records.is_empty())
        .map(|f| {
            json!({"path": f.path.display().to_string(), "warning": f.warning,
                   "bad_records": f.bad_records.len(), "examples": f.bad_records.iter().take(3).collect::<Vec<_>>()})
        })
        .collect();
    let mut v = json!({
        "files": scan.files.len(),
        "bytes": scan.files.iter().map(|f| f.bytes).sum::<u64>(),
        "kinds": kinds,
        "digest_files_passed_over": scan.digests.len(),
        "records": scan.files.iter().map(|f| f.records).sum::<u64>(),
        "candidates": scan.files.iter().map(|f| f.candidates).sum::<u64>(),
        "exec_events": scan.exec.len(),
        "control_events": scan.control.len(),
        "duplicates_in_input": scan.duplicates,
        "files_skipped": skipped,
        "files_with_problems": damaged,
        "bad_records": scan.files.iter().map(|f| f.bad_records.len()).sum::<usize>(),
    });
    if let Some((e, c)) = stored {
        v["stored"] = json!({"exec_added": e.added, "control_added": c.added,
                             "already_stored": e.already_stored + c.already_stored});
    }
    v
}

/// True when anything (file or record) could not be read.
fn had_problems(scan: &ScanOutput) -> bool {
    scan.files
        .iter()
        .any(|f| f.error.is_some() || f.warning.is_some() || !f.bad_records.is_empty())
}

/// The human summary of a scan.
fn print_summary(
    out: &mut dyn Write,
    scan: &ScanOutput,
    stored: Option<(Appended, Appended)>,
    quiet: bool,
) -> io::Result<()> {
    let s = summary_json(scan, stored);
    let kinds: Vec<String> = s["kinds"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
        .unwrap_or_default();
    let mut read_line = format!(
        "read {} files ({}): {}",
        scan.files.len(),
        human_bytes(s["bytes"].as_u64().unwrap_or(0)),
        if kinds.is_empty() {
            "nothing usable".to_owned()
        } else {
            kinds.join(", ")
        }
    );
    if !scan.digests.is_empty() {
        read_line.push_str(&format!(
            "; {} CloudTrail digest files passed over",
            scan.digests.len()
        ));
    }
    writeln!(out, "{read_line}")?;
    let sessions = scan
        .exec
        .iter()
        .filter(|e| e.outcome.as_deref() == Some("success"))
        .count();
    writeln!(
        out,
        "records {} · parsed {} candidates · kept {} exec events ({} successful, {} failed) and {} control events · {} duplicates dropped",
        s["records"],
        s["candidates"],
        scan.exec.len(),
        sessions,
        scan.exec.len() - sessions,
        scan.control.len(),
        scan.duplicates
    )?;
    let transcripts = scan
        .files
        .iter()
        .filter(|f| f.kind == Some(ingest::cloudtrail::InputKind::Transcript))
        .count();
    if transcripts > 0 {
        writeln!(out, "{transcripts} session transcripts recognised (transcript analysis is not in this version; they were not read)")?;
    }
    if let Some((e, c)) = stored {
        writeln!(
            out,
            "store: added {} exec and {} control events; {} were already stored",
            e.added,
            c.added,
            e.already_stored + c.already_stored
        )?;
    }
    let skipped: Vec<_> = scan.skipped().collect();
    if !skipped.is_empty() {
        writeln!(out, "skipped {} files:", skipped.len())?;
        for f in skipped.iter().take(if quiet { 0 } else { usize::MAX }) {
            writeln!(
                out,
                "  {}: {}",
                f.path.display(),
                f.error.as_deref().unwrap_or("")
            )?;
        }
    }
    for f in scan
        .files
        .iter()
        .filter(|f| f.warning.is_some() || !f.bad_records.is_empty())
    {
        if let Some(w) = &f.warning {
            writeln!(out, "warning: {}: {w}", f.path.display())?;
        }
        if !f.bad_records.is_empty() {
            writeln!(
                out,
                "warning: {}: {} records skipped",
                f.path.display(),
                f.bad_records.len()
            )?;
            for r in f.bad_records.iter().take(if quiet { 0 } else { 5 }) {
                writeln!(out, "  {r}")?;
            }
        }
    }
    Ok(())
}

fn audit(a: AuditArgs) -> anyhow::Result<i32> {
    let filter = Filter::from_args(&a.filter, config::now())?;
    let scan = ingest::scan_paths(&a.paths);
    let sessions = correlate::sessions(&scan.exec, &filter);
    let attempts = correlate::attempts(&scan.exec, &filter);
    let control: Vec<ControlEvent> = scan
        .control
        .iter()
        .filter(|c| c.kind.as_deref() != Some("kms_session") && filter.matches_control(c))
        .cloned()
        .collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match a.format {
        AuditFormat::Table => {
            print_summary(&mut io::stderr(), &scan, None, false)?;
            let style = Style {
                format: Format::Table,
                show_secrets: a.show_secrets,
            };
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
        }
        AuditFormat::Json | AuditFormat::Jsonl => {
            if a.format == AuditFormat::Jsonl {
                print_summary(&mut io::stderr(), &scan, None, false)?;
            }
            let table = |name: &str, (names, rows): (Vec<&str>, Vec<Vec<Value>>)| -> Vec<Value> {
                rows.into_iter()
                    .map(|r| {
                        let mut o = report::object(&names, r);
                        if a.format == AuditFormat::Jsonl {
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
            if a.format == AuditFormat::Json {
                let doc = json!({"summary": summary_json(&scan, None), "sessions": s, "attempts": at, "control_events": c});
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            } else {
                for row in s.iter().chain(&at).chain(&c) {
                    serde_json::to_writer(&mut out, row)?;
                    writeln!(out)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if had_problems(&scan) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn ingest_cmd(a: IngestArgs) -> anyhow::Result<i32> {
    let root = config::store_path(a.store.store);
    let store = Store::open_for_write(&root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    let scan = ingest::scan_paths(&a.paths);
    let exec_added = store
        .append(scan.exec.clone())
        .context("writing exec events to the store")?;
    let control_added = store
        .append(scan.control.clone())
        .context("writing control events to the store")?;
    print_summary(
        &mut io::stdout().lock(),
        &scan,
        Some((exec_added, control_added)),
        a.quiet,
    )?;
    Ok(if had_problems(&scan) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

/// A query command's resolved settings and store.
struct Query {
    filter: Filter,
    store: Store,
    days: Option<(String, String)>,
    style: Style,
}

impl Query {
    fn open(q: QueryArgs) -> anyhow::Result<Query> {
        let filter = Filter::from_args(&q.filter, config::now())?;
        let root = config::store_path(q.store.store);
        if !root.exists() {
            eprintln!(
                "execaudit: the store {} does not exist yet: run `execaudit ingest PATH... --store {}` first",
                root.display(),
                root.display()
            );
        }
        let days = filter.day_range();
        let style = Style {
            format: q.output.format,
            show_secrets: q.output.show_secrets,
        };
        Ok(Query {
            filter,
            store: Store::open_for_read(&root),
            days,
            style,
        })
    }

    fn read<T: Stored>(&self) -> anyhow::Result<Vec<T>> {
        let days = self.days.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        self.store
            .read(days)
            .with_context(|| format!("reading the store at {}", self.store.root().display()))
    }

    fn emit<T: Table>(&self, rows: &[T], columns: &[&str]) -> anyhow::Result<i32> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        report::render(&mut out, rows, self.style, columns)?;
        out.flush()?;
        Ok(EXIT_OK)
    }
}

fn control(c: ControlArgs) -> anyhow::Result<i32> {
    const KINDS: &[&str] = &[
        "exec_enablement",
        "exec_logging",
        "ssm_session",
        "kms_session",
        "tampering",
    ];
    if let Some(k) = &c.kind {
        if !KINDS.contains(&k.as_str()) {
            anyhow::bail!("--kind: unknown kind {k:?}; one of {}", KINDS.join(", "));
        }
    }
    let q = Query::open(c.query)?;
    let rows: Vec<ControlEvent> = q
        .read::<ControlEvent>()?
        .into_iter()
        .filter(|e| {
            q.filter.matches_control(e)
                && c.kind
                    .as_deref()
                    .is_none_or(|k| e.kind.as_deref() == Some(k))
        })
        .collect();
    q.emit(&rows, CONTROL_COLUMNS)
}

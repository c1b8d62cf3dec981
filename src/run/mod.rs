//! Runs one command: wires the resolved settings to the pipeline stages and returns the exit
//! status. The analysis lives in [`crate::dataset`]; these modules only open, ask and print.
//! `audit` holds the one-shot audit and ingest; `explore` show, search and commands; `query`
//! the SQL command; `summary` what an ingest read.

mod audit;
mod explore;
pub mod findings;
mod query;
mod summary;
mod sync;
pub mod weekly;

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use polars::prelude::*;

use crate::cli::{Cli, Command, ControlArgs, OutputArgs, QueryArgs};
use crate::config::{self, Filter};
use crate::dataset::{Damage, Dataset};
use crate::report::{self, Document, Format, Style};

pub use summary::schema_markdown;

/// Exit status when everything went well.
pub const EXIT_OK: i32 = 0;
/// Exit status when findings at or above `--fail-on` were printed.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status for errors, including inputs, records or store parts that could not be read.
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
    "transcript_status",
    "commands",
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
    "likely_cause",
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
const HIT_COLUMNS: &[&str] = &[
    "time",
    "principal",
    "cluster",
    "container",
    "seq",
    "cwd",
    "command",
    "flags",
    "session_id",
];
const SEARCH_COLUMNS: &[&str] = &[
    "time",
    "principal",
    "cluster",
    "container",
    "found_in",
    "seq",
    "command",
    "flags",
    "session_id",
];
const TRANSCRIPT_COLUMNS: &[&str] = &[
    "time",
    "session_id",
    "status",
    "shell",
    "commands",
    "format",
    "source",
];

/// An error and its causes for people, `: `-separated: each cause cut before the query plan
/// polars appends to its message (a hundred lines or more, the store's part paths included),
/// and left out when the text before already ends with it (a store error says `path: cause`
/// and also gives the cause as its source: `{:#}` printed it twice).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let full = cause.to_string();
        let s = match full.find("\n\nResolved plan until failure:") {
            Some(at) => full[..at].trim_end(),
            None => &full,
        };
        if text.ends_with(s) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(s);
    }
    text
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Audit(a) => audit::audit(a),
        Command::Ingest(a) => audit::ingest(a),
        Command::Sync(a) => sync::sync(a),
        Command::Sessions(q) => {
            let q = Query::open(q)?;
            q.list(|d, f| d.sessions(f), SESSION_COLUMNS)
        }
        Command::Attempts(q) => {
            let q = Query::open(q)?;
            q.list(|d, f| d.attempts(f), ATTEMPT_COLUMNS)
        }
        Command::Control(c) => control(c),
        Command::Show(s) => explore::show(s),
        Command::Search(s) => explore::search(s),
        Command::Commands(c) => explore::commands(c),
        Command::Findings(a) => findings::findings(a),
        Command::Rules(r) => findings::rules(r),
        Command::Query(q) => query::query(q),
        Command::Report(r) => weekly::report(r),
        Command::Schema => {
            let mut out = io::stdout().lock();
            out.write_all(schema_markdown().as_bytes())?;
            Ok(EXIT_OK)
        }
        Command::Generate(g) if g.sessions.is_some() => {
            let n = g.sessions.unwrap_or(0);
            let files = crate::loadgen::generate(&g.out, n, g.commands_per_session, g.seed)
                .with_context(|| format!("writing {}", g.out.display()))?;
            eprintln!(
                "wrote {files} files ({n} sessions) under {}",
                g.out.display()
            );
            Ok(EXIT_OK)
        }
        Command::Generate(g) => {
            let written = crate::sample::generate_profile(
                &g.out,
                g.records,
                g.seed,
                g.transcripts,
                g.profile,
            )
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

/// A query command's resolved settings and dataset.
struct Query {
    filter: Filter,
    data: Dataset,
    style: Style,
    damage: Damage,
}

fn style(o: &OutputArgs) -> Style {
    Style {
        format: o.format,
        show_secrets: o.show_secrets,
    }
}

/// Opens the store a command names (`--store`, `$EXECAUDIT_STORE`, the default).
fn open_store(flag: Option<PathBuf>) -> anyhow::Result<Dataset> {
    let root = config::store_path(flag);
    Ok(Dataset::open(&root)?)
}

impl Query {
    fn open(q: QueryArgs) -> anyhow::Result<Query> {
        let filter = Filter::from_args(&q.filter, config::now())?;
        Ok(Query {
            filter,
            data: open_store(q.store.store)?,
            style: style(&q.output),
            damage: Damage::default(),
        })
    }

    /// Collects a view, retrying without damaged parts.
    fn collect(
        &mut self,
        build: impl Fn(&Dataset, &Filter) -> PolarsResult<LazyFrame>,
    ) -> anyhow::Result<DataFrame> {
        let f = &self.filter;
        self.data.collect(&mut self.damage, |d| build(d, f))
    }

    /// Collects a view and prints it.
    fn list(
        mut self,
        build: impl Fn(&Dataset, &Filter) -> PolarsResult<LazyFrame>,
        columns: &[&str],
    ) -> anyhow::Result<i32> {
        let df = self.collect(build)?;
        emit(&df, self.style, columns)?;
        Ok(finish(&self.damage))
    }
}

/// Prints one frame to stdout.
fn emit(df: &DataFrame, style: Style, columns: &[&str]) -> anyhow::Result<()> {
    refuse_binary_to_terminal(style.format)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    report::render(&mut out, df, style, columns)?;
    out.flush()?;
    Ok(())
}

/// Prints a document to stdout.
fn emit_document(doc: &Document, style: Style) -> anyhow::Result<()> {
    refuse_binary_to_terminal(style.format)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    report::render_document(&mut out, doc, style)?;
    out.flush()?;
    Ok(())
}

fn refuse_binary_to_terminal(format: Format) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if format == Format::Parquet && io::stdout().is_terminal() {
        anyhow::bail!("--format parquet writes binary: give --out FILE or redirect stdout");
    }
    Ok(())
}

/// Names the store parts that were set aside; the exit status says whether any were.
fn finish(damage: &Damage) -> i32 {
    for (path, why) in &damage.parts {
        eprintln!(
            "execaudit: warning: store part {} is unreadable and was left out of this answer ({}); the rest of the store answered",
            report::visible(&path.display().to_string()),
            report::visible(why)
        );
    }
    if damage.parts.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
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
    let kind = c.kind.clone();
    let q = Query::open(c.query)?;
    q.list(move |d, f| d.control(f, kind.as_deref()), CONTROL_COLUMNS)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("/st: {source}")]
    struct AtPath {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let e = anyhow::Error::new(AtPath {
            source: std::io::Error::other("a file, not a store folder"),
        })
        .context("opening the store at /st");
        assert_eq!(
            super::error_text(&e),
            "opening the store at /st: /st: a file, not a store folder"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(super::error_text(&e), "outer: inner");
    }
}

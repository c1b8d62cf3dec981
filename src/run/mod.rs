//! Runs one command: wires the resolved settings to the pipeline stages and returns the exit
//! status. `summary` reports what was read; `audit` holds the one-shot audit and ingest;
//! `explore` holds show, search and commands.

mod audit;
mod explore;
mod summary;

use std::io::{self, Write};

use anyhow::Context;

use crate::cli::{Cli, Command, ControlArgs, QueryArgs};
use crate::config::{self, Filter};
use crate::correlate;
use crate::model::{Attempt, CommandRow, ControlEvent, ExecEvent, Session, Table, TranscriptRow};
use crate::report::{self, Style};
use crate::store::{Store, Stored};

pub use summary::schema_markdown;

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

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Audit(a) => audit::audit(a),
        Command::Ingest(a) => audit::ingest(a),
        Command::Sessions(q) => {
            let q = Query::open(q)?;
            let (events, transcripts, commands) = (q.read()?, q.read_all()?, q.read_all()?);
            q.emit(
                &correlate::sessions(&events, &transcripts, &commands, &q.filter),
                SESSION_COLUMNS,
            )
        }
        Command::Attempts(q) => {
            let q = Query::open(q)?;
            q.emit(&correlate::attempts(&q.read()?, &q.filter), ATTEMPT_COLUMNS)
        }
        Command::Control(c) => control(c),
        Command::Show(s) => explore::show(s),
        Command::Search(s) => explore::search(s),
        Command::Commands(c) => explore::commands(c),
        Command::Schema => {
            print!("{}", schema_markdown());
            Ok(EXIT_OK)
        }
        Command::Generate(g) => {
            let written = crate::sample::generate_profile(&g.out, g.records, g.seed, g.transcripts, g.profile)
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

    /// Rows in the days the time filter can touch.
    fn read<T: Stored>(&self) -> anyhow::Result<Vec<T>> {
        let days = self.days.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        self.store
            .read(days)
            .with_context(|| format!("reading the store at {}", self.store.root().display()))
    }

    /// Every row: transcripts are filed under the day a session ended, which a time filter on
    /// session starts cannot bound.
    fn read_all<T: Stored>(&self) -> anyhow::Result<Vec<T>> {
        self.store
            .read(None)
            .with_context(|| format!("reading the store at {}", self.store.root().display()))
    }

    fn emit<T: Table>(&self, rows: &[T], columns: &[&str]) -> anyhow::Result<i32> {
        emit(rows, self.style, columns)
    }
}

fn emit<T: Table>(rows: &[T], style: Style, columns: &[&str]) -> anyhow::Result<i32> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    report::render(&mut out, rows, style, columns)?;
    out.flush()?;
    Ok(EXIT_OK)
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

/// Everything the analysis needs, whether read from inputs (audit) or from the store.
struct Data {
    exec: Vec<ExecEvent>,
    control: Vec<ControlEvent>,
    transcripts: Vec<TranscriptRow>,
    commands: Vec<CommandRow>,
}

impl Data {
    fn sessions(&self, filter: &Filter) -> Vec<Session> {
        correlate::sessions(&self.exec, &self.transcripts, &self.commands, filter)
    }

    fn attempts(&self, filter: &Filter) -> Vec<Attempt> {
        correlate::attempts(&self.exec, filter)
    }
}

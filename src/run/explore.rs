//! Exploring what was typed: `show` (one session), `search` (a pattern anywhere), `commands`.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{bail, Context};
use regex::Regex;
use serde_json::{json, Value};

use super::{Data, Query, EXIT_OK, HIT_COLUMNS, SEARCH_COLUMNS};
use crate::cli::{CommandsArgs, SearchArgs, ShowArgs};
use crate::config::{self, Filter};
use crate::model::{CommandHit, ExecEvent, Session, Timestamp, TranscriptRow};
use crate::redact::redact;
use crate::report::{self, Format, Style};
use crate::store::Store;

fn flags(edited: bool, pasted: bool, multi: bool, full: bool, abandoned: bool) -> Option<String> {
    let f: Vec<&str> = [
        (abandoned, "abandoned"),
        (edited, "edited"),
        (pasted, "pasted"),
        (multi, "multi-line"),
        (full, "full-screen"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    (!f.is_empty()).then(|| f.join(","))
}

fn hit_base(
    e: Option<&ExecEvent>,
    session_id: Option<String>,
    time: Timestamp,
    found_in: &str,
) -> CommandHit {
    CommandHit {
        session_id,
        time: e.map_or(time, |e| e.event_time),
        principal: e.and_then(|e| e.principal.clone()),
        account: e.and_then(|e| e.account.clone()),
        region: e.and_then(|e| e.region.clone()),
        cluster: e.and_then(|e| e.cluster.clone()),
        task_id: e.and_then(|e| e.task_id.clone()),
        container: e.and_then(|e| e.container.clone()),
        found_in: Some(found_in.to_owned()),
        ..CommandHit::default()
    }
}

/// The session's `ExecuteCommand`, by session id.
fn exec_by_session(data: &Data) -> HashMap<&str, &ExecEvent> {
    let mut m = HashMap::new();
    for e in &data.exec {
        if let Some(s) = e.session_id.as_deref() {
            m.entry(s).or_insert(e);
        }
    }
    m
}

/// Whether a row tied to session `e` (or to no known session) passes the filter.
fn passes(filter: &Filter, e: Option<&ExecEvent>, time: Timestamp) -> bool {
    match e {
        Some(e) => filter.matches_exec(e),
        None => !filter.names_a_target() && filter.time_matches(time),
    }
}

/// Every reconstructed command with who, when and where, in order.
pub(super) fn hits(data: &Data, filter: &Filter, session: Option<&str>) -> Vec<CommandHit> {
    let execs = exec_by_session(data);
    let mut out: Vec<CommandHit> = data
        .commands
        .iter()
        .filter(|c| session.is_none_or(|s| c.session_id.as_deref() == Some(s)))
        .filter_map(|c| {
            let e = c.session_id.as_deref().and_then(|s| execs.get(s).copied());
            if !passes(filter, e, c.time) {
                return None;
            }
            let on = |v: Option<bool>| v == Some(true);
            Some(CommandHit {
                seq: c.seq,
                cwd: c.cwd.clone(),
                command: c.command.clone(),
                abandoned: c.abandoned,
                flags: flags(
                    on(c.edited),
                    on(c.pasted),
                    on(c.multi_line),
                    on(c.full_screen),
                    on(c.abandoned),
                ),
                output_lines: c.output_lines,
                output_excerpt: c.output_excerpt.clone(),
                confidence: c.confidence,
                ..hit_base(e, c.session_id.clone(), c.time, "command")
            })
        })
        .collect();
    out.sort_by(|a, b| (a.time, &a.session_id, a.seq).cmp(&(b.time, &b.session_id, b.seq)));
    out
}

/// Reads sessions, transcripts and commands from the store, every day of them (transcripts are
/// filed by session end, which a time filter on session starts cannot bound).
fn load(store: &Store) -> anyhow::Result<Data> {
    let context = || format!("reading the store at {}", store.root().display());
    Ok(Data {
        exec: store.read(None).with_context(context)?,
        control: Vec::new(),
        transcripts: store.read(None).with_context(context)?,
        commands: store.read(None).with_context(context)?,
    })
}

pub fn commands(a: CommandsArgs) -> anyhow::Result<i32> {
    let q = Query::open(a.query)?;
    let data = load(&q.store)?;
    let session = match a.session.as_deref() {
        Some(s) => Some(resolve_session(&data, s)?),
        None => None,
    };
    q.emit(&hits(&data, &q.filter, session.as_deref()), HIT_COLUMNS)
}

pub fn search(a: SearchArgs) -> anyhow::Result<i32> {
    let matcher: Box<dyn Fn(&str) -> bool> = if a.regex {
        let re = Regex::new(&a.pattern)
            .with_context(|| format!("PATTERN is not a valid regular expression: {}", a.pattern))?;
        Box::new(move |t: &str| re.is_match(t))
    } else {
        let needle = a.pattern.to_lowercase();
        Box::new(move |t: &str| t.to_lowercase().contains(&needle))
    };
    let q = Query::open(a.query)?;
    let data = load(&q.store)?;
    let mut found: Vec<CommandHit> = hits(&data, &q.filter, None)
        .into_iter()
        .filter(|h| h.command.as_deref().is_some_and(&matcher))
        .collect();
    // The command string of the ExecuteCommand call itself (`sh -c '...'`), successful or not.
    for e in &data.exec {
        if e.command.as_deref().is_some_and(&matcher) && q.filter.matches_exec(e) {
            found.push(CommandHit {
                command: e.command.clone(),
                ..hit_base(Some(e), e.session_id.clone(), e.event_time, "cloudtrail")
            });
        }
    }
    if a.in_output {
        let execs = exec_by_session(&data);
        let typed: HashMap<&str, Vec<&str>> =
            data.commands.iter().fold(HashMap::new(), |mut m, c| {
                if let (Some(s), Some(cmd)) = (c.session_id.as_deref(), c.command.as_deref()) {
                    m.entry(s).or_default().push(cmd);
                }
                m
            });
        for t in &data.transcripts {
            let sid = t.session_id.as_deref();
            let e = sid.and_then(|s| execs.get(s).copied());
            if !passes(&q.filter, e, t.time) {
                continue;
            }
            let cmds = sid.and_then(|s| typed.get(s)).cloned().unwrap_or_default();
            for line in t.text.as_deref().unwrap_or("").lines() {
                let is_input = cmds
                    .iter()
                    .any(|c| !c.is_empty() && line.ends_with(c.lines().last().unwrap_or(c)));
                if !is_input && matcher(line) {
                    found.push(CommandHit {
                        command: Some(line.to_owned()),
                        ..hit_base(e, t.session_id.clone(), t.time, "output")
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| (a.time, &a.session_id, a.seq).cmp(&(b.time, &b.session_id, b.seq)));
    if found.is_empty() {
        eprintln!("execaudit: no match for {:?}", a.pattern);
    }
    q.emit(&found, SEARCH_COLUMNS)
}

/// The one session id `wanted` names: exact, else a unique part of one.
fn resolve_session(data: &Data, wanted: &str) -> anyhow::Result<String> {
    let mut ids: Vec<&str> = data
        .exec
        .iter()
        .filter_map(|e| e.session_id.as_deref())
        .chain(
            data.transcripts
                .iter()
                .filter_map(|t| t.session_id.as_deref()),
        )
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.contains(&wanted) {
        return Ok(wanted.to_owned());
    }
    let partial: Vec<&str> = ids.iter().copied().filter(|i| i.contains(wanted)).collect();
    match partial.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!(
            "no session {wanted:?} in the store (ingest its CloudTrail events or transcript first)"
        ),
        many => bail!(
            "{wanted:?} matches {} sessions: {}",
            many.len(),
            many.iter().take(5).copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

fn duration(secs: i64) -> String {
    match secs {
        s if s < 0 => format!("{s}s"),
        s if s >= 3600 => format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60),
        s => format!("{}m {:02}s", s / 60, s % 60),
    }
}

pub fn show(a: ShowArgs) -> anyhow::Result<i32> {
    let data = load(&Store::open_for_read(&config::store_path(a.store.store)))?;
    let id = resolve_session(&data, &a.session)?;
    let session: Option<Session> = data
        .sessions(&Filter::default())
        .into_iter()
        .find(|s| s.session_id.as_deref() == Some(&id));
    let transcript: Option<TranscriptRow> = data
        .transcripts
        .iter()
        .find(|t| t.session_id.as_deref() == Some(&id))
        .cloned();
    let commands = hits(&data, &Filter::default(), Some(&id));
    let style = Style {
        format: a.output.format,
        show_secrets: a.output.show_secrets,
    };
    let clean = |t: &str| {
        if style.show_secrets {
            t.to_owned()
        } else {
            redact(t).into_owned()
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match style.format {
        Format::Table => {
            let mut line = |k: &str, v: String| writeln!(out, "{k:<11} {v}");
            line("session", id.clone())?;
            match &session {
                Some(s) => {
                    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
                    let mfa = match s.mfa {
                        Some(true) => "MFA yes",
                        Some(false) => "MFA no",
                        None => "MFA not logged",
                    };
                    line(
                        "who",
                        format!(
                            "{} ({} · {} · {mfa})",
                            opt(&s.principal),
                            opt(&s.principal_source),
                            opt(&s.principal_type)
                        ),
                    )?;
                    if let Some(role) = &s.role_arn {
                        let set = s
                            .sso_permission_set
                            .as_ref()
                            .map(|p| format!("  [permission set {p}]"))
                            .unwrap_or_default();
                        line("role", format!("{role}{set}"))?;
                    }
                    line(
                        "from",
                        format!("{} · {}", opt(&s.source_ip), opt(&s.user_agent)),
                    )?;
                    let end = match (s.end_time, s.duration_s) {
                        (Some(e), Some(d)) => format!(" → {} ({})", e.to_rfc3339(), duration(d)),
                        _ => String::new(),
                    };
                    line("when", format!("{}{end}", s.start_time.to_rfc3339()))?;
                    line(
                        "where",
                        format!(
                            "account {} · {} · cluster {} · task {} · container {}",
                            opt(&s.account),
                            opt(&s.region),
                            opt(&s.cluster),
                            opt(&s.task_id),
                            opt(&s.container)
                        ),
                    )?;
                    line("asked for", clean(s.command.as_deref().unwrap_or("?")))?;
                }
                None => line(
                    "exec event",
                    "none: no ExecuteCommand in the store opened this session (orphan transcript)"
                        .into(),
                )?,
            }
            match &transcript {
                Some(t) => {
                    let mut parts = vec![t.status.clone().unwrap_or_default()];
                    parts.extend(t.shell.clone());
                    parts.push(format!("{} commands", t.commands.unwrap_or(0)));
                    parts.extend(t.format.clone());
                    parts.extend(t.source.clone());
                    line("transcript", parts.join(" · "))?;
                    if let Some(w) = &t.warnings {
                        line("warnings", w.clone())?;
                    }
                }
                None => line(
                    "transcript",
                    "missing: none was ingested for this session".into(),
                )?,
            }
            writeln!(out)?;
            report::render(
                &mut out,
                &commands,
                style,
                &[
                    "seq",
                    "cwd",
                    "command",
                    "flags",
                    "output_lines",
                    "output_excerpt",
                ],
            )?;
            if a.transcript {
                if let Some(text) = transcript.as_ref().and_then(|t| t.text.as_deref()) {
                    writeln!(out, "\n== Transcript ==")?;
                    writeln!(out, "{}", clean(text))?;
                }
            }
        }
        Format::Json => {
            let obj = |names: Vec<&str>, rows: Vec<Vec<Value>>| {
                rows.into_iter().next().map(|r| report::object(&names, r))
            };
            let s = session.as_ref().and_then(|s| {
                let (n, r) = report::rows(std::slice::from_ref(s), style.show_secrets);
                obj(n, r)
            });
            let t = transcript.as_ref().and_then(|t| {
                let keep = TranscriptRow {
                    text: if a.transcript { t.text.clone() } else { None },
                    ..t.clone()
                };
                let (n, r) = report::rows(std::slice::from_ref(&keep), style.show_secrets);
                obj(n, r)
            });
            let (n, rows) = report::rows(&commands, style.show_secrets);
            let c: Vec<Value> = rows.into_iter().map(|r| report::object(&n, r)).collect();
            serde_json::to_writer_pretty(
                &mut out,
                &json!({"session_id": id, "session": s, "transcript": t, "commands": c}),
            )?;
            writeln!(out)?;
        }
        Format::Jsonl | Format::Csv => report::render(&mut out, &commands, style, HIT_COLUMNS)?,
    }
    out.flush()?;
    Ok(EXIT_OK)
}

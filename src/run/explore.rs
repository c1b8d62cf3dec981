//! Exploring what was typed: `show` (one session), `search` (a pattern anywhere), `commands`.

use std::io::{self, Write};

use anyhow::{bail, Context};
use polars::prelude::*;

use super::{emit, emit_document, finish, open_store, style, Query, HIT_COLUMNS, SEARCH_COLUMNS};
use crate::cli::{CommandsArgs, SearchArgs, ShowArgs};
use crate::config::Filter;
use crate::dataset::{Damage, Dataset, Matcher};
use crate::model::{Table, TranscriptRow};
use crate::redact::redact;
use crate::report::{self, Document, Format, Section};

pub fn commands(a: CommandsArgs) -> anyhow::Result<i32> {
    let mut q = Query::open(a.query)?;
    if let Some(s) = a.session.as_deref() {
        q.filter.session = Some(resolve_session(&q.data, &mut q.damage, s)?);
    }
    q.list(|d, f| d.commands(f), HIT_COLUMNS)
}

pub fn search(a: SearchArgs) -> anyhow::Result<i32> {
    let matcher = if a.regex {
        Matcher::regex(&a.pattern)
            .with_context(|| format!("PATTERN is not a valid regular expression: {}", a.pattern))?
    } else {
        Matcher::text(&a.pattern)
    };
    let mut q = Query::open(a.query)?;
    let in_output = a.in_output;
    // The table shows a few columns: only those are read (an output excerpt is most of the
    // bytes of the commands table).
    let shown: Option<Vec<Expr>> =
        (q.style.format == Format::Table).then(|| SEARCH_COLUMNS.iter().map(|c| col(*c)).collect());
    let df = q.collect(|d, f| {
        let hits = d.search(f, &matcher, in_output)?;
        Ok(match &shown {
            Some(c) => hits.select(c.clone()),
            None => hits,
        })
    })?;
    if df.height() == 0 {
        eprintln!(
            "execaudit: no match for {}",
            report::visible(&format!("{:?}", a.pattern))
        );
    }
    emit(&df, q.style, SEARCH_COLUMNS)?;
    Ok(finish(&q.damage))
}

/// The one session id `wanted` names: exact, else a unique part of one.
fn resolve_session(data: &Dataset, damage: &mut Damage, wanted: &str) -> anyhow::Result<String> {
    // The usual case first: the whole id of a session its ExecuteCommand event names.
    let exact = data.collect(damage, |d| {
        Ok(d.table("exec_events", None)?
            .select([col("session_id")])
            .filter(col("session_id").eq(lit(wanted.to_owned())))
            .limit(1))
    })?;
    if exact.height() == 1 {
        return Ok(wanted.to_owned());
    }
    let mut ids = |exact: bool| -> anyhow::Result<Vec<String>> {
        let w = wanted.to_owned();
        let pick = move |lf: LazyFrame| {
            let c = col("session_id");
            let m = if exact {
                c.clone().eq(lit(w.clone()))
            } else {
                c.clone().str().contains_literal(lit(w.clone()))
            };
            lf.select([c]).filter(m)
        };
        let df = data.collect(damage, |d| {
            Ok(concat(
                [
                    pick(d.table("exec_events", None)?),
                    pick(d.table(TranscriptRow::NAME, None)?),
                ],
                UnionArgs::default(),
            )?
            .unique(None, UniqueKeepStrategy::Any)
            .sort(["session_id"], SortMultipleOptions::default()))
        })?;
        Ok(df
            .column("session_id")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_owned)
            .collect())
    };
    if ids(true)?.len() == 1 {
        return Ok(wanted.to_owned());
    }
    let partial = ids(false)?;
    match partial.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no session {wanted:?} in the store (ingest its CloudTrail events or transcript first)"
        ),
        many => bail!(
            "{wanted:?} matches {} sessions: {}",
            many.len(),
            many.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
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

/// One value of a one-row frame as text (`None` when null or absent).
fn get(df: &DataFrame, name: &str) -> Option<String> {
    get_at(df, name, 0)
}

/// One value of a frame's row as text (`None` when null or absent).
fn get_at(df: &DataFrame, name: &str, row: usize) -> Option<String> {
    let c = df.column(name).ok()?;
    match c.get(row).ok()? {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(s.to_owned()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        AnyValue::Datetime(v, _, _) | AnyValue::DatetimeOwned(v, _, _) => {
            Some(crate::model::Timestamp(v).to_rfc3339())
        }
        v => Some(v.to_string()),
    }
}

pub fn show(a: ShowArgs) -> anyhow::Result<i32> {
    let mut damage = Damage::default();
    let with_text = a.transcript;
    // The rules compile (tens of ms: their regexes) while the store is read.
    let (detector, read) = std::thread::scope(|s| {
        let rules = s.spawn(|| super::findings::load_detector(&a.detect));
        let read = (|| -> anyhow::Result<_> {
            let data = open_store(a.store.store.clone())?;
            crate::trace::stage("show: store opened");
            // The whole id first; else the session a part of an id names.
            let found = match data.session_slice(&mut damage, &a.session, with_text)? {
                Some(slice) => (a.session.clone(), slice),
                None => {
                    let id = resolve_session(&data, &mut damage, &a.session)?;
                    let slice = data
                        .session_slice(&mut damage, &id, with_text)?
                        .with_context(|| format!("session {id} is no longer in the store"))?;
                    (id, slice)
                }
            };
            crate::trace::stage("show: the session's rows read");
            Ok(found)
        })();
        let rules = rules
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        crate::trace::stage("show: rules loaded");
        (rules, read)
    });
    let detector = detector?;
    let (id, slice) = read?;
    let f = Filter {
        session: Some(id.clone()),
        ..Filter::default()
    };
    let (findings, session) = slice.session_findings(&detector, &mut damage, &id)?;
    crate::trace::stage("show: session and findings");
    let mut transcript = slice.collect(&mut damage, |d| d.session_transcripts(&id, with_text))?;
    if transcript.height() > 1 {
        // The one the session's row describes first (the JSON's `transcript`): by id, a
        // planted copy could come first.
        let described = slice.collect(&mut damage, |d| d.described_transcript(&id))?;
        if let Some(chosen) = described
            .column("transcript_id")?
            .str()?
            .get(0)
            .map(str::to_owned)
        {
            transcript = transcript
                .lazy()
                .with_column(col("transcript_id").eq(lit(chosen)).alias("described"))
                .sort(
                    ["described"],
                    SortMultipleOptions::default()
                        .with_order_descending(true)
                        .with_maintain_order(true),
                )
                .drop(cols(["described"]))
                .collect()?;
        }
    }
    crate::trace::stage("show: transcript");
    let commands = slice.collect(&mut damage, |d| d.commands(&f))?;
    crate::trace::stage("show: commands");
    let st = style(&a.output);
    match st.format {
        Format::Table => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            write_show(
                &mut out,
                &id,
                &session,
                &transcript,
                &commands,
                st.show_secrets,
                a.transcript,
            )?;
            out.flush()?;
        }
        Format::Json => {
            let mut head = vec![("session_id".into(), id.clone().into())];
            let mut sections = vec![
                Section {
                    single: true,
                    ..Section::new("session", "Session", session, &[])
                },
                Section {
                    single: true,
                    ..Section::new("transcript", "Transcript", transcript.clone(), &[])
                },
            ];
            // Transcripts with different commands under one session id: `transcript` is the
            // one the session's row describes (first, above); all of them, and the warning the
            // table prints, come beside it (a JSON reader saw one and never learnt of the
            // other, which may be planted).
            if transcript.height() > 1 {
                head.push((
                    "warning".into(),
                    conflict_warning(transcript.height()).into(),
                ));
                sections.push(Section::new("transcripts", "Transcripts", transcript, &[]));
            }
            sections.push(Section::new("commands", "Commands", commands, &[]));
            sections.push(Section::new("findings", "Findings", findings, &[]));
            emit_document(&Document { head, sections }, st)?;
        }
        _ => emit(&commands, st, HIT_COLUMNS)?,
    }
    Ok(finish(&damage))
}

fn conflict_warning(transcripts: usize) -> String {
    format!(
        "{transcripts} transcripts with different commands carry this session id: one may be planted (the commands below come from all of them)"
    )
}

/// The table form of `show`: who, role, from where, when, where, what was asked, the
/// transcript's state, the commands, and optionally the transcript as a person saw it.
fn write_show(
    out: &mut dyn Write,
    id: &str,
    session: &DataFrame,
    transcript: &DataFrame,
    commands: &DataFrame,
    show_secrets: bool,
    with_text: bool,
) -> anyhow::Result<()> {
    let clean = |t: &str| -> String {
        let t = if show_secrets { t.into() } else { redact(t) };
        report::visible(&t).into_owned()
    };
    let mut line = |k: &str, v: String| writeln!(out, "{k:<11} {}", report::visible(&v));
    line("session", id.to_owned())?;
    if session.height() > 0 {
        let s = |n: &str| get(session, n).unwrap_or_else(|| "?".into());
        let mfa = match get(session, "mfa").as_deref() {
            Some("true") => "MFA yes",
            Some("false") => "MFA no",
            _ => "MFA not logged",
        };
        line(
            "who",
            format!(
                "{} ({} · {} · {mfa})",
                s("principal"),
                s("principal_source"),
                s("principal_type")
            ),
        )?;
        if let Some(role) = get(session, "role_arn") {
            let set = get(session, "sso_permission_set")
                .map(|p| format!("  [permission set {p}]"))
                .unwrap_or_default();
            line("role", format!("{role}{set}"))?;
        }
        line("from", format!("{} · {}", s("source_ip"), s("user_agent")))?;
        let end = match (get(session, "end_time"), get(session, "duration_s")) {
            (Some(e), Some(d)) => format!(" → {e} ({})", duration(d.parse().unwrap_or(0))),
            _ => String::new(),
        };
        line("when", format!("{}{end}", s("start_time")))?;
        line(
            "where",
            format!(
                "account {} · {} · cluster {} · task {} · container {}",
                s("account"),
                s("region"),
                s("cluster"),
                s("task_id"),
                s("container")
            ),
        )?;
        line("asked for", clean(&s("command")))?;
        if get(session, "token_unredacted").as_deref() == Some("true") {
            line(
                "token",
                "LEAKED: the ExecuteCommand response logged the session token unredacted (its value is not kept); the session could be joined by anyone who read the trail".into(),
            )?;
        }
    } else {
        line(
            "exec event",
            "none: no ExecuteCommand in the store opened this session (orphan transcript)".into(),
        )?;
    }
    if transcript.height() > 0 {
        for row in 0..transcript.height() {
            let t = |n: &str| get_at(transcript, n, row);
            let mut parts = vec![t("status").unwrap_or_default()];
            parts.extend(t("shell"));
            parts.push(format!(
                "{} commands",
                t("commands").unwrap_or_else(|| "0".into())
            ));
            parts.extend(t("format"));
            parts.extend(t("source"));
            if transcript.height() > 1 {
                parts.extend(t("transcript_id"));
            }
            line("transcript", parts.join(" · "))?;
            if let Some(w) = t("warnings") {
                line("warnings", w)?;
            }
        }
        if transcript.height() > 1 {
            line("warning", conflict_warning(transcript.height()))?;
        }
    } else {
        line(
            "transcript",
            "missing: none was ingested for this session".into(),
        )?;
    }
    writeln!(out)?;
    report::render(
        out,
        commands,
        report::Style {
            format: Format::Table,
            show_secrets,
        },
        &[
            "seq",
            "cwd",
            "command",
            "flags",
            "output_lines",
            "output_excerpt",
        ],
    )?;
    if with_text {
        for row in 0..transcript.height() {
            let Some(text) = get_at(transcript, "text", row) else {
                continue;
            };
            if transcript.height() > 1 {
                let source = get_at(transcript, "source", row).unwrap_or_default();
                writeln!(out, "\n== Transcript from {} ==", report::visible(&source))?;
            } else {
                writeln!(out, "\n== Transcript ==")?;
            }
            let t = if show_secrets {
                text.as_str().into()
            } else {
                redact(&text)
            };
            writeln!(out, "{}", crate::report::escape::visible(&t, true))?;
        }
    }
    Ok(())
}

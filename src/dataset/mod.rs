//! The dataset: the one source every analysis reads, whether the tables come from the store
//! (lazy Parquet scans) or from a one-shot scan held in memory (`audit`).
//!
//! Base tables (`exec_events`, `control_events`, `transcripts`, `commands`) are polars
//! `LazyFrame`s; the views built on them ([`views`]: sessions, attempts, control events,
//! commands with who and where, search, orphan transcripts) are polars queries too, so filters
//! run inside the scans and only the days, columns and row groups a question needs are read.
//! `query` registers the same frames for SQL.

mod copies;
pub mod filter;
mod search;
mod tally;
mod views;

use std::collections::HashMap;

use anyhow::Context;
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::config::Filter;
use crate::model::{CommandRow, ControlEvent, ExecEvent, Table, Timestamp, TranscriptRow};
use crate::store::{Days, Store, StoreError};
pub use search::Matcher;

/// Where the base tables come from.
enum Source {
    Store(Store),
    Frames(HashMap<&'static str, DataFrame>),
}

/// The tables every analysis consumes; see the module documentation.
pub struct Dataset {
    source: Source,
    /// Transcripts the views leave out (worked out on first use).
    resolved: std::sync::OnceLock<copies::Resolution>,
}

/// Warnings met while answering (damaged parts set aside), for the caller to print.
#[derive(Debug, Default, Clone)]
pub struct Damage {
    pub parts: Vec<(std::path::PathBuf, String)>,
}

impl Dataset {
    /// The dataset of a store on disk.
    pub fn open(root: &std::path::Path) -> Result<Dataset, StoreError> {
        Ok(Dataset {
            source: Source::Store(Store::open_for_read(root)?),
            resolved: Default::default(),
        })
    }

    /// The dataset of rows held in memory (a one-shot audit, which reads transcripts without
    /// their text: nothing in it prints the text, and it is most of the bytes).
    pub fn from_rows(
        exec: &[ExecEvent],
        control: &[ControlEvent],
        transcripts: &[TranscriptRow],
        commands: &[CommandRow],
    ) -> PolarsResult<Dataset> {
        Dataset::from_frames(
            exec,
            control,
            TranscriptRow::to_frame(transcripts)?,
            CommandRow::to_frame(commands)?,
        )
    }

    /// The same, with transcripts and commands already framed (as ingest reads them).
    pub fn from_frames(
        exec: &[ExecEvent],
        control: &[ControlEvent],
        transcripts: DataFrame,
        commands: DataFrame,
    ) -> PolarsResult<Dataset> {
        let mut m = HashMap::new();
        m.insert(ExecEvent::NAME, ExecEvent::to_frame(exec)?);
        m.insert(ControlEvent::NAME, ControlEvent::to_frame(control)?);
        m.insert(TranscriptRow::NAME, transcripts);
        m.insert(CommandRow::NAME, commands);
        Ok(Dataset {
            source: Source::Frames(m),
            resolved: Default::default(),
        })
    }

    /// The store behind the dataset, when there is one.
    pub fn store(&self) -> Option<&Store> {
        match &self.source {
            Source::Store(s) => Some(s),
            Source::Frames(_) => None,
        }
    }

    /// A base table over the days asked for (all when `None`).
    pub fn table(&self, name: &str, days: Option<&Days>) -> PolarsResult<LazyFrame> {
        match &self.source {
            Source::Store(s) => s.scan(name, days),
            Source::Frames(m) => {
                let Some(df) = m.get(name) else {
                    polars_bail!(ComputeError: "no table {name:?}");
                };
                let t = crate::store::table(name).map_or("time", |t| t.time);
                let mut lf = df.clone().lazy();
                if let Some(d) = days {
                    if let Some(first) = day_start(&d.first) {
                        lf = lf.filter(col(t).gt_eq(filter::ts(first)));
                    }
                    if let Some(last) = day_start(&d.last) {
                        lf = lf.filter(col(t).lt(filter::ts(Timestamp(last.0 + 86_400_000))));
                    }
                }
                // Frames as ingest builds them leave derived keys out, as the store does.
                Ok(match crate::store::table(name) {
                    Some(info) => crate::store::with_keys(info, lf),
                    None => lf,
                })
            }
        }
    }

    /// Everything one session's views read, held in memory: its `ExecuteCommand` events and
    /// those of the other sessions of its principal (first use of a cluster), every control
    /// event (logging destinations, enablements), its transcripts (with their text when
    /// `with_text`) and its commands; `None` when neither an event nor a transcript carries
    /// the id. The session's row, findings, transcripts and commands come out of it as they do
    /// from the whole dataset, for one or two scans of each table instead of one per view:
    /// `show` read the store's session ids eight times (0.44 s at 100k sessions).
    pub fn session_slice(
        &self,
        damage: &mut Damage,
        id: &str,
        with_text: bool,
    ) -> anyhow::Result<Option<Dataset>> {
        // First use of a cluster compares sessions by principal, lowercased: every event of
        // each session one of whose events names a principal of this one's (whichever event
        // the session's row then takes its principal from).
        let keys = self.collect(damage, |d| {
            Ok(d.table(ExecEvent::NAME, None)?
                .select([col("session_id"), col("principal")]))
        })?;
        let sessions = keys.column("session_id")?.str()?;
        let principals = keys.column("principal")?.str()?;
        let theirs: std::collections::HashSet<String> = sessions
            .iter()
            .zip(principals.iter())
            .filter(|(s, _)| *s == Some(id))
            .filter_map(|(_, p)| p.map(str::to_lowercase))
            .collect();
        let mut ids: std::collections::BTreeSet<&str> = sessions
            .iter()
            .zip(principals.iter())
            .filter_map(|(s, p)| Some((s?, p?)))
            .filter(|(_, p)| !theirs.is_empty() && theirs.contains(&p.to_lowercase()))
            .map(|(s, _)| s)
            .collect();
        let known = sessions.iter().any(|s| s == Some(id));
        if known {
            ids.insert(id);
        }
        let exec = if ids.is_empty() {
            ExecEvent::to_frame(&[])?
        } else {
            let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
            self.collect(damage, |d| {
                crate::store::keep_sessions(d.table(ExecEvent::NAME, None)?, &ids)
            })?
        };
        crate::trace::stage("slice: exec events");
        let transcripts = self.collect(damage, |d| {
            let t = d.sessions_rows(TranscriptRow::NAME, &[id.to_owned()], None)?;
            Ok(if with_text {
                t
            } else {
                t.with_column(lit(NULL).cast(DataType::String).alias("text"))
            })
        })?;
        crate::trace::stage("slice: transcripts");
        if !known && transcripts.height() == 0 {
            return Ok(None);
        }
        let control = self.collect(damage, |d| d.session_control(id))?;
        // A command is filed under its transcript's time (see `commands_by_day`): only the days
        // of the session's transcripts hold its commands.
        let days = views::days_of_times(&transcripts)?;
        let commands = self.collect(damage, |d| {
            d.sessions_rows(CommandRow::NAME, &[id.to_owned()], days.as_ref())
        })?;
        crate::trace::stage("slice: commands");
        let mut m = HashMap::new();
        m.insert(ExecEvent::NAME, exec);
        m.insert(ControlEvent::NAME, control);
        m.insert(TranscriptRow::NAME, transcripts);
        m.insert(CommandRow::NAME, commands);
        Ok(Some(Dataset {
            source: Source::Frames(m),
            resolved: Default::default(),
        }))
    }

    /// The control events one session's findings read (see [`crate::detect::Run::new`]):
    /// every logging configuration and enablement, the events that carry its id, and the
    /// changes to resources a cluster's logging configuration names (what coverage and likely
    /// causes see of tampering). A change to another resource makes a finding about no
    /// session, or about the one it carries. An organisation's trail holds tens of thousands of
    /// changes to log groups, buckets and keys that are no destination (110k in 8M records:
    /// `show` 0.52 s and 440 MB with them). Rows held in memory are given whole.
    fn session_control(&self, id: &str) -> PolarsResult<LazyFrame> {
        let Source::Store(store) = &self.source else {
            return self.table(ControlEvent::NAME, None);
        };
        let held = col("kind")
            .is_in(
                lit(Series::new(
                    "kinds".into(),
                    ["exec_logging", "exec_enablement"],
                ))
                .implode(false),
                false,
            )
            .or(col("session_id").eq(lit(id.to_owned())))
            .fill_null(lit(false));
        let base = self
            .table(ControlEvent::NAME, None)?
            .filter(held.clone())
            .collect()?;
        let destinations = crate::detect::destinations::Destinations::from_events(
            &ControlEvent::from_frame(&base)?,
            None,
        );
        // The other changes, by position: only the columns that name their resource.
        let parts = store.parts(ControlEvent::NAME, None);
        let others = col("kind").eq(lit("tampering")).and(held.not());
        let named = ["event_source", "resource", "kms_key", "account", "region"];
        let df = store.positions(ControlEvent::NAME, &parts, others.clone(), &named)?;
        let text = |c: &str| df.column(c).and_then(|c| c.str().cloned());
        let (source, resource, key, account, region) = (
            text("event_source")?,
            text("resource")?,
            text("kms_key")?,
            text("account")?,
            text("region")?,
        );
        let mut at: Vec<(u32, IdxSize)> = Vec::new();
        let places = df.column("part")?.u32()?.into_no_null_iter();
        let rows = df.column("row")?.idx()?.into_no_null_iter();
        for (n, (part, row)) in places.zip(rows).enumerate() {
            let e = ControlEvent {
                event_source: source.get(n).map(str::to_owned),
                resource: resource.get(n).map(str::to_owned),
                kms_key: key.get(n).map(str::to_owned),
                ..ControlEvent::default()
            };
            let Some((kind, name)) = crate::detect::destinations::Destinations::resource_of(&e)
            else {
                continue;
            };
            if !destinations
                .users_of(kind, account.get(n), region.get(n), &name)
                .is_empty()
            {
                at.push((part, row));
            }
        }
        let changes = match store.rows_at(ControlEvent::NAME, &parts, at)? {
            Some(rows) => rows,
            // Scattered over many runs: every change, as before.
            None => self.table(ControlEvent::NAME, None)?.filter(others),
        };
        Ok(concat([base.lazy(), changes], UnionArgs::default())?.sort(
            ["event_time", "event_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        ))
    }

    /// The rows of a table that carry one of some session ids, within `days` (all when
    /// `None`): [`Store::scan_sessions`] for a store.
    pub(crate) fn sessions_rows(
        &self,
        table: &str,
        ids: &[String],
        days: Option<&Days>,
    ) -> PolarsResult<LazyFrame> {
        match &self.source {
            Source::Store(s) => s.scan_sessions(table, ids, days),
            Source::Frames(_) => crate::store::keep_sessions(self.table(table, days)?, ids),
        }
    }

    /// Runs a query; when it fails on a damaged store part, names the part, sets it aside and
    /// runs the query again over the others.
    pub fn collect(
        &self,
        damage: &mut Damage,
        build: impl Fn(&Dataset) -> PolarsResult<LazyFrame>,
    ) -> anyhow::Result<DataFrame> {
        match build(self).and_then(LazyFrame::collect) {
            Ok(df) => Ok(df),
            Err(e) => {
                let Source::Store(s) = &self.source else {
                    return Err(e.into());
                };
                let bad = s.exclude_unreadable();
                if bad.is_empty() {
                    // Every part reads: the query itself failed (SQL naming something polars
                    // lacks, a type error), not the store.
                    return Err(e.into());
                }
                damage.parts.extend(bad);
                build(self)
                    .and_then(LazyFrame::collect)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("reading the store at {}", s.root().display()))
            }
        }
    }

    /// A SQL context with every table and view registered lazily, plus `extra` frames (the
    /// findings, when a command computed them).
    pub fn sql_with(&self, f: &Filter, extra: Vec<(&str, DataFrame)>) -> PolarsResult<SQLContext> {
        let ctx = self.sql(f)?;
        for (name, df) in extra {
            ctx.register(name, df.lazy());
        }
        Ok(ctx)
    }

    /// A SQL context with every table and view registered lazily.
    pub fn sql(&self, f: &Filter) -> PolarsResult<SQLContext> {
        let ctx = SQLContext::new();
        for t in crate::store::tables() {
            let days = if t.name == ExecEvent::NAME || t.name == ControlEvent::NAME {
                filter::event_days(f)
            } else {
                filter::transcript_days(f)
            };
            ctx.register(t.name, self.table(t.name, days.as_ref())?);
        }
        ctx.register("sessions", self.sessions(f)?);
        ctx.register("attempts", self.attempts(f)?);
        Ok(ctx)
    }
}

impl Dataset {
    /// Every finding over the whole history (first use, probing and logging state need it),
    /// as a frame of [`crate::model::Finding`]. Commands are matched one store part at a time,
    /// so memory follows a part, not the store.
    pub fn findings(
        &self,
        detector: &crate::detect::Detector,
        damage: &mut Damage,
    ) -> anyhow::Result<DataFrame> {
        use crate::detect::{CommandBatch, DetectInput, Run};
        use crate::model::{Finding, Session};
        let exec =
            ExecEvent::from_frame(&self.collect(damage, |d| d.table(ExecEvent::NAME, None))?)?;
        crate::trace::stage("findings: exec events");
        let control = ControlEvent::from_frame(
            &self.collect(damage, |d| d.table(ControlEvent::NAME, None))?,
        )?;
        crate::trace::stage("findings: control events");
        let sessions =
            Session::from_frame(&self.collect(damage, |d| d.sessions(&Filter::default()))?)?;
        crate::trace::stage("findings: sessions");
        let transcripts = TranscriptRow::from_frame(&self.collect(damage, |d| {
            Ok(d.table(TranscriptRow::NAME, None)?
                .with_column(lit(NULL).cast(DataType::String).alias("text")))
        })?)?;
        let input = DetectInput {
            exec: &exec,
            control: &control,
            sessions: &sessions,
            transcripts: &transcripts,
        };
        crate::trace::stage("findings: events, sessions and transcripts read");
        let mut run = Run::new(detector, &input);
        crate::trace::stage("findings: session and event checks");
        let columns = [
            col("session_id"),
            col("seq"),
            col("time"),
            col("command"),
            col("abandoned"),
            col("program_input"),
        ];
        match &self.source {
            Source::Store(s) => {
                for part in s.parts(CommandRow::NAME, None) {
                    let one = s
                        .scan_part(CommandRow::NAME, &part)
                        .and_then(|lf| lf.select(columns.clone()).collect());
                    match one {
                        Ok(df) => run.commands(&CommandBatch::from_frame(&df)?),
                        Err(e) => damage.parts.push((part, e.to_string())),
                    }
                }
            }
            Source::Frames(_) => {
                let df = self
                    .table(CommandRow::NAME, None)?
                    .select(columns)
                    .collect()?;
                run.commands(&CommandBatch::from_frame(&df)?);
            }
        }
        crate::trace::stage("findings: commands matched");
        Ok(Finding::to_frame(&run.finish())?)
    }

    /// The findings of one session, and its row of the sessions view (none when no
    /// `ExecuteCommand` opened it): the whole history's findings about it, worked out over its
    /// [`Dataset::session_slice`] (which holds every row they depend on).
    pub fn session_findings(
        &self,
        detector: &crate::detect::Detector,
        damage: &mut Damage,
        session: &str,
    ) -> anyhow::Result<(DataFrame, DataFrame)> {
        if let Source::Store(_) = self.source {
            let slice = self.session_slice(damage, session, false)?;
            let none = || Dataset::from_rows(&[], &[], &[], &[]);
            return slice
                .map_or_else(none, Ok)?
                .session_findings(detector, damage, session);
        }
        let own = || col("session_id").eq(lit(session.to_owned()));
        let all = self
            .findings(detector, damage)?
            .lazy()
            .filter(own())
            .collect()?;
        let f = Filter {
            session: Some(session.to_owned()),
            ..Filter::default()
        };
        let row = self.collect(damage, |d| d.sessions(&f))?;
        Ok((all, row))
    }
}

fn day_start(day: &str) -> Option<Timestamp> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Timestamp(d.and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests;

//! The dataset: the one source every analysis reads, whether the tables come from the store
//! (lazy Parquet scans) or from a one-shot scan held in memory (`audit`).
//!
//! Base tables (`exec_events`, `control_events`, `transcripts`, `commands`) are polars
//! `LazyFrame`s; the views built on them ([`views`]: sessions, attempts, control events,
//! commands with who and where, search, orphan transcripts) are polars queries too, so filters
//! run inside the scans and only the days, columns and row groups a question needs are read.
//! `query` registers the same frames for SQL.

pub mod filter;
mod search;
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
        let mut m = HashMap::new();
        m.insert(ExecEvent::NAME, ExecEvent::to_frame(exec)?);
        m.insert(ControlEvent::NAME, ControlEvent::to_frame(control)?);
        m.insert(TranscriptRow::NAME, TranscriptRow::to_frame(transcripts)?);
        m.insert(CommandRow::NAME, CommandRow::to_frame(commands)?);
        Ok(Dataset {
            source: Source::Frames(m),
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
                Ok(lf)
            }
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
                    return Err(anyhow::Error::from(e)
                        .context(format!("reading the store at {}", s.root().display())));
                }
                damage.parts.extend(bad);
                build(self)
                    .and_then(LazyFrame::collect)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("reading the store at {}", s.root().display()))
            }
        }
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

fn day_start(day: &str) -> Option<Timestamp> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Timestamp(d.and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests;

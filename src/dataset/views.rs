//! The views every command answers from, as polars queries over the base tables.
//!
//! - **sessions**: one row per session id (the earliest successful, non-dry-run
//!   `ExecuteCommand`), joined to its transcript's status, end, duration and command count.
//! - **attempts**: failed `ExecuteCommand` calls.
//! - **commands**: every reconstructed command with its session's who and where. Commands are
//!   filed by their transcript's day, so a filter on who or where first finds the sessions
//!   (small), then reads only their transcripts' days, with the session ids pushed into the
//!   scan. A transcript no `ExecuteCommand` opened (an orphan) has commands too: they pass a
//!   filter that names no principal or target when their own time does.

use polars::prelude::*;

use super::filter::{self, event_days, exec_expr, transcript_days};
use super::Dataset;
use crate::config::Filter;
use crate::model::{Attempt, CommandHit, ControlEvent, ExecEvent, Session, Table, TranscriptRow};
use crate::store::Days;

/// The columns of a table declaration, in order.
pub fn columns_of<T: Table>() -> Vec<Expr> {
    T::columns().iter().map(|c| col(c.name)).collect()
}

fn when_some(e: Option<Expr>) -> Expr {
    e.unwrap_or(lit(true))
}

fn sort(lf: LazyFrame, by: &[&str]) -> LazyFrame {
    lf.sort(
        by.to_vec(),
        SortMultipleOptions::default().with_maintain_order(true),
    )
}

pub(super) fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect())
}

fn series(name: &str, values: &[String]) -> Series {
    Series::new(name.into(), values)
}

impl Dataset {
    /// Successful sessions, one per id (the earliest event), matching the filter.
    fn session_events(&self, f: &Filter) -> PolarsResult<LazyFrame> {
        let ok = col("outcome")
            .eq(lit("success"))
            .and(col("dry_run").fill_null(lit(false)).not())
            .and(col("session_id").is_not_null());
        Ok(sort(
            self.table(ExecEvent::NAME, event_days(f).as_ref())?
                .filter(ok.and(when_some(exec_expr(f)))),
            &["event_time", "event_id"],
        )
        .unique_stable(Some(cols(["session_id"])), UniqueKeepStrategy::First))
    }

    /// The transcripts of sessions, without text, that views read (copies and superseded
    /// uploads left out: see [`super::copies`]), with how many remain per session.
    fn live_transcripts(
        &self,
        days: Option<&Days>,
        sessions: Option<&[String]>,
    ) -> PolarsResult<LazyFrame> {
        let mut t = match sessions {
            Some(ids) => self.sessions_rows(TranscriptRow::NAME, ids, days)?,
            None => self.table(TranscriptRow::NAME, days)?,
        };
        if let Some(keep) = self.not_left_out(col("transcript_id"))? {
            t = t.filter(keep);
        }
        Ok(t.filter(col("session_id").is_not_null())
            .select([
                col("session_id"),
                col("transcript_id"),
                col("time"),
                col("status"),
                col("header_time"),
                col("footer_time"),
                col("uploaded"),
                col("shell"),
                col("commands"),
                col("commands_run"),
                col("source"),
            ])
            .with_column(
                len()
                    .over([col("session_id")])?
                    .cast(DataType::Int64)
                    .alias("copies"),
            ))
    }

    /// A filter keeping rows whose transcript id (`id`) the views read; `None` when nothing is
    /// left out (the usual case: no filter at all).
    fn not_left_out(&self, id: Expr) -> PolarsResult<Option<Expr>> {
        let left_out = &self.resolution()?.left_out;
        Ok((!left_out.is_empty()).then(|| {
            id.is_in(lit(series("left_out", left_out)).implode(false), false)
                .not()
        }))
    }

    /// The id of the transcript a session's row describes (when several carry its id: the
    /// one at the cluster's configured destination, else the most complete and earliest), as
    /// a frame of one `transcript_id` column (no row without a transcript).
    pub fn described_transcript(&self, session: &str) -> PolarsResult<LazyFrame> {
        let f = Filter {
            session: Some(session.to_owned()),
            ..Filter::default()
        };
        let events = self.session_events(&f)?;
        let ids = [session.to_owned()];
        Ok(self
            .transcript_summary(None, Some(&ids), events)?
            .select([col("transcript_id")]))
    }

    /// Every transcript of one session the views read (copies and superseded uploads left
    /// out), with its text or not.
    pub fn session_transcripts(&self, session: &str, with_text: bool) -> PolarsResult<LazyFrame> {
        let mut t = self
            .table(TranscriptRow::NAME, None)?
            .filter(col("session_id").eq(lit(session.to_owned())));
        if let Some(keep) = self.not_left_out(col("transcript_id"))? {
            t = t.filter(keep);
        }
        if !with_text {
            t = t.with_column(lit(NULL).cast(DataType::String).alias("text"));
        }
        Ok(sort(t, &["transcript_id"]))
    }

    /// One transcript per session id, without its text: the one at the cluster's configured
    /// exec-logging destination (S3 `bucket/prefix` or log group in its source) when the trail
    /// shows one, else the most complete, earliest uploaded. `status` is `conflicting` when
    /// transcripts with different commands carry the session id.
    fn transcript_summary(
        &self,
        days: Option<&Days>,
        ids: Option<&[String]>,
        sessions: LazyFrame,
    ) -> PolarsResult<LazyFrame> {
        // A filter that kept sessions resolves only their transcripts (copies are counted per
        // session, so the count stays whole).
        let t = self.live_transcripts(days, ids)?;
        // Where each session's cluster sent transcripts when it started: the last logging
        // configuration of its account and cluster before it.
        let config = self
            .table(ControlEvent::NAME, None)?
            .filter(col("kind").eq(lit("exec_logging")))
            .select([
                col("account"),
                col("cluster"),
                col("event_time").alias("config_time"),
                col("exec_s3_bucket"),
                col("exec_s3_prefix"),
                col("exec_log_group"),
            ]);
        let dest = sessions
            .select([
                col("session_id"),
                col("account"),
                col("cluster"),
                col("event_time"),
            ])
            .join(
                config,
                [col("account"), col("cluster")],
                [col("account"), col("cluster")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("config_time").lt_eq(col("event_time")))
            .sort(
                ["session_id", "config_time"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .unique_stable(Some(cols(["session_id"])), UniqueKeepStrategy::Last)
            .select([
                col("session_id"),
                col("exec_s3_bucket"),
                col("exec_s3_prefix"),
                col("exec_log_group"),
            ]);
        let s3_place = concat_str(
            [
                col("exec_s3_bucket"),
                lit("/"),
                col("exec_s3_prefix")
                    .fill_null(lit(""))
                    .str()
                    .strip_chars_end(lit("/")),
            ],
            "",
            false,
        );
        let at_destination = col("exec_s3_bucket")
            .is_not_null()
            .and(col("source").str().contains_literal(s3_place))
            .or(col("exec_log_group")
                .is_not_null()
                .and(col("source").str().contains_literal(col("exec_log_group"))))
            .fill_null(lit(false));
        let completeness = when(col("status").eq(lit("present")))
            .then(lit(0i32))
            .when(col("status").eq(lit("truncated")))
            .then(lit(1i32))
            .when(col("status").eq(lit("empty")))
            .then(lit(2i32))
            .otherwise(lit(3i32));
        let ranked = t
            .join(
                dest,
                [col("session_id")],
                [col("session_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns([
                at_destination.not().alias("elsewhere"),
                completeness.alias("completeness"),
                coalesce(&[col("uploaded"), col("time")]).alias("arrived"),
            ]);
        Ok(sort(
            ranked,
            &[
                "session_id",
                "elsewhere",
                "completeness",
                "arrived",
                "transcript_id",
            ],
        )
        .unique_stable(Some(cols(["session_id"])), UniqueKeepStrategy::First)
        .select([
            col("session_id"),
            col("transcript_id"),
            col("time").alias("transcript_time"),
            when(col("copies").gt(lit(1i64)))
                .then(lit("conflicting"))
                .otherwise(col("status"))
                .alias("status"),
            col("header_time"),
            col("footer_time"),
            col("uploaded"),
            col("shell"),
            col("commands").alias("transcript_commands"),
            col("commands_run"),
            col("copies").alias("transcripts"),
        ]))
    }

    /// The sessions view (columns of [`Session`]).
    pub fn sessions(&self, f: &Filter) -> PolarsResult<LazyFrame> {
        // Not `.cache()`d: a cached subplan is not optimised, and the filter would stay out of
        // the scan (polars' own common-subplan elimination caches it after pushdown).
        let mut events = self.session_events(f)?;
        let narrowed = f.session.is_none() && filter::target_expr(f, true).is_some();
        // One session, or the few a filter on who or where keeps: their ids first (a small
        // query), then only their transcripts' rows.
        let ids = match &f.session {
            Some(s) => Some(vec![s.clone()]),
            None if narrowed => {
                let df = events.collect()?;
                let ids = strings(&df, "session_id")?;
                events = df.lazy();
                Some(ids)
            }
            None => None,
        };
        let t =
            self.transcript_summary(transcript_days(f).as_ref(), ids.as_deref(), events.clone())?;
        let end = coalesce(&[col("footer_time"), col("header_time"), col("uploaded")]);
        let joined = events
            .left_join(t, col("session_id"), col("session_id"))
            .with_columns([
                col("event_time").alias("start_time"),
                col("status")
                    .fill_null(lit("missing"))
                    .alias("transcript_status"),
                end.clone().alias("end_time"),
                ((end.cast(DataType::Int64) - col("event_time").cast(DataType::Int64))
                    / lit(1000i64))
                .alias("duration_s"),
                when(col("status").is_not_null())
                    .then(coalesce(&[col("commands_run"), col("transcript_commands")]))
                    .otherwise(lit(NULL).cast(DataType::Int64))
                    .alias("commands"),
                col("transcripts").fill_null(lit(0i64)),
            ]);
        Ok(sort(
            joined.select(columns_of::<Session>()),
            &["start_time", "session_id"],
        ))
    }

    /// Failed `ExecuteCommand` calls (columns of [`Attempt`]).
    pub fn attempts(&self, f: &Filter) -> PolarsResult<LazyFrame> {
        let lf = self.table(ExecEvent::NAME, event_days(f).as_ref())?.filter(
            col("outcome")
                .eq(lit("failed"))
                .and(when_some(exec_expr(f))),
        );
        Ok(sort(
            lf.with_column(likely_cause())
                .select(columns_of::<Attempt>()),
            &["event_time", "event_id"],
        ))
    }

    /// Control events, optionally of one kind.
    pub fn control(&self, f: &Filter, kind: Option<&str>) -> PolarsResult<LazyFrame> {
        let mut lf = self
            .table(ControlEvent::NAME, event_days(f).as_ref())?
            .filter(when_some(filter::control_expr(f)));
        if let Some(k) = kind {
            lf = lf.filter(col("kind").eq(lit(k.to_owned())));
        }
        Ok(sort(lf, &["event_time", "event_id"]))
    }

    /// Transcripts whose session id no `ExecuteCommand` opened (any outcome), without text.
    pub fn orphans(&self, f: &Filter) -> PolarsResult<LazyFrame> {
        let known = self
            .table(ExecEvent::NAME, None)?
            .select([col("session_id")])
            .filter(col("session_id").is_not_null())
            .unique(None, UniqueKeepStrategy::Any);
        // Who and where name no orphan (no `ExecuteCommand` says them); when is its time.
        let keep = if f.names_a_target() {
            lit(false)
        } else {
            let mut keep = when_some(filter::time_expr(f, "time"));
            if let Some(s) = &f.session {
                keep = keep.and(col("session_id").eq(lit(s.clone())));
            }
            keep
        };
        let t = self
            .table(TranscriptRow::NAME, transcript_days(f).as_ref())?
            .filter(keep)
            .with_column(lit(NULL).cast(DataType::String).alias("text"));
        Ok(sort(
            t.join(
                known,
                [col("session_id")],
                [col("session_id")],
                JoinArgs::new(JoinType::Anti),
            ),
            &["time", "transcript_id"],
        ))
    }

    /// The sessions a filter selects, with who and where: what commands are joined to.
    pub(super) fn session_context(&self, f: &Filter) -> PolarsResult<DataFrame> {
        self.session_events(f)?
            .select(
                [col("session_id"), col("event_time").alias("start_time")]
                    .into_iter()
                    .chain(who_where())
                    .collect::<Vec<_>>(),
            )
            .collect()
    }

    /// Every session id an `ExecuteCommand` names (any outcome).
    fn known_sessions(&self) -> PolarsResult<Vec<String>> {
        let df = self
            .table(ExecEvent::NAME, None)?
            .select([col("session_id")])
            .filter(col("session_id").is_not_null())
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        strings(&df, "session_id")
    }

    /// Rows of a table filed by transcript time (transcripts, commands) that belong to what
    /// the filter selects, each with its session's who and where (`start_time` and the
    /// rest), plus `time_of_row` for sorting. `extra` narrows the scan (a search pattern).
    pub(super) fn restrict(
        &self,
        table: &str,
        f: &Filter,
        ctx: &DataFrame,
        extra: Option<Expr>,
    ) -> PolarsResult<LazyFrame> {
        let days = self.restricted_days(f, ctx)?;
        self.restrict_within(table, f, ctx, extra, days.as_ref())
    }

    /// The days of the store a restriction of `f` reads ([`Dataset::restrict`]): those of the
    /// transcripts of the session it names or of the sessions it selects by who or where,
    /// else those of its window; `None`: every day.
    fn restricted_days(&self, f: &Filter, ctx: &DataFrame) -> PolarsResult<Option<Days>> {
        if let Some(s) = &f.session {
            return self.days_of_sessions(std::slice::from_ref(s));
        }
        if f.names_a_target() {
            let ids = strings(ctx, "session_id")?;
            if !ids.is_empty() {
                return self.days_of_sessions(&ids);
            }
        }
        Ok(transcript_days(f))
    }

    /// The days of the store's `table` a restriction of `f` reads, first to last, in runs of
    /// consecutive days whose parts hold `bytes` at most (a day alone when it holds more): a
    /// query a run holds a run's rows at most. One `None` (every row) when the rows are held
    /// in memory; one range holding no day when the restriction reads none.
    pub(super) fn days_to_read(
        &self,
        table: &str,
        f: &Filter,
        ctx: &DataFrame,
        bytes: u64,
    ) -> PolarsResult<Vec<Option<Days>>> {
        let Some(store) = self.store() else {
            return Ok(vec![None]);
        };
        let read = self.restricted_days(f, ctx)?;
        let mut runs: Vec<(Days, u64)> = Vec::new();
        for (day, size) in store.day_sizes(table) {
            if read.as_ref().is_some_and(|r| !r.contains(&day)) {
                continue;
            }
            match runs.last_mut() {
                Some((run, held)) if *held + size <= bytes => {
                    run.last = day;
                    *held += size;
                }
                _ => runs.push((
                    Days {
                        first: day.clone(),
                        last: day,
                    },
                    size,
                )),
            }
        }
        if runs.is_empty() {
            return Ok(vec![Some(Days {
                first: "9".into(),
                last: "0".into(),
            })]);
        }
        Ok(runs.into_iter().map(|(d, _)| Some(d)).collect())
    }

    /// [`Dataset::restrict`] reading the store's `days` only (all when `None`), which
    /// [`Dataset::restricted_days`] or [`Dataset::days_to_read`] settled.
    pub(super) fn restrict_within(
        &self,
        table: &str,
        f: &Filter,
        ctx: &DataFrame,
        extra: Option<Expr>,
        days: Option<&Days>,
    ) -> PolarsResult<LazyFrame> {
        let ids = strings(ctx, "session_id")?;
        let narrow = f.names_a_target();
        let mut lf = if let Some(s) = &f.session {
            self.sessions_rows(table, std::slice::from_ref(s), days)?
        } else if narrow && ids.is_empty() {
            // No session is who or where the filter says: no rows, in the same columns as
            // any other answer (`time_of_row` included, which the caller sorts by).
            self.table(table, None)?.filter(lit(false))
        } else if narrow {
            self.sessions_rows(table, &ids, days)?
        } else {
            let lf = self.table(table, days)?;
            match filter::time_expr(f, "time") {
                // A time window: what the join below keeps is the rows of the window's
                // sessions and orphans filed in the window; said in the scan, it reads those
                // rows only, not every row of the days the window's transcripts may lie in
                // (an hour's commands: 970 MB).
                Some(window) if ids.len() <= crate::store::MAX_LISTED => {
                    lf.filter(match ids.as_slice() {
                        [] => window,
                        _ => col("session_id")
                            .is_in(lit(series("ids", &ids)).implode(false), false)
                            .fill_null(lit(false))
                            .or(window),
                    })
                }
                _ => lf,
            }
        };
        let id = if table == crate::model::CommandRow::NAME {
            coalesce(&[col("transcript_id"), col("session_id")])
        } else {
            col("transcript_id")
        };
        if let Some(keep) = self.not_left_out(id)? {
            lf = lf.filter(keep);
        }
        if let Some(e) = extra {
            lf = lf.filter(e);
        }
        let mut joined = lf.join(
            ctx.clone().lazy(),
            [col("session_id")],
            [col("session_id")],
            JoinArgs::new(JoinType::Left),
        );
        // A named session alone is all of its rows, orphan or not; with who, where or when
        // beside it, those hold as well (they were ignored, and the rows came back without
        // their session's who and where).
        let windowed = f.since.is_some() || f.until.is_some();
        if f.session.is_none() || narrow || windowed {
            let matched = col("start_time").is_not_null();
            joined = if narrow {
                joined.filter(matched)
            } else {
                let known = self.known_sessions()?;
                let orphan = col("session_id")
                    .is_in(lit(series("known", &known)).implode(false), false)
                    .fill_null(lit(false))
                    .not()
                    .and(when_some(filter::time_expr(f, "time")));
                joined.filter(matched.or(orphan))
            };
        }
        Ok(joined.with_column(coalesce(&[col("start_time"), col("time")]).alias("time_of_row")))
    }

    /// The transcript days of some sessions (a lookup in the small transcripts columns); see
    /// [`days_of_times`].
    fn days_of_sessions(&self, ids: &[String]) -> PolarsResult<Option<Days>> {
        let df = crate::store::keep_sessions(
            self.table(TranscriptRow::NAME, None)?
                .select([col("session_id"), col("time")]),
            ids,
        )?
        .select([col("time")])
        .collect()?;
        days_of_times(&df)
    }

    /// Reconstructed commands with who, when and where (columns of [`CommandHit`]).
    pub fn commands(&self, f: &Filter) -> PolarsResult<LazyFrame> {
        let ctx = self.session_context(f)?;
        Ok(hits(
            self.restrict(crate::model::CommandRow::NAME, f, &ctx, None)?,
            "command",
        ))
    }

    /// [`Dataset::commands`] a day of the store at a time, in order: the rows of the whole,
    /// in its order (a command's time is its transcript's, which sets the day it is stored
    /// under), without ever holding them all. One query when the rows are held in memory.
    pub fn commands_by_day(&self, f: &Filter) -> PolarsResult<Vec<LazyFrame>> {
        if self.store().is_none() {
            return Ok(vec![self.commands(f)?]);
        }
        let ctx = self.session_context(f)?;
        self.days_to_read(crate::model::CommandRow::NAME, f, &ctx, 0)?
            .into_iter()
            .map(|days| {
                let lf = self.restrict_within(
                    crate::model::CommandRow::NAME,
                    f,
                    &ctx,
                    None,
                    days.as_ref(),
                )?;
                Ok(hits(lf, "command"))
            })
            .collect()
    }
}

/// The `likely_cause` column of attempts: [`crate::detect::cause::failed_attempt`] over
/// `error_code` and `error_message` (issue 8: the report's failed attempts and `attempts`).
fn likely_cause() -> Expr {
    col("error_code")
        .map_many(
            |cols: &mut [Column]| {
                let codes = cols[0].str()?;
                let messages = cols[1].str()?;
                let out: StringChunked = codes
                    .iter()
                    .zip(messages.iter())
                    .map(|(c, m)| {
                        Some(crate::detect::cause::failed_attempt(
                            c.unwrap_or(""),
                            m.unwrap_or(""),
                        ))
                    })
                    .collect();
                Ok(out.with_name("likely_cause".into()).into_column())
            },
            &[col("error_message")],
            |_, _| Ok(Field::new("likely_cause".into(), DataType::String)),
        )
        .alias("likely_cause")
}

/// The day partitions that hold rows filed under the `time`s of a frame's `time` column
/// (transcripts; their commands are filed under the same time): an empty range when there are
/// none, every day (`None`) when one lies outside the years 0000-9999 (filed under `invalid`,
/// which a range of dates does not hold).
pub(super) fn days_of_times(df: &DataFrame) -> PolarsResult<Option<Days>> {
    let times = df
        .column("time")?
        .as_materialized_series()
        .cast(&DataType::Int64)?;
    let times = times.i64()?;
    let (Some(first), Some(last)) = (times.min(), times.max()) else {
        return Ok(Some(Days {
            first: "9999-99-99".into(),
            last: "0000-00-00".into(),
        }));
    };
    let (first, last) = (
        crate::model::Timestamp(first).day(),
        crate::model::Timestamp(last).day(),
    );
    let dated = |d: &str| d.as_bytes().first().is_some_and(u8::is_ascii_digit);
    let both_dated = dated(&first) && dated(&last);
    Ok(both_dated.then_some(Days { first, last }))
}

/// A session's who and where, as [`Dataset::session_context`] gives them.
pub(super) fn who_where() -> [Expr; 6] {
    [
        "principal",
        "account",
        "region",
        "cluster",
        "task_id",
        "container",
    ]
    .map(col)
}

/// Commands joined by [`Dataset::restrict`] -> the [`CommandHit`] columns, sorted.
pub(super) fn hits(lf: LazyFrame, found_in: &str) -> LazyFrame {
    let flag = |c: &str, name: &str| {
        when(col(c).fill_null(lit(false)))
            .then(lit(name.to_owned()))
            .otherwise(lit(NULL).cast(DataType::String))
    };
    let flags = concat_str(
        [
            flag("abandoned", "abandoned"),
            flag("edited", "edited"),
            flag("pasted", "pasted"),
            flag("multi_line", "multi-line"),
            flag("full_screen", "full-screen"),
            flag("program_input", "program-input"),
            flag("alternate_screen", "alternate-screen"),
        ],
        ",",
        true,
    );
    let lf = lf.with_columns([
        col("time_of_row").alias("time"),
        lit(found_in.to_owned()).alias("found_in"),
        when(flags.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(flags)
            .alias("flags"),
    ]);
    sort(
        lf.select(columns_of::<CommandHit>()),
        &["time", "session_id", "seq"],
    )
}

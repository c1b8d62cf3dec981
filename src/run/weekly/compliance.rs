//! The `compliance` table: each session of a period against the break-glass policy (scope,
//! break-glass or not, inside or outside, the checks it broke, the reason found), from
//! [`Detector::compliance`]. The report's section 2 reads it through SQL, and `query` offers
//! it when the SQL names it, so `queries/reports/breakglass*.sql` run by hand too.

use polars::prelude::*;

use crate::config::Filter;
use crate::dataset::{Damage, Dataset};
use crate::detect::{DetectInput, Detector};
use crate::model::{ExecEvent, Session, Table};

crate::table! {
    /// One session against the break-glass policy (`--policy`; empty without one).
    pub struct ComplianceRow("compliance") {
        /// The session (join to `sessions.session_id`).
        session_id: Option<String>,
        /// The policy scope that applied: `default` or a `[[scope]]`'s `environment`.
        environment: Option<String>,
        /// The session used a break-glass role or permission set.
        breakglass: Option<bool>,
        /// The session broke none of the scope's rules (inside the policy).
        allowed: Option<bool>,
        /// The ids of the checks it broke, comma-separated (`exec-outside-breakglass`, ...).
        violations: Option<String>,
        /// The facts behind each broken check, `; `-separated (redacted on output).
        violation_detail: Option<String>,
        /// The reason found: the text the scope's `reason` pattern matched (redacted on output).
        reason: Option<String>,
    }
}

/// The columns of `exec_events` the policy reads (with those that select session events).
pub const EXEC_COLUMNS: &[&str] = &[
    "event_id",
    "event_time",
    "outcome",
    "session_id",
    "source_identity",
    "principal_arn",
];

/// The compliance rows of the sessions `f` selects (no rows without a policy).
pub fn frame(
    data: &Dataset,
    detector: &Detector,
    f: &Filter,
    damage: &mut Damage,
) -> anyhow::Result<DataFrame> {
    if detector.policy().is_none() {
        return Ok(ComplianceRow::to_frame(&[])?);
    }
    let sessions = data.collect(damage, |d| d.sessions(f))?;
    let exec = exec_frame(data, f, damage)?;
    frame_of(detector, &sessions, &exec)
}

/// The [`EXEC_COLUMNS`] of the `ExecuteCommand` events within `f`'s time bounds: what the
/// policy reads beyond the sessions view.
pub fn exec_frame(data: &Dataset, f: &Filter, damage: &mut Damage) -> anyhow::Result<DataFrame> {
    let days = crate::dataset::filter::event_days(f);
    data.collect(damage, |d| {
        Ok(d.table(ExecEvent::NAME, days.as_ref())?
            .filter(crate::dataset::filter::time_expr(f, "event_time").unwrap_or(lit(true)))
            .select(EXEC_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>()))
    })
}

/// The compliance rows of `sessions` (a frame of the sessions view), their `ExecuteCommand`
/// events among `exec` (a frame of `exec_events` with at least [`EXEC_COLUMNS`]; other rows
/// are passed over).
pub fn frame_of(
    detector: &Detector,
    sessions: &DataFrame,
    exec: &DataFrame,
) -> anyhow::Result<DataFrame> {
    if detector.policy().is_none() {
        return Ok(ComplianceRow::to_frame(&[])?);
    }
    let sessions = Session::from_frame(sessions)?;
    crate::trace::stage("compliance: sessions");
    let exec = ExecEvent::from_frame(
        &exec
            .clone()
            .lazy()
            .filter(
                col("outcome")
                    .eq(lit("success"))
                    .and(col("session_id").is_not_null()),
            )
            .collect()?,
    )?;
    crate::trace::stage("compliance: exec events");
    let input = DetectInput {
        exec: &exec,
        control: &[],
        sessions: &sessions,
        transcripts: &[],
    };
    let disabled = |id: &str| detector.policy().is_some_and(|p| p.is_disabled(id));
    let rows: Vec<ComplianceRow> = detector
        .compliance(&input)
        .into_iter()
        .map(|c| {
            // A check the policy switched off is no violation (as in `findings`).
            let broken: Vec<_> = c
                .violations
                .iter()
                .filter(|(check, _)| !disabled(check.id))
                .collect();
            let ids: Vec<&str> = broken.iter().map(|(check, _)| check.id).collect();
            let facts: Vec<&str> = broken.iter().map(|(_, why)| why.as_str()).collect();
            ComplianceRow {
                session_id: c.session_id,
                environment: Some(c.environment),
                breakglass: Some(c.breakglass),
                allowed: Some(ids.is_empty()),
                violations: (!ids.is_empty()).then(|| ids.join(",")),
                violation_detail: (!facts.is_empty()).then(|| facts.join("; ")),
                reason: c.reason,
            }
        })
        .collect();
    Ok(ComplianceRow::to_frame(&rows)?)
}

//! Builds the weekly report: runs the SQL under `queries/reports/` (compiled in, the same
//! files `execaudit query` runs by hand) over the period's tables, and arranges the results
//! into the sections of [`Weekly`].
//!
//! The period's views are collected once and registered as frames (sessions, attempts,
//! control events bounded exactly by the period, findings of the period, compliance), so the
//! dozen queries do not each rebuild them; commands stay a lazy scan of the period's days.

use anyhow::Context as _;
use polars::prelude::*;

use super::period::{missing_days, Period};
use crate::config::Filter;
use crate::dataset::{filter::time_expr, Damage, Dataset};
use crate::detect::{Detector, Severity};
use crate::model::{ControlEvent, ExecEvent, Table as _, Timestamp};
use crate::report::weekly::{
    c, count, Bar, Chart, Col, Kind, Matrix, Metric, ReportZone, Section, Table, Weekly,
};

/// The report's queries, by name (`queries/reports/<name>.sql`).
pub const QUERIES: &[(&str, &str)] = &[
    q(
        "summary",
        include_str!("../../../queries/reports/summary.sql"),
    ),
    q(
        "sessions-per-day",
        include_str!("../../../queries/reports/sessions-per-day.sql"),
    ),
    q(
        "breakglass-by-scope",
        include_str!("../../../queries/reports/breakglass-by-scope.sql"),
    ),
    q(
        "breakglass",
        include_str!("../../../queries/reports/breakglass.sql"),
    ),
    q(
        "findings-by-rule",
        include_str!("../../../queries/reports/findings-by-rule.sql"),
    ),
    q(
        "findings",
        include_str!("../../../queries/reports/findings.sql"),
    ),
    q(
        "who-where",
        include_str!("../../../queries/reports/who-where.sql"),
    ),
    q(
        "first-seen-pairs",
        include_str!("../../../queries/reports/first-seen-pairs.sql"),
    ),
    q(
        "coverage",
        include_str!("../../../queries/reports/coverage.sql"),
    ),
    q(
        "coverage-gaps",
        include_str!("../../../queries/reports/coverage-gaps.sql"),
    ),
    q(
        "exec-configuration",
        include_str!("../../../queries/reports/exec-configuration.sql"),
    ),
    q(
        "failed-attempts",
        include_str!("../../../queries/reports/failed-attempts.sql"),
    ),
    q(
        "longest-sessions",
        include_str!("../../../queries/reports/longest-sessions.sql"),
    ),
    q(
        "frequent-commands",
        include_str!("../../../queries/reports/frequent-commands.sql"),
    ),
];

const fn q(name: &'static str, sql: &'static str) -> (&'static str, &'static str) {
    (name, sql)
}

fn sql_of(name: &str) -> &'static str {
    QUERIES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, s)| s)
}

/// Rows Markdown and HTML show per table (JSON has them all).
const HUMAN_ROWS: usize = 500;
/// Clusters beyond which who-where is a list rather than a principal × cluster grid.
const MATRIX_COLUMNS: usize = 12;
/// Bars in the coverage chart (the lowest coverage first).
const COVERAGE_BARS: usize = 25;

/// The tables of one period, ready for SQL.
/// How many commands section 8 lists: the `LIMIT` of `queries/reports/frequent-commands.sql`.
const FREQUENT_COMMANDS: usize = 20;

struct Frames {
    filter: Filter,
    frames: Vec<(&'static str, DataFrame)>,
}

impl Frames {
    fn new(data: &Dataset, period: &Period, damage: &mut Damage) -> anyhow::Result<Frames> {
        let f = period.filter();
        let sessions = data.collect(damage, |d| d.sessions(&f))?;
        let attempts = data.collect(damage, |d| d.attempts(&f))?;
        // `query` reads whole UTC days of the base tables; a week in another zone is bounded
        // exactly here.
        let control = data.collect(damage, |d| {
            Ok(d.table(
                ControlEvent::NAME,
                crate::dataset::filter::event_days(&f).as_ref(),
            )?
            .filter(time_expr(&f, "event_time").unwrap_or(lit(true))))
        })?;
        // The report's SQL reads no `exec_events` (the sessions view carries what it needs):
        // a week's events are not held for it.
        let frames = vec![
            ("sessions", sessions),
            ("attempts", attempts),
            ("control_events", control),
        ];
        Ok(Frames { filter: f, frames })
    }

    /// Adds each session's standing against the policy (no rows without one).
    fn add_compliance(
        &mut self,
        data: &Dataset,
        detector: &Detector,
        damage: &mut Damage,
    ) -> anyhow::Result<()> {
        let compliance = match (detector.policy(), self.get("sessions")) {
            (Some(_), Some(sessions)) => {
                let exec = super::compliance::exec_frame(data, &self.filter, damage)?;
                super::compliance::frame_of(detector, sessions, &exec)?
            }
            _ => super::compliance::ComplianceRow::to_frame(&[])?,
        };
        self.frames.push(("compliance", compliance));
        Ok(())
    }

    /// Adds the findings whose time falls in the period.
    fn add_findings(&mut self, all: &DataFrame) -> anyhow::Result<()> {
        let findings = all
            .clone()
            .lazy()
            .filter(time_expr(&self.filter, "time").unwrap_or(lit(true)))
            .collect()?;
        self.frames.push(("findings", findings));
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&DataFrame> {
        self.frames.iter().find(|(n, _)| *n == name).map(|(_, d)| d)
    }

    /// Runs one report query.
    fn run(&self, data: &Dataset, damage: &mut Damage, name: &str) -> anyhow::Result<DataFrame> {
        let sql = sql_of(name);
        data.collect(damage, |d| {
            let mut ctx = d.sql(&self.filter)?;
            for (n, df) in &self.frames {
                ctx.register(n, df.clone().lazy());
            }
            ctx.execute(sql)
        })
        .map_err(|e| e.context(format!("running queries/reports/{name}.sql")))
        .inspect(|_| crate::trace::stage(name))
    }
}

fn int(df: &DataFrame, name: &str, row: usize) -> i64 {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Int64).ok())
        .and_then(|c| c.i64().ok().and_then(|v| v.get(row)))
        .unwrap_or(0)
}

/// A column as whole numbers (0 for nulls and for a missing or non-numeric column), cast once.
fn ints(df: &DataFrame, name: &str) -> Vec<i64> {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Int64).ok())
        .and_then(|c| {
            c.i64()
                .ok()
                .map(|v| v.iter().map(|x| x.unwrap_or(0)).collect())
        })
        .unwrap_or_else(|| vec![0; df.height()])
}

fn floats(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Float64).ok())
        .and_then(|c| {
            c.f64()
                .ok()
                .map(|v| v.iter().map(|x| x.unwrap_or(0.0)).collect())
        })
        .unwrap_or_default()
}

/// A string column as people read it (redacted unless secrets are shown, controls visible).
fn texts(df: &DataFrame, name: &str, show_secrets: bool) -> Vec<String> {
    let Ok(col) = df.column(name) else {
        return vec![String::new(); df.height()];
    };
    crate::report::cells::column_cells(col, 0, df.height(), show_secrets)
        .iter()
        .map(|cell| crate::report::escape::visible(&cell.text(), false).into_owned())
        .collect()
}

/// Numbers of the summary query's one row.
#[derive(Debug, Clone, Copy, Default)]
struct Numbers {
    sessions: i64,
    principals: i64,
    clusters: i64,
    accounts: i64,
    failed_attempts: i64,
    findings: i64,
    by_severity: [i64; 5],
    present: i64,
    incomplete: i64,
    missing: i64,
}

impl Numbers {
    fn of(df: &DataFrame) -> Numbers {
        let g = |n: &str| int(df, n, 0);
        Numbers {
            sessions: g("sessions"),
            principals: g("principals"),
            clusters: g("clusters"),
            accounts: g("accounts"),
            failed_attempts: g("failed_attempts"),
            findings: g("findings"),
            by_severity: [
                g("findings_critical"),
                g("findings_high"),
                g("findings_medium"),
                g("findings_low"),
                g("findings_info"),
            ],
            present: g("transcripts_present"),
            incomplete: g("transcripts_incomplete"),
            missing: g("transcripts_missing"),
        }
    }

    fn coverage(&self) -> Option<f64> {
        (self.sessions > 0)
            .then(|| (1000.0 * self.present as f64 / self.sessions as f64).round() / 10.0)
    }

    fn json(&self) -> serde_json::Value {
        let [critical, high, medium, low, info] = self.by_severity;
        serde_json::json!({
            "sessions": self.sessions,
            "principals": self.principals,
            "clusters": self.clusters,
            "accounts": self.accounts,
            "failed_attempts": self.failed_attempts,
            "findings": self.findings,
            "findings_by_severity": {
                "critical": critical, "high": high, "medium": medium, "low": low, "info": info,
            },
            "transcripts": {
                "present": self.present, "incomplete": self.incomplete, "missing": self.missing,
            },
            "transcript_coverage_pct": self.coverage(),
        })
    }

    fn change(&self, before: &Numbers) -> serde_json::Value {
        let d = |a: i64, b: i64| a - b;
        let [c0, h0, m0, l0, i0] = before.by_severity;
        let [c1, h1, m1, l1, i1] = self.by_severity;
        serde_json::json!({
            "sessions": d(self.sessions, before.sessions),
            "principals": d(self.principals, before.principals),
            "clusters": d(self.clusters, before.clusters),
            "accounts": d(self.accounts, before.accounts),
            "failed_attempts": d(self.failed_attempts, before.failed_attempts),
            "findings": d(self.findings, before.findings),
            "findings_by_severity": {
                "critical": c1 - c0, "high": h1 - h0, "medium": m1 - m0, "low": l1 - l0, "info": i1 - i0,
            },
            "transcript_coverage_pct": match (self.coverage(), before.coverage()) {
                (Some(a), Some(b)) => Some(((a - b) * 10.0).round() / 10.0),
                _ => None,
            },
        })
    }

    fn metrics(&self, before: Option<&Numbers>) -> Vec<Metric> {
        let m = |label, this: i64, prev: Option<i64>| Metric {
            label,
            this: Some(this as f64),
            previous: prev.map(|p| p as f64),
            percent: false,
        };
        let b = |f: fn(&Numbers) -> i64| before.map(f);
        let sev = |i: usize| before.map(|n| n.by_severity[i]);
        vec![
            m("Sessions", self.sessions, b(|n| n.sessions)),
            m("Distinct principals", self.principals, b(|n| n.principals)),
            m("Clusters", self.clusters, b(|n| n.clusters)),
            m("Accounts", self.accounts, b(|n| n.accounts)),
            m(
                "Failed or denied attempts",
                self.failed_attempts,
                b(|n| n.failed_attempts),
            ),
            m("Findings", self.findings, b(|n| n.findings)),
            m("· critical", self.by_severity[0], sev(0)),
            m("· high", self.by_severity[1], sev(1)),
            m("· medium", self.by_severity[2], sev(2)),
            m("· low", self.by_severity[3], sev(3)),
            m("· info", self.by_severity[4], sev(4)),
            Metric {
                label: "Transcript coverage",
                this: self.coverage(),
                previous: before.map(|n| n.coverage().unwrap_or(f64::NAN)),
                percent: true,
            },
        ]
    }
}

/// What the report says about itself.
pub struct Options {
    pub policy: Option<String>,
    pub show_secrets: bool,
    pub generated: Timestamp,
}

/// Sessions per local day, from the per-quarter-hour query.
fn sessions_per_day(df: &DataFrame, period: &Period, zone: &ReportZone) -> Vec<(String, i64)> {
    let days = period.days(zone);
    let mut counts = vec![0i64; days.len()];
    let day_names = texts(df, "day", true);
    let (hours, quarters, n) = (ints(df, "hour"), ints(df, "quarter"), ints(df, "sessions"));
    for i in 0..df.height() {
        let Ok(d) = chrono::NaiveDate::parse_from_str(&day_names[i], "%Y-%m-%d") else {
            continue;
        };
        let Some(midnight) = d.and_hms_opt(0, 0, 0) else {
            continue;
        };
        let t = Timestamp(
            midnight.and_utc().timestamp_millis() + hours[i] * 3_600_000 + quarters[i] * 900_000,
        );
        if let Some(k) = days.iter().position(|d| d.start <= t && t < d.end) {
            counts[k] += n[i];
        }
    }
    days.into_iter().map(|d| d.name).zip(counts).collect()
}

fn day_label(day: &str) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_or_else(|_| day.to_owned(), |d| d.format("%a %d %b").to_string())
}

fn coverage_class(p: f64) -> &'static str {
    if p >= 95.0 {
        "ok"
    } else if p >= 80.0 {
        "warn"
    } else {
        "bad"
    }
}

/// Cluster labels, with the account when a name is used in several accounts.
fn cluster_labels(accounts: &[String], clusters: &[String]) -> Vec<String> {
    clusters
        .iter()
        .zip(accounts)
        .map(|(c, a)| {
            let shared = clusters
                .iter()
                .zip(accounts)
                .any(|(c2, a2)| c2 == c && a2 != a);
            if shared {
                format!("{c} ({a})")
            } else {
                c.clone()
            }
        })
        .collect()
}

fn matrix(df: &DataFrame, show_secrets: bool) -> Option<Matrix> {
    let principals = texts(df, "principal", show_secrets);
    let labels = cluster_labels(
        &texts(df, "account", show_secrets),
        &texts(df, "cluster", show_secrets),
    );
    let sessions = ints(df, "sessions");
    let mut cols: Vec<String> = labels.clone();
    cols.sort();
    cols.dedup();
    if cols.is_empty() || cols.len() > MATRIX_COLUMNS {
        return None;
    }
    let mut rows: Vec<String> = principals.clone();
    rows.sort();
    rows.dedup();
    let mut cells = vec![vec![0i64; cols.len()]; rows.len()];
    for i in 0..df.height() {
        let (Ok(r), Ok(k)) = (
            rows.binary_search(&principals[i]),
            cols.binary_search(&labels[i]),
        ) else {
            continue;
        };
        cells[r][k] += sessions[i];
    }
    // Busiest principals first.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&r| (-cells[r].iter().sum::<i64>(), r));
    Some(Matrix {
        title: "Sessions per principal and cluster".into(),
        corner: "principal".into(),
        rows: order.iter().map(|&r| rows[r].clone()).collect(),
        cols,
        cells: order.iter().map(|&r| cells[r].clone()).collect(),
    })
}

/// Builds the whole report.
#[allow(clippy::too_many_arguments)]
pub fn build(
    data: &Dataset,
    detector: &Detector,
    period: &Period,
    previous: &Period,
    zone: &ReportZone,
    damage: &mut Damage,
    opts: Options,
) -> anyhow::Result<Weekly> {
    let show = opts.show_secrets;
    // The report's largest working sets come one after the other, each freed before the
    // next: detection over the whole history (first use, logging state and probing need it;
    // the periods' findings are those whose time falls in them) before any of the periods'
    // frames is held, then the one pass over every command of the period, then the policy's
    // view of each session.
    let all_findings = data.findings(detector, damage)?;
    // Only the two periods' findings are kept (a long history holds many weeks of them).
    let (a, b) = (period.filter(), previous.filter());
    let all_findings = match (time_expr(&a, "time"), time_expr(&b, "time")) {
        (Some(a), Some(b)) => all_findings.lazy().filter(a.or(b)).collect()?,
        _ => all_findings,
    };
    crate::trace::stage("findings");
    let mut this = Frames::new(data, period, damage)?;
    crate::trace::stage("the period's frames");
    // `frequent-commands.sql`'s answer, one commands part at a time (see `dataset::tally`).
    let frequent = data.frequent_commands(
        this.get("sessions").context("the period's sessions")?,
        crate::dataset::filter::transcript_days(&this.filter).as_ref(),
        FREQUENT_COMMANDS,
        damage,
    )?;
    crate::trace::stage("frequent commands");
    this.add_compliance(data, detector, damage)?;
    crate::trace::stage("compliance");
    let mut before = Frames::new(data, previous, damage)?;
    crate::trace::stage("the previous period's frames");
    this.add_findings(&all_findings)?;
    before.add_findings(&all_findings)?;
    drop(all_findings);

    let stored: Vec<String> = data.store().map_or_else(Vec::new, |s| {
        let mut d = s.days(ExecEvent::NAME);
        d.extend(s.days(ControlEvent::NAME));
        d.sort();
        d.dedup();
        d
    });
    let missing = missing_days(&period.days(zone), &stored);
    let previous_days = previous.days(zone);
    let previous_missing = missing_days(&previous_days, &stored);
    let previous_has_data = previous_missing.len() < previous_days.len();

    let now = Numbers::of(&this.run(data, damage, "summary")?);
    let then = Numbers::of(&before.run(data, damage, "summary")?);
    let per_day = sessions_per_day(&this.run(data, damage, "sessions-per-day")?, period, zone);

    let mut notices = Vec::new();
    let control_rows = this.get("control_events").map_or(0, DataFrame::height);
    let empty =
        now.sessions == 0 && now.failed_attempts == 0 && now.findings == 0 && control_rows == 0;
    if empty {
        notices.push(if missing.len() == period.days(zone).len() {
            "No ECS Exec activity in this period, and the store holds no data for any of its days: ingest the CloudTrail logs of the period first.".to_owned()
        } else {
            "No ECS Exec activity in this period: no sessions, failed attempts, findings or exec configuration changes.".to_owned()
        });
    }
    if !missing.is_empty() && !empty {
        notices.push(format!(
            "{} of the period's {} days have no data in the store (listed below): what happened on them is not in this report.",
            missing.len(),
            period.days(zone).len()
        ));
    }
    if !previous_has_data {
        notices.push(format!(
            "The store holds no data for {}: week-over-week change is not available.",
            previous.label
        ));
    } else if !previous_missing.is_empty() {
        notices.push(format!(
            "{} of the {} days of {} have no data in the store: the comparison with it is partial.",
            previous_missing.len(),
            previous_days.len(),
            previous.label
        ));
    }

    let mut summary = now.json();
    if let serde_json::Value::Object(m) = &mut summary {
        m.insert(
            "sessions_per_day".into(),
            serde_json::Value::Array(
                per_day
                    .iter()
                    .map(|(d, n)| serde_json::json!({"day": d, "sessions": n}))
                    .collect(),
            ),
        );
        m.insert(
            "previous".into(),
            if previous_has_data {
                then.json()
            } else {
                serde_json::Value::Null
            },
        );
        m.insert(
            "change".into(),
            if previous_has_data {
                now.change(&then)
            } else {
                serde_json::Value::Null
            },
        );
    }

    let since = period.since.to_rfc3339();
    let until = period.until.to_rfc3339();
    let range = format!("--since {since} --until {until}");
    let policy_flag = opts
        .policy
        .as_deref()
        .map_or(String::new(), |p| format!(" --policy {p}"));
    let table = |key: &'static str,
                 title: &'static str,
                 query: &'static str,
                 frame: DataFrame,
                 columns: Vec<Col>,
                 empty: &str,
                 more: String| Table {
        key,
        title,
        query,
        frame,
        columns,
        empty: empty.to_owned(),
        limit: HUMAN_ROWS,
        more,
        human: true,
    };

    // 1. Charts.
    let coverage = this.run(data, damage, "coverage")?;
    let cov_labels = cluster_labels(
        &texts(&coverage, "account", show),
        &texts(&coverage, "cluster", show),
    );
    let cov_pct = floats(&coverage, "coverage_pct");
    let cov_sessions = ints(&coverage, "sessions");
    let charts = vec![
        Chart {
            title: "Sessions per day".into(),
            bars: per_day
                .iter()
                .map(|(d, n)| Bar {
                    label: day_label(d),
                    value: *n as f64,
                    text: count(*n),
                    class: "",
                })
                .collect(),
            max: None,
            vertical: true,
            empty: "No days in the period.".into(),
        },
        Chart {
            title: "Findings by severity".into(),
            bars: Severity::ALL
                .iter()
                .rev()
                .zip(now.by_severity)
                .map(|(s, n)| Bar {
                    label: s.as_str().to_owned(),
                    value: n as f64,
                    text: count(n),
                    class: s.as_str(),
                })
                .collect(),
            max: None,
            vertical: false,
            empty: String::new(),
        },
        Chart {
            title: if cov_labels.len() > COVERAGE_BARS {
                format!(
                    "Transcript coverage per cluster ({COVERAGE_BARS} lowest of {})",
                    cov_labels.len()
                )
            } else {
                "Transcript coverage per cluster".into()
            },
            bars: cov_labels
                .iter()
                .zip(&cov_pct)
                .zip(&cov_sessions)
                .take(COVERAGE_BARS)
                .map(|((l, p), n)| Bar {
                    label: l.clone(),
                    value: *p,
                    text: format!("{p:.1}% of {}", count(*n)),
                    class: coverage_class(*p),
                })
                .collect(),
            max: Some(100.0),
            vertical: false,
            empty: "No sessions in the period.".into(),
        },
    ];

    let mut sections = Vec::new();

    // 2. Break-glass compliance.
    let mut notes = Vec::new();
    let by_scope = this.run(data, damage, "breakglass-by-scope")?;
    let all = this.run(data, damage, "breakglass")?;
    let split = |allowed: bool| -> anyhow::Result<DataFrame> {
        Ok(all
            .clone()
            .lazy()
            .filter(col("allowed").eq(lit(allowed)))
            .collect()?)
    };
    let no_policy = "No --policy given: sessions cannot be judged against a break-glass policy (queries/policy.toml is a commented example).";
    if opts.policy.is_none() {
        notes.push(no_policy.to_owned());
    }
    let session_cols = |with_violations: bool| {
        let mut v = vec![
            c("start_time", "started", Kind::Time),
            c("principal", "who", Kind::Text),
            c("role", "role", Kind::Code),
            c("location", "account / cluster / container", Kind::Text),
            c("duration_s", "duration", Kind::Duration),
            c("environment", "scope", Kind::Text),
            c("breakglass", "break-glass", Kind::Flag),
            c("reason", "reason", Kind::Code),
        ];
        if with_violations {
            v.push(c("violations", "broke", Kind::Code));
            v.push(c("violation_detail", "facts", Kind::Text));
        }
        v.push(c("show_command", "open it", Kind::Code));
        v
    };
    let empty_or = |text: &str| {
        if opts.policy.is_none() {
            "No policy given.".to_owned()
        } else {
            text.to_owned()
        }
    };
    sections.push(Section {
        key: "break_glass",
        number: 2,
        title: "Break-glass compliance",
        intro: "Every session against the break-glass policy: who, with which role, where, when, for how long, the reason found, and the command that opens it. Outside the policy means it broke at least one of its scope's rules.".into(),
        notes,
        charts: vec![],
        matrix: None,
        tables: vec![
            table(
                "by_scope",
                "Sessions per policy scope",
                "breakglass-by-scope",
                by_scope,
                vec![
                    c("environment", "scope", Kind::Text),
                    c("sessions", "sessions", Kind::Count),
                    c("breakglass_sessions", "break-glass", Kind::Count),
                    c("inside_policy", "inside", Kind::Count),
                    c("outside_policy", "outside", Kind::Count),
                    c("principals", "principals", Kind::Count),
                ],
                &empty_or("No sessions in the period."),
                String::new(),
            ),
            table(
                "outside_policy",
                "Outside the policy",
                "breakglass",
                split(false)?,
                session_cols(true),
                &empty_or("No session broke the policy."),
                format!("execaudit query queries/reports/breakglass.sql {range}{policy_flag}"),
            ),
            table(
                "inside_policy",
                "Inside the policy",
                "breakglass",
                split(true)?,
                session_cols(false),
                &empty_or("No session inside the policy."),
                format!("execaudit query queries/reports/breakglass.sql {range}{policy_flag}"),
            ),
        ],
    });

    // 3. Findings.
    sections.push(Section {
        key: "findings",
        number: 3,
        title: "Findings",
        intro: "Risky commands typed, sessions outside the policy, and changes that weaken exec logging, most severe first, each with its evidence (secrets redacted) and the session it belongs to.".into(),
        notes: vec![],
        charts: vec![],
        matrix: None,
        tables: vec![
            table(
                "by_rule",
                "Per rule and check",
                "findings-by-rule",
                this.run(data, damage, "findings-by-rule")?,
                vec![
                    c("severity", "severity", Kind::Severity),
                    c("rule_id", "rule or check", Kind::Code),
                    c("title", "what", Kind::Text),
                    c("findings", "findings", Kind::Count),
                    c("sessions", "sessions", Kind::Count),
                    c("principals", "principals", Kind::Count),
                ],
                "No findings in the period.",
                String::new(),
            ),
            table(
                "findings",
                "Every finding",
                "findings",
                this.run(data, damage, "findings")?,
                vec![
                    c("severity", "severity", Kind::Severity),
                    c("time", "when", Kind::Time),
                    c("rule_id", "rule or check", Kind::Code),
                    c("principal", "who", Kind::Text),
                    c("cluster", "cluster", Kind::Text),
                    c("container", "container", Kind::Text),
                    c("seq", "#", Kind::Count),
                    c("evidence", "evidence", Kind::Code),
                    c("session_id", "session", Kind::Code),
                ],
                "No findings in the period.",
                format!("execaudit findings {range}{policy_flag}"),
            ),
        ],
    });

    // 4. Who exec'd where.
    let who = this.run(data, damage, "who-where")?;
    let grid = matrix(&who, show);
    let first_day = stored.first().cloned();
    let mut who_table = table(
        "principal_cluster",
        "Sessions per principal and cluster",
        "who-where",
        who,
        vec![
            c("principal", "who", Kind::Text),
            c("account", "account", Kind::Text),
            c("cluster", "cluster", Kind::Text),
            c("sessions", "sessions", Kind::Count),
            c("commands", "commands", Kind::Count),
            c("first_session", "first", Kind::Time),
            c("last_session", "last", Kind::Time),
        ],
        "No sessions in the period.",
        format!("execaudit query queries/reports/who-where.sql {range}"),
    );
    who_table.human = grid.is_none();
    sections.push(Section {
        key: "who_where",
        number: 4,
        title: "Who exec'd where",
        intro: "Sessions per principal and cluster, and the principal → cluster pairs seen for the first time.".into(),
        notes: first_day
            .map(|d| vec![format!("First seen means: no earlier session of that principal into that cluster in the store, whose data starts on {d}.")])
            .unwrap_or_default(),
        charts: vec![],
        matrix: grid,
        tables: vec![
            who_table,
            table(
                "first_seen_pairs",
                "First seen this period",
                "first-seen-pairs",
                this.run(data, damage, "first-seen-pairs")?,
                vec![
                    c("first_session", "first session", Kind::Time),
                    c("principal", "who", Kind::Text),
                    c("account", "account", Kind::Text),
                    c("cluster", "cluster", Kind::Text),
                    c("container", "container", Kind::Text),
                    c("show_command", "open it", Kind::Code),
                ],
                "No principal used a cluster for the first time.",
                format!("execaudit query queries/reports/first-seen-pairs.sql {range}"),
            ),
        ],
    });

    // 5. Transcript coverage.
    sections.push(Section {
        key: "transcript_coverage",
        number: 5,
        title: "Transcript coverage",
        intro: "Per cluster, the share of sessions whose transcript arrived whole; then every session without one, with the likely cause (logging NONE at the time, the destination tampered with, DEFAULT logging to a log group not ingested, the transcript empty or cut off).".into(),
        notes: vec![],
        charts: vec![],
        matrix: None,
        tables: vec![
            table(
                "per_cluster",
                "Per cluster",
                "coverage",
                coverage,
                vec![
                    c("account", "account", Kind::Text),
                    c("cluster", "cluster", Kind::Text),
                    c("sessions", "sessions", Kind::Count),
                    c("present", "whole", Kind::Count),
                    c("incomplete", "incomplete", Kind::Count),
                    c("missing", "missing", Kind::Count),
                    c("coverage_pct", "coverage", Kind::Percent),
                ],
                "No sessions in the period.",
                format!("execaudit query queries/reports/coverage.sql {range}"),
            ),
            table(
                "sessions_without_transcript",
                "Sessions without a whole transcript",
                "coverage-gaps",
                this.run(data, damage, "coverage-gaps")?,
                vec![
                    c("start_time", "started", Kind::Time),
                    c("principal", "who", Kind::Text),
                    c("account", "account", Kind::Text),
                    c("cluster", "cluster", Kind::Text),
                    c("container", "container", Kind::Text),
                    c("transcript_status", "transcript", Kind::Text),
                    c("likely_cause", "likely cause", Kind::Text),
                    c("session_id", "session", Kind::Code),
                ],
                "Every session has a whole transcript.",
                format!("execaudit query queries/reports/coverage-gaps.sql {range}"),
            ),
        ],
    });

    // 6. Exec configuration timeline.
    sections.push(Section {
        key: "exec_configuration",
        number: 6,
        title: "Exec configuration timeline",
        intro: "Exec enabled on services and tasks, debug tasks started with sleep or shell overrides, exec logging configuration changes, SSM sessions straight to containers, and tampering with the exec-logging destinations, in time order.".into(),
        notes: vec![],
        charts: vec![],
        matrix: None,
        tables: vec![table(
            "events",
            "",
            "exec-configuration",
            this.run(data, damage, "exec-configuration")?,
            vec![
                c("event_time", "when", Kind::Time),
                c("event_name", "event", Kind::Text),
                c("principal", "who", Kind::Text),
                c("account", "account", Kind::Text),
                c("cluster", "cluster", Kind::Text),
                c("service", "service", Kind::Text),
                c("enable_execute_command", "exec enabled", Kind::Flag),
                c("exec_logging", "logging", Kind::Text),
                c("target", "override, target or resource", Kind::Code),
                c("error_code", "error", Kind::Text),
                c("severity", "severity", Kind::Severity),
                c("checks", "checks", Kind::Code),
            ],
            "No exec configuration changes in the period.",
            format!("execaudit query queries/reports/exec-configuration.sql {range}"),
        )],
    });

    // 7. Failed and denied attempts.
    sections.push(Section {
        key: "failed_attempts",
        number: 7,
        title: "Failed and denied attempts",
        intro: "Failed ExecuteCommand calls grouped by principal and error, each with the likely cause and fix. `execaudit attempts` lists them one by one with the same likely_cause column.".into(),
        notes: vec![],
        charts: vec![],
        matrix: None,
        tables: vec![table(
            "by_principal",
            "",
            "failed-attempts",
            this.run(data, damage, "failed-attempts")?,
            vec![
                c("principal", "who", Kind::Text),
                c("error_code", "error", Kind::Code),
                c("attempts", "attempts", Kind::Count),
                c("clusters", "clusters", Kind::Text),
                c("first_attempt", "first", Kind::Time),
                c("last_attempt", "last", Kind::Time),
                c("likely_cause", "likely cause and fix", Kind::Text),
            ],
            "No failed attempts in the period.",
            format!("execaudit attempts {range}"),
        )],
    });

    // 8. Longest sessions and most frequent commands.
    sections.push(Section {
        key: "top",
        number: 8,
        title: "Longest sessions and most frequent commands",
        intro: "The 20 longest sessions (to the transcript's end; sessions without a transcript have no known end) and the 20 commands typed most often (abandoned lines left out).".into(),
        notes: vec![],
        charts: vec![],
        matrix: None,
        tables: vec![
            table(
                "longest_sessions",
                "Longest sessions",
                "longest-sessions",
                this.run(data, damage, "longest-sessions")?,
                vec![
                    c("duration_s", "duration", Kind::Duration),
                    c("start_time", "started", Kind::Time),
                    c("principal", "who", Kind::Text),
                    c("account", "account", Kind::Text),
                    c("cluster", "cluster", Kind::Text),
                    c("container", "container", Kind::Text),
                    c("commands", "commands", Kind::Count),
                    c("show_command", "open it", Kind::Code),
                ],
                "No session with a known end in the period.",
                String::new(),
            ),
            table(
                "frequent_commands",
                "Most frequent commands",
                "frequent-commands",
                frequent,
                vec![
                    c("command", "command", Kind::Code),
                    c("times", "times", Kind::Count),
                    c("sessions", "sessions", Kind::Count),
                    c("principals", "principals", Kind::Count),
                ],
                "No commands reconstructed in the period.",
                String::new(),
            ),
        ],
    });

    if !damage.parts.is_empty() {
        // Every query that scans a damaged part records it again: count each part once.
        let parts: std::collections::BTreeSet<_> = damage.parts.iter().map(|(p, _)| p).collect();
        notices.push(format!(
            "{} store part(s) could not be read and were left out of this report (named on stderr): it is incomplete.",
            parts.len()
        ));
    }

    Ok(Weekly {
        title: "ECS Exec weekly compliance report".into(),
        label: period.label.clone(),
        since: period.since,
        until: period.until,
        previous_label: previous.label.clone(),
        zone: zone.clone(),
        generated: opts.generated,
        policy: opts.policy,
        store_days: stored
            .first()
            .zip(stored.last())
            .map(|(f, l)| (f.clone(), l.clone())),
        missing_days: missing.into_iter().map(|m| (m.day, m.why)).collect(),
        empty,
        notices,
        metrics: now.metrics(previous_has_data.then_some(&then)),
        charts,
        summary,
        sections,
        show_secrets: show,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_file_is_compiled_in_and_every_compiled_query_is_a_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/reports");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                if p.extension()? != "sql" {
                    return None;
                }
                Some(p.file_stem()?.to_string_lossy().into_owned())
            })
            .collect();
        files.sort();
        let mut names: Vec<String> = QUERIES.iter().map(|(n, _)| (*n).to_owned()).collect();
        names.sort();
        assert_eq!(files, names);
        for (n, sql) in QUERIES {
            assert!(sql.contains("SELECT"), "{n}");
        }
    }

    #[test]
    fn quarter_hours_fold_into_local_days() {
        let zone = ReportZone::parse("Europe/Berlin").unwrap();
        let p = Period::week("2024-W47", &zone).unwrap();
        // 2024-11-17 23:15 UTC is Monday 00:15 in Berlin; 2024-11-18 22:45 UTC is Monday 23:45.
        let df = df!(
            "day" => ["2024-11-17", "2024-11-18", "2024-11-18"],
            "hour" => [23i64, 22, 23],
            "quarter" => [1i64, 3, 0],
            "sessions" => [2i64, 3, 5],
        )
        .unwrap();
        let got = sessions_per_day(&df, &p, &zone);
        assert_eq!(got[0], ("2024-11-18".to_owned(), 5));
        assert_eq!(got[1], ("2024-11-19".to_owned(), 5));
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn cluster_names_shared_by_accounts_carry_the_account() {
        let a = ["1".to_owned(), "2".to_owned(), "1".to_owned()];
        let c = ["prod".to_owned(), "prod".to_owned(), "dev".to_owned()];
        assert_eq!(cluster_labels(&a, &c), ["prod (1)", "prod (2)", "dev"]);
    }

    #[test]
    fn frequent_commands_leave_out_abandoned_lines_and_program_input_even_when_flags_are_null() {
        use crate::model::{CommandRow, ExecEvent, TranscriptRow};
        let ev = |id: &str, session: &str, who: &str| ExecEvent {
            event_id: Some(id.into()),
            event_time: Timestamp(1_000),
            session_id: Some(session.into()),
            outcome: Some("success".into()),
            principal: Some(who.into()),
            ..Default::default()
        };
        // `None` flags: what a store written before the flag existed reads back.
        let cmd = |session: &str, seq: i64, text: &str, abandoned, program_input| CommandRow {
            command_id: Some(format!("{session}#{seq}")),
            session_id: Some(session.into()),
            seq: Some(seq),
            time: Timestamp(2_000),
            command: Some(text.into()),
            abandoned,
            program_input,
            ..Default::default()
        };
        let commands = [
            cmd("s1", 1, "ls", Some(false), None),
            cmd("s1", 2, "ls", None, None),
            cmd("s1", 3, "print(1)", Some(false), Some(true)),
            cmd("s1", 4, "rm -rf /tmp/x", Some(true), None),
            cmd("s2", 1, "ls", Some(false), Some(false)),
            cmd("s2", 2, "id", None, Some(false)),
        ];
        let data = Dataset::from_rows(
            &[ev("1", "s1", "alice"), ev("2", "s2", "bob")],
            &[],
            &[] as &[TranscriptRow],
            &commands,
        )
        .unwrap();
        let top = data
            .sql(&Filter::default())
            .unwrap()
            .execute(sql_of("frequent-commands"))
            .unwrap()
            .collect()
            .unwrap();
        // The report's count, one part at a time, says the same.
        let mut damage = Damage::default();
        let sessions = data
            .collect(&mut damage, |d| d.sessions(&Filter::default()))
            .unwrap();
        let folded = data
            .frequent_commands(&sessions, None, FREQUENT_COMMANDS, &mut damage)
            .unwrap();
        for top in [top, folded] {
            assert_eq!(texts(&top, "command", false), ["ls", "id"]);
            assert_eq!(ints(&top, "times"), [3, 1]);
            assert_eq!(ints(&top, "sessions"), [2, 1]);
            assert_eq!(ints(&top, "principals"), [2, 1]);
        }
    }

    #[test]
    fn the_report_lists_as_many_frequent_commands_as_the_sql() {
        assert!(sql_of("frequent-commands").contains(&format!("LIMIT {FREQUENT_COMMANDS}\n")));
    }

    #[test]
    fn counts_read_whole_columns_of_any_integer_type_with_nulls_as_zero() {
        let df = df!(
            "n" => [Some(3u32), None, Some(7)],
            "s" => ["a", "b", "c"],
        )
        .unwrap();
        assert_eq!(ints(&df, "n"), [3, 0, 7]);
        assert_eq!(ints(&df, "missing"), [0, 0, 0]);
        assert_eq!(ints(&df, "s"), [0, 0, 0]);
    }
}

//! `report`, the weekly compliance report (issue 8; the module is `weekly` because
//! `crate::report` holds the renderers). Resolves the period (an ISO week in a time zone, the
//! last complete one by default, or `--since`/`--until`) and the period before it, loads rules
//! and policy before any data, builds the report from the SQL under
//! `queries/reports/` ([`build`]) and renders it as Markdown, self-contained HTML or JSON.
//!
//! The whole report is built before anything is written; `--out FILE` is written under a
//! temporary name and renamed when complete, so a failed run never leaves half a report.

mod build;
pub mod compliance;
mod period;

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::{ReportArgs, ReportFormat};
use crate::config::{self, parse_time};
use crate::dataset::Damage;
use crate::report::weekly::{self, Weekly};
pub use build::QUERIES;
pub use compliance::ComplianceRow;
use period::{Period, ReportZone};

/// `execaudit report`.
pub fn report(a: ReportArgs) -> anyhow::Result<i32> {
    let zone = ReportZone::parse(&a.tz)?;
    let now = config::now();
    let period = match (&a.week, &a.since, &a.until) {
        (Some(w), _, _) => Period::week(w, &zone)?,
        (None, Some(s), Some(u)) => {
            let since = parse_time("--since", s, now)?;
            let until = parse_time("--until", u, now)?;
            if until <= since {
                anyhow::bail!("--until: must be later than --since");
            }
            // The daily series and the list of days without data hold at most this many days
            // (a longer range was charted by its first 400 days, the days with data left out).
            let days = (until.0.saturating_sub(since.0) as u64).div_ceil(period::DAY_MS as u64);
            if days > period::MAX_DAYS as u64 {
                anyhow::bail!(
                    "--since/--until: {days} days; a report covers at most {} (`query` answers over any range)",
                    period::MAX_DAYS
                );
            }
            Period::between(since, until)
        }
        _ => Period::last_complete_week(now, &zone),
    };
    let previous = period.previous(&zone);
    let detector = super::findings::load_detector(&a.detect)?;
    let data = super::open_store(a.store.store.clone())?;
    let mut damage = Damage::default();
    let opts = build::Options {
        policy: a.detect.policy.as_ref().map(|p| p.display().to_string()),
        show_secrets: a.show_secrets,
        generated: now,
    };
    let report = build::build(
        &data,
        &detector,
        &period,
        &previous,
        &zone,
        &mut damage,
        opts,
    )?;
    crate::trace::stage("report built");
    match &a.out {
        Some(path) => write_file(path, &report, a.format)?,
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            render(&mut out, &report, a.format)?;
            out.flush()?;
        }
    }
    crate::trace::stage("report written");
    eprintln!(
        "report {} ({} to {}): {} sessions, {} findings{}",
        report.label,
        report.since.to_rfc3339(),
        report.until.to_rfc3339(),
        report.summary["sessions"],
        report.summary["findings"],
        if report.missing_days.is_empty() {
            String::new()
        } else {
            format!("; {} day(s) without data", report.missing_days.len())
        }
    );
    Ok(super::finish(&damage))
}

fn render(out: &mut dyn Write, w: &Weekly, format: ReportFormat) -> io::Result<()> {
    match format {
        ReportFormat::Md => crate::report::markdown::write(out, w),
        ReportFormat::Html => crate::report::html::write(out, w),
        ReportFormat::Json => weekly::write_json(out, w),
    }
}

/// Writes the report whole under a temporary name beside `path`, then renames it.
fn write_file(path: &Path, w: &Weekly, format: ReportFormat) -> anyhow::Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map_or("report".into(), |n| n.to_string_lossy())
    ));
    let result = (|| -> anyhow::Result<()> {
        let file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut out = io::BufWriter::new(file);
        render(&mut out, w, format)?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

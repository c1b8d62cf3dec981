//! The weekly compliance report as data, between the SQL that computes it
//! (`run::report`) and the renderers that print it (`markdown`, `html` with `svg`, and JSON
//! here): a period, a summary with week-over-week change, and numbered sections of tables
//! (polars frames with the columns people read) and charts.
//!
//! Every string still goes through [`super::cells`] (redaction) and [`super::escape`] (control
//! characters) on its way out; each renderer then escapes for its own syntax.

use std::io::{self, Write};

use chrono::{Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use polars::prelude::DataFrame;

use super::cells::{for_each_row, Cell};
use super::escape::{json_str, visible};
use crate::config::ConfigError;
use crate::detect::policy::Zone;
use crate::model::Timestamp;

/// The time zone of a report, with the name it was given.
#[derive(Debug, Clone)]
pub struct ReportZone {
    pub zone: Zone,
    pub name: String,
}

impl ReportZone {
    /// Parses `--tz`: an IANA name, `UTC` or an offset.
    pub fn parse(text: &str) -> Result<ReportZone, ConfigError> {
        let zone = Zone::parse(text).ok_or_else(|| ConfigError {
            flag: "--tz",
            message: format!(
                "unknown time zone {text:?}: use an IANA name (Europe/Berlin), UTC or an offset (+02:00)"
            ),
        })?;
        Ok(ReportZone {
            zone,
            name: text.trim().to_owned(),
        })
    }

    /// The offset from UTC, in seconds, at a UTC instant.
    pub fn offset_s(&self, t: Timestamp) -> i64 {
        let Some(utc) = chrono::DateTime::from_timestamp_millis(t.0) else {
            return 0;
        };
        i64::from(match self.zone {
            Zone::Named(tz) => tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
            Zone::Fixed(off) => off.local_minus_utc(),
        })
    }

    /// The local date and time of a UTC instant.
    pub fn local(&self, t: Timestamp) -> NaiveDateTime {
        let utc = chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default();
        utc.naive_utc() + Duration::seconds(self.offset_s(t))
    }

    /// The UTC instant of a local midnight (the first instant of the day when a DST jump skips
    /// midnight).
    pub fn midnight(&self, d: NaiveDate) -> Timestamp {
        let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        let first = |n: NaiveDateTime| -> Option<i64> {
            match self.zone {
                Zone::Named(tz) => tz
                    .from_local_datetime(&n)
                    .earliest()
                    .map(|t| t.timestamp_millis()),
                Zone::Fixed(off) => off
                    .from_local_datetime(&n)
                    .earliest()
                    .map(|t| t.timestamp_millis()),
            }
        };
        // A gap at midnight (a DST jump): the day starts at the first local time that exists.
        let ms = (0..=4)
            .find_map(|h| first(naive + Duration::minutes(30 * h)))
            .unwrap_or_else(|| naive.and_utc().timestamp_millis());
        Timestamp(ms)
    }

    /// Whether the zone is UTC at every instant.
    pub fn is_utc(&self) -> bool {
        match self.zone {
            Zone::Fixed(off) => off.local_minus_utc() == 0,
            Zone::Named(tz) => tz == chrono_tz::UTC || tz == chrono_tz::Etc::UTC,
        }
    }
}

/// How a column reads to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain text.
    Text,
    /// Commands, evidence, ids: monospace, kept whole.
    Code,
    /// A time, shown in the report's zone.
    Time,
    /// Seconds, shown as `1h 02m`.
    Duration,
    /// A whole number, with thousands separators.
    Count,
    /// A percentage.
    Percent,
    /// Yes or no.
    Flag,
    /// A severity (coloured in HTML).
    Severity,
}

/// A column people read: the frame's column, its heading, how it reads.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub header: &'static str,
    pub kind: Kind,
}

/// A column.
pub const fn c(name: &'static str, header: &'static str, kind: Kind) -> Col {
    Col { name, header, kind }
}

/// One table of a section: a query's result.
pub struct Table {
    /// Key in the section's JSON object.
    pub key: &'static str,
    /// Heading (empty for a section's only table).
    pub title: &'static str,
    /// The SQL file under `queries/reports/` it came from.
    pub query: &'static str,
    pub frame: DataFrame,
    /// What Markdown and HTML show (JSON has every column).
    pub columns: Vec<Col>,
    /// Said instead of an empty table.
    pub empty: String,
    /// Rows Markdown and HTML show at most (JSON has every row).
    pub limit: usize,
    /// How to see every row when the table is cut.
    pub more: String,
    /// Shown in Markdown and HTML (false: JSON only, when a chart or matrix says it).
    pub human: bool,
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as printed beside the bar.
    pub text: String,
    /// A style class (a severity, or `ok`/`warn`/`bad` for coverage).
    pub class: &'static str,
}

/// A bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub bars: Vec<Bar>,
    /// The scale's top (100 for percentages); the largest bar when `None`.
    pub max: Option<f64>,
    /// Vertical bars (a series over days) or horizontal ones (categories).
    pub vertical: bool,
    /// Said when there is nothing to chart.
    pub empty: String,
}

/// A count per row and column label (principal × cluster).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub title: String,
    pub corner: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `cells[row][col]`, 0 for none.
    pub cells: Vec<Vec<i64>>,
}

/// One numbered section.
pub struct Section {
    /// Key at the JSON document's top level.
    pub key: &'static str,
    pub number: usize,
    pub title: &'static str,
    /// What the section answers.
    pub intro: String,
    /// What to know reading it (no policy given, data missing, ...).
    pub notes: Vec<String>,
    pub charts: Vec<Chart>,
    pub matrix: Option<Matrix>,
    pub tables: Vec<Table>,
}

/// One summary figure with its week-over-week change.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub label: &'static str,
    /// This period's value; `None` when it has no meaning (coverage of no sessions).
    pub this: Option<f64>,
    /// The period before; `None` when the store holds no data for any of its days, NaN when
    /// the value has no meaning there.
    pub previous: Option<f64>,
    /// A percentage (change in points).
    pub percent: bool,
}

impl Metric {
    fn show(&self, v: Option<f64>) -> String {
        match v {
            Some(v) if self.percent => pct(v),
            Some(v) => count(v as i64),
            None => "n/a".into(),
        }
    }

    /// This period's value as printed.
    pub fn value(&self) -> String {
        self.show(self.this)
    }

    /// The previous period's value as printed.
    pub fn before(&self) -> String {
        match self.previous {
            None => "no data".into(),
            Some(p) if p.is_nan() => "n/a".into(),
            p => self.show(p),
        }
    }

    /// The change as printed: `+3 (+18%)`, `-2.5 pts`, `+20 (new)`, `n/a`.
    pub fn change(&self) -> String {
        let (Some(this), Some(prev)) = (self.this, self.previous.filter(|p| !p.is_nan())) else {
            return "n/a".into();
        };
        let d = this - prev;
        if self.percent {
            return if d.abs() < 0.05 {
                "±0 pts".into()
            } else {
                format!("{d:+.1} pts")
            };
        }
        let abs = if d == 0.0 {
            "±0".to_owned()
        } else if d > 0.0 {
            format!("+{}", count(d as i64))
        } else {
            format!("-{}", count(-d as i64))
        };
        if prev == 0.0 {
            if d == 0.0 {
                abs
            } else {
                format!("{abs} (new)")
            }
        } else {
            format!("{abs} ({:+.0}%)", 100.0 * d / prev)
        }
    }
}

/// The whole report.
pub struct Weekly {
    pub title: String,
    /// `2024-W47`, or the two bounds.
    pub label: String,
    pub since: Timestamp,
    pub until: Timestamp,
    pub previous_label: String,
    pub zone: ReportZone,
    pub generated: Timestamp,
    /// The policy file, when one was given.
    pub policy: Option<String>,
    /// The first and last UTC day the store holds events for.
    pub store_days: Option<(String, String)>,
    /// Days of the period the store holds nothing for, each with why.
    pub missing_days: Vec<(String, String)>,
    /// The period had no activity at all.
    pub empty: bool,
    /// What a reader must know first (empty period, missing days, damaged store parts).
    pub notices: Vec<String>,
    pub metrics: Vec<Metric>,
    /// Section 1's charts.
    pub charts: Vec<Chart>,
    /// The JSON `summary` object (numbers for the period, the previous one, the change).
    pub summary: serde_json::Value,
    /// Sections 2 to 8.
    pub sections: Vec<Section>,
    pub show_secrets: bool,
}

/// Thousands separators: `100,000`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `85.7%`.
pub fn pct(v: f64) -> String {
    format!("{v:.1}%")
}

/// `45s`, `14m 07s`, `1h 02m`, `2d 03h`.
pub fn duration(s: i64) -> String {
    let (sign, s) = if s < 0 { ("-", -s) } else { ("", s) };
    let text = match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    };
    format!("{sign}{text}")
}

impl ReportZone {
    /// A time as people read it in the report: `2024-11-20 22:47:52` in the zone.
    pub fn format(&self, t: Timestamp) -> String {
        self.local(t).format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// One cell as people read it: redacted, control characters visible, in the column's form.
pub fn human(cell: &Cell<'_>, kind: Kind, zone: &ReportZone) -> String {
    match (cell, kind) {
        (Cell::Null, _) => String::new(),
        (Cell::Time(ms), _) => zone.format(Timestamp(*ms)),
        (Cell::Int(i), Kind::Duration) => duration(*i),
        (Cell::Int(i), _) => count(*i),
        (Cell::Float(f), Kind::Percent) => pct(*f),
        (Cell::Float(f), Kind::Duration) => duration(*f as i64),
        (Cell::Bool(b), _) => (if *b { "yes" } else { "no" }).into(),
        (c, Kind::Code) => visible(&c.text(), true).into_owned(),
        (c, _) => visible(&c.text(), false).into_owned(),
    }
}

impl Table {
    /// The rows people see (at most `limit`), each cell as [`human`] makes it, and the total.
    pub fn human_rows(&self, zone: &ReportZone, show_secrets: bool) -> (Vec<Vec<String>>, usize) {
        let names: Vec<&str> = self
            .frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        let idx: Vec<(Option<usize>, Kind)> = self
            .columns
            .iter()
            .map(|c| (names.iter().position(|n| *n == c.name), c.kind))
            .collect();
        let head = self.frame.head(Some(self.limit));
        let mut rows = Vec::with_capacity(head.height());
        let _ = for_each_row(&head, show_secrets, |cells| {
            rows.push(
                idx.iter()
                    .map(|(i, kind)| i.map_or(String::new(), |i| human(&cells[i], *kind, zone)))
                    .collect(),
            );
            Ok(())
        });
        (rows, self.frame.height())
    }

    /// The sentence under a cut table.
    pub fn cut_note(&self, shown: usize) -> Option<String> {
        (shown < self.frame.height()).then(|| {
            format!(
                "Showing {} of {} rows; the JSON format has all of them, or run {}.",
                count(shown as i64),
                count(self.frame.height() as i64),
                self.more
            )
        })
    }
}

/// Writes the report as one JSON object (schema: docs/report.md).
pub fn write_json(out: &mut dyn Write, w: &Weekly) -> io::Result<()> {
    let period = |since: Timestamp, until: Timestamp, label: &str| {
        serde_json::json!({
            "label": label,
            "since": since.to_rfc3339(),
            "until": until.to_rfc3339(),
        })
    };
    let meta = serde_json::json!({
        "title": w.title,
        "period": period(w.since, w.until, &w.label),
        "previous_period": w.previous_label,
        "time_zone": w.zone.name,
        "generated": w.generated.to_rfc3339(),
        "policy": w.policy,
        "store_days": w.store_days.as_ref().map(|(f, l)| serde_json::json!({"first": f, "last": l})),
        "missing_days": w.missing_days.iter().map(|(d, why)| serde_json::json!({"day": d, "why": why})).collect::<Vec<_>>(),
        "empty": w.empty,
        "notices": w.notices,
    });
    let pretty = |v: &serde_json::Value, pad: &str| -> io::Result<String> {
        Ok(serde_json::to_string_pretty(v)
            .map_err(io::Error::other)?
            .replace('\n', &format!("\n{pad}")))
    };
    write!(out, "{{\n  \"report\": {},", pretty(&meta, "  ")?)?;
    write!(out, "\n  \"summary\": {}", pretty(&w.summary, "  ")?)?;
    for s in &w.sections {
        let mut key = String::new();
        json_str(s.key, &mut key);
        write!(out, ",\n  {key}: {{\n    \"title\": ")?;
        let mut t = String::new();
        json_str(s.title, &mut t);
        write!(
            out,
            "{t},\n    \"notes\": {}",
            pretty(&serde_json::json!(s.notes), "    ")?
        )?;
        for table in &s.tables {
            let mut k = String::new();
            json_str(table.key, &mut k);
            write!(out, ",\n    {k}: ")?;
            super::json::array(out, &table.frame, w.show_secrets, 4)?;
        }
        write!(out, "\n  }}")?;
    }
    writeln!(out, "\n}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_durations_and_changes_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(-1_234_567), "-1,234,567");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(847), "14m 07s");
        assert_eq!(duration(3720), "1h 02m");
        assert_eq!(duration(183_600), "2d 03h");
        let m = |this: f64, previous, percent| Metric {
            label: "x",
            this: Some(this),
            previous,
            percent,
        };
        assert_eq!(m(20.0, Some(16.0), false).change(), "+4 (+25%)");
        assert_eq!(m(12.0, Some(16.0), false).change(), "-4 (-25%)");
        assert_eq!(m(20.0, Some(0.0), false).change(), "+20 (new)");
        assert_eq!(m(0.0, Some(0.0), false).change(), "±0");
        assert_eq!(m(20.0, None, false).change(), "n/a");
        assert_eq!(m(20.0, None, false).before(), "no data");
        assert_eq!(m(80.0, Some(85.5), true).change(), "-5.5 pts");
        assert_eq!(m(80.0, Some(85.5), true).value(), "80.0%");
        assert_eq!(m(80.0, Some(f64::NAN), true).change(), "n/a");
        assert_eq!(m(80.0, Some(f64::NAN), true).before(), "n/a");
    }

    #[test]
    fn times_are_shown_in_the_zone() {
        let t = Timestamp::parse("2024-11-20T22:47:52Z").unwrap();
        assert_eq!(
            ReportZone::parse("UTC").unwrap().format(t),
            "2024-11-20 22:47:52"
        );
        assert_eq!(
            ReportZone::parse("Europe/Berlin").unwrap().format(t),
            "2024-11-20 23:47:52"
        );
        assert_eq!(
            ReportZone::parse("-05:30").unwrap().format(t),
            "2024-11-20 17:17:52"
        );
    }
}

//! The period a report covers: an ISO week (Monday to Monday in a time zone), the last complete
//! one by default, or `--since`/`--until`; the period before it (for week-over-week change);
//! its days in the time zone; and which of them the store holds no data for.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::config::{ConfigError, Filter};
use crate::model::Timestamp;
pub use crate::report::weekly::ReportZone;

pub(super) const DAY_MS: i64 = 86_400_000;

/// The longest range a report covers, in days (a year and a month).
pub const MAX_DAYS: usize = 400;

/// What a report covers.
#[derive(Debug, Clone)]
pub struct Period {
    /// `2024-W47`, or the two bounds.
    pub label: String,
    /// Inclusive start.
    pub since: Timestamp,
    /// Exclusive end.
    pub until: Timestamp,
    /// The ISO week's Monday, when the period is a week.
    pub week: Option<NaiveDate>,
}

/// One local day of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD` in the report's zone.
    pub name: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

fn week_label(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

impl Period {
    /// The ISO week of `text` (`2024-W47`, `2024w47`).
    pub fn week(text: &str, z: &ReportZone) -> Result<Period, ConfigError> {
        let bad = || ConfigError {
            flag: "--week",
            message: format!("cannot read {text:?} as an ISO week: use 2024-W47"),
        };
        let t = text.trim();
        let (y, w) = t.split_once(['W', 'w']).ok_or_else(bad)?;
        let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        let monday =
            NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(|| ConfigError {
                flag: "--week",
                message: format!("{year} has no ISO week {week}"),
            })?;
        Ok(Period::of_week(monday, z))
    }

    /// The week starting on `monday`.
    pub fn of_week(monday: NaiveDate, z: &ReportZone) -> Period {
        Period {
            label: week_label(monday),
            since: z.midnight(monday),
            until: z.midnight(monday + Duration::days(7)),
            week: Some(monday),
        }
    }

    /// The last complete ISO week before `now` in the zone.
    pub fn last_complete_week(now: Timestamp, z: &ReportZone) -> Period {
        let today = z.local(now).date();
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        Period::of_week(monday - Duration::days(7), z)
    }

    /// An explicit range.
    pub fn between(since: Timestamp, until: Timestamp) -> Period {
        Period {
            label: format!("{} to {}", since.to_rfc3339(), until.to_rfc3339()),
            since,
            until,
            week: None,
        }
    }

    /// The period just before: the previous ISO week, or a range as long ending at `since`.
    pub fn previous(&self, z: &ReportZone) -> Period {
        match self.week {
            Some(monday) => Period::of_week(monday - Duration::days(7), z),
            None => Period::between(Timestamp(2 * self.since.0 - self.until.0), self.since),
        }
    }

    /// The filter selecting the period.
    pub fn filter(&self) -> Filter {
        Filter {
            since: Some(self.since),
            until: Some(self.until),
            ..Filter::default()
        }
    }

    /// The local days the period touches, in order (a range of [`MAX_DAYS`] touches at most
    /// two more, with the zone's offset changes: `report` refuses longer ranges).
    pub fn days(&self, z: &ReportZone) -> Vec<Day> {
        let mut out = Vec::new();
        let mut d = z.local(self.since).date();
        while out.len() < MAX_DAYS + 2 {
            let start = z.midnight(d).max(self.since);
            if start >= self.until {
                break;
            }
            let next = d + Duration::days(1);
            let end = z.midnight(next).min(self.until);
            out.push(Day {
                name: d.format("%Y-%m-%d").to_string(),
                start,
                end,
            });
            d = next;
        }
        out
    }
}

/// A day of the period the store holds no CloudTrail data for, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingDay {
    pub day: String,
    pub why: String,
}

/// The days of `days` none of whose UTC days are among `stored` (the UTC days the store holds
/// exec or control events for, sorted).
pub fn missing_days(days: &[Day], stored: &[String]) -> Vec<MissingDay> {
    let (first, last) = match (stored.first(), stored.last()) {
        (Some(f), Some(l)) => (f.clone(), l.clone()),
        _ => {
            return days
                .iter()
                .map(|d| MissingDay {
                    day: d.name.clone(),
                    why: "the store holds no CloudTrail data at all".into(),
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for d in days {
        let mut utc_days = Vec::new();
        let mut n = d.start.day_number();
        while n <= Timestamp(d.end.0 - 1).day_number() {
            utc_days.push(Timestamp(n * DAY_MS).day());
            n += 1;
        }
        if utc_days.iter().any(|u| stored.binary_search(u).is_ok()) {
            continue;
        }
        let why = if utc_days.last().is_some_and(|u| *u < first) {
            format!("before the first day the store holds ({first})")
        } else if utc_days.first().is_some_and(|u| *u > last) {
            format!("after the last day the store holds ({last})")
        } else {
            "no events stored for that day: a quiet day, or a gap in what was ingested".into()
        };
        out.push(MissingDay {
            day: d.name.clone(),
            why,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(name: &str) -> ReportZone {
        ReportZone::parse(name).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn iso_weeks_run_monday_to_monday_in_the_zone() {
        let p = Period::week("2024-W47", &z("UTC")).unwrap();
        assert_eq!(p.since, t("2024-11-18T00:00:00Z"));
        assert_eq!(p.until, t("2024-11-25T00:00:00Z"));
        assert_eq!(p.label, "2024-W47");
        let b = Period::week("2024w47", &z("Europe/Berlin")).unwrap();
        assert_eq!(b.since, t("2024-11-17T23:00:00Z"));
        assert_eq!(b.until, t("2024-11-24T23:00:00Z"));
        // ISO week 1 of 2025 starts on 2024-12-30; 2020 has a week 53, 2021 does not.
        let w1 = Period::week("2025-W01", &z("UTC")).unwrap();
        assert_eq!(w1.since, t("2024-12-30T00:00:00Z"));
        assert!(Period::week("2020-W53", &z("UTC")).is_ok());
        let e = Period::week("2021-W53", &z("UTC")).unwrap_err();
        assert!(e.to_string().contains("no ISO week 53"), "{e}");
        assert!(Period::week("last week", &z("UTC")).is_err());
        assert!(ReportZone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn a_week_across_a_dst_change_has_seven_days_of_unequal_length() {
        // Europe/Berlin left summer time on 2024-10-27 (a Sunday): that day has 25 hours.
        let zone = z("Europe/Berlin");
        let p = Period::week("2024-W43", &zone).unwrap();
        assert_eq!(p.since, t("2024-10-20T22:00:00Z"));
        assert_eq!(p.until, t("2024-10-27T23:00:00Z"));
        let days = p.days(&zone);
        assert_eq!(days.len(), 7);
        assert_eq!(days[6].name, "2024-10-27");
        assert_eq!(days[6].end.0 - days[6].start.0, 25 * 3_600_000);
    }

    #[test]
    fn the_default_is_the_last_complete_week_and_previous_follows() {
        let utc = z("UTC");
        // A Wednesday: the last complete week is the one before this one.
        let p = Period::last_complete_week(t("2024-11-27T10:00:00Z"), &utc);
        assert_eq!(p.label, "2024-W47");
        // On a Monday just after midnight, last week is complete.
        let p = Period::last_complete_week(t("2024-11-25T00:00:01Z"), &utc);
        assert_eq!(p.label, "2024-W47");
        // In Auckland it is already Monday 25th while UTC is still Sunday 24th.
        let p = Period::last_complete_week(t("2024-11-24T12:00:00Z"), &z("Pacific/Auckland"));
        assert_eq!(p.label, "2024-W47");
        assert_eq!(p.previous(&utc).label, "2024-W46");
        let r = Period::between(t("2024-11-20T00:00:00Z"), t("2024-11-22T00:00:00Z"));
        let prev = r.previous(&utc);
        assert_eq!(
            (prev.since, prev.until),
            (t("2024-11-18T00:00:00Z"), t("2024-11-20T00:00:00Z"))
        );
    }

    #[test]
    fn missing_days_say_why() {
        let utc = z("UTC");
        let p = Period::week("2024-W47", &utc).unwrap();
        let days = p.days(&utc);
        let stored: Vec<String> = ["2024-11-20", "2024-11-22"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let m = missing_days(&days, &stored);
        let names: Vec<&str> = m.iter().map(|d| d.day.as_str()).collect();
        assert_eq!(
            names,
            [
                "2024-11-18",
                "2024-11-19",
                "2024-11-21",
                "2024-11-23",
                "2024-11-24"
            ]
        );
        assert!(m[0].why.contains("before the first day"), "{}", m[0].why);
        assert!(m[2].why.contains("quiet day"), "{}", m[2].why);
        assert!(m[4].why.contains("after the last day"), "{}", m[4].why);
        assert_eq!(missing_days(&days, &[]).len(), 7);
        // A local day counts as held when a UTC day it overlaps is stored.
        let berlin = z("Europe/Berlin");
        let b = Period::week("2024-W47", &berlin).unwrap();
        let m = missing_days(&b.days(&berlin), &["2024-11-17".to_owned()]);
        assert_eq!(m.len(), 6, "{m:?}");
    }
}

//! CloudTrail log files in S3: which folders to read for a time range, and which of their keys
//! earlier runs already took.
//!
//! ```text
//! <prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
//! <prefix>/AWSLogs/<o-org>/<account>/CloudTrail/<region>/YYYY/MM/DD/...          (organisation trail)
//! ```
//!
//! The day folder and the time in a file's name are its *delivery* time (formats.md §3.1), and
//! a file holds only records written before it was delivered. So the files that can hold events
//! of `[since, until)` are the ones delivered from `since` to a little after `until`: a few
//! folder listings per account and region find them, never a listing of the whole bucket.
//!
//! Keys in a day folder sort by delivery minute, then by a random suffix, so a file delivered in
//! the same minute as the last one read may sort before it. The checkpoint of a day therefore
//! remembers the last key below which everything listed was read, plus the keys read in the
//! [`OVERLAP`] before it; the next run lists again from that overlap and skips what it read.
//! This file holds the plan and the bookkeeping, pure; `trail_pull` runs it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far back from the last key read the next listing starts again.
pub const OVERLAP_MINUTES: i64 = 15;
/// Files of events before `until` may be delivered this long after it.
pub const DELIVERY_LAG_MINUTES: i64 = 60;

/// Where the `AWSLogs/` tree starts, and what the user's prefix already pinned down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailRoot {
    /// `<prefix>/AWSLogs/` (ends with `/`).
    pub awslogs: String,
    /// An organisation id given in the prefix (`.../AWSLogs/o-xxx`).
    pub org: Option<String>,
    /// An account given in the prefix (`.../AWSLogs/[o-xxx/]123456789012`).
    pub account: Option<String>,
}

impl TrailRoot {
    /// Reads a trail prefix: the trail's own S3 key prefix, or a path into its `AWSLogs/` tree.
    pub fn parse(prefix: &str) -> TrailRoot {
        let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
        let Some(at) = parts.iter().position(|p| *p == "AWSLogs") else {
            let mut awslogs = parts.join("/");
            if !awslogs.is_empty() {
                awslogs.push('/');
            }
            awslogs.push_str("AWSLogs/");
            return TrailRoot {
                awslogs,
                org: None,
                account: None,
            };
        };
        let mut awslogs = parts[..=at].join("/");
        awslogs.push('/');
        let rest = &parts[at + 1..];
        let org = rest
            .first()
            .filter(|p| p.starts_with("o-"))
            .map(|p| (*p).to_owned());
        let account = rest
            .get(usize::from(org.is_some()))
            .filter(|p| super::is_account_id(p))
            .map(|p| (*p).to_owned());
        TrailRoot {
            awslogs,
            org,
            account,
        }
    }
}

/// One account's trail folder (`.../AWSLogs/[o-xxx/]<account>/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountDir {
    pub account: String,
    /// Ends with `/`.
    pub dir: String,
}

impl AccountDir {
    /// The region folders' parent: `<dir>CloudTrail/`.
    pub fn cloudtrail(&self) -> String {
        format!("{}CloudTrail/", self.dir)
    }

    /// One day's folder.
    pub fn day_prefix(&self, region: &str, day: NaiveDate) -> String {
        format!(
            "{}CloudTrail/{region}/{:04}/{:02}/{:02}/",
            self.dir,
            day.year(),
            day.month(),
            day.day()
        )
    }

    /// The file name stem every log file of a region starts with.
    pub fn stem(&self, region: &str) -> String {
        format!("{}_CloudTrail_{region}_", self.account)
    }
}

/// The UTC days whose folders can hold files with events of `[since, until)`, oldest first
/// (until `now`: later folders cannot exist yet).
pub fn days(since_ms: i64, until_ms: i64, now_ms: i64) -> Vec<NaiveDate> {
    let last_ms = (until_ms + DELIVERY_LAG_MINUTES * 60_000).min(now_ms);
    let (Some(first), Some(last)) = (date_of(since_ms), date_of(last_ms)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        out.push(d);
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

fn date_of(ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// `YYYY-MM-DD`, the checkpoint's name for a day.
pub fn day_name(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Whether nothing more can be delivered into a day's folder at `now`.
pub fn day_closed(d: NaiveDate, now_ms: i64) -> bool {
    let end = d
        .succ_opt()
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis());
    end.is_some_and(|e| now_ms > e + DELIVERY_LAG_MINUTES * 60_000)
}

fn minute_stamp(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.format("%Y%m%dT%H%MZ").to_string())
}

/// The delivery time in a log file's key (`..._20240514T0930Z_<unique>.json.gz`), in ms.
pub fn key_time(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let mut parts = name.rsplit('_');
    parts.next()?; // unique suffix and extension
    let stamp = parts.next()?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The key a listing of `prefix` starts after to skip files delivered before `ms`: the stem
/// followed by the minute (every file of that minute sorts after it).
pub fn key_for_time(prefix: &str, stem: &str, ms: i64) -> Option<String> {
    Some(format!("{prefix}{stem}{}", minute_stamp(ms)?))
}

/// Where the next listing may resume, given the last key below which all was read: the
/// [`OVERLAP_MINUTES`] before it, so files delivered late in that window are still found.
/// `""` (the folder's start) when that reaches into the previous day.
pub fn resume_point(prefix: &str, stem: &str, last_key: &str) -> String {
    if last_key.is_empty() {
        return String::new();
    }
    let Some(t) = key_time(last_key) else {
        return last_key.to_owned(); // not a CloudTrail name: no overlap to allow for
    };
    let back = t - OVERLAP_MINUTES * 60_000;
    if date_of(back) != date_of(t) {
        return String::new();
    }
    key_for_time(prefix, stem, back).unwrap_or_default()
}

/// Whether a log file (named with `stem`) was delivered after `stop_after_ms`. Keys of any
/// other shape are never beyond: they are read.
pub fn beyond_range(stem: &str, stop_after_ms: Option<i64>, key: &str) -> bool {
    match (stop_after_ms, key_time(key)) {
        (Some(stop), Some(t)) => {
            t > stop && key.rsplit('/').next().is_some_and(|n| n.starts_with(stem))
        }
        _ => false,
    }
}

/// A day folder's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayState {
    /// The listing began after this key (`""`: at the folder's start); keys up to it were never
    /// looked at.
    #[serde(default)]
    pub first: String,
    /// Every key listed after `first` and up to this one was read (`""`: none yet).
    #[serde(default)]
    pub last_key: String,
    /// Keys read after [`resume_point`] of `last_key`: skipped when listed again.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Keys that could not be fetched (denied, KMS, network): fetched again by the next run.
    #[serde(default)]
    pub failed: BTreeSet<String>,
    /// The whole folder was read, nothing failed, and nothing can be added any more.
    #[serde(default)]
    pub complete: bool,
}

impl DayState {
    /// Whether a listed key was already read.
    pub fn has(&self, resume: &str, key: &str) -> bool {
        !self.failed.contains(key)
            && (self.done.contains(key)
                || (key > self.first.as_str() && key <= resume && !self.last_key.is_empty()))
    }
}

/// One account and region's checkpoint: a [`DayState`] per day folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionState {
    #[serde(default)]
    pub days: BTreeMap<String, DayState>,
}

/// What happened to a listed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Pending,
    Done,
    Failed,
}

/// One day folder being read in this run: the keys in listing order, and the checkpoint they
/// advance.
#[derive(Debug)]
pub struct DayRun {
    pub prefix: String,
    pub stem: String,
    /// Where this run's listing starts.
    pub start_after: String,
    /// Keys delivered after this (ms) are beyond the range: the listing stops there.
    pub stop_after_ms: Option<i64>,
    /// What earlier runs read (decides what to skip).
    pub before: DayState,
    /// The checkpoint as this run advances it.
    pub state: DayState,
    /// Whether the folder can still receive files.
    pub closed: bool,
    queue: VecDeque<(String, KeyStatus)>,
    /// Keys read this run that the next listing could meet again.
    recent: BTreeSet<String>,
    /// The listing reached the folder's end (not the range's).
    pub listed_to_end: bool,
    pub listing_over: bool,
}

impl DayRun {
    /// Plans a day folder's read: `lo_ms` is the range's start when it falls on this day.
    pub fn plan(
        before: DayState,
        prefix: String,
        stem: String,
        lo_ms: Option<i64>,
        stop_after_ms: Option<i64>,
        closed: bool,
    ) -> DayRun {
        let lo = lo_ms
            .and_then(|ms| key_for_time(&prefix, &stem, ms))
            .unwrap_or_default();
        let resume = resume_point(&prefix, &stem, &before.last_key);
        // Nothing contiguous read yet, or the range starts before what was read: list from the
        // range's start (skipping what is known). Otherwise resume in the overlap window.
        let (start_after, first) = if before.last_key.is_empty() || lo < before.first {
            (lo.clone(), lo)
        } else {
            (resume.clone(), before.first.clone().min(resume))
        };
        let mut state = before.clone();
        state.first = first;
        state.complete = false;
        DayRun {
            prefix,
            stem,
            start_after,
            stop_after_ms,
            before,
            state,
            closed,
            queue: VecDeque::new(),
            recent: BTreeSet::new(),
            listed_to_end: false,
            listing_over: false,
        }
    }

    /// Failed keys the listing will not meet again (they sort before its start): fetch them by
    /// name.
    pub fn retries(&self) -> Vec<String> {
        self.before
            .failed
            .iter()
            .filter(|k| k.as_str() <= self.start_after.as_str())
            .cloned()
            .collect()
    }

    /// Whether a listed key lies past the range (the listing can stop).
    pub fn beyond_range(&self, key: &str) -> bool {
        beyond_range(&self.stem, self.stop_after_ms, key)
    }

    /// Takes a listed key; returns whether it must be fetched.
    pub fn listed(&mut self, key: &str) -> bool {
        let resume = resume_point(&self.prefix, &self.stem, &self.before.last_key);
        let fetch = !self.before.has(&resume, key);
        let status = if fetch {
            KeyStatus::Pending
        } else {
            KeyStatus::Done
        };
        self.queue.push_back((key.to_owned(), status));
        fetch
    }

    /// Records a fetched key's outcome (a key from the listing or a retried failure).
    pub fn finished(&mut self, key: &str, ok: bool) {
        let status = if ok {
            KeyStatus::Done
        } else {
            KeyStatus::Failed
        };
        if let Some((_, s)) = self.queue.iter_mut().find(|(k, _)| k == key) {
            *s = status;
        }
        if ok {
            self.state.failed.remove(key);
            self.recent.insert(key.to_owned());
        } else {
            self.state.failed.insert(key.to_owned());
        }
    }

    /// Advances the checkpoint over every key read so far; returns whether it changed.
    pub fn advance(&mut self) -> bool {
        let old = self.state.clone();
        while let Some((_, s)) = self.queue.front() {
            if *s == KeyStatus::Pending {
                break;
            }
            if let Some((k, _)) = self.queue.pop_front() {
                self.state.last_key = k;
            }
        }
        let resume = resume_point(&self.prefix, &self.stem, &self.state.last_key);
        let mut done: BTreeSet<String> = self
            .before
            .done
            .iter()
            .chain(self.recent.iter())
            .filter(|k| k.as_str() > resume.as_str())
            .cloned()
            .collect();
        done.extend(
            self.queue
                .iter()
                .filter(|(_, s)| *s == KeyStatus::Done)
                .map(|(k, _)| k.clone()),
        );
        done.retain(|k| !self.state.failed.contains(k));
        self.state.done = done;
        self.recent.retain(|k| k.as_str() > resume.as_str());
        self.state.complete = self.closed
            && self.listing_over
            && self.listed_to_end
            && self.queue.is_empty()
            && self.state.first.is_empty()
            && self.state.failed.is_empty();
        self.state != old
    }

    /// Keys listed and not yet fetched.
    pub fn pending(&self) -> usize {
        self.queue
            .iter()
            .filter(|(_, s)| *s == KeyStatus::Pending)
            .count()
    }
}

/// Parses `YYYY-MM-DD` back into a day.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "AWSLogs/o-aa/111122223333/CloudTrail/us-east-1/2024/05/14/";
    const STEM: &str = "111122223333_CloudTrail_us-east-1_";

    fn key(hhmm: &str, unique: &str) -> String {
        format!("{PREFIX}{STEM}20240514T{hhmm}Z_{unique}.json.gz")
    }

    fn ms(t: &str) -> i64 {
        DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis()
    }

    #[test]
    fn roots_are_found_in_any_prefix_form() {
        let r = TrailRoot::parse("");
        assert_eq!(r.awslogs, "AWSLogs/");
        let r = TrailRoot::parse("org/trail");
        assert_eq!(r.awslogs, "org/trail/AWSLogs/");
        let r = TrailRoot::parse("org/AWSLogs/o-abc123/111122223333/");
        assert_eq!(r.awslogs, "org/AWSLogs/");
        assert_eq!(r.org.as_deref(), Some("o-abc123"));
        assert_eq!(r.account.as_deref(), Some("111122223333"));
        let r = TrailRoot::parse("AWSLogs/111122223333");
        assert_eq!(r.org, None);
        assert_eq!(r.account.as_deref(), Some("111122223333"));
    }

    #[test]
    fn days_cover_the_range_plus_the_delivery_lag() {
        let d = days(
            ms("2024-05-12T10:00:00Z"),
            ms("2024-05-14T23:30:00Z"),
            ms("2024-06-01T00:00:00Z"),
        );
        let names: Vec<_> = d.into_iter().map(day_name).collect();
        assert_eq!(
            names,
            ["2024-05-12", "2024-05-13", "2024-05-14", "2024-05-15"]
        );
        // Never a folder after now.
        let d = days(
            ms("2024-05-12T10:00:00Z"),
            ms("2024-05-14T23:30:00Z"),
            ms("2024-05-13T08:00:00Z"),
        );
        assert_eq!(d.len(), 2);
        assert!(!day_closed(
            parse_day("2024-05-14").unwrap(),
            ms("2024-05-15T00:30:00Z")
        ));
        assert!(day_closed(
            parse_day("2024-05-14").unwrap(),
            ms("2024-05-15T01:01:00Z")
        ));
    }

    #[test]
    fn key_times_and_resume_points() {
        assert_eq!(
            key_time(&key("0930", "abc")),
            Some(ms("2024-05-14T09:30:00Z"))
        );
        assert_eq!(key_time("AWSLogs/x/readme.txt"), None);
        let r = resume_point(PREFIX, STEM, &key("0930", "abc"));
        assert_eq!(r, format!("{PREFIX}{STEM}20240514T0915Z"));
        assert!(r < key("0915", "000") && r > key("0914", "zzz"));
        assert_eq!(resume_point(PREFIX, STEM, &key("0010", "abc")), "");
        assert_eq!(resume_point(PREFIX, STEM, ""), "");
        assert_eq!(resume_point(PREFIX, STEM, "odd-name"), "odd-name");
    }

    /// Runs a day read over a listing, finishing keys in the given order, and returns the state.
    fn run(before: DayState, listing: &[String], lo: Option<i64>) -> (Vec<String>, DayState) {
        let mut d = DayRun::plan(before, PREFIX.into(), STEM.into(), lo, None, false);
        let start = d.start_after.clone();
        let mut fetched = d.retries();
        for k in listing.iter().filter(|k| k.as_str() > start.as_str()) {
            if d.listed(k) {
                fetched.push(k.clone());
            }
        }
        d.listing_over = true;
        d.listed_to_end = true;
        for k in fetched.iter().rev() {
            d.finished(k, true);
        }
        d.advance();
        (fetched, d.state)
    }

    #[test]
    fn a_file_delivered_late_in_the_same_minute_is_still_read() {
        let first = vec![key("0900", "mmm"), key("0905", "zzz")];
        let (fetched, state) = run(DayState::default(), &first, None);
        assert_eq!(fetched, first);
        // `aaa` of 09:05 sorts before `zzz` but arrives after the first run.
        let mut second = first.clone();
        second.push(key("0905", "aaa"));
        second.sort();
        let (fetched, state) = run(state, &second, None);
        assert_eq!(fetched, [key("0905", "aaa")]);
        // A third run with nothing new reads nothing.
        let (fetched, _) = run(state, &second, None);
        assert!(fetched.is_empty());
    }

    #[test]
    fn an_earlier_since_fills_the_gap_before_the_first_run() {
        let all = vec![key("0100", "a"), key("0800", "b"), key("1300", "c")];
        let (fetched, state) = run(DayState::default(), &all, Some(ms("2024-05-14T07:00:00Z")));
        assert_eq!(fetched, [key("0800", "b"), key("1300", "c")]);
        let (fetched, state) = run(state, &all, None);
        assert_eq!(fetched, [key("0100", "a")]);
        assert_eq!(state.first, "");
    }

    #[test]
    fn a_later_since_still_keeps_the_checkpoint_contiguous() {
        let all: Vec<String> = ["0100", "0200", "0300", "0400"]
            .iter()
            .map(|t| key(t, "x"))
            .collect();
        // First run read up to 02:00 only.
        let mut d = DayRun::plan(
            DayState::default(),
            PREFIX.into(),
            STEM.into(),
            None,
            None,
            false,
        );
        for k in &all {
            d.listed(k);
        }
        d.finished(&all[0], true);
        d.finished(&all[1], true);
        d.advance();
        let state = d.state.clone();
        assert_eq!(state.last_key, all[1]);
        // A run for 03:00 on must not claim 02:00-03:00 without reading it.
        let (fetched, state) = run(state, &all, Some(ms("2024-05-14T03:00:00Z")));
        assert_eq!(fetched, [all[2].clone(), all[3].clone()]);
        assert_eq!(state.last_key, all[3]);
        assert_eq!(state.first, "");
    }

    #[test]
    fn failures_hold_back_nothing_but_themselves_and_are_retried() {
        let all: Vec<String> = ["0100", "0200", "0300"]
            .iter()
            .map(|t| key(t, "x"))
            .collect();
        let mut d = DayRun::plan(
            DayState::default(),
            PREFIX.into(),
            STEM.into(),
            None,
            None,
            true,
        );
        for k in &all {
            assert!(d.listed(k));
        }
        d.listing_over = true;
        d.listed_to_end = true;
        d.finished(&all[0], true);
        d.finished(&all[1], false);
        d.finished(&all[2], true);
        d.advance();
        assert_eq!(d.state.last_key, all[2]);
        assert_eq!(d.state.failed.iter().collect::<Vec<_>>(), [&all[1]]);
        assert!(!d.state.complete, "a failed key keeps the day open");
        // The next run skips the good keys and retries the failed one (by name: its listing
        // resumes after it).
        let (fetched, state) = run(d.state.clone(), &all, None);
        assert_eq!(fetched, [all[1].clone()]);
        assert!(state.failed.is_empty());
    }

    #[test]
    fn out_of_order_completion_holds_the_watermark() {
        let all: Vec<String> = ["0100", "0200", "0300"]
            .iter()
            .map(|t| key(t, "x"))
            .collect();
        let mut d = DayRun::plan(
            DayState::default(),
            PREFIX.into(),
            STEM.into(),
            None,
            None,
            false,
        );
        for k in &all {
            d.listed(k);
        }
        d.finished(&all[2], true);
        d.advance();
        assert_eq!(d.state.last_key, "");
        assert!(d.state.done.contains(&all[2]));
        // After a crash here, the next run fetches only the first two.
        let (fetched, _) = run(d.state.clone(), &all, None);
        assert_eq!(fetched, [all[0].clone(), all[1].clone()]);
    }

    #[test]
    fn a_closed_day_read_whole_is_complete() {
        let all = [key("0100", "a")];
        let mut d = DayRun::plan(
            DayState::default(),
            PREFIX.into(),
            STEM.into(),
            None,
            None,
            true,
        );
        d.listed(&all[0]);
        d.listing_over = true;
        d.listed_to_end = true;
        d.finished(&all[0], true);
        d.advance();
        assert!(d.state.complete);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn the_range_end_stops_a_listing() {
        let d = DayRun::plan(
            DayState::default(),
            PREFIX.into(),
            STEM.into(),
            None,
            Some(ms("2024-05-14T10:00:00Z")),
            false,
        );
        assert!(!d.beyond_range(&key("1000", "a")));
        assert!(d.beyond_range(&key("1001", "a")));
        assert!(!d.beyond_range(&format!("{PREFIX}other.json")));
    }
}

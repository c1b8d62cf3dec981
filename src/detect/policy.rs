//! The break-glass policy (`--policy FILE`): who may exec where, when, and how.
//!
//! The minimal form is a `[breakglass]` table of IAM role ARN globs (matched against the role
//! ARN *with* its path) and Identity Center permission-set names; then every session must use
//! one of them. `[default]` and `[[scope]]` tables refine that per account, cluster glob,
//! region or environment; `[logging]` names exec-logging destinations the trail cannot show;
//! `[probing]` and `[checks]` tune the built-in checks. Unknown keys are errors naming the file,
//! line and field. `queries/policy.toml` is the commented example.

use std::path::Path;

use chrono::{Datelike, FixedOffset, TimeZone, Timelike, Weekday};
use serde::Deserialize;
use toml::Spanned;

use super::severity::Severity;
use super::toml_file::{FileError, Source};
use crate::config::Pattern;
use crate::model::{ExecEvent, Session, Timestamp};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    breakglass: Option<BreakglassFile>,
    default: Option<Spanned<ScopeFile>>,
    #[serde(default)]
    scope: Vec<Spanned<ScopeFile>>,
    logging: Option<LoggingFile>,
    probing: Option<ProbingFile>,
    checks: Option<ChecksFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakglassFile {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    permission_sets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeFile {
    environment: Option<String>,
    accounts: Option<Vec<String>>,
    clusters: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    require_breakglass: Option<bool>,
    allowed_principals: Option<Vec<String>>,
    windows: Option<Vec<Spanned<WindowFile>>>,
    timezone: Option<Spanned<String>>,
    mfa_required: Option<bool>,
    max_session: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    allowed_initial_commands: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    #[serde(default)]
    days: Option<String>,
    from: String,
    to: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggingFile {
    #[serde(default)]
    log_groups: Vec<String>,
    #[serde(default)]
    buckets: Vec<String>,
    #[serde(default)]
    kms_keys: Vec<String>,
    #[serde(default)]
    trails: Vec<String>,
    min_retention_days: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbingFile {
    attempts: Option<Spanned<i64>>,
    within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    #[serde(default)]
    disabled: Vec<Spanned<String>>,
    #[serde(default)]
    severity: std::collections::BTreeMap<String, Spanned<Severity>>,
    enable_then_use_within: Option<Spanned<String>>,
}

/// A time zone: an IANA name (`Europe/Berlin`) or a fixed offset (`+02:00`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// A named zone with its daylight-saving rules.
    Named(chrono_tz::Tz),
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
}

impl Zone {
    /// Parses `UTC`, `Z`, `+02:00`, `-0530` or an IANA name.
    pub fn parse(text: &str) -> Option<Zone> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return FixedOffset::east_opt(0).map(Zone::Fixed);
        }
        if let Some(sign) = t
            .strip_prefix('+')
            .map(|r| (1, r))
            .or(t.strip_prefix('-').map(|r| (-1, r)))
        {
            let (s, rest) = sign;
            let digits: String = rest.chars().filter(|c| *c != ':').collect();
            if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
                let h: i32 = digits[..2].parse().ok()?;
                let m: i32 = digits[2..].parse().ok()?;
                return FixedOffset::east_opt(s * (h * 3600 + m * 60)).map(Zone::Fixed);
            }
            return None;
        }
        t.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// Local weekday and minute of the day of a UTC time.
    fn local(self, t: Timestamp) -> Option<(Weekday, u32)> {
        let utc = chrono::DateTime::from_timestamp_millis(t.0)?;
        let (wd, h, m) = match self {
            Zone::Named(tz) => {
                let l = tz.from_utc_datetime(&utc.naive_utc());
                (l.weekday(), l.hour(), l.minute())
            }
            Zone::Fixed(off) => {
                let l = off.from_utc_datetime(&utc.naive_utc());
                (l.weekday(), l.hour(), l.minute())
            }
        };
        Some((wd, h * 60 + m))
    }
}

/// An allowed time window: days of the week and a time range in the scope's zone (`to` before
/// `from` runs past midnight into the next day).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Days the window starts on (Monday = index 0).
    pub days: [bool; 7],
    /// Minutes after midnight, inclusive.
    pub from: u32,
    /// Minutes after midnight, exclusive.
    pub to: u32,
}

impl Window {
    fn contains(&self, day: Weekday, minute: u32) -> bool {
        let d = day.num_days_from_monday() as usize;
        let prev = (d + 6) % 7;
        if self.from < self.to {
            self.days[d] && minute >= self.from && minute < self.to
        } else {
            (self.days[d] && minute >= self.from) || (self.days[prev] && minute < self.to)
        }
    }
}

/// The rules that apply to a session: `[default]` with one `[[scope]]` laid over it.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The scope's environment name (`prod`), or `default`.
    pub environment: String,
    accounts: Option<Vec<Pattern>>,
    clusters: Option<Vec<Pattern>>,
    regions: Option<Vec<Pattern>>,
    /// Whether sessions must use a break-glass role or permission set.
    pub require_breakglass: bool,
    /// Principals allowed to exec (globs); `None`: anyone.
    pub allowed_principals: Option<Vec<Pattern>>,
    /// When sessions may start; `None`: any time.
    pub windows: Option<Vec<Window>>,
    /// The zone the windows are written in.
    pub zone: Option<Zone>,
    /// Whether MFA must be logged on the session.
    pub mfa_required: bool,
    /// Longest allowed session, seconds.
    pub max_session_s: Option<i64>,
    /// A reason the command string, `sourceIdentity` or role session name must carry.
    pub reason: Option<regex::Regex>,
    /// Initial commands allowed (globs over the `ExecuteCommand` command string).
    pub allowed_initial_commands: Option<Vec<Pattern>>,
}

impl Scope {
    fn selects(&self, s: &Session) -> bool {
        let any = |ps: &Option<Vec<Pattern>>, v: &Option<String>| {
            ps.as_ref().is_none_or(|ps| {
                v.as_deref()
                    .is_some_and(|v| ps.iter().any(|p| p.matches(v)))
            })
        };
        any(&self.accounts, &s.account)
            && (self.clusters.is_none()
                || any(&self.clusters, &s.cluster)
                || any(&self.clusters, &s.cluster_arn))
            && any(&self.regions, &s.region)
    }

    /// Whether a session start falls in an allowed window (true when no windows are set).
    pub fn in_window(&self, t: Timestamp) -> bool {
        let Some(windows) = &self.windows else {
            return true;
        };
        let zone = self
            .zone
            .unwrap_or(Zone::Fixed(FixedOffset::east_opt(0).expect("zero")));
        zone.local(t)
            .is_some_and(|(d, m)| windows.iter().any(|w| w.contains(d, m)))
    }
}

/// Exec-logging destinations the trail cannot show (globs), and the retention floor.
#[derive(Debug, Clone, Default)]
pub struct LoggingPolicy {
    /// CloudWatch log groups receiving transcripts (`DEFAULT` logging's awslogs groups too).
    pub log_groups: Vec<Pattern>,
    /// S3 buckets receiving transcripts.
    pub buckets: Vec<Pattern>,
    /// KMS keys protecting the channel or the logs (ids, ARNs or aliases).
    pub kms_keys: Vec<Pattern>,
    /// Trails that record exec (names or ARNs); empty: every trail counts.
    pub trails: Vec<Pattern>,
    /// Retention below this many days is a cut (default 90).
    pub min_retention_days: i64,
}

/// Tuning of the probing check.
#[derive(Debug, Clone, Copy)]
pub struct Probing {
    /// Failed attempts by one principal that make a finding.
    pub attempts: usize,
    /// Within this many seconds.
    pub within_s: i64,
}

/// A loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it was read from.
    pub file: String,
    breakglass_roles: Vec<Pattern>,
    breakglass_sets: Vec<Pattern>,
    /// Whether a `[breakglass]` table was given.
    pub has_breakglass: bool,
    default: Scope,
    scopes: Vec<Scope>,
    /// Destinations named by the policy.
    pub logging: LoggingPolicy,
    /// Probing thresholds.
    pub probing: Probing,
    /// Check and rule ids switched off, with their lines.
    pub disabled: Vec<(String, usize)>,
    /// Severity overrides by check or rule id, with their lines.
    pub severity: Vec<(String, Severity, usize)>,
    /// How soon after enabling exec a use by the same principal is a finding, seconds.
    pub enable_then_use_within_s: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            file: String::new(),
            breakglass_roles: Vec::new(),
            breakglass_sets: Vec::new(),
            has_breakglass: false,
            default: Scope {
                environment: "default".into(),
                ..Scope::default()
            },
            scopes: Vec::new(),
            logging: LoggingPolicy {
                min_retention_days: 90,
                ..LoggingPolicy::default()
            },
            probing: Probing {
                attempts: 3,
                within_s: 3600,
            },
            disabled: Vec::new(),
            severity: Vec::new(),
            enable_then_use_within_s: 86_400,
        }
    }
}

/// Parses `90m`, `1h`, `2h30m`, `1d`, `45s` into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: i64 = num.parse().ok()?;
            num.clear();
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return None,
            };
            total = total.checked_add(n.checked_mul(unit)?)?;
        }
    }
    num.is_empty().then_some(total).filter(|&s| s > 0)
}

fn parse_days(text: &str) -> Option<[bool; 7]> {
    const NAMES: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    // A day is its full name or any prefix of at least three letters (`Mon`, `Thurs`).
    let day = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        NAMES.iter().position(|n| s.len() >= 3 && n.starts_with(&s))
    };
    let t = text.trim();
    if t == "*" || t.eq_ignore_ascii_case("all") {
        return Some([true; 7]);
    }
    let mut days = [false; 7];
    for part in t.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Some(days)
}

fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn patterns(v: &[String]) -> Vec<Pattern> {
    v.iter().map(|p| Pattern::new(p)).collect()
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, FileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FileError {
            file: name.clone(),
            line: 0,
            field: String::new(),
            message: format!("cannot read the policy: {e}"),
        })?;
        Policy::parse(&name, &text)
    }

    /// Parses and validates a policy document.
    pub fn parse(file: &str, text: &str) -> Result<Policy, FileError> {
        let src = Source { file, text };
        let raw: PolicyFile = src.parse()?;
        let mut p = Policy {
            file: file.to_owned(),
            ..Policy::default()
        };
        if let Some(bg) = &raw.breakglass {
            p.has_breakglass = true;
            p.breakglass_roles = patterns(&bg.roles);
            p.breakglass_sets = patterns(&bg.permission_sets);
            if bg.roles.is_empty() && bg.permission_sets.is_empty() {
                return Err(FileError {
                    file: file.to_owned(),
                    line: text
                        .lines()
                        .position(|l| l.trim() == "[breakglass]")
                        .map_or(0, |i| i + 1),
                    field: "breakglass".into(),
                    message:
                        "names no roles and no permission sets: nothing could ever be break-glass"
                            .into(),
                });
            }
        }
        let base = Scope {
            environment: "default".into(),
            require_breakglass: p.has_breakglass,
            ..Scope::default()
        };
        p.default = match &raw.default {
            Some(d) => {
                let s = d.get_ref();
                if s.environment.is_some()
                    || s.accounts.is_some()
                    || s.clusters.is_some()
                    || s.regions.is_some()
                {
                    return Err(src.error(
                        d.span(),
                        "default",
                        "[default] applies to every session no [[scope]] selects: environment, accounts, clusters and regions belong in a [[scope]]",
                    ));
                }
                overlay(&src, &base, s, "default")?
            }
            None => base,
        };
        for (i, s) in raw.scope.iter().enumerate() {
            let field = format!("scope[{i}]");
            let f = s.get_ref();
            if f.accounts.is_none() && f.clusters.is_none() && f.regions.is_none() {
                return Err(src.error(
                    s.span(),
                    &field,
                    "selects nothing: give accounts, clusters or regions",
                ));
            }
            let mut scope = overlay(&src, &p.default, f, &field)?;
            scope.environment = f
                .environment
                .clone()
                .unwrap_or_else(|| format!("scope {}", i + 1));
            scope.accounts = f.accounts.as_deref().map(patterns);
            scope.clusters = f.clusters.as_deref().map(patterns);
            scope.regions = f.regions.as_deref().map(patterns);
            p.scopes.push(scope);
        }
        if let Some(l) = &raw.logging {
            p.logging.log_groups = patterns(&l.log_groups);
            p.logging.buckets = patterns(&l.buckets);
            p.logging.kms_keys = patterns(&l.kms_keys);
            p.logging.trails = patterns(&l.trails);
            if let Some(d) = &l.min_retention_days {
                if *d.get_ref() < 1 {
                    return Err(src.error(
                        d.span(),
                        "logging.min_retention_days",
                        "must be at least 1",
                    ));
                }
                p.logging.min_retention_days = *d.get_ref();
            }
        }
        if let Some(pr) = &raw.probing {
            if let Some(a) = &pr.attempts {
                if *a.get_ref() < 2 {
                    return Err(src.error(a.span(), "probing.attempts", "must be at least 2"));
                }
                p.probing.attempts = usize::try_from(*a.get_ref()).unwrap_or(usize::MAX);
            }
            if let Some(w) = &pr.within {
                p.probing.within_s = duration(&src, w, "probing.within")?;
            }
        }
        if let Some(c) = &raw.checks {
            p.disabled = c
                .disabled
                .iter()
                .map(|d| (d.get_ref().clone(), src.line_of(d.span().start)))
                .collect();
            p.severity = c
                .severity
                .iter()
                .map(|(id, s)| (id.clone(), *s.get_ref(), src.line_of(s.span().start)))
                .collect();
            if let Some(w) = &c.enable_then_use_within {
                p.enable_then_use_within_s = duration(&src, w, "checks.enable_then_use_within")?;
            }
        }
        Ok(p)
    }

    /// The scope that applies to a session: the first `[[scope]]` selecting it, else `[default]`.
    pub fn scope_for(&self, s: &Session) -> &Scope {
        self.scopes
            .iter()
            .find(|sc| sc.selects(s))
            .unwrap_or(&self.default)
    }

    /// Whether a session's role (ARN with path) or permission set is a break-glass one.
    pub fn is_breakglass(&self, s: &Session) -> bool {
        s.role_arn
            .as_deref()
            .is_some_and(|r| self.breakglass_roles.iter().any(|p| p.matches(r)))
            || s.sso_permission_set
                .as_deref()
                .is_some_and(|ps| self.breakglass_sets.iter().any(|p| p.matches(ps)))
    }

    /// A check or rule id's severity after the policy's overrides.
    pub fn severity_of(&self, id: &str, default: Severity) -> Severity {
        self.severity
            .iter()
            .find(|(i, _, _)| i == id)
            .map_or(default, |(_, s, _)| *s)
    }

    /// Whether the policy switched a check or rule off.
    pub fn is_disabled(&self, id: &str) -> bool {
        self.disabled.iter().any(|(d, _)| d == id)
    }
}

fn duration(src: &Source, v: &Spanned<String>, field: &str) -> Result<i64, FileError> {
    parse_duration(v.get_ref()).ok_or_else(|| {
        src.error(
            v.span(),
            field,
            format!(
                "cannot read {:?} as a duration: use 90m, 1h, 2h30m, 1d",
                v.get_ref()
            ),
        )
    })
}

/// `base` with the settings `f` gives laid over it.
fn overlay(src: &Source, base: &Scope, f: &ScopeFile, field: &str) -> Result<Scope, FileError> {
    let mut s = base.clone();
    if let Some(v) = f.require_breakglass {
        s.require_breakglass = v;
    }
    if let Some(v) = &f.allowed_principals {
        s.allowed_principals = Some(patterns(v));
    }
    if let Some(tz) = &f.timezone {
        s.zone = Some(Zone::parse(tz.get_ref()).ok_or_else(|| {
            src.error(
                tz.span(),
                &format!("{field}.timezone"),
                format!("unknown time zone {:?}: use an IANA name (Europe/Berlin), UTC or an offset (+02:00)", tz.get_ref()),
            )
        })?);
    }
    if let Some(ws) = &f.windows {
        let mut out = Vec::new();
        for (i, w) in ws.iter().enumerate() {
            let wf = w.get_ref();
            let here = format!("{field}.windows[{i}]");
            let days = match &wf.days {
                None => [true; 7],
                Some(d) => parse_days(d).ok_or_else(|| {
                    src.error(
                        w.span(),
                        &format!("{here}.days"),
                        format!("cannot read {d:?}: use Mon-Fri, Sat,Sun or *"),
                    )
                })?,
            };
            let clock = |v: &str, name: &str| {
                parse_clock(v).ok_or_else(|| {
                    src.error(
                        w.span(),
                        &format!("{here}.{name}"),
                        format!("cannot read {v:?} as a time of day: use 08:00"),
                    )
                })
            };
            let (from, to) = (clock(&wf.from, "from")?, clock(&wf.to, "to")?);
            if from == to {
                return Err(src.error(
                    w.span(),
                    &here,
                    "from and to are equal: the window is empty",
                ));
            }
            out.push(Window { days, from, to });
        }
        s.windows = Some(out);
    }
    if let Some(v) = f.mfa_required {
        s.mfa_required = v;
    }
    if let Some(m) = &f.max_session {
        s.max_session_s = Some(duration(src, m, &format!("{field}.max_session"))?);
    }
    if let Some(r) = &f.reason {
        s.reason = Some(regex::Regex::new(r.get_ref()).map_err(|e| {
            src.error(
                r.span(),
                &format!("{field}.reason"),
                format!(
                    "pattern does not compile: {}",
                    e.to_string().replace('\n', "\n    ")
                ),
            )
        })?);
    }
    if let Some(v) = &f.allowed_initial_commands {
        s.allowed_initial_commands = Some(patterns(v));
    }
    Ok(s)
}

/// Where a session's reason was looked for: the command string, `sourceIdentity`, and the role
/// session name (last segment of the STS ARN).
pub fn reason_texts<'a>(s: &'a Session, e: Option<&'a ExecEvent>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    v.extend(s.command.as_deref());
    if let Some(e) = e {
        v.extend(e.source_identity.as_deref());
        v.extend(
            e.principal_arn
                .as_deref()
                .and_then(|a| a.split_once(":assumed-role/"))
                .and_then(|(_, r)| r.split_once('/'))
                .map(|(_, session)| session),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(role: &str, set: Option<&str>, cluster: &str) -> Session {
        Session {
            role_arn: Some(role.into()),
            sso_permission_set: set.map(Into::into),
            cluster: Some(cluster.into()),
            account: Some("111122223333".into()),
            ..Session::default()
        }
    }

    #[test]
    fn the_minimal_form_works_exactly_as_documented() {
        let p = Policy::parse(
            "p.toml",
            r#"
[breakglass]
roles = ["arn:aws:iam::*:role/emergency/BreakGlass*"]   # IAM role ARN globs, matched against the role ARN WITH its path
permission_sets = ["BreakGlassAdmin"]                   # Identity Center permission-set names
"#,
        )
        .unwrap();
        let bg = session(
            "arn:aws:iam::111122223333:role/emergency/BreakGlassOps",
            None,
            "c",
        );
        let no_path = session("arn:aws:iam::111122223333:role/BreakGlassOps", None, "c");
        let sso = session(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_BreakGlassAdmin_0123456789abcdef",
            Some("BreakGlassAdmin"),
            "c",
        );
        let dev = session(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_0123456789abcdef",
            Some("Developer"),
            "c",
        );
        assert!(p.is_breakglass(&bg) && p.is_breakglass(&sso));
        assert!(!p.is_breakglass(&no_path) && !p.is_breakglass(&dev));
        assert!(p.scope_for(&dev).require_breakglass);
    }

    #[test]
    fn scopes_override_the_default_in_file_order() {
        let p = Policy::parse(
            "p.toml",
            r#"
[breakglass]
permission_sets = ["BreakGlass"]
[default]
mfa_required = true
[[scope]]
environment = "staging"
clusters = ["*-staging"]
require_breakglass = false
[[scope]]
environment = "prod"
accounts = ["111122223333"]
max_session = "1h30m"
timezone = "Europe/Berlin"
windows = [{ days = "Mon-Fri", from = "08:00", to = "18:00" }]
"#,
        )
        .unwrap();
        let staging = p.scope_for(&session("r", None, "web-staging"));
        assert_eq!(staging.environment, "staging");
        assert!(!staging.require_breakglass && staging.mfa_required);
        let prod = p.scope_for(&session("r", None, "payments-prod"));
        assert_eq!(
            (prod.environment.as_str(), prod.max_session_s),
            ("prod", Some(5400))
        );
        // 2024-11-18 (Monday) 06:30 UTC is 07:30 in Berlin: outside; 07:30 UTC is 08:30: inside.
        assert!(!prod.in_window(Timestamp::parse("2024-11-18T06:30:00Z").unwrap()));
        assert!(prod.in_window(Timestamp::parse("2024-11-18T07:30:00Z").unwrap()));
        // Summer time: 2024-07-01 06:30 UTC is 08:30 in Berlin.
        assert!(prod.in_window(Timestamp::parse("2024-07-01T06:30:00Z").unwrap()));
        // Saturday.
        assert!(!prod.in_window(Timestamp::parse("2024-11-23T10:00:00Z").unwrap()));
    }

    #[test]
    fn overnight_windows_and_fixed_offsets() {
        let w = Window {
            days: parse_days("Fri").unwrap(),
            from: 22 * 60,
            to: 6 * 60,
        };
        assert!(w.contains(Weekday::Fri, 23 * 60) && w.contains(Weekday::Sat, 5 * 60));
        assert!(!w.contains(Weekday::Sat, 23 * 60) && !w.contains(Weekday::Fri, 5 * 60));
        assert_eq!(
            Zone::parse("+05:30"),
            FixedOffset::east_opt(19800).map(Zone::Fixed)
        );
        assert!(Zone::parse("Mars/Olympus").is_none());
        assert_eq!(
            parse_days("Sat-Mon").unwrap(),
            [true, false, false, false, false, true, true]
        );
        assert_eq!(parse_duration("2h30m"), Some(9000));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration("30"), None);
    }

    #[test]
    fn mistakes_name_the_line_and_field() {
        let cases = [
            ("[breakglass]\nroles = [\"a\"]\nrolez = []\n", 3, "breakglass.rolez"),
            ("[breakglass]\nroles = [\"a\"]\n[[scope]]\nclusters = [\"x\"]\ntimezone = \"Mars/Base\"\n", 5, "scope[0].timezone"),
            ("[default]\nmax_session = \"forever\"\n", 2, "default.max_session"),
            ("[default]\nreason = \"INC-(\"\n", 2, "default.reason"),
            ("[[scope]]\nenvironment = \"x\"\nmfa_required = true\n", 1, "scope[0]"),
            ("[probing]\nattempts = 1\n", 2, "probing.attempts"),
            ("[checks.severity]\nexec-probing = \"severe\"\n", 2, "checks.severity.exec-probing"),
            ("[breakglass]\n", 1, "breakglass"),
        ];
        for (text, line, field) in cases {
            let e = Policy::parse("p.toml", text).unwrap_err();
            assert_eq!((e.line, e.field.as_str()), (line, field), "{text}: {e}");
        }
    }
}

//! Resolve: raw CLI values -> validated settings (filters, times, store path), once.

use std::path::PathBuf;

use crate::model::{ControlEvent, ExecEvent, Timestamp};

/// A user-supplied value that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

/// A name pattern: exact (case-insensitive), or a glob with `*` and `?`.
#[derive(Debug, Clone)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(p: &str) -> Pattern {
        Pattern(p.to_lowercase())
    }

    /// The pattern as given (lower-cased).
    pub fn text(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, value: &str) -> bool {
        glob(self.0.as_bytes(), value.to_lowercase().as_bytes())
    }

    /// The parts of an ECS ARN pattern of `kind` (`cluster`, `task`):
    /// `arn:<partition>:ecs:<region>:<account>:<kind>/.../<name>` gives the region, account and
    /// name (the last path segment: a cluster's name, a task's id), each a pattern. Events that
    /// name a resource by its name alone (failed calls, control events) are matched by these.
    pub fn ecs_arn(&self, kind: &str) -> Option<(Pattern, Pattern, Pattern)> {
        let parts: Vec<&str> = self.0.splitn(6, ':').collect();
        let [arn, _, _, region, account, resource] = parts.as_slice() else {
            return None;
        };
        if *arn != "arn" {
            return None;
        }
        let path = resource.strip_prefix(kind)?.strip_prefix('/')?;
        let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
        // A glob over a task id (`task/payments-prod/*`) would stand for every task of the
        // account and region, its cluster forgotten: such a pattern matches task ARNs only.
        if kind == "task" && path.contains('/') && name.contains(['*', '?']) {
            return None;
        }
        Some((
            Pattern((*region).into()),
            Pattern((*account).into()),
            Pattern(name.into()),
        ))
    }

    /// Whether a cluster or task (`kind`), named by `value` (name, id or ARN) in `account` and
    /// `region`, matches: the value itself, or the name an ARN pattern gives, in its account
    /// and region (where those are known).
    pub fn matches_resource(
        &self,
        kind: &str,
        value: Option<&str>,
        account: Option<&str>,
        region: Option<&str>,
    ) -> bool {
        let Some(value) = value else {
            return false;
        };
        if self.matches(value) {
            return true;
        }
        let Some((r, a, name)) = self.ecs_arn(kind) else {
            return false;
        };
        let last = value.rsplit('/').next().unwrap_or(value);
        name.matches(last)
            && account.is_none_or(|v| a.matches(v))
            && region.is_none_or(|v| r.matches(v))
    }

    /// Whether a caller matches: the principal, its ARN, the role ARN, the role's name or its
    /// Identity Center permission set (as `sessions` matches exec events, which carry the last
    /// two as columns).
    pub fn matches_who(
        &self,
        principal: Option<&str>,
        principal_arn: Option<&str>,
        role_arn: Option<&str>,
    ) -> bool {
        let role_name = role_arn
            .filter(|a| a.contains(":role/"))
            .and_then(|a| a.rsplit('/').next());
        [principal, principal_arn, role_arn, role_name]
            .into_iter()
            .flatten()
            .any(|v| self.matches(v))
            || role_name
                .and_then(crate::model::identity::sso_permission_set)
                .is_some_and(|set| self.matches(&set))
    }

    fn any(&self, values: &[&Option<String>]) -> bool {
        values
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| self.matches(v)))
    }
}

fn glob(p: &[u8], v: &[u8]) -> bool {
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Which rows to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Matches the principal, its ARN, the role ARN or name, or the SSO permission set.
    pub principal: Option<Pattern>,
    /// Matches the cluster name or ARN.
    pub cluster: Option<Pattern>,
    /// Matches the task id or ARN.
    pub task: Option<Pattern>,
    /// Matches the container name.
    pub container: Option<Pattern>,
    /// Inclusive lower bound.
    pub since: Option<Timestamp>,
    /// Exclusive upper bound.
    pub until: Option<Timestamp>,
    /// Exactly this session id.
    pub session: Option<String>,
}

impl Filter {
    /// Whether a time passes the time bounds.
    pub fn time_matches(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether an exec event passes.
    pub fn matches_exec(&self, e: &ExecEvent) -> bool {
        let (account, region) = (e.account.as_deref(), e.region.as_deref());
        self.time_matches(e.event_time)
            && self.principal.as_ref().is_none_or(|p| {
                p.any(&[
                    &e.principal,
                    &e.principal_arn,
                    &e.role_arn,
                    &e.role_name,
                    &e.sso_permission_set,
                    &e.source_identity,
                ])
            })
            && self.cluster.as_ref().is_none_or(|p| {
                p.any(&[&e.cluster_arn])
                    || p.matches_resource("cluster", e.cluster.as_deref(), account, region)
            })
            && self.task.as_ref().is_none_or(|p| {
                p.any(&[&e.task_arn])
                    || p.matches_resource("task", e.task_id.as_deref(), account, region)
            })
            && self
                .container
                .as_ref()
                .is_none_or(|p| p.any(&[&e.container]))
    }

    /// Whether a control event passes (task and container filters apply where the event names them).
    pub fn matches_control(&self, e: &ControlEvent) -> bool {
        let (account, region) = (e.account.as_deref(), e.region.as_deref());
        self.time_matches(e.event_time)
            && self.principal.as_ref().is_none_or(|p| {
                p.matches_who(
                    e.principal.as_deref(),
                    e.principal_arn.as_deref(),
                    e.role_arn.as_deref(),
                )
            })
            && self.cluster.as_ref().is_none_or(|p| {
                p.matches_resource("cluster", e.cluster.as_deref(), account, region)
            })
            && self.task.as_ref().is_none_or(|p| {
                e.task_ids.as_deref().is_some_and(|ids| {
                    ids.split(',')
                        .any(|id| p.matches_resource("task", Some(id), account, region))
                })
            })
            && self.container.as_ref().is_none_or(|p| {
                e.command_overrides.as_deref().is_some_and(|o| {
                    o.split("; ")
                        .any(|c| p.matches(c.split(':').next().unwrap_or("")))
                })
            })
    }

    /// Whether a filter names who or where (then rows without a session, such as orphan
    /// transcripts' commands, cannot match).
    pub fn names_a_target(&self) -> bool {
        self.principal.is_some()
            || self.cluster.is_some()
            || self.task.is_some()
            || self.container.is_some()
    }

    /// The store partitions (days) the time bounds can touch.
    pub fn day_range(&self) -> Option<(String, String)> {
        if self.since.is_none() && self.until.is_none() {
            return None;
        }
        let first = self
            .since
            .map_or_else(|| "0000-00-00".to_owned(), Timestamp::bound_day);
        let last = self.until.map_or_else(
            || "9999-99-99".to_owned(),
            |u| Timestamp(u.0.saturating_sub(1)).bound_day(),
        );
        Some((first, last))
    }
}

/// Parses `--since`/`--until`: RFC 3339, `YYYY-MM-DD[THH:MM[:SS]]` (UTC), or a duration ago
/// (`90m`, `36h`, `7d`, `2w`).
pub fn parse_time(
    flag: &'static str,
    text: &str,
    now: Timestamp,
) -> Result<Timestamp, ConfigError> {
    let t = text.trim();
    if let Some(ts) = Timestamp::parse(t) {
        return Ok(ts);
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Timestamp(n.and_utc().timestamp_millis()));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Timestamp(
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_millis(),
        ));
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => 0,
    };
    let ago = match n.parse::<i64>() {
        Ok(n) if unit_ms > 0 => n,
        _ => {
            return Err(ConfigError {
                flag,
                message: format!("cannot read {text:?} as a time: use 2024-05-14, 2024-05-14T09:00:00Z, or 7d / 36h / 90m ago"),
            })
        }
    };
    // Far enough back to overflow (or to leave the calendar) is a typo, not a time.
    ago.checked_mul(unit_ms)
        .and_then(|ms| now.0.checked_sub(ms))
        .filter(|&t| chrono::DateTime::from_timestamp_millis(t).is_some())
        .map(Timestamp)
        .ok_or_else(|| ConfigError {
            flag,
            message: format!("{text:?} reaches outside the dates this tool can represent"),
        })
}

/// Parses `--max-file-bytes`: a byte count with an optional binary unit (`K`, `M`, `G`, `T`,
/// also written `KiB`, `MB`...: all powers of 1024).
pub fn parse_size(flag: &'static str, text: &str) -> Result<u64, ConfigError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => 64,
    };
    n.parse::<u64>()
        .ok()
        .filter(|&n| shift < 64 && n > 0)
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| ConfigError {
            flag,
            message: format!("cannot read {text:?} as a size: use e.g. 64M, 1G or 1048576"),
        })
}

/// The read options of `audit` and `ingest`.
pub fn scan_options(
    args: &crate::cli::ReadArgs,
) -> Result<crate::ingest::ScanOptions, ConfigError> {
    let mut opts = crate::ingest::ScanOptions::default();
    if let Some(t) = &args.max_file_bytes {
        opts.max_file_bytes = parse_size("--max-file-bytes", t)?;
    }
    Ok(opts)
}

/// The store folder: `--store`, else `$EXECAUDIT_STORE`, else `$XDG_DATA_HOME/execaudit/store`
/// (`~/.local/share/execaudit/store`).
pub fn store_path(flag: Option<PathBuf>) -> PathBuf {
    if let Some(p) = flag {
        return p;
    }
    if let Some(p) = std::env::var_os("EXECAUDIT_STORE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("execaudit").join("store")
}

impl Filter {
    /// Resolves the filter flags; `now` anchors relative times.
    pub fn from_args(args: &crate::cli::FilterArgs, now: Timestamp) -> Result<Filter, ConfigError> {
        let time =
            |flag, v: &Option<String>| v.as_deref().map(|t| parse_time(flag, t, now)).transpose();
        let filter = Filter {
            principal: args.principal.as_deref().map(Pattern::new),
            cluster: args.cluster.as_deref().map(Pattern::new),
            task: args.task.as_deref().map(Pattern::new),
            container: args.container.as_deref().map(Pattern::new),
            since: time("--since", &args.since)?,
            until: time("--until", &args.until)?,
            session: None,
        };
        if let (Some(s), Some(u)) = (filter.since, filter.until) {
            if u <= s {
                return Err(ConfigError {
                    flag: "--until",
                    message: "must be later than --since".into(),
                });
            }
        }
        Ok(filter)
    }
}

/// Now, as a [`Timestamp`].
pub fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_patterns_match_resources_named_without_their_arn() {
        let p = Pattern::new("arn:aws:ecs:us-east-1:111122223333:cluster/Payments-*");
        let (region, account, name) = p.ecs_arn("cluster").unwrap();
        assert_eq!(
            (region.text(), account.text(), name.text()),
            ("us-east-1", "111122223333", "payments-*")
        );
        assert!(p.ecs_arn("task").is_none());
        assert!(Pattern::new("payments-prod").ecs_arn("cluster").is_none());
        let all_tasks = "arn:aws:ecs:us-east-1:111122223333:task/payments-prod/*";
        assert!(Pattern::new(all_tasks).ecs_arn("task").is_none());
        let here = (Some("111122223333"), Some("us-east-1"));
        assert!(p.matches_resource("cluster", Some("payments-prod"), here.0, here.1));
        assert!(p.matches_resource("cluster", Some("payments-prod"), None, None));
        assert!(!p.matches_resource(
            "cluster",
            Some("payments-prod"),
            Some("999999999999"),
            here.1
        ));
        assert!(!p.matches_resource("cluster", Some("payments-prod"), here.0, Some("eu-west-1")));
        assert!(!p.matches_resource("cluster", Some("web-prod"), here.0, here.1));
        assert!(!p.matches_resource("cluster", None, here.0, here.1));
        // A task ARN, with or without its cluster, gives the task id.
        for arn in [
            "arn:aws:ecs:us-east-1:111122223333:task/payments-prod/88bf49d0",
            "arn:aws:ecs:us-east-1:111122223333:task/88bf49d0",
        ] {
            let t = Pattern::new(arn);
            assert!(
                t.matches_resource("task", Some("88bf49d0"), here.0, here.1),
                "{arn}"
            );
            assert!(
                !t.matches_resource("task", Some("88bf49d1"), here.0, here.1),
                "{arn}"
            );
        }
    }

    #[test]
    fn who_matches_the_role_name_and_permission_set_of_a_role_arn() {
        let role = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_1a2b3c4d5e6f7a8b";
        for p in [
            "developer",
            "Dev*",
            "AWSReservedSSO_Developer_1a2b3c4d5e6f7a8b",
            role,
            "maria*",
        ] {
            assert!(
                Pattern::new(p).matches_who(Some("maria@example.com"), None, Some(role)),
                "{p}"
            );
        }
        for p in [
            "BreakGlass",
            "sso.amazonaws.com",
            "1a2b3c4d5e6f7a8b",
            "aws-reserved",
        ] {
            assert!(
                !Pattern::new(p).matches_who(Some("maria@example.com"), None, Some(role)),
                "{p}"
            );
        }
        // Not an SSO role: its name, no permission set.
        let plain = "arn:aws:iam::111122223333:role/ops/BreakGlassAdmin";
        assert!(Pattern::new("breakglassadmin").matches_who(None, None, Some(plain)));
        assert!(!Pattern::new("ops").matches_who(None, None, Some(plain)));
    }

    #[test]
    fn patterns_are_exact_or_glob_and_case_insensitive() {
        assert!(Pattern::new("Alice@Example.com").matches("alice@example.com"));
        assert!(!Pattern::new("alice").matches("alice@example.com"));
        assert!(Pattern::new("alice*").matches("alice@example.com"));
        assert!(Pattern::new("*prod*").matches("payments-prod-eu"));
        assert!(Pattern::new("t?sk").matches("task"));
        assert!(!Pattern::new("*prod").matches("prod-x"));
    }

    #[test]
    fn times_absolute_and_relative() {
        let now = Timestamp(1_000_000_000_000);
        assert_eq!(
            parse_time("--since", "7d", now).unwrap(),
            Timestamp(now.0 - 7 * 86_400_000)
        );
        assert_eq!(
            parse_time("--since", "2024-05-14", now).unwrap(),
            Timestamp::parse("2024-05-14T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time("--since", "2024-05-14T09:30", now).unwrap(),
            Timestamp::parse("2024-05-14T09:30:00Z").unwrap()
        );
        assert!(parse_time("--since", "last tuesday", now).is_err());
    }

    #[test]
    fn times_out_of_range_are_refused_not_wrapped() {
        let now = Timestamp(1_000_000_000_000);
        for t in ["99999999d", "9223372036854775807s", "99999999999w"] {
            let e = parse_time("--since", t, now).unwrap_err();
            assert!(e.message.contains("outside"), "{t}: {e}");
        }
        assert!(parse_time("--since", "36500d", now).is_ok());
    }

    #[test]
    fn sizes_with_binary_units() {
        assert_eq!(parse_size("f", "1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("f", "64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("f", "2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("f", "512k").unwrap(), 512 << 10);
        for bad in ["", "0", "12Q", "-5M", "99999999999999999999T", "1.5G"] {
            assert!(parse_size("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_range_covers_the_bounds() {
        let f = Filter {
            since: Timestamp::parse("2024-05-14T10:00:00Z"),
            until: Timestamp::parse("2024-05-16T00:00:00Z"),
            ..Filter::default()
        };
        assert_eq!(
            f.day_range(),
            Some(("2024-05-14".into(), "2024-05-15".into()))
        );
    }
}

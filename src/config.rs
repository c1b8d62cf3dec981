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
            && self
                .cluster
                .as_ref()
                .is_none_or(|p| p.any(&[&e.cluster, &e.cluster_arn]))
            && self
                .task
                .as_ref()
                .is_none_or(|p| p.any(&[&e.task_id, &e.task_arn]))
            && self
                .container
                .as_ref()
                .is_none_or(|p| p.any(&[&e.container]))
    }

    /// Whether a control event passes (task and container filters apply where the event names them).
    pub fn matches_control(&self, e: &ControlEvent) -> bool {
        self.time_matches(e.event_time)
            && self
                .principal
                .as_ref()
                .is_none_or(|p| p.any(&[&e.principal, &e.principal_arn, &e.role_arn]))
            && self.cluster.as_ref().is_none_or(|p| p.any(&[&e.cluster]))
            && self.task.as_ref().is_none_or(|p| {
                e.task_ids
                    .as_deref()
                    .is_some_and(|ids| ids.split(',').any(|id| p.matches(id)))
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
            .map_or_else(|| "0000-00-00".to_owned(), Timestamp::day);
        let last = self
            .until
            .map_or_else(|| "9999-99-99".to_owned(), |u| Timestamp(u.0 - 1).day());
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
    match n.parse::<i64>() {
        Ok(n) if unit_ms > 0 => Ok(Timestamp(now.0 - n * unit_ms)),
        _ => Err(ConfigError {
            flag,
            message: format!("cannot read {text:?} as a time: use 2024-05-14, 2024-05-14T09:00:00Z, or 7d / 36h / 90m ago"),
        }),
    }
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

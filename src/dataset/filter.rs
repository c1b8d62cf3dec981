//! The user's filters (`--principal`, `--cluster`, `--task`, `--container`, `--since`,
//! `--until`, a session) as polars expressions, so they run inside the scan: day partitions
//! pruned, predicates pushed down to the Parquet reader.

use polars::prelude::*;

use crate::config::{Filter, Pattern};
use crate::model::Timestamp;
use crate::store::Days;

/// How long after its start a session's transcript may be filed (sessions end, then the agent
/// uploads): transcripts and commands are looked for up to this long after `--until`.
pub const TRANSCRIPT_LAG_MS: i64 = 2 * 86_400_000;

/// A datetime literal in the store's unit.
pub fn ts(t: Timestamp) -> Expr {
    Expr::Literal(Scalar::new_datetime(t.0, TimeUnit::Milliseconds, None).into())
}

/// A regular expression matching the whole value for a pattern, case-insensitively; `item`
/// is what `*` and `?` may not cross (for patterns matched inside lists).
fn pattern_regex(p: &Pattern, item_sep: &str) -> String {
    let any = if item_sep.is_empty() {
        ".".to_owned()
    } else {
        format!("[^{}]", regex::escape(item_sep))
    };
    let mut re = String::from("(?i)");
    let mut buf = [0u8; 4];
    for c in p.text().chars() {
        match c {
            '*' => re.push_str(&format!("{any}*")),
            '?' => re.push_str(&any),
            c => re.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
    }
    re
}

/// `column` matches the pattern (null never does).
fn matches(column: &str, p: &Pattern) -> Expr {
    col(column)
        .str()
        .contains(lit(format!("^{}$", pattern_regex(p, ""))), true)
        .fill_null(lit(false))
}

/// Any of `columns` matches.
fn any(columns: &[&str], p: &Pattern) -> Expr {
    columns
        .iter()
        .map(|c| matches(c, p))
        .reduce(Expr::or)
        .unwrap_or(lit(true))
}

fn and(a: Option<Expr>, b: Expr) -> Option<Expr> {
    Some(match a {
        Some(a) => a.and(b),
        None => b,
    })
}

/// Time bounds on a column.
pub fn time_expr(f: &Filter, column: &str) -> Option<Expr> {
    let mut e = None;
    if let Some(s) = f.since {
        e = and(e, col(column).gt_eq(ts(s)));
    }
    if let Some(u) = f.until {
        e = and(e, col(column).lt(ts(u)));
    }
    e
}

/// Who and where on exec events (or frames with their columns: `principal_arn`, `role_name`
/// and `source_identity` are matched only when `full` says the frame has them).
pub fn target_expr(f: &Filter, full: bool) -> Option<Expr> {
    let mut e = None;
    if let Some(p) = &f.principal {
        let cols: &[&str] = if full {
            &[
                "principal",
                "principal_arn",
                "role_arn",
                "role_name",
                "sso_permission_set",
                "source_identity",
            ]
        } else {
            &["principal", "role_arn", "sso_permission_set"]
        };
        e = and(e, any(cols, p));
    }
    if let Some(p) = &f.cluster {
        let named = any(&["cluster", "cluster_arn"], p);
        e = and(e, or_some(named, arn_name("cluster", p, "cluster", full)));
    }
    if let Some(p) = &f.task {
        let named = any(&["task_id", "task_arn"], p);
        e = and(e, or_some(named, arn_name("task_id", p, "task", full)));
    }
    if let Some(p) = &f.container {
        e = and(e, matches("container", p));
    }
    if let Some(s) = &f.session {
        e = and(e, col("session_id").eq(lit(s.clone())));
    }
    e
}

fn or_some(a: Expr, b: Option<Expr>) -> Expr {
    match b {
        Some(b) => a.or(b),
        None => a,
    }
}

/// [`pattern_regex`] without its case flag, to be composed into a larger expression.
fn inner_regex(p: &Pattern, item_sep: &str) -> String {
    pattern_regex(p, item_sep)
        .strip_prefix("(?i)")
        .unwrap_or_default()
        .to_owned()
}

/// For a pattern that is an ECS ARN of `kind` (see [`Pattern::ecs_arn`]): `column` (a name,
/// an id or an ARN) ends in the name it gives, and, when `placed`, the row's `account` and
/// `region` (where known) are the ARN's. Failed calls and control events name clusters and
/// tasks as the caller wrote them, often without the ARN.
fn arn_name(column: &str, p: &Pattern, kind: &str, placed: bool) -> Option<Expr> {
    let (region, account, name) = p.ecs_arn(kind)?;
    let mut e = contains_regex(column, format!("(?i)^(?:.*/)?{}$", inner_regex(&name, "/")));
    if placed {
        e = e.and(placed_in(&account, &region));
    }
    Some(e)
}

/// The row's `account` and `region` match an ARN's (or are not known).
fn placed_in(account: &Pattern, region: &Pattern) -> Expr {
    matches("account", account)
        .or(col("account").is_null())
        .and(matches("region", region).or(col("region").is_null()))
}

/// A role ARN whose role name, or Identity Center permission set
/// (`AWSReservedSSO_<set>_<hex>`), matches: what exec events carry as `role_name` and
/// `sso_permission_set`, for frames that have only the ARN.
fn role_named(p: &Pattern) -> Expr {
    // A pattern with a path (`ops/*`) is matched against the ARN itself, as elsewhere.
    if p.text().contains('/') {
        return lit(false);
    }
    let n = inner_regex(p, "/");
    contains_regex(
        "role_arn",
        format!("(?i):role/(?:.*/)?(?:{n}|awsreservedsso_{n}_[0-9a-f]+)$"),
    )
}

/// The whole filter on exec events.
pub fn exec_expr(f: &Filter) -> Option<Expr> {
    match (time_expr(f, "event_time"), target_expr(f, true)) {
        (Some(a), Some(b)) => Some(a.and(b)),
        (a, b) => a.or(b),
    }
}

/// The filter on control events: task and container apply where the event names them (the
/// tasks it started or targeted; the containers its command overrides name).
pub fn control_expr(f: &Filter) -> Option<Expr> {
    let mut e = time_expr(f, "event_time");
    if let Some(p) = &f.principal {
        e = and(
            e,
            any(&["principal", "principal_arn", "role_arn"], p).or(role_named(p)),
        );
    }
    if let Some(p) = &f.cluster {
        e = and(
            e,
            or_some(
                matches("cluster", p),
                arn_name("cluster", p, "cluster", true),
            ),
        );
    }
    if let Some(p) = &f.task {
        let re = format!("(^|,){}(,|$)", pattern_regex(p, ","));
        let mut task = contains_regex("task_ids", re);
        if let Some((region, account, id)) = p.ecs_arn("task") {
            let re = format!("(?i)(^|,){}(,|$)", inner_regex(&id, ","));
            task = task.or(contains_regex("task_ids", re).and(placed_in(&account, &region)));
        }
        e = and(e, task);
    }
    if let Some(p) = &f.container {
        let re = format!("(^|; ){}:", pattern_regex(p, ":;"));
        e = and(e, contains_regex("command_overrides", re));
    }
    if let Some(s) = &f.session {
        e = and(e, col("session_id").eq(lit(s.clone())));
    }
    e
}

/// Day partitions of tables filed by event time.
pub fn event_days(f: &Filter) -> Option<Days> {
    f.day_range().map(|(first, last)| Days { first, last })
}

/// Day partitions of tables filed by session end (transcripts, commands): from the first
/// session start to [`TRANSCRIPT_LAG_MS`] after the last.
pub fn transcript_days(f: &Filter) -> Option<Days> {
    if f.since.is_none() && f.until.is_none() {
        return None;
    }
    Some(Days {
        first: f
            .since
            .map_or_else(|| "0000-00-00".into(), Timestamp::bound_day),
        last: f.until.map_or_else(
            || "9999-99-99".into(),
            |u| Timestamp(u.0.saturating_add(TRANSCRIPT_LAG_MS)).bound_day(),
        ),
    })
}

/// Whether a list-like text column holds a match of `re` (null: no).
fn contains_regex(column: &str, re: String) -> Expr {
    col(column)
        .str()
        .contains(lit(re), true)
        .fill_null(lit(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(e: Expr, values: &[&str]) -> Vec<bool> {
        let df = df!("x" => values).unwrap();
        df.lazy()
            .select([e.alias("m")])
            .collect()
            .unwrap()
            .column("m")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect()
    }

    #[test]
    fn patterns_are_exact_or_glob_and_case_insensitive() {
        let m = |p: &str, vs: &[&str]| run(matches("x", &Pattern::new(p)), vs);
        assert_eq!(
            m(
                "Alice@Example.com",
                &["alice@example.com", "xalice@example.com"]
            ),
            [true, false]
        );
        assert_eq!(m("alice*", &["alice@example.com", "bob"]), [true, false]);
        assert_eq!(m("*prod*", &["payments-prod-eu", "dev"]), [true, false]);
        assert_eq!(m("t?sk", &["task", "tassk"]), [true, false]);
        assert_eq!(
            m("a.b", &["a.b", "axb"]),
            [true, false],
            "regex characters are literal"
        );
    }

    #[test]
    fn list_patterns_do_not_cross_items() {
        let f = Filter {
            task: Some(Pattern::new("abc*")),
            ..Filter::default()
        };
        let e = control_expr(&f).unwrap();
        let df = df!("task_ids" => ["x,abc1,y", "xabc", "zz,abc"], "event_time" => [0i64, 0, 0])
            .unwrap();
        let got: Vec<bool> = df
            .lazy()
            .select([e.alias("m")])
            .collect()
            .unwrap()
            .column("m")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect();
        assert_eq!(got, [true, false, true]);
    }
}

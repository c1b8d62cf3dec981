//! Checks over sessions and exec events: the policy (break-glass, principals, window, MFA,
//! duration, reason, initial command), transcript coverage, first use of a cluster, exec
//! enabled then used, leaked tokens, and probing by repeated failed attempts.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{cap, on_exec, on_session, Check};
use super::{
    ENABLED_THEN_USED, INITIAL_COMMAND_NOT_ALLOWED, MISSING_REASON, NEW_PAIR, OUTSIDE_BREAKGLASS,
    OUTSIDE_WINDOW, OVER_MAX_DURATION, PRINCIPAL_NOT_ALLOWED, PROBING, TOKEN_UNREDACTED,
    TRANSCRIPT_CONFLICTING, TRANSCRIPT_INCOMPLETE, TRANSCRIPT_ORPHAN, WHILE_DEGRADED, WITHOUT_MFA,
    WITHOUT_TRANSCRIPT,
};
use crate::detect::cause;
use crate::detect::destinations::{ClusterKey, Destinations};
use crate::detect::policy::{reason_texts, Policy};
use crate::model::{ControlEvent, ExecEvent, Finding, Session, TranscriptRow};

/// How one session stands against the policy: what the weekly report's compliance section lists.
#[derive(Debug, Clone)]
pub struct Compliance {
    /// The session.
    pub session_id: Option<String>,
    /// The scope that applied (`default`, or a `[[scope]]`'s environment).
    pub environment: String,
    /// Whether the session used a break-glass role or permission set.
    pub breakglass: bool,
    /// Whether the session broke none of the scope's rules.
    pub allowed: bool,
    /// The ids of the checks it broke, each with the facts.
    pub violations: Vec<(&'static Check, String)>,
    /// The reason found (the text the scope's `reason` pattern matched), if any.
    pub reason: Option<String>,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Evaluates one session against the policy.
pub fn compliance(policy: &Policy, s: &Session, e: Option<&ExecEvent>) -> Compliance {
    let scope = policy.scope_for(s);
    let breakglass = policy.is_breakglass(s);
    let mut v: Vec<(&'static Check, String)> = Vec::new();
    let no_role = format!(
        "none ({})",
        s.principal_type.as_deref().unwrap_or("no role logged")
    );
    let role = s.role_arn.as_deref().unwrap_or(&no_role);
    let set = s.sso_permission_set.as_deref().unwrap_or("none");
    if scope.require_breakglass && !breakglass {
        v.push((
            &OUTSIDE_BREAKGLASS,
            format!(
                "role {role}, permission set {set}: no break-glass entry matches (scope {})",
                scope.environment
            ),
        ));
    }
    if let Some(allowed) = &scope.allowed_principals {
        let who = [
            s.principal.as_deref(),
            e.and_then(|e| e.source_identity.as_deref()),
        ];
        if !who
            .iter()
            .flatten()
            .any(|w| allowed.iter().any(|p| p.matches(w)))
        {
            v.push((
                &PRINCIPAL_NOT_ALLOWED,
                format!(
                    "principal {} is not among the allowed principals (scope {})",
                    s.principal.as_deref().unwrap_or("unknown"),
                    scope.environment
                ),
            ));
        }
    }
    if !scope.in_window(s.start_time) {
        v.push((
            &OUTSIDE_WINDOW,
            format!(
                "started {} (scope {}: outside its windows)",
                s.start_time.to_rfc3339(),
                scope.environment
            ),
        ));
    }
    if scope.mfa_required && s.mfa != Some(true) {
        let mfa = match s.mfa {
            Some(false) => "mfaAuthenticated false",
            _ => "MFA not logged",
        };
        v.push((
            &WITHOUT_MFA,
            format!("{mfa} (scope {} requires MFA)", scope.environment),
        ));
    }
    if let (Some(max), Some(d)) = (scope.max_session_s, s.duration_s) {
        if d > max {
            v.push((
                &OVER_MAX_DURATION,
                format!(
                    "lasted {d} s, more than the {max} s allowed (scope {})",
                    scope.environment
                ),
            ));
        }
    }
    let mut reason = None;
    if let Some(re) = &scope.reason {
        reason = reason_texts(s, e)
            .into_iter()
            .find_map(|t| re.find(t).map(|m| m.as_str().to_owned()));
        if reason.is_none() {
            v.push((
                &MISSING_REASON,
                format!(
                    "no match for /{}/ in the command string, sourceIdentity or role session name (scope {})",
                    re.as_str(),
                    scope.environment
                ),
            ));
        }
    }
    if let Some(allowed) = &scope.allowed_initial_commands {
        let cmd = collapse(s.command.as_deref().unwrap_or(""));
        if !allowed.iter().any(|p| p.matches(&cmd)) {
            v.push((
                &INITIAL_COMMAND_NOT_ALLOWED,
                format!(
                    "initial command {cmd:?} is not allowed (scope {})",
                    scope.environment
                ),
            ));
        }
    }
    Compliance {
        session_id: s.session_id.clone(),
        environment: scope.environment.clone(),
        breakglass,
        allowed: v.is_empty(),
        violations: v,
        reason,
    }
}

/// Policy findings for every session.
pub fn policy(
    policy: &Policy,
    sessions: &[Session],
    exec: &HashMap<&str, &ExecEvent>,
    out: &mut Vec<Finding>,
) {
    for s in sessions {
        let e = s.event_id.as_deref().and_then(|id| exec.get(id).copied());
        let c = compliance(policy, s, e);
        for (check, evidence) in c.violations {
            let mut f = on_session(check, s, evidence);
            f.detail = Some(format!("scope {}", c.environment));
            out.push(f);
        }
    }
}

/// Coverage: sessions without a transcript, incomplete or conflicting ones, sessions while
/// logging was degraded, and transcripts no session accounts for.
pub fn coverage(
    d: &Destinations,
    sessions: &[Session],
    orphans: &[&TranscriptRow],
    out: &mut Vec<Finding>,
) {
    for s in sessions {
        let key = ClusterKey::new(
            s.account.as_deref(),
            s.region.as_deref(),
            s.cluster.as_deref().unwrap_or(""),
        );
        let status = s.transcript_status.as_deref().unwrap_or("missing");
        match status {
            "missing" => {
                let mut f = on_session(
                    &WITHOUT_TRANSCRIPT,
                    s,
                    "no transcript ingested for this session".into(),
                );
                f.likely_cause = Some(cause::missing_transcript(d, s));
                out.push(f);
            }
            "empty" | "truncated" | "unreadable" => {
                let mut f = on_session(&TRANSCRIPT_INCOMPLETE, s, format!("transcript {status}"));
                f.likely_cause = Some(cause::incomplete_transcript(status).to_owned());
                out.push(f);
            }
            "conflicting" => {
                let mut f = on_session(
                    &TRANSCRIPT_CONFLICTING,
                    s,
                    "transcripts with different content carry this session id".into(),
                );
                f.likely_cause = Some(cause::incomplete_transcript(status).to_owned());
                out.push(f);
            }
            _ => {}
        }
        if let Some(deg) = d.degraded_at(&key, s.start_time) {
            let mut f = on_session(&WHILE_DEGRADED, s, deg.cause.clone());
            f.likely_cause = Some(format!("logging degraded since {}", deg.since.to_rfc3339()));
            if !matches!(status, "missing") {
                f.detail = Some(format!(
                    "a transcript was found anyway ({status}): the configuration may have changed back without the event being in the data read"
                ));
            }
            out.push(f);
        }
    }
    for t in orphans {
        out.push(Finding {
            session_id: t.session_id.clone(),
            time: t.time,
            found_in: Some("transcript".into()),
            command: None,
            detail: t.source.clone().map(|src| format!("read from {src}")),
            ..super::base(
                &TRANSCRIPT_ORPHAN,
                "transcript",
                format!(
                    "transcript {} ({}, {} commands) has no ExecuteCommand event",
                    t.session_id.as_deref().unwrap_or("with no session id"),
                    t.status.as_deref().unwrap_or("?"),
                    t.commands.unwrap_or(0)
                ),
            )
        });
    }
}

fn same_principal(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// First exec of a principal into a cluster, and exec enabled then used by the same principal.
pub fn usage(
    sessions: &[Session],
    control: &[ControlEvent],
    within_s: i64,
    out: &mut Vec<Finding>,
) {
    let mut order: Vec<&Session> = sessions.iter().collect();
    order.sort_by(|a, b| (a.start_time, &a.session_id).cmp(&(b.start_time, &b.session_id)));
    let mut seen: HashSet<(String, String, String)> = HashSet::new();
    for s in &order {
        let key = (
            s.principal.clone().unwrap_or_default().to_lowercase(),
            s.account.clone().unwrap_or_default(),
            s.cluster.clone().unwrap_or_default(),
        );
        if s.principal.is_some() && seen.insert(key) {
            out.push(on_session(
                &NEW_PAIR,
                s,
                format!(
                    "first session of {} into {} in the data read",
                    s.principal.as_deref().unwrap_or("?"),
                    s.cluster.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    let enables: Vec<&ControlEvent> = control
        .iter()
        .filter(|c| {
            c.kind.as_deref() == Some("exec_enablement")
                && c.enable_execute_command == Some(true)
                && c.error_code.is_none()
        })
        .collect();
    for s in &order {
        let best = enables
            .iter()
            .filter(|c| {
                same_principal(c.principal.as_deref(), s.principal.as_deref())
                    && c.cluster.is_some()
                    && c.cluster == s.cluster
                    && (c.account.is_none() || s.account.is_none() || c.account == s.account)
                    && c.event_time <= s.start_time
                    && s.start_time.0 - c.event_time.0 <= within_s * 1000
            })
            .max_by_key(|c| (c.event_time, c.event_id.clone()));
        if let Some(c) = best {
            let what = match (c.event_name.as_deref(), &c.service) {
                (Some(n), Some(svc)) => format!("{n} of service {svc}"),
                (Some(n), None) => n.to_owned(),
                _ => "an enablement".into(),
            };
            let into_task = c
                .task_ids
                .as_deref()
                .zip(s.task_id.as_deref())
                .is_some_and(|(ids, t)| ids.split(',').any(|i| i == t));
            let mins = (s.start_time.0 - c.event_time.0) / 60_000;
            let mut f = on_session(
                &ENABLED_THEN_USED,
                s,
                format!(
                    "enabled exec with {what} at {}, then exec'd into {}{} {mins} min later",
                    c.event_time.to_rfc3339(),
                    s.cluster.as_deref().unwrap_or("?"),
                    if into_task {
                        " (the task it started)"
                    } else {
                        ""
                    }
                ),
            );
            f.detail = c
                .event_id
                .clone()
                .map(|id| format!("enablement event {id}"));
            out.push(f);
        }
    }
}

/// Leaked session tokens, and bursts of failed attempts by one principal.
pub fn exec_events(exec: &[ExecEvent], attempts: usize, within_s: i64, out: &mut Vec<Finding>) {
    for e in exec.iter().filter(|e| e.token_unredacted == Some(true)) {
        out.push(on_exec(
            &TOKEN_UNREDACTED,
            e,
            "cloudtrail",
            "responseElements.session.tokenValue holds a real token (its value is not kept)".into(),
        ));
    }
    let mut by_principal: BTreeMap<String, Vec<&ExecEvent>> = BTreeMap::new();
    for e in exec
        .iter()
        .filter(|e| e.outcome.as_deref() == Some("failed"))
    {
        let who = e
            .principal
            .as_deref()
            .or(e.principal_arn.as_deref())
            .unwrap_or("unknown")
            .to_lowercase();
        by_principal.entry(who).or_default().push(e);
    }
    for (_, mut evs) in by_principal {
        evs.sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
        let mut i = 0;
        while i < evs.len() {
            // The longest run starting at i within the window.
            let mut j = i;
            while j + 1 < evs.len()
                && evs[j + 1].event_time.0 - evs[i].event_time.0 <= within_s * 1000
            {
                j += 1;
            }
            if j + 1 - i >= attempts {
                let burst = &evs[i..=j];
                // Extend the burst while failures keep coming within the window of the last one.
                let mut end = j;
                while end + 1 < evs.len()
                    && evs[end + 1].event_time.0 - evs[end].event_time.0 <= within_s * 1000
                {
                    end += 1;
                }
                let burst = if end > j { &evs[i..=end] } else { burst };
                out.push(probing_finding(burst));
                i = end + 1;
            } else {
                i += 1;
            }
        }
    }
}

fn probing_finding(burst: &[&ExecEvent]) -> Finding {
    let first = burst[0];
    let last = burst[burst.len() - 1];
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut clusters: Vec<&str> = Vec::new();
    for e in burst {
        *codes
            .entry(e.error_code.as_deref().unwrap_or("unknown"))
            .or_default() += 1;
        if let Some(c) = e.cluster.as_deref() {
            if !clusters.contains(&c) {
                clusters.push(c);
            }
        }
    }
    let mins = (last.event_time.0 - first.event_time.0) / 60_000;
    let codes_text: Vec<String> = codes.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
    let mut f = on_exec(
        &PROBING,
        first,
        "attempts",
        format!(
            "{} failed ExecuteCommand calls in {mins} min: {}; clusters {}",
            burst.len(),
            codes_text.join(", "),
            clusters.join(", ")
        ),
    );
    f.session_id = None;
    let (top, _) = codes
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or(("", &0), |(c, n)| (*c, n));
    let message = burst
        .iter()
        .find(|e| e.error_code.as_deref() == Some(top))
        .and_then(|e| e.error_message.as_deref())
        .unwrap_or("");
    f.likely_cause = Some(cause::failed_attempt(top, message).to_owned());
    f.detail = Some(format!("last attempt {}", last.event_time.to_rfc3339()));
    f
}

/// Caps a finding about a command that never ran.
pub fn not_run(f: &mut Finding, why: &str) {
    cap(f, crate::detect::Severity::Low, why);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn policy(text: &str) -> Policy {
        Policy::parse("p.toml", text).unwrap()
    }

    fn session() -> Session {
        Session {
            session_id: Some("ecs-execute-command-x".into()),
            start_time: Timestamp::parse("2024-11-18T10:00:00Z").unwrap(),
            account: Some("111122223333".into()),
            cluster: Some("payments-prod".into()),
            principal: Some("alice@example.com".into()),
            role_arn: Some("arn:aws:iam::111122223333:role/emergency/BreakGlassOps".into()),
            command: Some("/bin/sh   -c 'echo INC-4711; exec bash'".into()),
            mfa: Some(false),
            duration_s: Some(4000),
            ..Session::default()
        }
    }

    fn broken(p: &Policy, s: &Session, e: Option<&ExecEvent>) -> Vec<&'static str> {
        compliance(p, s, e)
            .violations
            .iter()
            .map(|(c, _)| c.id)
            .collect()
    }

    #[test]
    fn each_policy_rule_is_checked() {
        let p = policy(
            r#"
[breakglass]
roles = ["arn:aws:iam::*:role/emergency/*"]
[default]
allowed_principals = ["*@example.com"]
mfa_required = true
max_session = "1h"
reason = '\b(?:INC|CHG)-\d+'
allowed_initial_commands = ["/bin/sh -c *"]
"#,
        );
        let s = session();
        let c = compliance(&p, &s, None);
        assert!(c.breakglass);
        assert_eq!(c.reason.as_deref(), Some("INC-4711"));
        assert_eq!(
            broken(&p, &s, None),
            ["exec-without-mfa", "exec-over-max-duration"]
        );
        let other = Session {
            principal: Some("botocore-session-1".into()),
            role_arn: Some("arn:aws:iam::111122223333:role/Admin".into()),
            command: Some("/bin/bash".into()),
            mfa: Some(true),
            duration_s: None,
            ..session()
        };
        assert_eq!(
            broken(&p, &other, None),
            [
                "exec-outside-breakglass",
                "exec-principal-not-allowed",
                "exec-missing-reason",
                "exec-initial-command-not-allowed"
            ]
        );
        // The reason can come from the sourceIdentity or the role session name instead.
        let e = ExecEvent {
            principal_arn: Some("arn:aws:sts::111122223333:assumed-role/Admin/CHG-12".into()),
            ..ExecEvent::default()
        };
        assert!(!broken(&p, &other, Some(&e)).contains(&"exec-missing-reason"));
    }
}

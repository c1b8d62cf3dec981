//! Correlation: exec events -> sessions (one per session id) and failed attempts.
//!
//! Later stages join transcripts and control-plane history here; for now a session is a
//! successful, non-dry-run `ExecuteCommand` with a session id. When CloudTrail delivered the same
//! session under two event ids, the earliest event wins.

use std::collections::HashSet;

use crate::config::Filter;
use crate::model::{Attempt, ExecEvent, Session};

/// Sessions matching `filter`, ordered by start time.
pub fn sessions(events: &[ExecEvent], filter: &Filter) -> Vec<Session> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| e.outcome.as_deref() == Some("success") && e.dry_run != Some(true))
        .filter(|e| {
            e.session_id
                .as_ref()
                .is_some_and(|id| seen.insert(id.clone()))
        })
        .filter(|e| filter.matches_exec(e))
        .map(|e| Session {
            session_id: e.session_id.clone(),
            start_time: e.event_time,
            account: e.account.clone(),
            region: e.region.clone(),
            cluster: e.cluster.clone(),
            task_id: e.task_id.clone(),
            container: e.container.clone(),
            principal: e.principal.clone(),
            principal_source: e.principal_source.clone(),
            principal_type: e.principal_type.clone(),
            role_arn: e.role_arn.clone(),
            sso_permission_set: e.sso_permission_set.clone(),
            mfa: e.mfa,
            source_ip: e.source_ip.clone(),
            user_agent: e.user_agent.clone(),
            command: e.command.clone(),
            cluster_arn: e.cluster_arn.clone(),
            task_arn: e.task_arn.clone(),
            event_id: e.event_id.clone(),
        })
        .collect()
}

/// Failed `ExecuteCommand` calls matching `filter`, ordered by time.
pub fn attempts(events: &[ExecEvent], filter: &Filter) -> Vec<Attempt> {
    events
        .iter()
        .filter(|e| e.outcome.as_deref() == Some("failed") && filter.matches_exec(e))
        .map(|e| Attempt {
            event_time: e.event_time,
            account: e.account.clone(),
            region: e.region.clone(),
            principal: e.principal.clone(),
            principal_type: e.principal_type.clone(),
            role_arn: e.role_arn.clone(),
            source_ip: e.source_ip.clone(),
            cluster: e.cluster.clone(),
            task_id: e.task_id.clone(),
            container: e.container.clone(),
            command: e.command.clone(),
            error_code: e.error_code.clone(),
            error_message: e.error_message.clone(),
            event_id: e.event_id.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn ev(id: &str, session: Option<&str>, outcome: &str, t: i64) -> ExecEvent {
        ExecEvent {
            event_id: Some(id.into()),
            event_time: Timestamp(t),
            session_id: session.map(Into::into),
            outcome: Some(outcome.into()),
            principal: Some("alice".into()),
            ..Default::default()
        }
    }

    #[test]
    fn one_session_per_id_and_failures_become_attempts() {
        let events = vec![
            ev("1", Some("s1"), "success", 1),
            ev("2", Some("s1"), "success", 2),
            ev("3", None, "failed", 3),
            ExecEvent {
                dry_run: Some(true),
                ..ev("4", Some("s2"), "success", 4)
            },
        ];
        let s = sessions(&events, &Filter::default());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].event_id.as_deref(), Some("1"));
        assert_eq!(attempts(&events, &Filter::default()).len(), 1);
    }
}

//! Correlation: exec events and transcripts -> sessions (one per session id), failed attempts,
//! and orphan transcripts.
//!
//! A session is a successful, non-dry-run `ExecuteCommand` with a session id; when CloudTrail
//! delivered the same session under two event ids, the earliest event wins. Its transcript is
//! joined by session id: `present`, `empty`, `truncated`, `unreadable`, or `missing`. The
//! duration runs from the `ExecuteCommand` to the transcript's end (footer, header or upload
//! time). A transcript whose session id has no `ExecuteCommand` is an orphan.

use std::collections::{HashMap, HashSet};

use crate::config::Filter;
use crate::model::{Attempt, CommandRow, ExecEvent, Session, TranscriptRow};

/// Sessions matching `filter`, ordered by start time, with their transcripts' status.
pub fn sessions(
    events: &[ExecEvent],
    transcripts: &[TranscriptRow],
    commands: &[CommandRow],
    filter: &Filter,
) -> Vec<Session> {
    let by_session: HashMap<&str, &TranscriptRow> = transcripts
        .iter()
        .filter_map(|t| Some((t.session_id.as_deref()?, t)))
        .collect();
    let mut ran: HashMap<&str, i64> = HashMap::new();
    for c in commands
        .iter()
        .filter(|c| c.abandoned != Some(true) && c.program_input != Some(true))
    {
        if let Some(s) = c.session_id.as_deref() {
            *ran.entry(s).or_default() += 1;
        }
    }
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
        .map(|e| {
            let sid = e.session_id.as_deref().unwrap_or("");
            let t = by_session.get(sid);
            let end_time = t.and_then(|t| t.footer_time.or(t.header_time).or(t.uploaded));
            Session {
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
                token_unredacted: e.token_unredacted,
                transcript_status: Some(
                    t.and_then(|t| t.status.clone())
                        .unwrap_or_else(|| "missing".to_owned()),
                ),
                end_time,
                duration_s: end_time.map(|end| (end.0 - e.event_time.0) / 1000),
                commands: t.map(|_| ran.get(sid).copied().unwrap_or(0)),
                shell: t.and_then(|t| t.shell.clone()),
                transcripts: Some(i64::from(t.is_some())),
            }
        })
        .collect()
}

/// Transcripts whose session id no `ExecuteCommand` in `events` opened (any outcome).
pub fn orphans<'a>(
    events: &[ExecEvent],
    transcripts: &'a [TranscriptRow],
) -> Vec<&'a TranscriptRow> {
    let known: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.session_id.as_deref())
        .collect();
    transcripts
        .iter()
        .filter(|t| t.session_id.as_deref().is_none_or(|s| !known.contains(s)))
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
            likely_cause: Some(
                crate::detect::cause::failed_attempt(
                    e.error_code.as_deref().unwrap_or(""),
                    e.error_message.as_deref().unwrap_or(""),
                )
                .to_owned(),
            ),
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

    fn transcript(session: &str, status: &str, end: i64) -> TranscriptRow {
        TranscriptRow {
            transcript_id: Some(session.into()),
            session_id: Some(session.into()),
            status: Some(status.into()),
            footer_time: Some(Timestamp(end)),
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
        let s = sessions(&events, &[], &[], &Filter::default());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].event_id.as_deref(), Some("1"));
        assert_eq!(s[0].transcript_status.as_deref(), Some("missing"));
        assert_eq!(attempts(&events, &Filter::default()).len(), 1);
    }

    #[test]
    fn transcripts_join_by_session_id_and_the_rest_are_orphans() {
        let events = vec![
            ev("1", Some("s1"), "success", 1_000),
            ev("2", Some("s2"), "success", 2_000),
        ];
        let ts = vec![
            transcript("s1", "truncated", 61_000),
            transcript("s9", "present", 5),
        ];
        let cmds = vec![
            CommandRow {
                session_id: Some("s1".into()),
                abandoned: Some(false),
                ..Default::default()
            },
            CommandRow {
                session_id: Some("s1".into()),
                abandoned: Some(true),
                ..Default::default()
            },
        ];
        let s = sessions(&events, &ts, &cmds, &Filter::default());
        assert_eq!(
            (
                s[0].transcript_status.as_deref(),
                s[0].duration_s,
                s[0].commands
            ),
            (Some("truncated"), Some(60), Some(1))
        );
        assert_eq!(
            (s[1].transcript_status.as_deref(), s[1].commands),
            (Some("missing"), None)
        );
        let o = orphans(&events, &ts);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].session_id.as_deref(), Some("s9"));
    }
}

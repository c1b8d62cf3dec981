//! Built-in checks: stable ids, each documented (here and in `docs/rules.md`), over sessions,
//! failed attempts, transcripts and control-plane events. `session.rs` holds the per-session
//! and per-principal checks (policy, coverage, first use, probing), `control.rs` the
//! control-plane ones (exec enabled, logging changed, SSM bypass, tampering).

pub mod control;
pub mod session;

use super::severity::Severity;
use crate::model::{ControlEvent, ExecEvent, Finding, Session};

/// A built-in check's identity and documentation.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// Default severity (a policy's `[checks.severity]` can change it).
    pub severity: Severity,
    /// One line for people.
    pub title: &'static str,
    /// Its logic.
    pub description: &'static str,
    /// MITRE ATT&CK ids.
    pub tags: &'static [&'static str],
    /// Whether it needs a `--policy`.
    pub needs_policy: bool,
}

macro_rules! checks {
    ($( $name:ident = $id:literal, $sev:ident, $policy:literal, [$($tag:literal),*], $title:literal, $desc:literal; )*) => {
        $(
            #[doc = $title]
            pub const $name: Check = Check {
                id: $id,
                severity: Severity::$sev,
                title: $title,
                description: $desc,
                tags: &[$($tag),*],
                needs_policy: $policy,
            };
        )*
        /// Every built-in check, in documentation order.
        pub const CHECKS: &[Check] = &[$($name),*];
    };
}

checks! {
    OUTSIDE_BREAKGLASS = "exec-outside-breakglass", High, true, ["T1078"],
        "Exec session outside break-glass",
        "A successful session, in a scope that requires break-glass, whose IAM role ARN (with its path) matches none of the policy's `[breakglass] roles` globs and whose Identity Center permission set matches none of its `permission_sets`.";
    PRINCIPAL_NOT_ALLOWED = "exec-principal-not-allowed", High, true, ["T1078"],
        "Exec by a principal the policy does not allow",
        "A successful session whose principal (and sourceIdentity) matches none of the scope's `allowed_principals` globs.";
    OUTSIDE_WINDOW = "exec-outside-window", Medium, true, [],
        "Exec session outside the allowed time window",
        "A successful session that started outside every one of the scope's `windows`, read in the scope's `timezone` (a window whose `to` is before its `from` runs past midnight).";
    WITHOUT_MFA = "exec-without-mfa", Medium, true, ["T1078"],
        "Exec session without MFA",
        "A successful session in a scope with `mfa_required = true` whose `mfaAuthenticated` is not logged as true (Identity Center sessions never carry it: MFA at the identity provider is not visible in CloudTrail).";
    OVER_MAX_DURATION = "exec-over-max-duration", Medium, true, [],
        "Exec session longer than allowed",
        "A successful session whose duration (from the ExecuteCommand to the transcript's end) exceeds the scope's `max_session`. Sessions without a transcript have no known end and are covered by `session-without-transcript`.";
    MISSING_REASON = "exec-missing-reason", Medium, true, [],
        "Exec session without a reason",
        "A successful session where the scope's `reason` pattern matches neither the ExecuteCommand command string, the sourceIdentity, nor the role session name.";
    INITIAL_COMMAND_NOT_ALLOWED = "exec-initial-command-not-allowed", Medium, true, ["T1059"],
        "Exec with an initial command the policy does not allow",
        "A successful session whose ExecuteCommand command string (whitespace collapsed) matches none of the scope's `allowed_initial_commands` globs.";
    PROBING = "exec-probing", Medium, false, [],
        "Repeated failed exec attempts by one principal",
        "At least `[probing] attempts` (default 3) failed ExecuteCommand calls by one principal within `within` (default 1h), whatever the error; one finding per burst, with the error codes, clusters and the likely cause.";
    SSM_TO_ECS = "ssm-session-to-ecs-target", High, false, ["T1562"],
        "SSM session opened straight to a container",
        "An ssm:StartSession whose target is `ecs:<cluster>_<task>_<runtime>`: it bypasses ECS Exec's own logging and its ecs:ExecuteCommand permission (AWS recommends denying it).";
    ENABLED_ON_SERVICE = "exec-enabled-on-service", Low, false, [],
        "Exec enabled on a service",
        "A CreateService or UpdateService with `enableExecuteCommand: true`.";
    ENABLED_ON_TASK = "exec-enabled-on-task", Low, false, [],
        "Exec enabled on a task",
        "A RunTask or StartTask with `enableExecuteCommand: true` and no debug override (see `debug-task-override`).";
    DEBUG_TASK = "debug-task-override", Medium, false, ["T1610"],
        "Task started with exec and a sleep-loop or shell override",
        "A RunTask or StartTask with `enableExecuteCommand: true` whose container command override keeps a debug copy alive: a sleep or sleep loop, `tail -f /dev/null`, or a bare shell.";
    LOGGING_DISABLED = "exec-logging-disabled", High, false, ["T1562.008"],
        "Cluster exec logging set to NONE",
        "A CreateCluster or UpdateCluster whose executeCommandConfiguration sets logging to NONE: later sessions on the cluster leave no transcript.";
    ENCRYPTION_OFF = "exec-logging-encryption-off", Medium, false, ["T1562.008"],
        "Exec log encryption switched off",
        "An UpdateCluster that turns `cloudWatchEncryptionEnabled` or `s3EncryptionEnabled` from true to false compared with the cluster's previous configuration.";
    KMS_KEY_REMOVED = "exec-kms-key-removed", Medium, false, ["T1562"],
        "Exec session encryption key removed",
        "An UpdateCluster whose executeCommandConfiguration no longer names the KMS key (`kmsKeyId`) the previous configuration had.";
    WITHOUT_TRANSCRIPT = "session-without-transcript", Medium, false, ["T1562.008"],
        "Exec session with no transcript",
        "A successful session for which no transcript was ingested (coverage gap), with the likely cause from the cluster's logging history: logging NONE, a destination tampered with, DEFAULT logging to an awslogs group not ingested, or an upload that never happened.";
    TRANSCRIPT_INCOMPLETE = "transcript-incomplete", Low, false, [],
        "Exec transcript empty, cut off or unreadable",
        "A successful session whose transcript is `empty` (most often the image lacks `script`), `truncated` (no footer) or `unreadable`.";
    WHILE_DEGRADED = "session-while-logging-degraded", High, false, ["T1562.008"],
        "Exec session while logging was degraded",
        "A successful session that started while its cluster's logging was degraded: logging NONE in force, or a destination of the configuration in force deleted, or its KMS key disabled or scheduled for deletion (until the cluster's next logging configuration).";
    LOG_DELETED = "exec-log-deleted", High, false, ["T1070", "T1562.008"],
        "Exec logs deleted",
        "A DeleteLogGroup or DeleteLogStream on an exec-logging log group, or a DeleteBucket of an exec-logging bucket (destinations learned from the clusters' configurations and the policy; other log groups and buckets are not findings).";
    RETENTION_CUT = "exec-log-retention-cut", High, false, ["T1070"],
        "Exec log retention cut",
        "A PutRetentionPolicy on an exec-logging log group below `[logging] min_retention_days` (default 90) or below the last retention seen, or a bucket lifecycle configuration with an expiration on an exec-logging bucket.";
    KEY_DISABLED = "exec-log-key-disabled", High, false, ["T1562"],
        "Exec KMS key disabled or scheduled for deletion",
        "A DisableKey or ScheduleKeyDeletion of a cluster's exec KMS key or a key the policy lists.";
    ACCESS_CHANGED = "exec-log-access-changed", Medium, false, ["T1562.008"],
        "Exec log bucket policy or encryption changed",
        "A PutBucketPolicy, DeleteBucketPolicy or DeleteBucketEncryption on an exec-logging bucket: it can stop the agent's uploads.";
    TRAIL_STOPPED = "trail-stopped", High, false, ["T1562.008"],
        "CloudTrail stopped, deleted or narrowed",
        "A StopLogging or DeleteTrail, or a PutEventSelectors that stops recording management write events, on a trail the policy lists (every trail when it lists none).";
    NEW_PAIR = "exec-new-principal-cluster", Info, false, [],
        "First exec by a principal into a cluster",
        "The earliest session, in the data read, of a principal into a cluster (account and cluster): a new principal-cluster pair.";
    ENABLED_THEN_USED = "exec-enabled-then-used", Medium, false, ["T1610"],
        "Principal enabled exec and then used it",
        "A session by the principal who, on the same cluster and within `[checks] enable_then_use_within` (default 24h) before it, enabled exec on a service or started a task with exec.";
    TOKEN_UNREDACTED = "exec-token-unredacted", High, false, ["T1552"],
        "Session token logged unredacted",
        "An ExecuteCommand event whose `session.tokenValue` is a real token rather than CloudTrail's redaction marker: anyone who reads the trail can join the session.";
    TRANSCRIPT_CONFLICTING = "transcript-conflicting", High, false, ["T1070"],
        "Conflicting transcripts for one session",
        "Two transcripts with different content carry the same session id (status `conflicting`): one may be planted to frame someone or hide what was typed.";
    TRANSCRIPT_ORPHAN = "transcript-without-session", Low, false, [],
        "Transcript no ExecuteCommand accounts for",
        "A transcript whose session id no ExecuteCommand event in the data opened: the trail is incomplete, or the file was planted.";
}

/// Looks a check up by id.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// A finding for a check, without the who/where columns.
fn base(c: &Check, found_in: &str, evidence: String) -> Finding {
    Finding {
        rule_id: Some(c.id.to_owned()),
        severity: Some(c.severity.as_str().to_owned()),
        title: Some(c.title.to_owned()),
        evidence: Some(evidence),
        found_in: Some(found_in.to_owned()),
        tags: (!c.tags.is_empty()).then(|| c.tags.join(",")),
        ..Finding::default()
    }
}

/// A finding about a session.
pub fn on_session(c: &Check, s: &Session, evidence: String) -> Finding {
    Finding {
        session_id: s.session_id.clone(),
        event_id: s.event_id.clone(),
        time: s.start_time,
        principal: s.principal.clone(),
        role_arn: s.role_arn.clone(),
        account: s.account.clone(),
        cluster: s.cluster.clone(),
        task_id: s.task_id.clone(),
        container: s.container.clone(),
        region: s.region.clone(),
        command: s.command.clone(),
        ..base(c, "session", evidence)
    }
}

/// A finding about an `ExecuteCommand` event (an attempt, a leaked token).
pub fn on_exec(c: &Check, e: &ExecEvent, found_in: &str, evidence: String) -> Finding {
    Finding {
        session_id: e.session_id.clone(),
        event_id: e.event_id.clone(),
        time: e.event_time,
        principal: e.principal.clone(),
        role_arn: e.role_arn.clone(),
        account: e.account.clone(),
        cluster: e.cluster.clone(),
        task_id: e.task_id.clone(),
        container: e.container.clone(),
        region: e.region.clone(),
        command: e.command.clone(),
        ..base(c, found_in, evidence)
    }
}

/// A finding about a control-plane event; a failed call is an attempt, capped at `low`.
pub fn on_control(c: &Check, e: &ControlEvent, evidence: String) -> Finding {
    let mut f = Finding {
        session_id: e
            .session_id
            .clone()
            .filter(|s| s.starts_with("ecs-execute-command-")),
        event_id: e.event_id.clone(),
        time: e.event_time,
        principal: e.principal.clone(),
        role_arn: e.role_arn.clone(),
        account: e.account.clone(),
        cluster: e.cluster.clone(),
        task_id: e
            .task_ids
            .as_deref()
            .and_then(|t| t.split(',').next())
            .map(str::to_owned),
        region: e.region.clone(),
        ..base(c, "control", evidence)
    };
    if let Some(code) = &e.error_code {
        cap(
            &mut f,
            Severity::Low,
            &format!("attempted: the call failed ({code})"),
        );
    }
    f
}

/// Lowers a finding's severity to at most `max`, saying why in `detail`.
pub fn cap(f: &mut Finding, max: Severity, why: &str) {
    let current = f
        .severity
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Severity::Info);
    let mut note = format!("{why}: {CAPPED}{max}");
    if current > max {
        f.severity = Some(max.as_str().to_owned());
        note.push_str(&format!(" (rule: {current})"));
    }
    f.detail = Some(match f.detail.take() {
        Some(d) => format!("{d}; {note}"),
        None => note,
    });
}

/// The words `cap` writes into `detail` before the ceiling, so later steps (the policy's
/// severity overrides) keep it.
pub const CAPPED: &str = "severity at most ";

/// The ceiling `cap` put on a finding, if any.
pub fn ceiling(f: &Finding) -> Option<Severity> {
    let d = f.detail.as_deref()?;
    let rest = &d[d.find(CAPPED)? + CAPPED.len()..];
    rest.split(|c: char| !c.is_ascii_alphabetic())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_documented() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
        assert!(check("exec-outside-breakglass").is_some_and(|c| c.needs_policy));
        let docs = include_str!("../../../docs/rules.md");
        for c in CHECKS {
            assert!(
                docs.contains(&format!("`{}`", c.id)),
                "docs/rules.md does not document {}",
                c.id
            );
        }
    }
}

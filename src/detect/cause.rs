//! Likely causes: why a session has no (complete) transcript, and why an exec attempt failed.
//! Used by the findings' `likely_cause` column and by reports.

use super::destinations::{Change, ClusterKey, Destinations};
use crate::model::Session;

/// The most likely reason a session has no transcript, from the cluster's logging history.
pub fn missing_transcript(d: &Destinations, s: &Session) -> String {
    let key = ClusterKey::new(
        s.account.as_deref(),
        s.region.as_deref(),
        s.cluster.as_deref().unwrap_or(""),
    );
    let sid = s.session_id.as_deref().unwrap_or("");
    if let Some(deg) = d.degraded_at(&key, s.start_time) {
        return format!(
            "logging was degraded when the session started: {}",
            deg.cause
        );
    }
    let removed: Vec<String> = d
        .tampering_for(&key)
        .into_iter()
        .filter(|t| t.succeeded)
        .filter(|t| match &t.change {
            Change::LogStreamDeleted(stream) => stream == sid || t.time >= s.start_time,
            Change::RetentionCut { .. }
            | Change::BucketExpiry { .. }
            | Change::LogGroupDeleted
            | Change::BucketDeleted => true,
            _ => false,
        })
        .map(|t| t.describe())
        .collect();
    if !removed.is_empty() {
        return format!(
            "the destination was tampered with, the transcript may have been removed: {}",
            removed.join("; ")
        );
    }
    match d.config_at(&key, s.start_time) {
        Some(c) if c.logging.eq_ignore_ascii_case("DEFAULT") => format!(
            "logging DEFAULT (set {}): the transcript goes to the container's awslogs log group, stream {sid}; ingest that group, or the container has no awslogs driver and nothing was logged",
            c.time.to_rfc3339()
        ),
        Some(c) => format!(
            "expected at {} (object or stream {sid}): not ingested yet, or never uploaded (the image lacks `script`/`cat`, or the task stopped before the agent uploaded it)",
            c.describe()
        ),
        None => "no executeCommandConfiguration for this cluster in the data: logging may be NONE or DEFAULT (check `aws ecs describe-clusters --include CONFIGURATIONS`), or the transcript was not ingested".into(),
    }
}

/// What an incomplete transcript status most likely means.
pub fn incomplete_transcript(status: &str) -> &'static str {
    match status {
        "empty" => "the agent uploaded no terminal output: the image most likely lacks `script` (util-linux) or `cat`, or the session ended before any output",
        "truncated" => "cut off (no footer): the task stopped, or the upload was interrupted, before the agent finished writing it",
        "unreadable" => "not a terminal recording (binary or corrupted): compare it with the object at the destination",
        "conflicting" => "two different transcripts carry this session id: one may be planted; trust the one at the cluster's configured destination",
        _ => "",
    }
}

/// The likely cause and fix of a failed `ExecuteCommand`, by error code.
pub fn failed_attempt(code: &str, message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    match code {
        c if c.starts_with("AccessDenied") => {
            if m.contains("explicit deny") {
                "an explicit deny (SCP, permission boundary or policy) on ecs:ExecuteCommand"
            } else {
                "the caller lacks ecs:ExecuteCommand on this cluster or task (or a condition key such as ecs:cluster or a tag denies it)"
            }
        }
        "InvalidParameterException" if m.contains("execute command was not enabled") || m.contains("not enabled") => {
            "exec is not enabled on the task (enable it on the service or RunTask, then start a new task: running tasks keep their setting) or the agent is not running yet"
        }
        "InvalidParameterException" => "a bad parameter: the task or container name, or a non-interactive command",
        "TargetNotConnectedException" => {
            "the agent in the task cannot reach SSM: VPC endpoints or NAT for ssmmessages (and ssm, ec2messages), or the task role lacks the ssmmessages:CreateControlChannel/OpenDataChannel actions"
        }
        "ClusterNotFoundException" => "a mistyped cluster, or the wrong region or account",
        "ClientException" if m.contains("stopped") || m.contains("not running") => "the task stopped or is crash-looping",
        "ServerException" => "an AWS-side error: retry",
        _ => "see the error message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_causes_by_code() {
        assert!(failed_attempt("AccessDenied", "User: x is not authorized")
            .contains("lacks ecs:ExecuteCommand"));
        assert!(failed_attempt(
            "AccessDeniedException",
            "with an explicit deny in a service control policy"
        )
        .contains("explicit deny"));
        assert!(failed_attempt("InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run").contains("start a new task"));
        assert!(failed_attempt("TargetNotConnectedException", "").contains("VPC endpoints"));
        assert!(
            failed_attempt("ClusterNotFoundException", "Cluster not found.").contains("mistyped")
        );
    }
}

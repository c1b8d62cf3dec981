//! CloudWatch Logs calls for `sync`: a group's exec streams, and one stream's events in order.
//!
//! ECS Exec names each session's stream after the session id (formats.md §4.2); in `DEFAULT`
//! logging that stream sits in the application's own log group beside its streams
//! (`<prefix>/<container>/<task>`), so streams are picked by the session id's shape.

use aws_sdk_cloudwatchlogs::Client;
use serde_json::json;

use super::{with_backoff, AwsError, CallStats, Failure};

/// What ECS Exec session streams start with.
pub const SESSION_PREFIX: &str = "ecs-execute-command-";

/// Whether a stream name is exactly an ECS Exec session id (`ecs-execute-command-[a-z0-9]+`).
pub fn is_session_stream(name: &str) -> bool {
    name.strip_prefix(SESSION_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// A session stream and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub name: String,
    /// Time of the newest event (ms), as the service reports it.
    pub last_event_ms: Option<i64>,
    /// When the newest event was stored (ms): changes whenever anything is added.
    pub last_ingestion_ms: Option<i64>,
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub timestamp: i64,
    pub message: String,
}

/// Every ECS Exec session stream of a group (all pages), application streams left out.
pub async fn session_streams(
    client: &Client,
    stats: &CallStats,
    group: &str,
) -> Result<Vec<Stream>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = with_backoff(stats, || {
            let token = token.clone();
            async move {
                client
                    .describe_log_streams()
                    .log_group_name(group)
                    .log_stream_name_prefix(SESSION_PREFIX)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(format!("DescribeLogStreams {group}"), e))
            }
        })
        .await
        .map_err(|e| explain(e, group))?;
        for s in page.log_streams() {
            let Some(name) = s.log_stream_name() else {
                continue;
            };
            if is_session_stream(name) {
                out.push(Stream {
                    name: name.to_owned(),
                    last_event_ms: s.last_event_timestamp(),
                    last_ingestion_ms: s.last_ingestion_time(),
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && token.as_deref() != Some(t) => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Every event of a stream, oldest first, following forward tokens until the service returns
/// the token it was given (its end-of-stream signal).
pub async fn read_stream(
    client: &Client,
    stats: &CallStats,
    group: &str,
    stream: &str,
) -> Result<Vec<Event>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = with_backoff(stats, || {
            let token = token.clone();
            async move {
                client
                    .get_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(format!("GetLogEvents {group} {stream}"), e))
            }
        })
        .await
        .map_err(|e| explain(e, group))?;
        let events = page.events();
        out.extend(events.iter().map(|e| Event {
            timestamp: e.timestamp().unwrap_or(0),
            message: e.message().unwrap_or("").to_owned(),
        }));
        match page.next_forward_token() {
            Some(t) if token.as_deref() != Some(t) && !events.is_empty() => {
                token = Some(t.to_owned())
            }
            _ => return Ok(out),
        }
    }
}

/// Whether a log group exists (asked once before its streams: a missing stream and a missing
/// group answer with the same error code).
pub async fn group_exists(
    client: &Client,
    stats: &CallStats,
    group: &str,
) -> Result<bool, AwsError> {
    let mut token: Option<String> = None;
    loop {
        let page = with_backoff(stats, || {
            let token = token.clone();
            async move {
                client
                    .describe_log_groups()
                    .log_group_name_prefix(group)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(format!("DescribeLogGroups {group}"), e))
            }
        })
        .await
        .map_err(|e| explain(e, group))?;
        if page
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(group))
        {
            return Ok(true);
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && token.as_deref() != Some(t) => token = Some(t.to_owned()),
            _ => return Ok(false),
        }
    }
}

fn explain(e: AwsError, group: &str) -> AwsError {
    if e.failure == Failure::AccessDenied || e.message.contains("KMS") {
        let hint = if e.message.contains("KMS") {
            format!(
                "the group {group} is encrypted and CloudWatch Logs cannot use its KMS key (disabled, \
                 deleted, or the key policy no longer allows logs.<region>.amazonaws.com): the \
                 transcripts are unreadable, not missing"
            )
        } else {
            format!("reading needs logs:DescribeLogStreams and logs:GetLogEvents on {group}")
        };
        return e.with_hint(hint);
    }
    e
}

/// A stream's events as a `GetLogEvents`-shaped document, what the transcript reader takes.
pub fn events_document(stream: &str, events: &[Event]) -> Vec<u8> {
    let events: Vec<_> = events
        .iter()
        .map(|e| json!({"logStreamName": stream, "timestamp": e.timestamp, "message": e.message}))
        .collect();
    serde_json::to_vec(&json!({ "events": events })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_streams_are_told_from_application_streams() {
        assert!(is_session_stream("ecs-execute-command-0122b68a67f39258e"));
        assert!(is_session_stream(
            "ecs-execute-command-794nnsxobsg4p2hiur6gxu9a9e"
        ));
        assert!(!is_session_stream("ecs/app/0123456789abcdef"));
        assert!(!is_session_stream("ecs-execute-command-"));
        assert!(!is_session_stream("ecs-execute-command-ABC"));
        assert!(!is_session_stream("ecs-execute-command-abc/extra"));
    }

    #[test]
    fn a_stream_document_reads_as_one_transcript() {
        let events = [
            Event {
                timestamp: 2,
                message: "Script started on 2024-05-14 09:31:07+00:00 [COMMAND=\"x\"]\r\nroot@h:/# id\r".into(),
            },
            Event {
                timestamp: 3,
                message: "uid=0(root)\r\n\r\nScript done on 2024-05-14 09:31:09+00:00 [COMMAND_EXIT_CODE=\"0\"]".into(),
            },
        ];
        let doc = events_document("ecs-execute-command-abc", &events);
        let scan = crate::ingest::scan_transcript(&doc, "logs://g");
        assert_eq!(scan.transcripts.len(), 1);
        let t = &scan.transcripts[0].0;
        assert_eq!(t.session_id.as_deref(), Some("ecs-execute-command-abc"));
        assert_eq!(t.status.as_deref(), Some("present"));
    }
}

//! Pulls session transcripts from an S3 prefix (`<prefix>/<sessionId>.log`) or a CloudWatch
//! Logs group (one stream per session), for the sessions CloudTrail shows (targeted) or for
//! everything there (`--sweep`).
//!
//! Each source keeps a checkpoint of the sessions it has looked at: what was found (status),
//! when, and the object's ETag or the stream's last ingestion time (its position). A transcript
//! already read whole is never fetched again; a cut-off one is fetched again once its position
//! moves (or, targeted, on every run); a session with nothing uploaded is asked for again until
//! [`MISSING_RECHECK_HOURS`] after it started, since the agent uploads only when it ends.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::cloudwatch;
use super::progress::{Bar, SourceReport};
use super::pull::{decode_and_scan, Expect, Options, Range};
use super::s3::{self, S3Url};
use super::sink::{Sink, SinkError};
use super::{Aws, AwsError, CallStats, Failure};
use crate::ingest::{scan_transcript, InputScan};
use crate::store::checkpoint::{CheckpointError, Key};

/// A session with no transcript is asked for again until this long after it started.
pub const MISSING_RECHECK_HOURS: i64 = 48;

/// Where transcripts are.
pub enum Place {
    /// `<prefix>/<sessionId>.log` objects.
    S3(S3Url),
    /// Streams named by session id in one account and region's log group.
    Logs {
        group: String,
        account: String,
        region: String,
        conf: Box<SdkConfig>,
    },
}

/// A session whose transcript is wanted (from the exec events in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub session_id: String,
    /// When it started (the `ExecuteCommand` event).
    pub start_ms: i64,
    pub account: Option<String>,
    pub region: Option<String>,
}

/// What a source's checkpoint knows of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// `present`, `empty`, `truncated`, `unreadable`, or `missing` (nothing there).
    pub status: String,
    /// When it was looked at (ms).
    pub checked_ms: i64,
    /// The object's ETag (S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The stream's events and last ingestion time (CloudWatch Logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ingestion_ms: Option<i64>,
}

/// A transcript source's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptState {
    #[serde(default)]
    pub sessions: BTreeMap<String, Seen>,
}

/// Where a listed transcript stands now (a sweep knows it before fetching).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Etag(String),
    Ingested(i64),
}

/// Whether a session's transcript must be fetched (again).
pub fn should_fetch(
    seen: Option<&Seen>,
    start_ms: Option<i64>,
    now_ms: i64,
    position: Option<&Position>,
) -> bool {
    let Some(seen) = seen else { return true };
    let moved = match position {
        Some(Position::Etag(e)) => seen.etag.as_deref() != Some(e.as_str()),
        Some(Position::Ingested(t)) => seen.last_ingestion_ms != Some(*t),
        None => true,
    };
    match seen.status.as_str() {
        "present" | "empty" | "unreadable" => false,
        "truncated" => moved,
        // Listed now (a sweep), or may still be uploaded (the session may not have ended).
        "missing" => {
            position.is_some()
                || start_ms.is_none_or(|s| {
                    seen.checked_ms < s + MISSING_RECHECK_HOURS * 3_600_000
                        && now_ms >= seen.checked_ms
                })
        }
        _ => true,
    }
}

/// One transcript to fetch.
struct Job {
    session: String,
    /// S3 key or stream name.
    name: String,
    position: Option<Position>,
}

enum Fetched {
    Scan(Box<InputScan>, Option<u64>),
    Missing,
}

/// Pulls one transcript source into the sink. `wanted` is `None` for a sweep.
pub async fn pull(
    aws: &Aws,
    place: Place,
    wanted: Option<&[Wanted]>,
    range: &Range,
    opts: &Options,
    sink: &mut Sink<'_>,
    bar: &Bar,
) -> Result<SourceReport, SinkError> {
    let (mut report, key) = match &place {
        Place::S3(url) => {
            let mut parts = vec![
                "transcripts".to_owned(),
                "s3".to_owned(),
                url.bucket.clone(),
            ];
            parts.extend(
                url.prefix
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
            parts.push("_sessions".to_owned());
            (
                SourceReport::new(format!("{url} (transcripts)")),
                Key::new(parts),
            )
        }
        Place::Logs {
            group,
            account,
            region,
            ..
        } => (
            SourceReport::new(format!("log group {group} ({account} {region})")),
            Key::new([
                "transcripts",
                "logs",
                account.as_str(),
                region.as_str(),
                group.as_str(),
            ]),
        ),
    };
    let stats = Arc::new(CallStats::default());
    let mut state: TranscriptState = match sink.checkpoints().load(&key) {
        Ok(s) => s.unwrap_or_default(),
        Err(e @ CheckpointError::Corrupt { .. }) => {
            report.notes.push(e.to_string());
            TranscriptState::default()
        }
        Err(e) => {
            report.errors.push(e.to_string());
            return Ok(report);
        }
    };
    let s3_client = match &place {
        Place::S3(url) => Some(aws.s3(aws.bucket_region(&url.bucket).await.as_deref())),
        Place::Logs { .. } => None,
    };
    let logs_client = match &place {
        Place::Logs { conf, region, .. } => Some(super::logs(conf, region)),
        Place::S3(_) => None,
    };
    if let (
        Some(client),
        Place::Logs {
            group,
            account,
            region,
            ..
        },
    ) = (&logs_client, &place)
    {
        match cloudwatch::group_exists(client, &stats, group).await {
            Ok(true) => {}
            Ok(false) => {
                report.absent = true;
                report
                    .notes
                    .push(format!("no log group {group} in {account} {region}"));
                return Ok(finish(report, &stats));
            }
            Err(e) => {
                bar.println(&e.to_string());
                report.errors.push(e.to_string());
                return Ok(finish(report, &stats));
            }
        }
    }
    if let (Some(client), Place::S3(url)) = (&s3_client, &place) {
        // One listing first: a wrong bucket or a missing permission is one error, not one per
        // session (and a missing bucket is not a missing transcript).
        let probe = s3::list_page(client, &stats, &url.bucket, &url.dir(), true, None, None).await;
        if let Err(e) = probe {
            bar.println(&e.to_string());
            report.errors.push(e.to_string());
            return Ok(finish(report, &stats));
        }
    }
    bar.phase("finding transcripts");
    let jobs = match plan(
        &place,
        wanted,
        &state,
        range,
        &s3_client,
        &logs_client,
        &stats,
    )
    .await
    {
        Ok((jobs, unchanged)) => {
            report.unchanged = unchanged;
            jobs
        }
        Err(e) => {
            bar.println(&e.to_string());
            report.errors.push(e.to_string());
            return Ok(finish(report, &stats));
        }
    };
    let mut queue = jobs.into_iter();
    let mut running: JoinSet<(Job, Result<Fetched, AwsError>)> = JoinSet::new();
    let concurrency = opts.concurrency.max(1);
    let mut dirty = false;
    loop {
        while running.len() < concurrency {
            let Some(job) = queue.next() else { break };
            let stats = stats.clone();
            match &place {
                Place::S3(url) => {
                    let client = s3_client.clone().expect("an S3 source has an S3 client");
                    let bucket = url.bucket.clone();
                    running.spawn(async move {
                        let got = fetch_object(&client, &stats, &bucket, &job.name).await;
                        (job, got)
                    });
                }
                Place::Logs {
                    group,
                    account,
                    region,
                    ..
                } => {
                    let client = logs_client
                        .clone()
                        .expect("a logs source has a logs client");
                    let group = group.clone();
                    let source = format!("logs://{account}/{region}/{group}");
                    running.spawn(async move {
                        let got = fetch_stream(&client, &stats, &group, &job.name, source).await;
                        (job, got)
                    });
                }
            }
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let Ok((job, result)) = done else { continue };
        match result {
            Ok(Fetched::Scan(scan, events)) => {
                for p in report.count(&scan) {
                    bar.println(&p);
                }
                let status = scan
                    .transcripts
                    .first()
                    .and_then(|(t, _)| t.status.clone())
                    .unwrap_or_else(|| "unreadable".to_owned());
                if status == "truncated" {
                    report.notes.push(format!(
                        "{}: cut off (read again when it grows)",
                        job.session
                    ));
                }
                sink.add(*scan);
                state.sessions.insert(
                    job.session.clone(),
                    seen(status, range.now_ms, job.position.as_ref(), events),
                );
                dirty = true;
            }
            Ok(Fetched::Missing) => {
                report.missing += 1;
                state.sessions.insert(
                    job.session.clone(),
                    seen("missing".into(), range.now_ms, None, None),
                );
                dirty = true;
            }
            Err(e) => {
                bar.println(&e.to_string());
                report.errors.push(e.to_string());
            }
        }
        bar.show(&report);
        if sink.due() {
            if dirty {
                sink.stage(key.clone(), &state);
                dirty = false;
            }
            tokio::task::block_in_place(|| sink.flush())?;
        }
    }
    if dirty {
        sink.stage(key, &state);
    }
    tokio::task::block_in_place(|| sink.flush())?;
    Ok(finish(report, &stats))
}

fn seen(status: String, now_ms: i64, position: Option<&Position>, events: Option<u64>) -> Seen {
    Seen {
        status,
        checked_ms: now_ms,
        etag: match position {
            Some(Position::Etag(e)) => Some(e.clone()),
            _ => None,
        },
        events,
        last_ingestion_ms: match position {
            Some(Position::Ingested(t)) => Some(*t),
            _ => None,
        },
    }
}

fn finish(mut report: SourceReport, stats: &CallStats) -> SourceReport {
    report.requests = stats.requests();
    report.throttled = stats.throttled();
    report
}

/// The transcripts to fetch, and how many were left alone as already read.
async fn plan(
    place: &Place,
    wanted: Option<&[Wanted]>,
    state: &TranscriptState,
    range: &Range,
    s3_client: &Option<aws_sdk_s3::Client>,
    logs_client: &Option<aws_sdk_cloudwatchlogs::Client>,
    stats: &CallStats,
) -> Result<(Vec<Job>, u64), AwsError> {
    let mut jobs = Vec::new();
    let mut unchanged = 0;
    let mut consider =
        |session: String, name: String, start: Option<i64>, pos: Option<Position>| {
            if should_fetch(
                state.sessions.get(&session),
                start,
                range.now_ms,
                pos.as_ref(),
            ) {
                jobs.push(Job {
                    session,
                    name,
                    position: pos,
                });
            } else {
                unchanged += 1;
            }
        };
    match (place, wanted) {
        (Place::S3(url), Some(wanted)) => {
            for w in wanted {
                let key = format!("{}{}.log", url.dir(), w.session_id);
                consider(w.session_id.clone(), key, Some(w.start_ms), None);
            }
        }
        (
            Place::Logs {
                account, region, ..
            },
            Some(wanted),
        ) => {
            for w in wanted {
                // A session's stream is in the account and region it ran in.
                let elsewhere = w.account.as_ref().is_some_and(|a| a != account)
                    || w.region.as_ref().is_some_and(|r| r != region);
                if !elsewhere {
                    consider(
                        w.session_id.clone(),
                        w.session_id.clone(),
                        Some(w.start_ms),
                        None,
                    );
                }
            }
        }
        (Place::S3(url), None) => {
            let client = s3_client.as_ref().expect("an S3 source has an S3 client");
            let dir = url.dir();
            let mut token: Option<String> = None;
            loop {
                let page = s3::list_page(
                    client,
                    stats,
                    &url.bucket,
                    &dir,
                    true,
                    None,
                    token.as_deref(),
                )
                .await?;
                for o in page.objects {
                    let Some(stem) = o.key[dir.len()..].strip_suffix(".log") else {
                        continue;
                    };
                    let pos = o.etag.clone().map(Position::Etag);
                    consider(stem.to_owned(), o.key.clone(), None, pos);
                }
                match page.next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        (Place::Logs { group, .. }, None) => {
            let client = logs_client
                .as_ref()
                .expect("a logs source has a logs client");
            for s in cloudwatch::session_streams(client, stats, group).await? {
                let pos = s
                    .last_ingestion_ms
                    .or(s.last_event_ms)
                    .map(Position::Ingested);
                consider(s.name.clone(), s.name, None, pos);
            }
        }
    }
    Ok((jobs, unchanged))
}

async fn fetch_object(
    client: &aws_sdk_s3::Client,
    stats: &CallStats,
    bucket: &str,
    key: &str,
) -> Result<Fetched, AwsError> {
    match s3::get(client, stats, bucket, key).await {
        Ok(raw) => {
            let source = format!("s3://{bucket}/{key}");
            tokio::task::spawn_blocking(move || {
                Fetched::Scan(
                    Box::new(decode_and_scan(raw, &source, Expect::Transcript)),
                    None,
                )
            })
            .await
            .map_err(|e| AwsError::other(format!("s3://{bucket}/{key}"), e.to_string()))
        }
        Err(e) if e.failure == Failure::NotFound => Ok(Fetched::Missing),
        Err(e) => Err(e),
    }
}

async fn fetch_stream(
    client: &aws_sdk_cloudwatchlogs::Client,
    stats: &CallStats,
    group: &str,
    stream: &str,
    source: String,
) -> Result<Fetched, AwsError> {
    match cloudwatch::read_stream(client, stats, group, stream).await {
        Ok(events) if events.is_empty() => Ok(Fetched::Missing),
        Ok(events) => {
            let n = events.len() as u64;
            let doc = cloudwatch::events_document(stream, &events);
            tokio::task::spawn_blocking(move || {
                Fetched::Scan(Box::new(scan_transcript(&doc, &source)), Some(n))
            })
            .await
            .map_err(|e| AwsError::other(stream.to_owned(), e.to_string()))
        }
        // The group was checked first: not found means no such stream (yet).
        Err(e) if e.failure == Failure::NotFound => Ok(Fetched::Missing),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(status: &str, checked: i64) -> Seen {
        Seen {
            status: status.into(),
            checked_ms: checked,
            etag: Some("\"e1\"".into()),
            events: None,
            last_ingestion_ms: None,
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn complete_transcripts_are_never_fetched_again() {
        for status in ["present", "empty", "unreadable"] {
            assert!(!should_fetch(Some(&s(status, 0)), Some(0), 10 * H, None));
            let moved = Position::Etag("\"e2\"".into());
            assert!(!should_fetch(
                Some(&s(status, 0)),
                None,
                10 * H,
                Some(&moved)
            ));
        }
        assert!(should_fetch(None, Some(0), 0, None));
    }

    #[test]
    fn cut_off_transcripts_are_fetched_again_when_they_move() {
        let t = s("truncated", 0);
        assert!(should_fetch(Some(&t), Some(0), H, None));
        assert!(!should_fetch(
            Some(&t),
            None,
            H,
            Some(&Position::Etag("\"e1\"".into()))
        ));
        assert!(should_fetch(
            Some(&t),
            None,
            H,
            Some(&Position::Etag("\"e2\"".into()))
        ));
    }

    #[test]
    fn missing_transcripts_are_asked_for_until_two_days_after_the_start() {
        let start = 100 * H;
        assert!(should_fetch(
            Some(&s("missing", start + H)),
            Some(start),
            start + 2 * H,
            None
        ));
        assert!(!should_fetch(
            Some(&s("missing", start + 49 * H)),
            Some(start),
            start + 50 * H,
            None
        ));
        // A sweep that lists it finds it uploaded after all.
        assert!(should_fetch(
            Some(&s("missing", start + 49 * H)),
            None,
            start + 50 * H,
            Some(&Position::Etag("\"e9\"".into()))
        ));
    }
}

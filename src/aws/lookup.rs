//! CloudTrail `LookupEvents` (event history): exec and control events without a trail bucket.
//!
//! The API allows one lookup attribute per call, 50 events a page, 2 calls a second per account
//! and region, and the last 90 days (formats.md §3.4). So each event name execaudit keeps is
//! asked for separately, calls are spaced to stay under the rate, throttling answers back off,
//! and each account and region remembers the time spans it has fully read ([`Coverage`]): the
//! next run asks only for what is missing. Event history lags delivery by minutes, so the
//! newest [`LAG_MINUTES`] are asked for again next time. Pages become `{"Records":[...]}`
//! documents and go through the same scanner as trail files.

use std::sync::Mutex;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::progress::{Bar, SourceReport};
use super::pull::{decode_and_scan, Expect, Range};
use super::sink::{Sink, SinkError};
use super::{with_backoff, AwsError, CallStats};
use crate::ingest::InputScan;
use crate::store::checkpoint::{CheckpointError, Coverage, Key};

/// Event names asked for, each with its own calls: every name [`crate::model::normalize::classify`]
/// can keep (a test checks each is kept). KMS `GenerateDataKey`/`Decrypt` with an ECS Exec
/// encryption context are left out: asking for every `Decrypt` of an account would page through
/// its whole KMS traffic at 100 events a second. Read them from the trail bucket instead.
pub const EVENT_NAMES: &[&str] = &[
    "ExecuteCommand",
    "RunTask",
    "StartTask",
    "CreateService",
    "UpdateService",
    "CreateCluster",
    "UpdateCluster",
    "StartSession",
    "ResumeSession",
    "TerminateSession",
    "DeleteLogGroup",
    "DeleteLogStream",
    "PutRetentionPolicy",
    "DisableKey",
    "ScheduleKeyDeletion",
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "PutBucketLifecycle",
    "DeleteBucketLifecycle",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "DeleteBucket",
];

/// Event history keeps this long.
pub const RETENTION_DAYS: i64 = 90;
/// Events this recent may not be in event history yet: asked for again by the next run.
pub const LAG_MINUTES: i64 = 15;
/// The documented rate: two calls a second per account and region (with a margin).
const CALL_SPACING: Duration = Duration::from_millis(520);
/// Largest page the API serves.
const PAGE: i32 = 50;

/// One account and region to ask.
pub struct Target {
    pub account: String,
    pub region: String,
    pub conf: SdkConfig,
}

enum Msg {
    Page(usize, InputScan),
    /// Every name was read for `[from, to)`; `covered` is the part that can be trusted.
    Span(usize, (i64, i64)),
    Failed(usize, AwsError),
    Done(usize, u64, u64),
}

/// The spans a run asks for: the range within the retention, minus what was read before.
pub fn spans(coverage: &Coverage, range: &Range) -> Vec<(i64, i64)> {
    let oldest = range.now_ms - RETENTION_DAYS * 86_400_000 + 60_000;
    let from = range.since_ms.max(oldest);
    let to = range.until_ms.min(range.now_ms);
    coverage.missing(from, to)
}

/// The part of a read span that later runs need not ask for again.
pub fn trusted(span: (i64, i64), now_ms: i64) -> (i64, i64) {
    (span.0, span.1.min(now_ms - LAG_MINUTES * 60_000))
}

/// Builds the scanner's input from a page: each `CloudTrailEvent` string is a record.
pub fn page_document(events: &[&str]) -> Vec<u8> {
    let mut doc = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 16);
    doc.extend_from_slice(b"{\"Records\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(e.as_bytes());
    }
    doc.extend_from_slice(b"]}");
    doc
}

fn checkpoint_key(t: &Target) -> Key {
    Key::new(["lookup", t.account.as_str(), t.region.as_str()])
}

/// Spaces one account and region's calls to the documented rate.
#[derive(Default)]
struct Pacer {
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + CALL_SPACING);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Reads event history of every target (concurrently; each within its own rate) into the sink.
pub async fn pull(
    targets: Vec<Target>,
    names: &[String],
    range: &Range,
    sink: &mut Sink<'_>,
    bar: &Bar,
) -> Result<Vec<SourceReport>, SinkError> {
    let (tx, mut rx) = mpsc::channel::<Msg>(16);
    let mut reports = Vec::new();
    let mut coverages = Vec::new();
    let mut running = 0;
    for (i, t) in targets.iter().enumerate() {
        let mut report = SourceReport::new(format!("LookupEvents {} {}", t.account, t.region));
        let coverage: Coverage = match sink.checkpoints().load(&checkpoint_key(t)) {
            Ok(c) => c.unwrap_or_default(),
            Err(e @ CheckpointError::Corrupt { .. }) => {
                report.notes.push(e.to_string());
                Coverage::default()
            }
            Err(e) => {
                report.errors.push(e.to_string());
                reports.push(report);
                coverages.push(Coverage::default());
                continue;
            }
        };
        if range.since_ms < range.now_ms - RETENTION_DAYS * 86_400_000 {
            report.notes.push(format!(
                "event history keeps {RETENTION_DAYS} days: older events need a trail bucket"
            ));
        }
        let todo = spans(&coverage, range);
        reports.push(report);
        coverages.push(coverage);
        if todo.is_empty() {
            continue;
        }
        let client = super::cloudtrail(&t.conf, &t.region);
        let names = names.to_vec();
        let tx = tx.clone();
        let source = format!("cloudtrail:LookupEvents/{}/{}", t.account, t.region);
        tokio::spawn(async move {
            let stats = CallStats::default();
            let result = read_target(i, &client, &stats, &names, &todo, &source, &tx).await;
            if let Err(e) = result {
                let _ = tx.send(Msg::Failed(i, e)).await;
            }
            let _ = tx
                .send(Msg::Done(i, stats.requests(), stats.throttled()))
                .await;
        });
        running += 1;
    }
    drop(tx);
    let now = range.now_ms;
    while running > 0 {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            Msg::Page(i, scan) => {
                for p in reports[i].count(&scan) {
                    bar.println(&p);
                }
                sink.add(scan);
                bar.show(&reports[i]);
            }
            Msg::Span(i, span) => {
                let (a, b) = trusted(span, now);
                coverages[i].add(a, b);
                sink.stage(checkpoint_key(&targets[i]), &coverages[i]);
            }
            Msg::Failed(i, e) => {
                bar.println(&e.to_string());
                reports[i].errors.push(e.to_string());
            }
            Msg::Done(i, requests, throttled) => {
                reports[i].requests = requests;
                reports[i].throttled = throttled;
                running -= 1;
            }
        }
        if sink.due() {
            tokio::task::block_in_place(|| sink.flush())?;
        }
    }
    tokio::task::block_in_place(|| sink.flush())?;
    Ok(reports)
}

/// Asks for every name over every span, oldest span first, spacing calls to the rate limit.
async fn read_target(
    i: usize,
    client: &aws_sdk_cloudtrail::Client,
    stats: &CallStats,
    names: &[String],
    spans: &[(i64, i64)],
    source: &str,
    tx: &mpsc::Sender<Msg>,
) -> Result<(), AwsError> {
    let pacer = Pacer::default();
    for &(from, to) in spans {
        for name in names {
            let attr = LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value(name)
                .build()
                .map_err(|e| AwsError::other("LookupEvents", e.to_string()))?;
            let mut token: Option<String> = None;
            loop {
                let out = with_backoff(stats, || {
                    let (attr, token, pacer) = (attr.clone(), token.clone(), &pacer);
                    async move {
                        pacer.wait().await;
                        client
                            .lookup_events()
                            .lookup_attributes(attr)
                            .start_time(DateTime::from_millis(from))
                            .end_time(DateTime::from_millis(to))
                            .max_results(PAGE)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(|e| {
                                AwsError::from_sdk(format!("LookupEvents {name} in {source}"), e)
                            })
                    }
                })
                .await?;
                let texts: Vec<&str> = out
                    .events()
                    .iter()
                    .filter_map(|e| e.cloud_trail_event())
                    .collect();
                if !texts.is_empty() {
                    let doc = page_document(&texts);
                    let src = source.to_owned();
                    let scan = tokio::task::spawn_blocking(move || {
                        decode_and_scan(doc, &src, Expect::Any)
                    })
                    .await
                    .map_err(|e| AwsError::other(source.to_owned(), e.to_string()))?;
                    if tx.send(Msg::Page(i, scan)).await.is_err() {
                        return Ok(());
                    }
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
        }
        if tx.send(Msg::Span(i, (from, to))).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::normalize::classify;

    #[test]
    fn every_name_asked_for_is_one_the_scanner_keeps() {
        for name in EVENT_NAMES {
            let source = match *name {
                "ExecuteCommand" | "RunTask" | "StartTask" | "CreateService" | "UpdateService"
                | "CreateCluster" | "UpdateCluster" => "ecs.amazonaws.com",
                "StartSession" | "ResumeSession" | "TerminateSession" => "ssm.amazonaws.com",
                "DeleteLogGroup" | "DeleteLogStream" | "PutRetentionPolicy" => "logs.amazonaws.com",
                "DisableKey" | "ScheduleKeyDeletion" => "kms.amazonaws.com",
                n if n.contains("Bucket") => "s3.amazonaws.com",
                _ => "cloudtrail.amazonaws.com",
            };
            let record = serde_json::json!({
                "eventVersion": "1.08", "eventID": "x", "eventTime": "2024-05-14T09:00:00Z",
                "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
                "requestParameters": {"enableExecuteCommand": true,
                    "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}}},
            });
            assert!(
                matches!(classify(&record, "t"), Ok(Some(_))),
                "{name} is asked for but never kept"
            );
        }
    }

    #[test]
    fn spans_stay_within_retention_and_skip_what_was_read() {
        let day = 86_400_000;
        let now = 1000 * day;
        let range = Range {
            since_ms: now - 100 * day,
            until_ms: now,
            now_ms: now,
        };
        let mut c = Coverage::default();
        let s = spans(&c, &range);
        assert_eq!(s.len(), 1);
        assert!(s[0].0 > now - 90 * day && s[0].0 < now - 89 * day);
        c.add(now - 50 * day, now - 20 * day);
        let s = spans(&c, &range);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], (now - 20 * day, now));
        // The newest minutes are never trusted.
        assert_eq!(trusted((0, now), now), (0, now - LAG_MINUTES * 60_000));
    }

    #[test]
    fn pages_become_trail_documents() {
        let doc = page_document(&[
            r#"{"eventVersion":"1.08","a":1}"#,
            r#"{"eventVersion":"1.08"}"#,
        ]);
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["Records"].as_array().unwrap().len(), 2);
        assert_eq!(page_document(&[]), b"{\"Records\":[]}");
    }
}

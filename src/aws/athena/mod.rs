//! `sync --engine athena`: the trail bucket is scanned by Athena where it lies, not downloaded.
//!
//! ```text
//! bucket folders (ListObjectsV2, delimited) ─► partitions of the range not yet read (checkpoint)
//!   ─► cost guard: sizes of those day folders (ListObjectsV2) vs --max-scan-gb
//!   ─► [--athena-create: CREATE DATABASE / CREATE EXTERNAL TABLE / ALTER TABLE]
//!   ─► extract.sql ─► GetQueryResults pages ─► rows.rs ─► normalize::classify ─► Sink ─► store
//!   ─► checkpoint: the closed day partitions read, once their rows are durable
//! ```
//!
//! The statements come from `queries/athena/` ([`sql`]); the selection in them is rendered
//! from the same table the local scanner classifies with. Transcripts are still pulled by the
//! other sources of `sync`: only where CloudTrail is scanned changes.

pub mod query;
pub mod rows;
pub mod sql;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::progress::{human_bytes, Bar, SourceReport};
use super::pull::{Options, Range};
use super::s3::{self, S3Url};
use super::sink::{Sink, SinkError};
use super::trail::{day_closed, days, AccountDir, TrailRoot};
use super::trail_pull::discover;
use super::{Aws, AwsError, CallStats};
use crate::store::checkpoint::{CheckpointError, Coverage, Key};
use query::{QueryError, ResultPlace};
use sql::TableName;

/// What `--engine athena` was asked to do.
#[derive(Debug, Clone)]
pub struct AthenaOptions {
    /// `--athena-table db.table`.
    pub table: TableName,
    /// `--athena-create`.
    pub create: bool,
    /// Workgroup, output location, result encryption.
    pub place: ResultPlace,
    /// `--max-scan-gb` in bytes (GB of 2^30 bytes).
    pub max_scan_bytes: u64,
    /// `--allow-large-scan`: run even when the estimate is above the limit.
    pub allow_large_scan: bool,
    /// `--dry-run`: print the estimate and the statements, run nothing.
    pub dry_run: bool,
    /// The region Athena is called in (`--region`, else the profile's, else the bucket's).
    pub region: Option<String>,
}

/// The checkpoint: per `account/region`, the delivery days whose partitions were read whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TableState {
    read: BTreeMap<String, Coverage>,
}

const DAY_MS: i64 = 86_400_000;

fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// `yyyy/MM/dd`, the day partition's value (the folder's own path).
fn partition_day(d: NaiveDate) -> String {
    d.format("%Y/%m/%d").to_string()
}

/// The partitions one run reads.
#[derive(Debug, Default)]
pub struct Work {
    /// (account, region) -> day partition values.
    pub wanted: BTreeMap<(String, String), BTreeSet<String>>,
    /// The day folders' prefixes (for the size estimate).
    prefixes: Vec<String>,
    /// Days read, per pair, to mark in the checkpoint afterwards (closed days only).
    closed: Vec<(String, NaiveDate)>,
}

/// The estimate from listing the partitions' folders.
#[derive(Debug, Default, Clone, Copy)]
pub struct Estimate {
    pub objects: u64,
    pub bytes: u64,
    pub folders: u64,
}

fn checkpoint_key(t: &TableName) -> Key {
    Key::new(["athena", t.database.as_str(), t.table.as_str()])
}

/// Plans the partitions of the range not read yet.
fn plan(
    found: &[(AccountDir, String)],
    range: &Range,
    state: &TableState,
    report: &mut SourceReport,
) -> Work {
    let mut w = Work::default();
    let day_list = days(range.since_ms, range.until_ms, range.now_ms);
    for (dir, region) in found {
        let pair = format!("{}/{region}", dir.account);
        let cov = state.read.get(&pair);
        for d in &day_list {
            let start = day_start_ms(*d);
            let done = cov.is_some_and(|c| c.missing(start, start + DAY_MS).is_empty());
            if done {
                report.unchanged += 1;
                continue;
            }
            w.wanted
                .entry((dir.account.clone(), region.clone()))
                .or_default()
                .insert(partition_day(*d));
            w.prefixes.push(dir.day_prefix(region, *d));
            if day_closed(*d, range.now_ms) {
                w.closed.push((pair.clone(), *d));
            }
        }
    }
    w
}

/// Sums the sizes of the day folders (bounded concurrency).
async fn estimate(
    client: &aws_sdk_s3::Client,
    stats: &Arc<CallStats>,
    bucket: &str,
    prefixes: &[String],
    concurrency: usize,
) -> Result<Estimate, AwsError> {
    let mut est = Estimate::default();
    let mut set: JoinSet<Result<(u64, u64), AwsError>> = JoinSet::new();
    let mut next = 0;
    loop {
        while set.len() < concurrency.max(1) && next < prefixes.len() {
            let (client, stats, bucket, prefix) = (
                client.clone(),
                stats.clone(),
                bucket.to_owned(),
                prefixes[next].clone(),
            );
            next += 1;
            set.spawn(async move {
                let (mut n, mut b) = (0u64, 0u64);
                let mut token: Option<String> = None;
                loop {
                    let page = s3::list_page(
                        &client,
                        &stats,
                        &bucket,
                        &prefix,
                        false,
                        None,
                        token.as_deref(),
                    )
                    .await?;
                    n += page.objects.len() as u64;
                    b += page.objects.iter().map(|o| o.size).sum::<u64>();
                    match page.next {
                        Some(t) => token = Some(t),
                        None => return Ok((n, b)),
                    }
                }
            });
        }
        let Some(done) = set.join_next().await else {
            break;
        };
        let (n, b) = done.map_err(|e| AwsError::other("listing a day folder", e.to_string()))??;
        est.objects += n;
        est.bytes += b;
        est.folders += 1;
    }
    Ok(est)
}

/// The common parent of the account folders: the table's location (`.../AWSLogs/o-xxx/`).
fn location(bucket: &str, found: &[(AccountDir, String)]) -> Result<String, String> {
    let parents: BTreeSet<&str> = found
        .iter()
        .map(|(d, _)| {
            d.dir
                .trim_end_matches('/')
                .rsplit_once('/')
                .map_or("", |(p, _)| p)
        })
        .collect();
    match parents.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok(format!("s3://{bucket}/{one}/")),
        many => Err(format!(
            "--athena-create: the account folders sit under {} different parents ({}); give \
             --cloudtrail-bucket down to one of them (e.g. s3://{bucket}/{}/)",
            many.len(),
            many.join(", "),
            many.first().copied().unwrap_or("AWSLogs/o-xxx")
        )),
    }
}

/// Everything one `--engine athena` run prints or records.
pub struct Outcome {
    pub report: SourceReport,
    /// The accounts found in the bucket (for the API sources of the same run).
    pub accounts: Vec<String>,
    /// With `--dry-run`: the text to print on stdout (estimate, then statements).
    pub dry_run: Option<String>,
    /// The run was interrupted by the user.
    pub interrupted: bool,
}

/// Runs `--engine athena` over one trail bucket.
#[allow(clippy::too_many_lines)]
pub async fn pull(
    aws: &Aws,
    url: &S3Url,
    athena: &AthenaOptions,
    range: &Range,
    opts: &Options,
    sink: &mut Sink<'_>,
    bar: &Bar,
) -> Result<Outcome, SinkError> {
    let mut report = SourceReport::new(format!("{url} (athena {})", athena.table));
    let mut out = Outcome {
        report: SourceReport::default(),
        accounts: Vec::new(),
        dry_run: None,
        interrupted: false,
    };
    let stats = Arc::new(CallStats::default());
    let fail = |mut report: SourceReport, stats: &CallStats, msg: String| {
        bar.println(&msg);
        report.errors.push(msg);
        finish(report, stats)
    };
    let bucket_region = aws.bucket_region(&url.bucket).await;
    let s3c = aws.s3(bucket_region.as_deref());
    bar.phase("finding account and region folders");
    let root = TrailRoot::parse(&url.prefix);
    let found = match discover(&s3c, &stats, &url.bucket, &root, opts).await {
        Ok(f) => f,
        Err(e) => {
            out.report = fail(report, &stats, e.to_string());
            return Ok(out);
        }
    };
    out.accounts = found.iter().map(|(d, _)| d.account.clone()).collect();
    out.accounts.dedup();
    if found.is_empty() {
        let msg = format!(
            "{url}: no account folders under s3://{}/{} match (is this a CloudTrail bucket and prefix?)",
            url.bucket, root.awslogs
        );
        out.report = fail(report, &stats, msg);
        return Ok(out);
    }
    let key = checkpoint_key(&athena.table);
    let state: TableState = match sink.checkpoints().load(&key) {
        Ok(s) => s.unwrap_or_default(),
        Err(e @ CheckpointError::Corrupt { .. }) => {
            bar.println(&e.to_string());
            report.notes.push(e.to_string());
            TableState::default()
        }
        Err(e) => {
            out.report = fail(report, &stats, e.to_string());
            return Ok(out);
        }
    };
    let work = plan(&found, range, &state, &mut report);

    let mut statements: Vec<(String, String)> = Vec::new();
    if athena.create {
        let loc = match location(&url.bucket, &found) {
            Ok(l) => l,
            Err(msg) => {
                out.report = fail(report, &stats, msg);
                return Ok(out);
            }
        };
        let accounts: BTreeSet<String> = found.iter().map(|(d, _)| d.account.clone()).collect();
        let regions: BTreeSet<String> = found.iter().map(|(_, r)| r.clone()).collect();
        let (accounts, regions): (Vec<String>, Vec<String>) = (
            accounts.into_iter().collect(),
            regions.into_iter().collect(),
        );
        statements.push((
            "create database".into(),
            sql::create_database(&athena.table),
        ));
        statements.push((
            "create table".into(),
            sql::create_table(&athena.table, &loc, &accounts, &regions),
        ));
        statements.push((
            "update partitions".into(),
            sql::update_partitions(&athena.table, &accounts, &regions),
        ));
    }
    let nothing_new = work.wanted.is_empty();
    if !nothing_new {
        statements.push(("extract".into(), sql::extract(&athena.table, &work.wanted)));
    }

    bar.phase(&format!("sizing {} partitions", work.prefixes.len()));
    let est = match estimate(&s3c, &stats, &url.bucket, &work.prefixes, opts.concurrency).await {
        Ok(e) => e,
        Err(e) => {
            out.report = fail(report, &stats, format!("estimating the scan: {e}"));
            return Ok(out);
        }
    };
    let pairs = work.wanted.len();
    let estimate_line = format!(
        "estimate: {} partitions ({} account/region pairs) hold {} objects, {}; Athena would scan about that, cost estimate ${:.4} at $5/TB (limit --max-scan-gb {})",
        est.folders,
        pairs,
        est.objects,
        human_bytes(est.bytes),
        query::cost_usd(est.bytes),
        athena.max_scan_bytes >> 30
    );
    report.notes.push(estimate_line.clone());
    if athena.dry_run {
        let mut text = format!("-- {estimate_line}\n");
        if nothing_new {
            text.push_str(
                "-- every partition of the range was read by an earlier run: nothing to extract\n",
            );
        }
        for (purpose, s) in &statements {
            text.push_str(&format!("-- {purpose}\n{s}\n"));
        }
        out.dry_run = Some(text);
        out.report = finish(report, &stats);
        return Ok(out);
    }
    if est.bytes > athena.max_scan_bytes && !athena.allow_large_scan {
        let msg = format!(
            "refusing to run: the partitions to scan hold {} ({} objects), above --max-scan-gb {} \
             (cost estimate ${:.2}); narrow --since/--until, --accounts or --regions, raise \
             --max-scan-gb, or pass --allow-large-scan",
            human_bytes(est.bytes),
            est.objects,
            athena.max_scan_bytes >> 30,
            query::cost_usd(est.bytes)
        );
        out.report = fail(report, &stats, msg);
        return Ok(out);
    }

    let region = athena.region.clone().or(bucket_region);
    let client = aws.athena(region.as_deref());
    let mut interrupt = Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    for (purpose, statement) in &statements {
        bar.phase(&format!("athena: {purpose}"));
        let id = match query::start(&client, &stats, sql::for_api(statement), &athena.place).await {
            Ok(id) => id,
            Err(e) => {
                out.report = fail(report, &stats, format!("{purpose}: {e}"));
                return Ok(out);
            }
        };
        let mut record = match query::wait(&client, &stats, &id, purpose, &mut interrupt).await {
            Ok(r) => r,
            Err(QueryError::Call(e)) => {
                out.report = fail(report, &stats, format!("{purpose}: {e}"));
                return Ok(out);
            }
            Err(QueryError::Ended(r)) => {
                let msg = format!(
                    "athena query {} ({purpose}) {}: {}",
                    r.id,
                    r.state,
                    r.reason.as_deref().unwrap_or("")
                );
                report.queries.push(r.line());
                out.report = fail(report, &stats, msg);
                return Ok(out);
            }
            Err(QueryError::Interrupted(r)) => {
                let msg = format!(
                    "athena query {} ({purpose}) {}: {}",
                    r.id,
                    r.state,
                    r.reason.as_deref().unwrap_or("")
                );
                report.queries.push(r.line());
                out.interrupted = true;
                // Rows already read stay; no checkpoint claims the query's partitions.
                tokio::task::block_in_place(|| sink.flush())?;
                out.report = fail(report, &stats, msg);
                return Ok(out);
            }
        };
        if purpose == "extract" {
            match read_results(&client, &stats, &id, sink, &mut report, bar, &mut interrupt).await {
                Ok(n) => record.rows = n,
                Err(e) => {
                    out.interrupted = e.starts_with(INTERRUPTED);
                    report.queries.push(record.line());
                    out.report = fail(report, &stats, e);
                    return Ok(out);
                }
            }
        }
        report.queries.push(record.line());
    }
    // Every row of the query is in the sink: the closed days it read can be marked.
    if !work.closed.is_empty() {
        let mut next = state.clone();
        for (pair, d) in &work.closed {
            let s = day_start_ms(*d);
            next.read
                .entry(pair.clone())
                .or_default()
                .add(s, s + DAY_MS);
        }
        sink.stage(key, &next);
    }
    tokio::task::block_in_place(|| sink.flush())?;
    out.report = finish(report, &stats);
    Ok(out)
}

/// Pages through a finished extraction's results into the sink; returns the rows read.
async fn read_results(
    client: &aws_sdk_athena::Client,
    stats: &CallStats,
    id: &str,
    sink: &mut Sink<'_>,
    report: &mut SourceReport,
    bar: &Bar,
    interrupt: &mut (impl std::future::Future<Output = ()> + Unpin),
) -> Result<u64, String> {
    let source = format!("athena:{id}");
    let mut token: Option<String> = None;
    let mut header: Option<rows::Header> = None;
    let mut total = 0u64;
    loop {
        let page = tokio::select! {
            p = query::page(client, stats, id, token.as_deref()) => p.map_err(|e| e.to_string())?,
            () = &mut *interrupt => {
                tokio::task::block_in_place(|| sink.flush()).map_err(|e| e.to_string())?;
                return Err(format!(
                    "{INTERRUPTED} while reading the results of {source} after {total} rows (kept; \
                     the next run asks for the same partitions again)"
                ));
            }
        };
        let mut body = page.rows.as_slice();
        if header.is_none() {
            let Some((first, rest)) = body.split_first() else {
                return Ok(0);
            };
            header = Some(rows::Header::new(first).map_err(|e| format!("{source}: {e}"))?);
            body = rest;
        }
        let Some(h) = &header else {
            return Ok(total);
        };
        total += body.len() as u64;
        let scan = rows::scan_rows(h, body, &source);
        for p in report.count(&scan) {
            bar.println(&p);
        }
        sink.add(scan);
        bar.show(report);
        if sink.due() {
            tokio::task::block_in_place(|| sink.flush()).map_err(|e| e.to_string())?;
        }
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(total),
        }
    }
}

/// How an interrupted result read starts its message.
const INTERRUPTED: &str = "interrupted";

fn finish(mut report: SourceReport, stats: &CallStats) -> SourceReport {
    report.requests = stats.requests();
    report.throttled = stats.throttled();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Vec<(AccountDir, String)> {
        let dir = |a: &str| AccountDir {
            account: a.into(),
            dir: format!("AWSLogs/o-x/{a}/"),
        };
        vec![
            (dir("111111111111"), "us-east-1".into()),
            (dir("222222222222"), "us-east-1".into()),
        ]
    }

    fn ms(s: &str) -> i64 {
        crate::model::Timestamp::parse(s).unwrap().0
    }

    #[test]
    fn a_second_run_asks_only_for_days_not_read_whole() {
        let range = Range {
            since_ms: ms("2024-11-18T00:00:00Z"),
            until_ms: ms("2024-11-20T00:00:00Z"),
            now_ms: ms("2024-11-20T12:00:00Z"),
        };
        let mut r = SourceReport::default();
        let w = plan(&found(), &range, &TableState::default(), &mut r);
        let days: Vec<&String> = w.wanted.values().flatten().collect();
        assert_eq!(days.len(), 6, "{:?}", w.wanted);
        // 18 and 19 closed; the 20th (within an hour after until) still open.
        assert_eq!(w.closed.len(), 4);
        let mut state = TableState::default();
        for (pair, d) in &w.closed {
            let s = day_start_ms(*d);
            state
                .read
                .entry(pair.clone())
                .or_default()
                .add(s, s + DAY_MS);
        }
        let w2 = plan(&found(), &range, &state, &mut r);
        for days in w2.wanted.values() {
            assert_eq!(days.iter().collect::<Vec<_>>(), vec!["2024/11/20"]);
        }
        assert_eq!(r.unchanged, 4);
    }

    #[test]
    fn the_location_is_the_one_parent_of_the_account_folders() {
        assert_eq!(location("b", &found()).unwrap(), "s3://b/AWSLogs/o-x/");
        let mut f = found();
        f.push((
            AccountDir {
                account: "333333333333".into(),
                dir: "AWSLogs/333333333333/".into(),
            },
            "us-east-1".into(),
        ));
        assert!(location("b", &f)
            .unwrap_err()
            .contains("2 different parents"));
    }
}

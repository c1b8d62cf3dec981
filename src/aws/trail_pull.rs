//! Pulls a CloudTrail bucket: finds the account and region folders, lists the day folders of
//! the range, fetches the new log files with bounded concurrency, scans them, and advances each
//! day's checkpoint (see [`super::trail`]) once their rows are durable.
//!
//! Three stages run at once: a few folder listings feed a bounded queue of keys; up to
//! `concurrency` fetches (each inflated and scanned on a blocking thread) drain it; the loop
//! between them hands rows to the [`Sink`] and flushes it. Memory follows the concurrency and
//! the queue bound, never the number of objects.

use std::collections::VecDeque;
use std::sync::Arc;

use aws_sdk_s3::Client;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::progress::{Bar, SourceReport};
use super::pull::{decode_and_scan, Expect, Options, Range};
use super::s3::{self, S3Url};
use super::sink::{Sink, SinkError};
use super::trail::{
    beyond_range, day_closed, day_name, days, AccountDir, DayRun, DayState, RegionState, TrailRoot,
};
use super::{is_account_id, Aws, AwsError, CallStats, Failure};
use crate::ingest::InputScan;
use crate::model::Timestamp;
use crate::store::checkpoint::{CheckpointError, Key};

/// Folder listings at once.
const LISTINGS: usize = 4;
/// Keys waiting for a fetch before listings pause.
const QUEUE_MAX: usize = 4000;

/// One account and region of the bucket.
struct RegionRun {
    key: Key,
    state: RegionState,
    dirty: bool,
}

/// One day folder in flight.
struct DayWork {
    region: usize,
    day: String,
    run: DayRun,
}

enum Listing {
    Keys(usize, Vec<String>),
    /// The listing is over; `true` when it reached the folder's end.
    End(usize, bool),
    Failed(usize, AwsError),
}

/// Pulls one trail bucket into the sink.
pub async fn pull(
    aws: &Aws,
    url: &S3Url,
    range: &Range,
    opts: &Options,
    sink: &mut Sink<'_>,
    bar: &Bar,
) -> Result<(SourceReport, Vec<String>), SinkError> {
    let mut report = SourceReport::new(format!("{url} (trail)"));
    let stats = Arc::new(CallStats::default());
    let region = aws.bucket_region(&url.bucket).await;
    let client = aws.s3(region.as_deref());
    bar.phase("finding account and region folders");
    let root = TrailRoot::parse(&url.prefix);
    let found = match discover(&client, &stats, &url.bucket, &root, opts).await {
        Ok(f) => f,
        Err(e) => {
            bar.println(&e.to_string());
            report.errors.push(e.to_string());
            return Ok((finish(report, &stats), Vec::new()));
        }
    };
    let mut accounts: Vec<String> = found.iter().map(|(d, _)| d.account.clone()).collect();
    accounts.dedup();
    if found.is_empty() {
        let msg = format!(
            "{url}: no account folders under s3://{}/{} match (is this a CloudTrail bucket and prefix{}?)",
            url.bucket,
            root.awslogs,
            if opts.accounts.is_empty() { "" } else { ", and are --accounts right" }
        );
        bar.println(&msg);
        report.errors.push(msg);
        return Ok((finish(report, &stats), accounts));
    }
    let (mut regions, mut work) = plan(sink, &url.bucket, &found, range, &mut report, bar);
    let total_days = work.len();
    bar.phase(&format!(
        "{} account/region pairs, {total_days} day folders to read",
        regions.len()
    ));

    // Failed keys the listings will not meet again are fetched by name.
    let mut queue: VecDeque<(usize, String)> = VecDeque::new();
    for (i, d) in work.iter().enumerate() {
        queue.extend(d.run.retries().into_iter().map(|k| (i, k)));
    }
    let (tx, mut rx) = mpsc::channel::<Listing>(LISTINGS * 2);
    let mut listings_running = 0usize;
    let mut next_day = 0usize;
    let mut fetches: JoinSet<(usize, String, Result<InputScan, AwsError>)> = JoinSet::new();
    let concurrency = opts.concurrency.max(1);
    loop {
        while listings_running < LISTINGS && next_day < work.len() {
            let d = &work[next_day];
            tokio::spawn(list_day(
                client.clone(),
                stats.clone(),
                url.bucket.clone(),
                next_day,
                d.run.prefix.clone(),
                d.run.start_after.clone(),
                d.run.stem.clone(),
                d.run.stop_after_ms,
                tx.clone(),
            ));
            listings_running += 1;
            next_day += 1;
        }
        while fetches.len() < concurrency {
            let Some((day, key)) = queue.pop_front() else {
                break;
            };
            let (client, stats, bucket) = (client.clone(), stats.clone(), url.bucket.clone());
            fetches.spawn(async move {
                let source = format!("s3://{bucket}/{key}");
                let got = s3::get(&client, &stats, &bucket, &key).await;
                let scanned = match got {
                    Ok(raw) => tokio::task::spawn_blocking(move || {
                        decode_and_scan(raw, &source, Expect::Any)
                    })
                    .await
                    .map_err(|e| {
                        AwsError::other(format!("scanning s3://{bucket}/{key}"), e.to_string())
                    }),
                    Err(e) => Err(e),
                };
                (day, key, scanned)
            });
        }
        if listings_running == 0 && next_day >= work.len() && queue.is_empty() && fetches.is_empty()
        {
            break;
        }
        tokio::select! {
            msg = rx.recv(), if listings_running > 0 && queue.len() < QUEUE_MAX => {
                let Some(msg) = msg else { break };
                match msg {
                    Listing::Keys(day, keys) => {
                        let d = &mut work[day];
                        for k in keys {
                            if d.run.listed(&k) {
                                queue.push_back((day, k));
                            } else {
                                report.unchanged += 1;
                            }
                        }
                    }
                    Listing::End(day, to_end) => {
                        listings_running -= 1;
                        work[day].run.listing_over = true;
                        work[day].run.listed_to_end = to_end;
                    }
                    Listing::Failed(day, e) => {
                        listings_running -= 1;
                        work[day].run.listing_over = true;
                        bar.println(&e.to_string());
                        report.errors.push(e.to_string());
                    }
                }
            }
            done = fetches.join_next(), if !fetches.is_empty() => {
                let Some(Ok((day, key, result))) = done else { continue };
                let ok = take(result, &key, &url.bucket, sink, &mut report, bar);
                work[day].run.finished(&key, ok);
                bar.show(&report);
            }
            else => break,
        }
        if sink.due() {
            stage(&mut work, &mut regions, sink);
            tokio::task::block_in_place(|| sink.flush())?;
        }
    }
    drop(tx);
    for d in &mut work {
        d.run.listing_over = true;
    }
    stage(&mut work, &mut regions, sink);
    tokio::task::block_in_place(|| sink.flush())?;
    Ok((finish(report, &stats), accounts))
}

fn finish(mut report: SourceReport, stats: &CallStats) -> SourceReport {
    report.requests = stats.requests();
    report.throttled = stats.throttled();
    report
}

/// Hands one fetched object to the sink; returns whether it counts as read.
fn take(
    result: Result<InputScan, AwsError>,
    key: &str,
    bucket: &str,
    sink: &mut Sink<'_>,
    report: &mut SourceReport,
    bar: &Bar,
) -> bool {
    match result {
        Ok(scan) => {
            for p in report.count(&scan) {
                bar.println(&p);
            }
            sink.add(scan);
            true
        }
        Err(e) if e.failure == Failure::NotFound => {
            // Deleted between the listing and the read (a lifecycle rule): nothing to read.
            report
                .notes
                .push(format!("s3://{bucket}/{key}: gone before it could be read"));
            true
        }
        Err(e) => {
            bar.println(&e.to_string());
            report.errors.push(e.to_string());
            false
        }
    }
}

/// Advances every day's checkpoint and stages the account/region files that changed.
fn stage(work: &mut [DayWork], regions: &mut [RegionRun], sink: &mut Sink<'_>) {
    for d in work.iter_mut() {
        if d.run.advance() {
            let r = &mut regions[d.region];
            r.state.days.insert(d.day.clone(), d.run.state.clone());
            r.dirty = true;
        }
    }
    for r in regions.iter_mut().filter(|r| r.dirty) {
        sink.stage(r.key.clone(), &r.state);
        r.dirty = false;
    }
}

/// Loads the checkpoints and plans each account/region/day folder of the range.
fn plan(
    sink: &Sink<'_>,
    bucket: &str,
    found: &[(AccountDir, String)],
    range: &Range,
    report: &mut SourceReport,
    bar: &Bar,
) -> (Vec<RegionRun>, Vec<DayWork>) {
    let day_list = days(range.since_ms, range.until_ms, range.now_ms);
    let since_day = Timestamp(range.since_ms).day();
    let stop_after = range.until_ms + super::trail::DELIVERY_LAG_MINUTES * 60_000;
    let mut regions = Vec::new();
    let mut work = Vec::new();
    for (dir, region) in found {
        let mut parts = vec!["s3-trail".to_owned(), bucket.to_owned()];
        parts.extend(
            dir.dir
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
        parts.push(region.clone());
        let key = Key::new(parts);
        let state: RegionState = match sink.checkpoints().load(&key) {
            Ok(s) => s.unwrap_or_default(),
            Err(e @ CheckpointError::Corrupt { .. }) => {
                bar.println(&e.to_string());
                report.notes.push(e.to_string());
                RegionState::default()
            }
            Err(e) => {
                bar.println(&e.to_string());
                report.errors.push(e.to_string());
                continue;
            }
        };
        let idx = regions.len();
        for d in &day_list {
            let name = day_name(*d);
            let before: DayState = state.days.get(&name).cloned().unwrap_or_default();
            if before.complete && before.failed.is_empty() {
                continue;
            }
            let lo = (name == since_day).then_some(range.since_ms);
            let run = DayRun::plan(
                before,
                dir.day_prefix(region, *d),
                dir.stem(region),
                lo,
                Some(stop_after),
                day_closed(*d, range.now_ms),
            );
            work.push(DayWork {
                region: idx,
                day: name,
                run,
            });
        }
        regions.push(RegionRun {
            key,
            state,
            dirty: false,
        });
    }
    (regions, work)
}

/// Finds the account folders (and their regions) under the bucket's `AWSLogs/`.
async fn discover(
    client: &Client,
    stats: &CallStats,
    bucket: &str,
    root: &TrailRoot,
    opts: &Options,
) -> Result<Vec<(AccountDir, String)>, AwsError> {
    let mut dirs: Vec<AccountDir> = Vec::new();
    let org_dir = |org: &str| format!("{}{org}/", root.awslogs);
    let add_accounts = |dirs: &mut Vec<AccountDir>, subfolders: Vec<String>| {
        for sub in subfolders {
            let name = last_component(&sub);
            if is_account_id(name) && opts.wants_account(name) {
                dirs.push(AccountDir {
                    account: name.to_owned(),
                    dir: sub.clone(),
                });
            }
        }
    };
    match (&root.org, &root.account) {
        (org, Some(account)) => {
            let base = org.as_deref().map_or(root.awslogs.clone(), org_dir);
            if opts.wants_account(account) {
                dirs.push(AccountDir {
                    account: account.clone(),
                    dir: format!("{base}{account}/"),
                });
            }
        }
        (Some(org), None) => {
            let subs = s3::subfolders(client, stats, bucket, &org_dir(org)).await?;
            add_accounts(&mut dirs, subs);
        }
        (None, None) => {
            let top = s3::subfolders(client, stats, bucket, &root.awslogs).await?;
            for sub in top {
                let name = last_component(&sub).to_owned();
                if name.starts_with("o-") {
                    let subs = s3::subfolders(client, stats, bucket, &sub).await?;
                    add_accounts(&mut dirs, subs);
                } else {
                    add_accounts(&mut dirs, vec![sub]);
                }
            }
        }
    }
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let regions: Vec<String> = if opts.regions.is_empty() {
            s3::subfolders(client, stats, bucket, &dir.cloudtrail())
                .await?
                .iter()
                .map(|p| last_component(p).to_owned())
                .collect()
        } else {
            opts.regions.clone()
        };
        for r in regions {
            out.push((dir.clone(), r));
        }
    }
    Ok(out)
}

fn last_component(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
}

/// Lists one day folder from `start_after`, page by page, until its end or the range's end.
#[allow(clippy::too_many_arguments)]
async fn list_day(
    client: Client,
    stats: Arc<CallStats>,
    bucket: String,
    day: usize,
    prefix: String,
    start_after: String,
    stem: String,
    stop_after_ms: Option<i64>,
    tx: mpsc::Sender<Listing>,
) {
    let mut token: Option<String> = None;
    let start = (!start_after.is_empty()).then_some(start_after.as_str());
    loop {
        let page = match s3::list_page(
            &client,
            &stats,
            &bucket,
            &prefix,
            false,
            start,
            token.as_deref(),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Listing::Failed(day, e)).await;
                return;
            }
        };
        let mut keys = Vec::with_capacity(page.objects.len());
        let mut beyond = false;
        for o in page.objects {
            if beyond_range(&stem, stop_after_ms, &o.key) {
                beyond = true;
                break;
            }
            keys.push(o.key);
        }
        if !keys.is_empty() && tx.send(Listing::Keys(day, keys)).await.is_err() {
            return;
        }
        match page.next {
            Some(t) if !beyond => token = Some(t),
            _ => {
                let _ = tx.send(Listing::End(day, !beyond)).await;
                return;
            }
        }
    }
}

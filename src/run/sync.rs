//! `sync`: resolves the flags once, opens the store, pulls each AWS source into it through
//! [`crate::aws`], and prints what each source read. Exit status 2 when anything could not be
//! read (every problem is named on stderr as it happens).

use std::collections::BTreeSet;
use std::io::{self, Write};

use anyhow::{bail, Context};

use super::{EXIT_ERROR, EXIT_OK};
use crate::aws::athena::query::ResultPlace;
use crate::aws::athena::sql::TableName;
use crate::aws::athena::{self, AthenaOptions};
use crate::aws::progress::{human_bytes, Progress, SourceReport};
use crate::aws::pull::{Options, Range};
use crate::aws::s3::S3Url;
use crate::aws::sink::{Sink, Taken};
use crate::aws::transcripts::{Place, Wanted};
use crate::aws::{self, lookup, trail_pull, transcripts, Aws, Settings};
use crate::cli::{Engine, SyncArgs};
use crate::config;
use crate::model::{ExecEvent, Timestamp};
use crate::store::{Days, Store};

/// The default range: the last week.
const DEFAULT_SINCE: &str = "7d";
/// The table `--athena-create` makes when `--athena-table` is not given.
const DEFAULT_ATHENA_TABLE: &str = "execaudit.cloudtrail";

/// Everything `sync` will do, validated before any request is made.
struct Plan {
    settings: Settings,
    trails: Vec<S3Url>,
    lookup: bool,
    lookup_names: Vec<String>,
    transcript_buckets: Vec<S3Url>,
    log_groups: Vec<String>,
    sweep: bool,
    range: Range,
    opts: Options,
    quiet: bool,
    /// `--engine athena`: how the trail buckets are scanned instead of fetched.
    athena: Option<AthenaOptions>,
}

impl Plan {
    fn resolve(a: &SyncArgs) -> anyhow::Result<Plan> {
        if a.cloudtrail_bucket.is_empty()
            && !a.lookup
            && a.transcript_bucket.is_empty()
            && a.log_group.is_empty()
        {
            bail!(
                "nothing to pull: give --cloudtrail-bucket s3://..., --lookup, --transcript-bucket \
                 s3://... or --log-group NAME (see `execaudit sync --help`)"
            );
        }
        let parse_urls = |flag: &str, v: &[String]| -> anyhow::Result<Vec<S3Url>> {
            v.iter()
                .map(|u| S3Url::parse(u).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
                .collect()
        };
        let now = config::now();
        let since =
            config::parse_time("--since", a.since.as_deref().unwrap_or(DEFAULT_SINCE), now)?;
        let until = match &a.until {
            Some(u) => config::parse_time("--until", u, now)?,
            None => now,
        };
        if since >= until {
            bail!("--since must be before --until");
        }
        if let Some(t) = &a.role_arn_template {
            aws::check_role_template(t).map_err(|e| anyhow::anyhow!("--role-arn-template: {e}"))?;
        }
        for acct in &a.accounts {
            if !aws::is_account_id(acct) {
                bail!("--accounts: {acct:?} is not a 12-digit account id");
            }
        }
        let known: BTreeSet<&str> = lookup::EVENT_NAMES.iter().copied().collect();
        for n in &a.lookup_event {
            if !known.contains(n.as_str()) {
                bail!(
                    "--lookup-event: {n:?} is not an event execaudit keeps; one of {}",
                    lookup::EVENT_NAMES.join(", ")
                );
            }
        }
        if a.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let athena = athena_options(a)?;
        let api_regions = if a.region.is_empty() {
            a.regions.clone()
        } else {
            a.region.clone()
        };
        Ok(Plan {
            settings: Settings {
                profile: a.profile.clone(),
                regions: api_regions,
                endpoint_url: a.endpoint_url.clone(),
                role_arn_template: a.role_arn_template.clone(),
            },
            trails: parse_urls("--cloudtrail-bucket", &a.cloudtrail_bucket)?,
            lookup: a.lookup,
            lookup_names: if a.lookup_event.is_empty() {
                lookup::EVENT_NAMES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            } else {
                a.lookup_event.clone()
            },
            transcript_buckets: parse_urls("--transcript-bucket", &a.transcript_bucket)?,
            log_groups: a.log_group.clone(),
            sweep: a.sweep,
            range: Range {
                since_ms: since.0,
                until_ms: until.0,
                now_ms: now.0,
            },
            opts: Options {
                concurrency: a.concurrency,
                accounts: a.accounts.clone(),
                regions: a.regions.clone(),
            },
            quiet: a.quiet,
            athena,
        })
    }
}

/// Checks the `--engine athena` flags; `None` for the local engine.
fn athena_options(a: &SyncArgs) -> anyhow::Result<Option<AthenaOptions>> {
    let athena_only = [
        ("--athena-table", a.athena_table.is_some()),
        ("--athena-create", a.athena_create),
        ("--allow-large-scan", a.allow_large_scan),
        ("--dry-run", a.dry_run),
        ("--work-group", a.work_group.is_some()),
        ("--output-location", a.output_location.is_some()),
        ("--encryption-option", a.encryption_option.is_some()),
    ];
    if a.engine != Engine::Athena {
        if let Some((flag, _)) = athena_only.iter().find(|(_, set)| *set) {
            bail!("{flag} is for --engine athena");
        }
        return Ok(None);
    }
    if a.cloudtrail_bucket.is_empty() {
        bail!(
            "--engine athena scans a trail bucket: give --cloudtrail-bucket s3://... (the bucket the \
             table reads; its folder listing sizes the scan before it runs)"
        );
    }
    let table = match (&a.athena_table, a.athena_create) {
        (Some(t), _) => t.clone(),
        (None, true) => DEFAULT_ATHENA_TABLE.to_owned(),
        (None, false) => bail!(
            "--engine athena needs a CloudTrail table: --athena-table db.table (partitioned by \
             account, region, day), or --athena-create to make one"
        ),
    };
    let table = TableName::parse(&table).map_err(|e| anyhow::anyhow!("--athena-table: {e}"))?;
    if let Some(o) = &a.output_location {
        S3Url::parse(o).map_err(|e| anyhow::anyhow!("--output-location: {e}"))?;
    }
    if a.encryption_option
        .as_deref()
        .is_some_and(|o| o != "SSE_S3")
        && a.kms_key.is_none()
    {
        bail!("--encryption-option SSE_KMS and CSE_KMS need --kms-key");
    }
    Ok(Some(AthenaOptions {
        table,
        create: a.athena_create,
        place: ResultPlace {
            work_group: a.work_group.clone(),
            output_location: a.output_location.clone(),
            encryption_option: a.encryption_option.clone(),
            kms_key: a.kms_key.clone(),
        },
        max_scan_bytes: a.max_scan_gb.saturating_mul(1 << 30),
        allow_large_scan: a.allow_large_scan,
        dry_run: a.dry_run,
        region: a.region.first().cloned(),
    }))
}

/// Runs `execaudit sync`.
pub fn sync(a: SyncArgs) -> anyhow::Result<i32> {
    crate::ingest::transcript::set_max_bytes(a.max_transcript_bytes);
    let plan = Plan::resolve(&a)?;
    let root = config::store_path(a.store.store);
    let mut store = Store::open_for_write(&root)
        .with_context(|| format!("opening the store at {}", root.display()))?;
    if let Some(mode) = store.exposed_mode() {
        eprintln!(
            "warning: the store {} is open to group or others (mode {mode:o}) and its transcripts hold what was typed and printed, secrets included: `chmod 700 {}`",
            root.display(),
            root.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if plan.athena.as_ref().is_some_and(|a| a.dry_run) {
        let (texts, failed) = runtime.block_on(dry_run(&plan, &mut store))?;
        print!("{texts}");
        return Ok(if failed { EXIT_ERROR } else { EXIT_OK });
    }
    let (reports, taken) = runtime.block_on(pull(&plan, &mut store))?;
    // Its transcripts are read: the allocator goes back to returning freed memory.
    crate::alloc::transcripts_done();
    print_summary(&mut io::stdout().lock(), &reports, &taken)?;
    let failed = reports.iter().any(|r| !r.errors.is_empty());
    Ok(if failed { EXIT_ERROR } else { EXIT_OK })
}

/// `--engine athena --dry-run`: the estimate and the statements of every trail bucket.
async fn dry_run(plan: &Plan, store: &mut Store) -> anyhow::Result<(String, bool)> {
    let aws = Aws::connect(&plan.settings).await;
    let progress = Progress::new(plan.quiet);
    let mut sink = Sink::new(store);
    let mut text = String::new();
    let mut failed = false;
    if let Some(a) = &plan.athena {
        for url in &plan.trails {
            let bar = progress.bar(&url.to_string());
            let out = athena::pull(&aws, url, a, &plan.range, &plan.opts, &mut sink, &bar).await?;
            bar.finish();
            failed |= !out.report.errors.is_empty();
            text.push_str(&out.dry_run.unwrap_or_default());
        }
    }
    Ok((text, failed))
}

async fn pull(plan: &Plan, store: &mut Store) -> anyhow::Result<(Vec<SourceReport>, Taken)> {
    let aws = Aws::connect(&plan.settings).await;
    let progress = Progress::new(plan.quiet);
    let mut sink = Sink::new(store);
    let mut reports = Vec::new();
    let mut trail_accounts: BTreeSet<String> = BTreeSet::new();
    for url in &plan.trails {
        let bar = progress.bar(&url.to_string());
        let (report, accounts) = if let Some(a) = &plan.athena {
            let out = athena::pull(&aws, url, a, &plan.range, &plan.opts, &mut sink, &bar).await?;
            if out.interrupted {
                bar.finish();
                reports.push(out.report);
                return Ok((reports, sink.taken));
            }
            (out.report, out.accounts)
        } else {
            trail_pull::pull(&aws, url, &plan.range, &plan.opts, &mut sink, &bar).await?
        };
        bar.finish();
        trail_accounts.extend(accounts);
        reports.push(report);
    }
    let needs_targets = plan.lookup || !plan.log_groups.is_empty();
    let targets = if needs_targets {
        match api_targets(&aws, plan, &trail_accounts).await {
            Ok(t) => t,
            Err(e) => {
                let mut r = SourceReport::new("AWS accounts and regions");
                progress.bar("").println(&e);
                r.errors.push(e);
                reports.push(r);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    if plan.lookup && !targets.is_empty() {
        let bar = progress.bar("LookupEvents");
        let mut lookups = Vec::new();
        for (account, region) in &targets {
            match aws.account(Some(account)).await {
                Ok(conf) => lookups.push(lookup::Target {
                    account: account.clone(),
                    region: region.clone(),
                    conf,
                }),
                Err(e) => reports.push(failed_source(&bar, "LookupEvents", e)),
            }
        }
        reports
            .extend(lookup::pull(lookups, &plan.lookup_names, &plan.range, &mut sink, &bar).await?);
        bar.finish();
    }
    if plan.transcript_buckets.is_empty() && plan.log_groups.is_empty() {
        return Ok((reports, sink.taken));
    }
    let wanted = if plan.sweep {
        None
    } else {
        Some(sessions_in_range(sink.store(), &plan.range)?)
    };
    if wanted.as_ref().is_some_and(Vec::is_empty) {
        progress.bar("").println(
            "no exec sessions in the range in the store: no transcripts to look for (pull CloudTrail \
             first, or use --sweep to read every transcript)",
        );
    }
    for url in &plan.transcript_buckets {
        let bar = progress.bar(&url.to_string());
        let place = Place::S3(url.clone());
        let r = transcripts::pull(
            &aws,
            place,
            wanted.as_deref(),
            &plan.range,
            &plan.opts,
            &mut sink,
            &bar,
        )
        .await?;
        bar.finish();
        reports.push(r);
    }
    for group in &plan.log_groups {
        let first = reports.len();
        for (account, region) in &targets {
            let bar = progress.bar(&format!("{group} {account} {region}"));
            let conf = match aws.account(Some(account)).await {
                Ok(c) => c,
                Err(e) => {
                    reports.push(failed_source(&bar, group, e));
                    continue;
                }
            };
            let place = Place::Logs {
                group: group.clone(),
                account: account.clone(),
                region: region.clone(),
                conf: Box::new(conf),
            };
            let r = transcripts::pull(
                &aws,
                place,
                wanted.as_deref(),
                &plan.range,
                &plan.opts,
                &mut sink,
                &bar,
            )
            .await?;
            bar.finish();
            reports.push(r);
        }
        // A group may exist in some accounts and regions only; absent everywhere, it is an error.
        let mine = &mut reports[first..];
        if !mine.is_empty() && mine.iter().all(|r| r.absent) {
            let msg = format!("log group {group} exists in none of the accounts and regions asked");
            progress.bar("").println(&msg);
            mine[0].errors.push(msg);
        }
    }
    Ok((reports, sink.taken))
}

fn failed_source(bar: &crate::aws::progress::Bar, name: &str, e: aws::AwsError) -> SourceReport {
    let mut r = SourceReport::new(name);
    bar.println(&e.to_string());
    r.errors.push(e.to_string());
    r
}

/// The accounts and regions whose APIs are called (LookupEvents, CloudWatch Logs).
async fn api_targets(
    aws: &Aws,
    plan: &Plan,
    trail_accounts: &BTreeSet<String>,
) -> Result<Vec<(String, String)>, String> {
    let regions = aws.regions().to_vec();
    if regions.is_empty() {
        return Err(
            "no region for LookupEvents / CloudWatch Logs: pass --region, or set AWS_REGION or \
             the profile's region"
                .into(),
        );
    }
    let accounts: Vec<String> = if aws.assumes_roles() {
        if !plan.opts.accounts.is_empty() {
            plan.opts.accounts.clone()
        } else if !trail_accounts.is_empty() {
            trail_accounts.iter().cloned().collect()
        } else {
            return Err(
                "--role-arn-template needs the accounts to assume into: pass --accounts (or a \
                 --cloudtrail-bucket to take them from)"
                    .into(),
            );
        }
    } else {
        vec![aws.caller_account().await.map_err(|e| e.to_string())?]
    };
    Ok(accounts
        .iter()
        .flat_map(|a| regions.iter().map(move |r| (a.clone(), r.clone())))
        .collect())
}

/// The exec sessions the store holds for the range: whose transcripts to look for.
fn sessions_in_range(store: &Store, range: &Range) -> anyhow::Result<Vec<Wanted>> {
    let days = Days {
        first: Timestamp(range.since_ms).bound_day(),
        last: Timestamp(range.until_ms.saturating_sub(1)).bound_day(),
    };
    let events: Vec<ExecEvent> = store
        .read(Some(&days))
        .context("reading exec events from the store")?;
    let mut seen = BTreeSet::new();
    Ok(events
        .into_iter()
        .filter(|e| {
            e.event_time.0 >= range.since_ms
                && e.event_time.0 < range.until_ms
                && e.error_code.is_none()
        })
        .filter_map(|e| {
            let sid = e.session_id?;
            seen.insert(sid.clone()).then_some(Wanted {
                session_id: sid,
                start_ms: e.event_time.0,
                account: e.account,
                region: e.region,
            })
        })
        .collect())
}

fn dash(n: u64, show: bool) -> String {
    if show {
        n.to_string()
    } else {
        "-".into()
    }
}

/// One line per source, then what the store took.
fn print_summary(out: &mut impl Write, reports: &[SourceReport], taken: &Taken) -> io::Result<()> {
    let headers = [
        "source",
        "read",
        "bytes",
        "events",
        "sessions",
        "transcripts",
        "missing",
        "unchanged",
        "requests",
        "throttled",
        "errors",
    ];
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let transcript_source =
                r.name.ends_with("(transcripts)") || r.name.starts_with("log group");
            vec![
                r.name.clone(),
                r.objects.to_string(),
                human_bytes(r.bytes),
                dash(r.events, !transcript_source),
                dash(r.sessions, !transcript_source),
                dash(r.transcripts, transcript_source),
                dash(r.missing, transcript_source),
                r.unchanged.to_string(),
                r.requests.to_string(),
                r.throttled.to_string(),
                r.errors.len().to_string(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(
        out,
        "{}",
        line(headers.iter().map(|h| (*h).to_owned()).collect())
    )?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    for r in reports {
        for q in &r.queries {
            writeln!(out, "{q}")?;
        }
        for n in &r.notes {
            writeln!(out, "note: {n}")?;
        }
    }
    writeln!(
        out,
        "stored: {} exec events, {} control events, {} transcripts, {} commands added; {} already stored",
        taken.exec.added,
        taken.control.added,
        taken.transcripts.added,
        taken.commands.added,
        taken.exec.already_stored + taken.control.already_stored + taken.transcripts.already_stored
    )?;
    super::summary::print_conflicts(out, &taken.conflicts)?;
    let errors: usize = reports.iter().map(|r| r.errors.len()).sum();
    if errors > 0 {
        writeln!(out, "{errors} problem(s), each named on stderr above")?;
    }
    Ok(())
}

//! `execaudit sync --engine athena` against moto on 127.0.0.1 (tests/moto/execaudit_moto.py
//! plays Athena: query states, statistics, paging, StopQueryExecution), through the real SDK
//! clients: results paged into the store, a failed and a cancelled query named with Athena's
//! reason, an interrupted run that stops its query, the cost guard, the dry run, and a second
//! run that asks only for the partitions the checkpoint does not hold. Each test has its own
//! bucket and table, so the shared server's scripts never cross.

#[path = "moto/harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{exec_record, execaudit, moto, noise_record, run, stored_ids, trail_file, Moto};
use serde_json::{json, Value};

const ORG: &str = "o-athenatest";
const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];

/// A bucket holding an organisation trail: two accounts, us-east-1, 2024-11-18..21.
fn trail_bucket(m: &Moto, bucket: &str) -> u64 {
    m.create_bucket(bucket);
    let mut objects = Vec::new();
    for a in ACCOUNTS {
        for d in 18..=21 {
            let recs = vec![
                exec_record(
                    &format!("{bucket}-{a}-{d}"),
                    &format!("2024-11-{d}T10:00:00Z"),
                    a,
                    "us-east-1",
                    &format!("ecs-execute-command-{a}-{d}"),
                ),
                noise_record(
                    &format!("n-{bucket}-{a}-{d}"),
                    &format!("2024-11-{d}T10:01:00Z"),
                    a,
                    "us-east-1",
                ),
            ];
            objects.push((
                format!("AWSLogs/{ORG}/{a}/CloudTrail/us-east-1/2024/11/{d}/{a}_CloudTrail_us-east-1_202411{d}T1005Z_abc.json.gz"),
                trail_file(&recs),
            ));
        }
    }
    let bytes = objects.iter().map(|(_, b)| b.len() as u64).sum();
    m.put_objects(bucket, objects);
    bytes
}

fn columns() -> Vec<&'static str> {
    execaudit::aws::athena::rows::result_columns()
}

fn sync(m: &Moto, store: &Path, args: &[&str]) -> harness::Run {
    let mut c = execaudit(m);
    c.arg("sync").arg("--store").arg(store).args(args);
    run(c)
}

/// The SQL of every query started against `table`.
fn queries(m: &Moto, table: &str) -> Vec<String> {
    m.requests(&[("service", "athena"), ("op", "StartQueryExecution")])
        .iter()
        .filter_map(|r| r["query"]["QueryString"].as_str().map(str::to_owned))
        .filter(|q| q.contains(table))
        .collect()
}

fn script(m: &Moto, table: &str, body: Value) {
    let mut b = body;
    b["match"] = json!(format!("FROM \"athena\".\"{table}\""));
    m.test_post("athena-script", b);
}

#[test]
fn results_are_paged_into_the_store_and_a_second_run_asks_only_for_new_partitions() {
    let m = moto();
    let bucket = "ath-paging";
    trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    // 2,300 rows: three GetQueryResults pages (the header row is on the first).
    let records: Vec<Value> = (0..2300)
        .map(|i| {
            exec_record(
                &format!("row-{i:05}"),
                "2024-11-18T11:00:00Z",
                ACCOUNTS[i % 2],
                "us-east-1",
                &format!("ecs-execute-command-row{i}"),
            )
        })
        .collect();
    script(
        m,
        "paging",
        json!({"records": records, "columns": columns(), "bytes": 3_500_000_000u64, "running_polls": 2}),
    );
    let table = "athena.paging";
    let r = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            &format!("s3://{bucket}"),
            "--engine",
            "athena",
            "--athena-table",
            table,
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-20",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ids = stored_ids(&store, "exec_events", "event_id");
    assert_eq!(ids.len(), 2300, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("(extract): SUCCEEDED, 3.3 GiB scanned, cost estimate $0.0159"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("2300 rows"), "{}", r.stdout);
    let pages: Vec<Value> = m
        .requests(&[("service", "athena"), ("op", "GetQueryResults")])
        .into_iter()
        .filter(|q| {
            let id = q["query"]["QueryExecutionId"].as_str().unwrap_or("");
            r.stdout.contains(id)
        })
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[1]["query"]["NextToken"].is_string());
    let first = queries(m, "\"athena\".\"paging\"");
    assert_eq!(first.len(), 1);
    for d in ["2024/11/18", "2024/11/19", "2024/11/20"] {
        assert!(first[0].contains(d), "{d}: {}", first[0]);
    }
    assert!(!first[0].contains("2024/11/21"));
    assert!(
        !first[0].ends_with(';'),
        "the API takes the statement without ';'"
    );

    // A later range: only the days not read yet; the rows already stored are not added twice.
    script(
        m,
        "paging",
        json!({"records": records[..10], "columns": columns()}),
    );
    let r2 = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            &format!("s3://{bucket}"),
            "--engine",
            "athena",
            "--athena-table",
            table,
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-22",
            "--quiet",
        ],
    );
    assert_eq!(r2.code, 0, "{}\n{}", r2.stdout, r2.stderr);
    let second = queries(m, "\"athena\".\"paging\"");
    assert_eq!(second.len(), 2);
    assert!(second[1].contains("2024/11/21"), "{}", second[1]);
    for d in ["2024/11/18", "2024/11/19", "2024/11/20"] {
        assert!(!second[1].contains(d), "{d} asked again: {}", second[1]);
    }
    assert_eq!(stored_ids(&store, "exec_events", "event_id").len(), 2300);
    // Nothing new at all: no query.
    let r3 = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            &format!("s3://{bucket}"),
            "--engine",
            "athena",
            "--athena-table",
            table,
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-22",
            "--quiet",
        ],
    );
    assert_eq!(r3.code, 0, "{}", r3.stderr);
    assert_eq!(queries(m, "\"athena\".\"paging\"").len(), 2);
}

#[test]
fn a_failed_query_is_named_with_athenas_reason_and_claims_no_partition() {
    let m = moto();
    let bucket = "ath-failed";
    trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let reason = "HIVE_BAD_DATA: Error parsing field value for field 7: For input string: \"x\"";
    script(
        m,
        "failed",
        json!({"state": "FAILED", "reason": reason, "bytes": 1_000_000}),
    );
    let args = [
        "--cloudtrail-bucket",
        &format!("s3://{bucket}"),
        "--engine",
        "athena",
        "--athena-table",
        "athena.failed",
        "--since",
        "2024-11-18",
        "--until",
        "2024-11-19",
    ];
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(reason), "{}", r.stderr);
    assert!(r.stderr.contains("FAILED"), "{}", r.stderr);
    assert!(r.stdout.contains("(extract): FAILED"), "{}", r.stdout);
    // The next run asks for the same partitions again.
    script(m, "failed", json!({"records": [], "columns": columns()}));
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q = queries(m, "\"athena\".\"failed\"");
    assert_eq!(q.len(), 2);
    assert!(q[1].contains("2024/11/18"));
}

#[test]
fn a_query_cancelled_in_athena_is_reported() {
    let m = moto();
    let bucket = "ath-cancelled";
    trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let reason = "Query exhausted the workgroup's data usage limit and was cancelled";
    script(
        m,
        "cancelled",
        json!({"state": "CANCELLED", "reason": reason, "running_polls": 1}),
    );
    let r = sync(
        m,
        &tmp.path().join("store"),
        &[
            "--cloudtrail-bucket",
            &format!("s3://{bucket}"),
            "--engine",
            "athena",
            "--athena-table",
            "athena.cancelled",
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-19",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("CANCELLED") && r.stderr.contains(reason),
        "{}",
        r.stderr
    );
}

#[test]
fn an_interrupted_run_stops_its_query_and_keeps_no_checkpoint() {
    let m = moto();
    let bucket = "ath-interrupt";
    trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    script(m, "interrupt", json!({"running_polls": 100_000}));
    let mut c = execaudit(m);
    c.arg("sync").arg("--store").arg(&store).args([
        "--cloudtrail-bucket",
        &format!("s3://{bucket}"),
        "--engine",
        "athena",
        "--athena-table",
        "athena.interrupt",
        "--since",
        "2024-11-18",
        "--until",
        "2024-11-19",
    ]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while queries(m, "\"athena\".\"interrupt\"").is_empty() {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let stops = m.requests(&[("service", "athena"), ("op", "StopQueryExecution")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stops
            .iter()
            .any(|s| stdout.contains(s["query"]["QueryExecutionId"].as_str().unwrap_or("?"))),
        "no StopQueryExecution for the run's query: {stops:?}\n{stdout}"
    );
    assert!(!store.join("checkpoints/athena").exists());
}

#[test]
fn the_cost_guard_refuses_a_scan_above_the_limit_unless_allowed() {
    let m = moto();
    let bucket = "ath-guard";
    trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let base = [
        "--cloudtrail-bucket",
        &format!("s3://{bucket}"),
        "--engine",
        "athena",
        "--athena-table",
        "athena.guard",
        "--since",
        "2024-11-18",
        "--until",
        "2024-11-19",
        "--max-scan-gb",
        "0",
    ];
    let r = sync(m, &store, &base);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("refusing to run") && r.stderr.contains("--allow-large-scan"),
        "{}",
        r.stderr
    );
    assert!(queries(m, "\"athena\".\"guard\"").is_empty());
    script(m, "guard", json!({"records": [], "columns": columns()}));
    let mut allowed = base.to_vec();
    allowed.push("--allow-large-scan");
    let r = sync(m, &store, &allowed);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(queries(m, "\"athena\".\"guard\"").len(), 1);
}

#[test]
fn a_dry_run_prints_the_estimate_and_the_exact_statements_and_runs_nothing() {
    let m = moto();
    let bucket = "ath-dry";
    let bytes = trail_bucket(m, bucket);
    let tmp = tempfile::tempdir().unwrap();
    let r = sync(
        m,
        &tmp.path().join("store"),
        &[
            "--cloudtrail-bucket",
            &format!("s3://{bucket}"),
            "--engine",
            "athena",
            "--athena-create",
            "--athena-table",
            "athena.dry",
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-20",
            "--dry-run",
            "--quiet",
            "--output-location",
            "s3://results/x/",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Three days of two accounts: six folders, one object each.
    let per_day = bytes / 8;
    assert!(
        r.stdout
            .contains("estimate: 6 partitions (2 account/region pairs) hold 6 objects"),
        "{}",
        r.stdout
    );
    assert!(per_day > 0);
    let body = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let statements: Vec<&str> = body
        .split_inclusive(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        statements,
        vec![
            "CREATE DATABASE IF NOT EXISTS `athena`;",
            "CREATE EXTERNAL TABLE IF NOT EXISTS `athena`.`dry` (",
            "ALTER TABLE `athena`.`dry` SET TBLPROPERTIES (",
            "SELECT",
        ],
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("LOCATION 's3://{bucket}/AWSLogs/{ORG}/'")),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("'projection.account.values' = '111122223333,444455556666'"));
    assert!(r.stdout.contains("FROM \"athena\".\"dry\""));
    assert!(r.stdout.trim_end().ends_with(';'));
    assert!(m
        .requests(&[("service", "athena"), ("op", "StartQueryExecution")])
        .iter()
        .all(|q| !q["query"]["QueryString"]
            .as_str()
            .unwrap_or("")
            .contains("dry")));
}

#[test]
fn athena_flags_are_checked_before_anything_is_asked() {
    let m = moto();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let r = sync(
        m,
        &store,
        &["--cloudtrail-bucket", "s3://x-bucket", "--dry-run"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--dry-run is for --engine athena"),
        "{}",
        r.stderr
    );
    let r = sync(
        m,
        &store,
        &["--cloudtrail-bucket", "s3://x-bucket", "--engine", "athena"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--athena-table"), "{}", r.stderr);
    let r = sync(
        m,
        &store,
        &["--lookup", "--engine", "athena", "--athena-create"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--cloudtrail-bucket"), "{}", r.stderr);
    let r = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            "s3://x-bucket",
            "--engine",
            "athena",
            "--athena-table",
            "a.b;drop",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a database or table name"),
        "{}",
        r.stderr
    );
}

//! The Athena SQL is right: the statements `sync --engine athena` runs (rendered from
//! `queries/athena/`), transpiled from Trino to DuckDB with sqlglot, over a table with the
//! CloudTrail SerDe's column shapes loaded from a generated organisation trail plus
//! look-alikes, return exactly the events the local scanner keeps from the same files.
//!
//! It needs a Python with `sqlglot` and `duckdb` (pinned in `.ci/run`, which creates the
//! virtualenv `~/.cache/execaudit-athena/venv` or `$EXECAUDIT_ATHENA_VENV`); without one it
//! says so and passes, so CI (which always creates it) is where it cannot be skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use execaudit::aws::athena::sql::{self, TableName};
use serde_json::{json, Value};

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("EXECAUDIT_ATHENA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".cache/execaudit-athena/venv")
        });
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import sqlglot, duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b).unwrap();
    enc.finish().unwrap()
}

fn rec(id: &str, source: &str, name: &str, req: Value) -> Value {
    json!({"eventVersion": "1.08", "eventID": id, "eventTime": "2024-11-20T12:00:00Z",
           "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
           "recipientAccountId": "999988887777",
           "userIdentity": {"type": "AssumedRole", "principalId": "AROA:bob",
               "arn": "arn:aws:sts::999988887777:assumed-role/Ops/bob", "accountId": "999988887777",
               "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::999988887777:role/Ops", "userName": "Ops"},
                   "sourceIdentity": "bob@example.com"}},
           "requestParameters": req, "responseElements": null})
}

/// Records that must be kept (`keep-*`) and look-alikes that must not (`skip-*`).
fn look_alikes() -> Vec<Value> {
    vec![
        rec(
            "keep-exec",
            "ecs.amazonaws.com",
            "ExecuteCommand",
            json!({"cluster": "c", "task": "t", "command": "sh", "interactive": true}),
        ),
        rec(
            "skip-exec-other-service",
            "ssm.amazonaws.com",
            "ExecuteCommand",
            json!({}),
        ),
        rec(
            "skip-exec-longer-name",
            "ecs.amazonaws.com",
            "ExecuteCommandX",
            json!({}),
        ),
        rec(
            "keep-enable-false",
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"service": "s", "enableExecuteCommand": false}),
        ),
        rec(
            "skip-enable-null",
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"service": "s", "enableExecuteCommand": null}),
        ),
        rec(
            "skip-enable-missing",
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"service": "s", "desiredCount": 2}),
        ),
        rec(
            "skip-enable-nested",
            "ecs.amazonaws.com",
            "RunTask",
            json!({"overrides": {"enableExecuteCommand": true}}),
        ),
        rec(
            "skip-enable-in-text",
            "ecs.amazonaws.com",
            "RunTask",
            json!({"startedBy": "enableExecuteCommand"}),
        ),
        rec(
            "keep-logging",
            "ecs.amazonaws.com",
            "UpdateCluster",
            json!({"cluster": "c", "configuration": {"executeCommandConfiguration": {"logging": "NONE"}}}),
        ),
        rec(
            "skip-logging-null",
            "ecs.amazonaws.com",
            "UpdateCluster",
            json!({"cluster": "c", "configuration": {"executeCommandConfiguration": null}}),
        ),
        rec(
            "skip-logging-top",
            "ecs.amazonaws.com",
            "UpdateCluster",
            json!({"cluster": "c", "executeCommandConfiguration": {}}),
        ),
        rec(
            "keep-ssm",
            "ssm.amazonaws.com",
            "TerminateSession",
            json!({"sessionId": "ecs-execute-command-x"}),
        ),
        rec(
            "skip-ssm-other",
            "ssm.amazonaws.com",
            "DescribeSessions",
            json!({"state": "Active"}),
        ),
        rec(
            "keep-kms-session",
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionContext": {"aws:ssm:SessionId": "ecs-execute-command-x"}}),
        ),
        rec(
            "keep-kms-session-disable",
            "kms.amazonaws.com",
            "DisableKey",
            json!({"keyId": "k", "encryptionContext": {"aws:ssm:SessionId": "s"}}),
        ),
        rec(
            "skip-kms-other-context",
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionContext": {"aws:ssm:Session": "s", "note": "aws:ssm:SessionId"}}),
        ),
        rec(
            "keep-kms-disable",
            "kms.amazonaws.com",
            "DisableKey",
            json!({"keyId": "k"}),
        ),
        rec(
            "keep-s3-lifecycle-config",
            "s3.amazonaws.com",
            "PutBucketLifecycleConfiguration",
            json!({"bucketName": "b"}),
        ),
        rec(
            "keep-s3-delete-tagging",
            "s3.amazonaws.com",
            "DeleteBucketTagging",
            json!({"bucketName": "b"}),
        ),
        rec(
            "keep-s3-policy",
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"bucketName": "b"}),
        ),
        rec(
            "skip-s3-policy-status",
            "s3.amazonaws.com",
            "PutBucketPolicyStatus",
            json!({}),
        ),
        rec(
            "skip-s3-get-policy",
            "s3.amazonaws.com",
            "GetBucketPolicy",
            json!({"bucketName": "b"}),
        ),
        rec(
            "skip-s3-percent",
            "s3.amazonaws.com",
            "Delete%Bucket",
            json!({}),
        ),
        rec(
            "keep-logs-retention",
            "logs.amazonaws.com",
            "PutRetentionPolicy",
            json!({"logGroupName": "/ecs/x", "retentionInDays": 1}),
        ),
        rec(
            "skip-logs-groups",
            "logs.amazonaws.com",
            "DeleteLogGroups",
            json!({}),
        ),
        rec(
            "skip-trail-source",
            "cloudtrail.amazonaws.com",
            "DeleteLogGroup",
            json!({}),
        ),
        rec(
            "keep-trail-stop",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": "org-trail"}),
        ),
        rec(
            "skip-iam-policy-mention",
            "iam.amazonaws.com",
            "PutRolePolicy",
            json!({"policyDocument": "{\"Action\":\"ecs:ExecuteCommand\"}"}),
        ),
    ]
}

/// Every account/region/day folder of a trail tree: the partitions of the query.
fn partitions(root: &Path) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for e in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = e.path().to_string_lossy().replace('\\', "/");
        let Some(i) = p.find("/CloudTrail/") else {
            continue;
        };
        if !e.file_type().is_file() {
            continue;
        }
        let account = p[..i].rsplit('/').next().unwrap().to_owned();
        let rest: Vec<&str> = p[i + "/CloudTrail/".len()..].split('/').collect();
        if rest.len() != 5 {
            continue;
        }
        out.entry((account, rest[0].to_owned()))
            .or_default()
            .insert(format!("{}/{}/{}", rest[1], rest[2], rest[3]));
    }
    out
}

#[test]
fn the_shipped_athena_sql_keeps_exactly_what_the_local_scanner_keeps() {
    let Some(python) = venv_python() else {
        eprintln!(
            "SKIPPED athena_sql: no Python with sqlglot and duckdb (run .ci/run, which creates \
             ~/.cache/execaudit-athena/venv, or set EXECAUDIT_ATHENA_VENV)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    let out = Command::new(env!("CARGO_BIN_EXE_execaudit"))
        .args(["generate", "--records", "4000", "--out"])
        .arg(&gen)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let org = fs::read_dir(gen.join("AWSLogs"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("o-"))
        .expect("an organisation folder")
        .path();
    let day = org.join("999988887777/CloudTrail/us-east-1/2024/11/20");
    fs::create_dir_all(&day).unwrap();
    fs::write(
        day.join("999988887777_CloudTrail_us-east-1_20241120T1205Z_lookalikes.json.gz"),
        gzip(json!({"Records": look_alikes()}).to_string().as_bytes()),
    )
    .unwrap();

    // What the local scanner keeps.
    let local = execaudit::ingest::scan_paths(std::slice::from_ref(&gen));
    let mut expected: BTreeSet<String> = local
        .exec
        .iter()
        .filter_map(|e| e.event_id.clone())
        .collect();
    expected.extend(local.control.iter().filter_map(|e| e.event_id.clone()));
    assert!(expected.len() > 40, "{}", expected.len());

    // What the shipped statements return on DuckDB.
    let t = TableName::parse("audit.cloudtrail").unwrap();
    let parts = partitions(&gen);
    assert!(parts.len() >= 5, "{parts:?}");
    let create = sql::create_table(
        &t,
        &format!(
            "s3://trail/AWSLogs/{}/",
            org.file_name().unwrap().to_string_lossy()
        ),
        &parts.keys().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
        &parts.keys().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    );
    let extract = sql::extract(&t, &parts);
    fs::write(tmp.path().join("create.sql"), &create).unwrap();
    fs::write(tmp.path().join("extract.sql"), &extract).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/athena/run_on_duckdb.py");
    let result = tmp.path().join("result.json");
    let run = Command::new(python)
        .arg(script)
        .arg(tmp.path().join("create.sql"))
        .arg(tmp.path().join("extract.sql"))
        .arg(&gen)
        .arg(&result)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "run_on_duckdb.py failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let r: Value = serde_json::from_slice(&fs::read(&result).unwrap()).unwrap();
    let got: BTreeSet<String> = r["eventids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let loaded = r["rows_loaded"].as_u64().unwrap();
    assert!(loaded > 4000, "{loaded}");
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "Athena SQL and the scanner disagree: missing {missing:?}, extra {extra:?}\nSQL: {}",
        r["sql"]
    );
    for v in look_alikes() {
        let id = v["eventID"].as_str().unwrap();
        assert_eq!(got.contains(id), id.starts_with("keep-"), "{id}");
    }
}

/// Only the partitions asked for are read: a query over one account and day returns only
/// that account's and day's events.
#[test]
fn the_extraction_reads_only_the_partitions_it_names() {
    let Some(python) = venv_python() else {
        eprintln!("SKIPPED athena_sql: no Python with sqlglot and duckdb");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    let out = Command::new(env!("CARGO_BIN_EXE_execaudit"))
        .args(["generate", "--records", "1500", "--out"])
        .arg(&gen)
        .output()
        .unwrap();
    assert!(out.status.success());
    let parts = partitions(&gen);
    let ((account, region), days) = parts.iter().next().unwrap();
    let day = days.iter().nth(1).unwrap().clone();
    let mut one = BTreeMap::new();
    one.insert(
        (account.clone(), region.clone()),
        BTreeSet::from([day.clone()]),
    );
    let t = TableName::parse("audit.cloudtrail").unwrap();
    let create = sql::create_table(
        &t,
        "s3://trail/AWSLogs/o-x/",
        std::slice::from_ref(account),
        std::slice::from_ref(region),
    );
    fs::write(tmp.path().join("create.sql"), create).unwrap();
    fs::write(tmp.path().join("extract.sql"), sql::extract(&t, &one)).unwrap();
    let result = tmp.path().join("result.json");
    let run = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/athena/run_on_duckdb.py"))
        .arg(tmp.path().join("create.sql"))
        .arg(tmp.path().join("extract.sql"))
        .arg(&gen)
        .arg(&result)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r: Value = serde_json::from_slice(&fs::read(&result).unwrap()).unwrap();
    let got: BTreeSet<String> = r["eventids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    // The local scanner over that one folder.
    let folder = walkdir::WalkDir::new(&gen)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| {
            let p = e.path().to_string_lossy().replace('\\', "/");
            e.file_type().is_dir() && p.ends_with(&format!("{account}/CloudTrail/{region}/{day}"))
        })
        .unwrap()
        .path()
        .to_path_buf();
    let local = execaudit::ingest::scan_paths(&[folder]);
    let mut expected: BTreeSet<String> = local
        .exec
        .iter()
        .filter_map(|e| e.event_id.clone())
        .collect();
    expected.extend(local.control.iter().filter_map(|e| e.event_id.clone()));
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

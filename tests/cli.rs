//! Integration tests: the real binary over committed fixtures and the bundled sample data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("EXECAUDIT_STORE");
    c.env_remove("EXECAUDIT_TRACE");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(args: &[&str]) -> (Value, Output) {
    let o = run(args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    (v, o)
}

fn column<'a>(rows: &'a Value, name: &str) -> Vec<&'a str> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[name].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn audit_on_sample_data_reports_the_scenario() {
    let (v, o) = json(&["audit", "sample-data", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sessions = &v["sessions"];
    assert_eq!(sessions.as_array().unwrap().len(), 20);
    let mut codes = column(&v["attempts"], "error_code");
    codes.sort();
    assert_eq!(
        codes,
        [
            "AccessDenied",
            "ClusterNotFoundException",
            "InvalidParameterException",
            "TargetNotConnectedException"
        ]
    );

    let by = |principal: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["principal"] == principal)
            .unwrap()
            .clone()
    };
    let maria = by("maria.garcia@example.com");
    assert_eq!(maria["sso_permission_set"], "BreakGlass");
    assert_eq!(maria["principal_source"], "identity_center");
    assert!(maria["role_arn"]
        .as_str()
        .unwrap()
        .contains(":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_BreakGlass_"));
    assert_eq!(by("ops-legacy")["principal_type"], "IAMUser");
    let ci = by("GitHubActions-8812734");
    assert_eq!(
        ci["role_arn"],
        "arn:aws:iam::444455556666:role/ci/gha-deployer"
    );
    // CI named the cluster and task by ARN: the names are still normalised.
    assert_eq!(ci["cluster"], "payments-staging");
    assert_eq!(ci["task_id"].as_str().unwrap().len(), 32);

    let control = v["control_events"].as_array().unwrap();
    let find = |name: &str| {
        control
            .iter()
            .filter(|c| c["event_name"] == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let run_task = &find("RunTask")[0];
    assert_eq!(
        run_task["command_overrides"],
        "api: sh -c 'while true; do sleep 3600; done'"
    );
    assert_eq!(run_task["enable_execute_command"], true);
    assert_eq!(find("UpdateService")[0]["enable_execute_command"], true);
    assert!(find("UpdateCluster")
        .iter()
        .any(|c| c["exec_logging"] == "NONE" && c["cluster"] == "web-staging"));
    assert!(find("StartSession")[0]["ssm_target"]
        .as_str()
        .unwrap()
        .starts_with("ecs:payments-staging_"));
    assert!(!find("DeleteLogStream").is_empty() && !find("PutRetentionPolicy").is_empty());
    // The IAM policy that merely mentions ecs:ExecuteCommand is not kept.
    assert!(find("PutRolePolicy").is_empty());
    assert_eq!(v["summary"]["kinds"]["session transcript"], 19);
    assert_eq!(v["summary"]["digest_files_passed_over"], 2);
    // CloudTrail's key order keeps the scanner on its fast path: only records holding a
    // needle are parsed (a generator that sorted keys once made every record a candidate).
    let (records, candidates) = (
        v["summary"]["records"].as_u64().unwrap(),
        v["summary"]["candidates"].as_u64().unwrap(),
    );
    assert!(
        records > 6000 && candidates < 60,
        "{records} records, {candidates} candidates"
    );
}

#[test]
fn table_output_is_readable_and_summary_goes_to_stderr() {
    let o = run(&["audit", "sample-data"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with("== Sessions (20) =="), "{out}");
    assert!(out.contains("== Failed attempts (4) =="));
    assert!(stderr(&o).contains("read 131 files"), "{}", stderr(&o));
    assert!(!out.contains("read 131 files"));
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn every_real_log_parses_and_none_is_an_exec_event() {
    let files = json_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/realdata"
    )));
    assert_eq!(files.len(), 90);
    let mut args = vec!["audit".to_owned(), "--format".into(), "json".into()];
    args.extend(files);
    let o = bin().args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &v["summary"];
    assert_eq!(s["exec_events"], 0);
    assert_eq!(s["files_skipped"].as_array().unwrap().len(), 0);
    assert_eq!(s["bad_records"], 0);
    assert!(s["records"].as_u64().unwrap() > 3000);
    // Stratus's trail tampering is listed (a trail records `ExecuteCommand` itself); its SSM
    // sessions to EC2 instances concern no container: counted, not listed.
    let names = column(&v["control_events"], "event_name");
    assert!(names.contains(&"StopLogging") && names.contains(&"DeleteTrail"));
    assert!(!names.contains(&"StartSession"), "{names:?}");
    assert_eq!(s["control_events_not_exec_related"], 22);
}

#[test]
fn every_example_is_recognised_with_the_right_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let o = run(&["ingest", "tests/data/examples", "--store", store]);
    // The direct API response and the Session Manager streaming message are not trail records:
    // the first is refused by name, the second is recognised as a transcript.
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains(
            "ecs-api-executecommand-response-sdk-example.json: JSON that is not CloudTrail"
        ),
        "{out}"
    );
    assert!(
        !out.contains("cloudwatch-ssm-streaming-event-message.json:"),
        "{out}"
    );
    assert!(
        !out.contains("AAEAAcVb7ww10N9aNUI5Cl7K"),
        "a token was printed"
    );

    let (sessions, _) = json(&["sessions", "--store", store, "--format", "json"]);
    // The SSO session is in four files (event, LookupEvents, EventBridge, Lake): once here.
    assert_eq!(
        column(&sessions, "session_id"),
        [
            "ecs-execute-command-7u4kq2b9x3m8p1c6r5s0t2vwyz",
            "ecs-execute-command-q9w8e7r6t5y4u3i2o1p0a9s8d7"
        ]
    );
    let sso = &sessions[0];
    assert_eq!(sso["principal"], "jane.doe@example.com");
    assert_eq!(sso["sso_permission_set"], "AdministratorAccess");
    assert_eq!(sso["role_arn"], "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef");
    assert_eq!(sso["cluster"], "demo-cluster");
    assert_eq!(
        sso["task_arn"],
        "arn:aws:ecs:us-east-1:111122223333:task/demo-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    );
    assert_eq!(sso["mfa"], false);
    let bob = &sessions[1];
    assert_eq!(
        (bob["principal"].as_str(), bob["principal_type"].as_str()),
        (Some("ops-bob"), Some("IAMUser"))
    );
    assert_eq!(bob["command"], "/bin/bash -c 'cat /etc/hostname'");
    assert_eq!(bob["task_id"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");

    let (attempts, _) = json(&["attempts", "--store", store, "--format", "json"]);
    let mut codes = column(&attempts, "error_code");
    codes.sort();
    assert_eq!(
        codes,
        [
            "AccessDenied",
            "ClusterNotFoundException",
            "InvalidParameterException",
            "TargetNotConnectedException"
        ]
    );

    let (kms, _) = json(&[
        "control",
        "--store",
        store,
        "--kind",
        "kms_session",
        "--format",
        "json",
    ]);
    assert_eq!(column(&kms, "event_name"), ["GenerateDataKey", "Decrypt"]);
    assert!(column(&kms, "session_id")
        .iter()
        .all(|s| *s == "ecs-execute-command-7u4kq2b9x3m8p1c6r5s0t2vwyz"));
    assert_eq!(kms[1]["principal"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    assert_eq!(kms[1]["task_ids"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");

    let (logging, _) = json(&[
        "control",
        "--store",
        store,
        "--kind",
        "exec_logging",
        "--format",
        "json",
    ]);
    let create = logging
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event_name"] == "CreateCluster")
        .unwrap();
    assert_eq!(create["exec_logging"], "OVERRIDE");
    assert!(create["exec_s3_bucket"].is_string() && create["exec_log_group"].is_string());
    let (ssm, _) = json(&[
        "control",
        "--store",
        store,
        "--kind",
        "ssm_session",
        "--format",
        "json",
    ]);
    assert!(column(&ssm, "event_name").contains(&"ResumeSession"));
}

#[test]
fn ingest_is_idempotent_and_queries_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let first = run(&["ingest", "sample-data", "--store", store]);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    assert!(
        stdout(&first)
            .contains("store: added 24 exec and 17 control events, 19 transcripts, 42 commands; 0 were already stored"),
        "{}",
        stdout(&first)
    );
    let again = run(&["ingest", "sample-data", "--store", store]);
    assert!(
        stdout(&again).contains("store: added 0 exec and 0 control events, 0 transcripts, 0 commands; 60 were already stored"),
        "{}",
        stdout(&again)
    );

    let (all, _) = json(&["sessions", "--store", store, "--format", "json"]);
    let (audit, _) = json(&["audit", "sample-data", "--format", "json"]);
    assert_eq!(
        all, audit["sessions"],
        "the store and the one-shot audit agree"
    );

    let count = |extra: &[&str]| {
        let mut args = vec!["sessions", "--store", store, "--format", "jsonl"];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
            .len()
    };
    assert_eq!(count(&["--principal", "maria*"]), 5);
    assert_eq!(count(&["--principal", "BreakGlass"]), 5);
    assert_eq!(count(&["--cluster", "web-staging"]), 6);
    assert_eq!(
        count(&[
            "--cluster",
            "arn:aws:ecs:eu-west-1:444455556666:cluster/web-staging"
        ]),
        6
    );
    assert_eq!(count(&["--since", "2024-11-23"]), 5);
    assert_eq!(
        count(&["--since", "2024-11-23", "--until", "2024-11-24"]),
        2
    );
    assert_eq!(count(&["--container", "worker"]), 2);

    let csv = run(&[
        "sessions",
        "--store",
        store,
        "--format",
        "csv",
        "--cluster",
        "web-prod",
    ]);
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("session_id,start_time,account,region,cluster,task_id,container,principal"));
    assert_eq!(lines.count(), 2);
}

#[test]
fn bad_inputs_are_named_skipped_and_the_rest_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    for _ in 0..2 {
        let o = run(&["ingest", "tests/data/corrupt", "--store", store]);
        assert_eq!(o.status.code(), Some(2));
        let out = stdout(&o);
        for (file, reason) in [
            ("truncated-gzip.json.gz", "truncated"),
            ("corrupt-gzip.json.gz", "corrupt gzip"),
            ("empty.json", "empty file"),
            ("binary-garbage.json.gz", "not JSON"),
            ("not-cloudtrail.json", "not CloudTrail"),
        ] {
            assert!(
                out.lines().any(|l| l.contains(file) && l.contains(reason)),
                "{file}: {reason} not in\n{out}"
            );
        }
        assert!(out.contains("truncated-json.json: truncated JSON"), "{out}");
        // A cut gzip file is read up to the cut, as a cut plain file is: a warning, not a skip
        // (this one is cut inside its only record, so nothing is kept from it).
        assert!(
            out.contains(
                "warning: tests/data/corrupt/truncated-gzip.json.gz: gzip data ends early"
            ),
            "{out}"
        );
        assert!(out.contains("skipped 4 files"), "{out}");
    }
    let (sessions, _) = json(&["sessions", "--store", store, "--format", "json"]);
    assert_eq!(
        column(&sessions, "session_id"),
        ["ecs-execute-command-goodfileafterbadones01"]
    );
}

#[test]
fn secrets_in_commands_are_redacted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let rec = r#"{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"dave"},"eventTime":"2024-05-15T08:00:00Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","requestParameters":{"cluster":"c","task":"t","command":"sh -c 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls'","interactive":true},"responseElements":{"session":{"sessionId":"ecs-execute-command-secret0001","tokenValue":"AAEAAcVb7ww10N9aNUI5Cl7KxyzEXAMPLEEXAMPLEEXAMPLE0123456789"}},"eventID":"s1"}]}"#;
    let path = dir.path().join("trail.json");
    std::fs::write(&path, rec).unwrap();
    let p = path.to_str().unwrap();
    for format in ["table", "json", "jsonl"] {
        let out = stdout(&run(&["audit", p, "--format", format]));
        assert!(
            !out.contains("wJalrXUtnFEMI") && out.contains("<redacted:"),
            "{format}: {out}"
        );
        assert!(
            !out.contains("AAEAAcVb7ww10N9aNUI5Cl7K"),
            "{format}: token printed"
        );
    }
    let (v, _) = json(&["audit", p, "--format", "json", "--show-secrets"]);
    assert!(v["sessions"][0]["command"]
        .as_str()
        .unwrap()
        .contains("wJalrXUtnFEMI"));
    let (events, _) = json(&["audit", p, "--format", "json"]);
    assert_eq!(events["sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn one_thread_and_many_give_the_same_output() {
    let out = |threads: &str| {
        let o = bin()
            .args([
                "audit",
                "sample-data",
                "tests/data/examples",
                "--format",
                "json",
            ])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        o.stdout
    };
    assert_eq!(out("1"), out("4"));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let o = run(&[
        "sessions",
        "--since",
        "last tuesday",
        "--store",
        "/nonexistent",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));
    let o = run(&["control", "--kind", "nope", "--store", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown kind"));
    assert_eq!(run(&["audit"]).status.code(), Some(2));
    assert_eq!(run(&["audit", "/nonexistent/path"]).status.code(), Some(2));
}

#[test]
fn the_schema_document_lists_every_column_of_every_table() {
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schema.md"))
            .unwrap();
    let schema = stdout(&run(&["schema"]));
    assert!(
        doc == schema,
        "docs/schema.md is stale: run `execaudit schema > docs/schema.md`"
    );
}

#[test]
fn sample_data_is_what_the_committed_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "generate",
        "--out",
        dir.path().to_str().unwrap(),
        "--transcripts",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree = |root: &Path| {
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push((
                        p.strip_prefix(root).unwrap().to_owned(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        files.sort();
        files
    };
    let committed = tree(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-data"
    )));
    let fresh = tree(dir.path());
    assert_eq!(committed.len(), fresh.len());
    for ((a, x), (b, y)) in committed.iter().zip(&fresh) {
        assert_eq!(a, b);
        assert!(
            x == y,
            "{} differs: regenerate with `execaudit generate --out sample-data --transcripts`",
            a.display()
        );
    }
}

#[test]
fn transcripts_join_sessions_with_every_status() {
    let (v, o) = json(&["audit", "sample-data", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        v["summary"]["transcript_status"],
        serde_json::json!({"empty": 1, "present": 17, "truncated": 1})
    );
    let sessions = v["sessions"].as_array().unwrap();
    let status = |s: &str| {
        sessions
            .iter()
            .filter(|x| x["transcript_status"] == s)
            .count()
    };
    assert_eq!(
        (
            status("present"),
            status("missing"),
            status("empty"),
            status("truncated")
        ),
        (16, 2, 1, 1)
    );
    // Duration runs from the ExecuteCommand to the transcript's end.
    let first = &sessions[0];
    assert_eq!(
        (first["principal"].as_str(), first["duration_s"].as_i64()),
        (Some("maria.garcia@example.com"), Some(847))
    );
    assert_eq!(first["commands"], 4);
    assert_eq!(first["shell"], "bash");
    let orphans = v["orphan_transcripts"].as_array().unwrap();
    assert_eq!(
        column(&v["orphan_transcripts"], "session_id"),
        ["ecs-execute-command-0rph4nx9k2m7q5w1t8v3b6n4c0"]
    );
    assert!(
        orphans[0]["text"].is_null(),
        "listings leave the transcript text out"
    );
    let commands = v["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 42);
    // The cut-off transcript still yields the commands before the cut.
    assert!(commands
        .iter()
        .any(|c| c["command"] == "apk add --no-cache curl"));
    // CloudWatch-form transcripts (maria on payments-prod) are read too.
    assert!(commands
        .iter()
        .any(|c| c["command"] == "tail -n 3 /var/log/app/error.log" && c["cwd"] == "/app"));
}

#[test]
fn show_search_and_commands_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    assert_eq!(
        run(&["ingest", "sample-data", "--store", store])
            .status
            .code(),
        Some(0)
    );

    let show = run(&["show", "2rx0t44w", "--store", store, "--transcript"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let text = stdout(&show);
    for want in [
        "ecs-execute-command-2rx0t44w9ygq262ulzzqcho8y5",
        "ops-legacy (iam_user · IAMUser",
        "cluster payments-prod",
        "(9m 07s)",
        "transcript  present",
        "== Transcript ==",
        "DB_PASSWORD=<redacted:",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    assert!(
        !text.contains("xK9#mQ2vL8"),
        "a secret printed in the transcript was shown"
    );
    assert!(stdout(&run(&[
        "show",
        "2rx0t44w",
        "--store",
        store,
        "--transcript",
        "--show-secrets"
    ]))
    .contains("xK9#mQ2vL8"));
    let (j, _) = json(&["show", "2rx0t44w", "--store", store, "--format", "json"]);
    assert_eq!(j["session"]["principal"], "ops-legacy");
    assert_eq!(j["transcript"]["status"], "present");
    assert!(j["transcript"]["text"].is_null());
    assert_eq!(column(&j["commands"], "command")[0], "whoami");
    // An orphan transcript can be shown; an unknown or ambiguous id is an error.
    assert!(stdout(&run(&["show", "0rph4n", "--store", store])).contains("orphan transcript"));
    assert_eq!(
        run(&["show", "nosuchsession", "--store", store])
            .status
            .code(),
        Some(2)
    );
    let ambiguous = run(&["show", "ecs-execute-command-", "--store", store]);
    assert!(
        stderr(&ambiguous).contains("matches"),
        "{}",
        stderr(&ambiguous)
    );

    let (hits, _) = json(&[
        "search",
        "curl|wget",
        "--regex",
        "--store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(
        column(&hits, "command"),
        [
            "wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "apk add --no-cache curl"
        ]
    );
    assert_eq!(hits[0]["principal"], "tom.lee@example.com");
    // The table reads only the columns it shows, and shows the same hits.
    let table = bin()
        .args(["search", "curl|wget", "--regex", "--store", store])
        .output()
        .unwrap();
    let text = stdout(&table);
    assert_eq!(text.lines().count(), 3, "{text}");
    for h in hits.as_array().unwrap() {
        let line = text
            .lines()
            .find(|l| l.contains(h["session_id"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{h} not in {text}"));
        // (Long commands are cut to the column's width.)
        let command: String = h["command"].as_str().unwrap().chars().take(30).collect();
        assert!(line.contains(&command), "{line}");
        assert!(line.contains(h["principal"].as_str().unwrap()), "{line}");
    }
    let (ct, _) = json(&["search", "migrate", "--store", store, "--format", "json"]);
    assert_eq!(column(&ct, "found_in"), ["cloudtrail"]);
    let (out, _) = json(&[
        "search",
        "SecretAccessKey",
        "--in-output",
        "--store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(column(&out, "found_in"), ["output"]);
    let line = out[0]["command"].as_str().unwrap();
    assert!(
        line.contains("<redacted:")
            && !line.contains("wJalrXUtnFEMI")
            && !line.contains("IQoJb3JpZ2lu"),
        "{line}"
    );
    let (none, _) = json(&[
        "search",
        "SecretAccessKey",
        "--store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(
        none.as_array().unwrap().len(),
        0,
        "output is searched only with --in-output"
    );

    let (c, _) = json(&[
        "commands",
        "--store",
        store,
        "--principal",
        "ops-legacy",
        "--format",
        "json",
    ]);
    assert_eq!(c.as_array().unwrap().len(), 5);
    let typed = column(&c, "command");
    assert!(
        typed
            .iter()
            .any(|t| t.starts_with("mysql -h ledger-db.prod.internal -u admin -p<redacted:")),
        "{typed:?}"
    );
    let (one, _) = json(&[
        "commands",
        "--store",
        store,
        "--session",
        "neudvqi7",
        "--format",
        "json",
    ]);
    assert_eq!(one.as_array().unwrap().len(), 2);
    let (orphan_cmds, _) = json(&[
        "commands",
        "--store",
        store,
        "--session",
        "0rph4n",
        "--format",
        "json",
    ]);
    assert_eq!(
        column(&orphan_cmds, "command"),
        ["cat /etc/passwd | wc -l", "history -c", "exit"]
    );
}

#[test]
fn bad_transcripts_are_named_marked_and_the_run_goes_on() {
    let (v, o) = json(&[
        "audit",
        "tests/data/bad-transcripts",
        "tests/data/examples",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2), "the binary one is unreadable");
    let damaged = v["summary"]["files_with_problems"].as_array().unwrap();
    let warning = |name: &str| {
        damaged
            .iter()
            .find(|d| d["path"].as_str().unwrap().ends_with(name))
            .map(|d| d["warning"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        warning("ecs-execute-command-emptyfile00001.log"),
        "ecs-execute-command-emptyfile00001: empty: an empty object"
    );
    assert!(warning("ecs-execute-command-scriptmissing01.log")
        .contains("empty: the agent could not record the session: `script` is missing"));
    assert!(warning("ecs-execute-command-headeronly0001.log").contains("empty: no terminal output"));
    assert_eq!(
        warning("ecs-execute-command-binarygarbage01.log"),
        "ecs-execute-command-binarygarbage01: unreadable: no `Script started on` header; binary content: not a terminal recording"
    );
    assert!(warning("ecs-execute-command-cutoff000000001.log").contains("truncated"));
    // The rest was still read: the example sessions and their commands.
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    let orphans = column(&v["orphan_transcripts"], "status");
    assert!(
        orphans.contains(&"truncated")
            && orphans.contains(&"unreadable")
            && orphans.contains(&"empty")
    );
    let cmds = column(&v["commands"], "command");
    assert!(
        cmds.contains(&"tar czf /tmp/db.tgz /var/lib/db"),
        "{cmds:?}"
    );
    // The example transcript (reconstructed from the AWS docs) gives its commands, in both forms.
    assert!(
        cmds.contains(&"ls --color=always") && cmds.contains(&"cat config.yaml"),
        "{cmds:?}"
    );
}

/// A transcript over `--max-transcript-bytes` is read at its start and end, the cut is named
/// in the warning and in `omitted_bytes`, and a transcript under the cap beside it is whole.
#[test]
fn an_oversized_transcript_is_cut_in_the_middle_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut big =
        b"Script started on 2024-05-14 09:31:07+00:00\n# echo first\r\nfirst\r\n".to_vec();
    for i in 0..20_000 {
        big.extend_from_slice(format!("output line {i}\r\n").as_bytes());
    }
    big.extend_from_slice(
        b"# echo last\r\nlast\r\n# \r\n\nScript done on 2024-05-14 09:40:00+00:00\n",
    );
    std::fs::write(
        dir.path().join("ecs-execute-command-bigbigbigbig01.log"),
        &big,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ecs-execute-command-smallsmall0001.log"),
        b"Script started on 2024-05-14 09:31:07+00:00\n# id\r\nuid=0(root)\r\n# \r\n\nScript done on 2024-05-14 09:31:09+00:00\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let o = run(&[
        "ingest",
        dir.path().to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--max-transcript-bytes",
        "64K",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("over the --max-transcript-bytes cap of 65536"),
        "{out}\n{}",
        stderr(&o)
    );
    let (cmds, _) = json(&[
        "commands",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let cmds = column(&cmds, "command");
    for c in ["echo first", "echo last", "id"] {
        assert!(cmds.contains(&c), "{c}: {cmds:?}");
    }
    let (t, _) = json(&[
        "query",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
        "select session_id, omitted_bytes from transcripts order by session_id",
    ]);
    let rows = t.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{t}");
    let omitted = rows[0]["omitted_bytes"].as_i64().unwrap_or(0);
    assert!(omitted > 0 && omitted < big.len() as i64 - 65536 + 1, "{t}");
    assert!(rows[1]["omitted_bytes"].is_null(), "{t}");
    let o = run(&[
        "ingest",
        dir.path().to_str().unwrap(),
        "--max-transcript-bytes",
        "12Q",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `EXECAUDIT_TRACE=1` prints each stage's time and memory to stderr; without it, nothing.
#[test]
fn trace_prints_stages_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let ingest = |trace: bool| {
        let mut c = bin();
        if trace {
            c.env("EXECAUDIT_TRACE", "1");
        }
        c.args([
            "ingest",
            "sample-data",
            "--store",
            store.to_str().unwrap(),
            "-q",
        ])
        .output()
        .expect("binary runs")
    };
    let quiet = ingest(false);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("trace:"), "{}", stderr(&quiet));
    let traced = ingest(true);
    assert_eq!(traced.status.code(), Some(0), "{}", stderr(&traced));
    let e = stderr(&traced);
    for stage in [
        "start",
        "inputs listed",
        "inputs read and written",
        "store committed",
    ] {
        assert!(
            e.lines()
                .any(|l| l.starts_with("trace:") && l.contains(" MB  ") && l.ends_with(stage)),
            "{stage}: {e}"
        );
    }
}

#[test]
fn audit_lists_a_weeks_commands_a_day_at_a_time_as_one_ordered_listing_and_leaves_nothing() {
    // A generated week: the commands are listed day by day from the audit's scratch store;
    // together they are every command, in the order of the whole listing, in each format.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("week");
    let scratch = dir.path().join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let o = run(&[
        "generate",
        "--out",
        corpus.to_str().unwrap(),
        "--sessions",
        "120",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let audit = |format: &str| {
        let o = bin()
            .env("TMPDIR", &scratch)
            .args(["audit", corpus.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    let o = audit("jsonl");
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["table"] == "commands")
        .collect();
    let said = stderr(&o);
    let reconstructed: usize = said
        .split(" commands reconstructed")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(reconstructed > 1_000, "{said}");
    let key = |r: &Value| {
        (
            r["time"].as_str().unwrap().to_owned(),
            r["session_id"].as_str().unwrap().to_owned(),
            r["seq"].as_i64().unwrap(),
        )
    };
    let keys: Vec<_> = rows.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "in the whole listing's order");
    assert_eq!(keys.len(), reconstructed);
    let days: std::collections::BTreeSet<&str> = keys.iter().map(|k| &k.0[..10]).collect();
    assert!(days.len() >= 5, "{days:?}");
    // JSON: one array of the same rows; the table: its heading counts them all.
    let doc = serde_json::from_slice::<Value>(&audit("json").stdout).unwrap();
    let listed = doc["commands"].as_array().unwrap();
    assert_eq!(listed.iter().map(key).collect::<Vec<_>>(), keys);
    let table = stdout(&audit("table"));
    assert!(
        table.contains(&format!("== Commands typed ({reconstructed}) ==")),
        "{}",
        &table[..table.len().min(2_000)]
    );
    // The scratch stores are gone.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}

#[test]
fn audit_without_a_writable_temporary_folder_reads_into_memory_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("file");
    std::fs::write(&not_a_folder, b"x").unwrap();
    let with_tmp = |tmp: &Path| {
        bin()
            .env("TMPDIR", tmp)
            .args(["audit", "sample-data/", "--format", "jsonl"])
            .output()
            .unwrap()
    };
    let fallback = with_tmp(&not_a_folder);
    let usual = with_tmp(dir.path());
    assert!(
        stderr(&fallback).contains("reading into memory instead"),
        "{}",
        stderr(&fallback)
    );
    assert!(!stderr(&usual).contains("reading into memory"));
    assert_eq!(fallback.status.code(), usual.status.code());
    assert_eq!(
        stdout(&fallback),
        stdout(&usual),
        "the same report either way"
    );
}

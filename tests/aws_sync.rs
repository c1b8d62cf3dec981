//! `execaudit sync` against moto on 127.0.0.1 (with tests/moto/execaudit_moto.py), through the
//! real SDK clients: an organisation trail bucket, listing pagination, throttling, corrupt
//! objects, a run killed part way and resumed, SSE-KMS transcripts with unusable keys, a
//! DEFAULT-mode log group, and LookupEvents. Tests share one server and keep apart by bucket,
//! log group and region names.

#[path = "moto/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{
    exec_record, execaudit, moto, noise_record, run, stored_ids, trail_file, transcript, Moto,
};
use serde_json::{json, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_execaudit"))
}

fn sync(m: &Moto, store: &Path, args: &[&str]) -> harness::Run {
    let mut c = execaudit(m);
    c.arg("sync").arg("--store").arg(store).args(args);
    run(c)
}

fn query(store: &Path, args: &[&str]) -> String {
    let mut c = bin();
    c.args(args).arg("--store").arg(store);
    let r = run(c);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.stdout
}

fn unique(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

fn gets(m: &Moto, bucket: &str) -> Vec<String> {
    m.requests(&[("service", "s3"), ("bucket", bucket), ("op", "GetObject")])
        .iter()
        .map(|r| r["key"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The value of a column of the summary line of a source.
fn summary_cell(stdout: &str, source_starts: &str, column: &str) -> String {
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = header.iter().position(|h| *h == column).expect("column");
    for l in stdout.lines() {
        if let Some(rest) = l.strip_prefix(source_starts) {
            // The source name may contain spaces: count columns from the right.
            let cells: Vec<&str> = rest.split_whitespace().collect();
            let from_right = header.len() - col;
            return cells[cells.len() - from_right].to_owned();
        }
    }
    panic!("no summary line for {source_starts} in\n{stdout}")
}

#[test]
fn an_organisation_trail_bucket_reads_like_local_files_once_and_never_whole() {
    let m = moto();
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    let g = run({
        let mut c = bin();
        c.args(["generate", "--records", "3000", "--out"]).arg(&gen);
        c
    });
    assert_eq!(g.code, 0, "{}", g.stderr);
    let bucket = "it-org-trail";
    m.create_bucket(bucket);
    let n = m.upload_dir(bucket, &gen.join("AWSLogs"), "org/AWSLogs/");
    assert!(n > 100);
    // Something that is not the trail, beside it: never listed, never read.
    m.put_object(bucket, "other/data.json", b"{}", None);

    let store = tmp.path().join("store");
    let range = ["--since", "2024-11-17", "--until", "2024-11-26"];
    let url = format!("s3://{bucket}/org");
    let mut args = vec!["--cloudtrail-bucket", url.as_str()];
    args.extend(range);
    let first = sync(m, &store, &args);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);

    let local = tmp.path().join("local");
    let i = run({
        let mut c = bin();
        c.arg("ingest")
            .arg(gen.join("AWSLogs"))
            .arg("--store")
            .arg(&local);
        c
    });
    assert_eq!(i.code, 0, "{}", i.stderr);
    for cmd in [
        ["sessions", "--format", "csv"],
        ["attempts", "--format", "csv"],
    ] {
        assert_eq!(
            query(&store, &cmd),
            query(&local, &cmd),
            "{cmd:?} differs from a local ingest"
        );
    }
    // Control events name where they were read: the same but for that.
    let without_source = |out: String| -> Vec<Value> {
        let mut v: Vec<Value> = serde_json::from_str(&out).unwrap();
        for e in &mut v {
            e.as_object_mut().unwrap().remove("source");
        }
        v
    };
    let control = ["control", "--format", "json"];
    let pulled = without_source(query(&store, &control));
    assert!(pulled.len() > 10);
    assert_eq!(pulled, without_source(query(&local, &control)));
    assert_eq!(
        query(&store, &["sessions", "--format", "csv"])
            .lines()
            .count(),
        21
    );

    let lists = m.requests(&[
        ("service", "s3"),
        ("bucket", bucket),
        ("op", "ListObjectsV2"),
    ]);
    assert!(!lists.is_empty());
    for l in &lists {
        let q = &l["query"];
        let prefix = q["prefix"].as_str().unwrap_or("");
        let day_folder = prefix.contains("/CloudTrail/") && prefix.matches('/').count() >= 8;
        assert!(
            prefix.starts_with("org/AWSLogs/") && (q["delimiter"] == "/" || day_folder),
            "a listing that is neither a folder listing nor a day folder: {q}"
        );
    }
    let read = gets(m, bucket);
    assert!(read
        .iter()
        .all(|k| !k.contains("CloudTrail-Digest") && k.starts_with("org/AWSLogs/")));
    assert_eq!(read.len(), unique(&read).len(), "an object was read twice");

    // A second run fetches nothing.
    let second = sync(m, &store, &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(gets(m, bucket).len(), read.len());
    assert!(
        second
            .stdout
            .contains("stored: 0 exec events, 0 control events"),
        "{}",
        second.stdout
    );

    // --accounts / --regions read only those folders.
    let narrow = tmp.path().join("narrow");
    let before = gets(m, bucket).len();
    let mut nargs = args.clone();
    nargs.extend(["--accounts", "444455556666", "--regions", "eu-west-1"]);
    let r = sync(m, &narrow, &nargs);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let narrow_gets = &gets(m, bucket)[before..];
    assert!(!narrow_gets.is_empty());
    assert!(narrow_gets
        .iter()
        .all(|k| k.contains("/444455556666/CloudTrail/eu-west-1/")));
    let sessions = query(&narrow, &["sessions", "--format", "json"]);
    let v: Value = serde_json::from_str(&sessions).unwrap();
    for s in v.as_array().unwrap() {
        assert_eq!(s["account"], "444455556666");
        assert_eq!(s["region"], "eu-west-1");
    }
}

/// `n` trail files in one day folder, one exec event each (ids `<tag>-<i>`).
fn day_of_files(tag: &str, account: &str, day: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let compact = day.replace('-', "");
    let folder = day.replace('-', "/");
    (0..n)
        .map(|i| {
            let (h, mi) = ((i / 60) % 24, i % 60);
            let key = format!(
                "AWSLogs/{account}/CloudTrail/us-east-1/{folder}/{account}_CloudTrail_us-east-1_{compact}T{h:02}{mi:02}Z_{tag}{i:05}.json.gz"
            );
            let t = format!("{day}T{h:02}:{mi:02}:00Z");
            let body = trail_file(&[
                noise_record(&format!("{tag}-n{i}"), &t, account, "us-east-1"),
                exec_record(&format!("{tag}-{i}"), &t, account, "us-east-1", &format!("ecs-execute-command-{tag}{i}")),
            ]);
            (key, body)
        })
        .collect()
}

#[test]
fn a_day_folder_over_a_thousand_keys_pages_through_throttling_and_corrupt_objects() {
    let m = moto();
    let bucket = "it-pages";
    m.create_bucket(bucket);
    let mut objects = day_of_files("pg", "111122223333", "2024-11-18", 1050);
    let folder = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/18/";
    let corrupt =
        format!("{folder}111122223333_CloudTrail_us-east-1_20241118T2359Z_CORRUPT.json.gz");
    let mut cut = trail_file(&[exec_record(
        "cut",
        "2024-11-18T23:59:00Z",
        "111122223333",
        "us-east-1",
        "ecs-execute-command-cut",
    )]);
    cut.truncate(cut.len() / 2);
    objects.push((corrupt.clone(), cut));
    m.put_objects(bucket, objects);
    m.test_post(
        "throttle",
        json!({"service": "s3", "bucket": bucket, "count": 3}),
    );

    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let url = format!("s3://{bucket}");
    let r = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            &url,
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-19",
        ],
    );
    assert_eq!(
        r.code, 2,
        "a corrupt object must fail the run\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains(&format!("s3://{bucket}/{corrupt}")),
        "the corrupt object is named: {}",
        r.stderr
    );
    let ids = stored_ids(&store, "exec_events", "event_id");
    assert_eq!(ids.len(), 1050, "every good object is stored once");
    assert_eq!(unique(&ids).len(), 1050);
    let throttled: u64 = summary_cell(&r.stdout, "s3://it-pages (trail)", "throttled")
        .parse()
        .unwrap();
    assert!(throttled >= 3, "{}", r.stdout);
    let continued = m
        .requests(&[
            ("service", "s3"),
            ("bucket", bucket),
            ("op", "ListObjectsV2"),
        ])
        .iter()
        .filter(|l| l["query"].get("continuation-token").is_some())
        .count();
    assert!(continued >= 1, "the listing went past its first page");

    // The corrupt object is reported once: the next run reads nothing and succeeds.
    let before = gets(m, bucket).len();
    let again = sync(
        m,
        &store,
        &[
            "--cloudtrail-bucket",
            &url,
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-19",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(gets(m, bucket).len(), before);
}

#[test]
fn a_pull_killed_part_way_is_completed_by_the_next_run_without_duplicates_or_gaps() {
    let m = moto();
    let bucket = "it-resume";
    m.create_bucket(bucket);
    let mut objects = day_of_files("rs", "111122223333", "2024-11-18", 300);
    objects.extend(day_of_files("rt", "111122223333", "2024-11-19", 300));
    m.put_objects(bucket, objects);
    m.test_post("delay", json!({"bucket": bucket, "ms": 40}));

    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let url = format!("s3://{bucket}");
    let args = [
        "--cloudtrail-bucket",
        url.as_str(),
        "--since",
        "2024-11-18",
        "--until",
        "2024-11-20",
        "--concurrency",
        "2",
    ];
    let mut child = {
        let mut c = execaudit(m);
        c.arg("sync").arg("--store").arg(&store).args(args);
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c.spawn().unwrap()
    };
    // Kill it once a checkpoint is on disk (data already durable), well before the end.
    let checkpoints = store.join("checkpoints");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = walk_files(&checkpoints)
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "json"));
        if written {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "sync ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no checkpoint was written");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = stored_ids(&store, "exec_events", "event_id");
    assert!(
        !partial.is_empty() && partial.len() < 600,
        "killed part way: {} stored",
        partial.len()
    );
    let fetched_before = gets(m, bucket).len();

    m.test_post("delay", json!({"bucket": bucket, "ms": 0}));
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ids = stored_ids(&store, "exec_events", "event_id");
    assert_eq!(ids.len(), 600, "no duplicates");
    assert_eq!(unique(&ids).len(), 600, "no gaps");
    let refetched = gets(m, bucket).len() - fetched_before;
    assert!(
        refetched < 600,
        "the resumed run read only what was left ({refetched})"
    );

    let before = gets(m, bucket).len();
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0);
    assert_eq!(gets(m, bucket).len(), before, "a third run fetches nothing");
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn sse_kms_transcripts_read_and_unusable_keys_are_explained() {
    let m = moto();
    let bucket = "it-exec-logs";
    m.create_bucket(bucket);
    let good = m.create_key();
    let disabled = m.create_key();
    let deleting = m.create_key();
    let denied = m.create_key();
    let sid = |n: &str| format!("ecs-execute-command-kms{n}");
    for n in ["a1", "a2", "a3"] {
        m.put_object(
            bucket,
            &format!("prod/{}.log", sid(n)),
            &transcript(&["id", "ls /app"]),
            Some(&good),
        );
    }
    m.put_object(
        bucket,
        &format!("prod/{}.log", sid("dis")),
        &transcript(&["id"]),
        Some(&disabled),
    );
    m.put_object(
        bucket,
        &format!("prod/{}.log", sid("del")),
        &transcript(&["id"]),
        Some(&deleting),
    );
    m.put_object(
        bucket,
        &format!("prod/{}.log", sid("den")),
        &transcript(&["id"]),
        Some(&denied),
    );
    m.json_call(
        "kms",
        "TrentService.DisableKey",
        "us-east-1",
        json!({"KeyId": disabled}),
    );
    m.json_call(
        "kms",
        "TrentService.ScheduleKeyDeletion",
        "us-east-1",
        json!({"KeyId": deleting, "PendingWindowInDays": 7}),
    );
    m.test_post("deny-decrypt", json!({"key_id": denied}));

    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let url = format!("s3://{bucket}/prod");
    let r = sync(m, &store, &["--transcript-bucket", &url, "--sweep"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("KMS.DisabledException") && r.stderr.contains("key is disabled"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("KMS.KMSInvalidStateException") && r.stderr.contains("pending deletion"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&sid("den")) && r.stderr.contains("kms:Decrypt"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&denied), "the key is named: {}", r.stderr);
    let ids = stored_ids(&store, "transcripts", "session_id");
    assert_eq!(ids, [sid("a1"), sid("a2"), sid("a3")]);
    let show = query(&store, &["commands", "--format", "csv"]);
    assert!(show.contains("ls /app"));

    // The next run asks again only for what it could not read.
    let before = gets(m, bucket).len();
    let r = sync(m, &store, &["--transcript-bucket", &url, "--sweep"]);
    assert_eq!(r.code, 2);
    let retried: BTreeSet<String> = gets(m, bucket)[before..].iter().cloned().collect();
    let expected: BTreeSet<String> = ["dis", "del", "den"]
        .iter()
        .map(|n| format!("prod/{}.log", sid(n)))
        .collect();
    assert_eq!(retried, expected);
}

#[test]
fn transcripts_are_fetched_for_the_sessions_cloudtrail_shows() {
    let m = moto();
    let trail = "it-targeted-trail";
    let logs = "it-targeted-logs";
    m.create_bucket(trail);
    m.create_bucket(logs);
    let acct = "111122223333";
    let records: Vec<Value> = ["t1", "t2", "t3"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            exec_record(
                &format!("tg-{n}"),
                &format!("2024-11-18T10:0{i}:00Z"),
                acct,
                "us-east-1",
                &format!("ecs-execute-command-tg{n}"),
            )
        })
        .collect();
    m.put_object(trail, &format!("AWSLogs/{acct}/CloudTrail/us-east-1/2024/11/18/{acct}_CloudTrail_us-east-1_20241118T1010Z_AAAA.json.gz"), &trail_file(&records), None);
    // Sessions t1 and t2 have transcripts; t3 has none; another session's transcript is not wanted.
    for n in ["t1", "t2", "zz"] {
        m.put_object(
            logs,
            &format!("exec/ecs-execute-command-tg{n}.log"),
            &transcript(&["whoami"]),
            None,
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let (t, l) = (format!("s3://{trail}"), format!("s3://{logs}/exec/"));
    let args = [
        "--cloudtrail-bucket",
        t.as_str(),
        "--transcript-bucket",
        l.as_str(),
        "--since",
        "2024-11-18",
        "--until",
        "2024-11-19",
    ];
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let asked: BTreeSet<String> = gets(m, logs).into_iter().collect();
    let expected: BTreeSet<String> = ["t1", "t2", "t3"]
        .iter()
        .map(|n| format!("exec/ecs-execute-command-tg{n}.log"))
        .collect();
    assert_eq!(asked, expected);
    assert_eq!(
        summary_cell(
            &r.stdout,
            "s3://it-targeted-logs/exec (transcripts)",
            "missing"
        ),
        "1"
    );
    let sessions = query(&store, &["sessions", "--format", "csv"]);
    assert_eq!(sessions.matches(",present,").count(), 2, "{sessions}");
    // Old sessions whose transcript never came are not asked for again.
    let before = gets(m, logs).len();
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0);
    assert_eq!(gets(m, logs).len(), before);
    // A bucket that does not exist is one error, not a missing transcript per session.
    let r = sync(
        m,
        &store,
        &[
            "--transcript-bucket",
            "s3://it-targeted-nosuch/exec",
            "--since",
            "2024-11-18",
            "--until",
            "2024-11-19",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.matches("NoSuchBucket").count(), 1, "{}", r.stderr);
    assert_eq!(
        summary_cell(
            &r.stdout,
            "s3://it-targeted-nosuch/exec (transcripts)",
            "missing"
        ),
        "0"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn put_stream(m: &Moto, region: &str, group: &str, stream: &str, messages: &[String], t0: i64) {
    m.json_call(
        "logs",
        "Logs_20140328.CreateLogStream",
        region,
        json!({"logGroupName": group, "logStreamName": stream}),
    );
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, msg)| json!({"timestamp": t0 + i as i64, "message": msg}))
        .collect();
    m.json_call(
        "logs",
        "Logs_20140328.PutLogEvents",
        region,
        json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}),
    );
}

/// A transcript as CloudWatch Logs holds it: `\r\n` became `\n`, split into events.
fn cw_messages(commands: &[&str], footer: bool) -> Vec<String> {
    let text = String::from_utf8(transcript(commands))
        .unwrap()
        .replace("\r\n", "\n");
    let mut text = text.trim_end_matches('\n').to_owned();
    if !footer {
        text = text[..text.find("\n\nScript done").unwrap()].to_owned();
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mid = lines.len() / 2;
    vec![lines[..mid].join("\n"), lines[mid..].join("\n")]
}

fn logs_requests(m: &Moto, region: &str, op: &str) -> Vec<String> {
    m.requests(&[("service", "logs"), ("region", region), ("op", op)])
        .iter()
        .map(|r| r["stream"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_default_mode_log_group_yields_its_exec_streams_only() {
    let m = moto();
    let region = "eu-central-1";
    let group = "/ecs/it-app";
    m.json_call(
        "logs",
        "Logs_20140328.CreateLogGroup",
        region,
        json!({"logGroupName": group}),
    );
    let t0 = now_ms() - 3_600_000;
    for task in ["0a1b2c3d", "4e5f6a7b"] {
        put_stream(
            m,
            region,
            group,
            &format!("app/web/{task}"),
            &[
                "GET /health 200".to_owned(),
                "ecs-execute-command-lookalike".to_owned(),
            ],
            t0,
        );
    }
    // 55 sessions: more than one DescribeLogStreams page (50).
    for i in 0..55 {
        put_stream(
            m,
            region,
            group,
            &format!("ecs-execute-command-cw{i:03}"),
            &cw_messages(&["id", "cat /etc/hostname"], true),
            t0,
        );
    }
    put_stream(
        m,
        region,
        group,
        "ecs-execute-command-cwcut",
        &cw_messages(&["id"], false),
        t0,
    );

    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let args = ["--log-group", group, "--region", region, "--sweep"];
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ids = stored_ids(&store, "transcripts", "session_id");
    assert_eq!(ids.len(), 56);
    let read = logs_requests(m, region, "GetLogEvents");
    assert!(
        read.iter().all(|s| s.starts_with("ecs-execute-command-")),
        "an application stream was read"
    );
    let streams: BTreeSet<String> = read.iter().cloned().collect();
    assert_eq!(streams.len(), 56);
    let calls = read.len();
    assert!(
        logs_requests(m, region, "DescribeLogStreams").len() >= 2,
        "stream listing paged"
    );
    let transcripts = query(&store, &["commands", "--format", "csv"]);
    assert!(transcripts.contains("cat /etc/hostname"));

    // Nothing new: nothing read. The cut-off stream is read again once it grows.
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0);
    assert_eq!(logs_requests(m, region, "GetLogEvents").len(), calls);
    let done = json!({"timestamp": t0 + 10, "message": "\nScript done on 2024-11-18 10:05:00+00:00 [COMMAND_EXIT_CODE=\"0\"]"});
    m.json_call("logs", "Logs_20140328.PutLogEvents", region, json!({"logGroupName": group, "logStreamName": "ecs-execute-command-cwcut", "logEvents": [done]}));
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0);
    let read = logs_requests(m, region, "GetLogEvents");
    let again: BTreeSet<&String> = read[calls..].iter().collect();
    assert_eq!(
        again.into_iter().collect::<Vec<_>>(),
        ["ecs-execute-command-cwcut"]
    );
}

#[test]
fn lookup_events_pages_within_the_rate_backs_off_and_feeds_targeted_streams() {
    let m = moto();
    let region = "ap-southeast-2";
    let account = "123456789012";
    let now = now_ms();
    let mut records = Vec::new();
    for i in 0..120 {
        records.push(exec_record(
            &format!("lk-{i}"),
            &iso(now - 3_600_000 - i * 60_000),
            account,
            region,
            &format!("ecs-execute-command-lk{i}"),
        ));
    }
    for i in 0..30 {
        let mut r = noise_record(
            &format!("lk-run{i}"),
            &iso(now - 7_200_000),
            account,
            region,
        );
        r["eventSource"] = "ecs.amazonaws.com".into();
        r["eventName"] = "RunTask".into();
        r["requestParameters"] =
            json!({"cluster": "prod", "taskDefinition": "app:1", "enableExecuteCommand": i < 5});
        records.push(r);
    }
    records.push(noise_record(
        "lk-noise",
        &iso(now - 7_200_000),
        account,
        region,
    ));
    // Older than event history keeps: never returned.
    records.push(exec_record(
        "lk-old",
        &iso(now - 100 * 86_400_000),
        account,
        region,
        "ecs-execute-command-lkold",
    ));
    m.test_post(
        "lookup-events",
        json!({"account": account, "region": region, "records": records}),
    );
    m.test_post(
        "throttle",
        json!({"service": "cloudtrail", "region": region, "count": 2}),
    );
    // Two of the sessions have streams in the log group.
    let group = "/ecs/it-lookup";
    m.json_call(
        "logs",
        "Logs_20140328.CreateLogGroup",
        region,
        json!({"logGroupName": group}),
    );
    for s in [
        "ecs-execute-command-lk3",
        "ecs-execute-command-lk4",
        "ecs-execute-command-other",
    ] {
        put_stream(
            m,
            region,
            group,
            s,
            &cw_messages(&["uname -a"], true),
            now - 3_000_000,
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let args = [
        "--lookup",
        "--region",
        region,
        "--lookup-event",
        "ExecuteCommand",
        "--lookup-event",
        "RunTask",
        "--since",
        "120d",
        "--log-group",
        group,
    ];
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let exec = stored_ids(&store, "exec_events", "event_id");
    assert_eq!(exec.len(), 120);
    assert!(!exec.contains(&"lk-old".to_owned()));
    // RunTask with enableExecuteCommand set either way is kept; the noise is not.
    assert_eq!(stored_ids(&store, "control_events", "event_id").len(), 30);
    let source = format!("LookupEvents {account} {region}");
    assert!(
        summary_cell(&r.stdout, &source, "throttled")
            .parse::<u64>()
            .unwrap()
            >= 2,
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("90 days"),
        "the retention is noted: {}",
        r.stdout
    );
    let calls = m.requests(&[("service", "cloudtrail"), ("region", region)]);
    for c in &calls {
        let attrs = c["query"]["LookupAttributes"].as_array().unwrap();
        assert_eq!(attrs.len(), 1);
        assert!(c["query"]["MaxResults"].as_i64().unwrap() <= 50);
    }
    assert!(
        calls.iter().any(|c| c["query"].get("NextToken").is_some()),
        "pages were followed"
    );
    let times: Vec<f64> = calls.iter().map(|c| c["t"].as_f64().unwrap()).collect();
    for w in times.windows(3) {
        assert!(
            w[2] - w[0] >= 0.95,
            "more than two calls within a second: {w:?}"
        );
    }
    // Targeted: only the streams of sessions LookupEvents showed.
    let read = logs_requests(m, region, "GetLogEvents");
    assert!(
        read.contains(&"ecs-execute-command-lk3".to_owned())
            && read.contains(&"ecs-execute-command-lk4".to_owned())
    );
    assert!(!read.contains(&"ecs-execute-command-other".to_owned()));
    assert_eq!(stored_ids(&store, "transcripts", "session_id").len(), 2);

    // A second run asks only for the last minutes and finds nothing new.
    let calls_before = calls.len();
    let r = sync(m, &store, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new_calls = m
        .requests(&[("service", "cloudtrail"), ("region", region)])
        .len()
        - calls_before;
    assert_eq!(
        new_calls, 2,
        "one call per event name, for the newest minutes only"
    );
    assert!(
        r.stdout.contains("stored: 0 exec events, 0 control events"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_role_is_assumed_in_each_account() {
    let m = moto();
    let region = "ap-northeast-3";
    let now = now_ms();
    for account in ["111122223333", "444455556666"] {
        let rec = exec_record(
            &format!("ar-{account}"),
            &iso(now - 3_600_000),
            account,
            region,
            &format!("ecs-execute-command-ar{account}"),
        );
        m.test_post(
            "lookup-events",
            json!({"account": account, "region": region, "records": [rec]}),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let r = sync(
        m,
        &store,
        &[
            "--lookup",
            "--lookup-event",
            "ExecuteCommand",
            "--region",
            region,
            "--since",
            "1d",
            "--accounts",
            "111122223333,444455556666",
            "--role-arn-template",
            "arn:aws:iam::{account}:role/audit",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        stored_ids(&store, "exec_events", "event_id"),
        ["ar-111122223333", "ar-444455556666"]
    );
}

#[test]
fn sync_needs_a_source_and_valid_flags() {
    let m = moto();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let r = sync(m, &store, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to pull"));
    let r = sync(m, &store, &["--cloudtrail-bucket", "trail-bucket"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("s3://bucket"), "{}", r.stderr);
    let r = sync(
        m,
        &store,
        &["--lookup", "--role-arn-template", "arn:aws:iam::1:role/X"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("{account}"), "{}", r.stderr);
    let r = sync(m, &store, &["--lookup", "--lookup-event", "GetObject"]);
    assert_eq!(r.code, 2);
    let r = sync(
        m,
        &store,
        &["--cloudtrail-bucket", "s3://it-no-such-bucket"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NoSuchBucket"), "{}", r.stderr);
}

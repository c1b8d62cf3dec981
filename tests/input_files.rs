//! How the binary treats the files it is given (issues 9 and 12): gzip bombs, cut gzip files,
//! paths that are not files, folders that also hold notes, and out-of-range times. Each case is
//! built in a temporary folder and run through the real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_execaudit"))
        .args(args)
        .env_remove("EXECAUDIT_STORE")
        .output()
        .expect("binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn exec_record(n: u32) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","userName":"bob"}},"eventTime":"2024-05-14T09:12:{:02}Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","requestParameters":{{"cluster":"c","task":"t","command":"/bin/sh","interactive":true}},"responseElements":{{"session":{{"sessionId":"ecs-execute-command-sess{n:05}"}}}},"eventID":"id-{n}"}}"#,
        n % 60
    )
}

fn trail(records: impl Iterator<Item = String>) -> Vec<u8> {
    format!(
        "{{\"Records\":[{}]}}",
        records.collect::<Vec<_>>().join(",")
    )
    .into_bytes()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sessions(store: &Path) -> Vec<String> {
    let o = run(&[
        "sessions",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Runs the binary under an address-space limit when `prlimit` (util-linux) is there: a file
/// inflated whole instead of capped would abort the process.
fn run_limited(args: &[&str], bytes: u64) -> Output {
    let limited = Command::new("prlimit")
        .arg(format!("--as={bytes}"))
        .arg(env!("CARGO_BIN_EXE_execaudit"))
        .args(args)
        .env_remove("EXECAUDIT_STORE")
        .output();
    match limited {
        Ok(o) if o.status.code().is_some() => o,
        _ => run(args),
    }
}

#[test]
fn a_gzip_bomb_is_refused_by_name_and_the_good_files_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("a-good.json.gz"),
        gz(&trail((0..3).map(exec_record))),
    )
    .unwrap();
    // 96 MiB of zeros in a 96 KB file whose trailer is honest: over the cap, so it is looked
    // at first, and its first bytes are no log.
    std::fs::write(logs.join("b-bomb.json.gz"), gz(&vec![0u8; 96 << 20])).unwrap();
    // JSON that goes on and on: it passes the first look and stops at the cap.
    let mut endless = b"{\"Records\":[".to_vec();
    endless.resize(48 << 20, b' ');
    std::fs::write(logs.join("c-endless.json.gz"), gz(&endless)).unwrap();
    std::fs::write(
        logs.join("d-good.json.gz"),
        gz(&trail((3..5).map(exec_record))),
    )
    .unwrap();
    // 1 GiB in 64 members of 16 MiB: each trailer is believable, the whole is not allowed.
    let member = gz(&vec![b' '; 16 << 20]);
    std::fs::write(logs.join("e-members.json.gz"), member.repeat(64)).unwrap();
    let store = dir.path().join("store");
    let o = run_limited(
        &[
            "ingest",
            logs.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--max-file-bytes",
            "32M",
        ],
        600 << 20,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("b-bomb.json.gz") && l.contains("not JSON")),
        "{out}"
    );
    for name in ["c-endless.json.gz", "e-members.json.gz"] {
        assert!(
            out.lines()
                .any(|l| l.contains(name) && l.contains("more than 32 MiB (--max-file-bytes)")),
            "{name}: {out}"
        );
    }
    assert!(out.contains("skipped 3 files"), "{out}");
    assert_eq!(sessions(&store).len(), 5, "{out}");
}

#[test]
fn a_cut_gzip_file_keeps_the_complete_records_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let whole = gz(&trail((0..400).map(exec_record)));
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let store = dir.path().join("store");
    let o = run(&[
        "ingest",
        cut.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("gzip data ends early"), "{out}");
    assert!(out.contains("truncated JSON"), "{out}");
    let kept = sessions(&store);
    assert!(
        kept.len() > 100 && kept.len() < 400,
        "{} kept\n{out}",
        kept.len()
    );
    // What was kept is the start of the file, in order, and nothing invented.
    let expected: Vec<String> = (0..kept.len() as u32)
        .map(|n| format!("ecs-execute-command-sess{n:05}"))
        .collect();
    assert_eq!(kept, expected);
}

#[test]
fn paths_that_cannot_be_read_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["audit", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("character device"), "{}", text(&o));
    let missing = dir.path().join("no-such-folder");
    let o = run(&["audit", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("No such file"), "{}", text(&o));
    let fifo = dir.path().join("pipe");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let o = run(&["audit", fifo.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).contains("a FIFO"), "{}", text(&o));
    }
}

#[test]
fn notes_beside_logs_are_passed_over_but_a_corrupt_log_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("export");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("trail.json"), trail((0..2).map(exec_record))).unwrap();
    std::fs::write(logs.join("README.md"), "# Export of the 14th\n").unwrap();
    std::fs::write(logs.join("notes.txt"), "ask ops about bob\n").unwrap();
    std::fs::write(logs.join(".DS_Store"), b"\0\0\0\x01Bud1\0").unwrap();
    let o = run(&["audit", logs.to_str().unwrap(), "--format", "json"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let passed = v["summary"]["files_passed_over"].as_array().unwrap();
    assert_eq!(passed.len(), 3, "{out}");
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    let o = run(&["audit", logs.to_str().unwrap()]);
    assert!(
        text(&o).contains("passed over 3 files that are not logs"),
        "{}",
        text(&o)
    );
    // A log that is broken is still an error, whatever sits beside it.
    std::fs::write(logs.join("broken.json"), "{\"Records\":[{\"eventVer").unwrap();
    let o = run(&["audit", logs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A note named on the command line is read as asked, and is no log.
    let o = run(&["audit", logs.join("notes.txt").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_time_too_far_back_is_refused() {
    let o = run(&["audit", "/nonexistent", "--since", "99999999d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--since"), "{}", text(&o));
    assert!(text(&o).contains("outside"), "{}", text(&o));
}

/// A record that reuses an `eventID` with another identity, target or command is not a copy
/// of the same call: it was altered or forged. The first read is kept (first wins, as for
/// every duplicate), and the other is named with the fields that differ, in the same run
/// and against the store; a plain copy of the same record (another delivery) says nothing.
/// Such a record was dropped as a plain duplicate, unseen.
#[test]
fn a_record_that_reuses_an_event_id_with_other_content_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("a.json"), trail((1..=3).map(exec_record))).unwrap();
    // Another delivery of id-1 (the same record), and id-2 as someone else.
    let forged = exec_record(2).replace(r#""userName":"bob""#, r#""userName":"mallory""#);
    std::fs::write(
        logs.join("b.json"),
        trail([exec_record(1), forged.clone()].into_iter()),
    )
    .unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", logs.to_str().unwrap(), "--store", store]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("1 ExecuteCommand record(s) reuse an eventID"),
        "{out}"
    );
    assert!(out.contains("eventID id-2"), "{out}");
    assert!(out.contains("in principal"), "{out}");
    assert!(
        !out.contains("eventID id-1"),
        "a plain copy is no conflict: {out}"
    );
    assert_eq!(sessions(Path::new(store)).len(), 3);
    // Later, a forged id-3 against the stored one (another command), and a plain copy.
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    let forged3 = exec_record(3).replace(r#""command":"/bin/sh""#, r#""command":"true""#);
    std::fs::write(
        later.join("c.json"),
        trail([forged3, exec_record(1)].into_iter()),
    )
    .unwrap();
    let o = run(&["ingest", later.to_str().unwrap(), "--store", store]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("eventID id-3"), "{out}");
    assert!(out.contains("in command"), "{out}");
    assert!(out.contains("the stored one is kept"), "{out}");
    assert!(!out.contains("eventID id-1"), "{out}");
    // The stored command is still the first one.
    let o = run(&[
        "query",
        "SELECT command FROM exec_events WHERE event_id = 'id-3'",
        "--store",
        store,
        "--format",
        "csv",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "command\n/bin/sh"
    );
}

/// The store is private: a store made in an empty folder the user created beforehand
/// (`mkdir`: 0755) becomes 0700 like one created by `ingest`; an existing store, or a folder
/// holding other files, keeps its mode and each write warns that it is open. A store in a
/// folder made beforehand stayed 0755, readable by every local user.
#[test]
fn a_store_is_made_private_or_said_to_be_open() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("a.json"), trail((1..=2).map(exec_record))).unwrap();
    let logs = logs.to_str().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(&["ingest", logs, "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(mode(&store), 0o700);
    assert!(
        !text(&o).contains("open to group or others"),
        "{}",
        text(&o)
    );
    // Opened up by its owner: kept, and said at each write.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o750)).unwrap();
    let o = run(&["ingest", logs, "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(mode(&store), 0o750);
    assert!(
        text(&o).contains("open to group or others (mode 750)"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("chmod 700"), "{}", text(&o));
    // A folder that holds something else is not the tool's to change.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("notes.txt"), "mine").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(&["ingest", logs, "--store", shared.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(mode(&shared), 0o755);
    assert!(
        text(&o).contains("open to group or others (mode 755)"),
        "{}",
        text(&o)
    );
}

/// Forged copies the first checks missed (from an attack on them): a copy whose time moves
/// it to another UTC day was stored a second time (keys were per day); a record of another
/// kind that reused an `ExecuteCommand`'s id hid the call.
#[test]
fn a_copy_on_another_day_or_of_another_kind_does_not_hide_or_double_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(first.join("a.json"), trail((1..=2).map(exec_record))).unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", first.to_str().unwrap(), "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let next_day = exec_record(1).replace("2024-05-14T09:12:01Z", "2024-05-15T00:00:01Z");
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    std::fs::write(later.join("b.json"), trail([next_day].into_iter())).unwrap();
    let o = run(&["ingest", later.to_str().unwrap(), "--store", store]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("eventID id-1") && out.contains("in event_time"),
        "{out}"
    );
    let o = run(&[
        "query",
        "SELECT event_id, CAST(event_time AS STRING) AS t FROM exec_events ORDER BY event_id",
        "--store",
        store,
        "--format",
        "csv",
    ]);
    let rows = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(rows.lines().count(), 3, "one row per eventID: {rows}");
    assert!(rows.contains("2024-05-14 09:12:01"), "{rows}");
    // A RunTask that reuses id-7 before the ExecuteCommand id-7 is read.
    let kinds = dir.path().join("kinds");
    std::fs::create_dir(&kinds).unwrap();
    let run_task = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"eve"},"eventTime":"2024-05-14T09:00:00Z","eventSource":"ecs.amazonaws.com","eventName":"RunTask","awsRegion":"us-east-1","requestParameters":{"cluster":"c","taskDefinition":"td:1","enableExecuteCommand":true},"responseElements":{"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:111122223333:task/c/0123456789abcdef0123456789abcdef"}]},"eventID":"id-7"}"#;
    std::fs::write(
        kinds.join("a.json"),
        trail([run_task.to_owned()].into_iter()),
    )
    .unwrap();
    std::fs::write(kinds.join("b.json"), trail([exec_record(7)].into_iter())).unwrap();
    let o = run(&["ingest", kinds.to_str().unwrap(), "--store", store]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("eventID id-7") && out.contains("reuses the id"),
        "{out}"
    );
    assert!(
        sessions(Path::new(store)).contains(&"ecs-execute-command-sess00007".to_owned()),
        "{out}"
    );
}

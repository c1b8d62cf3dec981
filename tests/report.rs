//! The weekly report (`execaudit report`, issue 8) end to end: the real binary over stores
//! ingested from the bundled sample week and from a week with hostile text. Every SQL file under
//! `queries/reports/` is run by hand through `query` and compared with what the report says.
//! The browser check of the HTML is in `report_browser.rs`.

mod report_support;

use report_support::*;
use serde_json::Value;

const POLICY: &str = "queries/policy.toml";
const WEEK: [&str; 4] = ["--since", "2024-11-18", "--until", "2024-11-25"];

/// Runs one report query by hand over the sample week.
fn query(store: &str, file: &str) -> Value {
    let mut args = vec![
        "query", file, "--store", store, "--format", "json", "--policy", POLICY,
    ];
    args.extend_from_slice(&WEEK);
    let (v, o) = json(&args);
    assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
    v
}

fn rows(v: &Value) -> &Vec<Value> {
    v.as_array().expect("an array of rows")
}

#[test]
fn every_report_query_runs_by_hand_and_agrees_with_the_report() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let mut files: Vec<String> = std::fs::read_dir("queries/reports")
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".sql"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 14, "{files:?}");
    for f in &files {
        let v = query(s, f);
        assert!(
            !rows(&v).is_empty(),
            "{f} returns rows over the sample week"
        );
    }

    let summary = &query(s, "queries/reports/summary.sql")[0];
    assert_eq!(summary["sessions"], 20);
    assert_eq!(summary["principals"], 7);
    assert_eq!(summary["failed_attempts"], 4);
    assert_eq!(summary["findings"], 40);
    assert_eq!(summary["findings_high"], 14);
    assert_eq!(summary["transcripts_missing"], 2);

    let per_day = query(s, "queries/reports/sessions-per-day.sql");
    let total: i64 = rows(&per_day)
        .iter()
        .map(|r| r["sessions"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 20);

    let bg = query(s, "queries/reports/breakglass.sql");
    assert_eq!(rows(&bg).len(), 20);
    let outside: Vec<&Value> = rows(&bg).iter().filter(|r| r["allowed"] == false).collect();
    assert_eq!(outside.len(), 5);
    assert!(outside.iter().all(|r| r["violations"].is_string()));
    assert!(outside.iter().any(|r| r["violations"]
        .as_str()
        .unwrap()
        .contains("exec-outside-breakglass")));
    assert!(rows(&bg).iter().all(|r| r["show_command"]
        .as_str()
        .unwrap()
        .starts_with("execaudit show ecs-execute-command-")));

    let attempts = query(s, "queries/reports/failed-attempts.sql");
    let causes = column(&attempts, "likely_cause");
    assert_eq!(causes.len(), 4);
    assert!(
        causes.iter().any(|c| c.contains("VPC endpoints")),
        "{causes:?}"
    );
    assert!(causes.iter().any(|c| c.contains("mistyped")), "{causes:?}");

    let top = query(s, "queries/reports/frequent-commands.sql");
    assert_eq!(rows(&top)[0]["command"], "exit");
    assert_eq!(rows(&top)[0]["times"], 14);

    let gaps = query(s, "queries/reports/coverage-gaps.sql");
    assert_eq!(rows(&gaps).len(), 4);
    assert!(rows(&gaps).iter().all(|r| r["likely_cause"].is_string()));
    assert!(column(&gaps, "likely_cause")
        .iter()
        .any(|c| c.contains("logging was degraded")));

    let config = query(s, "queries/reports/exec-configuration.sql");
    let events = column(&config, "event_name");
    assert_eq!(
        events,
        [
            "UpdateCluster",
            "UpdateService",
            "RunTask",
            "UpdateCluster",
            "StartSession",
            "PutRetentionPolicy",
            "DeleteLogStream"
        ],
        "KMS session events are not configuration"
    );

    // The report says the same as the queries.
    let (r, o) = json(&[
        "report", "--store", s, "--week", "2024-W47", "--policy", POLICY, "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(r["summary"]["sessions"], summary["sessions"]);
    assert_eq!(r["summary"]["findings"], summary["findings"]);
    assert_eq!(r["failed_attempts"]["by_principal"], attempts);
    assert_eq!(r["top"]["frequent_commands"], top);
    assert_eq!(
        r["transcript_coverage"]["sessions_without_transcript"],
        gaps
    );
    assert_eq!(r["exec_configuration"]["events"], config);
}

#[test]
fn the_json_report_of_the_sample_week() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (r, o) = json(&[
        "report", "--store", s, "--week", "2024-W47", "--policy", POLICY, "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sum = &r["summary"];
    assert_eq!(sum["sessions"], 20);
    assert_eq!(sum["principals"], 7);
    assert_eq!(sum["clusters"], 4);
    assert_eq!(sum["accounts"], 2);
    assert_eq!(sum["failed_attempts"], 4);
    assert_eq!(sum["findings"], 40);
    assert_eq!(sum["findings_by_severity"]["high"], 14);
    assert_eq!(sum["transcripts"]["present"], 16);
    assert_eq!(sum["transcript_coverage_pct"], 80.0);
    let days: Vec<(&str, i64)> = sum["sessions_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["day"].as_str().unwrap(), d["sessions"].as_i64().unwrap()))
        .collect();
    assert_eq!(days.len(), 7);
    assert_eq!(days[0], ("2024-11-18", 3));
    assert_eq!(days[5], ("2024-11-23", 2));
    // The week before holds no data: no comparison, and the report says why.
    assert!(sum["previous"].is_null() && sum["change"].is_null());
    let notices = r["report"]["notices"].to_string();
    assert!(notices.contains("no data for 2024-W46"), "{notices}");
    assert_eq!(r["report"]["period"]["label"], "2024-W47");
    assert_eq!(r["report"]["period"]["since"], "2024-11-18T00:00:00Z");
    assert_eq!(r["report"]["period"]["until"], "2024-11-25T00:00:00Z");
    assert_eq!(r["report"]["missing_days"], serde_json::json!([]));
    assert_eq!(r["report"]["empty"], false);
    for key in [
        "break_glass",
        "findings",
        "who_where",
        "transcript_coverage",
        "exec_configuration",
        "failed_attempts",
        "top",
    ] {
        assert!(r[key].is_object(), "section {key}");
    }
    assert_eq!(
        r["break_glass"]["outside_policy"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        r["break_glass"]["inside_policy"].as_array().unwrap().len(),
        15
    );
    assert_eq!(
        r["who_where"]["first_seen_pairs"].as_array().unwrap().len(),
        12
    );
    assert_eq!(r["findings"]["findings"].as_array().unwrap().len(), 40);
    assert_eq!(r["findings"]["findings"][0]["severity"], "high");
    // Secrets typed in the week are redacted unless asked for.
    let text = stdout(&o);
    assert!(!text.contains("Adm1nPass"), "a typed password leaked");
    assert!(text.contains("-p<redacted:"));
    let shown = run(&[
        "report",
        "--store",
        s,
        "--week",
        "2024-W47",
        "--format",
        "json",
        "--show-secrets",
    ]);
    assert!(stdout(&shown).contains("-pAdm1nPass!"));
}

#[test]
fn without_a_policy_the_break_glass_section_says_so() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (r, o) = json(&[
        "report", "--store", s, "--week", "2024-W47", "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        r["summary"]["findings"], 32,
        "no policy checks without a policy"
    );
    assert!(r["break_glass"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("No --policy given"));
    assert_eq!(r["break_glass"]["outside_policy"], serde_json::json!([]));
    let md = run(&["report", "--store", s, "--week", "2024-W47"]);
    assert!(stdout(&md).contains("No policy given."));
}

#[test]
fn an_empty_week_is_a_report_that_says_so() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let o = run(&["report", "--store", s, "--week", "2024-W10"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("No ECS Exec activity in this period"), "{md}");
    assert!(
        md.contains("2024-03-04: before the first day the store holds (2024-11-18)"),
        "{md}"
    );
    for n in 1..=8 {
        assert!(
            md.contains(&format!("\n## {n}. ")),
            "section {n} is there: {md}"
        );
    }
    let (r, _) = json(&[
        "report", "--store", s, "--week", "2024-W10", "--format", "json",
    ]);
    assert_eq!(r["report"]["empty"], true);
    assert_eq!(r["summary"]["sessions"], 0);
    assert!(r["summary"]["transcript_coverage_pct"].is_null());
    assert_eq!(r["report"]["missing_days"].as_array().unwrap().len(), 7);

    // The default is the last complete ISO week, which the sample store does not reach.
    let (r, o) = json(&["report", "--store", s, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let label = r["report"]["period"]["label"].as_str().unwrap();
    assert!(label.len() == 8 && label.contains("-W"), "{label}");
    let since = r["report"]["period"]["since"].as_str().unwrap();
    let day = chrono::NaiveDate::parse_from_str(&since[..10], "%Y-%m-%d").unwrap();
    assert_eq!(chrono::Datelike::weekday(&day), chrono::Weekday::Mon);
    assert!(day < chrono::Utc::now().date_naive() - chrono::Duration::days(6));
    assert_eq!(r["report"]["empty"], true);
}

#[test]
fn a_period_partly_outside_the_data_names_the_missing_days() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (r, o) = json(&[
        "report",
        "--store",
        s,
        "--since",
        "2024-11-21",
        "--until",
        "2024-11-28",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let missing: Vec<(&str, &str)> = r["report"]["missing_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["day"].as_str().unwrap(), d["why"].as_str().unwrap()))
        .collect();
    let days: Vec<&str> = missing.iter().map(|d| d.0).collect();
    assert_eq!(days, ["2024-11-25", "2024-11-26", "2024-11-27"]);
    assert!(missing[0]
        .1
        .contains("after the last day the store holds (2024-11-24)"));
    // The period before (14 to 21 November) is partly held: compared, with a warning.
    assert_eq!(r["summary"]["previous"]["sessions"], 9);
    assert_eq!(r["summary"]["change"]["sessions"], 11 - 9);
    let notices = r["report"]["notices"].to_string();
    assert!(
        notices.contains("3 of the period's 7 days have no data"),
        "{notices}"
    );
    assert!(
        notices.contains("comparison with it is partial"),
        "{notices}"
    );
    let md = stdout(&run(&[
        "report",
        "--store",
        s,
        "--since",
        "2024-11-21",
        "--until",
        "2024-11-28",
    ]));
    assert!(
        md.contains("> - 2024-11-26: after the last day the store holds (2024-11-24)"),
        "{md}"
    );
}

#[test]
fn a_week_in_a_time_zone_runs_monday_to_monday_there() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (r, o) = json(&[
        "report",
        "--store",
        s,
        "--week",
        "2024-W47",
        "--tz",
        "America/Los_Angeles",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(r["report"]["period"]["since"], "2024-11-18T08:00:00Z");
    assert_eq!(r["report"]["time_zone"], "America/Los_Angeles");
    // The week runs from Monday 08:00 UTC: every session of the sample falls inside.
    assert_eq!(r["summary"]["sessions"], 20);
    let first = &r["summary"]["sessions_per_day"][0];
    // Monday 18th 09:12 and 10:03 UTC are 01:12 and 02:03 in Los Angeles; 14:40 is 06:40.
    assert_eq!(first["day"], "2024-11-18");
    assert_eq!(first["sessions"], 3);
    let sunday = &r["summary"]["sessions_per_day"][6];
    assert_eq!(sunday["day"], "2024-11-24");
    let md = stdout(&run(&[
        "report",
        "--store",
        s,
        "--week",
        "2024-W47",
        "--tz",
        "America/Los_Angeles",
    ]));
    // Times are shown in the zone: the 09:12:06 UTC session reads 01:12:06.
    assert!(md.contains("2024-11-18 01:12:06"), "{md}");
}

#[test]
fn bad_arguments_stop_before_any_data_is_read() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    for (args, says) in [
        (vec!["--week", "2021-W53"], "2021 has no ISO week 53"),
        (vec!["--week", "next week"], "cannot read"),
        (vec!["--tz", "Mars/Olympus_Mons"], "unknown time zone"),
        (
            vec!["--since", "2024-11-25", "--until", "2024-11-18"],
            "later than --since",
        ),
        (
            vec![
                "--week",
                "2024-W47",
                "--since",
                "2024-11-18",
                "--until",
                "2024-11-20",
            ],
            "cannot be used with",
        ),
        (vec!["--since", "2024-11-18"], "--until"),
        // Longer ranges were charted by their first 400 days, the days with data left out.
        (
            vec!["--since", "2020-01-01", "--until", "2025-01-01"],
            "1827 days; a report covers at most 400",
        ),
        // Part of a day more counts as a day (it touches one more date).
        (
            vec![
                "--since",
                "2024-01-01T12:00:00Z",
                "--until",
                "2025-02-05T11:00:00Z",
            ],
            "401 days; a report covers at most 400",
        ),
        (vec!["--policy", "no/such/policy.toml"], "policy"),
    ] {
        let mut a = vec!["report", "--store", s];
        a.extend(args.iter());
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?} printed a report");
    }
    let o = run(&["report", "--store", "/no/such/store", "--week", "2024-W47"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_range_of_400_days_is_a_report_of_every_day() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (v, o) = json(&[
        "report",
        "--store",
        s,
        "--format",
        "json",
        "--since",
        "2024-01-01",
        "--until",
        "2025-02-04",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let days = v["summary"]["sessions_per_day"].as_array().unwrap();
    assert_eq!(days.len(), 400);
    assert_eq!(days[399]["day"], "2025-02-03");
    let sessions: i64 = days.iter().map(|d| d["sessions"].as_i64().unwrap()).sum();
    assert_eq!(sessions, 20);
    assert_eq!(v["report"]["missing_days"].as_array().unwrap().len(), 393);
}

#[test]
fn out_writes_the_whole_file_and_nothing_else() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("week.html");
    let o = run(&[
        "report",
        "--store",
        s,
        "--week",
        "2024-W47",
        "--format",
        "html",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
}

#[test]
fn attempts_carry_their_likely_cause() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let (v, o) = json(&["attempts", "--store", s, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let by_code: Vec<(&str, &str)> = rows(&v)
        .iter()
        .map(|r| {
            (
                r["error_code"].as_str().unwrap(),
                r["likely_cause"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_code.len(), 4);
    for (code, cause) in &by_code {
        let want = match *code {
            "AccessDenied" => "lacks ecs:ExecuteCommand",
            "InvalidParameterException" => "start a new task",
            "TargetNotConnectedException" => "VPC endpoints",
            "ClusterNotFoundException" => "mistyped",
            other => panic!("unexpected code {other}"),
        };
        assert!(cause.contains(want), "{code}: {cause}");
    }
    // The one-shot audit has the same column.
    let (a, _) = json(&["audit", "sample-data", "--format", "json"]);
    assert_eq!(a["attempts"], v);
}

#[test]
fn hostile_text_stays_text_in_markdown_and_html() {
    let store = hostile_store();
    let s = store.path().to_str().unwrap();
    let md = run(&[
        "report", "--store", s, "--week", "2024-W47", "--policy", POLICY,
    ]);
    assert_eq!(md.status.code(), Some(0), "{}", stderr(&md));
    let md = stdout(&md);
    // The principal is text: Markdown's specials escaped.
    assert!(
        md.contains(r#"\<img src=x onerror="document.title='PWNED'"\>"#),
        "{md}"
    );
    // Commands are code spans, where nothing is markup; nowhere else does a raw tag appear.
    for line in md.lines() {
        for (i, _) in line.match_indices('<').filter(|(i, _)| {
            let rest = &line[*i..];
            rest.starts_with("<img") || rest.starts_with("</script") || rest.starts_with("<script")
        }) {
            let before = &line[..i];
            let ticks = before.matches('`').count();
            assert!(
                ticks % 2 == 1 || before.ends_with('\\'),
                "a raw tag outside a code span: {line}"
            );
        }
    }
    assert!(
        md.contains("`</script><script>document.title='PWNED'</script>`"),
        "{md}"
    );
    let html = stdout(&run(&[
        "report", "--store", s, "--week", "2024-W47", "--policy", POLICY, "--format", "html",
    ]));
    let lower = html.to_lowercase();
    for tag in [
        "<img",
        "<script",
        "<iframe",
        "<object",
        "<embed",
        "<link",
        "<a href=\"http",
    ] {
        assert!(!lower.contains(tag), "{tag} in the HTML");
    }
    assert!(
        !lower.contains("url(") && !lower.contains("@import"),
        "external style"
    );
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("&lt;img src=x onerror=&quot;document.title=&#39;PWNED&#39;&quot;&gt;"));
    assert!(
        html.contains("&lt;/script&gt;&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;")
    );
    // The JSON keeps the text as it was (escaped as JSON).
    let (r, _) = json(&[
        "report", "--store", s, "--week", "2024-W47", "--format", "json",
    ]);
    let cmds = column(&r["top"]["frequent_commands"], "command");
    assert!(
        cmds.contains(&"<img src=x onerror=\"document.title='PWNED'\">"),
        "{cmds:?}"
    );
}

#[test]
fn a_damaged_store_part_is_named_counted_once_and_the_report_still_written() {
    let store = sample_store();
    let s = store.path().to_str().unwrap();
    let part = std::fs::read_dir(store.path().join("commands"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a commands part");
    std::fs::write(&part, b"not parquet at all").unwrap();
    let (r, o) = json(&[
        "report", "--store", s, "--week", "2024-W47", "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&part.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert!(r["summary"]["sessions"].as_i64().unwrap() > 0);
    let notices = r["report"]["notices"].to_string();
    assert!(
        notices.contains("1 store part(s) could not be read"),
        "{notices}"
    );
}

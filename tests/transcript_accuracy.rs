//! Reconstruction accuracy over transcripts of REAL shells (bash, zsh, busybox ash) driven on a
//! pseudo-terminal by `tests/transcripts/generate.py` and wrapped as the SSM agent wraps them.
//! The truth is each shell's own history. Goals (issue 3): at least 98% exact-match recall and
//! precision of executed command lines; no abandoned line reported as executed; no input typed
//! with echo off ever in a command.

use std::collections::HashMap;
use std::path::Path;

use execaudit::ingest::transcript;
use execaudit::terminal::reconstruct;
use serde_json::Value;

/// Command lines, compared the same way for every shell: a backslash-newline continuation is
/// one line (bash's history joins it, zsh's keeps it, ash records each line), and blank lines,
/// which run nothing, are not commands (busybox records them).
fn lines(entries: impl IntoIterator<Item = String>) -> Vec<String> {
    let joined = entries
        .into_iter()
        .map(|e| e.trim_end_matches('\n').to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    joined
        .replace("\\\n", "")
        .split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn reconstruction_matches_the_shells_own_history() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/cases");
    let (mut tp, mut ours_n, mut truth_n, mut cases) = (0usize, 0usize, 0usize, 0usize);
    let mut report = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("generated cases are committed")
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for truth_path in files
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        {
            let truth: Value = serde_json::from_slice(&std::fs::read(truth_path).unwrap()).unwrap();
            let log = truth_path.to_string_lossy().replace(".truth.json", ".log");
            let bytes = std::fs::read(&log).unwrap();
            let t = &transcript::read(&bytes, &log)[0];
            assert!(t.complete, "{log}");
            let r = reconstruct(&t.body);
            cases += 1;
            let executed: Vec<String> = lines(
                r.commands
                    .iter()
                    .filter(|c| !c.abandoned)
                    .map(|c| c.text.clone()),
            );
            let expected: Vec<String> = lines(
                truth["executed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned()),
            );
            let mut pool: HashMap<&str, usize> = HashMap::new();
            for e in &expected {
                *pool.entry(e.as_str()).or_default() += 1;
            }
            let mut hits = 0;
            for o in &executed {
                if let Some(n) = pool.get_mut(o.as_str()).filter(|n| **n > 0) {
                    *n -= 1;
                    hits += 1;
                }
            }
            tp += hits;
            ours_n += executed.len();
            truth_n += expected.len();
            if hits != executed.len() || hits != expected.len() {
                report.push(format!(
                    "{}/{}: ours {executed:?}\n    truth {expected:?}",
                    truth["shell"], truth["case"]
                ));
            }
            for a in truth["abandoned"].as_array().unwrap() {
                if executed.iter().any(|e| e == a.as_str().unwrap()) {
                    violations.push(format!("{log}: abandoned {a} reported as executed"));
                }
            }
            for s in truth["echo_off"].as_array().unwrap() {
                let s = s.as_str().unwrap();
                if r.commands
                    .iter()
                    .any(|c| c.text.contains(s) || c.prompt.contains(s))
                {
                    violations.push(format!("{log}: echo-off input {s} appears"));
                }
            }
        }
    }
    let (precision, recall) = (
        tp as f64 / ours_n.max(1) as f64,
        tp as f64 / truth_n.max(1) as f64,
    );
    eprintln!("{cases} transcripts, {truth_n} true command lines, {ours_n} reconstructed, {tp} exact matches");
    eprintln!("precision {:.4}, recall {:.4}", precision, recall);
    for r in &report {
        eprintln!("  {r}");
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(cases >= 100, "{cases} cases");
    assert!(
        precision >= 0.98 && recall >= 0.98,
        "precision {precision:.4} recall {recall:.4}"
    );
}

/// The flags mean what they say on the real-shell set: abandoned lines, pastes, full-screen
/// programs, continuation lines and edits.
#[test]
fn flags_are_right_on_real_shells() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/cases");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()) {
        for truth_path in std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        {
            let truth: Value =
                serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
            let log = truth_path.to_string_lossy().replace(".truth.json", ".log");
            let r = reconstruct(&transcript::read(&std::fs::read(&log).unwrap(), &log)[0].body);
            let find = |text: &str| {
                r.commands
                    .iter()
                    .find(|c| c.text == text)
                    .unwrap_or_else(|| panic!("{log}: no {text:?} in {:?}", r.commands))
            };
            let shell = truth["shell"].as_str().unwrap();
            match truth["case"].as_str().unwrap() {
                "ctrl_c_abandon" => assert!(find("rm -rf /srv/important").abandoned, "{log}"),
                "alt_screen" => {
                    assert!(find("less /etc/passwd").full_screen, "{log}");
                    assert!(!find("echo back").full_screen, "{log}");
                }
                "multi_line" => assert!(
                    r.commands
                        .iter()
                        .any(|c| c.multi_line && c.text.starts_with("for i in 1 2 3\n")),
                    "{log}"
                ),
                "backspace" => assert!(find("echo fixed").edited, "{log}"),
                "cursor_insert" => assert!(find("echo world ok").edited, "{log}"),
                // readline marks a bracketed paste; zsh and busybox draw it like typing.
                "paste" if shell == "bash" => assert!(find("echo pasted text").pasted, "{log}"),
                "basic" => assert!(
                    r.commands
                        .iter()
                        .all(|c| !c.edited && !c.abandoned && c.confidence >= 0.8),
                    "{log}"
                ),
                _ => continue,
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        6 * 6 + 3,
        "six shell and prompt variants, six cases each, plus bash pastes"
    );
}

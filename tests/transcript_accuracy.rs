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

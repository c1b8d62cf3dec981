//! Precision and recall of the shipped rule pack on the labelled command set
//! (`tests/data/detect/commands.toml`): risky commands must raise their rule at medium or above,
//! routine triage must raise nothing at medium or above. The README's figures come from here
//! (`cargo test --test detect_rules -- --nocapture` prints them).

use execaudit::detect::{rule, RuleSet, Severity, Target};

#[derive(serde::Deserialize)]
struct Labelled {
    risky: Vec<(String, String)>,
    routine: Vec<String>,
}

fn labelled() -> Labelled {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/detect/commands.toml"
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn shipped() -> RuleSet {
    let loaded = rule::load(&[]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    RuleSet::new(loaded.rules).unwrap()
}

/// Rule ids at medium or above that a command raises.
fn alerts(set: &RuleSet, text: &str) -> Vec<String> {
    set.match_text(text, Target::Command)
        .into_iter()
        .map(|(r, _)| &set.rules()[r])
        .filter(|r| r.severity >= Severity::Medium)
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn labelled_set_precision_and_recall() {
    let set = shipped();
    let data = labelled();
    assert!(
        data.risky.len() >= 60 && data.routine.len() >= 100,
        "{} risky, {} routine",
        data.risky.len(),
        data.routine.len()
    );
    let known: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    let mut problems = Vec::new();
    let (mut tp, mut wrong_rule) = (0usize, 0usize);
    for (want, cmd) in &data.risky {
        assert!(
            known.contains(&want.as_str()),
            "unknown rule id {want} in the labelled set"
        );
        let got = alerts(&set, cmd);
        if got.is_empty() {
            problems.push(format!("missed ({want}): {cmd}"));
        } else {
            tp += 1;
            if !got.contains(want) {
                wrong_rule += 1;
                problems.push(format!("raised {got:?}, expected {want}: {cmd}"));
            }
        }
    }
    let mut fp = 0usize;
    for cmd in &data.routine {
        let got = alerts(&set, cmd);
        if !got.is_empty() {
            fp += 1;
            problems.push(format!("false alert {got:?}: {cmd}"));
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / data.risky.len() as f64;
    let covered: std::collections::BTreeSet<&str> =
        data.risky.iter().map(|(r, _)| r.as_str()).collect();
    println!(
        "labelled set: {} risky, {} routine; alerts at medium+: {tp} true, {fp} false, {} missed; \
         precision {:.1}%, recall {:.1}%; {} of {} rules exercised; {wrong_rule} raised another rule",
        data.risky.len(),
        data.routine.len(),
        data.risky.len() - tp,
        precision * 100.0,
        recall * 100.0,
        covered.len(),
        set.rules().len(),
    );
    for p in &problems {
        println!("  {p}");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

//! `findings` (detection over the store) and `rules lint|test|list`.
//!
//! Rules and policy are loaded and validated before any data is read, so a typo in a rule or
//! policy file stops the run at once with the file, line and field.

use std::io::{self, Write};

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::cli::{DetectArgs, FindingsArgs, FindingsFormat, RulesArgs, RulesCommand};
use crate::config::{self, Filter, Pattern};
use crate::dataset::Damage;
use crate::detect::{self, Detector, Options, Severity};
use crate::model::{Finding, Table};
use crate::report::{self, Format, Style};

impl DetectArgs {
    /// The detection options these flags ask for.
    pub fn options(&self) -> Options {
        Options {
            policy: self.policy.clone(),
            rules: self.rules.clone(),
            skip_bad_rules: self.skip_bad_rules,
        }
    }
}

/// Loads rules and policy, printing skipped rule files as warnings.
pub fn load_detector(args: &DetectArgs) -> anyhow::Result<Detector> {
    let (detector, skipped) = Detector::load(&args.options())
        .map_err(|e| anyhow::anyhow!("bad rule or policy file (nothing was read):\n{e}"))?;
    for e in &skipped {
        eprintln!("execaudit: warning: rule skipped (--skip-bad-rules): {e}");
    }
    if !skipped.is_empty() {
        eprintln!("execaudit: warning: {} rule file(s) skipped", skipped.len());
    }
    Ok(detector)
}

/// Whether a finding passes the query filters (who, where, when) and the id glob.
pub fn passes(f: &Finding, filter: &Filter, rule: Option<&Pattern>) -> bool {
    let any = |p: &Option<Pattern>, vals: &[&Option<String>]| {
        p.as_ref().is_none_or(|p| {
            vals.iter()
                .any(|v| v.as_deref().is_some_and(|v| p.matches(v)))
        })
    };
    let (account, region) = (f.account.as_deref(), f.region.as_deref());
    let resource = |p: &Option<Pattern>, kind: &str, v: &Option<String>| {
        p.as_ref()
            .is_none_or(|p| p.matches_resource(kind, v.as_deref(), account, region))
    };
    filter.time_matches(f.time)
        && filter
            .principal
            .as_ref()
            .is_none_or(|p| p.matches_who(f.principal.as_deref(), None, f.role_arn.as_deref()))
        && resource(&filter.cluster, "cluster", &f.cluster)
        && resource(&filter.task, "task", &f.task_id)
        && any(&filter.container, &[&f.container])
        && rule.is_none_or(|p| f.rule_id.as_deref().is_some_and(|id| p.matches(id)))
}

/// Findings (a frame) that pass the query filters, as a frame.
pub fn filtered_frame(
    df: polars::prelude::DataFrame,
    filter: &Filter,
) -> anyhow::Result<polars::prelude::DataFrame> {
    let rows: Vec<Finding> = Finding::from_frame(&df)?
        .into_iter()
        .filter(|f| passes(f, filter, None))
        .collect();
    Ok(Finding::to_frame(&rows)?)
}

/// The findings at or above `min`.
pub fn at_least(findings: Vec<Finding>, min: Severity) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| severity(f) >= min)
        .collect()
}

fn severity(f: &Finding) -> Severity {
    f.severity
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Severity::Info)
}

/// `execaudit findings`.
pub fn findings(a: FindingsArgs) -> anyhow::Result<i32> {
    let filter = Filter::from_args(&a.filter, config::now())?;
    let detector = load_detector(&a.detect)?;
    // A --rule no check or rule answers to is a mistake, not "no findings" (with --fail-on it
    // passed a gate whatever the store held).
    if let Some(p) = a.rule.as_deref().map(Pattern::new) {
        if !detector.catalog().iter().any(|r| p.matches(&r.id)) {
            anyhow::bail!(
                "--rule {}: no check or rule has a matching id (`execaudit rules list` shows them; checks of the break-glass policy need --policy)",
                a.rule.as_deref().unwrap_or_default()
            );
        }
    }
    let data = super::open_store(a.store.store.clone())?;
    let mut damage = Damage::default();
    // Detection needs the whole history (first use, logging configuration, probing), so every
    // day is read and the time filter applies to the findings.
    let all = Finding::from_frame(&data.findings(&detector, &mut damage)?)?;
    let rule = a.rule.as_deref().map(Pattern::new);
    let shown: Vec<Finding> = at_least(all, a.min_severity)
        .into_iter()
        .filter(|f| passes(f, &filter, rule.as_ref()))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let format = match a.format {
        FindingsFormat::Sarif => None,
        FindingsFormat::Table => Some(Format::Table),
        FindingsFormat::Json => Some(Format::Json),
        FindingsFormat::Jsonl => Some(Format::Jsonl),
        FindingsFormat::Csv => Some(Format::Csv),
    };
    match format {
        Some(format) => report::render(
            &mut out,
            &Finding::to_frame(&shown)?,
            Style {
                format,
                show_secrets: a.show_secrets,
            },
            detect::FINDING_COLUMNS,
        )?,
        None => report::sarif::render(&mut out, &shown, &detector.catalog(), a.show_secrets)?,
    }
    out.flush()?;
    let mut counts = [0usize; 5];
    for f in &shown {
        counts[severity(f) as usize] += 1;
    }
    let by: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .zip(counts.iter().rev())
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    eprintln!(
        "{} findings{}",
        shown.len(),
        if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        }
    );
    let failed = a
        .fail_on
        .is_some_and(|t| shown.iter().any(|f| severity(f) >= t));
    // A damaged store part is an error (named by `finish`) even when findings were shown.
    Ok(match (super::finish(&damage), failed) {
        (EXIT_ERROR, _) => EXIT_ERROR,
        (_, true) => EXIT_FINDINGS,
        _ => EXIT_OK,
    })
}

/// `execaudit rules lint|test|list`.
pub fn rules(cmd: RulesCommand) -> anyhow::Result<i32> {
    let (which, args): (&str, RulesArgs) = match cmd {
        RulesCommand::Lint(a) => ("lint", a),
        RulesCommand::Test(a) => ("test", a),
        RulesCommand::List(a) => ("list", a),
    };
    let dirs: Vec<&std::path::Path> = args.rules.iter().map(|p| p.as_path()).collect();
    let loaded = detect::rule::load(&dirs);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for e in &loaded.errors {
        writeln!(out, "{e}")?;
    }
    if !loaded.errors.is_empty() {
        out.flush()?;
        eprintln!(
            "{} rules valid, {} problem(s) in rule files",
            loaded.rules.len(),
            loaded.errors.len()
        );
        return Ok(EXIT_ERROR);
    }
    let set = detect::RuleSet::new(loaded.rules).map_err(|e| anyhow::anyhow!("{e}"))?;
    match which {
        "lint" => {
            out.flush()?;
            eprintln!(
                "{} rules valid, ids unique, {} patterns compiled ({} without a literal run on every command)",
                set.rules().len(),
                set.rules().iter().map(|r| r.any.len() + r.all.len() + r.not.len()).sum::<usize>(),
                set.unfiltered_patterns()
            );
            Ok(EXIT_OK)
        }
        "test" => {
            let failures = set.test_examples();
            for f in &failures {
                writeln!(out, "{f}")?;
            }
            out.flush()?;
            let examples: usize = set
                .rules()
                .iter()
                .map(|r| r.examples_match.len() + r.examples_no_match.len())
                .sum();
            eprintln!(
                "{} rules, {examples} examples, {} failed",
                set.rules().len(),
                failures.len()
            );
            Ok(if failures.is_empty() {
                EXIT_OK
            } else {
                EXIT_FINDINGS
            })
        }
        _ => {
            let policy = match &args.policy {
                Some(p) => Some(detect::Policy::load(p).map_err(|e| anyhow::anyhow!("{e}"))?),
                None => None,
            };
            let detector = Detector::new(set, policy).map_err(|e| anyhow::anyhow!("{e}"))?;
            let catalog = detector.catalog();
            let col = |name: &str, f: &dyn Fn(&detect::RuleInfo) -> String| {
                polars::prelude::Column::new(
                    name.into(),
                    catalog.iter().map(f).collect::<Vec<String>>(),
                )
            };
            let df = polars::prelude::DataFrame::new(
                catalog.len(),
                vec![
                    col("id", &|r| r.id.clone()),
                    col("kind", &|r| r.kind.to_owned()),
                    col("severity", &|r| r.severity.to_string()),
                    col("tags", &|r| r.tags.join(",")),
                    col("title", &|r| r.title.clone()),
                ],
            )?;
            let style = Style {
                format: Format::Table,
                show_secrets: true,
            };
            report::render(&mut out, &df, style, &[])?;
            out.flush()?;
            Ok(EXIT_OK)
        }
    }
}

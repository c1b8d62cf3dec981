//! The rule engine: every rule compiled once into one matcher, shared read-only by threads.
//!
//! Each pattern's required literals (see [`super::literals`]) go into one Aho-Corasick
//! automaton. A command is scanned once by it; only the patterns whose literals occurred (and
//! the few with no provable literal) are run, and only for the rules those patterns belong to.
//! A routine command costs one automaton pass whatever the size of the rule pack. Results come
//! back in input order, whatever the number of threads.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::prelude::*;
use regex::bytes::Regex;

use super::literals;
use super::rule::Rule;

/// Which text is being matched: rules say which they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Commands reconstructed from transcripts.
    Command,
    /// `ExecuteCommand` command strings.
    ExecuteCommand,
}

/// One rule matching one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the text in the slice given.
    pub row: usize,
    /// Index of the rule in [`RuleSet::rules`].
    pub rule: usize,
    /// Byte range of the matched text (the evidence) within that text.
    pub evidence: Range<usize>,
}

#[derive(Debug)]
struct Compiled {
    regex: Regex,
}

#[derive(Debug)]
struct CompiledRule {
    any: Vec<usize>,
    all: Vec<usize>,
    not: Vec<usize>,
}

/// The compiled rule pack.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    compiled: Vec<CompiledRule>,
    patterns: Vec<Compiled>,
    /// Positive patterns' rules, by pattern index.
    pattern_rule: Vec<usize>,
    prefilter: Option<AhoCorasick>,
    /// Pattern indices each prefilter literal stands for.
    literal_patterns: Vec<Vec<usize>>,
    /// Positive patterns with no provable literal: run on every text.
    always: Vec<usize>,
}

/// Errors building a rule set (a pattern that compiled alone can still exceed a limit).
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct BuildError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn parser() -> regex_syntax::Parser {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(true)
        .build()
}

impl RuleSet {
    /// Compiles rules (already validated) into one matcher.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, BuildError> {
        let mut patterns = Vec::new();
        let mut pattern_rule = Vec::new();
        let mut compiled = Vec::new();
        let mut literal_ids: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut literals_list: Vec<Vec<u8>> = Vec::new();
        let mut literal_patterns: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            let mut add =
                |p: &super::rule::PatternSource, positive: bool| -> Result<usize, BuildError> {
                    let err = |message: String| BuildError {
                        file: rule.file.clone(),
                        line: p.line,
                        message,
                    };
                    let regex = p.regex.0.clone();
                    let idx = patterns.len();
                    patterns.push(Compiled { regex });
                    pattern_rule.push(ri);
                    if positive {
                        let hir = parser()
                            .parse(&p.expanded)
                            .map_err(|e| err(e.to_string()))?;
                        match literals::required(&hir) {
                            Some(lits) => {
                                for lit in lits {
                                    let id = *literal_ids.entry(lit.clone()).or_insert_with(|| {
                                        literals_list.push(lit);
                                        literal_patterns.push(Vec::new());
                                        literals_list.len() - 1
                                    });
                                    literal_patterns[id].push(idx);
                                }
                            }
                            None => always.push(idx),
                        }
                    }
                    Ok(idx)
                };
            let any = rule
                .any
                .iter()
                .map(|p| add(p, true))
                .collect::<Result<_, _>>()?;
            let all = rule
                .all
                .iter()
                .map(|p| add(p, true))
                .collect::<Result<_, _>>()?;
            let not = rule
                .not
                .iter()
                .map(|p| add(p, false))
                .collect::<Result<_, _>>()?;
            compiled.push(CompiledRule { any, all, not });
        }
        let prefilter = if literals_list.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&literals_list)
                    .map_err(|e| BuildError {
                        file: "(rule pack)".into(),
                        line: 0,
                        message: format!("prefilter: {e}"),
                    })?,
            )
        };
        Ok(RuleSet {
            rules,
            compiled,
            patterns,
            pattern_rule,
            prefilter,
            literal_patterns,
            always,
        })
    }

    /// The rules, in load order (a [`Match::rule`] indexes this).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Patterns that run on every text because no literal could be proven for them.
    pub fn unfiltered_patterns(&self) -> usize {
        self.always.len()
    }

    /// Matches every rule that reads reconstructed commands against `commands`.
    pub fn match_commands(&self, commands: &[&str]) -> Vec<Match> {
        self.match_texts(commands, Target::Command)
    }

    /// Matches every rule reading `target` against `texts`, in parallel; matches are ordered by
    /// row, then by rule.
    pub fn match_texts(&self, texts: &[&str], target: Target) -> Vec<Match> {
        const CHUNK: usize = 2048;
        texts
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut scratch = Scratch::new(self.patterns.len(), self.rules.len());
                let mut out = Vec::new();
                for (i, t) in chunk.iter().enumerate() {
                    self.match_one(t.as_bytes(), target, c * CHUNK + i, &mut scratch, &mut out);
                }
                out
            })
            .collect::<Vec<_>>()
            .concat()
    }

    /// The rules matching one text (no threads), with their evidence ranges.
    pub fn match_text(&self, text: &str, target: Target) -> Vec<(usize, Range<usize>)> {
        let mut scratch = Scratch::new(self.patterns.len(), self.rules.len());
        let mut out = Vec::new();
        self.match_one(text.as_bytes(), target, 0, &mut scratch, &mut out);
        out.into_iter().map(|m| (m.rule, m.evidence)).collect()
    }

    fn reads(&self, rule: usize, target: Target) -> bool {
        let r = &self.rules[rule];
        match target {
            Target::Command => r.on_commands,
            Target::ExecuteCommand => r.on_execute_command,
        }
    }

    fn match_one(
        &self,
        text: &[u8],
        target: Target,
        row: usize,
        scratch: &mut Scratch,
        out: &mut Vec<Match>,
    ) {
        scratch.clear();
        if let Some(ac) = &self.prefilter {
            for m in ac.find_overlapping_iter(text) {
                for &p in &self.literal_patterns[m.pattern().as_usize()] {
                    scratch.candidate(p, self.pattern_rule[p]);
                }
            }
        }
        for &p in &self.always {
            scratch.candidate(p, self.pattern_rule[p]);
        }
        if scratch.rules.is_empty() {
            return;
        }
        scratch.rules.sort_unstable();
        for &ri in &scratch.rules {
            if !self.reads(ri, target) {
                continue;
            }
            if let Some(evidence) = self.rule_matches(ri, text, &scratch.pattern_seen) {
                out.push(Match {
                    row,
                    rule: ri,
                    evidence,
                });
            }
        }
    }

    /// Whether rule `ri` matches; its evidence is the leftmost `any` match (else the first `all`).
    fn rule_matches(&self, ri: usize, text: &[u8], candidate: &[bool]) -> Option<Range<usize>> {
        let c = &self.compiled[ri];
        let mut evidence: Option<Range<usize>> = None;
        for &p in &c.all {
            if !candidate[p] {
                return None;
            }
            let m = self.patterns[p].regex.find(text)?;
            evidence.get_or_insert(m.range());
        }
        if !c.any.is_empty() {
            let leftmost = c
                .any
                .iter()
                .filter(|&&p| candidate[p])
                .filter_map(|&p| self.patterns[p].regex.find(text))
                .min_by_key(|m| (m.start(), usize::MAX - m.end()))?;
            evidence = Some(leftmost.range());
        }
        if c.not.iter().any(|&p| self.patterns[p].regex.is_match(text)) {
            return None;
        }
        evidence
    }
}

/// Per-thread candidate bookkeeping, reused across texts.
struct Scratch {
    pattern_seen: Vec<bool>,
    patterns: Vec<usize>,
    rule_seen: Vec<bool>,
    rules: Vec<usize>,
}

impl Scratch {
    fn new(patterns: usize, rules: usize) -> Scratch {
        Scratch {
            pattern_seen: vec![false; patterns],
            patterns: Vec::new(),
            rule_seen: vec![false; rules],
            rules: Vec::new(),
        }
    }

    fn candidate(&mut self, pattern: usize, rule: usize) {
        if !self.pattern_seen[pattern] {
            self.pattern_seen[pattern] = true;
            self.patterns.push(pattern);
        }
        if !self.rule_seen[rule] {
            self.rule_seen[rule] = true;
            self.rules.push(rule);
        }
    }

    fn clear(&mut self) {
        for p in self.patterns.drain(..) {
            self.pattern_seen[p] = false;
        }
        for r in self.rules.drain(..) {
            self.rule_seen[r] = false;
        }
    }
}

/// A failed rule example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule's id.
    pub rule: String,
    /// The rule's file.
    pub file: String,
    /// The example text.
    pub example: String,
    /// True when it should have matched.
    pub should_match: bool,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: rule {}: example {:?} {}",
            self.file,
            self.rule,
            self.example,
            if self.should_match {
                "should match but does not"
            } else {
                "should not match but does"
            }
        )
    }
}

impl RuleSet {
    /// Runs every rule's own examples through the compiled engine (both targets the rule reads).
    pub fn test_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            let targets: Vec<Target> = [
                (rule.on_commands, Target::Command),
                (rule.on_execute_command, Target::ExecuteCommand),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, t)| t)
            .collect();
            let hits = |text: &str| {
                targets
                    .iter()
                    .any(|&t| self.match_text(text, t).iter().any(|(r, _)| *r == ri))
            };
            for (list, should) in [
                (&rule.examples_match, true),
                (&rule.examples_no_match, false),
            ] {
                for ex in list.iter() {
                    if hits(ex) != should {
                        failures.push(ExampleFailure {
                            rule: rule.id.clone(),
                            file: rule.file.clone(),
                            example: ex.clone(),
                            should_match: should,
                        });
                    }
                }
            }
        }
        failures
    }

    /// The same decision as [`RuleSet::match_text`] without the prefilter: every pattern run.
    /// For tests that check the prefilter never loses a match.
    pub fn match_text_unfiltered(&self, text: &str, target: Target) -> Vec<usize> {
        let all = vec![true; self.patterns.len()];
        (0..self.rules.len())
            .filter(|&ri| self.reads(ri, target))
            .filter(|&ri| self.rule_matches(ri, text.as_bytes(), &all).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rule;

    fn shipped() -> RuleSet {
        let loaded = rule::load(&[]);
        assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
        RuleSet::new(loaded.rules).unwrap()
    }

    #[test]
    fn every_shipped_rule_example_behaves() {
        let set = shipped();
        let failures: Vec<String> = set
            .test_examples()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn the_prefilter_never_loses_a_match() {
        let set = shipped();
        let mut texts: Vec<String> = set
            .rules()
            .iter()
            .flat_map(|r| r.examples_match.iter().chain(&r.examples_no_match).cloned())
            .collect();
        // Case changes and embedding in longer lines must not matter either.
        let extra: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                [
                    t.to_uppercase(),
                    format!("cd /app && {t}"),
                    format!("echo x; {t} # done"),
                ]
            })
            .collect();
        texts.extend(extra);
        for t in &texts {
            for target in [Target::Command, Target::ExecuteCommand] {
                let fast: Vec<usize> = set
                    .match_text(t, target)
                    .into_iter()
                    .map(|(r, _)| r)
                    .collect();
                assert_eq!(fast, set.match_text_unfiltered(t, target), "{t:?}");
            }
        }
    }

    #[test]
    fn one_and_many_threads_give_the_same_matches() {
        let set = shipped();
        let texts: Vec<String> = (0..20_000)
            .map(|i| {
                let r = &set.rules()[i % set.rules().len()];
                let ex = &r.examples_match[i % r.examples_match.len()];
                if i % 3 == 0 {
                    format!("ls -la /tmp/{i}")
                } else {
                    ex.clone()
                }
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| set.match_texts(&refs, Target::Command))
        };
        let one = run(1);
        assert!(one.len() > 10_000);
        assert_eq!(one, run(4));
        assert!(one
            .windows(2)
            .all(|w| (w[0].row, w[0].rule) < (w[1].row, w[1].rule)));
    }
}

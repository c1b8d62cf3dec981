//! Required literals of a pattern: strings one of which every match must contain.
//!
//! The rule engine's prefilter. One Aho-Corasick pass over a command finds which of these
//! literals occur, and only the patterns whose literals occurred are run, so a routine command
//! (`ls -la`) costs one automaton pass whatever the size of the rule pack. The extraction is
//! conservative: a pattern for which no such set can be proven gets `None` and is run on every
//! command. Literals are lowercase ASCII-folded, matching the prefilter's case-insensitive
//! search (patterns are case-insensitive by default).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Largest set kept while combining alternatives (beyond it the node counts as unknown).
const MAX_SET: usize = 64;
/// Longest literal kept (longer ones are cut: a prefix of a required literal is required too).
const MAX_LEN: usize = 48;

/// What a sub-pattern is known to match.
#[derive(Debug, Clone, Default)]
struct Facts {
    /// Every match is exactly one of these strings.
    exact: Option<Vec<Vec<u8>>>,
    /// Every match contains one of these (none empty).
    required: Option<Vec<Vec<u8>>>,
}

/// The required literals of a parsed pattern, or `None` when the pattern must always run.
pub fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let f = facts(hir);
    let mut best = pick(vec![f.required, f.exact.filter(|e| usable(e))])?;
    best.sort();
    best.dedup();
    Some(best)
}

fn usable(set: &[Vec<u8>]) -> bool {
    !set.is_empty() && set.iter().all(|s| !s.is_empty())
}

/// The best of several candidate sets: the longest shortest literal, then the fewest literals.
fn pick(candidates: Vec<Option<Vec<Vec<u8>>>>) -> Option<Vec<Vec<u8>>> {
    candidates
        .into_iter()
        .flatten()
        .filter(|s| usable(s))
        .max_by_key(|s| {
            // Long literals are rare in commands; letters are rarer than punctuation.
            let shortest = s.iter().map(Vec::len).min().unwrap_or(0);
            let letters = s
                .iter()
                .map(|l| l.iter().filter(|b| b.is_ascii_alphanumeric()).count())
                .min()
                .unwrap_or(0);
            (shortest.min(8), letters.min(8), usize::MAX - s.len())
        })
}

fn fold(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

fn facts(hir: &Hir) -> Facts {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => exact(vec![Vec::new()]),
        HirKind::Literal(lit) => exact(vec![lit.0.iter().map(|&b| fold(b)).collect()]),
        HirKind::Class(class) => class_facts(class),
        HirKind::Capture(cap) => facts(&cap.sub),
        HirKind::Repetition(rep) => {
            let sub = facts(&rep.sub);
            match (rep.min, rep.max) {
                (0, Some(0)) => exact(vec![Vec::new()]),
                (0, Some(1)) => Facts {
                    exact: sub.exact.map(|mut e| {
                        e.push(Vec::new());
                        e
                    }),
                    required: None,
                },
                (0, _) => Facts::default(),
                (1, Some(1)) => sub,
                _ => Facts {
                    exact: None,
                    required: pick(vec![sub.required, sub.exact]),
                },
            }
        }
        HirKind::Concat(subs) => concat(subs),
        HirKind::Alternation(subs) => {
            let all: Vec<Facts> = subs.iter().map(facts).collect();
            let exact = all
                .iter()
                .map(|f| f.exact.clone())
                .collect::<Option<Vec<_>>>()
                .map(|sets| sets.concat())
                .filter(|s| s.len() <= MAX_SET);
            let required = all
                .into_iter()
                .map(|f| pick(vec![f.required, f.exact]))
                .collect::<Option<Vec<_>>>()
                .map(|sets| sets.concat())
                .filter(|s| s.len() <= MAX_SET);
            Facts { exact, required }
        }
    }
}

fn exact(set: Vec<Vec<u8>>) -> Facts {
    Facts {
        exact: Some(set),
        required: None,
    }
}

fn class_facts(class: &Class) -> Facts {
    let mut bytes: Vec<u8> = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.iter() {
                if usize::from(r.end() - r.start()) > 8 {
                    return Facts::default();
                }
                bytes.extend((r.start()..=r.end()).map(fold));
            }
        }
        Class::Unicode(c) => {
            for r in c.iter() {
                if !r.end().is_ascii() || (r.end() as u32 - r.start() as u32) > 8 {
                    return Facts::default();
                }
                bytes.extend((r.start() as u8..=r.end() as u8).map(fold));
            }
        }
    }
    bytes.sort_unstable();
    bytes.dedup();
    if bytes.len() > 4 {
        return Facts::default();
    }
    exact(bytes.into_iter().map(|b| vec![b]).collect())
}

/// A concatenation: runs of consecutive exact parts multiply out into literals.
fn concat(subs: &[Hir]) -> Facts {
    let mut candidates: Vec<Option<Vec<Vec<u8>>>> = Vec::new();
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    let mut all_exact = true;
    for sub in subs {
        let f = facts(sub);
        match f.exact {
            Some(e) if run.len() * e.len() <= MAX_SET => {
                run = run
                    .iter()
                    .flat_map(|a| {
                        e.iter().map(move |b| {
                            let mut s = a.clone();
                            s.extend_from_slice(b);
                            s.truncate(MAX_LEN);
                            s
                        })
                    })
                    .collect();
            }
            other => {
                all_exact = false;
                candidates.push(Some(std::mem::replace(&mut run, vec![Vec::new()])));
                candidates.push(f.required);
                // An exact set too large to multiply still requires one of its members.
                candidates.push(other);
            }
        }
    }
    if all_exact {
        return Facts {
            exact: Some(run),
            required: None,
        };
    }
    candidates.push(Some(run));
    Facts {
        exact: None,
        required: pick(candidates),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .case_insensitive(true)
            .build()
            .parse(pattern)
            .unwrap();
        required(&hir).map(|v| {
            v.into_iter()
                .map(|s| String::from_utf8(s).unwrap())
                .collect()
        })
    }

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn literals_are_found_through_classes_groups_and_alternations() {
        assert_eq!(lits(r"/dev/tcp/"), strs(&["/dev/tcp/"]));
        assert_eq!(lits(r"(?:^|\s)NC\s+-e\b"), strs(&["nc"]));
        assert_eq!(lits(r"\b(?:curl|wget)\b.*\|\s*sh"), strs(&["curl", "wget"]));
        assert_eq!(lits(r"169\.254\.170\.2"), strs(&["169.254.170.2"]));
        assert_eq!(lits(r"(?:ba)?sh\b"), strs(&["bash", "sh"]));
        assert_eq!(lits(r"history\s+-c"), strs(&["history"]));
        assert_eq!(
            lits(r"DROP\s+(TABLE|DATABASE)"),
            strs(&["database", "table"])
        );
    }

    #[test]
    fn patterns_without_a_required_literal_always_run() {
        assert_eq!(lits(r".*"), None);
        assert_eq!(lits(r"\w+\s*\S+"), None);
        assert_eq!(lits(r"(?:curl)?\s+x?"), None);
        assert_eq!(lits(r"a|\w+"), None);
    }
}

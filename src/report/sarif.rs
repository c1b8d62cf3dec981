//! SARIF 2.1.0 output for findings: what code-scanning dashboards and CI systems read.
//!
//! One run; the driver lists every rule and check that can fire (id, title, description,
//! default level, ATT&CK tags, a `security-severity` score), each result points at its rule,
//! names the session (or event) as a logical location, carries every finding column as
//! properties, and has a stable fingerprint so re-runs deduplicate. Text is redacted exactly
//! as in the other formats.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::detect::{RuleInfo, Severity};
use crate::model::{Finding, Table};
use crate::redact::{fingerprint, redact};

/// The official schema this output follows.
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` scale (0-10).
fn score(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule(r: &RuleInfo) -> Value {
    let mut tags = r.tags.clone();
    tags.push("security".into());
    tags.push(r.kind.into());
    let mut props = json!({"tags": tags, "security-severity": score(r.severity), "severity": r.severity.as_str()});
    if let Some(f) = &r.file {
        props["file"] = f.clone().into();
    }
    json!({
        "id": r.id,
        "name": r.id,
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.description},
        "help": {"text": r.description},
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": props,
    })
}

/// Writes findings as one SARIF log.
pub fn render(
    out: &mut dyn Write,
    findings: &[Finding],
    catalog: &[RuleInfo],
    show_secrets: bool,
) -> io::Result<()> {
    let names: Vec<&str> = Finding::columns().iter().map(|c| c.name).collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            // Every string is redacted, as in the other formats.
            let values = f.json_values().into_iter().map(|v| match v {
                Value::String(t) if !show_secrets => Value::String(redact(&t).into_owned()),
                v => v,
            });
            let mut row: Map<String, Value> =
                names.iter().map(|n| (*n).to_owned()).zip(values).collect();
            // In a SARIF property bag `tags` is reserved: an array of strings.
            let tags: Vec<Value> = row
                .get("tags")
                .and_then(Value::as_str)
                .map(|t| {
                    t.split(',')
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::from(t.to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            row.insert("tags".into(), Value::Array(tags));
            let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let id = text("rule_id");
            let sev: Severity = text("severity").parse().unwrap_or(Severity::Info);
            let title = text("title");
            let evidence = text("evidence");
            let message = if evidence.is_empty() {
                title.clone()
            } else {
                format!("{title}: {evidence}")
            };
            let place = [
                text("account"),
                text("cluster"),
                text("task_id"),
                text("container"),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
            let (name, kind) = match (text("session_id"), text("event_id")) {
                (s, _) if !s.is_empty() => (s, "session"),
                (_, e) if !e.is_empty() => (e, "event"),
                _ => ("unknown".to_owned(), "event"),
            };
            let mut location = json!({"name": name, "kind": kind});
            if !place.is_empty() {
                location["fullyQualifiedName"] = format!("{place}/{name}").into();
            }
            let key = format!(
                "{id}|{}|{}|{}|{}",
                text("session_id"),
                row.get("seq").map(Value::to_string).unwrap_or_default(),
                text("event_id"),
                evidence
            );
            let mut result = json!({
                "ruleId": id,
                "level": level(sev),
                "message": {"text": message},
                "locations": [{"logicalLocations": [location]}],
                "partialFingerprints": {"execauditFinding/v1": fingerprint(&key)},
                "properties": Value::Object(row.clone()),
            });
            if let Some(i) = catalog.iter().position(|r| r.id == id) {
                result["ruleIndex"] = i.into();
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "execaudit",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": catalog.iter().map(rule).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    let text = serde_json::to_string_pretty(&log).map_err(io::Error::other)?;
    writeln!(out, "{}", escape_controls(&text))
}

/// serde_json leaves DEL and C1 control characters raw; they only occur inside JSON strings,
/// where `\u00XX` is the same text, and raw they can drive a terminal that shows the file.
fn escape_controls(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return json.into();
    }
    json.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    #[test]
    fn results_point_at_their_rules_and_are_redacted() {
        let catalog = vec![RuleInfo {
            id: "r1".into(),
            title: "T".into(),
            severity: Severity::High,
            description: "D".into(),
            tags: vec!["T1059".into()],
            kind: "rule",
            file: None,
        }];
        let f = Finding {
            rule_id: Some("r1".into()),
            severity: Some("high".into()),
            title: Some("T".into()),
            session_id: Some("ecs-execute-command-x".into()),
            seq: Some(2),
            time: Timestamp(0),
            evidence: Some("mysql -pHunter2Secret".into()),
            ..Finding::default()
        };
        let mut out = Vec::new();
        render(&mut out, &[f], &catalog, false).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let r = &v["runs"][0]["results"][0];
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        assert!(!String::from_utf8(out.clone())
            .unwrap()
            .contains("Hunter2Secret"));
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "8.0"
        );
    }

    #[test]
    fn c1_controls_are_escaped() {
        assert_eq!(
            escape_controls("{\"a\":\"x\u{9b}2J\"}"),
            "{\"a\":\"x\\u009b2J\"}"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }
}

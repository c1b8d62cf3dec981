//! Checks over control-plane events: exec enabled on services and tasks, debug tasks kept
//! alive, cluster logging switched off or weakened, SSM sessions straight to containers, and
//! tampering with the exec-logging destinations.

use std::sync::LazyLock;

use regex::Regex;

use super::on_control;
use super::{
    ACCESS_CHANGED, DEBUG_TASK, ENABLED_ON_SERVICE, ENABLED_ON_TASK, ENCRYPTION_OFF, KEY_DISABLED,
    KMS_KEY_REMOVED, LOGGING_DISABLED, LOG_DELETED, RETENTION_CUT, SSM_TO_ECS, TRAIL_STOPPED,
};
use crate::detect::destinations::{Change, ClusterKey, Destinations};
use crate::model::{ControlEvent, Finding};

/// A container command override that keeps a task alive for someone to exec into: a sleep
/// (`sleep 3600`, `sleep infinity`, a `while true` loop), `tail -f /dev/null`, or a bare shell.
static DEBUG_OVERRIDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        \bsleep\s+(?:\d|infinity|inf\b|\$)
        | \bwhile\s+(?:true|:|\[\s*1)
        | \bfor\s*\(\(\s*;\s*;\s*\)\)
        | \btail\s+(?:-\S+\s+)*-f\s+/dev/null
        | (?:^|;\s)[\w.-]+:\s+(?:\S*/)?(?:ba|z|a|da|k)?sh(?:\s+-[il]+)?\s*(?:;|$)
        | \bcat\s*(?:;|$)
        "#,
    )
    .expect("debug override pattern compiles")
});

/// Findings for every control event.
pub fn control(d: &Destinations, control: &[ControlEvent], out: &mut Vec<Finding>) {
    for e in control {
        match e.kind.as_deref() {
            Some("exec_enablement") => enablement(e, out),
            Some("exec_logging") => logging(d, e, out),
            Some("ssm_session") => ssm(e, out),
            Some("tampering") => tampering(d, e, out),
            _ => {}
        }
    }
}

fn enablement(e: &ControlEvent, out: &mut Vec<Finding>) {
    if e.enable_execute_command != Some(true) {
        return;
    }
    let name = e.event_name.as_deref().unwrap_or("");
    match name {
        "CreateService" | "UpdateService" => out.push(on_control(
            &ENABLED_ON_SERVICE,
            e,
            format!(
                "{name} set enableExecuteCommand on service {} in {}",
                e.service.as_deref().unwrap_or("?"),
                e.cluster.as_deref().unwrap_or("?")
            ),
        )),
        _ => {
            let overrides = e.command_overrides.as_deref().unwrap_or("");
            match DEBUG_OVERRIDE.find(overrides) {
                Some(_) => {
                    let mut f = on_control(
                        &DEBUG_TASK,
                        e,
                        format!("{name} with exec enabled and command override {overrides}"),
                    );
                    f.command = Some(overrides.to_owned());
                    out.push(f);
                }
                None => out.push(on_control(
                    &ENABLED_ON_TASK,
                    e,
                    format!(
                        "{name} with exec enabled in {}{}",
                        e.cluster.as_deref().unwrap_or("?"),
                        if overrides.is_empty() {
                            String::new()
                        } else {
                            format!(", override {overrides}")
                        }
                    ),
                )),
            }
        }
    }
}

fn logging(d: &Destinations, e: &ControlEvent, out: &mut Vec<Finding>) {
    let cluster = e.cluster.as_deref().unwrap_or("?");
    let name = e.event_name.as_deref().unwrap_or("");
    if e.exec_logging
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("NONE"))
    {
        out.push(on_control(
            &LOGGING_DISABLED,
            e,
            format!("{name} set exec logging of {cluster} to NONE"),
        ));
    }
    let key = ClusterKey::new(e.account.as_deref(), e.region.as_deref(), cluster);
    let Some(prev) = d.previous(&key, e.event_id.as_deref()) else {
        return;
    };
    let mut off = Vec::new();
    if prev.cw_encryption == Some(true)
        && e.exec_cw_encryption != Some(true)
        && e.exec_log_group.is_some()
    {
        off.push("cloudWatchEncryptionEnabled");
    }
    if prev.s3_encryption == Some(true)
        && e.exec_s3_encryption != Some(true)
        && e.exec_s3_bucket.is_some()
    {
        off.push("s3EncryptionEnabled");
    }
    if !off.is_empty() {
        out.push(on_control(
            &ENCRYPTION_OFF,
            e,
            format!(
                "{name} of {cluster} turned off {} (was on since {})",
                off.join(" and "),
                prev.time.to_rfc3339()
            ),
        ));
    }
    if let (Some(k), None) = (&prev.kms_key, &e.exec_kms_key) {
        out.push(on_control(
            &KMS_KEY_REMOVED,
            e,
            format!(
                "{name} of {cluster} removed kmsKeyId {k} (set {})",
                prev.time.to_rfc3339()
            ),
        ));
    }
}

fn ssm(e: &ControlEvent, out: &mut Vec<Finding>) {
    if e.event_name.as_deref() != Some("StartSession") {
        return;
    }
    let Some(target) = e.ssm_target.as_deref().filter(|t| t.starts_with("ecs:")) else {
        return;
    };
    // ECS itself starts the SSM session behind ExecuteCommand under its service-linked role.
    if e.principal_type.as_deref() == Some("AWSService") {
        return;
    }
    out.push(on_control(
        &SSM_TO_ECS,
        e,
        format!(
            "ssm:StartSession to {target}{}",
            e.ssm_document
                .as_deref()
                .map(|d| format!(" with document {d}"))
                .unwrap_or_default()
        ),
    ));
}

fn tampering(d: &Destinations, e: &ControlEvent, out: &mut Vec<Finding>) {
    let Some(t) = d.tampering_of(e) else {
        return;
    };
    let check = match t.change {
        Change::LogGroupDeleted | Change::LogStreamDeleted(_) | Change::BucketDeleted => {
            &LOG_DELETED
        }
        Change::RetentionCut { .. } | Change::BucketExpiry { .. } => &RETENTION_CUT,
        Change::KeyDisabled | Change::KeyDeletionScheduled => &KEY_DISABLED,
        Change::BucketPolicyChanged { .. } | Change::BucketEncryptionRemoved => &ACCESS_CHANGED,
        Change::TrailStopped | Change::TrailDeleted | Change::TrailSelectorsNarrowed => {
            &TRAIL_STOPPED
        }
    };
    let mut f = on_control(check, e, t.describe());
    if !t.clusters.is_empty() {
        let names: Vec<&str> = t.clusters.iter().map(|c| c.cluster.as_str()).collect();
        f.detail = Some(match f.detail.take() {
            Some(x) => format!("{x}; destination of {}", names.join(", ")),
            None => format!("destination of {}", names.join(", ")),
        });
        if f.cluster.is_none() && names.len() == 1 {
            f.cluster = Some(names[0].to_owned());
        }
    } else {
        let why = "listed in the policy";
        f.detail = Some(match f.detail.take() {
            Some(x) => format!("{x}; {why}"),
            None => why.to_owned(),
        });
    }
    out.push(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_overrides() {
        for yes in [
            "api: sh -c 'while true; do sleep 3600; done'",
            "api: sleep 3600",
            "api: sleep infinity",
            "app: tail -f /dev/null",
            "app: /bin/bash",
            "sidecar: envoy; app: sh",
            "app: sh -c 'for ((;;)); do :; done'",
        ] {
            assert!(DEBUG_OVERRIDE.is_match(yes), "{yes}");
        }
        for no in [
            "api: python manage.py migrate",
            "worker: celery -A app worker",
            "app: sh -c 'python manage.py migrate && gunicorn app'",
            "app: ./bin/shard-rebalance",
        ] {
            assert!(!DEBUG_OVERRIDE.is_match(no), "{no}");
        }
    }
}

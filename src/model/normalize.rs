//! From one CloudTrail record to an [`ExecEvent`] or a [`ControlEvent`].
//!
//! This is the exact confirmation behind the scanner's byte prefilter: a record is kept only
//! when its `eventSource`/`eventName` (and, for enablement and logging changes, the relevant
//! request field) say so. A record whose policy document or error text merely mentions
//! `ExecuteCommand` is not an exec event. Field meanings follow `formats.md` §1–§2.
//!
//! Records are read through [`Obj`], a borrowing view that parses one object level at a time,
//! so a candidate costs the fields its row needs, not a tree of the whole record. Generic
//! changes (`tampering`: any bucket policy or lifecycle, log group deletion or retention, key
//! disabling or deletion, trail change in the organisation) keep a lean row: who, when, what
//! (the request's scalar fields; of its documents only lifecycle rules and event selectors,
//! which say whether logs expire or stop being recorded), which resource and whether it
//! failed, without the user agent or error text; whether one touches an exec-logging
//! destination is decided at analysis time.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::Value;

use super::identity::identity_of;
pub use super::identity::{identity, Identity};
use super::record::Obj;
use super::{ControlEvent, ExecEvent, Timestamp};

/// What one record is, for execaudit.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    Exec(Box<ExecEvent>),
    Control(Box<ControlEvent>),
}

/// Why a record that looked like CloudTrail could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record has no parseable eventTime")]
    NoTime,
}

/// One kind of record execaudit keeps. [`SELECTION`] is the single definition of what is kept:
/// [`classify`] walks it, and `sync --engine athena` renders it as the SQL `WHERE` clause, so
/// the local scanner and Athena select the same records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selector {
    /// `eventSource`, exactly.
    pub source: &'static str,
    /// `eventName`s: exact names, `Prefix*` for a name prefix, or `*` for any name.
    pub names: &'static [&'static str],
    /// A path under `requestParameters` that must be present and not null.
    pub requires: Option<&'static [&'static str]>,
    /// `exec` for the exec table, else the control event's `kind`.
    pub kind: &'static str,
}

impl Selector {
    /// Whether an `eventName` is one of this selector's names.
    pub fn name_matches(&self, name: &str) -> bool {
        self.name_matches_bytes(name.as_bytes())
    }

    fn name_matches_bytes(&self, name: &[u8]) -> bool {
        self.names.iter().any(|n| match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix.as_bytes()),
            None => name == n.as_bytes(),
        })
    }

    fn matches(&self, source: &str, name: &str, req: &Obj) -> bool {
        self.source == source
            && self.name_matches(name)
            && self
                .requires
                .is_none_or(|path| req.path(path).is_some_and(|v| v.get().trim() != "null"))
    }
}

/// What execaudit keeps, first match wins (a KMS call with an ECS Exec encryption context is a
/// session event even when its name is also a tampering name).
pub const SELECTION: &[Selector] = &[
    Selector {
        source: "ecs.amazonaws.com",
        names: &["ExecuteCommand"],
        requires: None,
        kind: "exec",
    },
    Selector {
        source: "ecs.amazonaws.com",
        names: &["RunTask", "StartTask", "CreateService", "UpdateService"],
        requires: Some(&["enableExecuteCommand"]),
        kind: "exec_enablement",
    },
    Selector {
        source: "ecs.amazonaws.com",
        names: &["CreateCluster", "UpdateCluster"],
        requires: Some(&["configuration", "executeCommandConfiguration"]),
        kind: "exec_logging",
    },
    Selector {
        source: "ssm.amazonaws.com",
        names: &["StartSession", "ResumeSession", "TerminateSession"],
        requires: None,
        kind: "ssm_session",
    },
    Selector {
        source: "kms.amazonaws.com",
        names: &["*"],
        requires: Some(&["encryptionContext", "aws:ssm:SessionId"]),
        kind: "kms_session",
    },
    // Control-plane changes that can silence or weaken exec logging.
    Selector {
        source: "s3.amazonaws.com",
        names: &["PutBucketLifecycle*", "DeleteBucket*", "PutBucketPolicy"],
        requires: None,
        kind: "tampering",
    },
    Selector {
        source: "logs.amazonaws.com",
        names: &["DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy"],
        requires: None,
        kind: "tampering",
    },
    Selector {
        source: "kms.amazonaws.com",
        names: &["DisableKey", "ScheduleKeyDeletion"],
        requires: None,
        kind: "tampering",
    },
    Selector {
        source: "cloudtrail.amazonaws.com",
        names: &[
            "StopLogging",
            "DeleteTrail",
            "UpdateTrail",
            "PutEventSelectors",
        ],
        requires: None,
        kind: "tampering",
    },
];

/// Whether a record with this `eventSource` and `eventName` (their JSON text, without escapes)
/// can be one [`classify`] keeps, judged without parsing it: the fast trail scan's prefilter,
/// read off [`SELECTION`]. `rest` is text that holds the record's request parameters: a selector
/// that requires one needs its last key there.
pub fn may_keep(source: &[u8], name: &[u8], rest: &[u8]) -> bool {
    static REQUIRED: LazyLock<Vec<Option<memchr::memmem::Finder<'static>>>> = LazyLock::new(|| {
        SELECTION
            .iter()
            .map(|sel| {
                let key = sel.requires?.last().expect("a required path has a key");
                Some(memchr::memmem::Finder::new(key.as_bytes()))
            })
            .collect()
    });
    SELECTION.iter().enumerate().any(|(i, sel)| {
        let s = sel.source.as_bytes();
        // Most sources differ in length or in their first bytes: no call to compare them.
        s.len() == source.len()
            && s.get(..4) == source.get(..4)
            && s == source
            && sel.name_matches_bytes(name)
            && REQUIRED[i]
                .as_ref()
                .is_none_or(|key| key.find(rest).is_some())
    })
}

/// The strings a record must contain for [`classify`] to keep it: the scanner's prefilter.
/// Every record `classify` accepts contains one of these byte strings verbatim (a test checks
/// this over every example), so records without any of them are never parsed.
pub const PREFILTER_NEEDLES: &[&str] = &[
    "ExecuteCommand", // ExecuteCommand, enableExecuteCommand
    "executeCommand", // executeCommandConfiguration
    "ssm:SessionId",  // aws:ssm:SessionId; "aws" itself is in every ARN and host name
    "StartSession",
    "ResumeSession",
    "TerminateSession",
    "DeleteLogGroup",
    "DeleteLogStream",
    "PutRetentionPolicy",
    "PutBucketLifecycle",
    "DeleteBucket",
    "PutBucketPolicy",
    "DisableKey",
    "ScheduleKeyDeletion",
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
];

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path)?.as_str()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

/// A non-empty string, owned.
pub(crate) fn owned<S: AsRef<str>>(v: Option<S>) -> Option<String> {
    v.filter(|t| !t.as_ref().is_empty())
        .map(|t| t.as_ref().to_owned())
}

/// Booleans arrive as JSON booleans and, in Lake rows and `mfaAuthenticated`, as strings.
fn boolish(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(t) if t.eq_ignore_ascii_case("true") => Some(true),
        Value::String(t) if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The last `/`-separated segment of an ARN (or the value itself when it is a bare name).
pub(crate) fn last_segment(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}

/// The account field (fifth `:`-separated part) of an ARN.
fn arn_account(arn: &str) -> Option<&str> {
    let acct = arn.split(':').nth(4)?;
    (acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit())).then_some(acct)
}

/// Cluster name from `arn:aws:ecs:r:a:cluster/NAME` or a bare name.
fn cluster_name(v: &str) -> &str {
    if v.starts_with("arn:") {
        v.split_once(":cluster/")
            .map_or(last_segment(v), |(_, n)| n)
    } else {
        v
    }
}

/// Cluster name from a task ARN: `task/<cluster>/<id>` (new format); `None` for old `task/<id>`.
fn cluster_of_task_arn(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":task/")?.1;
    let (cluster, _) = rest.rsplit_once('/')?;
    Some(cluster)
}

/// Splits an SSM ECS target `ecs:<cluster>_<taskId>_<runtimeId>` into cluster and task id.
/// Cluster names may contain `_`, so the task id (32 hex) is located from the right.
pub fn parse_ecs_target(target: &str) -> Option<(String, String)> {
    let rest = target.strip_prefix("ecs:")?;
    let parts: Vec<&str> = rest.split('_').collect();
    for i in (1..parts.len().saturating_sub(1)).rev() {
        let p = parts[i];
        if p.len() == 32 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some((parts[..i].join("_"), p.to_owned()));
        }
    }
    None
}

/// Copies the identity columns both event tables share.
macro_rules! set_identity {
    ($row:ident, $id:expr) => {{
        let id = $id;
        $row.principal = id.principal;
        $row.principal_source = id.principal_source;
        $row.principal_type = id.principal_type;
        $row.principal_arn = id.principal_arn;
        $row.role_arn = id.role_arn;
    }};
}

/// Whether a logged `tokenValue` is a real token rather than CloudTrail's redaction marker.
fn token_looks_real(token: &str) -> bool {
    let t = token.trim();
    let marker = t.is_empty()
        || t.eq_ignore_ascii_case("HIDDEN_DUE_TO_SECURITY_REASONS")
        || t.to_ascii_lowercase().contains("hidden")
        || t.to_ascii_lowercase().contains("redacted");
    !marker
        && t.len() >= 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
}

/// Decides what a parsed record is and normalises it; `Ok(None)` for records execaudit does
/// not keep.
pub fn classify(record: &Value, source: &str) -> Result<Option<Classified>, RecordError> {
    let text = record.to_string();
    match Obj::parse_str(&text) {
        Ok(obj) => classify_record(&obj, text.as_bytes(), source),
        Err(_) => Ok(None),
    }
}

/// Decides what the record read in place as `record` is (its JSON text is `text`) and normalises
/// it; `Ok(None)` for records execaudit does not keep. Walks [`SELECTION`].
pub fn classify_record(
    record: &Obj,
    text: &[u8],
    source: &str,
) -> Result<Option<Classified>, RecordError> {
    let event_source = record.text("eventSource");
    let event_name = record.text("eventName");
    let req = record.obj("requestParameters");
    let (src, name) = (
        event_source.as_deref().unwrap_or(""),
        event_name.as_deref().unwrap_or(""),
    );
    let Some(sel) = SELECTION.iter().find(|sel| sel.matches(src, name, &req)) else {
        return Ok(None);
    };
    if sel.kind == "exec" {
        return exec_event(record, text, source).map(|e| Some(Classified::Exec(Box::new(e))));
    }
    control_event(record, &req, text, source, sel.kind)
        .map(|e| Some(Classified::Control(Box::new(e))))
}

/// The record's `eventID`, or, for exports that dropped it, a stable id derived from the
/// record's content (`noid-<FNV-1a 64>` of its canonical JSON) so re-reading it still dedupes.
fn event_id(record: &Obj, text: &[u8]) -> Option<String> {
    owned(record.text("eventID")).or_else(|| {
        let canonical = serde_json::from_slice::<Value>(text)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let hash = canonical.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Some(format!("noid-{hash:016x}"))
    })
}

fn event_time(record: &Obj) -> Result<Timestamp, RecordError> {
    record
        .text("eventTime")
        .as_deref()
        .and_then(Timestamp::parse)
        .ok_or(RecordError::NoTime)
}

fn exec_event(record: &Obj, text: &[u8], source: &str) -> Result<ExecEvent, RecordError> {
    let req = record.obj("requestParameters");
    let resp = record.obj("responseElements");
    let req_cluster = req.text("cluster");
    let req_task = req.text("task");
    let cluster_arn = owned(resp.text("clusterArn"))
        .or_else(|| owned(req_cluster.as_deref().filter(|c| c.starts_with("arn:"))));
    let task_arn = owned(resp.text("taskArn"))
        .or_else(|| owned(req_task.as_deref().filter(|t| t.starts_with("arn:"))));
    let cluster = cluster_arn
        .as_deref()
        .map(cluster_name)
        .or_else(|| req_cluster.as_deref().map(cluster_name))
        .or_else(|| task_arn.as_deref().and_then(cluster_of_task_arn))
        .map(str::to_owned)
        .or_else(|| Some("default".to_owned()));
    let task_id = task_arn
        .as_deref()
        .or(req_task.as_deref())
        .map(|t| last_segment(t).to_owned());
    let error_code = owned(record.text("errorCode"));
    let account = cluster_arn
        .as_deref()
        .or(task_arn.as_deref())
        .and_then(arn_account)
        .map(str::to_owned)
        .or_else(|| owned(record.text("recipientAccountId")))
        .or_else(|| owned(record.text_at(&["userIdentity", "accountId"])));
    let id = identity_of(record);
    let session = resp.obj("session");
    let mut e = ExecEvent {
        event_id: event_id(record, text),
        event_time: event_time(record)?,
        account,
        region: owned(record.text("awsRegion")),
        role_name: id.role_name.clone(),
        sso_permission_set: id.sso_permission_set.clone(),
        source_identity: id.source_identity.clone(),
        on_behalf_of: id.on_behalf_of.clone(),
        caller_account: id.caller_account.clone(),
        access_key_id: id.access_key_id.clone(),
        mfa: id.mfa,
        source_ip: owned(record.text("sourceIPAddress")),
        user_agent: owned(record.text("userAgent")),
        cluster,
        cluster_arn,
        task_id,
        task_arn,
        container: owned(resp.text("containerName")).or_else(|| owned(req.text("container"))),
        session_id: owned(session.text("sessionId")),
        command: owned(req.text("command")),
        interactive: req.flag("interactive"),
        dry_run: req.flag("dryrun"),
        outcome: Some(
            if error_code.is_some() {
                "failed"
            } else {
                "success"
            }
            .to_owned(),
        ),
        error_code,
        error_message: owned(record.text("errorMessage")),
        token_unredacted: session.text("tokenValue").as_deref().map(token_looks_real),
        event_version: owned(record.text("eventVersion")),
        source: Some(source.to_owned()),
        ..ExecEvent::default()
    };
    set_identity!(e, id);
    Ok(e)
}

/// Shell-quotes an override command array for display: `["sh","-c","a b"]` -> `sh -c 'a b'`.
fn shell_join(parts: &[Value]) -> String {
    parts
        .iter()
        .map(|p| {
            let t = p
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| p.to_string());
            if !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
            {
                t
            } else {
                format!("'{}'", t.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A raw value as a `Value` tree (null when absent): for the rare exec-related rows whose
/// detail is the whole request.
fn tree(raw: Option<&serde_json::value::RawValue>) -> Value {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// What a generic change set, without its documents: the request's top-level numbers, booleans
/// and short strings (a retention, a deletion window, a trail's bucket), as compact JSON.
fn scalar_detail(req: &Obj) -> Option<String> {
    let mut kept = serde_json::Map::new();
    for (k, raw) in req.fields() {
        if matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) || k == "Host" {
            continue;
        }
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::String(t)) if t.len() > 256 => {}
            Ok(Value::Null) | Err(_) => {}
            Ok(v) => {
                kept.insert(k.to_string(), v);
            }
        }
    }
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

fn control_event(
    record: &Obj,
    req_obj: &Obj,
    text: &[u8],
    source: &str,
    kind: &str,
) -> Result<ControlEvent, RecordError> {
    let mut e = ControlEvent {
        event_id: event_id(record, text),
        event_time: event_time(record)?,
        account: owned(record.text("recipientAccountId"))
            .or_else(|| owned(record.text_at(&["userIdentity", "accountId"]))),
        region: owned(record.text("awsRegion")),
        event_source: owned(record.text("eventSource")),
        event_name: owned(record.text("eventName")),
        kind: Some(kind.to_owned()),
        source_ip: owned(record.text("sourceIPAddress")),
        error_code: owned(record.text("errorCode")),
        source: Some(source.to_owned()),
        ..ControlEvent::default()
    };
    set_identity!(e, identity_of(record));
    if kind == "tampering" {
        // A lean row: which resource, not the request (which can be a 4 KiB policy).
        let text = |k: &str| req_obj.text(k);
        let group = text("logGroupName");
        e.resource = owned(
            group
                .as_deref()
                .map(|g| match text("logStreamName") {
                    Some(st) => Cow::Owned(format!("{g}:{st}")),
                    None => Cow::Borrowed(g),
                })
                .or_else(|| text("bucketName"))
                .or_else(|| text("keyId"))
                .or_else(|| text("name"))
                .or_else(|| text("trailName")),
        );
        if e.event_source.as_deref() == Some("kms.amazonaws.com") {
            e.kms_key = e.resource.clone();
        }
        // Lifecycle rules and event selectors decide whether logs expire or management
        // events stop being recorded: those documents are kept, the others are not.
        let name = e.event_name.as_deref().unwrap_or("");
        e.detail = if name.starts_with("PutBucketLifecycle") || name == "PutEventSelectors" {
            compact(&tree(record.raw("requestParameters")))
        } else {
            scalar_detail(req_obj)
        };
        return Ok(e);
    }
    // Exec-related rows are rare: they keep the whole request and read it as a tree.
    e.user_agent = owned(record.text("userAgent"));
    e.error_message = owned(record.text("errorMessage"));
    let req = tree(record.raw("requestParameters"));
    let resp = tree(record.raw("responseElements"));
    let req = &req;
    let resp = &resp;
    let mut detail = req.clone();
    match kind {
        "exec_enablement" => {
            e.enable_execute_command = boolish(req.get("enableExecuteCommand"));
            e.cluster = s(req, &["cluster"]).map(|c| cluster_name(c).to_owned());
            e.service = owned(
                s(req, &["service"])
                    .or(s(req, &["serviceName"]))
                    .map(last_segment),
            );
            let tasks: Vec<&str> = get(resp, &["tasks"])
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .filter_map(|t| s(t, &["taskArn"]))
                        .map(last_segment)
                        .collect()
                })
                .unwrap_or_default();
            e.task_ids = (!tasks.is_empty()).then(|| tasks.join(","));
            if e.cluster.is_none() {
                e.cluster = get(resp, &["tasks"])
                    .and_then(|t| {
                        s(t, &["0", "clusterArn"])
                            .or_else(|| t.get(0).and_then(|t| s(t, &["clusterArn"])))
                    })
                    .or_else(|| s(resp, &["service", "clusterArn"]))
                    .map(|c| cluster_name(c).to_owned());
            }
            let overrides: Vec<String> = get(req, &["overrides", "containerOverrides"])
                .and_then(Value::as_array)
                .map(|os| {
                    os.iter()
                        .filter_map(|o| {
                            let cmd = o.get("command")?.as_array()?;
                            Some(format!(
                                "{}: {}",
                                s(o, &["name"]).unwrap_or("?"),
                                shell_join(cmd)
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            e.command_overrides = (!overrides.is_empty()).then(|| overrides.join("; "));
            // Environment overrides can carry secrets; keep only their names in `detail`.
            if let Some(os) = detail
                .pointer_mut("/overrides/containerOverrides")
                .and_then(Value::as_array_mut)
            {
                for o in os {
                    if let Some(env) = o.get_mut("environment").and_then(Value::as_array_mut) {
                        for var in env {
                            if let Some(v) = var.get_mut("value") {
                                *v = Value::String("<redacted>".into());
                            }
                        }
                    }
                }
            }
        }
        "exec_logging" => {
            e.cluster = s(req, &["cluster"])
                .or(s(req, &["clusterName"]))
                .map(|c| cluster_name(c).to_owned());
            let cfg =
                get(req, &["configuration", "executeCommandConfiguration"]).unwrap_or(&Value::Null);
            e.exec_logging = owned(s(cfg, &["logging"])).or_else(|| Some("DEFAULT".to_owned()));
            e.exec_kms_key = owned(s(cfg, &["kmsKeyId"]));
            let lc = cfg.get("logConfiguration").unwrap_or(&Value::Null);
            e.exec_log_group = owned(s(lc, &["cloudWatchLogGroupName"]));
            e.exec_s3_bucket = owned(s(lc, &["s3BucketName"]));
            e.exec_s3_prefix = owned(s(lc, &["s3KeyPrefix"]));
            e.exec_cw_encryption = boolish(lc.get("cloudWatchEncryptionEnabled"));
            e.exec_s3_encryption = boolish(lc.get("s3EncryptionEnabled"));
        }
        "ssm_session" => {
            e.session_id = owned(s(resp, &["sessionId"])).or_else(|| owned(s(req, &["sessionId"])));
            e.ssm_target = owned(s(req, &["target"]));
            e.ssm_document = owned(s(req, &["documentName"]));
        }
        "kms_session" => {
            e.session_id = owned(s(req, &["encryptionContext", "aws:ssm:SessionId"]));
            e.ssm_target = owned(s(req, &["encryptionContext", "aws:ssm:TargetId"]));
            e.kms_key = owned(s(req, &["keyId"]));
        }
        _ => {}
    }
    if let Some((cluster, task)) = e.ssm_target.as_deref().and_then(parse_ecs_target) {
        e.cluster.get_or_insert(cluster);
        e.task_ids.get_or_insert(task);
    }
    e.detail = compact(&detail);
    Ok(e)
}

/// The request as compact JSON, cut at 4 KiB (marked `…`); `None` for no request.
fn compact(detail: &Value) -> Option<String> {
    if detail.is_null() {
        return None;
    }
    let mut text = detail.to_string();
    if text.len() > 4096 {
        let mut cut = 4096;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ecs_targets_split_with_underscores_in_cluster_names() {
        let t = "ecs:my_prod_cluster_0f1e2d3c4b5a69788796a5b4c3d2e1f0_0f1e2d3c4b5a69788796a5b4c3d2e1f0-2785960456";
        assert_eq!(
            parse_ecs_target(t),
            Some((
                "my_prod_cluster".into(),
                "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()
            ))
        );
        assert_eq!(parse_ecs_target("i-0123456789abcdef0"), None);
    }

    fn rec(name: &str, src: &str, req: Value) -> Value {
        json!({"eventTime": "2024-05-14T09:12:31Z", "eventSource": src, "eventName": name, "requestParameters": req})
    }

    #[test]
    fn a_policy_that_mentions_execute_command_is_not_an_exec_event() {
        let put_policy = rec(
            "PutRolePolicy",
            "iam.amazonaws.com",
            json!({"policyDocument": "{\"Action\":\"ecs:ExecuteCommand\",\"Resource\":\"*\"}"}),
        );
        assert_eq!(classify(&put_policy, "x").unwrap(), None);
        let denied_other = rec(
            "DescribeTasks",
            "ecs.amazonaws.com",
            json!({"note": "ExecuteCommand"}),
        );
        assert_eq!(classify(&denied_other, "x").unwrap(), None);
        // RunTask without the exec flag is not an enablement event.
        assert_eq!(
            classify(
                &rec("RunTask", "ecs.amazonaws.com", json!({"cluster": "c"})),
                "x"
            )
            .unwrap(),
            None
        );
        // UpdateCluster without exec configuration is not a logging change.
        assert_eq!(
            classify(
                &rec(
                    "UpdateCluster",
                    "ecs.amazonaws.com",
                    json!({"settings": []})
                ),
                "x"
            )
            .unwrap(),
            None
        );
        // KMS Decrypt without the SSM session context is ordinary KMS use.
        assert_eq!(
            classify(
                &rec("Decrypt", "kms.amazonaws.com", json!({"keyId": "k"})),
                "x"
            )
            .unwrap(),
            None
        );
        // An S3 call outside the tampering set.
        assert_eq!(
            classify(
                &rec(
                    "GetBucketPolicy",
                    "s3.amazonaws.com",
                    json!({"bucketName": "b"})
                ),
                "x"
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn exec_event_without_cluster_uses_default_and_missing_time_is_an_error() {
        let r = rec(
            "ExecuteCommand",
            "ecs.amazonaws.com",
            json!({"task": "abc", "command": "/bin/sh", "interactive": true}),
        );
        let Some(Classified::Exec(e)) = classify(&r, "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.cluster.as_deref(), Some("default"));
        assert_eq!(e.task_id.as_deref(), Some("abc"));
        assert_eq!(e.outcome.as_deref(), Some("success"));
        let mut bad = r.clone();
        bad["eventTime"] = json!("not a time");
        assert_eq!(classify(&bad, "f"), Err(RecordError::NoTime));
    }

    #[test]
    fn real_looking_tokens_are_flagged_and_markers_are_not() {
        assert!(!token_looks_real("HIDDEN_DUE_TO_SECURITY_REASONS"));
        assert!(!token_looks_real("Value hidden due to security reasons."));
        assert!(token_looks_real(
            "AAEAAcVb7ww10N9aNUI5Cl7KxyzEXAMPLEEXAMPLEEXAMPLEEXAMPLE0123456789"
        ));
    }

    #[test]
    fn generic_changes_keep_a_lean_row() {
        let mut r = rec(
            "PutBucketPolicy",
            "s3.amazonaws.com",
            json!({"bucketName": "exec-logs", "bucketPolicy": {"Statement": [{"Effect": "Deny", "Action": "s3:PutObject"}]}}),
        );
        r["userAgent"] = json!("aws-cli/2.17");
        r["errorCode"] = json!("AccessDenied");
        r["errorMessage"] = json!("User: x is not authorized");
        let Some(Classified::Control(e)) = classify(&r, "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.kind.as_deref(), Some("tampering"));
        assert_eq!(e.resource.as_deref(), Some("exec-logs"));
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.detail.as_deref(), Some(r#"{"bucketName":"exec-logs"}"#));
        // A lifecycle keeps its rules (whether logs expire is in them).
        let lifecycle = rec(
            "PutBucketLifecycle",
            "s3.amazonaws.com",
            json!({"bucketName": "exec-logs", "LifecycleConfiguration": {"Rule": {"Expiration": {"Days": 1}}}}),
        );
        let Some(Classified::Control(l)) = classify(&lifecycle, "f").unwrap() else {
            panic!()
        };
        assert!(l.detail.unwrap().contains(r#""Expiration":{"Days":1}"#));
        assert_eq!((e.user_agent, e.error_message), (None, None));
        let stream = rec(
            "DeleteLogStream",
            "logs.amazonaws.com",
            json!({"logGroupName": "/ecs/exec", "logStreamName": "s1"}),
        );
        let Some(Classified::Control(e)) = classify(&stream, "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.resource.as_deref(), Some("/ecs/exec:s1"));
        let key = rec(
            "ScheduleKeyDeletion",
            "kms.amazonaws.com",
            json!({"keyId": "arn:aws:kms:us-east-1:1:key/k", "pendingWindowInDays": 7}),
        );
        let Some(Classified::Control(e)) = classify(&key, "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.kms_key, e.resource);
        assert!(e.kms_key.is_some());
        assert_eq!(
            e.detail.as_deref(),
            Some(r#"{"keyId":"arn:aws:kms:us-east-1:1:key/k","pendingWindowInDays":7}"#)
        );
    }

    #[test]
    fn repeated_and_mistyped_fields_read_as_a_value_tree_would() {
        // The last of repeated keys wins; a field of the wrong type reads as absent.
        let text = r#"{"eventTime":"2024-05-14T09:12:31Z","eventSource":"ecs.amazonaws.com","eventName":"Describe","eventName":"ExecuteCommand","awsRegion":7,"requestParameters":{"cluster":["x"],"task":"t\u0031","interactive":"TRUE"},"eventID":"d"}"#;
        let obj = Obj::parse_str(text).unwrap();
        let Some(Classified::Exec(e)) = classify_record(&obj, text.as_bytes(), "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.region, None);
        assert_eq!(e.cluster.as_deref(), Some("default"));
        assert_eq!(e.task_id.as_deref(), Some("t1"));
        assert_eq!(e.interactive, Some(true));
    }

    #[test]
    fn run_task_overrides_are_shell_quoted_and_env_values_redacted() {
        let r = rec(
            "RunTask",
            "ecs.amazonaws.com",
            json!({"cluster": "arn:aws:ecs:us-east-1:1:cluster/demo", "enableExecuteCommand": true,
                   "overrides": {"containerOverrides": [{"name": "app",
                      "command": ["sh", "-c", "while true; do sleep 3600; done"],
                      "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]}}),
        );
        let Some(Classified::Control(e)) = classify(&r, "f").unwrap() else {
            panic!()
        };
        assert_eq!(e.cluster.as_deref(), Some("demo"));
        assert_eq!(
            e.command_overrides.as_deref(),
            Some("app: sh -c 'while true; do sleep 3600; done'")
        );
        let detail = e.detail.unwrap();
        assert!(
            detail.contains("DB_PASSWORD") && !detail.contains("hunter2"),
            "{detail}"
        );
    }

    /// The prefilter is derived by hand from [`SELECTION`]: every selector's names (or the
    /// request field it requires) contain a needle, so no kept record can be skipped.
    #[test]
    fn every_selector_is_covered_by_a_prefilter_needle() {
        for sel in SELECTION {
            // A kept record holds the required field's name, else one of the names.
            let texts: Vec<String> = match sel.requires {
                Some(path) => vec![path.join(".")],
                None => sel
                    .names
                    .iter()
                    .map(|n| n.trim_end_matches('*').to_owned())
                    .collect(),
            };
            for t in texts {
                assert!(
                    PREFILTER_NEEDLES.iter().any(|n| t.contains(n)),
                    "{sel:?}: {t} has no needle"
                );
            }
        }
    }

    /// Look-alikes: the right name from another service, a required field that is null or
    /// missing, a name that only starts like a kept one.
    #[test]
    fn look_alikes_are_not_kept() {
        let rec = |src: &str, name: &str, req: Value| {
            json!({"eventVersion": "1.08", "eventID": "x", "eventTime": "2024-05-14T09:00:00Z",
                   "eventSource": src, "eventName": name, "awsRegion": "us-east-1",
                   "requestParameters": req})
        };
        let kept = |r: Value| classify(&r, "t").unwrap().is_some();
        assert!(!kept(rec("ssm.amazonaws.com", "ExecuteCommand", json!({}))));
        assert!(!kept(rec(
            "ecs.amazonaws.com",
            "ExecuteCommandX",
            json!({})
        )));
        assert!(!kept(rec(
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"enableExecuteCommand": null})
        )));
        assert!(kept(rec(
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"enableExecuteCommand": false})
        )));
        assert!(!kept(rec(
            "ecs.amazonaws.com",
            "UpdateCluster",
            json!({"configuration": {}})
        )));
        assert!(!kept(rec(
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionContext": {"aws:ssm:Session": "s"}})
        )));
        assert!(kept(rec(
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionContext": {"aws:ssm:SessionId": "s"}})
        )));
        assert!(kept(rec(
            "s3.amazonaws.com",
            "DeleteBucketTagging",
            json!({})
        )));
        assert!(!kept(rec(
            "s3.amazonaws.com",
            "PutBucketPolicyStatus",
            json!({})
        )));
        assert!(!kept(rec(
            "logs.amazonaws.com",
            "DeleteLogGroups",
            json!({})
        )));
    }
}

//! From one parsed CloudTrail record to an [`ExecEvent`] or a [`ControlEvent`].
//!
//! This is the exact confirmation behind the scanner's byte prefilter: a record is kept only
//! when its `eventSource`/`eventName` (and, for enablement and logging changes, the relevant
//! request field) say so. A record whose policy document or error text merely mentions
//! `ExecuteCommand` is not an exec event. Field meanings follow `formats.md` §1–§2.

use serde_json::Value;

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
        self.names.iter().any(|n| match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *n,
        })
    }

    fn matches(&self, source: &str, name: &str, req: &Value) -> bool {
        self.source == source
            && self.name_matches(name)
            && self.requires.is_none_or(|path| get(req, path).is_some())
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

fn owned(v: Option<&str>) -> Option<String> {
    v.filter(|t| !t.is_empty()).map(str::to_owned)
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
fn last_segment(arn_or_name: &str) -> &str {
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

/// The normalised "who" of a record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Identity {
    pub principal: Option<String>,
    pub principal_source: Option<String>,
    pub principal_type: Option<String>,
    pub principal_arn: Option<String>,
    pub role_arn: Option<String>,
    pub role_name: Option<String>,
    pub sso_permission_set: Option<String>,
    pub source_identity: Option<String>,
    pub on_behalf_of: Option<String>,
    pub caller_account: Option<String>,
    pub access_key_id: Option<String>,
    pub mfa: Option<bool>,
}

/// `AWSReservedSSO_<PermissionSet>_<16 hex>` -> `<PermissionSet>`.
fn sso_permission_set(role_name: &str) -> Option<String> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (set, hex) = rest.rsplit_once('_')?;
    (!set.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| set.to_owned())
}

/// Normalises `userIdentity` (formats.md §1.2).
pub fn identity(record: &Value) -> Identity {
    let ui = record.get("userIdentity").unwrap_or(&Value::Null);
    let kind = s(ui, &["type"]).unwrap_or("");
    let arn = s(ui, &["arn"]);
    let ctx = ui.get("sessionContext").unwrap_or(&Value::Null);
    let issuer_arn = s(ctx, &["sessionIssuer", "arn"]);
    let source_identity = owned(s(ctx, &["sourceIdentity"]));
    let mut id = Identity {
        principal_type: owned(Some(kind)),
        principal_arn: owned(arn),
        source_identity: source_identity.clone(),
        on_behalf_of: owned(s(ui, &["onBehalfOf", "userId"])),
        caller_account: owned(s(ui, &["accountId"])),
        access_key_id: owned(s(ui, &["accessKeyId"])),
        mfa: boolish(get(ctx, &["attributes", "mfaAuthenticated"])),
        ..Identity::default()
    };
    let (principal, source): (Option<String>, &str) = match kind {
        "AssumedRole" | "Role" => {
            // STS ARN: arn:aws:sts::<acct>:assumed-role/<role>/<session>; it has no IAM path,
            // which only the session issuer's IAM ARN carries.
            let mut segs = arn
                .and_then(|a| a.split_once(":assumed-role/"))
                .map(|(_, r)| r.splitn(2, '/'));
            let role = segs.as_mut().and_then(|i| i.next()).map(str::to_owned);
            let session = segs
                .as_mut()
                .and_then(|i| i.next())
                .map(str::to_owned)
                .or_else(|| {
                    s(ui, &["principalId"])
                        .and_then(|p| p.split_once(':'))
                        .map(|(_, n)| n.to_owned())
                });
            let role_name = owned(s(ctx, &["sessionIssuer", "userName"])).or(role);
            id.role_arn = owned(issuer_arn).or_else(|| {
                let acct = id.caller_account.as_deref()?;
                Some(format!(
                    "arn:aws:iam::{acct}:role/{}",
                    role_name.as_deref()?
                ))
            });
            id.sso_permission_set = role_name.as_deref().and_then(sso_permission_set);
            id.role_name = role_name;
            if source_identity.is_some() {
                (source_identity, "source_identity")
            } else if id.sso_permission_set.is_some() {
                (session, "identity_center")
            } else {
                (session, "role_session")
            }
        }
        "IAMUser" => (
            owned(s(ui, &["userName"])).or_else(|| arn.map(|a| last_segment(a).to_owned())),
            "iam_user",
        ),
        "FederatedUser" => {
            id.role_arn = owned(issuer_arn);
            let name = arn
                .and_then(|a| a.split_once(":federated-user/"))
                .map(|(_, n)| n.to_owned());
            (
                name.or_else(|| owned(s(ui, &["principalId"]))),
                "federated_user",
            )
        }
        "IdentityCenterUser" => (
            owned(s(ui, &["userName"])).or_else(|| id.on_behalf_of.clone()),
            "identity_center_user",
        ),
        "Root" => (Some("root".to_owned()), "root"),
        "AWSService" => (owned(s(ui, &["invokedBy"])), "service"),
        "AWSAccount" => (
            owned(s(ui, &["accountId"])).or_else(|| owned(s(ui, &["principalId"]))),
            "account",
        ),
        _ => (
            owned(s(ui, &["userName"]))
                .or_else(|| owned(s(ui, &["principalId"])))
                .or_else(|| owned(arn)),
            "unknown",
        ),
    };
    id.principal = principal;
    id.principal_source = Some(source.to_owned());
    id
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

/// Decides what a record is and normalises it; `Ok(None)` for records execaudit does not keep.
pub fn classify(record: &Value, source: &str) -> Result<Option<Classified>, RecordError> {
    let event_source = s(record, &["eventSource"]).unwrap_or("");
    let event_name = s(record, &["eventName"]).unwrap_or("");
    let req = record.get("requestParameters").unwrap_or(&Value::Null);
    let Some(sel) = SELECTION
        .iter()
        .find(|sel| sel.matches(event_source, event_name, req))
    else {
        return Ok(None);
    };
    if sel.kind == "exec" {
        return exec_event(record, source).map(|e| Some(Classified::Exec(Box::new(e))));
    }
    let kind = sel.kind;
    control_event(record, source, kind).map(|e| Some(Classified::Control(Box::new(e))))
}

/// The record's `eventID`, or, for exports that dropped it, a stable id derived from the
/// record's content (`noid-<FNV-1a 64>` of its canonical JSON) so re-reading it still dedupes.
fn event_id(record: &Value) -> Option<String> {
    owned(s(record, &["eventID"])).or_else(|| {
        let hash = record
            .to_string()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        Some(format!("noid-{hash:016x}"))
    })
}

fn event_time(record: &Value) -> Result<Timestamp, RecordError> {
    s(record, &["eventTime"])
        .and_then(Timestamp::parse)
        .ok_or(RecordError::NoTime)
}

fn exec_event(record: &Value, source: &str) -> Result<ExecEvent, RecordError> {
    let req = record.get("requestParameters").unwrap_or(&Value::Null);
    let resp = record.get("responseElements").unwrap_or(&Value::Null);
    let cluster_arn = owned(s(resp, &["clusterArn"]))
        .or_else(|| owned(s(req, &["cluster"]).filter(|c| c.starts_with("arn:"))));
    let task_arn = owned(s(resp, &["taskArn"]))
        .or_else(|| owned(s(req, &["task"]).filter(|t| t.starts_with("arn:"))));
    let cluster = cluster_arn
        .as_deref()
        .map(cluster_name)
        .or_else(|| s(req, &["cluster"]).map(cluster_name))
        .or_else(|| task_arn.as_deref().and_then(cluster_of_task_arn))
        .map(str::to_owned)
        .or_else(|| Some("default".to_owned()));
    let task_id = task_arn
        .as_deref()
        .or_else(|| s(req, &["task"]))
        .map(|t| last_segment(t).to_owned());
    let error_code = owned(s(record, &["errorCode"]));
    let account = cluster_arn
        .as_deref()
        .or(task_arn.as_deref())
        .and_then(arn_account)
        .map(str::to_owned)
        .or_else(|| owned(s(record, &["recipientAccountId"])))
        .or_else(|| owned(s(record, &["userIdentity", "accountId"])));
    let id = identity(record);
    let mut e = ExecEvent {
        event_id: event_id(record),
        event_time: event_time(record)?,
        account,
        region: owned(s(record, &["awsRegion"])),
        role_name: id.role_name.clone(),
        sso_permission_set: id.sso_permission_set.clone(),
        source_identity: id.source_identity.clone(),
        on_behalf_of: id.on_behalf_of.clone(),
        caller_account: id.caller_account.clone(),
        access_key_id: id.access_key_id.clone(),
        mfa: id.mfa,
        source_ip: owned(s(record, &["sourceIPAddress"])),
        user_agent: owned(s(record, &["userAgent"])),
        cluster,
        cluster_arn,
        task_id,
        task_arn,
        container: owned(s(resp, &["containerName"])).or_else(|| owned(s(req, &["container"]))),
        session_id: owned(s(resp, &["session", "sessionId"])),
        command: owned(s(req, &["command"])),
        interactive: boolish(req.get("interactive")),
        dry_run: boolish(req.get("dryrun")),
        outcome: Some(
            if error_code.is_some() {
                "failed"
            } else {
                "success"
            }
            .to_owned(),
        ),
        error_code,
        error_message: owned(s(record, &["errorMessage"])),
        token_unredacted: s(resp, &["session", "tokenValue"]).map(token_looks_real),
        event_version: owned(s(record, &["eventVersion"])),
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

fn control_event(record: &Value, source: &str, kind: &str) -> Result<ControlEvent, RecordError> {
    let req = record.get("requestParameters").unwrap_or(&Value::Null);
    let resp = record.get("responseElements").unwrap_or(&Value::Null);
    let event_name = s(record, &["eventName"]).unwrap_or("");
    let mut e = ControlEvent {
        event_id: event_id(record),
        event_time: event_time(record)?,
        account: owned(s(record, &["recipientAccountId"]))
            .or_else(|| owned(s(record, &["userIdentity", "accountId"]))),
        region: owned(s(record, &["awsRegion"])),
        event_source: owned(s(record, &["eventSource"])),
        event_name: owned(Some(event_name)),
        kind: Some(kind.to_owned()),
        source_ip: owned(s(record, &["sourceIPAddress"])),
        user_agent: owned(s(record, &["userAgent"])),
        error_code: owned(s(record, &["errorCode"])),
        error_message: owned(s(record, &["errorMessage"])),
        source: Some(source.to_owned()),
        ..ControlEvent::default()
    };
    set_identity!(e, identity(record));
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
        _ => {
            e.resource = owned(
                s(req, &["logGroupName"])
                    .map(|g| match s(req, &["logStreamName"]) {
                        Some(st) => format!("{g}:{st}"),
                        None => g.to_owned(),
                    })
                    .as_deref()
                    .or(s(req, &["bucketName"]))
                    .or(s(req, &["keyId"]))
                    .or(s(req, &["name"]))
                    .or(s(req, &["trailName"])),
            );
            if event_source_is(record, "kms.amazonaws.com") {
                e.kms_key = e.resource.clone();
            }
        }
    }
    if let Some((cluster, task)) = e.ssm_target.as_deref().and_then(parse_ecs_target) {
        e.cluster.get_or_insert(cluster);
        e.task_ids.get_or_insert(task);
    }
    if !detail.is_null() {
        let mut text = detail.to_string();
        if text.len() > 4096 {
            let mut cut = 4096;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        e.detail = Some(text);
    }
    Ok(e)
}

fn event_source_is(record: &Value, src: &str) -> bool {
    s(record, &["eventSource"]) == Some(src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assumed(role_path_arn: &str, sts_arn: &str, extra_ctx: Value) -> Value {
        let mut ctx = json!({
            "sessionIssuer": {"type": "Role", "arn": role_path_arn, "userName": last_segment(role_path_arn)},
            "attributes": {"mfaAuthenticated": "true"}
        });
        if let (Some(c), Some(x)) = (ctx.as_object_mut(), extra_ctx.as_object()) {
            c.extend(x.clone());
        }
        json!({"userIdentity": {"type": "AssumedRole", "arn": sts_arn, "accountId": "111122223333",
               "principalId": "AROAX:sess", "sessionContext": ctx}})
    }

    #[test]
    fn sso_role_takes_the_path_from_the_issuer_and_the_user_from_the_session_name() {
        let r = assumed(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_0123456789abcdef",
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_BreakGlass_0123456789abcdef/alice@example.com",
            json!({}),
        );
        let id = identity(&r);
        assert_eq!(id.principal.as_deref(), Some("alice@example.com"));
        assert_eq!(id.principal_source.as_deref(), Some("identity_center"));
        assert_eq!(id.sso_permission_set.as_deref(), Some("BreakGlass"));
        assert!(id
            .role_arn
            .unwrap()
            .contains("/aws-reserved/sso.amazonaws.com/eu-west-1/"));
        assert_eq!(id.mfa, Some(true));
    }

    #[test]
    fn source_identity_wins_over_the_session_name() {
        let r = assumed(
            "arn:aws:iam::111122223333:role/ci/deployer",
            "arn:aws:sts::111122223333:assumed-role/deployer/botocore-session-1",
            json!({"sourceIdentity": "bob"}),
        );
        let id = identity(&r);
        assert_eq!(
            (id.principal.as_deref(), id.principal_source.as_deref()),
            (Some("bob"), Some("source_identity"))
        );
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/ci/deployer")
        );
        assert_eq!(id.role_name.as_deref(), Some("deployer"));
    }

    #[test]
    fn role_arn_is_rebuilt_when_the_issuer_is_missing() {
        let r = json!({"userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/jdoe"}});
        let id = identity(&r);
        assert_eq!(id.principal.as_deref(), Some("jdoe"));
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        assert_eq!(id.mfa, None);
    }

    #[test]
    fn other_identity_types() {
        let iam = json!({"userIdentity": {"type": "IAMUser", "userName": "ops-bob", "arn": "arn:aws:iam::1:user/ops-bob"}});
        assert_eq!(identity(&iam).principal.as_deref(), Some("ops-bob"));
        let root = json!({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}});
        assert_eq!(identity(&root).principal.as_deref(), Some("root"));
        let fed = json!({"userIdentity": {"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/carol",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:user/broker"}}}});
        let id = identity(&fed);
        assert_eq!(
            (id.principal.as_deref(), id.role_arn.as_deref()),
            (Some("carol"), Some("arn:aws:iam::1:user/broker"))
        );
        let svc = json!({"userIdentity": {"type": "AWSService", "invokedBy": "ecs.amazonaws.com"}});
        assert_eq!(
            identity(&svc).principal.as_deref(),
            Some("ecs.amazonaws.com")
        );
        let icu = json!({"userIdentity": {"type": "IdentityCenterUser", "onBehalfOf": {"userId": "9067-abcd"}}});
        assert_eq!(identity(&icu).principal.as_deref(), Some("9067-abcd"));
        assert_eq!(
            identity(&json!({})).principal_source.as_deref(),
            Some("unknown")
        );
    }

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

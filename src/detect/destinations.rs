//! Exec-logging destinations: where each cluster's session transcripts go, learned over time
//! from the trail, and what a control-plane change does to them.
//!
//! A cluster's `executeCommandConfiguration` (from `CreateCluster`/`UpdateCluster`: logging
//! mode, CloudWatch log group, S3 bucket and prefix, KMS key) is kept as a history per cluster,
//! and the policy's `[logging]` table adds destinations the trail cannot show (the awslogs groups
//! of `DEFAULT` logging, log encryption keys, the trails themselves). This answers three
//! questions for the rest of the tool:
//!
//! - [`Destinations::is_destination`]: is this log group, bucket, key or trail an exec-logging
//!   destination? A change to an unrelated bucket or log group is not exec-related.
//! - [`Destinations::tampering_of`]: does this control event weaken a destination, and how
//!   (deleted, retention cut, expiry set, key disabled, trail stopped, ...)?
//! - [`Destinations::degraded_at`]: was logging degraded for cluster C at time T (logging `NONE`
//!   in force, or a destination of the configuration in force deleted or its key disabled)?
//!
//! [`Destinations::is_exec_related`] combines them for control-plane rows: enablement, logging
//! configuration, ECS Exec SSM/KMS session events, and tampering with a destination.

use std::collections::BTreeMap;

use serde_json::Value;

use super::policy::LoggingPolicy;
use crate::model::{ControlEvent, Timestamp};

/// What kind of resource a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DestinationKind {
    /// A CloudWatch Logs log group receiving transcripts.
    LogGroup,
    /// An S3 bucket receiving transcripts.
    Bucket,
    /// A KMS key (the session channel key, or one protecting the logs).
    KmsKey,
    /// A CloudTrail trail (it records `ExecuteCommand` itself).
    Trail,
}

impl DestinationKind {
    /// Lowercase name for evidence text.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::LogGroup => "log group",
            DestinationKind::Bucket => "bucket",
            DestinationKind::KmsKey => "KMS key",
            DestinationKind::Trail => "trail",
        }
    }
}

/// A cluster as the trail names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ClusterKey {
    /// Account id ("" when unknown).
    pub account: String,
    /// Region ("" when unknown).
    pub region: String,
    /// Cluster name.
    pub cluster: String,
}

impl ClusterKey {
    /// Builds a key from optional columns.
    pub fn new(account: Option<&str>, region: Option<&str>, cluster: &str) -> ClusterKey {
        ClusterKey {
            account: account.unwrap_or("").to_owned(),
            region: region.unwrap_or("").to_owned(),
            cluster: cluster.to_owned(),
        }
    }
}

/// A cluster's exec configuration as set by one `CreateCluster`/`UpdateCluster`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggingConfig {
    /// When it was set.
    pub time: Timestamp,
    /// The event that set it.
    pub event_id: Option<String>,
    /// Who set it.
    pub principal: Option<String>,
    /// `NONE`, `DEFAULT` or `OVERRIDE`.
    pub logging: String,
    /// CloudWatch log group (OVERRIDE).
    pub log_group: Option<String>,
    /// S3 bucket (OVERRIDE).
    pub s3_bucket: Option<String>,
    /// S3 key prefix.
    pub s3_prefix: Option<String>,
    /// Channel KMS key.
    pub kms_key: Option<String>,
    /// Whether the log group must be encrypted.
    pub cw_encryption: Option<bool>,
    /// Whether the bucket must be encrypted.
    pub s3_encryption: Option<bool>,
}

impl LoggingConfig {
    /// Where this configuration sends transcripts, for people.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("logging {}", self.logging)];
        if let Some(g) = &self.log_group {
            parts.push(format!("log group {g}"));
        }
        if let Some(b) = &self.s3_bucket {
            match self.s3_prefix.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => parts.push(format!("s3://{b}/{p}/")),
                None => parts.push(format!("s3://{b}/")),
            }
        }
        parts.join(", ")
    }
}

/// What a control event does to a destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `DeleteLogGroup`.
    LogGroupDeleted,
    /// `DeleteLogStream` (a stream is one session's transcript).
    LogStreamDeleted(String),
    /// `PutRetentionPolicy` below the floor or below the last value seen.
    RetentionCut { days: i64, previous: Option<i64> },
    /// `DeleteBucket`.
    BucketDeleted,
    /// `PutBucketLifecycle*` with an expiration (or rules not logged).
    BucketExpiry { logged: bool },
    /// `PutBucketPolicy`/`DeleteBucketPolicy`.
    BucketPolicyChanged { deleted: bool },
    /// `DeleteBucketEncryption`.
    BucketEncryptionRemoved,
    /// `DisableKey`.
    KeyDisabled,
    /// `ScheduleKeyDeletion`.
    KeyDeletionScheduled,
    /// `StopLogging`.
    TrailStopped,
    /// `DeleteTrail`.
    TrailDeleted,
    /// `PutEventSelectors` that drops management or write events.
    TrailSelectorsNarrowed,
}

impl Change {
    /// A short description for evidence.
    pub fn describe(&self) -> String {
        match self {
            Change::LogGroupDeleted => "log group deleted".into(),
            Change::LogStreamDeleted(s) => format!("log stream {s} deleted"),
            Change::RetentionCut {
                days,
                previous: Some(p),
            } => {
                format!("retention cut to {days} days (was {p})")
            }
            Change::RetentionCut {
                days,
                previous: None,
            } => format!("retention cut to {days} days"),
            Change::BucketDeleted => "bucket deleted".into(),
            Change::BucketExpiry { logged: true } => "lifecycle expiration set".into(),
            Change::BucketExpiry { logged: false } => {
                "lifecycle configuration replaced (rules not logged: may expire transcripts)".into()
            }
            Change::BucketPolicyChanged { deleted: false } => "bucket policy replaced".into(),
            Change::BucketPolicyChanged { deleted: true } => "bucket policy deleted".into(),
            Change::BucketEncryptionRemoved => "default encryption removed".into(),
            Change::KeyDisabled => "key disabled".into(),
            Change::KeyDeletionScheduled => "key scheduled for deletion".into(),
            Change::TrailStopped => "logging stopped".into(),
            Change::TrailDeleted => "trail deleted".into(),
            Change::TrailSelectorsNarrowed => {
                "event selectors no longer record all management write events".into()
            }
        }
    }

    /// Whether sessions after the change lose their transcript (rather than old ones being lost).
    pub fn blinds_new_sessions(&self) -> bool {
        matches!(
            self,
            Change::LogGroupDeleted
                | Change::BucketDeleted
                | Change::KeyDisabled
                | Change::KeyDeletionScheduled
                | Change::TrailStopped
                | Change::TrailDeleted
                | Change::TrailSelectorsNarrowed
        )
    }
}

/// A control event that weakens an exec-logging destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Tampering {
    /// The event's id.
    pub event_id: Option<String>,
    /// When.
    pub time: Timestamp,
    /// Who.
    pub principal: Option<String>,
    /// What kind of destination.
    pub kind: DestinationKind,
    /// The destination's name (log group, bucket, key id, trail).
    pub resource: String,
    /// What was done.
    pub change: Change,
    /// Clusters whose configuration named it (empty for policy-listed destinations and trails).
    pub clusters: Vec<ClusterKey>,
    /// False when the call failed (an attempt).
    pub succeeded: bool,
}

impl Tampering {
    /// One line for evidence.
    pub fn describe(&self) -> String {
        let who = self.principal.as_deref().unwrap_or("unknown");
        let attempt = if self.succeeded {
            ""
        } else {
            " (attempted: the call failed)"
        };
        format!(
            "{} {}: {} by {who} at {}{attempt}",
            self.kind.as_str(),
            self.resource,
            self.change.describe(),
            self.time.to_rfc3339()
        )
    }
}

/// Why logging was degraded for a cluster at some time.
#[derive(Debug, Clone, PartialEq)]
pub struct Degradation {
    /// Since when.
    pub since: Timestamp,
    /// The event that caused it.
    pub event_id: Option<String>,
    /// For people.
    pub cause: String,
}

/// Exec-logging destinations learned from control events and the policy.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    configs: BTreeMap<ClusterKey, Vec<LoggingConfig>>,
    policy: LoggingPolicy,
    /// Retention last seen per (account, region, log group), filled as tampering is computed.
    tampering: Vec<Tampering>,
    by_cluster: BTreeMap<ClusterKey, Vec<usize>>,
}

/// The last `/`-segment of a key ARN (`arn:aws:kms:r:a:key/ID` -> `ID`); aliases keep `alias/`.
pub fn key_id(key: &str) -> &str {
    if let Some((_, rest)) = key.split_once(":alias/") {
        return &key[key.len() - rest.len() - "alias/".len()..];
    }
    key.rsplit_once(":key/").map_or(key, |(_, id)| id)
}

fn trail_name(t: &str) -> &str {
    t.rsplit_once(":trail/").map_or(t, |(_, n)| n)
}

fn same_place(a: &str, b: &str) -> bool {
    a.is_empty() || b.is_empty() || a == b
}

impl Destinations {
    /// Empty, with the policy's destinations.
    pub fn new(policy: Option<&LoggingPolicy>) -> Destinations {
        Destinations {
            policy: policy.cloned().unwrap_or(LoggingPolicy {
                min_retention_days: 90,
                ..LoggingPolicy::default()
            }),
            ..Destinations::default()
        }
    }

    /// Learns every configuration in `control`, then classifies every tampering event against
    /// what was learned.
    pub fn from_events(control: &[ControlEvent], policy: Option<&LoggingPolicy>) -> Destinations {
        Destinations::from_iter(control.iter(), policy)
    }

    /// [`Destinations::from_events`] over rows held in several places (an audit's batches).
    pub fn from_iter<'a, I>(control: I, policy: Option<&LoggingPolicy>) -> Destinations
    where
        I: Iterator<Item = &'a ControlEvent> + Clone,
    {
        let mut d = Destinations::new(policy);
        for e in control.clone() {
            d.learn(e);
        }
        d.finish(control);
        d
    }

    /// Adds one `exec_logging` event's configuration (other rows are ignored). Call
    /// [`Destinations::finish`] after the last one.
    pub fn learn(&mut self, e: &ControlEvent) {
        if e.kind.as_deref() != Some("exec_logging") || e.error_code.is_some() {
            return;
        }
        let Some(cluster) = e.cluster.as_deref() else {
            return;
        };
        let key = ClusterKey::new(e.account.as_deref(), e.region.as_deref(), cluster);
        self.configs.entry(key).or_default().push(LoggingConfig {
            time: e.event_time,
            event_id: e.event_id.clone(),
            principal: e.principal.clone(),
            logging: e.exec_logging.clone().unwrap_or_else(|| "DEFAULT".into()),
            log_group: e.exec_log_group.clone(),
            s3_bucket: e.exec_s3_bucket.clone(),
            s3_prefix: e.exec_s3_prefix.clone(),
            kms_key: e.exec_kms_key.clone(),
            cw_encryption: e.exec_cw_encryption,
            s3_encryption: e.exec_s3_encryption,
        });
    }

    /// Orders each cluster's history and records the tampering among `control`.
    pub fn finish<'a>(&mut self, control: impl IntoIterator<Item = &'a ControlEvent>) {
        for h in self.configs.values_mut() {
            h.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        }
        let mut order: Vec<&ControlEvent> = control
            .into_iter()
            .filter(|e| e.kind.as_deref() == Some("tampering"))
            .collect();
        order.sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
        let mut retention: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        self.tampering.clear();
        self.by_cluster.clear();
        for e in order {
            if let Some(t) = self.classify(e, &mut retention) {
                for c in &t.clusters {
                    self.by_cluster
                        .entry(c.clone())
                        .or_default()
                        .push(self.tampering.len());
                }
                self.tampering.push(t);
            }
        }
    }

    /// Every cluster with a known configuration, and its history (oldest first).
    pub fn clusters(&self) -> impl Iterator<Item = (&ClusterKey, &[LoggingConfig])> {
        self.configs.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// A cluster's configuration history, oldest first.
    pub fn history(&self, key: &ClusterKey) -> &[LoggingConfig] {
        self.find(key).map_or(&[], Vec::as_slice)
    }

    fn find(&self, key: &ClusterKey) -> Option<&Vec<LoggingConfig>> {
        self.configs.get(key).or_else(|| {
            // Rows that lack the account or region still match a unique cluster of that name.
            let mut it = self.configs.iter().filter(|(k, _)| {
                k.cluster == key.cluster
                    && same_place(&k.account, &key.account)
                    && same_place(&k.region, &key.region)
            });
            let first = it.next()?;
            it.next().is_none().then_some(first.1)
        })
    }

    /// The configuration in force for a cluster at `t` (the last one set at or before `t`).
    pub fn config_at(&self, key: &ClusterKey, t: Timestamp) -> Option<&LoggingConfig> {
        self.history(key).iter().rev().find(|c| c.time <= t)
    }

    /// The configuration a given one replaced (for "switched off" checks).
    pub fn previous(&self, key: &ClusterKey, event_id: Option<&str>) -> Option<&LoggingConfig> {
        let h = self.history(key);
        let i = h.iter().position(|c| c.event_id.as_deref() == event_id)?;
        i.checked_sub(1).map(|p| &h[p])
    }

    /// Clusters whose configuration (at any time in the data) named this resource.
    pub fn users_of(
        &self,
        kind: DestinationKind,
        account: Option<&str>,
        region: Option<&str>,
        name: &str,
    ) -> Vec<ClusterKey> {
        let (account, region) = (account.unwrap_or(""), region.unwrap_or(""));
        self.configs
            .iter()
            .filter(|(k, hist)| {
                hist.iter().any(|c| match kind {
                    DestinationKind::LogGroup => {
                        c.log_group.as_deref() == Some(name)
                            && same_place(&k.account, account)
                            && same_place(&k.region, region)
                    }
                    DestinationKind::Bucket => c.s3_bucket.as_deref() == Some(name),
                    DestinationKind::KmsKey => c
                        .kms_key
                        .as_deref()
                        .is_some_and(|k| key_id(k) == key_id(name)),
                    DestinationKind::Trail => false,
                })
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn in_policy(&self, kind: DestinationKind, name: &str) -> bool {
        let list = match kind {
            DestinationKind::LogGroup => &self.policy.log_groups,
            DestinationKind::Bucket => &self.policy.buckets,
            DestinationKind::KmsKey => &self.policy.kms_keys,
            // With no trails listed every trail counts: trails are few and all are audit
            // infrastructure, unlike buckets and log groups.
            DestinationKind::Trail => {
                return self.policy.trails.is_empty()
                    || self
                        .policy
                        .trails
                        .iter()
                        .any(|p| p.matches(name) || p.matches(trail_name(name)))
            }
        };
        list.iter().any(|p| {
            p.matches(name) || (kind == DestinationKind::KmsKey && p.matches(key_id(name)))
        })
    }

    /// Whether a resource is an exec-logging destination: named by a cluster's configuration
    /// anywhere in the data, or by the policy.
    pub fn is_destination(
        &self,
        kind: DestinationKind,
        account: Option<&str>,
        region: Option<&str>,
        name: &str,
    ) -> bool {
        self.in_policy(kind, name) || !self.users_of(kind, account, region, name).is_empty()
    }

    /// The resource a tampering-kind control event touches: its kind and name.
    pub fn resource_of(e: &ControlEvent) -> Option<(DestinationKind, String)> {
        let r = e.resource.as_deref().or(e.kms_key.as_deref())?;
        let kind = match e.event_source.as_deref()? {
            "logs.amazonaws.com" => DestinationKind::LogGroup,
            "s3.amazonaws.com" => DestinationKind::Bucket,
            "kms.amazonaws.com" => DestinationKind::KmsKey,
            "cloudtrail.amazonaws.com" => DestinationKind::Trail,
            _ => return None,
        };
        let name = match kind {
            DestinationKind::LogGroup => r.split_once(':').map_or(r, |(g, _)| g),
            DestinationKind::Trail => trail_name(r),
            _ => r,
        };
        Some((kind, name.to_owned()))
    }

    /// Whether a control event weakens an exec-logging destination, and how. Knows the
    /// retention history only through [`Destinations::from_events`]; alone, a retention is a
    /// cut when it is below the policy's floor.
    pub fn tampering_of(&self, e: &ControlEvent) -> Option<Tampering> {
        let id = e.event_id.as_deref();
        self.tampering
            .iter()
            .find(|t| t.event_id.as_deref() == id && id.is_some())
            .cloned()
            .or_else(|| self.classify(e, &mut BTreeMap::new()))
    }

    fn classify(
        &self,
        e: &ControlEvent,
        retention: &mut BTreeMap<(String, String, String), i64>,
    ) -> Option<Tampering> {
        let (kind, name) = Self::resource_of(e)?;
        // Whether the resource is a destination does not change with time: a resource that is
        // not one is passed over before its detail is parsed (an organisation's trail holds
        // tens of thousands of such changes: 0.17 s of a session's findings).
        let clusters = self.users_of(kind, e.account.as_deref(), e.region.as_deref(), &name);
        if clusters.is_empty() && !self.in_policy(kind, &name) {
            return None;
        }
        let detail: Value = e
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        let succeeded = e.error_code.is_none();
        let change = match (kind, e.event_name.as_deref()?) {
            (DestinationKind::LogGroup, "DeleteLogGroup") => Change::LogGroupDeleted,
            (DestinationKind::LogGroup, "DeleteLogStream") => Change::LogStreamDeleted(
                e.resource
                    .as_deref()
                    .and_then(|r| r.split_once(':'))
                    .map_or("?", |(_, s)| s)
                    .to_owned(),
            ),
            (DestinationKind::LogGroup, "PutRetentionPolicy") => {
                let days = detail.get("retentionInDays").and_then(Value::as_i64)?;
                let key = (
                    e.account.clone().unwrap_or_default(),
                    e.region.clone().unwrap_or_default(),
                    name.clone(),
                );
                let previous = retention.get(&key).copied();
                if succeeded {
                    retention.insert(key, days);
                }
                let cut =
                    days < self.policy.min_retention_days || previous.is_some_and(|p| days < p);
                if !cut {
                    return None;
                }
                Change::RetentionCut { days, previous }
            }
            (DestinationKind::Bucket, "DeleteBucket") => Change::BucketDeleted,
            (DestinationKind::Bucket, n) if n.starts_with("PutBucketLifecycle") => {
                let text = e.detail.as_deref().unwrap_or("");
                let complete = !text.is_empty() && !text.ends_with('…');
                if complete && !text.contains("Expiration") {
                    return None;
                }
                Change::BucketExpiry { logged: complete }
            }
            (DestinationKind::Bucket, "PutBucketPolicy") => {
                Change::BucketPolicyChanged { deleted: false }
            }
            (DestinationKind::Bucket, "DeleteBucketPolicy") => {
                Change::BucketPolicyChanged { deleted: true }
            }
            (DestinationKind::Bucket, "DeleteBucketEncryption") => Change::BucketEncryptionRemoved,
            (DestinationKind::KmsKey, "DisableKey") => Change::KeyDisabled,
            (DestinationKind::KmsKey, "ScheduleKeyDeletion") => Change::KeyDeletionScheduled,
            (DestinationKind::Trail, "StopLogging") => Change::TrailStopped,
            (DestinationKind::Trail, "DeleteTrail") => Change::TrailDeleted,
            (DestinationKind::Trail, "PutEventSelectors") => {
                if !selectors_narrowed(&detail) {
                    return None;
                }
                Change::TrailSelectorsNarrowed
            }
            _ => return None,
        };
        Some(Tampering {
            event_id: e.event_id.clone(),
            time: e.event_time,
            principal: e.principal.clone(),
            kind,
            resource: name,
            change,
            clusters,
            succeeded,
        })
    }

    /// Every tampering with a destination, in time order.
    pub fn tampering(&self) -> &[Tampering] {
        &self.tampering
    }

    /// Tampering with destinations a cluster's configuration named (any time).
    pub fn tampering_for(&self, key: &ClusterKey) -> Vec<&Tampering> {
        let direct = self.by_cluster.get(key);
        let keys: Vec<&ClusterKey> = match direct {
            Some(_) => vec![key],
            None => self
                .by_cluster
                .keys()
                .filter(|k| {
                    k.cluster == key.cluster
                        && same_place(&k.account, &key.account)
                        && same_place(&k.region, &key.region)
                })
                .collect(),
        };
        keys.into_iter()
            .filter_map(|k| self.by_cluster.get(k))
            .flatten()
            .map(|&i| &self.tampering[i])
            .collect()
    }

    /// Whether logging was degraded for a cluster at `t`: logging `NONE` in force, or a
    /// destination of the configuration in force deleted, or its key disabled or scheduled for
    /// deletion, after that configuration was set (a later configuration re-points logging).
    pub fn degraded_at(&self, key: &ClusterKey, t: Timestamp) -> Option<Degradation> {
        let cfg = self.config_at(key, t)?;
        if cfg.logging.eq_ignore_ascii_case("NONE") {
            return Some(Degradation {
                since: cfg.time,
                event_id: cfg.event_id.clone(),
                cause: format!(
                    "exec logging set to NONE by {} at {}",
                    cfg.principal.as_deref().unwrap_or("unknown"),
                    cfg.time.to_rfc3339()
                ),
            });
        }
        let names = |kind: DestinationKind, name: &str| match kind {
            DestinationKind::LogGroup => cfg.log_group.as_deref() == Some(name),
            DestinationKind::Bucket => cfg.s3_bucket.as_deref() == Some(name),
            DestinationKind::KmsKey => cfg
                .kms_key
                .as_deref()
                .is_some_and(|k| key_id(k) == key_id(name)),
            DestinationKind::Trail => false,
        };
        self.tampering_for(key)
            .into_iter()
            .filter(|x| {
                x.succeeded && x.change.blinds_new_sessions() && x.time >= cfg.time && x.time <= t
            })
            .find(|x| names(x.kind, &x.resource))
            .map(|x| Degradation {
                since: x.time,
                event_id: x.event_id.clone(),
                cause: x.describe(),
            })
    }

    /// Whether a control-plane row matters to exec auditing: exec enablement and logging
    /// configuration, SSM sessions to ECS targets, KMS use for an ECS Exec session, and
    /// tampering with an exec-logging destination.
    pub fn is_exec_related(&self, e: &ControlEvent) -> bool {
        match e.kind.as_deref() {
            Some("exec_enablement" | "exec_logging" | "kms_session") => true,
            Some("ssm_session") => {
                e.ssm_target
                    .as_deref()
                    .is_some_and(|t| t.starts_with("ecs:"))
                    || e.session_id
                        .as_deref()
                        .is_some_and(|s| s.starts_with("ecs-execute-command-"))
            }
            Some("tampering") => self.tampering_of(e).is_some(),
            _ => false,
        }
    }
}

/// Whether `PutEventSelectors` request parameters stop recording management write events.
fn selectors_narrowed(detail: &Value) -> bool {
    if let Some(sel) = detail.get("eventSelectors").and_then(Value::as_array) {
        // Classic selectors: management events are recorded when any selector includes them
        // for writes.
        return !sel.iter().any(|s| {
            s.get("includeManagementEvents")
                .and_then(Value::as_bool)
                .unwrap_or(true)
                && s.get("readWriteType")
                    .and_then(Value::as_str)
                    .is_none_or(|r| r != "ReadOnly")
        });
    }
    if let Some(adv) = detail
        .get("advancedEventSelectors")
        .and_then(Value::as_array)
    {
        // Advanced selectors: management events are recorded by a selector whose
        // eventCategory equals Management and that does not restrict readOnly to true.
        return !adv.iter().any(|s| {
            let fields = s.get("fieldSelectors").and_then(Value::as_array);
            let f = |name: &str| {
                fields.and_then(|fs| {
                    fs.iter()
                        .find(|f| f.get("field").and_then(Value::as_str) == Some(name))
                })
            };
            let management = f("eventCategory").is_some_and(|c| {
                c.get("equals")
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().any(|x| x.as_str() == Some("Management")))
            });
            let read_only = f("readOnly").is_some_and(|c| {
                c.get("equals")
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().all(|x| x.as_str() == Some("true")))
            });
            management && !read_only
        });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_event(
        id: &str,
        t: &str,
        logging: &str,
        group: Option<&str>,
        bucket: Option<&str>,
    ) -> ControlEvent {
        ControlEvent {
            event_id: Some(id.into()),
            event_time: Timestamp::parse(t).unwrap(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            event_source: Some("ecs.amazonaws.com".into()),
            event_name: Some("UpdateCluster".into()),
            kind: Some("exec_logging".into()),
            principal: Some("ops".into()),
            cluster: Some("payments-prod".into()),
            exec_logging: Some(logging.into()),
            exec_log_group: group.map(Into::into),
            exec_s3_bucket: bucket.map(Into::into),
            exec_kms_key: Some("arn:aws:kms:us-east-1:111122223333:key/6f1d2e3c".into()),
            ..ControlEvent::default()
        }
    }

    fn tamper(
        id: &str,
        t: &str,
        source: &str,
        name: &str,
        resource: &str,
        detail: Option<&str>,
    ) -> ControlEvent {
        ControlEvent {
            event_id: Some(id.into()),
            event_time: Timestamp::parse(t).unwrap(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            event_source: Some(source.into()),
            event_name: Some(name.into()),
            kind: Some("tampering".into()),
            principal: Some("mallory".into()),
            resource: Some(resource.into()),
            detail: detail.map(Into::into),
            ..ControlEvent::default()
        }
    }

    fn key() -> ClusterKey {
        ClusterKey::new(Some("111122223333"), Some("us-east-1"), "payments-prod")
    }

    #[test]
    fn destinations_are_learned_and_unrelated_resources_are_not_tampering() {
        let events = vec![
            cfg_event(
                "c1",
                "2024-11-18T07:30:00Z",
                "OVERRIDE",
                Some("/ecs/exec/payments-prod"),
                Some("exec-logs"),
            ),
            tamper(
                "t1",
                "2024-11-19T00:00:00Z",
                "logs.amazonaws.com",
                "DeleteLogGroup",
                "/aws/lambda/unrelated",
                None,
            ),
            tamper(
                "t2",
                "2024-11-19T00:01:00Z",
                "s3.amazonaws.com",
                "DeleteBucket",
                "website-assets",
                None,
            ),
            tamper(
                "t3",
                "2024-11-19T00:02:00Z",
                "logs.amazonaws.com",
                "PutRetentionPolicy",
                "/ecs/exec/payments-prod",
                Some(r#"{"logGroupName":"/ecs/exec/payments-prod","retentionInDays":1}"#),
            ),
            tamper(
                "t4",
                "2024-11-19T00:03:00Z",
                "logs.amazonaws.com",
                "PutRetentionPolicy",
                "/ecs/exec/payments-prod",
                Some(r#"{"logGroupName":"/ecs/exec/payments-prod","retentionInDays":400}"#),
            ),
            tamper(
                "t5",
                "2024-11-19T00:04:00Z",
                "s3.amazonaws.com",
                "PutBucketLifecycleConfiguration",
                "exec-logs",
                Some(
                    r#"{"bucketName":"exec-logs","LifecycleConfiguration":{"Rule":{"Expiration":{"Days":1}}}}"#,
                ),
            ),
            tamper(
                "t6",
                "2024-11-19T00:05:00Z",
                "kms.amazonaws.com",
                "DisableKey",
                "6f1d2e3c",
                None,
            ),
        ];
        let d = Destinations::from_events(&events, None);
        assert!(d.is_destination(
            DestinationKind::LogGroup,
            Some("111122223333"),
            Some("us-east-1"),
            "/ecs/exec/payments-prod"
        ));
        assert!(!d.is_destination(
            DestinationKind::LogGroup,
            Some("111122223333"),
            Some("us-east-1"),
            "/aws/lambda/unrelated"
        ));
        // Same name in another account is another log group.
        assert!(!d.is_destination(
            DestinationKind::LogGroup,
            Some("999999999999"),
            Some("us-east-1"),
            "/ecs/exec/payments-prod"
        ));
        let ids: Vec<_> = d
            .tampering()
            .iter()
            .map(|t| t.event_id.clone().unwrap())
            .collect();
        assert_eq!(ids, ["t3", "t5", "t6"]);
        assert!(!d.is_exec_related(&events[1]) && d.is_exec_related(&events[3]));
        assert!(
            !d.is_exec_related(&events[4]),
            "a retention raise is not a cut"
        );
        assert_eq!(
            d.tampering()[0].change,
            Change::RetentionCut {
                days: 1,
                previous: None
            }
        );
        // The key was disabled: logging (channel encryption) degraded from then on.
        let at = |t: &str| d.degraded_at(&key(), Timestamp::parse(t).unwrap());
        assert!(at("2024-11-19T00:04:59Z").is_none());
        assert!(at("2024-11-19T00:06:00Z")
            .unwrap()
            .cause
            .contains("key disabled"));
    }

    #[test]
    fn logging_none_degrades_until_the_next_configuration() {
        let events = vec![
            cfg_event("c1", "2024-11-18T07:30:00Z", "OVERRIDE", Some("/g"), None),
            cfg_event("c2", "2024-11-20T07:30:00Z", "NONE", None, None),
            cfg_event("c3", "2024-11-21T07:30:00Z", "OVERRIDE", Some("/g"), None),
        ];
        let d = Destinations::from_events(&events, None);
        let at = |t: &str| d.degraded_at(&key(), Timestamp::parse(t).unwrap());
        assert!(at("2024-11-19T00:00:00Z").is_none());
        assert!(at("2024-11-20T08:00:00Z").unwrap().cause.contains("NONE"));
        assert!(at("2024-11-22T08:00:00Z").is_none());
        assert!(
            at("2024-11-17T08:00:00Z").is_none(),
            "nothing known before the first config"
        );
        assert_eq!(
            d.previous(&key(), Some("c2")).unwrap().event_id.as_deref(),
            Some("c1")
        );
        // A row without account or region still finds the unique cluster of that name.
        assert!(d
            .config_at(
                &ClusterKey::new(None, None, "payments-prod"),
                Timestamp::parse("2024-11-20T08:00:00Z").unwrap()
            )
            .is_some());
    }

    #[test]
    fn policy_destinations_and_trails() {
        let policy = LoggingPolicy {
            log_groups: vec![crate::config::Pattern::new("/ecs/*")],
            trails: vec![crate::config::Pattern::new("org-trail")],
            min_retention_days: 30,
            ..LoggingPolicy::default()
        };
        let events = vec![
            tamper(
                "t1",
                "2024-11-19T00:00:00Z",
                "logs.amazonaws.com",
                "DeleteLogGroup",
                "/ecs/payments-api",
                None,
            ),
            tamper(
                "t2",
                "2024-11-19T00:00:00Z",
                "cloudtrail.amazonaws.com",
                "StopLogging",
                "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail",
                None,
            ),
            tamper(
                "t3",
                "2024-11-19T00:00:00Z",
                "cloudtrail.amazonaws.com",
                "StopLogging",
                "scratch-trail",
                None,
            ),
        ];
        let d = Destinations::from_events(&events, Some(&policy));
        let ids: Vec<_> = d
            .tampering()
            .iter()
            .map(|t| t.event_id.clone().unwrap())
            .collect();
        assert_eq!(ids, ["t1", "t2"]);
        // Without a trail list every trail counts.
        let d = Destinations::from_events(&events, None);
        assert_eq!(d.tampering().len(), 2);
    }

    #[test]
    fn narrowed_selectors() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert!(selectors_narrowed(&v(
            r#"{"eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true}]}"#
        )));
        assert!(selectors_narrowed(&v(
            r#"{"eventSelectors":[{"readWriteType":"All","includeManagementEvents":false}]}"#
        )));
        assert!(!selectors_narrowed(&v(
            r#"{"eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}"#
        )));
        assert!(selectors_narrowed(&v(
            r#"{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Data"]}]}]}"#
        )));
        assert!(!selectors_narrowed(&v(
            r#"{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}"#
        )));
        assert_eq!(key_id("arn:aws:kms:us-east-1:1:key/abc"), "abc");
        assert_eq!(key_id("arn:aws:kms:us-east-1:1:alias/exec"), "alias/exec");
    }
}

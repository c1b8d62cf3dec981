//! Who makes the calls of the realistic profile: the people, pipelines, workloads and AWS
//! services of an organisation, each with the `userIdentity`, source address and user agent
//! CloudTrail records for them (formats.md §1.2, shaped after the real logs in
//! `tests/data/realdata`).

use serde_json::{json, Value};

use super::{hash_seed, Rng};
use crate::model::Timestamp;

/// Identity Center users of the organisation.
const PEOPLE: &[&str] = &[
    "ana.silva@example.com",
    "ben.okafor@example.com",
    "chen.wei@example.com",
    "dana.kowalski@example.com",
    "eli.cohen@example.com",
    "fatima.haddad@example.com",
    "gus.andersen@example.com",
    "hana.sato@example.com",
    "ivan.petrov@example.com",
    "jo.martin@example.com",
    "kofi.mensah@example.com",
    "lena.fischer@example.com",
    "mo.rahman@example.com",
    "nora.lind@example.com",
    "omar.farouk@example.com",
    "pia.rossi@example.com",
    "quinn.baker@example.com",
    "ravi.iyer@example.com",
    "sara.nilsson@example.com",
    "tom.lee@example.com",
    "dev.kim@example.com",
    "priya.n@example.com",
    "maria.garcia@example.com",
    "uma.devi@example.com",
];

/// Identity Center permission sets and how often people use each.
const PERMISSION_SETS: &[(&str, &str, u64)] = &[
    ("Developer", "1a2b3c4d5e6f7a8b", 45),
    ("ReadOnly", "7c1d9e0f2a3b4c5d", 25),
    ("AdministratorAccess", "0123456789abcdef", 12),
    ("DataEngineer", "5e6f7a8b9c0d1e2f", 10),
    ("SecurityAudit", "9a8b7c6d5e4f3a2b", 7),
    ("BreakGlass", "8f3c2a1b0e9d7c6f", 1),
];

/// Functions, services and roles that run in every account.
pub(super) const FUNCTIONS: &[&str] = &[
    "ledger-reconcile",
    "invoice-render",
    "s3-object-scan",
    "user-sync",
    "cost-report",
    "audit-forwarder",
    "image-resize",
    "webhook-dispatch",
    "session-cleanup",
    "search-indexer",
];
pub(super) const SERVICES: &[&str] = &[
    "api", "web", "worker", "ledger", "search", "notify", "auth", "admin",
];

/// Who makes a call.
#[derive(Clone, Copy, Debug)]
pub(super) enum Actor {
    /// A person through Identity Center: (person, permission set) indexes.
    Sso(usize, usize),
    /// The CI pipeline's deploy role, one session per run.
    Ci(u32),
    /// Terraform applying from CI.
    Terraform(u32),
    /// An ECS task's role (session name = task id).
    Task(usize),
    /// An EC2 instance profile (session name = instance id).
    Instance(u32),
    /// A Lambda function's execution role.
    Lambda(usize),
    /// A service-linked role acting for a service.
    Linked(&'static str, &'static str),
    /// An AWS service principal.
    Service(&'static str),
    /// A long-term-key IAM user.
    User(&'static str),
    /// Control Tower's execution role.
    ControlTower,
}

impl Actor {
    /// Someone at a keyboard or a pipeline: who makes management changes.
    pub fn human(rng: &mut Rng) -> Actor {
        match rng.below(100) {
            0..=54 => Actor::sso(rng),
            55..=74 => Actor::Ci(8_800_000 + rng.below(20_000) as u32),
            75..=92 => Actor::Terraform(41_000 + rng.below(3_000) as u32),
            93..=97 => {
                Actor::User(["ops-legacy", "backup-bot", "grafana-reader"][rng.below(3) as usize])
            }
            _ => Actor::ControlTower,
        }
    }

    /// A person through Identity Center, permission sets at their usual rates.
    pub fn sso(rng: &mut Rng) -> Actor {
        let person = rng.below(PEOPLE.len() as u64) as usize;
        let total: u64 = PERMISSION_SETS.iter().map(|p| p.2).sum();
        let mut r = rng.below(total);
        let set = PERMISSION_SETS
            .iter()
            .position(|p| {
                if r < p.2 {
                    true
                } else {
                    r -= p.2;
                    false
                }
            })
            .unwrap_or(0);
        Actor::Sso(person, set)
    }

    /// A workload: task, instance or function role.
    pub fn workload(rng: &mut Rng) -> Actor {
        match rng.below(10) {
            0..=5 => Actor::Task(rng.below(64) as usize),
            6..=7 => Actor::Instance(rng.below(400) as u32),
            _ => Actor::Lambda(rng.below(FUNCTIONS.len() as u64) as usize),
        }
    }
}

/// What CloudTrail says about the caller.
pub(super) struct Caller {
    pub identity: Value,
    pub ip: String,
    pub agent: String,
    pub console: bool,
}

fn role_id(account: &str, role: &str) -> String {
    format!(
        "AROA{}",
        Rng::new(hash_seed(&[account, role])).alnum(17, true)
    )
}

/// An `AssumedRole` identity with its session issuer (formats.md §1.2).
fn assumed(
    account: &str,
    path: &str,
    role: &str,
    session: &str,
    at: i64,
    invoked_by: Option<&str>,
    rng: &mut Rng,
) -> Value {
    let id = role_id(account, role);
    let created = Timestamp(at - at % 1000 - rng.below(3_000) as i64 * 1000).to_rfc3339();
    let mut ui = json!({
        "type": "AssumedRole",
        "principalId": format!("{id}:{session}"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        "accountId": account,
        "accessKeyId": format!("ASIA{}", rng.alnum(16, true)),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": id,
                "arn": format!("arn:aws:iam::{account}:role{path}{role}"), "accountId": account, "userName": role},
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"}
        }
    });
    if let Some(by) = invoked_by {
        ui["invokedBy"] = by.into();
    }
    ui
}

fn cli_agent(rng: &mut Rng, command: &str) -> String {
    let os = *rng.pick(&[
        "os/macos#23.6.0 md/arch#arm64",
        "os/linux#6.8.0-47-generic md/arch#x86_64 md/distrib#ubuntu.24",
        "os/windows#10 md/arch#amd64",
    ]);
    format!(
        "aws-cli/2.{}.{} md/awscrt#0.22.0 ua/2.0 {os} lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{command}",
        15 + rng.below(5),
        rng.below(40)
    )
}

const CONSOLE_AGENT: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

fn sdk_agent(rng: &mut Rng, api: &str) -> String {
    match rng.below(4) {
        0 => format!("Boto3/1.35.{} md/Botocore#1.35.{} ua/2.0 os/linux#5.10.226-214.880.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#legacy Botocore/1.35.{}", 30 + rng.below(20), 30 + rng.below(20), 30 + rng.below(20)),
        1 => format!("aws-sdk-go-v2/1.30.{} ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/{api}#1.{}.{}", rng.below(6), 20 + rng.below(40), rng.below(9)),
        2 => format!("aws-sdk-java/2.28.{} Linux/5.10.226-214.880.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS Java/17.0.12 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy", rng.below(30)),
        _ => format!("aws-sdk-js/3.{}.0 ua/2.1 os/linux#5.10.226-214.880.amzn2.x86_64 lang/js md/nodejs#20.17.0 api/{api}#3.{}.0", 600 + rng.below(80), 600 + rng.below(80)),
    }
}

/// The caller's identity, address and agent for one call to `source`.
pub(super) fn caller(actor: Actor, account: &str, at: i64, source: &str, rng: &mut Rng) -> Caller {
    let api = source.split('.').next().unwrap_or("");
    let host = |s: &str| s.to_owned();
    match actor {
        Actor::Sso(person, set) => {
            let (name, hex, _) = PERMISSION_SETS[set];
            let role = format!("AWSReservedSSO_{name}_{hex}");
            let user = PEOPLE[person];
            let console = rng.below(3) == 0;
            Caller {
                identity: assumed(
                    account,
                    "/aws-reserved/sso.amazonaws.com/",
                    &role,
                    user,
                    at,
                    None,
                    rng,
                ),
                ip: format!("198.51.100.{}", 10 + person * 7 % 200),
                agent: if console {
                    CONSOLE_AGENT.to_owned()
                } else {
                    cli_agent(rng, &format!("{api}.describe"))
                },
                console,
            }
        }
        Actor::Ci(run) => Caller {
            identity: assumed(account, "/ci/", "gha-deployer", &format!("GitHubActions-{run}"), at, None, rng),
            ip: format!("20.55.{}.{}", run % 200, run % 250),
            agent: sdk_agent(rng, api),
            console: false,
        },
        Actor::Terraform(run) => Caller {
            identity: assumed(account, "/ci/", "terraform-apply", &format!("terraform-run-{run}"), at, None, rng),
            ip: format!("20.61.{}.{}", run % 200, run % 250),
            agent: format!("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.75.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.4 ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/{api}#1.{}.0", 30 + rng.below(40)),
            console: false,
        },
        Actor::Task(n) => {
            let task = Rng::new(hash_seed(&[account, "task", &n.to_string()])).hex(32);
            let svc = SERVICES[n % SERVICES.len()];
            Caller {
                identity: assumed(account, "/", &format!("{svc}-task-role"), &task, at, None, rng),
                ip: format!("10.{}.{}.{}", n % 4, n % 64, 10 + n),
                agent: sdk_agent(rng, api),
                console: false,
            }
        }
        Actor::Instance(n) => {
            let id = format!("i-0{}", Rng::new(hash_seed(&[account, "i", &n.to_string()])).hex(16));
            let mut identity = assumed(account, "/", "ec2-ssm-instance-role", &id, at, None, rng);
            identity["sessionContext"]["ec2RoleDelivery"] = "2.0".into();
            Caller {
                identity,
                ip: format!("10.{}.{}.{}", 8 + n % 4, n % 250, 20 + n % 200),
                agent: "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0".to_owned(),
                console: false,
            }
        }
        Actor::Lambda(n) => {
            let f = FUNCTIONS[n];
            Caller {
                identity: assumed(account, "/service-role/", &format!("{f}-role-{}", &role_id(account, f)[4..12].to_lowercase()), f, at, None, rng),
                ip: format!("3.{}.{}.{}", 80 + n, 10 + n * 3, 100 + n),
                agent: "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145".to_owned(),
                console: false,
            }
        }
        Actor::Linked(role, by) => Caller {
            identity: assumed(
                account,
                &format!("/aws-service-role/{by}/"),
                role,
                &format!("{}", rng.below(1 << 40)),
                at,
                Some(by),
                rng,
            ),
            ip: host(by),
            agent: host(by),
            console: false,
        },
        Actor::Service(svc) => Caller {
            identity: json!({"type": "AWSService", "invokedBy": svc}),
            ip: host(svc),
            agent: host(svc),
            console: false,
        },
        Actor::User(name) => Caller {
            identity: json!({"type": "IAMUser", "principalId": format!("AIDA{}", Rng::new(hash_seed(&[account, name])).alnum(17, true)),
                "arn": format!("arn:aws:iam::{account}:user/{name}"), "accountId": account,
                "accessKeyId": format!("AKIA{}", Rng::new(hash_seed(&[name])).alnum(16, true)), "userName": name}),
            ip: "192.0.2.150".to_owned(),
            agent: format!("aws-cli/1.33.9 Python/3.9.19 Linux/5.10.226-214.879.amzn2.x86_64 botocore/1.34.131 command/{api}"),
            console: false,
        },
        Actor::ControlTower => Caller {
            identity: assumed(account, "/", "AWSControlTowerExecution", &format!("{}", rng.below(1 << 30)), at, Some("cloudformation.amazonaws.com"), rng),
            ip: "cloudformation.amazonaws.com".to_owned(),
            agent: "cloudformation.amazonaws.com".to_owned(),
            console: false,
        },
    }
}

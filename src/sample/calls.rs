//! The calls of the realistic profile's background: what an organisation's accounts do all day,
//! at the rates the 4-million-record trail had, with request and response shapes and
//! sizes after real records (`tests/data/realdata`, formats.md §1-§2).
//!
//! About 1.4% of the calls are the generic changes that can weaken any log destination (bucket
//! policies and lifecycles, log group deletion and retention, KMS key deletion, trail
//! updates), a few more hold a prefilter word without being kept (tasks and services started
//! without exec, policies naming the actions), and the rest is the read and management flood
//! (KMS decrypts, role assumptions, describes) that the scanner must pass over.

use serde_json::{json, Value};

use super::actors::{Actor, FUNCTIONS, SERVICES};
use super::{hash_seed, Rng};

/// One call before it becomes a record.
pub(super) struct Ev {
    pub actor: Actor,
    pub source: &'static str,
    pub name: &'static str,
    pub req: Value,
    pub resp: Value,
    pub extra: Option<Value>,
    pub resources: Option<Value>,
    pub read_only: bool,
    pub service_event: bool,
    pub error: Option<(&'static str, String)>,
}

impl Ev {
    fn new(actor: Actor, source: &'static str, name: &'static str, req: Value) -> Ev {
        Ev {
            actor,
            source,
            name,
            req,
            resp: Value::Null,
            extra: None,
            resources: None,
            read_only: true,
            service_event: false,
            error: None,
        }
    }
    fn write(mut self, resp: Value) -> Ev {
        self.read_only = false;
        self.resp = resp;
        self
    }
    fn on(mut self, resources: Value) -> Ev {
        self.resources = Some(resources);
        self
    }
    fn with_extra(mut self, extra: Value) -> Ev {
        self.extra = Some(extra);
        self
    }
}

/// Where a call happens.
pub(super) struct Ctx {
    pub account: &'static str,
    pub region: &'static str,
    pub env: &'static str,
}

const PURPOSES: &[&str] = &[
    "assets",
    "uploads",
    "backups",
    "data-lake",
    "athena-results",
    "artifacts",
    "alb-logs",
    "config",
    "reports",
    "exports",
    "tf-state",
    "static-site",
];

/// One of the names, at random.
fn one(rng: &mut Rng, names: &[&'static str]) -> &'static str {
    names[rng.below(names.len() as u64) as usize]
}

fn bucket(rng: &mut Rng, c: &Ctx) -> String {
    format!(
        "{}-{}-{}-{}",
        c.env,
        rng.pick(PURPOSES),
        c.account,
        c.region
    )
}

fn log_group(rng: &mut Rng, c: &Ctx) -> String {
    match rng.below(5) {
        0 | 1 => format!("/aws/lambda/{}-{}", c.env, rng.pick(FUNCTIONS)),
        2 => format!("/ecs/{}-{}", c.env, rng.pick(SERVICES)),
        3 => format!(
            "/aws/codebuild/{}-{}",
            rng.pick(SERVICES),
            rng.pick(&["build", "test", "deploy"])
        ),
        _ => format!(
            "/aws/lambda/pr-{}-{}",
            1000 + rng.below(9000),
            rng.pick(FUNCTIONS)
        ),
    }
}

fn key_arn(rng: &mut Rng, c: &Ctx) -> String {
    let k = rng.below(10).to_string();
    let id = Rng::new(hash_seed(&[c.account, c.region, &k])).uuid();
    format!("arn:aws:kms:{}:{}:key/{id}", c.region, c.account)
}

fn kms_resource(arn: &str, account: &str) -> Value {
    json!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": arn}])
}

fn s3_extra(rng: &mut Rng, bytes_in: u64) -> Value {
    json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": bytes_in,
           "AuthenticationMethod": "AuthHeader", "x-amz-id-2": format!("{}=", rng.alnum(76, false)), "bytesTransferredOut": 0})
}

fn task_arn(rng: &mut Rng, c: &Ctx, cluster: &str) -> (String, String) {
    let id = rng.hex(32);
    (
        format!("arn:aws:ecs:{}:{}:task/{cluster}/{id}", c.region, c.account),
        id,
    )
}

fn when(at: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|d| d.format("%b %-d, %Y, %-I:%M:%S %p").to_string())
        .unwrap_or_default()
}

fn b64(rng: &mut Rng, n: usize) -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n)
        .map(|_| char::from(SET[rng.below(64) as usize]))
        .collect()
}

/// An IAM-style policy statement list. `mention` adds a statement naming that action.
fn statements(rng: &mut Rng, c: &Ctx, n: u64, mention: Option<&str>) -> Vec<Value> {
    let mut out: Vec<Value> = (0..n)
        .map(|i| {
            let svc = one(rng, &["s3", "logs", "kms", "ssm", "secretsmanager", "dynamodb", "sqs", "sns"]);
            let actions: Vec<String> = (0..1 + rng.below(6))
                .map(|_| format!("{svc}:{}", one(rng, &["Get*", "List*", "Describe*", "PutObject", "GetObject", "Decrypt", "SendMessage", "Query", "PutItem", "CreateLogStream", "PutLogEvents"])))
                .collect();
            json!({"Sid": format!("Stmt{}{i}", rng.hex(8)), "Effect": "Allow", "Action": actions,
                   "Resource": [format!("arn:aws:{svc}:{}:{}:{}/*", c.region, c.account, rng.pick(SERVICES))],
                   "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-7kq2m9x4ab"}}})
        })
        .collect();
    if let Some(action) = mention {
        out.push(json!({"Sid": "GuardRails", "Effect": "Deny", "Action": [action], "Resource": "*",
                        "Condition": {"StringNotLike": {"aws:PrincipalArn": format!("arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/*BreakGlass*", c.account)}}}));
    }
    out
}

fn bucket_policy(rng: &mut Rng, c: &Ctx, b: &str) -> Value {
    let mut st = vec![
        json!({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
    ];
    for i in 0..rng.below(9) {
        let roles: Vec<String> = (0..1 + rng.below(5))
            .map(|_| {
                format!(
                    "arn:aws:iam::{}:role/{}-task-role",
                    c.account,
                    rng.pick(SERVICES)
                )
            })
            .collect();
        st.push(json!({"Sid": format!("AllowWorkloads{i}"), "Effect": "Allow", "Principal": {"AWS": roles},
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": [format!("arn:aws:s3:::{b}/{}/*", rng.pick(SERVICES))],
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-7kq2m9x4ab", "aws:SourceVpce": format!("vpce-0{}", rng.hex(16))}}}));
    }
    json!({"Version": "2012-10-17", "Statement": st})
}

fn lifecycle(rng: &mut Rng) -> Value {
    let rules: Vec<Value> = (0..1 + rng.below(5))
        .map(|i| {
            json!({"ID": format!("{}-{i}", one(rng, &["expire-tmp", "archive", "abort-multipart", "noncurrent"])), "Status": "Enabled",
                   "Filter": {"Prefix": format!("{}/", rng.pick(PURPOSES))},
                   "Transition": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 90, "StorageClass": "GLACIER_IR"}],
                   "Expiration": {"Days": ([7, 30, 90, 365, 400])[rng.below(5) as usize]},
                   "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})
        })
        .collect();
    json!({"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Rule": rules})
}

fn advanced_selectors(rng: &mut Rng) -> Value {
    let mut sel = vec![
        json!({"name": "Management events", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}),
    ];
    for _ in 0..rng.below(5) {
        sel.push(json!({"name": format!("Data events {}", rng.pick(PURPOSES)), "fieldSelectors": [
            {"field": "eventCategory", "equals": ["Data"]},
            {"field": "resources.type", "equals": [rng.pick(&["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"])]},
            {"field": "resources.ARN", "startsWith": [format!("arn:aws:s3:::{}-{}/", rng.pick(PURPOSES), rng.hex(8))]},
            {"field": "readOnly", "equals": ["false"]}]}));
    }
    Value::Array(sel)
}

fn container_defs(rng: &mut Rng, c: &Ctx, svc: &str) -> Value {
    let env: Vec<Value> = (0..4 + rng.below(20))
        .map(|i| {
            let n = 8 + rng.below(40) as usize;
            json!({"name": format!("{}_{i}", one(rng, &["FEATURE", "LOG_LEVEL", "QUEUE_URL", "TIMEOUT_MS", "REGION", "POOL_SIZE"])), "value": rng.alnum(n, false)})
        })
        .collect();
    json!([{"name": svc, "image": format!("{}.dkr.ecr.{}.amazonaws.com/{svc}:{}", c.account, c.region, rng.hex(7)),
            "cpu": 0, "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}], "essential": true,
            "environment": env, "secrets": [{"name": "DB_URL", "valueFrom": format!("arn:aws:ssm:{}:{}:parameter/{}/{svc}/db-url", c.region, c.account, c.env)}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": format!("/ecs/{}-{svc}", c.env), "awslogs-region": c.region, "awslogs-stream-prefix": "ecs"}},
            "healthCheck": {"command": ["CMD-SHELL", "curl -fsS localhost:8080/healthz || exit 1"], "interval": 30, "timeout": 5, "retries": 3}}])
}

/// A task as RunTask returns it: `enableExecuteCommand` is always in the response.
fn task_description(rng: &mut Rng, c: &Ctx, cluster: &str, svc: &str, at: i64) -> Value {
    let (arn, id) = task_arn(rng, c, cluster);
    let eni = format!("eni-0{}", rng.hex(16));
    let ip = format!("10.{}.{}.{}", rng.below(4), rng.below(250), rng.below(250));
    json!({"attachments": [{"id": rng.uuid(), "type": "ElasticNetworkInterface", "status": "PRECREATED", "details": [
            {"name": "subnetId", "value": format!("subnet-0{}", rng.hex(16))}, {"name": "networkInterfaceId", "value": eni},
            {"name": "privateIPv4Address", "value": ip}]}],
        "availabilityZone": format!("{}{}", c.region, one(rng, &["a", "b", "c"])),
        "clusterArn": format!("arn:aws:ecs:{}:{}:cluster/{cluster}", c.region, c.account),
        "containers": [{"containerArn": format!("arn:aws:ecs:{}:{}:container/{cluster}/{id}/{}", c.region, c.account, rng.uuid()),
            "taskArn": arn, "name": svc, "image": format!("{}.dkr.ecr.{}.amazonaws.com/{svc}:{}", c.account, c.region, rng.hex(7)),
            "lastStatus": "PENDING", "networkInterfaces": [{"attachmentId": rng.uuid(), "privateIpv4Address": ip}], "cpu": "0"}],
        "cpu": "512", "createdAt": when(at), "desiredStatus": "RUNNING", "enableExecuteCommand": false,
        "group": format!("family:{svc}-job"), "lastStatus": "PROVISIONING", "launchType": "FARGATE", "memory": "1024",
        "overrides": {"containerOverrides": [{"name": svc}], "inferenceAcceleratorOverrides": []},
        "platformVersion": "1.4.0", "platformFamily": "Linux", "startedBy": format!("events-rule/{}-nightly", svc),
        "tags": [], "taskArn": arn, "taskDefinitionArn": format!("arn:aws:ecs:{}:{}:task-definition/{svc}-job:{}", c.region, c.account, 10 + rng.below(90)),
        "version": 1, "ephemeralStorage": {"sizeInGiB": 20}})
}

fn service_description(rng: &mut Rng, c: &Ctx, cluster: &str, svc: &str, at: i64) -> Value {
    let td = |n: u64| {
        format!(
            "arn:aws:ecs:{}:{}:task-definition/{svc}:{n}",
            c.region, c.account
        )
    };
    let rev = 100 + rng.below(300);
    let deployment = |id: &str, status: &str, n: u64| {
        json!({"id": id, "status": status, "taskDefinition": td(n), "desiredCount": 3, "pendingCount": 0, "runningCount": 3, "failedTasks": 0,
        "createdAt": when(at), "updatedAt": when(at), "launchType": "FARGATE", "platformVersion": "1.4.0", "platformFamily": "Linux",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [format!("subnet-0{}", "a1b2c3d4e5f60718"), format!("subnet-0{}", "1827f6e5d4c3b2a1")], "securityGroups": [format!("sg-0{}", "0f1e2d3c4b5a6978")], "assignPublicIp": "DISABLED"}},
        "rolloutState": "IN_PROGRESS", "rolloutStateReason": "ECS deployment ecs-svc/1234567890123456789 in progress."})
    };
    json!({"service": {"serviceArn": format!("arn:aws:ecs:{}:{}:service/{cluster}/{svc}", c.region, c.account), "serviceName": svc,
        "clusterArn": format!("arn:aws:ecs:{}:{}:cluster/{cluster}", c.region, c.account),
        "loadBalancers": [{"targetGroupArn": format!("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{svc}/{}", c.region, c.account, rng.hex(16)), "containerName": svc, "containerPort": 8080}],
        "serviceRegistries": [], "status": "ACTIVE", "desiredCount": 3, "runningCount": 3, "pendingCount": 0, "launchType": "FARGATE", "platformVersion": "LATEST",
        "taskDefinition": td(rev + 1), "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}, "maximumPercent": 200, "minimumHealthyPercent": 100},
        "deployments": [deployment(&format!("ecs-svc/{}", rng.below(1 << 60)), "PRIMARY", rev + 1), deployment(&format!("ecs-svc/{}", rng.below(1 << 60)), "ACTIVE", rev)],
        "roleArn": format!("arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", c.account),
        "events": [], "createdAt": when(at - 86_400_000 * 90), "placementConstraints": [], "placementStrategy": [],
        "schedulingStrategy": "REPLICA", "enableECSManagedTags": true, "propagateTags": "SERVICE", "enableExecuteCommand": false}})
}

/// The generic changes that can weaken a log destination (kept by the scanner as tampering
/// candidates), `r` in 0..1_370.
fn change(rng: &mut Rng, c: &Ctx, r: u64) -> Ev {
    let who = Actor::human(rng);
    match r {
        0..=459 => {
            // Every deployment's log-retention custom resource sets retention on its groups.
            let g = log_group(rng, c);
            Ev::new(Actor::Lambda(rng.below(FUNCTIONS.len() as u64) as usize), "logs.amazonaws.com", "PutRetentionPolicy",
                json!({"logGroupName": g, "retentionInDays": ([1, 3, 7, 14, 30, 90, 365])[rng.below(7) as usize]})).write(Value::Null)
        }
        460..=709 => Ev::new(if rng.below(2) == 0 { Actor::Service("cloudformation.amazonaws.com") } else { who }, "logs.amazonaws.com", "DeleteLogGroup",
            json!({"logGroupName": log_group(rng, c)})).write(Value::Null),
        710..=769 => Ev::new(who, "logs.amazonaws.com", "DeleteLogStream",
            json!({"logGroupName": log_group(rng, c), "logStreamName": format!("{}/{}/{}", rng.pick(SERVICES), rng.pick(SERVICES), rng.hex(32))})).write(Value::Null),
        770..=969 => {
            let b = bucket(rng, c);
            let policy = bucket_policy(rng, c, &b);
            let size = policy.to_string().len() as u64;
            Ev::new(who, "s3.amazonaws.com", "PutBucketPolicy",
                json!({"bucketPolicy": policy, "bucketName": b, "Host": format!("{b}.s3.{}.amazonaws.com", c.region), "policy": ""}))
                .write(Value::Null).with_extra(s3_extra(rng, size)).on(json!([{"accountId": c.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}]))
        }
        970..=1119 => {
            let b = bucket(rng, c);
            Ev::new(who, "s3.amazonaws.com", "PutBucketLifecycle",
                json!({"lifecycle": "", "bucketName": b, "LifecycleConfiguration": lifecycle(rng), "Host": format!("{b}.s3.{}.amazonaws.com", c.region)}))
                .write(Value::Null).with_extra(s3_extra(rng, 600)).on(json!([{"accountId": c.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}]))
        }
        1120..=1239 => {
            let b = bucket(rng, c);
            let (name, q) = *rng.pick(&[
                ("DeleteBucketPolicy", "policy"), ("DeleteBucketLifecycle", "lifecycle"), ("DeleteBucketCors", "cors"),
                ("DeleteBucketTagging", "tagging"), ("DeleteBucketEncryption", "encryption"), ("DeleteBucket", ""),
                ("DeleteBucketOwnershipControls", "ownershipControls"), ("DeleteBucketPublicAccessBlock", "publicAccessBlock"),
            ]);
            let mut req = json!({"bucketName": b, "Host": format!("{b}.s3.{}.amazonaws.com", c.region)});
            if !q.is_empty() {
                req[q] = "".into();
            }
            Ev::new(who, "s3.amazonaws.com", name, req).write(Value::Null).with_extra(s3_extra(rng, 0))
                .on(json!([{"accountId": c.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}]))
        }
        1240..=1279 => {
            let trail = format!("{}-audit-trail", c.env);
            let arn = format!("arn:aws:cloudtrail:{}:{}:trail/{trail}", c.region, c.account);
            Ev::new(Actor::ControlTower, "cloudtrail.amazonaws.com", "UpdateTrail",
                json!({"name": trail, "s3BucketName": format!("aws-controltower-logs-{}-{}", c.account, c.region), "s3KeyPrefix": "o-7kq2m9x4ab",
                       "includeGlobalServiceEvents": true, "isMultiRegionTrail": true, "enableLogFileValidation": true,
                       "cloudWatchLogsLogGroupArn": format!("arn:aws:logs:{}:{}:log-group:aws-controltower/CloudTrailLogs:*", c.region, c.account),
                       "cloudWatchLogsRoleArn": format!("arn:aws:iam::{}:role/aws-controltower-CloudWatchLogsRole", c.account), "kmsKeyId": key_arn(rng, c)}))
                .write(json!({"name": trail, "s3BucketName": format!("aws-controltower-logs-{}-{}", c.account, c.region), "s3KeyPrefix": "o-7kq2m9x4ab",
                              "includeGlobalServiceEvents": true, "isMultiRegionTrail": true, "trailARN": arn, "logFileValidationEnabled": true, "isOrganizationTrail": false}))
        }
        1280..=1319 => {
            let trail = format!("{}-audit-trail", c.env);
            let sel = advanced_selectors(rng);
            Ev::new(who, "cloudtrail.amazonaws.com", "PutEventSelectors", json!({"trailName": trail, "advancedEventSelectors": sel}))
                .write(json!({"trailARN": format!("arn:aws:cloudtrail:{}:{}:trail/{trail}", c.region, c.account), "advancedEventSelectors": sel}))
        }
        1320..=1344 => {
            let key = key_arn(rng, c);
            Ev::new(who, "kms.amazonaws.com", "ScheduleKeyDeletion", json!({"keyId": key, "pendingWindowInDays": 7 + rng.below(24)}))
                .write(json!({"keyId": key, "deletionDate": "Dec 25, 2024, 12:00:00 AM", "keyState": "PendingDeletion", "pendingWindowInDays": 30}))
                .on(kms_resource(&key, c.account))
        }
        1345..=1364 => {
            let key = key_arn(rng, c);
            Ev::new(who, "kms.amazonaws.com", "DisableKey", json!({"keyId": key})).write(Value::Null).on(kms_resource(&key, c.account))
        }
        1365..=1367 => Ev::new(who, "cloudtrail.amazonaws.com", "StopLogging", json!({"name": format!("arn:aws:cloudtrail:{}:{}:trail/{}-sandbox-trail", c.region, c.account, c.env)})).write(Value::Null),
        _ => Ev::new(who, "cloudtrail.amazonaws.com", "DeleteTrail", json!({"name": format!("{}-sandbox-trail-{}", c.env, rng.hex(6))})).write(Value::Null),
    }
}

/// Calls that hold a prefilter word without being kept, and SSM sessions to instances (kept),
/// `r` in 0..74.
fn near_miss(rng: &mut Rng, c: &Ctx, r: u64, at: i64) -> Ev {
    let cluster = format!(
        "{}-{}",
        rng.pick(&["payments", "web", "batch", "data"]),
        c.env
    );
    let svc = *rng.pick(SERVICES);
    match r {
        0..=24 => {
            // Scheduled jobs: no exec flag in the request, `enableExecuteCommand: false` in each task.
            let n = 1 + rng.below(3);
            let tasks: Vec<Value> = (0..n).map(|_| task_description(rng, c, &cluster, svc, at)).collect();
            Ev::new(Actor::Linked("AWSServiceRoleForAmazonEventBridgeScheduler", "scheduler.amazonaws.com"), "ecs.amazonaws.com", "RunTask",
                json!({"cluster": cluster, "count": n, "launchType": "FARGATE", "taskDefinition": format!("{svc}-job"), "startedBy": format!("events-rule/{svc}-nightly"),
                       "networkConfiguration": {"awsvpcConfiguration": {"subnets": [format!("subnet-0{}", rng.hex(16))], "securityGroups": [format!("sg-0{}", rng.hex(16))], "assignPublicIp": "DISABLED"}},
                       "overrides": {"containerOverrides": [{"name": svc, "environment": [{"name": "RUN_DATE", "value": "2024-11-18"}]}]}}))
                .write(json!({"tasks": tasks, "failures": []}))
        }
        25..=36 => Ev::new(Actor::human(rng), "ecs.amazonaws.com", "UpdateService",
            json!({"cluster": cluster, "service": svc, "taskDefinition": format!("{svc}:{}", 100 + rng.below(300)), "desiredCount": 3,
                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}, "maximumPercent": 200, "minimumHealthyPercent": 100},
                   "forceNewDeployment": false}))
            .write(service_description(rng, c, &cluster, svc, at)),
        37..=39 => Ev::new(Actor::Service("cloudformation.amazonaws.com"), "ecs.amazonaws.com", "CreateService",
            json!({"cluster": cluster, "serviceName": svc, "taskDefinition": format!("{svc}:1"), "desiredCount": 2, "launchType": "FARGATE"}))
            .write(service_description(rng, c, &cluster, svc, at)),
        40..=51 => {
            let mention = one(rng, &["ecs:ExecuteCommand", "s3:DeleteBucket", "logs:DeleteLogGroup", "cloudtrail:StopLogging", "kms:ScheduleKeyDeletion", "ssm:StartSession"]);
            let n = 1 + rng.below(6);
            let doc = json!({"Version": "2012-10-17", "Statement": statements(rng, c, n, Some(mention))});
            Ev::new(Actor::human(rng), "iam.amazonaws.com", "PutRolePolicy",
                json!({"roleName": format!("{svc}-task-role"), "policyName": format!("{svc}-inline"), "policyDocument": serde_json::to_string_pretty(&doc).unwrap_or_default()}))
                .write(Value::Null)
        }
        52..=55 => {
            let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "ProtectAudit", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors", "logs:DeleteLogGroup", "s3:DeleteBucket", "s3:PutBucketLifecycle", "kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/AWSControlTowerExecution"}}}]});
            Ev::new(Actor::sso(rng), "organizations.amazonaws.com", "UpdatePolicy",
                json!({"policyId": format!("p-{}", rng.alnum(8, false)), "content": doc.to_string()}))
                .write(json!({"policy": {"policySummary": {"id": format!("p-{}", rng.alnum(8, false)), "name": "protect-audit", "type": "SERVICE_CONTROL_POLICY", "awsManaged": false}, "content": doc.to_string()}}))
        }
        56..=65 => {
            let instance = format!("i-0{}", rng.hex(16));
            let user = Actor::sso(rng);
            let sid = format!("{}-{}", one(rng, &["ana.silva@example.com", "ben.okafor@example.com", "chen.wei@example.com"]), rng.hex(17));
            Ev::new(user, "ssm.amazonaws.com", "StartSession", json!({"target": instance}))
                .write(json!({"sessionId": sid, "tokenValue": "Value hidden due to security reasons.", "streamUrl": format!("wss://ssmmessages.{}.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe&cell-number={}", c.region, b64(rng, 40))}))
        }
        _ => {
            let sid = format!("{}-{}", one(rng, &["ana.silva@example.com", "ben.okafor@example.com"]), rng.hex(17));
            Ev::new(Actor::sso(rng), "ssm.amazonaws.com", "TerminateSession", json!({"sessionId": sid})).write(json!({"sessionId": sid}))
        }
    }
}

/// One background call: `rate` per 100,000 records for the generic changes, the near misses
/// and the flood.
pub(super) fn background(rng: &mut Rng, c: &Ctx, at: i64) -> Ev {
    let r = rng.below(100_000);
    if r < 1_370 {
        return change(rng, c, r);
    }
    if r < 1_370 + 75 {
        return near_miss(rng, c, r - 1_370, at);
    }
    flood(rng, c, at, r)
}

/// The read and management flood: what nearly all of a trail is.
fn flood(rng: &mut Rng, c: &Ctx, at: i64, r: u64) -> Ev {
    let r = r % 1000;
    let cluster = format!(
        "{}-{}",
        rng.pick(&["payments", "web", "batch", "data"]),
        c.env
    );
    match r {
        0..=159 | 289..=328 => {
            let key = key_arn(rng, c);
            let (actor, ctx) = match rng.below(5) {
                0 => (Actor::Service("s3.amazonaws.com"), json!({"aws:s3:arn": format!("arn:aws:s3:::{}/{}/{}.parquet", bucket(rng, c), rng.pick(PURPOSES), rng.hex(20))})),
                1 => (Actor::workload(rng), json!({"aws:lambda:FunctionArn": format!("arn:aws:lambda:{}:{}:function:{}", c.region, c.account, rng.pick(FUNCTIONS))})),
                2 => (Actor::workload(rng), json!({"SecretARN": format!("arn:aws:secretsmanager:{}:{}:secret:{}/{}-{}", c.region, c.account, c.env, rng.pick(SERVICES), rng.alnum(6, false)), "SecretVersionId": rng.uuid().to_uppercase()})),
                3 => (Actor::workload(rng), json!({"PARAMETER_ARN": format!("arn:aws:ssm:{}:{}:parameter/{}/{}/db-url", c.region, c.account, c.env, rng.pick(SERVICES))})),
                _ => (Actor::Service("ebs.amazonaws.com"), json!({"aws:ebs:id": format!("vol-0{}", rng.hex(16))})),
            };
            Ev::new(actor, "kms.amazonaws.com", "Decrypt", json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": ctx}))
                .on(kms_resource(&key, c.account))
        }
        160..=214 => {
            let key = key_arn(rng, c);
            Ev::new(Actor::workload(rng), "kms.amazonaws.com", "GenerateDataKey",
                json!({"keyId": key, "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{}/{}", bucket(rng, c), rng.hex(24))}, "keySpec": "AES_256"}))
                .on(kms_resource(&key, c.account))
        }
        215..=222 => {
            let key = key_arn(rng, c);
            Ev::new(Actor::workload(rng), "kms.amazonaws.com", "Encrypt", json!({"keyId": key, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})).on(kms_resource(&key, c.account))
        }
        223..=237 => {
            let key = key_arn(rng, c);
            let name = one(rng, &["DescribeKey", "ListAliases", "GetKeyPolicy", "ListResourceTags", "GetKeyRotationStatus"]);
            Ev::new(Actor::human(rng), "kms.amazonaws.com", name, json!({"keyId": key})).on(kms_resource(&key, c.account))
        }
        238 => {
            // Key rotation: switched on by people, done by KMS itself.
            let key = key_arn(rng, c);
            if rng.below(3) == 0 {
                Ev::new(Actor::human(rng), "kms.amazonaws.com", "EnableKeyRotation", json!({"keyId": key, "rotationPeriodInDays": 365})).write(Value::Null).on(kms_resource(&key, c.account))
            } else {
                let mut e = Ev::new(Actor::Service("kms.amazonaws.com"), "kms.amazonaws.com", "RotateKey", Value::Null).on(kms_resource(&key, c.account));
                e.service_event = true;
                e.read_only = false;
                e.extra = Some(json!({"keyId": key}));
                e
            }
        }
        239..=288 => {
            let role = format!("arn:aws:iam::{}:role/{}-task-role", c.account, rng.pick(SERVICES));
            let session = rng.hex(32);
            let token_len = 600 + rng.below(400) as usize;
            Ev::new(Actor::Service("ecs-tasks.amazonaws.com"), "sts.amazonaws.com", "AssumeRole",
                json!({"roleArn": role, "roleSessionName": session, "durationSeconds": 3600}))
                .write(json!({"credentials": {"accessKeyId": format!("ASIA{}", rng.alnum(16, true)), "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", b64(rng, token_len)), "expiration": when(at + 3_600_000)},
                              "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", rng.alnum(17, true)), "arn": format!("arn:aws:sts::{}:assumed-role/{}/{session}", c.account, role.rsplit('/').next().unwrap_or(""))}}))
                .on(json!([{"accountId": c.account, "type": "AWS::IAM::Role", "ARN": role}]))
        }
        329..=336 => {
            let run = 8_800_000 + rng.below(20_000);
            Ev::new(Actor::Service("token.actions.githubusercontent.com"), "sts.amazonaws.com", "AssumeRoleWithWebIdentity",
                json!({"roleArn": format!("arn:aws:iam::{}:role/ci/gha-deployer", c.account), "roleSessionName": format!("GitHubActions-{run}"), "durationSeconds": 3600}))
                .write(json!({"credentials": {"accessKeyId": format!("ASIA{}", rng.alnum(16, true)), "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", b64(rng, 800)), "expiration": when(at + 3_600_000)},
                              "subjectFromWebIdentityToken": "repo:example-org/platform:ref:refs/heads/main", "audience": "sts.amazonaws.com", "provider": format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", c.account)}))
                .with_extra(json!({"identityProviderConnectionVerificationMethod": "IAMTrustStore"}))
        }
        337..=356 => Ev::new(Actor::human(rng), "sts.amazonaws.com", "GetCallerIdentity", Value::Null),
        357..=446 => {
            let name = one(rng, &["DescribeInstances", "DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs", "DescribeRouteTables", "DescribeNetworkInterfaces", "DescribeVolumes", "DescribeImages", "DescribeInstanceStatus", "DescribeAvailabilityZones"]);
            let filters: Vec<Value> = (0..rng.below(4)).map(|_| json!({"name": rng.pick(&["vpc-id", "tag:Name", "instance-state-name", "subnet-id"]), "valueSet": {"items": [{"value": format!("{}-{}", rng.pick(SERVICES), rng.hex(8))}]}})).collect();
            Ev::new(if rng.below(2) == 0 { Actor::Linked("AWSServiceRoleForConfig", "config.amazonaws.com") } else { Actor::human(rng) }, "ec2.amazonaws.com", name,
                json!({"filterSet": {"items": filters}, "maxResults": 1000}))
        }
        447..=471 => {
            let name = one(rng, &["CreateNetworkInterface", "DeleteNetworkInterface", "AttachNetworkInterface", "CreateTags"]);
            Ev::new(Actor::Linked("AWSServiceRoleForECS", "ecs.amazonaws.com"), "ec2.amazonaws.com", name,
                json!({"subnetId": format!("subnet-0{}", rng.hex(16)), "description": format!("arn:aws:ecs:{}:{}:attachment/{}", c.region, c.account, rng.uuid()),
                       "groupSet": {"items": [{"groupId": format!("sg-0{}", rng.hex(16))}]}, "privateIpAddressesSet": {}, "ipv6AddressCount": 0, "clientToken": rng.uuid()}))
                .write(json!({"requestId": rng.uuid(), "networkInterface": {"networkInterfaceId": format!("eni-0{}", rng.hex(16)), "subnetId": format!("subnet-0{}", rng.hex(16)),
                    "vpcId": format!("vpc-0{}", rng.hex(16)), "availabilityZone": format!("{}a", c.region), "description": "ECS task ENI", "ownerId": c.account, "requesterId": "578734482556", "requesterManaged": true,
                    "status": "pending", "macAddress": format!("0a:{}:{}:{}:{}:{}", rng.hex(2), rng.hex(2), rng.hex(2), rng.hex(2), rng.hex(2)), "privateIpAddress": format!("10.{}.{}.{}", rng.below(4), rng.below(250), rng.below(250)),
                    "sourceDestCheck": true, "interfaceType": "interface", "groupSet": {"items": [{"groupId": format!("sg-0{}", rng.hex(16)), "groupName": "ecs-tasks"}]}}}))
        }
        472..=536 => {
            let b = bucket(rng, c);
            let (name, q) = *rng.pick(&[("GetBucketAcl", "acl"), ("GetBucketPolicy", "policy"), ("GetBucketLocation", "location"), ("GetBucketVersioning", "versioning"),
                ("GetBucketEncryption", "encryption"), ("GetBucketLogging", "logging"), ("GetBucketLifecycle", "lifecycle"), ("GetBucketPublicAccessBlock", "publicAccessBlock"),
                ("GetBucketTagging", "tagging"), ("GetBucketOwnershipControls", "ownershipControls")]);
            let mut req = json!({"bucketName": b, "Host": format!("{b}.s3.{}.amazonaws.com", c.region)});
            req[q] = "".into();
            Ev::new(if rng.below(2) == 0 { Actor::Linked("AWSServiceRoleForConfig", "config.amazonaws.com") } else { Actor::human(rng) }, "s3.amazonaws.com", name, req)
                .with_extra(s3_extra(rng, 0)).on(json!([{"accountId": c.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}]))
        }
        537..=538 => {
            let b = bucket(rng, c);
            let name = one(rng, &["PutBucketTagging", "PutBucketVersioning", "PutBucketEncryption", "CreateBucket", "PutBucketPublicAccessBlock"]);
            Ev::new(Actor::human(rng), "s3.amazonaws.com", name, json!({"bucketName": b, "Host": format!("{b}.s3.{}.amazonaws.com", c.region)})).write(Value::Null).with_extra(s3_extra(rng, 200))
        }
        539..=568 => {
            let g = log_group(rng, c);
            Ev::new(Actor::workload(rng), "logs.amazonaws.com", "CreateLogStream",
                json!({"logGroupName": g, "logStreamName": format!("ecs/{}/{}", rng.pick(SERVICES), rng.hex(32))})).write(Value::Null)
        }
        569..=598 => {
            let name = one(rng, &["DescribeLogGroups", "DescribeLogStreams", "FilterLogEvents", "GetLogEvents", "StartQuery", "GetQueryResults", "DescribeSubscriptionFilters"]);
            Ev::new(Actor::human(rng), "logs.amazonaws.com", name, json!({"logGroupName": log_group(rng, c), "limit": 50, "startFromHead": false}))
        }
        599..=601 => {
            let name = one(rng, &["CreateLogGroup", "TagLogGroup", "PutSubscriptionFilter", "AssociateKmsKey"]);
            Ev::new(Actor::Service("cloudformation.amazonaws.com"), "logs.amazonaws.com", name,
                json!({"logGroupName": log_group(rng, c), "tags": {"aws:cloudformation:stack-name": format!("{}-{}", c.env, rng.pick(SERVICES)), "team": rng.pick(SERVICES)}})).write(Value::Null)
        }
        602..=646 => {
            let name = one(rng, &["DescribeTasks", "ListTasks", "DescribeServices", "DescribeClusters", "ListServices", "DescribeTaskDefinition", "ListContainerInstances"]);
            let tasks: Vec<String> = (0..1 + rng.below(4)).map(|_| rng.hex(32)).collect();
            Ev::new(if rng.below(2) == 0 { Actor::Service("ecs.amazonaws.com") } else { Actor::human(rng) }, "ecs.amazonaws.com", name, json!({"cluster": cluster, "tasks": tasks, "include": ["TAGS"]}))
        }
        647..=649 => {
            let svc = *rng.pick(SERVICES);
            let defs = container_defs(rng, c, svc);
            Ev::new(Actor::Ci(8_800_000 + rng.below(20_000) as u32), "ecs.amazonaws.com", "RegisterTaskDefinition",
                json!({"family": svc, "taskRoleArn": format!("arn:aws:iam::{}:role/{svc}-task-role", c.account), "executionRoleArn": format!("arn:aws:iam::{}:role/ecsTaskExecutionRole", c.account),
                       "networkMode": "awsvpc", "containerDefinitions": defs, "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024"}))
                .write(json!({"taskDefinition": {"taskDefinitionArn": format!("arn:aws:ecs:{}:{}:task-definition/{svc}:{}", c.region, c.account, 100 + rng.below(400)), "family": svc, "revision": 100 + rng.below(400), "status": "ACTIVE"}}))
        }
        650..=684 => {
            let name = one(rng, &["GetRole", "ListAttachedRolePolicies", "GetRolePolicy", "ListRoles", "GetPolicy", "GetPolicyVersion", "ListRoleTags", "GenerateServiceLastAccessedDetails"]);
            Ev::new(if rng.below(2) == 0 { Actor::Linked("AWSServiceRoleForConfig", "config.amazonaws.com") } else { Actor::human(rng) }, "iam.amazonaws.com", name,
                json!({"roleName": format!("{}-task-role", rng.pick(SERVICES))}))
        }
        685..=704 => {
            let name = one(rng, &["GetFunction", "ListFunctions", "GetFunctionConfiguration", "ListVersionsByFunction", "GetPolicy"]);
            Ev::new(Actor::human(rng), "lambda.amazonaws.com", name, json!({"functionName": format!("{}-{}", c.env, rng.pick(FUNCTIONS))}))
        }
        705..=706 => {
            let f = format!("{}-{}", c.env, rng.pick(FUNCTIONS));
            let vars: serde_json::Map<String, Value> = (0..3 + rng.below(12)).map(|i| (format!("VAR_{i}"), Value::String(rng.alnum(20, false)))).collect();
            Ev::new(Actor::Ci(8_800_000 + rng.below(20_000) as u32), "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
                json!({"functionName": f, "environment": {"variables": vars}, "timeout": 30, "memorySize": 512}))
                .write(json!({"functionName": f, "functionArn": format!("arn:aws:lambda:{}:{}:function:{f}", c.region, c.account), "runtime": "python3.12", "role": format!("arn:aws:iam::{}:role/service-role/{f}-role", c.account),
                              "handler": "app.handler", "codeSize": 1_000_000 + rng.below(9_000_000), "timeout": 30, "memorySize": 512, "lastModified": "2024-11-18T10:00:00.000+0000",
                              "codeSha256": b64(rng, 44), "version": "$LATEST", "state": "Active", "lastUpdateStatus": "InProgress", "architectures": ["arm64"]}))
        }
        707..=741 => {
            let name = one(rng, &["GetParameter", "GetParameters", "GetParametersByPath"]);
            Ev::new(Actor::workload(rng), "ssm.amazonaws.com", name,
                json!({"name": format!("/{}/{}/{}", c.env, rng.pick(SERVICES), one(rng, &["db-url", "api-key", "feature-flags", "queue-url"])), "withDecryption": true}))
        }
        742..=769 => Ev::new(Actor::Instance(rng.below(400) as u32), "ssm.amazonaws.com", "UpdateInstanceInformation",
            json!({"instanceId": format!("i-0{}", rng.hex(16)), "agentVersion": "3.3.987.0", "agentStatus": "Active", "platformType": "Linux", "platformName": "Amazon Linux",
                   "platformVersion": "2023", "iPAddress": format!("10.{}.{}.{}", rng.below(4), rng.below(250), rng.below(250)), "computerName": format!("ip-10-0-{}-{}.ec2.internal", rng.below(250), rng.below(250)), "agentName": "amazon-ssm-agent"}))
            .write(Value::Null),
        770..=794 => Ev::new(Actor::workload(rng), "secretsmanager.amazonaws.com", one(rng, &["GetSecretValue", "GetSecretValue", "DescribeSecret"]),
            json!({"secretId": format!("arn:aws:secretsmanager:{}:{}:secret:{}/{}-{}", c.region, c.account, c.env, rng.pick(SERVICES), rng.alnum(6, false))})),
        795..=826 => Ev::new(Actor::Service("ecs-tasks.amazonaws.com"), "ecr.amazonaws.com", one(rng, &["GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability"]),
            json!({"repositoryName": rng.pick(SERVICES), "registryId": c.account, "imageIds": [{"imageTag": rng.hex(7)}], "acceptedMediaTypes": ["application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"]})),
        827..=833 => Ev::new(Actor::human(rng), "cloudtrail.amazonaws.com", one(rng, &["LookupEvents", "DescribeTrails", "GetTrailStatus", "GetEventSelectors", "ListTrails"]),
            json!({"lookupAttributes": [{"attributeKey": "EventName", "attributeValue": rng.pick(&["ConsoleLogin", "AssumeRole", "RunInstances"])}], "maxResults": 50})),
        834..=858 => Ev::new(Actor::human(rng), "monitoring.amazonaws.com", one(rng, &["GetMetricData", "DescribeAlarms", "PutMetricAlarm", "ListMetrics"]),
            json!({"metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/ECS", "metricName": "CPUUtilization", "dimensions": [{"name": "ClusterName", "value": cluster}]}, "period": 60, "stat": "Average"}}],
                   "startTime": when(at - 3_600_000), "endTime": when(at)})),
        859..=873 => Ev::new(Actor::human(rng), "cloudformation.amazonaws.com", one(rng, &["DescribeStacks", "DescribeStackEvents", "ListStacks", "GetTemplate", "DescribeChangeSet"]),
            json!({"stackName": format!("arn:aws:cloudformation:{}:{}:stack/{}-{}/{}", c.region, c.account, c.env, rng.pick(SERVICES), rng.uuid())})),
        874..=875 => Ev::new(Actor::Ci(8_800_000 + rng.below(20_000) as u32), "cloudformation.amazonaws.com", one(rng, &["UpdateStack", "CreateChangeSet", "ExecuteChangeSet"]),
            json!({"stackName": format!("{}-{}", c.env, rng.pick(SERVICES)), "templateURL": format!("https://cdk-hnb659fds-assets-{}-{}.s3.{}.amazonaws.com/{}.json", c.account, c.region, c.region, rng.hex(64)),
                   "parameters": [{"parameterKey": "BootstrapVersion", "parameterValue": "/cdk-bootstrap/hnb659fds/version"}], "capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                   "roleARN": format!("arn:aws:iam::{}:role/cdk-hnb659fds-cfn-exec-role-{}-{}", c.account, c.account, c.region)}))
            .write(json!({"stackId": format!("arn:aws:cloudformation:{}:{}:stack/{}/{}", c.region, c.account, c.env, rng.uuid())})),
        876..=885 => Ev::new(Actor::Linked("AWSServiceRoleForConfig", "config.amazonaws.com"), "config.amazonaws.com", one(rng, &["PutEvaluations", "DescribeConfigRules", "GetResourceConfigHistory"]),
            json!({"resultToken": b64(rng, 120), "evaluations": [{"complianceResourceType": "AWS::S3::Bucket", "complianceResourceId": bucket(rng, c), "complianceType": "COMPLIANT", "orderingTimestamp": when(at)}]})),
        886..=903 => Ev::new(Actor::Linked("AWSServiceRoleForECS", "ecs.amazonaws.com"), "elasticloadbalancing.amazonaws.com", one(rng, &["DescribeTargetHealth", "RegisterTargets", "DeregisterTargets", "DescribeTargetGroups"]),
            json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}", c.region, c.account, rng.pick(SERVICES), rng.hex(16)), "targets": [{"id": format!("10.0.{}.{}", rng.below(250), rng.below(250)), "port": 8080}]})),
        904..=921 => Ev::new(Actor::human(rng), one(rng, &["dynamodb.amazonaws.com", "rds.amazonaws.com"]), one(rng, &["DescribeTable", "ListTables", "DescribeDBInstances", "DescribeDBClusters"]),
            json!({"tableName": format!("{}-{}", c.env, rng.pick(SERVICES)), "dBInstanceIdentifier": format!("{}-db", c.env)})),
        922..=927 => Ev::new(Actor::sso(rng), one(rng, &["sso.amazonaws.com", "organizations.amazonaws.com"]), one(rng, &["ListAccounts", "GetRoleCredentials", "DescribeOrganization", "ListAccountRoles"]),
            json!({"maxResults": 100})),
        928..=947 => Ev::new(Actor::workload(rng), one(rng, &["sqs.amazonaws.com", "sns.amazonaws.com"]), one(rng, &["GetQueueAttributes", "ListQueues", "GetTopicAttributes", "ListSubscriptionsByTopic"]),
            json!({"queueUrl": format!("https://sqs.{}.amazonaws.com/{}/{}-{}", c.region, c.account, c.env, rng.pick(SERVICES)), "attributeNames": ["All"]})),
        948..=964 => Ev::new(Actor::Service("application-autoscaling.amazonaws.com"), "autoscaling.amazonaws.com", one(rng, &["DescribeAutoScalingGroups", "DescribeScalingActivities", "DescribeScalingPolicies"]),
            json!({"serviceNamespace": "ecs", "resourceId": format!("service/{cluster}/{}", rng.pick(SERVICES))})),
        965..=972 => Ev::new(Actor::human(rng), one(rng, &["route53.amazonaws.com", "acm.amazonaws.com", "wafv2.amazonaws.com"]), one(rng, &["ListResourceRecordSets", "DescribeCertificate", "GetWebACL"]),
            json!({"hostedZoneId": format!("Z0{}", rng.alnum(18, true)), "maxItems": "300"})),
        _ => {
            let workload = Actor::workload(rng);
            Ev::new(workload, "sts.amazonaws.com", "GetCallerIdentity", Value::Null)
        }
    }
}

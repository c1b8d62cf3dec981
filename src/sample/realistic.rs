//! The realistic profile: an organisation trail as the user had it (4 million records in
//! 11,260 gzip files, 910 MB compressed, 6.1 GB of JSON), the benchmark corpus the README's
//! figures come from.
//!
//! Eleven accounts in one to two regions each deliver one file per account and region every
//! few minutes, about 355 records a file on average with day/night and burst variation. The
//! background is [`super::calls`]: the KMS, STS, EC2, S3, CloudWatch Logs, ECS, IAM, Lambda,
//! SSM... calls an organisation makes all day, about 1.4% of them generic changes to buckets,
//! log groups, keys and trails. The exec scenario of the simple profile is laid over it, so the
//! sessions, attempts and exec changes are the same kind of thing the sample week holds.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::actors::caller;
use super::calls::{background, Ctx, Ev};
use super::{
    hash_seed, scenario, write_transcripts, Rng, Written, DAY, HOUR, ORG, PROD, STAGING, WEEK_START,
};
use crate::model::Timestamp;

/// The organisation's accounts: id, environment name, regions, and share of the activity.
const ACCOUNTS: &[(&str, &str, &[&str], u64)] = &[
    (PROD, "prod", &["us-east-1", "eu-west-1"], 30),
    (STAGING, "staging", &["us-east-1", "eu-west-1"], 14),
    ("210987654321", "shared", &["us-east-1", "eu-west-1"], 10),
    ("310987654322", "data", &["us-east-1", "us-west-2"], 10),
    ("410987654323", "security", &["us-east-1"], 6),
    ("510987654324", "logging", &["us-east-1"], 4),
    ("610987654325", "dev", &["eu-west-1", "eu-central-1"], 10),
    ("710987654326", "sandbox", &["us-east-1"], 4),
    ("810987654327", "network", &["us-east-1", "eu-west-1"], 4),
    ("910987654328", "ml", &["us-west-2"], 4),
    ("101987654329", "analytics", &["eu-west-1"], 4),
];

/// Records per delivered file on average (4M records in 11,260 files).
const RECORDS_PER_FILE: u64 = 355;

/// One CloudTrail record in CloudTrail's key order (formats.md §1.1).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rec<'a> {
    event_version: &'static str,
    user_identity: &'a Value,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<&'a Value>,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<&'a Value>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_credential_from_console: Option<&'static str>,
}

/// Serialises one background call as a record.
fn record(ev: Ev, account: &str, region: &str, at: i64, rng: &mut Rng) -> Vec<u8> {
    let who = caller(ev.actor, account, at, ev.source, rng);
    let human = !matches!(
        ev.actor,
        super::actors::Actor::Service(_) | super::actors::Actor::Linked(..)
    );
    let mut error = ev.error;
    if error.is_none() && human && rng.below(40) == 0 {
        let arn = who.identity["arn"].as_str().unwrap_or("").to_owned();
        let svc = ev.source.split('.').next().unwrap_or("");
        error = Some((
            "AccessDenied",
            format!(
                "User: {arn} is not authorized to perform: {svc}:{} because no identity-based policy allows the {svc}:{} action",
                ev.name, ev.name
            ),
        ));
    }
    let failed = error.is_some();
    let host = format!(
        "{}.{region}.amazonaws.com",
        ev.source.trim_end_matches(".amazonaws.com")
    );
    let rec = Rec {
        event_version: ["1.08", "1.09", "1.10", "1.11"][rng.below(4) as usize],
        user_identity: &who.identity,
        event_time: Timestamp(at - at % 1000).to_rfc3339(),
        event_source: ev.source,
        event_name: ev.name,
        aws_region: region,
        source_ip_address: &who.ip,
        user_agent: &who.agent,
        error_code: error.as_ref().map(|e| e.0),
        error_message: error.as_ref().map(|e| e.1.as_str()),
        request_parameters: &ev.req,
        response_elements: if failed { &Value::Null } else { &ev.resp },
        additional_event_data: ev.extra.as_ref(),
        request_id: rng.uuid(),
        event_id: rng.uuid(),
        read_only: ev.read_only,
        resources: ev.resources.as_ref(),
        event_type: if ev.service_event {
            "AwsServiceEvent"
        } else {
            "AwsApiCall"
        },
        management_event: true,
        recipient_account_id: account,
        event_category: "Management",
        tls_details: (human && !ev.service_event).then(|| {
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host})
        }),
        session_credential_from_console: who.console.then_some("true"),
    };
    serde_json::to_vec(&rec).unwrap_or_default()
}

/// How busy an hour of the week is: office hours on weekdays, quieter nights and weekends.
fn diurnal(at: i64) -> u64 {
    let hour = (at - WEEK_START).rem_euclid(DAY) / HOUR;
    let weekend = (at - WEEK_START) / DAY >= 5;
    let base = match hour {
        0..=5 => 35,
        6..=7 | 19..=23 => 60,
        _ => 100,
    };
    if weekend {
        base / 2
    } else {
        base
    }
}

/// One delivered file: its stream, time window and record count.
struct Slot {
    account: &'static str,
    env: &'static str,
    region: &'static str,
    start: i64,
    window: i64,
    records: u64,
}

fn layout(records: u64, seed: u64) -> Vec<Slot> {
    let streams: Vec<(&str, &str, &str, u64)> = ACCOUNTS
        .iter()
        .flat_map(|&(a, env, regions, w)| {
            regions
                .iter()
                .map(move |&r| (a, env, r, w / regions.len() as u64))
        })
        .collect();
    let total_weight: u64 = streams.iter().map(|s| s.3).sum();
    let files = (records / RECORDS_PER_FILE).max(streams.len() as u64 * 7);
    let mut rng = Rng::new(seed ^ 0x0a11_ca7e);
    let mut slots = Vec::new();
    let mut weights = Vec::new();
    for &(account, env, region, w) in &streams {
        let n = (files * w / total_weight).max(7) as i64;
        let window = 7 * DAY / n;
        for i in 0..n {
            let start = WEEK_START + i * window;
            // Bursty: most files are ordinary, a few hold a deployment's or a batch job's burst.
            let jitter = 30 + rng.below(100) + if rng.below(10) == 0 { 300 } else { 0 };
            weights.push(diurnal(start) * jitter);
            slots.push(Slot {
                account,
                env,
                region,
                start,
                window,
                records: 0,
            });
        }
    }
    let sum: u64 = weights.iter().sum();
    let mut given = 0;
    for (s, w) in slots.iter_mut().zip(&weights) {
        s.records = (u128::from(records) * u128::from(*w) / u128::from(sum)) as u64;
        given += s.records;
    }
    let n = slots.len() as u64;
    for i in 0..records - given {
        slots[(i * 7919 % n) as usize].records += 1;
    }
    slots
}

fn write_gz(path: &Path, data: &[u8]) -> io::Result<()> {
    fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let mut enc =
        flate2::write::GzEncoder::new(fs::File::create(path)?, flate2::Compression::new(6));
    enc.write_all(data)?;
    enc.finish()?;
    Ok(())
}

/// Writes the realistic corpus under `out` (same layout as the simple profile).
pub fn generate(
    out: &Path,
    background_records: u64,
    seed: u64,
    transcripts: bool,
) -> io::Result<Written> {
    let (scenario_records, sessions) = scenario(seed, background_records / 20_000);
    let slots = layout(background_records, seed);
    let mut placed: Vec<Vec<Vec<u8>>> = (0..slots.len()).map(|_| Vec::new()).collect();
    for p in scenario_records {
        if let Some(i) = slots.iter().position(|s| {
            s.account == p.account
                && s.region == p.region
                && p.at >= s.start
                && p.at < s.start + s.window
        }) {
            placed[i].push(serde_json::to_vec(&p.record)?);
        }
    }
    let written: Vec<io::Result<u64>> = slots
        .par_iter()
        .zip(placed.into_par_iter())
        .map(|(s, mut records)| {
            let mut rng = Rng::new(
                seed ^ hash_seed(&[s.account, s.region, &s.start.to_string(), "realistic"]),
            );
            let ctx = Ctx {
                account: s.account,
                region: s.region,
                env: s.env,
            };
            for _ in 0..s.records {
                let at = s.start + rng.below(s.window as u64) as i64;
                let ev = background(&mut rng, &ctx, at);
                records.push(record(ev, s.account, s.region, at, &mut rng));
            }
            for k in (1..records.len()).rev() {
                let j = rng.below(k as u64 + 1) as usize;
                records.swap(k, j);
            }
            let delivered = Timestamp(s.start + s.window + (1 + rng.below(5) as i64) * 60_000);
            let day = delivered.day().replace('-', "/");
            let stamp = chrono::DateTime::from_timestamp_millis(delivered.0)
                .map(|d| d.format("%Y%m%dT%H%MZ").to_string())
                .unwrap_or_default();
            let path = out.join(format!(
                "AWSLogs/{ORG}/{a}/CloudTrail/{r}/{day}/{a}_CloudTrail_{r}_{stamp}_{u}.json.gz",
                a = s.account,
                r = s.region,
                u = rng.alnum(16, true)
            ));
            let mut body =
                Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
            body.extend_from_slice(b"{\"Records\":[");
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(r);
            }
            body.extend_from_slice(b"]}");
            write_gz(&path, &body)?;
            Ok(records.len() as u64)
        })
        .collect();
    let mut total = Written::default();
    for w in written {
        total.records += w?;
        total.files += 1;
    }
    if transcripts {
        total.files += write_transcripts(out, &sessions)?;
    }
    Ok(total)
}

//! AWS sources for `sync`: the one place that builds SDK clients and talks to AWS.
//!
//! ```text
//! Aws (credentials, regions, endpoint, per-account roles)
//!   ├─ trail_pull.rs  S3 trail bucket: account/region/day folders ──┐
//!   ├─ lookup.rs      CloudTrail LookupEvents pages ────────────────┼─► ingest::scan_bytes ─► Sink ─► store
//!   └─ transcripts.rs S3 objects and CloudWatch Logs streams ───────┘   (+ checkpoints, once durable)
//! ```
//!
//! Clients come from the standard credential chain (environment, profile, SSO, process, web
//! identity, container and instance roles) as the AWS CLI resolves it, with `--profile`,
//! `--region`, `--endpoint-url` and `--role-arn-template` on top. Everything past this module
//! takes plain bytes and Rust values, so parsing and analysis never need a network.

pub mod cloudwatch;
pub mod lookup;
pub mod progress;
pub mod pull;
pub mod s3;
pub mod sink;
pub mod trail;
pub mod trail_pull;
pub mod transcripts;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Where and as whom to call AWS (raw values from the command line).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// A named profile of the shared config files.
    pub profile: Option<String>,
    /// Regions to call regional APIs in; the first also signs S3 requests.
    pub regions: Vec<String>,
    /// A custom endpoint for every service (a local AWS-compatible server, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// `arn:aws:iam::{account}:role/Name`: the role assumed in each account.
    pub role_arn_template: Option<String>,
}

/// What went wrong with a call, in the terms a user acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The service asked us to slow down.
    Throttled,
    /// No such object, stream, group or bucket.
    NotFound,
    /// The caller is not allowed.
    AccessDenied,
    /// The object's KMS key is disabled.
    KmsDisabled,
    /// The object's KMS key is pending deletion or otherwise unusable.
    KmsUnusable,
    /// No credentials could be found or used.
    Credentials,
    /// The service could not be reached.
    Network,
    /// Anything else.
    Other,
}

/// A failed AWS call: what was asked, the service's code and message, and a hint.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// The call and its target, e.g. `GetObject s3://bucket/key`.
    pub what: String,
    pub failure: Failure,
    /// The service's error code (`AccessDenied`, `KMS.DisabledException`, ...).
    pub code: Option<String>,
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.what)?;
        match &self.code {
            Some(c) if !self.message.contains(c.as_str()) => write!(f, "{c}: {}", self.message)?,
            _ => write!(f, "{}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// Error codes AWS services use for throttling (the SDKs' own list).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

impl AwsError {
    /// Builds an error from an SDK error, classifying it.
    pub fn from_sdk<E>(what: impl Into<String>, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = match &err {
            SdkError::ServiceError(_) => err.raw_response().map(|r| r.status().as_u16()),
            _ => None,
        };
        let code = err.code().map(str::to_owned);
        let message = match (&err, err.message()) {
            (SdkError::ServiceError(_), Some(m)) if !m.is_empty() => m.to_owned(),
            _ => DisplayErrorContext(&err).to_string(),
        };
        let failure = classify(code.as_deref(), status, &err, &message);
        let hint = match failure {
            Failure::Credentials => Some(
                "no usable credentials: set AWS_PROFILE or --profile, run `aws sso login`, or \
                 export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                    .to_owned(),
            ),
            _ => None,
        };
        AwsError {
            what: what.into(),
            failure,
            code,
            message,
            hint,
        }
    }

    /// A plain error that did not come from the SDK.
    pub fn other(what: impl Into<String>, message: impl Into<String>) -> AwsError {
        AwsError {
            what: what.into(),
            failure: Failure::Other,
            code: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> AwsError {
        self.hint = Some(hint.into());
        self
    }
}

fn classify<E, R>(
    code: Option<&str>,
    status: Option<u16>,
    err: &SdkError<E, R>,
    message: &str,
) -> Failure {
    if let Some(c) = code {
        if THROTTLING_CODES.contains(&c) {
            return Failure::Throttled;
        }
        match c {
            "NoSuchKey" | "NotFound" | "ResourceNotFoundException" => return Failure::NotFound,
            // Not "this object is missing": nothing under the bucket can be read.
            "NoSuchBucket" => return Failure::Other,
            "KMS.DisabledException" | "DisabledException" => return Failure::KmsDisabled,
            "KMS.KMSInvalidStateException"
            | "KMSInvalidStateException"
            | "KMS.NotFoundException" => return Failure::KmsUnusable,
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "Forbidden" => {
                return Failure::AccessDenied
            }
            "InvalidAccessKeyId"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException" => return Failure::Credentials,
            _ => {}
        }
    }
    match status {
        Some(429 | 503) => return Failure::Throttled,
        Some(404) => return Failure::NotFound,
        Some(403) => return Failure::AccessDenied,
        _ => {}
    }
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            if message.contains("credential") {
                Failure::Credentials
            } else {
                Failure::Network
            }
        }
        SdkError::ConstructionFailure(_) if message.contains("credential") => Failure::Credentials,
        _ => Failure::Other,
    }
}

/// How many times a throttled call is tried before giving up.
const THROTTLE_TRIES: u32 = 8;

/// Counts calls and throttles for a summary.
#[derive(Debug, Default)]
pub struct CallStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
}

impl CallStats {
    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Throttling answers met so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

/// Runs a call, backing off exponentially (with jitter) while the service throttles.
///
/// The SDK already retries transient failures (`AWS_MAX_ATTEMPTS`, `retry_mode` in the profile);
/// this outer loop keeps a long pull going through sustained throttling instead of failing.
pub async fn with_backoff<T, F, Fut>(stats: &CallStats, mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(250);
    let mut tries = 0;
    loop {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        match call().await {
            Err(e) if e.failure == Failure::Throttled && tries + 1 < THROTTLE_TRIES => {
                stats.throttled.fetch_add(1, Ordering::Relaxed);
                tries += 1;
                tokio::time::sleep(delay + jitter(delay)).await;
                delay = (delay * 2).min(Duration::from_secs(20));
            }
            other => return other,
        }
    }
}

/// Up to half of `d`, from the clock's low bits: spreads concurrent retries apart.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// Connected AWS configuration: the base credentials plus per-account roles.
pub struct Aws {
    base: SdkConfig,
    template: Option<String>,
    roles: Mutex<HashMap<String, SdkConfig>>,
    regions: Vec<String>,
}

/// The region used when nothing names one (S3 signing only; regional APIs require one).
const FALLBACK_REGION: &str = "us-east-1";

impl Aws {
    /// Resolves credentials and places like the AWS CLI does.
    pub async fn connect(s: &Settings) -> Aws {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(p) = &s.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = s.regions.first() {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &s.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let base = loader.load().await;
        let regions = if s.regions.is_empty() {
            base.region()
                .map(|r| vec![r.to_string()])
                .unwrap_or_default()
        } else {
            s.regions.clone()
        };
        Aws {
            base,
            template: s.role_arn_template.clone(),
            roles: Mutex::new(HashMap::new()),
            regions,
        }
    }

    /// The regions to call regional APIs in (`--region`, else the profile's or environment's).
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// Whether a role is assumed per account.
    pub fn assumes_roles(&self) -> bool {
        self.template.is_some()
    }

    /// An S3 client (path-style when a custom endpoint is set, as local servers need).
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.base);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        } else if self.base.region().is_none() {
            b = b.region(Region::new(FALLBACK_REGION));
        }
        if self.base.endpoint_url().is_some() {
            b = b.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// A bucket's own region (so requests are signed for it), when AWS says; `None` with a
    /// custom endpoint, where regions are not enforced.
    pub async fn bucket_region(&self, bucket: &str) -> Option<String> {
        if self.base.endpoint_url().is_some() {
            return None;
        }
        let out = self.s3(None).head_bucket().bucket(bucket).send().await;
        match out {
            Ok(o) => o.bucket_region().map(str::to_owned),
            Err(e) => e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_owned),
        }
    }

    /// The configuration for one account: the base credentials, or the templated role.
    pub async fn account(&self, account: Option<&str>) -> Result<SdkConfig, AwsError> {
        let (Some(template), Some(account)) = (&self.template, account) else {
            return Ok(self.base.clone());
        };
        if let Some(c) = self
            .roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
        {
            return Ok(c.clone());
        }
        let arn = role_arn(template, account);
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(arn.clone())
            .session_name("execaudit-sync")
            .configure(&self.base);
        if self.base.region().is_none() {
            builder = builder.region(Region::new(FALLBACK_REGION));
        }
        let provider = builder.build().await;
        let conf = self
            .base
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
        self.roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned(), conf.clone());
        Ok(conf)
    }

    /// The account the base credentials belong to (STS GetCallerIdentity).
    pub async fn caller_account(&self) -> Result<String, AwsError> {
        let mut b = aws_sdk_sts::config::Builder::from(&self.base);
        if self.base.region().is_none() {
            b = b.region(Region::new(FALLBACK_REGION));
        }
        let out = aws_sdk_sts::Client::from_conf(b.build())
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| AwsError::other("sts:GetCallerIdentity", "no account in the answer"))
    }
}

/// A CloudTrail client for one account's configuration in one region.
pub fn cloudtrail(conf: &SdkConfig, region: &str) -> aws_sdk_cloudtrail::Client {
    let c = aws_sdk_cloudtrail::config::Builder::from(conf)
        .region(Region::new(region.to_owned()))
        .build();
    aws_sdk_cloudtrail::Client::from_conf(c)
}

/// A CloudWatch Logs client for one account's configuration in one region.
pub fn logs(conf: &SdkConfig, region: &str) -> aws_sdk_cloudwatchlogs::Client {
    let c = aws_sdk_cloudwatchlogs::config::Builder::from(conf)
        .region(Region::new(region.to_owned()))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(c)
}

/// Fills `{account}` in a role ARN template.
pub fn role_arn(template: &str, account: &str) -> String {
    template.replace("{account}", account)
}

/// Checks a role ARN template before any call is made.
pub fn check_role_template(template: &str) -> Result<(), String> {
    if !template.contains("{account}") {
        return Err(format!(
            "{template:?} has no {{account}} placeholder, e.g. 'arn:aws:iam::{{account}}:role/AuditRead'"
        ));
    }
    if !template.starts_with("arn:") {
        return Err(format!("{template:?} is not an ARN"));
    }
    Ok(())
}

/// Whether text is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_templates_are_filled_and_checked() {
        let t = "arn:aws:iam::{account}:role/AuditRead";
        assert!(check_role_template(t).is_ok());
        assert_eq!(
            role_arn(t, "111122223333"),
            "arn:aws:iam::111122223333:role/AuditRead"
        );
        assert!(check_role_template("arn:aws:iam::1:role/X").is_err());
        assert!(check_role_template("{account}").is_err());
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("o-abc1234567"));
        assert!(!is_account_id("12345678901"));
    }

    #[test]
    fn errors_read_as_what_code_message_hint() {
        let e = AwsError {
            what: "GetObject s3://b/k".into(),
            failure: Failure::AccessDenied,
            code: Some("AccessDenied".into()),
            message: "Access Denied".into(),
            hint: Some("needs kms:Decrypt".into()),
        };
        assert_eq!(
            e.to_string(),
            "GetObject s3://b/k: AccessDenied: Access Denied (needs kms:Decrypt)"
        );
        let e = AwsError {
            code: Some("KMS.DisabledException".into()),
            message: "arn:aws:kms:x is disabled.".into(),
            hint: None,
            ..e
        };
        assert_eq!(
            e.to_string(),
            "GetObject s3://b/k: KMS.DisabledException: arn:aws:kms:x is disabled."
        );
    }
}

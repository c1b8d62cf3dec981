//! S3 calls for `sync`: `s3://` locations, paged listings, object reads that explain failures.
//!
//! Reading an SSE-KMS object needs `kms:Decrypt` on its key besides `s3:GetObject`, and S3
//! answers a missing `kms:Decrypt` with the same bare `AccessDenied` as a missing `s3:GetObject`
//! (formats.md §5). `HeadObject` needs no KMS permission, so after a denied read it tells which
//! of the two is missing; a disabled or pending-deletion key has codes of its own.

use aws_sdk_s3::Client;

use super::{with_backoff, AwsError, CallStats, Failure};

/// A bucket and a key prefix, from `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://bucket[/prefix]` (a trailing `/` is optional).
    pub fn parse(text: &str) -> Result<S3Url, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{text:?}: expected s3://bucket[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
        if !valid {
            return Err(format!("{text:?}: {bucket:?} is not an S3 bucket name"));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// The prefix with a trailing `/` (empty stays empty): what keys under it start with.
    pub fn dir(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// `s3://bucket/key`.
    pub fn object(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    pub objects: Vec<Listed>,
    /// Sub-"folders" when listed with a `/` delimiter.
    pub prefixes: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

/// Lists one page under `prefix` (after `start_after` on the first page, continuing from
/// `token` on later ones), optionally grouped by `/`.
pub async fn list_page(
    client: &Client,
    stats: &CallStats,
    bucket: &str,
    prefix: &str,
    delimited: bool,
    start_after: Option<&str>,
    token: Option<&str>,
) -> Result<Page, AwsError> {
    let what = || format!("ListObjectsV2 s3://{bucket}/{prefix}");
    let out = with_backoff(stats, || async {
        let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
        if delimited {
            req = req.delimiter("/");
        }
        if let Some(t) = token {
            req = req.continuation_token(t);
        } else if let Some(s) = start_after {
            req = req.start_after(s);
        }
        req.send().await.map_err(|e| AwsError::from_sdk(what(), e))
    })
    .await
    .map_err(|e| explain_list(e, bucket))?;
    Ok(Page {
        objects: out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: o.e_tag().map(str::to_owned),
                })
            })
            .collect(),
        prefixes: out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect(),
        next: if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_owned)
        } else {
            None
        },
    })
}

/// Every sub-"folder" directly under `prefix` (which ends in `/`), all pages.
pub async fn subfolders(
    client: &Client,
    stats: &CallStats,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = list_page(client, stats, bucket, prefix, true, None, token.as_deref()).await?;
        out.extend(page.prefixes);
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

fn explain_list(e: AwsError, bucket: &str) -> AwsError {
    match (e.failure, e.code.as_deref()) {
        (Failure::NotFound, Some("NoSuchBucket")) => e.with_hint(format!(
            "there is no bucket {bucket:?} (or it is in another partition)"
        )),
        (Failure::AccessDenied, _) => e.with_hint(format!(
            "listing needs s3:ListBucket on arn:aws:s3:::{bucket}"
        )),
        _ => e,
    }
}

/// Reads one object whole. Failures say what is missing: `s3:GetObject`, `kms:Decrypt` on the
/// object's key, or a key that is disabled or pending deletion.
pub async fn get(
    client: &Client,
    stats: &CallStats,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, AwsError> {
    let url = format!("s3://{bucket}/{key}");
    let result = with_backoff(stats, || async {
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("GetObject {url}"), e))?;
        let body = out.body.collect().await.map_err(|e| {
            let mut err =
                AwsError::other(format!("GetObject {url}"), format!("reading the body: {e}"));
            err.failure = Failure::Network;
            err
        })?;
        Ok(body.into_bytes().to_vec())
    })
    .await;
    match result {
        Ok(b) => Ok(b),
        Err(e) => Err(explain_get(client, bucket, key, e).await),
    }
}

async fn explain_get(client: &Client, bucket: &str, key: &str, e: AwsError) -> AwsError {
    match e.failure {
        Failure::KmsDisabled => e.with_hint(
            "the object's KMS key is disabled: it cannot be read until the key is enabled again",
        ),
        Failure::KmsUnusable => e.with_hint(
            "the object's KMS key is pending deletion or unusable: cancel the deletion to read it; \
             once deleted, the object can never be read",
        ),
        Failure::AccessDenied => {
            let head = client.head_object().bucket(bucket).key(key).send().await;
            let kms_key = head.ok().and_then(|h| {
                let sse = h.server_side_encryption().map(|s| s.as_str().to_owned());
                match sse.as_deref() {
                    Some("aws:kms") | Some("aws:kms:dsse") => Some(
                        h.ssekms_key_id()
                            .unwrap_or("the bucket's default key")
                            .to_owned(),
                    ),
                    _ => None,
                }
            });
            match kms_key {
                Some(k) => e.with_hint(format!(
                    "the object is encrypted with KMS key {k}: the caller can see it but probably \
                     lacks kms:Decrypt on that key (grant it in the key policy or an IAM policy)"
                )),
                None => e.with_hint(format!(
                    "needs s3:GetObject on arn:aws:s3:::{bucket}/{key}, and kms:Decrypt on the key \
                     when the bucket uses SSE-KMS (probably missing if s3:GetObject is granted); \
                     without s3:ListBucket, S3 also answers a missing object this way"
                )),
            }
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse() {
        assert_eq!(
            S3Url::parse("s3://trail-bucket").unwrap(),
            S3Url {
                bucket: "trail-bucket".into(),
                prefix: String::new()
            }
        );
        let u = S3Url::parse("s3://trail-bucket/org/logs/").unwrap();
        assert_eq!(u.prefix, "org/logs");
        assert_eq!(u.dir(), "org/logs/");
        assert_eq!(u.to_string(), "s3://trail-bucket/org/logs");
        assert_eq!(u.object("a/b.log"), "s3://trail-bucket/a/b.log");
        assert!(S3Url::parse("trail-bucket").is_err());
        assert!(S3Url::parse("s3://Bad_Bucket!").is_err());
        assert!(S3Url::parse("s3://").is_err());
    }
}

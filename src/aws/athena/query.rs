//! One Athena query from start to end: `StartQueryExecution`, polling `GetQueryExecution`
//! until a final state, stopping it (`StopQueryExecution`) when the user interrupts the run,
//! and paging `GetQueryResults`. A query that fails or is cancelled is reported with Athena's
//! own reason.

use std::time::Duration;

use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, QueryExecutionState, ResultConfiguration,
};
use aws_sdk_athena::Client;

use super::super::{with_backoff, AwsError, CallStats};

/// Where results go and how they are encrypted (the AWS CLI's names).
#[derive(Debug, Clone, Default)]
pub struct ResultPlace {
    /// `--work-group`.
    pub work_group: Option<String>,
    /// `--output-location s3://...`.
    pub output_location: Option<String>,
    /// `--encryption-option SSE_S3|SSE_KMS|CSE_KMS`.
    pub encryption_option: Option<String>,
    /// `--kms-key` (with SSE_KMS or CSE_KMS).
    pub kms_key: Option<String>,
}

/// Athena bills $5 per TB scanned (2^40 bytes), each query rounded up to a megabyte with a
/// 10 MB minimum.
pub fn cost_usd(bytes: u64) -> f64 {
    const MB: u64 = 1 << 20;
    let billed = bytes.div_ceil(MB).max(10) * MB;
    billed as f64 / (1u64 << 40) as f64 * 5.0
}

/// What a finished query did, for the run summary.
#[derive(Debug, Clone)]
pub struct QueryRecord {
    /// What it was for (`create database`, `create table`, `extract`, ...).
    pub purpose: String,
    pub id: String,
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`.
    pub state: String,
    pub bytes_scanned: u64,
    /// Rows read from its results.
    pub rows: u64,
    /// Athena's reason when it did not succeed.
    pub reason: Option<String>,
    /// Whether the query was DDL (not billed).
    pub ddl: bool,
}

impl QueryRecord {
    /// One line for the summary.
    pub fn line(&self) -> String {
        let mut s = format!(
            "athena query {} ({}): {}, {} scanned",
            self.id,
            self.purpose,
            self.state,
            crate::aws::progress::human_bytes(self.bytes_scanned)
        );
        if !self.ddl {
            s.push_str(&format!(
                ", cost estimate ${:.4} at $5/TB, {} rows",
                cost_usd(self.bytes_scanned),
                self.rows
            ));
        }
        if let Some(r) = &self.reason {
            s.push_str(&format!(": {r}"));
        }
        s
    }
}

/// How a query ended when it did not succeed.
#[derive(Debug)]
pub enum QueryError {
    /// An API call failed.
    Call(AwsError),
    /// The query ended FAILED or CANCELLED (the record says why).
    Ended(QueryRecord),
    /// The user interrupted the run; the query was stopped.
    Interrupted(QueryRecord),
}

fn encryption(place: &ResultPlace) -> Result<Option<EncryptionConfiguration>, AwsError> {
    let Some(opt) = &place.encryption_option else {
        return Ok(None);
    };
    let mut b =
        EncryptionConfiguration::builder().encryption_option(EncryptionOption::from(opt.as_str()));
    if let Some(k) = &place.kms_key {
        b = b.kms_key(k);
    }
    b.build()
        .map(Some)
        .map_err(|e| AwsError::other("--encryption-option", e.to_string()))
}

/// Starts a query; returns its id.
pub async fn start(
    client: &Client,
    stats: &CallStats,
    sql: &str,
    place: &ResultPlace,
) -> Result<String, AwsError> {
    let enc = encryption(place)?;
    let out = with_backoff(stats, || async {
        let mut req = client.start_query_execution().query_string(sql);
        if let Some(w) = &place.work_group {
            req = req.work_group(w);
        }
        if place.output_location.is_some() || enc.is_some() {
            let mut rc = ResultConfiguration::builder();
            if let Some(o) = &place.output_location {
                rc = rc.output_location(o);
            }
            if let Some(e) = &enc {
                rc = rc.encryption_configuration(e.clone());
            }
            req = req.result_configuration(rc.build());
        }
        req.send()
            .await
            .map_err(|e| AwsError::from_sdk("athena:StartQueryExecution", e))
    })
    .await?;
    out.query_execution_id()
        .map(str::to_owned)
        .ok_or_else(|| AwsError::other("athena:StartQueryExecution", "no query id in the answer"))
}

/// Waits for a query's final state. `interrupt` resolves when the user asks to stop (Ctrl-C):
/// the query is then stopped so it is not left running (and billing) behind the tool.
pub async fn wait(
    client: &Client,
    stats: &CallStats,
    id: &str,
    purpose: &str,
    interrupt: &mut (impl std::future::Future<Output = ()> + Unpin),
) -> Result<QueryRecord, QueryError> {
    let mut delay = Duration::from_millis(200);
    let mut record = QueryRecord {
        purpose: purpose.to_owned(),
        id: id.to_owned(),
        state: "QUEUED".into(),
        bytes_scanned: 0,
        rows: 0,
        reason: None,
        ddl: purpose != "extract",
    };
    loop {
        let out = with_backoff(stats, || async {
            client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(format!("athena:GetQueryExecution {id}"), e))
        })
        .await
        .map_err(QueryError::Call)?;
        let q = out.query_execution();
        let status = q.and_then(|q| q.status());
        let state = status.and_then(|s| s.state()).cloned();
        record.bytes_scanned = q
            .and_then(|q| q.statistics())
            .and_then(|s| s.data_scanned_in_bytes())
            .and_then(|b| u64::try_from(b).ok())
            .unwrap_or(0);
        if let Some(s) = &state {
            record.state = s.as_str().to_owned();
        }
        match state {
            Some(QueryExecutionState::Succeeded) => return Ok(record),
            Some(QueryExecutionState::Failed | QueryExecutionState::Cancelled) => {
                let reason = status
                    .and_then(|s| s.athena_error())
                    .and_then(|e| e.error_message())
                    .or_else(|| status.and_then(|s| s.state_change_reason()))
                    .unwrap_or("Athena gave no reason");
                record.reason = Some(reason.to_owned());
                return Err(QueryError::Ended(record));
            }
            _ => {}
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = &mut *interrupt => {
                let stopped = client.stop_query_execution().query_execution_id(id).send().await;
                record.state = "CANCELLED".into();
                record.reason = Some(match stopped {
                    Ok(_) => "interrupted: the query was stopped (StopQueryExecution)".into(),
                    Err(e) => format!(
                        "interrupted, and stopping the query failed: {}",
                        AwsError::from_sdk("athena:StopQueryExecution", e)
                    ),
                });
                return Err(QueryError::Interrupted(record));
            }
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// One page of results: the cells (`None` for SQL NULL) and where the next page starts.
pub struct ResultPage {
    pub rows: Vec<Vec<Option<String>>>,
    pub next: Option<String>,
}

/// Rows per `GetQueryResults` page (the API's maximum).
pub const PAGE_ROWS: i32 = 1000;

/// Reads one page of a finished query's results.
pub async fn page(
    client: &Client,
    stats: &CallStats,
    id: &str,
    token: Option<&str>,
) -> Result<ResultPage, AwsError> {
    let out = with_backoff(stats, || async {
        let mut req = client
            .get_query_results()
            .query_execution_id(id)
            .max_results(PAGE_ROWS);
        if let Some(t) = token {
            req = req.next_token(t);
        }
        req.send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("athena:GetQueryResults {id}"), e))
    })
    .await?;
    let rows = out
        .result_set()
        .map(|rs| {
            rs.rows()
                .iter()
                .map(|r| {
                    r.data()
                        .iter()
                        .map(|d| d.var_char_value().map(str::to_owned))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ResultPage {
        rows,
        next: out.next_token().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_five_dollars_a_terabyte_with_a_ten_megabyte_minimum() {
        assert!((cost_usd(1 << 40) - 5.0).abs() < 1e-9);
        assert!((cost_usd(0) - cost_usd(10 << 20)).abs() < 1e-12);
        assert!(cost_usd(11 << 20) > cost_usd(10 << 20));
        assert!((cost_usd(100 << 30) - 0.48828125).abs() < 1e-9);
    }
}

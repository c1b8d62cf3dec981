//! What every puller shares: the run's time range and limits, and the step from fetched bytes
//! to scanned rows (gzip inflated on a blocking thread, then [`crate::ingest::scan_bytes`]).

use std::cell::RefCell;

use crate::ingest::gzip::{is_gzip, Inflater};
use crate::ingest::{scan_bytes, scan_transcript, FileReport, InputScan};

/// The run's time range, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Inclusive start.
    pub since_ms: i64,
    /// Exclusive end.
    pub until_ms: i64,
    /// When the run started (nothing after it exists yet).
    pub now_ms: i64,
}

/// Limits and filters every puller honours.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Objects (or streams) fetched at once; memory is bounded by this, not by the object count.
    pub concurrency: usize,
    /// Only these accounts (empty: all found).
    pub accounts: Vec<String>,
    /// Only these regions' trail folders (empty: all found).
    pub regions: Vec<String>,
}

impl Options {
    /// Whether an account passes `--accounts`.
    pub fn wants_account(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    /// Whether a region passes `--regions`.
    pub fn wants_region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }
}

/// How fetched bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Anything the local scanner recognises (trail files and exports).
    Any,
    /// A transcript, whatever it holds.
    Transcript,
}

thread_local! {
    static INFLATER: RefCell<Inflater> = RefCell::new(Inflater::default());
}

/// Inflates (when gzip) and scans fetched bytes; `source` names them (`s3://bucket/key`).
/// Runs on a blocking thread: inflating and scanning are CPU work.
pub fn decode_and_scan(raw: Vec<u8>, source: &str, expect: Expect) -> InputScan {
    let scan = |bytes: &[u8]| match expect {
        Expect::Any => scan_bytes(bytes, source),
        Expect::Transcript => scan_transcript(bytes, source),
    };
    if !is_gzip(&raw) {
        return scan(&raw);
    }
    let mut plain = Vec::new();
    let inflated = INFLATER.with(|i| i.borrow_mut().inflate(&raw, &mut plain));
    drop(raw);
    match inflated {
        Ok(n) => scan(&plain[..n]),
        Err(e) => InputScan {
            report: FileReport {
                path: source.into(),
                error: Some(e.to_string()),
                ..FileReport::default()
            },
            ..InputScan::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_and_plain_bytes_scan_alike_and_corrupt_gzip_is_named() {
        let doc = br#"{"Records":[{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-05-14T09:00:00Z","eventSource":"ssm.amazonaws.com","eventName":"StartSession","awsRegion":"us-east-1","requestParameters":{"target":"ecs:c_t_r"}}]}"#;
        let mut gz = Vec::new();
        {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
            enc.write_all(doc).unwrap();
            enc.finish().unwrap();
        }
        let a = decode_and_scan(doc.to_vec(), "s3://b/plain.json", Expect::Any);
        let b = decode_and_scan(gz.clone(), "s3://b/k.json.gz", Expect::Any);
        assert_eq!(a.events.len(), 1);
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.report.bytes, doc.len() as u64);
        gz.truncate(gz.len() / 2);
        let c = decode_and_scan(gz, "s3://b/cut.json.gz", Expect::Any);
        assert!(c.report.error.is_some());
        assert_eq!(c.report.path.display().to_string(), "s3://b/cut.json.gz");
    }
}

//! execaudit answers, for AWS ECS Exec: who opened a shell in which container, when, what did
//! they run, and was that allowed?
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! inputs ──► ingest (local files, gzip; cloudtrail scanner: prefilter + exact classify, rayon)
//!        ──► model (ExecEvent, ControlEvent; model::frame builds the polars frames)
//!        ──► store (Parquet, partitioned by day, deduplicated on eventID)
//!        ──► correlate (sessions, failed attempts)
//!        ──► report (table / json / jsonl / csv, secrets redacted)
//! ```
//!
//! `cli` holds raw arguments, `config` resolves them once, `run` wires a command to the stages.

pub mod alloc;
pub mod aws;
pub mod cli;
pub mod config;
pub mod correlate;
pub mod dataset;
pub mod detect;
pub mod ingest;
pub mod loadgen;
pub mod model;
pub mod redact;
pub mod report;
pub mod run;
pub mod sample;
pub mod store;
pub mod terminal;
pub mod trace;

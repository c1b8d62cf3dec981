//! Where pulled rows go: a batch in memory, appended to the store, flushed to disk, and only
//! then the checkpoints that cover them.
//!
//! Sources add the rows of each input and stage the checkpoint that the rows complete; a flush
//! appends the batch through one store [`crate::store::Writer`], commits it (parts fsync'd, the
//! manifest published durably) and only then writes the staged checkpoints. A crash before the flush loses the batch and the checkpoints together, so the
//! next run reads those inputs again (the store drops what it already has): no gap, no
//! duplicate. Flushing every few hundred inputs keeps memory bounded and the redo small.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::ingest::{transcript_frames, InputScan};
use crate::model::normalize::Classified;
use crate::model::{CommandRow, ControlEvent, ExecEvent, TranscriptRow};
use crate::store::checkpoint::{CheckpointError, Checkpoints, Durable, Key};
use crate::store::{Appended, Store, StoreError};

/// Inputs between flushes.
const FLUSH_INPUTS: usize = 500;
/// Rows between flushes (a few very rich inputs).
const FLUSH_ROWS: usize = 20_000;
/// Time between flushes, so a slow pull still makes durable progress.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// What the store took, per table, over a whole run.
#[derive(Debug, Default, Clone)]
pub struct Taken {
    pub exec: Appended,
    pub control: Appended,
    pub transcripts: Appended,
    pub commands: Appended,
    /// Exec events whose `eventID` was stored with other content.
    pub conflicts: crate::model::Conflicts,
}

/// Flush failures.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("writing the store: {0}")]
    Store(#[from] StoreError),
    #[error("writing a checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("building transcript frames: {0}")]
    Frames(#[from] polars::prelude::PolarsError),
}

/// The batch between a source and the store.
pub struct Sink<'s> {
    store: &'s mut Store,
    checkpoints: Checkpoints,
    exec: Vec<ExecEvent>,
    control: Vec<ControlEvent>,
    transcripts: Vec<(TranscriptRow, Vec<CommandRow>)>,
    staged: BTreeMap<Key, serde_json::Value>,
    inputs: usize,
    last_flush: Instant,
    /// Totals over the run.
    pub taken: Taken,
    /// Flushes done.
    pub flushes: u64,
    /// The stored exec events' ids as the last committed flush left them.
    exec_ids: Option<crate::model::idset::IdSet>,
}

impl<'s> Sink<'s> {
    /// A sink into an open (writable) store.
    pub fn new(store: &'s mut Store) -> Sink<'s> {
        Sink {
            checkpoints: Checkpoints::new(store.root()),
            store,
            exec: Vec::new(),
            control: Vec::new(),
            transcripts: Vec::new(),
            staged: BTreeMap::new(),
            inputs: 0,
            last_flush: Instant::now(),
            taken: Taken::default(),
            flushes: 0,
            exec_ids: None,
        }
    }

    /// The store's checkpoints (to load; saving goes through [`Sink::stage`]).
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// The store being written.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Adds one input's rows to the batch.
    pub fn add(&mut self, scan: InputScan) {
        self.inputs += 1;
        for e in scan.events {
            match e {
                Classified::Exec(e) => self.exec.push(*e),
                Classified::Control(c) => self.control.push(*c),
            }
        }
        self.transcripts.extend(scan.transcripts);
    }

    /// Stages a checkpoint; written at the next flush, after the rows added before it.
    pub fn stage<T: Serialize>(&mut self, key: Key, value: &T) {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.staged.insert(key, v);
    }

    /// Whether enough has gathered (or enough time has passed) to flush.
    pub fn due(&self) -> bool {
        let rows = self.exec.len() + self.control.len() + self.transcripts.len();
        self.inputs >= FLUSH_INPUTS
            || rows >= FLUSH_ROWS
            || (self.inputs + self.staged.len() > 0 && self.last_flush.elapsed() >= FLUSH_EVERY)
    }

    /// Appends the batch, makes it durable, then writes the staged checkpoints.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.last_flush = Instant::now();
        if self.inputs == 0 && self.staged.is_empty() {
            return Ok(());
        }
        let (transcripts, commands) = transcript_frames(std::mem::take(&mut self.transcripts))?;
        let mut w = self.store.writer();
        if let Some(ids) = self.exec_ids.take() {
            w.use_exec_ids(ids);
        }
        self.taken.exec += w.append_exec(std::mem::take(&mut self.exec))?;
        self.taken.conflicts.extend(w.take_conflicts());
        self.taken.control += w.append(std::mem::take(&mut self.control))?;
        let (t, c) = w.append_transcripts(transcripts, commands)?;
        self.taken.transcripts += t;
        self.taken.commands += c;
        let ids = w.take_exec_ids();
        w.commit()?;
        // Only a committed flush's ids are kept (a failed one reads them again).
        self.exec_ids = ids;
        // The commit fsync'd the parts and published the manifest durably.
        let durable = Durable::after_commit();
        for (key, value) in std::mem::take(&mut self.staged) {
            self.checkpoints.save(&key, &value, &durable)?;
        }
        self.inputs = 0;
        self.flushes += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::scan_bytes;

    const RECORD: &str = r#"{"Records":[{"eventVersion":"1.08","eventID":"e-1","eventTime":"2024-05-14T09:31:07Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::111122223333:user/alice"},"requestParameters":{"cluster":"c","task":"t","container":"app","command":"/bin/sh","interactive":true},"responseElements":{"clusterArn":"arn:aws:ecs:us-east-1:111122223333:cluster/c","taskArn":"arn:aws:ecs:us-east-1:111122223333:task/c/t","containerName":"app","session":{"sessionId":"ecs-execute-command-abc","tokenValue":"HIDDEN_DUE_TO_SECURITY_REASONS"}}}]}"#;

    #[test]
    fn checkpoints_are_written_only_by_a_flush_after_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_for_write(dir.path()).unwrap();
        let mut sink = Sink::new(&mut store);
        sink.add(scan_bytes(RECORD.as_bytes(), "s3://b/k1"));
        let key = Key::new(["test", "source"]);
        sink.stage(key.clone(), &"after k1");
        assert_eq!(sink.checkpoints().load::<String>(&key).unwrap(), None);
        assert!(sink.store().read::<ExecEvent>(None).unwrap().is_empty());
        sink.flush().unwrap();
        assert_eq!(sink.store().read::<ExecEvent>(None).unwrap().len(), 1);
        assert_eq!(
            sink.checkpoints().load::<String>(&key).unwrap().as_deref(),
            Some("after k1")
        );
        // The same input again: nothing added, the checkpoint moves on.
        sink.add(scan_bytes(RECORD.as_bytes(), "s3://b/k1"));
        sink.stage(key.clone(), &"again");
        sink.flush().unwrap();
        assert_eq!(sink.taken.exec.added, 1);
        assert_eq!(sink.taken.exec.already_stored, 1);
        assert_eq!(sink.store().read::<ExecEvent>(None).unwrap().len(), 1);
    }

    /// The ids a flush keeps are known to the next one without reading the store again: a
    /// copy of an event flushed before, with its time moved to another day, is not stored a
    /// second time, and is named.
    #[test]
    fn a_later_flush_knows_the_events_an_earlier_one_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_for_write(dir.path()).unwrap();
        let mut sink = Sink::new(&mut store);
        sink.add(scan_bytes(RECORD.as_bytes(), "s3://b/k1"));
        sink.flush().unwrap();
        let moved = RECORD.replace("2024-05-14T09:31:07Z", "2024-05-16T09:31:07Z");
        sink.add(scan_bytes(moved.as_bytes(), "s3://b/k2"));
        sink.flush().unwrap();
        assert_eq!(sink.taken.exec.added, 1);
        assert_eq!(sink.store().read::<ExecEvent>(None).unwrap().len(), 1);
        assert_eq!(sink.taken.conflicts.count, 1, "{:?}", sink.taken.conflicts);
        assert!(sink.taken.conflicts.examples[0].contains("event_time"));
    }
}

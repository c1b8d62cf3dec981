//! The local Parquet store: one dataset per table, partitioned by UTC event day.
//!
//! ```text
//! <store>/exec_events/day=2024-05-14/part-<ms>-<pid>-<n>.parquet
//! <store>/control_events/day=2024-05-14/part-....parquet
//! ```
//!
//! Appends are idempotent: rows whose key (`event_id`, `transcript_id`, `command_id`) is already in that day's partition (a row's
//! day never changes, so a duplicate can only be there) are dropped before writing. Each part is
//! written to a temporary name and renamed into place, so a failed or interrupted run leaves
//! either a whole part or none; readers also drop repeated ids, so even a crash in the middle
//! of a compaction cannot show an event twice. One writer at a time holds `<store>/.lock`.

pub mod checkpoint;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use polars::prelude::*;

use crate::model::{CommandRow, ControlEvent, ExecEvent, Table, Timestamp, TranscriptRow};

/// Parts in one day's partition before they are merged into one.
const COMPACT_AT: usize = 24;

/// Store failures, each naming the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet { path: PathBuf, source: PolarsError },
    #[error("{0}: another execaudit process is writing to this store; try again when it ends")]
    Locked(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn pq(path: &Path) -> impl FnOnce(PolarsError) -> StoreError + '_ {
    move |source| StoreError::Parquet {
        path: path.to_owned(),
        source,
    }
}

/// A row the store can partition and deduplicate.
pub trait Stored: Table {
    /// The column that identifies a row (`event_id`, `transcript_id`, `command_id`).
    const KEY: &'static str;
    fn key(&self) -> Option<&str>;
    /// The time that picks the row's day partition.
    fn time(&self) -> Timestamp;
}

macro_rules! stored {
    ($t:ty, $key:ident, $time:ident) => {
        impl Stored for $t {
            const KEY: &'static str = stringify!($key);
            fn key(&self) -> Option<&str> {
                self.$key.as_deref()
            }
            fn time(&self) -> Timestamp {
                self.$time
            }
        }
    };
}

stored!(ExecEvent, event_id, event_time);
stored!(ControlEvent, event_id, event_time);
stored!(TranscriptRow, transcript_id, time);
stored!(CommandRow, command_id, time);

/// Every table the store holds.
const TABLES: [&str; 4] = [
    ExecEvent::NAME,
    ControlEvent::NAME,
    TranscriptRow::NAME,
    CommandRow::NAME,
];

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub added: u64,
    pub already_stored: u64,
}

/// An opened store.
pub struct Store {
    root: PathBuf,
    _lock: Option<fs::File>,
    /// Parts appended but not yet flushed to disk (see [`Store::sync_written`]).
    unsynced: Mutex<Vec<PathBuf>>,
}

static PART_SEQ: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) a store for writing; takes the writer lock.
    pub fn open_for_write(root: &Path) -> Result<Store, StoreError> {
        fs::create_dir_all(root).map_err(io(root))?;
        let lock_path = root.join(".lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(root.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let store = Store {
            root: root.to_owned(),
            _lock: Some(lock),
            unsynced: Mutex::new(Vec::new()),
        };
        store.remove_stale_temporaries()?;
        Ok(store)
    }

    /// Opens a store for reading; a missing store reads as empty.
    pub fn open_for_read(root: &Path) -> Store {
        Store {
            root: root.to_owned(),
            _lock: None,
            unsynced: Mutex::new(Vec::new()),
        }
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn table_dir<T: Table>(&self) -> PathBuf {
        self.root.join(T::NAME)
    }

    /// Temporary parts left by an interrupted writer are never complete: remove them.
    fn remove_stale_temporaries(&self) -> Result<(), StoreError> {
        for table in TABLES {
            for day in list_dir(&self.root.join(table))? {
                for f in list_dir(&day)? {
                    if f.extension().is_some_and(|e| e == "tmp") {
                        fs::remove_file(&f).map_err(io(&f))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends rows not already stored; returns how many were added and skipped.
    pub fn append<T: Stored>(&self, rows: Vec<T>) -> Result<Appended, StoreError> {
        let mut by_day: BTreeMap<String, Vec<T>> = BTreeMap::new();
        for row in rows {
            by_day.entry(row.time().day()).or_default().push(row);
        }
        let mut report = Appended::default();
        for (day, rows) in by_day {
            let dir = self.table_dir::<T>().join(format!("day={day}"));
            let existing = read_ids(&dir, T::KEY)?;
            let before = rows.len() as u64;
            let mut seen = HashSet::new();
            let fresh: Vec<T> = rows
                .into_iter()
                .filter(|r| {
                    r.key()
                        .is_none_or(|id| !existing.contains(id) && seen.insert(id.to_owned()))
                })
                .collect();
            report.already_stored += before - fresh.len() as u64;
            if fresh.is_empty() {
                continue;
            }
            report.added += fresh.len() as u64;
            fs::create_dir_all(&dir).map_err(io(&dir))?;
            let part = write_part(&dir, &fresh, false)?;
            self.unsynced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(part);
            if parts(&dir)?.len() >= COMPACT_AT {
                self.compact::<T>(&dir)?;
            }
        }
        Ok(report)
    }

    /// Flushes to disk every part appended since the last call, with the folder entries that
    /// name them, and returns the proof a checkpoint needs ([`checkpoint::Durable`]).
    ///
    /// Minimal bridge for `sync` (issue 9) until the store's own durable appends land: a part
    /// merged away by compaction since is skipped (compaction writes its result durably).
    pub fn sync_written(&self) -> Result<checkpoint::Durable, StoreError> {
        let parts = std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(|e| e.into_inner()));
        let mut dirs = BTreeSet::new();
        for part in &parts {
            match fs::File::open(part) {
                Ok(f) => f.sync_all().map_err(io(part))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(part)(e)),
            }
            // The day folder (the part's name), the table folder (a new day) and the root.
            let mut d = part.parent();
            for _ in 0..3 {
                if let Some(dir) = d {
                    dirs.insert(dir.to_path_buf());
                    d = dir.parent();
                }
            }
        }
        for dir in dirs {
            fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&dir))?;
        }
        Ok(checkpoint::Durable::new())
    }

    /// Merges a day's parts into one.
    fn compact<T: Stored>(&self, dir: &Path) -> Result<(), StoreError> {
        let old = parts(dir)?;
        let rows: Vec<T> = read_parts(&old)?;
        write_part(dir, &rows, true)?;
        for p in old {
            fs::remove_file(&p).map_err(io(&p))?;
        }
        Ok(())
    }

    /// Reads a table, optionally only the days in `[first, last]` (`YYYY-MM-DD`, inclusive).
    pub fn read<T: Stored>(&self, days: Option<(&str, &str)>) -> Result<Vec<T>, StoreError> {
        let mut files = Vec::new();
        for day_dir in list_dir(&self.table_dir::<T>())? {
            let Some(day) = day_dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("day="))
            else {
                continue;
            };
            if days.is_some_and(|(first, last)| day < first || day > last) {
                continue;
            }
            files.extend(parts(&day_dir)?);
        }
        let mut rows: Vec<T> = read_parts(&files)?;
        rows.sort_by(|a, b| (a.time(), a.key()).cmp(&(b.time(), b.key())));
        Ok(rows)
    }
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut out: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            out.sort();
            Ok(out)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(dir)(e)),
    }
}

fn parts(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    Ok(list_dir(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect())
}

fn read_ids(dir: &Path, key: &str) -> Result<HashSet<String>, StoreError> {
    let mut ids = HashSet::new();
    for part in parts(dir)? {
        let file = fs::File::open(&part).map_err(io(&part))?;
        let df = ParquetReader::new(file)
            .with_columns(Some(vec![key.into()]))
            .finish()
            .map_err(pq(&part))?;
        let col = df.column(key).map_err(pq(&part))?;
        ids.extend(
            col.str()
                .map_err(pq(&part))?
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    Ok(ids)
}

/// Reads parts into rows, dropping any `event_id` seen before.
fn read_parts<T: Stored>(files: &[PathBuf]) -> Result<Vec<T>, StoreError> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for part in files {
        let file = fs::File::open(part).map_err(io(part))?;
        let df = ParquetReader::new(file).finish().map_err(pq(part))?;
        for row in T::from_frame(&df).map_err(pq(part))? {
            if row.key().is_none_or(|id| seen.insert(id.to_owned())) {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Writes one part under a temporary name and renames it into place. `durable` also flushes it
/// to disk first: compaction needs that before it deletes the parts it merged; a plain append
/// does not (it changes nothing already stored, and re-running the ingest rewrites what a crash
/// lost), and skipping it saves a disk flush per day partition.
fn write_part<T: Table>(dir: &Path, rows: &[T], durable: bool) -> Result<PathBuf, StoreError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let name = format!(
        "part-{now}-{}-{}.parquet",
        std::process::id(),
        PART_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let final_path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut df = T::to_frame(rows).map_err(pq(&final_path))?;
    let mut out =
        std::io::BufWriter::with_capacity(1 << 16, fs::File::create(&tmp).map_err(io(&tmp))?);
    // Parts are small (one ingest's events of one day): Snappy and a single thread cost a
    // fraction of zstd's per-column contexts and a thread handoff, and the writes are buffered.
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Snappy)
        .set_parallel(false)
        .finish(&mut df)
        .map_err(pq(&tmp))?;
    let file = out.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    if durable {
        file.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, &final_path).map_err(io(&final_path))?;
    if durable {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(final_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, t: i64) -> ExecEvent {
        ExecEvent {
            event_id: Some(id.into()),
            event_time: Timestamp(t),
            principal: Some("p".into()),
            ..Default::default()
        }
    }

    const DAY: i64 = 86_400_000;

    #[test]
    fn appends_are_idempotent_and_partitioned_by_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_for_write(dir.path()).unwrap();
        let first = store
            .append(vec![ev("a", 0), ev("b", DAY), ev("a", 0)])
            .unwrap();
        assert_eq!(
            first,
            Appended {
                added: 2,
                already_stored: 1
            }
        );
        let again = store
            .append(vec![ev("a", 0), ev("b", DAY), ev("c", DAY + 5)])
            .unwrap();
        assert_eq!(
            again,
            Appended {
                added: 1,
                already_stored: 2
            }
        );
        let all: Vec<ExecEvent> = store.read(None).unwrap();
        assert_eq!(
            all.iter()
                .map(|e| e.event_id.clone().unwrap())
                .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        let day2: Vec<ExecEvent> = store.read(Some(("1970-01-02", "1970-01-02"))).unwrap();
        assert_eq!(day2.len(), 2);
        assert!(dir.path().join("exec_events/day=1970-01-01").is_dir());
    }

    #[test]
    fn compaction_keeps_every_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_for_write(dir.path()).unwrap();
        for i in 0..(COMPACT_AT as i64 + 3) {
            store.append(vec![ev(&format!("e{i}"), i)]).unwrap();
        }
        let day = dir.path().join("exec_events/day=1970-01-01");
        assert!(parts(&day).unwrap().len() < COMPACT_AT);
        assert_eq!(store.read::<ExecEvent>(None).unwrap().len(), COMPACT_AT + 3);
    }

    #[test]
    fn readers_drop_duplicates_left_by_an_interrupted_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_for_write(dir.path()).unwrap();
        store.append(vec![ev("a", 0)]).unwrap();
        let day = dir.path().join("exec_events/day=1970-01-01");
        write_part(&day, &[ev("a", 0)], false).unwrap();
        assert_eq!(store.read::<ExecEvent>(None).unwrap().len(), 1);
    }

    #[test]
    fn a_second_writer_is_refused_and_stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_for_write(dir.path()).unwrap();
        assert!(matches!(
            Store::open_for_write(dir.path()),
            Err(StoreError::Locked(_))
        ));
        drop(store);
        let day = dir.path().join("exec_events/day=1970-01-01");
        fs::create_dir_all(&day).unwrap();
        fs::write(day.join(".part-x.parquet.tmp"), b"half").unwrap();
        let _store = Store::open_for_write(dir.path()).unwrap();
        assert!(list_dir(&day).unwrap().is_empty());
    }

    #[test]
    fn missing_store_reads_empty() {
        let store = Store::open_for_read(Path::new("/nonexistent/execaudit-store"));
        assert!(store.read::<ExecEvent>(None).unwrap().is_empty());
    }
}

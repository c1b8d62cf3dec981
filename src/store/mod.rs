//! The local Parquet store: one dataset per table, partitioned by UTC day, published through a
//! manifest ([`manifest`]).
//!
//! ```text
//! <store>/manifest.json                                   the live parts (atomic, durable)
//! <store>/exec_events/day=2024-05-14/part-<ms>-<pid>-<n>.parquet
//! <store>/commands/day=2024-05-14/part-....parquet
//! ```
//!
//! - **Reading** is lazy: [`Store::scan`] gives a polars `LazyFrame` over the live parts of the
//!   days asked for, so a query reads only the days, columns and row groups it needs (parts are
//!   sorted and carry statistics). Parts written by an older version that lack a newer column
//!   read it as null. A part that cannot be read is named, set aside for the rest of the run
//!   ([`Store::exclude`]) and the others still answer; nothing is deleted.
//! - **Writing** goes through a [`Writer`]: rows are buffered per table and day and written as
//!   sorted, fsync'd parts in bounded batches; [`Writer::commit`] publishes them all at once.
//!   Keys (`event_id`, `transcript_id`) already stored or already seen in the same run are
//!   dropped, so every key is stored once and readers need no de-duplication. One writer at a
//!   time holds `<store>/.lock`.
//! - **Privately**: folders are created 0700 and files 0600: transcripts and commands hold
//!   secrets people typed.
//! - **Checkpoints** of remote sources (`sync`) live under `<store>/checkpoints/`
//!   ([`checkpoint`]), written only after the rows they cover are committed.

pub mod checkpoint;
pub mod manifest;
pub(crate) mod parquet;
mod write;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use polars::prelude::*;

use crate::model::{CommandRow, ControlEvent, ExecEvent, Table, Timestamp, TranscriptRow};
pub use manifest::{Manifest, Part};
pub use write::{Appended, Writer};

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
    #[error("{path}: unusable store manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{0}: another execaudit process is writing to this store; try again when it ends")]
    Locked(PathBuf),
    #[error("{0}: no store here: run `execaudit ingest PATH... --store {0}` first (or give --store / $EXECAUDIT_STORE)")]
    Missing(PathBuf),
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn pq(path: &Path) -> impl FnOnce(PolarsError) -> StoreError + '_ {
    move |source| StoreError::Parquet {
        path: path.to_owned(),
        source,
    }
}

/// Where a row sorts within its day: a session id, a time, a key.
pub type Order<'a> = (Option<&'a str>, Timestamp, Option<&'a str>);

/// A row the store can partition and deduplicate.
pub trait Stored: Table {
    /// The column that identifies a row (`event_id`, `transcript_id`, `command_id`).
    const KEY: &'static str;
    /// The column whose UTC day picks the partition.
    const TIME: &'static str;
    /// Columns each part is sorted by, so row-group statistics prune lookups.
    const SORT: &'static [&'static str];
    /// Rows per Parquet row group: small where rows are large (transcript text).
    const ROW_GROUP: usize;
    fn key(&self) -> Option<&str>;
    /// The time that picks the row's day partition.
    fn time(&self) -> Timestamp;
    /// The order rows are written in (what `SORT` names), so a batch is sorted before it
    /// becomes a frame.
    fn order(&self) -> Order<'_>;
}

macro_rules! stored {
    ($t:ty, $key:ident, $time:ident, [$($sort:literal),*], $rg:expr, |$r:ident| $order:expr) => {
        impl Stored for $t {
            const KEY: &'static str = stringify!($key);
            const TIME: &'static str = stringify!($time);
            const SORT: &'static [&'static str] = &[$($sort),*];
            const ROW_GROUP: usize = $rg;
            fn key(&self) -> Option<&str> {
                self.$key.as_deref()
            }
            fn time(&self) -> Timestamp {
                self.$time
            }
            fn order(&self) -> Order<'_> {
                let $r = self;
                $order
            }
        }
    };
}

stored!(
    ExecEvent,
    event_id,
    event_time,
    ["event_time", "event_id"],
    65_536,
    |r| (None, r.event_time, r.event_id.as_deref())
);
stored!(
    ControlEvent,
    event_id,
    event_time,
    ["event_time", "event_id"],
    65_536,
    |r| (None, r.event_time, r.event_id.as_deref())
);
stored!(
    TranscriptRow,
    transcript_id,
    time,
    ["session_id", "transcript_id"],
    256,
    |r| (
        r.session_id.as_deref(),
        Timestamp(0),
        r.transcript_id.as_deref()
    )
);
stored!(
    CommandRow,
    command_id,
    time,
    ["session_id", "transcript_id", "seq"],
    32_768,
    |r| (
        r.session_id.as_deref(),
        Timestamp(0),
        r.command_id.as_deref()
    )
);

/// What the store knows of one stored table.
#[derive(Debug, Clone, Copy)]
pub struct TableInfo {
    pub name: &'static str,
    pub key: &'static str,
    pub time: &'static str,
    /// Columns each part is sorted by.
    pub sort: &'static [&'static str],
    /// Rows per Parquet row group.
    pub row_group: usize,
    /// An empty frame with the table's columns and types.
    pub empty: fn() -> DataFrame,
}

fn info<T: Stored>() -> TableInfo {
    TableInfo {
        name: T::NAME,
        key: T::KEY,
        time: T::TIME,
        sort: T::SORT,
        row_group: T::ROW_GROUP,
        empty: || T::to_frame(&[]).expect("an empty frame builds"),
    }
}

/// Every table the store holds.
pub fn tables() -> [TableInfo; 4] {
    [
        info::<ExecEvent>(),
        info::<ControlEvent>(),
        info::<TranscriptRow>(),
        info::<CommandRow>(),
    ]
}

/// The stored table called `name`.
pub fn table(name: &str) -> Option<TableInfo> {
    tables().into_iter().find(|t| t.name == name)
}

/// An inclusive range of UTC days, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Days {
    pub first: String,
    pub last: String,
}

impl Days {
    pub fn contains(&self, day: &str) -> bool {
        self.first.as_str() <= day && day <= self.last.as_str()
    }
}

/// An opened store.
pub struct Store {
    root: PathBuf,
    _lock: Option<fs::File>,
    manifest: Manifest,
    /// Parts found unreadable in this run: left on disk, left out of queries.
    excluded: Mutex<HashSet<PathBuf>>,
    /// Writes are flushed to disk before they are published (not for a scratch store).
    durable: bool,
}

/// Creates a folder (and its parents) readable by the owner only.
pub(crate) fn private_dir(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

/// Creates (or truncates) a file readable by the owner only.
pub(crate) fn private_file(path: &Path) -> Result<fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))
}

/// Flushes a folder's entries (a rename or a new file in it) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

impl Store {
    /// A store for this run only (a one-shot audit's), in a folder the caller removes:
    /// published as any store, without flushing anything to disk (a crash loses it, and
    /// nothing needs it after one). Each flush waits on the device: ~0.1 s of an audit.
    pub fn open_scratch(root: &Path) -> Result<Store, StoreError> {
        let mut s = Store::open_for_write(root)?;
        s.durable = false;
        Ok(s)
    }

    /// Opens (creating if needed) a store for writing; takes the writer lock, adopts a store
    /// written before manifests, and removes files no manifest lists (left by a crash).
    pub fn open_for_write(root: &Path) -> Result<Store, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        if root.exists() && !root.is_dir() {
            return Err(io(root)(std::io::Error::other(
                "a file, not a store folder",
            )));
        }
        private_dir(root)?;
        let lock_path = root.join(".lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(root.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let mut store = Store {
            durable: true,
            root: root.to_owned(),
            _lock: Some(lock),
            manifest: Manifest::default(),
            excluded: Mutex::default(),
        };
        match Manifest::load(root)? {
            Some(m) => store.manifest = m,
            None => {
                // A new store in an empty folder made beforehand (`mkdir store`: 0755) is
                // made private like one created here; an existing store, or a folder holding
                // other files, keeps the mode its owner chose ([`Store::exposed_mode`] says
                // when that is open).
                let empty = fs::read_dir(root)
                    .map_err(io(root))?
                    .all(|e| e.is_ok_and(|e| e.file_name() == ".lock"));
                if empty {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(root, fs::Permissions::from_mode(0o700))
                        .map_err(io(root))?;
                }
                store.adopt_legacy()?
            }
        }
        store.remove_unlisted()?;
        Ok(store)
    }

    /// The store folder's mode when group or others may enter it (transcripts hold what was
    /// typed and printed, secrets included); `None` when it is private.
    pub fn exposed_mode(&self) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&self.root).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }

    /// Opens a store for reading. A folder that does not exist is an error (a mistyped
    /// `--store` must not look like an empty store); a store written before manifests is read
    /// from its folders.
    pub fn open_for_read(root: &Path) -> Result<Store, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::Missing(root.to_owned()));
        }
        let manifest = match Manifest::load(root)? {
            Some(m) => m,
            None => legacy_manifest(root)?,
        };
        Ok(Store {
            durable: true,
            root: root.to_owned(),
            _lock: None,
            manifest,
            excluded: Mutex::default(),
        })
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// A store written before manifests: every part found becomes live. Such a store may hold
    /// a key twice (an interrupted compaction); a day with several parts is merged with
    /// duplicates dropped, so the one-key-once rule holds from here on.
    fn adopt_legacy(&mut self) -> Result<(), StoreError> {
        let found = legacy_manifest(&self.root)?;
        if found.tables.values().all(Vec::is_empty) {
            return Ok(());
        }
        self.manifest = found;
        let mut w = self.writer();
        for t in tables() {
            let days: HashSet<String> = w
                .store()
                .manifest
                .parts(t.name)
                .iter()
                .map(|p| p.day.clone())
                .collect();
            for day in days {
                if w.store()
                    .manifest
                    .parts(t.name)
                    .iter()
                    .filter(|p| p.day == day)
                    .count()
                    > 1
                {
                    w.compact(t, &day)?;
                }
            }
        }
        // Publish the adopted parts even when nothing needed merging.
        w.force_commit();
        w.commit()?;
        Ok(())
    }

    /// Removes temporary files and parts no manifest lists: an interrupted writer's left-overs,
    /// never visible to readers.
    fn remove_unlisted(&self) -> Result<(), StoreError> {
        for t in tables() {
            let live: HashSet<PathBuf> = self
                .manifest
                .parts(t.name)
                .iter()
                .map(|p| Manifest::path(&self.root, t.name, p))
                .collect();
            for day in list_dir(&self.root.join(t.name))? {
                for f in list_dir(&day)? {
                    let ours = f.extension().is_some_and(|e| e == "tmp" || e == "parquet");
                    if ours && !live.contains(&f) {
                        fs::remove_file(&f).map_err(io(&f))?;
                    }
                }
            }
        }
        let tmp = self.root.join(format!(".{}.tmp", manifest::FILE));
        if tmp.exists() {
            fs::remove_file(&tmp).map_err(io(&tmp))?;
        }
        Ok(())
    }

    /// Starts a write: rows are buffered, written as parts, and published by `commit`.
    pub fn writer(&mut self) -> Writer<'_> {
        Writer::new(self)
    }

    /// Appends rows not already stored and publishes them; returns how many were added and
    /// skipped.
    pub fn append<T: Stored>(&mut self, rows: Vec<T>) -> Result<Appended, StoreError> {
        let mut w = self.writer();
        let report = w.append(rows)?;
        w.commit()?;
        Ok(report)
    }

    /// The live, readable parts of a table within `days` (all days when `None`).
    pub fn parts(&self, table: &str, days: Option<&Days>) -> Vec<PathBuf> {
        let excluded = self.excluded.lock().expect("not poisoned");
        self.manifest
            .parts(table)
            .iter()
            .filter(|p| days.is_none_or(|d| d.contains(&p.day)))
            .map(|p| Manifest::path(&self.root, table, p))
            .filter(|p| !excluded.contains(p))
            .collect()
    }

    /// The days holding parts of a table, first to last.
    pub fn days(&self, table: &str) -> Vec<String> {
        let mut d: Vec<String> = self
            .manifest
            .parts(table)
            .iter()
            .map(|p| p.day.clone())
            .collect();
        d.sort();
        d.dedup();
        d
    }

    /// The days holding parts of a table, first to last, each with the bytes of its parts.
    pub fn day_sizes(&self, table: &str) -> Vec<(String, u64)> {
        let mut d: Vec<(String, u64)> = Vec::new();
        let mut parts: Vec<&manifest::Part> = self.manifest.parts(table).iter().collect();
        parts.sort_by(|a, b| a.day.cmp(&b.day));
        for p in parts {
            match d.last_mut() {
                Some((day, bytes)) if *day == p.day => *bytes += p.bytes,
                _ => d.push((p.day.clone(), p.bytes)),
            }
        }
        d
    }

    /// A lazy scan of a table over the days asked for. Unknown tables are an error.
    pub fn scan(&self, table: &str, days: Option<&Days>) -> PolarsResult<LazyFrame> {
        let Some(t) = self::table(table) else {
            polars_bail!(ComputeError: "no table {table:?} in the store");
        };
        let paths = self.parts(table, days);
        if paths.is_empty() {
            return Ok((t.empty)().lazy());
        }
        scan_parts(t, &paths)
    }

    /// The rows of a table that carry one of some session ids, within `days` (all when
    /// `None`), in the order a filtered scan gives them. Two passes: the row numbers holding
    /// the ids, from the `session_id` column alone; then those rows, each run of them a slice
    /// of its part, so only the row groups holding them are decoded. A filter on the ids
    /// decodes every column of every row group, matched or not (polars does not skip a row
    /// group the filter leaves empty): one session's commands took 0.09 s at 100k sessions,
    /// the transcripts of one principal's 50 sessions 0.2 s. More ids than [`MAX_SLICES`], or
    /// rows scattered over more runs, are read by the filter.
    pub fn scan_sessions(
        &self,
        table: &str,
        ids: &[String],
        days: Option<&Days>,
    ) -> PolarsResult<LazyFrame> {
        let Some(info) = self::table(table) else {
            polars_bail!(ComputeError: "no table {table:?} in the store");
        };
        let parts = self.parts(table, days);
        if ids.is_empty() || parts.is_empty() {
            return Ok((info.empty)().lazy());
        }
        if ids.len() > MAX_SLICES {
            // At least a run each: the filter it would come to.
            return keep_sessions(self.scan(table, days)?, ids);
        }
        let found = self.positions(
            table,
            &parts,
            col("session_id").is_in(lit(Series::new("ids".into(), ids)).implode(false), false),
            &[],
        )?;
        let at: Vec<(u32, IdxSize)> = found
            .column("part")?
            .u32()?
            .into_no_null_iter()
            .zip(found.column("row")?.idx()?.into_no_null_iter())
            .collect();
        match self.rows_at(table, &parts, at)? {
            Some(rows) => keep_sessions(rows, ids),
            None => keep_sessions(self.scan(table, days)?, ids),
        }
    }

    /// Where the rows `filter` keeps lie: a frame of `part` (an index into `parts`), `row` (its
    /// row in that part) and the `columns` asked for, reading only the columns these name.
    pub fn positions(
        &self,
        table: &str,
        parts: &[PathBuf],
        filter: Expr,
        columns: &[&str],
    ) -> PolarsResult<DataFrame> {
        let Some(info) = self::table(table) else {
            polars_bail!(ComputeError: "no table {table:?} in the store");
        };
        // No part: the same columns, no row.
        let scans = if parts.is_empty() {
            vec![(info.empty)().lazy()]
        } else {
            parts
                .iter()
                .map(|p| self.scan_part(table, p))
                .collect::<PolarsResult<Vec<_>>>()?
        };
        let found: Vec<LazyFrame> = scans
            .into_iter()
            .enumerate()
            .map(|(i, scan)| {
                let mut keep = vec![
                    lit(i as u32).cast(DataType::UInt32).alias("part"),
                    col("row"),
                ];
                keep.extend(columns.iter().map(|c| col(*c)));
                scan.with_row_index("row", None)
                    .filter(filter.clone())
                    .select(keep)
            })
            .collect();
        concat(found, UnionArgs::default())?.collect()
    }

    /// Rows of a table by position, `(index into parts, row of that part)` in any order, in
    /// the order of the parts and their rows: a slice of its part per run of consecutive rows.
    /// `None` when they lie in more than [`MAX_SLICES`] runs (the caller reads them otherwise).
    pub fn rows_at(
        &self,
        table: &str,
        parts: &[PathBuf],
        at: Vec<(u32, IdxSize)>,
    ) -> PolarsResult<Option<LazyFrame>> {
        let Some(info) = self::table(table) else {
            polars_bail!(ComputeError: "no table {table:?} in the store");
        };
        let runs = runs(at);
        if runs.is_empty() {
            return Ok(Some((info.empty)().lazy()));
        }
        if runs.len() > MAX_SLICES {
            return Ok(None);
        }
        let slices = runs
            .into_iter()
            .map(|(part, start, len)| {
                Ok(self
                    .scan_part(table, &parts[part as usize])?
                    .slice(start as i64, len))
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        Ok(Some(concat(slices, UnionArgs::default())?))
    }

    /// A lazy scan of one part of a table (for passes that go part by part).
    pub fn scan_part(&self, table: &str, part: &Path) -> PolarsResult<LazyFrame> {
        let Some(t) = self::table(table) else {
            polars_bail!(ComputeError: "no table {table:?} in the store");
        };
        scan_parts(t, &[part.to_path_buf()])
    }

    /// Reads a whole table into rows (tests and small tables; analysis uses [`Store::scan`]).
    pub fn read<T: Stored>(&self, days: Option<&Days>) -> Result<Vec<T>, StoreError> {
        let df = self
            .scan(T::NAME, days)
            .and_then(|lf| {
                lf.sort_by_exprs([col(T::TIME), col(T::KEY)], SortMultipleOptions::default())
                    .collect()
            })
            .map_err(pq(&self.root))?;
        T::from_frame(&df).map_err(pq(&self.root))
    }

    /// Checks every live part and sets aside those that cannot be read, naming each with the
    /// reason. Called when a query fails, so one damaged part does not silence the others.
    pub fn exclude_unreadable(&self) -> Vec<(PathBuf, String)> {
        let mut bad = Vec::new();
        for t in tables() {
            for path in self.parts(t.name, None) {
                if let Err(e) = check_part(&path, &(t.empty)()) {
                    bad.push((path, e));
                }
            }
        }
        let mut excluded = self.excluded.lock().expect("not poisoned");
        excluded.extend(bad.iter().map(|(p, _)| p.clone()));
        bad
    }

    /// Parts set aside in this run.
    pub fn excluded(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self
            .excluded
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect();
        v.sort();
        v
    }
}

/// A lazy scan of parts of a table, with the table's columns (those a part lacks are null) and
/// the keys parts leave out filled in ([`with_keys`]): every read of parts goes through here.
pub(crate) fn scan_parts(t: TableInfo, paths: &[PathBuf]) -> PolarsResult<LazyFrame> {
    let args = ScanArgsParquet {
        schema: Some((t.empty)().schema().clone()),
        allow_missing_columns: true,
        // `day=` folders are the store's own partitioning, pruned from the manifest; not a
        // column.
        hive_options: HiveOptions::new_disabled(),
        glob: false,
        cache: false,
        ..Default::default()
    };
    let paths: Vec<PlRefPath> = paths
        .iter()
        .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
        .collect();
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args).map(|lf| with_keys(t, lf))
}

/// Most session ids a scan keeps as a list (`is_in`, which the scan evaluates in each row
/// group, hashing the list again: 100k ids over the commands took 25 s and 3 GB); more are
/// joined, which reads every row of the projected columns first (2,300 sessions' commands:
/// 1.2 GB joined, 430 MB listed).
pub const MAX_LISTED: usize = 8192;

/// The rows of `lf` whose `session_id` is one of `ids` (none carries a null id).
pub fn keep_sessions(lf: LazyFrame, ids: &[String]) -> PolarsResult<LazyFrame> {
    Ok(match ids {
        [one] => lf.filter(col("session_id").eq(lit(one.clone()))),
        _ if ids.len() <= MAX_LISTED => lf.filter(
            col("session_id").is_in(lit(Series::new("ids".into(), ids)).implode(false), false),
        ),
        _ => lf.join(
            DataFrame::new_infer_height(vec![Column::new("session_id".into(), ids)])?.lazy(),
            [col("session_id")],
            [col("session_id")],
            JoinArgs::new(JoinType::Semi),
        ),
    })
}

/// Most slices [`Store::scan_sessions`] reads rows by (each a scan of its part).
pub const MAX_SLICES: usize = 64;

/// Runs of consecutive rows of the same part, `(part, first row, rows)`, from row numbers in
/// any order.
fn runs(mut at: Vec<(u32, IdxSize)>) -> Vec<(u32, IdxSize, IdxSize)> {
    at.sort_unstable();
    at.dedup();
    let mut out: Vec<(u32, IdxSize, IdxSize)> = Vec::new();
    for (part, row) in at {
        match out.last_mut() {
            Some((p, start, len)) if *p == part && *start + *len == row => *len += 1,
            _ => out.push((part, row, 1)),
        }
    }
    out
}

/// The session ids more than one row of a transcripts scan carries, sorted (what the
/// manifest's `shared_sessions` lists).
pub(crate) fn shared_sessions(transcripts: LazyFrame) -> LazyFrame {
    transcripts
        .select([col("session_id")])
        .filter(col("session_id").is_not_null())
        .group_by([col("session_id")])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1u32)))
        .select([col("session_id")])
        .sort(["session_id"], SortMultipleOptions::default())
}

/// A command's key as the store derives it: `<transcript id>#<seq>`, the sequence number
/// zero-padded to five digits (as `ingest::transcript::command_id` writes it).
pub(crate) fn derived_command_id() -> Expr {
    let seq = col("seq");
    let padded = when(seq.clone().lt(lit(100_000i64)))
        .then(
            (seq.clone() + lit(100_000i64))
                .cast(DataType::String)
                .str()
                .slice(lit(1i64), lit(5u64)),
        )
        .otherwise(seq.cast(DataType::String));
    concat_str([col("transcript_id"), lit("#"), padded], "", false)
}

/// The keys a table's parts leave out, filled in on read. Ingest does not store a command's
/// key, which its transcript and place in it make (`<transcript id>#<seq>`): 5 million of them
/// were 372 MB of strings to build, copy and compress, 5% of an ingest of 100k transcripts.
/// Rows appended with a key of their own, and parts written before, keep theirs.
pub(crate) fn with_keys(t: TableInfo, lf: LazyFrame) -> LazyFrame {
    if t.name != CommandRow::NAME {
        return lf;
    }
    lf.with_column(
        when(col(t.key).is_null())
            .then(derived_command_id())
            .otherwise(col(t.key))
            .alias(t.key),
    )
}

/// The other way: keys equal to the derived ones back to null, before parts are written again
/// (compaction).
pub(crate) fn without_derived_keys(t: TableInfo, lf: LazyFrame) -> LazyFrame {
    if t.name != CommandRow::NAME {
        return lf;
    }
    lf.with_column(
        when(col(t.key).eq(derived_command_id()))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(col(t.key))
            .alias(t.key),
    )
}

/// Reads a part whole: a damaged footer, page or column type shows here.
fn check_part(path: &Path, empty: &DataFrame) -> Result<(), String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| e.to_string())?;
    for (name, dtype) in empty.schema().iter() {
        if let Ok(c) = df.column(name) {
            if c.dtype() != dtype
                && !matches!(
                    (c.dtype(), dtype),
                    (DataType::Datetime(..), DataType::Datetime(..))
                )
            {
                return Err(format!(
                    "column {name} is {} where {} is expected",
                    c.dtype(),
                    dtype
                ));
            }
        }
    }
    Ok(())
}

/// The parts of a store written before manifests, found by listing its folders.
fn legacy_manifest(root: &Path) -> Result<Manifest, StoreError> {
    let mut m = Manifest::default();
    for t in tables() {
        let mut parts = Vec::new();
        for day_dir in list_dir(&root.join(t.name))? {
            let Some(day) = day_dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("day="))
                .map(str::to_owned)
            else {
                continue;
            };
            for f in list_dir(&day_dir)? {
                if f.extension().is_none_or(|e| e != "parquet") {
                    continue;
                }
                let bytes = fs::metadata(&f).map_err(io(&f))?.len();
                parts.push(Part {
                    day: day.clone(),
                    file: f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    rows: 0,
                    bytes,
                });
            }
        }
        if !parts.is_empty() {
            m.tables.insert(t.name.to_owned(), parts);
        }
    }
    Ok(m)
}

pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
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

#[cfg(test)]
mod tests;

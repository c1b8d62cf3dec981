//! Writing to the store: buffered, bounded, de-duplicated, published all at once.
//!
//! A [`Writer`] takes rows as ingest produces them, drops keys the store (or this run) already
//! holds, and buffers the rest per table and day as polars frames. When the buffers pass a
//! bound, the largest is written as one sorted part, fsync'd; so a large ingest never holds
//! every transcript at once. Nothing is visible until [`Writer::commit`] publishes the new
//! manifest; a writer dropped without committing leaves files the next writer removes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;

use super::{
    io, pq, private_dir, private_file, Days, Manifest, Part, Store, StoreError, Stored, TableInfo,
};
use crate::model::{CommandRow, TranscriptRow};

/// Parts in one day's partition before the small ones are merged.
const COMPACT_AT: usize = 24;
/// Parts smaller than this are merged by compaction; larger ones are left as they are, which
/// bounds what a compaction holds in memory.
const SMALL_PART: u64 = 16 << 20;
/// Buffered frames (estimated in-memory size) before the largest buffer is written out.
const BUFFER_LIMIT: usize = 96 << 20;

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub added: u64,
    pub already_stored: u64,
}

impl std::ops::AddAssign for Appended {
    fn add_assign(&mut self, o: Appended) {
        self.added += o.added;
        self.already_stored += o.already_stored;
    }
}

#[derive(Default)]
struct Buffer {
    frames: Vec<DataFrame>,
    bytes: usize,
}

/// One write to the store; see the module documentation.
pub struct Writer<'s> {
    store: &'s mut Store,
    next: Manifest,
    /// Day folders that received parts: synced before the manifest names them.
    dirs: std::collections::BTreeSet<PathBuf>,
    buffers: BTreeMap<(&'static str, String), Buffer>,
    buffered: usize,
    /// Keys stored or written in this run, per table and day, loaded when a day is first met.
    keys: HashMap<(&'static str, String), HashSet<String>>,
    /// Parts replaced by a compaction: deleted once the manifest no longer lists them.
    replaced: Vec<PathBuf>,
    changed: bool,
}

static PART_SEQ: AtomicU64 = AtomicU64::new(0);

impl<'s> Writer<'s> {
    pub(super) fn new(store: &'s mut Store) -> Writer<'s> {
        let next = store.manifest.clone();
        Writer {
            store,
            next,
            dirs: Default::default(),
            buffers: BTreeMap::new(),
            buffered: 0,
            keys: HashMap::new(),
            replaced: Vec::new(),
            changed: false,
        }
    }

    pub(super) fn store(&self) -> &Store {
        self.store
    }

    /// Appends rows whose key is not already stored (nor earlier in this run).
    pub fn append<T: Stored>(&mut self, rows: Vec<T>) -> Result<Appended, StoreError> {
        let mut report = Appended::default();
        for (day, rows) in by_day(rows) {
            let keys = self.keys_of::<T>(&day)?;
            let before = rows.len() as u64;
            let fresh: Vec<T> = rows
                .into_iter()
                .filter(|r| r.key().is_none_or(|k| keys.insert(k.to_owned())))
                .collect();
            report.added += fresh.len() as u64;
            report.already_stored += before - fresh.len() as u64;
            self.buffer::<T>(day, &fresh)?;
        }
        Ok(report)
    }

    /// Appends transcripts not already stored, with the commands reconstructed from them (a
    /// transcript already stored brings no commands: they are stored with it).
    pub fn append_transcripts(
        &mut self,
        items: Vec<(TranscriptRow, Vec<CommandRow>)>,
    ) -> Result<(Appended, Appended), StoreError> {
        let mut transcripts = Appended::default();
        let mut commands = Appended::default();
        let mut keep_t = Vec::new();
        let mut keep_c = Vec::new();
        for (t, cmds) in items {
            let day = t.time.day();
            let new = match t.key() {
                Some(k) => {
                    let k = k.to_owned();
                    self.keys_of::<TranscriptRow>(&day)?.insert(k)
                }
                None => true,
            };
            if new {
                transcripts.added += 1;
                commands.added += cmds.len() as u64;
                keep_t.push(t);
                keep_c.extend(cmds);
            } else {
                transcripts.already_stored += 1;
                commands.already_stored += cmds.len() as u64;
            }
        }
        for (day, rows) in by_day(keep_t) {
            self.buffer::<TranscriptRow>(day, &rows)?;
        }
        for (day, rows) in by_day(keep_c) {
            self.buffer::<CommandRow>(day, &rows)?;
        }
        Ok((transcripts, commands))
    }

    /// The keys stored for a table's day, read from its parts the first time.
    fn keys_of<T: Stored>(&mut self, day: &str) -> Result<&mut HashSet<String>, StoreError> {
        let slot = (T::NAME, day.to_owned());
        if !self.keys.contains_key(&slot) {
            let days = Days {
                first: day.to_owned(),
                last: day.to_owned(),
            };
            let mut set = HashSet::new();
            if !self.store.parts(T::NAME, Some(&days)).is_empty() {
                let df = self
                    .store
                    .scan(T::NAME, Some(&days))
                    .and_then(|lf| lf.select([col(T::KEY)]).collect())
                    .map_err(pq(&self.store.root.join(T::NAME)))?;
                let keys = df
                    .column(T::KEY)
                    .and_then(|c| c.str().cloned())
                    .map_err(pq(&self.store.root.join(T::NAME)))?;
                set.extend(keys.iter().flatten().map(str::to_owned));
            }
            self.keys.insert(slot.clone(), set);
        }
        Ok(self.keys.get_mut(&slot).expect("just inserted"))
    }

    fn buffer<T: Stored>(&mut self, day: String, rows: &[T]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let df = T::to_frame(rows).map_err(pq(&self.store.root.join(T::NAME)))?;
        let size = df.estimated_size();
        let b = self.buffers.entry((T::NAME, day)).or_default();
        b.frames.push(df);
        b.bytes += size;
        self.buffered += size;
        while self.buffered > BUFFER_LIMIT {
            let largest = self
                .buffers
                .iter()
                .max_by_key(|(_, b)| b.bytes)
                .map(|(k, _)| k.clone())
                .expect("buffers are not empty when over the limit");
            self.flush(&largest)?;
        }
        Ok(())
    }

    /// Writes one buffer as a part.
    fn flush(&mut self, slot: &(&'static str, String)) -> Result<(), StoreError> {
        let Some(b) = self.buffers.remove(slot) else {
            return Ok(());
        };
        self.buffered -= b.bytes;
        let spec = super::table(slot.0).expect("a stored table");
        let mut frames = b.frames.into_iter();
        let mut df = frames.next().expect("a buffer holds a frame");
        for f in frames {
            df.vstack_mut_owned(f).map_err(pq(&self.store.root))?;
        }
        let part = self.write(spec, &slot.1, df)?;
        self.next
            .tables
            .entry(spec.name.to_owned())
            .or_default()
            .push(part);
        self.changed = true;
        Ok(())
    }

    /// Writes a sorted part under a temporary name, fsyncs it and renames it into place.
    fn write(&mut self, spec: TableInfo, day: &str, df: DataFrame) -> Result<Part, StoreError> {
        let dir = self.store.root.join(spec.name).join(format!("day={day}"));
        private_dir(&dir)?;
        self.dirs.insert(dir.clone());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let name = format!(
            "part-{now}-{}-{}.parquet",
            std::process::id(),
            PART_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let final_path = dir.join(&name);
        let rows = df.height() as u64;
        let mut df = df
            .sort(
                spec.sort.to_vec(),
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(pq(&final_path))?;
        write_parquet(
            &dir.join(format!(".{name}.tmp")),
            &final_path,
            &mut df,
            spec.row_group,
        )?;
        let bytes = fs::metadata(&final_path).map_err(io(&final_path))?.len();
        Ok(Part {
            day: day.to_owned(),
            file: name,
            rows,
            bytes,
        })
    }

    /// Merges a day's small parts into one (part of this write; published by `commit`).
    pub(super) fn compact(&mut self, t: TableInfo, day: &str) -> Result<(), StoreError> {
        let root = self.store.root.clone();
        let parts: Vec<Part> = self
            .next
            .parts(t.name)
            .iter()
            .filter(|p| p.day == day && (p.bytes < SMALL_PART || p.rows == 0))
            .cloned()
            .collect();
        if parts.len() < 2 {
            return Ok(());
        }
        let paths: Vec<PathBuf> = parts
            .iter()
            .map(|p| Manifest::path(&root, t.name, p))
            .collect();
        let args = ScanArgsParquet {
            schema: Some((t.empty)().schema().clone()),
            allow_missing_columns: true,
            glob: false,
            cache: false,
            ..Default::default()
        };
        let refs: Vec<PlRefPath> = paths
            .iter()
            .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
            .collect();
        // Keys are unique per table (the writer's rule); a store adopted from before manifests
        // may repeat one, which this merge drops.
        let df = LazyFrame::scan_parquet_files(refs.into_iter().collect(), args)
            .and_then(|lf| {
                lf.unique_stable(Some(cols([t.key])), UniqueKeepStrategy::First)
                    .collect()
            })
            .map_err(pq(&root.join(t.name).join(format!("day={day}"))))?;
        let merged = self.write(t, day, df)?;
        let list = self.next.tables.entry(t.name.to_owned()).or_default();
        list.retain(|p| !parts.contains(p));
        list.push(merged);
        self.replaced.extend(paths);
        self.changed = true;
        Ok(())
    }

    /// Writes what is buffered, merges crowded days, and publishes everything at once.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let slots: Vec<_> = self.buffers.keys().cloned().collect();
        for slot in slots {
            self.flush(&slot)?;
        }
        for t in super::tables() {
            let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
            for p in self.next.parts(t.name) {
                if p.bytes < SMALL_PART {
                    *per_day.entry(p.day.clone()).or_default() += 1;
                }
            }
            for (day, n) in per_day {
                if n >= COMPACT_AT {
                    self.compact(t, &day)?;
                }
            }
        }
        if !self.changed {
            return Ok(());
        }
        for dir in &self.dirs {
            super::sync_dir(dir)?;
        }
        for t in super::tables() {
            super::sync_dir(&self.store.root.join(t.name)).or_else(|e| match e {
                StoreError::Io { ref source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(())
                }
                e => Err(e),
            })?;
        }
        self.next.commit(&self.store.root)?;
        self.store.manifest = std::mem::take(&mut self.next);
        for p in &self.replaced {
            match fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(p)(e)),
            }
        }
        Ok(())
    }
}

fn by_day<T: Stored>(rows: Vec<T>) -> BTreeMap<String, Vec<T>> {
    let mut m: BTreeMap<String, Vec<T>> = BTreeMap::new();
    for r in rows {
        m.entry(r.time().day()).or_default().push(r);
    }
    m
}

/// Writes a frame as Parquet to `tmp`, fsyncs it and renames it to `path`.
pub(crate) fn write_parquet(
    tmp: &Path,
    path: &Path,
    df: &mut DataFrame,
    row_group: usize,
) -> Result<(), StoreError> {
    let file = private_file(tmp)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
        .with_row_group_size(Some(row_group))
        .set_parallel(df.height() > 10_000)
        .finish(df)
        .map_err(pq(tmp))?;
    let file = out.into_inner().map_err(|e| io(tmp)(e.into_error()))?;
    file.sync_all().map_err(io(tmp))?;
    fs::rename(tmp, path).map_err(io(path))?;
    Ok(())
}

#[cfg(test)]
pub(super) fn tests_compact_at() -> usize {
    COMPACT_AT
}

#[cfg(test)]
impl Writer<'_> {
    pub(super) fn buffered_slots(&self) -> Vec<(&'static str, String)> {
        self.buffers.keys().cloned().collect()
    }

    pub(super) fn flush_for_tests(
        &mut self,
        slot: &(&'static str, String),
    ) -> Result<(), StoreError> {
        self.flush(slot)
    }
}

//! Writing to the store: buffered, bounded, de-duplicated, published all at once.
//!
//! A [`Writer`] takes rows as ingest produces them, drops keys the store (or this run) already
//! holds, sorts each batch and writes it at once as row groups of an open part per table and
//! day; so a large ingest holds one batch, never every transcript, and copies each value once
//! into Parquet. Parts are closed (footer, fsync, rename) when they grow large and at commit.
//! Nothing is visible until [`Writer::commit`] publishes the new manifest; a writer dropped
//! without committing leaves files the next writer removes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::parquet::PartWriter;
use polars::prelude::*;

use super::{
    io, pq, private_dir, private_file, Days, Manifest, Part, Store, StoreError, Stored, TableInfo,
};
use crate::model::frame::day_name;
use crate::model::idset::IdSet;
use crate::model::{CommandRow, Conflicts, ControlEvent, ExecEvent, Table, TranscriptRow};

/// Parts in one day's partition before the small ones are merged.
const COMPACT_AT: usize = 24;
/// Parts smaller than this are merged by compaction; larger ones are left as they are, which
/// bounds what a compaction holds in memory.
const SMALL_PART: u64 = 16 << 20;
/// Bytes of Parquet after which an open part is closed and a new one started.
const PART_LIMIT: u64 = 256 << 20;
/// Event rows waiting, as frames, to make fuller row groups (bytes in memory, all tables and
/// days together). An open part keeps a few KB of page metadata per row group until it is
/// closed: written batch by batch, a 4M-record organisation trail spread every 4,096-event batch
/// over seven days and two tables, ~200 row groups (98 of them for 224 exec events) and ~9 MB
/// held, growing with the trail. Held until a day has a row group's worth or the rows waiting
/// pass this, the largest day is written first.
const HELD_EVENT_BYTES: usize = 4 << 20;

/// Frames of one table and day waiting to be written as one row group.
#[derive(Default)]
struct Held {
    frames: Vec<DataFrame>,
    rows: usize,
    bytes: usize,
}

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

/// A part being written: row groups are appended as batches arrive.
struct OpenPart {
    file: String,
    tmp: PathBuf,
    path: PathBuf,
    writer: PartWriter<Shared>,
    /// The same buffered file, to flush it to disk once the footer is written.
    handle: Shared,
    rows: u64,
}

/// A buffered file the Parquet writer and the store both hold: the writer owns its copy to
/// the end, and the store needs to flush and sync what it wrote, with errors reported.
#[derive(Clone)]
struct Shared(std::sync::Arc<std::sync::Mutex<std::io::BufWriter<fs::File>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().expect("not poisoned").flush()
    }
}

impl Shared {
    /// Bytes written so far (buffered included).
    fn len(&self) -> std::io::Result<u64> {
        let mut w = self.0.lock().expect("not poisoned");
        use std::io::Seek;
        w.stream_position()
    }

    /// Flushes the buffer and the file to disk.
    fn sync(&self) -> std::io::Result<()> {
        use std::io::Write;
        let mut w = self.0.lock().expect("not poisoned");
        w.flush()?;
        w.get_ref().sync_all()
    }
}

/// One write to the store; see the module documentation.
pub struct Writer<'s> {
    store: &'s mut Store,
    next: Manifest,
    /// Day folders that received parts: synced before the manifest names them.
    dirs: std::collections::BTreeSet<PathBuf>,
    open: BTreeMap<(&'static str, String), OpenPart>,
    /// Keys stored or written in this run, per table and day, loaded when a day is first met.
    keys: HashMap<(&'static str, String), IdSet>,
    /// Parts replaced by a compaction: deleted once the manifest no longer lists them.
    replaced: Vec<PathBuf>,
    changed: bool,
    /// Event rows waiting for a fuller row group (see [`HELD_EVENT_BYTES`]).
    held: BTreeMap<(&'static str, String), Held>,
    held_bytes: usize,
    /// Row groups written (for tests and traces).
    row_groups: usize,
    /// Whether this write added transcripts (the manifest's shared sessions are then worked
    /// out again).
    transcripts_written: bool,
    /// Exec events whose `eventID` is stored with other content ([`Writer::append_exec`]).
    conflicts: Conflicts,
    /// The `eventID`s of every stored exec event, whatever its day (loaded at the first
    /// [`Writer::append_exec`]).
    exec_stored: Option<IdSet>,
    /// The `eventID`s of the exec events this writer keeps, for [`Writer::take_exec_ids`].
    exec_kept: Vec<Box<str>>,
    /// Exec events written in this run: a hash of their identity, and where they were read.
    exec_written: crate::model::idset::IdMap<(crate::model::Identity, u32)>,
    /// Whether `exec_written` is kept: not when the caller compared the run's copies itself
    /// (ingest's merger), which saves ~20 MB at 100k events.
    track_written: bool,
    /// Where the events of `exec_written` were read (one entry a file).
    sources: crate::model::idset::Interned,
}

static PART_SEQ: AtomicU64 = AtomicU64::new(0);

/// Parts (or folders) flushed to disk at once when a write is committed.
const FLUSHING: usize = 16;

impl<'s> Writer<'s> {
    pub(super) fn new(store: &'s mut Store) -> Writer<'s> {
        let next = store.manifest.clone();
        Writer {
            store,
            next,
            dirs: Default::default(),
            open: BTreeMap::new(),
            keys: HashMap::new(),
            replaced: Vec::new(),
            changed: false,
            held: BTreeMap::new(),
            held_bytes: 0,
            row_groups: 0,
            transcripts_written: false,
            conflicts: Conflicts::default(),
            exec_stored: None,
            exec_kept: Vec::new(),
            exec_written: Default::default(),
            track_written: true,
            sources: Default::default(),
        }
    }

    pub(super) fn store(&self) -> &Store {
        self.store
    }

    /// Which rows carry a key not stored yet (nor earlier in this run); the keys of those
    /// are recorded as stored.
    fn fresh<T: Stored>(&mut self, rows: &[T]) -> Result<Vec<bool>, StoreError> {
        let mut keep = Vec::with_capacity(rows.len());
        let mut day_names: BTreeMap<i64, String> = BTreeMap::new();
        for r in rows {
            let day = day_names
                .entry(r.time().day_number())
                .or_insert_with_key(|d| day_name(*d))
                .clone();
            keep.push(match r.key() {
                Some(k) => self.keys_of::<T>(&day)?.insert(k),
                None => true,
            });
        }
        Ok(keep)
    }

    /// Appends rows whose key is not already stored (nor earlier in this run).
    pub fn append<T: Stored>(&mut self, rows: Vec<T>) -> Result<Appended, StoreError> {
        let keep = self.fresh(&rows)?;
        self.write_rows(&rows, &keep)?;
        Ok(counted(&keep))
    }

    /// [`Writer::append`] for `ExecuteCommand` events, deduplicated on `eventID` across every
    /// day (a copy whose time was changed falls on another day; it was stored a second time),
    /// and compared with the copy kept: one that is not the same call
    /// ([`ExecEvent::identity`]) is counted and named in [`Writer::take_conflicts`]. The stored
    /// copy (or the one written first in this run) stays.
    pub fn append_exec(&mut self, rows: Vec<ExecEvent>) -> Result<Appended, StoreError> {
        let mut keep = self.fresh(&rows)?;
        if self.exec_stored.is_none() {
            self.exec_stored = Some(self.stored_keys::<ExecEvent>(None)?);
        }
        let stored = self.exec_stored.as_ref().expect("loaded above");
        let mut against_store: Vec<&ExecEvent> = Vec::new();
        for (r, k) in rows.iter().zip(keep.iter_mut()) {
            let Some(id) = r.event_id.as_deref() else {
                continue;
            };
            if let Some((first, source)) = self.exec_written.get(id) {
                // Written earlier in this run (a sync's flush holds no merger).
                *k = false;
                let fields = first.differences(&r.identity());
                if !fields.is_empty() {
                    self.conflicts.note(format!(
                        "eventID {}: the ExecuteCommand read from {} differs from the one read from {} in this run in {}: the first is kept; one of the two was altered or forged",
                        crate::model::shown(id),
                        crate::model::shown(r.source.as_deref().unwrap_or("?")),
                        crate::model::shown(self.sources.get(*source)),
                        fields.join(", ")
                    ));
                }
            } else if stored.contains(id) {
                *k = false;
                against_store.push(r);
            } else if *k && self.track_written {
                let index = self.sources.id(r.source.as_deref().unwrap_or(""));
                self.exec_written.insert(id, (r.identity(), index));
            }
        }
        self.compare_stored(&against_store)?;
        for (r, k) in rows.iter().zip(&keep) {
            if let (true, Some(id)) = (*k, r.event_id.as_deref()) {
                self.exec_kept.push(id.into());
            }
        }
        self.write_rows(&rows, &keep)?;
        Ok(counted(&keep))
    }

    /// The `eventID`s of every stored exec event, as a previous writer of this store left
    /// them ([`Writer::take_exec_ids`]): not read again from the store (a `sync` writes every
    /// few seconds; at 5M stored events a reading takes a second or two).
    pub fn use_exec_ids(&mut self, ids: IdSet) {
        self.exec_stored = Some(ids);
    }

    /// The `eventID`s of the stored exec events and of those this writer keeps: what the
    /// store holds once [`Writer::commit`] has succeeded (only then may they be used).
    pub fn take_exec_ids(&mut self) -> Option<IdSet> {
        let mut ids = self.exec_stored.take()?;
        for id in self.exec_kept.drain(..) {
            ids.insert(&id);
        }
        Some(ids)
    }

    /// The caller compares the copies of an exec event within this run itself (ingest's
    /// merger reads every input before the writer sees its rows): [`Writer::append_exec`]
    /// compares against the store only.
    pub fn copies_compared_by_caller(&mut self) {
        self.track_written = false;
    }

    /// Exec events whose `eventID` is stored, against the stored copies (read by key).
    fn compare_stored(&mut self, dropped: &[&ExecEvent]) -> Result<(), StoreError> {
        if dropped.is_empty() {
            return Ok(());
        }
        let here = self.store.root.join(ExecEvent::NAME);
        let ids: Vec<&str> = dropped
            .iter()
            .filter_map(|r| r.event_id.as_deref())
            .collect();
        let df = self
            .store
            .scan(ExecEvent::NAME, None)
            .and_then(|lf| {
                lf.filter(
                    col(ExecEvent::KEY)
                        .is_in(lit(Series::new("ids".into(), ids)).implode(false), false),
                )
                .collect()
            })
            .map_err(pq(&here))?;
        let stored = ExecEvent::from_frame(&df).map_err(pq(&here))?;
        let mut by_id: HashMap<&str, &ExecEvent> = HashMap::new();
        for r in &stored {
            if let Some(id) = r.event_id.as_deref() {
                by_id.entry(id).or_insert(r);
            }
        }
        for r in dropped {
            let id = r.event_id.as_deref().unwrap_or_default();
            let Some(s) = by_id.get(id) else {
                continue;
            };
            let fields = s.identity().differences(&r.identity());
            if !fields.is_empty() {
                self.conflicts.note(format!(
                    "eventID {}: the ExecuteCommand read from {} differs from the one stored (read from {}) in {}: the stored one is kept; one of the two was altered or forged",
                    crate::model::shown(id),
                    crate::model::shown(r.source.as_deref().unwrap_or("?")),
                    crate::model::shown(s.source.as_deref().unwrap_or("?")),
                    fields.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The exec events found stored with other content so far (see [`Writer::append_exec`]).
    pub fn take_conflicts(&mut self) -> Conflicts {
        std::mem::take(&mut self.conflicts)
    }

    /// Appends transcripts not already stored, with the commands reconstructed from them (a
    /// transcript already stored brings no commands: they are stored with it). Both frames are
    /// sorted by day (as ingest builds them: see [`crate::ingest::Batch`]).
    pub fn append_transcripts(
        &mut self,
        transcripts: DataFrame,
        commands: DataFrame,
    ) -> Result<(Appended, Appended), StoreError> {
        let here = self.store.root.join(TranscriptRow::NAME);
        let ids = strings(&transcripts, TranscriptRow::KEY).map_err(pq(&here))?;
        let days = day_numbers(&transcripts, TranscriptRow::TIME).map_err(pq(&here))?;
        let mut keep = Vec::with_capacity(ids.len());
        let mut names: BTreeMap<i64, String> = BTreeMap::new();
        for (id, day) in ids.iter().zip(&days) {
            let name = names
                .entry(*day)
                .or_insert_with_key(|d| day_name(*d))
                .clone();
            keep.push(match id {
                Some(k) => self.keys_of::<TranscriptRow>(&name)?.insert(k),
                None => true,
            });
        }
        let t = counted(&keep);
        let (transcripts, commands) = if t.already_stored == 0 {
            (transcripts, commands)
        } else {
            let dropped: HashSet<&str> = ids
                .iter()
                .zip(&keep)
                .filter(|(_, k)| !**k)
                .filter_map(|(id, _)| id.as_deref())
                .collect();
            let tids = strings(&commands, "transcript_id").map_err(pq(&here))?;
            let ckeep: Vec<bool> = tids
                .iter()
                .map(|t| t.as_deref().is_none_or(|t| !dropped.contains(t)))
                .collect();
            let tf = transcripts
                .filter(&BooleanChunked::from_slice("keep".into(), &keep))
                .map_err(pq(&here))?;
            let cf = commands
                .filter(&BooleanChunked::from_slice("keep".into(), &ckeep))
                .map_err(pq(&here))?;
            (tf, cf)
        };
        let c = Appended {
            added: commands.height() as u64,
            already_stored: 0,
        };
        self.write_by_day(
            super::table(TranscriptRow::NAME).expect("stored"),
            transcripts,
        )?;
        self.write_by_day(super::table(CommandRow::NAME).expect("stored"), commands)?;
        Ok((t, c))
    }

    /// Writes a frame sorted by day as one run per day.
    fn write_by_day(&mut self, info: TableInfo, df: DataFrame) -> Result<(), StoreError> {
        let days = day_numbers(&df, info.time).map_err(pq(&self.store.root.join(info.name)))?;
        let mut start = 0;
        for run in days.chunk_by(|a, b| a == b) {
            let slice = df.slice(start as i64, run.len());
            start += run.len();
            self.write_frame(info, day_name(run[0]), slice)?;
        }
        Ok(())
    }

    /// Writes the rows `keep` selects, grouped by day and sorted within it, without moving a
    /// row: a permutation picks them into the frame.
    fn write_rows<T: Stored>(&mut self, rows: &[T], keep: &[bool]) -> Result<(), StoreError> {
        let mut keyed: Vec<(i64, super::Order<'_>, u32)> = rows
            .iter()
            .zip(keep)
            .enumerate()
            .filter(|(_, (_, k))| **k)
            .map(|(i, (r, _))| (r.time().day_number(), r.order(), i as u32))
            .collect();
        // Ingest hands rows over mostly in order (a transcript's commands together): the
        // check is cheap, the sort then rarely has far to move anything.
        if !keyed.is_sorted() {
            keyed.sort_unstable();
        }
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            let idx: Vec<u32> = run.iter().map(|k| k.2).collect();
            let df = T::to_frame_ordered(rows, &idx).map_err(pq(&self.store.root.join(T::NAME)))?;
            let info = super::table(T::NAME).expect("a stored table");
            self.hold(info, day_name(run[0].0), df)?;
        }
        Ok(())
    }

    /// Keeps a sorted frame of one day until its day has a row group's worth of rows or the
    /// rows held grow past [`HELD_EVENT_BYTES`] (then the largest day goes first).
    fn hold(&mut self, info: TableInfo, day: String, df: DataFrame) -> Result<(), StoreError> {
        if df.height() == 0 {
            return Ok(());
        }
        let bytes = df.estimated_size();
        let slot = (info.name, day);
        let held = self.held.entry(slot.clone()).or_default();
        held.rows += df.height();
        held.bytes += bytes;
        held.frames.push(df);
        self.held_bytes += bytes;
        if held.rows >= info.row_group {
            self.release(&slot)?;
        }
        while self.held_bytes > HELD_EVENT_BYTES {
            let Some(largest) = self
                .held
                .iter()
                .max_by_key(|(_, h)| h.bytes)
                .map(|(slot, _)| slot.clone())
            else {
                break;
            };
            self.release(&largest)?;
        }
        Ok(())
    }

    /// Writes what a table's day holds as one sorted frame.
    fn release(&mut self, slot: &(&'static str, String)) -> Result<(), StoreError> {
        let Some(held) = self.held.remove(slot) else {
            return Ok(());
        };
        self.held_bytes -= held.bytes;
        let info = super::table(slot.0).expect("a stored table");
        let here = self.store.root.join(info.name);
        let mut frames = held.frames.into_iter();
        let Some(mut df) = frames.next() else {
            return Ok(());
        };
        if frames.len() > 0 {
            for f in frames {
                df.vstack_mut_owned(f).map_err(pq(&here))?;
            }
            // Each frame is sorted; together they are sorted again so that row-group
            // statistics stay tight.
            df = df
                .sort(
                    info.sort.to_vec(),
                    SortMultipleOptions::default().with_maintain_order(true),
                )
                .map_err(pq(&here))?;
        }
        self.write_frame(info, slot.1.clone(), df)
    }

    /// The keys stored for a table's day, read from its parts the first time.
    fn keys_of<T: Stored>(&mut self, day: &str) -> Result<&mut IdSet, StoreError> {
        let slot = (T::NAME, day.to_owned());
        if !self.keys.contains_key(&slot) {
            let days = Days {
                first: day.to_owned(),
                last: day.to_owned(),
            };
            let set = self.stored_keys::<T>(Some(&days))?;
            self.keys.insert(slot.clone(), set);
        }
        Ok(self.keys.get_mut(&slot).expect("just inserted"))
    }

    /// The keys a table holds within `days` (all days when `None`), read from its key column.
    fn stored_keys<T: Stored>(&self, days: Option<&Days>) -> Result<IdSet, StoreError> {
        let mut set = IdSet::default();
        if self.store.parts(T::NAME, days).is_empty() {
            return Ok(set);
        }
        let here = self.store.root.join(T::NAME);
        let df = self
            .store
            .scan(T::NAME, days)
            .and_then(|lf| lf.select([col(T::KEY)]).collect())
            .map_err(pq(&here))?;
        let keys = df
            .column(T::KEY)
            .and_then(|c| c.str().cloned())
            .map_err(pq(&here))?;
        set.extend(keys.iter().flatten());
        Ok(set)
    }

    /// Writes a sorted frame of one day as row groups of that day's open part.
    fn write_frame(
        &mut self,
        info: TableInfo,
        day: String,
        df: DataFrame,
    ) -> Result<(), StoreError> {
        if df.height() == 0 {
            return Ok(());
        }
        self.transcripts_written |= info.name == TranscriptRow::NAME;
        let slot = (info.name, day);
        if !self.open.contains_key(&slot) {
            let part = self.open_part(info, &slot.1, &df)?;
            self.open.insert(slot.clone(), part);
        }
        let part = self.open.get_mut(&slot).expect("just opened");
        let mut offset = 0;
        while offset < df.height() {
            let n = info.row_group.min(df.height() - offset);
            let mut rg = df.slice(offset as i64, n);
            rg.rechunk_mut();
            part.writer.write_batch(&rg).map_err(pq(&part.tmp))?;
            self.row_groups += 1;
            offset += n;
        }
        part.rows += df.height() as u64;
        let written = part.handle.len().map_err(io(&part.tmp))?;
        if written > PART_LIMIT {
            self.close(&slot)?;
        }
        Ok(())
    }

    fn part_name() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!(
            "part-{now}-{}-{}.parquet",
            std::process::id(),
            PART_SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn open_part(
        &mut self,
        info: TableInfo,
        day: &str,
        like: &DataFrame,
    ) -> Result<OpenPart, StoreError> {
        let dir = self.store.root.join(info.name).join(format!("day={day}"));
        private_dir(&dir)?;
        self.dirs.insert(dir.clone());
        let file = Self::part_name();
        let tmp = dir.join(format!(".{file}.tmp"));
        // A part of every table and day may be open at once (14 for a week of events): a
        // large buffer only where row groups are large. Column chunks larger than the buffer
        // go straight to the file.
        let events = [ExecEvent::NAME, ControlEvent::NAME].contains(&info.name);
        let buffer = if events { 64 << 10 } else { 1 << 20 };
        let handle = Shared(std::sync::Arc::new(std::sync::Mutex::new(
            std::io::BufWriter::with_capacity(buffer, private_file(&tmp)?),
        )));
        let writer = PartWriter::new(handle.clone(), like.schema(), info.name).map_err(pq(&tmp))?;
        Ok(OpenPart {
            file,
            path: dir.join(Self::part_name_final(&tmp)),
            tmp,
            writer,
            handle,
            rows: 0,
        })
    }

    fn part_name_final(tmp: &Path) -> String {
        let n = tmp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        n.trim_start_matches('.')
            .trim_end_matches(".tmp")
            .to_owned()
    }

    /// Writes an open part's footer, flushes it to disk and renames it into place.
    fn close(&mut self, slot: &(&'static str, String)) -> Result<(), StoreError> {
        let Some(part) = self.open.remove(slot) else {
            return Ok(());
        };
        let part = Self::finish_part(part, self.store.durable)?;
        self.publish_part(slot, part)
    }

    /// Writes an open part's footer and flushes it (to disk when `durable`).
    fn finish_part(mut part: OpenPart, durable: bool) -> Result<OpenPart, StoreError> {
        part.writer.finish().map_err(pq(&part.tmp))?;
        if durable {
            part.handle.sync().map_err(io(&part.tmp))?;
        } else {
            std::io::Write::flush(&mut part.handle).map_err(io(&part.tmp))?;
        }
        Ok(part)
    }

    /// Renames a finished part into place and lists it in the next manifest.
    fn publish_part(
        &mut self,
        slot: &(&'static str, String),
        part: OpenPart,
    ) -> Result<(), StoreError> {
        fs::rename(&part.tmp, &part.path).map_err(io(&part.path))?;
        let bytes = fs::metadata(&part.path).map_err(io(&part.path))?.len();
        self.next
            .tables
            .entry(slot.0.to_owned())
            .or_default()
            .push(Part {
                day: slot.1.clone(),
                file: part.file,
                rows: part.rows,
                bytes,
            });
        self.changed = true;
        Ok(())
    }

    /// Writes a whole frame, sorted, as one part (compaction).
    fn write(&mut self, spec: TableInfo, day: &str, df: DataFrame) -> Result<Part, StoreError> {
        let dir = self.store.root.join(spec.name).join(format!("day={day}"));
        private_dir(&dir)?;
        self.dirs.insert(dir.clone());
        let name = Self::part_name();
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
            spec.name,
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

    /// The session ids more than one transcript of the next manifest carries, sorted; `None`
    /// when a part cannot be read (readers then work it out over the parts they can read).
    fn shared_sessions(&self) -> Option<Vec<String>> {
        let t = super::table(TranscriptRow::NAME).expect("stored");
        let paths: Vec<PathBuf> = self
            .next
            .parts(t.name)
            .iter()
            .map(|p| Manifest::path(&self.store.root, t.name, p))
            .collect();
        if paths.is_empty() {
            return Some(Vec::new());
        }
        let df = super::scan_parts(t, &paths)
            .and_then(|lf| super::shared_sessions(lf).collect())
            .ok()?;
        let ids = strings(&df, "session_id").ok()?;
        Some(ids.into_iter().flatten().collect())
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
        // Keys are unique per table (the writer's rule); a store adopted from before manifests
        // may repeat one, which this merge drops.
        let df = super::scan_parts(t, &paths)
            .and_then(|lf| {
                let lf = lf.unique_stable(Some(cols([t.key])), UniqueKeepStrategy::First);
                super::without_derived_keys(t, lf).collect()
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

    /// Makes `commit` publish the manifest even if this write added nothing.
    pub(super) fn force_commit(&mut self) {
        self.changed = true;
    }

    /// Writes what is buffered, merges crowded days, and publishes everything at once.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let held: Vec<_> = self.held.keys().cloned().collect();
        for slot in held {
            self.release(&slot)?;
        }
        crate::trace::stage("commit: held rows written");
        // The parts still open are finished side by side: each ends with a flush to disk,
        // which waits on the device (100k transcripts: 51 flushes, 0.11 s one after another).
        let durable = self.store.durable;
        let mut open: Vec<_> = std::mem::take(&mut self.open).into_iter().collect();
        while !open.is_empty() {
            let rest = open.split_off(open.len().min(FLUSHING));
            let group = std::mem::replace(&mut open, rest);
            let finished: Vec<_> = std::thread::scope(|scope| {
                let running: Vec<_> = group
                    .into_iter()
                    .map(|(slot, part)| {
                        (slot, scope.spawn(move || Self::finish_part(part, durable)))
                    })
                    .collect();
                running
                    .into_iter()
                    .map(|(slot, h)| (slot, h.join().expect("finishing a part does not panic")))
                    .collect()
            });
            for (slot, part) in finished {
                self.publish_part(&slot, part?)?;
            }
        }
        crate::trace::stage("commit: parts finished");
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
        if self.transcripts_written || self.next.shared_sessions.is_none() {
            self.next.shared_sessions = self.shared_sessions();
        }
        crate::trace::stage("commit: compacted, shared sessions listed");
        let dirs: Vec<&PathBuf> = self.dirs.iter().filter(|_| durable).collect();
        for group in dirs.chunks(FLUSHING) {
            std::thread::scope(|scope| {
                let running: Vec<_> = group
                    .iter()
                    .map(|dir| scope.spawn(move || super::sync_dir(dir)))
                    .collect();
                running
                    .into_iter()
                    .try_for_each(|h| h.join().expect("syncing a folder does not panic"))
            })?;
        }
        for t in super::tables().into_iter().filter(|_| durable) {
            super::sync_dir(&self.store.root.join(t.name)).or_else(|e| match e {
                StoreError::Io { ref source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(())
                }
                e => Err(e),
            })?;
        }
        crate::trace::stage("commit: folders synced");
        self.next.commit(&self.store.root, self.store.durable)?;
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

/// The store's Parquet settings: zstd at its fastest level (transcript text compresses well and
/// is read back in bulk only by searches of output), min/max statistics for pruning.
/// A string column's values.
fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect())
}

/// A datetime column's UTC day numbers (nulls as day 0).
fn day_numbers(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    let c = df.column(name)?.as_materialized_series().clone();
    let unit = match c.dtype() {
        DataType::Datetime(u, _) => *u,
        _ => TimeUnit::Milliseconds,
    };
    let per_day: i64 = match unit {
        TimeUnit::Milliseconds => 86_400_000,
        TimeUnit::Microseconds => 86_400_000_000,
        TimeUnit::Nanoseconds => 86_400_000_000_000,
    };
    let i = c.cast(&DataType::Int64)?;
    Ok(i.i64()?
        .iter()
        .map(|v| v.unwrap_or(0).div_euclid(per_day))
        .collect())
}

fn counted(keep: &[bool]) -> Appended {
    let added = keep.iter().filter(|k| **k).count() as u64;
    Appended {
        added,
        already_stored: keep.len() as u64 - added,
    }
}

/// Writes a frame as Parquet to `tmp`, fsyncs it and renames it to `path`.
pub(crate) fn write_parquet(
    tmp: &Path,
    path: &Path,
    df: &mut DataFrame,
    table: &str,
    row_group: usize,
) -> Result<(), StoreError> {
    let file = private_file(tmp)?;
    let handle = file.try_clone().map_err(io(tmp))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut writer = PartWriter::new(&mut w, df.schema(), table).map_err(pq(tmp))?;
    let mut offset = 0;
    while offset < df.height() {
        let n = row_group.max(1).min(df.height() - offset);
        let mut rg = df.slice(offset as i64, n);
        rg.rechunk_mut();
        writer.write_batch(&rg).map_err(pq(tmp))?;
        offset += n;
    }
    writer.finish().map_err(pq(tmp))?;
    drop(writer);
    std::io::Write::flush(&mut w).map_err(io(tmp))?;
    drop(w);
    handle.sync_all().map_err(io(tmp))?;
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
        let mut slots: Vec<_> = self.open.keys().chain(self.held.keys()).cloned().collect();
        slots.sort();
        slots.dedup();
        slots
    }

    pub(super) fn flush_for_tests(
        &mut self,
        slot: &(&'static str, String),
    ) -> Result<(), StoreError> {
        self.release(slot)?;
        self.close(slot)
    }

    /// Writes everything held; returns the row groups written so far.
    pub(super) fn release_all_for_tests(&mut self) -> Result<usize, StoreError> {
        let held: Vec<_> = self.held.keys().cloned().collect();
        for slot in held {
            self.release(&slot)?;
        }
        Ok(self.row_groups)
    }
}

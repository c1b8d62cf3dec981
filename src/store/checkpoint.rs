//! Checkpoints: how far each remote source has been read into the store, so `sync` resumes where
//! it stopped and a run with nothing new fetches nothing.
//!
//! ```text
//! <store>/checkpoints/<kind>/<component>/.../<last component>.json
//! ```
//!
//! One small JSON file per key (a trail bucket's account/region, a LookupEvents account/region,
//! a transcript source), so a run rewrites only the keys it advanced. A file is written to a
//! temporary name, flushed, renamed into place and its folder flushed, so a crash leaves the old
//! checkpoint or the new one, never half of either. [`Checkpoints::save`] takes a [`Durable`],
//! made once a store [`crate::store::Writer::commit`] has returned: a checkpoint can never claim
//! rows that a crash could still lose.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Checkpoint failures, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a checkpoint this version understands ({source}); it is ignored and the source is read again from the start")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Proof that every row appended so far is on disk; required to save a checkpoint.
#[derive(Debug)]
pub struct Durable(());

impl Durable {
    /// To be made only right after [`crate::store::Writer::commit`] returned `Ok` for the rows
    /// the checkpoints cover.
    pub(crate) fn after_commit() -> Durable {
        Durable(())
    }
}

/// The name of one checkpoint: a path of components (`["s3-trail", bucket, prefix, account,
/// region]`). Components may hold any text; they are escaped into file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(Vec<String>);

impl Key {
    /// A key from its components (at least one).
    pub fn new<I, S>(parts: I) -> Key
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Key(parts.into_iter().map(Into::into).collect())
    }

    /// The relative file path: each component escaped, the last one with `.json`.
    fn rel_path(&self) -> PathBuf {
        let mut p = PathBuf::new();
        for (i, c) in self.0.iter().enumerate() {
            let mut name = escape(c);
            if i + 1 == self.0.len() {
                name.push_str(".json");
            }
            p.push(name);
        }
        p
    }
}

/// Escapes a component into one safe file name: `[A-Za-z0-9_-]` and inner dots stay, the rest
/// (and a leading dot, so `.` and `..` cannot appear) become `%XX`; empty becomes `%`.
fn escape(c: &str) -> String {
    if c.is_empty() {
        return "%".into();
    }
    let mut out = String::with_capacity(c.len());
    for (i, b) in c.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The checkpoints of one store.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    /// The checkpoints under `<store>/checkpoints/`.
    pub fn new(store_root: &Path) -> Checkpoints {
        Checkpoints {
            dir: store_root.join("checkpoints"),
        }
    }

    /// The file a key lives in.
    pub fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(key.rel_path())
    }

    /// Reads a checkpoint; `None` when there is none yet.
    pub fn load<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, CheckpointError> {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CheckpointError::Io { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| CheckpointError::Corrupt { path, source })
    }

    /// Replaces a checkpoint atomically and durably. `_rows` proves the rows it covers are
    /// already durable.
    pub fn save<T: Serialize>(
        &self,
        key: &Key,
        value: &T,
        _rows: &Durable,
    ) -> Result<(), CheckpointError> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.dir).to_path_buf();
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| CheckpointError::Io { path: p, source }
        };
        let created = create_dirs(&dir).map_err(io(&dir))?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let body = serde_json::to_vec_pretty(value).map_err(|e| CheckpointError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        // Owner-only, like the rest of the store.
        let mut f = {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(&tmp))?
        };
        f.write_all(&body).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&dir).map_err(io(&dir))?;
        // New folders must reach the disk too, or the renamed file could vanish with them.
        for d in created {
            if let Some(parent) = d.parent() {
                sync_dir(parent).map_err(io(parent))?;
            }
        }
        Ok(())
    }
}

/// Creates a folder and its missing parents; returns the folders it created, deepest first.
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    Ok(missing)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// A set of covered time spans (half-open `[from, to)`, milliseconds), merged and sorted: what
/// a time-ranged source (LookupEvents, a partitioned query) has delivered, so the next run asks
/// only for what is missing, whatever ranges earlier runs used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    spans: Vec<(i64, i64)>,
}

impl Coverage {
    /// The spans, sorted and disjoint.
    pub fn spans(&self) -> &[(i64, i64)] {
        &self.spans
    }

    /// Marks `[from, to)` as covered.
    pub fn add(&mut self, from: i64, to: i64) {
        if from >= to {
            return;
        }
        self.spans.push((from, to));
        self.spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.spans.len());
        for &(a, b) in &self.spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.spans = merged;
    }

    /// The parts of `[from, to)` not yet covered, in time order.
    pub fn missing(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut at = from;
        for &(a, b) in &self.spans {
            if b <= at {
                continue;
            }
            if a >= to {
                break;
            }
            if a > at {
                out.push((at, a.min(to)));
            }
            at = at.max(b);
            if at >= to {
                break;
            }
        }
        if at < to {
            out.push((at, to));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_into_single_safe_names() {
        let k = Key::new(["s3-trail", "my.bucket", "logs/org", "..", ""]);
        assert_eq!(
            k.rel_path(),
            PathBuf::from("s3-trail/my.bucket/logs%2Forg/%2E./%.json")
        );
        assert_ne!(
            Key::new(["a/b"]).rel_path(),
            Key::new(["a", "b"]).rel_path()
        );
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::new(dir.path());
        let key = Key::new(["lookup", "123456789012", "us-east-1"]);
        assert_eq!(cp.load::<Coverage>(&key).unwrap(), None);
        let mut c = Coverage::default();
        c.add(10, 20);
        cp.save(&key, &c, &Durable::after_commit()).unwrap();
        c.add(20, 30);
        cp.save(&key, &c, &Durable::after_commit()).unwrap();
        assert_eq!(cp.load::<Coverage>(&key).unwrap(), Some(c));
        let folder = cp.path(&key).parent().unwrap().to_path_buf();
        let names: Vec<_> = fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["us-east-1.json"]);
    }

    #[test]
    fn a_corrupt_checkpoint_is_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::new(dir.path());
        let key = Key::new(["x"]);
        fs::create_dir_all(cp.path(&key).parent().unwrap()).unwrap();
        fs::write(cp.path(&key), b"{\"spans\": [[1,").unwrap();
        assert!(matches!(
            cp.load::<Coverage>(&key),
            Err(CheckpointError::Corrupt { .. })
        ));
    }

    #[test]
    fn coverage_merges_and_reports_gaps() {
        let mut c = Coverage::default();
        assert_eq!(c.missing(0, 100), [(0, 100)]);
        c.add(10, 20);
        c.add(40, 50);
        c.add(20, 30);
        assert_eq!(c.spans(), [(10, 30), (40, 50)]);
        assert_eq!(c.missing(0, 100), [(0, 10), (30, 40), (50, 100)]);
        assert_eq!(c.missing(12, 28), []);
        assert_eq!(c.missing(25, 45), [(30, 40)]);
        c.add(0, 100);
        assert_eq!(c.spans(), [(0, 100)]);
        assert!(c.missing(0, 100).is_empty());
        c.add(5, 5);
        assert_eq!(c.spans(), [(0, 100)]);
    }
}

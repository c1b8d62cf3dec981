//! The store's manifest: the one file that says which Parquet parts are live.
//!
//! Writers put new parts beside the live ones, fsync them, then publish them all at once by
//! replacing `manifest.json` (temporary file, fsync, rename, fsync of the folder). Readers see
//! only the parts a manifest lists, so an ingest becomes visible whole or not at all, a crash
//! leaves the previous state intact, and a compaction swaps parts without a window in which a
//! row is missing or doubled. Files no manifest lists are left-overs of an interrupted writer;
//! the next writer removes them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{io, StoreError};

/// The manifest format this version writes; readers accept it and older (absent) ones.
pub const FORMAT: u32 = 2;

/// The manifest's file name under the store root.
pub const FILE: &str = "manifest.json";

/// One live part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// UTC day partition, `YYYY-MM-DD`.
    pub day: String,
    /// File name inside `<table>/day=<day>/`.
    pub file: String,
    /// Rows in the part.
    pub rows: u64,
    /// Size on disk.
    pub bytes: u64,
}

/// Every live part, per table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Bumped by every commit.
    pub generation: u64,
    pub tables: BTreeMap<String, Vec<Part>>,
    /// Session ids that more than one live transcript carries (copies from S3 and CloudWatch
    /// Logs, re-uploads, conflicts), worked out by the writer at each commit that changes the
    /// transcripts, so readers need not group every transcript by session to find the few.
    /// `None`: not known (written by an older version, or the transcripts could not be read
    /// then); readers work it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_sessions: Option<Vec<String>>,
}

impl Manifest {
    /// Reads the manifest; `None` when the store has none (new, or written before manifests).
    pub fn load(root: &Path) -> Result<Option<Manifest>, StoreError> {
        let path = root.join(FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| StoreError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if m.format > FORMAT {
            return Err(StoreError::Manifest {
                path,
                message: format!(
                    "written by a newer execaudit (store format {}, this version reads up to {FORMAT}); upgrade execaudit",
                    m.format
                ),
            });
        }
        Ok(Some(m))
    }

    /// The live parts of one table.
    pub fn parts(&self, table: &str) -> &[Part] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// The path of a part.
    pub fn path(root: &Path, table: &str, part: &Part) -> PathBuf {
        root.join(table)
            .join(format!("day={}", part.day))
            .join(&part.file)
    }

    /// Publishes this manifest atomically, and durably when `durable`.
    pub fn commit(&mut self, root: &Path, durable: bool) -> Result<(), StoreError> {
        self.format = FORMAT;
        self.generation += 1;
        let path = root.join(FILE);
        let tmp = root.join(format!(".{FILE}.tmp"));
        let text = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        {
            let mut f = super::private_file(&tmp)?;
            f.write_all(&text).map_err(io(&tmp))?;
            if durable {
                f.sync_all().map_err(io(&tmp))?;
            }
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        if durable {
            super::sync_dir(root)?;
        }
        Ok(())
    }
}

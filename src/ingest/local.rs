//! Local inputs: walking files and directories, reading and decompressing them.
//!
//! Gzip is detected by its magic bytes, whatever the file is called, and inflated by
//! [`super::gzip`]. Each worker thread reuses its buffers, so memory follows the largest single
//! file, never the corpus.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::gzip::{is_gzip, GzipError, Inflater};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Gzip(#[from] GzipError),
}

/// What walking the inputs found.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files to scan, in a stable order.
    pub files: Vec<PathBuf>,
    /// CloudTrail digest files passed over (they hold hashes, not events).
    pub digests: Vec<PathBuf>,
    /// Paths that could not be walked, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Whether a path is under a `CloudTrail-Digest/` folder, where digest files live.
fn is_digest_path(p: &Path) -> bool {
    p.components().any(|c| c.as_os_str() == "CloudTrail-Digest")
}

/// Expands files and directories (recursively) into the files to read.
pub fn collect(paths: &[PathBuf]) -> Inputs {
    let mut out = Inputs::default();
    for root in paths {
        match fs::metadata(root) {
            Err(e) => out.unreadable.push((root.clone(), e.to_string())),
            Ok(m) if m.is_file() => out.files.push(root.clone()),
            Ok(_) => {
                let mut found: Vec<PathBuf> = Vec::new();
                for entry in walkdir::WalkDir::new(root).follow_links(true) {
                    match entry {
                        Ok(e) if e.file_type().is_file() => found.push(e.into_path()),
                        Ok(_) => {}
                        Err(e) => {
                            let p = e
                                .path()
                                .map(Path::to_path_buf)
                                .unwrap_or_else(|| root.clone());
                            out.unreadable.push((p, e.to_string()));
                        }
                    }
                }
                found.sort();
                out.files.extend(found);
            }
        }
    }
    let (digests, files): (Vec<_>, Vec<_>) = out.files.into_iter().partition(|p| is_digest_path(p));
    out.files = files;
    out.digests = digests;
    out
}

/// Per-thread reusable state for reading files.
#[derive(Default)]
pub struct Reader {
    inflater: Inflater,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

impl Reader {
    /// Reads a file and returns its bytes, decompressed when gzip (detected by magic bytes).
    pub fn read(&mut self, path: &Path) -> Result<&[u8], ReadError> {
        self.raw.clear();
        fs::File::open(path)?.read_to_end(&mut self.raw)?;
        if !is_gzip(&self.raw) {
            return Ok(&self.raw);
        }
        let n = self.inflater.inflate(&self.raw, &mut self.plain)?;
        Ok(&self.plain[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_folders_are_set_aside() {
        assert!(is_digest_path(Path::new(
            "AWSLogs/o-abc/1/CloudTrail-Digest/us-east-1/x.json.gz"
        )));
        assert!(!is_digest_path(Path::new(
            "AWSLogs/1/CloudTrail/us-east-1/x.json.gz"
        )));
    }
}

//! Local inputs: walking files and directories, reading and decompressing them.
//!
//! Gzip goes through libdeflate (the fastest inflate on this class of machine) in one call,
//! sized from the gzip trailer; multi-member files, or ones whose trailer size is wrong, fall
//! back to a streaming decoder. Each worker thread reuses its buffers, so memory follows the
//! largest single file, never the corpus.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt or truncated gzip: {0}")]
    Gzip(String),
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
                            let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
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
pub struct Reader {
    inflater: libdeflater::Decompressor,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader { inflater: libdeflater::Decompressor::new(), raw: Vec::new(), plain: Vec::new() }
    }
}

impl Reader {
    /// Reads a file and returns its bytes, decompressed when gzip (detected by magic bytes).
    pub fn read(&mut self, path: &Path) -> Result<&[u8], ReadError> {
        self.raw.clear();
        fs::File::open(path)?.read_to_end(&mut self.raw)?;
        if !is_gzip(&self.raw) {
            return Ok(&self.raw);
        }
        let n = inflate(&mut self.inflater, &self.raw, &mut self.plain)?;
        Ok(&self.plain[..n])
    }
}

/// True for gzip magic bytes.
pub fn is_gzip(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0x1f && b[1] == 0x8b
}

/// Inflates gzip `raw` into `out` (grown as needed, never shrunk); returns the length.
pub fn inflate(inflater: &mut libdeflater::Decompressor, raw: &[u8], out: &mut Vec<u8>) -> Result<usize, ReadError> {
    if raw.len() < 18 {
        return Err(ReadError::Gzip("shorter than a gzip header and trailer".into()));
    }
    let isize_hint = u32::from_le_bytes(raw[raw.len() - 4..].try_into().expect("4 bytes")) as usize;
    // The trailer size is mod 2^32 and only covers the last member; a wrong hint just means
    // the streaming fallback below.
    if isize_hint > 0 && isize_hint <= raw.len().saturating_mul(1100) {
        if out.len() < isize_hint {
            out.resize(isize_hint, 0);
        }
        match inflater.gzip_decompress(raw, &mut out[..isize_hint]) {
            Ok(n) if n == isize_hint => return Ok(n),
            Ok(_) | Err(libdeflater::DecompressionError::InsufficientSpace) => {}
            Err(libdeflater::DecompressionError::BadData) => {
                // Possibly multi-member (concatenated) gzip: let the streaming decoder decide.
            }
        }
    }
    let mut dec = flate2::read::MultiGzDecoder::new(raw);
    let mut buf = Vec::with_capacity(isize_hint.max(raw.len() * 4));
    dec.read_to_end(&mut buf).map_err(|e| ReadError::Gzip(e.to_string()))?;
    let n = buf.len();
    *out = buf;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_single_and_multi_member_gzip() {
        let mut d = libdeflater::Decompressor::new();
        let mut out = Vec::new();
        let n = inflate(&mut d, &gz(b"hello world"), &mut out).unwrap();
        assert_eq!(&out[..n], b"hello world");
        let mut two = gz(b"first ");
        two.extend(gz(b"second"));
        let n = inflate(&mut d, &two, &mut out).unwrap();
        assert_eq!(&out[..n], b"first second");
    }

    #[test]
    fn corrupt_and_truncated_gzip_are_errors() {
        let mut d = libdeflater::Decompressor::new();
        let mut out = Vec::new();
        let good = gz(&b"{\"Records\":[]}".repeat(100));
        assert!(inflate(&mut d, &good[..good.len() / 2], &mut out).is_err());
        let mut flipped = good.clone();
        flipped[20] ^= 0xff;
        assert!(inflate(&mut d, &flipped, &mut out).is_err());
    }

    #[test]
    fn digest_folders_are_set_aside() {
        assert!(is_digest_path(Path::new("AWSLogs/o-abc/1/CloudTrail-Digest/us-east-1/x.json.gz")));
        assert!(!is_digest_path(Path::new("AWSLogs/1/CloudTrail/us-east-1/x.json.gz")));
    }
}

//! Local inputs: walking files and directories, reading and decompressing them.
//!
//! Gzip is detected by its magic bytes, whatever the file is called, and inflated by
//! [`super::gzip`]. Each worker thread reuses its buffers, so memory follows the largest single
//! file, never the corpus, and no file may cost more than the cap (`--max-file-bytes`,
//! decompressed). A file is judged from its first bytes before the rest is read or inflated: the
//! caller's check can refuse it there (a gzip bomb of zeros costs a few KiB, not gigabytes).
//!
//! Paths named on the command line must be regular files or folders (a FIFO, a device or a
//! missing path is an error); inside folders, special files are passed over, and so are files
//! that are plainly not logs (a README, notes, images: [`not_a_log`]).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::gzip::{self, is_gzip, GzipError, Inflater};

/// How much of a file's content is looked at before the rest is read.
pub const HEAD: usize = 4096;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Gzip(#[from] GzipError),
    /// The caller's check refused the file from its first bytes (the message says why).
    #[error("{0}")]
    Refused(String),
    /// Plainly not a log: passed over, not an error.
    #[error("not a log ({0})")]
    NotALog(String),
}

/// What the caller's check says about a file from its first bytes.
pub enum Verdict {
    /// Read the whole file.
    Read,
    /// Refuse it: the reason is an error.
    Refuse(String),
    /// Pass over it: plainly not a log (the reason says what it looked like).
    NotALog(String),
}

/// A file's (decompressed) content.
pub struct Content<'a> {
    pub bytes: &'a [u8],
    /// The gzip data was cut off: `bytes` is what came before the cut.
    pub truncated: bool,
}

/// One file to read, and whether it was named on the command line or found in a folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    pub path: PathBuf,
    /// Found by walking a folder (files named on the command line are always read).
    pub walked: bool,
}

/// What walking the inputs found.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files to scan, in a stable order.
    pub files: Vec<Input>,
    /// CloudTrail digest files passed over (they hold hashes, not events).
    pub digests: Vec<PathBuf>,
    /// Paths that could not be walked or read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Special files (FIFOs, sockets, devices) found in folders and passed over.
    pub special: Vec<PathBuf>,
}

/// Whether a path is under a `CloudTrail-Digest/` folder, where digest files live.
fn is_digest_path(p: &Path) -> bool {
    p.components().any(|c| c.as_os_str() == "CloudTrail-Digest")
}

/// What kind of special file a path is, for messages.
fn special_kind(t: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Expands files and directories (recursively) into the files to read.
pub fn collect(paths: &[PathBuf]) -> Inputs {
    let mut out = Inputs::default();
    for root in paths {
        match fs::metadata(root) {
            Err(e) => out.unreadable.push((root.clone(), e.to_string())),
            Ok(m) if m.is_file() => out.files.push(Input {
                path: root.clone(),
                walked: false,
            }),
            Ok(m) if !m.is_dir() => out.unreadable.push((
                root.clone(),
                format!("{}, not a file or folder", special_kind(m.file_type())),
            )),
            Ok(_) => {
                let mut found: Vec<PathBuf> = Vec::new();
                walk(root, &mut found, &mut out);
                {
                    use rayon::slice::ParallelSliceMut;
                    found.par_sort_unstable_by(|a, b| path_order(a, b));
                }
                out.files
                    .extend(found.into_iter().map(|path| Input { path, walked: true }));
            }
        }
    }
    let (digests, files): (Vec<_>, Vec<_>) =
        out.files.into_iter().partition(|i| is_digest_path(&i.path));
    out.files = files;
    out.digests = digests.into_iter().map(|i| i.path).collect();
    out
}

/// The order of [`Path`]'s comparison (component by component) for the paths of one walk
/// (joined with single separators), on their bytes: a separator sorts before any other byte.
/// Comparing components took 0.13 s of one core to sort 100k paths, before any was read.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt;
    let (a, b) = (a.as_os_str().as_bytes(), b.as_os_str().as_bytes());
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let at = |s: &[u8]| {
        s.get(same)
            .map(|&c| if c == b'/' { 0 } else { u16::from(c) + 1 })
    };
    at(a).cmp(&at(b))
}

/// The files under `root`. Entries are told apart by the type the directory listing gives:
/// following every link asked the file system for each file's metadata (100k transcripts: 0.3 s
/// of one core before any was read). A link is followed where it is met: to a file, the file;
/// to a folder, a walk that follows links (and stops at loops). Special and unreadable paths
/// come out in path order, whatever order the folders were listed in.
///
/// Sibling folders are listed side by side: listing 100k transcripts in 220 folders was 0.1 s
/// of one core while the other waited, before any file was read.
fn walk(root: &Path, found: &mut Vec<PathBuf>, out: &mut Inputs) {
    let mut tree = Walked::default();
    list_tree(root, 0, &mut tree);
    tree.special.sort_unstable_by(|a, b| path_order(a, b));
    tree.unreadable
        .sort_unstable_by(|a, b| path_order(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
    found.append(&mut tree.files);
    out.special.append(&mut tree.special);
    out.unreadable.append(&mut tree.unreadable);
}

/// What listing part of a tree found.
#[derive(Default)]
struct Walked {
    files: Vec<PathBuf>,
    special: Vec<PathBuf>,
    unreadable: Vec<(PathBuf, String)>,
}

impl Walked {
    fn append(&mut self, mut other: Walked) {
        self.files.append(&mut other.files);
        self.special.append(&mut other.special);
        self.unreadable.append(&mut other.unreadable);
    }
}

/// How many levels of folders are listed side by side; below them a subtree is listed in one
/// loop (the depth of a tree, a hostile archive's say, never grows the stack).
const SIDE_BY_SIDE_LEVELS: usize = 6;

/// Why a folder or an entry could not be read, naming it (as walkdir did).
fn unreadable(path: &Path, e: &io::Error) -> (PathBuf, String) {
    (
        path.to_path_buf(),
        format!("IO error for operation on {}: {e}", path.display()),
    )
}

/// Lists one folder into `out` (links to folders are walked where met) and gives the folders
/// in it.
fn list_dir(dir: &Path, out: &mut Walked) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.unreadable.push(unreadable(dir, &e));
            return folders;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                out.unreadable.push(unreadable(dir, &e));
                continue;
            }
        };
        let path = entry.path();
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => {
                out.unreadable.push(unreadable(&path, &e));
                continue;
            }
        };
        if kind.is_file() {
            out.files.push(path);
        } else if kind.is_dir() {
            folders.push(path);
        } else if kind.is_symlink() {
            match fs::metadata(&path) {
                Ok(m) if m.is_file() => out.files.push(path),
                Ok(m) if m.is_dir() => walk_links(&path, out),
                Ok(_) => out.special.push(path),
                Err(why) => out.unreadable.push((path, why.to_string())),
            }
        } else {
            out.special.push(path);
        }
    }
    folders
}

/// Lists `dir` and the folders under it: side by side for the first levels, then each subtree
/// in a loop.
fn list_tree(dir: &Path, level: usize, out: &mut Walked) {
    use rayon::prelude::*;
    let folders = list_dir(dir, out);
    if level >= SIDE_BY_SIDE_LEVELS {
        let mut pending = folders;
        while let Some(folder) = pending.pop() {
            pending.extend(list_dir(&folder, out));
        }
        return;
    }
    match folders.len() {
        0 => {}
        1 => list_tree(&folders[0], level + 1, out),
        _ => {
            let parts: Vec<Walked> = folders
                .par_iter()
                .map(|f| {
                    let mut part = Walked::default();
                    list_tree(f, level + 1, &mut part);
                    part
                })
                .collect();
            for part in parts {
                out.append(part);
            }
        }
    }
}

/// The files under a linked folder, following links; walkdir stops at a link back to a folder
/// the walk is in.
fn walk_links(root: &Path, out: &mut Walked) {
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() => out.files.push(e.into_path()),
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) => out.special.push(e.into_path()),
            Err(e) => {
                let p = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                out.unreadable.push((p, e.to_string()));
            }
        }
    }
}

/// Extensions of files that are plainly not logs (when their content does not look like one).
const NOT_LOG_EXTENSIONS: &[&str] = &[
    "txt", "md", "markdown", "rst", "adoc", "org", "pdf", "png", "jpg", "jpeg", "gif", "svg",
    "webp", "ico", "html", "htm", "css", "csv", "tsv", "xls", "xlsx", "doc", "docx", "odt", "ppt",
    "pptx", "yaml", "yml", "toml", "ini", "cfg", "conf", "xml", "sh", "py", "rs", "go", "js", "ts",
    "rb", "java", "zip", "tar", "tgz", "7z", "rar", "sig", "asc", "pem", "sha256", "md5", "exe",
    "dll", "so",
];

/// Names of files that are plainly not logs, whatever their extension.
const NOT_LOG_NAMES: &[&str] = &[
    "readme",
    "license",
    "licence",
    "notice",
    "changelog",
    "authors",
    "copying",
    "makefile",
    "dockerfile",
    "thumbs.db",
    "desktop.ini",
];

/// Why a file found in a folder is plainly not a log, judged conservatively from its name and
/// first bytes; `None` when it may be one (then a bad one is an error). Content that looks like
/// JSON, gzip or a transcript, and names ending `.json`, `.gz`, `.log`, `.jsonl`, are never
/// passed over.
pub fn not_a_log(path: &Path, head: &[u8]) -> Option<String> {
    let original = path.file_name()?.to_string_lossy();
    let name = original.to_lowercase();
    let body = head.trim_ascii_start();
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let looks_like_a_log = is_gzip(head)
        || matches!(body.first(), Some(b'{' | b'['))
        || memchr::memmem::find(head, b"Script started on").is_some();
    let named_like_a_log = [".json", ".gz", ".log", ".jsonl", ".ndjson"]
        .iter()
        .any(|e| name.ends_with(e));
    if looks_like_a_log || named_like_a_log {
        return None;
    }
    if name.starts_with('.') {
        return Some("a hidden file".into());
    }
    let stem = name.split('.').next().unwrap_or("");
    if NOT_LOG_NAMES.contains(&name.as_str()) || NOT_LOG_NAMES.contains(&stem) {
        return Some(format!("a {original} file"));
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    NOT_LOG_EXTENSIONS
        .contains(&ext)
        .then(|| format!("a .{ext} file"))
}

/// Per-thread reusable state for reading files.
#[derive(Default)]
pub struct Reader {
    inflater: Inflater,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

/// Reads from `f` until `buf` holds `limit` bytes or the file ends.
/// Files up to this size are read in one call.
const SMALL_FILE: u64 = 1 << 20;

/// Reads `n` bytes (fewer if the file ends first) into `buf`: in one `read` when the file has
/// them, without a read to find the end and without zeroing the room first (a zeroed buffer
/// cost a memset of every file, 5% of a trail scan). `read_to_end` reads into spare capacity
/// too, but in reads of 8 KiB, then 16, 32, ...: 4-5 system calls for a trail file of 90 KB.
#[cfg(unix)]
fn fill_exact(f: &mut fs::File, buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        /// POSIX `read` (libc).
        fn read(fd: std::ffi::c_int, buf: *mut std::ffi::c_void, count: usize) -> isize;
    }
    buf.reserve(n);
    let end = buf.len() + n;
    while buf.len() < end {
        let want = end - buf.len();
        let room = &mut buf.spare_capacity_mut()[..want];
        // SAFETY: the kernel writes at most `room.len()` bytes into `buf`'s spare capacity and
        // says how many; only those become part of `buf`.
        let got = unsafe { read(f.as_raw_fd(), room.as_mut_ptr().cast(), room.len()) };
        match usize::try_from(got) {
            Ok(0) => break,
            // SAFETY: `got` bytes past the length were just written (at most `room.len()`).
            Ok(got) => unsafe { buf.set_len(buf.len() + got) },
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn fill_exact(f: &mut fs::File, buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    buf.reserve(n);
    f.take(n as u64).read_to_end(buf)?;
    Ok(())
}

fn fill(f: &mut fs::File, buf: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    let have = buf.len();
    if have < limit {
        f.take((limit - have) as u64).read_to_end(buf)?;
    }
    Ok(())
}

fn verdict(v: Verdict) -> Result<(), ReadError> {
    match v {
        Verdict::Read => Ok(()),
        Verdict::Refuse(why) => Err(ReadError::Refused(why)),
        Verdict::NotALog(why) => Err(ReadError::NotALog(why)),
    }
}

impl Reader {
    /// Reads a file, decompressed when gzip (detected by magic bytes), at most `cap` bytes of
    /// content. `check` sees the first [`HEAD`] bytes of the content before the rest is read.
    pub fn read(
        &mut self,
        path: &Path,
        cap: u64,
        check: impl FnOnce(&[u8]) -> Verdict,
    ) -> Result<Content<'_>, ReadError> {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let mut f = fs::File::open(path)?;
        let meta = f.metadata()?;
        if !meta.is_file() {
            return Err(ReadError::Io(io::Error::other(format!(
                "{}, not a regular file",
                special_kind(meta.file_type())
            ))));
        }
        // A file whose size alone is over the cap is refused unread (compressed data is never
        // much smaller than its content when the content is incompressible).
        if meta.len() > (cap as u64).saturating_add(1 << 16) {
            return Err(GzipError::TooLarge(cap as u64).into());
        }
        self.raw.clear();
        let whole = meta.len() <= SMALL_FILE;
        if whole {
            // A small file (a transcript, most trail files) is read whole in one call, as large
            // as the size it had when opened: no separate read of its head, no read to find its
            // end (100k transcripts: 300k reads -> 100k). A file that grew since is read as it
            // was; one that shrank, as far as it goes.
            fill_exact(&mut f, &mut self.raw, meta.len() as usize)?;
        } else {
            fill(&mut f, &mut self.raw, HEAD)?;
        }
        if self.raw.len() > HEAD && self.raw.len() as u64 == meta.len() && !is_gzip(&self.raw) {
            verdict(check(&self.raw[..HEAD]))?;
            if self.raw.len() > cap {
                return Err(GzipError::TooLarge(cap as u64).into());
            }
            return Ok(Content {
                bytes: &self.raw,
                truncated: false,
            });
        }
        if !is_gzip(&self.raw) {
            verdict(check(&self.raw))?;
            if !whole {
                fill(&mut f, &mut self.raw, cap.saturating_add(1))?;
            }
            if self.raw.len() > cap {
                return Err(GzipError::TooLarge(cap as u64).into());
            }
            return Ok(Content {
                bytes: &self.raw,
                truncated: false,
            });
        }
        if !whole {
            fill(&mut f, &mut self.raw, cap.saturating_add(1 << 16))?;
        }
        if gzip::announced_size(&self.raw, cap).is_none() {
            // No believable size: look at the first bytes before inflating the rest.
            verdict(check(&gzip::head(&self.raw, HEAD)))?;
            let r = self.inflater.inflate(&self.raw, &mut self.plain, cap)?;
            return Ok(Content {
                bytes: &self.plain[..r.len],
                truncated: r.truncated,
            });
        }
        // The usual trail file: its size is known and within the cap, inflate it in one call.
        let r = self.inflater.inflate(&self.raw, &mut self.plain, cap)?;
        verdict(check(&self.plain[..r.len.min(HEAD)]))?;
        Ok(Content {
            bytes: &self.plain[..r.len],
            truncated: r.truncated,
        })
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

    #[test]
    fn plainly_not_logs_are_told_from_logs_conservatively() {
        let no = |name: &str, head: &[u8]| not_a_log(Path::new(name), head);
        assert!(no("dir/README.md", b"# Trail export\n").is_some());
        assert!(no("dir/README", b"Trail export notes").is_some());
        assert!(no("dir/notes.txt", b"ask ops about the 14th").is_some());
        assert!(no("dir/.DS_Store", b"\0\0\0\x01Bud1").is_some());
        assert!(no("dir/.complete", b"").is_some());
        assert!(no("dir/diagram.png", b"\x89PNG\r\n").is_some());
        // Content or a name that could be a log is never passed over.
        assert!(no("dir/export.txt", b"{\"Records\":[").is_none());
        assert!(no("dir/notes.txt", b"\x1f\x8b\x08").is_none());
        assert!(no("dir/trail.json", b"hello").is_none());
        assert!(no("dir/x.json.gz", b"garbage").is_none());
        assert!(no("dir/session.log", b"hello").is_none());
        assert!(no("dir/capture.txt", b"Script started on 2024").is_none());
        assert!(no("dir/unknown.bin", b"\0\0\0").is_none());
        assert!(no("dir/noextension", b"text").is_none());
    }

    fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, data).unwrap();
        p
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_file_is_judged_from_its_first_bytes_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Reader::default();
        let json = |h: &[u8]| {
            if h.starts_with(b"{") {
                Verdict::Read
            } else {
                Verdict::Refuse(format!("starts with {:?}", &h[..h.len().min(4)]))
            }
        };
        // A bomb of zeros whose trailer is not believable: refused after inflating 4 KiB.
        let mut bomb = gz(&vec![0u8; 64 << 20]);
        let n = bomb.len();
        bomb[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = write(dir.path(), "bomb.json.gz", &bomb);
        assert!(matches!(
            r.read(&p, 1 << 30, json),
            Err(ReadError::Refused(_))
        ));
        assert!(r.plain.len() < 1 << 20, "{}", r.plain.len());
        // A bomb that looks like JSON stops at the cap.
        let mut doc = b"{\"Records\":[".to_vec();
        doc.resize(32 << 20, b' ');
        let p = write(dir.path(), "big.json.gz", &gz(&doc));
        assert!(matches!(
            r.read(&p, 1 << 20, json),
            Err(ReadError::Gzip(GzipError::TooLarge(_)))
        ));
        assert_eq!(r.read(&p, 64 << 20, json).unwrap().bytes.len(), 32 << 20);
        // Plain files are capped and judged too.
        let p = write(dir.path(), "plain.json", &doc);
        assert!(matches!(
            r.read(&p, 1 << 20, json),
            Err(ReadError::Gzip(GzipError::TooLarge(_)))
        ));
        let p = write(dir.path(), "zeros.json", &[0u8; 10_000]);
        assert!(matches!(
            r.read(&p, 1 << 30, json),
            Err(ReadError::Refused(_))
        ));
        // Small files, read in one call, are judged from their first bytes and capped alike.
        for size in [10, HEAD, HEAD + 1, 9_000, 700_000] {
            let mut body = b"{".to_vec();
            body.extend((1..size).map(|i| b'a' + (i % 26) as u8));
            let p = write(dir.path(), "small.json", &body);
            let seen = std::cell::Cell::new(0);
            let c = r
                .read(&p, 1 << 30, |h| {
                    seen.set(h.len());
                    json(h)
                })
                .unwrap();
            assert_eq!(c.bytes, &body[..], "{size}");
            assert_eq!(seen.get(), size.min(HEAD), "{size}");
            assert!(matches!(
                r.read(&p, size as u64 - 1, json),
                Err(ReadError::Gzip(GzipError::TooLarge(_)))
            ));
        }
        // A cut gzip file yields what came before the cut.
        let text = b"{\"Records\":[".repeat(20_000);
        let z = gz(&text);
        let p = write(dir.path(), "cut.json.gz", &z[..z.len() / 2]);
        let c = r.read(&p, 1 << 30, json).unwrap();
        assert!(c.truncated && c.bytes.len() > 1000 && text.starts_with(c.bytes));
    }

    #[test]
    fn walked_paths_sort_as_paths_do() {
        let names = [
            "r/a",
            "r/a/b",
            "r/a-b",
            "r/a.b",
            "r/a/b/c",
            "r/ab",
            "r/a0",
            "r/A",
            "r/a b",
            "r/é",
            "r/b/a",
            "r/a/-",
            "r/a/\u{1}",
            "r/a/b-c",
            "r/a/b/-",
        ];
        let mut by_bytes: Vec<PathBuf> = names.iter().map(PathBuf::from).collect();
        let mut by_path = by_bytes.clone();
        by_bytes.sort_unstable_by(|a, b| path_order(a, b));
        by_path.sort();
        assert_eq!(by_bytes, by_path);
    }

    #[test]
    fn folders_listed_side_by_side_give_every_file_once_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        // Siblings at several depths, empty folders, a folder of one folder, files beside folders.
        for (i, sub) in ["a", "a/b", "a/b/c", "a/d", "e", "f/g/h", "i-j", "i", "k/l"]
            .iter()
            .enumerate()
        {
            let d = root.join(sub);
            fs::create_dir_all(&d).unwrap();
            for n in 0..(i % 4) {
                write(&d, &format!("{n}.log"), b"x");
            }
        }
        fs::create_dir_all(root.join("empty/too")).unwrap();
        let inputs = collect(std::slice::from_ref(&root));
        let mut expected: Vec<PathBuf> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        expected.sort();
        let listed: Vec<PathBuf> = inputs.files.iter().map(|i| i.path.clone()).collect();
        assert_eq!(listed.len(), 12);
        assert_eq!(listed, expected);
        assert!(inputs.unreadable.is_empty() && inputs.special.is_empty());
    }

    #[test]
    fn a_root_that_is_a_link_to_a_folder_gives_each_file_once() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir_all(real.join("sub")).unwrap();
        write(&real, "a.log", b"x");
        write(&real.join("sub"), "b.log", b"x");
        let link = dir.path().join("link");
        symlink(&real, &link).unwrap();
        let inputs = collect(std::slice::from_ref(&link));
        let listed: Vec<PathBuf> = inputs.files.iter().map(|i| i.path.clone()).collect();
        assert_eq!(listed, [link.join("a.log"), link.join("sub/b.log")]);
    }

    #[test]
    fn a_folder_that_cannot_be_listed_is_named_in_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "not-a-folder", b"x");
        let mut w = Walked::default();
        list_tree(&file, 0, &mut w);
        assert_eq!(w.unreadable.len(), 1);
        assert_eq!(w.unreadable[0].0, file);
        let why = &w.unreadable[0].1;
        assert!(
            why.starts_with(&format!("IO error for operation on {}: ", file.display())),
            "{why}"
        );
    }

    #[test]
    fn a_tree_deeper_than_the_levels_listed_side_by_side_is_listed_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        // Two branches, each far deeper than SIDE_BY_SIDE_LEVELS, a file at every level, and a
        // FIFO at two depths (special paths come out in path order).
        let mut expected = Vec::new();
        for branch in ["a", "b"] {
            let mut d = root.join(branch);
            for level in 0..(SIDE_BY_SIDE_LEVELS * 3) {
                fs::create_dir_all(&d).unwrap();
                expected.push(write(&d, &format!("{level}.log"), b"x"));
                d = d.join(format!("d{level}"));
            }
        }
        let fifos = [root.join("b/fifo"), root.join("a/d0/d1/fifo")];
        let made = fifos.iter().all(|f| {
            std::process::Command::new("mkfifo")
                .arg(f)
                .status()
                .is_ok_and(|s| s.success())
        });
        expected.sort_unstable_by(|a, b| path_order(a, b));
        let inputs = collect(std::slice::from_ref(&root));
        let listed: Vec<PathBuf> = inputs.files.iter().map(|i| i.path.clone()).collect();
        assert_eq!(listed, expected);
        if made {
            assert_eq!(inputs.special, [fifos[1].clone(), fifos[0].clone()]);
        }
    }

    #[test]
    fn links_in_folders_are_followed_to_files_and_folders() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(elsewhere.join("deeper")).unwrap();
        write(&root.join("sub"), "a.log", b"x");
        write(&elsewhere, "b.log", b"x");
        write(&elsewhere.join("deeper"), "c.log", b"x");
        symlink(elsewhere.join("b.log"), root.join("b-link.log")).unwrap();
        symlink(&elsewhere, root.join("linked-folder")).unwrap();
        symlink(dir.path().join("gone.log"), root.join("dangling.log")).unwrap();
        let inputs = collect(std::slice::from_ref(&root));
        let names: Vec<String> = inputs
            .files
            .iter()
            .map(|i| i.path.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "b-link.log",
                "linked-folder/b.log",
                "linked-folder/deeper/c.log",
                "sub/a.log"
            ]
        );
        assert!(inputs.files.iter().all(|i| i.walked));
        assert_eq!(inputs.unreadable.len(), 1, "{:?}", inputs.unreadable);
        assert!(inputs.unreadable[0].0.ends_with("dangling.log"));
    }

    #[test]
    fn named_special_files_are_errors_and_walked_ones_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        let named = collect(&[PathBuf::from("/dev/zero"), dir.path().join("missing")]);
        assert_eq!(named.unreadable.len(), 2);
        assert!(named.unreadable[0].1.contains("character device"));
        assert!(named.files.is_empty());
        if made {
            let c = collect(std::slice::from_ref(&fifo));
            assert!(c.unreadable[0].1.contains("FIFO"), "{:?}", c.unreadable);
            let walked = collect(&[dir.path().to_path_buf()]);
            assert_eq!(walked.special, [fifo]);
            assert!(walked.unreadable.is_empty() && walked.files.is_empty());
        }
    }
}

//! Reading a file: gzip or not, cut, corrupt or a bomb, judged from its first bytes, capped at
//! 1 MiB. Must never panic or exceed the cap; inflating agrees with flate2's streaming decoder;
//! what the first look refuses, a full scan refuses the same way.
#![no_main]

use std::io::Read;
use std::path::PathBuf;

use execaudit::ingest::cloudtrail::{scan, sniff};
use execaudit::ingest::gzip::Inflater;
use execaudit::ingest::local::{not_a_log, Reader, Verdict};
use libfuzzer_sys::fuzz_target;

const CAP: usize = 1 << 20;

fn file() -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("execaudit-fuzz-{}.json.gz", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    // Inflate, bounded, against a streaming decoder.
    let mut out = Vec::new();
    if let Ok(r) = Inflater::default().inflate(data, &mut out, CAP) {
        assert!(r.len <= CAP);
        assert!(out.capacity() <= CAP + (1 << 17) + (1 << 16));
        let mut reference = Vec::new();
        let whole = flate2::read::MultiGzDecoder::new(data)
            .take(CAP as u64 + 1)
            .read_to_end(&mut reference)
            .is_ok();
        let ours = &out[..r.len];
        if whole && !r.truncated {
            assert!(reference.starts_with(ours), "inflated bytes differ");
        } else {
            let n = ours.len().min(reference.len());
            assert_eq!(ours[..n], reference[..n], "inflated bytes differ");
        }
    }
    // A first look that refuses agrees with the scan of the whole.
    if let Err(e) = sniff(data) {
        assert_eq!(scan(data, "fuzz").err(), Some(e));
    }
    let _ = not_a_log(std::path::Path::new("dir/notes.txt"), data);
    // The reader over a file holding the bytes.
    let path = file();
    if std::fs::write(&path, data).is_ok() {
        let mut reader = Reader::default();
        let got = reader.read(&path, CAP as u64, |head| match sniff(head) {
            Ok(()) => Verdict::Read,
            Err(e) => Verdict::Refuse(e.to_string()),
        });
        if let Ok(c) = got {
            assert!(c.bytes.len() <= CAP);
            let _ = scan(c.bytes, "fuzz");
        }
    }
});

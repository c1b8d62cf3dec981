//! Criterion benches of the ingest stages on a generated realistic organisation trail (the
//! `realistic` profile: ~1.5 KB records, 1.4% generic changes to parse): inflate alone, scan
//! alone (prefilter + in-place parse of candidates + classify), and read + inflate + scan, per
//! file, in bytes of decompressed JSON.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use execaudit::ingest::local::{Reader, Verdict};
use execaudit::ingest::{cloudtrail, gzip::Inflater, DEFAULT_MAX_FILE_BYTES};
use execaudit::sample::Profile;

fn corpus() -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    execaudit::sample::generate_profile(dir.path(), 120_000, 1, false, Profile::Realistic)
        .expect("generate corpus");
    let mut files: Vec<_> = walkdir::WalkDir::new(dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file() && !e.path().to_string_lossy().contains("CloudTrail-Digest")
        })
        .map(|e| e.into_path())
        .collect();
    files.sort();
    (dir, files)
}

fn scanner(c: &mut Criterion) {
    let (_dir, files) = corpus();
    let raw: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();
    let mut inflater = Inflater::default();
    let cap = DEFAULT_MAX_FILE_BYTES as usize;
    let plain: Vec<Vec<u8>> = raw
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            let n = inflater.inflate(r, &mut out, cap).expect("inflate");
            out.truncate(n.len);
            out
        })
        .collect();
    let bytes: u64 = plain.iter().map(|p| p.len() as u64).sum();

    let mut g = c.benchmark_group("trail");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("inflate", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for r in &raw {
                black_box(inflater.inflate(r, &mut out, cap).expect("inflate"));
            }
        })
    });
    g.bench_function("scan", |b| {
        b.iter(|| {
            for p in &plain {
                black_box(cloudtrail::scan(p, "bench").expect("scan").events.len());
            }
        })
    });
    g.bench_function("read+inflate+scan", |b| {
        let mut reader = Reader::default();
        b.iter(|| {
            for f in &files {
                let body = reader
                    .read(f, DEFAULT_MAX_FILE_BYTES, |_| Verdict::Read)
                    .expect("read");
                black_box(
                    cloudtrail::scan(body.bytes, "bench")
                        .expect("scan")
                        .events
                        .len(),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, scanner);
criterion_main!(benches);

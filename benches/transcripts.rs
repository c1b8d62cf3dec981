//! Criterion bench of transcript reconstruction (terminal model + command segmentation), in
//! transcript bytes per second on one core: over the real-shell test set (many small
//! sessions), and over one long session whose output dominates, as large transcripts do.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The allocator the binary runs with (`src/main.rs`): reconstruction allocates lines and
/// commands, and glibc's malloc took about a tenth of this bench's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use execaudit::ingest::transcript;
use execaudit::terminal::reconstruct;

fn bodies() -> Vec<Vec<u8>> {
    bodies_of("tests/transcripts/cases")
}

/// The bodies of every transcript under `dir` (relative to the crate).
fn bodies_of(dir: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "log") {
            let bytes = std::fs::read(p).expect("read case");
            out.extend(
                transcript::read(&bytes, &p.to_string_lossy())
                    .into_iter()
                    .map(|t| t.body.into_owned()),
            );
        }
    }
    out
}

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

fn transcripts(c: &mut Criterion) {
    // And its setting while it reconstructs transcripts (`src/alloc.rs`): freed memory kept
    // (`mi_option_purge_delay` -1).
    // SAFETY: before any other thread allocates; mimalloc options may be set at any time.
    unsafe { mi_option_set(15, -1) };
    // And no transparent huge pages, as the binary.
    execaudit::alloc::no_huge_pages();
    let cases = bodies();
    let total: u64 = cases.iter().map(|b| b.len() as u64).sum();
    let mut g = c.benchmark_group("transcript");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("real-shell set", |b| {
        b.iter(|| {
            for body in &cases {
                black_box(reconstruct(body).commands.len());
            }
        })
    });
    // Issue 10's classes (six shells, redraws, resizes, REPLs) and issue 12's hostile set.
    for (name, dir) in [
        ("classes set", "tests/transcripts/classes"),
        ("hostile set", "tests/data/hostile-transcripts"),
    ] {
        let set = bodies_of(dir);
        g.throughput(Throughput::Bytes(set.iter().map(|b| b.len() as u64).sum()));
        g.bench_function(name, |b| {
            b.iter(|| {
                for body in &set {
                    black_box(reconstruct(body).commands.len());
                }
            })
        });
    }
    // One long session: every case's body in turn, about 16 MB.
    let mut long = Vec::new();
    while long.len() < 16 << 20 {
        for body in &cases {
            long.extend_from_slice(body);
        }
    }
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.sample_size(10);
    g.bench_function("one 16 MB session", |b| {
        b.iter(|| black_box(reconstruct(&long).commands.len()))
    });
    g.finish();
}

criterion_group!(benches, transcripts, parser_ceiling);
criterion_main!(benches);

struct Nothing;
impl vte::Perform for Nothing {}

fn parser_ceiling(c: &mut Criterion) {
    let cases = bodies();
    let mut long = Vec::new();
    while long.len() < 16 << 20 {
        for body in &cases {
            long.extend_from_slice(body);
        }
    }
    let mut g = c.benchmark_group("transcript");
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.sample_size(10);
    g.bench_function("vte alone (ceiling)", |b| {
        b.iter(|| {
            let mut p = vte::Parser::new();
            p.advance(&mut Nothing, black_box(&long));
        })
    });
    g.finish();
}

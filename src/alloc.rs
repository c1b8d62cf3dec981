//! What the binary's allocator does with freed memory, by workload.
//!
//! mimalloc returns freed memory to the system after a delay. Queries and the report free
//! large working sets once: returning them soon (10 ms) keeps the peak low. Trail scans
//! (`ingest`, `audit`, `sync`) free each file's buffers as the next is read. With transparent
//! huge pages on, returning them at once kept the peak from growing with the trail; since huge
//! pages are off ([`no_huge_pages`]), returning them at once only costs the kernel's work of
//! taking the pages back and handing them out again, zeroed: 200 ms is 4% less CPU on a
//! 4M-record organisation trail (`ingest` 4.90 -> 4.72 CPU-s, 2.50 -> 2.43 s) for a peak of
//! 118 MB instead of 95 (1M records: 96 MB instead of 73; 50 ms: 4.80 CPU-s, 107 MB).
//! Reconstructing transcripts frees and reallocates similar amounts batch after batch: returned
//! soon, the kernel zeroes the same pages again and again (100k transcripts: 12.5-13 s held 2 s,
//! 15-32 s held 10 ms). So while a scan reads transcripts the allocator keeps what is freed
//! (held 2 s, it still gave back and took again about 40k pages, and returning them cost more:
//! 4 alternating runs each, 11.3 -> 10.2 s and 21.0 -> 19.3 CPU-s, peak 367 -> 399 MB). mimalloc
//! 3 does not schedule memory freed then for return at all: it stays with the process, for
//! reuse, until it is freed again. Once the scan is over, what is freed is returned after 2 s
//! (kept to the end of the run, `audit` of 100k transcripts peaked 140 MB higher; as it is,
//! 1.25 GB, where it was 1.20-1.30). The binary registers both settings; the scan asks for the
//! first before its first transcript and for the second when every file is read (`sync` when
//! its pull is over).

use std::sync::{Once, OnceLock};

/// What to do when transcripts are first met, and when the scan is over.
struct Hooks {
    hold: fn(),
    release: fn(),
}

static HOLD: OnceLock<Hooks> = OnceLock::new();
static HELD: Once = Once::new();

unsafe extern "C" {
    /// Linux's process control call (libc).
    fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
}

/// `PR_SET_THP_DISABLE` (linux/prctl.h).
const PR_SET_THP_DISABLE: std::ffi::c_int = 41;

/// No transparent huge pages for this process (the binary calls it first thing, and the
/// benches that use its allocator). mimalloc asks for them on its arenas, and the kernel then
/// backs every touched 2 MiB whole: a trail scan's peak grew with the trail (4M records: ingest
/// 125-133 MB with them, 86-91 without; 1M: 94-101 and 71-73), and 100k transcripts took
/// 12.7 s and 475-484 MB with them, 12.1 s and 454-458 MB without. mimalloc's own `allow_thp`
/// option is read when its first arena is mapped, before `main`. `MIMALLOC_ALLOW_THP` in the
/// environment leaves the process as it is.
pub fn no_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        let off: std::ffi::c_ulong = 0;
        // SAFETY: a plain system call with integer arguments; failure (an old kernel, another
        // OS) leaves things as they were.
        unsafe { prctl(PR_SET_THP_DISABLE, 1 as std::ffi::c_ulong, off, off, off) };
    }
}

/// How long freed memory is held (ms) from the start of a command: see the module documentation.
pub fn purge_delay_ms(cli: &crate::cli::Cli) -> std::ffi::c_long {
    use crate::cli::Command;
    match cli.command {
        Command::Ingest(_) | Command::Audit(_) | Command::Sync(_) => 200,
        _ => 10,
    }
}

/// Registers what to do when the run starts reconstructing transcripts (the binary: keep freed
/// memory) and when its scan is over (hold it 2 s). Without it (the library in tests) nothing
/// happens.
pub fn on_transcripts(hold: fn(), release: fn()) {
    let _ = HOLD.set(Hooks { hold, release });
}

/// Called before a transcript is reconstructed; runs the registered hook once per process.
pub fn transcripts_ahead() {
    if let Some(hooks) = HOLD.get() {
        HELD.call_once(hooks.hold);
    }
}

/// Called when a scan has read every file: if transcripts were met, the second hook.
pub fn transcripts_done() {
    if let Some(hooks) = HOLD.get() {
        if HELD.is_completed() {
            (hooks.release)();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hold_runs_once_at_the_first_transcript_and_the_release_when_a_scan_ends() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static HOLDS: AtomicUsize = AtomicUsize::new(0);
        static RELEASES: AtomicUsize = AtomicUsize::new(0);
        super::on_transcripts(
            || {
                HOLDS.fetch_add(1, Ordering::SeqCst);
            },
            || {
                RELEASES.fetch_add(1, Ordering::SeqCst);
            },
        );
        // Other tests in this process read transcripts too: counts only grow from here.
        super::transcripts_ahead();
        super::transcripts_ahead();
        assert_eq!(HOLDS.load(Ordering::SeqCst), 1);
        let before = RELEASES.load(Ordering::SeqCst);
        super::transcripts_done();
        assert!(RELEASES.load(Ordering::SeqCst) > before);
        assert_eq!(HOLDS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn huge_pages_are_turned_off_for_the_process() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return; // asked to leave the process as it is
        }
        let status = || std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if !status().contains("THP_enabled:") {
            return; // a kernel that does not say (before 6.0)
        }
        super::no_huge_pages();
        assert!(status().contains("THP_enabled:\t0"), "{}", status());
    }
}

//! What the binary's allocator does with freed memory, by workload.
//!
//! mimalloc returns freed memory to the system after a delay. Queries, the report and trail
//! scans free large working sets once: returning them soon (10 ms) keeps the peak low (a
//! 4M-record organisation trail: `audit` 189-192 MB instead of 238-249 MB). Reconstructing
//! transcripts frees and reallocates similar amounts batch after batch: returned soon, the
//! kernel zeroes the same pages again and again (100k transcripts: 12.5-13 s held 2 s, 15-32 s
//! held 10 ms). The binary registers how to hold memory longer; the scan asks for it once, before
//! the first transcript.

use std::sync::{Once, OnceLock};

static HOLD: OnceLock<fn()> = OnceLock::new();
static HELD: Once = Once::new();

/// Registers what to do when the run starts reconstructing transcripts (the binary: hold freed
/// memory for 2 s). Without it (the library in tests) nothing happens.
pub fn on_transcripts(hold: fn()) {
    let _ = HOLD.set(hold);
}

/// Called before a transcript is reconstructed; runs the registered hook once per process.
pub fn transcripts_ahead() {
    if let Some(hold) = HOLD.get() {
        HELD.call_once(hold);
    }
}

//! What the binary's allocator does with freed memory, by workload.
//!
//! mimalloc returns freed memory to the system after a delay. Queries and the report free
//! large working sets once: returning them soon (10 ms) keeps the peak low. Trail scans
//! (`ingest`, `audit`, `sync`) free each file's buffers as the next is read: returned at once,
//! their peak no longer grows with the trail, at the same speed (4M-record organisation trail:
//! `ingest` 125-133 MB instead of 155-160, `audit` 116-121 instead of 147-162; at 1M records
//! 94-101 and 105-108 MB instead of 129-157 and 165-169). Reconstructing
//! transcripts frees and reallocates similar amounts batch after batch: returned soon, the
//! kernel zeroes the same pages again and again (100k transcripts: 12.5-13 s held 2 s, 15-32 s
//! held 10 ms). The binary registers how to hold memory longer; the scan asks for it once, before
//! the first transcript.

use std::sync::{Once, OnceLock};

static HOLD: OnceLock<fn()> = OnceLock::new();
static HELD: Once = Once::new();

/// How long freed memory is held (ms) from the start of a command: see the module documentation.
pub fn purge_delay_ms(cli: &crate::cli::Cli) -> std::ffi::c_long {
    use crate::cli::Command;
    match cli.command {
        Command::Ingest(_) | Command::Audit(_) | Command::Sync(_) => 0,
        _ => 10,
    }
}

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

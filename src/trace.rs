//! Stage timings for whoever measures: with `EXECAUDIT_TRACE=1` in the environment, each
//! stage a command marks prints its wall time since the start and the process's resident and
//! peak memory to stderr. Off (one relaxed load) otherwise.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 off, 2 on
static START: OnceLock<Instant> = OnceLock::new();

fn on() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let on = std::env::var_os("EXECAUDIT_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
            STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            START.get_or_init(Instant::now);
            on
        }
    }
}

/// `VmRSS` and `VmHWM` in MB from `/proc/self/status` (zeros where unavailable).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kb("VmRSS:") / 1024, kb("VmHWM:") / 1024)
}

/// Marks the end of a stage.
pub fn stage(name: &str) {
    if !on() {
        return;
    }
    let t = START.get_or_init(Instant::now).elapsed();
    let (rss, peak) = memory();
    eprintln!(
        "trace: {:>8.3} s  rss {rss:>5} MB  peak {peak:>5} MB  {name}",
        t.as_secs_f64()
    );
}

//! execaudit: parse arguments, run, print the error, exit with the documented status.

use clap::Parser;

/// mimalloc: ingest frees millions of small strings on another thread than the one that
/// made them, which the system allocator handles poorly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether an error is the reader of our output going away (`| head`): not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<polars::prelude::PolarsError>()
                .is_some_and(|p| p.to_string().contains("Broken pipe"))
    })
}

unsafe extern "C" {
    /// mimalloc's option setter (the allocator linked above).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay`: how long freed memory is held before it goes back to the system
/// (see `execaudit::alloc`: 200 or 10 ms by command; kept while a scan reconstructs transcripts,
/// 2 s after). -1 is never.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn set_purge_delay(ms: std::ffi::c_long) {
    // SAFETY: the option was set (initialised) before any thread started; this stores a new
    // value in the same `long`, which mimalloc reads when it next considers purging.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, ms) };
}

fn keep_freed_memory() {
    set_purge_delay(-1);
}

fn hold_freed_memory() {
    set_purge_delay(2000);
}

fn main() {
    execaudit::alloc::no_huge_pages();
    execaudit::trace::stage("start");
    let cli = execaudit::cli::Cli::parse();
    // SAFETY: sets a process-wide allocator option before any thread starts; mimalloc documents
    // options as settable at any time. `MIMALLOC_PURGE_DELAY` in the environment wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        unsafe {
            mi_option_set(
                MI_OPTION_PURGE_DELAY,
                execaudit::alloc::purge_delay_ms(&cli),
            )
        };
        execaudit::alloc::on_transcripts(keep_freed_memory, hold_freed_memory);
    }
    let code = match execaudit::run::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let text = execaudit::run::error_text(&e);
            eprintln!(
                "execaudit: error: {}",
                execaudit::report::escape::visible(&text, true)
            );
            2
        }
    };
    std::process::exit(code);
}

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

/// `mi_option_purge_delay`: how long freed memory is held before it goes back to the system.
/// Ingesting (and `audit`, `sync`) frees and reallocates similar amounts batch after batch:
/// returning it at once makes the kernel zero the same pages again and again (100k
/// transcripts: 12.5-13 s held 2 s, 15-32 s held 10 ms). Queries and the report free large
/// working sets one after another: held 10 ms, the report's peak at 100k sessions is 840-850 MB
/// instead of 930-970 MB with mimalloc 3's default 1 s, no slower.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() {
    execaudit::trace::stage("start");
    let cli = execaudit::cli::Cli::parse();
    use execaudit::cli::Command;
    let batches = matches!(
        cli.command,
        Command::Ingest(_) | Command::Audit(_) | Command::Sync(_)
    );
    // SAFETY: sets a process-wide allocator option before any thread starts; mimalloc documents
    // options as settable at any time. `MIMALLOC_PURGE_DELAY` in the environment wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        let ms = if batches { 2000 } else { 10 };
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, ms) };
    }
    let code = match execaudit::run::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!(
                "execaudit: error: {}",
                execaudit::report::escape::visible(&text, true)
            );
            2
        }
    };
    std::process::exit(code);
}

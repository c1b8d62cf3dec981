//! execaudit: parse arguments, run, print the error, exit with the documented status.

use clap::Parser;

/// Whether an error is the reader of our output going away (`| head`): not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<polars::prelude::PolarsError>()
                .is_some_and(|p| p.to_string().contains("Broken pipe"))
    })
}

fn main() {
    let cli = execaudit::cli::Cli::parse();
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

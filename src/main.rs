//! execaudit: parse arguments, run, print the error, exit with the documented status.

use clap::Parser;

fn main() {
    let cli = execaudit::cli::Cli::parse();
    let code = match execaudit::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("execaudit: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

//! Development aid: prints what reconstruction makes of transcript files, and, for files of the
//! test sets, the shell's own truth beside it.
//!
//!     cargo run --example reconstruct -- tests/transcripts/classes/fish-default/<id>.log [--text]

use execaudit::ingest::transcript;
use execaudit::terminal::reconstruct;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_text = args.iter().any(|a| a == "--text");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        for t in transcript::read(&bytes, path) {
            let r = reconstruct(&t.body);
            println!(
                "== {path} shell={:?} width={:?} unobservable={:?}",
                r.shell, r.width, r.unobservable
            );
            for c in &r.commands {
                println!(
                    "  {:?} | {:?}{}{}{}{}{} conf={}",
                    c.prompt,
                    c.text,
                    if c.abandoned { " ABANDONED" } else { "" },
                    if c.program_input { " PROGRAM" } else { "" },
                    if c.pasted { " pasted" } else { "" },
                    if c.edited { " edited" } else { "" },
                    if c.full_screen { " full-screen" } else { "" },
                    c.confidence
                );
            }
            let truth = path.replace(".log", ".truth.json");
            if let Ok(t) = std::fs::read_to_string(&truth) {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                println!("  truth: {}", v["executed"]);
            }
            if show_text {
                println!("{}", r.text);
            }
        }
    }
}

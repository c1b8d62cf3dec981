//! Embeds the shipped rule pack (`queries/rules/**/*.toml`) into the binary, so an installed
//! `execaudit` carries its rules without the source tree. Writes `$OUT_DIR/shipped_rules.rs`:
//! a sorted list of (path relative to the crate, contents) pairs.

use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let rules = root.join("queries/rules");
    println!("cargo:rerun-if-changed=queries/rules");
    let mut files = Vec::new();
    collect(&rules, &mut files);
    files.sort();
    let mut code = String::from("/// The shipped rule files: (path, contents), sorted by path.\n");
    code.push_str("pub static SHIPPED_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).expect("under the crate");
        // The path is resolved when the crate compiles, not here: a target directory shared by
        // two checkouts must not read the rules of the checkout that last ran this script.
        let rel = rel.to_string_lossy().replace('\\', "/");
        code.push_str(&format!(
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),\n",
            format!("/{rel}")
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    fs::write(out.join("shipped_rules.rs"), code).expect("write shipped_rules.rs");
}

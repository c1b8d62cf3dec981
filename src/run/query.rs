//! `query`: polars SQL over the store's tables and views, printed like every other result.
//!
//! The whole answer is computed before anything is written, so invalid SQL or an unknown
//! column prints nothing but the error (with the tables and their columns) and exits 2;
//! `--out FILE` is written under a temporary name and renamed when complete.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Context};

use super::{finish, open_store, refuse_binary_to_terminal};
use crate::cli::QueryCmdArgs;
use crate::config::{self, Filter};
use crate::dataset::{Damage, Dataset};
use crate::report::{self, Style};

/// The tables and views `query` offers, each with its columns, for error messages and help.
pub fn catalogue(data: &Dataset, f: &Filter) -> String {
    let Ok(ctx) = data.sql(f) else {
        return String::new();
    };
    let mut names = ctx.get_tables();
    names.sort();
    let mut out = String::from("tables and their columns:");
    for n in names {
        let cols = ctx
            .clone()
            .execute(&format!("SELECT * FROM {n} LIMIT 0"))
            .and_then(|mut lf| lf.collect_schema())
            .map(|s| {
                s.iter_names()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!("\n  {n}: {cols}"));
    }
    out
}

/// The SQL text: the argument itself, or the file it names.
fn sql_text(arg: &str) -> anyhow::Result<String> {
    let p = Path::new(arg);
    let looks_like_file =
        arg.ends_with(".sql") || (p.is_file() && !arg.contains(char::is_whitespace));
    let text = if looks_like_file {
        fs::read_to_string(p).with_context(|| format!("reading the SQL file {arg}"))?
    } else {
        arg.to_owned()
    };
    let text = text.trim().trim_end_matches(';').trim().to_owned();
    if text.is_empty() {
        bail!("no SQL given");
    }
    Ok(text)
}

pub fn query(a: QueryCmdArgs) -> anyhow::Result<i32> {
    let sql = sql_text(&a.sql)?;
    let filter = Filter::from_args(
        &crate::cli::FilterArgs {
            since: a.since.clone(),
            until: a.until.clone(),
            ..Default::default()
        },
        config::now(),
    )?;
    // Findings take a pass over every command, and the report's break-glass table (issue 8,
    // so queries/reports/breakglass*.sql run here) a pass over the sessions: only when the SQL
    // names them (rules and policy are then checked before any data is read).
    let lower = sql.to_lowercase();
    let wants_findings = lower.contains("findings");
    let wants_compliance = lower.contains("compliance");
    let detector = if wants_findings || wants_compliance {
        Some(super::findings::load_detector(&a.detect)?)
    } else {
        None
    };
    let data = open_store(a.store.store)?;
    let mut damage = Damage::default();
    let mut extra = Vec::new();
    if let Some(d) = &detector {
        // Like the views, findings are bounded by --since/--until (their `time`).
        if wants_findings {
            let all = data.findings(d, &mut damage)?;
            extra.push(("findings", super::findings::filtered_frame(all, &filter)?));
        }
        if wants_compliance {
            extra.push((
                "compliance",
                super::weekly::compliance::frame(&data, d, &filter, &mut damage)?,
            ));
        }
    }
    let df = match data.collect(&mut damage, |d| {
        d.sql_with(&filter, extra.clone())?.execute(&sql)
    }) {
        Ok(df) => df,
        Err(e) => {
            let text = super::error_text(&e);
            let hint = if text.contains("found: cluster") {
                "\nhint: `cluster` is a keyword of this SQL dialect: quote it (\"cluster\") or qualify it (s.cluster)\n"
            } else if text.contains("duplicate output name") {
                "\nhint: two columns of the SELECT have the same name (`min(time), max(time)` are both `time`): name them with AS (`min(time) AS first, max(time) AS last`)\n"
            } else {
                ""
            };
            bail!("{text}{hint}\n{}", catalogue(&data, &filter))
        }
    };
    let style = Style {
        format: a.output.format,
        show_secrets: a.output.show_secrets,
    };
    match &a.out {
        Some(path) => {
            let tmp = path.with_file_name(format!(
                ".{}.tmp",
                path.file_name()
                    .map_or("out".into(), |n| n.to_string_lossy())
            ));
            if path.is_dir() {
                bail!("--out {}: a folder, not a file", path.display());
            }
            let result = (|| -> anyhow::Result<()> {
                let file = fs::File::create(&tmp)
                    .with_context(|| format!("creating {}", tmp.display()))?;
                let mut out = io::BufWriter::new(file);
                report::render(&mut out, &df, style, &[])?;
                out.flush()?;
                drop(out);
                fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
            })();
            // Nothing half-written is left behind (a rename onto a folder, a full disk).
            if result.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            result?;
        }
        None => {
            refuse_binary_to_terminal(style.format)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            report::render(&mut out, &df, style, &[])?;
            out.flush()?;
        }
    }
    Ok(finish(&damage))
}

//! `query`: polars SQL over the store's tables and views, printed like every other result.
//!
//! The whole answer is computed before anything is written, so invalid SQL or an unknown
//! column prints nothing but the error (with the tables and their columns) and exits 2;
//! `--out FILE` is written under a temporary name and renamed when complete.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Context};
use polars::prelude::{Column, DataFrame};

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

/// What a statement asks for: polars runs what reads; `DESCRIBE` is answered here.
#[derive(Debug, PartialEq)]
enum Statement {
    Read,
    Describe(String),
}

/// The text past white space and comments (`--` to the end of the line, `/* */` nested as
/// the SQL parser nests them).
fn past_comments(mut rest: &str) -> &str {
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i + 1..]);
        } else if rest.starts_with("/*") {
            let mut depth = 0usize;
            let mut i = 0;
            let b = rest.as_bytes();
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            rest = if depth == 0 { &rest[i..] } else { "" };
        } else {
            return rest;
        }
    }
}

/// Where a bare word (letters, digits, `_`) at the start of `s` ends.
fn word_end(s: &str) -> usize {
    s.find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(s.len())
}

/// The SQL's first word, past comments and white space, upper-cased, and what follows it.
fn first_word(sql: &str) -> (String, &str) {
    let rest = past_comments(sql);
    if let Some(after) = rest.strip_prefix('(') {
        return ("(".into(), after);
    }
    let end = word_end(rest);
    (rest[..end].to_ascii_uppercase(), &rest[end..])
}

/// The table name of a `DESCRIBE`: bare or quoted (`"x"`, `` `x` ``, `'x'`), a qualifier
/// (`main.`) dropped, nothing but comments after it.
fn described_name(rest: &str) -> anyhow::Result<String> {
    let usage = "DESCRIBE takes one table or view name: `DESCRIBE sessions`";
    let mut rest = past_comments(rest);
    let name = loop {
        let part;
        if let Some(q) = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '`' | '\''))
        {
            let Some(end) = rest[1..].find(q) else {
                bail!("{usage} (a quote is not closed)");
            };
            part = rest[1..1 + end].to_owned();
            rest = &rest[end + 2..];
        } else {
            let end = word_end(rest);
            part = rest[..end].to_owned();
            rest = &rest[end..];
        }
        if part.is_empty() {
            bail!("{usage}");
        }
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => break part,
        }
    };
    let tail = past_comments(rest);
    if !past_comments(tail.strip_prefix(';').unwrap_or(tail)).is_empty() {
        bail!("{usage}");
    }
    Ok(name)
}

/// Which statements `query` runs: it reads the store and never changes it, so `DROP`,
/// `CREATE`, `DELETE` and the like are refused (polars would change only its own catalogue,
/// or answer `DELETE FROM commands` with no rows, which reads like an emptied table).
fn statement(sql: &str) -> anyhow::Result<Statement> {
    let (word, rest) = first_word(sql);
    match word.as_str() {
        "DESCRIBE" | "DESC" => {
            // `DESCRIBE TABLE x` as well as `DESCRIBE x`.
            let rest = match first_word(rest) {
                (w, after) if w == "TABLE" => after,
                _ => rest,
            };
            Ok(Statement::Describe(described_name(rest)?))
        }
        // What is explained must be a reading statement too.
        "EXPLAIN" => {
            let (next, after) = first_word(rest);
            let inner = if matches!(next.as_str(), "ANALYZE" | "VERBOSE") {
                after
            } else {
                rest
            };
            statement(inner).map(|_| Statement::Read)
        }
        "" => bail!("no SQL statement found (only comments?)"),
        "DROP" | "CREATE" | "DELETE" | "TRUNCATE" | "INSERT" | "UPDATE" | "ALTER" | "MERGE"
        | "UPSERT" | "REPLACE" | "COPY" | "ATTACH" | "DETACH" | "RENAME" | "GRANT" | "REVOKE"
        | "SET" | "USE" => bail!(
            "`{word}` is not run: `query` only reads the store (SELECT, WITH, SHOW TABLES, EXPLAIN, DESCRIBE table); the store is changed by `ingest` and `sync` alone"
        ),
        // Anything else (a typo of SELECT) is polars' to explain, with the tables.
        _ => Ok(Statement::Read),
    }
}

/// `DESCRIBE name`: the columns of a table or view and their types, as a frame.
fn describe(
    data: &Dataset,
    f: &Filter,
    extra: Vec<(&str, DataFrame)>,
    name: &str,
) -> anyhow::Result<DataFrame> {
    let ctx = data.sql_with(f, extra)?;
    if !ctx.get_tables().iter().any(|t| t == name) {
        bail!("no table or view {name:?}");
    }
    let schema = ctx
        .clone()
        .execute(&format!("SELECT * FROM \"{name}\" LIMIT 0"))
        .and_then(|mut lf| lf.collect_schema())?;
    let (names, types): (Vec<String>, Vec<String>) = schema
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .unzip();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("column".into(), names),
        Column::new("type".into(), types),
    ])?)
}

pub fn query(a: QueryCmdArgs) -> anyhow::Result<i32> {
    let sql = sql_text(&a.sql)?;
    let kind = statement(&sql)?;
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
    let answer = match &kind {
        Statement::Describe(name) => describe(&data, &filter, extra.clone(), name),
        Statement::Read => data.collect(&mut damage, |d| {
            d.sql_with(&filter, extra.clone())?.execute(&sql)
        }),
    };
    let df = match answer {
        Ok(df) => df,
        Err(e) => {
            let mut text = super::error_text(&e);
            // polars follows this with the statement's whole syntax tree.
            if let Some(i) = text.find("statement type is not supported") {
                text.truncate(i + "statement type is not supported".len());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reading_statements_run() {
        for sql in [
            "SELECT 1",
            "  select * from sessions",
            "-- sessions per principal\nWITH x AS (SELECT 1) SELECT * FROM x",
            "/* a\nb */ SELECT 1",
            "(SELECT 1)",
            "SHOW TABLES",
            "EXPLAIN SELECT 1",
        ] {
            assert_eq!(statement(sql).unwrap(), Statement::Read, "{sql}");
        }
        for sql in [
            "DROP TABLE sessions",
            "delete from commands",
            "TRUNCATE TABLE commands",
            "CREATE TABLE x AS SELECT 1",
            "-- looks harmless\nINSERT INTO commands VALUES (1)",
            "UPDATE commands SET command = ''",
        ] {
            let e = statement(sql).unwrap_err().to_string();
            assert!(e.contains("only reads the store"), "{sql}: {e}");
        }
        assert!(statement("-- nothing but a comment").is_err());
        // Comments nest as the parser nests them.
        assert!(statement("/* /* */ SELECT */ DELETE FROM commands").is_err());
        assert_eq!(
            statement("/* a /* b */ */ SELECT 1").unwrap(),
            Statement::Read
        );
        // What EXPLAIN explains is judged too.
        assert!(statement("EXPLAIN DELETE FROM commands").is_err());
        assert!(statement("explain analyze drop table commands").is_err());
        assert_eq!(statement("EXPLAIN SELECT 1").unwrap(), Statement::Read);
        // A typo is polars' to explain (with the tables), not a refusal.
        assert_eq!(statement("SELEC 1").unwrap(), Statement::Read);
    }

    #[test]
    fn describe_names_one_table() {
        assert_eq!(
            statement("DESCRIBE sessions").unwrap(),
            Statement::Describe("sessions".into())
        );
        assert_eq!(
            statement("desc table \"commands\"").unwrap(),
            Statement::Describe("commands".into())
        );
        for sql in [
            "DESCRIBE `sessions`",
            "DESCRIBE 'sessions'",
            "DESCRIBE main.sessions",
            "DESCRIBE sessions -- the view",
            "DESCRIBE/**/sessions;",
        ] {
            assert_eq!(
                statement(sql).unwrap(),
                Statement::Describe("sessions".into()),
                "{sql}"
            );
        }
        assert!(statement("DESCRIBE").is_err());
        assert!(statement("DESCRIBE a b").is_err());
        assert!(statement("DESCRIBE \"sessions").is_err());
    }
}

//! The weekly report as Markdown (CommonMark with GitHub tables) for wikis and tickets.
//!
//! Values are attacker-controlled (typed commands, role session names, user agents), and many
//! wikis render raw HTML inside Markdown: every text cell has Markdown's punctuation
//! backslash-escaped (so `<img onerror=...>` is text, `|` cannot end a cell, `[x](y)` is no
//! link), commands and evidence go in code spans (where HTML is never interpreted) with a fence
//! longer than any backtick run inside, and no value can start a line.

use std::io::{self, Write};

use super::weekly::{count, Chart, Kind, Matrix, Section, Table, Weekly};

/// Characters with a meaning in Markdown (or in HTML inside it) anywhere in a line.
const SPECIAL: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~', '&', '!', '$', '{', '}',
];

/// Plain text, inert in Markdown: its specials backslash-escaped, newlines flattened.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\n' | '\r' => out.push(' '),
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell: a backtick fence longer than any run inside, `|` escaped
/// (GitHub tables split on it even in code), newlines shown as `⏎`.
pub fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let body = s
        .replace(['\n', '\r'], "⏎")
        .replace('\t', " ")
        .replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for ch in body.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

fn cell(s: &str, kind: Kind) -> String {
    match kind {
        Kind::Code => code(s),
        _ => text(s),
    }
}

fn align(kind: Kind) -> &'static str {
    match kind {
        Kind::Count | Kind::Percent | Kind::Duration => "---:",
        _ => "---",
    }
}

fn table(out: &mut dyn Write, w: &Weekly, t: &Table) -> io::Result<()> {
    if !t.title.is_empty() {
        writeln!(
            out,
            "### {} ({})\n",
            text(t.title),
            count(t.frame.height() as i64)
        )?;
    }
    if t.frame.height() == 0 {
        return writeln!(out, "{}\n", text(&t.empty));
    }
    let (rows, _) = t.human_rows(&w.zone, w.show_secrets);
    let heads: Vec<String> = t.columns.iter().map(|c| text(c.header)).collect();
    writeln!(out, "| {} |", heads.join(" | "))?;
    let rule: Vec<&str> = t.columns.iter().map(|c| align(c.kind)).collect();
    writeln!(out, "| {} |", rule.join(" | "))?;
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&t.columns)
            .map(|(v, c)| cell(v, c.kind))
            .collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    writeln!(out)?;
    if let Some(note) = t.cut_note(rows.len()) {
        writeln!(out, "_{}_\n", text(&note))?;
    }
    writeln!(out, "_Query: `queries/reports/{}.sql`_\n", t.query)
}

/// A chart as a table with a bar of block characters.
fn chart(out: &mut dyn Write, c: &Chart) -> io::Result<()> {
    writeln!(out, "**{}**\n", text(&c.title))?;
    if c.bars.is_empty() {
        return writeln!(out, "{}\n", text(&c.empty));
    }
    let top = c
        .max
        .unwrap_or_else(|| c.bars.iter().map(|b| b.value).fold(0.0, f64::max));
    writeln!(out, "| | | |\n| --- | ---: | --- |")?;
    for b in &c.bars {
        let n = if top > 0.0 {
            (20.0 * b.value / top).round() as usize
        } else {
            0
        };
        writeln!(
            out,
            "| {} | {} | {} |",
            text(&b.label),
            text(&b.text),
            "█".repeat(n)
        )?;
    }
    writeln!(out)
}

fn matrix(out: &mut dyn Write, m: &Matrix) -> io::Result<()> {
    writeln!(out, "**{}**\n", text(&m.title))?;
    let heads: Vec<String> = m.cols.iter().map(|c| text(c)).collect();
    writeln!(out, "| {} | {} |", text(&m.corner), heads.join(" | "))?;
    writeln!(out, "| --- |{}", " ---: |".repeat(m.cols.len()))?;
    for (r, row) in m.rows.iter().zip(&m.cells) {
        let cells: Vec<String> = row
            .iter()
            .map(|n| if *n == 0 { String::new() } else { count(*n) })
            .collect();
        writeln!(out, "| {} | {} |", text(r), cells.join(" | "))?;
    }
    writeln!(out)
}

fn section(out: &mut dyn Write, w: &Weekly, s: &Section) -> io::Result<()> {
    writeln!(out, "## {}. {}\n", s.number, text(s.title))?;
    writeln!(out, "{}\n", text(&s.intro))?;
    for n in &s.notes {
        writeln!(out, "> {}\n", text(n))?;
    }
    for c in &s.charts {
        chart(out, c)?;
    }
    if let Some(m) = &s.matrix {
        matrix(out, m)?;
    }
    for t in s.tables.iter().filter(|t| t.human) {
        table(out, w, t)?;
    }
    Ok(())
}

/// Writes the report as Markdown.
pub fn write(out: &mut dyn Write, w: &Weekly) -> io::Result<()> {
    writeln!(out, "# {}: {}\n", text(&w.title), text(&w.label))?;
    writeln!(
        out,
        "**Period:** {} to {} ({}), compared with {}  \n**Policy:** {}  \n**Generated:** {}\n",
        text(&w.zone.format(w.since)),
        text(&w.zone.format(w.until)),
        text(&w.zone.name),
        text(&w.previous_label),
        w.policy.as_deref().map_or("none given".into(), text),
        text(&crate::model::Timestamp(w.generated.0).to_rfc3339()),
    )?;
    for n in &w.notices {
        writeln!(out, "> **Note:** {}\n", text(n))?;
    }
    if !w.missing_days.is_empty() {
        writeln!(out, "> **Days without data:**\n>")?;
        for (d, why) in &w.missing_days {
            writeln!(out, "> - {}: {}", text(d), text(why))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## 1. Summary\n")?;
    writeln!(
        out,
        "| | {} | {} | change |\n| --- | ---: | ---: | ---: |",
        text(&w.label),
        text(&w.previous_label)
    )?;
    for m in &w.metrics {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            text(m.label),
            text(&m.value()),
            text(&m.before()),
            text(&m.change())
        )?;
    }
    writeln!(out)?;
    for c in &w.charts {
        chart(out, c)?;
    }
    for s in &w.sections {
        section(out, w, s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_become_markup() {
        assert_eq!(
            text("<img src=x onerror=\"document.title='PWNED'\">"),
            "\\<img src=x onerror=\"document.title='PWNED'\"\\>"
        );
        assert_eq!(
            text("a|b [x](http://e) *y*"),
            "a\\|b \\[x\\](http://e) \\*y\\*"
        );
        assert_eq!(text("two\nlines"), "two lines");
        assert_eq!(code("echo `id` | sh"), "``echo `id` \\| sh``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\nb"), "`a⏎b`");
        assert_eq!(
            code("</script><script>alert(1)</script>"),
            "`</script><script>alert(1)</script>`"
        );
    }
}

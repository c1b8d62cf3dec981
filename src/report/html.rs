//! The weekly report as one self-contained HTML file: inline styles and SVG charts, no script,
//! no external font, image or style sheet, so it opens offline and can be attached to a ticket.
//!
//! Transcript text, commands, role session names and user agents are written by the people
//! being audited, so every value is escaped ([`esc`]) for the element or attribute it lands in,
//! and a Content-Security-Policy forbids every script, even one a future bug let through. Class
//! names come from fixed lists, never from data. A print style sheet lays it out on A4.

use std::io::{self, Write};

use super::svg;
use super::weekly::{count, Kind, Matrix, Section, Table, Weekly};

/// The page's policy: nothing loads, nothing runs; only the inline style sheet applies.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg2: #f4f6f9; --accent: #2557a7;
  --critical: #7a0f1c; --high: #c0392b; --medium: #d68910; --low: #2e86c1; --info: #7f8c8d;
  --ok: #1e8449; --warn: #d68910; --bad: #c0392b; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); margin: 0 auto; max-width: 1400px; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 15px; margin: 20px 0 6px; }
p { margin: 6px 0; }
.meta { color: var(--muted); }
.meta b { color: var(--fg); font-weight: 600; }
nav ol { columns: 2; margin: 12px 0; padding-left: 20px; }
nav a, a { color: var(--accent); }
.notice { border-left: 4px solid var(--warn); background: #fdf6e3; padding: 8px 12px; margin: 12px 0; }
.notice.empty-week { border-color: var(--accent); background: #eef3fb; }
.notice ul { margin: 4px 0; padding-left: 20px; }
.note { color: var(--muted); font-style: italic; }
.empty { color: var(--muted); }
.query { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 4px; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; }
th { background: var(--bg2); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.code { min-width: 10ch; }
td.code code { font: 12px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; word-break: break-word; }
td.sev { font-weight: 600; text-transform: uppercase; font-size: 11px; white-space: nowrap; }
.sev-critical { color: var(--critical); } .sev-high { color: var(--high); } .sev-medium { color: var(--medium); }
.sev-low { color: var(--low); } .sev-info { color: var(--info); }
table.metrics { width: auto; min-width: 520px; }
table.matrix { width: auto; }
table.matrix td { text-align: right; min-width: 48px; }
.h1 { background: #e8eef8; } .h2 { background: #c9d8f0; } .h3 { background: #9fb9e3; } .h4 { background: #6f95d3; color: #fff; }
.charts { display: flex; flex-wrap: wrap; gap: 24px 40px; margin: 12px 0; }
.charts figure { margin: 0; }
.charts figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { display: block; font: 11px system-ui, sans-serif; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .track { fill: var(--bg2); }
svg .bar { fill: var(--accent); }
svg .bar.critical { fill: var(--critical); } svg .bar.high { fill: var(--high); } svg .bar.medium { fill: var(--medium); }
svg .bar.low { fill: var(--low); } svg .bar.info { fill: var(--info); }
svg .bar.ok { fill: var(--ok); } svg .bar.warn { fill: var(--warn); } svg .bar.bad { fill: var(--bad); }
svg .label { fill: var(--fg); } svg .value { fill: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, figure, .notice { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Text made inert in HTML element content and in quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The class of a severity cell, from a fixed list.
fn severity_class(s: &str) -> &'static str {
    match s {
        "critical" => "sev sev-critical",
        "high" => "sev sev-high",
        "medium" => "sev sev-medium",
        "low" => "sev sev-low",
        "info" => "sev sev-info",
        _ => "sev",
    }
}

fn td(out: &mut String, v: &str, kind: Kind) {
    let e = esc(v);
    match kind {
        Kind::Count | Kind::Percent | Kind::Duration => {
            out.push_str("<td class=\"num\">");
            out.push_str(&e);
        }
        Kind::Time => {
            out.push_str("<td class=\"time\">");
            out.push_str(&e);
        }
        Kind::Code if !v.is_empty() => {
            out.push_str("<td class=\"code\"><code>");
            out.push_str(&e);
            out.push_str("</code>");
        }
        Kind::Severity => {
            out.push_str("<td class=\"");
            out.push_str(severity_class(v));
            out.push_str("\">");
            out.push_str(&e);
        }
        _ => {
            out.push_str("<td>");
            out.push_str(&e);
        }
    }
    out.push_str("</td>");
}

fn th_class(kind: Kind) -> &'static str {
    match kind {
        Kind::Count | Kind::Percent | Kind::Duration => " class=\"num\"",
        _ => "",
    }
}

fn table(out: &mut dyn Write, w: &Weekly, t: &Table) -> io::Result<()> {
    if !t.title.is_empty() {
        writeln!(
            out,
            "<h3>{} ({})</h3>",
            esc(t.title),
            count(t.frame.height() as i64)
        )?;
    }
    if t.frame.height() == 0 {
        return writeln!(out, "<p class=\"empty\">{}</p>", esc(&t.empty));
    }
    let (rows, _) = t.human_rows(&w.zone, w.show_secrets);
    let mut s = String::from("<table><thead><tr>");
    for c in &t.columns {
        s.push_str(&format!("<th{}>{}</th>", th_class(c.kind), esc(c.header)));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in &rows {
        s.push_str("<tr>");
        for (v, c) in row.iter().zip(&t.columns) {
            td(&mut s, v, c.kind);
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    out.write_all(s.as_bytes())?;
    if let Some(note) = t.cut_note(rows.len()) {
        writeln!(out, "<p class=\"note\">{}</p>", esc(&note))?;
    }
    writeln!(
        out,
        "<p class=\"query\">Query: <code>queries/reports/{}.sql</code></p>",
        esc(t.query)
    )
}

fn heat(n: i64, max: i64) -> &'static str {
    if n == 0 || max == 0 {
        return "";
    }
    match 4 * n / max {
        0 => " class=\"h1\"",
        1 => " class=\"h2\"",
        2 => " class=\"h3\"",
        _ => " class=\"h4\"",
    }
}

fn matrix(out: &mut dyn Write, m: &Matrix) -> io::Result<()> {
    let max = m.cells.iter().flatten().copied().max().unwrap_or(0);
    let mut s = format!(
        "<h3>{}</h3><table class=\"matrix\"><thead><tr><th>{}</th>",
        esc(&m.title),
        esc(&m.corner)
    );
    for c in &m.cols {
        s.push_str(&format!("<th class=\"num\">{}</th>", esc(c)));
    }
    s.push_str("</tr></thead><tbody>\n");
    for (r, row) in m.rows.iter().zip(&m.cells) {
        s.push_str(&format!("<tr><th>{}</th>", esc(r)));
        for n in row {
            let v = if *n == 0 { String::new() } else { count(*n) };
            s.push_str(&format!("<td{}>{}</td>", heat(*n, max), v));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    out.write_all(s.as_bytes())
}

fn charts(out: &mut dyn Write, charts: &[super::weekly::Chart]) -> io::Result<()> {
    if charts.is_empty() {
        return Ok(());
    }
    writeln!(out, "<div class=\"charts\">")?;
    for c in charts {
        writeln!(
            out,
            "<figure><figcaption>{}</figcaption>{}</figure>",
            esc(&c.title),
            svg::chart(c)
        )?;
    }
    writeln!(out, "</div>")
}

fn section(out: &mut dyn Write, w: &Weekly, s: &Section) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"{}\"><h2>{}. {}</h2>\n<p>{}</p>",
        esc(s.key),
        s.number,
        esc(s.title),
        esc(&s.intro)
    )?;
    for n in &s.notes {
        writeln!(out, "<p class=\"note\">{}</p>", esc(n))?;
    }
    charts(out, &s.charts)?;
    if let Some(m) = &s.matrix {
        matrix(out, m)?;
    }
    for t in s.tables.iter().filter(|t| t.human) {
        table(out, w, t)?;
    }
    writeln!(out, "</section>")
}

/// Writes the report as one HTML page.
pub fn write(out: &mut dyn Write, w: &Weekly) -> io::Result<()> {
    let title = format!("{}: {}", w.title, w.label);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&title)
    )?;
    writeln!(
        out,
        "<header><h1>{}</h1><p class=\"meta\"><b>Period:</b> {} to {} ({}), compared with {} · <b>Policy:</b> {} · <b>Generated:</b> {}</p></header>",
        esc(&title),
        esc(&w.zone.format(w.since)),
        esc(&w.zone.format(w.until)),
        esc(&w.zone.name),
        esc(&w.previous_label),
        esc(w.policy.as_deref().unwrap_or("none given")),
        esc(&w.generated.to_rfc3339())
    )?;
    for n in &w.notices {
        let class = if w.empty {
            "notice empty-week"
        } else {
            "notice"
        };
        writeln!(out, "<div class=\"{class}\">{}</div>", esc(n))?;
    }
    if !w.missing_days.is_empty() {
        writeln!(out, "<div class=\"notice\"><b>Days without data</b><ul>")?;
        for (d, why) in &w.missing_days {
            writeln!(out, "<li>{}: {}</li>", esc(d), esc(why))?;
        }
        writeln!(out, "</ul></div>")?;
    }
    writeln!(out, "<nav><ol><li><a href=\"#summary\">Summary</a></li>")?;
    for s in &w.sections {
        writeln!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            esc(s.key),
            esc(s.title)
        )?;
    }
    writeln!(out, "</ol></nav>")?;
    writeln!(
        out,
        "<section id=\"summary\"><h2>1. Summary</h2>\n<table class=\"metrics\"><thead><tr><th></th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">change</th></tr></thead><tbody>",
        esc(&w.label),
        esc(&w.previous_label)
    )?;
    for m in &w.metrics {
        writeln!(
            out,
            "<tr><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(m.label),
            esc(&m.value()),
            esc(&m.before()),
            esc(&m.change())
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    charts(out, &w.charts)?;
    writeln!(out, "</section>")?;
    for s in &w.sections {
        section(out, w, s)?;
    }
    writeln!(
        out,
        "<footer>execaudit {} · every value escaped, secrets {} · the SQL behind each table is under queries/reports/ and runs by hand with <code>execaudit query FILE --since … --until …</code></footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        if w.show_secrets {
            "shown (--show-secrets)"
        } else {
            "redacted"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_elements_and_attributes() {
        assert_eq!(
            esc("<img src=x onerror=\"document.title='PWNED'\">"),
            "&lt;img src=x onerror=&quot;document.title=&#39;PWNED&#39;&quot;&gt;"
        );
        assert_eq!(
            esc("</script><script>alert(1)</script>"),
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc("a & b"), "a &amp; b");
        assert_eq!(severity_class("\" onmouseover=x"), "sev");
    }
}

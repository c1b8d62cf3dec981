//! Bar charts as inline SVG for the HTML report: no script, no external font or image, every
//! label escaped. Colours come from the page's style sheet (classes), so print styles apply.

use std::fmt::Write;

use super::html::esc;
use super::weekly::Chart;

/// Longest label drawn beside a horizontal bar (the full text is in the element's title).
const LABEL_CHARS: usize = 26;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn top(c: &Chart) -> f64 {
    let m = c
        .max
        .unwrap_or_else(|| c.bars.iter().map(|b| b.value).fold(0.0, f64::max));
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// A chart as an `<svg>` element (or a sentence when there is nothing to chart).
pub fn chart(c: &Chart) -> String {
    if c.bars.is_empty() {
        return format!("<p class=\"empty\">{}</p>", esc(&c.empty));
    }
    if c.vertical {
        vertical(c)
    } else {
        horizontal(c)
    }
}

/// Columns over a series (days): value above, label below.
fn vertical(c: &Chart) -> String {
    let n = c.bars.len();
    let slot = if n > 14 { 14.0 } else { 48.0 };
    let (left, bottom, top_pad, height) = (8.0, 34.0, 18.0, 140.0);
    let width = left * 2.0 + slot * n as f64;
    let total = height + bottom + top_pad;
    let max = top(c);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {total:.0}\" width=\"{width:.0}\" height=\"{total:.0}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(&c.title),
        esc(&c.title)
    );
    let base = top_pad + height;
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\"/>",
        width - left
    );
    for (i, b) in c.bars.iter().enumerate() {
        let h = (height * b.value / max).max(if b.value > 0.0 { 1.0 } else { 0.0 });
        let x = left + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let _ = write!(
            s,
            "<g><title>{}: {}</title><rect class=\"bar {}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"/>",
            esc(&b.label),
            esc(&b.text),
            b.class,
            base - h
        );
        if n <= 14 {
            let cx = x + w / 2.0;
            let _ = write!(
                s,
                "<text class=\"value\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                base - h - 4.0,
                esc(&b.text)
            );
            let (day, date) = b.label.split_once(' ').unwrap_or((&b.label, ""));
            let _ = write!(
                s,
                "<text class=\"label\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"label\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                base + 14.0,
                esc(day),
                base + 27.0,
                esc(date)
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

/// Rows of categories: label left, bar, value right.
fn horizontal(c: &Chart) -> String {
    let (label_w, bar_w, value_w, row) = (180.0, 200.0, 110.0, 22.0);
    let width = label_w + bar_w + value_w;
    let height = row * c.bars.len() as f64 + 4.0;
    let max = top(c);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(&c.title),
        esc(&c.title)
    );
    for (i, b) in c.bars.iter().enumerate() {
        let y = 2.0 + row * i as f64;
        let w = (bar_w * b.value / max).max(if b.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            "<g><title>{}: {}</title><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"track\" x=\"{label_w}\" y=\"{:.1}\" width=\"{bar_w}\" height=\"{:.1}\"/><rect class=\"bar {}\" x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"/><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(&b.label),
            esc(&b.text),
            label_w - 6.0,
            y + 15.0,
            esc(&cut(&b.label, LABEL_CHARS)),
            y + 3.0,
            row - 6.0,
            b.class,
            y + 3.0,
            row - 6.0,
            label_w + bar_w + 6.0,
            y + 15.0,
            esc(&b.text)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::weekly::Bar;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let c = Chart {
            title: "t".into(),
            bars: vec![
                Bar {
                    label: "<script>alert(1)</script>".into(),
                    value: 50.0,
                    text: "50.0%".into(),
                    class: "warn",
                },
                Bar {
                    label: "b\"c".into(),
                    value: 100.0,
                    text: "100.0%".into(),
                    class: "ok",
                },
            ],
            max: Some(100.0),
            vertical: false,
            empty: String::new(),
        };
        let s = chart(&c);
        assert!(!s.contains("<script>"), "{s}");
        assert!(s.contains("&lt;script&gt;"), "{s}");
        assert!(s.contains("b&quot;c"), "{s}");
        assert!(s.contains("width=\"100.0\""), "half of 200: {s}");
        assert!(s.contains("width=\"200.0\""), "{s}");
        let empty = Chart {
            bars: vec![],
            empty: "No <sessions>".into(),
            ..c
        };
        assert_eq!(chart(&empty), "<p class=\"empty\">No &lt;sessions&gt;</p>");
    }
}

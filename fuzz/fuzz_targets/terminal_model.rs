//! The terminal model and reconstruction on anything, as the ingest runs them on a transcript
//! body: bare, and after a prefix that teaches a width (bash's space-CR wrap, busybox's extra
//! CR) of 40, 80 or 200 columns, so the wrapped-row paths run too. Must never panic; the
//! driver's bulk paths draw exactly what vte byte by byte draws; reconstruction is
//! deterministic; every command and prompt is text without raw control characters (a command
//! may span lines), every command has text, confidences are in (0, 1], the unobservable point
//! is among the commands. Time per input is bounded by libFuzzer's `-timeout` (see
//! `benches/fuzz.sh`).
#![no_main]

use execaudit::terminal::reconstruct;
use execaudit::terminal::screen::{draw, draw_reference};
use libfuzzer_sys::fuzz_target;

/// A prefix after which the model knows the terminal is `width` columns wide.
fn width_prefix(bash: bool, width: usize) -> Vec<u8> {
    let mut p = Vec::new();
    if bash {
        // readline wraps at the margin by writing a space and a CR.
        p.extend_from_slice(b"\x1b[?2004h$ ");
        p.extend(std::iter::repeat_n(b'x', width - 2));
        p.extend_from_slice(b" \rx\r\r\n\x1b[?2004l\r");
    } else {
        // busybox wraps a long input line with one CR more than a newline carries.
        p.extend_from_slice(b"/ # \x1b[6n");
        p.extend(std::iter::repeat_n(b'x', width - 4));
        p.extend_from_slice(b"\r\r\r\nx\r\r\n");
    }
    p
}

fn clean(s: &str, newlines: bool) -> bool {
    s.chars()
        .all(|c| !c.is_control() || (newlines && c == '\n'))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body: Vec<u8> = match mode % 7 {
        0 => rest.to_vec(),
        m => {
            let width = [40, 80, 200][(m as usize - 1) % 3];
            let mut b = width_prefix(m <= 3, width);
            b.extend_from_slice(rest);
            b
        }
    };

    let fast = draw(&body);
    let reference = draw_reference(&body);
    assert_eq!(
        fast.text, reference.text,
        "driver and vte draw different text"
    );
    assert_eq!(
        fast.events, reference.events,
        "driver and vte see different events"
    );

    let r = reconstruct(&body);
    for c in &r.commands {
        assert!(!c.text.trim().is_empty(), "an empty command: {c:?}");
        assert!(
            clean(&c.text, true),
            "control characters in a command: {:?}",
            c.text
        );
        assert!(
            clean(&c.prompt, false),
            "control characters in a prompt: {:?}",
            c.prompt
        );
        for part in [&c.user, &c.host, &c.cwd].into_iter().flatten() {
            assert!(
                clean(part, false),
                "control characters in a prompt part: {part:?}"
            );
        }
        assert!(
            c.confidence > 0.0 && c.confidence <= 1.0,
            "confidence {}",
            c.confidence
        );
        assert!(
            c.output_excerpt.len() <= 1024,
            "excerpt of {} bytes",
            c.output_excerpt.len()
        );
    }
    if let Some((after, why)) = &r.unobservable {
        assert!(*after <= r.commands.len(), "unobservable after {after}");
        assert!(!why.is_empty());
    }
    assert!(r.width.is_none_or(|w| w > 0));

    let again = reconstruct(&body);
    assert_eq!(
        r.commands, again.commands,
        "reconstruction is not deterministic"
    );
    assert_eq!(r.text, again.text);
    assert_eq!(r.unobservable, again.unobservable);
    assert_eq!(
        (r.shell, r.width, r.output_lines),
        (again.shell, again.width, again.output_lines)
    );
});

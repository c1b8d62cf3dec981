//! Transcript -> commands: what was typed in an ECS Exec session, reconstructed from the
//! terminal output the agent recorded (keystrokes themselves are never recorded).
//!
//! [`screen`] turns bytes into the lines a person saw and marks those the shell's line editor
//! was reading; this module splits each input line into prompt and command, joins continuation
//! lines, marks abandoned (Ctrl-C) lines and full-screen programs, and accounts the output that
//! followed each command. Text typed with echo off (passwords) is not in the output, so it is
//! never in a command.

pub mod screen;

use screen::{Editor, Event, Row};

/// One reconstructed command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Command {
    /// The prompt it was typed at (main prompt of the first line).
    pub prompt: String,
    /// The command as submitted; continuation lines joined with `\n`.
    pub text: String,
    pub user: Option<String>,
    pub host: Option<String>,
    pub cwd: Option<String>,
    /// Edited before it was submitted (erased, moved over, recalled and changed).
    pub edited: bool,
    /// Arrived as a paste.
    pub pasted: bool,
    /// Spans continuation (PS2) lines.
    pub multi_line: bool,
    /// Interrupted with Ctrl-C before Enter: typed, never run.
    pub abandoned: bool,
    /// A full-screen program (vi, less, top) took the screen after it.
    pub full_screen: bool,
    /// Lines and bytes of output that followed.
    pub output_lines: u64,
    pub output_bytes: u64,
    /// The first lines of that output (unredacted here; redact before showing).
    pub output_excerpt: String,
    /// 1.0 when the prompt's end was marked by the shell; lower when inferred.
    pub confidence: f32,
}

/// What reconstruction found in one transcript.
#[derive(Debug, Clone, Default)]
pub struct Reconstruction {
    pub commands: Vec<Command>,
    /// `bash`, `zsh`, `ash` (from the line editor's marks) or `sh` (no line editor seen).
    pub shell: Option<String>,
    /// Terminal width, when a wrap revealed it.
    pub width: Option<usize>,
    /// Printable output lines that were not input.
    pub output_lines: u64,
    /// The transcript as a person saw it, one screen line per line.
    pub text: String,
}

const EXCERPT_LINES: usize = 3;
const EXCERPT_CHARS: usize = 240;

/// Prompts of continuation lines: bash/ash `> `, zsh `for> `, `heredoc> `, `dquote> `, `cmdand> `.
fn is_continuation_prompt(p: &str) -> bool {
    let t = p.trim_end();
    t == ">"
        || (t.ends_with('>')
            && t[..t.len() - 1]
                .split(' ')
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            && t.len() <= 24)
}

/// Prefixes of `text` that end with a prompt terminator (`$ `, `# `, `% `, `> `, `❯ `, `➜ `,
/// `» `, `λ `, or a bare `$`/`#` ending the text), shortest first, as byte offsets. One pass:
/// this runs on every input line.
fn terminator_prefixes(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut prev: Option<char> = None;
    for (i, ch) in text.char_indices() {
        if ch == ' '
            && prev.is_some_and(|p| matches!(p, '$' | '#' | '%' | '>' | '❯' | '➜' | '»' | 'λ'))
        {
            ends.push(i + 1);
        }
        prev = Some(ch);
    }
    if text.ends_with(['$', '#']) {
        ends.push(text.len());
    }
    ends
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Splits user, host and working directory out of common prompt shapes.
fn prompt_parts(prompt: &str) -> (Option<String>, Option<String>, Option<String>) {
    let p = prompt
        .trim_end()
        .trim_end_matches(['$', '#', '%', '>', '❯'])
        .trim_end();
    let own = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    // [user@host dir]
    if let Some(inner) = p.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        if let Some((uh, dir)) = inner.split_once(' ') {
            if let Some((u, h)) = uh.split_once('@') {
                return (own(u), own(h), own(dir));
            }
        }
    }
    // user@host:dir
    if let Some((uh, dir)) = p.split_once(':') {
        if let Some((u, h)) = uh.split_once('@') {
            if !u.contains(' ') && !h.contains(' ') {
                return (own(u), own(h), own(dir));
            }
        }
    }
    // user@host dir (zsh %n@%m %~)
    if let Some((uh, dir)) = p.split_once(' ') {
        if let Some((u, h)) = uh.split_once('@') {
            if dir.starts_with('/') || dir.starts_with('~') {
                return (own(u), own(h), own(dir));
            }
        }
    }
    // busybox: `/dir`
    if p.starts_with('/') || p.starts_with('~') {
        return (None, None, own(p));
    }
    // zsh default: host
    if !p.is_empty()
        && p.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
    {
        return (None, Some(p.to_owned()), None);
    }
    (None, None, None)
}

/// Splits an input row (`text` is its line) into (prompt, command, confidence).
fn split_row(row: &Row, text: &str, learned: &[String]) -> (String, String, f32) {
    let exact = row.input_col.or(row.prompt_hint);
    if let Some(col) = exact {
        let at = char_to_byte(text, col);
        return (text[..at].to_owned(), text[at..].to_owned(), 1.0);
    }
    if let Some(p) = learned
        .iter()
        .filter(|p| text.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
    {
        return (p.clone(), text[p.len()..].to_owned(), 0.95);
    }
    match terminator_prefixes(text).first() {
        Some(&end) => (text[..end].to_owned(), text[end..].to_owned(), 0.8),
        None => (String::new(), text.to_owned(), 0.5),
    }
}

/// Prompts learned from rows whose prompt end is known exactly, and from repetition.
fn learn_prompts(rows: &[(&str, &Row)]) -> Vec<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut exact: Vec<String> = Vec::new();
    for (text, row) in rows {
        if let Some(col) = row.input_col.or(row.prompt_hint) {
            let p = text[..char_to_byte(text, col)].to_owned();
            if !p.trim().is_empty() && !exact.contains(&p) {
                exact.push(p);
            }
        } else if let Some(&end) = terminator_prefixes(text).first() {
            *counts.entry(text[..end].to_owned()).or_default() += 1;
        }
    }
    exact.extend(counts.into_iter().filter(|(_, n)| *n >= 2).map(|(p, _)| p));
    exact
}

/// Rows of a transcript without any line-editor marks (dash, sh, cleaned Session Manager text):
/// input rows are those that start with a prompt seen at least twice.
fn infer_input_rows(events: &mut [Event], text: &str) {
    let prompt_of = |r: &Row| -> Option<&str> {
        let line = &text[r.start..r.end];
        terminator_prefixes(line).first().map(|&end| &line[..end])
    };
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in events.iter() {
        if let Event::Row(r) = e {
            if let Some(p) = prompt_of(r).filter(|p| p.len() <= 64 && prompt_like(p)) {
                *counts.entry(p).or_default() += 1;
            }
        }
    }
    for e in events.iter_mut() {
        if let Event::Row(r) = e {
            if let Some(p) = prompt_of(r).filter(|p| counts.get(p).is_some_and(|n| *n >= 2)) {
                r.input = true;
                r.input_col = Some(p.chars().count());
            }
        }
    }
}

/// Whether a prefix looks like a shell prompt rather than output (`$ `, `# `, `user@host:/x# `,
/// `/app # `, `host% `, `> `).
fn prompt_like(p: &str) -> bool {
    let body = p
        .trim_end()
        .trim_end_matches(['$', '#', '%', '>'])
        .trim_end();
    body.is_empty()
        || (!body.contains("  ") && body.chars().all(|c| !c.is_control()) && body.len() <= 48)
}

/// Accounts output lines `text[start..end]` to the last command.
fn output(out: &mut Reconstruction, text: &str, start: usize, end: usize, lines: u64) {
    out.output_lines += lines;
    let Some(cmd) = out.commands.last_mut() else {
        return;
    };
    let before = cmd.output_lines as usize;
    cmd.output_lines += lines;
    cmd.output_bytes += (end - start) as u64 + 1;
    for l in text[start..end]
        .split('\n')
        .take(EXCERPT_LINES.saturating_sub(before))
    {
        if cmd.output_excerpt.len() >= EXCERPT_CHARS {
            break;
        }
        if before > 0 || !cmd.output_excerpt.is_empty() {
            cmd.output_excerpt.push('\n');
        }
        let room = EXCERPT_CHARS - cmd.output_excerpt.len();
        cmd.output_excerpt.push_str(&l[..char_to_byte(l, room)]);
    }
}

/// Reconstructs the commands of one transcript body.
pub fn reconstruct(body: &[u8]) -> Reconstruction {
    let drawn = screen::draw(body);
    let mut events = drawn.events;
    let text = drawn.text;
    let shell = match drawn.editor {
        Editor::Readline => "bash",
        Editor::Zle => "zsh",
        Editor::Busybox => "ash",
        Editor::Unknown => {
            infer_input_rows(&mut events, &text);
            "sh"
        }
    };
    let line = |r: &Row| &text[r.start..r.end];
    let input_rows: Vec<(&str, &Row)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row(r) if r.input => Some((line(r), r)),
            _ => None,
        })
        .collect();
    let learned = learn_prompts(&input_rows);
    let mut out = Reconstruction {
        shell: Some(shell.to_owned()),
        width: drawn.width,
        ..Default::default()
    };
    let mut last_was_input = false;
    for event in &events {
        match event {
            Event::Row(row) if row.input => {
                let (prompt, mut cmd, confidence) = split_row(row, line(row), &learned);
                let abandoned = cmd.trim_end().ends_with("^C") || row.interrupted;
                if abandoned {
                    cmd = cmd.trim_end().trim_end_matches("^C").to_owned();
                }
                let continues = last_was_input
                    && is_continuation_prompt(&prompt)
                    && out.commands.last().is_some_and(|c| !c.abandoned);
                if continues {
                    let last = out.commands.last_mut().expect("checked");
                    last.text.push('\n');
                    last.text.push_str(cmd.trim_end());
                    last.multi_line = true;
                    last.edited |= row.edited;
                    last.pasted |= row.pasted;
                    last.abandoned = abandoned;
                    last.confidence = last.confidence.min(confidence);
                } else if !cmd.trim().is_empty() {
                    let (user, host, cwd) = prompt_parts(&prompt);
                    out.commands.push(Command {
                        prompt,
                        text: cmd.trim_end().to_owned(),
                        user,
                        host,
                        cwd,
                        edited: row.edited,
                        pasted: row.pasted,
                        abandoned,
                        confidence,
                        ..Command::default()
                    });
                }
                last_was_input = !abandoned;
            }
            Event::Row(row) => {
                last_was_input = false;
                output(&mut out, &text, row.start, row.end, 1);
            }
            &Event::Output { start, end, lines } => {
                last_was_input = false;
                output(&mut out, &text, start, end, lines);
            }
            Event::FullScreen => {
                last_was_input = false;
                if let Some(cmd) = out.commands.last_mut() {
                    cmd.full_screen = true;
                }
            }
            Event::Clear => last_was_input = false,
        }
    }
    out.text = text;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(r: &Reconstruction) -> Vec<&str> {
        r.commands
            .iter()
            .filter(|c| !c.abandoned)
            .map(|c| c.text.as_str())
            .collect()
    }

    #[test]
    fn example_transcript_from_formats_md() {
        let body = b"\x1b[?2004hroot@ip-10-0-1-23:/# id\r\r\n\x1b[?2004l\ruid=0(root) gid=0(root) groups=0(root)\r\r\n\x1b[?2004hroot@ip-10-0-1-23:/# cd /app\r\r\n\x1b[?2004l\r\x1b[?2004hroot@ip-10-0-1-23:/app# exit\r\r\n\x1b[?2004l\rexit\r\r\n";
        let r = reconstruct(body);
        assert_eq!(texts(&r), ["id", "cd /app", "exit"]);
        assert_eq!(r.shell.as_deref(), Some("bash"));
        assert_eq!(r.commands[2].cwd.as_deref(), Some("/app"));
        assert_eq!(r.commands[0].user.as_deref(), Some("root"));
        assert_eq!(
            r.commands[0].output_excerpt,
            "uid=0(root) gid=0(root) groups=0(root)"
        );
    }

    #[test]
    fn ctrl_c_abandons_and_ps2_continues() {
        let body = b"\x1b[?2004hroot@vm:/# rm -rf /srv^C\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\r\n\x1b[?2004hroot@vm:/# for i in 1 2\r\r\n\x1b[?2004l\r\x1b[?2004h> do echo $i\r\r\n\x1b[?2004l\r\x1b[?2004h> done\r\r\n\x1b[?2004l\r1\r\r\n2\r\r\n";
        let r = reconstruct(body);
        assert!(r.commands[0].abandoned);
        assert_eq!(r.commands[0].text, "rm -rf /srv");
        assert_eq!(texts(&r), ["for i in 1 2\ndo echo $i\ndone"]);
        assert!(r.commands[1].multi_line);
        assert_eq!(r.commands[1].output_lines, 2);
    }

    #[test]
    fn unmarked_shells_are_read_from_repeated_prompts() {
        let body = b"$ ls\r\na b\r\n$ echo '$ not a prompt'\r\n$ not a prompt\r\n$ exit\r\n";
        let r = reconstruct(body);
        assert_eq!(r.shell.as_deref(), Some("sh"));
        assert!(texts(&r).starts_with(&["ls", "echo '$ not a prompt'"]));
    }
}

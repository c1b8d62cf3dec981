//! Transcript -> commands: what was typed in an ECS Exec session, reconstructed from the
//! terminal output the agent recorded (keystrokes themselves are never recorded).
//!
//! [`screen`] turns bytes into the lines a person saw and marks those the shell's line editor
//! was reading (an input region may span rows: a multi-line paste, a completion listing and
//! the prompt redrawn below it); [`unmarked`] infers them where no editor marked them. This
//! module splits each input into prompt and command, keeps only the line the editor finally
//! accepted, splits a multi-line buffer into the commands a shell runs ([`syntax`]), joins
//! continuation lines, marks abandoned (Ctrl-C) lines, input typed to a program the shell
//! started (a REPL, `read`: its prompt is not the shell's, [`prompt`]) and full-screen
//! programs, and accounts the output that followed each command. Text typed with echo off
//! (passwords) is not in the output, so it is never in a command.

pub mod altgrid;
pub mod prompt;
pub mod screen;
pub mod syntax;
pub mod unmarked;

use crate::model::frame::Shared;
use prompt::{
    char_to_byte, first_terminator, is_continuation_prompt, prompt_parts, shell_prompt_shaped,
    skeleton,
};
use screen::{Editor, Event, Row};
use syntax::{first_word, incomplete, Lexer};

/// One reconstructed command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Command {
    /// The prompt it was typed at (main prompt of the first line): shared by the commands
    /// typed at the same prompt (it was an allocation a command, dropped by ingest unread).
    pub prompt: std::sync::Arc<str>,
    /// The command as submitted; continuation lines joined with `\n`.
    pub text: String,
    /// User, host and directory from the prompt: shared by the commands typed at it.
    pub user: Shared,
    pub host: Shared,
    pub cwd: Shared,
    /// Edited before it was submitted (erased, moved over, recalled and changed).
    pub edited: bool,
    /// Arrived as a paste.
    pub pasted: bool,
    /// Spans continuation (PS2) lines.
    pub multi_line: bool,
    /// Interrupted with Ctrl-C before Enter: typed, never run.
    pub abandoned: bool,
    /// Typed to a program the shell started (a REPL such as `sqlite3`, fish's `read`), at a
    /// prompt that is not the shell's: not a shell command.
    pub program_input: bool,
    /// A full-screen program (vi, less, top) took the screen after it.
    pub full_screen: bool,
    /// Typed on the alternate screen (a shell left there, or inside tmux or screen): read
    /// from the screen's grid.
    pub alternate_screen: bool,
    /// Lines and bytes of output that followed.
    pub output_lines: u64,
    pub output_bytes: u64,
    /// The first lines of that output (unredacted here; redact before showing).
    pub output_excerpt: String,
    /// 1.0 when the shell marked where the prompt ended; lower when inferred (0.95 from a
    /// learned prompt, 0.8 from a prompt-like prefix or a shell without line editor, 0.6 for
    /// a line typed ahead, 0.5 without any prompt; at most 0.9 on the alternate screen, 0.7
    /// there without marks).
    pub confidence: f32,
}

/// What reconstruction found in one transcript.
#[derive(Debug, Clone, Default)]
pub struct Reconstruction {
    pub commands: Vec<Command>,
    /// `bash`, `zsh`, `fish`, `ash` (from the line editor's marks) or `sh` (no line editor seen).
    pub shell: Option<String>,
    /// Terminal width, when a wrap revealed it.
    pub width: Option<usize>,
    /// Printable output lines that were not input.
    pub output_lines: u64,
    /// The transcript as a person saw it, one screen line per line.
    pub text: String,
    /// After how many commands what was typed could no longer be observed, and why.
    pub unobservable: Option<(usize, String)>,
}

const EXCERPT_LINES: usize = 3;
const EXCERPT_CHARS: usize = 240;

/// Splits an input row (`text` is its line) into (prompt, command, confidence).
fn split_row<'a>(row: &Row, text: &'a str, learned: &'a [String]) -> (&'a str, String, f32) {
    let exact = row.input_col.or(row.prompt_hint);
    if let Some(col) = exact {
        let at = char_to_byte(text, col);
        let confidence = if row.typed_ahead {
            0.6
        } else if row.inferred {
            0.8
        } else {
            1.0
        };
        return (&text[..at], text[at..].to_owned(), confidence);
    }
    if let Some(p) = learned
        .iter()
        .filter(|p| text.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
    {
        return (p, text[p.len()..].to_owned(), 0.95);
    }
    match first_terminator(text) {
        Some(end) => (&text[..end], text[end..].to_owned(), 0.8),
        None => ("", text.to_owned(), 0.5),
    }
}

/// Prompts learned from rows whose prompt end is known exactly, and from repetition.
fn learn_prompts(rows: &[(&str, &Row)]) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut exact: Vec<String> = Vec::new();
    for (text, row) in rows {
        if let Some(col) = row.input_col.or(row.prompt_hint) {
            let p = text[..char_to_byte(text, col)].to_owned();
            if !p.trim().is_empty() && !exact.contains(&p) {
                exact.push(p);
            }
        } else if let Some(end) = first_terminator(text) {
            let p = &text[..end];
            match counts.iter_mut().find(|(q, _)| q == p) {
                Some(entry) => entry.1 += 1,
                None => counts.push((p.to_owned(), 1)),
            }
        }
    }
    exact.extend(counts.into_iter().filter(|(_, n)| *n >= 2).map(|(p, _)| p));
    exact
}

/// Accounts output lines `text[start..end]` to the last command (`attribute`), or only to the
/// transcript (a completion listing, a line the editor drew again).
fn output(
    out: &mut Reconstruction,
    text: &str,
    start: usize,
    end: usize,
    lines: u64,
    attribute: bool,
) {
    out.output_lines += lines;
    let Some(cmd) = out.commands.last_mut().filter(|_| attribute) else {
        return;
    };
    let before = cmd.output_lines as usize;
    cmd.output_lines += lines;
    cmd.output_bytes += (end - start) as u64 + 1;
    let mut rest = &text[start..end];
    for _ in 0..EXCERPT_LINES.saturating_sub(before) {
        if cmd.output_excerpt.len() >= EXCERPT_CHARS {
            break;
        }
        if cmd.output_excerpt.capacity() == 0 {
            // One allocation for the excerpt's lines, not one per doubling (five for a full
            // excerpt: 5 million commands' excerpts were 6% of an ingest).
            cmd.output_excerpt.reserve(EXCERPT_CHARS + 1);
        }
        if before > 0 || !cmd.output_excerpt.is_empty() {
            cmd.output_excerpt.push('\n');
        }
        let room = EXCERPT_CHARS - cmd.output_excerpt.len();
        // The line's end is looked for only as far as the room left reaches (a character
        // takes at most 4 bytes): a longer line is cut there and fills the excerpt.
        let reach = &rest.as_bytes()[..rest.len().min(room * 4 + 1)];
        let (l, next) = match memchr::memchr(b'\n', reach) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // A line of no more bytes than the room left has no more characters either.
        let cut = if l.len() <= room {
            l.len()
        } else {
            char_to_byte(l, room)
        };
        cmd.output_excerpt.push_str(&l[..cut]);
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
}

/// Programs whose prompts are shells' own: a prompt first seen after one of these ran is the
/// new shell's.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "fish", "dash", "ash", "ksh", "mksh", "tcsh", "csh", "busybox", "su",
    "sudo", "login", "ssh", "exec", "docker", "kubectl", "nsenter", "chroot", "runuser", "newgrp",
    "tmux", "screen", "byobu", "zellij", "tmate",
];

/// Terminal multiplexers: they host shells on the alternate screen.
const MULTIPLEXERS: &[&str] = &["tmux", "screen", "byobu", "zellij", "tmate"];

/// Programs known to hold the alternate screen for themselves.
const FULL_SCREEN: &[&str] = &[
    "vi",
    "vim",
    "nvim",
    "view",
    "nano",
    "pico",
    "emacs",
    "less",
    "more",
    "most",
    "man",
    "top",
    "htop",
    "atop",
    "btop",
    "watch",
    "mc",
    "tig",
    "lazygit",
    "k9s",
    "iftop",
    "iotop",
    "nmon",
    "mutt",
    "ranger",
    "nnn",
    "journalctl",
    "systemctl",
    "git",
    "psql",
    "mysql",
    "ncdu",
];

/// The program a command line runs: its first word after `sudo`, `exec`, `env` and variable
/// assignments, without its directory.
fn program_of(command: &str) -> Option<&str> {
    command
        .split_whitespace()
        .filter(|w| (!w.contains('=') || w.starts_with('=')) && !w.starts_with('-'))
        .find(|w| !matches!(*w, "sudo" | "exec" | "env" | "nohup" | "command" | "time"))
        .map(|w| w.rsplit('/').next().unwrap_or(w))
}

/// What reconstruction carries from one input to the next.
#[derive(Default)]
struct State {
    /// Skeletons of the prompts of the session's shells (see [`prompt::skeleton`]).
    shell_prompts: Vec<String>,
    /// The last shell command (not program input), and whether the one before the current
    /// input was input too (a continuation prompt continues only that).
    last_shell_command: Option<usize>,
    /// The last command needs more lines (an open quote, a here-document, `for` without `done`).
    last_incomplete: bool,
    last_was_input: bool,
    /// The alternate screen is on: since which command, and the program that switched to it.
    alt_since: Option<(usize, Option<String>)>,
    /// The last prompt seen and what it says (most commands share their prompt).
    last_prompt: Option<(std::sync::Arc<str>, PromptParts)>,
}

type PromptParts = (Shared, Shared, Shared);

impl State {
    /// Whether input at `prompt` is typed to the shell (else to a program it started).
    /// Whether output followed the last shell command, a program that prints files or data
    /// it is given (so that output may carry a recorded session's input marks).
    fn after_printed_file(&self, out: &Reconstruction) -> bool {
        const PRINTERS: &[&str] = &[
            "cat", "tac", "zcat", "bzcat", "xzcat", "zstdcat", "head", "tail", "less", "more",
            "bat", "batcat", "strings", "curl", "wget", "nc", "ncat", "socat", "base64", "xxd",
            "openssl", "gunzip", "gzip", "python", "python3", "perl", "ruby", "node", "awk", "sed",
            "tee", "dd", "jq",
        ];
        self.last_shell_command
            .and_then(|i| out.commands.get(i))
            .is_some_and(|c| {
                c.output_lines > 0 && program_of(&c.text).is_some_and(|p| PRINTERS.contains(&p))
            })
    }

    /// The text of the last shell command.
    fn last_shell<'a>(&self, out: &'a Reconstruction) -> Option<&'a str> {
        self.last_shell_command
            .and_then(|i| out.commands.get(i))
            .map(|c| c.text.as_str())
    }

    fn is_shell_prompt(&mut self, prompt: &str, commands: &[Command]) -> bool {
        if self
            .last_prompt
            .as_ref()
            .is_some_and(|(p, _)| **p == *prompt)
        {
            return true; // the last shell prompt again
        }
        let sk = skeleton(prompt);
        if self.shell_prompts.is_empty() || self.shell_prompts.contains(&sk) {
            if self.shell_prompts.is_empty() {
                self.shell_prompts.push(sk);
            }
            return true;
        }
        let last_shell = self
            .last_shell_command
            .and_then(|i| commands.get(i))
            .map(|c| c.text.as_str());
        let started_shell = last_shell.and_then(first_word).is_some_and(|w| {
            let w = w.rsplit('/').next().unwrap_or(w);
            SHELLS.contains(&w)
        });
        if started_shell || shell_prompt_shaped(prompt) {
            self.shell_prompts.push(sk);
            return true;
        }
        false
    }
}

/// One input the editor accepted (or left), already split from its prompt.
struct Input<'a> {
    prompt: &'a str,
    /// The first line typed, and the lines below it (most inputs have none: no vector then).
    first: String,
    more: Vec<String>,
    row: &'a Row,
    confidence: f32,
    abandoned: bool,
}

/// Adds one accepted input: a continuation of the previous command, or commands of its own
/// (a multi-line buffer split where a shell would run each part).
fn add_input(out: &mut Reconstruction, st: &mut State, input: Input) {
    let Input {
        prompt,
        first,
        more,
        row,
        confidence,
        abandoned,
    } = input;
    // A line typed ahead that a continuation prompt read continues the command as is.
    let continues = (row.continues && row.typed_ahead && !out.commands.is_empty())
        || st.last_was_input
            && is_continuation_prompt(prompt)
            && st.last_incomplete
            && out.commands.last().is_some_and(|c| !c.abandoned);
    if continues {
        let last = out.commands.last_mut().expect("checked");
        for l in std::iter::once(&first).chain(&more) {
            last.text.push('\n');
            last.text.push_str(l.trim_end());
        }
        last.multi_line = true;
        last.edited |= row.edited;
        last.pasted |= row.pasted;
        last.abandoned = abandoned;
        last.confidence = last.confidence.min(confidence);
        st.last_incomplete = incomplete(&last.text);
        st.last_was_input = !abandoned;
        return;
    }
    // A line typed ahead was read by the prompt that followed it (the shell's).
    let program_input = !row.typed_ahead && !st.is_shell_prompt(prompt, &out.commands);
    // A program's own screen (vi switching bracketed paste on and off), not a shell's line:
    // at a prompt not the shell's, or on the screen of a program known to hold it for itself
    // (the text it shows may look like the shell's prompt: a file with `# rm -rf /` in vi).
    let full_screen_program = st
        .alt_since
        .as_ref()
        .and_then(|(_, p)| p.as_deref())
        .is_some_and(|p| FULL_SCREEN.contains(&p));
    if row.alt_screen && (program_input || full_screen_program) {
        return;
    }
    let (prompt, (mut user, mut host, mut cwd)) = match &st.last_prompt {
        Some((p, parts)) if **p == *prompt => (p.clone(), parts.clone()),
        _ => {
            let (u, h, c) = prompt_parts(prompt);
            let parts = (u.map(Into::into), h.map(Into::into), c.map(Into::into));
            let prompt: std::sync::Arc<str> = prompt.into();
            if !program_input {
                st.last_prompt = Some((prompt.clone(), parts.clone()));
            }
            (prompt, parts)
        }
    };
    // The commands the lines make: most often one line, one command (kept without a vector).
    let mut one: Option<String> = None;
    let mut parts: Vec<String> = Vec::new();
    let mut lexer = Lexer::default();
    if more.is_empty() {
        // The common case: one line, taken as it is (trimmed in place).
        let mut line = first;
        line.truncate(line.trim_end().len());
        lexer.feed(&line);
        one = Some(line);
    } else {
        let mut pending: Vec<&str> = Vec::new();
        for l in std::iter::once(&first).chain(&more) {
            let l = l.trim_end();
            pending.push(l);
            lexer.feed(l);
            if !lexer.incomplete() || program_input {
                parts.push(pending.join("\n"));
                pending.clear();
                lexer = Lexer::default();
            }
        }
        if !pending.is_empty() {
            parts.push(pending.join("\n"));
        }
    }
    let incomplete_end = lexer.incomplete();
    let one = one.filter(|text| !text.trim().is_empty());
    parts.retain(|text| !text.trim().is_empty());
    let last = (usize::from(one.is_some()) + parts.len()).saturating_sub(1);
    for (i, text) in one.into_iter().chain(parts).enumerate() {
        if !program_input && !abandoned {
            st.last_shell_command = Some(out.commands.len());
            st.last_incomplete = incomplete_end;
        }
        // The last (most often the only) part takes the prompt's parts; the others share them
        // (three allocations a command, 5 million commands), as they share the prompt.
        let share = |v: &mut Shared| if i == last { v.take() } else { v.clone() };
        out.commands.push(Command {
            prompt: prompt.clone(),
            multi_line: text.contains('\n'),
            text,
            user: share(&mut user),
            host: share(&mut host),
            cwd: share(&mut cwd),
            edited: row.edited,
            pasted: row.pasted,
            abandoned,
            program_input,
            alternate_screen: row.alt_screen,
            // Inferred from line drawing on the alternate screen (no marks, no grid of the
            // shell's own): the least sure.
            confidence: match (row.alt_screen, row.inferred) {
                (true, true) => confidence.min(0.7),
                (true, false) => confidence.min(0.9),
                _ => confidence,
            },
            ..Command::default()
        });
    }
    st.last_was_input = !abandoned;
}

/// Handles one input region: its first row (with the prompt) and the rows below it. Where the
/// prompt appears again below, the editor redrew the line (after a completion listing, or a
/// fish Ctrl-C): only the last drawing was accepted; an earlier one ending in `^C` was
/// abandoned, any other is output.
fn add_region(
    out: &mut Reconstruction,
    st: &mut State,
    text: &str,
    rows: &[&Row],
    learned: &[String],
    fish: bool,
) {
    let first = rows[0];
    let line0 = &text[first.start..first.end];
    let (prompt, mut cmd0, confidence) = split_row(first, line0, learned);
    // A line that looks like input but was printed by the previous `echo`/`printf` (with the
    // shell's own input marks around it, when they were printed too: `printf '\e[?2004h...'`).
    let printed = !first.typed_ahead
        && st.last_shell(out).is_some_and(|c| {
            matches!(first_word(c), Some("echo" | "printf")) && c.contains(line0.trim())
        });
    if printed {
        for r in rows {
            output(out, text, r.start, r.end, 1, true);
        }
        return;
    }
    // Input marks can also come from a file a command prints (`cat` of a recorded session):
    // nothing in the bytes tells them apart, so input that follows such output is less sure.
    let confidence = if st.after_printed_file(out) {
        confidence.min(0.5)
    } else {
        confidence
    };
    if first.inferred && !first.typed_ahead {
        // Without a line editor the terminal echoes Ctrl-C as `^C` and drops the line: what
        // follows on the row was typed next.
        while let Some(at) = cmd0.find("^C") {
            let abandoned = cmd0[..at].to_owned();
            cmd0 = cmd0[at + 2..].to_owned();
            add_input(
                out,
                st,
                Input {
                    prompt,
                    first: abandoned,
                    more: Vec::new(),
                    row: first,
                    confidence,
                    abandoned: true,
                },
            );
        }
    }
    if rows.len() == 1 {
        // The common case: one line, one drawing.
        let ctrl_c = cmd0.trim_end().ends_with("^C");
        if ctrl_c {
            cmd0 = cmd0.trim_end().trim_end_matches("^C").to_owned();
        }
        let abandoned = ctrl_c || first.interrupted;
        let input = Input {
            prompt,
            first: cmd0,
            more: Vec::new(),
            row: first,
            confidence,
            abandoned,
        };
        add_input(out, st, input);
        return;
    }
    let mut segments: Vec<(String, Vec<(usize, usize)>)> = vec![(cmd0, Vec::new())];
    for r in &rows[1..] {
        let line = &text[r.start..r.end];
        if !prompt.trim().is_empty() && line.starts_with(prompt) {
            segments.push((line[prompt.len()..].to_owned(), Vec::new()));
        } else if let Some(seg) = segments.last_mut() {
            seg.1.push((r.start, r.end));
        }
    }
    let n = segments.len();
    let indent = prompt.chars().count();
    for (k, (cmd, rest)) in segments.into_iter().enumerate() {
        let ctrl_c = cmd.trim_end().ends_with("^C");
        if k + 1 < n && !ctrl_c {
            for (a, b) in rest {
                output(out, text, a, b, 1, false);
            }
            continue;
        }
        let line = if ctrl_c {
            cmd.trim_end().trim_end_matches("^C").to_owned()
        } else {
            cmd
        };
        let mut more = Vec::new();
        let last = k + 1 == n;
        if last {
            let mut lexer = Lexer::default();
            lexer.feed(&line);
            for &(a, b) in &rest {
                let l = &text[a..b];
                // fish indents the lines of a multi-line command to the prompt's width, and
                // blocks and continued lines further; a string's own blanks stay.
                let l = if fish && !lexer.inside_string() {
                    l.trim_start()
                } else if fish {
                    let strip = l.chars().take(indent).take_while(|c| *c == ' ').count();
                    &l[char_to_byte(l, strip)..]
                } else {
                    l
                };
                lexer.feed(l);
                more.push(l.to_owned());
            }
        }
        add_input(
            out,
            st,
            Input {
                prompt,
                first: line,
                more,
                row: first,
                confidence,
                abandoned: ctrl_c || (last && first.interrupted),
            },
        );
        if !last {
            for (a, b) in rest {
                output(out, text, a, b, 1, true);
            }
        }
    }
}

/// Continuation lines read without the editor (busybox reads a here-document's lines plainly,
/// after `> `): at the start of the output that follows a command that needs more, each line
/// at a continuation prompt joins it. Returns where the output proper starts.
fn continuation_lines(
    out: &mut Reconstruction,
    st: &mut State,
    text: &str,
    start: usize,
    end: usize,
) -> usize {
    let mut at = start;
    if !(st.last_was_input && st.last_incomplete) {
        return start;
    }
    let Some(cmd) = out
        .commands
        .last_mut()
        .filter(|c| !c.abandoned && !c.program_input)
    else {
        return start;
    };
    let mut lexer = Lexer::default();
    for l in cmd.text.split('\n') {
        lexer.feed(l);
    }
    while at < end && lexer.incomplete() {
        let line_end = text[at..end].find('\n').map_or(end, |k| at + k);
        let line = &text[at..line_end];
        let Some(p) = first_terminator(line) else {
            break;
        };
        if !is_continuation_prompt(&line[..p]) {
            break;
        }
        cmd.text.push('\n');
        cmd.text.push_str(line[p..].trim_end());
        lexer.feed(line[p..].trim_end());
        cmd.multi_line = true;
        at = (line_end + 1).min(end);
        if line_end == end {
            at = end;
        }
    }
    st.last_incomplete = lexer.incomplete();
    at
}

/// Why input after command `since` (which switched to the alternate screen) could not be
/// read, when it could not: a multiplexer whose screen showed no editor marks, a shell
/// without marks left on the alternate screen (its prompt is on the last row drawn), or a
/// session that ended there after a program not known to hold the screen for itself.
fn unobservable(
    st: &State,
    since: usize,
    program: Option<&str>,
    last_row: &str,
    at_end: bool,
) -> Option<(usize, String)> {
    let name = program.unwrap_or("a program");
    if program.is_some_and(|p| MULTIPLEXERS.contains(&p)) {
        return Some((
            since,
            format!(
                "inside {name}: no shell editor marks on its screen, so what was typed there \
                 is not known"
            ),
        ));
    }
    let prompt_left = first_terminator(last_row)
        .is_some_and(|end| st.shell_prompts.contains(&skeleton(&last_row[..end])));
    if prompt_left {
        return Some((
            since,
            format!(
                "the terminal stayed on the alternate screen after {name} with the shell's \
                 prompt on it: input there is not recorded line by line"
            ),
        ));
    }
    if at_end && !program.is_some_and(|p| FULL_SCREEN.contains(&p)) {
        return Some((
            since,
            format!("the session ended on the alternate screen {name} switched to"),
        ));
    }
    None
}

/// Output blocks split into one row per line (for prompts to be inferred from).
fn expand_output(events: Vec<Event>, text: &str) -> Vec<Event> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        match e {
            Event::Output { start, end, .. } => {
                let mut at = start;
                for line in text[start..end].split('\n') {
                    out.push(Event::Row(Row {
                        start: at,
                        end: at + line.len(),
                        ..Row::default()
                    }));
                    at += line.len() + 1;
                }
            }
            e => out.push(e),
        }
    }
    out
}

/// Reconstructs the commands of one transcript body.
pub fn reconstruct(body: &[u8]) -> Reconstruction {
    let drawn = screen::draw(body);
    let mut events = drawn.events;
    let text = drawn.text;
    // Rows before the first marked input (all of them in a shell without line editor) are
    // read for prompts: an `sh` session may start a shell with an editor later.
    let first_marked = events
        .iter()
        .position(|e| matches!(e, Event::Row(r) if r.input))
        .unwrap_or(events.len());
    // A shell without line editor before any mark: the marks are a program's (sqlite3) or a
    // nested shell's, and the outer shell's prompts may return after them, in output blocks.
    let unmarked_shell = if first_marked == events.len() {
        true
    } else if unmarked::starts_with_prompt(&events[..first_marked], &text) {
        // A prompt first, then marks: is that prompt's shell the session's?
        events = expand_output(events, &text);
        unmarked::has_shell_prompt(&events, &text)
    } else {
        false
    };
    let upto = if unmarked_shell {
        events.len()
    } else {
        first_marked
    };
    unmarked::infer_input_rows(&mut events, &text, upto);
    let shell = match drawn.editor {
        _ if drawn.fish => "fish",
        _ if unmarked_shell && first_marked < events.len() => "sh",
        Editor::Readline => "bash",
        Editor::Zle => "zsh",
        Editor::Busybox => "ash",
        Editor::Unknown => "sh",
    };

    let line = |r: &Row| &text[r.start..r.end];
    let input_rows: Vec<(&str, &Row)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row(r) if r.input && !r.continues => Some((line(r), r)),
            _ => None,
        })
        .collect();
    let learned = learn_prompts(&input_rows);
    let mut out = Reconstruction {
        shell: Some(shell.to_owned()),
        width: drawn.width,
        ..Default::default()
    };
    let mut st = State::default();
    // An input region's rows, gathered in one vector for the whole transcript.
    let mut rows: Vec<&Row> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Row(row) if row.input => {
                let mut j = i + 1;
                while matches!(events.get(j), Some(Event::Row(r)) if r.input && r.continues) {
                    j += 1;
                }
                rows.clear();
                rows.extend(events[i..j].iter().filter_map(|e| match e {
                    Event::Row(r) => Some(r),
                    _ => None,
                }));
                add_region(&mut out, &mut st, &text, &rows, &learned, drawn.fish);
                i = j;
                continue;
            }
            Event::Row(row) => {
                st.last_was_input = false;
                output(&mut out, &text, row.start, row.end, 1, true);
            }
            &Event::Output { start, end, lines } => {
                let from = continuation_lines(&mut out, &mut st, &text, start, end);
                st.last_was_input = false;
                if from < end {
                    let lines = if from == start {
                        lines
                    } else {
                        text[from..end].matches('\n').count() as u64 + 1
                    };
                    output(&mut out, &text, from, end, lines, true);
                }
            }
            Event::FullScreen => {
                st.last_was_input = false;
                if let Some(cmd) = out.commands.last_mut() {
                    cmd.full_screen = true;
                }
                let program = st.last_shell(&out).and_then(program_of).map(str::to_owned);
                st.alt_since = Some((out.commands.len(), program));
            }
            Event::FullScreenEnd {
                inputs,
                last_row,
                at_end,
                line_rows,
                line_drawn,
            } => {
                st.last_was_input = false;
                if let Some((since, program)) = st.alt_since.take() {
                    // Drawn line by line to the end: a shell's lines, read like the main
                    // screen's. Rows handed back before a program took the screen were read up
                    // to there.
                    let since = if *line_rows > 0 {
                        out.commands.len()
                    } else {
                        since
                    };
                    if out.unobservable.is_none() && *inputs == 0 && !*line_drawn {
                        out.unobservable =
                            unobservable(&st, since, program.as_deref(), last_row, *at_end);
                    }
                }
            }
            Event::Clear => st.last_was_input = false,
        }
        i += 1;
    }
    out.text = text;
    out
}

#[cfg(test)]
mod tests {
    /// The excerpt as `output` built it by splitting the whole block into lines.
    fn excerpt_by_split(blocks: &[&str]) -> String {
        let mut excerpt = String::new();
        let mut before = 0usize;
        for b in blocks {
            for l in b.split('\n').take(EXCERPT_LINES.saturating_sub(before)) {
                if excerpt.len() >= EXCERPT_CHARS {
                    break;
                }
                if before > 0 || !excerpt.is_empty() {
                    excerpt.push('\n');
                }
                let room = EXCERPT_CHARS - excerpt.len();
                excerpt.push_str(&l[..char_to_byte(l, room)]);
            }
            before += b.matches('\n').count() + 1;
        }
        excerpt
    }

    #[test]
    fn output_excerpts_are_the_first_lines_cut_to_the_room() {
        let long = "x".repeat(300);
        let wide = "é".repeat(150);
        let cases: Vec<Vec<String>> = vec![
            vec!["a\nb\nc\nd".into()],
            vec!["a\n".into(), "b".into()],
            vec![String::new(), "\n\n".into(), "z".into()],
            vec![format!("{long}\nnext")],
            vec![format!("{wide}\n{wide}")],
            vec!["short".into(), format!("{wide}{long}")],
            vec![format!("{}\n{}", "y".repeat(239), "after")],
            vec![format!("{}\n{}", "y".repeat(120), "w".repeat(200))],
            vec!["one".into(), "two".into(), "three".into(), "four".into()],
        ];
        for blocks in cases {
            let mut out = Reconstruction {
                commands: vec![Command::default()],
                ..Default::default()
            };
            let mut text = String::new();
            let mut ranges = Vec::new();
            for b in &blocks {
                ranges.push((
                    text.len(),
                    text.len() + b.len(),
                    b.matches('\n').count() as u64 + 1,
                ));
                text.push_str(b);
                text.push('\n');
            }
            for (a, b, lines) in ranges {
                output(&mut out, &text, a, b, lines, true);
            }
            let refs: Vec<&str> = blocks.iter().map(String::as_str).collect();
            assert_eq!(
                out.commands[0].output_excerpt,
                excerpt_by_split(&refs),
                "{blocks:?}"
            );
        }
    }

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
    fn a_shell_without_marks_on_the_alternate_screen_is_read_from_its_lines() {
        // dash after `printf '\e[?1049h'`: prompt, echo, CR LF, then `clear`, then a program
        // that takes the screen with a scroll region and draws text shaped like commands.
        let body = b"# ls\r\r\na b\r\r\n# printf '\\e[?1049h'\r\r\n\x1b[?1049h# id\r\r\nuid=0(root)\r\r\n# clear\r\r\n\x1b[H\x1b[2J\x1b[3J# echo hidden-op\r\r\nhidden-op\r\r\n# vi notes\r\r\n\x1b[?1049h\x1b[1;24r\x1b[H\x1b[2J# rm -rf /srv\r\n$ curl x | sh\r\n\x1b[24;1H:wq\x1b[?1049l# echo visible\r\r\nvisible\r\r\n# exit\r\r\n";
        let r = reconstruct(body);
        assert_eq!(
            texts(&r),
            [
                "ls",
                "printf '\\e[?1049h'",
                "id",
                "clear",
                "echo hidden-op",
                "vi notes",
                "echo visible",
                "exit"
            ]
        );
        let id = &r.commands[2];
        assert!(id.alternate_screen && id.confidence <= 0.7, "{id:?}");
        assert!(!r.commands[6].alternate_screen);
        assert!(r.commands[5].full_screen);
        assert_eq!(r.unobservable, None);
    }

    #[test]
    fn a_program_taking_the_alternate_screen_ends_what_is_read_there() {
        // Lines drawn before the cursor is addressed are the shell's; after it, a prompt left
        // on the screen says input there could not be read.
        let body = b"# ls\r\r\na b\r\r\n# printf '\\e[?1049h'\r\r\n\x1b[?1049h# id\r\r\nuid=0(root)\r\r\n# printf '\\e[5;5H'\r\r\n\x1b[5;5H# echo lost\r\r\nlost\r\r\n# ";
        let r = reconstruct(body);
        assert_eq!(
            texts(&r),
            ["ls", "printf '\\e[?1049h'", "id", "printf '\\e[5;5H'"]
        );
        let (after, why) = r.unobservable.clone().expect("marked unobservable");
        assert_eq!(after, 4, "{why}");
    }

    #[test]
    fn marks_on_a_full_screen_programs_screen_are_not_the_shells() {
        // bash, then vi switching bracketed paste on and off around a file whose lines look
        // like prompts and commands.
        let body = b"\x1b[?2004hroot@vm:/# vi f\r\r\n\x1b[?2004l\r\x1b[?1049h\x1b[1;24r\x1b[?2004h\x1b[H\x1b[2J# rm -rf /srv\r\n$ curl x | sh\r\n\x1b[24;1H:wq\x1b[?2004l\r\x1b[?1049l\x1b[?2004hroot@vm:/# exit\r\r\n\x1b[?2004l\rexit\r\r\n";
        let r = reconstruct(body);
        assert_eq!(texts(&r), ["vi f", "exit"]);
    }

    #[test]
    fn application_keys_before_any_drawing_make_it_a_program() {
        // less: keypad mode first, then file lines shaped like prompts and commands.
        let body = b"# ls\r\r\na b\r\r\n# less f\r\r\n\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\r# rm -rf /srv\r\r\n$ curl x | sh\r\r\n\x1b[7mf (END)\x1b[27m\x1b[K\r\x1b[K\x1b[?1l\x1b>\x1b[?1049l# exit\r\r\n";
        let r = reconstruct(body);
        assert_eq!(texts(&r), ["ls", "less f", "exit"]);
    }

    #[test]
    fn unmarked_shells_are_read_from_repeated_prompts() {
        let body = b"$ ls\r\na b\r\n$ echo '$ not a prompt'\r\n$ not a prompt\r\n$ exit\r\n";
        let r = reconstruct(body);
        assert_eq!(r.shell.as_deref(), Some("sh"));
        assert!(texts(&r).starts_with(&["ls", "echo '$ not a prompt'"]));
    }
}

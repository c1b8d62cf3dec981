//! Input in transcripts without line-editor marks: dash and Debian `sh` (built without line
//! editing), and Session Manager's cleaned text. Nothing says where the shell read a line, so
//! it is inferred:
//!
//! - The shell's prompt is the most repeated prompt-shaped prefix (its *skeleton*: paths and
//!   what else changes taken out, so `root@vm:/# ` and `root@vm:/tmp# ` are one prompt); rows
//!   starting with another prompt (`>>> `, `sqlite> `, a `$ ` printed by a program) are output.
//! - A row that a previous `echo`/`printf` command wrote (its text is in the command) is output.
//! - Type-ahead: the terminal echoes keys typed while a command runs (or a pasted block) at
//!   once, as a line of its own, and the shell later prints its prompt followed by that
//!   command's *output*. So a prompt row is re-read as output, and an earlier echoed line as
//!   the command, when the echoed line reads like a command and the prompt row's text is its
//!   `echo` output, is another prompt (the command printed nothing), or does not read like a
//!   command while the echoed line came right after the previous command (a pasted block).
//! - A command whose output did not end its line leaves the prompt mid-row (`no newline# id`):
//!   taken when what precedes the prompt was printed by an `echo`/`printf`, or when the next
//!   row starts with a prompt.
//!
//! Confidence is lowered for all of it (see [`super::Command::confidence`]).

use super::prompt::{
    is_continuation_prompt, prompt_like, shell_prompt_shaped, skeleton, terminator_prefixes,
};
use super::screen::Event;
use super::syntax::{command_like, first_word, incomplete};

/// The end of the shortest prefix of `line` that is a prompt with skeleton `shell`, in bytes.
fn prompt_end(line: &str, shell: &str) -> Option<usize> {
    terminator_prefixes(line)
        .into_iter()
        .take_while(|&end| end <= 96)
        .find(|&end| prompt_like(&line[..end]) && skeleton(&line[..end]) == shell)
}

/// The skeleton of the shell's prompt: the most frequent among prompt-shaped prefixes seen at
/// least twice (the earliest on a tie).
fn shell_skeleton(rows: &[(usize, &str)]) -> Option<String> {
    let mut counts: Vec<(String, usize, usize)> = Vec::new();
    for (i, (_, line)) in rows.iter().enumerate() {
        let Some(&end) = terminator_prefixes(line).first() else {
            continue;
        };
        if end > 96 || !prompt_like(&line[..end]) {
            continue;
        }
        let sk = skeleton(&line[..end]);
        match counts.iter_mut().find(|(s, _, _)| *s == sk) {
            Some(entry) => entry.1 += 1,
            None => counts.push((sk, 1, i)),
        }
    }
    // A shell's own prompt shape wins over a repeated `> ` (continuation lines, a REPL).
    let best = |shaped: bool| {
        counts
            .iter()
            .filter(|(sk, n, _)| *n >= 2 && (!shaped || shell_prompt_shaped(&format!("{sk} "))))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
            .map(|(s, _, _)| s.clone())
    };
    best(true).or_else(|| best(false))
}

fn echo_like(command: &str) -> bool {
    matches!(first_word(command), Some("echo" | "printf"))
}

/// Whether rows among `events` show a shell prompt, repeated (a shell without line editor).
pub fn has_shell_prompt(events: &[Event], text: &str) -> bool {
    let rows: Vec<(usize, &str)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::Row(r) if !r.input => Some((i, &text[r.start..r.end])),
            _ => None,
        })
        .collect();
    shell_skeleton(&rows).is_some()
}

/// Marks the input rows among `events[..upto]` (all of them without marks; the rows before the
/// first marked input otherwise).
pub fn infer_input_rows(events: &mut [Event], text: &str, upto: usize) {
    let rows: Vec<(usize, &str)> = events[..upto]
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::Row(r) if !r.input => Some((i, &text[r.start..r.end])),
            _ => None,
        })
        .collect();
    let Some(shell) = shell_skeleton(&rows) else {
        return;
    };
    // First words of commands so far: a command used once reads like a command afterwards.
    let mut known: Vec<String> = Vec::new();
    let mut last_command: Option<String> = None;
    // Rows since the last command that may be lines typed ahead: (event index, text, right
    // after the command or another such line).
    let mut pending: Vec<(usize, String, bool)> = Vec::new();
    let mut exact_prompt = String::new();
    for (k, &(i, line)) in rows.iter().enumerate() {
        let next_is_prompt = rows
            .get(k + 1)
            .is_some_and(|(_, l)| prompt_end(l, &shell).is_some());
        // Printed by the previous command (`printf '# not a prompt\n'`).
        if last_command.as_deref().is_some_and(|c| {
            echo_like(c) && line.trim().len() >= 2 && c.contains(line.trim())
        }) {
            pending.push((i, line.trim().to_owned(), false));
            continue;
        }
        // A continuation line of a command that needs more (`> ` after `for`, a here-document).
        if let Some(end) = last_command
            .as_deref()
            .filter(|c| incomplete(c))
            .and_then(|_| terminator_prefixes(line).into_iter().next())
            .filter(|&end| is_continuation_prompt(&line[..end]))
        {
            set_input(events, i, 0, end, line);
            if let Some(c) = last_command.as_mut() {
                c.push('\n');
                c.push_str(line[end..].trim_end());
            }
            pending.clear();
            continue;
        }
        let Some(end) = prompt_end(line, &shell) else {
            // Mid-row prompt: output that did not end its line, then the prompt.
            if let Some(at) = (!exact_prompt.is_empty())
                .then(|| line.find(exact_prompt.as_str()))
                .flatten()
                .filter(|&at| at > 0)
            {
                let before = line[..at].trim();
                let printed = last_command
                    .as_deref()
                    .is_some_and(|c| echo_like(c) && c.contains(before));
                // Binary output seldom ends with a newline.
                let binary = before.chars().any(|c| c == '\u{fffd}' || c.is_control());
                let cmd = line[at + exact_prompt.len()..].trim();
                if printed || next_is_prompt || (binary && command_like(cmd, &known)) {
                    set_input(events, i, at, at + exact_prompt.len(), line);
                    if let Some(w) = first_word(cmd) {
                        known.push(w.to_owned());
                    }
                    last_command = Some(cmd.to_owned());
                    pending.clear();
                    continue;
                }
            }
            let contiguous = pending.last().is_none_or(|p| p.2) && !pending.is_empty()
                || pending.is_empty() && last_command.is_some();
            pending.push((i, line.trim().to_owned(), contiguous && !line.trim().is_empty()));
            continue;
        };
        let prompt = &line[..end];
        let content = line[end..].trim();
        // A line typed ahead that this prompt read.
        let ahead = pending.iter().position(|(_, e, contiguous)| {
            command_like(e, &known)
                && ((echo_like(e) && !content.is_empty() && e.contains(content))
                    || prompt_end(content, &shell).is_some()
                    || (*contiguous && !content.is_empty() && !command_like(content, &known)))
        });
        if let Some(p) = ahead {
            let (ei, e, _) = pending[p].clone();
            set_typed_ahead(events, ei);
            if let Some(w) = first_word(&e) {
                known.push(w.to_owned());
            }
            last_command = Some(e);
            pending.drain(..=p);
            // The rest of the row: this prompt's output, or a second prompt and a command.
            if let Some(end2) = prompt_end(content, &shell) {
                let off = line.len() - content.len();
                set_input(events, i, off, off + end2, line);
                let cmd = content[end2..].trim();
                if let Some(w) = first_word(cmd) {
                    known.push(w.to_owned());
                }
                last_command = Some(cmd.to_owned());
                pending.clear();
            }
            continue;
        }
        exact_prompt = prompt.to_owned();
        set_input(events, i, 0, end, line);
        if let Some(w) = first_word(content) {
            known.push(w.to_owned());
        }
        last_command = Some(content.to_owned());
        pending.clear();
    }
}

/// Marks event `i` as input whose prompt is `line[from..to]` (bytes): what precedes it on the
/// row is output that did not end its line, and is left out of the input row.
fn set_input(events: &mut [Event], i: usize, from: usize, to: usize, line: &str) {
    if let Event::Row(r) = &mut events[i] {
        r.input = true;
        r.inferred = true;
        r.start += from;
        r.input_col = Some(line[from..to].chars().count());
    }
}

/// Marks event `i`, a line echoed by the terminal while a command ran, as the command a later
/// prompt read.
fn set_typed_ahead(events: &mut [Event], i: usize) {
    if let Event::Row(r) = &mut events[i] {
        r.input = true;
        r.inferred = true;
        r.typed_ahead = true;
        r.input_col = Some(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::prompt::char_to_byte;
    use crate::terminal::screen::Row;

    fn rows(lines: &[&str]) -> (Vec<Event>, String) {
        let mut text = String::new();
        let mut events = Vec::new();
        for l in lines {
            if !text.is_empty() {
                text.push('\n');
            }
            let start = text.len();
            text.push_str(l);
            events.push(Event::Row(Row {
                start,
                end: text.len(),
                ..Row::default()
            }));
        }
        (events, text)
    }

    fn commands(lines: &[&str]) -> Vec<String> {
        let (mut events, text) = rows(lines);
        let n = events.len();
        infer_input_rows(&mut events, &text, n);
        events
            .iter()
            .filter_map(|e| match e {
                Event::Row(r) if r.input => {
                    let line = &text[r.start..r.end];
                    Some(line[char_to_byte(line, r.input_col.unwrap_or(0))..].to_owned())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_pasted_block_is_read_line_by_line() {
        let c = commands(&[
            "# echo one",
            "echo two",
            "echo three",
            "one",
            "# two",
            "# three",
            "# ls",
            "a b",
        ]);
        assert_eq!(c, ["echo one", "echo two", "echo three", "ls"]);
    }

    #[test]
    fn output_shaped_like_prompts_is_output() {
        let c = commands(&[
            "# printf '# not a command\\n$ x\\n'",
            "# not a command",
            "$ x",
            "# python3 -q",
            ">>> print(1)",
            "1",
            "# exit",
        ]);
        assert_eq!(c, ["printf '# not a command\\n$ x\\n'", "python3 -q", "exit"]);
    }

    #[test]
    fn typed_ahead_with_no_output_leaves_two_prompts_on_a_row() {
        let c = commands(&["# sleep 1", "cd /tmp", "# # echo after", "after"]);
        assert_eq!(c, ["sleep 1", "cd /tmp", "echo after"]);
    }

    #[test]
    fn a_prompt_after_output_without_newline() {
        let c = commands(&["# printf 'no newline'", "no newline# true", "# id"]);
        assert_eq!(c, ["printf 'no newline'", "true", "id"]);
    }
}

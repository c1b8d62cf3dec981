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
    first_terminator, is_continuation_prompt, prompt_like, shell_prompt_shaped, skeleton_into,
    skeleton_is, terminators_upto,
};
use super::screen::Event;
use super::syntax::{command_like, first_word, Lexer};

/// The end of the shortest prefix of `line` that is a prompt with skeleton `shell`, in bytes.
fn prompt_end(line: &str, shell: &str) -> Option<usize> {
    terminators_upto(line, 96)
        .find(|&end| skeleton_is(&line[..end], shell) && prompt_like(&line[..end]))
}

/// The skeleton of the shell's prompt: the most frequent among prompt-shaped prefixes seen at
/// least twice (the earliest on a tie).
fn shell_skeleton(rows: &[(usize, &str)]) -> Option<String> {
    let mut counts: Vec<(String, usize, usize)> = Vec::new();
    let mut sk = String::new();
    for (i, (_, line)) in rows.iter().enumerate() {
        let Some(end) = first_terminator(line) else {
            continue;
        };
        if end > 96 || !prompt_like(&line[..end]) {
            continue;
        }
        skeleton_into(&line[..end], &mut sk);
        match counts.iter_mut().find(|(s, _, _)| *s == sk) {
            Some(entry) => entry.1 += 1,
            None => counts.push((sk.clone(), 1, i)),
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

/// Whether the first row with text among `events` starts with a shell-shaped prompt.
pub fn starts_with_prompt(events: &[Event], text: &str) -> bool {
    let first = events.iter().find_map(|e| match e {
        Event::Row(r) if !r.input && !text[r.start..r.end].trim().is_empty() => {
            Some(&text[r.start..r.end])
        }
        _ => None,
    });
    first.is_some_and(|line| {
        first_terminator(line).is_some_and(|end| end <= 96 && shell_prompt_shaped(&line[..end]))
    })
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

/// A row since the last command that may be a line typed ahead.
#[derive(Clone, Copy)]
struct Pending<'a> {
    event: usize,
    /// The row's text, trimmed.
    text: &'a str,
    /// Right after the command row, or after another such row (a pasted block).
    contiguous: bool,
}

/// What inference carries from row to row.
struct Infer<'a> {
    /// Skeleton of the shell's prompt.
    shell: String,
    /// First words of commands so far: a command used once reads like a command afterwards.
    known: Vec<String>,
    /// The command being read, with its continuation lines, and the lexer that read it.
    current: Option<String>,
    lexer: Lexer,
    pending: Vec<Pending<'a>>,
    /// The last prompt exactly as drawn, and a searcher for it once one was needed.
    exact_prompt: &'a str,
    exact_finder: Option<memchr::memmem::Finder<'a>>,
    /// The last row whose prompt was looked for, and where its prompt ends.
    looked_up: Option<(usize, Option<usize>)>,
}

impl<'a> Infer<'a> {
    /// A prompt at the start of `s`: (its end in bytes, a continuation prompt).
    fn leading_prompt(&self, s: &str) -> Option<(usize, bool)> {
        self.continuation_prompt(s)
            .map(|end| (end, true))
            .or_else(|| prompt_end(s, &self.shell).map(|end| (end, false)))
    }

    /// A continuation prompt at the start of `s` (its end in bytes), while the command read
    /// needs more lines.
    fn continuation_prompt(&self, s: &str) -> Option<usize> {
        (self.current.is_some() && self.lexer.incomplete())
            .then(|| first_terminator(s).filter(|&end| is_continuation_prompt(&s[..end])))
            .flatten()
    }

    /// [`prompt_end`] of row `k` (`line`): rows are looked at twice, as the row after a row of
    /// output and as the row read next.
    fn row_prompt_end(&mut self, k: usize, line: &str) -> Option<usize> {
        match self.looked_up {
            Some((at, end)) if at == k => end,
            _ => {
                let end = prompt_end(line, &self.shell);
                self.looked_up = Some((k, end));
                end
            }
        }
    }

    /// [`Self::leading_prompt`] of row `k` (`line`), whole.
    fn row_leading_prompt(&mut self, k: usize, line: &str) -> Option<(usize, bool)> {
        if let Some(end) = self.continuation_prompt(line) {
            return Some((end, true));
        }
        self.row_prompt_end(k, line).map(|end| (end, false))
    }

    /// Where the last prompt, exactly as drawn, first occurs in `line`.
    fn find_exact_prompt(&mut self, line: &str) -> Option<usize> {
        let prompt = self.exact_prompt;
        self.exact_finder
            .get_or_insert_with(|| memchr::memmem::Finder::new(prompt))
            .find(line.as_bytes())
    }

    fn set_exact_prompt(&mut self, prompt: &'a str) {
        if prompt != self.exact_prompt {
            self.exact_prompt = prompt;
            self.exact_finder = None;
        }
    }

    fn command(&mut self, text: &str) {
        // Each word once: `command_like` looks through them for every row read.
        if let Some(w) = first_word(text).filter(|w| !self.known.iter().any(|k| k == w)) {
            self.known.push(w.to_owned());
        }
        self.current = Some(text.to_owned());
        self.lexer = Lexer::default();
        self.lexer.feed(text);
    }

    fn continuation(&mut self, line: &str) {
        if let Some(c) = self.current.as_mut() {
            c.push('\n');
            c.push_str(line);
            self.lexer.feed(line);
        }
    }

    /// A prompt read pending line `p` (typed ahead): a new command, or a continuation line.
    fn consume(&mut self, events: &mut [Event], p: Pending<'a>, continuation: bool) {
        if let Event::Row(r) = &mut events[p.event] {
            r.input = true;
            r.inferred = true;
            r.typed_ahead = true;
            r.continues = continuation;
            r.input_col = Some(0);
        }
        if continuation {
            self.continuation(p.text);
        } else {
            self.command(p.text);
        }
    }
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
    let mut st = Infer {
        shell,
        known: Vec::new(),
        current: None,
        lexer: Lexer::default(),
        pending: Vec::new(),
        exact_prompt: "",
        exact_finder: None,
        looked_up: None,
    };
    for (k, &(i, line)) in rows.iter().enumerate() {
        // Printed by the previous command (`printf '# not a prompt\n'`).
        if st
            .current
            .as_deref()
            .is_some_and(|c| echo_like(c) && line.trim().len() >= 2 && c.contains(line.trim()))
        {
            st.pending.push(Pending {
                event: i,
                text: line.trim(),
                contiguous: false,
            });
            continue;
        }
        let Some(mut prompt) = st.row_leading_prompt(k, line) else {
            let next_is_prompt = rows
                .get(k + 1)
                .is_some_and(|&(_, l)| st.row_prompt_end(k + 1, l).is_some());
            if !mid_row_prompt(&mut st, events, i, line, next_is_prompt) {
                let contiguous = match st.pending.last() {
                    Some(p) => p.contiguous,
                    None => st.current.is_some(),
                };
                st.pending.push(Pending {
                    event: i,
                    text: line.trim(),
                    contiguous: contiguous && !line.trim().is_empty(),
                });
            }
            continue;
        };
        // Each prompt on the row is one line the shell read: all but the last read lines
        // typed ahead (a pasted block shows `> > > # `).
        let mut pos = 0;
        loop {
            let (end, continuation) = (pos + prompt.0, prompt.1);
            if let Some(next) = st.leading_prompt(&line[end..]) {
                if !st.pending.is_empty() {
                    let p = st.pending.remove(0);
                    st.consume(events, p, continuation);
                }
                pos = end;
                prompt = next;
                continue;
            }
            let content = line[end..].trim();
            if continuation {
                if content.is_empty() && !st.pending.is_empty() {
                    let p = st.pending.remove(0);
                    st.consume(events, p, true);
                } else {
                    set_input(events, i, pos, end, line);
                    st.continuation(content);
                    st.pending.clear();
                }
                break;
            }
            // A line typed ahead that this prompt read: its output follows the prompt.
            let known = &st.known;
            let content_is_command = std::cell::OnceCell::new();
            let ahead = st.pending.iter().position(|p| {
                !content.is_empty()
                    && ((echo_like(p.text) && p.text.contains(content))
                        || (p.contiguous
                            && !*content_is_command.get_or_init(|| command_like(content, known))))
                    // Last: the costliest test, and most pending rows are a command's output.
                    && command_like(p.text, known)
            });
            if let Some(at) = ahead {
                let p = st.pending[at];
                st.pending.drain(..=at);
                st.consume(events, p, false);
                break;
            }
            st.set_exact_prompt(&line[pos..end]);
            set_input(events, i, pos, end, line);
            st.command(content);
            st.pending.clear();
            break;
        }
    }
}

/// A prompt in the middle of a row: output that did not end its line, then the prompt; taken
/// when an `echo`/`printf` printed what precedes it, when the next row starts with a prompt
/// (the command printed nothing), or after binary output.
fn mid_row_prompt<'a>(
    st: &mut Infer<'a>,
    events: &mut [Event],
    i: usize,
    line: &'a str,
    next_is_prompt: bool,
) -> bool {
    if st.exact_prompt.is_empty() {
        return false;
    }
    let Some(at) = st.find_exact_prompt(line).filter(|&at| at > 0) else {
        return false;
    };
    let before = line[..at].trim();
    let printed = st
        .current
        .as_deref()
        .is_some_and(|c| echo_like(c) && c.contains(before));
    let binary = before.chars().any(|c| c == '\u{fffd}' || c.is_control());
    let end = at + st.exact_prompt.len();
    let cmd = line[end..].trim();
    if !(printed || next_is_prompt || (binary && command_like(cmd, &st.known))) {
        return false;
    }
    set_input(events, i, at, end, line);
    st.command(cmd);
    st.pending.clear();
    true
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
        assert_eq!(
            c,
            ["printf '# not a command\\n$ x\\n'", "python3 -q", "exit"]
        );
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

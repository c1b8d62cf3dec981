//! Prompts: where a prompt ends on an input line, what it says (user, host, directory), and
//! which prompts belong to the session's shell rather than to a program it started (a REPL,
//! `read`) — the shell's prompts share a shape once what changes (directory, exit status,
//! time) is taken out.

/// Prompts of continuation lines: bash/ash `> `, zsh `for> `, `heredoc> `, `dquote> `, `cmdand> `.
pub fn is_continuation_prompt(p: &str) -> bool {
    let t = p.trim_end();
    t == ">"
        || (t.ends_with('>')
            && t[..t.len() - 1]
                .split(' ')
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            && t.len() <= 24)
}

/// Whether `c`, followed by a space, ends a prompt (`$ `, `# `, `% `, `> `, `❯ `, `➜ `, `» `,
/// `λ `; a bare `$` or `#` also ends one at the end of the text).
fn ends_prompt(c: char) -> bool {
    matches!(c, '$' | '#' | '%' | '>' | '❯' | '➜' | '»' | 'λ')
}

/// Whether the character before byte `i` (a space) ends a prompt.
fn terminator_before(text: &str, i: usize) -> bool {
    text[..i].chars().next_back().is_some_and(ends_prompt)
}

/// The end (in bytes) of the shortest prefix of `text` that ends with a prompt terminator (see
/// [`ends_prompt`]), found without reading further: most callers want only the shortest, and a
/// prompt ends near the start of its line. Only the spaces are visited (found by `memchr`):
/// walking every character of every output line was 3% of an ingest.
pub fn first_terminator(text: &str) -> Option<usize> {
    memchr::memchr_iter(b' ', text.as_bytes())
        .find(|&i| terminator_before(text, i))
        .map(|i| i + 1)
        .or_else(|| text.ends_with(['$', '#']).then_some(text.len()))
}

/// The ends of every prefix of `text` that ends with a prompt terminator, shortest first, up
/// to byte `max`, read lazily.
pub fn terminators_upto(text: &str, max: usize) -> impl Iterator<Item = usize> + '_ {
    let head = &text.as_bytes()[..text.len().min(max)];
    memchr::memchr_iter(b' ', head)
        .filter(move |&i| terminator_before(text, i))
        .map(|i| i + 1)
        .chain((text.ends_with(['$', '#']) && text.len() <= max).then_some(text.len()))
}

pub fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Splits user, host and working directory out of common prompt shapes.
pub fn prompt_parts(prompt: &str) -> (Option<String>, Option<String>, Option<String>) {
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

/// Whether a prefix looks like a shell prompt rather than output (`$ `, `# `, `user@host:/x# `,
/// `/app # `, `host% `, `> `).
pub fn prompt_like(p: &str) -> bool {
    let body = p
        .trim_end()
        .trim_end_matches(['$', '#', '%', '>'])
        .trim_end();
    body.is_empty()
        || (!body.contains("  ") && body.chars().all(|c| !c.is_control()) && body.len() <= 48)
}

/// A prompt with what changes between prompts of one shell taken out: paths (the working
/// directory), bracketed or parenthesised parts (exit status, virtualenv, git branch, time)
/// and digits. `root@vm:/tmp# ` and `root@vm:~# ` share `root@vm:#`; `>>> `, `sqlite> ` and
/// `read> ` are shapes of their own.
pub fn skeleton(prompt: &str) -> String {
    let mut out = String::new();
    skeleton_into(prompt, &mut out);
    out
}

/// [`skeleton`] into `out` (cleared first): callers comparing the skeletons of many prefixes
/// reuse one buffer (a string allocated per output row was 1% of an ingest).
pub fn skeleton_into(prompt: &str, out: &mut String) {
    out.clear();
    skeleton_walk(prompt, |c| {
        out.push(c);
        true
    });
    out.truncate(out.trim_end().len());
    let lead = out.len() - out.trim_start().len();
    out.drain(..lead);
}

/// Whether `prompt`'s skeleton is `shell` (a skeleton): [`skeleton`] compared as it is made,
/// so that most rows of output, which differ from the shell's prompt in their first
/// characters, are told apart there. Comparing whole skeletons of every prompt-shaped prefix
/// of every row was 2% of an ingest.
pub fn skeleton_is(prompt: &str, shell: &str) -> bool {
    let mut at = 0;
    let mut started = false;
    // Where the run of whitespace being read began in `shell`, and whether it failed to match
    // there: whitespace at the end is trimmed, so it only counts if more follows.
    let mut run: Option<usize> = None;
    let mut run_differs = false;
    let matched = skeleton_walk(prompt, |c| {
        if c.is_whitespace() {
            if !started {
                return true;
            }
            if run.is_none() {
                run = Some(at);
                run_differs = false;
            }
            if !run_differs && shell[at..].starts_with(c) {
                at += c.len_utf8();
            } else {
                run_differs = true;
            }
            return true;
        }
        started = true;
        if run.take().is_some() && run_differs {
            return false;
        }
        if shell[at..].starts_with(c) {
            at += c.len_utf8();
            true
        } else {
            false
        }
    });
    matched && run.unwrap_or(at) == shell.len()
}

/// The characters of `prompt`'s skeleton before its ends are trimmed, handed to `emit` until
/// it returns false; returns whether every one was handed over.
#[inline]
fn skeleton_walk(prompt: &str, mut emit: impl FnMut(char) -> bool) -> bool {
    let mut depth = 0usize;
    let mut in_path = false;
    let mut last_space = false;
    for ch in prompt.trim().chars() {
        match ch {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            '/' | '~' if !in_path => in_path = true,
            c if in_path
                && !(c.is_whitespace() || matches!(c, '#' | '$' | '%' | '>' | ':' | '@')) => {}
            c => {
                in_path = false;
                if !c.is_ascii_digit() && (!c.is_whitespace() || !last_space) {
                    last_space = c == ' ';
                    if !emit(c) {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Whether a prompt has the look of a shell's own: it ends in `$`, `#`, `%`, `❯` or `➜`, and
/// shows a user, host or directory (`user@host`, a path, `host:`), or is bare.
pub fn shell_prompt_shaped(prompt: &str) -> bool {
    let t = prompt.trim_end();
    let Some(last) = t.chars().last() else {
        return false;
    };
    if !matches!(last, '$' | '#' | '%' | '❯' | '➜') {
        return false;
    }
    let body = t[..t.len() - last.len_utf8()].trim_end();
    body.is_empty()
        || body.starts_with("sh-")
        || body.starts_with("bash-")
        || body.contains('@')
        || body.contains('/')
        || body.contains('~')
        || body.ends_with(':')
        || body.starts_with('[')
}

#[cfg(test)]
mod tests {
    /// The character walk the `memchr` versions replaced.
    fn walk(text: &str, max: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev: Option<char> = None;
        for (i, ch) in text.char_indices() {
            if i + 1 > max {
                return out;
            }
            if ch == ' ' && prev.is_some_and(ends_prompt) {
                out.push(i + 1);
            }
            prev = Some(ch);
        }
        if text.ends_with(['$', '#']) && text.len() <= max {
            out.push(text.len());
        }
        out
    }

    #[test]
    fn terminators_are_those_a_character_walk_finds() {
        let parts = ["$", "#", " ", "a", "❯", "➜", "λ", ">", "é", "%", "»", "\t"];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for t in &texts {
                for p in parts {
                    next.push(format!("{t}{p}"));
                }
            }
            texts.extend(next);
            texts.dedup();
        }
        texts.push("root@host:/app# ls -la $ x".into());
        texts.push(format!("{}$ {}", "é".repeat(40), "x # y"));
        for t in &texts {
            for max in [0, 1, 2, 3, 5, 8, 96, usize::MAX] {
                let got: Vec<usize> = terminators_upto(t, max).collect();
                assert_eq!(got, walk(t, max), "{t:?} up to {max}");
            }
            assert_eq!(
                first_terminator(t),
                walk(t, usize::MAX).first().copied(),
                "{t:?}"
            );
        }
    }

    use super::*;

    /// The eager scan the lazy ones replaced, as the reference.
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

    #[test]
    fn the_lazy_terminators_are_the_prefixes() {
        let lines = [
            "",
            "$",
            "#",
            "$ ",
            "root@h:/app# ls -la",
            "/app # \u{1b}[6nps",
            "a$b$ c# d% e> f❯ g➜ h» iλ j",
            "no terminator at all",
            "ends with #",
            "ends with $",
            "❯ ",
            "λ",
            "x>  y",
            "$$ $ ",
            "user@host ~ % echo 'a # b' $",
            "ééé# ü$ ",
        ];
        for line in lines {
            let all = terminator_prefixes(line);
            assert_eq!(first_terminator(line), all.first().copied(), "{line:?}");
            for max in [0, 1, 2, 5, 10, 96, usize::MAX] {
                let upto: Vec<usize> = terminators_upto(line, max).collect();
                let want: Vec<usize> = all.iter().copied().take_while(|&e| e <= max).collect();
                assert_eq!(upto, want, "{line:?} {max}");
            }
        }
    }

    #[test]
    fn skeletons_drop_what_changes() {
        assert_eq!(skeleton("root@vm:/tmp# "), skeleton("root@vm:~# "));
        assert_eq!(skeleton("root@vm /# "), skeleton("root@vm / [2]# "));
        assert_eq!(skeleton("/ # "), skeleton("/usr/local # "));
        assert_eq!(skeleton("(venv) app@box:~/src$ "), skeleton("app@box:~$ "));
        assert_ne!(skeleton("root@vm:/# "), skeleton("sqlite> "));
        assert_ne!(skeleton("vm# "), skeleton("postgres=# "));
        assert_ne!(skeleton("# "), skeleton(">>> "));
        assert_eq!(skeleton("# "), "#");
    }

    #[test]
    fn a_skeleton_compared_as_it_is_made_agrees_with_the_whole_skeleton() {
        // Prompts and rows of output, with brackets, paths, digits, whitespace of every kind
        // at both ends and inside, and non-ASCII text.
        let pieces = [
            "", " ", "  ", "\t", " \t", "\t ", "\u{a0}", "#", "$ ", "% ", "> ", "root", "@", "vm",
            ":", "/tmp", "~", "~/src", "[2]", "(venv)", "{x}", "]", "(", "7", "ü", "❯", "sqlite",
            "a b", "x\ty",
        ];
        let mut prompts = vec![String::new()];
        for a in pieces {
            for b in pieces {
                prompts.push(format!("{a}{b}"));
            }
        }
        for a in &pieces[..12] {
            for b in &pieces[..12] {
                for c in &pieces[..12] {
                    prompts.push(format!("{a}{b}{c}"));
                }
            }
        }
        let shells: Vec<String> = prompts.iter().map(|p| skeleton(p)).collect();
        let mut shells: Vec<&String> = shells.iter().collect();
        shells.sort();
        shells.dedup();
        assert!(shells.len() > 200, "{}", shells.len());
        for p in &prompts {
            let sk = skeleton(p);
            for &shell in &shells {
                assert_eq!(
                    skeleton_is(p, shell),
                    &sk == shell,
                    "{p:?} against {shell:?}"
                );
            }
        }
    }

    #[test]
    fn shell_shaped_prompts() {
        for p in [
            "root@vm:/# ",
            "$ ",
            "# ",
            "/app # ",
            "[ec2-user@ip-10 ~]$ ",
            "vm:~% ",
        ] {
            assert!(shell_prompt_shaped(p), "{p}");
        }
        for p in ["sqlite> ", ">>> ", "read> ", "mysql> ", "postgres=# "] {
            assert!(!shell_prompt_shaped(p), "{p}");
        }
    }
}

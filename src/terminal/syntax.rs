//! Shell syntax, just enough for reconstruction: whether typed lines make a complete command
//! (so a multi-line buffer splits into the commands a shell would run, and a continuation
//! prompt joins only a command that needs more), and whether a line reads like a command.
//!
//! This is a tolerant lexer, not a parser: quotes, backslashes, here-documents, `$(...)`
//! and compound commands (POSIX `for/while/until/if/case/{` and fish `begin/.../end`) are
//! tracked; anything it does not understand counts as complete.

/// Words that open a compound command, and the words that close one (POSIX and fish).
const OPENERS: &[&str] = &[
    "for", "while", "until", "select", "if", "case", "{", "begin", "function", "switch",
];
const CLOSERS: &[&str] = &["done", "fi", "esac", "}", "end"];
/// After these a word is again in command position.
const COMMAND_FOLLOWS: &[&str] = &[
    "then", "do", "else", "elif", "!", "time", "{", "begin", "and", "or", "not",
];

/// Whether a shell would read more lines before running `text`: an open quote, a trailing
/// backslash or `|`/`&&`/`||`, an unfinished compound command, subshell or here-document.
pub fn incomplete(text: &str) -> bool {
    let s = scan(text);
    s.quote.is_some() || s.in_body || s.depth > 0 || s.parens > 0 || s.trailing_op
}

/// Whether the next line of `text` continues a quoted string or a here-document (its leading
/// blanks are the string's own).
pub fn inside_string(text: &str) -> bool {
    let s = scan(text);
    s.quote.is_some() || s.in_body
}

/// Where the lexer is at the end of `text`.
struct Scan {
    quote: Option<char>,
    in_body: bool,
    depth: usize,
    parens: usize,
    trailing_op: bool,
}

fn scan(text: &str) -> Scan {
    let mut quote: Option<char> = None;
    let mut depth = 0usize; // compound commands
    let mut parens = 0usize; // subshells, $( ), $(( ))
    let mut heredocs: Vec<(String, bool)> = Vec::new(); // (delimiter, strip tabs)
    let mut in_body: Option<(String, bool)> = None;
    let mut trailing_op = false;
    for line in text.split('\n') {
        if let Some((delim, strip)) = &in_body {
            let l = if *strip { line.trim_start_matches('\t') } else { line };
            if l == delim {
                in_body = None;
                if !heredocs.is_empty() {
                    in_body = Some(heredocs.remove(0));
                }
            }
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut command_position = quote.is_none();
        let mut escaped_newline = false;
        // The last two characters of code on the line (outside quotes and comments).
        let mut tail = [' ', ' '];
        while i < chars.len() {
            let ch = chars[i];
            if quote.is_none() && !ch.is_whitespace() && ch != '#' {
                tail = [tail[1], ch];
            }
            match quote {
                Some('\'') => {
                    if ch == '\'' {
                        quote = None;
                    }
                    i += 1;
                    continue;
                }
                Some(q) => {
                    if ch == '\\' {
                        if i + 1 == chars.len() {
                            escaped_newline = true;
                        }
                        i += 2;
                        continue;
                    }
                    if ch == q {
                        quote = None;
                    }
                    i += 1;
                    continue;
                }
                None => {}
            }
            match ch {
                '\\' => {
                    if i + 1 == chars.len() {
                        escaped_newline = true;
                    }
                    i += 2;
                    command_position = false;
                }
                '\'' | '"' | '`' => {
                    quote = Some(ch);
                    i += 1;
                    command_position = false;
                }
                '#' if i == 0 || chars[i - 1].is_whitespace() => break, // a comment
                '(' => {
                    parens += 1;
                    i += 1;
                    command_position = true;
                }
                ')' => {
                    parens = parens.saturating_sub(1);
                    i += 1;
                }
                ';' | '&' | '|' => {
                    i += 1;
                    command_position = true;
                }
                '<' if chars.get(i + 1) == Some(&'<') && chars.get(i + 2) != Some(&'<') => {
                    // A here-document: its delimiter word, quotes removed.
                    i += 2;
                    let strip = chars.get(i) == Some(&'-');
                    if strip {
                        i += 1;
                    }
                    while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                        i += 1;
                    }
                    let mut word = String::new();
                    while let Some(&c) = chars.get(i) {
                        if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | ')') {
                            break;
                        }
                        if !matches!(c, '\'' | '"' | '\\') {
                            word.push(c);
                        }
                        i += 1;
                    }
                    if !word.is_empty() {
                        heredocs.push((word, strip));
                    }
                    command_position = false;
                }
                c if c.is_whitespace() => i += 1,
                _ => {
                    let start = i;
                    while i < chars.len()
                        && !chars[i].is_whitespace()
                        && !matches!(chars[i], ';' | '&' | '|' | '(' | ')' | '\'' | '"' | '`')
                    {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    let word: String = chars[start..i.min(chars.len())].iter().collect();
                    if command_position {
                        if OPENERS.contains(&word.as_str()) {
                            depth += 1;
                        } else if CLOSERS.contains(&word.as_str()) {
                            depth = depth.saturating_sub(1);
                        }
                    }
                    command_position = COMMAND_FOLLOWS.contains(&word.as_str());
                }
            }
        }
        trailing_op = quote.is_none() && (escaped_newline || tail[1] == '|' || tail == ['&', '&']);
        if quote.is_none() && !heredocs.is_empty() {
            in_body = Some(heredocs.remove(0));
        }
    }
    Scan {
        quote,
        in_body: in_body.is_some(),
        depth,
        parens,
        trailing_op,
    }
}

/// Shell builtins and common commands: a first word among these reads like a command.
const COMMON: &[&str] = &[
    "alias", "apk", "apt", "apt-get", "awk", "aws", "base64", "basename", "bash", "bc", "bg", "break",
    "bunzip2", "busybox", "bzip2", "cat", "cd", "chgrp", "chmod", "chown", "chroot", "clear", "command",
    "continue", "cp", "crontab", "curl", "cut", "date", "dd", "declare", "df", "diff", "dig", "dirname",
    "dmesg", "dnf", "docker", "du", "echo", "env", "eval", "exec", "exit", "export", "false", "fg",
    "file", "find", "fish", "free", "gawk", "getent", "git", "grep", "gunzip", "gzip", "head",
    "history", "host", "hostname", "id", "ifconfig", "ip", "java", "jobs", "jq", "kill", "killall",
    "kubectl", "less", "ln", "local", "ls", "lsof", "make", "md5sum", "mkdir", "more", "mount", "mv",
    "mysql", "nano", "nc", "netstat", "nl", "node", "nohup", "npm", "nslookup", "od", "openssl",
    "perl", "php", "pip", "pip3", "ping", "pkill", "printenv", "printf", "ps", "psql", "pwd", "python",
    "python3", "read", "readlink", "realpath", "redis-cli", "return", "rm", "rmdir", "rpm", "rsync",
    "ruby", "scp", "screen", "sed", "seq", "service", "set", "sh", "sha256sum", "shift", "sleep",
    "sort", "source", "split", "sqlite3", "ss", "ssh", "stat", "strace", "strings", "su", "sudo",
    "systemctl", "tail", "tar", "tee", "telnet", "test", "time", "timeout", "tmux", "top", "touch",
    "tr", "trap", "true", "type", "ulimit", "umask", "umount", "uname", "unalias", "uniq", "unset",
    "unzip", "uptime", "useradd", "vi", "vim", "wait", "watch", "wc", "wget", "whereis", "which",
    "who", "whoami", "xargs", "yes", "yum", "zcat", "zip", "zsh", ".", "[", "[[",
];

/// Whether a line reads like a shell command: its first word (after variable assignments) is a
/// builtin or common command, one of `known` (first words of this session's commands), a path,
/// or a compound command's keyword.
pub fn command_like(line: &str, known: &[String]) -> bool {
    let mut words = line.split_whitespace();
    let first = loop {
        match words.next() {
            Some(w) if w.contains('=') && !w.starts_with('=') => continue,
            Some(w) => break w,
            None => return false,
        }
    };
    COMMON.contains(&first)
        || OPENERS.contains(&first)
        || known.iter().any(|k| k == first)
        || first.starts_with("./")
        || first.starts_with('/') && first.len() > 1
}

/// The first word of a command line, after variable assignments.
pub fn first_word(line: &str) -> Option<&str> {
    line.split_whitespace()
        .find(|w| !(w.contains('=') && !w.starts_with('=')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_and_incomplete_commands() {
        for done in [
            "echo hi",
            "for i in 1 2; do echo $i; done",
            "cat <<EOF\nline\nEOF",
            "echo 'a\nb'",
            "echo \"$(date)\"",
            "if true; then\n  echo y\nfi",
            "for i in 1 2 3\necho n$i\nend",
            "echo a # it's a comment",
            "cat <<-'X'\n\tbody\n\tX",
            "echo a && echo b",
            "case x in a) echo a;; esac",
        ] {
            assert!(!incomplete(done), "{done:?}");
        }
        for open in [
            "for i in 1 2 3",
            "for i in 1 2 3\ndo echo $i",
            "cat <<EOF",
            "cat <<'SQL' > /tmp/q.sql\nSELECT 1;",
            "echo 'open",
            "echo first \\",
            "ls |",
            "true &&",
            "begin",
            "echo $(date",
            "if true; then",
        ] {
            assert!(incomplete(open), "{open:?}");
        }
    }

    #[test]
    fn command_likeness() {
        let known = vec!["mytool".to_owned()];
        assert!(command_like("echo two", &known));
        assert!(command_like("X=1 ls -la", &known));
        assert!(command_like("mytool --x", &known));
        assert!(command_like("/usr/bin/env", &known));
        assert!(!command_like("two", &known));
        assert!(!command_like("typed ahead", &known));
        assert!(!command_like("", &known));
    }
}

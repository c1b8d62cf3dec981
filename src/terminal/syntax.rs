//! Shell syntax, just enough for reconstruction: whether typed lines make a complete command
//! (so a multi-line buffer splits into the commands a shell would run, and a continuation
//! prompt joins only a command that needs more), and whether a line reads like a command.
//!
//! This is a tolerant lexer, not a parser: quotes, backslashes, here-documents, `$(...)`
//! and compound commands (POSIX `for/while/until/if/case/{` and fish `begin/.../end`) are
//! tracked; anything it does not understand counts as complete.

/// Words that open a compound command, and the words that close one (POSIX and fish).
/// Matched as byte patterns: the lexer asks of every word, and a list compared one entry at a
/// time called `memcmp` for each entry of its length.
fn opener(w: &[u8]) -> bool {
    matches!(
        w,
        b"for"
            | b"while"
            | b"until"
            | b"select"
            | b"if"
            | b"case"
            | b"{"
            | b"begin"
            | b"function"
            | b"switch"
    )
}

fn closer(w: &[u8]) -> bool {
    matches!(w, b"done" | b"fi" | b"esac" | b"}" | b"end")
}

/// After these a word is again in command position.
fn command_follows(w: &[u8]) -> bool {
    matches!(
        w,
        b"then"
            | b"do"
            | b"else"
            | b"elif"
            | b"!"
            | b"time"
            | b"{"
            | b"begin"
            | b"and"
            | b"or"
            | b"not"
    )
}

/// Whether a shell would read more lines before running `text`: an open quote, a trailing
/// backslash or `|`/`&&`/`||`, an unfinished compound command, subshell or here-document.
pub fn incomplete(text: &str) -> bool {
    let mut l = Lexer::default();
    for line in text.split('\n') {
        l.feed(line);
    }
    l.incomplete()
}

/// The lexer, fed one line at a time (so a command read line by line costs one pass). It
/// works on bytes: every character it looks for is ASCII, and UTF-8 never hides an ASCII
/// byte inside another character.
#[derive(Default, Clone)]
pub struct Lexer {
    quote: Option<u8>,
    /// Compound commands open, and subshells / `$(`.
    depth: usize,
    parens: usize,
    /// Here-documents announced on the current line, and the one whose body is being read:
    /// (delimiter, leading tabs stripped).
    heredocs: Vec<(String, bool)>,
    in_body: Option<(String, bool)>,
    trailing_op: bool,
}

impl Lexer {
    /// Whether the lines fed so far need more.
    pub fn incomplete(&self) -> bool {
        self.quote.is_some()
            || self.in_body.is_some()
            || self.depth > 0
            || self.parens > 0
            || self.trailing_op
    }

    /// Whether the next line continues a quoted string or a here-document (its leading blanks
    /// are the string's own).
    pub fn inside_string(&self) -> bool {
        self.quote.is_some() || self.in_body.is_some()
    }

    /// Reads one more line.
    pub fn feed(&mut self, line: &str) {
        if let Some((delim, strip)) = &self.in_body {
            let l = if *strip {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if l == delim {
                self.in_body = (!self.heredocs.is_empty()).then(|| self.heredocs.remove(0));
            }
            return;
        }
        let b = line.as_bytes();
        let mut i = 0;
        let mut command_position = self.quote.is_none();
        let mut escaped_newline = false;
        // The last two bytes of code on the line (outside quotes and comments).
        let mut tail = [b' ', b' '];
        while i < b.len() {
            let ch = b[i];
            if let Some(q) = self.quote {
                if q != b'\'' && ch == b'\\' {
                    escaped_newline = i + 1 == b.len();
                    i += 2;
                    continue;
                }
                if ch == q {
                    self.quote = None;
                }
                i += 1;
                continue;
            }
            if !ch.is_ascii_whitespace() && ch != b'#' {
                tail = [tail[1], ch];
            }
            match ch {
                b'\\' => {
                    escaped_newline = i + 1 == b.len();
                    i += 2;
                    command_position = false;
                }
                b'\'' | b'"' | b'`' => {
                    self.quote = Some(ch);
                    i += 1;
                    command_position = false;
                }
                b'#' if i == 0 || b[i - 1].is_ascii_whitespace() => break, // a comment
                b'(' => {
                    self.parens += 1;
                    i += 1;
                    command_position = true;
                }
                b')' => {
                    self.parens = self.parens.saturating_sub(1);
                    i += 1;
                }
                b';' | b'&' | b'|' => {
                    i += 1;
                    command_position = true;
                }
                b'<' if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                    // A here-document: its delimiter word, quotes removed.
                    i += 2;
                    let strip = b.get(i) == Some(&b'-');
                    if strip {
                        i += 1;
                    }
                    while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
                        i += 1;
                    }
                    let start = i;
                    while let Some(&c) = b.get(i) {
                        if c.is_ascii_whitespace()
                            || matches!(c, b';' | b'&' | b'|' | b'<' | b'>' | b')')
                        {
                            break;
                        }
                        i += 1;
                    }
                    let word: String = line[start..i]
                        .chars()
                        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
                        .collect();
                    if !word.is_empty() {
                        self.heredocs.push((word, strip));
                    }
                    command_position = false;
                }
                c if c.is_ascii_whitespace() => i += 1,
                _ => {
                    let start = i;
                    while i < b.len()
                        && !b[i].is_ascii_whitespace()
                        && !matches!(b[i], b';' | b'&' | b'|' | b'(' | b')' | b'\'' | b'"' | b'`')
                    {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    let word = &b[start..i.min(b.len())];
                    if command_position {
                        if opener(word) {
                            self.depth += 1;
                        } else if closer(word) {
                            self.depth = self.depth.saturating_sub(1);
                        }
                    }
                    command_position = command_follows(word);
                }
            }
        }
        self.trailing_op =
            self.quote.is_none() && (escaped_newline || tail[1] == b'|' || tail == [b'&', b'&']);
        if self.quote.is_none() && !self.heredocs.is_empty() {
            self.in_body = Some(self.heredocs.remove(0));
        }
    }
}

/// Shell builtins and common commands: a first word among these reads like a command. Sorted
/// (bytewise), for a binary search: unmarked rows ask of every line.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    ".", "[", "[[", "alias", "apk", "apt", "apt-get", "awk", "aws", "base64", "basename", "bash",
    "bc", "bg", "break", "bunzip2", "busybox", "bzip2", "cat", "cd", "chgrp", "chmod", "chown",
    "chroot", "clear", "command", "continue", "cp", "crontab", "curl", "cut", "date", "dd",
    "declare", "df", "diff", "dig", "dirname", "dmesg", "dnf", "docker", "du", "echo", "env",
    "eval", "exec", "exit", "export", "false", "fg", "file", "find", "fish", "free", "gawk",
    "getent", "git", "grep", "gunzip", "gzip", "head", "history", "host", "hostname", "id",
    "ifconfig", "ip", "java", "jobs", "jq", "kill", "killall", "kubectl", "less", "ln", "local",
    "ls", "lsof", "make", "md5sum", "mkdir", "more", "mount", "mv", "mysql", "nano", "nc",
    "netstat", "nl", "node", "nohup", "npm", "nslookup", "od", "openssl", "perl", "php", "ping",
    "pip", "pip3", "pkill", "printenv", "printf", "ps", "psql", "pwd", "python", "python3", "read",
    "readlink", "realpath", "redis-cli", "return", "rm", "rmdir", "rpm", "rsync", "ruby", "scp",
    "screen", "sed", "seq", "service", "set", "sh", "sha256sum", "shift", "sleep", "sort", "source",
    "split", "sqlite3", "ss", "ssh", "stat", "strace", "strings", "su", "sudo", "systemctl", "tail",
    "tar", "tee", "telnet", "test", "time", "timeout", "tmux", "top", "touch", "tr", "trap", "true",
    "type", "ulimit", "umask", "umount", "unalias", "uname", "uniq", "unset", "unzip", "uptime",
    "useradd", "vi", "vim", "wait", "watch", "wc", "wget", "whereis", "which", "who", "whoami",
    "xargs", "yes", "yum", "zcat", "zip", "zsh",
];

/// Whether a line reads like a shell command: its first word (after variable assignments) is a
/// builtin or common command, one of `known` (first words of this session's commands), a path,
/// or a compound command's keyword.
pub fn command_like(line: &str, known: &[String]) -> bool {
    let mut words = line.split_whitespace();
    let first = loop {
        match words.next() {
            Some(w) if assignment(w) => continue,
            Some(w) => break w,
            None => return false,
        }
    };
    COMMON.binary_search(&first).is_ok()
        || opener(first.as_bytes())
        || known.iter().any(|k| k == first)
        || first.starts_with("./")
        || first.starts_with('/') && first.len() > 1
        // A line may begin with a redirection (`<in cmd`, `>out`, `2>&1 cmd`).
        || first.starts_with(['<', '>'])
        || first.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with(['<', '>'])
            && first.starts_with(|c: char| c.is_ascii_digit())
}

/// The first word of a command line, after variable assignments.
pub fn first_word(line: &str) -> Option<&str> {
    line.split_whitespace().find(|w| !assignment(w))
}

/// Whether a word is a variable assignment (`NAME=value`): a name of letters, digits and `_`,
/// not starting with a digit, before the first `=`.
/// Read a byte at a time: the first byte that cannot be in a name ends it (most words are not
/// assignments, and looking for `=` first read every word whole).
fn assignment(w: &str) -> bool {
    let b = w.as_bytes();
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return false;
    }
    for &c in &b[1..] {
        if c == b'=' {
            return true;
        }
        if !(c.is_ascii_alphanumeric() || c == b'_') {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_names_before_the_first_equals_sign() {
        let by_split = |w: &str| {
            w.split_once('=').is_some_and(|(name, _)| {
                name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let words = [
            "A=1",
            "_x=",
            "a_b9=c=d",
            "=x",
            "9a=1",
            "a-b=1",
            "ls",
            "",
            "a",
            "PATH=/bin:$PATH",
            "é=1",
            "aé=1",
            "a=é",
            "--opt=x",
            "a b=1",
            "x==",
            "_=",
            "A",
            "a=",
            "ab9_",
        ];
        for w in words {
            assert_eq!(assignment(w), by_split(w), "{w:?}");
        }
    }

    #[test]
    fn common_commands_are_sorted_for_the_binary_search() {
        assert!(
            COMMON.windows(2).all(|w| w[0] < w[1]),
            "COMMON is not sorted"
        );
    }

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
        // Redirections may come first; the report's hostile session types one.
        assert!(command_like("</script><script>x</script>", &known));
        assert!(command_like(
            "</script><script>document.title='PWNED'</script>",
            &known
        ));
        assert!(command_like(">/tmp/out", &known));
        assert!(command_like("2>/dev/null ls", &known));
        assert!(!command_like("2024 was a year", &known));
        assert!(!command_like("typed ahead", &known));
        assert!(!command_like("", &known));
    }
}

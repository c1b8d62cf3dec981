#!/usr/bin/env python3
"""Generate the transcript test set by driving REAL shells on a pseudo-terminal.

For each shell and case, this starts the shell in a PTY, types the case's keystrokes (waiting
for the output to settle after each), and records every byte the PTY writes, the way the SSM
agent records `ipcTempFile.log` (formats.md §4.1). The capture is then wrapped exactly as the
agent does at the end of a session:

    script <sessionId>.log -c "cat <dir>/ipcTempFile.log"

run without a terminal, so the header says `<not executed on terminal>`. The ground truth is
taken from the shell itself, its history file, never from the keystroke script; the script only
says which typed text was abandoned (Ctrl-C) or typed with echo off, so the tests can check
those never appear as executed commands.

    tests/transcripts/generate.py [--out tests/transcripts/cases] [--only SHELL]

Needs bash, zsh and busybox (installed with apt-get when missing and running as root) and
util-linux `script`. dash is not used: Debian builds it without line editing or history, so it
has no ground truth of its own to offer.
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
            body = m.group(1).rstrip("\n")
            entries.append(body.replace("\\\n", "\n"))
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
    missing = [p for p, b in (("zsh", "zsh"), ("busybox", "busybox"), ("bash", "bash")) if not shutil.which(b)]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)
    if not shutil.which("script"):
        sys.exit("util-linux script is needed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--only")
    ap.add_argument("--case")
    args = ap.parse_args()
    ensure_tools()
    work = tempfile.mkdtemp()
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

"""ptyjob.py - runs a command on a pseudo-terminal and types at it, for the terminal
cases of t_run_signals.sh. Prints what the tests compare; exit 1 with a message when
the terminal does not answer as expected (10 s per step).

  ptyjob.py keys CMD...  CMD alone on the terminal (session leader, foreground group):
                         Ctrl-C, Ctrl-\\ and a window-size change, then SIGRTMAX (the
                         fence of tests/progs/sigcount) to CMD's pid. Prints CMD's last
                         line and "exit N" / "signal N".
  ptyjob.py jobs CMD...  an interactive bash runs CMD; Ctrl-Z stops it (bash must say
                         "Stopped"), `fg` continues it, Ctrl-C, then the fence to the
                         job's pid (from `jobs -p`). Prints CMD's last line and bash's $?.
"""
import fcntl
import os
import pty
import re
import select
import shlex
import signal
import struct
import sys
import termios
import time

STEP = 10.0


class Term:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.buf = b""

    def expect(self, pattern, what):
        """Reads until `pattern` (bytes regex) matches what came after the last match."""
        end = time.monotonic() + STEP
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                got = self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return got, m
            left = end - time.monotonic()
            if left <= 0:
                sys.exit("ptyjob: no %s on the terminal; it showed: %r" % (what, self.buf))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    sys.exit("ptyjob: the terminal closed before %s; it showed: %r"
                             % (what, self.buf))
                self.buf += data

    def type(self, data):
        os.write(self.fd, data)


def last_counts(text):
    lines = [l for l in text.decode(errors="replace").splitlines() if "TERM=" in l]
    return lines[-1].strip() if lines else "(no counts)"


def keys(argv):
    t = Term(argv)
    t.expect(rb"ready\r?\n", "ready")
    # The echo of ^C / ^\ comes after the line discipline sent the signal.
    t.type(b"\x03")
    t.expect(rb"\^C", "echo of Ctrl-C")
    t.type(b"\x1c")
    t.expect(rb"\^\\", "echo of Ctrl-\\")
    # Resizing sends SIGWINCH to the foreground group before the ioctl returns.
    fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    os.kill(t.pid, signal.SIGRTMAX)
    out, _ = t.expect(rb"sum=\d+\r?\n", "counts")
    _, st = os.waitpid(t.pid, 0)
    print(last_counts(out))
    print("exit %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st) else "signal %d" % os.WTERMSIG(st))


def jobs(argv):
    env = dict(os.environ, PS1="$ ", TERM="dumb")
    os.environ.update(env)
    t = Term(["bash", "--norc", "--noprofile", "-i"])
    t.type(b"bind 'set enable-bracketed-paste off' 2>/dev/null; echo go\n")
    t.expect(rb"\ngo\r?\n", "bash")
    t.type(shlex.join(argv).encode() + b"\n")
    t.expect(rb"ready\r?\n", "ready")
    t.type(b"\x1a")
    t.expect(rb"Stopped", "bash saying the job stopped")
    t.type(b"jobs -p; echo pid-given\n")
    _, m = t.expect(rb"\n(\d+)\r?\npid-given", "the job's pid")
    pid = int(m.group(1))
    t.type(b"fg\n")
    t.expect(rb"fg\r?\n[^\r\n]*\r?\n", "fg")
    # bash prints the command line before it gives the job the terminal.
    end = time.monotonic() + STEP
    while os.tcgetpgrp(t.fd) != pid:
        if time.monotonic() > end:
            sys.exit("ptyjob: bash never gave the terminal to the job")
        time.sleep(0.01)
    t.type(b"\x03")
    t.expect(rb"\^C", "echo of Ctrl-C")
    os.kill(pid, signal.SIGRTMAX)
    out, _ = t.expect(rb"sum=\d+\r?\n", "counts")
    t.type(b"echo \"rc=$?\"\n")
    _, m = t.expect(rb"\nrc=(\d+)", "the job's status")
    t.type(b"exit\n")
    os.waitpid(t.pid, 0)
    print(last_counts(out))
    print("exit %s" % m.group(1).decode())


if __name__ == "__main__":
    {"keys": keys, "jobs": jobs}[sys.argv[1]](sys.argv[2:])

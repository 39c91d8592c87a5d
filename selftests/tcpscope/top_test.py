#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of `tcpscope top` in a real pseudo-terminal: its output is fed to a minimal
terminal emulator (below) and the visible 80x24 screen must show the exact sockets per state,
transition totals and busiest port of a known workload in a fresh network namespace; it must
fit the screen, follow a resize (SIGWINCH), give the terminal back on Ctrl-Z, q, Ctrl-C,
SIGTERM and a closed stdout. Without a terminal it prints plain blocks and never reads stdin.
Needs root and a kernel with BPF and BTF. Output is KTAP."""

import fcntl
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcpscope_lib import expect_cli_errors, expect_eq, in_netns, ksft_main  # noqa: E402

TCPSCOPE = None  # the agent under test, set by ksft_main()
PORT = 5001  # the listener of the workload, in its own namespace
NCONN = 10
ENTER = b"\x1b[?1049h"
LEAVE = b"\x1b[?25h\x1b[?1049l"
STATES = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
          "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"]
# NCONN connections to one listener, each closed by the server first (server ends in
# TIME_WAIT on PORT, the client goes CLOSE_WAIT -> LAST_ACK -> CLOSE), listener kept open
IDLE_STATES = {s: 0 for s in STATES}
WANT_STATES = dict(IDLE_STATES, TIME_WAIT=NCONN, LISTEN=1)
WANT_TRANSITIONS = {
    ("CLOSE", "LISTEN"): 1,
    ("CLOSE", "SYN_SENT"): NCONN, ("SYN_SENT", "ESTABLISHED"): NCONN,
    ("LISTEN", "SYN_RECV"): NCONN, ("SYN_RECV", "ESTABLISHED"): NCONN,
    ("ESTABLISHED", "FIN_WAIT1"): NCONN, ("FIN_WAIT1", "FIN_WAIT2"): NCONN,
    ("FIN_WAIT2", "TIME_WAIT"): NCONN,
    ("ESTABLISHED", "CLOSE_WAIT"): NCONN, ("CLOSE_WAIT", "LAST_ACK"): NCONN,
    ("LAST_ACK", "CLOSE"): NCONN,
}
PORT_ROW = "%-8d%12d" % (PORT, NCONN)  # LPORT, TIME_WAIT


class Terminal:
    """Just enough of an xterm for what top writes: printable ASCII, CR, LF, cursor
    position (CSI r;c H), erase in display and line (CSI J, CSI K), the alternate screen
    (CSI ?1049 h/l) and cursor visibility (CSI ?25 h/l). Anything else is recorded in
    `unknown`; writing past the right edge or placing the cursor outside the screen is
    counted in `outside` (and flags the frame, which starts at row 1 column 1)."""

    CSI = re.compile(rb"\x1b\[([?]?)([0-9;]*)([@-~])")

    def __init__(self, cols, rows):
        self.cols, self.rows = cols, rows
        self.main, self.alt = self._blank(), self._blank()
        self.alt_active = False
        self.cursor_visible = True
        self.row = self.col = 0
        self.saved = (0, 0)
        self.raw = bytearray()
        self.unknown = []
        self.outside = 0
        self.frame_outside = False
        self._rest = b""

    def _blank(self):
        return [[" "] * self.cols for _ in range(self.rows)]

    @property
    def grid(self):
        return self.alt if self.alt_active else self.main

    def lines(self):
        return ["".join(r).rstrip() for r in self.grid]

    def resize(self, cols, rows):
        def fit(g):
            g = [r[:cols] + [" "] * (cols - len(r)) for r in g[:rows]]
            return g + [[" "] * cols for _ in range(rows - len(g))]
        self.main, self.alt = fit(self.main), fit(self.alt)
        self.cols, self.rows = cols, rows
        self.row, self.col = min(self.row, rows - 1), min(self.col, cols - 1)

    def _off(self):
        self.outside += 1
        self.frame_outside = True

    def _erase(self, row, start, end):
        for c in range(start, end):
            self.grid[row][c] = " "

    def _csi(self, private, params, final):
        nums = [int(p) if p else 0 for p in params.split(";")] if params else []
        if private == "?" and final in "hl" and nums in ([1049], [25]):
            if nums == [25]:
                self.cursor_visible = final == "h"
            elif final == "h":
                self.saved = (self.row, self.col)
                self.alt_active = True
                self.alt = self._blank()
            else:
                self.alt_active = False
                self.row, self.col = self.saved
        elif private == "" and final == "H" and len(nums) <= 2:
            r, c = (nums + [1, 1])[:2] if nums else (1, 1)
            r, c = max(r, 1), max(c, 1)
            if r == 1 and c == 1:
                self.frame_outside = False
            if r > self.rows or c > self.cols:
                self._off()
            self.row, self.col = min(r, self.rows) - 1, min(c, self.cols) - 1
        elif private == "" and final == "J" and nums in ([], [0], [2]):
            if nums == [2]:
                for r in range(self.rows):
                    self._erase(r, 0, self.cols)
            else:
                self._erase(self.row, self.col, self.cols)
                for r in range(self.row + 1, self.rows):
                    self._erase(r, 0, self.cols)
        elif private == "" and final == "K" and nums in ([], [0], [2]):
            self._erase(self.row, 0 if nums == [2] else self.col, self.cols)
        else:
            self.unknown.append("CSI %s%s%s" % (private, params, final))

    def feed(self, data):
        self.raw += data
        data = self._rest + data
        self._rest = b""
        i = 0
        while i < len(data):
            b = data[i]
            if b == 0x1b:
                m = self.CSI.match(data, i)
                if not m:
                    if len(data) - i < 16 and (len(data) - i == 1 or data[i + 1] == ord("[")):
                        self._rest = data[i:]  # the rest of it comes with the next read
                        return
                    self.unknown.append(repr(data[i:i + 8]))
                    i += 1
                    continue
                self._csi(m.group(1).decode(), m.group(2).decode(), m.group(3).decode())
                i = m.end()
            elif b == 0x0d:
                self.col = 0
                i += 1
            elif b == 0x0a:
                if self.row == self.rows - 1:
                    self.grid.pop(0)
                    self.grid.append([" "] * self.cols)
                else:
                    self.row += 1
                i += 1
            elif 0x20 <= b < 0x7f:
                if self.col >= self.cols:
                    self._off()
                else:
                    self.grid[self.row][self.col] = chr(b)
                    self.col += 1
                i += 1
            else:
                self.unknown.append("byte 0x%02x" % b)
                i += 1

    def dump(self):
        return "\n".join("%2d|%s" % (i + 1, line) for i, line in enumerate(self.lines()))


def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def lflag(fd):
    return termios.tcgetattr(fd)[3]


def line_mode(fd):
    """True when the terminal is back in its normal line mode with echo."""
    return lflag(fd) & (termios.ICANON | termios.ECHO) == termios.ICANON | termios.ECHO


class PtyTop:
    """`tcpscope top ARGS` with a pseudo-terminal as controlling terminal, stdin and stdout
    (another one as stdout with `stdout_fd`), stderr to a pipe; what it writes to the
    terminal is fed to a Terminal that tests wait on with a bound."""

    def __init__(self, *args, cols=80, rows=24, stdout_fd=None):
        self.master, self.slave = os.openpty()
        set_winsize(self.master, cols, rows)
        self.term = Terminal(cols, rows)
        self.cond = threading.Condition()
        self.stderr = b""
        self.status = None
        err_r, err_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.master)
                os.close(err_r)
                os.login_tty(os.dup(self.slave))  # new session, this pty as its terminal
                if stdout_fd is not None:
                    os.dup2(stdout_fd, 1)
                os.dup2(err_w, 2)
                os.execv(TCPSCOPE, [TCPSCOPE, "top", *args])
            finally:
                os._exit(127)
        os.close(err_w)
        self._stop = False
        self.readers = [threading.Thread(target=self._read_tty, daemon=True),
                        threading.Thread(target=self._read_err, args=(err_r,), daemon=True)]
        for t in self.readers:
            t.start()

    def _read_tty(self):
        while not self._stop:
            if not select.select([self.master], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            with self.cond:
                self.term.feed(data)
                self.cond.notify_all()

    def _read_err(self, fd):
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            with self.cond:
                self.stderr += data
        os.close(fd)

    def wait_screen(self, pred, what, timeout=10):
        """Waits until pred(term) holds; fails with the screen after timeout seconds."""
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.term), timeout):
                raise AssertionError("timed out after %ss waiting for %s; screen:\n%s\n"
                                     "stderr: %s; exit status: %s" % (
                                         timeout, what, self.term.dump(),
                                         self.stderr.decode(errors="replace"),
                                         self.poll()))

    def poll(self, flags=0):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG | flags)
            if pid and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
                self.status = status
            elif pid:
                return status  # stopped
        return self.status

    def wait_exit(self, timeout=10):
        """The exit code, waited for with a bound (a signal is reported as -SIG)."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("tcpscope top still running %ss later; screen:\n%s" % (
                    timeout, self.term.dump()))
            time.sleep(0.02)
        st = self.status
        return os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st)

    def wait_stopped(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            st = self.poll(os.WUNTRACED)
            if st is not None and os.WIFSTOPPED(st):
                return
            if time.monotonic() > deadline or self.status is not None:
                raise AssertionError("tcpscope top not stopped (status %s)" % st)
            time.sleep(0.02)

    def resize(self, cols, rows):
        with self.cond:
            self.term.resize(cols, rows)
            set_winsize(self.master, cols, rows)

    def close(self):
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = 0
        self._stop = True
        for t in self.readers:
            t.join(5)
        os.close(self.master)
        os.close(self.slave)


# Views of the screen

def table_start(lines):
    for i, line in enumerate(lines):
        if line.startswith("STATE ") and "SOCKETS" in line:
            return i
    return None


def states_shown(term):
    """{state: sockets} of the state rows on screen (left 24 columns)."""
    lines = term.lines()
    start = table_start(lines)
    if start is None:
        return None
    got = {}
    for line in lines[start + 1:start + 1 + len(STATES)]:
        f = line[:24].split()
        if len(f) != 2 or f[0] not in STATES:
            break
        got[f[0]] = int(f[1])
    return got


def transitions_shown(term):
    """{(from, to): total} of the transition rows (from column 25)."""
    lines = term.lines()
    start = table_start(lines)
    got = {}
    for line in lines[start + 1:] if start is not None else []:
        f = line[24:].split()
        if len(f) != 4:
            break
        got[(f[0], f[1])] = int(f[3])
    return got


def port_rows(term):
    """The left halves (LPORT, TIME_WAIT) of the busiest-port rows."""
    lines = term.lines()
    for i, line in enumerate(lines):
        if line.startswith("LPORT "):
            return [r[:24].rstrip() for r in lines[i + 1:] if r[:24].strip()]
    return None


def full_screen(term):
    return term.alt_active and not term.cursor_visible


def drawn(ns):
    """A first frame for this namespace is on the alternate screen."""
    return lambda t: (full_screen(t) and t.lines()[0].startswith(
        "tcpscope top  netns %d  every " % ns.inode) and states_shown(t) is not None)


def restored(term):
    return (not term.alt_active and term.cursor_visible and bytes(term.raw).endswith(LEAVE))


def closes_first(n, closer):
    """n connections to PORT, each closed first by closer ("server" or "client"), whose side
    ends in TIME_WAIT (the server's on PORT, the client's on its ephemeral port); the
    listener stays. The first closer shuts down and closes only after the peer's FIN: an
    orphaned FIN_WAIT2 would become TIME_WAIT inside its timewait socket, a change the kernel
    side may report only when that socket goes (see late_substate() in bpf/tcpscope.bpf.c)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", PORT))
    srv.listen(n)
    other = {"server": "client", "client": "server"}[closer]
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        a, _ = srv.accept()
        first, second = (a, c) if closer == "server" else (c, a)
        first.shutdown(socket.SHUT_WR)
        expect_eq(second.recv(1), b"", "%s sees the %s's FIN" % (other, closer))
        second.close()
        expect_eq(first.recv(1), b"", "%s sees the %s's FIN" % (closer, other))
        first.close()
    return srv


with_ns = in_netns("ttop")


@with_ns
def test_screen_shows_workload_resize_suspend_quit(ns):
    """The exact rows of a known workload on the 80x24 screen; 60x15 after a resize; the
    terminal given back on Ctrl-Z and taken again on SIGCONT; q exits 0 and restores it."""
    top = PtyTop("--netns", ns.path)
    srv = None
    try:
        top.wait_screen(drawn(ns), "the first frame", timeout=60)
        expect_eq(states_shown(top.term), IDLE_STATES, "sockets per state in a fresh netns")
        expect_eq(lflag(top.slave) & (termios.ICANON | termios.ECHO), 0,
                  "ICANON and ECHO while running")
        with ns:
            srv = closes_first(NCONN, "server")
        top.wait_screen(lambda t: (states_shown(t) == WANT_STATES and
                                   transitions_shown(t) == WANT_TRANSITIONS and
                                   port_rows(t) == [PORT_ROW]),
                        "%s, %s and port row %r" % (WANT_STATES, WANT_TRANSITIONS, PORT_ROW))
        tw_cell = [line[:24] for line in top.term.lines() if line.startswith("TIME_WAIT ")][0]
        expect_eq(tw_cell, "%-13s%11d" % ("TIME_WAIT", NCONN), "TIME_WAIT cell")
        expect_eq((top.term.unknown, top.term.outside), ([], 0),
                  "unknown sequences, writes outside 80x24")

        # 60x15: the lines are cut at 60 columns, the states at TIME_WAIT, one port row
        top.resize(60, 15)
        want = {s: WANT_STATES[s] for s in STATES[:6]}
        header = "STATE        SOCKETS    FROM        TO              RATE/s"
        top.wait_screen(lambda t: (not t.frame_outside and states_shown(t) == want and
                                   port_rows(t) == [PORT_ROW] and header in t.lines()),
                        "the 60x15 frame")

        os.write(top.master, b"\x1a")  # Ctrl-Z
        top.wait_stopped()
        top.wait_screen(restored, "the normal screen while stopped")
        expect_eq(line_mode(top.slave), True, "line mode and echo while stopped")
        os.kill(top.pid, signal.SIGCONT)
        top.wait_screen(lambda t: full_screen(t) and port_rows(t) == [PORT_ROW],
                        "the frame again after SIGCONT")
        expect_eq(lflag(top.slave) & (termios.ICANON | termios.ECHO), 0,
                  "ICANON and ECHO after SIGCONT")

        os.write(top.master, b"q")
        expect_eq(top.wait_exit(), 0, "exit code after q")
        top.wait_screen(restored, "the terminal restored after q")
        expect_eq(line_mode(top.slave), True, "line mode and echo after q")
        expect_eq(top.term.unknown, [], "unknown sequences")
    finally:
        top.close()
        if srv:
            srv.close()


@with_ns
def test_client_timewait_on_no_port(ns):
    """Client-side TIME_WAIT sockets sit on ephemeral ports, one each: they count in the
    TIME_WAIT total but never as a busiest port, where only listening ports count."""
    top = PtyTop("--netns", ns.path)
    srv = None
    try:
        top.wait_screen(drawn(ns), "the first frame", timeout=60)
        with ns:
            srv = closes_first(NCONN, "client")
        top.wait_screen(lambda t: (states_shown(t) or {}).get("TIME_WAIT") == NCONN,
                        "%d sockets in TIME_WAIT" % NCONN)
        expect_eq(port_rows(top.term), [], "ports by TIME_WAIT")
        os.write(top.master, b"q")
        expect_eq(top.wait_exit(), 0, "exit code after q")
    finally:
        top.close()
        if srv:
            srv.close()


def ends_and_restores(ns, how):
    top = PtyTop("--netns", ns.path)
    try:
        top.wait_screen(drawn(ns), "the first frame", timeout=60)
        how(top)
        expect_eq(top.wait_exit(), 0, "exit code")
        top.wait_screen(restored, "the terminal restored")
        expect_eq(line_mode(top.slave), True, "line mode and echo")
    finally:
        top.close()


@with_ns
def test_ctrl_c_restores_terminal(ns):
    ends_and_restores(ns, lambda top: os.write(top.master, b"\x03"))


@with_ns
def test_sigterm_restores_terminal(ns):
    ends_and_restores(ns, lambda top: os.kill(top.pid, signal.SIGTERM))


def test_closed_stdout_restores_terminal():
    """stdout on a second terminal that goes away: top ends (exit 0) and gives the first
    one, its keyboard, back its line mode."""
    out_master, out_slave = os.openpty()
    set_winsize(out_master, 80, 24)
    top = PtyTop("--interval", "0.2", stdout_fd=out_slave)
    try:
        os.close(out_slave)
        deadline = time.monotonic() + 60
        seen = b""
        while ENTER not in seen:  # the full screen went to the second terminal
            if time.monotonic() > deadline or top.poll() is not None:
                raise AssertionError("no full screen on stdout: %r; stderr %r" % (
                    seen[-200:], top.stderr))
            if select.select([out_master], [], [], 0.1)[0]:
                seen += os.read(out_master, 65536)
        expect_eq(lflag(top.slave) & (termios.ICANON | termios.ECHO), 0, "keys in raw mode")
        os.close(out_master)
        out_master = None
        expect_eq(top.wait_exit(), 0, "exit code with stdout gone")
        expect_eq(line_mode(top.slave), True, "line mode and echo of stdin")
    finally:
        if out_master is not None:
            os.close(out_master)
        top.close()


def blocks(lines):
    """Plain output split into blocks: each starts with its title line; the blank line
    between two blocks is dropped."""
    out = []
    for line in lines:
        if line.startswith("tcpscope top  "):
            if out and out[-1] and out[-1][-1] == "":
                out[-1].pop()
            out.append([])
        if out:
            out[-1].append(line)
    return out


@with_ns
def test_plain_lines_without_terminal(ns):
    """stdout a pipe, stdin a terminal with a q typed ahead: two plain blocks, no escape
    sequence, exit 0, and the q still unread, the terminal's mode untouched."""
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        os.write(master, b"q\n")
        p = subprocess.run([TCPSCOPE, "top", "--netns", ns.path, "--interval", "0.2",
                            "--count", "2"], stdin=slave, capture_output=True, timeout=60)
        expect_eq(p.returncode, 0, "exit code; stderr %r" % p.stderr)
        if b"\x1b" in p.stdout:
            raise AssertionError("escape sequence in plain output: %r" % p.stdout)
        got = blocks(p.stdout.decode().splitlines())
        expect_eq(len(got), 2, "blocks in %r" % p.stdout)
        for b in got:
            if not b[0].startswith("tcpscope top  netns %d  every 0.2s  up 0:00:0" % ns.inode):
                raise AssertionError("title %r" % b[0])
            start = table_start(b)
            expect_eq(b[start], "STATE        SOCKETS    FROM        TO              RATE/s"
                      "         TOTAL", "table header")
            expect_eq(b[start + 1:start + 11], ["%-12s%8d" % (s, 0) for s in STATES],
                      "state rows")
            expect_eq(b[-1], "LPORT      TIME_WAIT    LPORT     ACCEPTED/s", "ports header")
            if max(len(line) for line in b) > 80:
                raise AssertionError("line over 80 columns in %r" % b)
        expect_eq(termios.tcgetattr(slave), before, "stdin's terminal mode")
        os.set_blocking(slave, False)
        expect_eq(os.read(slave, 16), b"q\n", "the line typed ahead, still unread")
    finally:
        os.close(master)
        os.close(slave)


@with_ns
def test_plain_rates_follow_the_workload(ns):
    """Plain blocks every 0.2 s while the workload runs: exact totals, TIME_WAIT and busiest
    port; each rate is the difference of the totals of two blocks over one elapsed time
    (the same for every row of a block, at least the interval), exactly 0.0 where the
    totals did not move, and the TIME_WAIT entries per second equal FIN_WAIT2 -> TIME_WAIT's.
    The elapsed time is bounded loosely (0.1 to 0.8 s): a loaded host wakes up late."""
    proc = subprocess.Popen([TCPSCOPE, "top", "--netns", ns.path, "--interval", "0.2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, cond = [], threading.Condition()

    def reader():
        for line in proc.stdout:
            with cond:
                out.append(line.rstrip("\n"))
                cond.notify_all()
        with cond:
            cond.notify_all()
    reading = threading.Thread(target=reader, daemon=True)
    reading.start()

    def complete():
        """The blocks printed so far but the last, which may still be coming."""
        return blocks(out)[:-1]

    def wait(pred, what, timeout):
        with cond:
            if not cond.wait_for(lambda: pred(complete()) or proc.poll() is not None,
                                 timeout) or not pred(complete()):
                raise AssertionError("timed out waiting for %s; output:\n%s\nstderr: %s" % (
                    what, "\n".join(out[-40:]),
                    proc.stderr.read() if proc.poll() is not None else ""))

    def rows(b):
        """{(from, to): (rate, total)} of a block."""
        start = table_start(b)
        trans = {}
        for line in b[start + 1:]:
            f = line[24:].split()
            if len(f) != 4:
                break
            trans[(f[0], f[1])] = (f[2], int(f[3]))
        return trans

    def cell(b, label):
        for line in b:
            for i in range(0, len(line), 26):
                if line[i:i + 13].strip() == label:
                    return line[i + 13:i + 24].strip()
        raise AssertionError("no %s in %r" % (label, b))

    srv = None
    try:
        wait(lambda bs: len(bs) >= 1, "the first block", 60)
        with ns:
            srv = closes_first(NCONN, "server")

        def settled(bs):
            return len(bs) >= 2 and all(
                {k: v[1] for k, v in rows(b).items()} == WANT_TRANSITIONS and
                all(v[0] == "0.0" for v in rows(b).values()) for b in bs[-2:])
        wait(settled, "two blocks with every total and all rates 0.0", 15)
        proc.send_signal(signal.SIGINT)
        expect_eq(proc.wait(10), 0, "exit code after SIGINT")
        reading.join(10)
        bs = blocks(out)
        expect_eq(cell(bs[-1], "TIME_WAIT"), str(NCONN), "TIME_WAIT cell")
        expect_eq(bs[-1][-1], PORT_ROW, "busiest port by TIME_WAIT")

        moved = 0
        before = {}
        for b in bs:  # the first block's rates are over the snapshot taken at start
            now, lo, hi = rows(b), 0.0, float("inf")
            for k, (rate, total) in now.items():
                count = total - before.get(k, 0)
                if count == 0:
                    expect_eq(rate, "0.0", "rate of %s without a change" % (k,))
                    continue
                moved += 1
                # the elapsed time this row allows, given the rate's one decimal
                r = float(rate)
                lo = max(lo, count / (r + 0.05))
                hi = min(hi, count / (r - 0.05) if r > 0.05 else float("inf"))
            expect_eq(cell(b, "entered/s"), now.get(("FIN_WAIT2", "TIME_WAIT"), ("0.0",))[0],
                      "TIME_WAIT entered/s and FIN_WAIT2 -> TIME_WAIT")
            if lo > hi or hi < 0.1 or lo > 0.8:
                raise AssertionError("rates over %.3f to %.3f s in block %r" % (lo, hi, b))
            before = {k: v[1] for k, v in now.items()}
        if not moved:
            raise AssertionError("no block saw the workload move")
        if not any(line[24:].split()[:1] == [str(PORT)] for b in bs for line in b
                   if not line.startswith("LPORT")):
            raise AssertionError("port %d never among the busiest by accepted/s" % PORT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if srv:
            srv.close()


def test_cli_errors():
    expect_cli_errors([TCPSCOPE, "top"], [
        (["--interval", "0"], "tcpscope: --interval: must be 0.1 to 3600 seconds (got '0')\n"),
        (["--interval", "3601"], "tcpscope: --interval: must be 0.1 to 3600 seconds"),
        (["--interval", "-1"], "tcpscope: --interval: must be 0.1 to 3600 seconds"),
        (["--interval", "nan"], "tcpscope: --interval: not a number of seconds (got 'nan')\n"),
        (["-i", "abc"], "tcpscope: --interval: not a number of seconds (got 'abc')\n"),
        (["--ports", "0"], "tcpscope: --ports: must be a whole number from 1 to 100 (got '0')\n"),
        (["-n", "101"], "tcpscope: --ports: must be a whole number from 1 to 100"),
        (["-n", "-1"], "tcpscope: --ports: must be a whole number from 1 to 100"),
        (["--count", "0"], "tcpscope: --count: must be a whole number from 1 to"),
        (["-c", "-2"], "tcpscope: --count: must be a whole number from 1 to"),
        (["-c", "18446744073709551616"], "(got '18446744073709551616')"),
        (["--netns", "/nonexistent"],
         "tcpscope: --netns: cannot read the namespace file (got '/nonexistent'): No such"),
        (["--netns", "0"], "tcpscope: --netns: inode must be 1 to 4294967295 (got '0')\n"),
        (["--bogus"], "tcpscope: --bogus: unknown option of top\n"),
    ], stderr_starts="tcpscope: ")


if __name__ == "__main__":
    sys.exit(ksft_main(globals(), needs=[(hasattr(os, "login_tty"),
                                          "needs python 3.11 (os.login_tty)")]))

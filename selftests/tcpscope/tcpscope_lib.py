# SPDX-License-Identifier: GPL-2.0
"""Helpers for tcpscope's host tests: the KTAP runner that finds a test file's cases by
name, network namespaces entered with setns(2), and a running `tcpscope watch --json` whose
events can be waited on with a bound."""

import argparse
import ctypes
import functools
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import traceback

KSFT_PASS, KSFT_FAIL, KSFT_SKIP = 0, 1, 4
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Skip(Exception):
    """The kernel or machine lacks what the test needs (KTAP SKIP, never a pass)."""


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def stop_process(proc, sig=signal.SIGINT, timeout=10):
    """Sends sig to a running proc and waits; kills it if it does not end within timeout
    seconds. Returns its exit code (-SIG when killed)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


class _Entered:
    """`with ns:` runs the body inside the namespace (this thread), and back after."""

    def _open(self):  # a new file descriptor of the namespace
        raise NotImplementedError

    def __enter__(self):
        self._saved.append(os.open("/proc/self/ns/net", os.O_RDONLY))
        fd = self._open()
        try:
            _setns(fd)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        fd = self._saved.pop()
        try:
            _setns(fd)
        finally:
            os.close(fd)


class NetNS(_Entered):
    """A fresh named netns with lo up. `with ns:` runs the body inside it (this thread)."""

    _seq = 0

    def __init__(self, prefix="tsc"):
        NetNS._seq += 1
        self.name = "%s%d_%d" % (prefix, os.getpid(), NetNS._seq)
        self.path = "/run/netns/" + self.name
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        self.inode = os.stat(self.path).st_ino
        self._saved = []

    def _open(self):
        return os.open(self.path, os.O_RDONLY)

    def sysctl(self, key, value):
        sh("ip", "netns", "exec", self.name, "sysctl", "-qw", "%s=%s" % (key, value))

    def ip(self, *args):
        return sh("ip", "-n", self.name, *args)

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)


class AnonNetNS(_Entered):
    """A network namespace with no name: made by unshare(2) in a short-lived thread and held
    only by an open file, so making one costs no process. lo is up. `with ns:` runs the body
    inside it, as with NetNS; close() lets it go."""

    def __init__(self):
        made = {}

        def unshare():
            if _libc.unshare(CLONE_NEWNET) != 0:
                made["errno"] = ctypes.get_errno()
            else:
                made["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        t = threading.Thread(target=unshare)
        t.start()
        t.join()
        if "fd" not in made:
            raise OSError(made["errno"], "unshare(CLONE_NEWNET): " + os.strerror(made["errno"]))
        self.fd = made["fd"]
        self.inode = os.fstat(self.fd).st_ino
        self._saved = []
        with self:
            sh("ip", "link", "set", "lo", "up")

    def _open(self):
        return os.dup(self.fd)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def netns_with_inode(ino, timeout=120):
    """An AnonNetNS that got inode number ino, once the namespace that had it is gone. The
    kernel gives a new namespace (of any type) the lowest free number, but frees a deleted
    network namespace's number only when its cleanup work has run: until then each try gets
    a higher number and is let go at once; one that fills a lower free number is held, so the
    next tries get closer. Fails after timeout seconds, naming what each try got."""
    holes, got = [], []
    deadline = time.monotonic() + timeout
    try:
        while True:
            ns = AnonNetNS()
            got.append(ns.inode)
            if ns.inode == ino:
                return ns
            if ns.inode < ino:
                holes.append(ns)
                continue
            ns.close()
            if time.monotonic() > deadline:
                raise AssertionError("no new namespace got inode %d back within %d s: %d tries "
                                     "got %s" % (ino, timeout, len(got), sorted(set(got))[:20]))
            time.sleep(0.01)  # the deleted namespace's cleanup runs in a workqueue
    finally:
        for ns in holes:
            ns.close()


class Scope:
    """`tcpscope watch --json ARGS...` in the background, events collected as dicts."""

    def __init__(self, binary, *args, ready_timeout=15):
        self.cmd = [binary, "watch", "--json", *args]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events = []
        self.stderr = []
        self.cond = threading.Condition()
        self.ready = False
        self.readers = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.readers:
            t.start()
        with self.cond:
            if not self.cond.wait_for(lambda: self.ready or self.proc.poll() is not None,
                                      ready_timeout):
                self.stop()
                raise AssertionError("tcpscope not ready after %ds" % ready_timeout)
        if not self.ready:
            raise AssertionError("tcpscope exited early: %s" % "".join(self.stderr))

    def _read_out(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()

    def _read_err(self):
        for line in self.proc.stderr:
            with self.cond:
                self.stderr.append(line)
                if line.startswith("Tracing TCP"):
                    self.ready = True
                self.cond.notify_all()

    def wait_for(self, pred, timeout=10, what="condition"):
        """Waits until pred(events) is true; returns the events. Fails after timeout."""
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.events), timeout):
                raise AssertionError("timed out after %ss waiting for %s; events:\n%s" % (
                    timeout, what, "\n".join(json.dumps(e) for e in self.events)))
            return list(self.events)

    def stop(self):
        """Stops tcpscope; returns its exit code once everything it wrote is in events."""
        code = stop_process(self.proc)
        for t in self.readers:  # each ends at its pipe's end
            t.join(10)
        return code


def in_netns(*prefixes):
    """Decorator: the test gets a fresh NetNS per prefix (its name starts with it), all
    deleted after."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper():
            namespaces = []
            try:
                for prefix in prefixes:
                    namespaces.append(NetNS(prefix))
                fn(*namespaces)
            finally:
                for ns in namespaces:
                    ns.delete()
        return wrapper
    return decorate


def keepalive_socket(s, idle, intvl, cnt):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)


VETH_A, VETH_B = "10.200.0.1", "10.200.0.2"


def veth_pair(a_ns, b_ns):
    """A client in a_ns (VETH_A) connected over a veth pair to a listener in b_ns (VETH_B).
    Returns (client, server end, listener)."""
    a_ns.ip("link", "add", "veth_a", "type", "veth", "peer", "name", "veth_b",
            "netns", b_ns.name)
    a_ns.ip("addr", "add", VETH_A + "/24", "dev", "veth_a")
    b_ns.ip("addr", "add", VETH_B + "/24", "dev", "veth_b")
    a_ns.ip("link", "set", "veth_a", "up")
    b_ns.ip("link", "set", "veth_b", "up")
    with b_ns:
        srv = socket.socket()
        srv.bind((VETH_B, 0))
        srv.listen(16)
    with a_ns:
        c = socket.create_connection((VETH_B, srv.getsockname()[1]), timeout=5)
    with b_ns:
        a, _ = srv.accept()
    return c, a, srv


def keepalive_dies(a_ns, b_ns, probes=3):
    """A client in a_ns connected to a server behind a veth in b_ns whose replies are then
    blackholed: the client's keepalive (1 s idle and interval) sends `probes` probes and
    the connection dies with ETIMEDOUT. Returns (client's local port, server end, listener);
    the client is closed."""
    c, a, srv = veth_pair(a_ns, b_ns)
    b_ns.ip("route", "add", "blackhole", VETH_A + "/32")  # the server's ACKs vanish
    with a_ns:
        keepalive_socket(c, 1, 1, probes)
        c.settimeout(30)
        try:
            c.recv(1)
            raise AssertionError("recv returned on a dead connection")
        except OSError as e:  # ETIMEDOUT is a TimeoutError too, with errno set
            expect_eq(e.errno, 110, "errno (ETIMEDOUT, not the 30 s socket timeout)")
        cport = c.getsockname()[1]
        c.close()
    return cport, a, srv


def poll_until(pred, timeout=10, what="condition", interval=0.005):
    """Calls pred() until it returns something true, and returns that; fails after timeout
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


# The kernel's TCP state numbers (include/net/tcp_states.h)
TCP_ESTABLISHED, TCP_FIN_WAIT2, TCP_CLOSE = 1, 5, 7
# struct tcp_info (include/uapi/linux/tcp.h): the fields tcpscope reports, by offset
_TCP_INFO_FIELDS = (("srtt_us", "I", 68), ("total_retrans", "I", 100),
                    ("bytes_acked", "Q", 120), ("bytes_received", "Q", 128),
                    ("segs_out", "I", 136), ("segs_in", "I", 140))


def tcp_info(s):
    """getsockopt(TCP_INFO) of a socket: its state number and the counters a `conn` summary
    carries, under tcpscope's names (tcpi_rtt is srtt_us)."""
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    info = {"state": b[0]}
    for name, fmt, off in _TCP_INFO_FIELDS:
        info[name] = struct.unpack_from("<" + fmt, b, off)[0]
    return info


COUNTERS = [name for name, _, _ in _TCP_INFO_FIELDS]


# The kernel's own counts, in the calling thread's network namespace

SS_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
             "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
             "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "LISTEN": "LISTEN",
             "CLOSING": "CLOSING"}


def tcpext(name):
    """A TcpExt counter (/proc/net/netstat)."""
    with open("/proc/thread-self/net/netstat") as f:
        lines = f.read().splitlines()
    for hdr, val in zip(lines[::2], lines[1::2]):
        if hdr.startswith("TcpExt:"):
            return dict(zip(hdr.split()[1:], map(int, val.split()[1:])))[name]
    raise KeyError(name)


def ss_counts():
    """{state: sockets} as `ss -tan` counts them, with tcpscope's state names."""
    counts = {}
    for line in sh("ss", "-tanH").stdout.splitlines():
        st = SS_STATES[line.split()[0]]
        counts[st] = counts.get(st, 0) + 1
    return counts


def sockstat_tw():
    """The TIME_WAIT sockets /proc/net/sockstat counts ("tw")."""
    with open("/proc/thread-self/net/sockstat") as f:
        tcp = next(line.split() for line in f if line.startswith("TCP:"))
    return int(tcp[tcp.index("tw") + 1])


# Views of an event list


def cookie_of(events, sport, dport):
    """Cookie of the socket whose local port is sport and remote port dport."""
    for e in events:
        if e["sport"] == sport and e["dport"] == dport:
            return e["cookie"]
    raise AssertionError("no events for %d -> %d" % (sport, dport))


def transitions(events, cookie, kinds=("state",)):
    return [(e["old"], e["new"]) for e in events
            if e["cookie"] == cookie and e["event"] in kinds]


def states(events, cookie):
    """The lifecycle path as a list of states: first old state, then each new state."""
    tr = transitions(events, cookie)
    return [tr[0][0]] + [n for _, n in tr] if tr else []


def summary(events, cookie):
    s = [e for e in events if e["cookie"] == cookie and e["event"] == "conn"]
    return s[0] if len(s) == 1 else None


def has_summary(cookie):
    return lambda evs: any(e["cookie"] == cookie and e["event"] == "conn" for e in evs)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def expect_cli_errors(cmd, cases, code=2, stderr_starts=""):
    """Each (args, needle) of cases: `cmd ARGS` exits with code, prints nothing on stdout
    and an error with needle in it on stderr, starting with stderr_starts and free of
    libbpf's messages."""
    for args, needle in cases:
        p = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=10)
        expect_eq(p.returncode, code, "exit code of %s" % args)
        if needle not in p.stderr or not p.stderr.startswith(stderr_starts) or p.stdout:
            raise AssertionError("%s: stderr %r lacks %r (stdout %r)" % (
                args, p.stderr, needle, p.stdout))
        if "libbpf" in p.stderr:
            raise AssertionError("%s: libbpf noise: %r" % (args, p.stderr))


# KTAP runner, after the kernel's tools/testing/selftests/net/lib/py/ksft.py: a test file's
# cases are its functions named test_*, run in the order they are defined and reported
# without the prefix; main() is ksft_main(globals()).

CASE_PREFIX = "test_"


def slow(fn):
    """Marks a case that takes a minute or more: --quick or TCPSCOPE_QUICK=1 skips it."""
    fn.ksft_slow = True
    return fn


class _Terminated(BaseException):
    """SIGTERM (the kselftest runner's timeout): the running case cleans up and fails, the
    rest are not run."""


def _terminate(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
    raise _Terminated()


def _cases(globs, names):
    cases = [(key[len(CASE_PREFIX):], fn) for key, fn in globs.items()
             if key.startswith(CASE_PREFIX) and callable(fn)]
    unknown = set(names) - {name for name, _ in cases}
    if unknown:
        raise SystemExit("no such test case: %s" % ", ".join(sorted(unknown)))
    return [(name, fn) for name, fn in cases if not names or name in names]


def ksft_main(globs, needs=()):
    """Runs a test file's cases as one KTAP test program. Its arguments: --tcpscope BINARY
    (the agent under test, set as the file's TCPSCOPE), --quick, and optionally the names of
    the cases to run. needs: (condition, reason) pairs besides root; when one is false,
    nothing runs and the program skips with that reason. Returns the exit status: 0, 1 when
    a case failed, 4 when all were skipped."""
    ap = argparse.ArgumentParser(description=globs.get("__doc__"))
    ap.add_argument("--tcpscope", required=True, help="the tcpscope binary under test")
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("TCPSCOPE_QUICK", "") not in ("", "0"),
                    help="skip the slow cases (also TCPSCOPE_QUICK=1)")
    ap.add_argument("cases", nargs="*", help="run only these cases")
    opts = ap.parse_args()
    globs["TCPSCOPE"] = os.path.abspath(opts.tcpscope)
    cases = _cases(globs, opts.cases)
    needs = [(os.geteuid() == 0, "needs root"),
             (os.access(globs["TCPSCOPE"], os.X_OK),
              "no tcpscope binary at %s (set TCPSCOPE)" % globs["TCPSCOPE"]), *needs]
    for ok, reason in needs:
        if not ok:
            print("TAP version 13\n1..0 # SKIP %s" % reason, flush=True)
            return KSFT_SKIP
    return run(cases, opts.quick)


def run(cases, quick=False):
    """cases: list of (name, fn). Prints KTAP and the closing 'N passed, N failed' line."""
    print("TAP version 13")
    print("1..%d" % len(cases), flush=True)
    passed = failed = skipped = 0
    prev_sigterm = signal.signal(signal.SIGTERM, _terminate)
    try:
        for i, (name, fn) in enumerate(cases, 1):
            start = time.monotonic()
            try:
                if quick and getattr(fn, "ksft_slow", False):
                    raise Skip("slow: left out with --quick (TCPSCOPE_QUICK=1)")
                fn()
            except Skip as e:
                skipped += 1
                print("ok %d %s # SKIP %s" % (i, name, e), flush=True)
                continue
            except (Exception, _Terminated) as e:
                failed += 1
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
                print("not ok %d %s" % (i, name), flush=True)
                if isinstance(e, _Terminated):
                    print("# terminated: %d cases not run" % (len(cases) - i), flush=True)
                    break
                continue
            passed += 1
            print("ok %d %s # %.1fs" % (i, name, time.monotonic() - start), flush=True)
    finally:
        signal.signal(signal.SIGTERM, prev_sigterm)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0" % (passed, failed, skipped))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    if failed:
        return KSFT_FAIL
    return KSFT_SKIP if skipped and not passed else KSFT_PASS

# SPDX-License-Identifier: GPL-2.0
"""Helpers for tcpscope's host tests: KTAP output, network namespaces entered with setns(2),
and a running `tcpscope watch --json` whose events can be waited on with a bound."""

import ctypes
import json
import os
import signal
import socket
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


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


class NetNS:
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

    def __enter__(self):
        self._saved.append(os.open("/proc/self/ns/net", os.O_RDONLY))
        fd = os.open(self.path, os.O_RDONLY)
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

    def sysctl(self, key, value):
        sh("ip", "netns", "exec", self.name, "sysctl", "-qw", "%s=%s" % (key, value))

    def ip(self, *args):
        return sh("ip", "-n", self.name, *args)

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)


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
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0)  # let reader threads drain
        return self.proc.returncode


def in_netns(prefix):
    """Decorator: the test gets a fresh NetNS (its name starts with prefix), deleted after."""
    def decorate(fn):
        def wrapper():
            ns = NetNS(prefix)
            try:
                fn(ns)
            finally:
                ns.delete()
        wrapper.__name__ = fn.__name__
        return wrapper
    return decorate


def keepalive_socket(s, idle, intvl, cnt):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)


def keepalive_dies(a_ns, b_ns, probes=3):
    """A client in a_ns connected to a server behind a veth in b_ns whose replies are then
    blackholed: the client's keepalive (1 s idle and interval) sends `probes` probes and
    the connection dies with ETIMEDOUT. Returns (client's local port, server end, listener);
    the client is closed."""
    a_ns.ip("link", "add", "veth_a", "type", "veth", "peer", "name", "veth_b",
            "netns", b_ns.name)
    a_ns.ip("addr", "add", "10.200.0.1/24", "dev", "veth_a")
    b_ns.ip("addr", "add", "10.200.0.2/24", "dev", "veth_b")
    a_ns.ip("link", "set", "veth_a", "up")
    b_ns.ip("link", "set", "veth_b", "up")
    with b_ns:
        srv = socket.socket()
        srv.bind(("10.200.0.2", 0))
        srv.listen(16)
    with a_ns:
        c = socket.create_connection(("10.200.0.2", srv.getsockname()[1]), timeout=5)
    with b_ns:
        a, _ = srv.accept()
    b_ns.ip("route", "add", "blackhole", "10.200.0.1/32")  # the server's ACKs vanish
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


# Views of an event list

def tcpext(name):
    """A TcpExt counter of the calling thread's network namespace (/proc/net/netstat)."""
    with open("/proc/thread-self/net/netstat") as f:
        lines = f.read().splitlines()
    for hdr, val in zip(lines[::2], lines[1::2]):
        if hdr.startswith("TcpExt:"):
            return dict(zip(hdr.split()[1:], map(int, val.split()[1:])))[name]
    raise KeyError(name)


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


# KTAP runner

def run(tests):
    """tests: list of (name, fn). Prints KTAP and the closing 'N passed, N failed' line."""
    print("TAP version 13")
    print("1..%d" % len(tests), flush=True)
    passed = failed = skipped = 0
    for i, (name, fn) in enumerate(tests, 1):
        start = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("ok %d %s # SKIP %s" % (i, name, e), flush=True)
            continue
        except Exception:
            failed += 1
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            print("not ok %d %s" % (i, name), flush=True)
            continue
        passed += 1
        print("ok %d %s # %.1fs" % (i, name, time.monotonic() - start), flush=True)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0" % (passed, failed, skipped))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    if failed:
        return KSFT_FAIL
    return KSFT_SKIP if skipped and not passed else KSFT_PASS

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of `tcpscope stats` and `serve`, the in-kernel aggregates: state gauges equal to
`ss -tan` and /proc/net/sockstat (sockets made before the agent started included), exact
transition counts for one connection, a known time in ESTABLISHED in the right histogram
bucket, Prometheus text that promtool accepts, a real Prometheus server scraping
`tcpscope serve` while clients misbehave, and --netns not counting a later namespace that
got the deleted one's inode number. Each workload runs in a fresh network namespace.
Needs root and a kernel with BPF and BTF. Output is KTAP."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcpscope_lib import (NetNS, Skip, expect_cli_errors, expect_eq, in_netns,  # noqa: E402
                          keepalive_dies, ksft_main, netns_with_inode, sh, sockstat_tw,
                          ss_counts, stop_process, tcpext)

TCPSCOPE = None  # the agent under test, set by ksft_main()


class Stats:
    """`tcpscope stats --json --interval 0.2 ARGS...` in the background: its snapshots."""

    def __init__(self, *args, ready_timeout=30):
        self.proc = subprocess.Popen([TCPSCOPE, "stats", "--json", "--interval", "0.2", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.snaps = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(lambda s: True, ready_timeout, "the first snapshot")

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.snaps.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pred, timeout=10, what="condition"):
        """Waits for a snapshot taken from now on that satisfies pred; returns it."""
        with self.cond:
            start = len(self.snaps)
            ok = self.cond.wait_for(lambda: any(pred(s) for s in self.snaps[start:]) or
                                    self.proc.poll() is not None, timeout)
            hits = [s for s in self.snaps[start:] if pred(s)]
            if not ok or not hits:
                last = self.snaps[-1] if self.snaps else None
                raise AssertionError("timed out after %ss waiting for %s; last snapshot: %s%s" % (
                    timeout, what, json.dumps(last),
                    "; stderr: " + self.proc.stderr.read() if self.proc.poll() is not None else ""))
            return hits[0]

    def stop(self):
        return stop_process(self.proc)


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def pair(srv):
    c = socket.create_connection(srv.getsockname(), timeout=5)
    a, _ = srv.accept()
    return c, a


def active_close(c, a):
    """The client closes first and ends in TIME_WAIT (not orphaned: it shut down first)."""
    c.shutdown(socket.SHUT_WR)
    expect_eq(a.recv(1), b"", "server sees the client's FIN")
    a.close()
    expect_eq(c.recv(1), b"", "client sees the server's FIN")
    c.close()


def nonzero(d):
    return {k: v for k, v in d.items() if v}


with_ns = in_netns("tss")


@with_ns
def test_gauges_equal_ss_with_sockets_from_before_start(ns):
    keep = []
    with ns:
        srv = listener()
        a_c, a_s = pair(srv)                      # 2 ESTABLISHED, closed later
        b_c, b_s = pair(srv)
        b_c.shutdown(socket.SHUT_WR)              # FIN_WAIT2 + CLOSE_WAIT
        b_s.recv(1)
        for _ in range(3):                        # 3 TIME_WAIT
            active_close(*pair(srv))
        keep += [srv, b_c, b_s]
    stats = Stats("--netns", ns.path)
    try:
        with ns:
            keep += pair(srv)                     # 2 more ESTABLISHED
            active_close(a_c, a_s)                # a made-before pair goes to TIME_WAIT
        want = {"LISTEN": 1, "ESTABLISHED": 2, "FIN_WAIT2": 1, "CLOSE_WAIT": 1, "TIME_WAIT": 4}
        snap = stats.wait_for(lambda s: nonzero(s["sockets"]) == want, what="gauges %s" % want)
        with ns:
            expect_eq(ss_counts(), want, "ss -tan")
            expect_eq(sockstat_tw(), 4, "sockstat tw")
        expect_eq(snap["timewait"]["entered"], 1, "TIME_WAIT entered since start")
        if snap["agent"]["seeded"] < 8:
            raise AssertionError("only %d sockets seeded" % snap["agent"]["seeded"])
    finally:
        stats.stop()
        for s in keep:
            s.close()


def test_netns_inode_reused_after_delete():
    """--netns: once the namespace is deleted, the kernel hands its inode number to the next
    one made; that one's sockets are not counted as the deleted one's."""
    old = NetNS("tsg")
    ino = old.inode
    stats = Stats("--netns", old.path)
    new = None
    keep = []
    try:
        old.delete()
        new = netns_with_inode(ino)
        with new:
            srv = listener()
            keep += [srv, *pair(srv)]
            want = {"LISTEN": 1, "ESTABLISHED": 2}
            expect_eq(ss_counts(), want, "ss -tan in the namespace with inode %d" % ino)
        stats.wait_for(lambda s: True, what="a snapshot")
        snap = stats.wait_for(lambda s: True, what="a snapshot after the sockets")
        expect_eq(nonzero(snap["sockets"]), {}, "gauges of the deleted namespace")
    finally:
        stats.stop()
        for s in keep:
            s.close()
        if new:
            new.close()


@with_ns
def test_transitions_of_one_connection(ns):
    stats = Stats("--netns", ns.path)
    try:
        with ns:
            srv = listener()
            active_close(*pair(srv))
        want = {("CLOSE", "LISTEN"): 1, ("CLOSE", "SYN_SENT"): 1,
                ("SYN_SENT", "ESTABLISHED"): 1, ("LISTEN", "SYN_RECV"): 1,
                ("SYN_RECV", "ESTABLISHED"): 1, ("ESTABLISHED", "FIN_WAIT1"): 1,
                ("FIN_WAIT1", "FIN_WAIT2"): 1, ("FIN_WAIT2", "TIME_WAIT"): 1,
                ("ESTABLISHED", "CLOSE_WAIT"): 1, ("CLOSE_WAIT", "LAST_ACK"): 1,
                ("LAST_ACK", "CLOSE"): 1}

        def got(s):
            return {(t["from"], t["to"]): t["count"] for t in s["transitions"]}
        snap = stats.wait_for(lambda s: got(s) == want and s["connections"], what="transitions")
        # the server's connection has ended; the client's ends when its TIME_WAIT does
        expect_eq(snap["connections"], [{"open": "passive", "close": "passive", "count": 1}],
                  "closed connections")
        expect_eq((snap["timewait"]["entered"], snap["sockets"]["TIME_WAIT"]), (1, 1),
                  "TIME_WAIT entered, now")
        srv.close()
    finally:
        stats.stop()


@with_ns
def test_held_established_lands_in_its_bucket(ns):
    """Both ends held in ESTABLISHED for 1.5 s: the log2 bucket [1.048576, 2.097152) s,
    with room on both sides for a loaded machine."""
    stats = Stats("--netns", ns.path)
    try:
        with ns:
            srv = listener()
            c, a = pair(srv)
            time.sleep(1.5)  # the workload: a connection idle in ESTABLISHED
            active_close(c, a)
            srv.close()

        def est(s):
            return s["time_in_state"].get("ESTABLISHED", {"count": 0})
        snap = stats.wait_for(lambda s: est(s)["count"] == 2, what="two ESTABLISHED durations")
        expect_eq(est(snap)["buckets"], [{"le_us": 2097152, "count": 2}], "ESTABLISHED buckets")
        if not 3.0 <= est(snap)["sum_s"] <= 3.4:
            raise AssertionError("ESTABLISHED sum %.3f s, want about 3" % est(snap)["sum_s"])
    finally:
        stats.stop()


@in_netns("tsa", "tsb")
def test_keepalive_kill_counted(a_ns, b_ns):
    """Three unanswered keepalive probes kill a connection: probes as many as the kernel's
    own TcpExtTCPKeepAlive of that namespace says it sent (3), kills 1, one connection
    closed active/keepalive_timeout."""
    stats = Stats("--netns", a_ns.path)
    try:
        _, a, srv = keepalive_dies(a_ns, b_ns)
        with a_ns:
            sent = tcpext("TCPKeepAlive")
        snap = stats.wait_for(lambda s: s["keepalive_kills"] == 1, what="a keepalive kill")
        expect_eq((sent, snap["keepalive_probes"], snap["connections"]),
                  (3, 3, [{"open": "active", "close": "keepalive_timeout", "count": 1}]),
                  "probes the kernel sent, probes counted, closed connections")
        a.close()
        srv.close()
    finally:
        stats.stop()


@with_ns
def test_prometheus_text_passes_promtool(ns):
    promtool = shutil.which("promtool")
    if not promtool:
        raise Skip("promtool not installed (Debian package prometheus)")
    with ns:
        srv = listener()
        c, a = pair(srv)
        out = sh(TCPSCOPE, "stats", "--prometheus", "--per-netns", "--interval", "0.2",
                 "--count", "1").stdout
        c.close()
        a.close()
        srv.close()
    p = subprocess.run([promtool, "check", "metrics"], input=out, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("promtool check metrics: %s%s" % (p.stdout, p.stderr))
    line = 'tcpscope_sockets{netns="%d",state="ESTABLISHED"} 2' % ns.inode
    if line not in out.splitlines():
        raise AssertionError("no line %r in:\n%s" % (line, out))


@with_ns
def test_prometheus_snapshots_are_one_exposition(ns):
    """`--prometheus -c 2`: HELP and TYPE once, every sample timestamped; promtool accepts."""
    promtool = shutil.which("promtool")
    if not promtool:
        raise Skip("promtool not installed (Debian package prometheus)")
    with ns:
        srv = listener()
        c, a = pair(srv)
        before = int(time.time() * 1000)
        out = sh(TCPSCOPE, "stats", "--prometheus", "--per-netns", "-i", "0.2", "-c", "2").stdout
        after = int(time.time() * 1000)
        c.close()
        a.close()
        srv.close()
    p = subprocess.run([promtool, "check", "metrics"], input=out, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("promtool check metrics: %s%s" % (p.stdout, p.stderr))
    lines = out.splitlines()
    expect_eq(sum(x.startswith("# HELP tcpscope_sockets ") for x in lines), 1, "HELP lines")
    est = [x.split() for x in lines
           if x.startswith('tcpscope_sockets{netns="%d",state="ESTABLISHED"} ' % ns.inode)]
    expect_eq([x[1] for x in est], ["2", "2"], "two samples of ESTABLISHED")
    stamps = [int(x[2]) for x in est]
    if not (before <= stamps[0] < stamps[1] <= after):
        raise AssertionError("timestamps %s not within [%d, %d]" % (stamps, before, after))
    samples = [x for x in lines if not x.startswith("#")]
    expect_eq(all(len(x.rsplit(" ", 2)) == 3 and x.rsplit(" ", 1)[1].isdigit()
                  for x in samples), True, "every sample timestamped")


def test_write_error_exits_1():
    """stdout on /dev/full: the error on stderr and exit 1 (a closed pipe is a normal end)."""
    with open("/dev/full", "w") as full:
        p = subprocess.run([TCPSCOPE, "stats", "-i", "0.1", "-c", "1"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    expect_eq((p.returncode, p.stderr),
              (1, "tcpscope: failed to write standard output: No space left on device\n"),
              "stats into /dev/full")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """(status, body) of a GET; (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def wait_http(url, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = http_get(url)
        if status == 200:
            return body
        time.sleep(0.1)
    raise AssertionError("%s: no 200 from %s within %ds (last: %s %s)" % (what, url, timeout,
                                                                         status, body))


def raw_http(port, data, shut=True):
    """Sends data as is and returns the status line of the answer ('' if none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return s.makefile("rb").readline().decode().strip()


class Serve:
    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen([TCPSCOPE, "serve", "--listen", "127.0.0.1:%d" % self.port,
                                      *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        wait_http("http://127.0.0.1:%d/healthz" % self.port, "tcpscope serve")

    def stop(self):
        return stop_process(self.proc)


def test_serve_idle_connections_cannot_starve_scrapes():
    """64 connections held open without a request (the limit) and 64 more: every scrape
    still gets 200 at once, each new client closing the oldest idle one."""
    serve = Serve()
    idle = []
    try:
        for i in range(128):
            s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\n")  # half a request is idle too
            idle.append(s)
        for _ in range(5):
            start = time.monotonic()
            status, body = http_get("http://127.0.0.1:%d/metrics" % serve.port)
            expect_eq((status, "tcpscope_http_rejected_total" in body), (200, True), "scrape")
            if time.monotonic() - start > 2:
                raise AssertionError("scrape took %.1fs" % (time.monotonic() - start))
        # the oldest were closed, in accept order: the 64 beyond the limit, then one per
        # scrape that came while the last one's connection was still open (at least one)
        closed = []
        for s in idle:
            s.settimeout(0.0)
            try:
                closed.append(s.recv(1) == b"")
            except BlockingIOError:
                closed.append(False)
            except ConnectionResetError:
                closed.append(True)
        n = sum(closed)
        expect_eq(closed, [True] * n + [False] * (128 - n), "the oldest closed first")
        if not 65 <= n <= 69:
            raise AssertionError("%d idle connections closed, want 65 to 69" % n)
    finally:
        for s in idle:
            s.close()
        expect_eq(serve.stop(), 0, "exit code of tcpscope serve after SIGINT")


class Prometheus:
    """Debian's prometheus scraping one target every second, storage in a temp dir, with
    deploy/'s recording and alerting rules evaluated every second."""

    RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcpscope-rules.yml")

    def __init__(self, target):
        binary = shutil.which("prometheus")
        if not binary:
            raise Skip("prometheus not installed (Debian package prometheus)")
        self.dir = tempfile.mkdtemp(prefix="tcpscope-prom.")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\nrule_files: ['%s']\n"
                    "scrape_configs:\n  - job_name: tcpscope\n    static_configs:\n"
                    "      - targets: ['%s']\n" % (self.RULES, target))
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--config.file", os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path", os.path.join(self.dir, "data"),
             "--web.listen-address", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_http("http://127.0.0.1:%d/-/ready" % self.port, "prometheus", timeout=60)

    def query(self, q):
        """The instant vector's values, keyed by the series' labels."""
        status, body = http_get("http://127.0.0.1:%d/api/v1/query?query=%s" % (
            self.port, urllib.parse.quote(q)))
        if status != 200:
            raise AssertionError("query %s: %s %s" % (q, status, body))
        return {json.dumps(r["metric"], sort_keys=True): r["value"][1]
                for r in json.loads(body)["data"]["result"]}

    def wait_value(self, q, want, timeout=30):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = list(self.query(q).values())
            if got == [want]:
                return
            time.sleep(0.2)
        raise AssertionError("prometheus: %s = %s after %ds, want [%r]" % (q, got, timeout, want))

    def stop(self):
        stop_process(self.proc, signal.SIGTERM, timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@with_ns
def test_serve_scraped_by_real_prometheus(ns):
    """Five active closes in a fresh netns with tcp_max_tw_buckets 6: Prometheus, scraping
    every second, reads tcpscope_timewait_entered_total of that netns as exactly 5, its
    limit as 6 and deploy/'s recorded TIME_WAIT usage as 5/6, while a slow client holds a
    half-sent request open and another sends garbage."""
    serve = Serve("--per-netns")
    prom = None
    try:
        prom = Prometheus("127.0.0.1:%d" % serve.port)
        prom.wait_value('up{job="tcpscope"}', "1")
        slow = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the end
        expect_eq(raw_http(serve.port, b"\x16\x03\x01garbage\r\n\r\n"),
                  "HTTP/1.1 400 Bad Request", "answer to garbage")
        with ns:
            with open("/proc/sys/net/ipv4/tcp_max_tw_buckets", "w") as f:
                f.write("6")
            srv = listener()
            for _ in range(5):
                active_close(*pair(srv))
            srv.close()
        prom.wait_value('tcpscope_timewait_entered_total{netns="%d"}' % ns.inode, "5")
        prom.wait_value('tcpscope_timewait_limit{netns="%d"}' % ns.inode, "6")
        prom.wait_value('instance:tcpscope_timewait_usage:ratio{netns="%d"}' % ns.inode,
                        repr(5 / 6))
        prom.wait_value('tcpscope_sockets{netns="%d",state="TIME_WAIT"}' % ns.inode, "5")
        prom.wait_value('tcpscope_transitions_total{netns="%d",from="FIN_WAIT2",'
                        'to="TIME_WAIT"}' % ns.inode, "5")
        prom.wait_value('up{job="tcpscope"}', "1")
        slow.close()
        status, body = http_get("http://127.0.0.1:%d/metrics" % serve.port)
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True)
        if status != 200 or p.returncode != 0:
            raise AssertionError("/metrics %s; promtool: %s%s" % (status, p.stdout, p.stderr))
    finally:
        if prom:
            prom.stop()
        expect_eq(serve.stop(), 0, "exit code of tcpscope serve after SIGINT")


def test_serve_errors():
    """Bad --listen and a port in use fail with a clear error and change nothing: the server
    already there keeps serving; bad requests get their HTTP status."""
    for arg, needle in [("", "empty"), ("127.0.0.1", "missing ':PORT'"),
                        ("127.0.0.1:0", "'0' is not a port"),
                        ("127.0.0.1:65536", "'65536' is not a port"),
                        ("1.2.3:80", "not a numeric IPv4"), ("::1:80", "needs brackets"),
                        ("localhost:80", "not resolved"), ("127.0.0.1:http", "'http' is not")]:
        p = subprocess.run([TCPSCOPE, "serve", "--listen", arg], capture_output=True, text=True,
                           timeout=10)
        expect_eq(p.returncode, 2, "exit code of --listen %r" % arg)
        if needle not in p.stderr:
            raise AssertionError("--listen %r: stderr %r lacks %r" % (arg, p.stderr, needle))
    serve = Serve()
    try:
        p = subprocess.run([TCPSCOPE, "serve", "--listen", "127.0.0.1:%d" % serve.port],
                           capture_output=True, text=True, timeout=30)
        expect_eq(p.returncode, 1, "exit code with the port in use")
        expect_eq(p.stderr.strip(), "tcpscope: failed to listen on 127.0.0.1:%d: Address "
                  "already in use" % serve.port, "port in use")
        for req, want in [(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
                          (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                           "405 Method Not Allowed"),
                          (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
                           "405 Method Not Allowed"),
                          (b"DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n",
                           "405 Method Not Allowed"),
                          (b"BLAH\r\n\r\n", "400 Bad Request"),
                          (b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 9000 + b"\r\n\r\n",
                           "431 Request Header Fields Too Large")]:
            expect_eq(raw_http(serve.port, req, shut=False), "HTTP/1.1 " + want,
                      "answer to %r" % req[:30])
        status, body = http_get("http://127.0.0.1:%d/metrics" % serve.port)
        expect_eq((status, "tcpscope_sockets{" in body), (200, True), "metrics after all that")
    finally:
        expect_eq(serve.stop(), 0, "exit code of tcpscope serve after SIGINT")


def test_cli_errors():
    expect_cli_errors([TCPSCOPE], [
        (["stats", "--interval", "0"],
         "tcpscope: --interval: must be 0.1 to 86400 seconds (got '0')\n"),
        (["stats", "--interval", "-1"], "tcpscope: --interval: must be 0.1 to 86400 seconds"),
        (["stats", "--interval", "nan"],
         "tcpscope: --interval: not a number of seconds (got 'nan')\n"),
        (["stats", "--interval", "abc"],
         "tcpscope: --interval: not a number of seconds (got 'abc')\n"),
        (["stats", "--count", "0"],
         "tcpscope: --count: must be a whole number from 1 to 18446744073709551615 (got '0')\n"),
        (["stats", "-c", "-3"], "tcpscope: --count: must be a whole number"),
        (["stats", "-c", "18446744073709551616"], "(got '18446744073709551616')"),
        (["stats", "--json", "--prometheus"],
         "tcpscope: --json and --prometheus exclude each other\n"),
        (["stats", "--per-netns"], "tcpscope: --per-netns needs --prometheus\n"),
        (["stats", "--prometheus", "--netns", "1"], "tcpscope: --netns applies"),
        (["stats", "--netns", "/nonexistent"],
         "tcpscope: --netns: cannot read the namespace file (got '/nonexistent'): No such file"),
        (["stats", "--netns", "/etc/passwd"],
         "tcpscope: --netns: not a namespace file (got '/etc/passwd')\n"),
        (["stats", "--netns", "/run/netns"],
         "tcpscope: --netns: not a namespace file (got '/run/netns')\n"),
        (["stats", "--netns", "/proc/self/ns/pid"],
         "tcpscope: --netns: not a network namespace but a pid namespace"),
    ], stderr_starts="tcpscope: ")


if __name__ == "__main__":
    sys.exit(ksft_main(globals()))

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What observing costs: the loopback churn (build/churn) under no observer, `tcpscope stats`,
`tcpscope watch --json`, bcc's tcpstates and `ss -tan` polled at 10 Hz, interleaved and
repeated, then the decode/format micro-benchmark (build/format_bench).

    tools/bench/run.py [--build DIR] [--rounds N] [--profile-rounds N] [--duration SEC]
                       [--configs a,b,...]
                       [--close KIND] [--payload BYTES] [--concurrency N] [--workers N]
                       [--ports N] [--no-format-bench] [--no-doc-plot]

The ratios are measured with kernel.bpf_stats_enabled=0: the statistics add two clock reads
to every program run. Each program's ns per run and runs per connection come from a separate
pass after the rounds (--profile-rounds runs of each observer, statistics on), which no ratio
uses.

Every run gets a fresh network namespace, so the host's sysctls are untouched. Needs root.
Prints a table; writes DIR/bench/results.json, DIR/bench/churn.png and Documentation/perf.png.
Method and figures: Documentation/perf.rst.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TCPSTATES = "/usr/sbin/tcpstates"
CONFIGS = ["none", "hooks", "stats", "watch", "tcpstates", "ss"]
LABELS = {
    "none": "no observer",
    "hooks": "tcpscope hooks, empty",
    "stats": "tcpscope stats -i 1",
    "watch": "tcpscope watch --json",
    "tcpstates": "tcpstates (libbpf-tools)",
    "ss": "ss -tan at 10 Hz",
}
# The netns each churn runs in. With one listening port per worker, connect() comes back to
# a local port after about 16k others to the same listener and reuses its TIME_WAIT socket
# (tcp_tw_reuse): about 32k TIME_WAIT sockets at a time, below the 65536 connections
# tcpscope's table holds. A wider range keeps more of them: the table fills and the rest of
# the run measures its untracked path instead (see Documentation/perf.rst).
NETNS_SYSCTLS = {
    "net.ipv4.ip_local_port_range": "32768 65535",
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.tcp_max_tw_buckets": "1048576",
}
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
TICK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def run(*args, check=True, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise BenchError("failed to run %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                              p.stderr.strip()))
    return p


def wait_for(cond, timeout, what, interval=0.02):
    """Polls cond() until it returns a true value, at most timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= end:
            raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def proc_cpu_ticks(pid, children=False):
    """utime + stime (+ cutime + cstime: children waited for) from /proc/PID/stat."""
    stat = read("/proc/%d/stat" % pid)
    if not stat:
        return None
    f = stat[stat.rindex(")") + 2:].split()
    ticks = int(f[11]) + int(f[12])  # fields 14 and 15
    if children:
        ticks += int(f[13]) + int(f[14])
    return ticks


def proc_status_kb(pid, key):
    m = re.search(r"^%s:\s+(\d+) kB" % key, read("/proc/%d/status" % pid), re.M)
    return int(m.group(1)) if m else None


def bpf_prog_ids(pid):
    """The BPF programs a process holds, from its file descriptors' fdinfo."""
    ids = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return ids
    for fd in fds:
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("anon_inode:bpf"):
                continue
        except OSError:
            continue
        for m in re.finditer(r"^prog_id:\s+(\d+)", read("/proc/%d/fdinfo/%s" % (pid, fd)), re.M):
            ids.add(int(m.group(1)))
    return ids


def bpf_progs():
    """id -> {name, type, run_time_ns, run_cnt} for every loaded program."""
    out = json.loads(run("bpftool", "prog", "show", "-j").stdout or "[]")
    return {p["id"]: {"name": p.get("name", "?"), "type": p.get("type", "?"),
                      "run_time_ns": p.get("run_time_ns", 0), "run_cnt": p.get("run_cnt", 0)}
            for p in out}


def bpf_owners():
    """prog id -> "comm[pid]" for programs held open by some process."""
    owners = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            comm = read("/proc/%s/comm" % d).strip()
            for i in bpf_prog_ids(int(d)):
                owners.setdefault(i, "%s[%s]" % (comm, d))
    return owners


# program types that observe sockets or the kernel (not systemd's cgroup filters)
OBSERVING = {"tracing", "tracepoint", "raw_tracepoint", "kprobe", "sock_ops", "perf_event"}


def foreign_observers():
    """Tracing and socket programs already loaded: they run under every configuration,
    the baseline included, so the baseline is not the kernel alone."""
    owners = bpf_owners()
    found = {}
    for pid_, p in bpf_progs().items():
        if p["type"] in OBSERVING:
            found.setdefault(owners.get(pid_, "no process"), []).append(p["name"])
    return [{"owner": o, "programs": sorted(set(n))} for o, n in sorted(found.items())]


def tw_sockets():
    m = re.search(r"^tw_sock_TCP\s+(\d+)", read("/proc/slabinfo"), re.M)
    return int(m.group(1)) if m else 0


class NetNS:
    seq = 0

    def __init__(self):
        NetNS.seq += 1
        self.name = "tcpscope-bench-%d-%d" % (os.getpid(), NetNS.seq)
        self.path = "/run/netns/" + self.name
        run("ip", "netns", "add", self.name)
        self.alive = True
        run("ip", "-n", self.name, "link", "set", "lo", "up")
        run("ip", "netns", "exec", self.name, "sysctl", "-q", "-w",
            *["%s=%s" % kv for kv in NETNS_SYSCTLS.items()])

    def exec_args(self, *args):
        return ["ip", "netns", "exec", self.name, *args]

    def delete(self, tw_baseline=None):
        if not self.alive:
            return
        self.alive = False
        run("ip", "netns", "del", self.name, check=False)
        if tw_baseline is not None:
            # the namespace's TIME_WAIT sockets go in a kernel worker: not into the next run
            try:
                wait_for(lambda: tw_sockets() <= tw_baseline + 4096, 30,
                         "TIME_WAIT sockets of %s to go" % self.name, interval=0.1)
            except BenchError as e:
                log("warning: %s" % e)


class Observer:
    """One observer process; subclasses say how to start it and when it is ready."""
    name = None
    quiet = False  # stdout to /dev/null rather than to a file the driver reads
    what_ready = "the observer to be ready"

    def __init__(self, args, ns, tmp):
        self.args, self.ns, self.tmp = args, ns, tmp
        self.proc = None
        self.out = os.path.join(tmp, "%s.out" % self.name)
        self.err = os.path.join(tmp, "%s.err" % self.name)

    def command(self):
        raise NotImplementedError

    env = None  # extra environment

    def start(self):
        with open(os.devnull if self.quiet else self.out, "w") as out, \
                open(self.err, "w") as err:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, close_fds=True,
                                         env=dict(os.environ, **self.env) if self.env else None)
        wait_for(self.ready, READY_TIMEOUT, self.what_ready)

    def ready(self):
        if self.proc.poll() is not None:
            raise BenchError("%s exited with %d before it was ready: %s" % (
                self.name, self.proc.returncode, read(self.err).strip()[-500:]))
        return self.is_ready()

    def is_ready(self):
        raise NotImplementedError

    def cpu_ticks(self):
        return proc_cpu_ticks(self.proc.pid)

    def peak_rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def prog_ids(self):
        return bpf_prog_ids(self.proc.pid)

    def settle(self):
        """Waits until the observer has dealt with the churn's events: its CPU time stops
        growing (no tick in 200 ms), at most 10 s."""
        last = [self.cpu_ticks(), time.monotonic()]

        def idle():
            now, t = self.cpu_ticks(), time.monotonic()
            if now != last[0]:
                last[0], last[1] = now, t
                return False
            return t - last[1] >= 0.2

        try:
            wait_for(idle, 10, "%s to go idle" % self.name, interval=0.05)
        except BenchError as e:
            log("warning: %s" % e)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BenchError("%s did not stop on SIGINT within %.0f s" % (self.name,
                                                                         STOP_TIMEOUT))
        return self.results()

    def results(self):
        return {}


class StatsObserver(Observer):
    """Aggregation only: JSON snapshots every second into a file (one short line a second,
    as cheap as /dev/null); the last one gives the transition totals."""
    name = "stats"
    what_ready = "the first stats snapshot"

    def command(self):
        return [self.args.tcpscope, "stats", "--interval", "1", "--json", "--netns", self.ns.path]

    def lines(self):
        return [l for l in read(self.out).splitlines() if l.startswith("{")]

    def is_ready(self):
        return len(self.lines()) >= 1  # the first snapshot comes after its interval

    def settle(self):
        # a snapshot taken after the churn ended holds all its transitions
        n = len(self.lines())
        wait_for(lambda: len(self.lines()) > n, 5, "a stats snapshot after the churn")
        super().settle()

    def results(self):
        last = json.loads(self.lines()[-1])
        agent = last.get("agent", {})
        return {"transitions": sum(t["count"] for t in last["transitions"]),
                "lost": None, "agent": agent, "untracked": agent.get("untracked", 0)}


class HooksObserver(StatsObserver):
    """tcpscope stats with every program attached but returning at once: what the hooks
    alone cost (BPF dispatch, trampolines, sockops' cgroup walk), the floor under stats."""
    name = "hooks"
    env = {"TCPSCOPE_BENCH_HOOKS_ONLY": "1"}

    def results(self):
        return {"lost": None, "untracked": 0}


class WatchObserver(Observer):
    name = "watch"
    FINAL = re.compile(r"tcpscope: (\d+) events shown, (\d+) lost, (\d+) filtered in kernel, "
                       r"(\d+) connections untracked")

    quiet = True
    what_ready = "watch to print 'Tracing TCP state changes'"

    def command(self):
        return [self.args.tcpscope, "watch", "--json"]

    def is_ready(self):
        return "Tracing TCP state changes" in read(self.err)

    def results(self):
        err = read(self.err)
        m = self.FINAL.search(err)
        if not m:
            raise BenchError("no final line from tcpscope watch: %r" % err[-300:])
        return {"events": int(m.group(1)), "lost": int(m.group(2)),
                "untracked": int(m.group(4))}


class TcpstatesObserver(Observer):
    """bcc's tcpstates, stdout to /dev/null. Its header is block-buffered there and never
    seen, so readiness is what comes just before it: the SIGINT handler is installed
    after the programs are attached and the perf buffer is open."""
    name = "tcpstates"

    quiet = True
    what_ready = "tcpstates to install its SIGINT handler"

    def command(self):
        return [TCPSTATES]

    def is_ready(self):
        m = re.search(r"^SigCgt:\s+([0-9a-f]+)", read("/proc/%d/status" % self.proc.pid), re.M)
        return bool(m and int(m.group(1), 16) & (1 << (signal.SIGINT - 1)))

    def results(self):
        # libbpf-tools reports perf buffer losses on stderr: "lost N events on CPU #M"
        lost = sum(int(n) for n in re.findall(r"^lost (\d+) events on CPU", read(self.err),
                                              re.M))
        return {"lost": lost}


class SsObserver(Observer):
    """`ss -tan` every 100 ms inside the namespace, by a small poller (this script with
    --ss-poller) that waits for each ss and adds up its rusage."""
    name = "ss"
    what_ready = "the first ss poll"

    def command(self):
        return self.ns.exec_args(sys.executable, os.path.abspath(__file__), "--ss-poller")

    def is_ready(self):
        return read(self.out).startswith("ready")

    def cpu_ticks(self):
        return proc_cpu_ticks(self.proc.pid, children=True)

    def peak_rss_kb(self):
        return None  # ss's own peak comes from the poller at the end

    def settle(self):
        pass  # polls on its own clock: the window is the churn's

    def results(self):
        lines = read(self.out).splitlines()
        summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        return {"lost": None, "polls": summary.get("polls"),
                "peak_rss_kb": summary.get("maxrss_kb")}


OBSERVERS = {"hooks": HooksObserver, "stats": StatsObserver, "watch": WatchObserver,
             "tcpstates": TcpstatesObserver, "ss": SsObserver}


def ss_poller():
    """--ss-poller: runs ss -tan at 10 Hz until SIGINT, then prints one JSON line."""
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    polls, maxrss = 0, 0
    nxt = time.monotonic()
    ss = shutil.which("ss") or "/usr/bin/ss"
    devnull = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]
    while not stop:
        pid = os.posix_spawn(ss, [ss, "-tan"], os.environ, file_actions=devnull)
        while True:
            try:
                _, _, ru = os.wait4(pid, 0)
                break
            except InterruptedError:
                continue
        polls += 1
        maxrss = max(maxrss, ru.ru_maxrss)
        if polls == 1:
            print("ready", flush=True)
        nxt += 0.1
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    print(json.dumps({"polls": polls, "maxrss_kb": maxrss}), flush=True)
    return 0


def churn_args(args):
    a = [args.churn, "--duration", str(args.duration), "--close", args.close,
         "--payload", str(args.payload), "--concurrency", str(args.concurrency),
         "--ports", str(args.ports)]
    if args.workers:
        a += ["--workers", str(args.workers)]
    return a


def cpu_stat():
    """Busy and steal clock ticks of the whole machine, from /proc/stat."""
    f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal
    return f[0] + f[1] + f[2] + f[5] + f[6], f[7]


def run_churn(args, ns):
    """Runs the churn; also returns its own CPU seconds (rusage) and the machine's."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = cpu_stat()
    p = run(*ns.exec_args(*churn_args(args)), timeout=args.duration + 120)
    busy1, steal1 = cpu_stat()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("churn printed no result: %r %r" % (p.stdout, p.stderr))
    res["cpu_s"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    res["machine_busy_s"] = (busy1 - busy0) / TICK
    res["steal_s"] = (steal1 - steal0) / TICK
    return res


def one_run(args, cfg, tmp, tw_baseline):
    """The churn once under one configuration, in a namespace of its own."""
    ns = NetNS()
    obs = None
    progs = set()
    try:
        if cfg != "none":
            obs = OBSERVERS[cfg](args, ns, tmp)
            obs.start()
            progs = obs.prog_ids()
            cpu0 = obs.cpu_ticks()
        before = bpf_progs()
        t0 = time.monotonic()
        res = {"config": cfg, "churn": run_churn(args, ns)}
        churn = res["churn"]
        # observing programs of other processes ran during the churn too: how much
        during = bpf_progs()
        res["other_bpf"] = {"run_time_ns": 0, "run_cnt": 0}
        for i, a in during.items():
            if i in progs or i not in before or a["type"] not in OBSERVING:
                continue
            for k in ("run_time_ns", "run_cnt"):
                res["other_bpf"][k] += a[k] - before[i][k]
        # what else ran meanwhile: the machine's busy time less the churn's and the observer's
        other = churn["machine_busy_s"] - churn["cpu_s"]
        if obs:
            other -= (obs.cpu_ticks() - cpu0) / TICK
        res["other_cpu_pct"] = max(0.0, 100 * other / (os.cpu_count() * churn["seconds"]))
        res["steal_pct"] = 100 * churn["steal_s"] / (os.cpu_count() * churn["seconds"])
        if obs:
            obs.settle()
            after = bpf_progs()
            cpu1 = obs.cpu_ticks()
            hwm = obs.peak_rss_kb()
            window = time.monotonic() - t0
            res.update(obs.stop())
            obs = None
            res["cpu_s"] = (cpu1 - cpu0) / TICK
            res["window_s"] = window
            if res.get("peak_rss_kb") is None:
                res["peak_rss_kb"] = hwm
            res["progs"] = {}
            for i in sorted(progs):
                if i in before and i in after:
                    b, a = before[i], after[i]
                    res["progs"]["%s#%d" % (a["name"], i)] = {
                        "name": a["name"],
                        "run_cnt": a["run_cnt"] - b["run_cnt"],
                        "run_time_ns": a["run_time_ns"] - b["run_time_ns"]}
        return res
    finally:
        if obs and obs.proc and obs.proc.poll() is None:
            obs.proc.kill()
            obs.proc.wait()
        ns.delete(tw_baseline)


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def spread(v):
    v = [x for x in v if x is not None]
    return (min(v), max(v)) if v else (None, None)


def summarize(args, runs, profiles):
    """runs: the measured rounds (ratios, CPU, losses); profiles: the pass with
    kernel.bpf_stats_enabled=1 (each program's ns per run and runs per connection)."""
    by = {c: [r for r in runs if r["config"] == c] for c in args.configs}
    prof = {c: [r for r in profiles if r["config"] == c] for c in args.configs}
    # a round's baseline for the other programs' share: the mean of its no-observer runs
    base = {rnd: median([r["churn"]["conn_per_s"] for r in by.get("none", [])
                         if r["round"] == rnd]) for rnd in {r["round"] for r in runs}}
    # share of the baseline's busy time taken by other processes' observing programs
    other = {}
    for r in by.get("none", []):
        if r["churn"]["machine_busy_s"]:
            other.setdefault(r["round"], []).append(
                r["other_bpf"]["run_time_ns"] / 1e9 / r["churn"]["machine_busy_s"])
    other = {rnd: median(v) for rnd, v in other.items()}
    # transitions per connection, from the kernel's own count in the aggregation runs
    per_conn = median([r["transitions"] / r["churn"]["connections"] for r in by.get("stats", [])
                       if r.get("transitions") and r["churn"]["connections"]])
    out = {}
    for c, rs in by.items():
        rates = [r["churn"]["conn_per_s"] for r in rs]
        # against the runs without observer just before and after (1 for those)
        ratios = [1.0 if c == "none" else r["churn"]["conn_per_s"] / r["baseline_conn_per_s"]
                  for r in rs if c == "none" or r.get("baseline_conn_per_s")]
        # the ratio against the kernel alone, if the other programs' time were taken out
        # of both runs: (1 - f) / (1 / ratio - f), f their share of the baseline's time
        alone = [(1 - other[r["round"]]) /
                 (base[r["round"]] / r["churn"]["conn_per_s"] - other[r["round"]])
                 for r in rs if base.get(r["round"]) and r["round"] in other]
        s = {"label": LABELS[c], "runs": len(rs), "conn_per_s_median": median(rates),
             "ratio_kernel_alone_est_median": median(alone),
             "conn_per_s_min": spread(rates)[0], "conn_per_s_max": spread(rates)[1],
             "ratio_per_round": ratios, "ratio_median": median(ratios),
             "ratio_min": spread(ratios)[0], "ratio_max": spread(ratios)[1],
             "churn_errors": sum(r["churn"]["errors"] for r in rs),
             "other_cpu_pct_median": median([r["other_cpu_pct"] for r in rs]),
             "other_cpu_pct_max": spread([r["other_cpu_pct"] for r in rs])[1],
             "steal_pct_median": median([r["steal_pct"] for r in rs]),
             "other_bpf_ns_per_transition": median(
                 [r["other_bpf"]["run_time_ns"] / (per_conn * r["churn"]["connections"])
                  for r in rs if per_conn and r["churn"]["connections"]]),
             "other_bpf_busy_pct": median(
                 [100 * r["other_bpf"]["run_time_ns"] / 1e9 / r["churn"]["machine_busy_s"]
                  for r in rs if r["churn"]["machine_busy_s"]])}
        if c != "none":
            cpu_per_m = []
            for r in rs:
                tr = per_conn * r["churn"]["connections"] if per_conn else None
                r["transitions_est"] = tr
                if tr:
                    cpu_per_m.append(r["cpu_s"] / (tr / 1e6))
            s["cpu_s_per_1m_transitions"] = median(cpu_per_m)
            s["peak_rss_kb_max"] = max((r["peak_rss_kb"] for r in rs
                                        if r.get("peak_rss_kb") is not None), default=None)
            losts = [r.get("lost") for r in rs]
            s["lost_total"] = None if any(x is None for x in losts) else sum(losts)
            # in-kernel cost: ns per run of each program, per profiling run, then the median
            progs = {}
            for r in prof[c]:
                for p in r.get("progs", {}).values():
                    if p["run_cnt"]:
                        progs.setdefault(p["name"], []).append(
                            (p["run_time_ns"] / p["run_cnt"],
                             p["run_cnt"] / max(r["churn"]["connections"], 1)))
            s["progs"] = {n: {"ns_per_run_median": median([x[0] for x in v]),
                              "ns_per_run_min": spread([x[0] for x in v])[0],
                              "ns_per_run_max": spread([x[0] for x in v])[1],
                              "runs_per_connection": median([x[1] for x in v])}
                          for n, v in sorted(progs.items())}
            all_ns = []
            for r in prof[c]:
                tot = sum(p["run_time_ns"] for p in r.get("progs", {}).values())
                tr = per_conn * r["churn"]["connections"] if per_conn else None
                if tr and r.get("progs"):
                    all_ns.append(tot / tr)
            s["kernel_ns_per_transition"] = median(all_ns)
            if c in ("stats", "watch"):
                s["untracked_total"] = sum(r.get("untracked", 0) for r in rs)
            if c == "watch":
                for r in rs:
                    r["delivered"] = r.get("events", 0)
            if c == "tcpstates":  # one record per run of its program: the profiled rate
                per = s["progs"].get("handle_set_state", {}).get("runs_per_connection")
                for r in rs:
                    r["delivered"] = per * r["churn"]["connections"] if per else 0
            if c in ("watch", "tcpstates"):
                s["events_to_user_space"] = sum(r["delivered"] for r in rs)
                # what the agent really sustains: events per second of its own CPU time
                s["events_per_agent_cpu_s"] = median([r["delivered"] / r["cpu_s"] for r in rs
                                                      if r["cpu_s"]])
            if c == "ss":
                s["polls"] = sum(r.get("polls") or 0 for r in rs)
        out[c] = s
    return out, per_conn


def run_format_bench(args):
    p = run(args.format_bench, "--benchmark_format=json", "--benchmark_min_time=1",
            "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true")
    res = {}
    for b in json.loads(p.stdout)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            res[b["run_name"]] = {"records_per_s": b["items_per_second"],
                                  "ns_per_record": b["cpu_time"],
                                  "shown_per_record": b.get("shown_per_record")}
    return res


def fmt_num(v, f="{:,.0f}", none="-"):
    return none if v is None else f.format(v)


def table(args, summary, per_conn, fb, meta):
    lines = []
    lines.append("tcpscope benchmark: %s" % meta["workload"])
    lines.append("kernel %s, %d CPUs, %d rounds x %d configurations, %g s each, order rotated"
                 % (meta["kernel"], meta["cpus"], args.rounds, len(args.configs), args.duration))
    if per_conn:
        lines.append("transitions per connection (tcpscope stats, in the kernel): %.2f" % per_conn)
    for f in meta["foreign"]:
        lines.append("warning: other BPF programs ran in every configuration, baseline "
                     "included: %s: %s" % (f["owner"], ", ".join(f["programs"])))
    nb = summary["none"]
    if nb.get("other_bpf_ns_per_transition"):
        lines.append("warning: in the no-observer runs, other processes' observing BPF programs "
                     "took %.0f ns per transition, %.1f%% of the machine's busy time (median)"
                     % (nb["other_bpf_ns_per_transition"], nb["other_bpf_busy_pct"]))
    if nb.get("other_bpf_busy_pct"):
        lines.append("ratio against the kernel alone, estimated with their share taken out: " +
                     ", ".join("%s %.3f" % (c, summary[c]["ratio_kernel_alone_est_median"])
                               for c in args.configs if c != "none" and
                               summary[c]["ratio_kernel_alone_est_median"] is not None))
    row = "%-25s %8s %15s %6s %11s %6s %8s %8s %9s %9s %6s"
    lines.append(row % ("configuration", "conn/s", "min-max", "ratio", "ratio", "lost",
                        "CPU s", "peak RSS", "set_state", "kernel ns", "other"))
    lines.append(row % ("", "median", "", "median", "min-max", "", "/1M tr.", "MiB",
                        "ns/run", "/trans.", "CPU %"))
    for c in args.configs:
        s = summary[c]
        lost = s.get("lost_total")
        lost_s = "n/a" if c in ("none", "hooks", "stats", "ss") else fmt_num(lost)
        if c == "stats":
            lost_s = "none*"
        ss_ = s.get("progs", {}).get("handle_set_state", {})
        rss = s.get("peak_rss_kb_max")
        lines.append(row % (
            s["label"], fmt_num(s["conn_per_s_median"]),
            "%s-%s" % (fmt_num(s["conn_per_s_min"]), fmt_num(s["conn_per_s_max"])),
            fmt_num(s["ratio_median"], "{:.3f}"),
            "%s-%s" % (fmt_num(s["ratio_min"], "{:.3f}"), fmt_num(s["ratio_max"], "{:.3f}")),
            lost_s, fmt_num(s.get("cpu_s_per_1m_transitions"), "{:.3f}"),
            fmt_num(None if rss is None else rss / 1024, "{:.1f}"),
            fmt_num(ss_.get("ns_per_run_median"), "{:.0f}"),
            fmt_num(s.get("kernel_ns_per_transition"), "{:.0f}"),
            fmt_num(s["other_cpu_pct_median"], "{:.0f}")))
    untracked = ["%s %d" % (c, summary[c]["untracked_total"]) for c in args.configs
                 if summary[c].get("untracked_total")]
    if untracked:
        lines.append("warning: tcpscope's connection table was full, connections untracked: " +
                     ", ".join(untracked))
    errs = {c: summary[c]["churn_errors"] for c in args.configs if summary[c]["churn_errors"]}
    if errs:
        lines.append("churn errors: " + ", ".join("%s %d" % kv for kv in errs.items()))
    lines.append("* aggregation copies no event to user space: nothing to lose. ss: snapshots, "
                 "not events. tcpstates: losses as it reports them on stderr.")
    lines.append("ratio: conn/s over the mean of the no-observer runs just before and after. "
                 "CPU: utime+stime of "
                 "the observer (ss: with its children) per million transitions.")
    lines.append("ratios with kernel.bpf_stats_enabled=0; set_state: run_time_ns/run_cnt of "
                 "handle_set_state and kernel ns/trans. (all the observer's programs, per "
                 "transition) from %d separate run(s) of each with it on." % args.profile_rounds)
    lines.append("other CPU: the machine's busy time less the churn's and the observer's, "
                 "during the churn (median; other processes, kernel threads).")
    live = ["%s %s" % (c, fmt_num(summary[c]["events_per_agent_cpu_s"]))
            for c in ("watch", "tcpstates") if summary.get(c, {}).get("events_per_agent_cpu_s")]
    if live:
        lines.append("events delivered per second of the agent's CPU time (median): " +
                     ", ".join(live))
    if fb:
        lines.append("")
        lines.append("decode/format micro-benchmark (build/format_bench, one core, median of 3):")
        lines.append("%-30s %14s %12s" % ("benchmark", "records/s", "ns/record"))
        for n, r in fb.items():
            lines.append("%-30s %14s %12s" % (n, fmt_num(r["records_per_s"]),
                                              fmt_num(r["ns_per_record"], "{:.1f}")))
    return "\n".join(lines)


def plot(args, summary, meta, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfgs = [c for c in args.configs if summary[c]["ratio_median"] is not None]
    med = [summary[c]["ratio_median"] for c in cfgs]
    lo = [m - summary[c]["ratio_min"] for c, m in zip(cfgs, med)]
    hi = [summary[c]["ratio_max"] - m for c, m in zip(cfgs, med)]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    bars = ax.bar(range(len(cfgs)), med, yerr=[lo, hi], capsize=6, color="#4c72b0",
                  ecolor="black")
    for b, c in zip(bars, cfgs):
        ax.annotate("%.2f\n%s/s" % (summary[c]["ratio_median"],
                                    fmt_num(summary[c]["conn_per_s_median"])),
                    (b.get_x() + b.get_width() / 2, 0.02), ha="center", va="bottom",
                    color="white", fontsize=8)
    ax.axhline(0.97, color="green", ls="--", lw=1, label="target: aggregation >= 0.97")
    ax.axhline(0.90, color="orange", ls="--", lw=1, label="target: event stream >= 0.90")
    ax.set_xticks(range(len(cfgs)))
    ax.set_xticklabels([LABELS[c] for c in cfgs], rotation=15, fontsize=8)
    ax.set_ylabel("conn/s over the no-observer runs around it")
    ax.set_ylim(0, max(1.1, max(med) + max(hi) + 0.05))
    ax.set_title("Loopback churn under each observer: median and min-max of %d rounds\n%s"
                 % (args.rounds, meta["workload"]), fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile-rounds", type=int, default=1,
                    help="runs of each observer with kernel.bpf_stats_enabled=1, after the "
                    "rounds: ns per program run and runs per connection (0: none)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of churn per run")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--close", default="client", choices=["client", "server", "rst"])
    ap.add_argument("--payload", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--ports", type=int, default=1, help="listening ports per worker")
    ap.add_argument("--no-format-bench", action="store_true")
    ap.add_argument("--no-doc-plot", action="store_true",
                    help="do not copy the plot to Documentation/perf.png")
    ap.add_argument("--ss-poller", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ss_poller:
        return a
    a.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    bad = [c for c in a.configs if c not in CONFIGS]
    if bad or not a.configs:
        ap.error("--configs: unknown %s (choose from %s)" % (",".join(bad), ",".join(CONFIGS)))
    if "none" not in a.configs:
        a.configs.insert(0, "none")  # every ratio needs it
    if (a.rounds < 1 or a.profile_rounds < 0 or a.duration <= 0 or a.payload < 0 or a.concurrency < 1 or a.workers < 0
            or a.ports < 1):
        ap.error("--rounds, --duration, --concurrency, --ports must be positive; --payload, "
                 "--workers, --profile-rounds not negative")
    a.build = os.path.abspath(a.build)
    a.tcpscope = os.path.join(a.build, "tcpscope")
    a.churn = os.path.join(a.build, "churn")
    a.format_bench = os.path.join(a.build, "format_bench")
    return a


def main():
    args = parse_args()
    if args.ss_poller:
        return ss_poller()
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces, BPF, kernel.bpf_stats_enabled)",
              file=sys.stderr)
        return 2
    need = [args.tcpscope, args.churn] + ([] if args.no_format_bench else [args.format_bench])
    if "tcpstates" in args.configs:
        need.append(TCPSTATES)
    missing = [p for p in need if not os.access(p, os.X_OK)]
    for tool in ("ip", "bpftool", "ss"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        print("bench: missing: %s (make all build/churn build/format_bench; make deps)"
              % ", ".join(missing), file=sys.stderr)
        return 1

    outdir = os.path.join(args.build, "bench")
    os.makedirs(outdir, exist_ok=True)
    stats_knob = "/proc/sys/kernel/bpf_stats_enabled"
    old_knob = read(stats_knob).strip()
    tmp = tempfile.mkdtemp(prefix="tcpscope-bench-")
    meta = {
        "kernel": os.uname().release, "cpus": os.cpu_count(),
        "workload": "churn --close %s --payload %d --concurrency %d --workers %s --ports %d" % (
            args.close, args.payload, args.concurrency, args.workers or os.cpu_count(),
            args.ports),
        "churn_args": churn_args(args)[1:],
        "tcpscope": run("git", "-C", ROOT, "describe", "--always", "--dirty",
                        check=False).stdout.strip(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "netns_sysctls": NETNS_SYSCTLS,
    }
    runs, profiles = [], []
    start = time.monotonic()

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    def bpf_stats(on):
        with open(stats_knob, "w") as f:
            f.write("1" if on else "0")

    try:
        bpf_stats(False)
        meta["foreign"] = foreign_observers()
        for f in meta["foreign"]:
            log("warning: other BPF programs are loaded and run in every configuration: "
                "%s: %s" % (f["owner"], ", ".join(f["programs"])))
        tw_base = tw_sockets()
        log("warm-up: one run without observer")
        one_run(args, "none", tmp, tw_base)
        observers = [c for c in args.configs if c != "none"]

        def measured(cfg, rnd):
            r = one_run(args, cfg, tmp, tw_base)
            r["round"] = rnd
            runs.append(r)
            log("round %d/%d %-10s %8.0f conn/s, other CPU %3.0f%%%s" % (
                rnd + 1, args.rounds, cfg, r["churn"]["conn_per_s"], r["other_cpu_pct"],
                "" if cfg == "none" else ", observer CPU %.2f s" % r["cpu_s"]))
            return r

        # Every observer run sits between two runs without observer; its baseline is their
        # mean, which takes out the machine's drift (its conn/s moves by 20% in minutes).
        for rnd in range(args.rounds):
            k = rnd % len(observers) if observers else 0
            before = measured("none", rnd)
            for cfg in observers[k:] + observers[:k]:
                r = measured(cfg, rnd)
                after = measured("none", rnd)
                r["baseline_conn_per_s"] = (before["churn"]["conn_per_s"] +
                                            after["churn"]["conn_per_s"]) / 2
                before = after
        # the programs' own cost, with the statistics on: no ratio comes from these runs
        bpf_stats(True)
        for rnd in range(args.profile_rounds):
            for cfg in observers:
                r = one_run(args, cfg, tmp, tw_base)
                r["round"] = rnd
                profiles.append(r)
                log("profile %d/%d %-10s %8.0f conn/s (kernel.bpf_stats_enabled=1)" % (
                    rnd + 1, args.profile_rounds, cfg, r["churn"]["conn_per_s"]))
        fb = None if args.no_format_bench else run_format_bench(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BenchError as e:
        log(str(e))
        return 1
    finally:
        with open(stats_knob, "w") as f:
            f.write(old_knob or "0")
        shutil.rmtree(tmp, ignore_errors=True)

    summary, per_conn = summarize(args, runs, profiles)
    meta["elapsed_s"] = time.monotonic() - start
    text = table(args, summary, per_conn, fb, meta)
    print(text)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "transitions_per_connection": per_conn, "summary": summary,
                   "format_bench": fb, "runs": runs, "profile_runs": profiles}, f, indent=1)
    with open(os.path.join(outdir, "table.txt"), "w") as f:
        f.write(text + "\n")
    png = os.path.join(outdir, "churn.png")
    plot(args, summary, meta, png)
    if not args.no_doc_plot:
        shutil.copyfile(png, os.path.join(ROOT, "Documentation", "perf.png"))
    log("results in %s (results.json, table.txt, churn.png), %.0f s" % (outdir,
                                                                       meta["elapsed_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

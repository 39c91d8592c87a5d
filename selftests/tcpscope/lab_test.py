#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of `tcpscope lab`: each experiment and variant run for real in its two
throwaway namespaces, with exact expectations on the segments' flags and relative seq/ack,
both sides' state paths, the counter deltas and the verdict; the --pcap file read back with
tshark must show the same segments as the JSON; Ctrl-C leaves no namespace behind. Needs
root and a kernel with BPF and BTF. Output is KTAP."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcpscope_lib import Skip, expect_cli_errors, expect_eq, ksft_main, slow  # noqa: E402

TCPSCOPE = None  # the agent under test, set by ksft_main()
HANDSHAKE = ["S", "S.", "."]
# the handshake, 5 bytes and their ACK, before the close
BEFORE_CLOSE = HANDSHAKE + ["P.", "."]
TCP_PATH_CLIENT = ["CLOSE", "SYN_SENT", "ESTABLISHED"]
TCP_PATH_SERVER = ["LISTEN", "SYN_RECV", "ESTABLISHED"]


def lab(*args, timeout=60):
    p = subprocess.run([TCPSCOPE, "lab", *args], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("tcpscope lab %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                              p.stderr))
    return p


def run_json(name, variant=None, *extra, timeout=60):
    args = [name, "--json", *extra] + (["--variant", variant] if variant else [])
    out = lab(*args, timeout=timeout).stdout
    expect_eq(out.count("\n"), 1, "lines of JSON")
    run = json.loads(out)
    expect_eq((run["experiment"], run["variant"]), (name, variant or "default"), "run")
    return run


def flags(run):
    return [p["flags"] for p in run["packets"]]


def seqacks(run):
    return [(p["from"], p["flags"], p["seq"], p["ack"], p["len"]) for p in run["packets"]]


def test_list():
    out = lab("list", "--json").stdout
    got = [json.loads(line) for line in out.splitlines()]
    expect_eq([(e["experiment"], [v["name"] for v in e["variants"]]) for e in got],
              [("handshake", ["default"]),
               ("close3", ["default", "quickack", "late-close", "kmod-quickack",
                           "kmod-delack"]),
               ("timewait", ["default", "fin-timeout-5"]),
               ("fin-timeout", ["default", "60"]),
               ("reuseaddr", ["default", "new-only", "both"]),
               ("tw-reuse", ["default", "off", "on", "no-timestamps", "bind"]),
               ("lastack", ["default", "no-tw"]),
               ("keepalive", ["default", "dead"]),
               ("rst-close", ["default", "read", "linger0"]),
               ("half-close", ["default", "close"]),
               ("fastopen", ["default", "server-1", "client-0"]),
               ("simultaneous", ["default", "netem"])], "experiments")
    text = lab("list").stdout
    expect_eq(text.splitlines()[3], "              variants: default, quickack, late-close, "
              "kmod-quickack, kmod-delack", "lab list")
    expect_eq(lab("close3", "--variant", "list").stdout.splitlines()[1].split()[0],
              "quickack", "variant list")


def test_handshake():
    run = run_json("handshake")
    expect_eq(run["verdict"], "holds", "verdict")
    expect_eq(seqacks(run), [(C, "S", 0, 0, 0), (S, "S.", 0, 1, 0), (C, ".", 1, 1, 0)],
              "segments")
    # raw ISNs: a keyed hash, not 1; the SYN-ACK acks ISN + 1
    syn, synack = run["packets"][0], run["packets"][1]
    expect_eq(synack["raw_ack"], (syn["raw_seq"] + 1) % 2**32, "SYN-ACK ack")
    expect_eq(run["paths"], {"client": TCP_PATH_CLIENT, "server": TCP_PATH_SERVER}, "paths")
    expect_eq(run["counters"]["client"].get("TcpActiveOpens"), 1, "client TcpActiveOpens")
    expect_eq(run["counters"]["server"].get("TcpPassiveOpens"), 1, "server TcpPassiveOpens")
    n = run["numbers"]
    expect_eq((n["handshake_segments"], n["synack_ack_minus_isn"], n["child_born_at_ack"]),
              (3, 1, 1), "numbers")
    expect_eq((n["client_isn"], n["server_isn"]), (syn["raw_seq"], synack["raw_seq"]), "ISNs")
    # the listener itself never leaves LISTEN during the handshake
    server_listener = [(t["old"], t["new"]) for t in run["transitions"]
                       if t["side"] == "server" and t["dport"] == 0 and t["old"] != "LISTEN"]
    expect_eq(server_listener, [("CLOSE", "LISTEN")], "listener transitions")


def close3(variant):
    """close3 of a variant; the default variant's one race (close() against the delayed-ACK
    timer, at least TCP_DELACK_MIN = 40 ms) is run again once if the timer won, which the
    lab itself reports with its counter."""
    run = run_json("close3", variant)
    if variant is None and run["numbers"]["server_delayed_acks"] == 1:
        print("# the delayed-ACK timer beat close() (%s): once more" % run["summary"])
        run = run_json("close3", variant)
    return run


C, S = "client", "server"
# after the 5 bytes: the client's FIN is seq 6, acked with 7; the server's is seq 1, acked 2
CLOSE3 = [(C, "F.", 6, 1, 0), (S, "F.", 1, 7, 0), (C, ".", 7, 2, 0)]
CLOSE4 = [(C, "F.", 6, 1, 0), (S, ".", 1, 7, 0), (S, "F.", 1, 7, 0), (C, ".", 7, 2, 0)]


def expect_close(run, tail, delayed, verdict, segments):
    expect_eq(flags(run)[:5], BEFORE_CLOSE, "segments before the close")
    expect_eq(seqacks(run)[5:], tail, "the close's segments")
    expect_eq(run["paths"]["server"], TCP_PATH_SERVER + ["CLOSE_WAIT", "LAST_ACK", "CLOSE"],
              "server path")
    expect_eq(run["counters"]["server"].get("TcpExtDelayedACKs", 0), delayed,
              "server TcpExtDelayedACKs")
    expect_eq(run["counters"]["client"].get("TcpExtTW"), 1, "client TcpExtTW")
    expect_eq([(s["side"], s["state"], s["timer"]) for s in run["snapshots"]],
              [("client", "TIME_WAIT", 3)], "sock_diag snapshot")
    if not 59000 <= run["snapshots"][0]["expires_ms"] <= 60000:
        raise AssertionError("TIME_WAIT timer %d ms" % run["snapshots"][0]["expires_ms"])
    expect_eq((run["verdict"], run["numbers"]["close_segments"],
               run["numbers"]["server_delayed_acks"]), (verdict, segments, delayed), "verdict")


def test_close3_default():
    run = close3(None)
    expect_close(run, CLOSE3, 0, "holds", 3)
    # FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT inside the processing of the one FIN+ACK
    expect_eq(run["paths"]["client"],
              TCP_PATH_CLIENT + ["FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"], "client path")
    expect_eq(run["numbers"]["fin_carried_ack"], 1, "FIN carried the ACK")


def test_close3_quickack():
    run = close3("quickack")
    expect_close(run, CLOSE4, 0, "does_not_hold", 4)
    # the orphan's FIN_WAIT2 -> TIME_WAIT reaches the tracer only when it leaves: the note
    # says so and sock_diag shows TIME_WAIT
    expect_eq(run["paths"]["client"], TCP_PATH_CLIENT + ["FIN_WAIT1", "FIN_WAIT2"],
              "client path")
    expect_eq(len([n for n in run["notes"] if "sock_diag shows TIME_WAIT" in n]), 1, "note")


def test_close3_late_close():
    run = close3("late-close")
    expect_close(run, CLOSE4, 1, "does_not_hold", 4)
    # the delayed ACK went no sooner than TCP_DELACK_MIN (40 ms) after the FIN
    if run["numbers"]["ack_after_fin_us"] < 40000:
        raise AssertionError("delayed ACK after %d us" % run["numbers"]["ack_after_fin_us"])



ALL = {}  # (experiment, variant) -> run, from one `lab all --json`
ALL_SECONDS = []
KMOD = {}  # "loaded": tcpscope.ko was loaded for that run, "why": why not


def modules():
    """The kernel loads modules (Debian's 6.1 and 6.12 in the VMs; not the 6.18 host)."""
    return os.path.exists("/proc/modules")


def with_module(fn):
    """Runs fn with tcpscope.ko loaded when this kernel can load it (loaded here and
    unloaded after, unless it already was); KMOD says what happened."""
    if not modules():
        KMOD["why"] = "this kernel has no module support"
        return fn()
    with open("/proc/modules") as f:
        if any(line.startswith("tcpscope ") for line in f):
            KMOD["loaded"] = True
            return fn()
    here = os.path.dirname(os.path.abspath(__file__))
    ko = os.environ.get("TCPSCOPE_KO") or os.path.join(here, "modules", os.uname().release,
                                                       "tcpscope.ko")
    if not os.path.exists(ko):
        KMOD["why"] = "no tcpscope.ko for %s at %s" % (os.uname().release, ko)
        return fn()
    r = subprocess.run(["insmod", ko], capture_output=True, text=True)
    if r.returncode:
        KMOD["why"] = "insmod %s: %s" % (ko, r.stderr.strip())
        return fn()
    KMOD["loaded"] = True
    try:
        return fn()
    finally:
        subprocess.run(["rmmod", "tcpscope"], capture_output=True)


def runs():
    """Every experiment and variant, from one `tcpscope lab all --json` (timed), with
    tcpscope.ko loaded where the kernel allows."""
    if not ALL:
        start = time.monotonic()
        out = with_module(lambda: lab("all", "--json", timeout=400).stdout)
        ALL_SECONDS.append(time.monotonic() - start)
        for line in out.splitlines():
            r = json.loads(line)
            ALL[(r["experiment"], r["variant"])] = r
    return ALL


def get(name, variant="default"):
    return runs()[(name, variant)]


def about(run, what):
    """An assertion's label with what the lab said about the run, for the log."""
    return "%s [%s; notes: %s]" % (what, run["summary"], "; ".join(run["notes"]) or "none")


def numbers(run, *names):
    return tuple(run["numbers"][n] for n in names)


def test_all():
    got = runs()
    listed = [(e["experiment"], v["name"])
              for e in map(json.loads, lab("list", "--json").stdout.splitlines())
              for v in e["variants"]]
    expect_eq(sorted(got), sorted(listed), "runs of lab all")
    # only what needs tcpscope.ko or sch_netem may skip, and only where the kernel cannot
    # load modules or the module was not there
    allowed = set()
    if not KMOD.get("loaded"):
        allowed |= {("close3", "kmod-quickack"), ("close3", "kmod-delack")}
    if not modules():
        allowed.add(("simultaneous", "netem"))
    skipped = sorted(k for k, r in got.items() if r["verdict"] == "skipped")
    expect_eq([(k, got[k]["reason"]) for k in skipped if k not in allowed], [], "skipped runs")
    for k in skipped:
        print("# skipped: %s %s: %s" % (k[0], k[1], got[k]["reason"]))
    if ALL_SECONDS[0] >= 180:
        raise AssertionError("lab all took %.1f s (limit 180)" % ALL_SECONDS[0])
    print("# lab all: %d runs in %.1f s" % (len(got), ALL_SECONDS[0]))


def test_timewait():
    for variant, fin_timeout in (("default", 60), ("fin-timeout-5", 5)):
        run = get("timewait", variant)
        expect_eq((run["verdict"],) + numbers(run, "fin_timeout_s", "timewait_s", "client_tw"),
                  ("does_not_hold", fin_timeout, 60, 1), "timewait %s" % variant)
        expect_eq(run["paths"]["client"][-1], "TIME_WAIT", "client path")


def test_fin_timeout():
    run = get("fin-timeout")
    expect_eq(run["verdict"], "does_not_hold", "verdict")
    expect_eq(run["paths"]["client"], TCP_PATH_CLIENT + ["FIN_WAIT1", "FIN_WAIT2", "CLOSE"],
              "client path: no TIME_WAIT")
    expect_eq(run["paths"]["server"], TCP_PATH_SERVER + ["CLOSE_WAIT", "CLOSE"], "server path")
    expect_eq(numbers(run, "fin_timeout_s", "client_time_wait", "server_close_wait_until_rst",
                      "client_rsts", "client_tw", "server_estab_resets"),
              (5, 0, 1, 1, 1, 1), "numbers")
    expect_eq((run["numbers"]["fin_wait2_timer_ms"] + 500) // 1000, 5, "FIN_WAIT2 timer")
    # 5 s is 1250 jiffies at HZ=250: the timer wheel's level 2 rounds it up by < 256 ms
    lasted = run["numbers"]["fin_wait2_lasted_ms"]
    if not 4996 <= lasted < 5300:
        raise AssertionError("orphaned FIN_WAIT2 lasted %d ms" % lasted)
    late = [c for c in run["calls"] if c["call"] == "send(5) again"]
    expect_eq([(c["ret"], c["errno"]) for c in late], [(-1, "EPIPE")], "late send")
    run = get("fin-timeout", "60")
    expect_eq((run["numbers"]["fin_wait2_timer_ms"] + 500) // 1000, 60, "FIN_WAIT2 timer (60)")
    expect_eq(numbers(run, "client_time_wait", "client_rsts"), (0, 1), "numbers (60)")


def test_reuseaddr():
    for variant, err, verdict in (("default", 98, "holds"), ("new-only", 98, "does_not_hold"),
                                  ("both", 0, "holds")):
        run = get("reuseaddr", variant)
        expect_eq((run["verdict"], run["numbers"]["bind_errno"],
                   run["counters"]["server"].get("TcpExtTW")), (verdict, err, 1),
                  "reuseaddr %s" % variant)
        binds = [(c["ret"], c["errno"]) for c in run["calls"] if c["call"] == "bind()"]
        expect_eq(binds[-1], (0, None) if not err else (-1, "EADDRINUSE"), "last bind()")


def test_tw_reuse():
    for variant, err, recycled in (("default", 99, 0), ("off", 99, 0), ("on", 0, 1),
                                   ("no-timestamps", 99, 0), ("bind", 0, 1)):
        run = get("tw-reuse", variant)
        expect_eq((run["verdict"],) + numbers(run, "reconnect_errno", "client_tw_recycled"),
                  ("holds" if err else "does_not_hold", err, recycled),
                  about(run, "tw-reuse %s" % variant))
        expect_eq(run["client"], "10.77.0.1:40000", "client address")


def test_lastack():
    run = get("lastack")
    expect_eq(run["verdict"], "holds", about(run, "verdict"))
    expect_eq([p["flags"] for p in run["packets"] if p["dropped"]], ["."], "dropped")
    expect_eq(numbers(run, "same_seq", "reply_is_rst", "server_retrans_segs"), (1, 0, 1),
              "numbers")
    # the server's FIN, the dropped ACK, the FIN again, the ACK again
    expect_eq([(p["from"], p["flags"], p["dropped"]) for p in run["packets"]][-4:],
              [("server", "F.", False), ("client", ".", True), ("server", "F.", False),
               ("client", ".", False)], "the close")
    run = get("lastack", "no-tw")
    expect_eq((run["verdict"],) + numbers(run, "reply_is_rst", "client_tw_overflow"),
              ("does_not_hold", 1, 1), "no-tw")
    expect_eq(flags(run)[-1], "R", "the answer to the FIN")


def test_keepalive():
    run = get("keepalive")
    expect_eq((run["verdict"],) + numbers(run, "probes", "client_keepalive_counter",
                                          "client_rst", "netns_keepalive_time_s",
                                          "netns_keepalive_probes"),
              ("does_not_hold", 1, 1, 0, 7200, 9), "alive peer")
    first = run["numbers"]["first_probe_after_ms"]
    if not 2000 <= first < 2300:
        raise AssertionError("first probe after %d ms (TCP_KEEPIDLE 2 s)" % first)
    run = get("keepalive", "dead")
    expect_eq((run["verdict"],) + numbers(run, "probes", "probes_answered",
                                          "client_keepalive_counter", "client_rst",
                                          "client_abort_on_timeout"),
              ("holds", 3, 0, 3, 1, 1), "dead peer")
    expect_eq(run["paths"]["client"][-2:], ["ESTABLISHED", "CLOSE"], "client path")
    errs = [c["errno"] for c in run["calls"] if c["side"] == "client" and c["call"] == "recv()"]
    expect_eq(errs, ["ETIMEDOUT"], "recv() after the timeout")


def test_rst_close():
    for variant, first, verdict, on_close, on_data, err in (
            ("default", "R.", "does_not_hold", 1, 0, 104), ("read", "F.", "holds", 0, 0, 0),
            ("linger0", "R.", "does_not_hold", 0, 1, 104)):
        run = get("rst-close", variant)
        expect_eq((run["verdict"],) + numbers(run, "client_abort_on_close",
                                              "client_abort_on_data", "server_errno"),
                  (verdict, on_close, on_data, err), "rst-close %s" % variant)
        closed = [c for c in run["calls"] if c["side"] == "client" and c["call"] == "close()"][0]
        after = [p["flags"] for p in run["packets"]
                 if p["from"] == "client" and p["t_us"] >= closed["t_us"]]
        expect_eq(after[0], first, "first segment after close()")


def test_half_close():
    run = get("half-close")
    expect_eq((run["verdict"],) + numbers(run, "client_bytes_read", "client_rst"),
              ("holds", 4096, 0), "shutdown")
    run = get("half-close", "close")
    # which came first, the server's delayed ACK of the FIN or its data, decides who
    # resets: the timewait socket (no counter) or the full one (TcpExtTCPAbortOnData)
    acked_first = run["numbers"]["fin_acked_before_data"]
    expect_eq((run["verdict"],) + numbers(run, "client_bytes_read", "client_rst",
                                          "client_abort_on_data", "server_errno"),
              ("does_not_hold", 0, 1, 1 - acked_first, 32), about(run, "close"))


def test_fastopen():
    run = get("fastopen")
    expect_eq((run["verdict"],) + numbers(run, "syn_payload", "synack_ack_minus_isn",
                                          "handshake_segments", "cookie_requests",
                                          "cookies_sent", "server_cookie_reqd",
                                          "server_passive", "client_active"),
              ("does_not_hold", 5, 6, 3, 1, 1, 1, 1, 1), "fastopen")
    # the child born at the SYN with its data: SYN_RECV before the SYN-ACK went out
    run = get("fastopen", "server-1")
    expect_eq((run["verdict"],) + numbers(run, "syn_payload", "cookies_sent",
                                          "server_cookie_reqd", "server_passive"),
              ("does_not_hold", 0, 0, 2, 0), "server-1")
    run = get("fastopen", "client-0")
    expect_eq((run["verdict"], run["numbers"]["sendto_errno"], run["packets"]),
              ("does_not_hold", 95, []), "client-0")


def test_close3_kmod():
    runs()
    if not KMOD.get("loaded"):
        if os.environ.get("TCPSCOPE_KMOD_REQUIRED", "") not in ("", "0"):
            raise AssertionError("TCPSCOPE_KMOD_REQUIRED=1 but %s" % KMOD.get("why"))
        # without the module both variants say so, with nothing run
        for v in ("kmod-quickack", "kmod-delack"):
            run = get("close3", v)
            expect_eq((run["verdict"], run["packets"]), ("skipped", []), v)
            if "tcpscope.ko is not loaded" not in run["reason"]:
                raise AssertionError("reason %r" % run["reason"])
        raise Skip("tcpscope.ko not loaded: %s" % KMOD.get("why"))
    run = get("close3", "kmod-quickack")
    expect_eq(run["setup"], ["server net.tcpscope.quickack=1"], "setup")
    expect_close(run, CLOSE4, 0, "does_not_hold", 4)
    run = get("close3", "kmod-delack")
    expect_eq(run["setup"], ["server net.tcpscope.delack_max_ms=12"], "setup")
    expect_close(run, CLOSE4, 1, "does_not_hold", 4)
    # the module's cap (12 ms, whole jiffies) instead of TCP_DELACK_MIN (40 ms)
    gap = run["numbers"]["ack_after_fin_us"]
    if not 8000 <= gap < 30000:
        raise AssertionError("delayed ACK after %d us with delack_max_ms=12" % gap)


def test_simultaneous():
    run = get("simultaneous")
    both = ["CLOSE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSING",
            "TIME_WAIT"]
    expect_eq((run["verdict"], run["paths"]), ("holds", {"client": both, "server": both}),
              about(run, "simultaneous open and close"))
    expect_eq(numbers(run, "syns_crossed", "open_segments", "both_syn_recv", "both_closing",
                      "both_time_wait"), (1, 4, 1, 1, 1), "numbers")
    expect_eq(sorted((p["from"], p["flags"]) for p in run["packets"] if p["dropped"]),
              [("client", "F."), ("client", "S"), ("server", "F."), ("server", "S")],
              "dropped")
    # the crossing SYNs: each side's SYN, then each side's SYN-ACK
    opening = [(p["from"], p["flags"]) for p in run["packets"]
               if not p["dropped"] and "S" in p["flags"]]
    expect_eq(sorted(opening[:2]), [("client", "S"), ("server", "S")], "SYNs first")
    expect_eq(sorted(opening[2:]), [("client", "S."), ("server", "S.")], "then SYN-ACKs")


def test_simultaneous_netem():
    run = get("simultaneous", "netem")
    if run["verdict"] == "skipped":
        if modules():
            raise AssertionError("skipped on a kernel with modules: %s" % run["reason"])
        raise Skip(run["reason"])
    expect_eq(run["setup"], ["client c0: tc qdisc netem delay 100ms"], "setup")
    both = ["CLOSE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSING",
            "TIME_WAIT"]
    expect_eq((run["verdict"], run["paths"]), ("holds", {"client": both, "server": both}),
              about(run, "simultaneous open and close with a delay"))


@slow
def test_timewait_long():
    run = run_json("timewait", None, "--long", timeout=120)
    lasted = run["numbers"]["timewait_lasted_ms"]
    # TCP_TIMEWAIT_LEN, rounded up by the timer wheel (level 3 at HZ=250: < 2.05 s)
    if not 60000 <= lasted < 62100:
        raise AssertionError("TIME_WAIT lasted %d ms" % lasted)
    expect_eq(run["paths"]["client"][-2:], ["TIME_WAIT", "CLOSE"], "client path")


def tshark_fields(path):
    p = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=,",
                        "-e", "ip.src", "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.ack",
                        "-e", "tcp.len", "-e", "tcp.seq_raw"],
                       capture_output=True, text=True, timeout=60)
    expect_eq(p.returncode, 0, "tshark exit code (%s)" % p.stderr)
    return [line.split(",") for line in p.stdout.splitlines()]


FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, ".": 0x10, "U": 0x20, "E": 0x40,
             "W": 0x80}


def test_pcap_matches_json():
    if not shutil.which("tshark"):
        raise Skip("no tshark (Debian package tshark)")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "close3.pcap")
        run = run_json("close3", "quickack", "--pcap", path)
        rows = tshark_fields(path)
    expect_eq(len(rows), len(run["packets"]), "segments in the pcap")
    for i, (row, p) in enumerate(zip(rows, run["packets"])):
        src, tflags, seq, ack, length, raw = row
        bits = sum(FLAG_BITS[c] for c in p["flags"])
        want_src = "10.77.0.1" if p["from"] == "client" else "10.77.0.2"
        got = (src, int(tflags, 16), int(seq), int(length), int(raw))
        expect_eq(got, (want_src, bits, p["seq"], p["len"], p["raw_seq"]), "segment %d" % i)
        if bits & 0x10:
            expect_eq(int(ack), p["ack"], "segment %d ack" % i)


def test_svg():
    import xml.etree.ElementTree as ET
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "lastack.svg")
        run = run_json("lastack", None, "--svg", path)
        root = ET.parse(path).getroot()  # well-formed
        ns = "{http://www.w3.org/2000/svg}"
        expect_eq(root.tag, ns + "svg", "root element")
        lines = [e.get("class") for e in root.iter(ns + "line") if e.get("class")]
        expect_eq((lines.count("seg"), lines.count("drop")),
                  (len([p for p in run["packets"] if not p["dropped"]]),
                   len([p for p in run["packets"] if p["dropped"]])), "arrows")
        texts = [e.text for e in root.iter(ns + "text")]
        for p in run["packets"]:
            label = "%s seq %d%s len %d" % (p["flags"], p["seq"],
                                            " ack %d" % p["ack"] if "." in p["flags"] else "",
                                            p["len"])
            if label not in texts:
                raise AssertionError("no arrow label %r" % label)
        if not shutil.which("rsvg-convert"):
            raise Skip("no rsvg-convert (Debian package librsvg2-bin) to render it")
        png = os.path.join(d, "lastack.png")
        r = subprocess.run(["rsvg-convert", path, "-o", png], capture_output=True, text=True)
        expect_eq((r.returncode, r.stderr), (0, ""), "rsvg-convert")
        with open(png, "rb") as f:
            expect_eq(f.read(8), b"\x89PNG\r\n\x1a\n", "PNG signature")


def lab_netns_fds(pid):
    """The network namespaces a process holds open by descriptor: {inode}."""
    found = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("net:["):
                found.add(int(link[5:-1]))
    except FileNotFoundError:
        pass
    return found


def netns_in_use(inodes):
    """Those of inodes some process still has as its namespace or holds open."""
    held = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            held.add(os.stat("/proc/%s/ns/net" % pid).st_ino)
        except OSError:
            pass
        held |= lab_netns_fds(int(pid))
    return inodes & held


def test_ctrl_c_removes_namespaces():
    proc = subprocess.Popen([TCPSCOPE, "lab", "all"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        seen = set()
        host = os.stat("/proc/self/ns/net").st_ino
        while not seen and proc.poll() is None and time.monotonic() < deadline:
            seen = lab_netns_fds(proc.pid) - {host}
        if not seen:
            raise AssertionError("lab all opened no namespace (exit %r)" % proc.poll())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # it may have finished the run in hand, but it stops there and says so, or at once
    if proc.returncode == 1:
        if "interrupted" not in err:
            raise AssertionError("exit 1 without 'interrupted': %r" % err)
    elif proc.returncode != 0:
        raise AssertionError("exit %d: %r" % (proc.returncode, err))
    expect_eq(netns_in_use(seen), set(), "lab namespaces left behind")


def test_cli_errors():
    expect_cli_errors([TCPSCOPE, "lab"], [
        (["nosuch"], "'nosuch' is not an experiment (tcpscope lab list)"),
        (["close3", "--variant", "nosuch"], "'nosuch' is not a variant of close3"),
        (["all", "--pcap", "/tmp/x.pcap"], "--pcap: needs one experiment, not 'all'"),
        (["list", "--long"], "--long: applies to experiments"),
    ], stderr_starts="tcpscope: ")


if __name__ == "__main__":
    sys.exit(ksft_main(globals()))

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
from tcpscope_lib import Skip, expect_cli_errors, expect_eq, ksft_main  # noqa: E402

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


def run_json(name, variant=None, *extra):
    args = [name, "--json", *extra] + (["--variant", variant] if variant else [])
    out = lab(*args).stdout
    expect_eq(out.count("\n"), 1, "lines of JSON")
    run = json.loads(out)
    expect_eq((run["experiment"], run["variant"]), (name, variant or "default"), "run")
    for p in run["packets"]:
        if p["dropped"]:
            raise AssertionError("unexpected dropped segment %r" % p)
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
               ("close3", ["default", "quickack", "late-close"])], "experiments")
    text = lab("list").stdout
    expect_eq(text.splitlines()[3], "              variants: default, quickack, late-close",
              "lab list")
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
        (["all", "--pcap", "/tmp/x.pcap"], "--svg and --pcap need one experiment"),
        (["handshake", "--long"], "--long applies to lab all"),
    ], stderr_starts="tcpscope: ")


if __name__ == "__main__":
    sys.exit(ksft_main(globals()))

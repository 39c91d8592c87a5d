#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Records real `tcpscope lab` runs as C++ data for the lab's unit tests: reads the output of
`tcpscope lab all --json` (a file, or runs BINARY) and writes userspace/lab/recorded_runs_testdata.cpp,
each run's segments, transitions, calls, snapshots, counters and the verdict and numbers the
agent gave. The unit tests rebuild each trace and check that the verdict functions give the
same verdict and numbers again (userspace/lab/verdict_test.cpp).
Usage: tools/lab_record.py (--json FILE | --tcpscope BINARY) [-o OUT]"""

import argparse
import json
import os
import subprocess
import sys

FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, ".": 0x10, "U": 0x20, "E": 0x40,
             "W": 0x80}


def c_str(s):
    return json.dumps(s)  # a JSON string is a valid C string literal for ASCII text


def side(s):
    return "Side::" + s


def state(name):
    return "TCP_" + name if name else "0"


def flags(f):
    return "0x%02x" % (0 if f == "none" else sum(FLAG_BITS[c] for c in f))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--json", help="output of tcpscope lab all --json")
    g.add_argument("--tcpscope", help="run BINARY lab all --json")
    ap.add_argument("-o", "--out", default="userspace/lab/recorded_runs_testdata.cpp")
    opts = ap.parse_args()
    if opts.json:
        text = open(opts.json).read()
    else:
        text = subprocess.run([opts.tcpscope, "lab", "all", "--json"], check=True,
                              capture_output=True, text=True).stdout
    runs = [json.loads(line) for line in text.splitlines()]
    out = []
    w = out.append
    w("// SPDX-License-Identifier: GPL-2.0")
    w("// Real `tcpscope lab all --json` runs on Linux %s, recorded by tools/lab_record.py:"
      % os.uname().release)
    w("// generated, do not edit. verdict_test.cpp rebuilds each trace and judges it again. Linked")
    w("// into the unit tests only (the Makefile's *_testdata.cpp), and built once, at -O0.")
    w("")
    w("#include <netinet/tcp.h>")
    w("")
    w("#include <cerrno>")
    w("")
    w('#include "lab/recorded.h"')
    w("")
    w("namespace tcpscope::lab::recorded {")
    w("")
    w("const std::vector<Run> &runs()")
    w("{")
    w("\tstatic const std::vector<Run> all = {")
    for r in runs:
        cport = int(r["client"].rsplit(":", 1)[1])
        w("\t\t{%s, %s, %s, %d, %d," % (c_str(r["experiment"]), c_str(r["variant"]),
                                        c_str(r["verdict"]), cport,
                                        int(r["server"].rsplit(":", 1)[1])))
        w("\t\t {%s}," % ", ".join(c_str(s) for s in r["setup"]))
        w("\t\t {")
        for p in r["packets"]:
            tfo = {None: 0, "request": 1, "cookie": 2}[p["fastopen"]]
            w("\t\t\t{%d, %s, %s, %du, %du, %d, %d, %d, %d, %d, %d, %s}," % (
                p["t_us"], side(p["from"]), flags(p["flags"]), p["raw_seq"], p["raw_ack"],
                p["len"], p["win"], p["sport"], p["dport"], tfo, p["gso_segs"],
                "true" if p["dropped"] else "false"))
        w("\t\t },")
        w("\t\t {")
        for t in r["transitions"]:
            w("\t\t\t{%d, %s, %s, %s, %d, %d}," % (t["t_us"], side(t["side"]), state(t["old"]),
                                                 state(t["new"]), t["sport"], t["dport"]))
        w("\t\t },")
        w("\t\t {")
        for c in r["calls"]:
            w("\t\t\t{%d, %s, %s, %d, %s}," % (c["t_us"], side(c["side"]), c_str(c["call"]),
                                              c["ret"], c["errno"] or "0"))
        w("\t\t },")
        w("\t\t {")
        for s in r["snapshots"]:
            w("\t\t\t{%d, %s, %s, %d, %du}," % (s["t_us"], side(s["side"]),
                                               state(s["state"]) if s["state"] != "UNKNOWN"
                                               else "0", s["timer"], s["expires_ms"]))
        w("\t\t },")
        w("\t\t {")
        for sd in ("client", "server"):
            for k, v in r["counters"][sd].items():
                w("\t\t\t{%s, %s, %d}," % (side(sd), c_str(k), v))
        w("\t\t },")
        w("\t\t {")
        for k, v in r["numbers"].items():
            w("\t\t\t{%s, %d}," % (c_str(k), v))
        w("\t\t }},")
    w("\t};")
    w("\treturn all;")
    w("}")
    w("")
    w("} // namespace tcpscope::lab::recorded")
    with open(opts.out, "w") as f:
        f.write("\n".join(out) + "\n")
    # the tree's own style, as `make format` would leave it
    subprocess.run(["clang-format", "-i", opts.out], check=True)
    print("%s: %d runs" % (opts.out, len(runs)), file=sys.stderr)


if __name__ == "__main__":
    main()

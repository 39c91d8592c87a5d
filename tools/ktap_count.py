#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Counts test cases in the KTAP output of the kernel's run_kselftest.sh.

    tools/ktap_count.py [--expect N] LOG
        prints "N passed, N failed, N skipped"; exit 1 if any failed

--expect N: the number of test programs that must have reported (the lines of
kselftest-list.txt); each one missing from LOG counts as a failure.

Each test program's own cases (the "# ok N name" lines one level down: kselftest_harness
tests, the cases of tcpscope_lib.py's runner and of ktap.sh) are counted one by one. A
program that reported no cases (a whole-program skip, "1..0 # SKIP reason", or a
"Bail out!") counts as one case by its top-level line; one that failed at the top level
(crash, TIMEOUT, non-zero exit) while none of its cases failed counts one failure more, so
nothing is lost.
"""

import re
import sys

TOP = re.compile(r"^(not )?ok \d+\b ?(.*?)(?:\s*# (SKIP|TIMEOUT)\b.*)?$")
CASE = re.compile(r"^# (not )?ok \d+\b ?(.*?)(?:\s*# (SKIP)\b.*)?$", re.IGNORECASE)


def count(lines):
    passed = failed = skipped = programs = 0
    cases = {"pass": 0, "fail": 0, "skip": 0}
    for line in lines:
        line = line.rstrip("\r\n")
        m = CASE.match(line)
        if m:
            key = "fail" if m.group(1) else "skip" if m.group(3) else "pass"
            cases[key] += 1
            continue
        m = TOP.match(line)
        if not m:
            continue
        ok, directive = not m.group(1), m.group(3)
        programs += 1
        if sum(cases.values()) == 0:
            if directive == "SKIP":
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
        else:
            passed += cases["pass"]
            failed += cases["fail"]
            skipped += cases["skip"]
            if not ok and directive != "SKIP" and cases["fail"] == 0:
                failed += 1
        cases = {"pass": 0, "fail": 0, "skip": 0}
    # cases after the last top-level line: the program never finished
    if sum(cases.values()):
        passed += cases["pass"]
        failed += cases["fail"] + 1
        skipped += cases["skip"]
    return passed, failed, skipped, programs


def main(argv):
    expect = None
    if len(argv) == 3 and argv[0] == "--expect" and argv[1].isdigit():
        expect, argv = int(argv[1]), argv[2:]
    if len(argv) != 1:
        print("usage: ktap_count.py [--expect N] LOG", file=sys.stderr)
        return 2
    with open(argv[0], errors="replace") as f:
        p, f_, s, programs = count(f)
    if expect is not None and programs < expect:
        print("ktap_count: %d of %d test programs did not report" % (expect - programs, expect),
              file=sys.stderr)
        f_ += expect - programs
    print("%d passed, %d failed, %d skipped" % (p, f_, s))
    return 1 if f_ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs every test suite of `make check` and closes with one "N passed, N failed, N skipped"
# line over all of them. Exit status: 0 when nothing failed, 1 otherwise.
# Usage: tools/run-checks.sh BUILD_DIR PYTHON
set -uo pipefail
build=$1 python=$2
pass=0 fail=0 skip=0

echo "== unit tests (gtest)"
"$build/unit_tests" 2>&1 | tee "$build/unit_tests.log"
unit_rc=${PIPESTATUS[0]}
p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\.$/\1/p' "$build/unit_tests.log")
f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\?, listed below:$/\1/p' "$build/unit_tests.log")
pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0}))
if [ "$unit_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then fail=$((fail + 1)); fi

echo "== host tests (root, real BPF on $(uname -r))"
"$python" selftests/tcpscope/observer_test.py --tcpscope "$build/tcpscope" 2>&1 |
	tee "$build/host_tests.log"
host_rc=${PIPESTATUS[0]}
read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
	"$build/host_tests.log" | tail -n 1)
pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
if [ "$host_rc" -ne 0 ] && [ "$host_rc" -ne 4 ] && [ "${f:-0}" -eq 0 ]; then fail=$((fail + 1)); fi

echo "== all suites"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs one of the agent's python test files (KTAP) against the tcpscope binary installed
# beside this script, or $TCPSCOPE; observer.sh, stats.sh and top.sh call it. The test file
# itself (tcpscope_lib.ksft_main) checks for root and the binary. Needs python3.
# Usage: agent_test.sh TEST.py [ARGS...]
dir=$(dirname "$(readlink -f "$0")")
. "$dir/ktap.sh"
test=$1
shift

command -v python3 >/dev/null || ktap_skip_all "$test needs python3"
exec python3 "$dir/$test" --tcpscope "${TCPSCOPE:-$dir/tcpscope}" "$@"

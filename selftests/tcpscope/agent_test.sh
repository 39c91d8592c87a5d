#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs one of the agent's python test files (KTAP) against the tcpscope binary installed
# beside this script, or $TCPSCOPE; observer.sh and stats.sh call it. Needs root, BPF with
# BTF, and python3. Usage: agent_test.sh TEST.py [ARGS...]
dir=$(dirname "$(readlink -f "$0")")
ksft_skip=4
tcpscope=${TCPSCOPE:-$dir/tcpscope}
test=$1
shift

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $test needs root"
	exit $ksft_skip
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: $test needs python3"
	exit $ksft_skip
fi
if [ ! -x "$tcpscope" ]; then
	echo "SKIP: no tcpscope binary at $tcpscope (set TCPSCOPE)"
	exit $ksft_skip
fi
exec python3 "$dir/$test" --tcpscope "$tcpscope" "$@"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope's observer tests (observer_test.py, KTAP) against the tcpscope binary installed
# beside this script, or $TCPSCOPE. Needs root, BPF with BTF, and python3.
# Set TCPSCOPE_QUICK=1 to leave out the 60 s TIME_WAIT expiry test.
dir=$(dirname "$(readlink -f "$0")")
ksft_skip=4
tcpscope=${TCPSCOPE:-$dir/tcpscope}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: observer tests need root"
	exit $ksft_skip
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: observer tests need python3"
	exit $ksft_skip
fi
if [ ! -x "$tcpscope" ]; then
	echo "SKIP: no tcpscope binary at $tcpscope (set TCPSCOPE)"
	exit $ksft_skip
fi
exec python3 "$dir/observer_test.py" --tcpscope "$tcpscope" ${TCPSCOPE_QUICK:+--quick}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs each libFuzzer harness for a bounded time from its seed corpus and reports, per
# harness, the executions, the corpus it ended with and what it found; then the closing
# "N passed, N failed, 0 skipped" line (a harness that found a crash, leak or timeout fails).
# Usage: tools/fuzz/run.sh FUZZ_DIR SECONDS NAME...   (make fuzz; FUZZ_SECONDS=N)
set -uo pipefail
dir=$1 secs=$2
shift 2
here=$(dirname "$(readlink -f "$0")")
pass=0 fail=0
report=()

for name in "$@"; do
	corpus=$dir/corpus/$name
	log=$dir/$name.log
	mkdir -p "$corpus"
	# new inputs go to the build tree's corpus; the seeds in the source tree stay as they are
	"$dir/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/$name-" "$corpus" \
		"$here/corpus/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	units=$(find "$corpus" -type f | wc -l)
	found=$(ls "$dir/$name-"* 2>/dev/null | tr '\n' ' ')
	if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
		pass=$((pass + 1)) what="nothing found"
	else
		fail=$((fail + 1)) what="FOUND (exit $rc): ${found:-see $log}"
		grep -m 3 'ERROR: \|runtime error:\|deadly signal' "$log" | sed 's/^/    /'
	fi
	report+=("$(printf '%-14s %10s executions in %ss, %4s inputs in corpus: %s' "$name" \
		"${runs:-?}" "$secs" "$units" "$what")")
	echo "${report[-1]}"
done
echo "== fuzzing"
printf '%s\n' "${report[@]}"
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]

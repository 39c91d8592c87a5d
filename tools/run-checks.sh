#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs test suites and closes with one "N passed, N failed, N skipped" line per suite, then
# the same line over all of them. Exit status: 0 when nothing failed, 1 otherwise.
# Usage: tools/run-checks.sh BUILD_DIR SUITE...
#   unit      the gtest unit tests ($BUILD/unit_tests)
#   unit-asan the same unit tests built with ASan and UBSan ($BUILD/asan/unit_tests)
#   host-asan the agent's host tests (observer, stats, top) against $BUILD/asan/tcpscope
#   deploy    deploy/'s Prometheus rules and configuration: promtool check and test rules
#   deb       the Debian packages of `make deb` ($BUILD/deb) installed, checked, purged
#             (tools/test-deb.sh), DKMS's module loaded in a VM of each vm:K suite given
#   host      the installed kselftests ($BUILD/kselftest/run_kselftest.sh) on this kernel
#   vm:K      the same kselftests inside QEMU on Debian kernel series K (tools/vm/run);
#             all vm suites run at once, after the others, their logs shown in turn;
#             tcpscope.ko is required there (TCPSCOPE_KMOD_REQUIRED=1): the module's
#             tests fail, never skip, without a module that loads on the guest kernel
# Environment: TCPSCOPE_QUICK=1 leaves out the 60 s TIME_WAIT expiry test;
# VM_TIMEOUT (seconds, default 1200) bounds each VM run.
set -uo pipefail
build=$1
shift
ksft=$build/kselftest
pass=0 fail=0 skip=0 vms=""
summary=()
declare -A pids
here=$(dirname "$(readlink -f "$0")")

add() { # add "P passed, F failed, S skipped" from a log's last such line
	local p f s
	read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
		"$1" | tail -n 1)
	pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
	summary+=("$(printf '%-36s %s passed, %s failed, %s skipped' "$2:" "${p:-0}" "${f:-0}" "${s:-0}")")
	echo "== ${summary[-1]}"
	echo "== $2: $((SECONDS - ${t0:-0})) s"
}

ksft_count() { # LOG NAME: count a run_kselftest.sh log, every listed program must report
	"$here/ktap_count.py" --expect "$(wc -l <"$ksft/kselftest-list.txt")" "$1" >"$1.count"
	add "$1.count" "$2"
}

for suite in "$@"; do
	t0=$SECONDS
	case $suite in
	unit | unit-asan)
		bin=$build/unit_tests name="unit tests"
		if [ "$suite" = unit-asan ]; then
			bin=$build/asan/unit_tests name="unit tests (ASan+UBSan)"
		fi
		echo "== $name (gtest)"
		# a sanitizer report aborts the run: it fails even with no test failed
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
			UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "$bin" 2>&1 | tee "$bin.log"
		rc=${PIPESTATUS[0]}
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\.$/\1/p' "$bin.log")
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\?, listed below:$/\1/p' "$bin.log")
		if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
		echo "${p:-0} passed, ${f:-0} failed, 0 skipped" >"$bin.count"
		add "$bin.count" "$name"
		;;
	host-asan)
		echo "== the agent's host tests against $build/asan/tcpscope"
		log=$build/host-asan.log
		p=0 f=0 s=0
		: >"$log"
		for t in observer_test.py stats_test.py top_test.py; do
			# halt_on_error: the agent dies on its first report, and the test with it
			ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1} \
				"$here/../selftests/tcpscope/$t" --tcpscope "$build/asan/tcpscope" \
				$([ -n "${TCPSCOPE_QUICK:-}" ] && echo --quick) 2>&1 | tee -a "$log.$t"
			read -r tp tf ts < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
				"$log.$t" | tail -n 1)
			[ -z "$tp" ] && tf=1
			p=$((p + ${tp:-0})) f=$((f + ${tf:-0})) s=$((s + ${ts:-0}))
			cat "$log.$t" >>"$log" && rm -f "$log.$t"
		done
		if grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
			echo "== sanitizer reports in $log: one failure more"
			f=$((f + 1))
		fi
		echo "$p passed, $f failed, $s skipped" >>"$log"
		add "$log" "host tests (agent with ASan+UBSan)"
		;;
	deploy)
		echo "== deploy/: promtool"
		log=$build/deploy.log
		p=0 f=0
		: >"$log"
		for c in "check rules deploy/tcpscope-rules.yml" "test rules deploy/tcpscope-rules.test.yml" \
			"check config deploy/prometheus.yml"; do
			# shellcheck disable=SC2086
			if (cd "$here/.." && promtool $c) >>"$log" 2>&1; then
				p=$((p + 1)) r="ok"
			else
				f=$((f + 1)) r="not ok"
			fi
			echo "$r $((p + f)) promtool $c" >>"$log"
		done
		echo "$p passed, $f failed, 0 skipped" >>"$log"
		cat "$log"
		add "$log" "deploy/ rules and configuration"
		;;
	deb)
		echo "== Debian packages ($build/deb)"
		kernels=()
		for s in "$@"; do case $s in vm:*) kernels+=("${s#vm:}") ;; esac; done
		"$here/test-deb.sh" "$build/deb" "${kernels[@]}" 2>&1 | tee "$build/test-deb.log"
		rc=${PIPESTATUS[0]}
		# skipped as a whole (not root), or a run that died before its closing line
		if [ "$rc" -eq 4 ]; then
			echo "0 passed, 0 failed, 1 skipped" >>"$build/test-deb.log"
		elif [ "$rc" -ne 0 ] && ! grep -q ' [1-9][0-9]* failed, ' "$build/test-deb.log"; then
			echo "0 passed, 1 failed, 0 skipped" >>"$build/test-deb.log"
		fi
		add "$build/test-deb.log" "Debian packages"
		;;
	host)
		echo "== kselftests on this host ($(uname -r))"
		log=$build/kselftest-host.log
		TCPSCOPE_QUICK=${TCPSCOPE_QUICK:-} "$ksft/run_kselftest.sh" 2>&1 | tee "$log"
		ksft_count "$log" "host ($(uname -r))"
		;;
	vm:*)
		vms="$vms ${suite#vm:}"
		;;
	*)
		echo "run-checks: unknown suite '$suite' (unit, unit-asan, deploy, deb, host, host-asan, vm:6.1, vm:6.12)" >&2
		exit 2
		;;
	esac
done

# The guests run side by side: each QEMU (single-threaded TCG) keeps one host CPU busy.
if [ -n "$vms" ]; then
	t0=$SECONDS # the guests' times are from their common start
	for k in $vms; do
		echo "== kselftests in QEMU on Debian's $k kernel: started, log $build/kselftest-vm-$k.log"
		"$here/vm/run" --kernel "$k" --timeout "${VM_TIMEOUT:-1200}" \
			--console-log "$build/vm-$k-console.log" -- \
			env TCPSCOPE_QUICK="${TCPSCOPE_QUICK:-}" TCPSCOPE_KMOD_REQUIRED=1 \
			"$ksft/run_kselftest.sh" \
			>"$build/kselftest-vm-$k.log" 2>&1 &
		pids[$k]=$!
	done
	for k in $vms; do
		wait "${pids[$k]}"
		rc=$?
		echo "== kselftests in QEMU on Debian's $k kernel"
		cat "$build/kselftest-vm-$k.log"
		krel=$(sed -n 's/^tools\/vm\/run: booting \([^ ]*\) .*/\1/p' "$build/kselftest-vm-$k.log")
		ksft_count "$build/kselftest-vm-$k.log" "VM $k (${krel:-did not boot})"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 125 ]; then
			echo "== the $k VM failed (exit $rc), counted as one more failure"
			fail=$((fail + 1))
			summary+=("$(printf '%-36s the VM failed (exit %s): 1 failure more' "VM $k:" "$rc")")
		fi
	done
fi

echo "== all suites"
printf '%s\n' "${summary[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

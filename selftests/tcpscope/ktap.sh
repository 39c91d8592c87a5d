# SPDX-License-Identifier: GPL-2.0
# KTAP output for tcpscope's shell tests, sourced by kmod.sh and agent_test.sh. A test
# script defines one function per case and ends with `ktap_run CASE...`: the plan is
# counted from the cases, each case's status is its result (0 ok, $KSFT_SKIP a skip whose
# reason the case gave to ktap_skip, anything else a failure), and the closing
# "N passed, N failed, N skipped" line is counted from the results.
# POSIX sh: agent_test.sh runs under /bin/sh.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_pass=0
ktap_fail=0
ktap_skipped=0
ktap_reason=

# A program that cannot run at all (no root, no python3): KTAP's empty plan with the
# reason, and the kselftest skip status.
ktap_skip_all() { # REASON...
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit "$KSFT_SKIP"
}

# The program's precondition is missing where the test bed says it must be there:
# KTAP's bail-out, and a failure.
ktap_bail_out() { # REASON...
	echo "TAP version 13"
	echo "Bail out! $*"
	exit "$KSFT_FAIL"
}

# In a case: `ktap_skip "why"; return` reports the case as skipped with that reason.
ktap_skip() { # REASON...
	ktap_reason=$*
	return "$KSFT_SKIP"
}

ktap_run() { # CASE...: runs each function in order; exits 1 if one failed, 4 if all skipped
	ktap_n=0
	echo "TAP version 13"
	echo "1..$#"
	for ktap_case in "$@"; do
		ktap_n=$((ktap_n + 1))
		ktap_reason=
		"$ktap_case"
		case $? in
		0)
			echo "ok $ktap_n $ktap_case"
			ktap_pass=$((ktap_pass + 1))
			;;
		"$KSFT_SKIP")
			echo "ok $ktap_n $ktap_case # SKIP $ktap_reason"
			ktap_skipped=$((ktap_skipped + 1))
			;;
		*)
			echo "not ok $ktap_n $ktap_case"
			ktap_fail=$((ktap_fail + 1))
			;;
		esac
	done
	echo "# Totals: pass:$ktap_pass fail:$ktap_fail xfail:0 xpass:0 skip:$ktap_skipped error:0"
	echo "$ktap_pass passed, $ktap_fail failed, $ktap_skipped skipped"
	[ "$ktap_fail" -eq 0 ] || exit "$KSFT_FAIL"
	[ "$ktap_pass" -eq 0 ] && [ "$ktap_skipped" -gt 0 ] && exit "$KSFT_SKIP"
	exit "$KSFT_PASS"
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages as a user meets them: lintian clean, installed with apt on this host,
# `tcpscope --version`, the man pages, the systemd unit (verified, not enabled), DKMS
# building tcpscope.ko for the VM kernels' headers and the module loading from where DKMS put
# it inside each VM (tools/vm/run), then purge leaving no file behind; and `make install`
# then `make uninstall` into a DESTDIR leaving no file. KTAP output, closed by "N passed,
# N failed, N skipped". Needs root; the packages come from `make deb`.
# Usage: tools/test-deb.sh DEB_DIR VM_KERNEL...
set -uo pipefail
debs=$(readlink -f "$1")
shift
here=$(dirname "$(readlink -f "$0")")
version=$(head -n 1 "$here/../debian/changelog" | cut -d ' ' -f 2 | tr -d '()')
unit=/lib/systemd/system/tcpscope.service
# where a package may put or leave files; compared before install and after purge. DKMS's
# own signing key (/var/lib/dkms/mok.*), made at its first build of any module, is DKMS's.
tree_dirs="/etc /usr /lib /opt /var/lib/dkms"
# shellcheck source=../selftests/tcpscope/ktap.sh
. "$here/../selftests/tcpscope/ktap.sh"
work=$(mktemp -d /tmp/tcpscope-deb.XXXXXX)
trap 'installed tcpscope && purge; rm -rf "$work"' EXIT

cases=(lintian_reports_nothing install_with_apt version_is_the_changelogs man_pages_found
	unit_verifies_and_is_not_enabled)
for k in "$@"; do
	cases+=("dkms_module_loads_in_vm_$k")
	eval "dkms_module_loads_in_vm_$k() { dkms_module_loads_in_vm $k; }"
done
cases+=(purge_leaves_no_file make_install_and_uninstall_leave_no_file)

fail() { echo "# FAIL: $*"; return 1; }
files() { find $tree_dirs -xdev 2>/dev/null | grep -v '^/var/lib/dkms/mok\.' | LC_ALL=C sort; }
purge() { apt-get purge -y -q tcpscope tcpscope-dkms tcpscope-dbgsym >"$work/purge.log" 2>&1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

lintian_reports_nothing() {
	lintian --fail-on error,warning "$debs"/tcpscope_"$version"_*.changes 2>&1 |
		grep -v '^running with root privileges' | sed 's/^/# /'
	return "${PIPESTATUS[0]}"
}

install_with_apt() {
	local p
	for p in tcpscope tcpscope-dkms tcpscope-dbgsym; do
		installed "$p" && fail "$p is installed before the test" && return 1
	done
	files >"$work/before"
	# without Recommends (linux-headers-amd64): what is compared is what these packages do
	apt-get install -y -q --no-install-recommends "$debs/tcpscope_${version}_"*.deb "$debs/tcpscope-dkms_${version}_all.deb" \
		"$debs/tcpscope-dbgsym_${version}_"*.deb >"$work/install.log" 2>&1 ||
		{ sed 's/^/# /' "$work/install.log" | tail -n 30; return 1; }
	installed tcpscope && installed tcpscope-dkms && installed tcpscope-dbgsym
}

version_is_the_changelogs() {
	local got
	got=$(/usr/sbin/tcpscope --version) || return 1
	[ "$got" = "tcpscope $version" ] || fail "tcpscope --version: '$got', want 'tcpscope $version'"
}

man_pages_found() {
	local page path file
	for page in tcpscope tcpscope-watch tcpscope-stats tcpscope-serve tcpscope-top tcpscope-lab \
		tcpscope-events tcpscope-kernel tcpscope-sysctl tcpscope-deploy; do
		path=$(man -w "$page" 2>&1) || fail "man -w $page: $path" || return 1
		file=${page/tcpscope-serve/tcpscope-stats} # serve is documented with stats
		case $path in /usr/share/man/man[78]/"$file".[78].gz) ;;
		*) fail "man -w $page: $path" || return 1 ;; esac
		# the page renders without a groff warning
		[ -z "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$path" 2>&1 >/dev/null)" ] ||
			fail "man --warnings $path: $(man --warnings -l "$path" 2>&1 >/dev/null | head -n 3)" ||
			return 1
	done
	echo "# man -w tcpscope: $(man -w tcpscope)"
}

unit_verifies_and_is_not_enabled() {
	local out score
	grep -qx "ExecStart=/usr/sbin/tcpscope serve --listen 127.0.0.1:9977" $unit ||
		fail "$unit: ExecStart is not /usr/sbin/tcpscope" || return 1
	out=$(systemd-analyze verify $unit 2>&1) || fail "systemd-analyze verify: $out" || return 1
	[ -z "$out" ] || fail "systemd-analyze verify: $out" || return 1
	[ -z "$(find /etc/systemd/system -name tcpscope.service 2>/dev/null)" ] ||
		fail "the unit is enabled: $(find /etc/systemd/system -name tcpscope.service)" || return 1
	score=$(systemd-analyze security --offline=true $unit 2>/dev/null |
		sed -n 's/.*Overall exposure level for tcpscope.service: \([0-9.]*\).*/\1/p')
	echo "# systemd-analyze security: exposure $score"
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' ||
		fail "exposure '$score', want at most 3.0 (Documentation/tcpscope/deploy.rst)"
}

# DKMS builds the module for the kernel's headers (the package's postinst builds for the
# running kernel only), and the guest loads it by name from /lib/modules/.../updates/dkms.
dkms_module_loads_in_vm() {
	local series=$1 krel out dir
	krel=$(basename "$(ls -d /lib/modules/"$series"[.-]*/build 2>/dev/null | sort -V | tail -n 1 |
		xargs -r dirname)")
	[ -n "$krel" ] && [ "$krel" != . ] || fail "no headers of a $series kernel" || return 1
	dkms install -m tcpscope -v "$version" -k "$krel" >"$work/dkms-$series.log" 2>&1 ||
		{ sed 's/^/# /' "$work/dkms-$series.log" | tail -n 20; return 1; }
	out=$("$here/vm/run" --kernel "$series" --timeout 300 -- sh -c \
		'modprobe tcpscope && modinfo -F filename tcpscope && cat /proc/sys/net/tcpscope/fin_timeout &&
		 rmmod tcpscope' 2>&1)
	echo "$out" | sed 's/^/# /'
	dir=/lib/modules/$krel/updates/dkms
	echo "$out" | grep -qxF -e "$dir/tcpscope.ko" -e "$dir/tcpscope.ko.xz" -e "$dir/tcpscope.ko.zst" ||
		fail "the guest did not load tcpscope.ko from DKMS's place"
}

purge_leaves_no_file() {
	purge || { sed 's/^/# /' "$work/purge.log" | tail -n 20; return 1; }
	files >"$work/after"
	if ! cmp -s "$work/before" "$work/after"; then
		diff "$work/before" "$work/after" | head -n 20 | sed 's/^/# /'
		return 1
	fi
	echo "# $(wc -l <"$work/before") paths under $tree_dirs: the same before install and after purge"
}

# The same files from the tree: make install-agent and install-dkms put them in a DESTDIR
# (the unit naming the agent's path), make uninstall and uninstall-dkms take every one away.
make_install_and_uninstall_leave_no_file() {
	local root=$work/root f
	make -s -C "$here/.." install-agent install-dkms DESTDIR="$root" PREFIX=/usr \
		>"$work/make-install.log" 2>&1 || { sed 's/^/# /' "$work/make-install.log"; return 1; }
	for f in usr/sbin/tcpscope usr/share/man/man8/tcpscope.8 usr/share/man/man8/tcpscope-serve.8 \
		usr/share/man/man7/tcpscope-sysctl.7 usr/share/doc/tcpscope/README.md \
		lib/systemd/system/tcpscope.service usr/src/tcpscope-"$version"/knobs.c; do
		[ -e "$root/$f" ] || fail "make install: no $f" || return 1
	done
	grep -qx 'PACKAGE_VERSION="'"$version"'"' "$root/usr/src/tcpscope-$version/dkms.conf" ||
		fail "dkms.conf: $(grep PACKAGE_VERSION "$root/usr/src/tcpscope-$version/dkms.conf")" ||
		return 1
	grep -q "^ExecStart=/usr/sbin/tcpscope serve" "$root/lib/systemd/system/tcpscope.service" ||
		fail "the unit does not start /usr/sbin/tcpscope" || return 1
	echo "# make install: $(find "$root" -type f | wc -l) files"
	make -s -C "$here/.." uninstall uninstall-dkms DESTDIR="$root" PREFIX=/usr \
		>"$work/make-uninstall.log" 2>&1 || { sed 's/^/# /' "$work/make-uninstall.log"; return 1; }
	f=$(find "$root" ! -type d)
	[ -z "$f" ] || fail "left after make uninstall: $(echo $f | head -c 300)"
}

[ "$(id -u)" -eq 0 ] || ktap_skip_all "needs root (apt, dkms)"
purge # a run that died half way may have left them installed
ktap_run "${cases[@]}"

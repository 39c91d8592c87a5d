#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs what tcpscope needs from Debian 12's archive, only what is missing. Idempotent: when
# everything is there it exits at once, without touching apt or the network.
set -eu

# build: clang/llvm (BPF), bpftool (vmlinux.h, skeletons), libbpf/libelf/zlib, C++ libraries,
#   clang-format (make format-check, the first step of make check)
# tests: gtest, python3, iproute2 (netns, veth), libbpf-tools (bcc's tcpstates, compared against),
#   prometheus (a real server scraping `tcpscope serve`, and promtool), libfuzzer-14-dev
#   (libFuzzer for clang 14: make fuzz), tshark (reads back the pcap files of
#   `tcpscope lab --pcap`), librsvg2-bin (renders its --svg pictures)
# VM test bed (tools/vm): QEMU, busybox-static (the guest's initramfs), the kernel's own
#   kselftest framework from linux-source-6.1 (its install step uses rsync), and Debian's
#   6.1 and 6.12 kernels with headers
# benchmarks (make bench): Google Benchmark (build/format_bench), matplotlib (the plot)
# packages (make deb, make man): debhelper with dh-dkms, dkms, lintian, docutils (rst2man)
PKGS="make pkg-config g++ clang clang-format llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
libcli11-dev libfmt-dev libgtest-dev python3 iproute2 libbpf-tools prometheus libfuzzer-14-dev \
tshark librsvg2-bin \
qemu-system-x86 busybox-static linux-source-6.1 rsync xz-utils \
libbenchmark-dev python3-matplotlib \
debhelper dh-dkms dkms dpkg-dev fakeroot lintian python3-docutils"
BACKPORTS=/etc/apt/sources.list.d/tcpscope-bookworm-backports.sources

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# a kernel series is there when some image of it has its headers (kbuild) next to it
have_kernel() {
	for b in /lib/modules/$1*/build; do
		[ -e "$b/Makefile" ] && [ -e "/boot/vmlinuz-$(basename "$(dirname "$b")")" ] &&
			return 0
	done
	return 1
}
kernels=""
have_kernel 6.1.0- || kernels="$kernels 6.1"
have_kernel 6.12. || kernels="$kernels 6.12"
[ -z "$missing" ] && [ -z "$kernels" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing${kernels:+ kernels:$kernels};" \
		"run as root (sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# Debian's 6.12 kernel for bookworm is in bookworm-backports: add that suite of the archive
# apt already uses (deb.debian.org unless the sources say otherwise).
if [ -n "$kernels" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list \
	/etc/apt/sources.list.d/; then
	echo "install-deps: adding bookworm-backports to apt's sources ($BACKPORTS)"
	cat >"$BACKPORTS" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

echo "install-deps: updating package lists"
apt-get update -q >/dev/null || echo "install-deps: apt-get update had errors; trying anyway" >&2

# linux-image-amd64 of a suite names that suite's current kernel ABI package
# (e.g. linux-image-6.1.0-56-amd64); install that one with its headers.
kernel_pkgs() {
	suite_re=$1
	ver=$(apt-cache madison linux-image-amd64 |
		awk -F'|' -v re="$suite_re" '$3 ~ re { gsub(/ /, "", $2); print $2; exit }')
	[ -n "$ver" ] || { echo "install-deps: no linux-image-amd64 in $suite_re" >&2; exit 1; }
	img=$(apt-cache show "linux-image-amd64=$ver" | sed -n 's/^Depends: \([^ ,]*\).*/\1/p')
	echo "$img $(echo "$img" | sed 's/^linux-image-/linux-headers-/')"
}
for k in $kernels; do
	case $k in
	6.1) missing="$missing $(kernel_pkgs ' bookworm(-security|-updates)?/main ')" ;;
	6.12) missing="$missing $(kernel_pkgs ' bookworm-backports/main ' |
		sed 's|\([^ ]*\)|\1/bookworm-backports|g')" ;;
	esac
done

echo "install-deps: installing$missing"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# The tests start their own Prometheus on a free port; the packaged service, which Debian
# starts on :9090 at install, is not wanted on a development machine.
case " $missing " in
*" prometheus "*)
	if [ -d /run/systemd/system ]; then
		echo "install-deps: disabling the prometheus service Debian started (tests run their own)"
		systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	fi ;;
esac

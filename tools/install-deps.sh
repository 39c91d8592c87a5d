#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs what tcpscope needs from Debian 12's archive, only what is missing. Idempotent.
set -eu

# build: clang/llvm (BPF), bpftool (vmlinux.h, skeletons), libbpf/libelf/zlib, C++ libraries
# tests: gtest, python3, iproute2 (netns, veth), libbpf-tools (bcc's tcpstates, compared against)
PKGS="make pkg-config g++ clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
libcli11-dev libfmt-dev libgtest-dev python3 iproute2 libbpf-tools"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo make deps)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || echo "install-deps: apt-get update had errors; trying the install anyway" >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

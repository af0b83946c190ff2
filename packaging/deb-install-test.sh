#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb-test: installs the packages of build/deb into a throwaway copy of
# this machine (an overlay of / with a tmpfs upper layer, in a mount
# namespace of its own, entered with chroot), checks what they installed
# (DKMS built dspm.ko for every kernel with headers, the group, the tools,
# the man pages, an application built with pkg-config), purges them and
# checks that DKMS removed the module.  Loads nothing; the machine itself is
# left as it was.  Root only (mounts).  TAP lines, then
# "deb-test: N passed, M failed".
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
debs=$repo/build/deb
[ "$(id -u)" -eq 0 ] || { echo "deb-test: needs root (mount namespace)" >&2; exit 1; }
ls "$debs"/dspm-dkms_*_all.deb >/dev/null || { echo "deb-test: no packages: make deb" >&2; exit 1; }
base=$(mktemp -d /tmp/dspm-deb-test.XXXXXX)
trap 'rmdir "$base" 2>/dev/null || true' EXIT

# The script the chroot runs; its TAP lines are the result.
inner='
set -u
n=0 pass=0 fail=0
t() { # NAME CMD...
	n=$((n + 1))
	if out=$("${@:2}" 2>&1); then pass=$((pass + 1)); echo "ok $n - $1"
	else fail=$((fail + 1)); echo "not ok $n - $1"; echo "$out" | tail -n 20 | sed "s/^/# /"; fi
}
export parallel_jobs=1 DEBIAN_FRONTEND=noninteractive
t "dpkg -i" dpkg -i /debs/libdspm1_*.deb /debs/libdspm-dev_*.deb /debs/dspm-tools_*.deb /debs/dspm-dkms_*.deb
for b in /lib/modules/*/build; do
	[ -e "$b/Makefile" ] || continue
	k=${b%/build}; k=${k##*/}
	t "dkms installed dspm.ko for $k" sh -c "dkms status -m dspm -k $k | grep -q installed && modinfo -k $k -n dspm"
done
t "group dspm" getent group dspm
t "units installed, not enabled" sh -c "test -e /lib/systemd/system/dspm-dispatcher.service && test -e /lib/systemd/system/dspm-node.service && ! systemctl is-enabled -q dspm-dispatcher dspm-node"
t "udev rule" grep -q "GROUP=\"dspm\", MODE=\"0660\"" /lib/udev/rules.d/60-dspm.rules
t "dspm-admin --version" dspm-admin --version
t "dspm-dispatcher --version" dspm-dispatcher --version
t "dspm-node check" sh -c "printf \"device = /dev/pmem0\n\" > /tmp/node.conf && /usr/libexec/dspm/dspm-node check /tmp/node.conf"
t "man pages" man -w dspm-admin dspm-dispatcher dspm-node dspm libdspm
t "an application builds with pkg-config" sh -c "printf \"#include <dspm/dspm.hpp>\nint main() { return dspm::library_version().empty(); }\n\" > /tmp/t.cpp && c++ -std=c++20 /tmp/t.cpp \$(pkg-config --cflags --libs libdspm) -o /tmp/t && /tmp/t"
t "dpkg --purge" dpkg --purge dspm-dkms dspm-tools libdspm-dev libdspm1
t "purge removed the module" sh -c "! dkms status -m dspm | grep -q . && ! ls /lib/modules/*/updates/dkms/dspm.ko* 2>/dev/null && ! test -e /usr/src/dspm-*"
echo "deb-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
'
nice -n 19 unshare -m bash -c '
set -eu
base=$1 debs=$2 inner=$3
mount --make-rprivate /
mount -t tmpfs -o size=4G tmpfs "$base"
mkdir "$base/up" "$base/work" "$base/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/up,workdir=$base/work" "$base/root"
r=$base/root
mount --bind /proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --bind /sys "$r/sys"
mount -t tmpfs tmpfs "$r/tmp"
mkdir -p "$r/debs"
cp "$debs"/*.deb "$r/debs/"
chroot "$r" bash -c "$inner"
' deb-test "$base" "$debs" "$inner"

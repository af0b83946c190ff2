#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# systemd-analyze verify on the configured units, their Exec paths pointed
# at the build tree (the installed ones do not exist yet).  Exit 77 (skip)
# without systemd-analyze.
# Usage: units_test.sh BUILD-DIR INSTALLED-SBINDIR INSTALLED-LIBEXECDIR
set -eu
build=$1 sbindir=$2 libexecdir=$3
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in dspm-dispatcher.service dspm-node.service; do
	sed -e "s|=$sbindir/dspm-dispatcher|=$build/dispatcher/dspm-dispatcher|" \
		-e "s|=$libexecdir/dspm/dspm-node|=$build/packaging/dspm-node|" \
		"$build/packaging/$unit" >"$tmp/$unit"
done
cd "$tmp"
# Any message is a finding: verify exits 0 on some warnings.
out=$(systemd-analyze verify --man=no ./dspm-dispatcher.service ./dspm-node.service 2>&1) || {
	echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "units: verified"

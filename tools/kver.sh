#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the Debian kernel version of a series (default 6.1, the one
# linux-image-amd64 installs) whose image and headers are installed.
series=${1:-6.1}
best=
for d in /lib/modules/"$series".*; do
	k=${d##*/}
	[ -e "/boot/vmlinuz-$k" ] && [ -e "$d/build/Makefile" ] || continue
	best=$(printf '%s\n%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -n1)
done
[ -n "$best" ] || { echo "kver.sh: no installed $series kernel with headers (run make deps)" >&2; exit 1; }
echo "$best"

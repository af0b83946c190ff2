#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extract the few files the checks need from Debian's linux-source-6.1
# tarball (checkpatch and its data, the kselftest headers) into $1.
set -eu
out=$1
tar=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
[ -e "$out/.stamp" ] && exit 0
[ -r "$tar" ] || { echo "ksrc.sh: $tar missing (make deps installs linux-source-6.1)" >&2; exit 1; }
mkdir -p "$out"
top=$(basename "$tar" .tar.xz)
tar -xJf "$tar" -C "$out" --strip-components=1 \
	"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h"
touch "$out/.stamp"

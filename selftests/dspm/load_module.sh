#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Inside a test VM only: load driver/dspm.ko unless /dev/dspm exists.
# crc32c comes from the crypto API; load it first so libcrc32c finds it.
set -e
cd "$(dirname "$0")/../.."
[ -e /dev/dspm ] && exit 0
modprobe -a libcrc32c crc32c_generic 2>/dev/null || true
modprobe -q crc32c-intel 2>/dev/null || true
insmod driver/dspm.ko
i=0
while [ ! -e /dev/dspm ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/dspm ]

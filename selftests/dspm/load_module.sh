#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Loads dspm.ko if /dev/dspm is absent: the argument, else $DSPM_KO (set by
# dspm-vm for the kernel the node booted), else <repo>/driver/dspm.ko.  Runs
# inside a dspm-vm guest only: never on the host (it refuses unless
# DSPM_VM_NODE is set, which the guest agent exports).
#
#   sh selftests/dspm/load_module.sh [path/to/dspm.ko]

set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ko=${1:-${DSPM_KO:-$repo/driver/dspm.ko}}

if [ -z "${DSPM_VM_NODE:-}" ]; then
	echo "load_module.sh: not in a dspm-vm guest (DSPM_VM_NODE unset); refusing to load a module" >&2
	exit 2
fi

# The device node may lag the module by a moment (devtmpfs).
wait_dev() {
	i=0
	while [ ! -c /dev/dspm ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -c /dev/dspm ]
}

if [ -c /dev/dspm ]; then
	exit 0
fi
if grep -q '^dspm ' /proc/modules 2>/dev/null; then
	wait_dev && exit 0
	echo "load_module.sh: dspm is loaded but /dev/dspm is missing" >&2
	exit 1
fi
if [ ! -f "$ko" ]; then
	echo "load_module.sh: $ko not found (build the driver first)" >&2
	exit 1
fi
# Dependencies: crc32c for the log checksums; the pmem stack for /dev/pmemN.
modprobe -a libcrc32c crc32c_generic crc32c-intel 2>/dev/null
modprobe -a nd_pmem dax_pmem 2>/dev/null
# dspm.ko links against the RDMA core and connection manager.
modprobe -a ib_core rdma_cm 2>/dev/null
if ! insmod "$ko"; then
	echo "load_module.sh: insmod $ko failed" >&2
	dmesg 2>/dev/null | tail -n 20 >&2
	exit 1
fi
if ! wait_dev; then
	echo "load_module.sh: /dev/dspm did not appear" >&2
	exit 1
fi
exit 0

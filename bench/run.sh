#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the benchmarks in a VM with two pmem devices: dspm on /dev/pmem0,
# an ext4 -o dax filesystem on /dev/pmem1 as the baseline, same VM, same
# run.  Results: build/bench/results.json and a table on stdout.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-bench}
export DSPM_VM_PMEM_COUNT=2
out=$repo/build/bench
mkdir -p "$out"
vm=$repo/tools/vm/dspm-vm
args=${DSPM_BENCH_ARGS:---pages 2048 --rounds 7}

"$vm" with --nodes 1 -- bash -c "
	set -e
	'$vm' run 1 'selftests/dspm/load_module.sh'
	'$vm' run 1 'mkfs.ext4 -q -F -b 4096 /dev/pmem1 && mkdir -p /mnt/dax && mount -o dax /dev/pmem1 /mnt/dax'
	'$vm' run 1 'build/user/tools/dspm-admin/dspm-admin attach --format /dev/pmem0'
	'$vm' run --timeout 1800 1 'build/user/bench/dspm-bench --dax-file /mnt/dax/bench $args --json' > '$out/results.json'
	'$vm' run 1 'build/user/tools/dspm-admin/dspm-admin detach'
	'$vm' dmesg-check 1
"
python3 - "$out/results.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
print(f"{'measure':<48} {'dspm':>12} {'DAX file':>12} {'ratio':>8}")
for r in rows:
    print(f"{r['what']:<48} {r['dspm']:>9.2f} {r['unit']:<2} {r['dax']:>9.2f} {r['unit']:<2} {r['ratio']:>7.2f}x")
PY

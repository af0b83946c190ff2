#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The run command's demo (make demo): a dataset on an emulated NVDIMM in a
# QEMU VM, a commit, uncommitted writes, a power failure (SIGKILL of QEMU),
# a reboot, and what survived.  Exits non-zero unless exactly the committed
# bytes survived.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-demo}
vm=$repo/tools/vm/dspm-vm
admin=build/user/tools/dspm-admin/dspm-admin
power_fail=build/user/examples/power_fail
writer_log=$DSPM_VM_DIR/writer.log
record="committed at $(date -u +%Y-%m-%dT%H:%M:%SZ)"

trap '"$vm" down' EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_vm() { echo "[node1]# $*"; "$vm" run 1 "$@"; }

"$vm" down
rm -f "$DSPM_VM_DIR"/node1/pmem*.img "$writer_log"

step "boot a VM with a 256 MiB NVDIMM (TCG, ~10 s)"
"$vm" start 1
in_vm "uname -r; ls -l /dev/pmem0; cat /sys/block/pmem0/queue/dax"

step "load dspm.ko, attach and format the pmem device, create a dataset"
in_vm selftests/dspm/load_module.sh
in_vm "$admin attach --format /dev/pmem0"
in_vm "$admin create demo --size 1M --mode 0644"
in_vm "$admin ls"

step "commit a record through libdspm, then write more without committing"
in_vm "nohup $power_fail write '$record' > $writer_log 2>&1 &"
for _ in $(seq 1 300); do
	grep -q 'waiting for the power' "$writer_log" 2>/dev/null && break
	sleep 0.2
done
cat "$writer_log"
grep -q 'waiting for the power' "$writer_log" || { echo "demo: the writer did not get there" >&2; exit 1; }
in_vm "$admin info"

step "power failure: SIGKILL of the VM's QEMU"
"$vm" kill 1
echo "node 1 is off; its NVDIMM image keeps whatever reached it"

step "boot again, re-attach (the redo log is replayed), look"
"$vm" start 1
in_vm selftests/dspm/load_module.sh
in_vm "$admin attach /dev/pmem0"
in_vm "$admin ls"
in_vm "$power_fail show '$record'"
"$vm" dmesg-check 1
in_vm "$admin detach"

step "demo passed: the commit survived the power failure; uncommitted bytes did not"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The run command's demo (make demo).  One node: a dataset on an emulated
# NVDIMM in a QEMU VM, a commit, uncommitted writes, a power failure (SIGKILL
# of QEMU), a reboot, and what survived.  Then a 3-node cluster over RDMA
# (Soft-RoCE): the dispatcher, joins, a dataset created on node 1 seen with
# its placement on nodes 2 and 3, a dispatcher restart the nodes ride out by
# themselves, a commit on node 1 read on nodes 2 and 3 (uncommitted bytes
# unseen), and a counter all three nodes increment concurrently.  Exits
# non-zero unless every step shows what it should.
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
on() { local n=$1; shift; echo "[node$n]# $*"; "$vm" run "$n" "$@"; }

"$vm" down
rm -f "$DSPM_VM_DIR"/node*/pmem*.img "$writer_log"

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
echo "the commit survived the power failure; uncommitted bytes did not"

dispatcher=build/user/dispatcher/dspm-dispatcher
key=$DSPM_VM_DIR/cluster.key
head -c 48 /dev/urandom | base64 > "$key"
chmod 600 "$key"
start_dispatcher() {
	on 1 "nohup $dispatcher --listen 10.77.0.1:7400 --transport rdma --state /var/tmp/dspm.db \
		--key-file $key >> $DSPM_VM_DIR/dispatcher.log 2>&1 & echo \$! > /tmp/dispatcher.pid"
	for _ in $(seq 1 50); do
		grep -q 'listening on' "$DSPM_VM_DIR/dispatcher.log" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "demo: the dispatcher did not start" >&2
	return 1
}
: > "$DSPM_VM_DIR/dispatcher.log"

step "a 3-node cluster: boot nodes 2 and 3, start the dispatcher in node 1 over RDMA"
"$vm" start 2 3
on 2 "rdma link show rxe0/1"
start_dispatcher
tail -n 2 "$DSPM_VM_DIR/dispatcher.log"

step "every node attaches its pmem and joins with the cluster key"
for n in 1 2 3; do
	on "$n" "selftests/dspm/load_module.sh && $admin attach --format /dev/pmem0"
	on "$n" "$admin join --dispatcher 10.77.0.1:7400 --transport rdma --key-file $key"
done
sleep 2
on 3 "$admin nodes"

step "node 1 creates a dataset with 2 replicas; nodes 2 and 3 see it and where its chunks live"
on 1 "$admin create ledger --size 192M --replicas 2"
on 2 "$admin ls"
echo "[node3]# $admin ls --json"
"$vm" run 3 "$admin ls --json" | tee "$DSPM_VM_DIR/ls.before.json"

step "restart the dispatcher: the nodes reconnect by themselves, nothing changes"
on 1 'kill -TERM $(cat /tmp/dispatcher.pid)'
sleep 1
start_dispatcher
for _ in $(seq 1 60); do
	"$vm" run 2 "$admin nodes" | grep -q 'link: connected' &&
		"$vm" run 3 "$admin ls --json" > "$DSPM_VM_DIR/ls.after.json" 2>/dev/null && break
	sleep 0.5
done
on 2 "$admin nodes"
on 3 "$admin ls"
cmp -s "$DSPM_VM_DIR/ls.before.json" "$DSPM_VM_DIR/ls.after.json" ||
	{ echo "demo: the namespace changed across the dispatcher restart" >&2; exit 1; }
grep -h 'rejoined\|reconnect\|joined' "$DSPM_VM_DIR/dispatcher.log" | tail -n 3

step "node 1 writes through its mapping and commits: two-phase, on both holders of the chunk; nodes 2 and 3 read it"
dsio=build/selftests/dsio
dsbank=build/selftests/dsbank
counter=build/user/examples/counter
on 1 "$dsio write ledger 0 hello-from-node-1"
on 2 "$dsio read ledger 0 17"
on 3 "$dsio read ledger 0 17"
on 1 "setsid $dsio hold ledger 4096 uncommitted 6 > /dev/null 2>&1 < /dev/null &"
sleep 1
echo "# node 1 holds 'uncommitted' at 4096 without committing; node 2 sees:"
on 2 "$dsio read ledger 4096 11"

step "all three nodes add 1 to one shared counter 200 times each, concurrently (examples/counter.cpp: libdspm's transact(), validated and retried on EAGAIN)"
on 1 "$admin create counter --size 1M --replicas 2"
for n in 1 2 3; do
	"$vm" run "$n" "setsid sh -c '$counter counter 200 > /tmp/add.out 2>&1; echo rc=\$? >> /tmp/add.out' < /dev/null > /dev/null 2>&1 &"
done
for n in 1 2 3; do
	for _ in $(seq 1 240); do
		"$vm" run "$n" "grep -q rc= /tmp/add.out" 2>/dev/null && break
		sleep 0.5
	done
	echo "[node$n]# cat /tmp/add.out"
	"$vm" run "$n" "cat /tmp/add.out"
done
for n in 1 2 3; do on "$n" "$dsbank get counter 0"; done
[ "$("$vm" run 2 "$dsbank get counter 0")" = 600 ] ||
	{ echo "demo: the counter is not 600" >&2; exit 1; }
on 1 "$admin stats"
for n in 1 2 3; do "$vm" dmesg-check "$n"; done

step "demo passed: a commit survived a power failure, the cluster kept its namespace across a dispatcher restart, and three nodes committed to shared pages as if one at a time"

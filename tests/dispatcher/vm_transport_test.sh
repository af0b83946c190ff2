#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The dispatcher over both transports, for real, in two VMs (tools/vm/dspm-vm): node 1 runs
# dspm-dispatcher, node 2 runs dspm-wire-probe against it over eth0 (TCP) and Soft-RoCE rxe0
# (RDMA): joins, a rejoin keeps its id, a wrong key is refused (by the probe, which checks
# the dispatcher's proof, and by the dispatcher), garbage does not stop the service, and
# SIGTERM shuts it down cleanly.  Nothing is loaded into any kernel (dspm.ko is not used).
#
#   tests/dispatcher/vm_transport_test.sh [tcp] [rdma]      (default: both)
#
# Environment: DSPM_VM_DIR (default build/vm-transport; the VMs of that dir are brought
# down at the end, always), DSPM_BUILD (build/user), DSPM_GARBAGE_COUNT (20000),
# DSPM_GARBAGE_SEED (1).  Prints "ok N - ..." / "not ok N - ..." and "# N passed, M failed";
# exits non-zero on any failure.
set -u -o pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 2
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-transport}
VM=$repo/tools/vm/dspm-vm
BUILD=${DSPM_BUILD:-$repo/build/user}
DISP=$BUILD/dispatcher/dspm-dispatcher
PROBE=$BUILD/dispatcher/tests/dspm-wire-probe
COUNT=${DSPM_GARBAGE_COUNT:-20000}
SEED=${DSPM_GARBAGE_SEED:-1}
PORT=7400
ADDR=10.77.0.1:$PORT
transports=("$@")
[ ${#transports[@]} -gt 0 ] || transports=(tcp rdma)

pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
# check DESCRIPTION CMD...: ok when CMD succeeds; its output as comments when it does not.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
	fi
}
summary() {
	echo "# $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$n" -gt 0 ]
}

for t in "${transports[@]}"; do
	[ "$t" = tcp ] || [ "$t" = rdma ] || { echo "Bail out! unknown transport '$t'"; exit 2; }
done
for b in "$DISP" "$PROBE"; do
	[ -x "$b" ] || { echo "Bail out! $b missing: build first (make user)"; exit 2; }
done

cleanup() { "$VM" down >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Files both guests and the host see at the same path: the state dir is shared with them.
mkdir -p "$DSPM_VM_DIR"
work=$DSPM_VM_DIR/transport-test
rm -rf "$work"
mkdir -p "$work"
head -c 48 /dev/urandom | base64 > "$work/cluster.key"
head -c 48 /dev/urandom | base64 > "$work/wrong.key"
chmod 600 "$work/cluster.key" "$work/wrong.key"

if out=$("$VM" start 1 2 2>&1); then
	ok "boot nodes 1 and 2"
else
	not_ok "boot nodes 1 and 2"
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	summary
	exit 1
fi
check "node 1 has rxe0 (Soft-RoCE on eth0)" "$VM" run 1 'rdma link show | grep -q "rxe0.*netdev eth0"'

run1() { "$VM" run 1 "$@"; }
run2() { "$VM" run --timeout 1800 2 "$@"; }
probe() { # transport args...
	local t=$1
	shift
	run2 "$PROBE --transport $t --connect $ADDR $*"
}
json_id() { sed -n 's/.*"node_id": \([0-9]*\).*/\1/p'; }

uuid_a=00112233445566778899aabbccddeeff
uuid_b=ffeeddccbbaa99887766554433221100

for t in "${transports[@]}"; do
	log=$work/dispatcher-$t.log
	pidf=$work/dispatcher-$t.pid
	state=/tmp/dispatcher-$t.db
	# setsid in a non-interactive shell execs the dispatcher itself: $! is its pid.
	run1 "rm -f $state $state-wal $state-shm; setsid $DISP --listen $ADDR --transport $t \
--state $state --key-file $work/cluster.key --heartbeat-ms 500 --suspect-ms 5000 \
--dead-ms 60000 > $log 2>&1 < /dev/null & echo \$! > $pidf" > /dev/null 2>&1
	listening=0
	for _ in $(seq 1 100); do
		if grep -q "listening on $ADDR ($t)" "$log" 2>/dev/null; then
			listening=1
			break
		fi
		sleep 0.2
	done
	if [ "$listening" = 1 ]; then
		ok "$t: dispatcher listens on $ADDR"
	else
		not_ok "$t: dispatcher listens on $ADDR"
		sed 's/^/# /' "$log" 2>/dev/null | tail -n 10
		continue
	fi
	pid=$(cat "$pidf")

	out=$(probe "$t" join --key-file "$work/cluster.key" --uuid $uuid_a 2>&1)
	id=$(printf '%s\n' "$out" | json_id)
	if [ "$id" = 1 ]; then ok "$t: first join gets id 1"; else not_ok "$t: first join gets id 1"; printf '%s\n' "$out" | sed 's/^/# /'; fi

	out=$(probe "$t" join --key-file "$work/cluster.key" --uuid $uuid_a 2>&1)
	id=$(printf '%s\n' "$out" | json_id)
	if [ "$id" = 1 ]; then ok "$t: rejoin with the same uuid keeps id 1"; else not_ok "$t: rejoin with the same uuid keeps id 1"; printf '%s\n' "$out" | sed 's/^/# /'; fi

	out=$(probe "$t" join --key-file "$work/cluster.key" --uuid $uuid_b 2>&1)
	id=$(printf '%s\n' "$out" | json_id)
	if [ "$id" = 2 ]; then ok "$t: another uuid gets id 2"; else not_ok "$t: another uuid gets id 2"; printf '%s\n' "$out" | sed 's/^/# /'; fi

	out=$(probe "$t" join --key-file "$work/wrong.key" 2>&1)
	rc=$?
	if [ $rc = 1 ] && [[ $out == *EACCES* ]]; then
		ok "$t: with a wrong key the probe refuses the dispatcher's proof (EACCES)"
	else
		not_ok "$t: with a wrong key the probe refuses the dispatcher's proof (EACCES) (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi

	out=$(probe "$t" join --key-file "$work/wrong.key" --auth-anyway 2>&1)
	rc=$?
	if [ $rc = 1 ] && [[ $out == *"join refused: EACCES"* ]] &&
		grep -q "refused join from 10.77.0.2:.*wrong cluster key" "$log"; then
		ok "$t: the dispatcher refuses a wrong key with EACCES and logs it"
	else
		not_ok "$t: the dispatcher refuses a wrong key with EACCES and logs it (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi

	start=$(date +%s)
	out=$(probe "$t" garbage --count "$COUNT" --seed "$SEED" --key-file "$work/cluster.key" 2>&1)
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc = 0 ]; then
		ok "$t: $COUNT garbage messages, then a valid join still succeeds (${secs} s)"
		printf '%s\n' "$out" | sed 's/^/# /'
	else
		not_ok "$t: $COUNT garbage messages, then a valid join still succeeds (exit $rc)"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/# /'
	fi

	check "$t: the dispatcher is still running after the garbage" \
		run1 "grep -q dspm-dispatcher /proc/$pid/cmdline"
	malformed=$(grep -c "malformed message from\|unexpected message from" "$log")
	if [ "$malformed" -gt 0 ]; then
		ok "$t: the dispatcher logged $malformed dropped connections for bad input"
	else
		not_ok "$t: the dispatcher logged dropped connections for bad input"
	fi
	check "$t: the log names the transport" grep -q "joined from 10.77.0.2:[0-9]* over $t" "$log"

	out=$(probe "$t" join --key-file "$work/cluster.key" --uuid $uuid_a 2>&1)
	id=$(printf '%s\n' "$out" | json_id)
	if [ "$id" = 1 ]; then ok "$t: node 1 rejoins as itself after the garbage"; else not_ok "$t: node 1 rejoins as itself after the garbage"; printf '%s\n' "$out" | sed 's/^/# /'; fi

	# A joined node stays connected, idle: the dispatcher must not spin on it, and SIGTERM
	# must tear its connection down (RDMA: the queue pair and its resources) cleanly.
	run2 "setsid $PROBE --transport $t --connect $ADDR join --key-file $work/cluster.key \
--uuid $uuid_b --hold-ms 30000 > $work/hold-$t.log 2>&1 < /dev/null &" > /dev/null 2>&1
	for _ in $(seq 1 50); do
		grep -q node_id "$work/hold-$t.log" 2>/dev/null && break
		sleep 0.2
	done
	ticks=$(run1 "a=\$(cut -d' ' -f14,15 /proc/$pid/stat); sleep 3; \
b=\$(cut -d' ' -f14,15 /proc/$pid/stat); echo \$a \$b" 2>/dev/null)
	read -r u0 s0 u1 s1 <<< "$ticks"
	if [ -n "${s1:-}" ] && [ $((u1 + s1 - u0 - s0)) -le 30 ]; then
		ok "$t: with a node connected and idle the dispatcher sleeps ($((u1 + s1 - u0 - s0)) ticks in 3 s)"
	else
		not_ok "$t: with a node connected and idle the dispatcher sleeps (ticks: $ticks)"
	fi

	run1 "kill -TERM $pid" > /dev/null 2>&1
	stopped=0
	for _ in $(seq 1 50); do
		if grep -q "shut down$" "$log" && ! run1 "test -e /proc/$pid" > /dev/null 2>&1; then
			stopped=1
			break
		fi
		sleep 0.2
	done
	if [ $stopped = 1 ]; then
		ok "$t: SIGTERM shuts the dispatcher down cleanly"
		check "$t: ... closing the connected node's link" grep -q "closing 1 connections" "$log"
		sleep 1
		check "$t: ... which the node sees" grep -q "peer closed the link" "$work/hold-$t.log"
	else
		not_ok "$t: SIGTERM shuts the dispatcher down cleanly"
		tail -n 5 "$log" | sed 's/^/# /'
	fi
done

for node in 1 2; do
	check "node $node: the guest kernel log is clean" "$VM" dmesg-check "$node"
done

summary

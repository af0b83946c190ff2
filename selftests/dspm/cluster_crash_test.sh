#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Node crashes during two-phase commits: three VMs run bank transfers
# (dsbank) on a dataset with two replicas of each chunk; each round one of
# nodes 2 and 3 (node 1 runs the dispatcher) loses power at a random moment,
# boots, re-attaches its pmem and rejoins.  Its in-doubt transactions are
# resolved with their coordinators; then every node audits the accounts.
#
# Checked every round: the sum of the accounts never changes (validated
# snapshots on every node), and no commit that returned is lost - each
# node counts its own transfers in an account of its own, in the same
# commits, and logs (fsync, to the host) how many returned; the account
# must hold at least that many, and at most one more per crash of that
# node (a commit that returned just before the power went, unlogged).
# Kernel logs stay clean.
#
# Usage: cluster_crash_test.sh [ROUNDS] [tcp|rdma].  Environment as for
# cluster_test.sh; DSPM_VM_DIR defaults to <repo>/build/vm-crash-TRANSPORT;
# DSPM_CRASH_VICTIM=2 or 3 crashes that node every round.
set -u

ROUNDS=${1:-10}
TRANSPORT=${2:-tcp}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VM=$REPO/tools/vm/dspm-vm
# dspm.ko for the kernel the nodes boot (DSPM_VM_KERNEL=debug: the debug build)
KO=$("$VM" ko) || exit 2
BIN=${DSPM_SELFTESTS_BIN:-$REPO/build/selftests}
ADMIN=$REPO/build/user/tools/dspm-admin/dspm-admin
DISPATCHER=$REPO/build/user/dispatcher/dspm-dispatcher
export DSPM_VM_DIR=${DSPM_VM_DIR:-$REPO/build/vm-crash-$TRANSPORT}
WORK=$DSPM_VM_DIR/work
KEY=$WORK/cluster.key
ADDR=10.77.0.1:7400
PMEM=/dev/pmem0
N=6
TOTAL=6000

n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
	echo "1..$n"
	echo "cluster-crash-$TRANSPORT: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
	exit $?
}
g() { "$VM" run --timeout "${GUEST_TIMEOUT:-180}" "$@"; }
join() { g "$1" "$ADMIN --json join --dispatcher $ADDR --transport $TRANSPORT --key-file $KEY"; }
wait_file() { # NODE FILE TEXT SECONDS: FILE comes to hold TEXT; "rc=" ends the wait
	local i
	for i in $(seq 1 $(($4 * 2))); do
		g "$1" "grep -q 'rc=' $2" 2>/dev/null && break
		sleep 0.5
	done
	g "$1" "grep -q '$3' $2" 2>/dev/null && return 0
	g "$1" "cat $2" 2>&1 | sed 's/^/# /'
	return 1
}
logs_clean() {
	local node rc=0 out
	for node in 1 2 3; do
		if ! out=$("$VM" dmesg-check "$node" 2>&1); then
			echo "$out" | head -n 20 | sed "s/^/# node $node: /"
			rc=1
		fi
	done
	return $rc
}

for f in "$ADMIN" "$DISPATCHER" "$BIN/dsbank" "$KO"; do
	[ -e "$f" ] || { echo "missing $f (make all)" >&2; exit 2; }
done
trap '"$VM" down >/dev/null 2>&1' EXIT
"$VM" down >/dev/null 2>&1
rm -rf "$WORK" "$DSPM_VM_DIR"/node*/pmem*.img
mkdir -p "$WORK"
head -c 48 /dev/urandom | base64 > "$KEY"
chmod 600 "$KEY"
echo "TAP version 13"

if ! "$VM" start 1 2 3 >"$WORK/boot.log" 2>&1; then
	sed 's/^/# /' "$WORK/boot.log"
	not_ok "three nodes boot"
	finish
fi
ok "three nodes boot"
g 1 "nohup $DISPATCHER --listen $ADDR --transport $TRANSPORT --state /tmp/dispatcher.db \
	--key-file $KEY --heartbeat-ms 500 --suspect-ms 2000 --dead-ms 4000 \
	--chunk-size 1048576 >> $WORK/dispatcher.log 2>&1 &"
declare -A id
for node in 1 2 3; do
	if g "$node" "sh selftests/dspm/load_module.sh" &&
		g "$node" "$ADMIN attach --format $PMEM" >/dev/null &&
		join "$node" > "$WORK/join.$node.json"; then
		id[$node]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' \
			"$WORK/join.$node.json")
	else
		not_ok "node $node loads dspm, attaches pmem and joins"
		finish
	fi
done
ok "three nodes joined (ids ${id[1]} ${id[2]} ${id[3]})"
check "bank: 3 MiB, two replicas of each 1 MiB chunk" \
	g 1 "$ADMIN create bank --size 3M --replicas 2"
check "$N accounts of 1000" g 1 "$BIN/dsbank init bank $N 1000"

declare -A reported crashes
for node in 1 2 3; do reported[$node]=0 crashes[$node]=0; done
for round in $(seq 1 "$ROUNDS"); do
	victim=${DSPM_CRASH_VICTIM:-$((2 + RANDOM % 2))}
	for node in 1 2 3; do
		g "$node" "setsid sh -c '$BIN/dsbank transfer bank $N 12 $WORK/done.$round.$node; echo rc=\$?' \
			> /tmp/transfer.out 2>&1 < /dev/null &"
	done
	sleep $((2 + RANDOM % 6))
	"$VM" kill "$victim"
	crashes[$victim]=$((crashes[$victim] + 1))
	for node in 1 2 3; do
		[ "$node" -eq "$victim" ] && continue
		wait_file "$node" /tmp/transfer.out 'rc=0' 240 || {
			g "$node" "ps; dmesg | tail -n 20" 2>&1 | sed "s/^/# node $node: /"
			not_ok "round $round: node $node's transfers ran"
		}
	done
	if "$VM" start "$victim" >>"$WORK/boot.log" 2>&1 &&
		g "$victim" "sh selftests/dspm/load_module.sh" &&
		g "$victim" "$ADMIN attach $PMEM" >/dev/null &&
		join "$victim" >/dev/null; then
		:
	else
		not_ok "round $round: node $victim boots, re-attaches its pmem and rejoins"
		finish
	fi
	for node in 1 2 3; do
		[ -s "$WORK/done.$round.$node" ] &&
			reported[$node]=$((reported[$node] + $(cat "$WORK/done.$round.$node")))
	done
	sums=ok
	for node in 1 2 3; do
		out=$(g "$node" "$BIN/dsbank audit bank $N $TOTAL 0" 2>&1) || {
			echo "$out" | sed "s/^/# node $node: /"
			g "$node" "$ADMIN stats --json; dmesg | tail -n 40" 2>&1 |
				sed "s/^/# node $node: /"
			sums=bad
		}
	done
	check "round $round: node $victim crashed mid-transfers and rejoined; the sum is $TOTAL on every node" \
		test "$sums" = ok
	lost=""
	for node in 1 2 3; do
		have=$(g 1 "$BIN/dsbank get bank $((N + id[$node]))" 2>&1)
		echo "# node $node: $have transfers committed, ${reported[$node]} returned and logged"
		if ! [ "$have" -ge "${reported[$node]}" ] 2>/dev/null ||
			[ "$have" -gt $((reported[$node] + crashes[$node])) ]; then
			lost="$lost $node"
		fi
	done
	check "round $round: every returned commit is there, and nothing else" test -z "$lost"
done
check "kernel logs clean on every node" logs_clean
finish

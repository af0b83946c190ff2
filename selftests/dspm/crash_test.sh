#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dspm crash test (host side): power-fail a VM node at random moments while
# crash_bank commits transfers on its pmem, restart it, and check that the
# recovered dataset holds every commit that returned, no torn page, no half
# transfer and exact free-space accounting.
#
#   selftests/dspm/crash_test.sh
#
# Environment:
#   ROUNDS (or DSPM_CRASH_ROUNDS)  kill/restart rounds (default 20)
#   DSPM_CRASH_ACCOUNTS    accounts in the bank (default 2048: 257 pages)
#   DSPM_CRASH_SEED        seed of the kill delays and workloads (default: time)
#   DSPM_CRASH_MIN_S/MAX_S the random delay before the kill (default 1..6 s)
#   DSPM_SELFTESTS_BIN     built binaries (default <repo>/build/selftests)
#   DSPM_VM_DIR            VM state dir (default <repo>/build/vm-crash)
#
# Prints TAP-style lines and finally "crash: N passed, M failed"; exits
# non-zero on any failure.

set -u -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VM=$REPO/tools/vm/dspm-vm
# dspm.ko for the kernel the nodes boot (DSPM_VM_KERNEL=debug: the debug build)
KO=$("$VM" ko) || exit 2
BIN=${DSPM_SELFTESTS_BIN:-$REPO/build/selftests}
export DSPM_VM_DIR=${DSPM_VM_DIR:-$REPO/build/vm-crash}
ROUNDS=${ROUNDS:-${DSPM_CRASH_ROUNDS:-20}}
RECOVERY_ROUNDS=${DSPM_CRASH_RECOVERY_ROUNDS:-3}
ACCOUNTS=${DSPM_CRASH_ACCOUNTS:-2048}
SEED=${DSPM_CRASH_SEED:-$(date +%s)}
MIN_S=${DSPM_CRASH_MIN_S:-1}
MAX_S=${DSPM_CRASH_MAX_S:-6}
PMEM=/dev/pmem0
NAME=bank
WORK=$REPO/build/crash-test
LOG=$WORK/bank.log
NODE=1

passed=0
failed=0
replayed=0

finish() {
	echo "# rounds whose recovery replayed a log record: $replayed"
	echo "crash: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}

guest() { # run a command in the node, output relayed
	"$VM" run --timeout "${GUEST_TIMEOUT:-600}" "$NODE" "$@"
}

boot() {
	"$VM" start "$NODE" >"$WORK/boot.log" 2>&1 || { cat "$WORK/boot.log" >&2; return 1; }
	guest "sh selftests/dspm/load_module.sh"
}

[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
[ -x "$VM" ] || { echo "missing $VM" >&2; exit 2; }
if [ ! -x "$BIN/crash_bank" ]; then
	make -s -C "$REPO/selftests/dspm" O="$BIN" "$BIN/crash_bank" >&2 ||
		{ echo "cannot build crash_bank" >&2; exit 2; }
fi
[ -f "$KO" ] || { echo "missing $KO (build the driver)" >&2; exit 2; }
mkdir -p "$WORK"
rm -f "$LOG" "$WORK"/run.*.log

trap '"$VM" down >/dev/null 2>&1' EXIT
RANDOM=$((SEED % 32768))
echo "TAP version 13"
echo "1..$((ROUNDS + RECOVERY_ROUNDS))"
echo "# crash test: $ROUNDS rounds, $ACCOUNTS accounts, seed $SEED, VM dir $DSPM_VM_DIR"

# A fresh start: the node may still run from an earlier, interrupted test.
"$VM" kill "$NODE" >/dev/null 2>&1
if ! boot; then
	echo "# node $NODE did not boot"
	failed=$ROUNDS
	finish
fi
if ! guest "test -b $PMEM && $BIN/crash_bank init $PMEM $NAME $ACCOUNTS"; then
	echo "# init failed"
	failed=$ROUNDS
	finish
fi

for ((r = 1; r <= ROUNDS; r++)); do
	why=
	before=$(wc -l 2>/dev/null < "$LOG" || echo 0)
	delay_ms=$(( (MIN_S * 1000) + (RANDOM * 32768 + RANDOM) % ((MAX_S - MIN_S) * 1000 + 1) ))
	wseed=$(( (SEED + r) * 7919 ))

	# The workload, in the background on the host side of the agent.
	"$VM" run --timeout 3600 "$NODE" "$BIN/crash_bank run $PMEM $NAME $LOG $wseed" \
		>"$WORK/run.$r.log" 2>&1 &
	runpid=$!
	sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	if ! kill -0 "$runpid" 2>/dev/null; then
		wait "$runpid"
		why="workload ended before the kill (rc $?): $(tail -n 3 "$WORK/run.$r.log" | tr '\n' ' ')"
	fi
	"$VM" kill "$NODE"
	wait "$runpid" 2>/dev/null
	after=$(wc -l 2>/dev/null < "$LOG" || echo 0)

	# The killed boot's kernel log (console), then a fresh boot.
	if [ -z "$why" ] && ! bad=$("$VM" dmesg-check "$NODE" 2>&1); then
		why="kernel log of the killed boot: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	fi
	if ! boot; then
		echo "not ok $r - round $r: node did not boot again"
		failed=$((failed + 1))
		echo "# stopping: no node"
		failed=$((failed + ROUNDS - r))
		finish
	fi
	out=$(guest "$BIN/crash_bank check $PMEM $NAME $LOG" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	if [ -z "$why" ] && [ "$rc" -ne 0 ]; then
		why="check failed (rc $rc)"
	fi
	if [ -z "$why" ] && ! bad=$("$VM" dmesg-check "$NODE" 2>&1); then
		why="kernel log after recovery: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	fi
	summary=$(echo "$out" | sed -n 's/^crash_bank: check [^:]*: //p' | cut -c1-120)
	case "$out" in *"recovered 0,"*) ;; *"recovered "[1-9]*) replayed=$((replayed + 1)) ;; esac
	if [ -z "$why" ]; then
		echo "ok $r - round $r: killed after ${delay_ms} ms, $((after - before)) commits logged; $summary"
		passed=$((passed + 1))
	else
		echo "not ok $r - round $r: $why"
		failed=$((failed + 1))
	fi
done

# Aimed rounds: the first commit of the workload stalls half-way through
# applying its sealed record; the node dies there; attach must replay it.
for ((k = 1; k <= RECOVERY_ROUNDS; k++)); do
	r=$((ROUNDS + k))
	why=
	before=$(wc -l < "$LOG" 2>/dev/null || echo 0)
	wseed=$(( (SEED + r) * 7919 ))
	if ! guest "echo 30000 > /sys/kernel/debug/dspm/apply_stall_ms"; then
		echo "not ok $r - recovery round $k: cannot set apply_stall_ms"
		failed=$((failed + 1))
		continue
	fi
	"$VM" run --timeout 3600 "$NODE" "$BIN/crash_bank run $PMEM $NAME $LOG $wseed" \
		>"$WORK/run.$r.log" 2>&1 &
	runpid=$!
	stalled=0
	for _ in $(seq 1 120); do
		if guest "dmesg | grep -q 'fault injection: apply stalled'" 2>/dev/null; then
			stalled=1
			break
		fi
		sleep 0.5
	done
	"$VM" kill "$NODE"
	wait "$runpid" 2>/dev/null
	after=$(wc -l < "$LOG" 2>/dev/null || echo 0)
	[ "$stalled" = 1 ] || why="the commit never reached the stall"
	# the workload logs its starting point, then no commit may return
	if [ -z "$why" ] && [ "$after" -gt $((before + 1)) ]; then
		why="a commit returned while its apply was stalled"
	fi
	if ! boot; then
		echo "not ok $r - recovery round $k: node did not boot again"
		failed=$((failed + 1 + RECOVERY_ROUNDS - k))
		finish
	fi
	out=$(guest "$BIN/crash_bank check $PMEM $NAME $LOG" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	recovered=$(echo "$out" | sed -n 's/.*, recovered \([0-9]*\),.*/\1/p' | head -n1)
	if [ -z "$why" ] && [ "${recovered:-0}" != 1 ]; then
		why="attach replayed ${recovered:-no} records, expected 1"
	fi
	[ "${recovered:-0}" = 1 ] && replayed=$((replayed + 1))
	[ -z "$why" ] && [ "$rc" -ne 0 ] && why="check failed (rc $rc)"
	if [ -z "$why" ] && ! bad=$("$VM" dmesg-check "$NODE" 2>&1); then
		why="kernel log after recovery: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	fi
	if [ -z "$why" ]; then
		echo "ok $r - recovery round $k: killed inside a half-applied commit; attach replayed it"
		passed=$((passed + 1))
	else
		echo "not ok $r - recovery round $k: $why"
		failed=$((failed + 1))
	fi
done
finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test of the project and end with one summary line,
#   check: N passed, M failed
# exiting non-zero on any failure.  Stages: host unit tests (ctest), style,
# static kernel checks, kselftests inside a VM, the dispatcher over TCP and
# RDMA in 2 VMs, the 3-VM cluster test over TCP and over RDMA, the crash
# test inside a VM, node crashes during cluster commits in 3 VMs over TCP
# and over RDMA.  A
# stage that dies without its own summary counts as one failure.
#
# Environment (make check-debug uses both):
#   DSPM_CHECK_STAGES  run only these stages (names as in the summary,
#                      space-separated); an unknown name counts as a failure
#   DSPM_CHECK_NAME    name of the summary line and of the log dir
#                      build/<name>/ (default check)
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
check_name=${DSPM_CHECK_NAME:-check}
[[ $check_name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "check.sh: bad DSPM_CHECK_NAME '$check_name'" >&2; exit 2; }
only=${DSPM_CHECK_STAGES:-}
logdir=$repo/build/$check_name
mkdir -p "$logdir"
total_pass=0 total_fail=0
stage_report=()
declare -A stage_seen=()

# stage NAME REGEX CMD...: REGEX captures passed and failed counts
stage() {
	local name=$1 regex=$2 log=$logdir/$1.log rc p f line
	shift 2
	stage_seen[$name]=1
	if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then
		return 0
	fi
	echo "=== $name: $*"
	local start=$SECONDS
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E "$regex" "$log" | tail -n1)
	if [[ $line =~ $regex ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
	else
		p=0 f=1
		echo "$name: no summary line; counted as a failure"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "$name: exit status $rc with no failed test; counted as a failure"
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	stage_report+=("$(printf '%-18s %4d passed, %3d failed  (%ds)' "$name" "$p" "$f" $((SECONDS - start)))")
}

# ctest ends with "100% tests passed, 0 tests failed out of 37"
run_unit() {
	local rc line
	ctest --test-dir "$repo/build/user" --output-on-failure 2>&1 | tee "$logdir/ctest.out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$logdir/ctest.out" | tail -n1)
	if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		echo "unit: $((BASH_REMATCH[2] - BASH_REMATCH[1])) passed, ${BASH_REMATCH[1]} failed"
	fi
	return "$rc"
}

stage unit '^unit: ([0-9]+) passed, ([0-9]+) failed$' run_unit
stage format '^format: ([0-9]+) passed, ([0-9]+) failed$' \
	"$repo/tools/format-check.sh"
stage kernel-checks '^kernel-checks: ([0-9]+) passed, ([0-9]+) failed$' \
	"$repo/tools/kernel-checks.sh"
stage selftests '^selftests: ([0-9]+) passed, ([0-9]+) failed$' \
	"$repo/selftests/dspm/run_vm_tests.sh"
# The dispatcher against a user-space node (dspm-wire-probe) over both
# transports; 2000 garbage messages each here, `make soak` sends 20000.
DSPM_GARBAGE_COUNT=${DSPM_GARBAGE_COUNT:-2000} \
	stage dispatcher-vm '^# ([0-9]+) passed, ([0-9]+) failed$' \
	"$repo/tests/dispatcher/vm_transport_test.sh"
for transport in tcp rdma; do
	stage "cluster-$transport" "^cluster-$transport: ([0-9]+) passed, ([0-9]+) failed\$" \
		"$repo/selftests/dspm/cluster_test.sh" "$transport"
done
stage crash '^crash: ([0-9]+) passed, ([0-9]+) failed$' \
	"$repo/selftests/dspm/crash_test.sh"
# Nodes losing power during two-phase commits, over each transport: 10
# rounds each here, more in `make soak`.
for transport in tcp rdma; do
	stage "cluster-crash-$transport" "^cluster-crash-$transport: ([0-9]+) passed, ([0-9]+) failed\$" \
		"$repo/selftests/dspm/cluster_crash_test.sh" "${DSPM_CLUSTER_CRASH_ROUNDS:-10}" "$transport"
done

for name in $only; do
	if [ -z "${stage_seen[$name]:-}" ]; then
		echo "$check_name: no stage '$name' (DSPM_CHECK_STAGES); counted as a failure"
		stage_report+=("$(printf '%-18s %4d passed, %3d failed  (unknown stage)' "$name" 0 1)")
		total_fail=$((total_fail + 1))
	fi
done

echo "=== summary"
printf '%s\n' "${stage_report[@]}"
echo "$check_name: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the dspm selftests (host side) in a dspm-vm guest: boots node 1,
# loads driver/dspm.ko there (build/debug-driver/driver/dspm.ko with
# DSPM_VM_KERNEL=debug), runs every suite (kselftest TAP), checks the
# guest kernel log after each one (a dirty log fails that suite; the node is
# then rebooted so later suites start clean), and ends with exactly
#
#   selftests: N passed, M failed
#
# counting test cases (skips are reported separately and are not passes).
# Exits non-zero on any failure or when the VM does not boot.
#
#   selftests/dspm/run_vm_tests.sh [SUITE...]
#
# Suites: abi-dram abi-pmem semantics-dram semantics-pmem mapping-dram mapping-pmem fuzz-dram fuzz-pmem
# sync-dram
# (default: all).  Environment:
#   DSPM_SELFTESTS_BIN   built binaries (default <repo>/build/selftests; built
#                        with make if missing)
#   DSPM_SELFTESTS_PMEM  pmem device in the guest (default /dev/pmem0)
#   DSPM_SELFTESTS_TIMEOUT  per-suite limit in seconds (default 3600)
#   DSPM_VM_DIR          VM state dir (default <repo>/build/vm-selftests)
#   DSPM_FUZZ_SEED, DSPM_FUZZ_ITERATIONS, DSPM_SEM_GENERATIONS: passed on.

set -u -o pipefail
shopt -s extglob

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VM=$REPO/tools/vm/dspm-vm
# dspm.ko for the kernel the nodes boot (DSPM_VM_KERNEL=debug: the debug build)
KO=$("$VM" ko) || exit 2
BIN=${DSPM_SELFTESTS_BIN:-$REPO/build/selftests}
PMEM=${DSPM_SELFTESTS_PMEM:-/dev/pmem0}
TIMEOUT=${DSPM_SELFTESTS_TIMEOUT:-3600}
export DSPM_VM_DIR=${DSPM_VM_DIR:-$REPO/build/vm-selftests}
NODE=1

ALL_SUITES="abi-dram abi-pmem semantics-dram semantics-pmem mapping-dram mapping-pmem fuzz-dram fuzz-pmem sync-dram"
SUITES=${*:-$ALL_SUITES}

passed=0
failed=0
skipped=0
n=0

finish() {
	echo "# skipped: $skipped"
	echo "selftests: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}

result() { # ok|not-ok|skip description
	n=$((n + 1))
	case "$1" in
	ok) echo "ok $n $2"; passed=$((passed + 1)) ;;
	skip) echo "ok $n $2"; skipped=$((skipped + 1)) ;;
	*) echo "not ok $n $2"; failed=$((failed + 1)) ;;
	esac
}

guest() {
	"$VM" run --timeout "${GUEST_TIMEOUT:-300}" "$NODE" "$@"
}

# Boot (or reboot) the node and prepare it: dspm.ko, and the loop driver
# (abi.c tries a non-DAX block device).
boot() {
	"$VM" kill "$NODE" >/dev/null 2>&1
	if ! "$VM" start "$NODE" >"$WORK/boot.log" 2>&1; then
		sed 's/^/# /' "$WORK/boot.log"
		return 1
	fi
	guest "sh selftests/dspm/load_module.sh && { modprobe loop 2>/dev/null; true; }" 2>&1 |
		sed 's/^/# /'
}

WORK=$REPO/build/selftests-run
mkdir -p "$WORK"

for s in $SUITES; do
	case " $ALL_SUITES " in *" $s "*) ;; *) echo "unknown suite '$s' (known: $ALL_SUITES)" >&2; exit 2 ;; esac
done
[ -x "$VM" ] || { echo "missing $VM" >&2; exit 2; }
[ -f "$KO" ] || { echo "# missing $KO (build the driver)"; result not-ok "${KO#"$REPO"/} exists"; finish; }
for b in abi semantics mapping fuzz sync; do
	if [ ! -x "$BIN/$b" ]; then
		make -s -C "$REPO/selftests/dspm" O="$BIN" >&2 ||
			{ result not-ok "build the selftests"; finish; }
		break
	fi
done

trap '"$VM" down >/dev/null 2>&1' EXIT
echo "TAP version 13"
echo "# dspm selftests in $DSPM_VM_DIR: $SUITES"
if ! boot; then
	result not-ok "node $NODE boots and loads dspm.ko"
	finish
fi
have_pmem=1
guest "test -b $PMEM" || have_pmem=0

for s in $SUITES; do
	bin=${s%-*}
	envs=
	case "$s" in
	*-pmem)
		if [ "$have_pmem" = 0 ]; then
			result not-ok "$s: no $PMEM in the guest"
			continue
		fi
		envs="DSPM_TEST_PMEM=$PMEM"
		;;
	esac
	for v in DSPM_FUZZ_SEED DSPM_FUZZ_ITERATIONS DSPM_SEM_GENERATIONS; do
		[ -n "${!v:-}" ] && envs="$envs $v=${!v}"
	done
	echo "# ---- $s: $envs $BIN/$bin"
	out=$WORK/$s.log
	"$VM" run --timeout "$TIMEOUT" "$NODE" "env $envs $BIN/$bin 2>&1" >"$out" 2>&1
	rc=$?

	# Re-emit the suite's TAP results under one plan; the rest as comments.
	nres=0
	nfail=0
	name=
	while IFS= read -r line; do
		case "$line" in
		"#  RUN "*)
			name=${line#"#  RUN"}
			name=${name#"${name%%[! ]*}"}
			name=${name% ...}
			echo "$line"
			;;
		"ok "*"# SKIP"*)
			nres=$((nres + 1))
			result skip "$s: $name # SKIP ${line#*# SKIP }"
			;;
		"ok "*)
			nres=$((nres + 1))
			result ok "$s: ${line#ok +([0-9]) }"
			;;
		"not ok "*)
			nres=$((nres + 1))
			nfail=$((nfail + 1))
			result not-ok "$s: ${line#not ok +([0-9]) }"
			;;
		"TAP version"* | "1.."*) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < "$out"
	if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
		case "$rc" in
		124) why="timed out after $TIMEOUT s" ;;
		255) why="the node died or did not answer" ;;
		*) why="exited with $rc" ;;
		esac
		result not-ok "$s: $why ($nres results)"
	fi

	reboot=0
	[ "$rc" -eq 255 ] && reboot=1
	if bad=$("$VM" dmesg-check "$NODE" 2>&1); then
		result ok "$s: kernel log clean"
	else
		echo "$bad" | head -n 40 | sed 's/^/# dmesg: /'
		result not-ok "$s: kernel log"
		reboot=1
	fi
	if [ "$reboot" = 1 ]; then
		echo "# rebooting node $NODE for the next suite"
		if ! boot; then
			result not-ok "node $NODE boots again"
			finish
		fi
	fi
done
echo "1..$n"
finish

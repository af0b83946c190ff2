#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dspm cluster test (host side), on a 3-node VM cluster with the dispatcher
# in node 1, over the TCP transport:
#   - the cluster kselftest (JOIN/LEAVE/NODES ABI, join, wrong key) on each node
#   - three pmem-backed nodes join; each sees all three alive, ids 1..3
#   - the dispatcher restarts: the nodes rejoin by themselves, same ids
#   - node 2 loses power: the others see it suspect, then dead; it boots,
#     re-attaches and rejoins with its old id
#   - garbage to the dispatcher's port is dropped; the dispatcher and every
#     node carry on
#   - every node's kernel log is clean throughout
# Prints TAP lines and finally "cluster: N passed, M failed"; exits non-zero
# on any failure.  Environment: DSPM_VM_DIR (default <repo>/build/vm-cluster),
# DSPM_SELFTESTS_BIN (default <repo>/build/selftests).
set -u -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VM=$REPO/tools/vm/dspm-vm
BIN=${DSPM_SELFTESTS_BIN:-$REPO/build/selftests}
ADMIN=$REPO/build/user/tools/dspm-admin/dspm-admin
DISPATCHER=$REPO/build/user/dispatcher/dspm-dispatcher
export DSPM_VM_DIR=${DSPM_VM_DIR:-$REPO/build/vm-cluster}
WORK=$DSPM_VM_DIR/work
ADDR=10.77.0.1:7400
KEY=$WORK/cluster.key
PMEM=/dev/pmem0

passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
	echo "1..$n"
	echo "cluster: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}
g() { "$VM" run --timeout "${GUEST_TIMEOUT:-120}" "$@"; }

start_dispatcher() {
	g 1 "nohup $DISPATCHER --listen $ADDR --transport tcp --state /tmp/dispatcher.db \
		--key-file $KEY --heartbeat-ms 500 --suspect-ms 2000 --dead-ms 4000 \
		>> $WORK/dispatcher.log 2>&1 & echo \$! > /tmp/dispatcher.pid"
	local i
	for i in $(seq 1 50); do
		grep -q "listening on $ADDR" "$WORK/dispatcher.log" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# The node table as node $1 sees it: "SELF LINK id:state id:state ..."
table() {
	g "$1" "$ADMIN --json nodes" 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(c["self_id"], c["link"], " ".join("%d:%s" % (x["id"], x["state"]) for x in c["nodes"]))'
}

# wait_table NODE PATTERN SECONDS: until table NODE matches the regex
wait_table() {
	local i t
	for i in $(seq 1 $(($3 * 2))); do
		t=$(table "$1")
		[[ $t =~ $2 ]] && return 0
		sleep 0.5
	done
	echo "# node $1 sees: '$t' (wanted /$2/)"
	return 1
}

join() { g "$1" "$ADMIN --json join --dispatcher $ADDR --transport tcp --key-file $KEY"; }

logs_clean() {
	local node rc=0
	for node in 1 2 3; do
		if ! out=$("$VM" dmesg-check "$node" 2>&1); then
			echo "$out" | head -n 20 | sed "s/^/# node $node: /"
			rc=1
		fi
	done
	return $rc
}

for f in "$ADMIN" "$DISPATCHER" "$BIN/cluster" "$REPO/driver/dspm.ko"; do
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
for node in 1 2 3; do
	g "$node" "sh selftests/dspm/load_module.sh" || not_ok "node $node loads dspm.ko"
done
check "dispatcher starts in node 1" start_dispatcher

# The ABI tests, on DRAM backends of their own, from every node.
for node in 1 2 3; do
	out=$(g "$node" "DSPM_TEST_DISPATCHER=$ADDR DSPM_TEST_KEY_FILE=$KEY $BIN/cluster" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(not )?ok |# (FAIL|SKIP)' | sed "s/^/# node $node: /"
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q '# SKIP'; then
		ok "node $node: cluster kselftest ($(echo "$out" | grep -c '^ok ') cases)"
	else
		not_ok "node $node: cluster kselftest (rc $rc)"
	fi
done

# Persistent identities: pmem-backed nodes join.
for node in 1 2 3; do
	g "$node" "$ADMIN attach --format $PMEM" >/dev/null || not_ok "node $node attaches pmem"
	join "$node" > "$WORK/join.$node.json" || not_ok "node $node joins"
done
declare -A id
for node in 1 2 3; do
	id[$node]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' \
		"$WORK/join.$node.json" 2>/dev/null)
done
check "three distinct node ids (${id[1]:-?} ${id[2]:-?} ${id[3]:-?})" \
	test "$(printf '%s\n' "${id[@]}" | sort -u | grep -c .)" = 3
for node in 1 2 3; do
	check "node $node sees all three nodes alive" \
		wait_table "$node" "^${id[$node]} connected .*:alive .*:alive .*:alive" 10
done

# The dispatcher restarts; nodes rejoin on their own, as themselves.
g 1 'kill -TERM $(cat /tmp/dispatcher.pid)'
sleep 1
check "dispatcher restarts" start_dispatcher
for node in 1 2 3; do
	check "node $node rejoined by itself as node ${id[$node]}" \
		wait_table "$node" "^${id[$node]} connected .*:alive .*:alive .*:alive" 30
done

# Node 2 loses power; the others see it go; it comes back as itself.
"$VM" kill 2
check "node 3 sees node ${id[2]} dead" wait_table 3 "(^| )${id[2]}:dead" 20
if "$VM" start 2 >>"$WORK/boot.log" 2>&1 && g 2 "sh selftests/dspm/load_module.sh" &&
	g 2 "$ADMIN attach $PMEM" >/dev/null && join 2 > "$WORK/rejoin.2.json"; then
	ok "node 2 boots, re-attaches its pmem and rejoins"
else
	not_ok "node 2 boots, re-attaches its pmem and rejoins"
fi
check "node 2 rejoined with its old id ${id[2]}" \
	grep -q "\"node_id\": *${id[2]}\b" "$WORK/rejoin.2.json"
check "node 3 sees node ${id[2]} alive again" wait_table 3 "(^| )${id[2]}:alive" 20

# Garbage to the dispatcher's port: dropped, nobody hurt.
cat > "$WORK/garbage.py" <<'PY'
import os, socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
blobs = [os.urandom(5000) for _ in range(5)]
# a valid-looking header announcing a message far over the maximum
blobs.append(struct.pack("<IHHIIQII", 0x4d505344, 1, 1, 0x7fffffff, 0, 1, 0, 0))
for blob in blobs:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(blob)
        s.settimeout(5)
        try:
            s.recv(1)
        except OSError:
            pass
PY
g 3 "python3 $WORK/garbage.py ${ADDR%:*} ${ADDR#*:}" >/dev/null 2>&1
sleep 1
check "dispatcher still running after garbage" g 1 'kill -0 $(cat /tmp/dispatcher.pid)'
check "dispatcher logged the malformed input" grep -q -i "malformed\|dropped" "$WORK/dispatcher.log"
for node in 1 2 3; do
	check "node $node still connected after garbage" \
		wait_table "$node" "^${id[$node]} connected" 5
done

for node in 1 2 3; do
	check "node $node leaves" g "$node" "$ADMIN leave && $ADMIN detach"
done
check "kernel logs clean on every node" logs_clean
finish

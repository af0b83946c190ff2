#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dspm cluster test (host side), on a 3-node VM cluster with the dispatcher
# in node 1, over one transport (the argument: tcp, the default, or rdma on
# the guests' Soft-RoCE rxe0), for the dispatcher link and node to node:
#   - the cluster kselftest (JOIN/LEAVE/NODES ABI, join, wrong key) on each node
#   - three pmem-backed nodes join; each sees all three alive, ids 1..3
#   - the dispatcher restarts: the nodes rejoin by themselves, same ids
#   - node 2 loses power: the others see it suspect, then dead; it boots,
#     re-attaches and rejoins with its old id; a home it read from drops it
#     as a sharer and does not invalidate it after it rejoins
#   - garbage to the dispatcher's port is dropped; the dispatcher and every
#     node carry on
#   - every node's kernel log is clean throughout
# Prints TAP lines and finally "cluster-TRANSPORT: N passed, M failed"; exits
# non-zero on any failure.  Environment: DSPM_VM_DIR (default
# <repo>/build/vm-cluster-TRANSPORT), DSPM_SELFTESTS_BIN (default
# <repo>/build/selftests).
set -u -o pipefail

TRANSPORT=${1:-tcp}
case $TRANSPORT in
tcp | rdma) ;;
*)
	echo "usage: $0 [tcp|rdma]" >&2
	exit 2
	;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VM=$REPO/tools/vm/dspm-vm
# dspm.ko for the kernel the nodes boot (DSPM_VM_KERNEL=debug: the debug build)
KO=$("$VM" ko) || exit 2
BIN=${DSPM_SELFTESTS_BIN:-$REPO/build/selftests}
ADMIN=$REPO/build/user/tools/dspm-admin/dspm-admin
DISPATCHER=$REPO/build/user/dispatcher/dspm-dispatcher
PROBE=$REPO/build/user/dispatcher/tests/dspm-wire-probe
export DSPM_VM_DIR=${DSPM_VM_DIR:-$REPO/build/vm-cluster-$TRANSPORT}
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
	echo "cluster-$TRANSPORT: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}
g() { "$VM" run --timeout "${GUEST_TIMEOUT:-120}" "$@"; }

start_dispatcher() {
	g 1 "nohup $DISPATCHER --listen $ADDR --transport $TRANSPORT --state /tmp/dispatcher.db \
		--key-file $KEY --heartbeat-ms 500 --suspect-ms 2000 --dead-ms ${DEAD_MS:-4000} \
		--chunk-size 1048576 \
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

# placement_ok LS_JSON NAME R: NAME listed, each chunk on R distinct known nodes
placement_ok() {
	python3 - "$@" "${id[@]}" <<'PY'
import json, sys
path, name, r, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), set(map(int, sys.argv[4:]))
try:
    d = [x for x in json.load(open(path))["datasets"] if x["name"] == name][0]
    chunks = d["placement"]["chunks"]
    assert d["replicas"] == r and chunks, d
    for c in chunks:
        assert len(c) == r and len(set(c)) == r and set(c) <= ids, c
except Exception as e:
    print("# %s: %r" % (path, e))
    sys.exit(1)
PY
}

# same_listing LS_JSON...: names, ids and placement agree (local counters may not)
same_listing() {
	python3 - "$@" <<'PY'
import json, sys
def key(path):
    return sorted((d["name"], d["id"], d["length"], d["replicas"], json.dumps(d.get("placement")))
                  for d in json.load(open(path))["datasets"])
first = key(sys.argv[1])
for p in sys.argv[2:]:
    if key(p) != first:
        print("# %s differs: %r vs %r" % (p, key(p), first))
        sys.exit(1)
PY
}

json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@" 2>/dev/null
}

listed_id() {
	python3 -c 'import json,sys; print([d["id"] for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == sys.argv[2]][0])' "$@"
}

# expect_fail TEXT CMD...: CMD fails and says TEXT
expect_fail() {
	local text=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "# unexpectedly succeeded: $out"
		return 1
	fi
	echo "$out" | grep -q "$text" && return 0
	echo "# failed without '$text': $out"
	return 1
}

join() { g "$1" "$ADMIN --json join --dispatcher $ADDR --transport $TRANSPORT --key-file $KEY"; }

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

for f in "$ADMIN" "$DISPATCHER" "$PROBE" "$BIN/cluster" "$BIN/commit_signal" "$BIN/dsio" "$BIN/dssync" "$KO"; do
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

# kselftest NODE WHAT COMMAND: one result for a kselftest binary's cases
# (a skipped case fails it), its failures and case lines as comments.
kselftest() {
	local node=$1 what=$2 out rc
	out=$(g "$node" "$3" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(not )?ok |# (FAIL|SKIP)|[a-z_]+\.c:[0-9]+:' | sed "s/^/# node $node: /"
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q '# SKIP'; then
		ok "node $node: $what ($(echo "$out" | grep -c '^ok ') cases)"
	else
		not_ok "node $node: $what (rc $rc)"
	fi
}

# The ABI tests, on DRAM backends of their own, from every node.
for node in 1 2 3; do
	kselftest "$node" "cluster kselftest over $TRANSPORT" \
		"DSPM_TEST_DISPATCHER=$ADDR DSPM_TEST_KEY_FILE=$KEY DSPM_TEST_TRANSPORT=$TRANSPORT $BIN/cluster"
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

# The namespace is the cluster's: made on node 1, seen with its placement
# everywhere, names unique cluster-wide.
check "node 1 creates dataset 'shared' (8 MiB, 2 replicas)" \
	g 1 "$ADMIN create shared --size 8M --replicas 2"
for node in 1 2 3; do
	g "$node" "$ADMIN --json ls" > "$WORK/ls.$node.json" 2>&1
	check "node $node lists 'shared' with home and replica on distinct live nodes" \
		placement_ok "$WORK/ls.$node.json" shared 2
done
check "the three nodes list the same namespace and placement" \
	same_listing "$WORK/ls.1.json" "$WORK/ls.2.json" "$WORK/ls.3.json"
check "node 2 cannot create another 'shared' (EEXIST)" \
	expect_fail "File exists" g 2 "$ADMIN create shared --size 4K"
g 3 "$ADMIN --json stat shared" > "$WORK/stat.3.json" 2>&1
check "node 3 opens 'shared' and sees its cluster id" \
	test "$(json_field "$WORK/stat.3.json" id)" = "$(listed_id "$WORK/ls.1.json" shared)"
check "node 2 creates dataset 'scratch' and opens it" \
	g 2 "$ADMIN create scratch --size 64K && $ADMIN stat scratch >/dev/null"
check "node 3 deletes 'scratch'" g 3 "$ADMIN rm scratch"
check "'scratch' is gone on node 2 too" expect_fail "No such file" g 2 "$ADMIN stat scratch"
check "more replicas than live nodes are refused (EIO)" \
	expect_fail "Input/output error" g 1 "$ADMIN create toomany --size 4K --replicas 4"

# The signal rule of a cluster COMMIT (abi.md, "Signals"), aimed with the
# driver's fault injection: EINTR before the decision, the result after it.
check "node 1 creates dataset 'signals' (4 MiB, 2 replicas)" \
	g 1 "$ADMIN create signals --size 4M --replicas 2"
kselftest 3 "a signal ends a commit only before its decision" \
	"DSPM_TEST_DATASET=signals $BIN/commit_signal"
check "node 1 deletes 'signals'" g 1 "$ADMIN rm signals"

# The dispatcher restarts; nodes rejoin on their own, as themselves, and the
# namespace and placement are unchanged.
g 1 'kill -TERM $(cat /tmp/dispatcher.pid)'
sleep 1
check "dispatcher restarts" start_dispatcher
for node in 1 2 3; do
	check "node $node rejoined by itself as node ${id[$node]}" \
		wait_table "$node" "^${id[$node]} connected .*:alive .*:alive .*:alive" 30
done
g 2 "$ADMIN --json ls" > "$WORK/ls.after.json" 2>&1
check "namespace and placement unchanged after the restart" \
	same_listing "$WORK/ls.1.json" "$WORK/ls.after.json"

# The sharers a home keeps (/sys/kernel/debug/dspm/sharers): counters,
# then "DATASET: NODE..." per dataset with readers.
sharers_count() { # NODE KEY: a counter of the node's sharers file
	g "$1" "cat /sys/kernel/debug/dspm/sharers" | awk -v k="$2" '$1 == k { print $2 }'
}
readers_at() { # NODE DATASET_ID: the readers the node lists for the dataset
	g "$1" "cat /sys/kernel/debug/dspm/sharers" | awk -v d="$2:" '$1 == d { $1 = ""; print }' | xargs
}
wait_readers() { # NODE DATASET_ID WANT SECONDS: the node lists exactly WANT
	local i r
	for i in $(seq 1 $(($4 * 4))); do
		r=$(readers_at "$1" "$2")
		[ "$r" = "$3" ] && return 0
		sleep 0.25
	done
	echo "# node $1 lists readers '$r' of dataset $2, wanted '$3'"
	return 1
}

# A reader that loses power: node 2 keeps a page of 'deadreader' mapped
# from a home elsewhere, then dies; that home drops it instead of stalling
# on it, and does not invalidate it after it rejoins with nothing cached.
g 1 "$ADMIN create deadreader --size 3M --replicas 1" >/dev/null
g 1 "$ADMIN --json ls" > "$WORK/ls.dead.json" 2>&1
dead_id=$(listed_id "$WORK/ls.dead.json" deadreader 2>/dev/null)
read -r dead_chunk dead_home < <(python3 -c '
import json, sys
d = [d for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == "deadreader"][0]
ids = {int(sys.argv[n]): n - 1 for n in (2, 3, 4)}
for c, nodes in enumerate(d["placement"]["chunks"]):
    if ids.get(nodes[0], 2) != 2:
        print(c, ids[nodes[0]])
        break' "$WORK/ls.dead.json" "${id[1]}" "${id[2]}" "${id[3]}" 2>/dev/null)
if [ -z "${dead_home:-}" ]; then
	not_ok "dataset 'deadreader' has a chunk homed away from node 2 ($(cat "$WORK/ls.dead.json"))"
else
	dead_off=$((dead_chunk * 1048576))
	g 2 "setsid $BIN/dsio await deadreader $dead_off never 600 > /dev/null 2>&1 < /dev/null &"
	check "node $dead_home, the home of chunk $dead_chunk of 'deadreader', lists reader node 2" \
		wait_readers "$dead_home" "$dead_id" "${id[2]}" 20
fi

# Node 2 loses power; the others see it go; it comes back as itself.
"$VM" kill 2
check "node 3 sees node ${id[2]} dead" wait_table 3 "(^| )${id[2]}:dead" 20
if [ -n "${dead_home:-}" ]; then
	wait_table "$dead_home" "(^| )${id[2]}:dead" 20 >/dev/null
	dropped0=$(sharers_count "$dead_home" sharers_dropped)
	t0=$(date +%s%N)
	check "node $dead_home commits to 'deadreader' while its reader node 2 is dead" \
		g "$dead_home" "$BIN/dsio write deadreader $dead_off after-death"
	echo "# the commit took $((($(date +%s%N) - t0) / 1000000)) ms, guest start included"
	check "node $dead_home dropped dead node 2 as a reader ($dropped0 -> $(sharers_count "$dead_home" sharers_dropped) dropped)" \
		wait_readers "$dead_home" "$dead_id" "" 1
fi
if "$VM" start 2 >>"$WORK/boot.log" 2>&1 && g 2 "sh selftests/dspm/load_module.sh" &&
	g 2 "$ADMIN attach $PMEM" >/dev/null && join 2 > "$WORK/rejoin.2.json"; then
	ok "node 2 boots, re-attaches its pmem and rejoins"
else
	not_ok "node 2 boots, re-attaches its pmem and rejoins"
fi
check "node 2 rejoined with its old id ${id[2]}" \
	grep -q "\"node_id\": *${id[2]}\b" "$WORK/rejoin.2.json"
check "node 3 sees node ${id[2]} alive again" wait_table 3 "(^| )${id[2]}:alive" 20
if [ -n "${dead_home:-}" ]; then
	wait_table "$dead_home" "(^| )${id[2]}:alive" 20 >/dev/null
	sent0=$(sharers_count "$dead_home" invalidations_sent)
	g "$dead_home" "$BIN/dsio write deadreader $dead_off after-rejoin" >/dev/null
	check "node $dead_home's next commit sends node 2, rejoined, no INVALIDATE ($sent0 -> $(sharers_count "$dead_home" invalidations_sent))" \
		test "$(sharers_count "$dead_home" invalidations_sent)" = "$sent0"
	check "node 2, rejoined, reads the bytes committed while it was away" \
		test "$(g 2 "$BIN/dsio read deadreader $dead_off 12" 2>&1)" = "after-rejoin"
fi

# Garbage to the dispatcher's port: dropped, nobody hurt.  Blobs are files
# sent by dspm-wire-probe, one connection each, over the cluster's transport.
WIRE_VERSION=$(awk '$2 == "DSPM_WIRE_VERSION" { print $3 }' "$REPO/uapi/linux/dspm_wire.h")
blobs() { # DIR then python code filling the list "blobs"
	mkdir -p "$1"
	python3 - "$1" "${@:3}" <<PY
import os, struct, sys
def hdr(kind, length, sender):
    return struct.pack("<IHHIIQII", 0x4d505344, $WIRE_VERSION, kind, length, sender, 1, 0, 0)
args = sys.argv[2:]
blobs = []
$2
for i, b in enumerate(blobs):
    open(os.path.join(sys.argv[1], "%02d.bin" % i), "wb").write(b)
PY
}
send_blobs() { # FROM ADDR:PORT DIR
	g "$1" "$PROBE --transport $TRANSPORT --connect $2 send --wait-ms 3000 $3/*.bin"
}
blobs "$WORK/dispatcher-garbage" '
blobs = [os.urandom(5000) for _ in range(5)]
blobs.append(hdr(1, 0x7fffffff, 0))   # a header announcing far over the maximum
blobs.append(hdr(64, 72, 1) + bytes(40))  # a node-to-node type'
send_blobs 3 "$ADDR" "$WORK/dispatcher-garbage" | sed 's/^/# /'
sleep 1
check "dispatcher still running after garbage" g 1 'kill -0 $(cat /tmp/dispatcher.pid)'
check "dispatcher logged the malformed input" grep -q -i "malformed\|dropped" "$WORK/dispatcher.log"
for node in 1 2 3; do
	check "node $node still connected after garbage" \
		wait_table "$node" "^${id[$node]} connected" 5
done

# Node to node: authenticated request/response between members.
peer() { g "$1" "cat /sys/kernel/debug/dspm/peer"; }
peer_count() { peer "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
ping_peer() { # FROM TO COUNT SIZE
	g "$1" "echo 'ping ${id[$2]} $3 $4' > /sys/kernel/debug/dspm/peer" &&
		peer "$1" | grep -E "^transport=.* node=${id[$2]} size=$4 count=$3 .*avg_ns=[0-9]+" |
		sed 's/^/# /'
}
check "node 1 pings node 2 over the peer transport (100 x 64 B)" ping_peer 1 2 100 64
check "node 3 pings node 1 (20 x 4 KiB)" ping_peer 3 1 20 4096

# Garbage and impostors at node 2's peer port: dropped, counted, harmless.
refused0=$(peer_count 2 refused)
malformed0=$(peer_count 2 malformed)
blobs "$WORK/peer-garbage" '
claimed, target = int(args[0]), int(args[1])
blobs = [os.urandom(3000) for _ in range(5)]
blobs.append(hdr(64, 0x7fffffff, claimed))             # oversized
blobs.append(hdr(7, 136, claimed) + bytes(104))        # a dispatcher type
# a well-formed PEER_HELLO claiming another member from the wrong address
blobs.append(hdr(64, 72, claimed) + struct.pack("<II", target, 0) + os.urandom(32))' \
	"${id[1]}" "${id[2]}"
send_blobs 3 10.77.0.2:7411 "$WORK/peer-garbage" | sed 's/^/# /'
check "node 2 counted the malformed messages ($malformed0 -> $(peer_count 2 malformed))" \
	test "$(peer_count 2 malformed)" -ge $((malformed0 + 6))
check "node 2 refused the impostor claiming node ${id[1]} ($refused0 -> $(peer_count 2 refused))" \
	test "$(peer_count 2 refused)" -ge $((refused0 + 1))
check "node 1 still pings node 2 after the garbage" ping_peer 1 2 10 64
check "node 2 still connected to the dispatcher" wait_table 2 "^${id[2]} connected" 5

# Coherence, first part: pages are read from their home; a commit at the
# home is seen by every later read anywhere; uncommitted bytes are not.
DSIO=$BIN/dsio
g 1 "$ADMIN create coh --size 64K --replicas 1" >/dev/null
g 1 "$ADMIN --json ls" > "$WORK/ls.coh.json" 2>&1
home_id=$(python3 -c 'import json,sys; print([d for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == "coh"][0]["placement"]["chunks"][0][0])' "$WORK/ls.coh.json" 2>/dev/null)
home=0 others=()
for node in 1 2 3; do
	if [ "${id[$node]}" = "$home_id" ]; then home=$node; else others+=("$node"); fi
done
spawn() { # NODE FILE CMD: CMD runs on NODE in the background; FILE gets its output, then rc=STATUS
	g "$1" "setsid sh -c '$3; echo rc=\$?' > $2 2>&1 < /dev/null &"
}
wait_file() { # NODE FILE TEXT SECONDS [END]: FILE comes to hold TEXT (or END: give up)
	local i
	for i in $(seq 1 $(($4 * 4))); do
		g "$1" "grep -q '$3' $2" 2>/dev/null && { g "$1" "cat $2" | sed 's/^/# /'; return 0; }
		[ -n "${5:-}" ] && g "$1" "grep -q '$5' $2" 2>/dev/null && break
		sleep 0.25
	done
	g "$1" "grep -q '$3' $2" 2>/dev/null && { g "$1" "cat $2" | sed 's/^/# /'; return 0; }
	g "$1" "cat $2" 2>&1 | sed 's/^/# /'
	return 1
}
faults_local() { # NODE: its faults_local counter
	g "$1" "$ADMIN stats --json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["faults_local"])'
}
remote_faults_counted() { # NODE LOCAL: remote faults counted, faults_local still LOCAL
	g "$1" "$ADMIN stats --json" | python3 -c '
import json, sys
s = json.load(sys.stdin)
n = sum(b["count"] for b in s["fetch_hist"])
print("# faults_remote %s, fetches in the histogram %s, faults_local %s (was %s)" %
      (s["faults_remote"], n, s["faults_local"], sys.argv[1]))
sys.exit(0 if s["faults_remote"] >= 1 and n == s["faults_remote"] and
         str(s["faults_local"]) == sys.argv[1] else 1)' "$2"
}
fetch_counts() { # NODE: "fetch_rpc fetch_direct" of its debugfs peer file
	echo "$(peer_count "$1" fetch_rpc) $(peer_count "$1" fetch_direct)"
}
# WHAT NODE "RPC0 DIRECT0": over RDMA the node's fetches since went one-sided
# (RDMA READ, after the PAGE_MAP that registers it as a sharer) and none by
# PAGE_READ; over TCP all of them by PAGE_READ
fetch_path_ok() {
	local now rpc0 direct0 rpc direct
	now=$(fetch_counts "$2")
	read -r rpc0 direct0 <<< "$3"
	read -r rpc direct <<< "$now"
	echo "# node $2: fetch_rpc $rpc0 -> $rpc, fetch_direct $direct0 -> $direct"
	if [ "$TRANSPORT" = rdma ]; then
		check "$1 went by one-sided RDMA READ, not PAGE_READ" \
			test "$direct" -gt "$direct0" -a "$rpc" -eq "$rpc0"
	else
		check "$1 went by PAGE_READ (no one-sided reads over TCP)" \
			test "$rpc" -gt "$rpc0" -a "$direct" -eq 0
	fi
}
read_is() { # NODE OFFSET TEXT: dsio reads TEXT there
	local got
	got=$(g "$1" "$DSIO read coh $2 ${#3}" 2>&1)
	[ "$got" = "$3" ] && return 0
	echo "# node $1 read '$got' at $2, wanted '$3'"
	return 1
}
if [ "$home" -eq 0 ]; then
	not_ok "dataset 'coh' has a home among the nodes (placement: $(cat "$WORK/ls.coh.json"))"
else
	check "node $home (the home of 'coh') writes and commits 'first'" \
		g "$home" "$DSIO write coh 0 first"
	local0=$(faults_local "${others[0]}")
	fetches0=$(fetch_counts "${others[0]}")
	maps0=$(peer_count "$home" maps_served)
	for node in "${others[@]}"; do
		check "node $node reads 'first' from node $home" read_is "$node" 0 first
	done
	check "node ${others[0]} counted its fetch as a remote fault, with its latency, and not as a local one" \
		remote_faults_counted "${others[0]}" "$local0"
	fetch_path_ok "node ${others[0]}'s fetch of 'first'" "${others[0]}" "$fetches0"
	if [ "$TRANSPORT" = rdma ]; then
		check "node $home handed out keys for one-sided reads (PAGE_MAP, maps_served $maps0 -> $(peer_count "$home" maps_served))" \
			test "$(peer_count "$home" maps_served)" -ge $((maps0 + 2))
	fi
	g "$home" "setsid $DSIO hold coh 100 secret 8 > /tmp/hold.out 2>&1 < /dev/null &"
	sleep 2
	for node in "${others[@]}"; do
		check "node $node does not see node $home's uncommitted bytes" \
			read_is "$node" 100 "......"
	done
	# readers that keep their mapping (and so their cached copy) open
	for node in "${others[@]}"; do
		spawn "$node" /tmp/await.out "$DSIO await coh 0 second 20"
	done
	sleep 1
	check "node $home commits 'second' over 'first'" g "$home" "$DSIO write coh 0 second"
	for node in "${others[@]}"; do
		check "node $node's mapped copy was invalidated and refetched: it sees 'second'" \
			wait_file "$node" /tmp/await.out 'rc=0' 20
	done
	fetches0=$(fetch_counts "${others[1]}")
	for node in "${others[@]}"; do
		check "node $node reads 'second' afresh" read_is "$node" 0 second
	done
	fetch_path_ok "node ${others[1]}'s refetch of 'second'" "${others[1]}" "$fetches0"
	g "$home" "cat /sys/kernel/debug/dspm/peer" | grep -E "^(fetch|direct|maps)" | sed "s/^/# node $home: /"

	check "node ${others[0]}, not the home, commits 'third' (two-phase, through node $home)" \
		g "${others[0]}" "$DSIO write coh 0 third"
	for node in 1 2 3; do
		check "node $node reads 'third'" read_is "$node" 0 third
	done
	# the uncommitted holder exits; its bytes were never committed
	wait_file "$home" /tmp/hold.out 'holding' 1 >/dev/null
	sleep 6
	check "node $home's held bytes died with their fd" read_is "${others[1]}" 100 "......"

	# Sharers: a reader that closed the dataset is no longer invalidated;
	# one that keeps it open is, and only it.
	coh_id=$(listed_id "$WORK/ls.coh.json" coh)
	r0=${others[0]} r1=${others[1]}
	check "node $home forgets the readers of 'coh' once they closed it (UNSHARE)" \
		wait_readers "$home" "$coh_id" "" 10
	sent0=$(sharers_count "$home" invalidations_sent)
	recv0=$(sharers_count "$r0" invalidations_received)
	check "node $home commits 'fourth'" g "$home" "$DSIO write coh 0 fourth"
	check "... and sends no INVALIDATE: nobody has 'coh' open ($sent0 -> $(sharers_count "$home" invalidations_sent))" \
		test "$(sharers_count "$home" invalidations_sent)" = "$sent0"
	check "node $r0, an ex-reader, received none ($recv0 -> $(sharers_count "$r0" invalidations_received))" \
		test "$(sharers_count "$r0" invalidations_received)" = "$recv0"
	for node in "${others[@]}"; do
		check "node $node opens 'coh' again and reads 'fourth'" read_is "$node" 0 fourth
	done
	check "node $home forgets them again" wait_readers "$home" "$coh_id" "" 10
	spawn "$r0" /tmp/await.out "$DSIO await coh 0 fifth 20"
	check "node $home lists node $r0, which keeps 'coh' mapped, as its only reader" \
		wait_readers "$home" "$coh_id" "${id[$r0]}" 10
	sent0=$(sharers_count "$home" invalidations_sent)
	recv1=$(sharers_count "$r1" invalidations_received)
	check "node $home commits 'fifth'" g "$home" "$DSIO write coh 0 fifth"
	check "node $r0's mapped copy was invalidated: it sees 'fifth'" \
		wait_file "$r0" /tmp/await.out 'rc=0' 20
	check "node $home sent exactly one INVALIDATE, to node $r0 ($sent0 -> $(sharers_count "$home" invalidations_sent))" \
		test "$(sharers_count "$home" invalidations_sent)" = "$((sent0 + 1))"
	check "node $r1, which closed 'coh', received none ($recv1 -> $(sharers_count "$r1" invalidations_received))" \
		test "$(sharers_count "$r1" invalidations_received)" = "$recv1"
	check "node $home forgets node $r0 once its reader exits" \
		wait_readers "$home" "$coh_id" "" 10
	# close and open again at once, over and over: each open reads the
	# latest commit, and the home still invalidates the last one
	g "$r0" "for i in 1 2 3 4 5 6 7 8; do $DSIO read coh 0 5 >/dev/null || exit 1; done; \
		setsid sh -c '$DSIO await coh 0 sixth 20; echo rc=\$?' > /tmp/await.out 2>&1 < /dev/null &"
	wait_readers "$home" "$coh_id" "${id[$r0]}" 10 >/dev/null
	check "node $home commits 'sixth'" g "$home" "$DSIO write coh 0 sixth"
	check "node $r0, reopened eight times in a row, sees 'sixth' in its kept mapping" \
		wait_file "$r0" /tmp/await.out 'rc=0' 20
fi

# Two-phase commit across homes with replication degree 2: 'bank' has three
# 1 MiB chunks, each on two of the three nodes.
BANK=$BIN/dsbank
K=${DSPM_COUNTER_K:-300}
g 1 "$ADMIN create bank --size 3M --replicas 2" >/dev/null
g 1 "$ADMIN --json ls" > "$WORK/ls.bank.json" 2>&1
bank_id=$(python3 -c 'import json,sys; print([d for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == "bank"][0]["id"])' "$WORK/ls.bank.json" 2>/dev/null)
holders() { # CHUNK: the node numbers (1..3) holding it
	python3 -c '
import json, sys
d = [d for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == "bank"][0]
ids = d["placement"]["chunks"][int(sys.argv[2])]
print(" ".join(str(n) for n in range(1, 4) if int(sys.argv[2 + n]) in ids))' \
		"$WORK/ls.bank.json" "$1" "${id[1]}" "${id[2]}" "${id[3]}"
}
copy_is() { # NODE PAGE TEXT: the node's own pmem copy of bank's PAGE starts with TEXT
	local got
	got=$(g "$1" "echo '$bank_id $2' > /sys/kernel/debug/dspm/copy && cat /sys/kernel/debug/dspm/copy" 2>&1)
	case "$got" in "$bank_id $2 $3"*) return 0 ;; esac
	echo "# node $1: $got"
	return 1
}
copy_lacks() { # NODE PAGE TEXT: the node's pmem copy of bank's PAGE (or none) lacks TEXT
	local got
	got=$(g "$1" "echo '$bank_id $2' > /sys/kernel/debug/dspm/copy && cat /sys/kernel/debug/dspm/copy" 2>&1)
	echo "# node $1: $got"
	case "$got" in "$bank_id $2 "*"$3"*) return 1 ;; "$bank_id $2 "*) return 0 ;; esac
	return 1
}
c0=$(holders 0)
non=$(for n in 1 2 3; do case " $c0 " in *" $n "*) ;; *) echo "$n" ;; esac; done)
check "node $non (holding no copy of chunk 0) commits 'replicated' to page 0" \
	g "$non" "$BIN/dsio write bank 8 replicated"
for node in $c0; do
	check "the bytes are in node $node's pmem (a holder of chunk 0)" copy_is "$node" 0 "........replicated"
done
check "node $non keeps no copy of chunk 0 of its own" \
	copy_lacks "$non" 0 replicated
for node in $c0; do
	g "$node" "$ADMIN stats --json" > "$WORK/stats.$node.json" 2>&1
done
check "the holders of chunk 0 counted the bytes they applied for node $non" \
	python3 -c '
import json, sys
sys.exit(0 if all(json.load(open(f))["bytes_replicated"] >= 10 for f in sys.argv[1:]) else 1)' \
	$(for node in $c0; do echo "$WORK/stats.$node.json"; done)
g 1 "$BIN/dsio write bank 8 ........ >/dev/null"

for node in 1 2 3; do
	spawn "$node" /tmp/add.out "$BANK add bank $K"
done
for node in 1 2 3; do
	check "node $node added 1 to the shared counter $K times (validated, retrying on EAGAIN)" \
		wait_file "$node" /tmp/add.out 'rc=0' 600 'rc='
done
for node in 1 2 3; do
	check "node $node reads the counter as exactly 3K = $((3 * K))" \
		test "$(g "$node" "$BANK get bank 0" 2>&1)" = "$((3 * K))"
done

N=6
check "six accounts of 1000 over the three chunks" g 1 "$BANK init bank $N 1000"
# the nodes that hold no copy of some chunk of 'bank' fetch it from its home
bank_readers=$(for n in 1 2 3; do
	for c in 0 1 2; do case " $(holders $c) " in *" $n "*) ;; *) echo "$n"; break ;; esac; done
done)
declare -A bank_fetches0
for node in $bank_readers; do bank_fetches0[$node]=$(fetch_counts "$node"); done
for node in 1 2 3; do
	spawn "$node" /tmp/transfer.out "$BANK transfer bank $N 20"
done
for node in 2 3; do
	spawn "$node" /tmp/audit.out "$BANK audit bank $N 6000 20"
done
for node in 1 2 3; do
	check "node $node's transfers ran" wait_file "$node" /tmp/transfer.out 'rc=0' 300 'rc='
done
for node in 2 3; do
	check "node $node's snapshots while transfers ran all summed to 6000" \
		wait_file "$node" /tmp/audit.out 'rc=0' 300 'rc='
done
for node in 1 2 3; do
	check "node $node: the sum is 6000 at the end" g "$node" "$BANK audit bank $N 6000 0"
done
# the transfers and audits read the chunks a node does not hold from their
# homes while the other nodes commit to them: over RDMA those (re)fetches
# are one-sided
for node in $bank_readers; do
	read -r rpc0 direct0 <<< "${bank_fetches0[$node]}"
	read -r rpc direct <<< "$(fetch_counts "$node")"
	peer "$node" | grep -E "^(fetch|direct|maps)" | sed "s/^/# node $node: /"
	if [ "$TRANSPORT" = rdma ]; then
		check "node $node refetched pages by RDMA READ while the others committed ($direct0 -> $direct; by PAGE_READ $rpc0 -> $rpc)" \
			test "$direct" -gt $((direct0 + 1)) -a $((direct - direct0)) -gt $((rpc - rpc0))
	else
		check "node $node refetched pages by PAGE_READ while the others committed ($rpc0 -> $rpc)" \
			test "$rpc" -gt $((rpc0 + 1)) -a "$direct" -eq 0
	fi
done
check "some node holds no copy of a chunk of 'bank' (readers: $(echo $bank_readers))" \
	test -n "$bank_readers"
g 2 "$ADMIN stats --json" > "$WORK/stats.2.json" 2>&1
g 2 "cat /tmp/add.out /tmp/transfer.out /tmp/audit.out" > "$WORK/retries.2.txt" 2>&1
check "node 2 counted one conflict per EAGAIN its commits returned" python3 -c '
import json, re, sys
s = json.load(open(sys.argv[1]))
seen = sum(int(n) for n in re.findall(r"(\d+) retries after EAGAIN", open(sys.argv[2]).read()))
print("# node 2: conflicts %s, EAGAIN returned %s" % (s["conflicts"], seen))
sys.exit(0 if seen >= 1 and s["conflicts"] == seen else 1)' "$WORK/stats.2.json" "$WORK/retries.2.txt"

# MRSW across nodes: one owner at a time per page, readers go on and see
# committed bytes only, non-owners cannot commit, a waiting BEGIN gets the
# pages when the owner commits.  'single' has two 1 MiB chunks.
SYNC=$BIN/dssync
g 1 "$ADMIN create single --size 2M --replicas 2 --model mrsw" >/dev/null
g 1 "setsid $SYNC own single 0 8192 6 owner-one > /tmp/own.out 2>&1 < /dev/null &"
check "node 1 owns pages 0-1 of MRSW 'single'" wait_file 1 /tmp/own.out 'owned after' 30 'dssync:'
check "node 2 cannot own page 1 meanwhile (EAGAIN)" \
	test "$(g 2 "$SYNC try single 4096 4096" 2>&1)" = busy
check "node 2 owns a page of the other chunk meanwhile" \
	test "$(g 2 "$SYNC try single 1048576 4096" 2>&1)" = owned
check "node 3 reads page 0 meanwhile, without node 1's uncommitted bytes" \
	test "$(g 3 "$DSIO read single 0 9" 2>&1)" = "........."
check "node 3 cannot commit to 'single' without owning (EPERM)" \
	expect_fail "Operation not permitted" g 3 "$DSIO write single 16 x"
g 2 "setsid $SYNC own single 0 4096 0 second > /tmp/own.out 2>&1 < /dev/null &"
check "node 1 commits what it wrote as owner" wait_file 1 /tmp/own.out committed 60 'dssync:'
check "node 2's waiting BEGIN got page 0 after that, and committed" \
	wait_file 2 /tmp/own.out committed 60 'dssync:'
for node in 1 2 3; do
	check "node $node reads both owners' commits in order ('secondone')" \
		test "$(g "$node" "$DSIO read single 0 9" 2>&1)" = secondone
done

# A cluster-wide lock serialises plain (not validated) read-modify-write
# commits from three nodes: no update is lost.
KL=${DSPM_LOCK_K:-40}
g 1 "$ADMIN create locked --size 64K --replicas 2" >/dev/null
for node in 1 2 3; do
	spawn "$node" /tmp/count.out "$SYNC count locked 7 $KL"
done
for node in 1 2 3; do
	check "node $node added 1 $KL times under lock 7 with plain commits" \
		wait_file "$node" /tmp/count.out 'rc=0' 600 'rc='
done
for node in 1 2 3; do
	check "node $node reads exactly 3 x $KL = $((3 * KL))" \
		test "$(g "$node" "$BANK get locked 0" 2>&1)" = "$((3 * KL))"
done

# A barrier over the nodes that have the dataset open: three rounds, node 1
# first, node 3 last; nobody leaves a round before the last one arrives.
g 1 "$ADMIN create gate --size 4K" >/dev/null
delay=(0 6000 8000 10000)
for node in 1 2 3; do
	spawn "$node" /tmp/barrier.out "$SYNC barrier gate 3 ${delay[$node]}"
done
for node in 1 2 3; do
	check "node $node passed three barrier rounds" wait_file "$node" /tmp/barrier.out 'rc=0' 120 'rc='
	g "$node" "cat /tmp/barrier.out" > "$WORK/barrier.$node.txt" 2>&1
done
check "every round had the three nodes, and node 1 waited for node 3 in round 1" python3 -c '
import re, sys
runs = [re.findall(r"round (\d+) nodes (\d+) waited (\d+)", open(p).read()) for p in sys.argv[1:]]
print("# " + " | ".join(" ".join("r%s:n%s:%sms" % x for x in r) for r in runs))
ok = all([x[:2] for x in r] == [("1", "3"), ("2", "3"), ("3", "3")] for r in runs)
sys.exit(0 if ok and int(runs[0][0][2]) >= 2000 else 1)' "$WORK"/barrier.{1,2,3}.txt

# A home that loses power forgets whom it served.  When it is back, the
# other nodes drop what they cached from it, so a reader that kept its
# mapping across the restart sees the home's next commit.  Node 3 is the
# one that loses power below: 'ret' has nine 1 MiB chunks on two nodes
# each, so node 3 is the home of one that node 1 or 2 does not hold.
g 1 "$ADMIN create ret --size 9M --replicas 2" >/dev/null
g 1 "$ADMIN --json ls" > "$WORK/ls.ret.json" 2>&1
read -r rchunk rreader < <(python3 -c '
import json, sys
d = [d for d in json.load(open(sys.argv[1]))["datasets"] if d["name"] == "ret"][0]
ids = {int(sys.argv[2]): 1, int(sys.argv[3]): 2}
for c, holders in enumerate(d["placement"]["chunks"]):
    if holders[0] == int(sys.argv[4]):
        for i, n in ids.items():
            if i not in holders:
                print(c, n)
                sys.exit(0)' "$WORK/ls.ret.json" "${id[1]}" "${id[2]}" "${id[3]}" 2>/dev/null)
check "node 3 is the home of a chunk of 'ret' that node ${rreader:-1 or 2} lacks (chunk ${rchunk:-none})" \
	test -n "${rchunk:-}"
if [ -n "${rchunk:-}" ]; then
	roff=$((rchunk * 1048576))
	check "node 3 commits 'before' to chunk $rchunk of 'ret'" g 3 "$DSIO write ret $roff before"
	check "node $rreader reads 'before' from node 3" \
		test "$(g "$rreader" "$DSIO read ret $roff 6" 2>&1)" = before
	spawn "$rreader" /tmp/return.out "$DSIO await ret $roff after 300"
	sleep 3
fi

# A lock holder's node dies: the lock goes to the next waiter once the
# dispatcher has declared the node dead; the node comes back as itself.
g 3 "setsid $SYNC lock locked 9 600 > /tmp/lock.out 2>&1 < /dev/null &"
check "node 3 takes lock 9" wait_file 3 /tmp/lock.out 'locked after' 30 'dssync:'
check "node 1 cannot take lock 9 meanwhile (EAGAIN)" \
	test "$(g 1 "$SYNC trylock locked 9" 2>&1)" = busy
"$VM" kill 3
check "node 1 takes lock 9 over after node 3 died" \
	g 1 "timeout 60 $SYNC lock locked 9 0 | sed 's/^/# /'"
if "$VM" start 3 >>"$WORK/boot.log" 2>&1 && g 3 "sh selftests/dspm/load_module.sh" &&
	g 3 "$ADMIN attach $PMEM" >/dev/null && join 3 > "$WORK/rejoin.3.json"; then
	ok "node 3 boots, re-attaches its pmem and rejoins"
else
	not_ok "node 3 boots, re-attaches its pmem and rejoins"
fi
check "node 1 sees node ${id[3]} alive again" wait_table 1 "(^| )${id[3]}:alive" 20
if [ -n "${rchunk:-}" ]; then
	check "node 3, back, commits 'after' to 'ret'" g 3 "$DSIO write ret $roff after"
	check "node $rreader's mapping from before node 3's restart sees 'after'" \
		wait_file "$rreader" /tmp/return.out 'rc=0' 60 'rc='
fi

check "node 1 leaves the cluster" g 1 "$ADMIN leave"
sleep 5
c1=""
for c in 0 1 2; do case " $(holders $c) " in *" 1 "*) c1=$c; break ;; esac; done
check "a commit that needs node 1 (chunk $c1) fails with EIO while it is away" \
	expect_fail "Input/output error" g 2 "$BIN/dsio write bank $((c1 * 1048576 + 64)) x"
check "node 1 rejoins" join 1
check "the same commit works again" g 2 "$BIN/dsio write bank $((c1 * 1048576 + 64)) x"

# A home that restarts faster than the dispatcher declares it dead is never
# seen dead: only its new incarnation in the node table tells the others to
# drop what they cached from it.  The dispatcher runs with a dead timeout of
# 10 minutes here, so node 3's restart (module reloaded, pmem attached,
# joined) cannot be seen any other way.
if [ -n "${rchunk:-}" ]; then
	g 1 'kill -TERM $(cat /tmp/dispatcher.pid)'
	sleep 1
	DEAD_MS=600000 check "dispatcher restarts with a dead timeout of 10 minutes" start_dispatcher
	for node in 1 2 3; do
		check "node $node rejoined by itself" \
			wait_table "$node" "^${id[$node]} connected .*:alive .*:alive .*:alive" 30
	done
	check "node 3 keeps its incarnation across the dispatcher's restart" \
		grep -q "node ${id[3]} joined .*same start)" "$WORK/dispatcher.log"
	spawn "$rreader" /tmp/quick.out "$DSIO await ret $roff quick 300"
	sleep 3
	check "node $rreader maps chunk $rchunk of 'ret' from node 3, which lists it as a reader" \
		wait_readers 3 "$(listed_id "$WORK/ls.ret.json" ret)" "${id[$rreader]}" 20
	deaths=$(grep -c "node ${id[3]}: .* -> dead" "$WORK/dispatcher.log")
	restarts=$(grep -c "node ${id[3]} joined .*restarted)" "$WORK/dispatcher.log")
	check "node 3 restarts dspm: module reloaded, pmem attached, joined" \
		g 3 "rmmod dspm && sh selftests/dspm/load_module.sh && $ADMIN attach $PMEM >/dev/null && \
			$ADMIN --json join --dispatcher $ADDR --transport $TRANSPORT --key-file $KEY >/dev/null"
	check "the dispatcher saw node 3 restart and never declared it dead" \
		test "$(grep -c "node ${id[3]} joined .*restarted)" "$WORK/dispatcher.log")" -gt "$restarts" -a \
		"$(grep -c "node ${id[3]}: .* -> dead" "$WORK/dispatcher.log")" -eq "$deaths"
	check "node 3, restarted, commits 'quick' to 'ret'" g 3 "$DSIO write ret $roff quick"
	check "node $rreader's mapping from before node 3's quick restart sees 'quick'" \
		wait_file "$rreader" /tmp/quick.out 'rc=0' 60 'rc='

	# A fault whose node has the page cached can lose the copy to an
	# INVALIDATE before it maps it (the INVALIDATE's zap then finds nothing
	# to zap); it must look under apply_sem, or it maps the dropped copy
	# and never sees the commit.  fault_stall_ms holds every fault for 8 s
	# just before it takes apply_sem while node 3 commits: the first
	# finds the copy dropped and fetches, the retry maps the new bytes.  A
	# reader that keeps the dataset open (peek) keeps the copy cached.
	stalls() { g "$rreader" "dmesg | grep -c 'fault injection: fault stalled'"; }
	g "$rreader" "setsid sh -c 'echo \$\$ > /tmp/peek.pid; exec $DSIO peek ret $roff 5 180' > /tmp/peek.out 2>&1 < /dev/null &"
	check "node $rreader caches the page of chunk $rchunk, and keeps 'ret' open" \
		wait_file "$rreader" /tmp/peek.out quick 20
	stalls0=$(stalls)
	check "node $rreader's faults stall 8 s once its copy is current" \
		g "$rreader" "echo 8000 > /sys/kernel/debug/dspm/fault_stall_ms"
	spawn "$rreader" /tmp/stall.out "$DSIO await ret $roff stall 120"
	sleep 2
	check "node 3 commits 'stall' while node $rreader's fault stalls" g 3 "$DSIO write ret $roff stall"
	check "the stalled fault maps the page as node 3 committed it ('stall')" \
		wait_file "$rreader" /tmp/stall.out 'rc=0' 60 'rc='
	g "$rreader" "echo 0 > /sys/kernel/debug/dspm/fault_stall_ms"
	check "it found its copy dropped and fetched it again (stalls: $stalls0 -> $(stalls), want 2 more)" \
		test "$(stalls)" -eq $((stalls0 + 2))
	g "$rreader" 'kill $(cat /tmp/peek.pid)'
fi

for node in 1 2 3; do
	check "node $node leaves" g "$node" "$ADMIN leave && $ADMIN detach"
done
check "kernel logs clean on every node" logs_clean
finish

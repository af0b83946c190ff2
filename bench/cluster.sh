#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Multi-node costs of dspm on a 3-VM cluster over RDMA (Soft-RoCE rxe0 on the vde
# segment, the dispatcher in node 1), against perftest baselines measured between
# nodes 1 and 2 in the same VMs and the same run (before and after the dspm
# measurements; ratios use the mean of the two):
#   remote read fault (dspm-cluster-bench fault, on a node holding no copy)
#       / ib_read_lat -s 4096 t_avg (perftest reports a READ's whole round trip)
#   commit of 1 and 16 pages at R = 1, 2, 3, from the chunk's home and from a
#   node holding no copy (none exists at R = 3); then from the home again, now
#   that the other node is a sharer of the dataset there
#       / (ib_write_lat -s 4096 t_avg + ib_send_lat t_avg), each half a round
#       trip as perftest reports them; also / (write t_avg + 2 x send t_avg),
#       a one-way 4 KiB write plus a whole send round trip
#   the same, against the kernel transport's own RDMA round trip (debugfs
#   transport_ping, driver/debug_xprt_bench.c) of 4 KiB and of 2 bytes
#   commit throughput from 1, 2 and 3 nodes at once, on disjoint pages and on
#   one shared page (R = 2)
# Results: build/bench/cluster.json, the raw outputs in build/bench/cluster/,
# a table on stdout and a bar chart in build/bench/cluster.svg.
# Environment: DSPM_VM_DIR (build/vm-bench-cluster), COUNT (perftest
# iterations, 1000), ITERATIONS (commits per latency run, 100), TP_SECONDS
# (seconds per throughput run, 15), FAULT_ROUNDS (4; 256 pages each).
set -eu -o pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-bench-cluster}
out=$repo/build/bench
raw=$out/cluster
vm=$repo/tools/vm/dspm-vm
bench=$repo/build/user/bench/dspm-cluster-bench
admin=$repo/build/user/tools/dspm-admin/dspm-admin
dispatcher=$repo/build/user/dispatcher/dspm-dispatcher
count=${COUNT:-1000}
iterations=${ITERATIONS:-100}
tp_seconds=${TP_SECONDS:-15}
fault_rounds=${FAULT_ROUNDS:-4}
work=$DSPM_VM_DIR/work
addr=10.77.0.1:7400
key=$work/cluster.key
chunk=1048576
fault_pages=$((chunk / 4096))

for f in "$bench" "$admin" "$dispatcher" "$("$vm" ko)"; do
	[ -e "$f" ] || { echo "cluster.sh: missing $f (make all)" >&2; exit 2; }
done

g() { "$vm" run --timeout "${GUEST_TIMEOUT:-300}" "$@"; }
say() { echo "cluster.sh: $*" >&2; }

trap '"$vm" down >/dev/null 2>&1' EXIT
"$vm" down >/dev/null 2>&1 || true
rm -rf "$work" "$raw" "$DSPM_VM_DIR"/node*/pmem*.img
mkdir -p "$work" "$raw"
head -c 48 /dev/urandom | base64 > "$key"
chmod 600 "$key"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

say "booting nodes 1 2 3"
"$vm" start 1 2 3 > "$raw/boot.log" 2>&1 || { cat "$raw/boot.log" >&2; exit 1; }
for n in 1 2 3; do g "$n" 'sh selftests/dspm/load_module.sh'; done
g 1 'rdma link' > "$raw/rdma-link.txt"
g 1 'uname -r; ib_read_lat --version 2>&1 | head -n 1' > "$raw/guest.txt"

# perftest between node 1 (server) and node 2 (client): TEST SIZE TAG; prints
# "t_typical t_avg p99" in microseconds, the raw output in $raw/TAG.txt.
perf() {
	local test=$1 size=$2 tag=$3 try line
	for try in 1 2 3; do
		g 1 "setsid $test -d rxe0 -s $size -n $count > /tmp/$tag.server 2>&1 < /dev/null & echo \$! > /tmp/perf.pid"
		sleep 2
		if g 2 "$test -d rxe0 -s $size -n $count 10.77.0.1" > "$raw/$tag.txt" 2>&1; then
			line=$(awk -v s="$size" '$1 == s && NF >= 8 { print $5, $6, $8 }' "$raw/$tag.txt" | tail -n1)
			[ -n "$line" ] && { echo "$line"; return 0; }
		fi
		say "$tag: attempt $try failed: $(tail -n 3 "$raw/$tag.txt" | tr '\n' ' ')"
		g 1 'kill $(cat /tmp/perf.pid) 2>/dev/null; true'
		sleep 2
	done
	return 1
}
# The kernel transport's round trip (driver/debug_xprt_bench.c) from node 2 to
# an echo in node 1: SIZE TAG; prints "p50 avg p99" in microseconds.
kping() {
	local dbg=/sys/kernel/debug/dspm
	g 1 "echo 'rdma 7500' > $dbg/transport_echo"
	g 2 "echo 'rdma 10.77.0.1:7500 $count $1' > $dbg/transport_ping && cat $dbg/transport_ping" \
		> "$raw/$2.txt"
	g 1 "echo stop > $dbg/transport_echo"
	python3 -c '
import re, sys
f = dict(re.findall(r"(\w+)=(-?\d+)", open(sys.argv[1]).read()))
print(int(f["p50_ns"]) / 1000, int(f["avg_ns"]) / 1000, int(f["p99_ns"]) / 1000)' "$raw/$2.txt"
}
baselines() { # PHASE: writes $raw/perftest-PHASE.txt
	{
		echo "read $(perf ib_read_lat 4096 "read-$1")"
		echo "write $(perf ib_write_lat 4096 "write-$1")"
		echo "send $(perf ib_send_lat 2 "send-$1")"
		echo "kernel4096 $(kping 4096 "kping-4096-$1")"
		echo "kernel2 $(kping 2 "kping-2-$1")"
	} > "$raw/perftest-$1.txt"
	sed "s/^/# baselines $1: /" "$raw/perftest-$1.txt" >&2
}
say "perftest baselines (before)"
baselines before

say "dispatcher in node 1, three nodes join over rdma"
g 1 "nohup $dispatcher --listen $addr --transport rdma --state /tmp/dispatcher.db \
	--key-file $key --heartbeat-ms 1000 --suspect-ms 5000 --dead-ms 20000 \
	--chunk-size $chunk >> $work/dispatcher.log 2>&1 & echo \$! > /tmp/dispatcher.pid"
for i in $(seq 1 100); do
	grep -q "listening on $addr" "$work/dispatcher.log" 2>/dev/null && break
	[ "$i" -lt 100 ] || { say "the dispatcher did not start"; cat "$work/dispatcher.log" >&2; exit 1; }
	sleep 0.2
done
declare -A id
for n in 1 2 3; do
	g "$n" "$admin attach --format /dev/pmem0" > /dev/null
	g "$n" "$admin --json join --dispatcher $addr --transport rdma --key-file $key" > "$raw/join.$n.json"
	id[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "$raw/join.$n.json")
done
alive() { # NODE: sees three nodes alive
	g "$1" "$admin --json nodes" | python3 -c '
import json, sys
sys.exit(0 if sum(x["state"] == "alive" for x in json.load(sys.stdin)["nodes"]) == 3 else 1)'
}
for n in 1 2 3; do
	for i in $(seq 1 60); do alive "$n" && break; sleep 0.5; done
done

# create NAME SIZE R; then holders NAME prints the node numbers (1..3) holding
# chunk 0, home first
create() { g 1 "$admin create $1 --size $2 --replicas $3" > /dev/null; }
holders() {
	g 1 "$admin --json ls" | python3 -c '
import json, sys
node = dict(a.split(":") for a in sys.argv[2:])
d = [d for d in json.load(sys.stdin)["datasets"] if d["name"] == sys.argv[1]][0]
print(" ".join(node[str(i)] for i in d["placement"]["chunks"][0]))' \
		"$1" "${id[1]}:1" "${id[2]}:2" "${id[3]}:3"
}
non_holder() { # HOLDERS...: the first node holding no copy, or nothing
	local n
	for n in 1 2 3; do
		case " $* " in *" $n "*) ;; *) echo "$n"; return ;; esac
	done
}

say "remote read faults"
create fault1 1M 1
read -r -a h <<< "$(holders fault1)"
[ ${#h[@]} -eq 1 ] || { say "no placement for fault1"; exit 1; }
reader=$(non_holder "${h[@]}")
# the home commits a word of every page first, so it serves real pages
g "${h[0]}" "$bench commit fault1 --pages $fault_pages --iterations 1 --warmup 0" > /dev/null
peer_fetches() { g "$1" "grep -E '^(fetch|direct|maps)' /sys/kernel/debug/dspm/peer"; }
peer_fetches "$reader" > "$raw/fault-fetches-before.txt"
g "$reader" "$bench fault fault1 --pages $fault_pages --rounds $fault_rounds" > "$raw/fault-remote.json"
# which path the fetches took: fetch_direct (RDMA READ) or fetch_rpc (PAGE_READ)
peer_fetches "$reader" > "$raw/fault-fetches-after.txt"
g "${h[0]}" "$bench fault fault1 --pages $fault_pages --rounds $fault_rounds --allow-holder" \
	> "$raw/fault-local.json"
echo "fault home=${h[0]} reader=$reader" >> "$raw/roles.txt"

say "commit latency, $iterations commits per run"
for r in 1 2 3; do
	create "c$r" 1M "$r"
	read -r -a h <<< "$(holders "c$r")"
	[ ${#h[@]} -eq "$r" ] || { say "no placement for c$r"; exit 1; }
	other=$(non_holder "${h[@]}")
	echo "c$r holders=${h[*]} non-holder=${other:-none}" >> "$raw/roles.txt"
	# the home first, while no other node has read the dataset; once more at
	# the end, after the non-holder's commits: that node closed the dataset, so
	# it unregistered at the home (UNSHARE) and costs the home's commits nothing
	# (before UNSHARE it stayed a sharer for good: one more round trip each)
	for p in 1 16; do
		g "${h[0]}" "$bench commit c$r --pages $p --iterations $iterations" > "$raw/commit-r$r-p$p-home.json"
	done
	g "${h[0]}" "$bench commit c$r --pages 1 --iterations $iterations --full-pages" \
		> "$raw/commit-r$r-p1-home-full.json"
	[ -n "$other" ] || continue
	for p in 1 16; do
		g "$other" "$bench commit c$r --pages $p --iterations $iterations" \
			> "$raw/commit-r$r-p$p-nonholder.json"
	done
	g "${h[0]}" "$bench commit c$r --pages 1 --iterations $iterations" > "$raw/commit-r$r-p1-homesharer.json"
done

say "commit throughput, $tp_seconds s per run"
create tp 1M 2
echo "tp holders=$(holders tp)" >> "$raw/roles.txt"
throughput() { # TAG disjoint|shared NODES...
	local tag=$1 mode=$2 n off pids=() i ready f
	shift 2
	rm -f "$work/start.$tag"*
	for n in "$@"; do
		off=0
		[ "$mode" = shared ] || off=$(((n - 1) * 8))
		"$vm" run --timeout $((tp_seconds + 300)) "$n" "$bench throughput tp --seconds $tp_seconds \
			--offset $off --pages 1 --start-file $work/start.$tag" > "$raw/tp-$tag-node$n.json" &
		pids+=($!)
	done
	for i in $(seq 1 600); do
		ready=0
		for f in "$work/start.$tag.ready."*; do
			[ -e "$f" ] && ready=$((ready + 1))
		done
		[ "$ready" -ge $# ] && break
		sleep 0.2
	done
	touch "$work/start.$tag"
	for i in "${pids[@]}"; do wait "$i"; done
}
throughput n1 disjoint 1
throughput n2-disjoint disjoint 1 2
throughput n2-shared shared 1 2
throughput n3-disjoint disjoint 1 2 3
throughput n3-shared shared 1 2 3

say "perftest baselines (after)"
baselines after

for n in 1 2 3; do
	g "$n" "$admin --json stats" > "$raw/stats.$n.json" 2>&1 || true
	if ! "$vm" dmesg-check "$n" > "$raw/dmesg.$n.txt" 2>&1; then
		say "warning: node $n's kernel log has problems (see $raw/dmesg.$n.txt)"
		sed 's/^/# /' "$raw/dmesg.$n.txt" | head -n 20 >&2
	fi
done
python3 "$repo/bench/cluster_report.py" "$raw" "$out/cluster.json" "$out/cluster.svg" \
	"$started" "$count" "$iterations" "$tp_seconds"

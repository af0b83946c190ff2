#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 11 (driver locking), before and after, in one run on the same three VMs:
# the nodes load the BEFORE module, run the cases, unload it, load the AFTER
# module and run the same cases again (each time with a fresh dispatcher
# database and freshly formatted pmem, so both start from the same state).
#
#   DSPM_KO_BEFORE=build/before/driver/dspm.ko DSPM_KO_AFTER=build/after/driver/dspm.ko \
#       bench/locking.sh
#
# Cases, per module (everything over RDMA, Soft-RoCE rxe0, dispatcher in node 1):
#   fault        remote read faults from a node holding no copy (R=1, 256 pages x
#                FAULT_ROUNDS), as in cluster.sh; / ib_read_lat -s 4096 t_avg
#   commit       1 page, R=2, ITERATIONS commits from the home and from the node
#                holding no copy; / (ib_write_lat + ib_send_lat t_avg)
#   faults-mt    one fd, 4 threads: thread 0 faults 16 pages homed on node X whose
#                eth0 egress is delayed SLOW_MS (netem, inside X), threads 1-3
#                fault 64 pages each homed on a third node (and, a second row,
#                held locally); once with no delay for reference
#   commit-vs-ls 1 page, R=2, committed at the home Y; X (the replica) idle, then
#                running `dspm-admin ls` in a loop while node 1's egress to X (the
#                dispatcher's answers) is delayed LS_DELAY_MS (netem, prio band
#                with a u32 filter on X's address, so nothing else is slowed)
# Perftest baselines between nodes 1 and 2 before the first module's cases and
# after the second's. If a node cannot unload the module, all three VMs are
# rebooted instead (two runs back to back); $raw/reload.txt says which.
# Results: build/bench/locking.json, raw outputs in build/bench/locking/,
# a table on stdout.
# Environment: DSPM_VM_DIR (build/vm-bench-locking), COUNT (1000), ITERATIONS
# (100), FAULT_ROUNDS (4), MT_ROUNDS (3), SLOW_MS (50), LS_DELAY_MS (20).
set -eu -o pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-bench-locking}
out=$repo/build/bench
raw=$out/locking
vm=$repo/tools/vm/dspm-vm
bench=$repo/build/user/bench/dspm-cluster-bench
admin=$repo/build/user/tools/dspm-admin/dspm-admin
dispatcher=$repo/build/user/dispatcher/dspm-dispatcher
count=${COUNT:-1000}
iterations=${ITERATIONS:-100}
fault_rounds=${FAULT_ROUNDS:-4}
mt_rounds=${MT_ROUNDS:-3}
slow_ms=${SLOW_MS:-50}
ls_delay_ms=${LS_DELAY_MS:-20}
work=$DSPM_VM_DIR/work
addr=10.77.0.1:7400
key=$work/cluster.key
chunk=1048576
fault_pages=$((chunk / 4096))

declare -A ko
for label in before after; do
	var=DSPM_KO_${label^^}
	[ -n "${!var:-}" ] || { echo "locking.sh: set $var to a dspm.ko under $repo" >&2; exit 2; }
	ko[$label]=$(realpath -m "${!var}")
	case "${ko[$label]}" in "$repo"/*) ;; *) echo "locking.sh: $var is not under $repo" >&2; exit 2 ;; esac
done
for f in "$bench" "$admin" "$dispatcher" "${ko[before]}" "${ko[after]}"; do
	[ -e "$f" ] || { echo "locking.sh: missing $f" >&2; exit 2; }
done

g() { "$vm" run --timeout "${GUEST_TIMEOUT:-300}" "$@"; }
say() { echo "locking.sh: $*" >&2; }

trap '"$vm" down >/dev/null 2>&1' EXIT
"$vm" down >/dev/null 2>&1 || true
rm -rf "$work" "$raw" "$DSPM_VM_DIR"/node*/pmem*.img
mkdir -p "$work" "$raw"
head -c 48 /dev/urandom | base64 > "$key"
chmod 600 "$key"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for label in before after; do
	echo "$label ${ko[$label]} $(sha256sum < "${ko[$label]}" | cut -c1-16)" >> "$raw/modules.txt"
done

boot() {
	say "booting nodes 1 2 3"
	"$vm" start 1 2 3 >> "$raw/boot.log" 2>&1 || { cat "$raw/boot.log" >&2; exit 1; }
}
load() { # LABEL
	local n
	for n in 1 2 3; do
		g "$n" "DSPM_KO=${ko[$1]} sh selftests/dspm/load_module.sh"
		g "$n" "grep -E '^dspm ' /proc/modules; modinfo -F srcversion ${ko[$1]}" > "$raw/$1/module.$n.txt"
	done
}
boot
mkdir -p "$raw/before" "$raw/after"
load before
g 1 'uname -r; ib_read_lat --version 2>&1 | head -n 1; tc -V' > "$raw/guest.txt"

# perftest between node 1 (server) and node 2 (client), as in cluster.sh:
# TEST SIZE TAG prints "t_typical t_avg p99" in microseconds
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
baselines() { # PHASE
	{
		echo "read $(perf ib_read_lat 4096 "read-$1")"
		echo "write $(perf ib_write_lat 4096 "write-$1")"
		echo "send $(perf ib_send_lat 2 "send-$1")"
	} > "$raw/perftest-$1.txt"
	sed "s/^/# baselines $1: /" "$raw/perftest-$1.txt" >&2
}
say "perftest baselines (before)"
baselines before

declare -A id node_of
cluster_up() { # LABEL: dispatcher in node 1, three nodes attach and join
	local n i
	rm -f "$work/dispatcher.log"
	g 1 "rm -f /tmp/dispatcher.db*; nohup $dispatcher --listen $addr --transport rdma --state /tmp/dispatcher.db \
		--key-file $key --heartbeat-ms 1000 --suspect-ms 5000 --dead-ms 20000 \
		--chunk-size $chunk >> $work/dispatcher.log 2>&1 & echo \$! > /tmp/dispatcher.pid"
	for i in $(seq 1 100); do
		grep -q "listening on $addr" "$work/dispatcher.log" 2>/dev/null && break
		[ "$i" -lt 100 ] || { say "the dispatcher did not start"; cat "$work/dispatcher.log" >&2; exit 1; }
		sleep 0.2
	done
	for n in 1 2 3; do
		g "$n" "$admin attach --format /dev/pmem0" > /dev/null
		g "$n" "$admin --json join --dispatcher $addr --transport rdma --key-file $key" > "$raw/$1/join.$n.json"
		id[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "$raw/$1/join.$n.json")
		node_of[${id[$n]}]=$n
	done
	for n in 1 2 3; do
		for i in $(seq 1 60); do alive "$n" && break; sleep 0.5; done
	done
}
alive() { # NODE: sees three nodes alive
	g "$1" "$admin --json nodes" | python3 -c '
import json, sys
sys.exit(0 if sum(x["state"] == "alive" for x in json.load(sys.stdin)["nodes"]) == 3 else 1)'
}
# Unloads the module everywhere (leave, detach, rmmod; the dispatcher last);
# fails if a node cannot.
cluster_down() {
	local n rc=0
	for n in 3 2 1; do
		g "$n" "$admin leave; $admin detach" > /dev/null 2>&1 || true
	done
	g 1 'kill $(cat /tmp/dispatcher.pid) 2>/dev/null; sleep 1; true'
	for n in 1 2 3; do
		g "$n" 'rmmod dspm && ! grep -q "^dspm " /proc/modules' >> "$raw/rmmod.txt" 2>&1 || rc=1
	done
	return $rc
}
create() { g 1 "$admin create $1 --size $2 --replicas $3" > /dev/null; }
holders() { # NAME [CHUNK]: node numbers (1..3) holding the chunk, home first
	g 1 "$admin --json ls" | python3 -c '
import json, sys
node = dict(a.split(":") for a in sys.argv[3:])
d = [d for d in json.load(sys.stdin)["datasets"] if d["name"] == sys.argv[1]][0]
print(" ".join(node[str(i)] for i in d["placement"]["chunks"][int(sys.argv[2])]))' \
		"$1" "${2:-0}" "${id[1]}:1" "${id[2]}:2" "${id[3]}:3"
}
non_holder() { # HOLDERS...: the first node holding no copy, or nothing
	local n
	for n in 1 2 3; do
		case " $* " in *" $n "*) ;; *) echo "$n"; return ;; esac
	done
}
netem_clear() { g "$1" 'tc qdisc del dev eth0 root 2>/dev/null; true'; }

cases() { # LABEL
	local d=$raw/$1 h other reader x y z c
	: > "$d/roles.txt"

	say "$1: remote read faults"
	create fault1 1M 1
	read -r -a h <<< "$(holders fault1)"
	reader=$(non_holder "${h[@]}")
	g "${h[0]}" "$bench commit fault1 --pages $fault_pages --iterations 1 --warmup 0" > /dev/null
	g "$reader" "$bench fault fault1 --pages $fault_pages --rounds $fault_rounds" > "$d/fault-remote.json"
	echo "fault home=${h[0]} reader=$reader" >> "$d/roles.txt"

	say "$1: commit 1 page, R=2, $iterations commits from the home and from a non-holder"
	create c2 1M 2
	read -r -a h <<< "$(holders c2)"
	other=$(non_holder "${h[@]}")
	echo "c2 holders=${h[*]} non-holder=$other" >> "$d/roles.txt"
	g "${h[0]}" "$bench commit c2 --pages 1 --iterations $iterations" > "$d/commit-r2-home.json"
	g "$other" "$bench commit c2 --pages 1 --iterations $iterations" > "$d/commit-r2-nonholder.json"

	say "$1: faults-mt (4 threads, one fd), slow home delayed ${slow_ms} ms"
	create mt 3M 1
	local -a homes=()
	for c in 0 1 2; do homes+=("$(holders mt "$c")"); done
	# X: the slow home, Y: the reader, neither node 1 (the dispatcher's) when the
	# homes allow; the fast pages are then homed on the third node
	x= y=
	for c in "${homes[@]}"; do [ -n "$x" ] || [ "$c" = 1 ] || x=$c; done
	for c in "${homes[@]}"; do [ -n "$y" ] || [ "$c" = 1 ] || [ "$c" = "$x" ] || y=$c; done
	[ -n "$x" ] || x=${homes[0]}
	[ -n "$y" ] || y=$(non_holder "$x")
	echo "mt homes=${homes[*]} slow-home=$x reader=$y" >> "$d/roles.txt"
	g "$y" "$bench faults-mt mt --slow-home ${id[$x]} --rounds $mt_rounds" > "$d/faults-mt-nodelay.json" ||
		say "$1: faults-mt (no delay) failed"
	netem_clear "$x"
	g "$x" "tc qdisc add dev eth0 root netem delay ${slow_ms}ms && tc qdisc show dev eth0" > "$d/netem-slow.txt"
	g "$y" "$bench faults-mt mt --slow-home ${id[$x]} --rounds $mt_rounds" > "$d/faults-mt-slow.json" || say "$1: faults-mt failed"
	g "$y" "$bench faults-mt mt --slow-home ${id[$x]} --rounds $mt_rounds --fast-local" \
		> "$d/faults-mt-slow-local.json" || say "$1: faults-mt --fast-local failed"
	netem_clear "$x"
	g "$x" 'tc qdisc show dev eth0' >> "$d/netem-slow.txt"

	say "$1: commit-vs-ls, dispatcher answers to the lister delayed ${ls_delay_ms} ms"
	# a chunk held by nodes 2 and 3 (not node 1, whose egress is delayed): the
	# dispatcher places each chunk on the two nodes with the most free space,
	# so the chunks of one 8-chunk dataset take turns
	local chunk=
	create cv 8M 2
	for c in 0 1 2 3 4 5 6 7; do
		read -r -a h <<< "$(holders cv "$c")"
		[ "$(non_holder "${h[@]}")" = 1 ] && { chunk=$c; break; }
	done
	[ -n "$chunk" ] || { say "$1: no chunk of cv on nodes 2 and 3"; return 0; }
	y=${h[0]} x=${h[1]}
	echo "commit-vs-ls dataset=cv chunk=$chunk committer(home)=$y lister(replica)=$x" >> "$d/roles.txt"
	netem_clear 1
	g 1 "tc qdisc add dev eth0 root handle 1: prio bands 4 &&
		tc qdisc add dev eth0 parent 1:4 handle 40: netem delay ${ls_delay_ms}ms &&
		tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst 10.77.0.$x/32 flowid 1:4 &&
		tc qdisc show dev eth0 && tc filter show dev eth0" > "$d/netem-ls.txt"
	# one ls, timed, with the delay on: what a list costs the lister
	g "$x" "for i in 1 2 3 4 5; do s=\$(date +%s%N); $admin ls > /dev/null; e=\$(date +%s%N); echo ls_ns=\$((e - s)); done" \
		> "$d/ls-single.txt"
	local f=$work/ls.$1
	rm -f "$f".*
	"$vm" run --timeout 600 "$x" "while [ ! -e $f.start ]; do sleep 0.02; done
		n=0 bad=0 s=\$(date +%s%N)
		while [ ! -e $f.stop ]; do
			$admin ls > /dev/null 2>&1 || bad=\$((bad + 1))
			n=\$((n + 1)); [ \$n -ne 1 ] || : > $f.running
		done
		e=\$(date +%s%N); echo ls_calls=\$n ls_failed=\$bad ns=\$((e - s)); : > $f.stopped" \
		> "$d/ls-loop.txt" 2>&1 &
	local lister=$!
	g "$y" "$bench commit-vs-ls cv --offset $((chunk * fault_pages)) --iterations $iterations --ls-file $f" \
		> "$d/commit-vs-ls.json" ||
		{ say "$1: commit-vs-ls failed"; : > "$f.stop"; }
	wait "$lister" || say "$1: the ls loop failed: $(cat "$d/ls-loop.txt")"
	netem_clear 1
	g 1 'tc qdisc show dev eth0' >> "$d/netem-ls.txt"
}

checks() { # LABEL
	local n
	for n in 1 2 3; do
		g "$n" "$admin --json stats" > "$raw/$1/stats.$n.json" 2>&1 || true
		g "$n" "grep -E '^(fetch|direct|maps)' /sys/kernel/debug/dspm/peer" > "$raw/$1/peer.$n.txt" 2>&1 || true
		if ! "$vm" dmesg-check "$n" > "$raw/$1/dmesg.$n.txt" 2>&1; then
			say "warning: $1: node $n's kernel log has problems (see $raw/$1/dmesg.$n.txt)"
			sed 's/^/# /' "$raw/$1/dmesg.$n.txt" | head -n 20 >&2
		fi
		g "$n" 'dmesg' > "$raw/$1/dmesg-full.$n.txt" 2>&1 || true
		# the next module's check sees its own lines only
		g "$n" 'dmesg -C' > /dev/null 2>&1 || true
	done
}

for label in before after; do
	if [ "$label" = after ]; then
		if cluster_down; then
			echo "reloaded: same VMs, rmmod of the before module, insmod of the after module" > "$raw/reload.txt"
		else
			say "a node could not unload the module: rebooting the three VMs"
			echo "rebooted: rmmod failed (see rmmod.txt), three fresh VMs for the after module" > "$raw/reload.txt"
			"$vm" down > /dev/null 2>&1 || true
			rm -f "$DSPM_VM_DIR"/node*/pmem*.img
			boot
		fi
		load after
	fi
	say "module $label: ${ko[$label]}"
	cluster_up "$label"
	cases "$label"
	checks "$label"
done

say "perftest baselines (after)"
baselines after
python3 "$repo/bench/locking_report.py" "$raw" "$out/locking.json" "$started" "$iterations"

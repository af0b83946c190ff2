#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel transport's request/response round trip between two VMs,
# against baselines measured in the same VMs and the same run:
#   RDMA: the debugfs transport echo (driver/transport_bench.c) over rxe0
#         vs perftest's ib_send_lat (its t_avg is half a round trip; the
#         ratio is taken against the round trip 2 x t_avg, and also shown
#         against t_avg itself);
#   TCP:  the same echo over kernel sockets vs dspm-tcp-pingpong, a user-space
#         TCP ping-pong with the same framing.
# Results: build/bench/transport.json and a table on stdout.
# Environment: DSPM_VM_DIR (build/vm-bench-transport), COUNT (1000), SIZE (2).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
export DSPM_VM_DIR=${DSPM_VM_DIR:-$repo/build/vm-bench-transport}
out=$repo/build/bench
mkdir -p "$out"
vm=$repo/tools/vm/dspm-vm
count=${COUNT:-1000}
size=${SIZE:-2}
pingpong=$repo/build/user/bench/dspm-tcp-pingpong
dbg=/sys/kernel/debug/dspm
[ -x "$pingpong" ] && [ -f "$("$vm" ko)" ] || {
	echo "transport.sh: build first (make all)" >&2
	exit 2
}

trap '"$vm" down >/dev/null 2>&1' EXIT
"$vm" start 1 2 >/dev/null
for n in 1 2; do "$vm" run "$n" 'sh selftests/dspm/load_module.sh'; done

# perftest: server in node 1, client in node 2
"$vm" run 1 "setsid ib_send_lat -d rxe0 -s $size -n $count > /tmp/sl.out 2>&1 < /dev/null &"
sleep 1
"$vm" run --timeout 600 2 "ib_send_lat -d rxe0 -s $size -n $count 10.77.0.1" > "$out/ib_send_lat.txt"
ib_avg_us=$(awk '$1 == '"$size"' && NF >= 6 { print $6 }' "$out/ib_send_lat.txt" | tail -n1)

kernel_echo() { # tcp|rdma -> avg_ns
	"$vm" run 1 "echo '$1 7500' > $dbg/transport_echo"
	"$vm" run --timeout 600 2 "echo '$1 10.77.0.1:7500 $count $size' > $dbg/transport_ping && cat $dbg/transport_ping" |
		tee -a "$out/kernel_echo.txt" | sed -n 's/.*avg_ns=\([0-9]*\).*/\1/p'
	"$vm" run 1 "echo stop > $dbg/transport_echo"
}
: > "$out/kernel_echo.txt"
k_rdma=$(kernel_echo rdma)
k_tcp=$(kernel_echo tcp)

"$vm" run 1 "setsid $pingpong server 7501 > /tmp/pp.out 2>&1 < /dev/null &"
sleep 0.5
"$vm" run --timeout 600 2 "$pingpong client 10.77.0.1:7501 $count $size" > "$out/tcp_pingpong.json"
u_tcp=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["avg_ns"])' "$out/tcp_pingpong.json")
for n in 1 2; do "$vm" dmesg-check "$n"; done

python3 - "$out/transport.json" "$size" "$count" "$ib_avg_us" "$k_rdma" "$k_tcp" "$u_tcp" <<'PY'
import json, sys
path, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ib_us, k_rdma, k_tcp, u_tcp = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
ib_rtt = 2 * ib_us * 1000
r = {
    "size": size, "count": count,
    "ib_send_lat_t_avg_us": ib_us, "ib_send_lat_round_trip_ns": ib_rtt,
    "kernel_rdma_round_trip_ns": k_rdma, "kernel_tcp_round_trip_ns": k_tcp,
    "user_tcp_round_trip_ns": u_tcp,
    "rdma_ratio_to_ib_send_lat_round_trip": k_rdma / ib_rtt,
    "rdma_ratio_to_ib_send_lat_t_avg": k_rdma / (ib_us * 1000),
    "tcp_ratio_to_user_tcp": k_tcp / u_tcp,
}
json.dump(r, open(path, "w"), indent=1)
print(f"{'round trip, %d B, %d rounds' % (size, count):<44} {'dspm kernel':>12} {'baseline':>12} {'ratio':>7}")
print(f"{'RDMA vs ib_send_lat round trip (2 x t_avg)':<44} {k_rdma/1000:>9.0f} us {ib_rtt/1000:>9.0f} us {k_rdma/ib_rtt:>6.2f}x")
print(f"{'RDMA vs ib_send_lat t_avg':<44} {k_rdma/1000:>9.0f} us {ib_us:>9.0f} us {k_rdma/(ib_us*1000):>6.2f}x")
print(f"{'TCP vs user-space TCP ping-pong':<44} {k_tcp/1000:>9.0f} us {u_tcp/1000:>9.0f} us {k_tcp/u_tcp:>6.2f}x")
PY

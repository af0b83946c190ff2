#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/cluster.sh's report: reads the raw outputs of one run, writes
cluster.json (every raw number and the ratios), prints a table and draws a bar
chart as SVG (standard library only).

usage: cluster_report.py RAW_DIR OUT_JSON OUT_SVG STARTED COUNT ITERATIONS TP_SECONDS
"""
import glob
import json
import os
import re
import sys
from xml.sax.saxutils import escape

FAULT_TARGET = 1.5  # remote read fault / raw 4 KiB RDMA READ (DESIGN.md)
COMMIT_TARGET = 2.5  # commit of one page, R=2 / raw RDMA write + send round trip
FROM = {"home": "home", "nonholder": "non-holder", "homesharer": "home, after a reader closed"}
ORDER = list(FROM.values())


def load(path):
    with open(path) as f:
        return json.load(f)


def perftest(raw, phase):
    """{"read": {"t_typical_us", "t_avg_us", "p99_us"}, "write", "send", "kernel4096",
    "kernel2"}: perftest's t_typical, t_avg and 99th percentile; for the kernel transport's
    round trips (kernel*) its p50, avg and p99"""
    r = {}
    with open(os.path.join(raw, "perftest-%s.txt" % phase)) as f:
        for line in f:
            name, typical, avg, p99 = line.split()
            r[name] = {"t_typical_us": float(typical), "t_avg_us": float(avg), "p99_us": float(p99)}
    return r


def us(ns):
    return ns / 1000.0


def main():
    raw, out_json, out_svg, started, count, iterations, tp_seconds = sys.argv[1:8]
    before, after = perftest(raw, "before"), perftest(raw, "after")
    mean = {
        k: {f: (before[k][f] + after[k][f]) / 2 for f in before[k]} for k in before
    }
    read_avg, read_typ = mean["read"]["t_avg_us"], mean["read"]["t_typical_us"]
    # perftest halves the ping-pong of send and write; a READ's time is its whole round trip
    write_send = mean["write"]["t_avg_us"] + mean["send"]["t_avg_us"]
    write_send_rtt = mean["write"]["t_avg_us"] + 2 * mean["send"]["t_avg_us"]
    write_send_typ = mean["write"]["t_typical_us"] + mean["send"]["t_typical_us"]
    # the kernel transport: a 4 KiB round trip, and a 4 KiB plus a 2-byte one
    k4k = mean["kernel4096"]["t_avg_us"]
    k4k_k2 = k4k + mean["kernel2"]["t_avg_us"]

    with open(os.path.join(raw, "guest.txt")) as f:
        guest = f.read().split("\n")
    env = {
        "accel": os.environ.get("DSPM_VM_ACCEL", "tcg"),
        "vcpus_per_vm": 1,
        "host_cores": os.cpu_count(),
        "guest_kernel": guest[0].strip(),
        "perftest": guest[1].strip() if len(guest) > 1 else "",
        "transport": "rdma (Soft-RoCE rxe0 over a vde switch)",
    }

    fr = load(os.path.join(raw, "fault-remote.json"))
    fl = load(os.path.join(raw, "fault-local.json"))
    def counters(name):
        try:
            with open(os.path.join(raw, name)) as f:
                return {k: int(v) for k, v in (l.split() for l in f if l.strip())}
        except (OSError, ValueError):
            return {}
    before, after = counters("fault-fetches-before.txt"), counters("fault-fetches-after.txt")
    fetches = {k: after[k] - before.get(k, 0) for k in after}
    fault = {
        "remote": fr,
        "local": fl,
        "fetches": fetches,
        "ratio_avg_to_ib_read_lat_t_avg": us(fr["latency"]["avg_ns"]) / read_avg,
        "ratio_median_to_ib_read_lat_t_typical": us(fr["latency"]["median_ns"]) / read_typ,
        "ratio_avg_to_kernel_4k_round_trip": us(fr["latency"]["avg_ns"]) / k4k,
        "target": FAULT_TARGET,
    }

    commits = []
    for path in sorted(glob.glob(os.path.join(raw, "commit-r*-p*-*.json"))):
        m = re.search(r"commit-r(\d)-p(\d+)-([a-z]+)(-full)?\.json$", path)
        j = load(path)
        c = j["commit"]
        commits.append({
            "replicas": int(m.group(1)),
            "pages": int(m.group(2)),
            "from": FROM[m.group(3)],
            "stores": j["stores"],
            "node_id": j["node"]["node_id"],
            "holders": j["node"]["holders"][0],
            "median_us": us(c["median_ns"]),
            "avg_us": us(c["avg_ns"]),
            "p99_us": us(c["p99_ns"]),
            "write_median_us": us(j["write"]["median_ns"]),
            "ratio_avg_to_write_plus_send": us(c["avg_ns"]) / write_send,
            "ratio_avg_to_write_plus_send_round_trip": us(c["avg_ns"]) / write_send_rtt,
            "ratio_median_to_typical_write_plus_send": us(c["median_ns"]) / write_send_typ,
            "ratio_avg_to_kernel_4k_plus_2b_round_trips": us(c["avg_ns"]) / k4k_k2,
            "raw": j,
        })
    commits.sort(key=lambda c: (c["pages"], c["replicas"], ORDER.index(c["from"]),
                                c["stores"] == "full pages"))

    tput = []
    tags = [("n1", 1, "disjoint"), ("n2-disjoint", 2, "disjoint"), ("n2-shared", 2, "shared"),
            ("n3-disjoint", 3, "disjoint"), ("n3-shared", 3, "shared")]
    for tag, nodes, mode in tags:
        per = [load(p) for p in sorted(glob.glob(os.path.join(raw, "tp-%s-node*.json" % tag)))]
        tput.append({
            "nodes": nodes,
            "pages": mode if nodes > 1 else "alone",
            "commits_per_s": sum(p["commits_per_s"] for p in per),
            "commits": sum(p["commits"] for p in per),
            "retries": sum(p["retries"] for p in per),
            "per_node": [{
                "node_id": p["node"]["node_id"], "role": p["node"]["role"], "offset": p["offset"],
                "commits_per_s": p["commits_per_s"], "commits": p["commits"],
                "retries": p["retries"], "seconds": p["seconds"],
                "commit_median_us": us(p["commit"].get("median_ns", 0)),
                "commit_p99_us": us(p["commit"].get("p99_ns", 0)),
            } for p in per],
        })

    r2 = [c for c in commits if c["replicas"] == 2 and c["pages"] == 1]
    result = {
        "date": started,
        "environment": env,
        "parameters": {"perftest_iterations": int(count), "commit_iterations": int(iterations),
                       "throughput_seconds": float(tp_seconds),
                       "fault_pages": fr["pages"], "fault_rounds": fr["rounds"]},
        "perftest": {"before": before, "after": after, "mean": mean,
                     "note": "t_avg of ib_send_lat and ib_write_lat is half a round trip; "
                             "ib_read_lat's is a whole RDMA READ"},
        "baselines_us": {"ib_read_lat_4k": read_avg, "write_plus_send": write_send,
                         "write_plus_send_round_trip": write_send_rtt,
                         "kernel_4k_round_trip": k4k, "kernel_4k_plus_2b_round_trips": k4k_k2},
        "fault": fault,
        "commit": commits,
        "commit_target": {
            "target": COMMIT_TARGET,
            "rows": [{"from": c["from"], "stores": c["stores"], "avg_us": c["avg_us"],
                      "ratio_to_write_plus_send": c["ratio_avg_to_write_plus_send"],
                      "ratio_to_write_plus_send_round_trip":
                          c["ratio_avg_to_write_plus_send_round_trip"],
                      "ratio_to_kernel_round_trips":
                          c["ratio_avg_to_kernel_4k_plus_2b_round_trips"]} for c in r2],
        },
        "throughput": tput,
    }
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)

    print_table(result)
    with open(out_svg, "w", encoding="utf-8") as f:
        f.write(svg(result))


def tput_label(t):
    return "1 node" if t["nodes"] == 1 else "%d nodes, %s pages" % (t["nodes"], t["pages"])


def print_table(r):
    b = r["baselines_us"]
    m = r["perftest"]["mean"]
    print("baselines, node 2 -> node 1, mean of before and after (avg, us): ib_read_lat 4K %.0f | "
          "ib_write_lat 4K %.0f | ib_send_lat 2B %.0f (perftest t_avg) | kernel RDMA round trip "
          "4K %.0f, 2B %.0f" % (m["read"]["t_avg_us"], m["write"]["t_avg_us"],
                                m["send"]["t_avg_us"], m["kernel4096"]["t_avg_us"],
                                m["kernel2"]["t_avg_us"]))
    f = r["fault"]
    fr = f["remote"]["latency"]
    print("%-46s %9s %9s %9s" % ("read fault, per page", "median", "avg", "p99"))
    print("%-46s %6.0f us %6.0f us %6.0f us  avg/ib_read_lat %.2fx (target <= %.1fx), "
          "median/t_typical %.2fx, avg/kernel 4K RTT %.2fx"
          % ("remote (node holding no copy)", us(fr["median_ns"]), us(fr["avg_ns"]),
             us(fr["p99_ns"]), f["ratio_avg_to_ib_read_lat_t_avg"], FAULT_TARGET,
             f["ratio_median_to_ib_read_lat_t_typical"], f["ratio_avg_to_kernel_4k_round_trip"]))
    if f.get("fetches"):
        print("%-46s %s" % ("  the reader's fetches (debugfs peer, delta)",
                            " ".join("%s %d" % kv for kv in sorted(f["fetches"].items()))))
    fl = f["local"]["latency"]
    print("%-46s %6.0f us %6.0f us %6.0f us" % ("local, at the home (reference)",
                                                us(fl["median_ns"]), us(fl["avg_ns"]),
                                                us(fl["p99_ns"])))
    print("%-46s %9s %9s %9s %8s %8s %8s %8s" % ("commit ioctl", "median", "avg", "p99", "/(w+s)",
                                                 "/(w+2s)", "/kernel", "med/typ"))
    for c in r["commit"]:
        what = "%d page%s%s R=%d from %s" % (c["pages"], "" if c["pages"] == 1 else "s",
                                            " (full)" if c["stores"] == "full pages" else "",
                                            c["replicas"], c["from"])
        print("%-46s %6.0f us %6.0f us %6.0f us %7.2fx %7.2fx %7.2fx %7.2fx"
              % (what, c["median_us"], c["avg_us"], c["p99_us"],
                 c["ratio_avg_to_write_plus_send"], c["ratio_avg_to_write_plus_send_round_trip"],
                 c["ratio_avg_to_kernel_4k_plus_2b_round_trips"],
                 c["ratio_median_to_typical_write_plus_send"]))
    print("  /(w+s): avg / (ib_write_lat 4K t_avg + ib_send_lat t_avg = %.0f us); /(w+2s): avg / "
          "(write t_avg + 2 x send t_avg = %.0f us); /kernel: avg / kernel RDMA round trips of "
          "4K + 2B (%.0f us); med/typ: median / (t_typical sum); target, 1 page R=2: <= %.1fx"
          % (b["write_plus_send"], b["write_plus_send_round_trip"],
             b["kernel_4k_plus_2b_round_trips"], COMMIT_TARGET))
    print("%-46s %12s %8s" % ("commit throughput, 1 page per commit, R=2", "commits/s", "retries"))
    for t in r["throughput"]:
        print("%-46s %12.1f %8d   per node: %s"
              % (tput_label(t), t["commits_per_s"], t["retries"],
                 ", ".join("%d(%s) %.1f/s" % (p["node_id"], p["role"], p["commits_per_s"])
                           for p in t["per_node"])))


def svg(r):
    """Horizontal bars: latencies (us) in one section, throughput in another."""
    b = r["baselines_us"]
    lat = [("ib_read_lat 4 KiB (RDMA READ)", b["ib_read_lat_4k"], "#9e9e9e"),
           ("remote read fault", us(r["fault"]["remote"]["latency"]["avg_ns"]), "#1f77b4"),
           ("ib_write_lat 4 KiB + ib_send_lat", b["write_plus_send"], "#9e9e9e"),
           ("write 4 KiB + send round trip", b["write_plus_send_round_trip"], "#bdbdbd")]
    lat.insert(2, ("kernel RDMA round trip 4 KiB", b["kernel_4k_round_trip"], "#bdbdbd"))
    lat.append(("kernel RDMA round trips 4 KiB + 2 B", b["kernel_4k_plus_2b_round_trips"],
                "#bdbdbd"))
    for c in r["commit"]:
        lat.append(("commit %d p%s, R=%d, from %s" % (c["pages"],
                                                     " full" if c["stores"] == "full pages" else "",
                                                     c["replicas"], c["from"]),
                    c["avg_us"], "#1f77b4" if c["pages"] == 1 else "#6baed6"))
    tp = [(tput_label(t), t["commits_per_s"], "#2ca02c" if t["pages"] != "shared" else "#ff7f0e")
          for t in r["throughput"]]

    label_w, bar_w, row, width = 250, 460, 20, 820
    parts = []
    y = 76

    def section(title, rows, unit, fmt):
        nonlocal y
        parts.append('<text x="10" y="%d" font-weight="bold">%s</text>' % (y, escape(title)))
        y += 10
        top = max(v for _, v, _ in rows) or 1
        for name, v, color in rows:
            w = bar_w * v / top
            parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                         % (label_w - 6, y + 14, escape(name)))
            parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                         % (label_w, y + 2, w, row - 4, color))
            parts.append('<text x="%.1f" y="%d">%s %s</text>'
                         % (label_w + w + 4, y + 14, fmt % v, unit))
            y += row
        y += 25

    section("latency, average (lower is better)", lat, "µs", "%.0f")
    section("commit throughput, 1 page per commit, R=2, sum over nodes (higher is better)",
            tp, "commits/s", "%.1f")
    head = ('<text x="10" y="22" font-size="15" font-weight="bold">dspm on 3 VMs over Soft-RoCE '
            '(%s, %s)</text>\n<text x="10" y="38" font-size="11" fill="#555">grey: baselines '
            '(perftest t_avg, kernel transport round trips); blue: dspm, dark 1 page, light 16 '
            'pages</text>\n<text x="10" y="52" font-size="11" fill="#555">(one 8-byte word changed '
            'per page unless "full"); green: disjoint pages, orange: one shared page</text>' % (escape(r["date"][:10]), escape(r["environment"]["accel"].upper())))
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="sans-serif" font-size="12">\n'
            '<rect width="100%%" height="100%%" fill="white"/>\n%s\n%s\n</svg>\n'
            % (width, y, head, "\n".join(parts)))


if __name__ == "__main__":
    main()

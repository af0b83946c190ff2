#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summary of bench/locking.sh: the issue-11 cases for the before and after
modules of one run, side by side.

usage: locking_report.py RAW_DIR OUT_JSON STARTED ITERATIONS

Reads RAW_DIR/{before,after}/*.json and RAW_DIR/perftest-{before,after}.txt,
writes OUT_JSON and prints a Markdown table (microseconds; ratio = after ÷
before, lower is better for every row).
"""
import json
import os
import re
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def perftest(raw, phase):
    out = {}
    try:
        with open(os.path.join(raw, f"perftest-{phase}.txt")) as f:
            for line in f:
                k, *v = line.split()
                if len(v) == 3:
                    out[k] = dict(zip(("typical_us", "avg_us", "p99_us"), map(float, v)))
    except OSError:
        pass
    return out


def us(s, key):
    return None if not s or key not in s else s[key] / 1000.0


def ls_loop(raw, label):
    try:
        text = open(os.path.join(raw, label, "ls-loop.txt")).read()
    except OSError:
        return None
    f = dict(re.findall(r"(\w+)=(\d+)", text))
    if "ls_calls" not in f:
        return None
    calls, ns = int(f["ls_calls"]), int(f["ns"])
    return {"calls": calls, "failed": int(f.get("ls_failed", 0)), "seconds": ns / 1e9,
            "per_s": calls / (ns / 1e9) if ns else None}


def ls_single(raw, label):
    try:
        v = [int(x) / 1000.0 for x in
             re.findall(r"ls_ns=(\d+)", open(os.path.join(raw, label, "ls-single.txt")).read())]
    except OSError:
        return None
    return sorted(v)[len(v) // 2] if v else None


def rows_for(raw, label):
    d = os.path.join(raw, label)
    r = {}

    def put(name, summary, key):
        r[name] = us(summary, key)

    f = load(os.path.join(d, "fault-remote.json")) or {}
    put("remote fault, avg", f.get("latency"), "avg_ns")
    put("remote fault, median", f.get("latency"), "median_ns")
    put("remote fault, p99", f.get("latency"), "p99_ns")
    for tag, what in (("home", "from the home"), ("nonholder", "from a non-holder")):
        c = (load(os.path.join(d, f"commit-r2-{tag}.json")) or {}).get("commit")
        put(f"commit 1 page R=2 {what}, median", c, "median_ns")
        put(f"commit 1 page R=2 {what}, avg", c, "avg_ns")
        put(f"commit 1 page R=2 {what}, p99", c, "p99_ns")
    for tag, what in (("nodelay", "no delay"), ("slow", "slow home, fast pages remote"),
                      ("slow-local", "slow home, fast pages local")):
        m = load(os.path.join(d, f"faults-mt-{tag}.json")) or {}
        put(f"faults-mt ({what}): thread 0 fault, median", m.get("slow_thread"), "median_ns")
        put(f"faults-mt ({what}): thread 0 fault, avg", m.get("slow_thread"), "avg_ns")
        put(f"faults-mt ({what}): threads 1-3 fault, median", m.get("fast_threads"), "median_ns")
        put(f"faults-mt ({what}): threads 1-3 fault, avg", m.get("fast_threads"), "avg_ns")
        put(f"faults-mt ({what}): threads 1-3 fault, p99", m.get("fast_threads"), "p99_ns")
        put(f"faults-mt ({what}): threads 1-3 done, median of rounds", m.get("fast_done"),
            "median_ns")
        put(f"faults-mt ({what}): all done, median of rounds", m.get("total"), "median_ns")
    c = load(os.path.join(d, "commit-vs-ls.json")) or {}
    for phase, what in (("idle", "lister idle"), ("ls", "lister running ls"),
                        ("idle_after", "lister idle again")):
        put(f"commit-vs-ls ({what}), median", c.get(phase), "median_ns")
        put(f"commit-vs-ls ({what}), avg", c.get(phase), "avg_ns")
        put(f"commit-vs-ls ({what}), p99", c.get(phase), "p99_ns")
    r["dspm-admin ls at the lister, median of 5, µs"] = ls_single(raw, label)
    loop = ls_loop(raw, label)
    r["dspm-admin ls calls per second in the loop"] = loop and loop["per_s"]
    return r, {"fault": f, "faults_mt": {t: load(os.path.join(d, f"faults-mt-{t}.json"))
                                        for t in ("nodelay", "slow", "slow-local")},
               "commit_vs_ls": c, "ls_loop": loop}


def main():
    raw, out, started, iterations = sys.argv[1:5]
    base = {p: perftest(raw, p) for p in ("before", "after")}
    mean = {}
    for k in ("read", "write", "send"):
        v = [base[p][k]["avg_us"] for p in base if k in base[p]]
        mean[k] = sum(v) / len(v) if v else None
    rows, detail = {}, {}
    for label in ("before", "after"):
        rows[label], detail[label] = rows_for(raw, label)
    reload_how = ""
    try:
        reload_how = open(os.path.join(raw, "reload.txt")).read().strip()
    except OSError:
        pass
    result = {"started": started, "iterations": int(iterations), "baselines": base,
              "baseline_mean_us": mean, "reload": reload_how, "rows": rows, "detail": detail}
    with open(out, "w") as f:
        json.dump(result, f, indent=2)

    def fmt(v):
        return "—" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")

    print(f"run {started}; module swap: {reload_how or 'unknown'}")
    print(f"baselines (avg of before/after, µs): ib_read_lat {fmt(mean['read'])}, "
          f"ib_write_lat {fmt(mean['write'])}, ib_send_lat {fmt(mean['send'])}")
    print()
    print("| case | before | after | after ÷ before |")
    print("| --- | ---: | ---: | ---: |")
    for name in rows["before"]:
        b, a = rows["before"][name], rows["after"].get(name)
        ratio = f"{a / b:.2f}×" if a is not None and b else "—"
        print(f"| {name} | {fmt(b)} | {fmt(a)} | {ratio} |")
    if mean["read"]:
        print()
        for label in ("before", "after"):
            fa = rows[label]["remote fault, avg"]
            ch = rows[label]["commit 1 page R=2 from the home, avg"]
            ws = (mean["write"] or 0) + (mean["send"] or 0)
            print(f"{label}: remote fault avg ÷ ib_read_lat t_avg = "
                  f"{fa / mean['read']:.2f}×" if fa else f"{label}: remote fault —", end="; ")
            print(f"commit R=2 from home avg ÷ (write + send t_avg) = {ch / ws:.2f}×"
                  if ch and ws else "commit —")


if __name__ == "__main__":
    main()

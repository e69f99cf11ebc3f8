#!/usr/bin/env python3
"""Summarise scripts/perf-table.sh results: median (min-max) per scenario.

    scripts/perf-summary.py perf-results
"""
import glob
import json
import os
import statistics
import sys


def load(d, name):
    runs = []
    for f in sorted(glob.glob(os.path.join(d, name + ".*.json"))):
        with open(f) as fh:
            text = fh.read().strip()
        if text:
            runs.append(json.loads(text.splitlines()[-1]))
    return runs


def stat(vals, fmt="{:.2f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(med)
    return (fmt + " ({}–{})").format(med, fmt.format(min(vals)), fmt.format(max(vals)))


def fanout(runs):
    return {
        "server CPU per delivery (µs)": stat([r["server_cpu_window_s"] / max(r["deliveries"], 1) * 1e6 for r in runs]),
        "p99 (ms)": stat([r["latency"]["p99_ms"] for r in runs]),
        "max (ms)": stat([r["latency"]["max_ms"] for r in runs]),
        "deliveries/s": stat([r["deliveries_per_s"] for r in runs], "{:.0f}"),
        "lost": stat([r["expected_deliveries"] - r["deliveries"] for r in runs], "{:.0f}"),
        "rejected": stat([r["rejected"] for r in runs], "{:.0f}"),
        "server CPU util": stat([r["server_cpu_util"] for r in runs]),
        "loadgen CPU util": stat([r["loadgen_cpu_util"] for r in runs]),
        "other CPU util": stat([r.get("other_cpu_util_window", r.get("other_cpu_util")) for r in runs], "{:.3f}"),
    }


def conns(runs):
    return {
        "admitted": stat([r["setup"]["ok"] for r in runs], "{:.0f}"),
        "ramp (s)": stat([r["setup"]["ramp_s"] for r in runs]),
        "KiB RSS per agent": stat([r["kb_per_conn"] for r in runs], "{:.1f}"),
        "alive after hold": stat([r["alive_after_hold"] for r in runs], "{:.0f}"),
        "frames received": stat([r["frames_recv"] for r in runs], "{:.0f}"),
        "server CPU (s)": stat([r["server_cpu_s"] for r in runs]),
        "other CPU util": stat([r["other_cpu_util"] for r in runs], "{:.3f}"),
    }


def dm(runs):
    return {
        "DMs/s": stat([r["dm_msgs_per_s"] for r in runs], "{:.0f}"),
        "RTT p99 (ms)": stat([r["rtt"]["p99_ms"] for r in runs]),
        "timeouts": stat([r["timeouts"] for r in runs], "{:.0f}"),
        "server CPU util": stat([r.get("server_cpu_util") for r in runs]),
        "loadgen CPU util": stat([r["loadgen_cpu_util"] for r in runs]),
        "other CPU util": stat([r["other_cpu_util_window"] for r in runs], "{:.3f}"),
    }


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "perf-results"
    names = sorted({os.path.basename(f).rsplit(".", 2)[0] for f in glob.glob(os.path.join(d, "*.json"))})
    for name in names:
        runs = load(d, name)
        if not runs:
            continue
        kind = runs[0]["scenario"]
        rows = {"fanout": fanout, "conns": conns, "dm": dm}[kind](runs)
        print(f"{name} ({len(runs)} runs)")
        for k, v in rows.items():
            print(f"  {k}: {v}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Runs every scenario of the performance table RUNS times (default 3), each
# against a fresh node, and writes one JSON summary per run into OUT
# (default ./perf-results). scripts/perf-summary.py turns them into the
# table of docs/performance.md. EXTRA adds node flags to every run (e.g.
# EXTRA="--write-delay 1ms"); ONLY runs the scenarios whose name matches
# that extended regular expression.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-perf-results}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
EXTRA=${EXTRA:-}
ONLY=${ONLY:-.}
run() { # name node-flags... -- loadgen-args...
	local name=$1
	shift
	[[ $name =~ $ONLY ]] || return 0
	for i in $(seq "$RUNS"); do
		echo "== $name run $i" >&2
		# shellcheck disable=SC2086 # EXTRA is a list of flags
		"$here/loadgen-run.sh" $EXTRA "$@" >"$OUT/$name.$i.json"
	done
}
run fanout-1x100-1400 --no-rate-limits -- fanout -senders 1 -receivers 100 -rate 1400 -duration 20s -respect-limits=false
run fanout-1x100-1800 --no-rate-limits -- fanout -senders 1 -receivers 100 -rate 1800 -duration 20s -respect-limits=false
run fanout-10x1000-14 --no-rate-limits -- fanout -senders 10 -receivers 1000 -rate 14 -duration 20s -respect-limits=false
run fanout-10x1000-limits -- fanout -senders 10 -receivers 1000 -rate 1 -duration 30s
run conns-1000 --no-rate-limits -- conns -n 1000 -duration 10s
run conns-10000 --no-rate-limits -- conns -n 10000 -duration 10s
run dm-50 --no-rate-limits -- dm -pairs 50 -rate 0 -duration 20s -respect-limits=false

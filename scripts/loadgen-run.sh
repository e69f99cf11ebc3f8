#!/usr/bin/env bash
# One measured loadgen run against a fresh node, the way the original was
# measured: node pinned to CPU 0 and the loadgen to CPU 1 (nice -n -10 when
# permitted), loadgen given the node's PID. Prints the loadgen's JSON summary.
#
#   scripts/loadgen-run.sh [node flags...] -- <loadgen scenario and flags...>
#
# AGENTCHAT and LOADGEN name the binaries (default: ./agentchat, ./loadgen);
# PORT the websocket port (default 6667).
set -euo pipefail
AGENTCHAT=${AGENTCHAT:-./agentchat}
LOADGEN=${LOADGEN:-./loadgen}
PORT=${PORT:-6667}
node_args=()
while [[ $# -gt 0 && $1 != -- ]]; do node_args+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
nice_cmd=(nice -n -10)
"${nice_cmd[@]}" true 2>/dev/null || nice_cmd=()
taskset -c 0 "${nice_cmd[@]}" "$AGENTCHAT" --log-level warn node --data-dir "$dir" --listen "127.0.0.1:$PORT" \
	--p2p-listen /ip4/127.0.0.1/tcp/0 "${node_args[@]}" >"$dir/node.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
	sleep 0.1
done
taskset -c 1 "${nice_cmd[@]}" "$LOADGEN" "$@" -url "ws://127.0.0.1:$PORT" -pid "$pid" | tail -n1

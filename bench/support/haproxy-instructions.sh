#!/bin/bash
# HAProxy's user-space instructions per request under wrk, counted with valgrind's callgrind: a figure the
# machine's load does not move (docs/benchmarks.md, "HAProxy driven by Switchyard"). The configuration's
# frontend must listen on 127.0.0.1:<port> and its backend serve GET /ready and GET / (the demo service:
# PORT=18081 STARTUP_MS=0 node examples/demo-service/server.mjs). Needs valgrind and wrk (Debian's packages).
#
#   bench/support/haproxy-instructions.sh my-haproxy.cfg 18080 [seconds]
set -euo pipefail
cfg=$1 port=$2 seconds=${3:-6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Instrumented only while wrk measures: start-up and the warm-up are not counted.
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg" haproxy -f "$cfg" -db >"$out/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.2; done
wrk -t1 -c16 -d2s "http://127.0.0.1:$port/" >/dev/null
callgrind_control -i on "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c16 -d"${seconds}s" "http://127.0.0.1:$port/" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
callgrind_control -i off "$pid" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
kill "$pid"
wait "$pid" 2>/dev/null || true
instructions=$(callgrind_annotate "$out/cg.1" | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$cfg: $requests requests, $instructions instructions, $((instructions / requests)) per request"

#!/usr/bin/env bash
# Chat fan-out and echo throughput benchmarks (run by hand; not a test).
#
# In one run:
#  1. chat fan-out: MEMBERS members in one room each send LINES lines
#     (MEMBERS x (MEMBERS-1) x LINES deliveries, 10 million by default),
#     against `wirecat chat` and the lessons-style thread-per-client Python
#     relay (benches/threaded_chat.py); every delivery checked (none lost,
#     each sender's in order). Prints deliveries per second, the ratio and
#     wirecat's peak RSS (VmHWM). Targets: >= 10x the Python relay, < 64 MiB.
#  2. echo: MIB MiB through one connection, `wirecat greet --service echo`
#     against `socat TCP-LISTEN:PORT PIPE`. Target: >= 1.0x socat.
#
# Usage: benches/chat.sh [MEMBERS [LINES [MIB]]]
set -euo pipefail

MEMBERS=${1:-1000}
LINES=${2:-10}
MIB=${3:-1024}
ulimit -n "$(ulimit -Hn)"

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init chat.sh
build_wirecat
cargo bench -q --bench chat_load --no-run 2>/dev/null
load() { cargo bench -q --bench chat_load -- "$@"; }
make_tmp

field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p"; }

echo "== machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"

start_announced python python3 benches/threaded_chat.py 0
echo "== chat fan-out: threaded Python relay ($addr), $MEMBERS members x $LINES lines"
py_out=$(load chat "$addr" "$MEMBERS" "$LINES")
echo "$py_out"
kill "$pid"

start_announced wirecat "$WIRECAT" chat -p 0
wc_pid=$pid
echo "== chat fan-out: wirecat chat ($addr)"
wc_out=$(load chat "$addr" "$MEMBERS" "$LINES")
echo "$wc_out"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$wc_pid/status")
kill "$wc_pid"
py=$(echo "$py_out" | field deliveries_per_sec)
wc=$(echo "$wc_out" | field deliveries_per_sec)
echo "wirecat / python: $(awk -v a="$wc" -v b="$py" 'BEGIN { printf "%.1fx", a / b }')"
echo "wirecat chat peak RSS: $((rss / 1024)) MiB"

start_announced echo "$WIRECAT" greet --service echo -p 0 --threads 1
echo "== echo: wirecat greet --service echo ($addr), $MIB MiB"
wc_echo=$(load echo "$addr" "$MIB")
echo "$wc_echo"
kill "$pid"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" PIPE &
PIDS+=($!)
sleep 0.3
echo "== echo: socat TCP-LISTEN PIPE (127.0.0.1:$port), $MIB MiB"
so_echo=$(load echo "127.0.0.1:$port" "$MIB")
echo "$so_echo"
a=$(echo "$wc_echo" | field mib_per_sec)
b=$(echo "$so_echo" | field mib_per_sec)
echo "wirecat / socat: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"

#!/usr/bin/env bash
# Scale benchmark for `wirecat greet` (run by hand; not a test).
#
# In one run:
#  1. pipelined load: 100 clients each write 20,000 lines at once and read
#     every reply, against `wirecat greet` and against the lesson-style
#     thread-per-client Python greeter (benches/threaded_greeter.py);
#  2. 10,000 concurrent TCP clients, each a 10-message dialogue, against
#     `wirecat greet`.
# Prints replies per second for both servers, their ratio, and wirecat's
# peak resident memory (VmHWM). Targets: >= 2,000,000 replies/s, >= 5x the
# threaded greeter, all 10,000 dialogues OK, < 64 MiB peak RSS.
#
# Usage: benches/greet.sh [CLIENTS [LINES [DIALOGUE_CLIENTS]]]
set -euo pipefail

CLIENTS=${1:-100}
LINES=${2:-20000}
DIALOGUES=${3:-10000}
THREADS=${THREADS:-2}

# Each side of 10,000 connections needs 10,000 descriptors and then some.
ulimit -n "$(ulimit -Hn)"
echo "fd limit: $(ulimit -n)"

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init greet.sh
build_wirecat
cargo bench -q --bench greet_load --no-run 2>/dev/null
load() { cargo bench -q --bench greet_load -- "$@"; }
make_tmp

rate() { sed -n 's/.*replies_per_sec=\([0-9]*\).*/\1/p'; }

echo "== machine: $(nproc) cores, $(uname -sr)"

start_announced python python3 benches/threaded_greeter.py 0
py_addr=$addr
echo "== pipelined load against the threaded Python greeter ($py_addr)"
py_out=$(load pipelined "$py_addr" "$CLIENTS" "$LINES")
echo "$py_out"
kill "$pid"

start_announced wirecat "$WIRECAT" greet -p 0 --threads "$THREADS"
wc_addr=$addr
wc_pid=$pid
echo "== pipelined load against wirecat greet --threads $THREADS ($wc_addr)"
wc_out=$(load pipelined "$wc_addr" "$CLIENTS" "$LINES")
echo "$wc_out"

echo "== $DIALOGUES concurrent clients, 10-message dialogues, against wirecat"
dl_out=$(load dialogues "$wc_addr" "$DIALOGUES" 10) || true
echo "$dl_out"

hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$wc_pid/status")
kill -TERM "$wc_pid"
status=0
wait "$wc_pid" || status=$?

py_rate=$(echo "$py_out" | rate)
wc_rate=$(echo "$wc_out" | rate)
echo
echo "== summary"
echo "threaded Python greeter: $py_rate replies/s"
echo "wirecat greet:           $wc_rate replies/s"
awk -v a="$wc_rate" -v b="$py_rate" 'BEGIN { printf "ratio:                   %.1fx\n", a / b }'
echo "dialogues:               $(echo "$dl_out" | sed -n 's/.*\(ok=[0-9]* failed=[0-9]*\).*/\1/p') of $DIALOGUES"
awk -v k="$hwm" 'BEGIN { printf "wirecat peak RSS:        %.1f MiB\n", k / 1024 }'
echo "wirecat exit on SIGTERM: $status"

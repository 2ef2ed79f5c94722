#!/usr/bin/env bash
# Benchmark (issue 13, Speed, HTTPS): `wirecat serve --tls-cert/--tls-key`
# against nginx `listen ... ssl` (Debian package, run as a user process with
# its own temp prefix) on one ECDSA P-256 certificate made for the run,
# TLS 1.3, the same files and the same worker count, both on 127.0.0.1 free
# ports, driven by wrk over https in the same run:
#   (a) 1 KiB file, 64 keep-alive connections (requests/s)
#   (b) a new connection per request, measured twice: "resumed" with wrk
#       and `Connection: close` (wrk offers the last session again: SSL_clear
#       keeps it, so these are TLS 1.3 PSK resumptions with a fresh ECDHE),
#       and "full" with STIME_PROCS parallel `openssl s_time -new` (a full
#       handshake with the certificate signature every time, one HTTP/1.0
#       request). Both are checked at start against an nginx that logs
#       $ssl_session_reused.
#   (c) 1 MiB file, 16 keep-alive connections (bytes/s)
# Prints wirecat/nginx ratios. Targets: (a) >= 1.2, (b) >= 1.0, (c) >= 1.0.
#
# Usage: benches/tls.sh   (env: WORKERS_LIST="1 2" DURATION=5 ROUNDS=3
#                          SMALL_CONNS=64 HS_CONNS=32 BIG_CONNS=16 STIME_PROCS=4
#                          CASES=abc)
# On a shared machine single runs swing widely, so nginx and wirecat are run
# alternately ROUNDS times; each round's ratio pairs two back-to-back runs,
# and the median ratio and the spread (lowest..highest) are shown, with the
# server CPU time per request (steadier when the CPU is shared).
# Needs: nginx, wrk (Debian's is built with OpenSSL), openssl, python3.
# Run by hand; it is not a test.
set -euo pipefail

WORKERS_LIST=${WORKERS_LIST:-1 2}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
SMALL_CONNS=${SMALL_CONNS:-64}
HS_CONNS=${HS_CONNS:-32}
BIG_CONNS=${BIG_CONNS:-16}
CASES=${CASES:-abc}
WRK_THREADS=${WRK_THREADS:-2}
STIME_PROCS=${STIME_PROCS:-4}
RUN=wrk_https

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "tls.sh: nginx is required" >&2; exit 1; }
for tool in wrk openssl python3 curl cargo; do
    command -v "$tool" >/dev/null || { echo "tls.sh: $tool is required" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# For free_port, cpu_ticks and run_wrk; this script keeps its own build,
# temporary folder and nginx (an ssl one, started per worker count).
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
cargo build --release --quiet
WIRECAT=$PWD/target/release/wirecat

TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

make_site

# One ECDSA P-256 key and certificate for both servers, made for this run.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
chmod 644 "$TMP/key.pem"

wait_up() { # port
    for _ in $(seq 100); do
        curl -ksS -o /dev/null "https://127.0.0.1:$1/small.html" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "tls.sh: nothing answers https on port $1" >&2
    exit 1
}

# Starts nginx with $1 workers on $2 (and a logging check server on $3 when
# given); sets NGINX_MASTER.
start_ssl_nginx() { # workers port [check-port]
    local dir=$TMP/nginx-$1 check=""
    mkdir -p "$dir"
    if [ -n "${3:-}" ]; then
        check="server { listen 127.0.0.1:$3 ssl; root $SITE; access_log $dir/reused.log reused; }"
    fi
    cat >"$dir/nginx.conf" <<EOF
worker_processes $1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
user root;
worker_rlimit_nofile 65536;
events { worker_connections 20000; }
http {
    access_log off;
    log_format reused '\$ssl_session_reused \$ssl_protocol \$ssl_cipher \$ssl_curves';
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    ssl_protocols TLSv1.3;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { text/html html; application/octet-stream bin; }
    server {
        listen 127.0.0.1:$2 ssl reuseport;
        root $SITE;
    }
    $check
}
EOF
    "$NGINX" -c "$dir/nginx.conf" -p "$dir" &
    NGINX_MASTER=$!
    PIDS+=("$NGINX_MASTER")
}

# Starts wirecat with $1 event loops; sets WIRECAT_PID and WIRECAT_PORT.
start_wirecat() { # workers
    local out=$TMP/wirecat-$1.out
    "$WIRECAT" serve -q -p 0 --threads "$1" --idle-timeout 300 \
        --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" "$SITE" >"$out" &
    WIRECAT_PID=$!
    PIDS+=("$WIRECAT_PID")
    for _ in $(seq 100); do
        grep -q '^Serving ' "$out" 2>/dev/null && break
        sleep 0.1
    done
    WIRECAT_PORT=$(sed -n 's|^Serving .* at https://127.0.0.1:\([0-9]*\)/$|\1|p' "$out")
    [ -n "$WIRECAT_PORT" ] || { echo "tls.sh: wirecat did not start:" >&2; cat "$out" >&2; exit 1; }
}

# lib.sh's run_wrk over https, called as run_stime is.
wrk_https() { # port path conns pid... [-- wrk-args...]
    local port=$1 path=$2
    shift 2
    run_wrk "https://127.0.0.1:$port$path" "$@"
}

# Like wrk_https, with STIME_PROCS `openssl s_time -new` clients: every
# connection a full handshake (no session offered), one HTTP/1.0 request.
run_stime() { # port path conns(ignored) pid... [-- ignored]
    local port=$1 path=$2 pids=() clients=() t0 t1 i out
    shift 3
    out=$(mktemp -d "$TMP/stime.XXXXXX")
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pids+=("$1"); shift; done
    t0=$(cpu_ticks "${pids[@]}")
    for i in $(seq "$STIME_PROCS"); do
        openssl s_time -connect "127.0.0.1:$port" -new -www "$path" -time "$DURATION" \
            >"$out/$i" 2>&1 </dev/null &
        clients+=($!)
    done
    wait "${clients[@]}" || true
    t1=$(cpu_ticks "${pids[@]}")
    python3 - "$((t1 - t0))" "$(getconf CLK_TCK)" "$DURATION" "$out"/* <<'EOF'
import re, sys
ticks, hz, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
conns = nbytes = 0
for name in sys.argv[4:]:
    t = open(name).read()
    m = re.search(r"(\d+) connections in [\d.]+ real seconds, (\d+) bytes read per connection", t)
    if not m:
        print(f"warning: s_time said: {t[-300:]}", file=sys.stderr)
        continue
    conns += int(m.group(1))
    nbytes += int(m.group(1)) * int(m.group(2))
print(f"{conns / secs:.0f} {nbytes / secs:.0f} {ticks / hz * 1e6 / max(conns, 1):.1f}")
EOF
}

# "median lowest highest" of the numbers on stdin.
stats() {
    python3 -c 'import sys, statistics as s; v = [float(x) for x in sys.stdin.read().split()]; print(f"{s.median(v):.2f} {min(v):.2f} {max(v):.2f}")'
}

# Alternates nginx and wirecat ROUNDS times; prints each round and the
# median ratio with its spread, of requests/s (field 1) or bytes/s (2).
compare() { # label field path conns target [wrk-args...]
    local label=$1 field=$2 path=$3 conns=$4 target=$5 n w ratios=() nr=() wr=() nc=() wc=()
    shift 5
    for _ in $(seq "$ROUNDS"); do
        read -r -a n < <($RUN "$NGINX_PORT" "$path" "$conns" "${NGINX_PIDS[@]}" -- "$@")
        read -r -a w < <($RUN "$WIRECAT_PORT" "$path" "$conns" "$WIRECAT_PID" -- "$@")
        if [ "$field" = 2 ]; then
            nr+=("$((n[1] >> 20))"); wr+=("$((w[1] >> 20))")
        else
            nr+=("${n[0]}"); wr+=("${w[0]}")
        fi
        nc+=("${n[2]}"); wc+=("${w[2]}")
        ratios+=("$(python3 -c "print(f'{${w[field - 1]} / ${n[field - 1]}:.2f}')")")
    done
    local unit="req/s"
    [ "$field" = 2 ] && unit="MiB/s"
    echo "== $label"
    echo "  nginx   $unit per round: ${nr[*]}   (server CPU us/request: ${nc[*]})"
    echo "  wirecat $unit per round: ${wr[*]}   (server CPU us/request: ${wc[*]})"
    read -r med lo hi < <(printf '%s\n' "${ratios[@]}" | stats)
    read -r ncpu _ < <(printf '%s\n' "${nc[@]}" | stats)
    read -r wcpu _ < <(printf '%s\n' "${wc[@]}" | stats)
    echo "  ratio wirecat/nginx per round: ${ratios[*]}; median $med (spread $lo..$hi; target >= $target)"
    local per_cpu
    per_cpu=$(python3 -c "print(f'{$ncpu / $wcpu:.2f}')")
    echo "  requests per CPU-second, wirecat/nginx: $per_cpu (medians $wcpu vs $ncpu us/request)"
    SUMMARY+=("$(printf '%-44s %5s  (%s..%s)  target >= %s; per CPU-second %s' \
        "$label" "$med" "$lo" "$hi" "$target" "$per_cpu")")
}

# Do the clients resume TLS sessions? nginx logs "r" for a resumed handshake.
check_resumption() {
    local port check log
    port=$(free_port)
    check=$(free_port)
    start_ssl_nginx 1 "$port" "$check"
    wait_up "$check"
    log=$TMP/nginx-1/reused.log
    : >"$log"
    wrk -t1 -c4 -d1s -H 'Connection: close' "https://127.0.0.1:$check/small.html" >/dev/null
    echo "wrk, Connection: close: $(grep -c . "$log") handshakes, $(grep -c '^r ' "$log" || true) resumed" \
        "($(sed -n '2s/^[^ ]* //p' "$log"))"
    : >"$log"
    openssl s_time -connect "127.0.0.1:$check" -new -www /small.html -time 1 >/dev/null 2>&1 </dev/null
    echo "openssl s_time -new: $(grep -c . "$log") handshakes, $(grep -c '^r ' "$log" || true) resumed"
    kill "$NGINX_MASTER"
    wait "$NGINX_MASTER" 2>/dev/null || true
    rm -rf "$TMP/nginx-1"
}

echo "$(nproc) core(s), load average $(cut -d' ' -f1-3 /proc/loadavg); nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $(openssl version | cut -d' ' -f1-2)"
check_resumption
SUMMARY=()
for workers in $WORKERS_LIST; do
    NGINX_PORT=$(free_port)
    start_ssl_nginx "$workers" "$NGINX_PORT"
    start_wirecat "$workers"
    wait_up "$NGINX_PORT"
    wait_up "$WIRECAT_PORT"
    NGINX_PIDS=($(pgrep -P "$NGINX_MASTER") "$NGINX_MASTER")
    echo
    echo "### $workers worker(s): nginx on :$NGINX_PORT, wirecat on :$WIRECAT_PORT; ${DURATION}s x $ROUNDS rounds each"
    [[ $CASES == *a* ]] && compare "(a) $workers worker(s), 1 KiB, $SMALL_CONNS keep-alive conns" 1 /small.html "$SMALL_CONNS" 1.2
    [[ $CASES == *b* ]] && compare "(b) $workers worker(s), new conn/request, resumed" 1 /small.html "$HS_CONNS" 1.0 \
        -H 'Connection: close'
    [[ $CASES == *b* ]] && RUN=run_stime compare "(b) $workers worker(s), new conn/request, full" 1 /small.html 0 1.0
    [[ $CASES == *c* ]] && compare "(c) $workers worker(s), 1 MiB, $BIG_CONNS keep-alive conns" 2 /big.bin "$BIG_CONNS" 1.0
    kill "$NGINX_MASTER" "$WIRECAT_PID"
    wait "$NGINX_MASTER" "$WIRECAT_PID" 2>/dev/null || true
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "summary, wirecat/nginx median ratio (spread):"
printf '  %s\n' "${SUMMARY[@]}"

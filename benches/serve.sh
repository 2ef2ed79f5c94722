#!/usr/bin/env bash
# Benchmark: `wirecat serve` against nginx (Debian package) on the same
# folder, same worker count, both on 127.0.0.1 free ports, driven by wrk in
# the same run. Prints wirecat/nginx ratios, then holds 10,000 idle
# keep-alive connections to wirecat and checks its resident memory and its
# small-file rate under that load.
#
# Usage: benches/serve.sh   (env: WORKERS=1 DURATION=5 ROUNDS=3 IDLE=10000)
# On a shared machine single runs swing widely, so nginx and wirecat are
# run alternately ROUNDS times and both the best and the median are shown;
# the ratios use the medians.
# Needs: nginx, wrk, python3 (apt-get install -y nginx wrk python3).
# Run by hand; it is not a test. Targets (issue 3): small file >= 1.2x nginx,
# 1 MiB >= 1.0x nginx, 10k idle connections < 40 MiB RSS, small-file rate
# with them held within 10% of the rate without.
set -euo pipefail

WORKERS=${WORKERS:-1}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-10000}
SMALL_CONNS=${SMALL_CONNS:-64}
BIG_CONNS=${BIG_CONNS:-16}
WRK_THREADS=${WRK_THREADS:-2}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init serve.sh
need_tools nginx wrk python3 cargo

# 10,000 connections need 10,000 descriptors on each side, plus slack.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"

build_wirecat
make_tmp

make_site

# --- nginx ---------------------------------------------------------------
NGINX_PORT=$(free_port)
NGINX_WORKERS=$WORKERS start_nginx_with "$TMP/nginx" <<EOF
worker_rlimit_nofile 65536;
events { worker_connections 20000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    types { text/html html; application/octet-stream bin; }
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport;
        root $SITE;
    }
}
EOF

# --- wirecat -------------------------------------------------------------
"$WIRECAT" serve -q -p 0 --threads "$WORKERS" --idle-timeout 300 "$SITE" >"$TMP/wirecat.out" &
WIRECAT_PID=$!
PIDS+=($WIRECAT_PID)
for _ in $(seq 100); do
    grep -q '^Serving ' "$TMP/wirecat.out" 2>/dev/null && break
    sleep 0.1
done
WIRECAT_PORT=$(sed -n 's|^Serving .* at http://127.0.0.1:\([0-9]*\)/$|\1|p' "$TMP/wirecat.out")
wait_http "$NGINX_PORT" /small.html
NGINX_PIDS=($(pgrep -P "$NGINX_PID") "$NGINX_PID")
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') on :$NGINX_PORT, wirecat on :$WIRECAT_PORT, $WORKERS worker(s) each, $(nproc) core(s)"

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mib() { python3 -c "print(int($1) >> 20)"; }

# "best median" of the numbers on stdin.
stats() { python3 -c 'import sys, statistics as s; v = [float(x) for x in sys.stdin.read().split()]; print(f"{max(v):.2f} {s.median(v):.2f}")'; }

# Alternates nginx and wirecat ROUNDS times on one path; sets N_* and W_*
# (requests/s and bytes/s, best and median).
compare() { # path conns
    local n_rps=() n_bps=() n_cpu=() w_rps=() w_bps=() w_cpu=() r b c
    for _ in $(seq "$ROUNDS"); do
        read -r r b c < <(run_wrk "http://127.0.0.1:$NGINX_PORT$1" "$2" "${NGINX_PIDS[@]}" -- --latency)
        n_rps+=("$r"); n_bps+=("$b"); n_cpu+=("$c")
        read -r r b c < <(run_wrk "http://127.0.0.1:$WIRECAT_PORT$1" "$2" "$WIRECAT_PID" -- --latency)
        w_rps+=("$r"); w_bps+=("$b"); w_cpu+=("$c")
    done
    echo "  nginx   req/s per round: ${n_rps[*]}   (server CPU us/request: ${n_cpu[*]})"
    echo "  wirecat req/s per round: ${w_rps[*]}   (server CPU us/request: ${w_cpu[*]})"
    read -r N_RPS_BEST N_RPS < <(printf '%s\n' "${n_rps[@]}" | stats)
    read -r W_RPS_BEST W_RPS < <(printf '%s\n' "${w_rps[@]}" | stats)
    read -r N_BPS_BEST N_BPS < <(printf '%s\n' "${n_bps[@]}" | stats)
    read -r W_BPS_BEST W_BPS < <(printf '%s\n' "${w_bps[@]}" | stats)
    read -r _ N_CPU < <(printf '%s\n' "${n_cpu[@]}" | stats)
    read -r _ W_CPU < <(printf '%s\n' "${w_cpu[@]}" | stats)
    echo "  requests per CPU-second, wirecat/nginx: $(ratio "$N_CPU" "$W_CPU") (medians: $W_CPU vs $N_CPU us/request)"
}

echo
echo "== small file (1 KiB), $SMALL_CONNS keep-alive connections, ${DURATION}s x $ROUNDS rounds each"
compare /small.html "$SMALL_CONNS"
printf "nginx   %8.0f req/s median, %8.0f best\nwirecat %8.0f req/s median, %8.0f best\n" \
    "$N_RPS" "$N_RPS_BEST" "$W_RPS" "$W_RPS_BEST"
echo "ratio wirecat/nginx: $(ratio "$W_RPS" "$N_RPS") median, $(ratio "$W_RPS_BEST" "$N_RPS_BEST") best (target >= 1.2)"
W_SMALL=$W_RPS

echo
echo "== 1 MiB file, $BIG_CONNS keep-alive connections"
compare /big.bin "$BIG_CONNS"
printf "nginx   %6s MiB/s median, %6s best\nwirecat %6s MiB/s median, %6s best\n" \
    "$(mib "$N_BPS")" "$(mib "$N_BPS_BEST")" "$(mib "$W_BPS")" "$(mib "$W_BPS_BEST")"
echo "ratio wirecat/nginx: $(ratio "$W_BPS" "$N_BPS") median, $(ratio "$W_BPS_BEST" "$N_BPS_BEST") best (target >= 1.0)"

echo
echo "== $IDLE idle keep-alive connections to wirecat"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
RSS_BEFORE=$(rss_kib "$WIRECAT_PID")
mkfifo "$TMP/hold"
python3 - "$WIRECAT_PORT" "$IDLE" <"$TMP/hold" >"$TMP/holder.out" <<'EOF' &
# Opens N connections, makes one request on each (so each is a real
# keep-alive connection), reports, then holds them until stdin closes.
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET /small.html HTTP/1.1\r\nHost: bench\r\n\r\n"
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    conns.append(s)
sel = selectors.DefaultSelector()
for s in conns:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
pending, ok = set(conns), 0
while pending:
    events = sel.select(timeout=10)
    if not events:
        break
    for key, _ in events:
        data = key.fileobj.recv(65536)
        if b"200 OK" in data:
            ok += 1
        pending.discard(key.fileobj)
        sel.unregister(key.fileobj)
print(f"held {n} connections, {ok} answered 200", flush=True)
sys.stdin.read()
EOF
HOLDER=$!
PIDS+=($HOLDER)
exec 9>"$TMP/hold"
for _ in $(seq 600); do
    [ -s "$TMP/holder.out" ] && break
    sleep 0.1
done
cat "$TMP/holder.out"
RSS_IDLE=$(rss_kib "$WIRECAT_PID")
printf "wirecat RSS: %d KiB before, %d KiB with %d idle connections (%.1f MiB; target < 40 MiB)\n" \
    "$RSS_BEFORE" "$RSS_IDLE" "$IDLE" "$(python3 -c "print($RSS_IDLE / 1024)")"
idle_rates=()
for _ in $(seq "$ROUNDS"); do
    read -r r _ < <(run_wrk "http://127.0.0.1:$WIRECAT_PORT/small.html" "$SMALL_CONNS" "$WIRECAT_PID" -- --latency); idle_rates+=("$r")
done
read -r _ W_RPS_IDLE < <(printf '%s\n' "${idle_rates[@]}" | stats)
echo "  wirecat req/s per round with them held: ${idle_rates[*]}"
printf "small-file rate with them held: %.0f req/s median (%s of %.0f without; target >= 0.90)\n" \
    "$W_RPS_IDLE" "$(ratio "$W_RPS_IDLE" "$W_SMALL")" "$W_SMALL"
RSS_AFTER=$(rss_kib "$WIRECAT_PID")
echo "wirecat RSS after the run: $RSS_AFTER KiB"
exec 9>&-

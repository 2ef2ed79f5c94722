#!/usr/bin/env bash
# Benchmark (issue 13, Speed): a 200 KiB JavaScript file asked for with
# `Accept-Encoding: br, gzip`, from `wirecat serve` (compresses once per file
# version, then serves the cached body) and from nginx with `gzip on`
# (compresses on every request), same worker count, in the same run, both on
# 127.0.0.1 free ports, driven by wrk. Prints requests/s of each and the
# ratio, and the bytes each sends; with the `brotli` tool installed also
# `brotli -q 11`'s size for comparison. Target: >= 3x nginx's requests/s, br
# within 10% of -q 11.
#
# Usage: benches/compress.sh   (env: WORKERS=1 DURATION=5 CONNS=64 JS=FILE)
# JS defaults to a generated file; point it at a real bundle for honest
# sizes. Needs nginx, wrk, curl, python3. Run by hand; it is not a test.
set -euo pipefail

WORKERS=${WORKERS:-1}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}

for tool in nginx wrk curl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "compress.sh: $tool is required" >&2; exit 1; }
done

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

SITE=$TMP/site
mkdir -p "$SITE" "$TMP/nginx"
if [ -n "${JS:-}" ]; then
    cp "$JS" "$SITE/app.js"
else
    python3 - "$SITE/app.js" <<'EOF'
import random, sys
random.seed(13)
words = ["const", "let", "function", "return", "if", "else", "for", "while",
         "document", "window", "element", "value", "index", "length", "push",
         "map", "filter", "reduce", "this", "new", "Promise", "await", "async"]
out, n = [], 0
while n < 200 * 1024:
    name = "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(3, 10)))
    body = " ".join(random.choice(words) for _ in range(random.randint(5, 20)))
    line = f"export function {name}{n}(a, b) {{ {body}; return a + b * {random.randint(0, 999)}; }}\n"
    out.append(line)
    n += len(line)
open(sys.argv[1], "w").write("".join(out)[:200 * 1024])
EOF
fi
chmod -R a+rX "$SITE"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_up() {
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/app.js" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "compress.sh: nothing answers on port $1" >&2
    exit 1
}

NGINX_PORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $WORKERS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    keepalive_requests 100000000;
    gzip on;
    gzip_types application/javascript text/javascript;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $SITE;
    }
}
EOF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
PIDS+=($!)
WIRECAT_PORT=$(free_port)
"$WIRECAT" serve -q --threads "$WORKERS" -p "$WIRECAT_PORT" "$SITE" >/dev/null &
PIDS+=($!)
wait_up "$NGINX_PORT"
wait_up "$WIRECAT_PORT"

rate() {
    wrk -t 2 -c "$CONNS" -d "${DURATION}s" -H 'Accept-Encoding: br, gzip' \
        "http://127.0.0.1:$1/app.js" | awk '/Requests\/sec/ {print $2}'
}
sent() {
    curl -sS -o /dev/null -w '%{size_download} %header{content-encoding}' \
        -H 'Accept-Encoding: br, gzip' "http://127.0.0.1:$1/app.js"
}

echo "file: $(wc -c <"$SITE/app.js") bytes; $WORKERS worker(s), $CONNS connections, ${DURATION}s"
echo "nginx sends:   $(sent "$NGINX_PORT")"
echo "wirecat sends: $(sent "$WIRECAT_PORT")"
if command -v brotli >/dev/null; then
    echo "brotli -q 11:  $(brotli -q 11 -c "$SITE/app.js" | wc -c) br"
fi
N=$(rate "$NGINX_PORT")
W=$(rate "$WIRECAT_PORT")
python3 -c "import sys; n, w = float(sys.argv[1]), float(sys.argv[2]); print(f'nginx {n:.0f} req/s, wirecat {w:.0f} req/s: {w / n:.2f}x')" "$N" "$W"

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

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init compress.sh
need_tools nginx wrk curl python3 cargo
build_wirecat
make_tmp

SITE=$TMP/site
mkdir -p "$SITE"
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

NGINX_PORT=$(free_port)
NGINX_WORKERS=$WORKERS start_nginx_with "$TMP/nginx" <<EOF
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
WIRECAT_PORT=$(free_port)
"$WIRECAT" serve -q --threads "$WORKERS" -p "$WIRECAT_PORT" "$SITE" >/dev/null &
PIDS+=($!)
wait_http "$NGINX_PORT" /app.js
wait_http "$WIRECAT_PORT" /app.js

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

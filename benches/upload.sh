#!/usr/bin/env bash
# Benchmark (issue 14, Speed): `curl -T` of one file (default 1 GiB) over
# loopback into `wirecat serve --upload`, against nginx with `dav_methods
# PUT` (Debian's nginx has the dav module) and against downloading the same
# file from wirecat, in the same run, all on 127.0.0.1 free ports. Prints
# MiB/s of each, the ratios, and wirecat's peak RSS (VmHWM) before and after
# the upload: it should stay flat, the body is streamed, never held.
# Targets: upload >= 0.9x wirecat's download and >= 1.0x nginx's PUT.
#
# Usage: benches/upload.sh   (env: SIZE_MIB=1024 RUNS=3 DIR=/path/on/the/disk)
# DIR is where both servers write (default a temp dir; point it at the disk
# you care about: tmpfs measures the network path alone). Needs nginx,
# curl, python3. Run by hand; it is not a test.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in "$NGINX" curl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "upload.sh: $tool is required" >&2; exit 1; }
done

cd "$(dirname "$0")/.."
cargo build --release --quiet
WIRECAT=$PWD/target/release/wirecat

TMP=$(mktemp -d ${DIR:+-p "$DIR"})
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

SRC=$TMP/src
mkdir -p "$SRC" "$TMP/w" "$TMP/n" "$TMP/nginx"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$SRC/big.bin"
chmod -R a+rwX "$TMP"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_up() {
    for _ in $(seq 100); do
        curl -sS -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "upload.sh: nothing answers on port $1" >&2
    exit 1
}

NGINX_PORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
user root;
events { worker_connections 1024; }
http {
    access_log off;
    client_max_body_size 0;
    client_body_temp_path $TMP/n;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/n;
        dav_methods PUT;
        create_full_put_path on;
    }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
PIDS+=($!)
WIRECAT_PORT=$(free_port)
"$WIRECAT" serve -q --threads 1 --upload --overwrite --max-upload 64G -p "$WIRECAT_PORT" "$TMP/w" >/dev/null &
WPID=$!
PIDS+=($WPID)
SERVE_PORT=$(free_port)
"$WIRECAT" serve -q --threads 1 -p "$SERVE_PORT" "$SRC" >/dev/null &
PIDS+=($!)
wait_up "$NGINX_PORT"
wait_up "$WIRECAT_PORT"
wait_up "$SERVE_PORT"

hwm() { awk '/VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }

# Best of RUNS, in bytes per second.
best() {
    local b=0 s
    for _ in $(seq "$RUNS"); do
        s=$("$@")
        b=$(python3 -c "print(max(float('$b'), float('$s')))")
    done
    echo "$b"
}
put_to() { curl -sS -o /dev/null -w '%{speed_upload}' -T "$SRC/big.bin" "http://127.0.0.1:$1/big.bin"; }
get_from() { curl -sS -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$1/big.bin"; }

echo "file: $SIZE_MIB MiB, best of $RUNS, in $TMP"
echo "wirecat VmHWM before: $(hwm "$WPID")"
W=$(best put_to "$WIRECAT_PORT")
echo "wirecat VmHWM after:  $(hwm "$WPID")"
cmp "$SRC/big.bin" "$TMP/w/big.bin" || { echo "upload.sh: wirecat's copy differs" >&2; exit 1; }
N=$(best put_to "$NGINX_PORT")
cmp "$SRC/big.bin" "$TMP/n/big.bin" || { echo "upload.sh: nginx's copy differs" >&2; exit 1; }
D=$(best get_from "$SERVE_PORT")
python3 - "$W" "$N" "$D" <<'EOF'
import sys
w, n, d = (float(x) / (1 << 20) for x in sys.argv[1:])
print(f"wirecat PUT {w:.0f} MiB/s, nginx PUT {n:.0f} MiB/s, wirecat GET {d:.0f} MiB/s")
print(f"upload vs download: {w / d:.2f}x (target >= 0.9x); vs nginx PUT: {w / n:.2f}x (target >= 1.0x)")
EOF

#!/usr/bin/env bash
# Benchmark (issue 14, Speed): `curl -T` of one file (default 1 GiB) over
# loopback into `wirecat serve --upload`, against nginx with `dav_methods
# PUT` (Debian's nginx has the dav module) and against downloading the same
# file from wirecat with curl, in the same run, all on 127.0.0.1 free ports.
# The download is measured twice: saved to a file in the same folder (the
# same work as the upload, mirrored: one file read from the page cache, one
# written into it) and thrown away into /dev/null (no file written at all,
# the server's ceiling). Prints MiB/s of each, the ratios, each server's CPU
# time per GiB, and wirecat's peak RSS (VmHWM) before and after the upload:
# it should stay flat, the body is streamed, never held.
# Targets: upload >= 0.9x wirecat's download (the stricter one: to /dev/null)
# and >= 1.0x nginx's PUT.
# Every upload and every saved download goes to a name that does not exist
# (the previous copy is removed first, untimed), so no run pays for freeing
# the last run's pages.
#
# Usage: benches/upload.sh   (env: SIZE_MIB=1024 RUNS=3 DIR=/path TMPFS=1)
# DIR is where the file and both servers' folders live (default a temp dir
# under $TMPDIR or /tmp, usually the root disk). On a disk, PUT waits for
# writeback while GET comes from the page cache; TMPFS=1 (DIR=/dev/shm)
# takes the disk out and measures the network path and the servers alone.
# The three transfers alternate RUNS times; the best of each is shown, and
# the server CPU per GiB (the steadier figure on a shared machine) is the
# median. Needs nginx, curl, python3. Run by hand; it is not a test.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
if [ -n "${TMPFS:-}" ]; then DIR=/dev/shm; fi

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init upload.sh
need_tools nginx curl python3 cargo
build_wirecat
make_tmp "${DIR:-}"

SRC=$TMP/src
mkdir -p "$SRC" "$TMP/w" "$TMP/n" "$TMP/d"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$SRC/big.bin"
chmod -R a+rwX "$TMP"

NGINX_PORT=$(free_port)
start_nginx_with "$TMP/nginx" <<EOF
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
WIRECAT_PORT=$(free_port)
"$WIRECAT" serve -q --threads 1 --upload --overwrite --max-upload 64G -p "$WIRECAT_PORT" "$TMP/w" >/dev/null &
WPID=$!
PIDS+=($WPID)
SERVE_PORT=$(free_port)
"$WIRECAT" serve -q --threads 1 -p "$SERVE_PORT" "$SRC" >/dev/null &
SPID=$!
PIDS+=($SPID)
wait_http "$NGINX_PORT"
wait_http "$WIRECAT_PORT"
wait_http "$SERVE_PORT"
NGINX_WORKER=$(pgrep -P "$NGINX_PID")

hwm() { awk '/VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }

# One transfer: prints "bytes-per-second server-CPU-ticks".
put_to() { # port server-pid
    local t0 s
    t0=$(cpu_ticks "$2")
    s=$(curl -sS -o /dev/null -w '%{speed_upload}' -T "$SRC/big.bin" "http://127.0.0.1:$1/big.bin")
    echo "$s $(($(cpu_ticks "$2") - t0))"
}
get_from() { # port server-pid output
    local t0 s
    t0=$(cpu_ticks "$2")
    s=$(curl -sS -o "$3" -w '%{speed_download}' "http://127.0.0.1:$1/big.bin")
    echo "$s $(($(cpu_ticks "$2") - t0))"
}

echo "file: $SIZE_MIB MiB, best of $RUNS, in $TMP ($(stat -f -c %T "$TMP"))"
echo "wirecat VmHWM before: $(hwm "$WPID")"
: >"$TMP/w.runs"; : >"$TMP/n.runs"; : >"$TMP/f.runs"; : >"$TMP/d.runs"
for _ in $(seq "$RUNS"); do
    rm -f "$TMP/w/big.bin" "$TMP/n/big.bin" "$TMP/d/big.bin"
    put_to "$WIRECAT_PORT" "$WPID" >>"$TMP/w.runs"
    put_to "$NGINX_PORT" "$NGINX_WORKER" >>"$TMP/n.runs"
    get_from "$SERVE_PORT" "$SPID" "$TMP/d/big.bin" >>"$TMP/f.runs"
    get_from "$SERVE_PORT" "$SPID" /dev/null >>"$TMP/d.runs"
done
echo "wirecat VmHWM after:  $(hwm "$WPID")"
cmp "$SRC/big.bin" "$TMP/w/big.bin" || { echo "upload.sh: wirecat's copy differs" >&2; exit 1; }
cmp "$SRC/big.bin" "$TMP/n/big.bin" || { echo "upload.sh: nginx's copy differs" >&2; exit 1; }
cmp "$SRC/big.bin" "$TMP/d/big.bin" || { echo "upload.sh: the download differs" >&2; exit 1; }
python3 - "$TMP" "$SIZE_MIB" "$(getconf CLK_TCK)" <<'EOF'
import statistics, sys
tmp, mib, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name):
    rows = [l.split() for l in open(f"{tmp}/{name}.runs")]
    best = max(float(r[0]) for r in rows) / (1 << 20)
    cpu = statistics.median(int(r[1]) for r in rows) / hz * 1000 * 1024 / mib
    return best, cpu
(w, wc), (n, nc), (f, fc), (d, dc) = load("w"), load("n"), load("f"), load("d")
print(f"wirecat PUT {w:.0f} MiB/s, nginx PUT {n:.0f} MiB/s, "
      f"wirecat GET saved {f:.0f} MiB/s, to /dev/null {d:.0f} MiB/s")
print(f"server CPU per GiB: wirecat PUT {wc:.0f} ms, nginx PUT {nc:.0f} ms, "
      f"wirecat GET {fc:.0f} ms saved, {dc:.0f} ms to /dev/null")
print(f"upload vs download to /dev/null: {w / d:.2f}x (target >= 0.9x), "
      f"vs download saved: {w / f:.2f}x; vs nginx PUT: {w / n:.2f}x (target >= 1.0x)")
EOF

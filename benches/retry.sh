#!/usr/bin/env bash
# Benchmark: `wirecat fetch --retry` on a download whose connection is cut
# every CUT_MIB (64 MiB), against the same download uncut, in the same run.
# The retry resumes with Range + If-Range, so the cut run should take at
# most ~1.2x the uncut one (it resumes; it does not start over).
#
#   benches/retry.sh                         # 512 MiB, cut every 64 MiB
#   SIZE_MIB=128 CUT_MIB=16 RUNS=3 benches/retry.sh
#
# The chain, all on 127.0.0.1: wirecat -> cutter (python, below: closes
# each connection after CUT_MIB of response bytes) -> delay proxy
# (benches/delay_proxy.rs, DELAY_MS each way) -> nginx (limit_rate RATE
# per connection). Needs nginx, curl, python3. Everything lives in a
# temporary directory removed at the end. Run by hand, never in CI.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-512}
CUT_MIB=${CUT_MIB:-64}
RATE=${RATE:-20m}
DELAY_MS=${DELAY_MS:-10}
RUNS=${RUNS:-1}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init retry.sh
need_tools nginx curl python3
build_wirecat
build_proxy
make_tmp
start_delayed_nginx

python3 - "$DELAYED" $((CUT_MIB << 20)) > "$WORK/cutter.out" 2>"$WORK/logs/cutter.err" <<'PY' &
# Forwards each connection to UPSTREAM and closes it (both ways) once
# CUT response bytes went through: a middlebox that drops long transfers.
import socket, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
cut = int(sys.argv[2])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(f"127.0.0.1:{listener.getsockname()[1]}", flush=True)

def pipe(src, dst, limit):
    sent = 0
    try:
        while limit is None or sent < limit:
            want = 1 << 16 if limit is None else min(1 << 16, limit - sent)
            data = src.recv(want)
            if not data:
                break
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def handle(client):
    upstream = socket.create_connection((host, int(port)))
    threading.Thread(target=pipe, args=(client, upstream, None), daemon=True).start()
    pipe(upstream, client, cut)
    client.close()
    upstream.close()

while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
PY
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/cutter.out" ] && break; sleep 0.1; done
CUTTER=$(cat "$WORK/cutter.out")
[ -n "$CUTTER" ] || { echo "cutter did not start" >&2; cat "$WORK/logs/cutter.err" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "wirecat $("$WIRECAT" --version | cut -d' ' -f2), nginx $(nginx -v 2>&1 | cut -d/ -f2) with limit_rate $RATE, ${DELAY_MS} ms each way"
echo "file: $SIZE_MIB MiB; cut every $CUT_MIB MiB"

python3 - "$WIRECAT" "$DELAYED" "$CUTTER" "$WORK" "$RUNS" "$SIZE_MIB" "$CUT_MIB" <<'PY'
import hashlib, os, statistics, subprocess, sys, time
wirecat, delayed, cutter, work, runs, size, cut = sys.argv[1:8]
runs, size, cut = int(runs), int(size), int(cut)
out = os.path.join(work, "out", "big.bin")
want = hashlib.sha256(open(os.path.join(work, "www", "big.bin"), "rb").read()).hexdigest()
retries = str(size // cut + 5)

def once(base):
    if os.path.exists(out):
        os.remove(out)
    t = time.monotonic()
    r = subprocess.run([wirecat, "fetch", "-q", "--retry", retries, "-o", out, f"http://{base}/big.bin"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)
    took = time.monotonic() - t
    if r.returncode != 0:
        sys.exit(f"wirecat exited {r.returncode}: {r.stderr.decode()}")
    got = hashlib.sha256(open(out, "rb").read()).hexdigest()
    if got != want:
        sys.exit("the downloaded file differs from the original")
    return took

uncut = [once(delayed) for _ in range(runs)]
cuts = [once(cutter) for _ in range(runs)]
u, c = statistics.median(uncut), statistics.median(cuts)
print(f"uncut: {u:.2f} s ({size / u:.1f} MiB/s), median of {runs}")
print(f"cut every {cut} MiB ({size // cut - (size % cut == 0)} resumes): {c:.2f} s ({size / c:.1f} MiB/s)")
print(f"ratio cut/uncut: {c / u:.3f} (target <= 1.2)")
PY

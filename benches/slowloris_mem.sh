#!/usr/bin/env bash
# Benchmark: `wirecat serve`'s resident memory under a slowloris wave, on
# loopback. Opens N connections that each send part of a request head and
# then one more byte every couple of seconds, holds them, closes them, and
# watches memory come back. Reports VmRSS from /proc/PID/status: idle,
# the highest sample while the partial heads are held (and VmHWM), and
# the figure AFTER seconds after they left.
#
# Usage: benches/slowloris_mem.sh   (env: N=5000 HOLD=10 AFTER=60 THREADS=2
#        WIRECAT=path/to/wirecat to measure another build)
# Needs: python3. Run by hand; it is not a test. Targets (issue 9, item 14):
# at most 32 MiB while 5,000 partial heads are held, and back within 2x of
# the idle figure a minute after they leave.
set -euo pipefail

N=${N:-5000}
HOLD=${HOLD:-10}
AFTER=${AFTER:-60}
THREADS=${THREADS:-2}

command -v python3 >/dev/null || { echo "slowloris_mem.sh: python3 is required" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((N + 100)) ]; then
    echo "slowloris_mem.sh: open files limit $(ulimit -n) is below N=$N" >&2
    exit 1
fi

cd "$(dirname "$0")/.."
if [ -z "${WIRECAT:-}" ]; then
    cargo build --release --quiet
    WIRECAT=$PWD/target/release/wirecat
fi

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/site"
echo "hello" >"$TMP/site/index.html"

# A head timeout longer than the hold, so the partial heads stay open.
"$WIRECAT" serve -q -p 0 -b 127.0.0.1 --threads "$THREADS" \
    --head-timeout $((HOLD + 60)) "$TMP/site" >"$TMP/out" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q '^Serving ' "$TMP/out" 2>/dev/null && break
    sleep 0.1
done
PORT=$(sed -n 's|^Serving .* at http://127.0.0.1:\([0-9]*\)/$|\1|p' "$TMP/out")
[ -n "$PORT" ] || { echo "slowloris_mem.sh: server did not start" >&2; exit 1; }
echo "wirecat $("$WIRECAT" --version 2>/dev/null || echo) on :$PORT, $THREADS loop(s), N=$N"

python3 - "$SERVER_PID" "$PORT" "$N" "$HOLD" "$AFTER" <<'EOF'
import socket, sys, time

pid, port, n, hold, after = (int(a) for a in sys.argv[1:])

def status(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

def mib(kib):
    return f"{kib / 1024:.1f} MiB"

# One real request first, so idle means "has served", as in production.
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
while s.recv(4096):
    pass
s.close()
time.sleep(1)
idle = status("VmRSS")
print(f"idle: {mib(idle)}")

conns = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.setblocking(False)
    c.send(b"GET /index.html HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
    conns.append(c)
print(f"opened {len(conns)} partial heads")

peak = 0
end = time.monotonic() + hold
tick = 0
while time.monotonic() < end:
    # One more header byte on each connection every two seconds.
    if tick % 2 == 0:
        for c in conns:
            try:
                c.send(b"a")
            except OSError:
                pass
    peak = max(peak, status("VmRSS"))
    tick += 1
    time.sleep(1)
print(f"while held: {mib(peak)} highest sample, VmHWM {mib(status('VmHWM'))}")

for c in conns:
    c.close()
conns = []
left = time.monotonic()
samples = []
while time.monotonic() - left < after:
    time.sleep(5)
    samples.append(status("VmRSS"))
final = status("VmRSS")
print("after they left, every 5 s: " + " ".join(f"{k / 1024:.1f}" for k in samples) + " MiB")
print(f"{after} s after they left: {mib(final)} ({final / idle:.2f}x idle)")
ok_peak = peak <= 32 * 1024
ok_final = final <= 2 * idle
print(f"targets: <= 32 MiB while held: {'met' if ok_peak else 'MISSED'}; "
      f"<= 2x idle after: {'met' if ok_final else 'MISSED'}")
EOF

#!/usr/bin/env bash
# Benchmark: `wirecat fetch --segments 8` on one big file, against one
# connection and against `aria2c -x8 -s8` (Debian's aria2), in the same
# run. Each connection is held to RATE by nginx (limit_rate), so 8 of them
# should come close to 8x one (target >= 6x), and at least match aria2
# (target >= 1.0x).
#
#   benches/segments.sh                        # 512 MiB, 8 segments
#   SIZE_MIB=128 SEGMENTS=4 RUNS=3 benches/segments.sh
#
# The chain, all on 127.0.0.1: client -> delay proxy (benches/delay_proxy.rs,
# DELAY_MS each way, new connections charged a handshake) -> nginx
# (limit_rate RATE per connection). Needs nginx, curl, python3, aria2c
# (apt-get install -y aria2: for this benchmark only). Everything lives in a
# temporary directory removed at the end. Run by hand, never in CI.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-512}
SEGMENTS=${SEGMENTS:-8}
RATE=${RATE:-20m}
DELAY_MS=${DELAY_MS:-10}
RUNS=${RUNS:-1}
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init segments.sh
need_tools nginx curl python3 aria2c
build_wirecat
build_proxy
make_tmp
start_delayed_nginx

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "wirecat $("$WIRECAT" --version | cut -d' ' -f2), $(aria2c --version | head -1), nginx $(nginx -v 2>&1 | cut -d/ -f2) with limit_rate $RATE, ${DELAY_MS} ms each way"
echo "file: $SIZE_MIB MiB; $SEGMENTS segments"

python3 - "$WIRECAT" "$DELAYED" "$WORK" "$RUNS" "$SIZE_MIB" "$SEGMENTS" <<'PY'
import hashlib, os, statistics, subprocess, sys, time
wirecat, base, work, runs, size, n = sys.argv[1:7]
runs, size = int(runs), int(size)
out = os.path.join(work, "out", "big.bin")
url = f"http://{base}/big.bin"
want = hashlib.sha256(open(os.path.join(work, "www", "big.bin"), "rb").read()).hexdigest()

def once(name, argv):
    for f in os.listdir(os.path.join(work, "out")):
        os.remove(os.path.join(work, "out", f))
    t = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)
    took = time.monotonic() - t
    if r.returncode != 0:
        sys.exit(f"{name} exited {r.returncode}: {r.stderr.decode()}")
    got = hashlib.sha256(open(out, "rb").read()).hexdigest()
    if got != want:
        sys.exit(f"{name}: the downloaded file differs from the original")
    return took

tools = {
    "wirecat, one connection": [wirecat, "fetch", "-q", "-o", out, url],
    f"wirecat --segments {n}": [wirecat, "fetch", "-q", "--segments", n, "-o", out, url],
    f"aria2c -x{n} -s{n}": ["aria2c", "-q", f"-x{n}", f"-s{n}", "--allow-overwrite=true",
                             "--file-allocation=none", "-d", os.path.dirname(out), "-o", "big.bin", url],
}
times = {}
for _ in range(runs):
    for name, argv in tools.items():
        times.setdefault(name, []).append(once(name, argv))
med = {name: statistics.median(t) for name, t in times.items()}
for name, t in med.items():
    print(f"{name:28} {t:7.2f} s  {size / t:7.1f} MiB/s  (median of {runs})")
one, seg, aria = med.values()
print(f"--segments {n} vs one connection: {one / seg:.2f}x (target >= 6)")
print(f"--segments {n} vs aria2c -x{n} -s{n}: {aria / seg:.2f}x (target >= 1.0)")
PY

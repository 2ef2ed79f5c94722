#!/usr/bin/env bash
# Benchmark: `wirecat fetch` against `curl -o` (and wget for the small page),
# all fetching from one local nginx in the same run.
#
#   benches/fetch.sh            # 1 GiB to /dev/null and to a file, plus a small page
#   RUNS=3 SMALL_RUNS=100 benches/fetch.sh
#
# Needs nginx, curl, python3 (wget optional). Everything it creates lives in
# a temporary directory that is removed at the end; nginx listens on
# 127.0.0.1 only, on a port the kernel picked. Run by hand, never in CI.
set -euo pipefail

RUNS=${RUNS:-5}
SMALL_RUNS=${SMALL_RUNS:-200}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init fetch.sh
need_tools nginx curl python3
build_wirecat
make_tmp
WORK=$TMP

mkdir -p "$WORK/www" "$WORK/logs" "$WORK/out"
echo "making a 1 GiB file in $WORK/www ..." >&2
head -c $((1 << 30)) /dev/urandom > "$WORK/www/1g.bin"
python3 - "$WORK/www/index.html" <<'PY'
import sys
rows = "".join(f"<li><a href='/p/{i}'>item {i}</a></li>\n" for i in range(200))
open(sys.argv[1], "w").write(f"<!doctype html><title>small</title><ul>\n{rows}</ul>\n")
PY

start_nginx
BASE="http://127.0.0.1:$PORT"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "wirecat $("$WIRECAT" --version | cut -d' ' -f2), $(curl --version | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3)"

python3 - "$WIRECAT" "$BASE" "$WORK/out" "$RUNS" "$SMALL_RUNS" <<'PY'
import os, shutil, statistics, subprocess, sys, time

wirecat, base, out, runs, small_runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
big, small = f"{base}/1g.bin", f"{base}/index.html"

def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t

def compare(label, cmds, n):
    """Runs each command n times, interleaved so drift hits all alike; medians."""
    times = {name: [] for name in cmds}
    for _ in range(n):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd()))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    line = "  ".join(f"{name} {med[name]*1000:9.2f} ms" for name in cmds)
    print(f"{label:<26} {line}   wirecat/curl = {med['wirecat'] / med['curl']:.2f}x")
    return med

def to_file(path):
    """Removes the last copy and flushes dirty pages (untimed) first, so no
    run pays for the previous run's writeback."""
    def cmd_for(argv):
        def make():
            if os.path.exists(path):
                os.remove(path)
            subprocess.run(["sync"], check=True)
            return argv
        return make
    return cmd_for

null = lambda argv: (lambda: argv)
print(f"runs: {runs} per 1 GiB case, {small_runs} per small-page case (medians)")
compare("1 GiB -> /dev/null", {
    "curl": null(["curl", "-s", "-o", "/dev/null", big]),
    "wirecat": null([wirecat, "fetch", "-q", "-o", "/dev/null", big]),
}, runs)
f_curl, f_wire = os.path.join(out, "curl.bin"), os.path.join(out, "wirecat.bin")
compare("1 GiB -> file", {
    "curl": to_file(f_curl)(["curl", "-s", "-o", f_curl, big]),
    "wirecat": to_file(f_wire)([wirecat, "fetch", "-q", "-o", f_wire, big]),
}, runs)
same = subprocess.run(["cmp", f_curl, f_wire]).returncode == 0
print(f"1 GiB files identical: {same}")
os.remove(f_curl); os.remove(f_wire)
small_cmds = {
    "curl": null(["curl", "-s", "-o", "/dev/null", small]),
    "wirecat": null([wirecat, "fetch", "-q", "-o", "/dev/null", small]),
}
if shutil.which("wget"):
    small_cmds["wget"] = null(["wget", "-q", "-O", "/dev/null", small])
med = compare("small page -> /dev/null", small_cmds, small_runs)
if "wget" in med:
    print(f"{'':26} wget/curl = {med['wget'] / med['curl']:.2f}x")
PY

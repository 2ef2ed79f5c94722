#!/usr/bin/env bash
# Benchmark: many downloads at once. `wirecat fetch -P 8 -i LIST` against
# `curl --parallel --parallel-max 8` (curl 7.66 or later) and
# `xargs -P 8 wget`, all fetching from one local nginx in the same run:
# 1,000 small files, then 8 large ones, each tool into a fresh directory.
#
#   benches/fetch_many.sh
#   RUNS=5 SMALL_KIB=8 LARGE_MIB=128 benches/fetch_many.sh
#
# Needs nginx, curl, wget, python3. Everything it creates lives in a
# temporary directory removed at the end; nginx listens on 127.0.0.1 only,
# on a port the kernel picked. Run by hand, never in CI.
set -euo pipefail

RUNS=${RUNS:-3}
SMALL=${SMALL:-1000}
SMALL_KIB=${SMALL_KIB:-4}
LARGE=${LARGE:-8}
LARGE_MIB=${LARGE_MIB:-64}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init fetch_many.sh
need_tools nginx curl wget python3
build_wirecat
make_tmp
WORK=$TMP

mkdir -p "$WORK/www/s" "$WORK/www/l" "$WORK/logs" "$WORK/out"
echo "making $SMALL files of $SMALL_KIB KiB and $LARGE of $LARGE_MIB MiB in $WORK/www ..." >&2
head -c $((SMALL_KIB * 1024)) /dev/urandom > "$WORK/small.bin"
for i in $(seq "$SMALL"); do cp "$WORK/small.bin" "$WORK/www/s/f$i.bin"; done
for i in $(seq "$LARGE"); do head -c $((LARGE_MIB << 20)) /dev/urandom > "$WORK/www/l/big$i.bin"; done
echo ok > "$WORK/www/index.html"

start_nginx
BASE="http://127.0.0.1:$PORT"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "wirecat $("$WIRECAT" --version | cut -d' ' -f2), $(curl --version | head -1 | cut -d' ' -f1-2), $(wget --version | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3)"

python3 - "$WIRECAT" "$BASE" "$WORK" "$RUNS" "$SMALL" "$LARGE" <<'PY'
import os, shutil, statistics, subprocess, sys, time

wirecat, base, work, runs, n_small, n_large = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:])

def url_list(name, urls):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("".join(u + "\n" for u in urls))
    with open(path + ".curl", "w") as f:
        f.write("".join(f'url = "{u}"\n' for u in urls))
    return path

sets = {
    f"{n_small} small": (url_list("small.txt", [f"{base}/s/f{i}.bin" for i in range(1, n_small + 1)]),
                         os.path.join(work, "www/s"), n_small // 8),
    f"{n_large} large": (url_list("large.txt", [f"{base}/l/big{i}.bin" for i in range(1, n_large + 1)]),
                         os.path.join(work, "www/l"), 1),
}

def commands(lst, per_wget):
    # Each gets a fresh, empty directory; the previous copy is removed and
    # dirty pages flushed before the clock starts.
    return {
        "wirecat": lambda d: [wirecat, "fetch", "-q", "-P", "8", "-i", lst],
        "curl": lambda d: ["curl", "-s", "--no-progress-meter", "-f", "--parallel", "--parallel-max", "8",
                           "--remote-name-all", "--output-dir", d, "-K", lst + ".curl"],
        # wget reuses a connection across the URLs of one process: give each
        # of the 8 processes an equal share of the list.
        "wget": lambda d: ["sh", "-c", f"xargs -P 8 -n {per_wget} wget -q -P {d} < {lst}"],
    }

def run_once(name, argv_for):
    d = os.path.join(work, "out", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    subprocess.run(["sync"], check=True)
    t = time.perf_counter()
    subprocess.run(argv_for(d), check=True, cwd=d, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t, d

def same_tree(a, b):
    names = sorted(os.listdir(b))
    if sorted(os.listdir(a)) != names:
        return False
    return all(subprocess.run(["cmp", "-s", os.path.join(a, n), os.path.join(b, n)]).returncode == 0
               for n in names)

print(f"runs: {runs} per set and tool, interleaved (medians)")
for label, (lst, src, per_wget) in sets.items():
    total = sum(os.path.getsize(os.path.join(src, n)) for n in os.listdir(src))
    cmds = commands(lst, per_wget)
    times = {name: [] for name in cmds}
    for _ in range(runs):
        for name, argv_for in cmds.items():
            secs, d = run_once(name, argv_for)
            times[name].append(secs)
            if not same_tree(d, src):
                sys.exit(f"{name}: {label}: the saved files differ from the source")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    line = "  ".join(f"{name} {med[name]:7.3f} s {total / med[name] / 2**20:8.1f} MiB/s" for name in cmds)
    print(f"{label:<11} ({total / 2**20:7.1f} MiB)  {line}")
    print(f"{'':11}  throughput wirecat/curl = {med['curl'] / med['wirecat']:.2f}x, "
          f"wirecat/wget = {med['wget'] / med['wirecat']:.2f}x")
PY

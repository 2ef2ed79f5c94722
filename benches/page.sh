#!/usr/bin/env bash
# Benchmark for issue 12: saving a page with its requisites, and mirroring a
# site, across a real round trip (run by hand, never in CI).
#
# What it measures, in one run, every client through the same delay proxy
# (benches/delay_proxy.rs: every chunk held 10 ms each way on every
# connection, a 20 ms round trip; a new connection also pays its handshake
# round trip) in front of one nginx serving three "hosts" (three 127.0.0.1
# ports, each behind its own proxy port):
#  1. page: a front page with 150 requisites on the 3 hosts (stylesheets with
#     @import and url() images, fonts, scripts, images; benches/page_sites.py)
#       wget -p -k -H    wget2 -p -k -H --max-threads=8
#       wirecat fetch --page --output-dir DIR URL
#     targets: wirecat <= 0.33x wget, <= 1.0x wget2.
#  2. mirror: a 2,000-page site below /site/, 4 requisites a page (2 shared
#     site-wide, 2 of its own), pages within depth 4 of the start
#       wget -r -np -k   wget2 -r -np -k --max-threads=8
#       wirecat fetch -r --output-dir DIR URL
#     targets: wirecat <= 0.33x wget, <= 1.0x wget2, peak RSS < 64 MiB.
# Each tool runs RUNS times, interleaved, into a fresh folder; the script
# prints every time, the medians, the ratios against the targets, each tool's
# peak RSS, the files it saved (with a warning when it saved fewer than the
# site has: wget 1.21 and wget2 1.99 save the stylesheet an @import brings
# in but not the 6 fonts and images it references, so they save 133 of the
# page's 151 files), and the requests and connections nginx saw from it.
# wget and wget2 get -e robots=off for the page (wirecat --page does not read
# robots.txt); for the mirror every tool reads the permissive robots.txt.
#
#   benches/page.sh
#   RUNS=5 ONLY=page benches/page.sh
#   SKIP_WIRECAT=1 PAGES=500 benches/page.sh      # only wget and wget2
#
# Knobs: RUNS (3), ONLY (page|mirror), PAGES (2000), DELAY_MS (10 each way),
# HANDSHAKE=0 (new connections cost nothing), SKIP_WIRECAT=1,
# WIRECAT_PAGE_ARGS / WIRECAT_MIRROR_ARGS (extra wirecat flags, e.g.
# WIRECAT_MIRROR_ARGS=--page to save the requisites wget -r also saves),
# RUN_TIMEOUT (900 s a run).
#
# Needs: nginx, wget, wget2, curl, python3 (3.9+), GNU time (/usr/bin/time);
# on Debian: apt-get install -y nginx wget wget2 curl time. Builds wirecat
# and the proxy with cargo. Everything it creates lives in a temporary
# directory removed at the end; nginx and the proxy listen on 127.0.0.1 only,
# on ports the kernel picked; the tools are given only 127.0.0.1 URLs.
set -euo pipefail

RUNS=${RUNS:-3}
ONLY=${ONLY:-}
PAGES=${PAGES:-2000}
DELAY_MS=${DELAY_MS:-10}
HANDSHAKE=${HANDSHAKE:-1}
SKIP_WIRECAT=${SKIP_WIRECAT:-}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init page.sh
need_tools nginx wget wget2 curl python3 /usr/bin/time
WIRECAT=""
if [ -z "$SKIP_WIRECAT" ]; then
    build_wirecat
fi
build_proxy
make_tmp
WORK=$TMP
mkdir -p "$WORK/www/h0" "$WORK/www/h1" "$WORK/www/h2" "$WORK/logs" "$WORK/out"

# One nginx, three server blocks (three "hosts").
NGINX_HOSTS=3 NGINX_HTTP_EXTRA="include /etc/nginx/mime.types;
    log_format bench '\$connection \$status \$request_uri';
    access_log $WORK/logs/access.log bench;
    keepalive_requests 100000;" start_nginx

handshake_flag=()
[ "$HANDSHAKE" = 0 ] && handshake_flag=(--no-handshake)
"$PROXY" --delay-ms "$DELAY_MS" --duration 14400 "${handshake_flag[@]}" "${PORTS[@]}" > "$WORK/proxy.out" 2>"$WORK/logs/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ "$(wc -l < "$WORK/proxy.out")" -ge 3 ] && break; sleep 0.1; done
mapfile -t BASES < <(cut -d' ' -f1 "$WORK/proxy.out" | sed 's|^|http://|')
[ "${#BASES[@]}" -eq 3 ] || { echo "delay proxy did not start" >&2; cat "$WORK/logs/proxy.err" >&2; exit 1; }

echo "generating the sites in $WORK/www ..." >&2
PAGE_REQUISITES=$(python3 benches/page_sites.py page "$WORK/www" "${BASES[@]}")
MIRROR_FILES=$(python3 benches/page_sites.py mirror "$WORK/www/h0" "$PAGES")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "$(wget --version | head -1 | cut -d' ' -f1-3), $(wget2 --version | head -1 | cut -d' ' -f1-3), nginx $(nginx -v 2>&1 | cut -d/ -f2)${WIRECAT:+, wirecat $("$WIRECAT" --version | cut -d' ' -f2)}"
echo "delay proxy: ${DELAY_MS} ms each way on every chunk; new connections pay a handshake round trip: $([ "$HANDSHAKE" = 0 ] && echo no || echo yes)"

python3 - "$WORK" "$RUNS" "$ONLY" "$PAGE_REQUISITES" "$MIRROR_FILES" "$PAGES" "$WIRECAT" "${BASES[@]}" <<'PY'
import os, shlex, shutil, socket, statistics, subprocess, sys, time

work, runs, only, page_requisites, mirror_files, pages, wirecat = sys.argv[1], int(sys.argv[2]), *sys.argv[3:8]
bases = sys.argv[8:11]
access_log = os.path.join(work, "logs/access.log")
timeout = float(os.environ.get("RUN_TIMEOUT", "900"))


def one_request(s):
    s.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while b"Disallow:\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("the proxy closed the connection")
        got += chunk


def round_trip():
    """Times GET /robots.txt through the proxy: on a new connection, then reused."""
    host, port = bases[0][len("http://"):].rsplit(":", 1)
    fresh, reused = [], []
    for _ in range(4):
        start = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=10) as s:
            one_request(s)
            fresh.append(time.perf_counter() - start)
            for _ in range(5):
                start = time.perf_counter()
                one_request(s)
                reused.append(time.perf_counter() - start)
    # The first connection warms up nginx and the proxy.
    return statistics.median(fresh[1:]), statistics.median(reused)


first, again = round_trip()
print(f"measured through the proxy (median): a request on a new connection {first * 1000:.1f} ms, "
      f"on a reused one {again * 1000:.1f} ms")


def wget_flags(tool):
    # No user or system config, no HSTS database: the same clean start each run.
    return [tool, "-q", "--no-config", "--no-hsts"]


def suites():
    page_url, mirror_url = bases[0] + "/", bases[0] + "/site/"
    extra_page = shlex.split(os.environ.get("WIRECAT_PAGE_ARGS", ""))
    extra_mirror = shlex.split(os.environ.get("WIRECAT_MIRROR_ARGS", ""))
    page = {
        "wget": lambda d: wget_flags("wget") + ["-e", "robots=off", "-p", "-k", "-H", "-P", d, page_url],
        "wget2": lambda d: wget_flags("wget2") + ["-e", "robots=off", "-p", "-k", "-H", "--max-threads=8",
                                                   "-P", d, page_url],
        "wirecat": lambda d: [wirecat, "fetch", "--page", *extra_page, "--output-dir", d, page_url],
    }
    mirror = {
        "wget": lambda d: wget_flags("wget") + ["-r", "-np", "-k", "-P", d, mirror_url],
        "wget2": lambda d: wget_flags("wget2") + ["-r", "-np", "-k", "--max-threads=8", "-P", d, mirror_url],
        "wirecat": lambda d: [wirecat, "fetch", "-r", *extra_mirror, "--output-dir", d, mirror_url],
    }
    yield ("page", f"a page with {page_requisites} requisites on 3 hosts", page, 1 + int(page_requisites), False)
    yield ("mirror", f"a {pages}-page site, 4 requisites a page", mirror, int(mirror_files), True)


def count_files(d):
    """Files and bytes saved, not counting a robots.txt (wget saves it, others may not)."""
    n = size = 0
    for parent, _, files in os.walk(d):
        for f in files:
            if f == "robots.txt":
                continue
            n += 1
            size += os.path.getsize(os.path.join(parent, f))
    return n, size


def served():
    """Requests, connections and non-200 replies nginx logged since the last call."""
    with open(access_log) as f:
        lines = [l.split() for l in f]
    open(access_log, "w").close()  # nginx appends (O_APPEND), so truncating is safe
    conns = {l[0] for l in lines}
    bad = [f"{l[1]} {l[2]}" for l in lines if l[1] != "200"]
    return len(lines), len(conns), bad


def run(name, argv, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    subprocess.run(["sync"])
    served()
    rss_file = os.path.join(work, "rss")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=out, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
        code, err = p.returncode, p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        code, err = "timeout", ""
    elapsed = time.perf_counter() - start
    with open(rss_file) as f:
        rss_lines = [l for l in f.read().split("\n") if l.strip().isdigit()]
    rss = int(rss_lines[-1]) / 1024 if rss_lines else float("nan")
    files, size = count_files(out)
    requests, conns, bad = served()
    if code != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        print(f"    {name}: exit {code}{': ' + tail if tail else ''}")
    return dict(time=elapsed, rss=rss, files=files, bytes=size, requests=requests, conns=conns, bad=bad, code=code)


def report(label, tools, results, expected, want_rss):
    print(f"\n{label}: median of {runs}, expected {expected} files")
    print(f"  {'tool':8} {'time s':>8} {'runs':24} {'files':>6} {'MB':>6} {'requests':>8} {'conns':>6} {'RSS MiB':>8}")
    med = {}
    for t in tools:
        rs = results[t]
        med[t] = statistics.median(r["time"] for r in rs)
        last = rs[-1]
        times = " ".join(f"{r['time']:.2f}" for r in rs)
        print(f"  {t:8} {med[t]:8.2f} {times:24} {last['files']:6} {last['bytes'] / 1e6:6.1f} {last['requests']:8} "
              f"{last['conns']:6} {max(r['rss'] for r in rs):8.1f}")
        if last["files"] < expected:
            print(f"  ** {t} saved {last['files']} files, fewer than the {expected} the site has")
        if last["bad"]:
            print(f"  ** {t}: {len(last['bad'])} replies not 200, e.g. {last['bad'][:3]}")
    if "wirecat" in med:
        codes = {r["code"] for r in results["wirecat"]} - {0}
        fewer = [p for p in ("wget", "wget2") if results["wirecat"][-1]["files"] < results[p][-1]["files"]]
        if codes or fewer:
            why = f"exit {', '.join(map(str, codes))}" if codes else f"saved fewer files than {' and '.join(fewer)}"
            print(f"  ** wirecat {why}: the ratios below do not count")
        for peer in ("wget", "wget2"):
            target = 0.33 if peer == "wget" else 1.0
            ratio = med["wirecat"] / med[peer]
            print(f"  wirecat/{peer}: {ratio:.2f}x (target <= {target}x) {'ok' if ratio <= target else 'MISSED'}")
        if want_rss:
            rss = max(r["rss"] for r in results["wirecat"])
            print(f"  wirecat peak RSS: {rss:.1f} MiB (target < 64 MiB) {'ok' if rss < 64 else 'MISSED'}")


for key, label, commands, expected, want_rss in suites():
    if only and only != key:
        continue
    tools = [t for t in commands if t != "wirecat" or wirecat]
    print(f"\n{label} ...", flush=True)
    results = {t: [] for t in tools}
    for i in range(runs):
        # Interleaved, each run in a different order, so drift spreads evenly.
        for t in tools[i % len(tools):] + tools[:i % len(tools)]:
            results[t].append(run(t, commands[t](os.path.join(work, "out", t)), os.path.join(work, "out", t)))
    report(label, tools, results, expected, want_rss)
PY

# The preamble the benchmark scripts share; source it, then call what you
# need. Everything stays on 127.0.0.1, in one temporary directory that is
# removed at exit together with every process listed in PIDS.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_init upload.sh            # BENCH name for messages, ROOT, cd ROOT
#   need_tools nginx curl python3   # exit 2 naming the first one missing
#   build_wirecat                   # WIRECAT (release build, or $WIRECAT_BIN)
#   build_proxy                     # PROXY (benches/delay_proxy.rs)
#   make_tmp [DIR]                  # TMP (beneath DIR if given), cleanup trap
#   PORT=$(free_port)
#   start_nginx_with PREFIX <<EOF   # nginx as a plain user process, its
#   http { ... }                    # own prefix; the top of the config is
#   EOF                             # written here, the rest read from stdin
#   wait_http PORT [PATH]           # until something answers 127.0.0.1:PORT
#   start_nginx                     # the client benchmarks' nginx ($TMP/www)
#   start_delayed_nginx             # nginx serving a SIZE_MIB MiB big.bin at
#                                   # RATE behind the delay proxy: DELAYED
#   start_announced NAME CMD...     # a line server; addr and pid from its
#                                   # tcp://ADDR announcement
#   make_site                       # SITE=$TMP/site: small.html (1 KiB), big.bin (1 MiB)
#   cpu_ticks PID...                # CPU ticks the processes used so far
#   run_wrk URL CONNS PID... [-- ARGS]  # one wrk run: req/s bytes/s CPU us/req

bench_init() {
    BENCH=$1
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    cd "$ROOT"
}

need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$BENCH: needs $tool (apt-get install -y ${tool##*/})" >&2
            exit 2
        }
    done
}

# WIRECAT_BIN, when set, is measured instead (to compare two builds).
build_wirecat() {
    if [ -n "${WIRECAT_BIN:-}" ]; then
        WIRECAT=$WIRECAT_BIN
        return
    fi
    cargo build --release --quiet --bin wirecat
    WIRECAT=$ROOT/target/release/wirecat
}

build_proxy() {
    PROXY=$(cargo bench --quiet --bench delay_proxy --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "delay_proxy":
        print(m["executable"])')
    [ -x "$PROXY" ] || { echo "$BENCH: could not build benches/delay_proxy.rs" >&2; exit 1; }
}

# Processes to end at exit: append with PIDS+=($!).
PIDS=()

bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -z "${TMP:-}" ] || rm -rf "$TMP"
}

# A fresh temporary directory TMP (world-readable, so nginx's workers can
# read it), beneath $1 when given (e.g. /dev/shm for tmpfs).
make_tmp() {
    TMP=$(mktemp -d -p "${1:-${TMPDIR:-/tmp}}" "wirecat-bench-${BENCH%.sh}.XXXXXX")
    chmod 755 "$TMP"
    trap bench_cleanup EXIT
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for an HTTP answer (any status) on 127.0.0.1:$1$2.
wait_http() {
    local _
    for _ in $(seq 100); do
        curl -sS -o /dev/null "http://127.0.0.1:$1${2:-/}" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$BENCH: nothing answers on port $1" >&2
    exit 1
}

# Starts nginx as a user process with prefix $1 ($1/nginx.conf, its pid,
# error log and temp paths there); the config's top (workers from
# NGINX_WORKERS, default 1) is written here, the http block is read from
# stdin. Appends its pid to PIDS and sets NGINX_PID.
start_nginx_with() {
    local prefix=$1
    mkdir -p "$prefix"
    {
        cat <<EOF
worker_processes ${NGINX_WORKERS:-1};
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
user root;
EOF
        cat
    } >"$prefix/nginx.conf"
    nginx -p "$prefix" -c "$prefix/nginx.conf" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}

# The client benchmarks' nginx: serves $TMP/www on a free 127.0.0.1 port
# (PORT), or with NGINX_HOSTS=N, N "hosts" $TMP/www/h0.. on N ports
# (PORTS); sets NGINX_PID. NGINX_HTTP_EXTRA and NGINX_SERVER_EXTRA
# (optional): directives for the http block (default `access_log off;`)
# and for each server block, e.g. "limit_rate 20m;".
start_nginx() {
    local hosts=${NGINX_HOSTS:-1} h _
    mkdir -p "$TMP/logs"
    # nginx cannot report a kernel-chosen port, so ask the kernel for free
    # ones and retry if someone takes one before nginx binds.
    for _ in 1 2 3 4 5; do
        PORTS=()
        for ((h = 0; h < hosts; h++)); do PORTS+=("$(free_port)"); done
        PORT=${PORTS[0]}
        {
            cat <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log warn;
events { worker_connections 4096; }
http {
    ${NGINX_HTTP_EXTRA:-access_log off;}
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $TMP/logs/body;
    proxy_temp_path $TMP/logs/proxy;
    fastcgi_temp_path $TMP/logs/fastcgi;
    uwsgi_temp_path $TMP/logs/uwsgi;
    scgi_temp_path $TMP/logs/scgi;
CONF
            for ((h = 0; h < hosts; h++)); do
                echo "    server { listen 127.0.0.1:${PORTS[$h]}; root $(host_root "$h"); ${NGINX_SERVER_EXTRA:-} }"
            done
            echo "}"
        } >"$TMP/nginx.conf"
        local last
        last=$(host_root $((hosts - 1)))
        echo ok >"$last/ready"
        nginx -p "$TMP" -c "$TMP/nginx.conf" 2>>"$TMP/logs/start.log" &
        NGINX_PID=$!
        for _ in $(seq 50); do
            if curl -fsS -o /dev/null "http://127.0.0.1:${PORTS[-1]}/ready" 2>/dev/null; then
                rm "$last/ready"
                PIDS+=("$NGINX_PID")
                return 0
            fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=""
    done
    echo "nginx did not start:" >&2
    cat "$TMP/logs/start.log" "$TMP/logs/error.log" >&2 || true
    exit 1
}

# The folder host $1 of start_nginx serves.
host_root() {
    if [ "${NGINX_HOSTS:-1}" = 1 ]; then echo "$TMP/www"; else echo "$TMP/www/h$1"; fi
}

# For the bad-network client benchmarks (retry.sh, segments.sh): WORK=$TMP
# with www/big.bin of SIZE_MIB MiB (random), served by nginx at RATE
# (limit_rate), behind the delay proxy (build_proxy first) adding DELAY_MS
# each way; DELAYED is the proxy's host:port.
start_delayed_nginx() {
    WORK=$TMP
    mkdir -p "$WORK/www" "$WORK/logs" "$WORK/out"
    echo "making a $SIZE_MIB MiB file in $WORK/www ..." >&2
    head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/www/big.bin"
    echo ok >"$WORK/www/index.html"
    NGINX_SERVER_EXTRA="limit_rate $RATE;" start_nginx
    "$PROXY" --delay-ms "$DELAY_MS" --duration 14400 "$PORT" >"$WORK/proxy.out" 2>"$WORK/logs/proxy.err" &
    PIDS+=($!)
    local _
    for _ in $(seq 50); do [ -s "$WORK/proxy.out" ] && break; sleep 0.1; done
    DELAYED=$(cut -d' ' -f1 "$WORK/proxy.out")
    [ -n "$DELAYED" ] || {
        echo "$BENCH: the delay proxy did not start" >&2
        cat "$WORK/logs/proxy.err" >&2
        exit 1
    }
}

# start_announced NAME CMD...: runs a server in the background (output in
# $TMP/NAME.out and .err), waits up to 10 s for the stdout line that
# announces tcp://ADDR, and sets addr and pid (pid is also in PIDS).
start_announced() {
    local name=$1 _
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do
        if grep -q 'tcp://' "$TMP/$name.out"; then
            addr=$(sed -n 's|.*tcp://\([^ ]*\).*|\1|p' "$TMP/$name.out" | head -1)
            return
        fi
        sleep 0.1
    done
    echo "$BENCH: $name did not start" >&2
    cat "$TMP/$name.err" >&2
    exit 1
}

# CPU clock ticks (user + system) used so far by the given processes.
cpu_ticks() { # pid...
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}

# One wrk run against URL (WRK_THREADS threads, DURATION seconds) while the
# given server processes are measured. Prints "requests/s bytes/s
# server-CPU-microseconds-per-request": CPU per request is the steadier
# figure on a shared machine, as it does not depend on how much of the CPU
# the server was given. Extra wrk arguments come after the pids, after "--".
run_wrk() { # url conns pid... [-- wrk-args...]
    local url=$1 conns=$2 pids=() t0 t1
    shift 2
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pids+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    t0=$(cpu_ticks "${pids[@]}")
    wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" "$@" "$url" >"$TMP/wrk.out"
    t1=$(cpu_ticks "${pids[@]}")
    python3 - "$TMP/wrk.out" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
total = int(re.search(r"(\d+) requests in", t).group(1))
m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", t)
mult = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m.group(2)]
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if errs or "Socket errors" in t:
    print("warning: " + " ".join(l.strip() for l in t.splitlines() if "errors" in l or "Non-2xx" in l), file=sys.stderr)
print(f"{rps:.0f} {float(m.group(1)) * mult:.0f} {ticks / hz * 1e6 / max(total, 1):.2f}")
EOF
}

# The server benchmarks' site (serve.sh, tls.sh): SITE=$TMP/site with a
# 1 KiB small.html and a 1 MiB big.bin of random bytes, readable by nginx.
make_site() {
    SITE=$TMP/site
    mkdir -p "$SITE"
    python3 - "$SITE" <<'EOF'
import os, sys
site = sys.argv[1]
small = ("<!DOCTYPE html><title>small</title>\n" + "<p>wirecat benchmark page</p>\n" * 34)[:1024]
open(os.path.join(site, "small.html"), "w").write(small)
open(os.path.join(site, "big.bin"), "wb").write(os.urandom(1 << 20))
EOF
    chmod -R a+rX "$SITE"
}

# Shared by the fetch benchmarks: start a throwaway nginx (Debian package)
# serving $WORK/www on a free 127.0.0.1 port. Sets PORT and NGINX_PID; the
# caller's cleanup kills it. Needs WORK set, and $WORK/logs to exist.
# NGINX_SERVER_EXTRA (optional): directives added to the server block,
# e.g. "limit_rate 20m;".

start_nginx() {
    # nginx cannot report a kernel-chosen port, so ask the kernel for a free
    # one and retry if someone takes it before nginx binds.
    for _ in 1 2 3 4 5; do
        PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        cat > "$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $WORK/logs/body;
    proxy_temp_path $WORK/logs/proxy;
    fastcgi_temp_path $WORK/logs/fastcgi;
    uwsgi_temp_path $WORK/logs/uwsgi;
    scgi_temp_path $WORK/logs/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
        ${NGINX_SERVER_EXTRA:-}
    }
}
CONF
        nginx -p "$WORK" -c "$WORK/nginx.conf" 2>>"$WORK/logs/start.log" &
        NGINX_PID=$!
        for _ in $(seq 50); do
            if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/index.html" 2>/dev/null; then return 0; fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=""
    done
    echo "nginx did not start:" >&2
    cat "$WORK/logs/start.log" "$WORK/logs/error.log" >&2 || true
    exit 1
}

//! `fetch`/`headers --unix-socket PATH` against `wirecat serve --unix`:
//! the URL's reserved `.test` name goes in Host, SNI and the certificate
//! check but is never looked up; files, `-C` resumes, several URLs on one
//! kept-alive connection, `-L`, a proxy reached over the socket, https,
//! `--json`, the socket winning over `--resolve`/`--connect-to`, and the
//! connect failures (no file, not a socket, nobody listening) in one line.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde_json::Value;

use crate::serve_tls::pem;
use crate::support::{
    assert_code, assert_stderr_has, read_request_head, stderr, stdout, test_ca, wirecat,
    wirecat_in, Background, TIMEOUT,
};

/// A site with `a.txt`, `hundred.bin` and `sub/index.html`.
fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    std::fs::write(
        d.path().join("hundred.bin"),
        (0..100u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("sub/index.html"), "sub\n").unwrap();
    d
}

/// `wirecat serve --unix PATH ARGS DIR` in the background; the socket
/// lives in a temp folder of its own (short: a socket path fits in 108
/// bytes), returned to keep it alive.
pub(crate) fn serve_unix(dir: &Path, args: &[&str]) -> (Background, PathBuf, tempfile::TempDir) {
    let sock = tempfile::tempdir().unwrap();
    let path = sock.path().join("w.sock");
    let mut cmd = wirecat();
    cmd.arg("serve")
        .arg("--unix")
        .arg(&path)
        .args(args)
        .arg(dir);
    let (bg, first) = Background::start(&mut cmd);
    assert!(
        first.ends_with(&format!("unix:{}", path.display())),
        "{first}"
    );
    (bg, path, sock)
}

/// `wirecat ARGS` in `dir` with `--unix-socket PATH` after the command.
fn over(dir: &Path, path: &Path, command: &str, args: &[&str]) -> std::process::Output {
    let path = path.to_str().unwrap();
    let mut all = vec![command, "--unix-socket", path];
    all.extend_from_slice(args);
    wirecat_in(dir, &all)
}

#[test]
fn a_file_comes_over_the_socket() {
    let d = site();
    let (server, path, _sock) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = over(
        out_dir.path(),
        &path,
        "fetch",
        &["-q", "http://name.test/a.txt"],
    );
    assert_code(&out, 0);
    assert_eq!(
        std::fs::read(out_dir.path().join("a.txt")).unwrap(),
        b"hello\n"
    );
    let line = server.line_with("GET /a.txt");
    assert!(line.starts_with("unix: "), "{line}");
}

#[test]
fn headers_v_sends_the_urls_host() {
    let d = site();
    let (_server, path, _sock) = serve_unix(d.path(), &["-q"]);
    let out_dir = tempfile::tempdir().unwrap();
    let path_s = path.to_str().unwrap();
    let url = "http://name.test:8080/a.txt";
    let args = ["-v", "headers", "--unix-socket", path_s, url];
    let out = wirecat_in(out_dir.path(), &args);
    assert_code(&out, 0);
    assert!(
        stdout(&out).starts_with("HTTP/1.1 200 OK"),
        "{}",
        stdout(&out)
    );
    assert_stderr_has(&out, "> HEAD /a.txt HTTP/1.1");
    assert_stderr_has(&out, "> Host: name.test:8080");
    assert_stderr_has(&out, "< Content-Length: 6");
}

#[test]
fn c_resumes_with_a_range_over_the_socket() {
    let d = site();
    let (server, path, _sock) = serve_unix(d.path(), &[]);
    let url = "http://name.test/hundred.bin";
    let out_dir = tempfile::tempdir().unwrap();
    let head = over(out_dir.path(), &path, "headers", &[url]);
    assert_code(&head, 0);
    let head = stdout(&head);
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .unwrap_or_else(|| panic!("no ETag in {head}"));
    let all: Vec<u8> = (0..100u8).collect();
    std::fs::write(out_dir.path().join("hundred.bin.part"), &all[..40]).unwrap();
    let meta = format!("if-range {etag}\n");
    std::fs::write(out_dir.path().join("hundred.bin.part.meta"), meta).unwrap();
    let out = over(out_dir.path(), &path, "fetch", &["-q", "-C", url]);
    assert_code(&out, 0);
    assert_eq!(
        std::fs::read(out_dir.path().join("hundred.bin")).unwrap(),
        all
    );
    let line = server.line_with("GET /hundred.bin");
    assert!(line.contains("\" 206 60 "), "{line}");
}

#[test]
fn several_urls_share_one_kept_alive_connection() {
    let d = site();
    let (_server, path, _sock) = serve_unix(d.path(), &["-q"]);
    let out_dir = tempfile::tempdir().unwrap();
    let urls = ["http://name.test/a.txt", "http://name.test/hundred.bin"];
    let mut args = vec!["-q", "-P", "1", "-w", "%{time_connect} %{http_code}\\n"];
    args.extend(urls);
    let out = over(out_dir.path(), &path, "fetch", &args);
    assert_code(&out, 0);
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.ends_with(" 200")), "{lines:?}");
    // The second had no connect of its own: it reused the first's.
    assert_eq!(lines[1], "0.000000 200", "{lines:?}");
    assert_eq!(
        std::fs::read(out_dir.path().join("a.txt")).unwrap(),
        b"hello\n"
    );
    // Two at a time (-P 2), four URLs: all over the one socket path.
    let out_dir = tempfile::tempdir().unwrap();
    let mut args = vec!["-q", "-P", "2"];
    args.extend(urls);
    args.extend(["http://other.test/sub/", "http://name.test/a.txt"]);
    let out = over(out_dir.path(), &path, "fetch", &args);
    assert_code(&out, 0);
    let files = crate::support::files(out_dir.path());
    assert_eq!(files.len(), 4, "{files:?}");
}

#[test]
fn redirects_are_followed_over_the_socket() {
    let d = site();
    let (server, path, _sock) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let args = ["-q", "-L", "-o", "s.html", "http://name.test/sub"];
    let out = over(out_dir.path(), &path, "fetch", &args);
    assert_code(&out, 0);
    assert_eq!(
        std::fs::read(out_dir.path().join("s.html")).unwrap(),
        b"sub\n"
    );
    // The log may list them in either order.
    let mut lines = [server.line_with("GET /sub"), server.line_with("GET /sub")];
    lines.sort_by_key(|l| l.contains("/sub/ "));
    assert!(lines[0].contains("\"GET /sub HTTP/1.1\" 301 "), "{lines:?}");
    assert!(
        lines[1].contains("\"GET /sub/ HTTP/1.1\" 200 "),
        "{lines:?}"
    );
}

/// A Unix socket at `path` answering its connections with `replies` in
/// turn (one request each); the request heads come back on the channel.
fn scripted(path: &Path, replies: Vec<&'static str>) -> mpsc::Receiver<String> {
    let listener = UnixListener::bind(path).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((conn, _)) = listener.accept() else {
                return;
            };
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut w = conn.try_clone().unwrap();
            let head = read_request_head(&mut BufReader::new(conn)).unwrap_or_default();
            let _ = tx.send(head);
            let _ = w.write_all(reply.as_bytes());
        }
    });
    rx
}

/// Like curl, the socket carries every request: a redirect to another
/// host (a reserved name, never looked up) comes back over it too.
#[test]
fn a_redirect_to_another_host_stays_on_the_socket() {
    let sock = tempfile::tempdir().unwrap();
    let path = sock.path().join("s.sock");
    let heads = scripted(
        &path,
        vec![
            "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.test:9/final\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nend",
        ],
    );
    let out_dir = tempfile::tempdir().unwrap();
    let args = ["-q", "-L", "-o", "got", "http://name.test/start"];
    let out = over(out_dir.path(), &path, "fetch", &args);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(out_dir.path().join("got")).unwrap(), b"end");
    let first = heads.recv_timeout(TIMEOUT).unwrap();
    assert!(
        first.starts_with("GET /start HTTP/1.1\r\nHost: name.test\r\n"),
        "{first}"
    );
    let second = heads.recv_timeout(TIMEOUT).unwrap();
    assert!(
        second.starts_with("GET /final HTTP/1.1\r\nHost: elsewhere.test:9\r\n"),
        "{second}"
    );
}

#[test]
fn a_proxy_is_reached_over_the_socket() {
    let d = site();
    let (server, path, _sock) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let args = [
        "--proxy",
        "http://proxy.test:3128",
        "http://name.test/a.txt",
    ];
    let out = over(out_dir.path(), &path, "headers", &args);
    assert_code(&out, 0);
    // The socket's server was asked as a proxy is: the absolute URL.
    server.line_with("\"HEAD http://name.test/a.txt HTTP/1.1\" 200");
}

/// A key pair for `names` signed by `pki`, as files in `dir`.
fn pair(pki: &crate::support::Pki, dir: &Path, names: &[&str]) -> (String, String) {
    let leaf = pki.leaf(names, 4000);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, pem("CERTIFICATE", &leaf.chain[0])).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", leaf.key.secret_der())).unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    (s(cert), s(key))
}

#[test]
fn https_over_the_socket_checks_the_urls_name() {
    let d = site();
    let keys = tempfile::tempdir().unwrap();
    let pki = test_ca();
    let (cert, key) = pair(&pki, keys.path(), &["name.test"]);
    let ca = pki.ca_file(keys.path());
    let ca = ca.to_str().unwrap();
    let tls = ["-q", "--tls-cert", &cert, "--tls-key", &key];
    let (_server, path, _sock) = serve_unix(d.path(), &tls);
    let out_dir = tempfile::tempdir().unwrap();
    let args = ["-q", "--cacert", ca, "https://name.test/a.txt"];
    let out = over(out_dir.path(), &path, "fetch", &args);
    assert_code(&out, 0);
    assert_eq!(
        std::fs::read(out_dir.path().join("a.txt")).unwrap(),
        b"hello\n"
    );
    // Another name in the URL: the certificate does not cover it.
    let out = over(
        out_dir.path(),
        &path,
        "headers",
        &["--cacert", ca, "https://other.test/"],
    );
    assert_code(&out, 10);
    assert_stderr_has(&out, "https://other.test/");
}

#[test]
fn https_with_serves_own_certificate_and_k() {
    let d = site();
    let (_server, path, _sock) = serve_unix(d.path(), &["-q", "--tls"]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = over(
        out_dir.path(),
        &path,
        "fetch",
        &["-q", "-k", "https://name.test/a.txt"],
    );
    assert_code(&out, 0);
    assert_eq!(
        std::fs::read(out_dir.path().join("a.txt")).unwrap(),
        b"hello\n"
    );
}

#[test]
fn json_names_the_socket_and_no_address() {
    let d = site();
    let (_server, path, _sock) = serve_unix(d.path(), &["-q"]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = over(
        out_dir.path(),
        &path,
        "headers",
        &["--json", "http://name.test/a.txt"],
    );
    assert_code(&out, 0);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let hop = &doc["hops"][0];
    assert_eq!(hop["unix_socket"], path.to_str().unwrap(), "{doc}");
    assert!(hop["remote_ip"].is_null(), "{doc}");
    assert!(hop["remote_port"].is_null(), "{doc}");
    assert_eq!(hop["status"], 200);
    let w = [
        "-w",
        "[%{remote_ip}|%{remote_port}]",
        "http://name.test/a.txt",
    ];
    let out = over(out_dir.path(), &path, "headers", &w);
    assert_code(&out, 0);
    assert!(stdout(&out).ends_with("[|]"), "{}", stdout(&out));
}

#[test]
fn the_socket_wins_over_resolve_and_connect_to() {
    let d = site();
    let (server, path, _sock) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    // Both rules point at a port where nothing listens.
    let args = [
        "--resolve",
        "name.test:80:127.0.0.1",
        "--connect-to",
        "name.test:80:127.0.0.1:1",
        "http://name.test/a.txt",
    ];
    let out = over(out_dir.path(), &path, "headers", &args);
    assert_code(&out, 0);
    server.line_with("\"HEAD /a.txt HTTP/1.1\" 200");
}

/// One line on stderr naming the URL and the path with `why`, and the
/// connect-failure exit code.
fn assert_connect_failure(path: &Path, why: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    for command in ["fetch", "headers"] {
        let out = over(out_dir.path(), path, command, &["http://name.test/a.txt"]);
        assert_code(&out, 4);
        let err = stderr(&out);
        let want = format!(
            "wirecat: http://name.test/a.txt: could not connect to unix socket {}: {why}\n",
            path.display()
        );
        assert_eq!(err, want, "{command}");
    }
    assert!(crate::support::files(out_dir.path()).is_empty());
}

#[test]
fn connect_failures_name_the_path_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    assert_connect_failure(&dir.path().join("missing.sock"), "no such file");
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    assert_connect_failure(&file, "not a socket");
    assert_connect_failure(dir.path(), "not a socket");
    // A socket file whose server is gone.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    assert_connect_failure(&stale, "nobody listening (connection refused)");
    let long = dir.path().join("s".repeat(120));
    assert_connect_failure(&long, "path must be shorter than SUN_LEN");
}

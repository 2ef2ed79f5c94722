//! `serve --unix PATH`: curl over the Unix socket (files, ranges,
//! keep-alive, TLS), the access log's `unix:` peer, the stale-file rule
//! (a stale socket replaced, a live one or any other file refused and left
//! alone), the socket file removed on SIGTERM and Ctrl-C, and TCP with
//! the Unix socket in one process. curl is told `http://127.0.0.1/`: with
//! `--unix-socket` it connects to the path and uses the URL only for the
//! request line and Host.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, assert_code, get, run, wirecat, Background, TIMEOUT};

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    std::fs::write(
        d.path().join("hundred.bin"),
        (0..100u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    d
}

/// Where a test's socket goes: its own temp folder (kept short, as a
/// socket path has to fit in 108 bytes).
fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("w.sock")
}

/// `wirecat serve --unix PATH ARGS DIR` in the background, with its
/// first stdout line.
fn serve_unix(dir: &Path, path: &Path, args: &[&str]) -> (Background, String) {
    let mut cmd = wirecat();
    cmd.arg("serve").arg("--unix").arg(path).args(args).arg(dir);
    Background::start(&mut cmd)
}

/// `curl -sS --max-time 10 --unix-socket PATH ARGS`.
fn curl(path: &Path, args: &[&str]) -> Output {
    let found = Command::new("curl").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "curl is required for this test (apt-get install -y curl)"
    );
    let mut cmd = Command::new("curl");
    cmd.env_remove("http_proxy").env_remove("HTTP_PROXY");
    cmd.args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(path)
        .args(args);
    run(&mut cmd, TIMEOUT)
}

/// A GET of `target` over the Unix socket at `path` by curl: the body.
fn curl_get(path: &Path, target: &str) -> Vec<u8> {
    let out = curl(path, &[&format!("http://127.0.0.1{target}")]);
    assert_code(&out, 0);
    out.stdout
}

#[test]
fn curl_gets_files_ranges_and_keeps_the_connection_alive() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    let (server, first) = serve_unix(d.path(), &path, &[]);
    assert_eq!(
        first,
        format!("Serving {} at unix:{}", d.path().display(), path.display())
    );
    assert_eq!(curl_get(&path, "/a.txt"), b"hello\n");
    let out = curl(&path, &["-r", "10-19", "http://127.0.0.1/hundred.bin"]);
    assert_eq!(out.stdout, (10..20u8).collect::<Vec<u8>>());
    // Two URLs in one curl: the second reuses the connection.
    let out = curl(
        &path,
        &[
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}:%{num_connects} ",
            "http://127.0.0.1/a.txt",
            "http://127.0.0.1/hundred.bin",
        ],
    );
    assert_eq!(support::stdout(&out), "200:1 200:0 ");
    // The access log names the peer `unix:`.
    let line = server.line_with("GET /a.txt");
    assert!(line.starts_with("unix: - - ["), "{line}");
    assert!(line.contains("\" 200 6 "), "{line}");
}

#[test]
fn pipelined_requests_on_one_unix_connection_are_all_answered() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    let (_server, _) = serve_unix(d.path(), &path, &["-q"]);
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    c.write_all(
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got.matches("HTTP/1.1 200 OK").count(), 2, "{got}");
    assert!(got.ends_with("hello\n"), "{got}");
}

#[test]
fn a_stale_socket_is_replaced() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    // A socket file whose server is gone: nothing answers a connect.
    drop(UnixListener::bind(&path).unwrap());
    let (_server, first) = serve_unix(d.path(), &path, &["-q"]);
    assert!(
        first.ends_with(&format!("unix:{}", path.display())),
        "{first}"
    );
    assert_eq!(curl_get(&path, "/a.txt"), b"hello\n");
}

#[test]
fn a_socket_another_server_answers_on_is_refused_in_one_line() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    let (_server, _) = serve_unix(d.path(), &path, &["-q"]);
    let mut cmd = wirecat();
    cmd.arg("serve").arg("--unix").arg(&path).arg(d.path());
    let out = run(&mut cmd, TIMEOUT);
    // Exit 1, the code of every bind failure.
    assert_code(&out, 1);
    let err = support::stderr(&out);
    assert_eq!(
        err,
        format!("wirecat: {}: in use by another server\n", path.display())
    );
    assert_eq!(
        curl_get(&path, "/a.txt"),
        b"hello\n",
        "the first still serves"
    );
}

#[test]
fn anything_but_a_socket_at_the_path_is_an_error_and_left_untouched() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let file = sock.path().join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    let folder = sock.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    for path in [&file, &folder] {
        let mut cmd = wirecat();
        cmd.arg("serve").arg("--unix").arg(path).arg(d.path());
        let out = run(&mut cmd, TIMEOUT);
        assert_code(&out, 1);
        let err = support::stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("is not a socket; left untouched"), "{err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert!(folder.is_dir());
}

#[test]
fn the_socket_file_is_removed_on_sigterm_and_ctrl_c() {
    let d = site();
    for sig in ["TERM", "INT"] {
        let sock = tempfile::tempdir().unwrap();
        let path = socket_in(&sock);
        let (mut server, _) = serve_unix(d.path(), &path, &["-q"]);
        assert_eq!(curl_get(&path, "/a.txt"), b"hello\n");
        server.signal(sig);
        let status = server.wait(TIMEOUT);
        assert!(status.success(), "SIG{sig}: exit status {status:?}");
        assert!(!path.exists(), "SIG{sig}: the socket file is left behind");
    }
}

#[test]
fn tcp_and_the_unix_socket_both_answer() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    // -p (given by the launcher) keeps TCP on beside --unix.
    let server = support::serve(d.path())
        .args(["-q", "--threads", "2", "--unix"])
        .args([&path])
        .start();
    server
        .bg
        .line_with(&format!("also at unix:{}", path.display()));
    assert_eq!(get(server.addr, "/a.txt").body, b"hello\n");
    for _ in 0..4 {
        // Every loop accepts from the one socket.
        assert_eq!(
            curl_get(&path, "/hundred.bin"),
            (0..100u8).collect::<Vec<u8>>()
        );
    }
}

#[test]
fn tls_over_the_unix_socket() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    let (server, first) = serve_unix(d.path(), &path, &["-q", "--tls"]);
    assert!(
        first.ends_with(&format!("unix:{}", path.display())),
        "{first}"
    );
    let pin_line = server.line_with("--pinnedpubkey");
    let pin = pin_line.rsplit(' ').next().unwrap();
    let out = curl(
        &path,
        &["-k", "--pinnedpubkey", pin, "https://127.0.0.1/a.txt"],
    );
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn a_second_signal_ends_at_once_and_still_removes_the_socket_file() {
    let (d, sock) = (site(), tempfile::tempdir().unwrap());
    let path = socket_in(&sock);
    let big: Vec<u8> = (0..24 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(d.path().join("big.bin"), big).unwrap();
    let mut cmd = wirecat();
    cmd.args(["-v", "serve", "-q", "--unix"])
        .arg(&path)
        .arg(d.path());
    let (mut server, _) = Background::start_collecting_stderr(&mut cmd);
    // A download nobody reads keeps the first signal's grace period going.
    let mut stuck = UnixStream::connect(&path).unwrap();
    stuck
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1];
    stuck.set_read_timeout(Some(TIMEOUT)).unwrap();
    stuck.read_exact(&mut first).unwrap();
    server.signal("TERM");
    server.stderr_line("shutting down");
    server.signal("TERM");
    let status = server.wait(TIMEOUT);
    assert_eq!(status.code(), Some(130));
    assert!(!path.exists(), "the socket file is left behind");
}

//! `fetch` with many URLs: a scripted keep-alive server on 127.0.0.1:0
//! counts connections, requests and the most connections open at once, so
//! the tests can prove connection reuse, the `-P` limit, independent
//! failures, `-i` input and distinct names for same-named URLs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::support::{
    assert_stderr_has, listen, read_request_head, run_with_stdin, stderr, wirecat, wirecat_in,
    Background, Listening, TIMEOUT,
};

/// What the server saw.
#[derive(Default)]
struct Counts {
    connections: AtomicUsize,
    requests: AtomicUsize,
    open: Mutex<usize>,
    max_open: AtomicUsize,
    changed: Condvar,
}

/// Answers `GET /PATH` with a body naming the path (keep-alive unless the
/// client asks to close); paths starting `/missing` get a 404. With `gate`
/// set, each response waits until that many connections are open at once
/// (bounded), so a test can see whether the client reaches its limit.
struct KeepAlive {
    listening: Listening,
    counts: Arc<Counts>,
}

impl KeepAlive {
    fn start(gate: Option<usize>, close_each: bool) -> KeepAlive {
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let listening = listen(move |conn| serve_conn(conn, &c, gate, close_each));
        KeepAlive { listening, counts }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listening.addr)
    }

    fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::Acquire)
    }

    fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::Acquire)
    }
}

fn body_for(path: &str) -> String {
    format!("body of {path}\n")
}

fn serve_conn(conn: TcpStream, counts: &Counts, gate: Option<usize>, close_each: bool) {
    counts.connections.fetch_add(1, Ordering::AcqRel);
    {
        let mut open = counts.open.lock().unwrap();
        *open += 1;
        counts.max_open.fetch_max(*open, Ordering::AcqRel);
        counts.changed.notify_all();
    }
    conn.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        if !head.ends_with("\r\n\r\n") {
            break;
        }
        counts.requests.fetch_add(1, Ordering::AcqRel);
        if let Some(n) = gate {
            let open = counts.open.lock().unwrap();
            // Once the client has had n open together, stop holding
            // replies (the last few connections never make n again).
            let _ = counts
                .changed
                .wait_timeout_while(open, Duration::from_secs(5), |_| {
                    counts.max_open.load(Ordering::Acquire) < n
                });
        }
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        let asks_close = head.to_ascii_lowercase().contains("connection: close");
        let close = close_each || asks_close;
        let (status, body) = if path.starts_with("/missing") {
            ("404 Not Found", "no such thing\n".to_string())
        } else {
            ("200 OK", body_for(&path))
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        if close {
            // Counted as closed before the client can see the reply: a
            // client at its limit may open the next connection as soon as
            // it has read this one, and that must not look like one too many.
            closed(counts);
            let _ = writer.write_all(reply.as_bytes());
            return;
        }
        if writer.write_all(reply.as_bytes()).is_err() {
            break;
        }
    }
    closed(counts);
}

fn closed(counts: &Counts) {
    let mut open = counts.open.lock().unwrap();
    *open -= 1;
    counts.changed.notify_all();
}

fn fetch_in(dir: &Path, args: &[&str]) -> Output {
    wirecat_in(dir, &[&["fetch"], args].concat())
}

/// File name -> contents, for every file in `dir`.
fn saved(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn many_urls_reuse_keep_alive_connections() {
    let server = KeepAlive::start(None, false);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..20).map(|i| server.url(&format!("/f{i}.txt"))).collect();
    let mut args = vec!["-P", "2"];
    args.extend(urls.iter().map(String::as_str));
    let out = fetch_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = saved(dir.path());
    assert_eq!(files.len(), 20, "{files:?}");
    for i in 0..20 {
        assert_eq!(files[&format!("f{i}.txt")], body_for(&format!("/f{i}.txt")));
    }
    assert_eq!(server.requests(), 20);
    let conns = server.connections();
    assert!((1..=4).contains(&conns), "{conns} connections for 20 URLs");
    assert_stderr_has(&out, "20 downloaded, 0 failed");
    // Without a terminal: one summary line per file, and no heads on stdout.
    assert_eq!(stderr(&out).matches("saved ").count(), 20);
    assert!(out.stdout.is_empty());
}

#[test]
fn parallel_limit_is_reached_and_respected() {
    // Each response waits until 3 connections are open at once: a client
    // held to -P 3 gets there; one that went past would show more.
    let server = KeepAlive::start(Some(3), true);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..9).map(|i| server.url(&format!("/p{i}"))).collect();
    let mut args = vec!["-P", "3"];
    args.extend(urls.iter().map(String::as_str));
    let out = fetch_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(saved(dir.path()).len(), 9);
    assert_eq!(server.counts.max_open.load(Ordering::Acquire), 3);
    assert_eq!(server.connections(), 9);
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let server = KeepAlive::start(None, false);
    let dir = tempfile::tempdir().unwrap();
    let (a, bad, b) = (server.url("/a"), server.url("/missing"), server.url("/b"));
    let out = fetch_in(dir.path(), &["-f", &a, &bad, &b]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    let files = saved(dir.path());
    assert_eq!(files.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(files["b"], body_for("/b"));
    let err = stderr(&out);
    assert!(err.contains("404"), "{err}");
    // The count is said once, as the final error line.
    assert!(err.ends_with("wirecat: 1 of 3 downloads failed\n"), "{err}");
    assert_eq!(err.matches("failed").count(), 1, "{err}");
}

#[test]
fn urls_from_a_file_and_from_stdin() {
    let server = KeepAlive::start(None, false);
    let dir = tempfile::tempdir().unwrap();
    let list = format!(
        "# two files\n{}\n\n   \n{}\n",
        server.url("/one"),
        server.url("/two")
    );
    let list_path = dir.path().join("urls.txt");
    std::fs::write(&list_path, &list).unwrap();
    let out = fetch_in(dir.path(), &["-i", list_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = saved(dir.path());
    assert_eq!(files["one"], body_for("/one"));
    assert_eq!(files["two"], body_for("/two"));

    let dir = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        wirecat()
            .current_dir(dir.path())
            .args(["fetch", "-i", "-", &server.url("/three")]),
        Some(list.as_bytes()),
        TIMEOUT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        saved(dir.path()).keys().collect::<Vec<_>>(),
        ["one", "three", "two"]
    );
}

#[test]
fn same_named_urls_get_distinct_files() {
    let server = KeepAlive::start(None, false);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = ["/x/page", "/y/page", "/z/page"]
        .iter()
        .map(|p| server.url(p))
        .collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.push("-P");
    args.push("3");
    let out = fetch_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = saved(dir.path());
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["page", "page.1", "page.2"]
    );
    let mut bodies: Vec<&String> = files.values().collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            &body_for("/x/page"),
            &body_for("/y/page"),
            &body_for("/z/page")
        ]
    );
}

#[test]
fn output_flag_with_several_urls_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = fetch_in(
        dir.path(),
        &["-o", "x", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(saved(dir.path()).is_empty());
}

/// A server that closes each kept-alive connection after its first
/// response without saying so, once the next request has arrived (the
/// race of an idle timeout, made certain): that request must be retried
/// on a fresh connection, not reported as a failure.
#[test]
fn a_connection_closed_while_idle_is_retried_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(8) {
            let Ok(conn) = conn else { continue };
            c.fetch_add(1, Ordering::AcqRel);
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            let read_head = |r: &mut BufReader<TcpStream>| {
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
            };
            read_head(&mut r);
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
            read_head(&mut r);
            // Dropping both halves closes the connection, unannounced.
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..3).map(|i| format!("http://{addr}/r{i}")).collect();
    let mut args = vec!["-P", "1"];
    args.extend(urls.iter().map(String::as_str));
    let out = fetch_in(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(saved(dir.path()).len(), 3);
    assert_eq!(conns.load(Ordering::Acquire), 3);
}

/// Keep-alive through the TLS layer: one TLS connection carries every
/// request of a `-P 1` run.
#[test]
fn many_https_urls_share_one_tls_connection() {
    let pki = crate::support::test_ca();
    let config = pki.server(&["127.0.0.1"], 2099);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (c, r) = (conns.clone(), requests.clone());
    std::thread::spawn(move || {
        for sock in listener.incoming().take(8) {
            let Ok(sock) = sock else { continue };
            c.fetch_add(1, Ordering::AcqRel);
            sock.set_read_timeout(Some(TIMEOUT)).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut reader = BufReader::new(rustls::StreamOwned::new(conn, sock));
            loop {
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                if !head.ends_with("\r\n\r\n") {
                    break;
                }
                r.fetch_add(1, Ordering::AcqRel);
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let body = body_for(&path);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let tls = reader.get_mut();
                if tls
                    .write_all(reply.as_bytes())
                    .and_then(|_| tls.flush())
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let urls: Vec<String> = (0..6).map(|i| format!("https://{addr}/t{i}")).collect();
    let mut args = vec!["-P", "1", "--cacert", ca.to_str().unwrap()];
    args.extend(urls.iter().map(String::as_str));
    let out = fetch_in(&out_dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = saved(&out_dir);
    for i in 0..6 {
        assert_eq!(files[&format!("t{i}")], body_for(&format!("/t{i}")));
    }
    assert_eq!(requests.load(Ordering::Acquire), 6);
    assert_eq!(conns.load(Ordering::Acquire), 1);
}

/// Ctrl-C during a many-URL run: exit 130 (not "some failed"), nothing left
/// behind, whether a download was under way or still queued.
#[test]
fn an_interrupted_run_exits_130_and_leaves_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming().take(4) {
            let Ok(sock) = sock else { continue };
            let seen_tx = seen_tx.clone();
            std::thread::spawn(move || {
                sock.set_read_timeout(Some(TIMEOUT)).unwrap();
                let mut w = sock.try_clone().unwrap();
                let mut r = BufReader::new(sock);
                let _ = read_request_head(&mut r);
                // Half a body, then silence until the client goes.
                let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf");
                let _ = seen_tx.send(());
                let _ = r.read(&mut [0u8; 16]);
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..4).map(|i| format!("http://{addr}/s{i}")).collect();
    let mut child = Background::quiet(
        wirecat()
            .current_dir(dir.path())
            .args(["fetch", "-P", "2"])
            .args(&urls),
    );
    for _ in 0..2 {
        seen.recv_timeout(TIMEOUT).expect("two downloads under way");
    }
    child.signal("INT");
    assert_eq!(child.wait(TIMEOUT).code(), Some(130));
    assert!(saved(dir.path()).is_empty());
}

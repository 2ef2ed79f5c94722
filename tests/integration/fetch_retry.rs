//! `fetch --retry` and `--limit-rate` end to end, against hostile scripted
//! servers on 127.0.0.1: bodies cut short (resumed with Range + If-Range),
//! 503 with Retry-After (the wait measured by the server's clock), a
//! validator that changes between attempts (starts over), permanent
//! errors (one attempt), retries exhausted, Ctrl-C during a wait; the rate
//! limit measured by the server from the request to the client's close.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fetch::{send, Act, Scripted};
use crate::support::{
    assert_code, assert_stderr_has, files, listen, pseudo_random, read_request_head, stderr,
    test_ca, wirecat, wirecat_in, Reply, TestServer, TIMEOUT,
};

/// The first byte a request asks for (`Range: bytes=N-`), 0 without one.
fn range_start(request: &str) -> usize {
    header(request, "range")
        .and_then(|v| v.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .unwrap_or(0)
}

fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The response to `request` for `body` under `etag`: a 206 for a Range
/// whose If-Range matches, else a 200; only `cut` body bytes are sent
/// (`None`: all), then the connection closes.
fn ranged(request: &str, body: &[u8], etag: &str, cut: Option<usize>) -> Vec<Act> {
    let start = match header(request, "if-range") {
        Some(v) if v == etag => range_start(request),
        _ => 0,
    };
    let rest = &body[start..];
    let head = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nETag: {etag}\r\nContent-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\n\r\n",
            body.len() - 1,
            body.len(),
            rest.len()
        )
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
    };
    let sent = cut.map_or(rest.len(), |c| c.min(rest.len()));
    vec![send(head), send(&rest[..sent])]
}

/// Counts calls: the attempt number, from 1.
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A hostile server: `body` under `etag` (see [`ranged`]), the first
/// `times` answers cut after `cut` body bytes.
fn cuts(body: &Arc<Vec<u8>>, etag: &'static str, times: usize, cut: usize) -> Scripted {
    let (body, calls) = (body.clone(), counter());
    Scripted::start(move |req| {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        ranged(req, &body, etag, (n <= times).then_some(cut))
    })
}

/// `wirecat fetch FLAGS --retry RETRIES --retry-max-delay 0.1 URLS` in
/// `dir`: the backoff capped short, so no test waits long for it.
fn fetch_retrying(dir: &Path, flags: &[&str], retries: &str, urls: &[&str]) -> Output {
    let mut args = vec!["fetch"];
    args.extend(flags);
    args.extend(["--retry", retries, "--retry-max-delay", "0.1"]);
    args.extend(urls);
    wirecat_in(dir, &args)
}

#[test]
fn a_body_cut_three_times_resumes_with_range_and_if_range() {
    let body = Arc::new(pseudo_random(100_000, 15));
    let server = cuts(&body, "\"v1\"", 3, 20_000);
    let dir = tempfile::tempdir().unwrap();
    let out = fetch_retrying(dir.path(), &[], "5", &[&server.url("/big.bin")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("big.bin")).unwrap(), *body);
    assert_eq!(files(dir.path()), ["big.bin"]);
    let requests = server.requests();
    let asked: Vec<_> = requests
        .iter()
        .map(|r| (header(r, "range"), header(r, "if-range")))
        .collect();
    assert_eq!(
        asked,
        [
            (None, None),
            (Some("bytes=20000-"), Some("\"v1\"")),
            (Some("bytes=40000-"), Some("\"v1\"")),
            (Some("bytes=60000-"), Some("\"v1\"")),
        ]
    );
    // Each attempt brought body bytes: retried at once.
    for n in 1..=3 {
        assert_stderr_has(&out, &format!("wirecat: retry {n}/5 in 0.0s: "));
    }
    assert_stderr_has(&out, "connection closed");
}

#[test]
fn with_c_a_retry_continues_the_part_file_an_earlier_run_left() {
    let body = Arc::new(pseudo_random(90_000, 7));
    let dir = tempfile::tempdir().unwrap();
    // An earlier -C run left 10000 bytes and their validator.
    std::fs::write(dir.path().join("f.part"), &body[..10_000]).unwrap();
    std::fs::write(dir.path().join("f.part.meta"), "if-range \"v\"\n").unwrap();
    let server = cuts(&body, "\"v\"", 2, 30_000);
    let out = fetch_retrying(dir.path(), &["-C"], "3", &[&server.url("/f")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), *body);
    assert_eq!(files(dir.path()), ["f"]);
    let ranges: Vec<_> = server
        .requests()
        .iter()
        .map(|r| header(r, "range").unwrap_or("").to_string())
        .collect();
    assert_eq!(ranges, ["bytes=10000-", "bytes=40000-", "bytes=70000-"]);
}

#[test]
fn several_downloads_at_once_resume_each_their_own() {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..3)
            .map(|i| pseudo_random(50_000 + i, i as u32))
            .collect(),
    );
    let seen = Arc::new(Mutex::new(std::collections::HashMap::<String, usize>::new()));
    let (b, s) = (bodies.clone(), seen.clone());
    let server = Scripted::start(move |req| {
        let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
        let i: usize = path.trim_start_matches("/f").parse().unwrap_or(0);
        let mut seen = s.lock().unwrap();
        let n = seen.entry(path).or_default();
        *n += 1;
        ranged(
            req,
            &b[i],
            &format!("\"e{i}\""),
            (*n == 1).then_some(10_000 + i),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..3).map(|i| server.url(&format!("/f{i}"))).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let out = fetch_retrying(dir.path(), &["-P", "3"], "2", &urls);
    assert_code(&out, 0);
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(
            &std::fs::read(dir.path().join(format!("f{i}"))).unwrap(),
            body
        );
    }
    let ranges = server
        .requests()
        .iter()
        .filter(|r| header(r, "range").is_some())
        .count();
    assert_eq!(ranges, 3);
}

#[test]
fn retry_after_is_waited_for_by_the_servers_clock() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let server = Scripted::start(move |_| {
        let mut times = t.lock().unwrap();
        times.push(Instant::now());
        if times.len() == 1 {
            vec![send("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nbusy")]
        } else {
            vec![send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(dir.path(), &["fetch", "--retry", "1", &server.url("/a")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"hello");
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 2);
    let waited = times[1] - times[0];
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    assert_stderr_has(&out, "wirecat: retry 1/1 in 2.0s: ");
    assert_stderr_has(&out, "answered 503 Service Unavailable");
}

#[test]
fn a_changed_validator_starts_over_and_the_file_is_the_new_one() {
    let old = Arc::new(pseudo_random(60_000, 1));
    let new = Arc::new(pseudo_random(70_000, 2));
    let calls = counter();
    let (o, n, c) = (old.clone(), new.clone(), calls.clone());
    let server = Scripted::start(move |req| match c.fetch_add(1, Ordering::SeqCst) {
        0 => ranged(req, &o, "\"old\"", Some(25_000)),
        _ => ranged(req, &n, "\"new\"", None),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch_retrying(dir.path(), &[], "2", &[&server.url("/f")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), *new);
    assert_eq!(files(dir.path()), ["f"]);
    let second = &server.requests()[1];
    assert_eq!(header(second, "range"), Some("bytes=25000-"));
    assert_eq!(header(second, "if-range"), Some("\"old\""));
}

#[test]
fn a_lying_content_range_is_not_appended() {
    let body = Arc::new(pseudo_random(40_000, 3));
    let calls = counter();
    let (b, c) = (body.clone(), calls.clone());
    let server = Scripted::start(move |req| {
        match c.fetch_add(1, Ordering::SeqCst) {
        0 => ranged(req, &b, "\"v\"", Some(10_000)),
        // The rest, but said to start one byte early.
        1 => vec![
            send("HTTP/1.1 206 Partial Content\r\nETag: \"v\"\r\nContent-Range: bytes 9999-39999/40000\r\nContent-Length: 30001\r\n\r\n"),
            send(&b[9_999..]),
        ],
        _ => ranged(req, &b, "\"v\"", None),
    }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch_retrying(dir.path(), &[], "1", &[&server.url("/f")]);
    assert_code(&out, 6);
    assert_stderr_has(&out, "does not continue the 10000 bytes received");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[test]
fn an_https_body_without_close_notify_is_asked_again() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let calls = counter();
    let c = calls.clone();
    let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), move |_| {
        let first = c.fetch_add(1, Ordering::SeqCst) == 0;
        Reply {
            bytes: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nwhole body".to_vec(),
            // The first ends bare: the client cannot know the body is whole.
            close_notify: !first,
        }
    });
    let out = fetch_retrying(
        dir.path(),
        &["--cacert", ca.to_str().unwrap()],
        "1",
        &[&server.url("/b.txt")],
    );
    assert_code(&out, 0);
    assert_stderr_has(&out, "without TLS close_notify");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        std::fs::read(dir.path().join("b.txt")).unwrap(),
        b"whole body"
    );
}

#[test]
fn permanent_errors_are_asked_once() {
    for status in ["404 Not Found", "403 Forbidden", "501 Not Implemented"] {
        let server = Scripted::canned(vec![send(format!(
            "HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nno"
        ))]);
        let dir = tempfile::tempdir().unwrap();
        let out = wirecat_in(dir.path(), &["fetch", "--retry", "3", &server.url("/x")]);
        assert_code(&out, 7);
        assert_eq!(server.requests().len(), 1, "{status}");
        assert!(
            !stderr(&out).contains("retry"),
            "{status}: {}",
            stderr(&out)
        );
        assert!(files(dir.path()).is_empty());
    }
}

#[test]
fn a_certificate_error_is_not_retried() {
    // serve --tls makes a certificate nobody trusts: the handshake fails
    // on the client's side, once.
    let site = tempfile::tempdir().unwrap();
    let server = crate::support::serve(site.path())
        .args(["-q", "--tls"])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://{}/", server.addr);
    let out = wirecat_in(dir.path(), &["fetch", "--retry", "3", &url]);
    assert_code(&out, 10);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn exhausted_retries_exit_with_the_last_attempts_code_and_save_nothing() {
    let server = Scripted::canned(vec![send(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
    )]);
    let dir = tempfile::tempdir().unwrap();
    let out = fetch_retrying(dir.path(), &[], "2", &[&server.url("/x")]);
    assert_code(&out, 7);
    assert_eq!(server.requests().len(), 3);
    // No body bytes came: the backoff (capped here) applies.
    assert_stderr_has(&out, "retry 2/2 in 0.1s");
    assert!(files(dir.path()).is_empty());

    // Cut without a validator every time: each attempt starts over.
    let server = Scripted::canned(vec![
        send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        send([b'x'; 300]),
    ]);
    let out = fetch_retrying(dir.path(), &[], "2", &[&server.url("/y")]);
    assert_code(&out, 6);
    // Each attempt brought bytes: retried at once.
    assert_stderr_has(&out, "retry 2/2 in 0.0s");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| header(r, "range").is_none()));
    assert!(files(dir.path()).is_empty());

    // Quiet: the retries say nothing, the error still does.
    let out = fetch_retrying(dir.path(), &["-q"], "1", &[&server.url("/y")]);
    assert_code(&out, 6);
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[test]
fn a_refused_connection_is_retried() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/x");
    let out = fetch_retrying(dir.path(), &[], "2", &[&url]);
    assert_code(&out, 4);
    assert_stderr_has(&out, "retry 1/2");
    assert_stderr_has(&out, "retry 2/2");
}

#[test]
fn ctrl_c_during_a_long_wait_exits_130_at_once() {
    let server = Scripted::canned(vec![send(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 100\r\nContent-Length: 0\r\n\r\n",
    )]);
    let dir = tempfile::tempdir().unwrap();
    let mut child = wirecat()
        .current_dir(dir.path())
        .args(["fetch", "--retry", "3", &server.url("/x")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(TIMEOUT).expect("a retry line");
    assert!(line.contains("retry 1/3 in 60.0s"), "{line}");
    let asked = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_for(&mut child, TIMEOUT);
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(130));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(files(dir.path()).is_empty());
}

fn wait_for(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < end, "still running after {timeout:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server that sends `len` bytes as fast as the client takes them and
/// reports the time from the request to the client's close.
fn timed_body(len: usize) -> (crate::support::Listening, mpsc::Receiver<Duration>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let listening = listen(move |conn| {
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        conn.set_write_timeout(Some(TIMEOUT)).unwrap();
        let mut reader = BufReader::new(&conn);
        if read_request_head(&mut reader).is_none() {
            return;
        }
        let start = Instant::now();
        let mut out = &conn;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&vec![b'r'; len]).is_err() {
            return;
        }
        // The client closes once it has read the last byte.
        let mut sink = [0u8; 64];
        while matches!(std::io::Read::read(&mut reader, &mut sink), Ok(n) if n > 0) {}
        let _ = tx.lock().unwrap().send(start.elapsed());
    });
    (listening, rx)
}

#[test]
fn the_rate_limit_holds_within_five_percent_at_two_rates() {
    // (rate flag, bytes per second): 2 s of body each.
    for (flag, rate) in [("200K", 200 * 1024), ("1M", 1024 * 1024)] {
        let len = 2 * rate;
        let (server, took) = timed_body(len);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://{}/r", server.addr);
        let out = wirecat_in(dir.path(), &["fetch", "-q", "--limit-rate", flag, &url]);
        assert_code(&out, 0);
        assert_eq!(
            std::fs::metadata(dir.path().join("r")).unwrap().len(),
            len as u64
        );
        let secs = took.recv_timeout(TIMEOUT).unwrap().as_secs_f64();
        assert!(
            (1.9..=2.1).contains(&secs),
            "{flag}: {secs:.3}s for 2 s of body"
        );
    }
}

#[test]
fn retry_and_rate_flags_are_checked_and_shown_in_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--limit-rate", "fast", "http://127.0.0.1:9/"],
    );
    assert_code(&out, 2);
    assert_stderr_has(&out, "--limit-rate \"fast\"");
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--retry", "-1", "http://127.0.0.1:9/"],
    );
    assert_code(&out, 2);
    let out = wirecat_in(dir.path(), &["fetch", "--help"]);
    let help = crate::support::stdout(&out);
    for flag in [
        "--retry <N>",
        "--retry-max-delay <SECS>",
        "--limit-rate <RATE>",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

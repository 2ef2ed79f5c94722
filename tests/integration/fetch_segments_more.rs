//! `fetch --segments N`, what the first tests left open: `--max-time`
//! bounds the whole file (a range that stalls forever ends the run at the
//! max time, exit 5, nothing under the final name, and with `-C` a part
//! that a second run finishes); `-v` shows every connection's heads, each
//! line labelled with its connection's number (TLS facts too); after one
//! range's permanent failure no other range asks anything more (a range
//! asleep before its retry is dropped, one in flight is closed).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::fetch_segments::{answer, fetch, header, on_request, range, server, Lie};
use crate::support::{
    assert_code, assert_stderr_has, files, pseudo_random, stderr, test_ca, TestServer, TIMEOUT,
};

/// The bytes of `reply` up to the end of its head.
fn head_len(reply: &[u8]) -> usize {
    reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4
}

/// Reads until the client closes `conn` (true) or `wait` passes (false).
fn until_closed(conn: &TcpStream, wait: Duration) -> bool {
    conn.set_read_timeout(Some(wait)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match (&*conn).read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

#[test]
fn max_time_bounds_the_whole_segmented_download() {
    const SPAN: usize = 10_000;
    let body = Arc::new(pseudo_random(4 * SPAN, 21));
    let stall = Arc::new(AtomicBool::new(true));
    let (b, st) = (body.clone(), stall.clone());
    // The third range sends its head and 1000 bytes, then nothing until
    // the client goes: for longer than the process may run, so a run not
    // bounded by --max-time fails the test. The first answer comes late
    // (a slow server), so ranges asked after it would outlive the max
    // time on clocks of their own.
    let server = on_request(move |conn, request| {
        let bytes = answer(&request, &b, Lie::None).bytes;
        let mut out = &conn;
        match range(&request) {
            None if st.load(Ordering::SeqCst) => {
                std::thread::sleep(Duration::from_millis(800));
            }
            Some((start, _)) if start == 2 * SPAN && st.load(Ordering::SeqCst) => {
                let _ = out.write_all(&bytes[..head_len(&bytes) + 1000]);
                until_closed(&conn, 2 * TIMEOUT);
                return;
            }
            _ => {}
        }
        let _ = out.write_all(&bytes);
    });
    let url = format!("http://{}/f", server.addr);
    let limits = ["--segments", "4", "--max-time", "2"];

    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &url, &limits);
    assert_code(&out, 5);
    assert_stderr_has(&out, "not finished within --max-time 2s");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));

    // With -C the part and its meta stay, and a second run finishes them.
    let dir = tempfile::tempdir().unwrap();
    let resumable = [&limits[..], &["-C"]].concat();
    let out = fetch(dir.path(), &url, &resumable);
    assert_code(&out, 5);
    assert_eq!(files(dir.path()), ["out.bin.part", "out.bin.part.meta"]);
    let meta = std::fs::read_to_string(dir.path().join("out.bin.part.meta")).unwrap();
    assert!(meta.starts_with("wirecat-part 2\n"), "{meta}");
    stall.store(false, Ordering::SeqCst);
    let out = fetch(dir.path(), &url, &resumable);
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    assert_eq!(files(dir.path()), ["out.bin"]);
}

#[test]
fn a_range_is_not_retried_past_the_max_time_of_the_file() {
    const SPAN: usize = 10_000;
    let body = Arc::new(pseudo_random(4 * SPAN, 24));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (b, a) = (body.clone(), asked.clone());
    // The first answer comes after 1.2 s; the third range is answered
    // 503 with Retry-After: 1 the first time. Its retry would start 2.2 s
    // into a download given --max-time 2 (but only 1 s into its own
    // connection's time): it is not made.
    let server = on_request(move |conn, request| {
        let r = range(&request);
        let again = {
            let mut a = a.lock().unwrap();
            a.push(r);
            a.iter().filter(|x| **x == r).count() > 1
        };
        let mut out = &conn;
        match r {
            None => std::thread::sleep(Duration::from_millis(1200)),
            Some((start, _)) if start == 2 * SPAN && !again => {
                let busy = "HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = out.write_all(busy.as_bytes());
                return;
            }
            _ => {}
        }
        let _ = out.write_all(&answer(&request, &b, Lie::None).bytes);
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/f", server.addr);
    let out = fetch(
        dir.path(),
        &url,
        &["--segments", "4", "--max-time", "2", "--retry", "3"],
    );
    // As without --segments: the last error stands when no retry fits.
    assert_code(&out, 7);
    assert_stderr_has(&out, "answered 503 Busy");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    let third = asked
        .lock()
        .unwrap()
        .iter()
        .filter(|r| **r == Some((2 * SPAN, 3 * SPAN - 1)))
        .count();
    assert_eq!(third, 1, "{}", stderr(&out));
}

#[test]
fn verbose_shows_every_connections_heads_labelled() {
    let body = Arc::new(pseudo_random(40_000, 22));
    let server = server(&body, Lie::None);
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &server.url("/f"), &["-v", "--segments", "4"]);
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    // The first connection's transcript is as without --segments.
    let first = lines.iter().filter(|l| **l == "> GET /f HTTP/1.1").count();
    assert_eq!(first, 1, "{text}");
    assert_stderr_has(&out, "* --segments: connection #1 keeps bytes 0-9999");
    // Each range asked for at the server is in the transcript under its
    // own label, with its request line and its answer's status line.
    let mut labels = Vec::new();
    for request in server.requests() {
        let Some(asked) = header(&request, "range") else {
            continue;
        };
        let line = lines
            .iter()
            .find(|l| l.ends_with(&format!(" > Range: {asked}")))
            .unwrap_or_else(|| panic!("no transcript of Range: {asked} in\n{text}"));
        let label = line.split(' ').next().unwrap().to_string();
        for want in [
            format!("{label} > GET /f HTTP/1.1"),
            format!("{label} > If-Range: \"s1\""),
            format!("{label} < HTTP/1.1 206 Partial Content"),
            format!("{label} < Content-Range: bytes {}/40000", &asked[6..]),
        ] {
            assert!(lines.contains(&want.as_str()), "no {want:?} in\n{text}");
        }
        labels.push(label);
    }
    labels.sort();
    assert_eq!(labels, ["#2", "#3", "#4"], "{text}");
    // Line-based: every labelled line is whole, a label and an arrow.
    for line in lines.iter().filter(|l| l.starts_with('#')) {
        let rest = line.split_once(' ').map(|(_, r)| r).unwrap_or_default();
        assert!(
            rest.starts_with("> ") || rest.starts_with("< ") || rest == ">" || rest == "<",
            "{line:?} in\n{text}"
        );
    }
}

#[test]
fn verbose_over_https_labels_each_connections_tls_facts() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let body = Arc::new(pseudo_random(30_000, 25));
    let b = body.clone();
    let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), move |req| {
        answer(req, &b, Lie::None)
    });
    let out = fetch(
        dir.path(),
        &server.url("/f"),
        &["-v", "--segments", "3", "--cacert", ca.to_str().unwrap()],
    );
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    let tls = |prefix: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{prefix}TLS: ")))
            .count()
    };
    // Each connection's handshake once, under its own label, before its
    // request (sent inside the handshake).
    assert_eq!((tls("* "), tls("#2 * "), tls("#3 * ")), (1, 1, 1), "{text}");
    for label in ["#2", "#3"] {
        let at = |needle: &str| lines.iter().position(|l| l.starts_with(needle));
        let handshake = at(&format!("{label} * TLS: "));
        let request = at(&format!("{label} > GET /f HTTP/1.1"));
        assert!(handshake.is_some() && handshake < request, "{text}");
    }
}

/// What the server of [`a_failed_range_stops_every_other_request`] saw.
#[derive(Default)]
struct Seen {
    /// Range starts asked for, in order, and whether the lie was out.
    asked: Vec<(usize, bool)>,
    /// The wrong answer has been sent.
    lied: bool,
    /// The connection of the range answered 503 was closed by the client.
    busy_closed: bool,
    /// The connection held unanswered was closed by the client.
    held_closed: Option<bool>,
}

#[test]
fn a_failed_range_stops_every_other_request() {
    const SPAN: usize = 10_000;
    let body = Arc::new(pseudo_random(4 * SPAN, 23));
    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
    let (b, s) = (body.clone(), seen.clone());
    // In a fixed order once all three ranges are asked: the second span
    // gets a 503 with Retry-After (its range goes to sleep before a
    // retry); once the client has read it and closed, the third gets
    // another ETag (a permanent failure); the fourth is never answered.
    let server = on_request(move |conn, request| {
        let (lock, changed) = &*s;
        let Some((start, _)) = range(&request) else {
            let _ = (&conn).write_all(&answer(&request, &b, Lie::None).bytes);
            return;
        };
        let mut state = lock.lock().unwrap();
        let lied = state.lied;
        state.asked.push((start, lied));
        changed.notify_all();
        if lied {
            return; // any request after the lie fails the test
        }
        let state = changed
            .wait_timeout_while(state, TIMEOUT, |st| st.asked.len() < 3)
            .unwrap()
            .0;
        drop(state);
        let mut out = &conn;
        match start / SPAN {
            1 => {
                let busy = "HTTP/1.1 503 Busy\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = out.write_all(busy.as_bytes());
                let _ = conn.shutdown(std::net::Shutdown::Write);
                let closed = until_closed(&conn, TIMEOUT);
                lock.lock().unwrap().busy_closed = closed;
                changed.notify_all();
            }
            2 => {
                let state = lock.lock().unwrap();
                let mut state = changed
                    .wait_timeout_while(state, TIMEOUT, |st| !st.busy_closed)
                    .unwrap()
                    .0;
                state.lied = true;
                drop(state);
                let _ = out.write_all(&answer(&request, &b, Lie::NewTag).bytes);
                until_closed(&conn, TIMEOUT);
            }
            _ => {
                let closed = until_closed(&conn, 2 * TIMEOUT);
                lock.lock().unwrap().held_closed = Some(closed);
                changed.notify_all();
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/f", server.addr);
    let out = fetch(
        dir.path(),
        &url,
        &["--segments", "4", "--retry", "2", "--retry-max-delay", "5"],
    );
    assert_code(&out, 6);
    assert_stderr_has(&out, "a range came with ETag \"s2\" instead of \"s1\"");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    let (lock, changed) = &*seen;
    let state = changed
        .wait_timeout_while(lock.lock().unwrap(), TIMEOUT, |st| st.held_closed.is_none())
        .unwrap()
        .0;
    assert!(state.busy_closed, "{}", stderr(&out));
    assert_eq!(state.held_closed, Some(true), "{}", stderr(&out));
    let mut asked = state.asked.clone();
    asked.sort();
    // Each range once, all before the lie; no retry of the 503 after it.
    assert_eq!(
        asked,
        [(SPAN, false), (2 * SPAN, false), (3 * SPAN, false)],
        "{}",
        stderr(&out)
    );
}

#[test]
fn ranges_queued_behind_p_are_dropped_when_their_file_failed() {
    let (a_body, b_body) = (
        Arc::new(pseudo_random(30_000, 26)),
        Arc::new(pseudo_random(30_001, 27)),
    );
    // (path, range start) of each request, and whether /a's lie is out.
    let seen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
    let (a, b, s) = (a_body.clone(), b_body.clone(), seen.clone());
    // -P 2: /a's and /b's first requests take both connections. /b is
    // answered only once /a's first range got another ETag, so /a's
    // other two ranges wait in the queue until after that answer.
    let server = on_request(move |conn, request| {
        let is_a = request.starts_with("GET /a ");
        let r = range(&request);
        let (lock, changed) = &*s;
        let mut state = lock.lock().unwrap();
        state.0.push((is_a, r.map(|(start, _)| start)));
        let bytes = match (is_a, r) {
            (true, Some(_)) => {
                state.1 = true;
                changed.notify_all();
                answer(&request, &a, Lie::NewTag).bytes
            }
            (true, None) => answer(&request, &a, Lie::None).bytes,
            (false, Some(_)) => answer(&request, &b, Lie::None).bytes,
            (false, None) => {
                let _ = changed.wait_timeout_while(state, TIMEOUT, |st| !st.1);
                answer(&request, &b, Lie::None).bytes
            }
        };
        let _ = (&conn).write_all(&bytes);
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        format!("http://{}/a", server.addr),
        format!("http://{}/b", server.addr),
    ];
    let out = crate::support::wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--segment-min",
            "1",
            "--segments",
            "3",
            "-P",
            "2",
            &urls[0],
            &urls[1],
        ],
    );
    assert_code(&out, 11);
    assert_stderr_has(&out, "a range came with ETag \"s2\" instead of \"s1\"");
    assert_eq!(files(dir.path()), ["b"]);
    assert!(std::fs::read(dir.path().join("b")).unwrap() == *b_body);
    let asked = seen.0.lock().unwrap().0.clone();
    let a_ranges: Vec<_> = asked
        .iter()
        .filter(|(is_a, r)| *is_a && r.is_some())
        .collect();
    assert_eq!(a_ranges.len(), 1, "{asked:?}\n{}", stderr(&out));
}

/// Found in review: the split's error was handed to the first job, and a
/// transient one (a 503) with retries left made the service try the first
/// job again as a plain download, one more connection and request after
/// the split had failed. Here the first connection is still reading (its
/// server holds the rest) when the other range fails for good.
#[test]
fn the_first_job_is_not_retried_once_the_split_failed() {
    const SPAN: usize = 10_000;
    let body = Arc::new(pseudo_random(2 * SPAN, 25));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (b, a) = (body.clone(), asked.clone());
    let server = on_request(move |conn, request| {
        let r = range(&request);
        a.lock().unwrap().push(r);
        let mut out = &conn;
        match r {
            // The head and 1000 bytes, then nothing until the client goes.
            None => {
                let bytes = answer(&request, &b, Lie::None).bytes;
                let _ = out.write_all(&bytes[..head_len(&bytes) + 1000]);
                until_closed(&conn, TIMEOUT);
            }
            Some(_) => {
                let busy = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = out.write_all(busy.as_bytes());
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/f", server.addr);
    let out = fetch(dir.path(), &url, &["--segments", "2", "--retry", "1"]);
    assert_code(&out, 7);
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    // The first GET, and the range asked twice (once more under --retry
    // 1): nothing after the split failed.
    let asked = asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [None, Some((SPAN, 2 * SPAN - 1)), Some((SPAN, 2 * SPAN - 1))],
        "{}",
        stderr(&out)
    );
}

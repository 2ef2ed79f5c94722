//! `fetch --segments N` end to end against servers on 127.0.0.1 that
//! answer byte ranges (a scripted one whose requests are recorded, and
//! `wirecat serve` itself): the same bytes for 1, 2, 8 and 16 segments on
//! awkward sizes; servers that lie in Content-Range, change their ETag or
//! answer a range with a 200 (the download fails, no file is left); the
//! fallbacks to one connection and their note; a cut range resumed under
//! --retry from where it stopped. `--segment-min 1` (hidden) lets tiny
//! files split.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::support::{
    assert_code, assert_stderr_has, files, listen, pseudo_random, read_request_head, reply, serve,
    stderr, wait_until, wirecat, wirecat_in, Listening, Reply, TestServer, TIMEOUT,
};

pub(crate) fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `Range: bytes=A-B` as (A, B); `bytes=A-` as (A, usize::MAX).
pub(crate) fn range(request: &str) -> Option<(usize, usize)> {
    let (a, b) = header(request, "range")?
        .strip_prefix("bytes=")?
        .split_once('-')?;
    let b = if b.is_empty() {
        usize::MAX
    } else {
        b.parse().ok()?
    };
    Some((a.parse().ok()?, b))
}

/// How a scripted server misbehaves.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Lie {
    None,
    /// Content-Range one byte later than asked.
    Shifted,
    /// Ranges come with another ETag.
    NewTag,
    /// Ranges are answered with the whole file.
    Whole,
    /// No Accept-Ranges on the first response.
    NoRanges,
    /// Only Last-Modified, no ETag.
    DateOnly,
}

/// A 200 with ranges and a strong ETag, or a 206 for `Range: bytes=A-B`,
/// bent by `lie`.
pub(crate) fn answer(request: &str, body: &[u8], lie: Lie) -> Reply {
    let tag = match lie {
        Lie::DateOnly => "Last-Modified: Mon, 30 Nov 2026 00:00:00 GMT\r\n",
        _ => "ETag: \"s1\"\r\n",
    };
    let ranges = match lie {
        Lie::NoRanges => "",
        _ => "Accept-Ranges: bytes\r\n",
    };
    match range(request) {
        Some((a, b)) if lie != Lie::Whole => {
            let b = b.min(body.len() - 1);
            let (shown, tag) = match lie {
                Lie::Shifted => (a + 1, tag),
                Lie::NewTag => (a, "ETag: \"s2\"\r\n"),
                _ => (a, tag),
            };
            let part = &body[a..=b];
            let mut bytes = format!(
                "HTTP/1.1 206 Partial Content\r\n{tag}Content-Range: bytes {shown}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                shown + b - a,
                body.len(),
                part.len()
            )
            .into_bytes();
            bytes.extend_from_slice(part);
            reply(bytes)
        }
        _ => {
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\n{tag}{ranges}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            bytes.extend_from_slice(body);
            reply(bytes)
        }
    }
}

pub(crate) fn server(body: &Arc<Vec<u8>>, lie: Lie) -> TestServer {
    let body = body.clone();
    TestServer::start(None, move |req| answer(req, &body, lie))
}

/// A loopback server that reads each connection's request head, under
/// timeouts, and hands the connection and the head to `handle`.
pub(crate) fn on_request(handle: impl Fn(TcpStream, String) + Send + Sync + 'static) -> Listening {
    listen(move |conn| {
        conn.set_write_timeout(Some(TIMEOUT)).unwrap();
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        if let Some(request) = read_request_head(&mut BufReader::new(&conn)) {
            handle(conn, request);
        }
    })
}

pub(crate) fn fetch(dir: &std::path::Path, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["fetch", "--segment-min", "1", "-o", "out.bin"];
    args.extend_from_slice(extra);
    args.push(url);
    wirecat_in(dir, &args)
}

#[test]
fn every_segment_count_gives_the_same_bytes_on_awkward_sizes() {
    for n in [1usize, 2, 8, 16] {
        for size in [1, n.saturating_sub(1).max(1), n + 1, 1000 * n + 7] {
            let body = Arc::new(pseudo_random(size, size as u32));
            let server = server(&body, Lie::None);
            let dir = tempfile::tempdir().unwrap();
            let count = n.to_string();
            let out = fetch(dir.path(), &server.url("/f"), &["--segments", &count]);
            assert_code(&out, 0);
            let got = std::fs::read(dir.path().join("out.bin")).unwrap();
            assert!(got == *body, "{n} segments, {size} bytes differ");
            assert_eq!(files(dir.path()), ["out.bin"]);
            let ranges: Vec<_> = server.requests().iter().filter_map(|r| range(r)).collect();
            // A span of at least one byte each: as many connections as fit.
            let want = if n > 1 && size >= 2 {
                n.min(size) - 1
            } else {
                0
            };
            assert_eq!(ranges.len(), want, "{n} segments, {size} bytes: {ranges:?}");
            for r in server.requests().iter().filter(|r| range(r).is_some()) {
                assert_eq!(header(r, "if-range"), Some("\"s1\""));
            }
        }
    }
}

#[test]
fn wirecat_serve_itself_is_fetched_in_eight_segments() {
    let www = tempfile::tempdir().unwrap();
    let body = pseudo_random(3 * 1024 * 1024 + 5, 3);
    std::fs::write(www.path().join("big.bin"), &body).unwrap();
    let server = serve(www.path()).start();
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--segments",
            "8",
            "--segment-min",
            "64K",
            &server.url("/big.bin"),
        ],
    );
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == body);
    assert_stderr_has(&out, &format!("saved {} bytes", body.len()));
}

#[test]
fn a_range_the_server_answers_wrongly_fails_the_download_and_leaves_nothing() {
    let body = Arc::new(pseudo_random(64 * 1024, 9));
    let cases = [
        (Lie::Shifted, "the server sent Content-Range bytes"),
        (Lie::NewTag, "instead of \"s1\""),
        (Lie::Whole, "the server sent the whole file for a range"),
    ];
    for (lie, said) in cases {
        let server = server(&body, lie);
        let dir = tempfile::tempdir().unwrap();
        let out = fetch(
            dir.path(),
            &server.url("/f"),
            &["--segments", "4", "--retry", "2"],
        );
        assert_code(&out, 6);
        assert_stderr_has(&out, said);
        assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
        // A lie is not retried: one first request and the three ranges.
        assert_eq!(server.requests().len(), 4, "{}", stderr(&out));
    }
}

#[test]
fn without_ranges_or_a_strong_etag_one_connection_says_why() {
    let body = Arc::new(pseudo_random(10_000, 4));
    let cases = [
        (Lie::NoRanges, "the server does not accept byte ranges"),
        (
            Lie::DateOnly,
            "Last-Modified alone is not a strong validator",
        ),
    ];
    for (lie, why) in cases {
        let server = server(&body, lie);
        let dir = tempfile::tempdir().unwrap();
        let out = fetch(dir.path(), &server.url("/f"), &["--segments", "4"]);
        assert_code(&out, 0);
        assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
        assert_stderr_has(&out, "--segments: one connection for ");
        assert_stderr_has(&out, why);
        assert_eq!(server.requests().len(), 1);
    }
    // To stdout: no file to write at offsets.
    let plain = server(&body, Lie::None);
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--segments",
            "4",
            "--segment-min",
            "1",
            "-o",
            "-",
            &plain.url("/f"),
        ],
    );
    assert_code(&out, 0);
    assert!(out.stdout == *body);
    assert_stderr_has(&out, "the output is not a file");
    // Too small for the default smallest segment (1 MiB).
    let server = server(&body, Lie::None);
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--segments", "4", "-o", "x", &server.url("/f")],
    );
    assert_code(&out, 0);
    assert_stderr_has(&out, "the file is too small to split");
}

#[test]
fn a_cut_range_is_retried_from_where_it_stopped() {
    let body = Arc::new(pseudo_random(40_000, 5));
    let cuts = Arc::new(AtomicUsize::new(0));
    let (b, c) = (body.clone(), cuts.clone());
    // The range starting at 20000 is cut after 3000 bytes, once.
    let server = TestServer::start(None, move |req| {
        let mut answer = answer(req, &b, Lie::None);
        if range(req).is_some_and(|(a, _)| a == 20_000) && c.fetch_add(1, Ordering::SeqCst) == 0 {
            let head = answer
                .bytes
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap()
                + 4;
            answer.bytes.truncate(head + 3000);
        }
        answer
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &server.url("/f"),
        &[
            "--segments",
            "2",
            "--retry",
            "2",
            "--retry-max-delay",
            "0.1",
        ],
    );
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    let ranges: Vec<_> = server.requests().iter().filter_map(|r| range(r)).collect();
    assert_eq!(ranges, [(20_000, 39_999), (23_000, 39_999)]);
    assert_stderr_has(&out, "wirecat: retry 1/2");
}

/// Fetches 512 KiB in 2 segments from a server on which the response
/// starting at `slow` (0: the first 200) stalls after 100 KiB until a
/// range inside its span is asked for (at most TIMEOUT), then sends the
/// rest. Returns the ranges asked for, in order (`None`: the 200).
fn stalled_at(slow: usize) -> Vec<Option<(usize, usize)>> {
    const SIZE: usize = 512 * 1024;
    let body = Arc::new(pseudo_random(SIZE, 8));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let stolen = Arc::new((Mutex::new(false), Condvar::new()));
    let (b, a, st) = (body.clone(), asked.clone(), stolen.clone());
    let server = on_request(move |conn, request| {
        let r = range(&request);
        a.lock().unwrap().push(r);
        let bytes = answer(&request, &b, Lie::None).bytes;
        let (start, end) = r.unwrap_or((0, SIZE / 2 - 1));
        let (flag, wake) = &*st;
        if start > slow && end < slow + SIZE / 2 {
            *flag.lock().unwrap() = true;
            wake.notify_all();
        }
        let mut out = &conn;
        if start == slow {
            let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let cut = head + 100 * 1024;
            let _ = out.write_all(&bytes[..cut]);
            let stalled = flag.lock().unwrap();
            let _ = wake.wait_timeout_while(stalled, TIMEOUT, |s| !*s).unwrap();
            let _ = out.write_all(&bytes[cut..]);
            return;
        }
        let _ = out.write_all(&bytes);
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/f", server.addr);
    let started = std::time::Instant::now();
    let out = fetch(dir.path(), &url, &["--segments", "2"]);
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    assert!(
        started.elapsed() < TIMEOUT - Duration::from_secs(5),
        "waited for the stall"
    );
    // In the order asked: the 200 first, then the ranges (in whatever
    // order their connections got there).
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    asked
}

#[test]
fn a_connection_done_early_takes_over_half_of_a_slow_range() {
    const HALF: usize = 256 * 1024;
    let asked = stalled_at(HALF);
    // The 200, the second span (shortened if the steal came before its
    // request), and the second half of what was left of it, taken by the
    // freed connection (a range taken so may in turn give up its half).
    let ranges: Vec<_> = asked[1..].iter().flatten().collect();
    assert!(
        asked[0].is_none() && ranges.len() == asked.len() - 1,
        "{asked:?}"
    );
    assert!(ranges.len() >= 2 && ranges[0].0 == HALF, "{asked:?}");
    assert!(
        ranges.iter().all(|r| r.0 >= HALF && r.1 < 2 * HALF),
        "{asked:?}"
    );
    let first_taken = |r: &&&(usize, usize)| r.0 >= HALF + HALF / 2 && r.1 == 2 * HALF - 1;
    assert!(ranges.iter().any(|r| first_taken(&r)), "{asked:?}");
}

#[test]
fn the_first_connection_stops_where_a_stolen_range_begins() {
    const HALF: usize = 256 * 1024;
    let asked = stalled_at(0);
    let ranges: Vec<_> = asked[1..].iter().flatten().collect();
    assert!(
        asked[0].is_none() && ranges.len() == asked.len() - 1,
        "{asked:?}"
    );
    assert!(ranges.contains(&&(HALF, 2 * HALF - 1)), "{asked:?}");
    // Taken from the stalled 200's span, which had the most left.
    let taken = ranges.iter().find(|r| r.0 < HALF).expect("a stolen range");
    assert!(taken.0 >= HALF / 2 && taken.1 == HALF - 1, "{asked:?}");
}

#[test]
fn a_killed_segmented_download_resumes_with_c_asking_only_what_is_missing() {
    const SPAN: usize = 100 * 1024;
    let body = Arc::new(pseudo_random(4 * SPAN, 11));
    let asked = Arc::new(Mutex::new(Vec::new()));
    // In the first run the 2nd and 4th ranges stall part way (until the
    // client goes); in the second everything is served.
    let stall = Arc::new(AtomicBool::new(true));
    let (b, a, st) = (body.clone(), asked.clone(), stall.clone());
    let server = on_request(move |conn, request| {
        let r = range(&request);
        a.lock().unwrap().push((st.load(Ordering::SeqCst), r));
        let bytes = answer(&request, &b, Lie::None).bytes;
        let mut out = &conn;
        let stalls = matches!(r, Some((s, _)) if s == SPAN || s == 3 * SPAN);
        if st.load(Ordering::SeqCst) && stalls {
            let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let _ = out.write_all(&bytes[..head + SPAN / 3]);
            let mut sink = [0u8; 1024];
            while matches!((&conn).read(&mut sink), Ok(n) if n > 0) {}
            return;
        }
        let _ = out.write_all(&bytes);
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/f", server.addr);
    let args = [
        "fetch",
        "-C",
        "--segments",
        "4",
        "--segment-min",
        "1",
        "-o",
        "f",
        &url,
    ];
    let mut first = wirecat()
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let meta = dir.path().join("f.part.meta");
    // The 1st and 3rd spans are whole once the meta says so.
    let said = wait_until("the meta lists the whole spans", || {
        let text = std::fs::read_to_string(&meta).ok()?;
        let whole = text.contains(&format!("done {}-", 2 * SPAN))
            && text.lines().any(|l| l.starts_with("done 0-"));
        whole.then_some(text)
    });
    first.kill().unwrap(); // SIGKILL: nothing is tidied
    first.wait().unwrap();
    assert!(
        said.starts_with("wirecat-part 2\nif-range \"s1\"\n"),
        "{said}"
    );
    assert!(!dir.path().join("f").exists());
    stall.store(false, Ordering::SeqCst);
    let before = asked.lock().unwrap().len();
    let out = wirecat_in(dir.path(), &args);
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("f")).unwrap() == *body);
    assert_eq!(files(dir.path()), ["f"]);
    let again: Vec<_> = asked.lock().unwrap()[before..]
        .iter()
        .map(|(_, r)| r.expect("every request of the resume is a range"))
        .collect();
    // The first continues the run complete from byte 0 (at least the 1st
    // span), the others ask only for bytes in the 2nd and 4th spans.
    let (start, end) = again[0];
    assert!(
        end == usize::MAX && (SPAN..2 * SPAN).contains(&start),
        "{again:?}"
    );
    for &(first, last) in &again[1..] {
        let in_second = first >= start && last < 2 * SPAN;
        let in_fourth = first >= 3 * SPAN && last < 4 * SPAN;
        assert!(in_second || in_fourth, "{again:?} (meta was {said:?})");
    }
    assert!(again[1..].iter().any(|r| r.0 >= 3 * SPAN), "{again:?}");
}

#[test]
fn several_urls_each_split_within_p_connections() {
    let bodies: Vec<Arc<Vec<u8>>> = (0..3)
        .map(|i| Arc::new(pseudo_random(30_000 + i, i as u32)))
        .collect();
    let served = bodies.clone();
    let server = TestServer::start(None, move |req| {
        let i = if req.starts_with("GET /a ") {
            0
        } else if req.starts_with("GET /b ") {
            1
        } else {
            2
        };
        answer(req, &served[i], Lie::None)
    });
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (server.url("/a"), server.url("/b"), server.url("/c"));
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--segments",
            "4",
            "--segment-min",
            "1",
            "-P",
            "2",
            &a,
            &b,
            &c,
        ],
    );
    assert_code(&out, 0);
    assert_stderr_has(&out, "3 downloaded, 0 failed");
    for (name, body) in ["a", "b", "c"].iter().zip(&bodies) {
        assert!(
            std::fs::read(dir.path().join(name)).unwrap() == **body,
            "{name}"
        );
    }
    // Each file: one whole request and three ranges.
    let ranges = server
        .requests()
        .iter()
        .filter(|r| range(r).is_some())
        .count();
    assert_eq!((server.requests().len(), ranges), (12, 9));
}

#[test]
fn a_range_answered_503_is_retried_alone() {
    let body = Arc::new(pseudo_random(20_000, 6));
    let calls = Arc::new(AtomicUsize::new(0));
    let (b, c) = (body.clone(), calls.clone());
    let server = TestServer::start(None, move |req| {
        if range(req).is_some() && c.fetch_add(1, Ordering::SeqCst) == 0 {
            return reply("HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n");
        }
        answer(req, &b, Lie::None)
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &server.url("/f"),
        &["--segments", "2", "--retry", "1"],
    );
    assert_code(&out, 0);
    assert!(std::fs::read(dir.path().join("out.bin")).unwrap() == *body);
    assert_stderr_has(&out, "wirecat: retry 1/1 in 0.0s");
    let ranges: Vec<_> = server.requests().iter().filter_map(|r| range(r)).collect();
    assert_eq!(ranges, [(10_000, 19_999), (10_000, 19_999)]);
    // Without --retry the 503 fails the download.
    let dir = tempfile::tempdir().unwrap();
    calls.store(0, Ordering::SeqCst);
    let out = fetch(dir.path(), &server.url("/f"), &["--segments", "2"]);
    // The 503's own code, whether or not the first connection was done.
    assert_code(&out, 7);
    assert_stderr_has(&out, "503");
    assert!(files(dir.path()).is_empty());
}

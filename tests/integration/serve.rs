//! `wirecat serve` end to end: the real binary on 127.0.0.1 port 0, raw
//! sockets for the protocol rules (pipelining, framing, conditionals,
//! ranges, traversal, limits, shutdown), and curl and wget as clients.

use std::fs;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::both;
use crate::support::{self, get, request, Client, Resp, Server, Transport, TIMEOUT};

/// `wirecat serve` on port 0 over `t`, on two loops unless the test says
/// otherwise.
fn serve(t: Transport, dir: &Path, extra: &[&str]) -> Server {
    let threads: &[&str] = if extra.contains(&"--threads") {
        &[]
    } else {
        &["--threads", "2"]
    };
    support::serve(dir)
        .transport(t)
        .args(threads)
        .args(extra)
        .start()
}

/// `GET path` with header lines `headers` (CRLF between them) on a fresh
/// keep-alive connection, the response read by its framing.
fn get_with_headers(addr: SocketAddr, path: &str, headers: &str) -> Resp {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n\r\n"),
    )
}

fn www() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www")
}

/// A root holding `a.txt`, a 100-byte `hundred.bin`, a folder and a big file.
fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    let hundred: Vec<u8> = (0..100u8).collect();
    fs::write(d.path().join("hundred.bin"), hundred).unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    fs::write(d.path().join("sub/inner.txt"), "inner").unwrap();
    d
}

fn big_file(dir: &Path, name: &str, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(dir.join(name), &data).unwrap();
    data
}

both!(serve_demo_site_with_the_expected_headers, |t| {
    let s = serve(t, &www(), &["-q"]);
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Welcome!"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    for h in [
        "date",
        "server",
        "content-length",
        "last-modified",
        "etag",
        "accept-ranges",
    ] {
        assert!(r.header(h).is_some(), "{h} missing: {:?}", r.headers);
    }
    let etag = r.header("etag").unwrap();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    assert!(httpdate::parse_http_date(r.header("date").unwrap()).is_ok());
    assert_eq!(
        get(s.addr, "/style.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        get(s.addr, "/logo.svg")
            .header("content-type")
            .map(|v| v.starts_with("image/svg+xml")),
        Some(true)
    );
    assert_eq!(
        get(s.addr, "/files/tone.wav").header("content-type"),
        Some("audio/wav")
    );
});

both!(head_sends_get_headers_without_body, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let mut c = Client::new(s.addr);
    c.send(b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.response(true);
    let get = c.response(false);
    assert_eq!(head.status, 200);
    assert_eq!(get.body, b"hello\n");
    let strip = |r: &Resp| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n != "Date")
            .cloned()
            .collect()
    };
    assert_eq!(strip(&head), strip(&get));
    // The HEAD response had no body: the GET response followed at once.
});

both!(methods_and_request_bodies, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let mut c = Client::new(s.addr);
    c.send(b"POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello=world");
    c.send(b"PUT /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    c.send(b"BREW /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(c.response(false).status, 405);
    assert_eq!(c.response(false).status, 501);
    let r = c.response(false);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));
});

both!(
    pipelined_requests_in_one_write_and_split_across_writes,
    |t| {
        let d = site();
        let s = serve(t, d.path(), &["-q"]);
        let mut batch = String::new();
        let paths = [
            "/a.txt",
            "/hundred.bin",
            "/missing",
            "/sub/inner.txt",
            "/a.txt",
        ];
        for p in paths {
            batch.push_str(&format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n"));
        }
        let want = [200, 200, 404, 200, 200];
        // All in one write.
        let mut c = Client::new(s.addr);
        c.send(batch.as_bytes());
        let got: Vec<u16> = (0..5).map(|_| c.response(false).status).collect();
        assert_eq!(got, want);
        // Split at awkward places, one small write at a time.
        for step in [1, 5, 17] {
            let mut c = Client::new(s.addr);
            c.stream.set_nodelay(true).unwrap();
            for piece in batch.as_bytes().chunks(step) {
                c.send(piece);
            }
            let rs: Vec<Resp> = (0..5).map(|_| c.response(false)).collect();
            assert_eq!(
                rs.iter().map(|r| r.status).collect::<Vec<_>>(),
                want,
                "step {step}"
            );
            assert_eq!(rs[3].body, b"inner");
        }
    }
);

both!(host_and_target_forms, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let cases: &[(&str, u16)] = &[
        ("GET /a.txt HTTP/1.1\r\n\r\n", 400),
        ("GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET /a.txt HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("GET /a.txt HTTP/1.0\r\n\r\n", 200),
        ("GET http://t/a.txt HTTP/1.1\r\nHost: t\r\n\r\n", 200),
        ("GET * HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("GET /a%00.txt HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("GET /%c0%ae%c0%ae/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ];
    for (raw, status) in cases {
        assert_eq!(request(s.addr, raw).status, *status, "{raw:?}");
    }
});

both!(bad_framing_and_heads_are_refused_and_closed, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let mut big_head = "GET / HTTP/1.1\r\nHost: t\r\n".to_string();
    for i in 0..60 {
        big_head.push_str(&format!("X-{i}: {}\r\n", "v".repeat(150)));
    }
    big_head.push_str("\r\n");
    let cases: Vec<(String, u16)> = vec![
        (
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                .into(),
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n".into(),
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n".into(),
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".into(),
            501,
        ),
        ("GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n".into(), 400),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n".into(), 505),
        ("GET / HTTP/3.0\r\nHost: t\r\n\r\n".into(), 505),
        ("\x16\x03\x01\x00\x05\x01\x00\x00\r\n\r\n".into(), 400),
        (long_line, 414),
        (big_head, 431),
    ];
    for (raw, status) in cases {
        let mut c = Client::new(s.addr);
        c.send(raw.as_bytes());
        let r = c.response(false);
        assert_eq!(r.status, status, "{:?}", &raw[..raw.len().min(60)]);
        assert_eq!(r.header("connection"), Some("close"));
        assert!(c.closed(), "connection left open after {status}");
    }
});

// RFC 9110 section 2.5: HTTP/1.2 is processed as HTTP/1.1 (persistent,
// answered as HTTP/1.1), not refused with 505.
both!(a_later_minor_version_is_answered_as_http_1_1, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let mut c = Client::new(s.addr);
    for _ in 0..2 {
        c.send(b"GET /a.txt HTTP/1.2\r\nHost: t\r\n\r\n");
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
});

both!(keep_alive_and_connection_close, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    // HTTP/1.1: two requests, one connection.
    let mut c = Client::new(s.addr);
    for _ in 0..2 {
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    // Connection: close is honoured, and later requests are not answered.
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).header("connection"), Some("close"));
    assert!(c.closed());
    // HTTP/1.0 closes by default, keeps alive when asked.
    let mut c = Client::new(s.addr);
    c.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    c.response(false);
    assert!(c.closed());
    let mut c = Client::new(s.addr);
    c.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.response(false).header("connection"), Some("keep-alive"));
    c.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
});

both!(conditional_requests, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let first = get(s.addr, "/a.txt");
    let etag = first.header("etag").unwrap().to_string();
    let lm = first.header("last-modified").unwrap().to_string();
    let ask = |h: &str| get_with_headers(s.addr, "/a.txt", h);
    let cases: Vec<(String, u16)> = vec![
        (format!("If-None-Match: {etag}"), 304),
        (format!("If-None-Match: \"nope\", W/{etag}"), 304),
        ("If-None-Match: \"nope\"".into(), 200),
        (format!("If-Modified-Since: {lm}"), 304),
        (
            "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT".into(),
            200,
        ),
        // A date later than Last-Modified but written differently: compared as dates.
        (
            "If-Modified-Since: Friday, 31-Dec-99 23:59:59 GMT".into(),
            200,
        ),
        ("If-Match: \"nope\"".into(), 412),
        (format!("If-Match: {etag}"), 200),
        (
            "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT".into(),
            412,
        ),
        (format!("If-Unmodified-Since: {lm}"), 200),
        (format!("If-Match: \"nope\"\r\nIf-None-Match: {etag}"), 412),
        (
            format!("If-None-Match: \"nope\"\r\nIf-Modified-Since: {lm}"),
            200,
        ),
    ];
    for (h, status) in cases {
        let r = ask(&h);
        assert_eq!(r.status, status, "{h}");
        if status == 304 {
            assert_eq!(r.header("etag"), Some(etag.as_str()));
            assert!(r.body.is_empty());
        }
    }
});

both!(range_requests, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let hundred: Vec<u8> = (0..100u8).collect();
    let ask = |h: &str| get_with_headers(s.addr, "/hundred.bin", h);
    let singles = [
        ("bytes=0-9", 0..10),
        ("bytes=90-", 90..100),
        ("bytes=-5", 95..100),
        ("bytes=95-500", 95..100),
    ];
    for (spec, want) in singles {
        let r = ask(&format!("Range: {spec}"));
        assert_eq!(r.status, 206, "{spec}");
        assert_eq!(r.body, &hundred[want.clone()], "{spec}");
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes {}-{}/100", want.start, want.end - 1)
        );
    }
    let r = ask("Range: bytes=0-1,10-11");
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ct);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains("Content-Range: bytes 0-1/100"), "{text}");
    assert!(text.contains("Content-Range: bytes 10-11/100"), "{text}");
    assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    // Abusive sets get the whole file.
    for spec in ["bytes=0-50,40-60", "bytes=0-,0-", "bytes=0-99,-100"] {
        let r = ask(&format!("Range: {spec}"));
        assert_eq!((r.status, r.body.len()), (200, 100), "{spec}");
    }
    let many: Vec<String> = (0..40).map(|i| format!("{i}-{i}")).collect();
    assert_eq!(ask(&format!("Range: bytes={}", many.join(","))).status, 200);
    let r = ask("Range: bytes=100-");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */100"));
    // If-Range.
    let etag = get(s.addr, "/hundred.bin")
        .header("etag")
        .unwrap()
        .to_string();
    assert_eq!(
        ask(&format!("Range: bytes=0-9\r\nIf-Range: {etag}")).status,
        206
    );
    let r = ask("Range: bytes=0-9\r\nIf-Range: \"stale\"");
    assert_eq!((r.status, r.body.len()), (200, 100));
    assert_eq!(
        get(s.addr, "/hundred.bin").header("accept-ranges"),
        Some("bytes")
    );
});

both!(directories_redirect_index_and_listings, |t| {
    let d = site();
    fs::create_dir(d.path().join("evil.test")).unwrap();
    fs::create_dir(d.path().join("withindex")).unwrap();
    fs::write(d.path().join("withindex/index.html"), "<p>index</p>").unwrap();
    let names = [
        "a b.txt",
        "50%.txt",
        "#hash.txt",
        "q?.txt",
        "quote\"s.txt",
        "café.txt",
        "<tag>&.txt",
        "it's.txt",
    ];
    fs::create_dir(d.path().join("odd dir")).unwrap();
    for n in names {
        fs::write(d.path().join("odd dir").join(n), n).unwrap();
    }
    let s = serve(t, d.path(), &["-q"]);
    let r = get(s.addr, "/sub?x=1");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/sub/?x=1"));
    for target in [
        "//evil.test",
        "/%2fevil.test",
        "/%5cevil.test",
        "///evil.test",
    ] {
        let r = get(s.addr, target);
        assert_eq!(r.status, 301, "{target}");
        let loc = r.header("location").unwrap();
        assert_eq!(loc, "/evil.test/", "{target}");
    }
    assert_eq!(get(s.addr, "/withindex/").text(), "<p>index</p>");
    let page = get(s.addr, "/odd%20dir/");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("&lt;tag&gt;&amp;.txt"), "{html}");
    assert!(html.contains("quote&quot;s.txt"), "{html}");
    // Every link in the listing fetches the file it names.
    for n in names {
        let href: String =
            percent_encoding::utf8_percent_encode(n, wirecat::file_server::path::SEGMENT).collect();
        let attr = wirecat::file_server::listing::escape_html(&href);
        assert!(html.contains(&format!("href=\"./{attr}\"")), "{n}: {html}");
        let r = get(s.addr, &format!("/odd%20dir/{href}"));
        assert_eq!((r.status, r.text()), (200, n.to_string()), "{n}");
    }
    // Folders first in the root listing.
    let root = get(s.addr, "/").text();
    assert!(root.find("sub/").unwrap() < root.find("a.txt").unwrap());
    // JSON on request.
    let r = request(
        s.addr,
        "GET /odd%20dir/ HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let listed: Vec<&str> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), names.len());
    assert!(listed.contains(&"quote\"s.txt"));
    // --no-listing.
    let s2 = serve(t, d.path(), &["-q", "--no-listing"]);
    assert_eq!(get(s2.addr, "/sub/").status, 404);
    assert_eq!(get(s2.addr, "/withindex/").status, 200);
});

both!(traversal_attempts_never_leave_the_root, |t| {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("a/ok.txt"), "ok").unwrap();
    let secret = "TOP-SECRET-0xC0FFEE";
    fs::write(top.path().join("secret.txt"), secret).unwrap();
    let s = serve(t, &root, &["-q"]);
    let targets = [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/a/b/../../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/a%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/a%5c..%5c..%5csecret.txt",
        "/..\\secret.txt",
        "/a\\..\\..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%af../secret.txt",
        "/..%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt",
        "/..%255csecret.txt",
        "/..;/secret.txt",
        "/....//secret.txt",
        "/.../secret.txt",
        "//../secret.txt",
        "/./../secret.txt",
        "/a/./../../secret.txt",
        "/%2e%2e%5c%2e%2e%5csecret.txt",
        "/secret.txt%00",
        "/../secret.txt%00.html",
        "http://t/../secret.txt",
        "http://t/%2e%2e/secret.txt",
        "http://t/a/%2e%2e/%2e%2e/secret.txt",
        "/a/ok.txt/../../secret.txt",
        "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
        "/../../../../../../../../etc/passwd",
    ];
    assert!(targets.len() >= 30);
    for t in targets {
        let r = get(s.addr, t);
        assert!(
            matches!(r.status, 400 | 404),
            "{t}: status {} body {:?}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains(secret), "{t} leaked the secret");
        assert!(!r.text().contains("root:"), "{t} leaked /etc/passwd");
    }
    assert_eq!(get(s.addr, "/a/b/../ok.txt").text(), "ok");
});

both!(symlinks_out_of_the_root_and_dotfiles, |t| {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(top.path().join("outside.txt"), "outside").unwrap();
    fs::create_dir(top.path().join("outdir")).unwrap();
    fs::write(top.path().join("outdir/x.txt"), "x").unwrap();
    std::os::unix::fs::symlink(top.path().join("outside.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("../outdir", root.join("linkdir")).unwrap();
    fs::write(root.join("real.txt"), "real").unwrap();
    std::os::unix::fs::symlink("real.txt", root.join("inside-link.txt")).unwrap();
    fs::write(root.join(".env"), "SECRET=1").unwrap();
    fs::create_dir(root.join(".git")).unwrap();
    fs::write(root.join(".git/config"), "cfg").unwrap();

    let s = serve(t, &root, &["-q"]);
    assert_eq!(get(s.addr, "/link.txt").status, 404);
    assert_eq!(get(s.addr, "/linkdir/x.txt").status, 404);
    assert_eq!(get(s.addr, "/inside-link.txt").text(), "real");
    assert_eq!(get(s.addr, "/.env").status, 404);
    assert_eq!(get(s.addr, "/.git/config").status, 404);
    assert_eq!(get(s.addr, "/%2egit/config").status, 404);
    let listing = get(s.addr, "/").text();
    for hidden in [".env", ".git", "link.txt", "linkdir"] {
        assert!(
            !listing.contains(&format!("\"./{hidden}")),
            "{hidden} listed"
        );
    }
    assert!(listing.contains("\"./inside-link.txt\""));

    let s = serve(t, &root, &["-q", "--follow-symlinks", "--hidden"]);
    assert_eq!(get(s.addr, "/link.txt").text(), "outside");
    assert_eq!(get(s.addr, "/linkdir/x.txt").text(), "x");
    assert_eq!(get(s.addr, "/.env").text(), "SECRET=1");
    assert!(get(s.addr, "/").text().contains(".git/"));
});

both!(slow_client_does_not_stall_fifty_downloads, |t| {
    let d = site();
    let data = big_file(d.path(), "big.bin", 2 << 20);
    let s = serve(t, d.path(), &["-q", "--head-timeout", "30"]);
    // The slow client starts a head and trickles it byte by byte.
    let mut slow = Client::new(s.addr);
    slow.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n");
    let addr = s.addr;
    let start = Instant::now();
    let downloads: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let r = get(addr, "/big.bin");
                (r.status, r.body)
            })
        })
        .collect();
    for b in b"X-Slow: 1\r\n" {
        slow.send(&[*b]);
    }
    for h in downloads {
        let (status, body) = h.join().unwrap();
        assert_eq!(status, 200);
        assert!(body == data, "download corrupted");
    }
    assert!(start.elapsed() < TIMEOUT);
    // The slow client is still being served once it finishes its head.
    slow.send(b"\r\n");
    assert_eq!(slow.response(false).body, b"hello\n");
});

both!(slowloris_head_deadline_is_not_reset_by_each_byte, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q", "--head-timeout", "1"]);
    let mut c = Client::new(s.addr);
    let start = Instant::now();
    c.send(b"GET /a.txt HTTP/1.1\r\n");
    // One header byte every 100 ms would keep a per-byte timer alive forever.
    let mut got_408 = false;
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        if c.stream.write_all(&[b'X' + (i % 2) as u8]).is_err() {
            break;
        }
        c.stream.set_nonblocking(true).unwrap();
        let n = c.stream.read(&mut [0u8; 1024]);
        c.stream.set_nonblocking(false).unwrap();
        if let Ok(n) = n {
            got_408 = n > 0;
            break;
        }
    }
    let elapsed = start.elapsed();
    assert!(got_408, "server never answered the slow head");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
});

both!(idle_keep_alive_connections_are_closed, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q", "--idle-timeout", "0.5"]);
    let mut c = Client::new(s.addr);
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
    let start = Instant::now();
    assert!(c.closed());
    assert!(start.elapsed() < Duration::from_secs(5));
});

both!(connection_limit_refuses_quickly_with_503, |t| {
    let d = site();
    let s = serve(
        t,
        d.path(),
        &["-q", "--threads", "1", "--max-connections", "2"],
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = Client::new(s.addr);
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response(false).status, 200);
        held.push(c);
    }
    let mut third = Client::new(s.addr);
    if t == Transport::Tls {
        // A fatal internal_error alert instead: a plaintext 503 would be a
        // garbled handshake to a TLS client.
        let err = third.stream.read(&mut [0u8; 64]).unwrap_err();
        assert!(format!("{err:?}").contains("InternalError"), "{err:?}");
    } else {
        assert_eq!(third.response(false).status, 503);
    }
    drop(held);
});

both!(graceful_shutdown_finishes_a_download_in_flight, |t| {
    let d = site();
    let data = big_file(d.path(), "huge.bin", 24 << 20);
    let mut s = serve(t, d.path(), &["-q"]);
    let mut idle = Client::new(s.addr);
    idle.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    idle.response(false);
    let mut c = Client::new(s.addr);
    c.send(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    c.fill();
    s.bg.signal("TERM");
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert!(r.body == data, "download cut short: {} bytes", r.body.len());
    assert!(idle.closed(), "idle keep-alive connection left open");
    let status = s.bg.wait(TIMEOUT);
    assert!(status.success(), "exit status {status:?}");
});

#[test]
fn startup_errors_are_one_line_and_non_zero() {
    let d = site();
    let s = serve(Transport::Plain, d.path(), &["-q", "--threads", "1"]);
    let port = s.addr.port().to_string();
    let file = d.path().join("a.txt");
    let missing = d.path().join("missing");
    let cases: Vec<Vec<&str>> = vec![
        vec!["serve", "-p", &port, d.path().to_str().unwrap()],
        vec!["serve", "-p", "0", missing.to_str().unwrap()],
        vec!["serve", "-p", "0", file.to_str().unwrap()],
        vec!["serve", "-p", "0", "-H", "bad header", "."],
    ];
    for args in cases {
        let out = support::run(support::wirecat().args(&args), TIMEOUT);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

both!(extra_headers_and_access_log, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-H", "Access-Control-Allow-Origin: *"]);
    let r = request(
        s.addr,
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nUser-Agent: tester \"1\"\r\nReferer: http://r/\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Each line is logged when its connection ends, and two loops end
    // theirs in no set order: read the first line before the next request.
    let line = s.bg.lines.recv_timeout(TIMEOUT).expect("access log line");
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.ends_with("\"GET /a.txt HTTP/1.1\" 200 6 \"http://r/\" \"tester \\x221\\x22\""),
        "{line}"
    );
    assert_eq!(
        get(s.addr, "/missing").header("access-control-allow-origin"),
        Some("*")
    );
    let line = s.bg.lines.recv_timeout(TIMEOUT).expect("second log line");
    assert!(line.contains("\"GET /missing HTTP/1.1\" 404 "), "{line}");
});

/// Runs a peer tool, failing clearly when it is not installed.
fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "{name} is required for this test (apt-get install -y {name})"
    );
    let mut cmd = Command::new(name);
    cmd.env_remove("http_proxy").env_remove("HTTP_PROXY");
    cmd
}

/// `curl -sS --max-time 10 ARGS` to `s`, trusting its pin over TLS.
fn curl(s: &Server, args: &[&str]) -> Output {
    let mut cmd = tool("curl");
    cmd.args(["-sS", "--max-time", "10"]);
    if let Some(pin) = s.pin() {
        // -k only lifts the CA check; the pin is still enforced.
        cmd.args(["-k", "--pinnedpubkey", pin]);
    }
    support::run(cmd.args(args), TIMEOUT)
}

both!(curl_as_a_client, |t| {
    let d = site();
    let s = serve(t, d.path(), &["-q"]);
    let (a, hundred, sub) = (s.url("/a.txt"), s.url("/hundred.bin"), s.url("/sub"));
    let out = curl(&s, &["-D", "-", &a, &hundred]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("hello\n"));
    let out = curl(&s, &["-r", "10-19", &hundred]);
    assert_eq!(out.stdout, (10..20u8).collect::<Vec<u8>>());
    let out = curl(&s, &["-0", "-I", &a]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Content-Length: 6"));
    let out = curl(
        &s,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &sub,
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("301 {sub}/"));
});

both!(wget_mirrors_the_demo_site_byte_for_byte, |t| {
    let s = serve(t, &www(), &["-q"]);
    let dest = tempfile::tempdir().unwrap();
    let out = support::run(
        tool("wget")
            .args((t == Transport::Tls).then_some("--no-check-certificate"))
            .args([
                "-q",
                "-r",
                "-np",
                "-nH",
                "-e",
                "robots=off",
                "--timeout=10",
                "--tries=1",
                "-P",
            ])
            .arg(dest.path())
            .arg(s.url("/")),
        TIMEOUT,
    );
    assert!(
        out.status.success(),
        "wget: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut checked = 0;
    let mut stack = vec![www()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(www()).unwrap();
            let copy = fs::read(dest.path().join(rel))
                .unwrap_or_else(|e| panic!("{} not mirrored: {e}", rel.display()));
            assert!(copy == fs::read(&p).unwrap(), "{} differs", rel.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} files");
});

both!(changed_and_replaced_files_are_served_fresh, |t| {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(top.path().join("outside.txt"), "outside").unwrap();
    fs::write(root.join("f.txt"), "first").unwrap();
    let s = serve(t, &root, &["-q", "--threads", "1"]);
    let mut c = Client::new(s.addr);
    let ask = |c: &mut Client| {
        c.send(b"GET /f.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        c.response(false)
    };
    assert_eq!(ask(&mut c).text(), "first");
    assert_eq!(ask(&mut c).text(), "first");
    fs::write(root.join("f.txt"), "other").unwrap();
    assert_eq!(ask(&mut c).text(), "other");
    // Swapped for a symlink out of the root after being served: refused.
    fs::remove_file(root.join("f.txt")).unwrap();
    std::os::unix::fs::symlink(top.path().join("outside.txt"), root.join("f.txt")).unwrap();
    assert_eq!(ask(&mut c).status, 404);
});

/// CPU time (user + system, in clock ticks) the process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_name.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn out_of_descriptors_pauses_accepting_without_spinning_or_exiting() {
    let d = site();
    let s = support::serve(d.path())
        .args(["-q", "--threads", "1"])
        .max_open_files(32)
        .start();
    let addr = s.addr;
    // More connections than descriptors: the kernel completes the
    // handshakes; the server accepts what it can and leaves the rest queued.
    let mut conns: Vec<Client> = (0..40).map(|_| Client::new(addr)).collect();
    for c in &mut conns {
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    // The first connection fits: once it is answered, the others that fit
    // have been answered too, or are about to be.
    let mut b = [0u8; 1];
    assert!(conns[0].stream.peek(&mut b).is_ok_and(|n| n > 0));
    let answered: Vec<usize> = (0..conns.len())
        .filter(|&i| {
            conns[i]
                .stream
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut b = [0u8; 1];
            let ok = conns[i].stream.peek(&mut b).is_ok_and(|n| n > 0);
            conns[i].stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            ok
        })
        .collect();
    assert!(
        !answered.is_empty() && answered.len() < 40,
        "answered {}",
        answered.len()
    );
    // Stuck without descriptors, the server must not spin.
    let before = cpu_ticks(s.bg.child.id());
    let waited = Instant::now();
    let last = conns.len() - 1;
    conns[last]
        .stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    assert!(
        conns[last].stream.peek(&mut b).is_err(),
        "answered without a free descriptor"
    );
    let used = cpu_ticks(s.bg.child.id()) - before;
    assert!(
        used * 10 < waited.elapsed().as_millis() as u64,
        "{used} ticks in {:?}",
        waited.elapsed()
    );
    // Closing the answered connections frees descriptors: the rest get served.
    let mut rest = Vec::new();
    for (i, c) in conns.into_iter().enumerate() {
        if !answered.contains(&i) {
            rest.push(c);
        }
    }
    for c in &mut rest {
        c.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    }
    // Each served connection must go away for the next to fit.
    for mut c in rest {
        let r = c.response(false);
        assert_eq!(r.status, 200);
    }
    drop(s);
}

both!(dual_stack_bind_answers_on_ipv4_and_ipv6_loopback, |t| {
    if !support::needs_ipv6() {
        return;
    }
    let d = site();
    let s = serve(t, d.path(), &["-q", "-b", "[::]"]);
    assert!(
        s.addr.ip().is_unspecified() && s.addr.is_ipv6(),
        "{}",
        s.addr
    );
    for ip in ["127.0.0.1", "::1"] {
        let addr = SocketAddr::new(ip.parse().unwrap(), s.addr.port());
        assert_eq!(get(addr, "/a.txt").text(), "hello\n", "{ip}");
    }
});

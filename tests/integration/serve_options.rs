//! `wirecat serve`'s everyday options over the real binary: `--cors`
//! (allow-origin everywhere, preflights), the not-found page (`404.html`,
//! `--404`), `--spa`, `--cache-control` and `--qr`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::both;
use crate::support::{
    self, assert_code, assert_stderr_has, request, Client, Server, Transport, TIMEOUT,
};

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("index.html"), "<h1>app</h1>").unwrap();
    fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    d
}

fn serve(t: Transport, dir: &Path, extra: &[&str]) -> Server {
    support::serve(dir)
        .transport(t)
        .args(["-q", "--threads", "1"])
        .args(extra)
        .start()
}

fn req(method: &str, path: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n")
}

both!(
    cors_allows_any_origin_on_every_response_and_answers_preflights,
    |t| {
        let d = site();
        let s = serve(t, d.path(), &["--cors"]);
        for (path, status) in [("/a.txt", 200), ("/nope.txt", 404), ("/sub", 301)] {
            let r = request(s.addr, &req("GET", path, "Origin: http://app.test\r\n"));
            assert_eq!(r.status, status, "{path}");
            assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{path}");
        }
        let mut c = Client::new(s.addr);
        c.send(
            req(
                "OPTIONS",
                "/a.txt",
                "Origin: http://app.test\r\nAccess-Control-Request-Method: GET\r\n\
             Access-Control-Request-Headers: x-token, content-type\r\n",
            )
            .as_bytes(),
        );
        // A 204 has no body and no Content-Length: read it as a head.
        let r = c.response(true);
        assert_eq!(r.status, 204);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(
            r.header("Access-Control-Allow-Methods"),
            Some("GET, HEAD, OPTIONS")
        );
        assert_eq!(
            r.header("Access-Control-Allow-Headers"),
            Some("x-token, content-type")
        );
        assert_eq!(r.header("Access-Control-Max-Age"), Some("86400"));
        assert_eq!(r.header("Content-Length"), None);
        // A plain OPTIONS is not a preflight: today's 405 with Allow.
        let r = request(s.addr, &req("OPTIONS", "/a.txt", ""));
        assert_eq!((r.status, r.header("Allow")), (405, Some("GET, HEAD")));
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        // With --upload, a preflight for a PUT offers what the server
        // answers, so a page on another origin may upload.
        let up = serve(t, d.path(), &["--cors", "--upload"]);
        let mut c = Client::new(up.addr);
        c.send(
            req(
                "OPTIONS",
                "/new.txt",
                "Origin: http://app.test\r\nAccess-Control-Request-Method: PUT\r\n",
            )
            .as_bytes(),
        );
        let r = c.response(true);
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("Access-Control-Allow-Methods"),
            Some("GET, HEAD, PUT, POST, OPTIONS")
        );
    }
);

both!(without_cors_nothing_changes, |t| {
    let d = site();
    let s = serve(t, d.path(), &[]);
    let r = request(s.addr, &req("GET", "/a.txt", "Origin: http://app.test\r\n"));
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
    let preflight = req(
        "OPTIONS",
        "/a.txt",
        "Access-Control-Request-Method: GET\r\n",
    );
    let r = request(s.addr, &preflight);
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET, HEAD")));
});

both!(a_root_404_html_answers_missing_paths_with_404, |t| {
    let d = site();
    fs::write(d.path().join("404.html"), "<p>lost</p>").unwrap();
    let s = serve(t, d.path(), &["--cache-control", "max-age=60"]);
    for path in ["/nope", "/deep/er/nope.txt", "/a.txt/under-a-file"] {
        let r = request(s.addr, &req("GET", path, ""));
        assert_eq!(
            (r.status, r.text().as_str()),
            (404, "<p>lost</p>"),
            "{path}"
        );
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("Cache-Control"), None, "only 200/206/304 get it");
    }
    let r = request(s.addr, &req("HEAD", "/nope", ""));
    assert_eq!(r.status, 404);
    assert_eq!(r.header("Content-Length"), Some("11"));
    assert!(r.body.is_empty());
    // Other errors keep the built-in pages.
    let r = request(s.addr, &req("DELETE", "/a.txt", ""));
    assert_eq!(r.status, 405);
    assert!(!r.text().contains("lost"));
});

both!(the_404_flag_names_a_page_beneath_the_root, |t| {
    let d = site();
    fs::create_dir(d.path().join("errors")).unwrap();
    fs::write(d.path().join("errors/nf.html"), "custom").unwrap();
    let s = serve(t, d.path(), &["--404", "errors/nf.html"]);
    let r = request(s.addr, &req("GET", "/missing", ""));
    assert_eq!((r.status, r.text().as_str()), (404, "custom"));

    for (page, why) in [
        (
            "../outside.html",
            "expected a file path beneath the folder served",
        ),
        ("errors/none.html", "--404 errors/none.html"),
        ("errors", "not a regular file"),
    ] {
        let out = support::wirecat_in(d.path(), &["serve", "-p", "0", "--404", page, "."]);
        assert_code(&out, 2);
        assert_stderr_has(&out, why);
    }
});

both!(
    spa_answers_extensionless_missing_paths_with_the_root_index,
    |t| {
        let d = site();
        fs::write(d.path().join("404.html"), "lost").unwrap();
        let s = serve(t, d.path(), &["--spa"]);
        for path in ["/about", "/app/settings/", "/users/42"] {
            let r = request(s.addr, &req("GET", path, ""));
            assert_eq!(
                (r.status, r.text().as_str()),
                (200, "<h1>app</h1>"),
                "{path}"
            );
            assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        }
        // A missing asset is a real 404 (here, the site's page).
        let r = request(s.addr, &req("GET", "/missing.js", ""));
        assert_eq!((r.status, r.text().as_str()), (404, "lost"));
        // Existing files and folders are served as ever.
        assert_eq!(request(s.addr, &req("GET", "/a.txt", "")).text(), "hello\n");
        assert_eq!(request(s.addr, &req("GET", "/sub", "")).status, 301);
    }
);

both!(cache_control_on_every_200_206_and_304, |t| {
    let d = site();
    let s = serve(t, d.path(), &["--cache-control", "max-age=3600"]);
    let full = request(s.addr, &req("GET", "/a.txt", ""));
    let etag = full.header("ETag").unwrap().to_string();
    let cases = [
        ("/a.txt", String::new(), 200),
        ("/a.txt", "Range: bytes=0-1\r\n".to_string(), 206),
        ("/a.txt", format!("If-None-Match: {etag}\r\n"), 304),
        ("/", String::new(), 200),
        ("/sub/", String::new(), 200),
    ];
    for (path, extra, status) in cases {
        let mut c = Client::new(s.addr);
        c.send(req("GET", path, &extra).as_bytes());
        let r = c.response(false);
        assert_eq!(r.status, status, "{path} {extra}");
        assert_eq!(r.header("Cache-Control"), Some("max-age=3600"), "{path}");
    }
    let r = request(s.addr, &req("GET", "/nope", ""));
    assert_eq!((r.status, r.header("Cache-Control")), (404, None));

    let out = support::wirecat_in(d.path(), &["serve", "--cache-control", "a\r\nX: y", "."]);
    assert_code(&out, 2);
    assert_stderr_has(&out, "--cache-control");
});

/// The modules a `--qr` drawing shows, read back from its half blocks.
fn modules(lines: &[String]) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for l in lines {
        let (top, bottom): (Vec<bool>, Vec<bool>) = l
            .chars()
            .map(|c| match c {
                '█' => (false, false),
                '▀' => (false, true),
                '▄' => (true, false),
                ' ' => (true, true),
                other => panic!("unexpected {other:?} in {l:?}"),
            })
            .unzip();
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

both!(qr_draws_the_url_after_the_announcement, |t| {
    let d = site();
    let mut s = serve(t, d.path(), &["--qr"]);
    let url = s.url("/");
    let code =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::L).unwrap();
    let w = code.width();
    let side = w + 4;
    let lines: Vec<String> = (0..side.div_ceil(2))
        .map(|_| s.bg.lines.recv_timeout(TIMEOUT).expect("a QR line"))
        .collect();
    let rows = modules(&lines);
    let colors = code.to_colors();
    for y in 0..w {
        for x in 0..w {
            let want = colors[y * w + x] == qrcode::Color::Dark;
            assert_eq!(rows[y + 2][x + 2], want, "module ({x}, {y})");
        }
    }
    assert!(
        rows[0].iter().chain(&rows[1]).all(|dark| !dark),
        "quiet zone"
    );
    s.bg.signal("TERM");
    s.bg.wait(Duration::from_secs(10));

    // Without --qr, stdout holds the announcement only.
    let mut s = serve(t, d.path(), &[]);
    s.bg.signal("TERM");
    s.bg.wait(Duration::from_secs(10));
    let mut rest = Vec::new();
    // Disconnected once the process's stdout is closed.
    while let Ok(l) = s.bg.lines.recv_timeout(TIMEOUT) {
        rest.push(l);
    }
    assert!(rest.iter().all(|l| !l.contains('█')), "{rest:?}");
});

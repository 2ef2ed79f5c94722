//! `wirecat serve` compression end to end: Accept-Encoding negotiation,
//! precompressed sidecars, br and gzip on the fly, `Vary`, per-variant
//! ETags and 304s, Range answered from identity; decoded by curl, by
//! wirecat's own `fetch --compressed` and by the brotli and flate2 crates.

use std::fs;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::both;
use crate::support::{self, request, wirecat, Resp, Server, Transport, TIMEOUT};

/// Some 40 KiB of JavaScript-like text that compresses well.
fn script() -> Vec<u8> {
    (0..800)
        .map(|i| {
            format!(
                "export function f{i}(x) {{ return x * {i} + {}; }}\n",
                i % 7
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn serve(t: Transport, dir: &Path, extra: &[&str]) -> Server {
    support::serve(dir)
        .transport(t)
        .args(["-q", "--threads", "1"])
        .args(extra)
        .start()
}

/// `METHOD path` with extra header lines (each ending in CRLF).
fn ask(addr: SocketAddr, method: &str, path: &str, headers: &str) -> Resp {
    request(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n"),
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(data, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// `zstd` of `data`, by the zstd tool.
fn zstd(dir: &Path, name: &str) {
    let out = support::run(
        Command::new("zstd")
            .args(["-q", "-f", "-k"])
            .arg(dir.join(name)),
        TIMEOUT,
    );
    assert!(
        out.status.success(),
        "zstd is required (apt-get install zstd)"
    );
}

/// `curl --compressed` with `Accept-Encoding: coding` for `path` on `s`
/// (its pin trusted over TLS): the decoded body and the head.
fn curl_decoded(s: &Server, path: &str, coding: &str) -> (Vec<u8>, String) {
    let head = tempfile::NamedTempFile::new().unwrap();
    let pin = s.pin().map(|p| ["-k", "--pinnedpubkey", p]);
    let out = support::run(
        Command::new("curl")
            .env_remove("http_proxy")
            .args(pin.into_iter().flatten())
            .args(["-sS", "--max-time", "10", "--compressed", "-H"])
            .arg(format!("Accept-Encoding: {coding}"))
            .arg("-D")
            .arg(head.path())
            .arg(s.url(path)),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    (out.stdout, fs::read_to_string(head.path()).unwrap())
}

both!(
    every_coding_decodes_to_the_file_with_curl_fetch_and_a_second_decoder,
    |t| {
        let d = tempfile::tempdir().unwrap();
        let js = script();
        fs::write(d.path().join("app.js"), &js).unwrap();
        fs::write(d.path().join("data.json"), &js).unwrap();
        zstd(d.path(), "data.json");
        let s = serve(t, d.path(), &[]);
        for coding in ["br", "gzip"] {
            let r = ask(
                s.addr,
                "GET",
                "/app.js",
                &format!("Accept-Encoding: {coding}\r\n"),
            );
            assert_eq!(r.status, 200);
            assert_eq!(r.header("content-encoding"), Some(coding));
            assert_eq!(
                r.header("content-type"),
                Some("text/javascript; charset=utf-8")
            );
            assert_eq!(r.header("vary"), Some("Accept-Encoding"));
            assert!(r.body.len() < js.len() / 3, "{coding}: {}", r.body.len());
            let decoded = if coding == "br" {
                unbrotli(&r.body)
            } else {
                gunzip(&r.body)
            };
            assert!(decoded == js, "{coding}: second decoder");
            let (body, head) = curl_decoded(&s, "/app.js", coding);
            assert!(head
                .to_ascii_lowercase()
                .contains(&format!("content-encoding: {coding}")));
            assert!(body == js, "{coding}: curl");
        }
        let (body, head) = curl_decoded(&s, "/data.json", "zstd");
        assert!(
            head.to_ascii_lowercase().contains("content-encoding: zstd"),
            "{head}"
        );
        assert!(body == js, "zstd sidecar: curl");
        for ae in ["Accept-Encoding: br", "Accept-Encoding: gzip"] {
            let out = support::run(
                wirecat()
                    .args(["fetch", "--compressed", "-o", "-", "-H", ae])
                    .args(s.pin().map(|_| "-k"))
                    .arg(s.url("/app.js")),
                TIMEOUT,
            );
            assert!(out.status.success(), "{out:?}");
            assert!(out.stdout == js, "{ae}: wirecat fetch --compressed");
        }
    }
);

both!(identity_when_asked_so_and_for_what_does_not_compress, |t| {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("app.js"), script()).unwrap();
    fs::write(d.path().join("tiny.txt"), "short").unwrap();
    fs::write(d.path().join("photo.png"), script()).unwrap();
    let s = serve(t, d.path(), &[]);
    let cases = [
        ("/app.js", "", None, true),
        ("/app.js", "Accept-Encoding: identity\r\n", None, true),
        (
            "/app.js",
            "Accept-Encoding: br;q=0, gzip;q=0\r\n",
            None,
            true,
        ),
        (
            "/app.js",
            "Accept-Encoding: gzip, br;q=0.5\r\n",
            Some("gzip"),
            true,
        ),
        ("/app.js", "Accept-Encoding: *\r\n", Some("br"), true),
        ("/tiny.txt", "Accept-Encoding: br\r\n", None, false),
        ("/photo.png", "Accept-Encoding: br, gzip\r\n", None, false),
    ];
    for (path, headers, coding, vary) in cases {
        let r = ask(s.addr, "GET", path, headers);
        assert_eq!(r.status, 200, "{path} {headers:?}");
        assert_eq!(r.header("content-encoding"), coding, "{path} {headers:?}");
        assert_eq!(r.header("vary").is_some(), vary, "{path} {headers:?}");
    }
});

both!(fresh_sidecars_are_preferred_and_stale_ones_ignored, |t| {
    let d = tempfile::tempdir().unwrap();
    let js = script();
    fs::write(d.path().join("app.js"), &js).unwrap();
    let sidecar = gzip(&js);
    fs::write(d.path().join("app.js.gz"), &sidecar).unwrap();
    fs::write(d.path().join("old.js"), &js).unwrap();
    fs::write(d.path().join("old.js.gz"), gzip(b"stale")).unwrap();
    let past = SystemTime::now() - Duration::from_secs(3600);
    let old = fs::File::options()
        .write(true)
        .open(d.path().join("old.js.gz"))
        .unwrap();
    old.set_modified(past).unwrap();
    let s = serve(t, d.path(), &[]);
    // Sidecars win over compressing on the fly, even over a preferred br.
    let r = ask(s.addr, "GET", "/app.js", "Accept-Encoding: br, gzip\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.body == sidecar, "the sidecar's own bytes");
    assert_eq!(
        r.header("content-length"),
        Some(&*sidecar.len().to_string())
    );
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    // A sidecar beside a type never compressed on the fly.
    fs::write(d.path().join("pic.bmp"), &js).unwrap();
    fs::write(d.path().join("pic.bmp.gz"), &sidecar).unwrap();
    let r = ask(s.addr, "GET", "/pic.bmp", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("content-type"), Some("image/bmp"));
    let r = ask(s.addr, "GET", "/pic.bmp", "Accept-Encoding: br\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // A sidecar older than its file is not used.
    let r = ask(s.addr, "GET", "/old.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&r.body) == js, "compressed on the fly instead");
    // --no-compress keeps sidecars; a stale one then means identity.
    let s = serve(t, d.path(), &["--no-compress"]);
    let r = ask(s.addr, "GET", "/app.js", "Accept-Encoding: gzip\r\n");
    assert!(r.body == sidecar);
    let r = ask(s.addr, "GET", "/old.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.body == js);
});

both!(each_variant_has_its_etag_and_its_304, |t| {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("app.js"), script()).unwrap();
    let s = serve(t, d.path(), &[]);
    let plain = ask(s.addr, "GET", "/app.js", "");
    let br = ask(s.addr, "GET", "/app.js", "Accept-Encoding: br\r\n");
    let gz = ask(s.addr, "GET", "/app.js", "Accept-Encoding: gzip\r\n");
    let tags: Vec<String> = [&plain, &br, &gz]
        .iter()
        .map(|r| r.header("etag").unwrap().to_string())
        .collect();
    assert!(
        tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
        "{tags:?}"
    );
    assert!(tags[1].ends_with("-br\""), "{tags:?}");
    let cases = [
        (&tags[1], "Accept-Encoding: br\r\n", 304, Some("br")),
        (&tags[1], "", 200, None),
        (&tags[0], "Accept-Encoding: br\r\n", 200, Some("br")),
        (&tags[0], "", 304, None),
        (&tags[2], "Accept-Encoding: gzip\r\n", 304, Some("gzip")),
    ];
    for (tag, ae, status, coding) in cases {
        let r = ask(
            s.addr,
            "GET",
            "/app.js",
            &format!("If-None-Match: {tag}\r\n{ae}"),
        );
        assert_eq!(r.status, status, "{tag} {ae:?}");
        assert_eq!(r.header("content-encoding"), coding, "{tag} {ae:?}");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        if status == 304 {
            assert_eq!(r.header("etag"), Some(tag.as_str()));
        }
    }
});

both!(ranges_get_identity_and_head_matches_get, |t| {
    let d = tempfile::tempdir().unwrap();
    let js = script();
    fs::write(d.path().join("app.js"), &js).unwrap();
    let s = serve(t, d.path(), &[]);
    let r = ask(
        s.addr,
        "GET",
        "/app.js",
        "Accept-Encoding: br\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert!(r.body == js[..10]);
    for ae in ["", "Accept-Encoding: br\r\n", "Accept-Encoding: gzip\r\n"] {
        let get = ask(s.addr, "GET", "/app.js", ae);
        let head = ask(s.addr, "HEAD", "/app.js", ae);
        let strip = |r: &Resp| -> Vec<(String, String)> {
            r.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
                .cloned()
                .collect()
        };
        assert_eq!(strip(&get), strip(&head), "{ae:?}");
        assert!(head.body.is_empty());
    }
});

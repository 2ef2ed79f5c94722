//! `fetch --page`, `-r` and `--mirror` with `--unix-socket PATH` against
//! `wirecat serve --unix PATH`: as in curl, the socket takes every request
//! of the run (robots.txt, pages, stylesheets, images, a requisite named on
//! another host, the second run's revalidations), names go in `Host` and
//! the output folders but are never looked up (the `.test` names here
//! could not be), and a missing socket fails the crawl in one line.

use std::path::Path;
use std::process::Output;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Instant;

use crate::fetch_unix::serve_unix;
use crate::support::{assert_code, assert_stderr_has, stderr, wirecat_in, Background, TIMEOUT};

/// A page with a stylesheet (which names an image), an image, an image
/// on another host, and a link to a second page.
fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let files: [(&str, &[u8]); 5] = [
        (
            "index.html",
            b"<html><head><link rel=\"stylesheet\" href=\"style.css\"></head>\
              <body><img src=\"img/dot.png\"><img src=\"http://cdn.test/img/dot.png\">\
              <a href=\"two.html\">two</a></body></html>\n",
        ),
        ("style.css", b"body { background: url(\"img/bg.png\") }\n"),
        ("img/dot.png", b"\x89PNG dot"),
        ("img/bg.png", b"\x89PNG bg"),
        (
            "two.html",
            b"<html><body><a href=\"index.html\">back</a></body></html>\n",
        ),
    ];
    std::fs::create_dir(d.path().join("img")).unwrap();
    for (name, body) in files {
        std::fs::write(d.path().join(name), body).unwrap();
    }
    d
}

/// `wirecat fetch --unix-socket SOCK ARGS... --output-dir out` in `dir`.
fn crawl(dir: &Path, sock: &Path, args: &[&str]) -> Output {
    let mut all = vec!["fetch", "--unix-socket", sock.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend(["--output-dir", "out"]);
    wirecat_in(dir, &all)
}

/// The next `n` access-log lines of `server`, bounded by [`TIMEOUT`].
fn log_lines(server: &Background, n: usize) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    let mut lines = Vec::new();
    while lines.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.lines.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(RecvTimeoutError::Timeout) => panic!("{} of {n} log lines: {lines:?}", lines.len()),
            Err(RecvTimeoutError::Disconnected) => panic!("the server ended: {lines:?}"),
        }
    }
    lines
}

/// `"GET /x HTTP/1.1" 200` for each line, in order; each came over the socket.
fn requests(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            assert!(l.starts_with("unix: "), "{l}");
            let quoted = l.split('"').nth(1).unwrap();
            let status = l.split('"').nth(2).unwrap().split_whitespace().next();
            format!("{quoted} {}", status.unwrap())
        })
        .collect()
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn page_over_a_socket_saves_the_page_its_stylesheet_and_images() {
    let d = site();
    let (server, sock, _keep) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = crawl(
        out_dir.path(),
        &sock,
        &["--page", "http://site.test/index.html"],
    );
    assert_code(&out, 0);
    assert_stderr_has(&out, "1 pages, 4 other files");
    let mut seen = requests(&log_lines(&server, 5));
    seen.sort();
    assert_eq!(
        seen,
        [
            // The other host's image came over the same socket.
            "GET /img/bg.png HTTP/1.1 200",
            "GET /img/dot.png HTTP/1.1 200",
            "GET /img/dot.png HTTP/1.1 200",
            "GET /index.html HTTP/1.1 200",
            "GET /style.css HTTP/1.1 200",
        ]
    );
    let saved = out_dir.path().join("out");
    for name in ["style.css", "img/dot.png", "img/bg.png"] {
        assert_eq!(
            read(saved.join("site.test").join(name)),
            read(d.path().join(name))
        );
    }
    // Filed under its own host's folder, and linked there.
    assert_eq!(read(saved.join("cdn.test/img/dot.png")), b"\x89PNG dot");
    let page = String::from_utf8(read(saved.join("site.test/index.html"))).unwrap();
    assert!(page.contains("\"../cdn.test/img/dot.png\""), "{page}");
    assert!(
        !saved.join("site.test/two.html").exists(),
        "--page follows no link"
    );
}

#[test]
fn recursive_crawl_over_a_socket_follows_the_link_to_the_second_page() {
    let d = site();
    let (server, sock, _keep) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = crawl(out_dir.path(), &sock, &["-r", "http://site.test/"]);
    assert_code(&out, 0);
    assert_stderr_has(&out, "3 pages");
    let seen = requests(&log_lines(&server, 4));
    // robots.txt first (the server has none), then the pages.
    assert_eq!(seen[0], "GET /robots.txt HTTP/1.1 404");
    let mut rest = seen[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            "GET / HTTP/1.1 200",
            "GET /index.html HTTP/1.1 200",
            "GET /two.html HTTP/1.1 200"
        ]
    );
    let saved = out_dir.path().join("out/site.test");
    assert_eq!(
        read(saved.join("two.html")),
        read(d.path().join("two.html"))
    );
    let page = String::from_utf8(read(saved.join("index.html"))).unwrap();
    assert!(page.contains("href=\"two.html\""), "{page}");
}

#[test]
fn mirror_over_a_socket_revalidates_on_the_second_run() {
    let d = site();
    let (server, sock, _keep) = serve_unix(d.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let args = ["--mirror", "--no-robots", "http://site.test/two.html"];
    let out = crawl(out_dir.path(), &sock, &args);
    assert_code(&out, 0);
    let first = requests(&log_lines(&server, 2));
    assert_eq!(
        first,
        ["GET /two.html HTTP/1.1 200", "GET /index.html HTTP/1.1 200"]
    );
    let out = crawl(out_dir.path(), &sock, &args);
    assert_code(&out, 0);
    assert_stderr_has(&out, "0 bytes");
    let again = requests(&log_lines(&server, 2));
    assert_eq!(
        again,
        ["GET /two.html HTTP/1.1 304", "GET /index.html HTTP/1.1 304"]
    );
}

#[test]
fn a_crawl_with_no_socket_there_fails_in_one_line() {
    let out_dir = tempfile::tempdir().unwrap();
    let sock = out_dir.path().join("nobody.sock");
    for args in [
        &["--page", "http://site.test/"][..],
        &["-r", "http://site.test/"][..],
        &["--mirror", "http://site.test/"][..],
    ] {
        let out = crawl(out_dir.path(), &sock, args);
        assert_code(&out, 11);
        let want = format!(
            "wirecat: http://site.test/: could not connect to unix socket {}: no such file",
            sock.display()
        );
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("could not")).collect();
        assert_eq!(lines, [want.as_str()], "{args:?}: {err}");
    }
}

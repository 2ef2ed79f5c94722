//! `fetch --page`, `fetch -r` and `fetch --mirror` over the real binary:
//! against `wirecat serve`, and against a tiny in-test site server (a
//! second "host" on another loopback port, link traps, robots.txt,
//! counting requests and connections). Fixtures use plain double-quoted
//! `href="..."`/`src="..."` so any conforming parser finds the same.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{
    self, assert_code, assert_stderr_has, listen, read_request_head, stderr, stdout, wirecat_in,
    Listening,
};

/// `wirecat fetch ARGS...` in `dir`.
fn fetch(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    wirecat_in(dir, &all)
}

type Route = (u16, &'static str, String, Vec<(String, String)>);

/// A keep-alive site: `route(target)` answers each request; every request
/// target is recorded, and the most connections open at once counted.
struct Site {
    server: Listening,
    seen: Arc<Mutex<Vec<String>>>,
    peak: Arc<AtomicUsize>,
}

impl Site {
    fn start(delay: Duration, route: impl Fn(&str) -> Route + Send + Sync + 'static) -> Site {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (open, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, o, p) = (seen.clone(), open.clone(), peak.clone());
        let server = listen(move |conn| {
            let now = o.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            while let Some(head) = read_request_head(&mut r) {
                let target = head.split(' ').nth(1).unwrap_or("").to_string();
                s.lock().unwrap().push(target.clone());
                std::thread::sleep(delay);
                let (status, ct, body, extra) = route(&target);
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                resp.push_str(&body);
                if w.write_all(resp.as_bytes()).is_err() {
                    break;
                }
            }
            o.fetch_sub(1, Ordering::SeqCst);
        });
        Site { server, seen, peak }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    fn dir(&self) -> String {
        format!("127.0.0.1_{}", self.server.addr.port())
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn ok(ct: &'static str, body: impl Into<String>) -> Route {
    (200, ct, body.into(), Vec::new())
}

fn not_found() -> Route {
    (404, "text/plain", "no".into(), Vec::new())
}

/// A fixture site on disk for `wirecat serve`.
fn write_site(root: &Path, files: &[(&str, &str)]) {
    for (path, body) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, body).unwrap();
    }
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn page_saves_requisites_on_two_hosts_and_leaves_failures_absolute() {
    let other = Site::start(Duration::ZERO, |t| match t {
        "/logo.png" => ok("image/png", "PNG"),
        "/moved.png" => (
            301,
            "text/plain",
            String::new(),
            vec![("Location".into(), "/real.png".into())],
        ),
        "/real.png" => ok("image/png", "REAL"),
        _ => not_found(),
    });
    let srv = tempfile::tempdir().unwrap();
    let page = format!(
        "<html><head><link rel=\"stylesheet\" href=\"css/style.css\"></head><body>\
         <img src=\"img/a.png\"><img src=\"{}\"><img src=\"{}\"><img src=\"gone.png\">\
         <a href=\"other.html\">other</a></body></html>",
        other.url("/logo.png"),
        other.url("/moved.png"),
    );
    write_site(
        srv.path(),
        &[
            ("index.html", &page),
            (
                "css/style.css",
                "@import \"more.css\";\nbody{background:url(\"../img/bg.png\")}",
            ),
            (
                "css/more.css",
                "@import \"style.css\";\np{background:url(\"../img/p.png\")}",
            ),
            ("img/a.png", "A"),
            ("img/bg.png", "BG"),
            ("img/p.png", "P"),
            ("other.html", "<p>not fetched</p>"),
        ],
    );
    let server = support::serve(srv.path()).start();
    let out_dir = tempfile::tempdir().unwrap();
    let out = fetch(
        out_dir.path(),
        &["--page", "--output-dir", "saved", &server.url("/")],
    );
    assert_code(&out, 11);
    let gone = server.url("/gone.png");
    assert_stderr_has(&out, &format!("wirecat: {gone}"));
    assert_stderr_has(&out, "1 failed");
    let host = format!("saved/127.0.0.1_{}", server.addr.port());
    assert_eq!(stdout(&out).trim(), format!("{host}/index.html"));
    let root = out_dir.path();
    let html = read(root.join(&host).join("index.html"));
    assert!(html.contains("href=\"css/style.css\""), "{html}");
    assert!(html.contains("src=\"img/a.png\""), "{html}");
    let o = other.dir();
    assert!(html.contains(&format!("src=\"../{o}/logo.png\"")), "{html}");
    assert!(html.contains(&format!("src=\"../{o}/real.png\"")), "{html}");
    assert!(html.contains(&format!("src=\"{gone}\"")), "{html}");
    assert!(
        html.contains(&format!("href=\"{}\"", server.url("/other.html"))),
        "{html}"
    );
    for (path, body) in [
        ("img/bg.png", "BG"),
        ("img/p.png", "P"),
        ("css/more.css", ""),
    ] {
        let got = read(root.join(&host).join(path));
        assert!(got.contains(body), "{path}");
    }
    assert_eq!(read(root.join("saved").join(&o).join("real.png")), "REAL");
    assert!(!root.join(&host).join("other.html").exists());
    assert!(!root.join("saved/.wirecat-crawl").exists());
}

#[test]
fn page_with_everything_saved_exits_zero() {
    let srv = tempfile::tempdir().unwrap();
    write_site(
        srv.path(),
        &[("p/index.html", "<img src=\"x.png\">"), ("p/x.png", "X")],
    );
    let server = support::serve(srv.path()).start();
    let out_dir = tempfile::tempdir().unwrap();
    let out = fetch(out_dir.path(), &["--page", "-q", &server.url("/p/")]);
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "");
    let host = format!("127.0.0.1_{}", server.addr.port());
    assert_eq!(read(out_dir.path().join(&host).join("p/x.png")), "X");
}

#[test]
fn recursion_keeps_depth_folder_robots_and_nofollow() {
    let site = Site::start(Duration::ZERO, |t| match t {
        "/robots.txt" => ok("text/plain", "User-agent: *\nDisallow: /d/secret\n"),
        "/d/" => ok(
            "text/html",
            "<a href=\"one.html\">1</a><a href=\"/up.html\">up</a><a href=\"secret.html\">s</a>\
             <a rel=\"nofollow\" href=\"nf.html\">n</a><a href=\"skip.bin\">b</a>",
        ),
        "/d/one.html" => ok("text/html", "<a href=\"two.html\">2</a>"),
        "/d/two.html" => ok("text/html", "<a href=\"three.html\">3</a>"),
        "/d/three.html" => ok("text/html", "end"),
        _ => ok("text/html", "unexpected"),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &["-r", "-l", "2", "--reject", "*.bin", &site.url("/d/")],
    );
    assert_code(&out, 0);
    let seen = site.seen();
    assert_eq!(seen.first().map(String::as_str), Some("/robots.txt"));
    let mut rest = seen[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["/d/", "/d/one.html", "/d/two.html"]);
    assert!(dir.path().join(site.dir()).join("d/two.html").exists());
    let two = read(dir.path().join(site.dir()).join("d/one.html"));
    assert!(two.contains("href=\"two.html\""), "{two}");

    let again = tempfile::tempdir().unwrap();
    let out = fetch(
        again.path(),
        &[
            "-r",
            "--no-robots",
            "-l",
            "1",
            "--accept",
            "s*",
            &site.url("/d/"),
        ],
    );
    assert_code(&out, 0);
    assert!(again.path().join(site.dir()).join("d/secret.html").exists());
    assert!(!again.path().join(site.dir()).join("d/one.html").exists());
}

#[test]
fn a_link_trap_ends_at_max_files() {
    let site = Site::start(Duration::ZERO, |t| {
        let n: u64 = t
            .rsplit('=')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        ok(
            "text/html",
            format!("<a href=\"/cal?page={}\">next</a>", n + 1),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &[
            "-r",
            "--no-robots",
            "-l",
            "inf",
            "--max-files",
            "7",
            &site.url("/cal?page=0"),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(site.seen().len(), 7);
    assert_stderr_has(&out, "--max-files");
}

#[test]
fn each_url_is_fetched_once_whatever_its_spelling() {
    let site = Site::start(Duration::ZERO, |t| match t {
        "/dir/" => ok(
            "text/html",
            "<a href=\"./a\">1</a><a href=\"a\">2</a><a href=\"/dir/a\">3</a>\
             <a href=\"/dir/./a\">4</a><a href=\"/dir/../dir/a#x\">5</a>",
        ),
        _ => ok("text/plain", "a"),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-r", "--no-robots", &site.url("/dir/")]);
    assert_code(&out, 0);
    assert_eq!(site.seen(), ["/dir/", "/dir/a"]);
}

#[test]
fn at_most_six_connections_to_one_host() {
    let site = Site::start(Duration::from_millis(30), |t| match t {
        "/" => ok(
            "text/html",
            (0..30)
                .map(|i| format!("<img src=\"/i{i}.png\">"))
                .collect::<String>(),
        ),
        _ => ok("image/png", "I"),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["--page", "-P", "16", &site.url("/")]);
    assert_code(&out, 0);
    assert_eq!(site.seen().len(), 31);
    let peak = site.peak.load(Ordering::SeqCst);
    assert!((2..=6).contains(&peak), "peak {peak}");
}

#[test]
fn mirror_revalidates_and_leaves_unchanged_files_alone() {
    let srv = tempfile::tempdir().unwrap();
    write_site(
        srv.path(),
        &[
            ("m/index.html", "<a href=\"b.html\">b</a>"),
            ("m/b.html", "b"),
        ],
    );
    let server = support::serve(srv.path()).start();
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["--mirror", "--no-robots", &server.url("/m/")]);
    assert_code(&out, 0);
    let host = dir.path().join(format!("127.0.0.1_{}", server.addr.port()));
    let mtimes = |p: &str| std::fs::metadata(host.join(p)).unwrap().modified().unwrap();
    let before: HashMap<&str, _> = ["m/index.html", "m/b.html"]
        .iter()
        .map(|p| (*p, mtimes(p)))
        .collect();
    assert!(dir.path().join(".wirecat-mirror").exists());
    let out = fetch(dir.path(), &["--mirror", "--no-robots", &server.url("/m/")]);
    assert_code(&out, 0);
    assert_stderr_has(&out, "0 bytes");
    for (p, t) in before {
        assert_eq!(mtimes(p), t, "{p} was written again");
    }
}

#[test]
fn r_with_a_range_points_at_range_before_any_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-r", "0-99", "http://127.0.0.1:9/x"]);
    assert_code(&out, 2);
    assert_stderr_has(&out, "use --range 0-99");
}

#[test]
fn frames_are_pages_and_big_pages_are_not_parsed() {
    let site = Site::start(Duration::ZERO, |t| match t {
        "/" => ok(
            "text/html",
            "<iframe src=\"/f.html\"></iframe><img src=\"/top.png\">",
        ),
        "/f.html" => ok(
            "text/html",
            "<img src=\"/in-frame.png\"><a href=\"/away.html\">a</a>",
        ),
        "/big.html" => ok(
            "text/html",
            format!("<img src=\"/never.png\">{}", "x".repeat(4096)),
        ),
        "/ftp.png" => (
            302,
            "text/plain",
            String::new(),
            vec![("Location".into(), "ftp://127.0.0.1/x.png".into())],
        ),
        _ => ok("image/png", "I"),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["--page", &site.url("/")]);
    assert_code(&out, 0);
    let mut seen = site.seen();
    seen.sort();
    assert_eq!(seen, ["/", "/f.html", "/in-frame.png", "/top.png"]);
    let frame = read(dir.path().join(site.dir()).join("f.html"));
    assert!(frame.contains("src=\"in-frame.png\""), "{frame}");
    assert!(
        frame.contains(&format!("href=\"{}\"", site.url("/away.html"))),
        "{frame}"
    );

    let big = tempfile::tempdir().unwrap();
    let out = fetch(
        big.path(),
        &["--page", "--max-page-size", "1K", &site.url("/big.html")],
    );
    assert_code(&out, 0);
    assert!(big.path().join(site.dir()).join("big.html").exists());
    assert!(!site.seen().contains(&"/never.png".to_string()));
}

#[test]
fn a_redirect_to_another_scheme_is_not_followed() {
    let site = Site::start(Duration::ZERO, |t| match t {
        "/" => ok("text/html", "<img src=\"/ftp.png\">"),
        _ => (
            302,
            "text/plain",
            String::new(),
            vec![("Location".into(), "ftp://127.0.0.1:9/x.png".into())],
        ),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["--page", &site.url("/")]);
    assert_code(&out, 11);
    assert_stderr_has(&out, "wirecat: ");
    let html = read(dir.path().join(site.dir()).join("index.html"));
    assert!(
        html.contains(&format!("src=\"{}\"", site.url("/ftp.png"))),
        "{html}"
    );
}

#[test]
fn recursive_page_saves_each_pages_requisites() {
    let site = Site::start(Duration::ZERO, |t| match t {
        "/s/" => ok("text/html", "<a href=\"b.html\">b</a><img src=\"a.png\">"),
        "/s/b.html" => ok("text/html", "<img src=\"/elsewhere/b.png\">"),
        _ => ok("image/png", "I"),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &["-r", "--page", "--no-robots", &site.url("/s/")],
    );
    assert_code(&out, 0);
    let mut seen = site.seen();
    seen.sort();
    assert_eq!(seen, ["/elsewhere/b.png", "/s/", "/s/a.png", "/s/b.html"]);
    let b = read(dir.path().join(site.dir()).join("s/b.html"));
    assert!(b.contains("src=\"../elsewhere/b.png\""), "{b}");
    assert_stderr_has(&out, "2 pages, 2 other files");
}

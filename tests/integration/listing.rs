//! `serve`'s friendlier side, end to end over the real binary: listings
//! that sort from their column heads, count what they hold and date
//! entries in UTC; error pages in HTML, JSON or plain text by Accept; and
//! the start-up mistakes (`serve 8000`, a busy port, a missing folder)
//! answered with what to type instead.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crate::both;
use crate::support::{self, assert_code, request, stderr, wirecat_in, Resp, Server, Transport};

fn serve(t: Transport, dir: &Path) -> Server {
    support::serve(dir)
        .transport(t)
        .args(["-q", "--threads", "1"])
        .start()
}

/// `METHOD path` with `Accept: accept` (none when empty), read by framing.
fn ask(addr: SocketAddr, method: &str, path: &str, accept: &str) -> Resp {
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("Accept: {accept}\r\n")
    };
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{accept}Connection: close\r\n\r\n");
    if method == "HEAD" {
        let mut c = support::Client::new(addr);
        c.send(raw.as_bytes());
        return c.response(true);
    }
    request(addr, &raw)
}

/// Files with set sizes and modification times, and two folders.
/// name, size, seconds since the epoch
const TABLE: &[(&str, usize, u64)] = &[
    ("b-middle.txt", 2000, 1_795_991_233), // 2026-11-29 22:27:13 UTC
    ("a-small.txt", 10, 1_600_000_000),    // 2020-09-13 12:26:40 UTC
    ("c-large.bin", 50_000, 1_700_000_000), // 2023-11-14 22:13:20 UTC
];

fn tabled_site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let set = |f: File, secs: u64| {
        f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap()
    };
    for &(name, len, secs) in TABLE {
        let path = d.path().join(name);
        fs::write(&path, vec![b'x'; len]).unwrap();
        set(File::options().write(true).open(&path).unwrap(), secs);
    }
    // The older folder sorts last by name: time orders differ from name's.
    for (name, secs) in [("z-folder", 1_000_000_000), ("a-folder", 1_100_000_000)] {
        fs::create_dir(d.path().join(name)).unwrap();
        set(File::open(d.path().join(name)).unwrap(), secs);
    }
    d
}

/// The entry names of an HTML listing, in page order.
fn shown_names(html: &str) -> Vec<String> {
    html.split("<tr><td><a href=\"./")
        .skip(1)
        .map(|row| {
            let start = row.find("\">").unwrap() + 2;
            let end = row.find("</a>").unwrap();
            row[start..end].trim_end_matches('/').to_string()
        })
        .collect()
}

both!(listing_sorts_by_name_size_or_time_folders_first, |t| {
    let d = tabled_site();
    let s = serve(t, d.path());
    let cases = [
        (
            "/",
            "a-folder z-folder a-small.txt b-middle.txt c-large.bin",
        ),
        (
            "/?sort=name&order=desc",
            "z-folder a-folder c-large.bin b-middle.txt a-small.txt",
        ),
        (
            "/?sort=size",
            "a-folder z-folder a-small.txt b-middle.txt c-large.bin",
        ),
        (
            "/?sort=size&order=desc",
            "a-folder z-folder c-large.bin b-middle.txt a-small.txt",
        ),
        (
            "/?sort=time&order=desc",
            "a-folder z-folder b-middle.txt c-large.bin a-small.txt",
        ),
        (
            "/?sort=time&order=asc",
            "z-folder a-folder a-small.txt c-large.bin b-middle.txt",
        ),
        // Bad values fall back to the default; never an error.
        (
            "/?sort=%3Cx%3E&order=up",
            "a-folder z-folder a-small.txt b-middle.txt c-large.bin",
        ),
        (
            "/?sort=&order",
            "a-folder z-folder a-small.txt b-middle.txt c-large.bin",
        ),
    ];
    for (target, want) in cases {
        let r = ask(s.addr, "GET", target, "");
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(shown_names(&r.text()).join(" "), want, "{target}");
    }
    // The JSON listing takes the same order.
    let r = ask(s.addr, "GET", "/?sort=size&order=desc", "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<&str> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "a-folder",
            "z-folder",
            "c-large.bin",
            "b-middle.txt",
            "a-small.txt"
        ]
    );
});

both!(
    listing_heads_link_orders_and_show_counts_and_utc_dates,
    |t| {
        let d = tabled_site();
        let s = serve(t, d.path());
        let html = ask(s.addr, "GET", "/", "").text();
        // Column heads are links: no script needed to sort.
        for link in [
            "<a href=\"?sort=name&amp;order=desc\">Name \u{25b2}</a>",
            "<a href=\"?sort=size&amp;order=desc\">Size</a>",
            "<a href=\"?sort=time&amp;order=desc\">Modified (UTC)</a>",
        ] {
            assert!(html.contains(link), "{link}: {html}");
        }
        let sorted = ask(s.addr, "GET", "/?sort=size&order=desc", "").text();
        assert!(
            sorted.contains("<a href=\"?sort=size&amp;order=asc\">Size \u{25bc}</a>"),
            "{sorted}"
        );
        // 2 folders, 3 files, 52,010 bytes.
        assert!(
            html.contains(
                "2 folders, 3 files, <span title=\"52010 bytes\">50.8 KiB</span> in total"
            ),
            "{html}"
        );
        // Dates as people read them, the full one in the title.
        assert!(
            html.contains(concat!(
                "<time datetime=\"2026-11-29T22:27:13Z\" title=\"2026-11-29 22:27:13 UTC\">",
                "2026-11-29 22:27</time>"
            )),
            "{html}"
        );
        // A phone-sized, dark-aware page with a filter box only a script shows.
        assert!(html
            .contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
        assert!(html.contains("@media (prefers-color-scheme:dark)"));
        assert!(
            html.contains("table{border-collapse:collapse"),
            "the listing's own style"
        );
        assert!(html.contains("<input id=\"filter\" type=\"search\""));
        assert!(html.contains("aria-label=\"Filter names\" hidden>"));
        assert!(html.contains("f.hidden=false"));
        // A folder: its own counts, and the way up is not an entry.
        let sub = ask(s.addr, "GET", "/a-folder/", "").text();
        assert!(
            sub.contains("0 folders, 0 files, <span title=\"0 bytes\">0 B</span>"),
            "{sub}"
        );
        assert!(
            sub.contains("<tr class=\"up\"><td><a href=\"../\">../</a>"),
            "{sub}"
        );
    }
);

both!(json_listing_gives_rfc3339_beside_the_seconds, |t| {
    let d = tabled_site();
    let s = serve(t, d.path());
    let r = ask(s.addr, "GET", "/", "application/json");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let entry = |name: &str| {
        j["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {j}"))
            .clone()
    };
    for &(name, len, secs) in TABLE {
        let e = entry(name);
        assert_eq!(e["modified"], secs, "{name}");
        assert_eq!(e["size"], len, "{name}");
        let want = match name {
            "b-middle.txt" => "2026-11-29T22:27:13Z",
            "a-small.txt" => "2020-09-13T12:26:40Z",
            _ => "2023-11-14T22:13:20Z",
        };
        assert_eq!(e["modified_rfc3339"], want, "{name}");
    }
    assert!(entry("a-folder")["modified_rfc3339"].is_string());
});

both!(error_pages_follow_accept_in_html_json_or_text, |t| {
    let d = tabled_site();
    let s = serve(t, d.path());
    let html_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for accept in ["", "*/*", html_accept] {
        let r = ask(s.addr, "GET", "/missing.txt", accept);
        assert_eq!(r.status, 404);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("vary"), Some("Accept"));
        let page = r.text();
        assert!(page.contains("<title>404 Not Found</title>"), "{page}");
        assert!(
            page.contains("<a href=\"/\">"),
            "a link to the root: {page}"
        );
        assert!(page.contains("prefers-color-scheme"), "{page}");
        assert!(page.len() < 1500, "small: {} bytes", page.len());
    }
    let r = ask(s.addr, "GET", "/missing.txt", "text/plain");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "404 Not Found\n");
    let r = ask(s.addr, "GET", "/missing.txt", "application/json");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), "{\"status\":404,\"error\":\"Not Found\"}\n");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["status"], 404);
    // Other statuses: 405, 400 (a NUL in the path), 416.
    let r = ask(s.addr, "DELETE", "/a-small.txt", "application/json");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        r.text(),
        "{\"status\":405,\"error\":\"Method Not Allowed\"}\n"
    );
    let r = ask(s.addr, "GET", "/%00", "");
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("<h1>400 Bad Request</h1>"),
        "{}",
        r.text()
    );
    let raw = "GET /a-small.txt HTTP/1.1\r\nHost: t\r\nAccept: text/plain\r\n\
               Range: bytes=500-600\r\nConnection: close\r\n\r\n";
    let r = request(s.addr, raw);
    assert_eq!(
        (r.status, r.text().as_str()),
        (416, "416 Range Not Satisfiable\n")
    );
    // A request whose head is refused still gets the page.
    let r = request(s.addr, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    // A redirect stays plain text.
    let r = ask(s.addr, "GET", "/a-folder", "");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
});

both!(error_pages_answer_head_with_the_same_headers, |t| {
    let d = tabled_site();
    let s = serve(t, d.path());
    for accept in ["", "text/plain", "application/json"] {
        let get = ask(s.addr, "GET", "/missing.txt", accept);
        let head = ask(s.addr, "HEAD", "/missing.txt", accept);
        assert_eq!(head.status, 404);
        assert!(head.body.is_empty());
        for name in ["content-type", "content-length", "vary"] {
            assert_eq!(head.header(name), get.header(name), "{name} for {accept:?}");
        }
        assert_eq!(
            get.header("content-length"),
            Some(get.body.len().to_string().as_str())
        );
    }
});

both!(a_forbidden_file_gets_the_403_page, |t| {
    let d = tabled_site();
    let secret = d.path().join("secret.txt");
    fs::write(&secret, "s").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&secret).is_ok() {
        support::skip("running as root: a mode-000 file is still readable");
        return;
    }
    let s = serve(t, d.path());
    let r = ask(s.addr, "GET", "/secret.txt", "");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<h1>403 Forbidden</h1>"), "{}", r.text());
    let r = ask(s.addr, "GET", "/secret.txt", "application/json");
    assert_eq!(r.text(), "{\"status\":403,\"error\":\"Forbidden\"}\n");
});

#[test]
fn serve_a_port_number_says_to_use_p() {
    let d = tempfile::tempdir().unwrap();
    let out = wirecat_in(d.path(), &["serve", "8000"]);
    assert_code(&out, 2);
    assert_eq!(
        stderr(&out),
        "wirecat: 8000 is not a folder; did you mean -p 8000?\n"
    );
}

#[test]
fn serve_on_a_busy_port_suggests_p_0() {
    let d = tempfile::tempdir().unwrap();
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = wirecat_in(d.path(), &["serve", "-q", "-p", &port, "."]);
    assert_code(&out, 1);
    assert_eq!(
        stderr(&out),
        format!(
            "wirecat: cannot listen on 127.0.0.1:{port}: Address already in use; \
             -p 0 picks a free port\n"
        )
    );
}

#[test]
fn serve_a_missing_folder_or_a_file_is_exit_12() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("page.html"), "x").unwrap();
    let cases = [
        (
            "no-such-folder",
            "wirecat: cannot serve no-such-folder: no such folder\n",
        ),
        (
            "page.html",
            "wirecat: cannot serve page.html: not a folder\n",
        ),
    ];
    for (dir, want) in cases {
        let out = wirecat_in(d.path(), &["serve", "-p", "0", dir]);
        assert_code(&out, 12);
        assert_eq!(stderr(&out), want, "{dir}");
    }
    let help = support::stdout(&wirecat_in(d.path(), &["--help"]));
    assert!(
        help.contains(
            "  12   serve: the folder does not exist, is not a folder, or cannot be read"
        ),
        "{help}"
    );
}

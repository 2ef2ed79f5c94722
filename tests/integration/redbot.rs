//! REDbot (PyPI `redbot`, scripts/deps installs it) checks `wirecat serve`
//! on 127.0.0.1: a text file compressed on the fly, one with a
//! precompressed `.gz` sidecar and a binary file sent as is. REDbot asks
//! for the URL it is given only (no `--assets`), and the access log proves
//! it asked nothing else; its HAR output carries every note with a level,
//! and no note may be BAD.

use std::fs;
use std::io::Write;
use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use crate::support::{self, pseudo_random, Server};

/// REDbot makes a handful of requests (conneg, range, validation); on a
/// busy machine starting Python is the slow part.
const REDBOT_TIMEOUT: Duration = Duration::from_secs(60);

fn redbot_missing() -> bool {
    let found = Command::new("redbot").arg("--help").output();
    if found.is_ok_and(|o| o.status.success()) {
        return false;
    }
    support::skip("redbot is not installed (scripts/deps: pip install redbot)");
    true
}

/// Some 12 KiB of text that compresses well.
fn text() -> String {
    (0..300)
        .map(|i| format!("line {i}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("notes.txt"), text()).unwrap();
    let css = text().replace("line", ".rule");
    fs::write(d.path().join("style.css"), &css).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(css.as_bytes()).unwrap();
    fs::write(d.path().join("style.css.gz"), gz.finish().unwrap()).unwrap();
    fs::write(d.path().join("data.bin"), pseudo_random(20_000, 13)).unwrap();
    d
}

/// One REDbot note: (level, id, summary).
type Note = (String, String, String);

/// REDbot's notes for `url` (its HAR output), and the response headers.
fn redbot(url: &str) -> (Vec<Note>, Vec<(String, String)>) {
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    let out = support::run(
        Command::new("redbot")
            .args(["-o", "har", url])
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY"),
        REDBOT_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "redbot {url}: {}",
        support::stderr(&out)
    );
    let har: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("redbot's HAR for {url}: {e}: {}", support::stdout(&out)));
    let entry = &har["log"]["entries"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let notes = entry["_red_messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no notes for {url}: {har}"))
        .iter()
        .map(|n| (text(&n["level"]), text(&n["note_id"]), text(&n["summary"])))
        .collect();
    let headers = entry["response"]["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                text(&h["name"]).to_ascii_lowercase(),
                text(&h["value"]).trim().to_string(),
            )
        })
        .collect();
    (notes, headers)
}

/// The access-log lines that arrived so far (they follow the responses).
fn logged(server: &Server) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        match server.bg.lines.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => lines.push(line),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return lines,
        }
    }
}

#[test]
fn redbot_finds_nothing_bad_compressed_or_not() {
    if redbot_missing() {
        return;
    }
    let d = site();
    let server = support::serve(d.path()).args(["--threads", "1"]).start();
    for (path, coded) in [
        ("/notes.txt", true),
        ("/style.css", true),
        ("/data.bin", false),
    ] {
        let (notes, headers) = redbot(&server.url(path));
        let bad: Vec<&Note> = notes.iter().filter(|n| n.0 == "BAD").collect();
        assert!(
            bad.is_empty(),
            "{path}: REDbot says {bad:#?}\nall: {notes:#?}"
        );
        let ids: Vec<&str> = notes.iter().map(|n| n.1.as_str()).collect();
        let vary = headers
            .iter()
            .any(|(k, v)| k == "vary" && v == "Accept-Encoding");
        assert_eq!(vary, coded, "{path}: {headers:?}");
        if coded {
            assert!(ids.contains(&"CONNEG_GZIP_GOOD"), "{path}: {ids:?}");
        }
        for id in ["INM_304", "IMS_304", "RANGE_CORRECT", "CL_CORRECT"] {
            assert!(ids.contains(&id), "{path}: no {id} in {ids:?}");
        }
        let log = logged(&server);
        assert!(!log.is_empty(), "{path}: nothing logged");
        for line in log {
            assert!(
                line.starts_with("127.0.0.1 ")
                    && line.contains(&format!("\"GET {path} HTTP/1.1\"")),
                "{path}: REDbot asked for something else: {line}"
            );
        }
    }
}

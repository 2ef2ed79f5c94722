//! Inspection a machine can read, end to end: `headers --json` and
//! `fetch --json-meta` validated field by field on a redirect chain of two
//! hops (plain, then TLS), and `-w` compared with `curl -w` against the
//! same local server (strings equal, times within a tolerance).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::support::{
    assert_code, assert_stderr_has, listen, reply, run, stdout, test_ca, wirecat, wirecat_in,
    TestServer, TIMEOUT,
};

/// A TLS server answering 200 with a non-UTF-8 header value, and a plain
/// one redirecting to it: two hops, the second over TLS. The path is the
/// CA file to trust, in `dir`.
fn chain(dir: &std::path::Path) -> (TestServer, TestServer, String) {
    let pki = test_ca();
    let ca = pki.ca_file(dir).to_str().unwrap().to_string();
    let tls = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), |_| {
        reply(b"HTTP/1.1 200 Fine\r\nX-Odd-CASE: one\r\nx-latin: caf\xe9\r\nX-Odd-CASE: two\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
    });
    let target = tls.url("/final");
    let plain = TestServer::start(None, move |_| {
        reply(format!(
            "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
        ))
    });
    (plain, tls, ca)
}

fn secs(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{v} is not a number of seconds"))
}

/// Checks one hop's fields against what the server sent.
fn check_hop(hop: &Value, server: &TestServer, path: &str, status: u64, reason: &str) {
    assert_eq!(hop["url"], server.url(path));
    assert_eq!(hop["remote_ip"], "127.0.0.1");
    assert_eq!(hop["remote_port"], server.addr.port());
    assert_eq!(hop["http_version"], "HTTP/1.1");
    assert_eq!(hop["status"], status);
    assert_eq!(hop["reason"], reason);
    let t = &hop["timings"];
    let (lookup, connect) = (secs(&t["lookup"]), secs(&t["connect"]));
    let (sent, first, total) = (
        secs(&t["request_sent"]),
        secs(&t["first_byte"]),
        secs(&t["total"]),
    );
    let tls = match server.tls {
        true => secs(&t["tls"]),
        false => {
            assert!(t["tls"].is_null(), "{t}");
            connect
        }
    };
    let order = [lookup, connect, tls, sent, first, total];
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{t}");
    assert!(total < TIMEOUT.as_secs_f64(), "{t}");
}

#[test]
fn headers_json_describes_every_hop() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, tls, ca) = chain(dir.path());
    let out = wirecat_in(
        dir.path(),
        &[
            "headers",
            "--get",
            "-L",
            "--json",
            "--cacert",
            &ca,
            &plain.url("/start"),
        ],
    );
    assert_code(&out, 0);
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["url"], plain.url("/start"));
    assert_eq!(doc["url_effective"], tls.url("/final"));
    assert_eq!(doc["http_code"], 200);
    assert_eq!(doc["num_redirects"], 1);
    assert!(doc["error"].is_null());
    let hops = doc["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{doc}");
    check_hop(&hops[0], &plain, "/start", 302, "Found");
    assert_eq!(
        hops[0]["headers"],
        serde_json::json!([["Location", tls.url("/final")], ["Content-Length", "0"]])
    );
    assert!(hops[0]["tls"].is_null());
    check_hop(&hops[1], &tls, "/final", 200, "Fine");
    // As received: case, order and repeats kept; not UTF-8 as bytes.
    assert_eq!(
        hops[1]["headers"],
        serde_json::json!([
            ["X-Odd-CASE", "one"],
            ["x-latin", [99, 97, 102, 233]],
            ["X-Odd-CASE", "two"],
            ["Content-Type", "text/plain"],
            ["Content-Length", "5"]
        ])
    );
    let facts = &hops[1]["tls"];
    assert!(
        ["TLSv1.2", "TLSv1.3"].contains(&facts["version"].as_str().unwrap()),
        "{facts}"
    );
    assert!(
        facts["cipher"].as_str().unwrap().starts_with("TLS"),
        "{facts}"
    );
    assert_eq!(facts["alpn"], "http/1.1");
    assert_eq!(facts["subject"], "CN=127.0.0.1");
    assert_eq!(facts["issuer"], "CN=wirecat https test CA");
    assert_eq!(facts["not_after"], "4000-01-01T00:00:00Z");
}

#[test]
fn fetch_json_meta_says_where_the_body_went() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, tls, ca) = chain(dir.path());
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--json-meta",
            "meta.json",
            "-o",
            "got.txt",
            "--cacert",
            &ca,
            &plain.url("/start"),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("got.txt")).unwrap(), b"hello");
    let text = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["size_download"], 5);
    assert_eq!(doc["filename_effective"], "got.txt");
    assert_eq!(doc["http_code"], 200);
    assert_eq!(doc["hops"].as_array().unwrap().len(), 2);
    check_hop(&doc["hops"][1], &tls, "/final", 200, "Fine");
    assert!(secs(&doc["time_total"]) >= secs(&doc["hops"][1]["timings"]["total"]));
}

#[test]
fn a_failed_transfer_still_writes_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(None, |_| {
        reply("HTTP/1.1 404 Gone Away\r\nContent-Length: 0\r\n\r\n")
    });
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--json-meta", "-", "-q", &server.url("/x")],
    );
    assert_code(&out, 7);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["http_code"], 404);
    assert_eq!(doc["hops"][0]["reason"], "Gone Away");
    assert!(doc["error"].as_str().unwrap().contains("404"), "{doc}");
}

/// The variables compared with curl, and whether each is a time.
const COMPARED: [(&str, bool); 13] = [
    ("http_code", false),
    ("url_effective", false),
    ("size_download", false),
    ("num_redirects", false),
    ("remote_ip", false),
    ("remote_port", false),
    ("content_type", false),
    ("filename_effective", false),
    ("time_namelookup", true),
    ("time_connect", true),
    ("time_appconnect", true),
    ("time_starttransfer", true),
    ("time_total", true),
];

fn curl_available() -> bool {
    let there = Command::new("curl").arg("--version").output().is_ok();
    if !there {
        crate::support::skip("curl is not installed");
    }
    there
}

#[test]
fn write_out_agrees_with_curl() {
    if !curl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = test_ca();
    let ca = pki.ca_file(dir.path()).to_str().unwrap().to_string();
    for tls in [None, Some(pki.server(&["127.0.0.1"], 4000))] {
        let server = TestServer::start(tls, |head| {
            if head.starts_with("GET /start") {
                return reply("HTTP/1.1 301 Moved\r\nLocation: /end\r\nContent-Length: 0\r\n\r\n");
            }
            let body = "x".repeat(10_000);
            reply(format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/x-test; q=1\r\nX-Pair: a\r\nX-Pair: b\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ))
        });
        compare_with_curl(dir.path(), &server.url("/start"), &ca);
    }
}

/// Runs the same `-w` with wirecat and curl against `url` and compares.
fn compare_with_curl(dir: &std::path::Path, url: &str, ca: &str) {
    let format: String = COMPARED
        .iter()
        .map(|(v, _)| format!("%{{{v}}}\\n"))
        .chain(["%header{x-pair}\\n".to_string()])
        .collect();
    let ours = wirecat_in(
        dir,
        &[
            "fetch", "-q", "--cacert", ca, "-o", "out", "-w", &format, url,
        ],
    );
    assert_code(&ours, 0);
    let curl = run(
        Command::new("curl")
            .current_dir(dir)
            .args(["-s", "-L", "--cacert", ca, "-o", "out", "-w", &format, url]),
        TIMEOUT,
    );
    assert!(curl.status.success(), "curl failed: {curl:?}");
    let ours = stdout(&ours);
    let theirs = stdout(&curl);
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!(ours.len(), COMPARED.len() + 1, "{ours:?}");
    for (i, (name, time)) in COMPARED.iter().enumerate() {
        if !*time {
            assert_eq!(ours[i], theirs[i], "{name}");
            continue;
        }
        let (a, b): (f64, f64) = (ours[i].parse().unwrap(), theirs[i].parse().unwrap());
        // Both are local runs of a few milliseconds; the format is the point.
        assert!((a - b).abs() < 0.5, "{name}: ours {a}, curl {b}");
        assert_eq!(ours[i].split('.').nth(1).map(str::len), Some(6), "{name}");
        // Both measured it, or neither did (no TLS: 0).
        assert_eq!(a == 0.0, b == 0.0, "{name}: ours {a}, curl {b} ({url})");
    }
    // curl 7.88 prints only the first of repeated fields; we join them.
    assert!(ours[COMPARED.len()].starts_with(theirs[COMPARED.len()]));
}

#[test]
fn write_out_json_variables_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(None, |_| {
        reply(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
        )
    });
    let out = wirecat_in(
        dir.path(),
        &[
            "headers",
            "--get",
            "-w",
            "%{json}\\n%{header_json}\\n",
            &server.url("/"),
        ],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    let mut lines = text.lines().rev();
    let headers: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(headers["set-cookie"], serde_json::json!(["a=1", "b=2"]));
    let vars: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(vars["http_code"], 200);
    assert_eq!(vars["remote_port"], server.addr.port());
    assert!(vars["time_total"].as_f64().unwrap() > 0.0);
}

#[test]
fn an_unknown_variable_is_a_usage_error_before_any_connection() {
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let server = listen(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let url = format!("http://{}/", server.addr);
    for args in [
        vec!["headers", "-w", "%{http_code} %{nope}", &url],
        vec!["fetch", "-o", "-", "--write-out", "%{time_total", &url],
    ] {
        let out = run(wirecat().args(&args), TIMEOUT);
        assert_code(&out, 2);
        assert_stderr_has(&out, "-w/--write-out");
    }
    // A crawl is many transfers: refused rather than reported half.
    for flag in ["-w", "--json-meta"] {
        let out = run(
            wirecat().args(["fetch", "--page", flag, "x", &url]),
            TIMEOUT,
        );
        assert_code(&out, 2);
        assert_stderr_has(&out, "not a crawl");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

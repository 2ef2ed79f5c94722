//! `serve --tls` and `--tls-cert/--tls-key`: curl with the printed pin,
//! wirecat's own client (`-k`, and `--cacert` for a pair from a test CA),
//! ranges over TLS, the 400 for plain HTTP on the TLS port, and a
//! mismatched pair refused at start.

use std::path::Path;
use std::process::Command;

use base64::Engine;

use crate::support::{self, assert_code, request, run, wirecat, wirecat_in, TIMEOUT};

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello over tls\n").unwrap();
    dir
}

/// `https://ADDR/PATH`.
fn https(server: &support::Server, path: &str) -> String {
    format!("https://{}{path}", server.addr)
}

/// A PEM block of `der` under `label`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out + &format!("-----END {label}-----\n")
}

/// A leaf for the loopback names from `pki`, written as cert.pem and key.pem.
fn write_pair(pki: &support::Pki, dir: &Path, name: &str) -> (String, String) {
    write_pair_until(pki, dir, name, 4000)
}

/// As [`write_pair`], valid from 2000 to `until_year`.
fn write_pair_until(
    pki: &support::Pki,
    dir: &Path,
    name: &str,
    until_year: i32,
) -> (String, String) {
    let leaf = pki.leaf(&["localhost", "127.0.0.1", "::1"], until_year);
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert, pem("CERTIFICATE", &leaf.chain[0])).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", leaf.key.secret_der())).unwrap();
    (
        cert.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

fn curl(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10"]).args(args);
    run(&mut cmd, TIMEOUT)
}

#[test]
fn self_signed_with_the_printed_pin() {
    let dir = site();
    let server = support::serve(dir.path()).args(["-q", "--tls"]).start();
    assert!(
        server.announced.contains("https://127.0.0.1:"),
        "{}",
        server.announced
    );
    let fp = server.bg.line_with("fingerprint");
    let hex = fp.rsplit(' ').next().unwrap();
    assert_eq!(hex.len(), 95, "{fp}");
    let pin_line = server.bg.line_with("--pinnedpubkey");
    let pin = pin_line.rsplit(' ').next().unwrap();
    assert!(pin.starts_with("sha256//"), "{pin_line}");
    if Command::new("curl").arg("--version").output().is_err() {
        return support::skip("no curl");
    }
    let ok = curl(&["--pinnedpubkey", pin, "-k", &https(&server, "/a.txt")]);
    assert_code(&ok, 0);
    assert_eq!(support::stdout(&ok), "hello over tls\n");
    let wrong = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let bad = curl(&["--pinnedpubkey", wrong, "-k", &https(&server, "/a.txt")]);
    assert_ne!(bad.status.code(), Some(0), "a wrong pin must fail");
}

#[test]
fn wirecat_fetches_a_file_and_a_range_over_tls_and_logs_them() {
    let dir = site();
    let server = support::serve(dir.path()).args(["--tls"]).start();
    let out = tempfile::tempdir().unwrap();
    let got = wirecat_in(
        out.path(),
        &["fetch", "-k", "-o", "a.txt", &https(&server, "/a.txt")],
    );
    assert_code(&got, 0);
    let body = std::fs::read_to_string(out.path().join("a.txt")).unwrap();
    assert_eq!(body, "hello over tls\n");
    let range = wirecat_in(
        out.path(),
        &[
            "fetch",
            "-k",
            "--range",
            "6-9",
            "-o",
            "r.txt",
            &https(&server, "/a.txt"),
        ],
    );
    assert_code(&range, 0);
    let part = std::fs::read_to_string(out.path().join("r.txt")).unwrap();
    assert_eq!(part, "over");
    // The access log counts plaintext body bytes, as over plain HTTP.
    let full = server.bg.line_with("GET /a.txt");
    assert!(full.contains("\" 200 15 "), "{full}");
    let ranged = server.bg.line_with("GET /a.txt");
    assert!(ranged.contains("\" 206 4 "), "{ranged}");
}

#[test]
fn plain_http_to_the_tls_port_gets_a_400() {
    let dir = site();
    let server = support::serve(dir.path()).args(["-q", "--tls"]).start();
    let r = request(
        server.addr,
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("this port speaks HTTPS"), "{}", r.text());
    // The loop goes on serving TLS.
    let out = tempfile::tempdir().unwrap();
    let got = wirecat_in(
        out.path(),
        &["fetch", "-k", "-o", "a.txt", &https(&server, "/a.txt")],
    );
    assert_code(&got, 0);
}

#[test]
fn a_pair_from_files_verifies_with_its_ca() {
    let dir = site();
    let keys = tempfile::tempdir().unwrap();
    let pki = support::test_ca();
    let (cert, key) = write_pair(&pki, keys.path(), "good");
    let server = support::serve(dir.path())
        .args(["-q", "--tls-cert", &cert, "--tls-key", &key])
        .start();
    assert!(
        server.announced.contains("https://"),
        "{}",
        server.announced
    );
    let ca = pki.ca_file(keys.path());
    let out = tempfile::tempdir().unwrap();
    let got = wirecat_in(
        out.path(),
        &[
            "fetch",
            "--cacert",
            ca.to_str().unwrap(),
            "-o",
            "a.txt",
            &https(&server, "/a.txt"),
        ],
    );
    assert_code(&got, 0);
    let body = std::fs::read_to_string(out.path().join("a.txt")).unwrap();
    assert_eq!(body, "hello over tls\n");
}

#[test]
fn bad_pairs_exit_1_with_one_line_before_binding() {
    let dir = site();
    let keys = tempfile::tempdir().unwrap();
    let pki = support::test_ca();
    let (cert, _) = write_pair(&pki, keys.path(), "one");
    let (_, other_key) = write_pair(&pki, keys.path(), "two");
    let (old_cert, old_key) = write_pair_until(&pki, keys.path(), "old", 2001);
    let missing = keys.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let cases = [
        (cert.as_str(), other_key.as_str(), "does not match"),
        (missing, other_key.as_str(), "missing.pem"),
        (cert.as_str(), missing, "missing.pem"),
        (cert.as_str(), cert.as_str(), "private key"),
        (old_cert.as_str(), old_key.as_str(), "expired"),
    ];
    for (c, k, needle) in cases {
        let mut cmd = wirecat();
        cmd.args(["serve", "-p", "0", "--tls-cert", c, "--tls-key", k])
            .arg(dir.path());
        let out = run(&mut cmd, TIMEOUT);
        assert_code(&out, 1);
        let err = support::stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(support::stdout(&out).is_empty(), "nothing announced: {err}");
    }
}

#[test]
fn a_stalled_handshake_is_dropped_at_the_head_deadline() {
    use std::io::{Read, Write};
    let dir = site();
    let server = support::serve(dir.path())
        .args(["-q", "--tls", "--head-timeout", "1"])
        .start();
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let started = std::time::Instant::now();
    // The start of a handshake record, then nothing.
    s.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "{took:?}: idle timeout, not the head deadline"
    );
    // The loop goes on.
    let out = tempfile::tempdir().unwrap();
    let got = wirecat_in(
        out.path(),
        &["fetch", "-k", "-o", "a.txt", &https(&server, "/a.txt")],
    );
    assert_code(&got, 0);
}

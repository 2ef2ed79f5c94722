//! `serve --tls` judged by other TLS stacks: OpenSSL's `s_client` sees
//! TLS 1.3 (and 1.2 when asked), ALPN `http/1.1`, a certificate naming
//! localhost, 127.0.0.1 and ::1 whose SHA-256 is the printed fingerprint,
//! and resumes sessions from tickets; headless Chromium loads the demo site
//! over https (every asset, and the audio seeks by Range), once trusting
//! the printed pin and once a certificate from a CA made at test time.
//! curl with the pin (right and wrong) is in `serve_tls`.

use std::path::Path;
use std::process::Command;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use crate::browser::chromium::Chromium;
use crate::browser::{play_and_seek, TURN};
use crate::serve_tls::pem;
use crate::support::{self, pin_of, run_with_stdin, Server, Transport, TIMEOUT};

/// `openssl ARGS` with `input` on stdin; stdout and stderr together.
/// `None` (the test reported as skipped) without openssl.
fn openssl(args: &[&str], input: &[u8]) -> Option<String> {
    if Command::new("openssl").arg("version").output().is_err() {
        support::skip("no openssl");
        return None;
    }
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    let out = run_with_stdin(&mut cmd, Some(input), TIMEOUT);
    Some(support::stdout(&out) + &support::stderr(&out))
}

/// What `s_client` sends: one request that ends the connection, so it
/// reads everything (session tickets included) to the server's close.
const REQUEST: &[u8] = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// `openssl s_client` to `server` with `extra` flags, sending [`REQUEST`].
fn s_client(server: &Server, extra: &[&str]) -> Option<String> {
    let connect = server.addr.to_string();
    let mut args = vec!["s_client", "-connect", &connect];
    args.extend(["-servername", "localhost", "-ign_eof"]);
    args.extend(extra);
    openssl(&args, REQUEST)
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello over tls\n").unwrap();
    dir
}

fn tls_server(dir: &Path) -> Server {
    support::serve(dir)
        .transport(Transport::Tls)
        .args(["-q"])
        .start()
}

/// The first PEM certificate in `text`.
fn first_cert(text: &str) -> String {
    let begin = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text[begin..].find("-----END CERTIFICATE-----").unwrap() + begin;
    format!("{}-----END CERTIFICATE-----\n", &text[begin..end])
}

#[test]
fn openssl_sees_tls13_alpn_and_the_names_and_fingerprint_printed() {
    let dir = site();
    let server = tls_server(dir.path());
    let fingerprint = server.fingerprint().unwrap().to_string();
    let Some(out) = s_client(&server, &["-alpn", "http/1.1", "-showcerts"]) else {
        return;
    };
    assert!(out.contains("New, TLSv1.3,"), "{out}");
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
    assert!(out.contains("hello over tls"), "no response: {out}");
    let cert = first_cert(&out);
    let sans = openssl(
        &["x509", "-noout", "-ext", "subjectAltName"],
        cert.as_bytes(),
    )
    .unwrap();
    for name in ["DNS:localhost", "IP Address:127.0.0.1"] {
        assert!(sans.contains(name), "{name} missing: {sans}");
    }
    // OpenSSL 3.0 writes ::1 in full.
    assert!(
        sans.contains("IP Address:0:0:0:0:0:0:0:1") || sans.contains("IP Address:::1"),
        "::1 missing: {sans}"
    );
    let fp = openssl(
        &["x509", "-noout", "-fingerprint", "-sha256"],
        cert.as_bytes(),
    )
    .unwrap();
    let fp = fp.trim().rsplit('=').next().unwrap().to_string();
    assert!(
        fingerprint.ends_with(&fp),
        "{fingerprint} vs openssl's {fp}"
    );
}

#[test]
fn openssl_can_speak_tls12() {
    let dir = site();
    let server = tls_server(dir.path());
    let Some(out) = s_client(&server, &["-tls1_2", "-alpn", "http/1.1"]) else {
        return;
    };
    assert!(out.contains("New, TLSv1.2,"), "{out}");
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
    assert!(out.contains("hello over tls"), "no response: {out}");
}

#[test]
fn sessions_resume_from_tickets_over_tls13_and_tls12() {
    let dir = site();
    let server = tls_server(dir.path());
    let keep = tempfile::tempdir().unwrap();
    for (flag, version) in [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")] {
        let file = keep.path().join(format!("{flag}.pem"));
        let file = file.to_str().unwrap();
        let Some(first) = s_client(&server, &[flag, "-sess_out", file]) else {
            return;
        };
        assert!(first.contains(&format!("New, {version},")), "{first}");
        // A ticket, not only a session id for the server's cache (for 1.2
        // that takes the ticketer; 1.3 sends tickets either way).
        let session = openssl(&["sess_id", "-in", file, "-noout", "-text"], b"").unwrap();
        assert!(
            session.contains("TLS session ticket:"),
            "{version}: {session}"
        );
        let again = s_client(&server, &[flag, "-sess_in", file]).unwrap();
        assert!(again.contains(&format!("Reused, {version},")), "{again}");
        assert!(again.contains("hello over tls"), "no response: {again}");
    }
}

// ---- Chromium ------------------------------------------------------------

/// Chromium trusting the key whose `sha256//BASE64` pin is `pin`; `None`
/// (the test reported as skipped) when chromium is not installed.
fn chromium_trusting(pin: &str) -> Option<Chromium> {
    let bin = std::env::var("WIRECAT_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    if Command::new(&bin).arg("--version").output().is_err() {
        support::skip("no chromium");
        return None;
    }
    let spki = pin.strip_prefix("sha256//").expect("a sha256// pin");
    let flag = format!("--ignore-certificate-errors-spki-list={spki}");
    Some(Chromium::launch_with(&[flag]))
}

/// Loads the demo site from `server` (https): the page renders with its
/// stylesheet and image, every request the tab made succeeded, all went
/// to the server, the audio seeks (a 206 over TLS in the browser and in
/// the access log), and the page's connection was TLS.
fn demo_site_over_https(b: &mut Chromium, server: &Server) {
    let base = format!("https://{}/", server.addr);
    let loader = b.navigate(&base);
    b.wait_event("Page.lifecycleEvent", |p| {
        p["name"] == "networkIdle" && p["loaderId"] == loader.as_str()
    });
    let page = b.eval(
        "(() => ({
            protocol: location.protocol,
            heading: !![...document.querySelectorAll('h1, h2')].find(e => e.textContent.includes('Welcome!')),
            sheets: [...document.styleSheets].filter(s => s.href).map(s => { try { return s.cssRules.length; } catch (e) { return -1; } }),
            images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
        }))()",
    );
    assert_eq!(page["protocol"], "https:", "{page}");
    assert_eq!(page["heading"], true, "{page}");
    let all_ok = |v: &Value, ok: fn(&Value) -> bool| {
        let a = v.as_array().unwrap();
        !a.is_empty() && a.iter().all(ok)
    };
    assert!(all_ok(&page["sheets"], |n| n.as_i64() > Some(0)), "{page}");
    assert!(all_ok(&page["images"], |i| *i == true), "{page}");
    for r in &b.network {
        let inside = ["data:", "about:", "blob:"]
            .iter()
            .any(|p| r.url.starts_with(p));
        assert!(
            inside || r.url.starts_with(&base),
            "a request left the server: {r:?}"
        );
        assert!(
            r.status.is_some_and(|st| st < 400),
            "request failed over TLS: {r:?}\n{}",
            b.network_summary()
        );
    }
    let src = play_and_seek(b);
    let target = src.strip_prefix(base.trim_end_matches('/')).unwrap();
    let logged = server
        .bg
        .line_with(&format!("GET {target} HTTP/1.1\" 206 "));
    assert!(logged.starts_with("127.0.0.1 "), "{logged}");
}

#[test]
fn chromium_loads_the_demo_site_over_https_with_the_printed_pin() {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let server = support::serve(&www).transport(Transport::Tls).start();
    let pin = server.pin().unwrap().to_string();
    let Some(mut b) = chromium_trusting(&pin) else {
        return;
    };
    demo_site_over_https(&mut b, &server);
    drop(b);
    drop(turn);
}

#[test]
fn chromium_loads_the_demo_site_from_a_certificate_of_a_test_ca() {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let keys = tempfile::tempdir().unwrap();
    let pki = support::test_ca();
    let leaf = pki.leaf(&["localhost", "127.0.0.1", "::1"], 4000);
    // The chain file holds the leaf and the CA, so the browser sees the
    // CA's key and trusts it by its pin.
    let cert = keys.path().join("cert.pem");
    let key = keys.path().join("key.pem");
    std::fs::write(&cert, pem("CERTIFICATE", &leaf.chain[0]) + &pki.ca_pem).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", leaf.key.secret_der())).unwrap();
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let mut cert_args = vec!["--tls-cert".as_ref(), cert.as_os_str()];
    cert_args.extend(["--tls-key".as_ref(), key.as_os_str()]);
    let server = support::serve(&www).args(cert_args).start();
    let ca = CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap();
    let ca_pin = pin_of(&ca);
    assert_ne!(
        ca_pin,
        pin_of(&leaf.chain[0]),
        "the CA's pin, not the leaf's"
    );
    let Some(mut b) = chromium_trusting(&ca_pin) else {
        return;
    };
    demo_site_over_https(&mut b, &server);
    drop(b);
    drop(turn);
}

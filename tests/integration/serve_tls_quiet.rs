//! `serve --tls` keeps rustls's per-handshake notes about a peer's quirks
//! (an IP address sent as SNI, as wrk and `openssl s_client -servername`
//! do) off stderr unless -vv asks for debug output: one warning line per
//! connection was noise, and a write(2) per handshake.

use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;

use crate::support::{self, run_with_stdin, TIMEOUT};

/// The stderr lines of `serve --tls` (with `verbosity` -v flags) after
/// one `openssl s_client -servername 127.0.0.1` request and a SIGTERM.
fn stderr_after_ip_sni(verbosity: usize) -> Vec<String> {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    let mut launch = support::serve(d.path())
        .args(["--tls", "-q", "--threads", "1"])
        .stderr_lines();
    for _ in 0..verbosity {
        launch = launch.verbose();
    }
    let mut server = launch.start();
    let out = run_with_stdin(
        Command::new("openssl").args([
            "s_client",
            "-connect",
            &server.addr.to_string(),
            "-servername",
            "127.0.0.1",
        ]),
        Some(b"GET /a.txt HTTP/1.0\r\n\r\n"),
        TIMEOUT,
    );
    let text = support::stdout(&out);
    assert!(text.contains("TLSv1.3"), "no handshake: {text}");
    server.bg.signal("TERM");
    server.bg.wait(TIMEOUT);
    let lines = server.bg.stderr.as_ref().unwrap();
    let mut all = Vec::new();
    loop {
        match lines.recv_timeout(TIMEOUT) {
            Ok(line) => all.push(line),
            Err(RecvTimeoutError::Disconnected) => return all,
            Err(RecvTimeoutError::Timeout) => panic!("stderr still open after exit"),
        }
    }
}

#[test]
fn an_ip_address_as_sni_is_no_warning_per_connection() {
    if Command::new("openssl").arg("version").output().is_err() {
        support::skip("openssl is not installed");
        return;
    }
    for (verbosity, shown) in [(0, false), (1, false), (2, true)] {
        let lines = stderr_after_ip_sni(verbosity);
        let sni = lines.iter().any(|l| l.contains("SNI"));
        assert_eq!(sni, shown, "-v x{verbosity}: {lines:#?}");
    }
}

//! `fetch` and `headers` over HTTPS, end to end: the real binary against an
//! in-process rustls server on 127.0.0.1:0 with certificates made at test
//! time (good, wrong host, untrusted issuer, expired), bodies framed every
//! way, truncation without close_notify, and redirects between http and
//! https.

use std::net::TcpListener;

use crate::support::{
    assert_code, assert_stderr_has, files, needs_ipv6, pseudo_random, reply, stderr, stdout,
    test_ca, wirecat_in, Reply, TestServer,
};

fn body() -> Vec<u8> {
    pseudo_random(400_000, 9)
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in body.chunks(10_007) {
        out.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn https_bodies_arrive_byte_identical_in_every_framing() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let b = body();
    let length = [
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", b.len()).into_bytes(),
        b.clone(),
    ]
    .concat();
    let close = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec(),
        b.clone(),
    ]
    .concat();
    for (name, response) in [
        ("length", length),
        ("chunked", chunked(&b)),
        ("close", close),
    ] {
        let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), move |_| {
            reply(&response)
        });
        let out = wirecat_in(
            dir.path(),
            &[
                "fetch",
                "--cacert",
                ca.to_str().unwrap(),
                "-o",
                name,
                &server.url("/file"),
            ],
        );
        assert_code(&out, 0);
        assert!(
            std::fs::read(dir.path().join(name)).unwrap() == b,
            "{name}: body differs"
        );
        let req = &server.requests()[0];
        assert!(
            req.starts_with(&format!("GET /file HTTP/1.1\r\nHost: {}\r\n", server.addr)),
            "{req}"
        );
    }
}

#[test]
fn https_certificate_errors_are_one_line_with_exit_10() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let ca = ca.to_str().unwrap();
    let ok = || reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    // (server certificate names, valid until, trust our CA, message)
    let cases: [(&[&str], i32, bool, &str); 3] = [
        (
            &["elsewhere.test"],
            4000,
            true,
            "certificate is for another host name",
        ),
        (
            &["127.0.0.1"],
            4000,
            false,
            "unknown authority, try --cacert",
        ),
        (&["127.0.0.1"], 2001, true, "expired"),
    ];
    for (names, until, trusted, message) in cases {
        let server = TestServer::start(Some(pki.server(names, until)), move |_| ok());
        for cmd in ["fetch", "headers"] {
            let mut args = vec![cmd];
            if trusted {
                args.extend(["--cacert", ca]);
            }
            let url = server.url("/x.txt");
            args.push(&url);
            let out = wirecat_in(dir.path(), &args);
            assert_code(&out, 10);
            let err = stderr(&out);
            assert!(err.contains(message), "{names:?}: {err}");
            assert!(err.contains(&url), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        assert!(server.requests().is_empty(), "no request before trust");
    }
    assert_eq!(files(dir.path()), ["ca.pem"]);
}

#[test]
fn https_insecure_accepts_any_certificate_with_a_warning() {
    let pki = test_ca();
    let server = TestServer::start(Some(pki.server(&["elsewhere.test"], 2001)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    });
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(dir.path(), &["fetch", "-k", &server.url("/x.txt")]);
    assert_code(&out, 0);
    assert_stderr_has(&out, "warning: --insecure");
    assert_eq!(std::fs::read(dir.path().join("x.txt")).unwrap(), b"hi");
}

#[test]
fn https_close_delimited_body_without_close_notify_is_truncated() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), |_| Reply {
        bytes: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial body".to_vec(),
        close_notify: false,
    });
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--cacert",
            ca.to_str().unwrap(),
            &server.url("/cut.bin"),
        ],
    );
    assert_code(&out, 6);
    assert_stderr_has(&out, "(after 12 body bytes), without TLS close_notify");
    assert_eq!(files(dir.path()), ["ca.pem"], "no file, no temporary left");
}

#[test]
fn redirects_between_http_and_https_both_ways() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let secure = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), |head| {
        if head.starts_with("GET /back") {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
        } else {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntls!")
        }
    });
    let to_https = secure.url("/landing");
    let plain = TestServer::start(None, move |head| {
        if head.starts_with("GET /plain") {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
        } else {
            reply(format!(
                "HTTP/1.1 301 Moved\r\nLocation: {to_https}\r\nContent-Length: 0\r\n\r\n"
            ))
        }
    });
    // http -> https, with a credential that must not cross.
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--cacert",
            ca.to_str().unwrap(),
            "-H",
            "Authorization: Bearer secret",
            "-o",
            "up",
            &plain.url("/start"),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("up")).unwrap(), b"tls!");
    assert!(plain.requests()[0].contains("Authorization: Bearer secret"));
    assert!(!secure.requests()[0].contains("Authorization"), "leaked");

    // https -> http.
    let to_http = plain.url("/plain");
    let back = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), move |_| {
        reply(format!(
            "HTTP/1.1 302 Found\r\nLocation: {to_http}\r\nContent-Length: 0\r\n\r\n"
        ))
    });
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "--cacert",
            ca.to_str().unwrap(),
            "-o",
            "down",
            &back.url("/"),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("down")).unwrap(), b"plain");
}

#[test]
fn headers_verbose_shows_tls_and_timing_has_the_handshake() {
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 3000)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Secure: yes\r\n\r\n")
    });
    let out = wirecat_in(
        dir.path(),
        &[
            "-v",
            "headers",
            "--timing",
            "--cacert",
            ca.to_str().unwrap(),
            &server.url("/"),
        ],
    );
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("* TLS: TLSv1.3, "), "{err}");
    assert!(err.contains("ALPN http/1.1"), "{err}");
    // As in curl: the handshake's facts, then the request sent inside it.
    assert!(err.find("* TLS:") < err.find("> HEAD / HTTP/1.1"), "{err}");
    assert!(err.contains("* certificate subject: CN=127.0.0.1"), "{err}");
    assert!(err.contains(" 01 Jan 3000 00:00:00 GMT"), "{err}");
    let out_text = stdout(&out);
    assert!(out_text.contains("X-Secure: yes"), "{out_text}");
    let tls_line = out_text.lines().find(|l| l.starts_with("tls:")).unwrap();
    assert!(
        tls_line.ends_with('s') && !tls_line.ends_with("-"),
        "{tls_line}"
    );
}

#[test]
fn https_to_an_ipv6_literal_checks_the_ip_name() {
    if !needs_ipv6() {
        return;
    }
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let pki = test_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let server = TestServer::on(listener, Some(pki.server(&["::1"], 4000)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6")
    });
    let url = server.url("/");
    assert!(url.starts_with("https://[::1]:"), "{url}");
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--cacert", ca.to_str().unwrap(), "-o", "-", &url],
    );
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"v6");
    assert!(server.requests()[0].contains(&format!("\r\nHost: {}\r\n", server.addr)));
    // The same server under a name its certificate does not carry.
    let other = pki.server(&["127.0.0.1"], 4000);
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let wrong = TestServer::on(listener, Some(other), |_| reply("HTTP/1.1 200 OK\r\n\r\n"));
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--cacert", ca.to_str().unwrap(), &wrong.url("/")],
    );
    assert_code(&out, 10);
}

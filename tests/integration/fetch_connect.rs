//! Connecting, end to end: `--resolve` and `--connect-to` send reserved
//! `.test` names to loopback servers without a lookup (the URL's host
//! stays in Host, SNI and the certificate check; redirects use the rules
//! too), bad rules are usage errors before any connection, `-4`/`-6`
//! filter what the rules give, and happy eyeballs (RFC 8305) moves on
//! from an IPv6 address that does not answer to IPv4 in a quarter second.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::{
    assert_code, assert_stderr_has, listen, reply, run, stdout, test_ca, wirecat, wirecat_in,
    TestServer, TIMEOUT,
};

fn ok_server() -> TestServer {
    TestServer::start(None, |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    })
}

#[test]
fn resolve_sends_a_test_name_to_loopback_and_keeps_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let server = ok_server();
    let port = server.addr.port();
    let rule = format!("example.test:{port}:127.0.0.1");
    let url = format!("http://example.test:{port}/x");
    let out = wirecat_in(
        dir.path(),
        &[
            "headers",
            "--get",
            "--resolve",
            &rule,
            "-w",
            "%{remote_ip}",
            &url,
        ],
    );
    assert_code(&out, 0);
    assert!(stdout(&out).ends_with("127.0.0.1"), "{}", stdout(&out));
    let req = &server.requests()[0];
    assert!(
        req.starts_with(&format!("GET /x HTTP/1.1\r\nHost: example.test:{port}\r\n")),
        "{req}"
    );
}

#[test]
fn resolve_keeps_the_name_for_sni_and_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = test_ca();
    let ca = pki.ca_file(dir.path());
    let server = TestServer::start(Some(pki.server(&["secure.test"], 4000)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    });
    let port = server.addr.port();
    let rule = format!("secure.test:{port}:[::1],127.0.0.1");
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "-q",
            "-o",
            "got",
            "--cacert",
            ca.to_str().unwrap(),
            "--resolve",
            &rule,
            &format!("https://secure.test:{port}/"),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("got")).unwrap(), b"ok");
}

#[test]
fn connect_to_moves_the_connection_and_redirects_follow_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let end = ok_server();
    let end_port = end.addr.port();
    let start = TestServer::start(None, move |_| {
        reply(format!(
            "HTTP/1.1 302 Found\r\nLocation: http://b.test:{end_port}/end\r\nContent-Length: 0\r\n\r\n"
        ))
    });
    let out = wirecat_in(
        dir.path(),
        &[
            "fetch",
            "-q",
            "-o",
            "-",
            "--connect-to",
            &format!("a.test:80:127.0.0.1:{}", start.addr.port()),
            "--resolve",
            &format!("b.test:{end_port}:127.0.0.1"),
            "-w",
            " %{num_redirects} %{url_effective}",
            "http://a.test/start",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(stdout(&out), format!("ok 1 http://b.test:{end_port}/end"));
    assert!(start.requests()[0].contains("\r\nHost: a.test\r\n"));
    assert!(end.requests()[0].contains(&format!("\r\nHost: b.test:{end_port}\r\n")));
}

#[test]
fn bad_rules_are_usage_errors_before_any_connection() {
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let server = listen(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let url = format!("http://{}/", server.addr);
    // (flag, value)
    let cases = [
        ("--resolve", "example.test:80"),
        ("--resolve", "example.test:80:not-an-ip"),
        ("--resolve", "example.test:port:127.0.0.1"),
        ("--connect-to", "a.test:80:b.test"),
        ("--connect-to", "a.test:x::"),
    ];
    for (flag, value) in cases {
        let out = run(wirecat().args(["headers", flag, value, &url]), TIMEOUT);
        assert_code(&out, 2);
        assert_stderr_has(&out, flag);
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[test]
fn families_filter_what_the_rules_give() {
    let server = ok_server();
    let port = server.addr.port();
    let url = format!("http://fam.test:{port}/");
    let rule = format!("fam.test:{port}:127.0.0.1");
    let out = run(
        wirecat().args(["headers", "-6", "--resolve", &rule, &url]),
        TIMEOUT,
    );
    assert_ne!(out.status.code(), Some(0));
    assert_stderr_has(&out, "no IPv6 address (-6)");
    let out = run(
        wirecat().args(["headers", "-4", "--resolve", &rule, &url]),
        TIMEOUT,
    );
    assert_code(&out, 0);
    assert!(server.requests().len() == 1);
}

/// A port bound on `[::1]` (v6 only) whose accept queue is full, so a new
/// connect there hangs (Linux drops SYNs to a full queue), and the same
/// port number on 127.0.0.1 answering. The connects that fill the queue
/// are returned with the listener, to be kept as long as the test runs.
fn v6_hangs_v4_answers() -> Option<(TestServer, socket2::Socket, Vec<std::net::TcpStream>)> {
    use socket2::{Domain, Socket, Type};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::Duration;
    for _ in 0..20 {
        let v6 = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        v6.set_only_v6(true).unwrap();
        v6.bind(&"[::1]:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        v6.listen(0).unwrap();
        let v6_addr = v6.local_addr().unwrap().as_socket().unwrap();
        let Ok(v4) = TcpListener::bind(("127.0.0.1", v6_addr.port())) else {
            continue; // that port number is taken on IPv4: another try
        };
        let mut queued = Vec::new();
        loop {
            match TcpStream::connect_timeout(&v6_addr, Duration::from_millis(300)) {
                Ok(s) => queued.push(s),
                Err(_) => break,
            }
            assert!(queued.len() < 16, "the accept queue never filled");
        }
        let server = TestServer::on(v4, None, |_| {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        });
        return Some((server, v6, queued));
    }
    None
}

/// `-w` of a `headers --get` to `he.test` given both addresses: the
/// address that answered and when the connect ended.
fn connect_via_both(port: u16) -> (String, f64) {
    let rule = format!("he.test:{port}:[::1],127.0.0.1");
    let out = run(
        wirecat().args([
            "headers",
            "--get",
            "--connect-timeout",
            "5",
            "--resolve",
            &rule,
            "-w",
            "\n%{remote_ip} %{time_connect}",
            &format!("http://he.test:{port}/"),
        ]),
        TIMEOUT,
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    let last = text.lines().last().unwrap().to_string();
    let (ip, secs) = last.split_once(' ').unwrap();
    (ip.to_string(), secs.parse().unwrap())
}

#[test]
fn happy_eyeballs_moves_on_from_a_silent_ipv6_address_in_a_quarter_second() {
    if !crate::support::needs_ipv6() {
        return;
    }
    let Some((server, _v6, _queued)) = v6_hangs_v4_answers() else {
        crate::support::skip("no port number free on both ::1 and 127.0.0.1");
        return;
    };
    let (ip, connect) = connect_via_both(server.addr.port());
    assert_eq!(ip, "127.0.0.1");
    // IPv6 was tried first and waited on for the attempt delay, then IPv4
    // connected at once: well before the 5 s connect timeout.
    assert!((0.24..0.5).contains(&connect), "connected after {connect}s");
}

#[test]
fn happy_eyeballs_moves_on_at_once_after_a_refusal() {
    let server = ok_server();
    let (ip, connect) = connect_via_both(server.addr.port());
    assert_eq!(ip, "127.0.0.1");
    assert!(connect < 0.2, "connected after {connect}s");
}

#[test]
fn when_every_address_fails_the_last_failure_is_reported() {
    // Nothing listens on this port on either address (it was just freed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rule = format!("gone.test:{port}:[::1],127.0.0.1");
    let started = std::time::Instant::now();
    let out = run(
        wirecat().args([
            "headers",
            "--resolve",
            &rule,
            &format!("http://gone.test:{port}/"),
        ]),
        TIMEOUT,
    );
    assert_ne!(out.status.code(), Some(0));
    assert_stderr_has(&out, &format!("127.0.0.1:{port}"));
    // Each refusal moved on at once: no attempt delay, no timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn a_silent_address_alone_waits_for_the_connect_timeout() {
    if !crate::support::needs_ipv6() {
        return;
    }
    let Some((server, _v6, _queued)) = v6_hangs_v4_answers() else {
        crate::support::skip("no port number free on both ::1 and 127.0.0.1");
        return;
    };
    let port = server.addr.port();
    let started = std::time::Instant::now();
    let out = run(
        wirecat().args([
            "headers",
            "-6",
            "--connect-timeout",
            "1",
            "--resolve",
            &format!("he.test:{port}:[::1],127.0.0.1"),
            &format!("http://he.test:{port}/"),
        ]),
        TIMEOUT,
    );
    let waited = started.elapsed().as_secs_f64();
    assert_ne!(out.status.code(), Some(0));
    assert_stderr_has(&out, "timed out");
    assert!((0.9..3.0).contains(&waited), "gave up after {waited}s");
    assert!(server.requests().is_empty(), "-6 must not use 127.0.0.1");
}

//! `serve --auth`: HTTP Basic on every request (files, listings, errors),
//! each kind of secret, held 401s for an address that keeps failing, no
//! credentials in the access log, and bad hash strings refused at start.

use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::both;
use crate::support::{self, assert_code, assert_stderr_has, request, Client};

const CHALLENGE: &str = "Basic realm=\"wirecat\", charset=\"UTF-8\"";

fn basic(user: &str, pass: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Authorization: Basic {token}\r\n")
}

fn get_with(addr: std::net::SocketAddr, path: &str, extra: &str) -> support::Resp {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"),
    )
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "secret page\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.txt"), "a\n").unwrap();
    dir
}

both!(every_request_needs_the_password, |t| {
    let dir = site();
    let server = support::serve(dir.path())
        .transport(t)
        .args(["-q", "--auth", "ann:pw", "--auth", "bob:other"])
        .start();
    for path in ["/", "/index.html", "/sub/", "/missing"] {
        for extra in [String::new(), basic("ann", "nope"), basic("eve", "pw")] {
            let r = get_with(server.addr, path, &extra);
            assert_eq!(r.status, 401, "{path} {extra:?}");
            assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
            assert!(!r.text().contains("secret"), "{path}");
        }
    }
    let ok = get_with(server.addr, "/", &basic("ann", "pw"));
    assert_eq!((ok.status, ok.text().as_str()), (200, "secret page\n"));
    assert_eq!(
        get_with(server.addr, "/sub/", &basic("bob", "other")).status,
        200
    );
    let missing = get_with(server.addr, "/missing", &basic("ann", "pw"));
    assert_eq!(missing.status, 404, "errors come after the login");
});

both!(hashed_secrets_of_each_kind, |t| {
    use argon2::password_hash::PasswordHasher;
    let dir = site();
    let sha: String = Sha256::digest(b"s3")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, Default::default(), params)
        .hash_password_with_salt(b"a2pw", b"saltsaltsalt")
        .unwrap()
        .to_string();
    let bc = bcrypt::hash("bcpw", 4).unwrap();
    let specs = [
        format!("s:sha256:{sha}"),
        format!("a:{a2}"),
        format!("b:{bc}"),
    ];
    let mut args = vec!["-q".to_string(), "--threads".into(), "1".into()];
    for s in &specs {
        args.extend(["--auth".to_string(), s.clone()]);
    }
    let server = support::serve(dir.path()).transport(t).args(&args).start();
    for (user, pass) in [("s", "s3"), ("a", "a2pw"), ("b", "bcpw")] {
        // Keep-alive: the second request is answered from the loop's memory
        // of the first verification (same result either way).
        let mut c = Client::new(server.addr);
        for _ in 0..2 {
            let auth = basic(user, pass);
            c.send(format!("GET / HTTP/1.1\r\nHost: t\r\n{auth}\r\n").as_bytes());
            assert_eq!(c.response(false).status, 200, "{user}");
        }
        let wrong = get_with(server.addr, "/", &basic(user, "wrong"));
        assert_eq!(wrong.status, 401, "{user}");
        // The hash string itself is not a password.
        let spec = specs.iter().find(|s| s.starts_with(user)).unwrap();
        let literal = get_with(server.addr, "/", &basic(user, &spec[2..]));
        assert_eq!(literal.status, 401, "{user}");
    }
});

both!(an_address_that_keeps_failing_waits_longer, |t| {
    let dir = site();
    let server = support::serve(dir.path())
        .transport(t)
        .verbose()
        .verbose()
        .args(["-q", "--auth", "ann:pw"])
        .stderr_lines()
        .start();
    let mut took = Vec::new();
    for _ in 0..6 {
        let start = Instant::now();
        let r = get_with(server.addr, "/", &basic("ann", "guess"));
        assert_eq!(r.status, 401);
        took.push(start.elapsed());
    }
    // The server says what it held each 401 for: 250, 500, 1000 ms ...
    server
        .bg
        .stderr_line("failed logins; its 401s now wait 250 ms");
    for ms in [250, 500, 1000] {
        server.bg.stderr_line(&format!("401 held {ms} ms"));
    }
    // ... and the answers really came that late (lower bounds only: a busy
    // machine may add time, never take it away). The server's clock starts
    // at the start of the loop turn that read the request, which can be a
    // hair before this client sent it (seen: 249.93 ms), hence 5 ms slack.
    for (i, ms) in [(3, 250), (4, 500), (5, 1000)] {
        assert!(
            took[i] + Duration::from_millis(5) >= Duration::from_millis(ms),
            "{took:?}"
        );
    }
    // A missing header is a first visit, not a guess: answered at once
    // (bounded generously).
    let start = Instant::now();
    assert_eq!(get_with(server.addr, "/", "").status, 401);
    assert!(start.elapsed() < Duration::from_millis(900), "{took:?}");
});

both!(credentials_stay_out_of_the_access_log, |t| {
    let dir = site();
    let server = support::serve(dir.path())
        .transport(t)
        // One loop, so the log lines come in request order.
        .args(["--threads", "1", "--auth", "ann:hunter2"])
        .start();
    get_with(server.addr, "/", &basic("ann", "hunter2"));
    get_with(server.addr, "/", &basic("ann", "wrongpass"));
    let absolute = format!("http://ann:hunter2@{}/sub/", server.addr);
    get_with(server.addr, &absolute, &basic("ann", "hunter2"));
    let lines: Vec<String> = ["\" 200 ", "\" 401 ", "/sub/"]
        .iter()
        .map(|n| server.bg.line_with(n))
        .collect();
    let token = basic("ann", "hunter2");
    let token = token.trim_end().rsplit(' ').next().unwrap();
    for line in &lines {
        for secret in ["hunter2", "wrongpass", token, "ann:"] {
            assert!(!line.contains(secret), "{secret:?} in {line:?}");
        }
    }
});

#[test]
fn a_bad_hash_is_a_usage_error() {
    let dir = site();
    let cases = [
        ("a:$2b$04$short", "not a bcrypt hash string"),
        ("a:$argon2id$v=19$bad", "not an argon2 hash string"),
        ("a:sha256:1234", "64 hex digits"),
        ("nocolon", "expected USER:PASSWORD"),
    ];
    for (spec, want) in cases {
        let out = support::wirecat_in(dir.path(), &["serve", "-p", "0", "--auth", spec]);
        assert_code(&out, 2);
        assert_stderr_has(&out, want);
    }
}

both!(cors_preflights_pass_the_login_and_nothing_else_does, |t| {
    let dir = site();
    let server = support::serve(dir.path())
        .transport(t)
        .args(["-q", "--cors", "--auth", "ann:pw"])
        .start();
    // Browsers send a preflight without credentials: it must be answered.
    let preflight = request(
        server.addr,
        "OPTIONS /index.html HTTP/1.1\r\nHost: t\r\nOrigin: http://other.test\r\n\
         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    // A plain OPTIONS, and the GET that follows the preflight, still need it.
    let plain = request(
        server.addr,
        "OPTIONS /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(plain.status, 401);
    assert_eq!(get_with(server.addr, "/index.html", "").status, 401);
    assert_eq!(
        get_with(server.addr, "/index.html", &basic("ann", "pw")).status,
        200
    );
});

//! The real-web features of `fetch`, end to end with the real binary:
//! `--compressed` against a server sending gzip, deflate (zlib and raw),
//! br, stacked codings and a bomb; `-J` with hostile Content-Disposition
//! names; proxies (plain forwarding and CONNECT) from the environment and
//! the flags, through an in-process proxy on 127.0.0.1:0 that records
//! what it saw.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use crate::support::{
    assert_code, assert_stderr_has, files, listen, reply, run, stderr, test_ca, wirecat,
    wirecat_in, Listening, TestServer, TIMEOUT,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn br(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn with_coding(coding: &str, body: &[u8]) -> Vec<u8> {
    [
        format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body.to_vec(),
    ]
    .concat()
}

fn text() -> Vec<u8> {
    (0..20_000u32)
        .flat_map(|i| format!("line {i}: the quick brown fox\n").into_bytes())
        .collect()
}

#[test]
fn compressed_bodies_are_decoded_as_they_stream() {
    let t = text();
    // (Content-Encoding, encoded body)
    let cases = [
        ("gzip", gzip(&t)),
        ("x-gzip", gzip(&t)),
        ("deflate", zlib(&t)),
        ("deflate", raw_deflate(&t)),
        ("br", br(&t)),
        // Applied in order: gzip first, then br (RFC 9110 section 8.4).
        ("gzip, br", br(&gzip(&t))),
        ("identity", t.clone()),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (coding, encoded)) in cases.into_iter().enumerate() {
        let response = with_coding(coding, &encoded);
        let server = TestServer::start(None, move |_| reply(&response));
        let name = format!("out{i}");
        let out = wirecat_in(
            dir.path(),
            &["fetch", "--compressed", "-o", &name, &server.url("/t")],
        );
        assert_code(&out, 0);
        assert!(
            std::fs::read(dir.path().join(&name)).unwrap() == t,
            "{coding}: decoded body differs"
        );
        assert!(
            server.requests()[0].contains("\r\nAccept-Encoding: gzip, deflate, br\r\n"),
            "{}",
            server.requests()[0]
        );
    }
}

#[test]
fn without_compressed_identity_is_asked_for_and_bytes_are_kept() {
    let z = gzip(&text());
    let response = with_coding("gzip", &z);
    let server = TestServer::start(None, move |_| reply(&response));
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(dir.path(), &["fetch", "-o", "raw", &server.url("/t")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("raw")).unwrap(), z);
    assert!(server.requests()[0].contains("\r\nAccept-Encoding: identity\r\n"));
}

#[test]
fn bad_codings_are_errors_and_leave_no_file() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = gzip(&gzip(&zeros));
    let corrupt = {
        let mut z = gzip(&text());
        let mid = z.len() / 2;
        z[mid..mid + 16].fill(0xff);
        z
    };
    let truncated = {
        let z = gzip(&text());
        z[..z.len() / 2].to_vec()
    };
    // (Content-Encoding, body, message)
    let cases = [
        ("gzip, gzip", bomb, "decompression bomb"),
        ("gzip", corrupt, "corrupt gzip body"),
        ("gzip", truncated, "ends before its compressed stream"),
        ("zstd", b"whatever".to_vec(), "unsupported Content-Encoding"),
        ("gzip, gzip, gzip", b"x".to_vec(), "stacked"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (coding, body, message) in cases {
        let response = with_coding(coding, &body);
        let server = TestServer::start(None, move |_| reply(&response));
        let out = wirecat_in(dir.path(), &["fetch", "--compressed", &server.url("/f")]);
        assert_code(&out, 6);
        assert!(stderr(&out).contains(message), "{coding}: {}", stderr(&out));
        assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    }
    // --raw-body keeps what came, whatever it is.
    let response = with_coding("zstd", b"opaque");
    let server = TestServer::start(None, move |_| reply(&response));
    let out = wirecat_in(
        dir.path(),
        &["fetch", "--compressed", "--raw-body", &server.url("/f")],
    );
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"opaque");
}

#[test]
fn remote_name_header_is_sanitised_and_never_overwrites() {
    // (Content-Disposition, the name the file must get)
    let cases = [
        ("attachment; filename=\"report.pdf\"", "report.pdf"),
        ("attachment; filename=\"../../etc/passwd\"", "passwd"),
        ("attachment; filename=\".bashrc\"", "bashrc"),
        ("attachment; filename=\"a/b\\\\c\"", "c"),
        (
            "attachment; filename*=UTF-8''evil%1B%5B31m%0A.txt",
            "evil_[31m_.txt",
        ),
        (
            "attachment; filename=\"plain.txt\"; filename*=UTF-8''%2E%2E%2Fcaf%C3%A9.txt",
            "caf\u{e9}.txt",
        ),
        ("attachment; filename=\"..\"", "dl"),
        ("inline", "dl"),
    ];
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    for (cd, want) in cases {
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Disposition: {cd}\r\nContent-Length: 4\r\n\r\nbody"
        );
        let server = TestServer::start(None, move |_| reply(&response));
        let out = wirecat_in(&dir, &["fetch", "-J", &server.url("/dl")]);
        assert_code(&out, 0);
        assert_eq!(
            std::fs::read(dir.join(want)).unwrap(),
            b"body",
            "{cd}: {:?}",
            files(&dir)
        );
        std::fs::remove_file(dir.join(want)).unwrap();
        assert!(
            files(outer.path()) == ["work"],
            "{cd}: escaped the directory"
        );
    }
    // An existing file keeps its content; the download steps around it.
    std::fs::write(dir.join("report.pdf"), "mine").unwrap();
    let server = TestServer::start(None, |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=report.pdf\r\nContent-Length: 4\r\n\r\nbody")
    });
    let out = wirecat_in(&dir, &["fetch", "-J", &server.url("/x")]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(dir.join("report.pdf")).unwrap(), b"mine");
    assert_eq!(std::fs::read(dir.join("report.pdf.1")).unwrap(), b"body");
}

/// A URL that names no file (a path ending in `/`, like a folder's
/// `?download=zip`) is saved as `index.html` without `-J` (a server never
/// picks a name unasked), and one stderr line says what the server calls
/// it; `-J` takes that name, made safe.
#[test]
fn a_url_naming_no_file_points_out_the_content_disposition_name() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    let server = TestServer::start(None, |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"../top.zip\"\r\nContent-Length: 4\r\n\r\nbody")
    });
    let url = server.url("/top/?download=zip");
    let out = wirecat_in(&dir, &["fetch", &url]);
    assert_code(&out, 0);
    assert_eq!(files(&dir), ["index.html"]);
    assert_stderr_has(
        &out,
        "wirecat: the server names this file top.zip (-J saves it so)",
    );
    let out = wirecat_in(&dir, &["fetch", "-q", "-J", &url]);
    assert_code(&out, 0);
    assert_eq!(files(&dir), ["index.html", "top.zip"]);
    assert_eq!(files(outer.path()), ["work"]);
    // A URL that names a file says nothing of the server's name.
    let out = wirecat_in(&dir, &["fetch", &server.url("/named.bin")]);
    assert_code(&out, 0);
    assert!(
        !stderr(&out).contains("the server names"),
        "{}",
        stderr(&out)
    );
}

/// An HTTP proxy on 127.0.0.1:0 that records each request head it gets.
/// Plain requests it answers itself (saying what it was asked); CONNECT
/// it tunnels to the named loopback address.
struct Proxy {
    listening: Listening,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let listening = listen(move |conn| proxy_one(conn, &log));
        Proxy { listening, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listening.addr)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn proxy_one(mut client: TcpStream, log: &Mutex<Vec<String>>) {
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    client.set_write_timeout(Some(TIMEOUT)).unwrap();
    // Byte-wise, so nothing after the head is read ahead of the tunnel.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    log.lock().unwrap().push(head.clone());
    let target = head.split(' ').nth(1).unwrap_or_default().to_string();
    if !head.starts_with("CONNECT ") {
        let body = format!("proxied {target}");
        let _ = write!(
            client,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let addr = match target.parse::<SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => a,
        _ => {
            let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n");
            return;
        }
    };
    let Ok(server) = TcpStream::connect_timeout(&addr, TIMEOUT) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    server.set_read_timeout(Some(TIMEOUT)).unwrap();
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Write);
    });
    let (mut s, mut c) = (server, client);
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// `wirecat fetch -o - ARGS` with `vars` set, in a fresh directory.
fn fetch_with_env(vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = wirecat();
    cmd.current_dir(dir.path()).args(["fetch", "-q", "-o", "-"]);
    cmd.args(args)
        .env_remove("no_proxy")
        .env_remove("NO_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd, TIMEOUT)
}

#[test]
fn plain_http_through_a_proxy_uses_the_absolute_form() {
    let proxy = Proxy::start();
    let direct = TestServer::start(None, |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ndirect")
    });
    let url = direct.url("/a?b=1#frag");
    let want_target = direct.url("/a?b=1");
    let p = proxy.url();
    // (environment, extra flags, went through the proxy)
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Vars, &[&str], bool)] = &[
        (&[("http_proxy", &p)], &[], true),
        // httpoxy: the upper-case variable is not trusted.
        (&[("HTTP_PROXY", &p)], &[], false),
        (&[("https_proxy", &p)], &[], false),
        (&[("ALL_PROXY", &p)], &[], true),
        (
            &[("http_proxy", &p), ("no_proxy", "localhost,127.0.0.1")],
            &[],
            false,
        ),
        (&[("http_proxy", &p), ("NO_PROXY", "*")], &[], false),
        (&[], &["--proxy", &p], true),
        (
            &[("http_proxy", "http://127.0.0.1:1")],
            &["--proxy", &p],
            true,
        ),
        (&[("http_proxy", &p)], &["--noproxy", "127.0.0.1"], false),
        (
            &[("http_proxy", &p), ("no_proxy", "127.0.0.1")],
            &["--noproxy", "other"],
            true,
        ),
    ];
    for (vars, flags, proxied) in cases {
        let before = proxy.seen().len();
        let mut args: Vec<&str> = flags.to_vec();
        args.push(&url);
        let out = fetch_with_env(vars, &args);
        assert_code(&out, 0);
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        let seen = proxy.seen();
        if *proxied {
            assert_eq!(body, format!("proxied {want_target}"), "{vars:?} {flags:?}");
            let head = &seen[before];
            assert!(
                head.starts_with(&format!(
                    "GET {want_target} HTTP/1.1\r\nHost: {}\r\n",
                    direct.addr
                )),
                "{head}"
            );
        } else {
            assert_eq!(body, "direct", "{vars:?} {flags:?}");
            assert_eq!(seen.len(), before, "{vars:?} {flags:?} used the proxy");
        }
    }
}

#[test]
fn https_through_a_proxy_uses_a_connect_tunnel() {
    let pki = test_ca();
    let server = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ntunneled")
    });
    let proxy = Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let ca = ca.to_str().unwrap();
    let url = server.url("/secret?x=1");
    for var in ["https_proxy", "HTTPS_PROXY"] {
        let before = proxy.seen().len();
        let out = fetch_with_env(&[(var, &proxy.url())], &["--cacert", ca, &url]);
        assert_code(&out, 0);
        assert_eq!(out.stdout, b"tunneled");
        let seen = proxy.seen();
        assert_eq!(seen.len(), before + 1);
        assert!(
            seen[before].starts_with(&format!(
                "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n",
                server.addr
            )),
            "{}",
            seen[before]
        );
        assert!(
            !seen[before].contains("secret"),
            "the path stays inside TLS"
        );
    }
    // -v shows the CONNECT exchange, then the TLS facts, then the request.
    let mut cmd = wirecat();
    cmd.current_dir(dir.path())
        .env("https_proxy", proxy.url())
        .args(["-v", "fetch", "-o", "-", "--cacert", ca, &url]);
    let out = run(&mut cmd, TIMEOUT);
    assert_code(&out, 0);
    let err = stderr(&out);
    let at = |s: &str| err.find(s).unwrap_or_else(|| panic!("no {s:?} in {err}"));
    assert!(at("> CONNECT ") < at("< HTTP/1.1 200 Connection established"));
    assert!(at("< HTTP/1.1 200 Connection established") < at("* TLS: "));
    assert!(at("* TLS: ") < at("> GET /secret?x=1 HTTP/1.1"));

    // The request inside the tunnel is in origin form.
    assert!(server.requests()[0].starts_with("GET /secret?x=1 HTTP/1.1\r\n"));

    // A proxy that refuses the tunnel: one line, exit 4.
    let out = fetch_with_env(
        &[("https_proxy", &proxy.url())],
        &["--cacert", ca, "https://unresolvable.invalid:9/"],
    );
    assert_code(&out, 4);
    assert!(stderr(&out).contains("refused CONNECT"), "{}", stderr(&out));
}

#[test]
fn heads_are_never_coloured_into_a_pipe() {
    let server = TestServer::start(None, |_| {
        reply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-A: b\r\n\r\n")
    });
    for cmd in ["headers", "fetch"] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = wirecat();
        c.current_dir(dir.path())
            .env_remove("NO_COLOR")
            .args([cmd, &server.url("/x")]);
        let out = run(&mut c, TIMEOUT);
        // fetch shows the head of a 404, then fails (nothing to save).
        assert_code(&out, if cmd == "fetch" { 7 } else { 0 });
        assert_eq!(
            out.stdout,
            b"HTTP/1.1 404 Not Found\nContent-Length: 0\nX-A: b\n\n"
        );
    }
}

#[test]
fn proxy_credentials_reach_the_proxy_and_nothing_else() {
    let pki = test_ca();
    let secure = TestServer::start(Some(pki.server(&["127.0.0.1"], 4000)), |_| {
        reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    });
    let proxy = Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let with_user = format!("http://me:s%40cret@{}", proxy.listening.addr);
    let plain_url = "http://plain.invalid/p";
    for url in [plain_url, &secure.url("/s")] {
        let out = fetch_with_env(
            &[],
            &["--proxy", &with_user, "--cacert", ca.to_str().unwrap(), url],
        );
        assert_code(&out, 0);
    }
    let seen = proxy.seen();
    // "me:s@cret" in base64.
    for head in &seen {
        assert!(
            head.contains("\r\nProxy-Authorization: Basic bWU6c0BjcmV0\r\n"),
            "{head}"
        );
    }
    assert!(seen[1].starts_with("CONNECT "), "{seen:?}");
    assert!(
        !secure.requests()[0].contains("Proxy-Authorization"),
        "leaked into the tunnel"
    );
}

//! `wirecat serve --upload`: PUT with curl -T (0 B, 1 B, megabytes,
//! chunked, Expect: 100-continue) byte-identical by SHA-256; every refusal
//! with nothing written anywhere; uploads cut off, stalled or interrupted
//! by SIGTERM leave nothing behind; two uploads of one name race and one
//! wins whole; a 64 MiB upload with the server's peak RSS checked.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::{
    self, assert_code, assert_stderr_has, pseudo_random, read_to_close, wait_until, wirecat,
    Client, Resp, Server, TIMEOUT,
};

fn serve(dir: &Path, extra: &[&str]) -> Server {
    support::serve(dir)
        .args(["--threads", "1", "--upload"])
        .args(extra)
        .start()
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file and folder beneath `dir`, with sizes, sorted: what "nothing
/// written anywhere" is checked against.
fn tree(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                todo.push(e.path());
            }
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            out.push((rel, if meta.is_dir() { 0 } else { meta.len() }));
        }
    }
    out.sort();
    out
}

/// `curl -sS --max-time 20 ARGS`, no proxy.
fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new("curl");
    cmd.env_remove("http_proxy").env_remove("HTTP_PROXY");
    cmd.args(["-sS", "--max-time", "20"]).args(args);
    support::run(&mut cmd, TIMEOUT)
}

/// `PUT target` with `extra` header lines and `body` (Content-Length),
/// on a fresh connection that closes after.
fn put(addr: SocketAddr, target: &str, extra: &str, body: &[u8]) -> Resp {
    let mut c = Client::new(addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    c.send(&raw);
    c.response(false)
}

#[test]
fn curl_uploads_arrive_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &[]);
    let sizes = [0usize, 1, 3 << 20];
    for (i, size) in sizes.iter().enumerate() {
        let data = pseudo_random(*size, i as u32 + 1);
        let file = src.path().join(format!("f{i}"));
        fs::write(&file, &data).unwrap();
        let file = file.to_str().unwrap();
        let cases: [(&str, &[&str]); 3] = [
            ("plain", &[]),
            ("chunked", &["-H", "Transfer-Encoding: chunked"]),
            ("expect", &["-H", "Expect: 100-continue"]),
        ];
        for (how, args) in cases {
            if how == "chunked" && *size == 0 {
                // curl 7.88 sends no last chunk for an empty file (its
                // request never ends): the raw request below covers it.
                continue;
            }
            let name = format!("{how}-{size}.bin");
            let url = s.url(&format!("/{name}"));
            let out = curl(
                &[
                    &["-w", "%{http_code}", "-o", "/dev/null", "-T", file],
                    args,
                    &[&url],
                ]
                .concat(),
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "201",
                "{name}: {out:?}"
            );
            let got = fs::read(d.path().join(&name)).unwrap();
            assert_eq!(sha(&got), sha(&data), "{name}");
        }
    }
    let mut c = Client::new(s.addr);
    c.send(
        b"PUT /chunked-0.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(c.response(false).status, 201);
    assert_eq!(fs::read(d.path().join("chunked-0.bin")).unwrap(), b"");
    // The 201 says where the file is; the access log shows the PUT.
    let r = put(s.addr, "/with%20space.txt", "", b"x");
    assert_eq!(
        (r.status, r.header("Location")),
        (201, Some("/with%20space.txt"))
    );
    s.bg.line_with("\"PUT /with%20space.txt HTTP/1.1\" 201");
    assert_eq!(fs::read(d.path().join("with space.txt")).unwrap(), b"x");
    // No temporary file is left over.
    assert!(support::files(d.path()).iter().all(|n| !n.starts_with('.')));
}

#[test]
fn every_refusal_writes_nothing_anywhere() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    let outside = top.path().join("outside");
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(root.join("a/ok.txt"), "ok").unwrap();
    fs::write(root.join("file"), "f").unwrap();
    symlink(&outside, root.join("out")).unwrap();
    let before = tree(top.path());
    let s = serve(&root, &["-q", "--max-upload", "1K"]);
    let m = serve(&root, &["-q", "--max-upload", "1K", "--mkdir"]);
    let traversal = [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/a%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/secret.txt%00",
        "http://t/%2e%2e/secret.txt",
        "/%2e%2e%2f%2e%2e%2f%2e%2e%2ftmp/secret.txt",
    ];
    for server in [&s, &m] {
        for t in traversal {
            let r = put(server.addr, t, "", b"evil");
            assert!(matches!(r.status, 400 | 404), "{t}: {}", r.status);
        }
        let cases: [(&str, &str, &[u8], u16); 10] = [
            ("/.env", "", b"x", 404),
            ("/a/.hidden/x", "", b"x", 404),
            ("/out/x.txt", "", b"x", 409),
            ("/out/new/x.txt", "", b"x", 409),
            ("/a/ok.txt", "", b"x", 409),
            ("/file/x.txt", "", b"x", 409),
            ("/a/", "", b"x", 405),
            ("/a/ok.txt", "If-Match: \"nope\"\r\n", b"x", 412),
            ("/a/new.txt", "If-Match: *\r\n", b"x", 412),
            ("/big.bin", "", &[7u8; 1025], 413),
        ];
        for (target, extra, body, want) in cases {
            let r = put(server.addr, target, extra, body);
            assert_eq!(r.status, want, "{target} {extra}");
        }
    }
    // Missing folder without --mkdir.
    assert_eq!(put(s.addr, "/no/such/x.txt", "", b"x").status, 409);
    // A chunked body that grows past --max-upload.
    let mut c = Client::new(s.addr);
    c.send(b"PUT /grows.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..3 {
        c.send(format!("200\r\n{}\r\n", "y".repeat(0x200)).as_bytes());
    }
    assert_eq!(c.response(false).status, 413);
    // With uploads on, a method still refused lists PUT and POST as allowed.
    let r = support::request(
        s.addr,
        "DELETE /a/ok.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.header("Allow")),
        (405, Some("GET, HEAD, PUT, POST"))
    );
    // Uploads off: 405 with Allow, as before.
    let off = support::serve(&root).args(["-q"]).start();
    let r = put(off.addr, "/x.txt", "", b"x");
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET, HEAD")));
    wait_until("nothing left", || {
        (tree(top.path()) == before).then_some(())
    });
}

#[test]
fn expect_100_continue_refused_without_reading_the_body() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("taken"), "t").unwrap();
    let s = serve(d.path(), &["-q", "--max-upload", "1K"]);
    for (target, len, want) in [("/taken", 10, 409), ("/huge", 1 << 20, 413)] {
        let mut c = Client::new(s.addr);
        c.send(
            format!(
                "PUT {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        );
        // The final status comes without a byte of the body sent.
        let r = c.response(false);
        assert_eq!(r.status, want, "{target}");
        assert!(c.closed(), "{target}: the unread body ends the connection");
    }
    // Accepted: 100 first, then the body, then 201.
    let mut c = Client::new(s.addr);
    c.send(b"PUT /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    // An interim response has no body (read as a HEAD's).
    assert_eq!(c.response(true).status, 100);
    c.send(b"abc");
    assert_eq!(c.response(false).status, 201);
    assert_eq!(fs::read(d.path().join("ok")).unwrap(), b"abc");
    // Keep-alive: the next request on the same connection is answered.
    c.send(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).body, b"abc");
}

#[test]
fn overwrite_and_preconditions() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("v.txt"), "one").unwrap();
    let s = serve(d.path(), &["-q", "--overwrite"]);
    let etag = support::get(s.addr, "/v.txt")
        .header("ETag")
        .unwrap()
        .to_string();
    assert_eq!(
        put(s.addr, "/v.txt", "If-None-Match: *\r\n", b"no").status,
        412
    );
    assert_eq!(
        put(s.addr, "/v.txt", "If-Match: \"stale\"\r\n", b"no").status,
        412
    );
    let r = put(s.addr, "/v.txt", &format!("If-Match: {etag}\r\n"), b"two");
    assert_eq!(r.status, 204);
    assert_eq!(fs::read(d.path().join("v.txt")).unwrap(), b"two");
    // The old tag no longer matches.
    assert_eq!(
        put(s.addr, "/v.txt", &format!("If-Match: {etag}\r\n"), b"3").status,
        412
    );
    assert_eq!(put(s.addr, "/v.txt", "", b"three").status, 204);
    assert_eq!(
        put(s.addr, "/n.txt", "If-None-Match: *\r\n", b"new").status,
        201
    );
    assert_eq!(fs::read(d.path().join("v.txt")).unwrap(), b"three");
    // --mkdir makes the folders on the way.
    let m = serve(d.path(), &["-q", "--mkdir"]);
    assert_eq!(put(m.addr, "/x/y/z.txt", "", b"deep").status, 201);
    assert_eq!(fs::read(d.path().join("x/y/z.txt")).unwrap(), b"deep");
}

/// Sends the head and half of a 1 MiB body; returns the connection.
fn half_upload(addr: SocketAddr, target: &str, fill: u8) -> Client {
    let mut c = Client::new(addr);
    c.send(
        format!(
            "PUT {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            1 << 20
        )
        .as_bytes(),
    );
    c.send(&vec![fill; 1 << 19]);
    c
}

/// Waits until the server has written all of a half upload's bytes.
fn wait_for_temp(dir: &Path, bytes: u64) {
    wait_until("the temporary file", || {
        fs::read_dir(dir).unwrap().find_map(|e| {
            let e = e.unwrap();
            let temp = e
                .file_name()
                .to_string_lossy()
                .starts_with(".wirecat-upload-");
            (temp && e.metadata().unwrap().len() >= bytes).then_some(())
        })
    });
}

#[test]
fn cut_off_or_stalled_uploads_leave_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &["-q", "--head-timeout", "1"]);
    let c = half_upload(s.addr, "/cut.bin", 1);
    wait_for_temp(d.path(), 1 << 19);
    drop(c);
    wait_until("the cut upload gone", || {
        tree(d.path()).is_empty().then_some(())
    });
    // A client that stops sending mid-body gets 408 after the stall limit.
    let mut c = half_upload(s.addr, "/stall.bin", 2);
    let r = c.response(false);
    assert_eq!(r.status, 408);
    assert!(tree(d.path()).is_empty(), "{:?}", tree(d.path()));
    // Faulty chunked framing: 400, nothing kept.
    let mut c = Client::new(s.addr);
    c.send(b"PUT /bad.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX");
    assert_eq!(c.response(false).status, 400);
    assert!(tree(d.path()).is_empty());
}

#[test]
fn sigterm_mid_upload_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut s = serve(d.path(), &["-q"]);
    let mut c = half_upload(s.addr, "/term.bin", 3);
    wait_for_temp(d.path(), 1 << 19);
    s.bg.signal("TERM");
    s.bg.wait(TIMEOUT);
    let _ = read_to_close(&mut c.stream);
    assert!(tree(d.path()).is_empty(), "{:?}", tree(d.path()));
}

#[test]
fn two_uploads_of_one_name_one_wins_whole() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &["-q"]);
    let mut a = half_upload(s.addr, "/same.bin", b'a');
    let mut b = half_upload(s.addr, "/same.bin", b'b');
    wait_until("both under way", || {
        let temps = fs::read_dir(d.path()).unwrap().count();
        (temps == 2).then_some(())
    });
    a.send(&vec![b'a'; 1 << 19]);
    assert_eq!(a.response(false).status, 201);
    b.send(&vec![b'b'; 1 << 19]);
    assert_eq!(b.response(false).status, 409);
    let got = fs::read(d.path().join("same.bin")).unwrap();
    assert_eq!(got, vec![b'a'; 1 << 20]);
    wait_until("one file", || {
        (support::files(d.path()) == ["same.bin"]).then_some(())
    });
}

#[test]
fn upload_beyond_loopback_needs_auth_or_upload_open() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let out = support::run(
        wirecat().args(["serve", "-p", "0", "-b", "0.0.0.0", "--upload", dir]),
        TIMEOUT,
    );
    assert_code(&out, 2);
    assert_stderr_has(&out, "--upload on 0.0.0.0 lets anyone on the network write");
    assert_eq!(support::stderr(&out).trim().lines().count(), 1, "{out:?}");
}

/// The server's peak resident set, from /proc.
pub(crate) fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_64_mib_upload_streams_in_flat_memory() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &["-q"]);
    let before = peak_rss_kib(s.bg.child.id());
    let size = 64usize << 20;
    let mut c = Client::new(s.addr);
    c.send(
        format!("PUT /big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n").as_bytes(),
    );
    let piece = pseudo_random(1 << 20, 9);
    let mut hasher = Sha256::new();
    for _ in 0..64 {
        c.stream.write_all(&piece).unwrap();
        hasher.update(&piece);
    }
    c.stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(c.response(false).status, 201);
    let after = peak_rss_kib(s.bg.child.id());
    let got = fs::read(d.path().join("big.bin")).unwrap();
    assert_eq!(sha(&got), hex(&hasher.finalize()));
    // The body passes through in read-sized pieces: the peak grows by
    // far less than the 64 MiB that went through.
    assert!(
        after < before + 16 * 1024,
        "VmHWM {before} KiB -> {after} KiB"
    );
}

/// A `multipart/form-data` body with one part per (field, file name,
/// data), and its Content-Type.
fn form_body(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----wirecatTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (field, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match filename {
            Some(f) => format!("form-data; name=\"{field}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{field}\""),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_form(addr: SocketAddr, target: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Resp {
    let (ctype, body) = form_body(parts);
    let mut c = Client::new(addr);
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.send(&[head.as_bytes(), &body].concat());
    c.response(false)
}

#[test]
fn curl_form_uploads_arrive_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("in")).unwrap();
    let src = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &[]);
    let mut args: Vec<String> = vec!["-o".into(), "/dev/null".into()];
    args.extend(["-w".into(), "%{http_code} %{redirect_url}".into()]);
    let mut want = Vec::new();
    for (i, size) in [0usize, 1, 3 << 20].iter().enumerate() {
        let data = pseudo_random(*size, 40 + i as u32);
        let path = src.path().join(format!("form-{size}.bin"));
        fs::write(&path, &data).unwrap();
        args.push("-F".into());
        args.push(format!("file=@{}", path.display()));
        want.push((format!("form-{size}.bin"), sha(&data)));
    }
    args.extend(["-F".into(), "note=not a file".into()]);
    args.push(s.url("/in/"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = curl(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, format!("303 {}", s.url("/in/")), "{out:?}");
    for (name, digest) in &want {
        assert_eq!(
            &sha(&fs::read(d.path().join("in").join(name)).unwrap()),
            digest,
            "{name}"
        );
    }
    assert_eq!(
        support::files(&d.path().join("in")).len(),
        3,
        "the field made no file"
    );
    s.bg.line_with("\"POST /in/ HTTP/1.1\" 303");
    // Chunked, through curl as well.
    let one = src.path().join("form-1.bin");
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Transfer-Encoding: chunked",
        "-F",
        &format!("f=@{};filename=chunked.bin", one.display()),
        &s.url("/"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "303");
    assert_eq!(
        fs::read(d.path().join("chunked.bin")).unwrap(),
        fs::read(&one).unwrap()
    );
}

#[test]
fn form_refusals_write_nothing() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir_all(root.join("a")).unwrap();
    fs::write(root.join("a/taken.txt"), "t").unwrap();
    symlink(top.path(), root.join("out")).unwrap();
    let before = tree(top.path());
    let s = serve(&root, &["-q", "--max-upload", "1K"]);
    let cases: [(&str, Option<&str>, &[u8], u16); 8] = [
        ("/a/", Some("../evil.txt"), b"x", 400),
        ("/a/", Some("..\\\\evil.txt"), b"x", 400),
        ("/a/", Some(".bashrc"), b"x", 400),
        ("/a/", Some("taken.txt"), b"x", 409),
        ("/a/", Some("big.bin"), &[1u8; 2000], 413),
        ("/out/", Some("x.txt"), b"x", 404),
        ("/nope/", Some("x.txt"), b"x", 404),
        ("/a/taken.txt", Some("x.txt"), b"x", 405),
    ];
    for (target, name, data, want) in cases {
        let r = post_form(s.addr, target, &[("f", name, data)]);
        assert_eq!(r.status, want, "{target} {name:?}");
    }
    // Not a form: 415.
    let r = support::request(
        s.addr,
        "POST /a/ HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    );
    assert_eq!(r.status, 415);
    wait_until("nothing written", || {
        (tree(top.path()) == before).then_some(())
    });
}

#[test]
fn the_listing_offers_an_upload_form_only_with_upload() {
    let d = tempfile::tempdir().unwrap();
    let on = serve(d.path(), &["-q"]);
    let page = support::get(on.addr, "/").text();
    assert!(page.contains("<form id=\"upload\" method=\"post\" enctype=\"multipart/form-data\""));
    assert!(page.contains("type=\"file\" name=\"file\" multiple"));
    let off = support::serve(d.path()).args(["-q"]).start();
    assert!(!support::get(off.addr, "/").text().contains("<form"));
}

#[test]
fn uploads_under_auth_need_the_login() {
    let d = tempfile::tempdir().unwrap();
    let s = serve(d.path(), &["-q", "--auth", "ann:pw"]);
    let r = put(s.addr, "/x.txt", "", b"no");
    assert_eq!(r.status, 401);
    assert!(tree(d.path()).is_empty());
    // "ann:pw" in Basic form.
    let r = put(
        s.addr,
        "/x.txt",
        "Authorization: Basic YW5uOnB3\r\n",
        b"yes",
    );
    assert_eq!(r.status, 201);
    assert_eq!(fs::read(d.path().join("x.txt")).unwrap(), b"yes");
}

//! A folder archive's manifest is read a bounded step per turn of the
//! event loop: with one loop and a folder of 30,000 entries, another
//! connection's request is answered while the walk goes on (before the
//! archive's head), the archive is still whole and in the walk's order,
//! a request pipelined behind it waits for it, a client that half-closed
//! is answered, and SIGTERM mid-walk ends the connection cleanly.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use crate::support::{self, read_to_close, Client, Resp, Server, TIMEOUT};

/// Files in the big folder: the walk takes 15 steps to read them (and 8
/// to put them in order), so it spans many turns of the loop.
const FILES: usize = 30_000;
const GET_SMALL: &[u8] = b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n";

/// `root/top/` with [`FILES`] empty files, and `root/small.txt`. On tmpfs
/// when there is one: made in a fraction of a second.
fn big_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let top = d.path().join("top");
    std::fs::create_dir(&top).unwrap();
    for i in 0..FILES {
        std::fs::File::create(top.join(format!("f{i:05}"))).unwrap();
    }
    std::fs::write(d.path().join("small.txt"), "small").unwrap();
    d
}

/// One event loop, so the walk and the other connection share it.
fn serve(root: &Path) -> support::Launch {
    support::serve(root).args(["-q", "--threads", "1"])
}

/// A connection already accepted and served once (so the loop knows it
/// before the archive is asked for).
fn other_connection(s: &Server) -> Client {
    let mut c = Client::new(s.addr);
    c.send(GET_SMALL);
    assert_eq!(c.response(false).text(), "small");
    c
}

/// Asks for the archive on `arch` and, at once, for a small file on
/// `other`: the small file's answer must come while the archive's head
/// has not (a non-blocking peek finds nothing), so the walk did not hold
/// the loop.
fn answered_during_the_walk(arch: &mut TcpStream, other: &mut Client, pipelined: &[u8]) {
    let req = [
        b"GET /top/?download=tar HTTP/1.1\r\nHost: t\r\n\r\n".as_slice(),
        pipelined,
    ]
    .concat();
    arch.write_all(&req).unwrap();
    other.send(GET_SMALL);
    assert_eq!(other.response(false).text(), "small");
    arch.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    match arch.peek(&mut b) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        got => panic!("the archive came before the other answer (the walk held the loop): {got:?}"),
    }
    arch.set_nonblocking(false).unwrap();
}

/// The tar's member names, by `tar -tf`.
fn tar_names(tar: &[u8], dir: &Path) -> Vec<String> {
    let at = dir.join("walked.tar");
    std::fs::write(&at, tar).unwrap();
    let out = support::run(Command::new("tar").arg("-tf").arg(&at), TIMEOUT);
    assert!(out.status.success(), "tar -tf: {out:?}");
    let names = String::from_utf8(out.stdout).unwrap();
    names.lines().map(str::to_string).collect()
}

#[test]
fn another_connection_is_answered_while_a_big_folder_is_walked() {
    let d = big_folder();
    let s = serve(d.path()).start();
    let mut other = other_connection(&s);
    let mut arch = support::connect(s.addr);
    let next = b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    answered_during_the_walk(&mut arch, &mut other, next);
    // The archive, then the request pipelined behind it.
    let raw = read_to_close(&mut arch);
    let tar = Resp::parse(&raw, "the archive");
    assert_eq!(tar.status, 200);
    // Each empty file is one 512-byte header, as is the folder, then the
    // two zero blocks that end a tar.
    let len = (FILES + 1) * 512 + 1024;
    assert_eq!(tar.header("content-length"), Some(len.to_string().as_str()));
    let rest = &tar.body[len..];
    let next = Resp::parse(rest, "the pipelined GET");
    assert_eq!((next.status, next.text().as_str()), (200, "small"));
    // Every file, in the one-shot walk's order (by name, folder first).
    let names = tar_names(&tar.body[..len], d.path());
    let want: Vec<String> = std::iter::once("top/".to_string())
        .chain((0..FILES).map(|i| format!("top/f{i:05}")))
        .collect();
    assert!(
        names == want,
        "{} names, first {:?}",
        names.len(),
        names.first()
    );
    // The same manifest gives the same ETag and bytes on a second walk.
    let again = support::get_to_close(s.addr, "/top/?download=tar", "");
    assert_eq!(again.header("etag"), tar.header("etag"));
    assert!(again.body == tar.body[..len]);
}

/// A client that leaves while the manifest is read stops the walk (the
/// server says so at debug level) and the loop carries on.
/// A client that half-closes after its request (HTTP/1.0 scripts,
/// `nc -N`) still gets the whole archive, as a plain GET would; one that
/// is gone altogether costs the rest of the walk and nothing else: the
/// loop goes on serving.
#[test]
fn a_half_closed_client_gets_its_archive_and_a_gone_one_harms_nothing() {
    let d = big_folder();
    let s = serve(d.path()).start();
    let mut arch = support::connect(s.addr);
    arch.write_all(b"GET /top/?download=tar HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    arch.shutdown(std::net::Shutdown::Write).unwrap();
    let r = Resp::parse(&read_to_close(&mut arch), "the archive request");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), (FILES + 1) * 512 + 1024);
    let mut gone = support::connect(s.addr);
    gone.write_all(b"GET /top/?download=zip HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    drop(gone);
    other_connection(&s);
}

/// SIGTERM while the manifest is read: the archive has not begun, so the
/// answer is 503 with `Retry-After` and the connection closes; the server
/// exits 0. (Should the walk win the race with the signal, the archive
/// must then come whole.)
#[test]
fn sigterm_mid_walk_answers_503_and_exits_cleanly() {
    let d = big_folder();
    let mut s = serve(d.path()).start();
    let mut other = other_connection(&s);
    let mut arch = support::connect(s.addr);
    answered_during_the_walk(&mut arch, &mut other, b"");
    s.bg.signal("TERM");
    let raw = read_to_close(&mut arch);
    let r = Resp::parse(&raw, "the archive request");
    match r.status {
        503 => {
            assert_eq!(r.header("retry-after"), Some("1"));
            assert_eq!(r.header("connection"), Some("close"));
        }
        200 => {
            eprintln!("the walk finished before SIGTERM was seen");
            assert_eq!(r.body.len(), (FILES + 1) * 512 + 1024);
        }
        other => panic!("status {other}"),
    }
    assert!(s.bg.wait(TIMEOUT).success());
}

/// Everything decided from the manifest comes once a long walk is done,
/// as after a short one: HEAD (with a request pipelined behind it), 304,
/// 412 (closing when asked to), one range.
#[test]
fn conditionals_ranges_and_head_after_a_long_walk() {
    let d = big_folder();
    let s = serve(d.path()).start();
    let path = "/top/?download=tar";
    let len = ((FILES + 1) * 512 + 1024).to_string();
    let mut c = Client::new(s.addr);
    c.send(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    c.send(GET_SMALL);
    let head = c.response(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(len.as_str()));
    let etag = head.header("etag").unwrap().to_string();
    assert_eq!(c.response(false).text(), "small");
    let ask = |c: &mut Client, extra: String| {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes());
        c.response(false)
    };
    let same = ask(&mut c, format!("If-None-Match: {etag}\r\n"));
    assert_eq!(
        (same.status, same.header("etag")),
        (304, Some(etag.as_str()))
    );
    let part = ask(&mut c, "Range: bytes=512-611\r\n".into());
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 512-611/{len}").as_str())
    );
    assert!(
        part.body.starts_with(b"top/f00000\0"),
        "the first file's header"
    );
    let stale = ask(
        &mut c,
        "If-Match: \"other\"\r\nConnection: close\r\n".into(),
    );
    assert_eq!(stale.status, 412);
    assert!(c.closed(), "Connection: close is honoured after the walk");
}

//! `fetch -C`: a real process killed by a real signal mid-download (from a
//! server that sends part of the body and then stalls), then resumed
//! against `wirecat serve` holding the same file, or a changed one. The
//! result must be byte for byte the server's file, never a mix.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{addr_in, connect, run, wirecat, Background, TIMEOUT};

/// Bytes the stalling server sends before it stops.
const SENT: usize = 1 << 20;

/// Deterministic, incompressible-looking content of `len` bytes.
fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn serve(dir: &Path) -> (Background, SocketAddr) {
    let (bg, line) = Background::start(wirecat().args(["serve", "-p", "0"]).arg(dir));
    let addr = addr_in(&line);
    (bg, addr)
}

/// The ETag `wirecat serve` gives `path`, read from a HEAD response.
fn etag_of(addr: SocketAddr, path: &str) -> String {
    let mut s = connect(addr);
    write!(
        s,
        "HEAD {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    head.lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .unwrap_or_else(|| panic!("no ETag in {head}"))
        .trim()
        .to_string()
}

/// One connection: a 200 for the whole `body` with `etag`, of which only
/// the first `SENT` bytes come; then silence until the client goes.
fn staller(body: Vec<u8>, etag: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut w = conn.try_clone().unwrap();
        let mut r = BufReader::new(conn);
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\n\r\n",
            body.len()
        );
        let _ = w.write_all(head.as_bytes());
        let _ = w.write_all(&body[..SENT]);
        // Hold the connection until the client is gone (or the timeout).
        let mut sink = [0u8; 64];
        let _ = r.read(&mut sink);
    });
    addr
}

/// Starts `fetch -C` against the staller and waits (bounded) until the
/// part file holds some data, which proves the transfer is under way.
fn interrupted_download(dl: &Path, addr: SocketAddr) -> (Background, PathBuf) {
    let url = format!("http://{addr}/big.bin");
    let (bg, first) =
        Background::start(
            wirecat()
                .current_dir(dl)
                .args(["fetch", "-C", "--no-progress", &url]),
        );
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let part = dl.join("big.bin.part");
    let deadline = Instant::now() + TIMEOUT;
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < (SENT / 4) as u64 {
        assert!(Instant::now() < deadline, "the part file never grew");
        std::thread::sleep(Duration::from_millis(10));
    }
    (bg, part)
}

fn resume(dl: &Path, addr: SocketAddr) -> Output {
    let url = format!("http://{addr}/big.bin");
    run(
        wirecat().current_dir(dl).args(["fetch", "-C", &url]),
        TIMEOUT,
    )
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn sigint_keeps_the_part_and_a_resume_completes_it() {
    let srv = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    let body = content(4 * SENT, 1);
    std::fs::write(srv.path().join("big.bin"), &body).unwrap();
    let (_server, addr) = serve(srv.path());
    let stall = staller(body.clone(), etag_of(addr, "/big.bin"));

    let (mut bg, part) = interrupted_download(dl.path(), stall);
    bg.signal("INT");
    assert_eq!(bg.wait(TIMEOUT).code(), Some(130));
    let kept = std::fs::read(&part).unwrap();
    assert!(!kept.is_empty() && kept.len() <= SENT, "{}", kept.len());
    assert_eq!(kept, body[..kept.len()]);
    assert_eq!(names(dl.path()), ["big.bin.part", "big.bin.part.meta"]);

    let out = resume(dl.path(), addr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("HTTP/1.1 206"), "{stdout}");
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == body);
    assert_eq!(names(dl.path()), ["big.bin"]);

    // Again with the whole file already there as a part: 416, complete.
    std::fs::rename(dl.path().join("big.bin"), &part).unwrap();
    std::fs::write(
        dl.path().join("big.bin.part.meta"),
        format!("if-range {}\n", etag_of(addr, "/big.bin")),
    )
    .unwrap();
    let out = resume(dl.path(), addr);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.1 416"));
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == body);
    assert_eq!(names(dl.path()), ["big.bin"]);
}

#[test]
fn sigkill_then_a_changed_file_gives_the_new_file_not_a_mix() {
    let srv = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    let old = content(4 * SENT, 2);
    std::fs::write(srv.path().join("big.bin"), &old).unwrap();
    let (_server, addr) = serve(srv.path());
    let stall = staller(old.clone(), etag_of(addr, "/big.bin"));

    let (mut bg, part) = interrupted_download(dl.path(), stall);
    bg.signal("KILL");
    bg.wait(TIMEOUT);
    assert!(std::fs::metadata(&part).unwrap().len() > 0);

    // A different size: a different ETag whatever the clock's resolution.
    let new = content(3 * SENT + 17, 3);
    std::fs::write(srv.path().join("big.bin"), &new).unwrap();
    let out = resume(dl.path(), addr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("HTTP/1.1 200"), "{stdout}");
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == new);
    assert_eq!(names(dl.path()), ["big.bin"]);
}

#[test]
fn without_continue_an_interrupt_leaves_nothing() {
    let dl = tempfile::tempdir().unwrap();
    let stall = staller(content(4 * SENT, 4), "\"x\"".into());
    let url = format!("http://{stall}/big.bin");
    let (mut bg, first) =
        Background::start(
            wirecat()
                .current_dir(dl.path())
                .args(["fetch", "--no-progress", &url]),
        );
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // The temporary name is random: wait until some file holds data.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let grown = std::fs::read_dir(dl.path())
            .unwrap()
            .any(|e| e.unwrap().metadata().unwrap().len() >= (SENT / 4) as u64);
        if grown {
            break;
        }
        assert!(Instant::now() < deadline, "no temporary file grew");
        std::thread::sleep(Duration::from_millis(10));
    }
    bg.signal("INT");
    assert_eq!(bg.wait(TIMEOUT).code(), Some(130));
    assert!(names(dl.path()).is_empty(), "{:?}", names(dl.path()));
}

/// A final name of 255 bytes (NAME_MAX): its part and meta names would not
/// fit with `.part.meta` added, so they are shortened and tagged with a hash
/// of the full name, and the next run finds them again (issue 9, item 10).
#[test]
fn the_longest_names_keep_and_resume_their_parts() {
    let srv = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    let name = format!("{}.bin", "r".repeat(251));
    let body = content(4 * SENT, 5);
    std::fs::write(srv.path().join(&name), &body).unwrap();
    let (_server, addr) = serve(srv.path());
    let stall = staller(body.clone(), etag_of(addr, &format!("/{name}")));

    let fetch = |addr: SocketAddr| {
        let url = format!("http://{addr}/{name}");
        let mut cmd = wirecat();
        cmd.current_dir(dl.path())
            .args(["fetch", "-C", "--no-progress", &url]);
        cmd
    };
    let (mut bg, first) = Background::start(&mut fetch(stall));
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let deadline = Instant::now() + TIMEOUT;
    let part = loop {
        let grown = names(dl.path()).into_iter().find(|n| {
            n.ends_with(".part")
                && std::fs::metadata(dl.path().join(n)).map_or(0, |m| m.len()) >= (SENT / 4) as u64
        });
        if let Some(part) = grown {
            break part;
        }
        assert!(
            Instant::now() < deadline,
            "no part file grew: {:?}",
            names(dl.path())
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    bg.signal("INT");
    assert_eq!(bg.wait(TIMEOUT).code(), Some(130));
    assert_eq!(names(dl.path()), [part.clone(), format!("{part}.meta")]);

    let out = run(&mut fetch(addr), TIMEOUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.1 206"));
    assert!(std::fs::read(dl.path().join(&name)).unwrap() == body);
    assert_eq!(names(dl.path()), [name]);
}

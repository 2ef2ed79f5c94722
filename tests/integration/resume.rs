//! `fetch -C`: a real process killed by a real signal mid-download (from a
//! server that sends part of the body and then stalls), then resumed
//! against `wirecat serve` holding the same file, or a changed one. The
//! result must be byte for byte the server's file, never a mix.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{
    self, assert_code, files as names, pseudo_random, read_request_head, request, run, stdout,
    wait_until, wirecat, Background, Server, TIMEOUT,
};

/// Bytes the stalling server sends before it stops.
const SENT: usize = 1 << 20;

fn serve(dir: &Path) -> Server {
    support::serve(dir).start()
}

/// The ETag `wirecat serve` gives `path`, read from a HEAD response.
fn etag_of(addr: SocketAddr, path: &str) -> String {
    let raw = format!("HEAD {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let r = request(addr, &raw);
    r.header("etag")
        .unwrap_or_else(|| panic!("no ETag in {:?}", r.headers))
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
        let _ = read_request_head(&mut r);
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

/// `wirecat fetch [-C] --no-progress` of `url` in `dl`.
fn fetch(dl: &Path, url: &str, resume: bool) -> Command {
    let mut cmd = wirecat();
    cmd.current_dir(dl).arg("fetch");
    if resume {
        cmd.arg("-C");
    }
    cmd.args(["--no-progress", url]);
    cmd
}

/// Starts `cmd` (a download from the staller) and waits (bounded) until a
/// file in `dl` that `wanted` picks holds some data, which proves the
/// transfer is under way; returns the process and that file's name.
fn interrupted(
    cmd: &mut Command,
    dl: &Path,
    wanted: impl Fn(&str) -> bool,
) -> (Background, String) {
    let (bg, first) = Background::start(cmd);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let name = wait_until("no download file grew", || {
        names(dl).into_iter().find(|n| {
            wanted(n) && std::fs::metadata(dl.join(n)).map_or(0, |m| m.len()) >= (SENT / 4) as u64
        })
    });
    (bg, name)
}

/// Interrupts the download with SIGINT, which exits 130.
fn interrupt(mut bg: Background) {
    bg.signal("INT");
    assert_eq!(bg.wait(TIMEOUT).code(), Some(130));
}

/// `fetch -C` of `/{name}` from `addr` in `dl`, to the end.
fn resume(dl: &Path, addr: SocketAddr, name: &str) -> Output {
    run(
        wirecat()
            .current_dir(dl)
            .args(["fetch", "-C", &format!("http://{addr}/{name}")]),
        TIMEOUT,
    )
}

/// Starts `fetch -C` of `/big.bin` from the staller at `stall` and waits
/// until its part file holds data; returns the process and the part's path.
fn interrupted_download(dl: &Path, stall: SocketAddr) -> (Background, PathBuf) {
    let url = format!("http://{stall}/big.bin");
    let (bg, part) = interrupted(&mut fetch(dl, &url, true), dl, |n| n == "big.bin.part");
    (bg, dl.join(part))
}

/// A download in the making: `wirecat serve` holding `name` (of `body`)
/// in `srv`, a staller that sends part of the same file under the same
/// ETag, and an empty folder `dl` to download into.
struct Setup {
    srv: tempfile::TempDir,
    dl: tempfile::TempDir,
    server: Server,
    stall: SocketAddr,
}

fn setup(name: &str, body: &[u8]) -> Setup {
    let srv = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    std::fs::write(srv.path().join(name), body).unwrap();
    let server = serve(srv.path());
    let stall = staller(body.to_vec(), etag_of(server.addr, &format!("/{name}")));
    Setup {
        srv,
        dl,
        server,
        stall,
    }
}

#[test]
fn sigint_keeps_the_part_and_a_resume_completes_it() {
    let body = pseudo_random(4 * SENT, 1);
    let t = setup("big.bin", &body);
    let (dl, server, stall) = (&t.dl, &t.server, t.stall);

    let (bg, part) = interrupted_download(dl.path(), stall);
    interrupt(bg);
    let kept = std::fs::read(&part).unwrap();
    assert!(!kept.is_empty() && kept.len() <= SENT, "{}", kept.len());
    assert_eq!(kept, body[..kept.len()]);
    assert_eq!(names(dl.path()), ["big.bin.part", "big.bin.part.meta"]);

    let out = resume(dl.path(), server.addr, "big.bin");
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("HTTP/1.1 206"), "{}", stdout(&out));
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == body);
    assert_eq!(names(dl.path()), ["big.bin"]);

    // Again with the whole file already there as a part: 416, complete.
    std::fs::rename(dl.path().join("big.bin"), &part).unwrap();
    std::fs::write(
        dl.path().join("big.bin.part.meta"),
        format!("if-range {}\n", etag_of(server.addr, "/big.bin")),
    )
    .unwrap();
    let out = resume(dl.path(), server.addr, "big.bin");
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("HTTP/1.1 416"));
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == body);
    assert_eq!(names(dl.path()), ["big.bin"]);
}

#[test]
fn sigkill_then_a_changed_file_gives_the_new_file_not_a_mix() {
    let old = pseudo_random(4 * SENT, 2);
    let t = setup("big.bin", &old);
    let (srv, dl, server, stall) = (&t.srv, &t.dl, &t.server, t.stall);

    let (mut bg, part) = interrupted_download(dl.path(), stall);
    bg.signal("KILL");
    bg.wait(TIMEOUT);
    assert!(std::fs::metadata(&part).unwrap().len() > 0);

    // A different size: a different ETag whatever the clock's resolution.
    let new = pseudo_random(3 * SENT + 17, 3);
    std::fs::write(srv.path().join("big.bin"), &new).unwrap();
    let out = resume(dl.path(), server.addr, "big.bin");
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("HTTP/1.1 200"), "{}", stdout(&out));
    assert!(std::fs::read(dl.path().join("big.bin")).unwrap() == new);
    assert_eq!(names(dl.path()), ["big.bin"]);
}

#[test]
fn without_continue_an_interrupt_leaves_nothing() {
    let dl = tempfile::tempdir().unwrap();
    let stall = staller(pseudo_random(4 * SENT, 4), "\"x\"".into());
    let url = format!("http://{stall}/big.bin");
    // The temporary name is random: wait until some file holds data.
    let (bg, _) = interrupted(&mut fetch(dl.path(), &url, false), dl.path(), |_| true);
    interrupt(bg);
    assert!(names(dl.path()).is_empty(), "{:?}", names(dl.path()));
}

/// Ctrl-C says what is left: without -C nothing, and that -C makes the
/// download resumable; with -C the part, and that the same command goes on.
#[test]
fn an_interrupt_says_what_is_left_and_how_to_go_on() {
    // (-C, the message)
    let cases = [
        (
            false,
            "wirecat: interrupted; nothing saved (wirecat fetch -C URL makes downloads resumable)",
        ),
        (
            true,
            "wirecat: interrupted; what arrived is kept as .part; the same wirecat fetch -C continues",
        ),
    ];
    for (resume, message) in cases {
        let dl = tempfile::tempdir().unwrap();
        let stall = staller(pseudo_random(4 * SENT, 6), "\"x\"".into());
        let url = format!("http://{stall}/big.bin");
        let (mut bg, first) =
            Background::start_collecting_stderr(&mut fetch(dl.path(), &url, resume));
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        wait_until("no download file grew", || {
            names(dl.path()).into_iter().find(|n| {
                std::fs::metadata(dl.path().join(n)).map_or(0, |m| m.len()) >= (SENT / 4) as u64
            })
        });
        bg.signal("INT");
        assert_eq!(bg.wait(TIMEOUT).code(), Some(130));
        assert_eq!(bg.stderr_line("interrupted"), message);
    }
}

/// A final name of 255 bytes (NAME_MAX): its part and meta names would not
/// fit with `.part.meta` added, so they are shortened and tagged with a hash
/// of the full name, and the next run finds them again (issue 9, item 10).
#[test]
fn the_longest_names_keep_and_resume_their_parts() {
    let name = format!("{}.bin", "r".repeat(251));
    let body = pseudo_random(4 * SENT, 5);
    let t = setup(&name, &body);
    let (dl, server, stall) = (&t.dl, &t.server, t.stall);

    let url = |addr: SocketAddr| format!("http://{addr}/{name}");
    let (bg, part) = interrupted(&mut fetch(dl.path(), &url(stall), true), dl.path(), |n| {
        n.ends_with(".part")
    });
    interrupt(bg);
    assert_eq!(names(dl.path()), [part.clone(), format!("{part}.meta")]);

    let out = run(&mut fetch(dl.path(), &url(server.addr), true), TIMEOUT);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("HTTP/1.1 206"));
    assert!(std::fs::read(dl.path().join(&name)).unwrap() == body);
    assert_eq!(names(dl.path()), [name]);
}

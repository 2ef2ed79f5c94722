//! `greet --unix`, `chat --unix` and `talk --unix`: the greeting dialogue,
//! an echo service byte for byte and a three-member chat over a Unix
//! socket, talk as their client, and the socket file's rules (a stale one
//! replaced, a live one or any other file refused and left alone, removal
//! on SIGTERM).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::chat::{three_members_talk, Lines};
use crate::support::{self, assert_code, run, wirecat, Background, TIMEOUT};

/// A short socket path in its own temp folder (a path must fit in 108 bytes).
fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("g.sock")
}

/// `wirecat SUB --unix PATH ARGS` in the background, its announcement checked.
fn start(sub: &str, path: &Path, args: &[&str]) -> Background {
    let mut cmd = wirecat();
    cmd.arg(sub).arg("--unix").arg(path).args(args);
    let (bg, first) = Background::start(&mut cmd);
    assert!(
        first.ends_with(&format!(" on unix:{}", path.display())),
        "{first}"
    );
    bg
}

fn connect(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect to the socket");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// A line client of the socket at `path`.
fn client(path: &Path) -> Lines<UnixStream> {
    Lines::raw(connect(path))
}

/// A chat member of the socket at `path` that joined as `name`.
fn member(path: &Path, name: &str) -> Lines<UnixStream> {
    Lines::joined(connect(path), name)
}

#[test]
fn greet_unix_the_greeting_dialogue_and_talk_as_its_client() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    let _server = start("greet", &path, &[]);
    let mut c = client(&path);
    assert_eq!(c.line(), "Welcome!\n");
    c.send("Michael");
    assert_eq!(c.line(), "Hello, Michael!\n");
    c.send("exit");
    assert_eq!(c.line(), "Bye!\n");

    let out = run(
        wirecat()
            .arg("talk")
            .arg("--unix")
            .arg(&path)
            .args(["Tracy", "Sarah"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        support::stdout(&out),
        "Welcome!\nHello, Tracy!\nHello, Sarah!\nBye!\n"
    );
}

#[test]
fn greet_unix_echo_is_byte_exact() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    let _server = start("greet", &path, &["--service", "echo"]);
    let mut s = connect(&path);
    let data: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let writer = {
        let mut w = s.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || {
            // Partial writes: uneven pieces.
            for piece in data.chunks(1000) {
                w.write_all(piece).unwrap();
            }
        })
    };
    let mut back = vec![0u8; data.len()];
    s.read_exact(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == data, "echoed bytes differ");
}

#[test]
fn chat_unix_three_members_see_each_other_and_talk_joins() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    let _server = start("chat", &path, &[]);
    // Every member's peer is the same unnamed `unix:`; the room tells them apart.
    let mut alice = member(&path, "alice");
    let mut bob = member(&path, "bob");
    assert_eq!(alice.line(), "* bob joined\n");
    let mut carol = member(&path, "carol");
    assert_eq!(alice.line(), "* carol joined\n");
    assert_eq!(bob.line(), "* carol joined\n");

    three_members_talk(&mut alice, &mut bob, &mut carol);

    let out = run(
        wirecat()
            .args(["talk", "--name", "dave", "--unix"])
            .arg(&path)
            .args(["hello", "/who"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    let text = support::stdout(&out);
    assert!(text.contains("* 3 here: alice, carol, dave\n"), "{text}");
    assert_eq!(alice.line(), "* dave joined\n");
    assert_eq!(alice.line(), "<dave> hello\n");
    assert_eq!(alice.line(), "* dave left\n");
}

#[test]
fn greet_unix_a_stale_socket_file_is_replaced() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    // A listener that went away without removing its file.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    for sub in ["greet", "chat"] {
        let _server = start(sub, &path, &[]);
        let mut c = client(&path);
        assert!(!c.line().is_empty(), "{sub} answers");
        // Killed (SIGKILL on drop): the file stays, stale, for the next.
    }
}

#[test]
fn greet_unix_a_live_socket_or_another_file_is_refused_and_left_alone() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    let _live = UnixListener::bind(&path).unwrap();
    let file = sock.path().join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    for sub in ["greet", "chat"] {
        let out = run(wirecat().arg(sub).arg("--unix").arg(&path), TIMEOUT);
        assert_code(&out, 1);
        assert_eq!(
            support::stderr(&out),
            format!("wirecat: {}: in use by another server\n", path.display())
        );
        let out = run(wirecat().arg(sub).arg("--unix").arg(&file), TIMEOUT);
        assert_code(&out, 1);
        support::assert_stderr_has(&out, "is not a socket; left untouched");
    }
    assert!(path.exists(), "the live socket's file is still there");
    connect(&path);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn greet_unix_the_socket_file_is_removed_on_sigterm() {
    for sub in ["greet", "chat"] {
        let sock = tempfile::tempdir().unwrap();
        let path = socket_in(&sock);
        let mut server = start(sub, &path, &[]);
        let mut c = client(&path);
        assert!(!c.line().is_empty());
        drop(c);
        server.signal("TERM");
        let status = server.wait(TIMEOUT);
        assert!(status.success(), "{sub}: exit status {status:?}");
        assert!(!path.exists(), "{sub}: the socket file is left behind");
    }
}

#[test]
fn greet_unix_is_a_stream_socket_not_a_udp_or_tcp_address() {
    let sock = tempfile::tempdir().unwrap();
    let path = socket_in(&sock);
    for args in [
        &["greet", "--udp"][..],
        &["greet", "-p", "0"],
        &["chat", "--udp"],
        &["chat", "-b", "127.0.0.1"],
    ] {
        let out = run(wirecat().args(args).arg("--unix").arg(&path), TIMEOUT);
        assert_code(&out, 2);
        support::assert_stderr_has(&out, "cannot be used with");
    }
    assert!(!path.exists(), "nothing was bound");
    let out = run(
        wirecat()
            .args(["talk", "--udp", "--unix"])
            .arg(&path)
            .arg("hi"),
        TIMEOUT,
    );
    assert_code(&out, 2);
}

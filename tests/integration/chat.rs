//! `chat` end to end over 127.0.0.1: three members over TCP, names, escapes,
//! the line cap, a member that never reads, a full room, 2,000 members at
//! once, and the same dialogue over UDP.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{self, connect, Background, TIMEOUT};

fn chat(extra: &[&str]) -> (Background, SocketAddr) {
    let server = support::chat().args(extra).start();
    (server.bg, server.addr)
}

/// One client of a line service over any stream socket (TCP here, a Unix
/// socket in `greet_unix`), reading line by line. Writes go to the same
/// stream: `BufReader` buffers only what is read.
pub(crate) struct Lines<S: Read + Write> {
    reader: BufReader<S>,
}

/// A chat member over TCP.
type Member = Lines<TcpStream>;

impl<S: Read + Write> Lines<S> {
    /// A client of `stream`, nothing read yet.
    pub(crate) fn raw(stream: S) -> Lines<S> {
        Lines {
            reader: BufReader::new(stream),
        }
    }

    /// A chat member of `stream`, past the room's welcome.
    pub(crate) fn welcomed(stream: S) -> Lines<S> {
        let mut m = Lines::raw(stream);
        assert!(m.line().starts_with("* Welcome to wirecat chat!"));
        m
    }

    /// A chat member of `stream` that joined as `name` and read the greeting.
    pub(crate) fn joined(stream: S, name: &str) -> Lines<S> {
        let mut m = Lines::welcomed(stream);
        m.send(name);
        assert!(m.line().starts_with(&format!("* Hello {name}!")));
        m
    }

    pub(crate) fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read a line");
        l
    }

    pub(crate) fn send(&mut self, line: &str) {
        self.reader
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    pub(crate) fn rest(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_to_string(&mut s).expect("read to EOF");
        s
    }
}

impl Member {
    fn new(addr: SocketAddr) -> Member {
        Lines::welcomed(connect(addr))
    }

    /// Joins as `name`, and reads the greeting.
    fn named(addr: SocketAddr, name: &str) -> Member {
        Lines::joined(connect(addr), name)
    }
}

/// The dialogue every stream transport runs once alice, bob and carol have
/// joined in that order and read each other's joins: a line, an action and
/// /who reach the right members, then bob quits and the others hear it.
pub(crate) fn three_members_talk<S: Read + Write>(
    alice: &mut Lines<S>,
    bob: &mut Lines<S>,
    carol: &mut Lines<S>,
) {
    alice.send("hi all");
    assert_eq!(bob.line(), "<alice> hi all\n");
    assert_eq!(carol.line(), "<alice> hi all\n");
    bob.send("/me waves");
    assert_eq!(alice.line(), "* bob waves\n");
    assert_eq!(carol.line(), "* bob waves\n");
    carol.send("/who");
    assert_eq!(carol.line(), "* 3 here: alice, bob, carol\n");

    bob.send("/quit");
    assert_eq!(bob.rest(), "* Bye!\n");
    assert_eq!(alice.line(), "* bob left\n");
    assert_eq!(carol.line(), "* bob left\n");
}

#[test]
fn chat_three_members_see_each_other() {
    let (_server, addr) = chat(&[]);
    let mut alice = Member::named(addr, "alice");
    let mut bob = Member::new(addr);
    bob.send("/nick bob");
    assert!(bob.line().starts_with("* Hello bob! 1 other(s) here."));
    assert_eq!(alice.line(), "* bob joined\n");
    let mut carol = Member::named(addr, "carol");
    assert_eq!(alice.line(), "* carol joined\n");
    assert_eq!(bob.line(), "* carol joined\n");

    three_members_talk(&mut alice, &mut bob, &mut carol);
    drop(carol);
    assert_eq!(alice.line(), "* carol left\n");
    alice.send("/who");
    assert_eq!(alice.line(), "* 1 here: alice\n");
}

#[test]
fn chat_names_taken_too_long_or_unprintable_are_refused() {
    let (_server, addr) = chat(&[]);
    let mut alice = Member::named(addr, "Alice");
    let mut other = Member::new(addr);
    for (name, error) in [
        ("alice", "Error: that name is taken\n"),
        (&"x".repeat(25), "Error: a name is at most 24 characters\n"),
        (
            "\x1b[31mred",
            "Error: a name is printable ASCII without spaces or < > *\n",
        ),
        (
            "two words",
            "Error: a name is printable ASCII without spaces or < > *\n",
        ),
        (
            "<alice>",
            "Error: a name is printable ASCII without spaces or < > *\n",
        ),
    ] {
        other.send(name);
        assert_eq!(other.line(), error, "{name:?}");
    }
    other.send("/me sneaks");
    assert_eq!(other.line(), "Error: choose a name first (or /nick NAME)\n");
    other.send("bob");
    assert!(other.line().starts_with("* Hello bob!"));
    // Nothing before the name reached the room.
    assert_eq!(alice.line(), "* bob joined\n");
}

#[test]
fn chat_escapes_never_reach_another_terminal() {
    let (_server, addr) = chat(&[]);
    let mut alice = Member::named(addr, "alice");
    let mut bob = Member::named(addr, "bob");
    assert_eq!(alice.line(), "* bob joined\n");
    bob.reader
        .get_mut()
        .write_all(b"\x1b[2J\x1b]0;pwned\x07hi\tthere\x08\xff\xe2\x80\xae!\r\n")
        .unwrap();
    let mut got = Vec::new();
    alice.reader.read_until(b'\n', &mut got).unwrap();
    assert_eq!(got, b"<bob> [2J]0;pwnedhi there?!\n");
}

#[test]
fn chat_overlong_line_gets_an_error_and_a_close() {
    let (_server, addr) = chat(&["--max-line", "100"]);
    let mut alice = Member::named(addr, "alice");
    let mut bob = Member::named(addr, "bob");
    assert_eq!(alice.line(), "* bob joined\n");
    bob.reader.get_mut().write_all(&[b'x'; 500]).unwrap();
    assert_eq!(bob.rest(), "Error: line longer than 100 bytes\n");
    assert_eq!(alice.line(), "* bob left\n");
}

#[test]
fn chat_room_full() {
    let (_server, addr) = chat(&["--max-members", "2"]);
    let _a = Member::named(addr, "a");
    let _b = Member::new(addr);
    let mut c = connect(addr);
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    assert_eq!(s, "Error: the room is full, try again later\n");
}

#[test]
fn chat_a_member_that_never_reads_is_dropped_and_the_others_keep_receiving() {
    let (_server, addr) = chat(&["--max-line", "8000"]);
    let mut alice = Member::named(addr, "alice");
    let _stuck = Member::named(addr, "stuck");
    let mut carol = Member::named(addr, "carol");
    assert_eq!(alice.line(), "* stuck joined\n");
    assert_eq!(alice.line(), "* carol joined\n");
    let text = "y".repeat(7000);
    let start = Instant::now();
    for i in 0.. {
        assert!(start.elapsed() < TIMEOUT * 6, "stuck never dropped");
        carol.send(&format!("{i} {text}"));
        // Every line reaches alice at once, however full stuck's queue is.
        let line = alice.line();
        if line == "* stuck was dropped (not reading)\n" {
            assert!(i > 100, "dropped after {i} lines");
            break;
        }
        assert_eq!(line, format!("<carol> {i} {text}\n"));
    }
    carol.send("/who");
    assert_eq!(carol.line(), "* stuck was dropped (not reading)\n");
    assert_eq!(carol.line(), "* 2 here: alice, carol\n");
}

/// 2,000 members on nonblocking sockets, read in passes: what each has
/// seen of the others' lines.
struct Crowd {
    socks: Vec<TcpStream>,
    partial: Vec<Vec<u8>>,
    seen: Vec<usize>,
    joins: Vec<usize>,
    buf: Vec<u8>,
}

impl Crowd {
    fn join(&mut self, addr: SocketAddr) {
        let i = self.socks.len();
        let mut s = connect(addr);
        s.write_all(format!("m{i}\n").as_bytes()).unwrap();
        s.set_nonblocking(true).unwrap();
        self.socks.push(s);
        self.partial.push(Vec::new());
        self.seen.push(0);
        self.joins.push(0);
    }

    /// One read from every member; whether anything came.
    fn pass(&mut self) -> bool {
        let mut progress = false;
        for (i, s) in self.socks.iter_mut().enumerate() {
            match s.read(&mut self.buf) {
                Ok(0) => panic!("member {i} was closed"),
                Ok(n) => {
                    progress = true;
                    let partial = &mut self.partial[i];
                    partial.extend_from_slice(&self.buf[..n]);
                    let end = partial
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1);
                    for line in partial[..end].split(|&b| b == b'\n') {
                        if line.starts_with(b"<m") {
                            self.seen[i] += 1;
                        } else if line.ends_with(b" joined") {
                            self.joins[i] += 1;
                        }
                        let text = String::from_utf8_lossy(line);
                        assert!(!text.contains("dropped"), "{text}");
                    }
                    partial.drain(..end);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("member {i}: {e}"),
            }
        }
        progress
    }
}

#[test]
fn chat_two_thousand_members_each_sending_and_receiving() {
    const N: usize = 2000;
    let (_server, addr) = chat(&[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut crowd = Crowd {
        socks: Vec::new(),
        partial: Vec::new(),
        seen: Vec::new(),
        joins: Vec::new(),
        buf: vec![0; 64 * 1024],
    };
    for i in 0..N {
        crowd.join(addr);
        if i % 100 == 99 {
            crowd.pass();
        }
    }
    // Of every two members, the one named first hears of the other: N(N-1)/2
    // join notices in all. Not N - 1 - i for member i: the room may take
    // names out of connection order (a burst past its budget holds the
    // senders back, and a member that connects later can be named first).
    while crowd.joins.iter().sum::<usize>() < N * (N - 1) / 2 {
        assert!(Instant::now() < deadline, "joins still coming");
        if !crowd.pass() {
            std::thread::yield_now();
        }
    }
    assert!(crowd.joins.iter().all(|&n| n < N), "a join heard twice");
    for (i, s) in crowd.socks.iter_mut().enumerate() {
        s.set_nonblocking(false).unwrap();
        s.write_all(format!("hello from m{i}\n").as_bytes())
            .unwrap();
        s.set_nonblocking(true).unwrap();
    }
    // Then every member sees every other member's line.
    while crowd.seen.iter().any(|&n| n < N - 1) {
        let done = crowd.seen.iter().filter(|&&n| n >= N - 1).count();
        assert!(
            Instant::now() < deadline,
            "only {done} of {N} saw everything"
        );
        if !crowd.pass() {
            std::thread::yield_now();
        }
    }
}

fn udp_member(server: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.connect(server).unwrap();
    s
}

fn datagram(s: &UdpSocket) -> String {
    let mut buf = [0u8; 2048];
    let n = s.recv(&mut buf).expect("a datagram");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn chat_the_same_dialogue_over_udp() {
    let (_server, addr) = chat(&["--udp"]);
    let alice = udp_member(addr);
    alice.send(b"alice\n").unwrap();
    assert!(datagram(&alice).starts_with("* Hello alice! 0 other(s) here."));
    let bob = udp_member(addr);
    bob.send(b"alice").unwrap();
    assert_eq!(datagram(&bob), "Error: that name is taken\n");
    bob.send(b"bob").unwrap();
    assert!(datagram(&bob).starts_with("* Hello bob! 1 other(s) here."));
    assert_eq!(datagram(&alice), "* bob joined\n");
    let carol = udp_member(addr);
    carol.send(b"/nick carol").unwrap();
    datagram(&carol);
    assert_eq!(datagram(&alice), "* carol joined\n");
    assert_eq!(datagram(&bob), "* carol joined\n");

    alice.send(b"hi all\n").unwrap();
    assert_eq!(datagram(&bob), "<alice> hi all\n");
    assert_eq!(datagram(&carol), "<alice> hi all\n");
    bob.send(b"/me waves").unwrap();
    assert_eq!(datagram(&alice), "* bob waves\n");
    assert_eq!(datagram(&carol), "* bob waves\n");
    carol.send(b"/who").unwrap();
    assert_eq!(datagram(&carol), "* 3 here: alice, bob, carol\n");
    bob.send(b"/quit").unwrap();
    assert_eq!(datagram(&bob), "* Bye!\n");
    assert_eq!(datagram(&alice), "* bob left\n");
    assert_eq!(datagram(&carol), "* bob left\n");
}

#[test]
fn chat_udp_members_that_go_quiet_leave() {
    let (_server, addr) = chat(&["--udp", "--idle-timeout", "0.5"]);
    let alice = udp_member(addr);
    alice.send(b"alice").unwrap();
    datagram(&alice);
    let bob = udp_member(addr);
    bob.send(b"bob").unwrap();
    datagram(&bob);
    assert_eq!(datagram(&alice), "* bob joined\n");
    // alice keeps talking; bob says nothing and is timed out.
    let start = Instant::now();
    loop {
        alice.send(b"/who").unwrap();
        let got = datagram(&alice);
        if got == "* bob left (idle)\n" {
            break;
        }
        assert!(start.elapsed() < TIMEOUT, "{got}");
        std::thread::sleep(Duration::from_millis(100)); // pacing, not synchronisation
    }
}

#[test]
fn chat_talk_joins_by_name_says_its_messages_and_quits() {
    let (_server, addr) = chat(&[]);
    let mut alice = Member::named(addr, "alice");
    let out = support::run(
        support::wirecat().args(["talk", "--name", "bob", &addr.to_string(), "hi", "/who"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("* Hello bob! 1 other(s) here."), "{text}");
    assert!(text.contains("* 2 here: alice, bob\n"), "{text}");
    assert!(text.ends_with("* Bye!\n"), "{text}");
    assert_eq!(alice.line(), "* bob joined\n");
    assert_eq!(alice.line(), "<bob> hi\n");
    assert_eq!(alice.line(), "* bob left\n");
}

#[test]
fn chat_talk_shows_lines_as_they_arrive_while_stdin_is_open() {
    use std::process::Stdio;
    for udp in [false, true] {
        let (_server, addr) = chat(if udp { &["--udp"] } else { &[] });
        let mut cmd = support::wirecat();
        cmd.args(["talk", "--name", "bob", &addr.to_string()]);
        if udp {
            cmd.arg("--udp");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = support::read_lines(child.stdout.take().unwrap());
        let next = || lines.recv_timeout(TIMEOUT).expect("a line from talk");
        let hello = if udp { next() } else { (next(), next()).1 };
        assert!(hello.starts_with("* Hello bob!"), "{hello}");
        // Another member speaks while talk still waits on its stdin.
        if udp {
            let alice = udp_member(addr);
            alice.send(b"alice").unwrap();
            datagram(&alice);
            alice.send(b"hi bob").unwrap();
            assert_eq!(next(), "* alice joined");
            assert_eq!(next(), "<alice> hi bob");
            stdin.write_all(b"hi alice\n").unwrap();
            assert_eq!(datagram(&alice), "<bob> hi alice\n");
            drop(stdin);
            assert_eq!(next(), "* Bye!");
        } else {
            let mut alice = Member::named(addr, "alice");
            alice.send("hi bob");
            assert_eq!(next(), "* alice joined");
            assert_eq!(next(), "<alice> hi bob");
            stdin.write_all(b"hi alice\n").unwrap();
            assert_eq!(alice.line(), "<bob> hi alice\n");
            drop(stdin);
            assert_eq!(next(), "* Bye!");
            assert_eq!(alice.line(), "* bob left\n");
        }
        let status = support::wait_until("talk to exit", || child.try_wait().unwrap());
        assert!(status.success());
    }
}

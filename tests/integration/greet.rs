//! `greet` and `talk` end to end over 127.0.0.1: the lesson's dialogue,
//! framing across and within writes, many concurrent clients, a client that
//! never reads, UDP, shutdown, and `talk` against `greet`.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use crate::support::{self, connect, run, run_with_stdin, wirecat, Background, TIMEOUT};

fn greet(extra: &[&str]) -> (Background, SocketAddr) {
    let server = support::greet().args(extra).start();
    (server.bg, server.addr)
}

/// A client that reads replies line by line.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        let s = connect(addr);
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read a reply");
        l
    }

    fn line_bytes(&mut self) -> Vec<u8> {
        let mut l = Vec::new();
        self.reader.read_until(b'\n', &mut l).expect("read a reply");
        l
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Everything up to EOF.
    fn rest(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_to_string(&mut s).expect("read to EOF");
        s
    }
}

#[test]
fn greet_the_lessons_dialogue() {
    let (_server, addr) = greet(&[]);
    let mut c = Client::new(addr);
    assert_eq!(c.line(), "Welcome!\n");
    for name in ["Michael", "Tracy", "Sarah"] {
        c.send(format!("{name}\n").as_bytes());
        assert_eq!(c.line(), format!("Hello, {name}!\n"));
    }
    c.send(b"exit\r\n");
    assert_eq!(c.rest(), "Bye!\n", "Bye, then the server closes");
}

#[test]
fn greet_messages_written_one_byte_at_a_time() {
    let (_server, addr) = greet(&[]);
    let mut c = Client::new(addr);
    c.writer.set_nodelay(true).unwrap();
    assert_eq!(c.line(), "Welcome!\n");
    for b in b"Michael\r\nTracy\n" {
        c.send(&[*b]);
    }
    assert_eq!(c.line(), "Hello, Michael!\n");
    assert_eq!(c.line(), "Hello, Tracy!\n");
}

#[test]
fn greet_several_messages_in_one_write_and_a_last_unterminated_one() {
    let (_server, addr) = greet(&[]);
    let mut c = Client::new(addr);
    c.send(b"Michael\nTracy\r\n\nSar");
    c.send(b"ah");
    c.writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        c.rest(),
        "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, !\nHello, Sarah!\n"
    );
}

#[test]
fn greet_refuses_overlong_lines_and_survives_bad_utf8() {
    let (_server, addr) = greet(&["--max-line", "100"]);
    let mut c = Client::new(addr);
    c.send(b"caf\xc3\xa9\xff\n");
    assert_eq!(c.line(), "Welcome!\n");
    // Echoed as received: no U+FFFD, which would triple a line of 0xFF.
    assert_eq!(c.line_bytes(), b"Hello, caf\xc3\xa9\xff!\n");
    c.send(&[b'x'; 500]);
    assert_eq!(c.rest(), "Error: line longer than 100 bytes\n");
}

#[test]
fn greet_a_thousand_concurrent_clients() {
    let (_server, addr) = greet(&["--threads", "2"]);
    const THREADS: usize = 10;
    const PER_THREAD: usize = 100;
    // All 1,000 connections are open before any dialogue starts.
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut clients: Vec<Client> = (0..PER_THREAD).map(|_| Client::new(addr)).collect();
                barrier.wait();
                for c in &mut clients {
                    assert_eq!(c.line(), "Welcome!\n");
                }
                for round in 0..10 {
                    for (i, c) in clients.iter_mut().enumerate() {
                        c.send(format!("client {t}.{i} round {round}\n").as_bytes());
                    }
                    for (i, c) in clients.iter_mut().enumerate() {
                        assert_eq!(c.line(), format!("Hello, client {t}.{i} round {round}!\n"));
                    }
                }
                for c in &mut clients {
                    c.send(b"exit\n");
                    assert_eq!(c.rest(), "Bye!\n");
                }
                clients.len()
            })
        })
        .collect();
    let done: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(done, THREADS * PER_THREAD);
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn greet_drops_a_client_that_never_reads() {
    let (server, addr) = greet(&["--threads", "1", "--stall-timeout", "1"]);
    let hog = connect(addr);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let chunk = b"never reading the replies\n".repeat(4096);
        let mut hog = hog;
        let mut written = 0usize;
        let err = loop {
            match hog.write(&chunk) {
                Ok(n) => written += n,
                Err(e) => break e,
            }
            if written > 512 << 20 {
                break std::io::Error::other("the server kept swallowing input");
            }
        };
        let _ = tx.send((written, err));
    });
    // Meanwhile a polite client is served as usual.
    let mut c = Client::new(addr);
    c.send(b"Tracy\n");
    assert_eq!(c.line(), "Welcome!\n");
    assert_eq!(c.line(), "Hello, Tracy!\n");

    let (written, err) = rx.recv_timeout(TIMEOUT).expect("the hog was never dropped");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "{err} after {written} bytes"
    );
    // Backpressure: the server stopped reading, so the hog could only fill
    // socket buffers, and the server's memory stayed small.
    assert!(
        written < 64 << 20,
        "{written} bytes written before the drop"
    );
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 64 * 1024, "server peak RSS {peak} KiB");
    c.send(b"Sarah\n");
    assert_eq!(c.line(), "Hello, Sarah!\n");
}

#[test]
fn greet_closes_idle_clients() {
    let (_server, addr) = greet(&["--idle-timeout", "0.3"]);
    let mut c = Client::new(addr);
    let start = Instant::now();
    assert_eq!(c.rest(), "Welcome!\n");
    assert!(start.elapsed() >= Duration::from_millis(250));
}

#[test]
fn greet_logs_connections_like_the_lesson() {
    let server = support::greet()
        .verbose()
        .args(["--threads", "1"])
        .stderr_lines()
        .start();
    let (addr, rx) = (server.addr, server.bg.stderr.as_ref().unwrap());
    let mut c = Client::new(addr);
    let local = c.writer.local_addr().unwrap();
    c.send(b"Michael\nexit\n");
    assert_eq!(c.rest(), "Welcome!\nHello, Michael!\nBye!\n");
    let want = [
        format!("accepted connection from {local}"),
        format!("connection from {local} closed (2 messages)"),
    ];
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = rx.recv_timeout(TIMEOUT).expect("log line");
        if want.iter().any(|w| line.ends_with(w.as_str())) {
            seen.push(line);
        }
    }
}

#[test]
fn greet_sigterm_flushes_and_exits_zero() {
    let (mut server, addr) = greet(&["--threads", "2"]);
    let mut c = Client::new(addr);
    c.send(b"Michael\n");
    assert_eq!(c.line(), "Welcome!\n");
    assert_eq!(c.line(), "Hello, Michael!\n");
    c.send(b"Tracy\n");
    server.signal("TERM");
    // Tracy was sent before the signal and is answered unless the signal
    // won the race to the server; either way the connection is closed cleanly.
    let rest = c.rest();
    assert!(rest.is_empty() || rest == "Hello, Tracy!\n", "{rest:?}");
    let status = server.wait(TIMEOUT);
    assert_eq!(status.code(), Some(0));
}

fn udp_client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

fn round_trip(s: &UdpSocket, to: SocketAddr, msg: &[u8]) -> Vec<u8> {
    s.send_to(msg, to).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, from) = s.recv_from(&mut buf).expect("a reply datagram");
    assert_eq!(from, to);
    buf.truncate(n);
    buf
}

#[test]
fn greet_udp_round_trips() {
    let (mut server, addr) = greet(&["--udp"]);
    let c = udp_client();
    assert_eq!(round_trip(&c, addr, b"Michael"), b"Hello, Michael!");
    assert_eq!(round_trip(&c, addr, b"Tracy\n"), b"Hello, Tracy!");
    assert_eq!(round_trip(&c, addr, b""), b"Hello, !");
    let big = vec![b'a'; 60_000];
    let reply = round_trip(&c, addr, &big);
    assert_eq!(reply.len(), 60_008);
    // A peer that vanishes before its reply (ICMP port unreachable) does
    // not stop the server for anyone else.
    for _ in 0..20 {
        let gone = udp_client();
        gone.send_to(b"gone", addr).unwrap();
    }
    assert_eq!(round_trip(&c, addr, b"Sarah"), b"Hello, Sarah!");
    server.signal("TERM");
    assert_eq!(server.wait(TIMEOUT).code(), Some(0));
}

#[test]
fn greet_udp_reply_is_the_request_plus_the_greeting_at_most() {
    let (_server, addr) = greet(&["--udp"]);
    let c = udp_client();
    // 21,833 bytes of 0xFF used to come back as 65,507 bytes of U+FFFD.
    let junk = vec![0xff; 21_833];
    let reply = round_trip(&c, addr, &junk);
    assert_eq!(reply, [&b"Hello, "[..], &junk, b"!"].concat());
    // The largest datagram is answered with one that still fits.
    let junk = vec![0xfe; 65_507];
    let reply = round_trip(&c, addr, &junk);
    assert_eq!(reply.len(), 65_507);
    assert!(reply.starts_with(b"Hello, \xfe") && reply.ends_with(b"\xfe!"));
}

/// A second greet on the port of a running one must fail, not share it.
fn second_greet_on_the_same_port_fails(extra: &[&str]) {
    let (_first, addr) = greet(extra);
    let port = addr.port().to_string();
    let out = run(
        wirecat()
            .args(["greet", "-b", "127.0.0.1", "-p", &port])
            .args(extra),
        Duration::from_secs(5),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = support::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("wirecat: cannot listen on ") && err.contains("in use"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it announced itself: {out:?}");
}

#[test]
fn greet_refuses_a_tcp_port_already_in_use() {
    // With more than one loop every listener sets SO_REUSEPORT, which alone
    // would let the second process join the first's port.
    second_greet_on_the_same_port_fails(&["--threads", "2"]);
    second_greet_on_the_same_port_fails(&["--threads", "1"]);
}

#[test]
fn greet_refuses_a_udp_port_already_in_use() {
    second_greet_on_the_same_port_fails(&["--udp", "--threads", "2"]);
}

#[test]
fn talk_against_greet_with_messages() {
    let (_server, addr) = greet(&[]);
    let out = run(
        wirecat().args(["talk", &addr.to_string(), "Michael", "Tracy", "Sarah"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\nBye!\n"
    );
}

/// Runs `wirecat talk` with `input` on stdin.
fn talk_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    run_with_stdin(wirecat().arg("talk").args(args), Some(input), TIMEOUT)
}

#[test]
fn talk_against_greet_from_stdin() {
    let (_server, addr) = greet(&[]);
    let out = talk_with_stdin(&[&format!("tcp://{addr}")], b"Michael\r\nTracy\nSarah");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n"
    );
}

#[test]
fn talk_udp_against_greet() {
    let (_server, addr) = greet(&["--udp"]);
    let out = run(
        wirecat().args(["talk", "--udp", &addr.to_string(), "Michael", "Tracy"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"Hello, Michael!\nHello, Tracy!\n");
    let out = talk_with_stdin(&[&format!("udp://{addr}")], b"a\n\nb\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"Hello, a!\nHello, !\nHello, b!\n");
}

#[test]
fn talk_reports_a_missing_server() {
    // Bound but not listening: connects are refused, and no other test can
    // take the port meanwhile.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let out = run(wirecat().args(["talk", &addr.to_string(), "hi"]), TIMEOUT);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not connect"), "{err}");
}

#[test]
fn talk_reports_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let out = run(
        wirecat().args([
            "talk",
            "--reply-timeout",
            "0.3",
            "--greeting-wait",
            "0.05",
            &addr.to_string(),
            "hi",
        ]),
        TIMEOUT,
    );
    drop(listener);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no reply") && err.contains("\"hi\""), "{err}");
}

#[test]
fn talk_udp_reports_a_silent_server() {
    // Bound and never answering; held so no one else can take the port.
    let silent = udp_client();
    let addr = silent.local_addr().unwrap();
    let out = run(
        wirecat().args([
            "talk",
            "--reply-timeout",
            "0.3",
            &format!("udp://{addr}"),
            "hi",
        ]),
        TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no reply from udp://"), "{err}");
    let mut buf = [0u8; 16];
    let (n, _) = silent.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hi", "the datagram did go out");
}

#[test]
fn talk_udp_sends_each_message_as_soon_as_the_last_is_answered() {
    // Each reply lets the next message go at once: four round trips on
    // loopback, not four reply timeouts (the loop used to sleep until the
    // 5 s deadline it had set before the reply arrived).
    let (_server, addr) = greet(&["--udp"]);
    let out = run(
        wirecat().args(["talk", "--udp", &addr.to_string(), "a", "b", "c", "d"]),
        Duration::from_secs(3),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"Hello, a!\nHello, b!\nHello, c!\nHello, d!\n");
}

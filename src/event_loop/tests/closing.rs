//! How connections end: the linger and the send timeout measured from the
//! last byte taken, drained closes and refusals, panics kept to one
//! connection.

use super::*;

/// Makes each accepted connection's session with a closure; reports how
/// each ended; refuses over the limit with `refusal`.
struct FnService<F> {
    make: F,
    ended: mpsc::Sender<(usize, String)>,
    refusal: Vec<u8>,
}

impl<S: Session, F: FnMut() -> S> Service for FnService<F> {
    type Session = S;

    fn accept(&mut self, _peer: Peer, _local: Peer) -> Option<S> {
        Some((self.make)())
    }

    fn refusal(&self) -> Vec<u8> {
        self.refusal.clone()
    }

    fn ended(&mut self, _s: S, how: Ended) {
        let _ = self.ended.send((0, format!("{how:?}")));
    }
}

pub(super) fn start_with<S, F>(config: LoopConfig, make: F) -> Running
where
    S: Session,
    F: FnMut() -> S + Send + 'static,
{
    let listener = bind_listener("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let (tx, rx) = mpsc::channel();
    let sd = shutdown.clone();
    let h = thread::spawn(move || {
        let mut lp = EventLoop::new(config, sd)?;
        lp.listen(listener)?;
        lp.run(&mut FnService {
            make,
            ended: tx,
            refusal: b"full\n".to_vec(),
        })
    });
    (addr, shutdown, rx, h)
}

/// Once a line has arrived, queues `len` bytes of a sparse file (zeros)
/// and then closes (`close`) or waits; the rest of the input is left unread.
struct Sender {
    file: std::sync::Arc<std::fs::File>,
    len: u64,
    close: bool,
    send_timeout: Option<Duration>,
    queued: bool,
}

impl Sender {
    fn maker(
        len: u64,
        close: bool,
        send_timeout: Option<Duration>,
    ) -> impl FnMut() -> Sender + Send + 'static {
        let file = tempfile::tempfile().unwrap();
        file.set_len(len).unwrap();
        let file = std::sync::Arc::new(file);
        move || Sender {
            file: file.clone(),
            len,
            close,
            send_timeout,
            queued: false,
        }
    }
}

impl Session for Sender {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if !self.queued {
            let Some(nl) = io.input.data().iter().position(|&b| b == b'\n') else {
                return Step::read(None);
            };
            io.input.consume(nl + 1);
            io.output.push_file(self.file.clone(), 0, self.len);
            self.queued = true;
            if self.close {
                return Step::Close;
            }
        }
        Step::Wait {
            read: false,
            deadline: None,
        }
    }

    fn send_timeout(&self) -> Option<Duration> {
        self.send_timeout
    }
}

/// Reads to EOF `budget` bytes at a time; returns the count and whether
/// every byte was zero.
fn read_zeros(c: &mut TcpStream, budget: usize) -> (u64, bool) {
    let mut buf = vec![0u8; budget];
    let (mut total, mut zeros) = (0u64, true);
    loop {
        let n = c.read(&mut buf).unwrap();
        if n == 0 {
            return (total, zeros);
        }
        zeros &= buf[..n].iter().all(|&b| b == 0);
        total += n as u64;
    }
}

#[test]
fn close_flushes_a_slow_steady_reader_for_longer_than_the_linger() {
    // The linger is far shorter than the download: it must start only
    // once the last byte is with the kernel, not at `Step::Close`.
    let linger = Duration::from_millis(20);
    let config = LoopConfig {
        linger,
        ..LoopConfig::default()
    };
    let len = 64 << 20;
    let (addr, shutdown, ended, h) = start_with(
        config,
        Sender::maker(len, true, Some(Duration::from_secs(5))),
    );
    let mut c = client(addr);
    let started = Instant::now();
    c.write_all(b"go\n").unwrap();
    // Small reads pace the client: each one waits on data, and the whole
    // body takes many times the linger.
    let (got, zeros) = read_zeros(&mut c, 1024);
    assert_eq!(got, len, "body cut short");
    assert!(zeros);
    assert!(started.elapsed() > linger, "too fast to prove anything");
    assert_eq!(ended.recv_timeout(T).unwrap().1, "Closed");
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn send_timeout_counts_from_the_last_byte_the_kernel_took() {
    let limit = Duration::from_millis(400);
    let (addr, shutdown, ended, h) = start_with(
        LoopConfig::default(),
        Sender::maker(1 << 30, false, Some(limit)),
    );
    let mut c = client(addr);
    let asked = Instant::now();
    c.write_all(b"go\n").unwrap();
    // The client never reads: the socket buffers fill within moments and
    // then nothing moves. The drop must come one timeout after that, not
    // one timeout after the loop next happened to look (which doubled it).
    let (_, how) = ended.recv_timeout(T).unwrap();
    let took = asked.elapsed();
    assert!(how.contains("TimedOut"), "{how}");
    assert!(took >= limit, "dropped early, after {took:?}");
    assert!(took < limit * 7 / 4, "dropped after {took:?}");
    // A steady reader of the same output is not dropped.
    let mut c = client(addr);
    c.write_all(b"go\n").unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < 32 << 20 {
        // An EOF here is a drop: fail rather than spin on it.
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "a steady reader was dropped after {total} bytes");
        total += n;
    }
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn a_closing_connection_drains_unread_input_instead_of_resetting() {
    // The session answers the first line and closes with more input
    // unread; closing at once would reset the connection and could
    // destroy the answer before the client has read it.
    let (addr, shutdown, ended, h) =
        start_with(LoopConfig::default(), Sender::maker(100_000, true, None));
    for _ in 0..20 {
        let mut c = client(addr);
        let mut req = b"go\n".to_vec();
        req.resize(300_000, b'x');
        c.write_all(&req).unwrap();
        assert_eq!(read_zeros(&mut c, 64 * 1024), (100_000, true));
        assert_eq!(ended.recv_timeout(T).unwrap().1, "Closed");
    }
    shutdown.request();
    h.join().unwrap().unwrap();
}

/// Holds the loop inside `drive` on "wait" until `open` is set, so a test
/// can line up what happens before the loop's next accept.
struct Gate {
    entered: mpsc::Sender<()>,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Session for Gate {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if io.peer_closed || io.shutting_down {
            return Step::Close;
        }
        if io.input.data().starts_with(b"wait") {
            io.input.consume(4);
            let _ = self.entered.send(());
            let until = Instant::now() + T;
            while !self.open.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until {
                thread::yield_now();
            }
            io.output.push(&b"done"[..]);
        }
        Step::read(None)
    }
}

#[test]
fn a_refused_connection_gets_the_refusal_not_a_reset() {
    let config = LoopConfig {
        max_connections: 1,
        ..LoopConfig::default()
    };
    let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (entered_tx, entered) = mpsc::channel();
    let gate = open.clone();
    let (addr, shutdown, _ended, h) = start_with(config, move || Gate {
        entered: entered_tx.clone(),
        open: gate.clone(),
    });
    let mut held = client(addr);
    held.write_all(b"wait").unwrap();
    entered.recv_timeout(T).unwrap();
    // The loop is busy: this connection and its request wait in the
    // kernel, so the refusal finds the request unread.
    let mut c = client(addr);
    c.write_all(&[b'x'; 50_000]).unwrap();
    open.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut buf = [0u8; 4];
    held.read_exact(&mut buf).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"full\n");
    shutdown.request();
    drop(held);
    h.join().unwrap().unwrap();
}

/// Echoes like `Echo`, but panics on "boom".
struct Fragile;

impl Session for Fragile {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if io.peer_closed || io.shutting_down {
            return Step::Close;
        }
        let data = io.input.data().to_vec();
        io.input.consume(data.len());
        if data.windows(4).any(|w| w == b"boom") {
            panic!("fragile session met boom");
        }
        io.output.push(data);
        Step::read(None)
    }
}

#[test]
fn a_panicking_session_drops_its_connection_only() {
    let (addr, shutdown, ended, h) = start_with(LoopConfig::default(), || Fragile);
    let mut steady = client(addr);
    steady.write_all(b"before").unwrap();
    let mut buf = [0u8; 6];
    steady.read_exact(&mut buf).unwrap();
    for _ in 0..3 {
        let mut bad = client(addr);
        bad.write_all(b"boom").unwrap();
        // Dropped: EOF or a reset, never an answer.
        let mut got = Vec::new();
        let _ = bad.read_to_end(&mut got);
        assert!(got.is_empty(), "{got:?}");
        let (_, how) = ended.recv_timeout(T).unwrap();
        assert!(how.contains("panicked"), "{how}");
    }
    // The loop, and the connection it was already serving, carry on.
    steady.write_all(b"after!").unwrap();
    steady.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after!");
    assert_echoed_by(addr);
    shutdown.request();
    h.join().unwrap().unwrap();
}

/// A fresh connection to `addr` is still answered.
fn assert_echoed_by(addr: SocketAddr) {
    let mut c = client(addr);
    c.write_all(b"fresh").unwrap();
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"fresh");
}

#[test]
fn a_lingering_socket_is_closed_at_its_deadline_when_nothing_else_happens() {
    let config = LoopConfig {
        linger: Duration::from_millis(50),
        ..LoopConfig::default()
    };
    let (addr, shutdown, ended, h) = start_with(config, Sender::maker(0, true, None));
    let mut c = client(addr);
    c.write_all(b"go\n").unwrap();
    // Nothing to send: the session closes at once, so no other timer is
    // running in the loop when the linger starts.
    assert_eq!(read_zeros(&mut c, 64), (0, true));
    assert_eq!(ended.recv_timeout(T).unwrap().1, "Closed");
    // The client never closes. While the server lingers, what the client
    // sends is read and dropped; once the server has closed for good, its
    // kernel answers with a reset, which the client's poll reports as an
    // error. One byte per wait, so the server's discard budget is no factor.
    c.set_nonblocking(true).unwrap();
    let mut c = mio::net::TcpStream::from_std(c);
    let mut poll = mio::Poll::new().unwrap();
    poll.registry()
        .register(&mut c, mio::Token(0), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(4);
    let until = Instant::now() + T;
    let closed = loop {
        if (&c).write(b"x").is_err() {
            break true;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        if events.iter().any(|e| e.is_error()) {
            break true;
        }
        if Instant::now() > until {
            break false;
        }
    };
    assert!(closed, "lingering socket never closed");
    shutdown.request();
    h.join().unwrap().unwrap();
}

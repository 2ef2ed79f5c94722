//! Loop tests over real loopback sockets: an echo session exercises
//! partial reads and writes, backpressure, deadlines, connect failures and
//! shutdown. Every blocking call in the test threads has a timeout.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

const T: Duration = Duration::from_secs(10);

/// Echoes every byte; closes on "q"; aborts at its deadline if one is set.
struct Echo {
    idle: Option<Duration>,
    echoed: usize,
    deadline: Option<Instant>,
}

impl Session for Echo {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        let data = io.input.data().to_vec();
        io.input.consume(data.len());
        self.echoed += data.len();
        if data.is_empty() && self.deadline.is_some_and(|d| io.now >= d) {
            return Step::Abort;
        }
        if !data.is_empty() || self.deadline.is_none() {
            self.deadline = self.idle.map(|d| io.now + d);
        }
        if data.contains(&b'q') || io.peer_closed || io.shutting_down {
            io.output.push(data);
            return Step::Close;
        }
        io.output.push(data);
        Step::Wait {
            // Backpressure: stop reading while a lot is waiting to go out.
            read: io.output.pending() < 256 * 1024,
            deadline: self.deadline,
        }
    }
}

struct EchoService {
    idle: Option<Duration>,
    ended: mpsc::Sender<(usize, String)>,
    connect_to: Vec<SocketAddr>,
    one_shot: bool,
}

impl Service for EchoService {
    type Session = Echo;

    fn accept(&mut self, _peer: SocketAddr, _local: SocketAddr) -> Option<Echo> {
        Some(Echo {
            idle: self.idle,
            echoed: 0,
            deadline: None,
        })
    }

    fn ended(&mut self, s: Echo, how: Ended) {
        let _ = self.ended.send((s.echoed, format!("{how:?}")));
    }

    fn tick(&mut self, ctl: &mut Control<'_, Echo>) -> bool {
        if !self.connect_to.is_empty() {
            let addrs = std::mem::take(&mut self.connect_to);
            ctl.connect(
                addrs,
                Echo {
                    idle: self.idle,
                    echoed: 0,
                    deadline: None,
                },
            );
        }
        !self.one_shot
    }
}

/// How each connection ended: bytes echoed and `Ended` as text.
type EndedLog = mpsc::Receiver<(usize, String)>;

type Running = (
    SocketAddr,
    Shutdown,
    EndedLog,
    thread::JoinHandle<io::Result<()>>,
);

fn start(idle: Option<Duration>) -> Running {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let (tx, rx) = mpsc::channel();
    let sd = shutdown.clone();
    let h = thread::spawn(move || {
        let mut lp = EventLoop::new(LoopConfig::default(), sd)?;
        lp.listen(listener)?;
        lp.run(&mut EchoService {
            idle,
            ended: tx,
            connect_to: vec![],
            one_shot: false,
        })
    });
    (addr, shutdown, rx, h)
}

fn client(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, T).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    s
}

/// Sends `msg` (ending in the closing "q") and expects it back, then EOF.
fn assert_echoed(addr: SocketAddr, msg: &[u8]) {
    let mut c = client(addr);
    c.write_all(msg).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, msg);
}

/// Runs a loop with no listener that connects to `addrs` once and stops.
fn run_outgoing(addrs: Vec<SocketAddr>) -> (EndedLog, thread::JoinHandle<io::Result<()>>) {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let mut lp = EventLoop::new(LoopConfig::default(), Shutdown::new())?;
        lp.run(&mut EchoService {
            idle: None,
            ended: tx,
            connect_to: addrs,
            one_shot: true,
        })
    });
    (rx, h)
}

#[test]
fn echoes_a_large_stream_through_partial_writes_and_backpressure() {
    let (addr, shutdown, ended, h) = start(None);
    let mut c = client(addr);
    let data: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8 + 1)
        .filter(|b| *b != b'q')
        .collect();
    let mut writer = c.try_clone().unwrap();
    let sent = data.clone();
    // Write everything before reading anything: the server must stop reading
    // rather than buffer without bound, and nothing may be lost.
    let w = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    w.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echo differs");
    let (n, how) = ended.recv_timeout(T).unwrap();
    assert_eq!(n, data.len());
    assert_eq!(how, "Closed");
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn many_connections_are_served_independently() {
    let (addr, shutdown, _ended, h) = start(None);
    let mut conns: Vec<TcpStream> = (0..200).map(|_| client(addr)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.write_all(format!("hello {i};").as_bytes()).unwrap();
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let want = format!("hello {i};");
        let mut buf = vec![0u8; want.len()];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(buf, want.as_bytes());
    }
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn deadline_ends_an_idle_connection_and_the_loop_carries_on() {
    let (addr, shutdown, ended, h) = start(Some(Duration::from_millis(200)));
    let mut idle = client(addr);
    let started = Instant::now();
    let mut buf = [0u8; 1];
    // The server aborts the idle connection: we read EOF, not a timeout.
    assert_eq!(idle.read(&mut buf).unwrap(), 0);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(ended.recv_timeout(T).unwrap().1, "Closed");
    assert_echoed(addr, b"ok q");
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn reset_by_peer_ends_only_that_connection() {
    let (addr, shutdown, _ended, h) = start(None);
    {
        let c = client(addr);
        // SO_LINGER 0 makes close send RST.
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        c.set_nodelay(true).unwrap();
        (&c).write_all(b"x").unwrap();
    }
    assert_echoed(addr, b"still here q");
    shutdown.request();
    h.join().unwrap().unwrap();
}

#[test]
fn outgoing_connect_falls_back_to_the_next_address() {
    // A port that refuses: bind, note the address, close.
    let dead = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let live = StdListener::bind("127.0.0.1:0").unwrap();
    let live_addr = live.local_addr().unwrap();
    let (rx, h) = run_outgoing(vec![dead, live_addr]);
    live.set_nonblocking(false).unwrap();
    let (mut peer, _) = live.accept().unwrap();
    peer.set_read_timeout(Some(T)).unwrap();
    peer.write_all(b"ping q").unwrap();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"ping q");
    assert_eq!(rx.recv_timeout(T).unwrap().1, "Closed");
    h.join().unwrap().unwrap();
}

#[test]
fn outgoing_connect_reports_failure_when_all_addresses_refuse() {
    let dead = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (rx, h) = run_outgoing(vec![dead]);
    let (_, how) = rx.recv_timeout(T).unwrap();
    assert!(how.starts_with("ConnectFailed"), "{how}");
    assert!(how.contains("refused"), "{how}");
    h.join().unwrap().unwrap();
}

/// Asks once for a connect to no address at all.
struct Nowhere {
    asked: bool,
    ended: mpsc::Sender<String>,
}

impl Service for Nowhere {
    type Session = Echo;

    fn ended(&mut self, _s: Echo, how: Ended) {
        let _ = self.ended.send(format!("{how:?}"));
    }

    fn tick(&mut self, ctl: &mut Control<'_, Echo>) -> bool {
        if !std::mem::replace(&mut self.asked, true) {
            let echo = Echo {
                idle: None,
                echoed: 0,
                deadline: None,
            };
            ctl.connect(Vec::new(), echo);
            assert_eq!(ctl.connections(), 1, "a connect asked for counts at once");
        }
        false
    }
}

#[test]
fn outgoing_connect_to_no_address_fails_without_a_socket() {
    let (tx, rx) = mpsc::channel();
    let mut lp = EventLoop::new(LoopConfig::default(), Shutdown::new()).unwrap();
    let mut svc = Nowhere {
        asked: false,
        ended: tx,
    };
    lp.run(&mut svc).unwrap();
    let how = rx.recv_timeout(T).unwrap();
    assert!(how.starts_with("ConnectFailed"), "{how}");
    assert!(
        how.contains("AddrNotAvailable") && how.contains("no address"),
        "{how}"
    );
}

#[test]
fn shutdown_lets_sessions_finish_and_stops_accepting() {
    let (addr, shutdown, ended, h) = start(None);
    let mut c = client(addr);
    c.write_all(b"abc").unwrap();
    let mut buf = [0u8; 3];
    c.read_exact(&mut buf).unwrap();
    shutdown.request();
    // Echo closes on shutdown after flushing: we see EOF.
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(ended.recv_timeout(T).unwrap().1, "Closed");
    h.join().unwrap().unwrap();
    assert!(
        TcpStream::connect_timeout(&addr, T).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn data_and_fin_arriving_together_are_both_seen() {
    // The loop skips the read that would answer EAGAIN after a short read;
    // a FIN queued behind the data must still be read, or these would hang.
    let (addr, shutdown, _ended, h) = start(None);
    for i in 0..200 {
        let mut c = client(addr);
        let msg = format!("last words {i}");
        c.write_all(msg.as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert_eq!(got, msg);
    }
    shutdown.request();
    h.join().unwrap().unwrap();
}

/// Makes each accepted connection's session with a closure; reports how
/// each ended; refuses over the limit with `refusal`.
struct FnService<F> {
    make: F,
    ended: mpsc::Sender<(usize, String)>,
    refusal: Vec<u8>,
}

impl<S: Session, F: FnMut() -> S> Service for FnService<F> {
    type Session = S;

    fn accept(&mut self, _peer: SocketAddr, _local: SocketAddr) -> Option<S> {
        Some((self.make)())
    }

    fn refusal(&self) -> Vec<u8> {
        self.refusal.clone()
    }

    fn ended(&mut self, _s: S, how: Ended) {
        let _ = self.ended.send((0, format!("{how:?}")));
    }
}

fn start_with<S, F>(config: LoopConfig, make: F) -> Running
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
        total += c.read(&mut buf).unwrap();
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

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

    fn accept(&mut self, _peer: Peer, _local: Peer) -> Option<Echo> {
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
/// A stream a test can write from a second thread while it reads.
trait Duplex: Read + Write + Send + Sized + 'static {
    fn split(&self) -> Self;
    fn end_writing(&self);
}

impl Duplex for TcpStream {
    fn split(&self) -> Self {
        self.try_clone().unwrap()
    }

    fn end_writing(&self) {
        self.shutdown(std::net::Shutdown::Write).unwrap();
    }
}

impl Duplex for std::os::unix::net::UnixStream {
    fn split(&self) -> Self {
        self.try_clone().unwrap()
    }

    fn end_writing(&self) {
        self.shutdown(std::net::Shutdown::Write).unwrap();
    }
}

/// About `len` bytes for the echo, without the `q` that would close it.
fn echo_data(len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 + 1)
        .filter(|b| *b != b'q')
        .collect()
}

/// Writes all of `data` and a FIN from a second thread while reading the
/// echo to its end. Everything is written before anything need be read:
/// the server must stop reading rather than buffer without bound, and
/// nothing may be lost.
fn echo_back<S: Duplex>(c: &mut S, data: &[u8]) -> Vec<u8> {
    let mut writer = c.split();
    let sent = data.to_vec();
    let w = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.end_writing();
    });
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    w.join().unwrap();
    got
}

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
    let data = echo_data(8 * 1024 * 1024);
    let got = echo_back(&mut c, &data);
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

mod again;
mod closing;
mod unix;

/// No connection at all, only a timer: ticked again once it is due.
struct Timer {
    due: Instant,
    ticks: usize,
    /// Told on the first tick: the loop is about to wait.
    waiting: Option<mpsc::Sender<()>>,
}

impl Service for Timer {
    type Session = Echo;

    fn ended(&mut self, _s: Echo, _how: Ended) {}

    fn tick(&mut self, ctl: &mut Control<'_, Echo>) -> bool {
        self.ticks += 1;
        if let Some(tx) = self.waiting.take() {
            let _ = tx.send(());
        }
        if ctl.now() >= self.due {
            return false;
        }
        ctl.wake_at(self.due);
        true
    }
}

#[test]
fn a_service_timer_wakes_an_idle_loop_without_spinning() {
    let mut lp = EventLoop::new(LoopConfig::default(), Shutdown::new()).unwrap();
    let begun = Instant::now();
    let mut svc = Timer {
        due: begun + Duration::from_millis(200),
        ticks: 0,
        waiting: None,
    };
    lp.run(&mut svc).unwrap();
    let took = begun.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Slept on the poll, not in a busy loop (an early return or two is fine).
    assert!(svc.ticks <= 4, "{} ticks", svc.ticks);
}

#[test]
fn shutdown_ends_a_loop_waiting_on_a_service_timer() {
    let shutdown = Shutdown::new();
    let mut lp = EventLoop::new(LoopConfig::default(), shutdown.clone()).unwrap();
    let begun = Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut svc = Timer {
        due: begun + Duration::from_secs(60),
        ticks: 0,
        waiting: Some(tx),
    };
    let stop = shutdown.clone();
    let h = thread::spawn(move || {
        rx.recv_timeout(T).unwrap();
        stop.request();
    });
    lp.run(&mut svc).unwrap();
    h.join().unwrap();
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );
}

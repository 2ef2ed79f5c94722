//! The TCP event loop: listeners, outgoing connects, the connection table,
//! readiness, partial reads and writes (sendfile for file ranges), deadlines,
//! fair scheduling and graceful shutdown.
//!
//! Sockets are registered once for both directions, edge-triggered; the loop
//! remembers per connection whether the last read or write hit `WouldBlock`,
//! which is all "interest" needs to mean. A fault on one connection ends that
//! connection only.
//!
//! Sending is bounded by progress, not by total time: a session's
//! [`Session::send_timeout`] counts from the last byte the kernel accepted
//! (or from when output was queued), so a slow but steady reader is never
//! cut. After `Step::Close` the loop flushes under that same rule (the
//! linger time stands in for sessions without one), and only once the last
//! byte is with the kernel does the linger start: the socket is
//! half-closed and its input drained (see `linger`).
//!
//! A panic in one connection's session or service callback is caught here
//! as a last line of defence: it is logged with the peer, that connection
//! is dropped (its service hears `Ended::Failed`), and the loop carries on
//! serving the others. Sessions are still expected not to panic on any
//! input; this only keeps a bug from taking a whole loop thread down.

use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use super::linger::{self, Lingering};
use super::{is_interrupted, is_would_block, Chunk, Ended, InBuf, Io, Notifier, Outbox};
use super::{Service, Session, Shutdown, Step};

const WAKER: Token = Token(usize::MAX);
const LISTENER_BASE: usize = usize::MAX - 64;
/// Rounds of read/drive/write one connection gets per turn before others go first.
const FAIR_ROUNDS: usize = 16;
/// Deadlines are checked by sweeping the table; sweeps are at least this far apart.
const SWEEP_SPACING: Duration = Duration::from_millis(10);
/// After accept(2) fails for lack of descriptors, wait this long before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Knobs of one loop.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Connections one loop holds at most; more are accepted, sent the
    /// service's refusal and closed. Closed connections still lingering
    /// are counted apart, at most as many again (64 at least), and are the
    /// first to go when descriptors run out.
    pub max_connections: usize,
    /// Bytes asked for per read(2).
    pub read_chunk: usize,
    /// After a close, how long the loop keeps reading (and discarding)
    /// until the peer closes too, counted from when the last byte was
    /// handed to the kernel. Also how long a closing connection may go
    /// without send progress when its session has no send timeout.
    pub linger: Duration,
    /// How long in-flight work may run after a shutdown request.
    pub grace: Duration,
    /// How long each address of an outgoing connect may take.
    pub connect_timeout: Duration,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            max_connections: 16_384,
            read_chunk: 16 * 1024,
            linger: Duration::from_secs(5),
            grace: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

enum State {
    /// A nonblocking connect is under way to `addr`; `rest` are the
    /// addresses still to try if it fails.
    Connecting {
        rest: Vec<SocketAddr>,
        last_error: Option<io::Error>,
    },
    Open,
    /// The session asked to close: flush, then linger.
    Closing,
}

struct Conn<S> {
    stream: TcpStream,
    session: S,
    state: State,
    input: InBuf,
    output: Outbox,
    peer: SocketAddr,
    readable: bool,
    /// The peer's FIN (or an error) was reported: read on until EOF.
    read_closed: bool,
    writable: bool,
    peer_closed: bool,
    want_read: bool,
    /// The session's deadline (or the connect timeout while connecting).
    deadline: Option<Instant>,
    /// The session's `send_timeout`, asked once.
    send_timeout: Option<Duration>,
    /// When output last moved: the kernel took bytes, or output was queued
    /// while none was waiting. Only meaningful while output is pending.
    sent_at: Instant,
    /// `drive` must run even without I/O progress (new, woken, timed out).
    dirty: bool,
}

/// One poll instance with its listeners and connections.
pub struct EventLoop<S: Session> {
    poll: Poll,
    events: Events,
    conns: Slab<Conn<S>>,
    listeners: Vec<TcpListener>,
    accept_paused_until: Option<Instant>,
    notifier: Notifier,
    shutdown: Shutdown,
    config: LoopConfig,
    next_sweep: Option<Instant>,
    /// Connections that used up their fair share and have more to do.
    backlog: Vec<usize>,
    /// Reused between turns: (connection key, or usize::MAX and a listener index).
    ready: Vec<(usize, usize)>,
    shutting_down: bool,
    /// Closed connections draining their input (lingering close).
    lingering: Lingering,
    /// Every read lands here first unless the connection's own buffer is
    /// already large, so an idle or slow connection holds only the bytes
    /// it sent (a slowloris head costs its length, not a read buffer).
    scratch: Vec<u8>,
}

/// What a service may do to the loop from `tick`.
pub struct Control<'a, S: Session> {
    inner: &'a mut EventLoop<S>,
    now: Instant,
}

impl<S: Session> Control<'_, S> {
    /// Starts a nonblocking connect to the first of `addrs`, falling back to
    /// the next on failure or after the loop's connect timeout. The session
    /// is driven once the connect is confirmed; if none succeeds the service
    /// gets it back through `ended` with `Ended::ConnectFailed`.
    pub fn connect(&mut self, addrs: Vec<SocketAddr>, session: S) {
        self.inner.start_connect(addrs, session, self.now);
    }

    /// A handle that wakes this loop from another thread; every session is
    /// then driven once.
    pub fn notifier(&self) -> Notifier {
        self.inner.notifier.clone()
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Connections currently open or connecting.
    pub fn connections(&self) -> usize {
        self.inner.conns.len()
    }
}

/// Binds a listening socket with SO_REUSEADDR (so a restart does not fail
/// with "address in use") and, when `reuse_port`, SO_REUSEPORT so several
/// loops can each own a listener on the same port. An unspecified IPv6
/// address listens dual-stack.
pub fn bind_listener(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Runs one loop per listener, each on its own thread with its own service,
/// until `shutdown` is requested and in-flight work is done. Returns the
/// first error any loop failed with.
pub fn serve_threads<Svc, F>(
    listeners: Vec<std::net::TcpListener>,
    config: LoopConfig,
    shutdown: Shutdown,
    make_service: F,
) -> io::Result<()>
where
    Svc: Service,
    F: Fn() -> Svc + Send + Sync + 'static,
{
    let make_service = std::sync::Arc::new(make_service);
    let mut handles = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let config = config.clone();
        let shutdown = shutdown.clone();
        let make_service = make_service.clone();
        let handle = std::thread::Builder::new()
            .name(format!("loop-{i}"))
            .spawn(move || -> io::Result<()> {
                let mut service = make_service();
                let mut lp = EventLoop::new(config, shutdown)?;
                lp.listen(listener)?;
                lp.run(&mut service)
            })?;
        handles.push(handle);
    }
    let mut first_error = None;
    for h in handles {
        let res = h
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("an event loop thread panicked")));
        if let Err(e) = res {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

impl<S: Session> EventLoop<S> {
    pub fn new(config: LoopConfig, shutdown: Shutdown) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = std::sync::Arc::new(Waker::new(poll.registry(), WAKER)?);
        let notifier = Notifier(waker);
        shutdown.add_waker(notifier.clone());
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(1024),
            conns: Slab::new(),
            listeners: Vec::new(),
            accept_paused_until: None,
            notifier,
            shutdown,
            next_sweep: None,
            backlog: Vec::new(),
            ready: Vec::new(),
            shutting_down: false,
            // A floor, so a loop with a tiny limit still drains refusals.
            lingering: Lingering::new(config.max_connections.max(64)),
            scratch: vec![0; config.read_chunk.max(1)],
            config,
        })
    }

    /// Adds a listener; accepted connections get sessions from `Service::accept`.
    pub fn listen(&mut self, listener: std::net::TcpListener) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let token = Token(LISTENER_BASE + self.listeners.len());
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        self.listeners.push(listener);
        Ok(())
    }

    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// Runs until the service is finished and no connection is left, or until
    /// shutdown was requested and in-flight work ended (or the grace period ran out).
    pub fn run<Svc: Service<Session = S>>(&mut self, svc: &mut Svc) -> io::Result<()> {
        let mut service_active = true;
        let mut grace_deadline = None;
        loop {
            let now = Instant::now();
            if service_active {
                service_active = svc.tick(&mut Control { inner: self, now });
            }
            if self.shutdown.is_requested() && !self.shutting_down {
                self.begin_shutdown(svc, now);
                grace_deadline = Some(now + self.config.grace);
            }
            if self.conns.is_empty() && (!service_active || self.shutting_down) {
                return Ok(());
            }
            if grace_deadline.is_some_and(|d| now >= d) {
                log::info!(
                    "grace period over, closing {} connection(s)",
                    self.conns.len()
                );
                let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
                for key in keys {
                    self.finish(key, svc, Ended::Closed);
                }
                return Ok(());
            }

            let timeout = self.poll_timeout(now, grace_deadline);
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if is_interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            let mut woken = false;
            let mut ready = std::mem::take(&mut self.ready);
            ready.clear();
            for event in self.events.iter() {
                match event.token() {
                    WAKER => woken = true,
                    Token(t) if t >= LISTENER_BASE => ready.push((usize::MAX, t - LISTENER_BASE)),
                    Token(t) if t & linger::TAG != 0 => {
                        self.lingering
                            .on_readable(self.poll.registry(), t, &mut self.scratch)
                    }
                    Token(key) => {
                        if let Some(conn) = self.conns.get_mut(key) {
                            // Errors and hang-ups surface through the next read or write.
                            if event.is_readable() || event.is_read_closed() || event.is_error() {
                                conn.readable = true;
                            }
                            if event.is_read_closed() || event.is_error() {
                                conn.read_closed = true;
                            }
                            if event.is_writable() || event.is_write_closed() || event.is_error() {
                                conn.writable = true;
                            }
                            ready.push((key, 0));
                        }
                    }
                }
            }
            for &(key, listener) in &ready {
                if key == usize::MAX {
                    self.accept_all(listener, svc, now);
                } else {
                    self.process(key, svc, now);
                }
            }
            self.ready = ready;
            if woken {
                self.mark_all_dirty();
            }
            self.resume_accepting(svc, now);
            self.sweep(svc, now);
            self.run_backlog(svc, now);
        }
    }

    fn poll_timeout(&self, now: Instant, grace: Option<Instant>) -> Option<Duration> {
        if !self.backlog.is_empty() {
            return Some(Duration::ZERO);
        }
        [self.next_sweep, grace, self.accept_paused_until]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_duration_since(now))
    }

    fn begin_shutdown<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        self.shutting_down = true;
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = true;
            }
            self.process(key, svc, now);
        }
    }

    fn mark_all_dirty(&mut self) {
        for (key, conn) in self.conns.iter_mut() {
            conn.dirty = true;
            self.backlog.push(key);
        }
    }

    fn run_backlog<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        let keys = std::mem::take(&mut self.backlog);
        for key in keys {
            self.process(key, svc, now);
        }
    }

    fn accept_all<Svc: Service<Session = S>>(&mut self, index: usize, svc: &mut Svc, now: Instant) {
        if self.accept_paused_until.is_some() || self.shutting_down {
            return;
        }
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let admitted =
                        catch_unwind(AssertUnwindSafe(|| self.admit(stream, peer, svc, now)));
                    if let Err(panic) = admitted {
                        log::error!(
                            "accepting {peer}: panicked: {}; dropped",
                            panic_message(&*panic)
                        );
                    }
                }
                Err(e) if is_would_block(&e) => return,
                Err(e) if is_interrupted(&e) => continue,
                Err(e) if is_out_of_descriptors(&e) && self.lingering.len() > 0 => {
                    // Lingering sockets are a courtesy; new connections
                    // come first.
                    self.lingering.clear(self.poll.registry());
                }
                Err(e) if is_out_of_descriptors(&e) => {
                    // Without a free descriptor accept(2) keeps failing; a
                    // timer (or a closing connection) brings us back.
                    log::warn!("accept: {e}; pausing accepts");
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
                // ECONNABORTED and friends concern one would-be connection.
                Err(e) => log::debug!("accept: {e}"),
            }
        }
    }

    fn resume_accepting<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        if self.accept_paused_until.is_some_and(|t| now >= t) {
            self.accept_paused_until = None;
            for i in 0..self.listeners.len() {
                self.accept_all(i, svc, now);
            }
        }
    }

    fn admit<Svc: Service<Session = S>>(
        &mut self,
        mut stream: TcpStream,
        peer: SocketAddr,
        svc: &mut Svc,
        now: Instant,
    ) {
        if self.conns.len() >= self.config.max_connections {
            log::debug!("connection limit reached, refusing {peer}");
            let _ = stream.write(&svc.refusal());
            // Drain the request the refusal never read, or closing with it
            // unread would reset the connection, and the reset can reach
            // the client before it has read the refusal.
            self.linger(stream, now);
            return;
        }
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(e) => return log::debug!("accepted {peer} but: {e}"),
        };
        let Some(mut session) = svc.accept(peer, local) else {
            return;
        };
        // Replies are written whole, so Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        session.on_connect(local, peer, now);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("register {peer}: {e}");
            tell_ended(svc, session, Ended::Failed(e), peer);
            return;
        }
        entry.insert(Conn::new(stream, session, peer, State::Open, now));
        self.process(key, svc, now);
    }

    fn start_connect(&mut self, mut addrs: Vec<SocketAddr>, session: S, now: Instant) {
        addrs.reverse(); // pop() then yields them in the caller's order
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let peer = addrs
            .last()
            .copied()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        // A placeholder stream is never used: connect_next replaces it before
        // anything reads it, or the connection ends as failed.
        let stream = match placeholder_stream() {
            Ok(s) => s,
            Err(e) => {
                log::warn!("cannot create a socket: {e}");
                return;
            }
        };
        let mut conn = Conn::new(
            stream,
            session,
            peer,
            State::Connecting {
                rest: addrs,
                last_error: None,
            },
            now,
        );
        conn.dirty = true;
        entry.insert(conn);
        self.connect_next(key, now);
        self.backlog.push(key);
    }

    /// Starts a connect to the next untried address of `key`, if any.
    fn connect_next(&mut self, key: usize, now: Instant) {
        let registry = self.poll.registry();
        let conn = &mut self.conns[key];
        let State::Connecting { rest, last_error } = &mut conn.state else {
            return;
        };
        while let Some(addr) = rest.pop() {
            let _ = registry.deregister(&mut conn.stream);
            match TcpStream::connect(addr) {
                Ok(mut stream) => {
                    match registry.register(
                        &mut stream,
                        Token(key),
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        Ok(()) => {
                            log::debug!("connecting to {addr}");
                            conn.stream = stream;
                            conn.peer = addr;
                            conn.deadline = Some(now + self.config.connect_timeout);
                            self.next_sweep = min_time(self.next_sweep, conn.deadline);
                            return;
                        }
                        Err(e) => *last_error = Some(e),
                    }
                }
                Err(e) => {
                    log::debug!("connect to {addr}: {e}");
                    *last_error = Some(e);
                }
            }
        }
        // Nothing left to try: the next sweep reports the failure.
        conn.deadline = Some(now);
        self.next_sweep = min_time(self.next_sweep, Some(now));
    }

    /// Checks whether a connect under way succeeded (mio's `TcpStream::connect`
    /// recipe: a pending error fails it, a peer address confirms it,
    /// `NotConnected` means not yet).
    fn check_connect<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
    ) {
        let conn = &mut self.conns[key];
        let State::Connecting { rest, last_error } = &mut conn.state else {
            return;
        };
        let timed_out = conn.deadline.is_some_and(|d| now >= d);
        let failure = match conn.stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match conn.stream.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotConnected && !timed_out => {
                    conn.readable = false;
                    conn.writable = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect to {} timed out", conn.peer),
                )),
                Err(e) => Some(e),
            },
        };
        match failure {
            None => {
                let local = conn.stream.local_addr().unwrap_or(conn.peer);
                let _ = conn.stream.set_nodelay(true);
                conn.session.on_connect(local, conn.peer, now);
                conn.state = State::Open;
                conn.deadline = None;
                conn.dirty = true;
                conn.readable = true;
                conn.writable = true;
            }
            Some(e) => {
                // The peer placeholder is 0.0.0.0 only when no address was given.
                let no_addr = conn.peer.port() == 0 && last_error.is_none() && rest.is_empty();
                let e = if no_addr {
                    io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to connect to")
                } else {
                    io::Error::new(e.kind(), format!("{}: {e}", conn.peer))
                };
                *last_error = Some(e);
                if rest.is_empty() {
                    let e = last_error
                        .take()
                        .unwrap_or_else(|| io::Error::other("connect failed"));
                    let conn = self.conns.remove(key);
                    let mut stream = conn.stream;
                    let _ = self.poll.registry().deregister(&mut stream);
                    tell_ended(svc, conn.session, Ended::ConnectFailed(e), conn.peer);
                } else {
                    self.connect_next(key, now);
                }
            }
        }
    }

    /// Moves one connection forward as far as it can go without blocking,
    /// containing a panic in its session to that connection.
    fn process<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, now: Instant) {
        let res = catch_unwind(AssertUnwindSafe(|| self.advance(key, svc, now)));
        if let Err(panic) = res {
            self.contain_panic(key, svc, &*panic);
        }
    }

    /// The last line of defence: a panic while driving `key` (or telling
    /// its service) drops that connection only.
    fn contain_panic<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        panic: &(dyn std::any::Any + Send),
    ) {
        let msg = panic_message(panic);
        // Gone already when the panic came from the service's `ended`.
        let Some(mut conn) = self.conns.try_remove(key) else {
            return log::error!("a connection's service callback panicked: {msg}");
        };
        log::error!("connection to {}: panicked: {msg}; dropping it", conn.peer);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let e = io::Error::other(format!("panicked: {msg}"));
        let peer = conn.peer;
        tell_ended(svc, conn.session, Ended::Failed(e), peer);
    }

    fn advance<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, now: Instant) {
        let linger = self.config.linger;
        for _ in 0..FAIR_ROUNDS {
            let Some(conn) = self.conns.get_mut(key) else {
                return;
            };
            if let State::Connecting { .. } = conn.state {
                self.check_connect(key, svc, now);
                match self.conns.get(key) {
                    Some(c) if matches!(c.state, State::Open) => continue,
                    _ => return,
                }
            }
            if conn.writable && !conn.output.is_empty() {
                let before = conn.output.written();
                if let Err(e) = write_out(conn) {
                    return self.fail(key, svc, e);
                }
                if conn.output.written() != before {
                    conn.sent_at = now;
                }
                if conn.output.is_empty() {
                    conn.dirty = true;
                }
            }
            if conn.send_deadline(linger).is_some_and(|d| now >= d) {
                return self.stalled(key, svc);
            }
            if matches!(conn.state, State::Closing) {
                if conn.output.is_empty() {
                    return self.close(key, svc, now);
                }
                if !conn.writable {
                    return;
                }
                continue;
            }
            let cap = conn.session.input_cap();
            if conn.want_read && conn.readable && !conn.peer_closed && conn.input.len() < cap {
                match read_in(conn, cap, self.config.read_chunk, &mut self.scratch) {
                    Ok(true) => conn.dirty = true,
                    Ok(false) => {}
                    Err(e) => return self.fail(key, svc, e),
                }
            }
            if conn.deadline.is_some_and(|d| now >= d) {
                conn.dirty = true;
            }
            if !conn.dirty {
                return;
            }
            conn.dirty = false;
            let was_empty = conn.output.is_empty();
            let mut io = Io {
                input: &mut conn.input,
                output: &mut conn.output,
                peer_closed: conn.peer_closed,
                shutting_down: self.shutting_down,
                now,
                peer: conn.peer,
            };
            let step = conn.session.drive(&mut io);
            if was_empty && !conn.output.is_empty() {
                // The send timeout counts from when there was something to send.
                conn.sent_at = now;
            }
            match step {
                Step::Wait { read, deadline } => {
                    conn.want_read = read;
                    conn.deadline = deadline;
                }
                Step::Close => {
                    // No fixed deadline: the flush is bounded by send
                    // progress, the linger starts once it is done.
                    conn.state = State::Closing;
                    conn.deadline = None;
                    if conn.output.is_empty() {
                        return self.close(key, svc, now);
                    }
                }
                Step::Abort => return self.finish(key, svc, Ended::Closed),
            }
            self.next_sweep = min_time(self.next_sweep, conn.due(linger));
            let can_write = conn.writable && !conn.output.is_empty();
            let can_read =
                conn.want_read && conn.readable && !conn.peer_closed && conn.input.len() < cap;
            if !can_write && !can_read {
                // Idle until the next event: give the input buffer back if
                // it is empty (or shrink it to its data). Not between
                // rounds, where a busy download reuses it for the next read.
                conn.input.shrink_idle();
                return;
            }
        }
        // Out of rounds with work left: let the others have a turn first.
        self.backlog.push(key);
    }

    /// The peer took no bytes for the whole send timeout: drop it.
    fn stalled<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc) {
        let conn = &self.conns[key];
        let limit = conn.send_timeout.unwrap_or(self.config.linger);
        log::debug!("{}: no send progress for {limit:?}, dropping", conn.peer);
        let e = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("peer took no bytes for {limit:?}"),
        );
        self.finish(key, svc, Ended::Failed(e));
    }

    fn fail<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, e: io::Error) {
        log::debug!("connection to {}: {e}", self.conns[key].peer);
        self.finish(key, svc, Ended::Failed(e));
    }

    /// Ends a connection whose output all went to the kernel, the polite
    /// way: half-close and linger, reading until the peer closes too.
    fn close<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, now: Instant) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let (stream, peer, peer_closed) = (conn.stream, conn.peer, conn.peer_closed);
        report_end(
            svc,
            conn.session,
            conn.output.written(),
            Ended::Closed,
            peer,
        );
        if peer_closed {
            // EOF was read, so nothing is left unread: close now.
            let _ = stream.shutdown(std::net::Shutdown::Write);
        } else {
            self.linger(stream, now);
        }
        self.descriptor_freed();
    }

    /// Half-closes `stream` and drains it until the peer closes or the
    /// linger time is over.
    fn linger(&mut self, stream: TcpStream, now: Instant) {
        let deadline = now + self.config.linger;
        let registry = self.poll.registry();
        self.lingering
            .add(registry, stream, deadline, &mut self.scratch);
        // The sweep closes it on time even if nothing else is scheduled.
        self.next_sweep = min_time(self.next_sweep, Some(deadline));
    }

    /// Ends a connection at once (abort, failure, grace period over).
    fn finish<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, how: Ended) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if matches!(how, Ended::Closed) && conn.output.is_empty() {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        }
        report_end(svc, conn.session, conn.output.written(), how, conn.peer);
        self.descriptor_freed();
    }

    fn descriptor_freed(&mut self) {
        // Accepts paused for lack of a descriptor may go on.
        if self.accept_paused_until.is_some() {
            self.accept_paused_until = Some(Instant::now());
        }
    }

    fn sweep<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        if self.next_sweep.is_none_or(|t| now < t) {
            return;
        }
        let linger = self.config.linger;
        let due: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.due(linger).is_some_and(|d| now >= d))
            .map(|(k, _)| k)
            .collect();
        for key in due {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = true;
            }
            self.process(key, svc, now);
        }
        if self.conns.capacity() > 1024 && self.conns.len() < self.conns.capacity() / 4 {
            // Give back the table a past wave of connections grew.
            self.conns.shrink_to_fit();
        }
        let lingering = self.lingering.sweep(self.poll.registry(), now);
        let next = self.conns.iter().filter_map(|(_, c)| c.due(linger)).min();
        self.next_sweep = min_time(next, lingering).map(|t| t.max(now + SWEEP_SPACING));
    }
}

impl<S: Session> Conn<S> {
    fn new(stream: TcpStream, session: S, peer: SocketAddr, state: State, now: Instant) -> Self {
        let send_timeout = session.send_timeout();
        Conn {
            stream,
            session,
            state,
            input: InBuf::new(),
            output: Outbox::new(),
            peer,
            readable: true,
            read_closed: false,
            writable: true,
            peer_closed: false,
            want_read: true,
            deadline: None,
            send_timeout,
            sent_at: now,
            dirty: true,
        }
    }

    /// When the peer will have gone too long without taking any output:
    /// the send timeout after the last progress. A closing connection
    /// whose session has none is bounded by the linger time instead.
    fn send_deadline(&self, linger: Duration) -> Option<Instant> {
        if self.output.is_empty() {
            return None;
        }
        let limit = match self.state {
            State::Open => self.send_timeout,
            State::Closing => Some(self.send_timeout.unwrap_or(linger)),
            State::Connecting { .. } => None,
        };
        limit.map(|t| self.sent_at + t)
    }

    /// The first instant this connection needs attention without I/O.
    fn due(&self, linger: Duration) -> Option<Instant> {
        min_time(self.deadline, self.send_deadline(linger))
    }
}

/// Tells the session and then the service that a connection ended. A
/// panic in either is logged and goes no further.
fn report_end<Svc: Service>(
    svc: &mut Svc,
    mut session: Svc::Session,
    written: u64,
    how: Ended,
    peer: SocketAddr,
) {
    let closed = catch_unwind(AssertUnwindSafe(|| session.on_close(written)));
    if let Err(panic) = closed {
        log::error!(
            "connection to {peer}: panicked while closing: {}",
            panic_message(&*panic)
        );
    }
    tell_ended(svc, session, how, peer);
}

/// `svc.ended`, with a panic logged rather than unwinding into the loop.
fn tell_ended<Svc: Service>(svc: &mut Svc, session: Svc::Session, how: Ended, peer: SocketAddr) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| svc.ended(session, how))) {
        log::error!(
            "connection to {peer}: service panicked on its end: {}",
            panic_message(&*panic)
        );
    }
}

/// The text of a panic payload (`panic!` with a literal or a format).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Reads until `WouldBlock`, EOF or `cap` buffered bytes. Returns whether
/// anything changed (bytes or EOF).
fn read_in<S>(
    conn: &mut Conn<S>,
    cap: usize,
    chunk: usize,
    scratch: &mut [u8],
) -> io::Result<bool> {
    let mut changed = false;
    while conn.input.len() < cap {
        let want = chunk.min(cap - conn.input.len());
        match conn.input.read_via(&mut conn.stream, want, scratch) {
            Ok((0, _)) => {
                conn.peer_closed = true;
                return Ok(true);
            }
            Ok((n, offered)) => {
                changed = true;
                // A read that did not fill its room drained the socket, so
                // the read that would answer EAGAIN is skipped: epoll in
                // edge mode reports any byte that arrives after this one.
                // Not when the peer's FIN or an error was reported, as no
                // further edge would come for the EOF behind the data.
                if n < offered && !conn.read_closed {
                    conn.readable = false;
                    break;
                }
            }
            Err(e) if is_would_block(&e) => {
                conn.readable = false;
                break;
            }
            Err(e) if is_interrupted(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(changed)
}

/// Writes queued output until it is gone or the socket would block.
fn write_out<S>(conn: &mut Conn<S>) -> io::Result<()> {
    while let Some(front) = conn.output.front_mut() {
        let res = match front {
            Chunk::File { .. } => send_file_chunk(&conn.stream, front),
            Chunk::Bytes { .. } => {
                // Gather consecutive byte chunks into one writev(2), without
                // allocating on this hot path.
                let mut slices = [IoSlice::new(&[]); 16];
                let mut n = 0;
                let mut file_follows = false;
                for c in conn.output.chunks().take(slices.len() + 1) {
                    match c {
                        Chunk::Bytes { data, pos } if n < slices.len() => {
                            slices[n] = IoSlice::new(&data[*pos..]);
                            n += 1;
                        }
                        Chunk::Bytes { .. } => break,
                        Chunk::File { .. } => {
                            file_follows = true;
                            break;
                        }
                    }
                }
                if file_follows {
                    // A head before a file body: MSG_MORE holds it back so it
                    // leaves in the same segment as the first file bytes
                    // instead of as a lone small packet (TCP_NODELAY is on).
                    let flags = rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL;
                    let mut control = rustix::net::SendAncillaryBuffer::default();
                    rustix::net::sendmsg(&conn.stream, &slices[..n], &mut control, flags)
                        .map_err(io::Error::from)
                } else {
                    (&conn.stream).write_vectored(&slices[..n])
                }
            }
        };
        match res {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.output.advance(n as u64),
            Err(e) if is_would_block(&e) => {
                conn.writable = false;
                return Ok(());
            }
            Err(e) if is_interrupted(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends part of a file range with sendfile(2), falling back to read+write
/// where the kernel refuses (some file systems do).
fn send_file_chunk(stream: &TcpStream, chunk: &Chunk) -> io::Result<usize> {
    let Chunk::File { file, offset, end } = chunk else {
        unreachable!("called for file chunks only")
    };
    let count = (*end - *offset).min(1 << 30) as usize;
    let mut off = *offset;
    match rustix::fs::sendfile(stream, &**file, Some(&mut off), count) {
        Ok(n) => Ok(n),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            let mut buf = vec![0u8; count.min(64 * 1024)];
            let n = rustix::io::pread(&**file, &mut buf, *offset)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being sent",
                ));
            }
            let mut s: &TcpStream = stream;
            s.write(&buf[..n])
        }
        Err(e) => Err(e.into()),
    }
    .and_then(|n| {
        if n == 0 {
            // sendfile returns 0 at end of file: the file shrank under us.
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            ))
        } else {
            Ok(n)
        }
    })
}

fn placeholder_stream() -> io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    Ok(TcpStream::from_std(s.into()))
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(e),
        Some(
            rustix::io::Errno::MFILE
                | rustix::io::Errno::NFILE
                | rustix::io::Errno::NOBUFS
                | rustix::io::Errno::NOMEM
        )
    )
}

fn min_time(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

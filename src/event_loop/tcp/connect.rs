//! Outgoing connections: starting the connects a service asked for, over
//! TCP or to a Unix-domain socket's path, racing TCP addresses the way RFC
//! 8305 section 5 (happy eyeballs) says, and confirming a nonblocking
//! connect the way mio's `TcpStream::connect` documents it (register, wait
//! for an event, `take_error`, then `peer_addr`: `NotConnected` means not
//! yet). The first address is tried alone; the next starts when 250 ms pass
//! without an answer, or at once when an attempt fails; the first to
//! connect wins and the others are closed. All timer-driven on the loop
//! (the connection's deadline wakes it), no threads. A confirmed connection
//! is handed back to the per-connection path; its bytes are not read or
//! written here.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::ending::tell_ended;
use super::table::{min_time, Conn, EventLoop, State};
use crate::event_loop::control::Target;
use crate::event_loop::peer::Peer;
use crate::event_loop::session::{Ended, Service, Session};
use crate::event_loop::socket::Stream;

/// RFC 8305 section 5: the recommended Connection Attempt Delay.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Where a connect under way stands.
enum Attempt {
    /// No answer yet: wait for the next event (or the timeout).
    Pending,
    /// Connected, from this local address.
    Connected(Peer),
    Failed(io::Error),
}

/// Where the race of one connection's attempts stands.
enum Race {
    Pending,
    Connected(Peer),
    /// Every address failed; the last error.
    Lost(io::Error),
}

impl<S: Session> EventLoop<S> {
    /// Starts a connect to `target`: for TCP, the first of its addresses
    /// that the kernel takes. When none does (or there is none), the
    /// session is kept with the error and its service hears of it right
    /// after `tick`: a connection without a socket never enters the table.
    pub(super) fn start_connect(&mut self, target: Target, session: S, now: Instant) {
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let registry = self.poll.registry();
        let (started, rest) = match target {
            Target::Tcp(mut addrs) => {
                addrs.reverse(); // pop() then yields them in the caller's order
                let none =
                    io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to connect to");
                (open_next(registry, Token(key), &mut addrs, none), addrs)
            }
            Target::Unix(path) => (open_unix(registry, Token(key), &path), Vec::new()),
        };
        match started {
            Ok((stream, peer)) => {
                let connecting = State::Connecting {
                    rest,
                    until: now + self.config.connect_timeout,
                    racing: Vec::new(),
                    next_try: now + ATTEMPT_DELAY,
                };
                let mut conn = Conn::new(stream, session, peer, connecting, now);
                conn.deadline = wake_time(&conn.state);
                self.next_sweep = min_time(self.next_sweep, conn.deadline);
                entry.insert(conn);
                self.backlog.push(key);
            }
            Err(e) => self.unstarted.push((session, e)),
        }
    }

    /// Tells the service about connects that never got a socket; returns
    /// whether there were any (it may then want to act at once).
    pub(super) fn report_unstarted<Svc: Service<Session = S>>(&mut self, svc: &mut Svc) -> bool {
        if self.unstarted.is_empty() {
            return false;
        }
        for (session, e) in std::mem::take(&mut self.unstarted) {
            tell_ended(
                svc,
                session,
                Ended::ConnectFailed(e),
                "an unstarted connect",
            );
        }
        true
    }

    /// Checks the connects under way on `key`: the first to succeed wins,
    /// failed ones make room for the next address at once, and the next
    /// also starts when the attempt delay has passed.
    pub(super) fn check_connect<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
    ) {
        let timeout = self.config.connect_timeout;
        let registry = self.poll.registry();
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if !matches!(conn.state, State::Connecting { .. }) {
            return;
        }
        match race(registry, Token(key), conn, now, timeout) {
            Race::Pending => {
                conn.readable = false;
                conn.writable = false;
                conn.deadline = wake_time(&conn.state);
                self.next_sweep = min_time(self.next_sweep, conn.deadline);
            }
            Race::Connected(local) => {
                let _ = conn.stream.set_nodelay(true);
                conn.session.on_connect(local, conn.peer, now);
                conn.state = State::Open;
                conn.deadline = None;
                conn.dirty = true;
                conn.readable = true;
                conn.writable = true;
            }
            Race::Lost(e) => {
                let conn = self.conns.remove(key);
                tell_ended(svc, conn.session, Ended::ConnectFailed(e), conn.peer);
            }
        }
    }
}

/// One look at every attempt of a connecting `conn`; the winner (if any)
/// becomes the connection's stream and the others are closed.
fn race<S>(
    registry: &Registry,
    token: Token,
    conn: &mut Conn<S>,
    now: Instant,
    timeout: Duration,
) -> Race {
    let State::Connecting {
        rest,
        until,
        racing,
        next_try,
    } = &mut conn.state
    else {
        return Race::Pending;
    };
    let first = match attempt(&conn.stream, conn.peer, now >= *until) {
        Attempt::Connected(local) => {
            close_all(registry, racing.drain(..).map(|(s, _, _)| s));
            return Race::Connected(local);
        }
        Attempt::Failed(e) => {
            log::debug!("connect to {}: {e}", conn.peer);
            Some(io::Error::new(e.kind(), format!("{}: {e}", conn.peer)))
        }
        Attempt::Pending => None,
    };
    let (won, racing_failed) = check_racing(registry, racing, now);
    if let Some((stream, peer, local)) = won {
        let lost = std::mem::replace(&mut conn.stream, stream);
        conn.peer = peer;
        close_all(registry, racing.drain(..).map(|(s, _, _)| s).chain([lost]));
        return Race::Connected(local);
    }
    let mut start_next = first.is_some() || racing_failed.is_some() || now >= *next_try;
    if let Some(e) = first {
        // The first slot is free: the oldest racing attempt takes it, or
        // else the next address (at once: an attempt failed).
        if racing.is_empty() {
            match open_next(registry, token, rest, racing_failed.unwrap_or(e)) {
                Ok((stream, peer)) => racing.push((stream, peer, now + timeout)),
                Err(e) => return Race::Lost(e),
            }
            start_next = false;
            *next_try = now + ATTEMPT_DELAY;
        }
        let (stream, peer, limit) = racing.remove(0);
        close_all(registry, [std::mem::replace(&mut conn.stream, stream)]);
        conn.peer = peer;
        *until = limit;
    }
    if start_next {
        if let Some(next) = open_racing(registry, token, rest, now + timeout) {
            racing.push(next);
        }
        *next_try = now + ATTEMPT_DELAY;
    }
    Race::Pending
}

/// Starts a connect to the next address that the kernel takes, if any.
fn open_racing(
    registry: &Registry,
    token: Token,
    rest: &mut Vec<SocketAddr>,
    until: Instant,
) -> Option<(Stream, Peer, Instant)> {
    let none = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address left");
    let (stream, peer) = open_next(registry, token, rest, none).ok()?;
    Some((stream, peer, until))
}

/// Checks the attempts racing the first: the first that connected (with
/// its local address) is taken out; failed ones are closed and removed,
/// and the last failure is returned.
fn check_racing(
    registry: &Registry,
    racing: &mut Vec<(Stream, Peer, Instant)>,
    now: Instant,
) -> (Option<(Stream, Peer, Peer)>, Option<io::Error>) {
    let mut failed = None;
    let mut i = 0;
    while i < racing.len() {
        let (stream, peer, limit) = &racing[i];
        match attempt(stream, *peer, now >= *limit) {
            Attempt::Pending => i += 1,
            Attempt::Connected(local) => {
                let (stream, peer, _) = racing.swap_remove(i);
                return (Some((stream, peer, local)), failed);
            }
            Attempt::Failed(e) => {
                let (stream, peer, _) = racing.remove(i);
                log::debug!("connect to {peer}: {e}");
                close_all(registry, [stream]);
                failed = Some(io::Error::new(e.kind(), format!("{peer}: {e}")));
            }
        }
    }
    (None, failed)
}

/// Deregisters and closes connects that lost the race (or failed).
fn close_all(registry: &Registry, streams: impl IntoIterator<Item = Stream>) {
    for mut stream in streams {
        let _ = registry.deregister(&mut stream);
    }
}

/// When a connecting connection next needs a look: the earliest attempt
/// timeout, or the start of the next attempt while addresses remain.
fn wake_time(state: &State) -> Option<Instant> {
    let State::Connecting {
        rest,
        until,
        racing,
        next_try,
    } = state
    else {
        return None;
    };
    let limits = racing.iter().map(|(_, _, t)| *t).chain([*until]).min();
    let next = (!rest.is_empty()).then_some(*next_try);
    min_time(limits, next)
}

/// Pops addresses off `rest` until a nonblocking connect to one starts and
/// registers as `token`; otherwise the error of the last one tried, or
/// `last` if there was none.
fn open_next(
    registry: &Registry,
    token: Token,
    rest: &mut Vec<SocketAddr>,
    mut last: io::Error,
) -> Result<(Stream, Peer), io::Error> {
    while let Some(addr) = rest.pop() {
        let started = TcpStream::connect(addr).and_then(|mut stream| {
            let both = Interest::READABLE | Interest::WRITABLE;
            registry.register(&mut stream, token, both)?;
            Ok(stream)
        });
        match started {
            Ok(stream) => {
                log::debug!("connecting to {addr}");
                return Ok((Stream::Tcp(stream), Peer::Tcp(addr)));
            }
            Err(e) => {
                log::debug!("connect to {addr}: {e}");
                last = io::Error::new(e.kind(), format!("{addr}: {e}"));
            }
        }
    }
    Err(last)
}

/// A nonblocking connect to the Unix socket at `path`, registered as
/// `token`; errors name the path.
fn open_unix(registry: &Registry, token: Token, path: &Path) -> Result<(Stream, Peer), io::Error> {
    let started = Stream::connect_unix(path).and_then(|mut stream| {
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(stream)
    });
    match started {
        Ok(stream) => {
            log::debug!("connecting to unix:{}", path.display());
            Ok((stream, Peer::Unix))
        }
        Err(e) => {
            log::debug!("connect to unix:{}: {e}", path.display());
            Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        }
    }
}

/// Steps 4 and 5 of mio's recipe: a pending socket error fails the
/// connect, a peer address confirms it, `NotConnected` means not yet (or,
/// past the connect timeout, never).
fn attempt(stream: &Stream, peer: Peer, timed_out: bool) -> Attempt {
    match stream.take_error() {
        Ok(Some(e)) | Err(e) => return Attempt::Failed(e),
        Ok(None) => {}
    }
    match stream.local_if_connected() {
        Ok(local) => Attempt::Connected(local),
        Err(e) if e.kind() == io::ErrorKind::NotConnected && !timed_out => Attempt::Pending,
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Attempt::Failed(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connect to {peer} timed out"),
        )),
        Err(e) => Attempt::Failed(e),
    }
}

//! Outgoing connections: starting the connects a service asked for, trying
//! each address in turn, and confirming a nonblocking connect the way
//! mio's `TcpStream::connect` documents it (register, wait for an event,
//! `take_error`, then `peer_addr`: `NotConnected` means not yet), over
//! TCP or to a Unix-domain socket's path. A
//! confirmed connection is handed back to the per-connection path; its
//! bytes are not read or written here.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::ending::tell_ended;
use super::table::{min_time, Conn, EventLoop, State};
use crate::event_loop::control::Target;
use crate::event_loop::peer::Peer;
use crate::event_loop::session::{Ended, Service, Session};
use crate::event_loop::socket::Stream;

/// Where a connect under way stands.
enum Attempt {
    /// No answer yet: wait for the next event (or the timeout).
    Pending,
    /// Connected, from this local address.
    Connected(Peer),
    Failed(io::Error),
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
                let connecting = State::Connecting { rest };
                let mut conn = Conn::new(stream, session, peer, connecting, now);
                conn.deadline = Some(now + self.config.connect_timeout);
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

    /// Checks whether the connect under way on `key` succeeded, and moves
    /// on to the next address (or gives up) if it failed or timed out.
    pub(super) fn check_connect<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
    ) {
        let conn = &mut self.conns[key];
        if !matches!(conn.state, State::Connecting { .. }) {
            return;
        }
        let timed_out = conn.deadline.is_some_and(|d| now >= d);
        match attempt(&conn.stream, conn.peer, timed_out) {
            Attempt::Pending => {
                conn.readable = false;
                conn.writable = false;
            }
            Attempt::Connected(local) => {
                let _ = conn.stream.set_nodelay(true);
                conn.session.on_connect(local, conn.peer, now);
                conn.state = State::Open;
                conn.deadline = None;
                conn.dirty = true;
                conn.readable = true;
                conn.writable = true;
            }
            Attempt::Failed(e) => {
                let e = io::Error::new(e.kind(), format!("{}: {e}", conn.peer));
                self.connect_next(key, svc, now, e);
            }
        }
    }

    /// The connect on `key` failed with `e`: start one to the next address
    /// that the kernel takes, or end the connection with the last error.
    fn connect_next<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
        e: io::Error,
    ) {
        let registry = self.poll.registry();
        let conn = &mut self.conns[key];
        let State::Connecting { rest } = &mut conn.state else {
            return;
        };
        let _ = registry.deregister(&mut conn.stream);
        match open_next(registry, Token(key), rest, e) {
            Ok((stream, peer)) => {
                conn.stream = stream;
                conn.peer = peer;
                conn.deadline = Some(now + self.config.connect_timeout);
                self.next_sweep = min_time(self.next_sweep, conn.deadline);
            }
            Err(e) => {
                let conn = self.conns.remove(key);
                tell_ended(svc, conn.session, Ended::ConnectFailed(e), conn.peer);
            }
        }
    }
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

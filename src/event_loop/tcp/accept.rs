//! Accepting: listeners, admitting each new connection (or refusing it at
//! the connection limit), and pausing accepts while descriptors run out.
//! A new connection is handed to `process` once; reading and writing it
//! is not done here.

use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use super::ending::{panic_message, tell_ended};
use super::table::{Conn, EventLoop, State};
use super::token::listener_token;
use crate::event_loop::errors::{is_interrupted, is_would_block};
use crate::event_loop::peer::Peer;
use crate::event_loop::session::{Ended, Service, Session};
use crate::event_loop::socket::{Listener, Listening, Stream};

/// After accept(2) fails for lack of descriptors, wait this long before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl<S: Session> EventLoop<S> {
    /// Adds a listener (TCP or Unix-domain); accepted connections get
    /// sessions from `Service::accept`.
    pub fn listen(&mut self, listener: impl Into<Listener>) -> io::Result<()> {
        let mut listener = Listening::new(listener.into())?;
        let token = listener_token(self.listeners.len());
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        self.listeners.push(listener);
        Ok(())
    }

    pub(super) fn accept_all<Svc: Service<Session = S>>(
        &mut self,
        index: usize,
        svc: &mut Svc,
        now: Instant,
    ) {
        if self.accept_paused_until.is_some() || self.shutting_down {
            return;
        }
        loop {
            if self.conns.len() + self.lingering.len() >= self.socket_budget {
                // Out of our share of descriptors: the rest wait in the
                // kernel's backlog until a connection closes (or the timer).
                log::debug!("{} sockets held; pausing accepts", self.socket_budget);
                self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                return;
            }
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

    pub(super) fn resume_accepting<Svc: Service<Session = S>>(
        &mut self,
        svc: &mut Svc,
        now: Instant,
    ) {
        if self.accept_paused_until.is_some_and(|t| now >= t) {
            self.accept_paused_until = None;
            for i in 0..self.listeners.len() {
                self.accept_all(i, svc, now);
            }
        }
    }

    fn admit<Svc: Service<Session = S>>(
        &mut self,
        mut stream: Stream,
        peer: Peer,
        svc: &mut Svc,
        now: Instant,
    ) {
        if self.conns.len() >= self.config.max_connections {
            log::debug!("connection limit reached, refusing {peer}");
            let _ = (&stream).write(&svc.refusal());
            // Drain the request the refusal never read, or closing with it
            // unread would reset the connection, and the reset can reach
            // the client before it has read the refusal.
            self.linger(stream, now);
            return;
        }
        let local = match stream.local() {
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
        session.on_waker(self.woken.waker(key));
        entry.insert(Conn::new(stream, session, peer, State::Open, now));
        self.process(key, svc, now);
    }

    pub(super) fn descriptor_freed(&mut self) {
        // Accepts paused for lack of a descriptor may go on.
        if self.accept_paused_until.is_some() {
            self.accept_paused_until = Some(Instant::now());
        }
    }
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

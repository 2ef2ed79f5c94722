//! A stand-in for the loop in sessions' unit tests: the buffers, the clock
//! and the peer's state that an [`Io`] borrows, so every session's tests
//! drive it the same way with plain bytes and no socket.

use std::net::SocketAddr;
use std::time::Instant;

use super::buffer::{InBuf, Outbox};
use super::peer::Peer;
use super::session::{Io, Session, Step};

/// One connection's worth of loop state, owned by a test.
pub struct Wire {
    pub input: InBuf,
    pub output: Outbox,
    /// Everything drained from `output` so far, as the peer would read it.
    pub sent: Vec<u8>,
    pub now: Instant,
    pub peer: Peer,
    pub peer_closed: bool,
    pub shutting_down: bool,
}

impl Default for Wire {
    fn default() -> Self {
        Wire::new()
    }
}

impl Wire {
    pub fn new() -> Wire {
        Wire {
            input: InBuf::new(),
            output: Outbox::new(),
            sent: Vec::new(),
            now: Instant::now(),
            peer: Peer::Tcp(SocketAddr::from(([127, 0, 0, 1], 1))),
            peer_closed: false,
            shutting_down: false,
        }
    }

    /// The same, with the peer at `peer`.
    pub fn with_peer(peer: SocketAddr) -> Wire {
        Wire {
            peer: Peer::Tcp(peer),
            ..Wire::new()
        }
    }

    /// The [`Io`] the loop would hand a session now, for tests that call
    /// a session's own methods rather than `drive`.
    pub fn io(&mut self) -> Io<'_> {
        Io {
            input: &mut self.input,
            output: &mut self.output,
            peer_closed: self.peer_closed,
            shutting_down: self.shutting_down,
            now: self.now,
            peer: self.peer,
        }
    }

    /// One call to `drive`, output left queued.
    pub fn drive<S: Session>(&mut self, session: &mut S) -> Step {
        session.drive(&mut self.io())
    }

    /// Moves everything queued into `sent`, as a peer that reads at once.
    pub fn flush(&mut self) {
        self.output
            .drain_into(&mut self.sent, usize::MAX)
            .expect("draining an Outbox into a Vec cannot fail");
    }

    /// Appends `bytes` to the input, drives once and sends what was queued.
    pub fn feed<S: Session>(&mut self, session: &mut S, bytes: &[u8]) -> Step {
        self.input.extend(bytes);
        let step = self.drive(session);
        self.flush();
        step
    }

    /// Appends `bytes` and drives as the loop would: again after every
    /// drained output, until the session waits with nothing queued or ends.
    pub fn feed_all<S: Session>(&mut self, session: &mut S, bytes: &[u8]) -> Step {
        self.input.extend(bytes);
        loop {
            let step = self.drive(session);
            let drained = !self.output.is_empty();
            self.flush();
            if !drained || !matches!(step, Step::Wait { .. }) {
                return step;
            }
        }
    }

    /// What was sent so far, taken out of the wire.
    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    /// What was sent so far, as text (lossy).
    pub fn sent_text(&self) -> String {
        String::from_utf8_lossy(&self.sent).into_owned()
    }
}

/// A session on its own [`Wire`], for harnesses that add helpers of their
/// own (`impl OnWire<MySession> { .. }`); the wire's fields read through.
pub struct OnWire<S> {
    pub session: S,
    pub wire: Wire,
}

impl<S> std::ops::Deref for OnWire<S> {
    type Target = Wire;
    fn deref(&self) -> &Wire {
        &self.wire
    }
}

impl<S> std::ops::DerefMut for OnWire<S> {
    fn deref_mut(&mut self) -> &mut Wire {
        &mut self.wire
    }
}

impl<S: Session> OnWire<S> {
    pub fn drive(&mut self) -> Step {
        self.wire.drive(&mut self.session)
    }

    /// [`Wire::feed`] for this session.
    pub fn feed(&mut self, bytes: &[u8]) -> Step {
        self.wire.feed(&mut self.session, bytes)
    }
}

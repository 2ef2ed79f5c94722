//! The interface between the loop and protocol code: the [`Io`] a session
//! sees on each call, the [`Step`] it answers with, the [`Session`] and
//! [`Service`] traits, and how a connection [`Ended`]. Types and traits
//! only: nothing here touches a socket or knows how the loop runs.

use std::io;
use std::time::{Duration, Instant};

use super::buffer::{InBuf, Outbox};
use super::control::Control;
use super::peer::Peer;
use super::wake::SessionWaker;

/// Everything a session may look at or change on one call to `drive`.
pub struct Io<'a> {
    /// Bytes received and not yet consumed.
    pub input: &'a mut InBuf,
    /// Bytes (and file ranges) to send, in order.
    pub output: &'a mut Outbox,
    /// The peer has closed its sending side; no more input will come.
    pub peer_closed: bool,
    /// The loop is shutting down: finish what is in flight, start nothing new.
    pub shutting_down: bool,
    /// When this turn of the loop began.
    pub now: Instant,
    /// Who is at the other end.
    pub peer: Peer,
}

/// What a session wants after a call to `drive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Keep the connection. Read more input only if `read`; call `drive`
    /// again by `deadline` at the latest.
    Wait {
        read: bool,
        deadline: Option<Instant>,
    },
    /// Send everything queued, then close. The flush is bounded by send
    /// progress (the session's send timeout, else the loop's linger time);
    /// once the last byte is with the kernel, the loop lingers: it
    /// half-closes and drains input for up to its linger time.
    Close,
    /// Close now, discarding queued output (a reset, an error, a timeout).
    Abort,
}

impl Step {
    pub fn read(deadline: Option<Instant>) -> Step {
        Step::Wait {
            read: true,
            deadline,
        }
    }
}

/// One connection's protocol logic, sans I/O.
///
/// `drive` is called whenever anything may have changed: new input, EOF,
/// output drained, a deadline reached, a wake-up or shutdown. It must be
/// idempotent: doing nothing when nothing changed is correct.
pub trait Session {
    /// The connection is established (accepted, or an outgoing connect
    /// confirmed). `local` is our address.
    fn on_connect(&mut self, _local: Peer, _peer: Peer, _now: Instant) {}

    /// An accepted session's handle for being driven again on this loop's
    /// next turn, given once when it enters the table (after `on_connect`).
    fn on_waker(&mut self, _waker: SessionWaker) {}

    fn drive(&mut self, io: &mut Io<'_>) -> Step;

    /// The most input the loop should buffer before the session consumes
    /// some; reading stops there (backpressure) rather than growing memory.
    fn input_cap(&self) -> usize {
        64 * 1024
    }

    /// Bytes to ask for per read(2) instead of the loop's `read_chunk`,
    /// for a session taking in a bulk body (still bounded by `input_cap`).
    fn read_chunk(&self) -> Option<usize> {
        None
    }

    /// How long queued output may wait without the kernel taking a single
    /// byte before the loop drops the connection (`Ended::Failed` with
    /// `TimedOut`). Counted from the last byte taken, or from when output
    /// was queued while none was waiting; `None` never times out while
    /// open (a closing connection is then bounded by the linger time).
    fn send_timeout(&self) -> Option<Duration> {
        None
    }

    /// The connection is over, by any path; `written` output bytes in all
    /// were handed to the kernel. Called just before `Service::ended`.
    fn on_close(&mut self, _written: u64) {}
}

/// How a connection ended, as the service is told.
#[derive(Debug)]
pub enum Ended {
    /// The session returned `Close` or `Abort`, or the loop shut down.
    Closed,
    /// A socket error (reset, broken pipe), the send timeout (`TimedOut`)
    /// or a panic in the session ended it.
    Failed(io::Error),
    /// An outgoing connect never succeeded; the last error for each address tried.
    ConnectFailed(io::Error),
}

/// Owns the sessions of one loop: makes them for accepted connections,
/// starts outgoing ones, and hears how each ended.
pub trait Service {
    type Session: Session;

    /// A listener accepted `peer`; `None` closes the connection at once.
    fn accept(&mut self, _peer: Peer, _local: Peer) -> Option<Self::Session> {
        None
    }

    /// Bytes written (best effort) to a connection refused because the
    /// loop is at its connection limit, e.g. an HTTP 503; made at refusal
    /// time, so it may carry the current date. The loop then drains what
    /// the peer sent before closing, so the refusal is not lost to a reset.
    fn refusal(&self) -> Vec<u8> {
        Vec::new()
    }

    /// A connection ended; the session is handed back with its final state.
    fn ended(&mut self, session: Self::Session, how: Ended);

    /// Called on every loop turn and wake-up: start outgoing connections
    /// through `ctl`. Return `false` once the service has nothing left to
    /// do; the loop then stops when its connections are gone.
    fn tick(&mut self, _ctl: &mut Control<'_, Self::Session>) -> bool {
        true
    }
}

//! The state of one TCP loop: its knobs ([`LoopConfig`]), the connection
//! table and what each connection remembers between turns (readiness,
//! buffers, deadlines). Plain data and the deadline arithmetic on it: no
//! socket is read, written or registered here.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use slab::Slab;

use super::token::Ready;
use crate::event_loop::buffer::{InBuf, Outbox, SparePool};
use crate::event_loop::control::ConnectRequest;
use crate::event_loop::linger::Lingering;
use crate::event_loop::peer::Peer;
use crate::event_loop::session::Session;
use crate::event_loop::shutdown::{Notifier, Shutdown};
use crate::event_loop::socket::{Listening, Stream};
use crate::event_loop::wake::WakeList;

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
    /// How many loops share the process's descriptors: each accepts only
    /// while its sockets stay within its share of RLIMIT_NOFILE.
    pub loops: usize,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            max_connections: 16_384,
            read_chunk: 16 * 1024,
            linger: Duration::from_secs(5),
            grace: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            loops: 1,
        }
    }
}

pub(super) enum State {
    /// A nonblocking connect to the connection's `peer` is under way,
    /// given up at `until`; `racing` are connects started after it that
    /// race it (happy eyeballs), each with its peer and its `until`;
    /// `rest` are the addresses still to try, last first (none for a Unix
    /// socket), the next at `next_try` or at once when an attempt fails.
    Connecting {
        rest: Vec<SocketAddr>,
        until: Instant,
        racing: Vec<(Stream, Peer, Instant)>,
        next_try: Instant,
    },
    Open,
    /// The session asked to close: flush, then linger.
    Closing,
}

pub(super) struct Conn<S> {
    pub stream: Stream,
    pub session: S,
    pub state: State,
    pub input: InBuf,
    pub output: Outbox,
    pub peer: Peer,
    pub readable: bool,
    /// The peer's FIN (or an error) was reported: read on until EOF.
    pub read_closed: bool,
    pub writable: bool,
    pub peer_closed: bool,
    pub want_read: bool,
    /// The session's deadline (or the connect timeout while connecting).
    pub deadline: Option<Instant>,
    /// The session's `send_timeout`, asked once.
    pub send_timeout: Option<Duration>,
    /// When output last moved: the kernel took bytes, or output was queued
    /// while none was waiting. Only meaningful while output is pending.
    pub sent_at: Instant,
    /// `drive` must run even without I/O progress (new, woken, timed out).
    pub dirty: bool,
    /// On the backlog because its deadline was already due (see `apply`).
    pub queued: bool,
}

/// One poll instance with its listeners and connections.
pub struct EventLoop<S> {
    pub(super) poll: Poll,
    pub(super) events: Events,
    pub(super) conns: Slab<Conn<S>>,
    pub(super) listeners: Vec<Listening>,
    pub(super) accept_paused_until: Option<Instant>,
    /// The service's own timer, as its last `tick` asked (`Control::wake_at`).
    pub(super) service_wake: Option<Instant>,
    /// Sockets (connections and lingering closes) this loop holds before it
    /// stops accepting; see [`socket_budget`].
    pub(super) socket_budget: usize,
    pub(super) notifier: Notifier,
    /// Sessions woken by others on this loop (`Session::on_waker`).
    pub(super) woken: WakeList,
    pub(super) shutdown: Shutdown,
    pub(super) config: LoopConfig,
    pub(super) next_sweep: Option<Instant>,
    /// Connections that used up their fair share and have more to do.
    pub(super) backlog: Vec<usize>,
    /// Reused between turns: what the last poll reported, in order.
    pub(super) ready: Vec<Ready>,
    /// Reused between turns: connects the service asked for in `tick`.
    pub(super) connects: Vec<ConnectRequest<S>>,
    /// Outgoing connections that never got a socket (no address, or every
    /// address refused at once), with why; the service hears of them
    /// right after its `tick`.
    pub(super) unstarted: Vec<(S, io::Error)>,
    pub(super) shutting_down: bool,
    /// Closed connections draining their input (lingering close).
    pub(super) lingering: Lingering,
    /// Every read lands here first unless the connection's own buffer is
    /// already large, so an idle or slow connection holds only the bytes
    /// it sent (a slowloris head costs its length, not a read buffer).
    pub(super) scratch: Vec<u8>,
    /// Spent output buffers lent to connections while they send.
    pub(super) spares: SparePool,
}

impl<S: Session> Conn<S> {
    pub fn new(stream: Stream, session: S, peer: Peer, state: State, now: Instant) -> Self {
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
            queued: false,
        }
    }

    /// When the peer will have gone too long without taking any output:
    /// the send timeout after the last progress. A closing connection
    /// whose session has none is bounded by the linger time instead.
    pub fn send_deadline(&self, linger: Duration) -> Option<Instant> {
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
    pub fn due(&self, linger: Duration) -> Option<Instant> {
        min_time(self.deadline, self.send_deadline(linger))
    }

    /// Whether a read now could bring anything the session has room for.
    pub fn can_read(&self, cap: usize) -> bool {
        self.want_read && self.readable && !self.peer_closed && self.input.len() < cap
    }
}

pub(super) fn min_time(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Descriptors kept out of every loop's share: stdio, the poll and its
/// waker, listeners, the served root, the log's stdout, signal plumbing.
const RESERVED_DESCRIPTORS: u64 = 16;

/// Sockets one of `loops` loops may hold: its share of RLIMIT_NOFILE,
/// after the fixed reserve and an eighth of the limit kept for what
/// connections open while they work (the file a request sends). Without
/// it, accept(2) could take the last descriptor and the request it brought
/// would find none for its file, instead of waiting in the kernel's
/// backlog until a descriptor is free.
pub(super) fn socket_budget(loops: usize) -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    budget_for(limit, loops)
}

/// [`socket_budget`] for a soft limit (`None`: unlimited).
fn budget_for(limit: Option<u64>, loops: usize) -> usize {
    let limit = limit.unwrap_or(u64::MAX);
    let kept = RESERVED_DESCRIPTORS.saturating_add(limit / 8);
    let share = limit.saturating_sub(kept) / loops.max(1) as u64;
    usize::try_from(share).unwrap_or(usize::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loop_takes_its_share_of_what_the_reserves_leave() {
        // (soft limit, loops, sockets per loop)
        let cases = [
            (Some(32), 1, 12),
            (Some(1024), 1, 880),
            (Some(1024), 2, 440),
            (Some(20_000), 2, 8742),
            (Some(1_048_576), 2, 458_744),
            // Tiny or odd limits still let one connection in.
            (Some(10), 1, 1),
            (Some(0), 4, 1),
            (Some(100), 0, 72),
            (None, 2, ((u64::MAX - 16 - u64::MAX / 8) / 2) as usize),
        ];
        for (limit, loops, want) in cases {
            assert_eq!(budget_for(limit, loops), want, "{limit:?} {loops}");
        }
    }
}

//! What a service may ask of its loop from `Service::tick`: start outgoing
//! connections, get a wake-up handle, read the clock and the connection
//! count. Requests are only recorded here; the loop carries them out when
//! `tick` returns, so this file knows no socket and no loop internals.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use super::shutdown::Notifier;

/// Where an outgoing connection goes.
pub(super) enum Target {
    /// These TCP addresses, tried in order.
    Tcp(Vec<SocketAddr>),
    /// The Unix-domain stream socket at this path.
    Unix(PathBuf),
}

/// An outgoing connection a service asked for: where to, and the session
/// to drive once it answers.
pub(super) type ConnectRequest<S> = (Target, S);

/// What a service may do to the loop from `tick`.
pub struct Control<'a, S> {
    pub(super) connects: &'a mut Vec<ConnectRequest<S>>,
    pub(super) notifier: &'a Notifier,
    pub(super) now: Instant,
    /// Connections open or connecting when `tick` was called.
    pub(super) open: usize,
    /// The earliest wake-up asked for in this call (a job's retry timer).
    pub(super) wake: &'a mut Option<Instant>,
}

impl<S> Control<'_, S> {
    /// Starts a nonblocking connect to the first of `addrs`, falling back to
    /// the next on failure or after the loop's connect timeout. The session
    /// is driven once the connect is confirmed; if none succeeds the service
    /// gets it back through `ended` with `Ended::ConnectFailed`.
    pub fn connect(&mut self, addrs: Vec<SocketAddr>, session: S) {
        self.connects.push((Target::Tcp(addrs), session));
    }

    /// Starts a connect to the Unix-domain stream socket at `path`, for
    /// `fetch --unix-socket` and `talk --unix`: the session sees
    /// [`Peer::Unix`](super::Peer::Unix) and is driven as over TCP. A
    /// connect that fails (no such file, nobody listening, the timeout)
    /// reaches the service as `Ended::ConnectFailed` naming the path.
    pub fn connect_unix(&mut self, path: PathBuf, session: S) {
        self.connects.push((Target::Unix(path), session));
    }

    /// A handle that wakes this loop from another thread; every session is
    /// then driven once.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// Calls `tick` again by `at` at the latest, even when no connection
    /// has anything to say (a service's timer: a retry's backoff). Asked
    /// again on every `tick` that still wants it.
    pub fn wake_at(&mut self, at: Instant) {
        *self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Connections currently open or connecting, counting those asked for
    /// in this call.
    pub fn connections(&self) -> usize {
        self.open + self.connects.len()
    }
}

//! The only module that imports mio. It owns sockets, readiness, partial
//! reads and writes, timers, wake-ups and shutdown, and drives protocol
//! sessions that never see a socket.
//!
//! A TCP connection is driven through the [`Session`] trait: the loop reads
//! into an [`InBuf`], calls [`Session::drive`], writes whatever the session
//! queued in its [`Outbox`], and repeats until neither side can make
//! progress. A [`Service`] creates sessions for accepted connections, starts
//! outgoing ones and is told when each ends. Datagrams go through
//! [`DatagramService`] in the same style.
//!
//! A closed connection lingers (half-closed, input drained) before its
//! socket is closed, and a panic in one connection's session drops that
//! connection only; `tcp` explains both.
//!
//! This file is a facade: every item lives in a leaf file and is re-exported
//! here, so the children never depend on their parent.

mod bind;
mod buffer;
mod control;
mod errors;
mod linger;
mod peer;
mod session;
mod shutdown;
mod socket;
mod tcp;
mod udp;
mod wake;

pub use bind::{
    bind_listener, bind_listeners, bind_udp, bind_udp_client, bind_unix, UnixSocketFile,
};
pub use buffer::{Chunk, InBuf, Outbox};
pub use control::Control;
pub use errors::is_would_block;
pub use peer::{Host, Peer};
pub use session::{Ended, Io, Service, Session, Step};
pub use shutdown::{Notifier, RemoveOnExit, Shutdown};
pub use socket::Listener;
pub use tcp::{raise_descriptor_limit, serve_threads, EventLoop, LoopConfig};
pub use udp::{DatagramLoop, DatagramQueue, DatagramService, Flow};
pub use wake::{SessionWaker, WakeList};

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

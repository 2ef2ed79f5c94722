//! The TCP event loop: listeners, outgoing connects, the connection table,
//! readiness, partial reads and writes (sendfile for file ranges), deadlines,
//! fair scheduling and graceful shutdown. This file is a facade; each seam
//! has its own file: `run` (the loop, polling, sweeps, shutdown), `accept`,
//! `connect`, `conn` (one connection's rounds and its end), `transfer`
//! (socket reads and the write path), `table` (the state), `token` (what a
//! poll token names) and `ending` (telling services, containing panics).
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
//!
//! [`Session::send_timeout`]: crate::event_loop::Session::send_timeout

mod accept;
mod conn;
mod connect;
mod ending;
mod run;
mod table;
mod token;
mod transfer;

pub use run::{raise_descriptor_limit, serve_threads};
pub use table::{EventLoop, LoopConfig};

//! wirecat: HTTP/1.1 and plain TCP straight over sockets, on a mio event loop.
//!
//! # Architecture
//!
//! ```text
//!  main -> cli --> client::fetch / client::headers --+
//!              --> file_server::serve ---------------+--> event_loop (mio: sockets,
//!              --> greeter::greet / greeter::talk ---+     readiness, timers, shutdown)
//!                                                          | drives (Session, Service,
//!                                                          v  DatagramService traits)
//!                     tls::TlsSession (https: ciphertext <-> plaintext)
//!                                                          | wraps
//!                                                          v
//!                     FetchSession / HttpSession / GreetSession   (no sockets)
//!                                                          | use
//!                                                          v
//!                                         http:: (pure codec over bytes)
//! ```
//!
//! - [`http`] is a pure HTTP/1.1 codec over byte slices: request and
//!   response heads, body framing (RFC 9112 section 6.3), chunked decoding,
//!   content codings, Content-Disposition file names. It depends on nothing
//!   else in the crate.
//! - [`event_loop`] is the only module that imports mio. It owns sockets,
//!   readiness, partial reads and writes (sendfile for file ranges),
//!   deadlines and graceful shutdown, and drives sessions through the
//!   [`event_loop::Session`] trait: input bytes in, output bytes out, a
//!   [`event_loop::Step`] back. It knows nothing of HTTP.
//! - [`client`], [`file_server`] and [`greeter`] are sessions and the
//!   services that make them. None of them touches a socket, so each can be
//!   driven in a unit test with plain buffers.
//! - [`tls`] is one more sans-IO layer for outgoing HTTPS: a
//!   [`tls::TlsSession`] wraps an inner session, feeding socket ciphertext
//!   to rustls and the plaintext to the inner session, and back. Like the
//!   other sessions it never touches a socket.
//! - [`cli`] holds the clap types and resolves them into plain configs;
//!   [`error`] holds the error type and the one exit-code policy.
//!
//! Arrows point down only; `grep -rn 'use mio' src/` shows only `event_loop`.

pub mod cli;
pub mod client;
pub mod error;
pub mod event_loop;
pub mod file_server;
pub mod greeter;
pub mod http;
pub mod tls;

#[cfg(test)]
mod fuzz_tests;

pub use error::{Error, Result};

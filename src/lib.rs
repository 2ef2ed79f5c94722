//! wirecat: HTTP/1.1 and plain TCP straight over sockets, on a mio event loop.
//!
//! # Architecture
//!
//! ```text
//!  main --> cli: clap types, resolved into plain configs
//!   |         cli::fetch -> client::Run
//!   |         cli::serve -> file_server::Config
//!   |         cli::greet -> greeter::{GreetConfig, TalkConfig, ChatConfig}
//!   v
//!  client::run            file_server::serve        greeter::greet / talk
//!   FetchService           FileService               GreetService, UdpGreeter,
//!   Conn: CONNECT tunnel,    tls::MaybeTls<            TalkService, UdpTalk
//!     then tls::MaybeTls<      HttpSession> (path,     GreetSession, TalkSession
//!       FetchSession>         reply, listing, cache)
//!   FetchSession: plan,                               greeter::chat: ChatService,
//!     apply, reading, outlet                            UdpChat, Room (sans I/O)
//!                                                     greeter::services: echo,
//!                                                       daytime, time, clock
//!        \                        |                        /
//!         +----- services and sessions (no sockets) ------+
//!                                 | driven by (Session, Service,
//!                                 v  DatagramService traits)
//!  event_loop: the only mio user. Binds, accepts, connects, reads, writes
//!              (sendfile), deadlines, lingering closes, signals, shutdown.
//!
//!  Sessions speak through http:: (a pure codec over bytes), which uses
//!  nothing else in the crate.
//! ```
//!
//! - [`http`] is a pure HTTP/1.1 codec over byte slices: request and
//!   response heads, body framing (RFC 9112 section 6.3), chunked coding
//!   (strict for requests, lenient for responses), content codings (one
//!   file per coding), Content-Disposition file names, streaming
//!   multipart/form-data bodies. Push parsers in the
//!   httparse manner: `Ok(None)` for "need more", a small `Copy` error.
//! - [`event_loop`] is the only module that imports mio, and the only one
//!   that binds a socket ([`event_loop::bind_listeners`],
//!   [`event_loop::bind_udp`], [`event_loop::bind_unix`]). TCP and
//!   Unix-domain streams are one `Stream` to it and one [`event_loop::Peer`]
//!   to sessions (`unix:` for a Unix peer). It drives sessions through
//!   [`event_loop::Session`]: input bytes in, output bytes out, a
//!   [`event_loop::Step`] back. It knows nothing of HTTP.
//!   `event_loop::testing::Wire` (tests only) drives any session with
//!   plain buffers, the way every session's unit tests do.
//! - [`client`], [`file_server`] and [`greeter`] are the services and the
//!   sessions they make. None touches a socket. Each session is a state
//!   machine with one enum of states, and its pure decisions have modules
//!   of their own that are tested with tables: [`client::plan`] decides
//!   what a response head means, and [`file_server::reply`] decides how a
//!   request is answered.
//!   [`client::connect_rules`] decides where a connection goes (`--resolve`,
//!   `--connect-to`, `-4`/`-6`, `--unix-socket`) before any lookup; [`client::report`]
//!   writes `--json` and `-w` from the hops [`client::inspect`] records.
//!   [`client::retry`] decides `--retry`'s waits (pure; the service sleeps
//!   a job on the loop's timer) and [`client::rate`] is `--limit-rate`'s
//!   bucket (the session pauses reading).
//!   [`client::segments`] is `--segments` (one file over N connections; its pure decisions in `plan`).
//!   [`client::segments::transcript`] labels each connection's `-v` lines (`#2 > GET ...`).
//!   [`file_server::archive`] plans a folder download from a manifest,
//!   then streams it part by part as the output drains.
//!   [`file_server::archive::walk`] reads that manifest a bounded step per turn of the loop.
//!   [`file_server::outgoing`] queues a response's head and body into the outbox.
//!   [`file_server::upload::plan`] decides what an upload (`serve --upload`) gets;
//!   a file it replaces or abandons is closed on [`file_server::upload::reaper`]'s
//!   thread, so freeing its pages never stalls a loop.
//! - [`tls`] is one more sans-IO layer, over rustls, for both sides: a
//!   [`tls::MaybeTls`] wraps the client's [`client::session::FetchSession`]
//!   for https (in [`client::conn`]) and, with `serve --tls`, the file
//!   server's session, feeding the socket's ciphertext to rustls and the
//!   plaintext to the session, and back. It imports neither side.
//! - [`cli`] holds the clap types and resolves them into the plain configs
//!   above; no feature module imports it. [`error`] holds the error type and
//!   the one exit-code policy.
//!
//! # Rules, and how they are checked
//!
//! Arrows point down only: only `event_loop` imports the event-loop crate.
//! `cargo test --test integration architecture` reads `src/` and fails on:
//!
//! - an import cycle between files. A `mod.rs` that uses or re-exports its
//!   children depends on them, so a child never imports an item its own
//!   `mod.rs` defines: shared items live in leaf files (`event_loop/session.rs`,
//!   `client/ending.rs`, `file_server/site.rs`, `greeter/reply.rs`, ...);
//! - mio outside `event_loop`, or clap, or an import of `cli`, outside `cli`;
//! - a file without its `//!` line;
//! - a file over 500 non-test lines, or a function over 60 lines.

pub mod cli;
pub mod client;
pub mod error;
pub mod event_loop;
pub mod file_server;
pub mod greeter;
pub mod http;
pub mod page;
pub mod tls;

#[cfg(test)]
mod fuzz_tests;

pub use error::{Error, Result};

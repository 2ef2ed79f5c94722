//! `talk`: the client of the greeting server, TCP and UDP. It prints every
//! line the server sends as it comes, and sends lines, either the MESSAGEs
//! given (one at a time, each waiting for its reply, then `exit` over TCP)
//! or lines from stdin (sent as they are read, like a tiny line-based
//! netcat).
//!
//! - [`pacing`]: what is sent next and which replies are owed (pure).
//! - [`session`]: [`TalkSession`] and [`TalkService`], the TCP client.
//! - [`udp`]: [`UdpTalk`], the UDP client.
//! - [`probe`]: `talk --service time|daytime`, one answer and how far off it is.
//! - [`terminal`]: the stdin reader thread and how server lines are printed.
//!
//! This file only names the parts; it holds no logic, so the parts never
//! import it. None of them touches a socket: the event loop does.

pub mod pacing;
pub mod probe;
pub mod session;
pub mod terminal;
pub mod udp;

pub use pacing::{Outgoing, TalkTimeouts};
pub use session::{TalkService, TalkSession};
pub use terminal::{spawn_line_reader, stdin_lines};
pub use udp::UdpTalk;

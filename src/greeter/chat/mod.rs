//! `chat`: a line-framed chat room on the event loop, TCP and UDP.
//!
//! - [`words`]: what a line means, names, sanitising (pure, table-tested).
//! - [`room`]: members, names and bounded queues (sans I/O, any member key).
//! - [`session`]: [`ChatSession`], one TCP member, and [`ChatService`].
//! - [`udp`]: [`UdpChat`], the room over datagrams.
//!
//! This file is a facade: the children never import it.

pub mod room;
pub mod session;
pub mod udp;
pub mod words;

pub use room::{Room, RoomLimits, Said};
pub use session::{ChatLimits, ChatService, ChatSession};
pub use udp::UdpChat;

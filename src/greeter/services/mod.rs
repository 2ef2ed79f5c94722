//! `greet --service`: inetd's classic small services beside the greeting,
//! TCP and UDP: `echo` (RFC 862), `daytime` (RFC 867), `time` (RFC 868) and
//! `clock`, the lesson's time server done safely.
//!
//! - [`clock`]: the pure words: timestamps parsed strictly, `ctime`, the
//!   RFC 867 line, the RFC 868 value.
//! - [`tcp`]: [`ServiceSession`] for echo, daytime and time (clock is a line
//!   service and runs in `GreetSession`).
//! - [`udp`]: [`UdpServices`], with the per-source rate limit.
//!
//! This file is a facade: the children never import it.

pub mod clock;
pub mod tcp;
pub mod udp;

pub use tcp::{ServiceSession, SmallService};
pub use udp::UdpServices;

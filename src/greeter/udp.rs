//! The UDP greeter: every datagram, empty ones included, is answered with
//! one datagram `Hello, <data>!` to its source. A datagram is one message,
//! so no framing is needed; one trailing LF or CRLF is dropped so that
//! `echo Tracy | nc -u` is greeted as `Tracy`. The reply carries no newline,
//! as in the lesson.

use std::net::SocketAddr;
use std::time::Instant;

use super::lines::trim_line_end;
use super::push_hello;
use crate::event_loop::{DatagramQueue, DatagramService, Flow};

/// The largest UDP payload over IPv4; a longer reply could not be sent.
const MAX_REPLY: usize = 65_507;

#[derive(Debug, Default)]
pub struct UdpGreeter {
    answered: u64,
}

impl UdpGreeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Datagrams answered so far.
    pub fn answered(&self) -> u64 {
        self.answered
    }
}

/// The reply to one datagram, cut to fit in one datagram: a 64 KiB message
/// plus `Hello, ` and `!` would not.
pub fn reply_to(data: &[u8]) -> Vec<u8> {
    let mut reply = Vec::with_capacity(data.len() + 8);
    push_hello(&mut reply, trim_line_end(data));
    if reply.len() > MAX_REPLY {
        let mut cut = MAX_REPLY - 1;
        // Cut on a character boundary: the reply is UTF-8 (lossy).
        while cut > 0 && (reply[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        reply.truncate(cut);
        reply.push(b'!');
    }
    reply
}

impl DatagramService for UdpGreeter {
    fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        out: &mut DatagramQueue,
        _now: Instant,
    ) {
        log::debug!("datagram of {} bytes from {from}", data.len());
        if out.push(reply_to(data), from) {
            self.answered += 1;
        }
    }

    fn tick(&mut self, _out: &mut DatagramQueue, _now: Instant, shutting_down: bool) -> Flow {
        if shutting_down {
            log::info!("answered {} datagram(s)", self.answered);
            return Flow::Stop;
        }
        Flow::Continue(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        for (input, want) in [
            (&b"Michael"[..], &b"Hello, Michael!"[..]),
            (b"Tracy\n", b"Hello, Tracy!"),
            (b"Sarah\r\n", b"Hello, Sarah!"),
            (b"", b"Hello, !"),
            (b"\xff", "Hello, \u{fffd}!".as_bytes()),
        ] {
            assert_eq!(reply_to(input), want, "{input:?}");
        }
    }

    #[test]
    fn the_largest_datagram_gets_a_reply_that_fits() {
        let reply = reply_to(&vec![b'a'; MAX_REPLY]);
        assert_eq!(reply.len(), MAX_REPLY);
        assert!(reply.starts_with(b"Hello, aaa") && reply.ends_with(b"a!"));
        // Multi-byte characters are not split.
        let reply = reply_to("\u{e9}".repeat(MAX_REPLY / 2).as_bytes());
        assert!(reply.len() <= MAX_REPLY);
        assert!(std::str::from_utf8(&reply).is_ok());
    }

    #[test]
    fn each_datagram_is_answered_to_its_source() {
        let mut g = UdpGreeter::new();
        let mut q = DatagramQueue::new(8);
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        g.on_datagram(b"x", a, &mut q, Instant::now());
        g.on_datagram(b"", a, &mut q, Instant::now());
        assert_eq!(g.answered(), 2);
        assert_eq!(g.tick(&mut q, Instant::now(), false), Flow::Continue(None));
        assert_eq!(g.tick(&mut q, Instant::now(), true), Flow::Stop);
    }
}

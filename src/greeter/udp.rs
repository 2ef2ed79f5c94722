//! The UDP greeter: every datagram, empty ones included, is answered with
//! one datagram `Hello, <data>!` to its source. A datagram is one message,
//! so no framing is needed; one trailing LF or CRLF is dropped so that
//! `echo Tracy | nc -u` is greeted as `Tracy`. The reply carries no newline,
//! as in the lesson.

use std::net::SocketAddr;
use std::time::Instant;

use super::lines::trim_line_end;
use super::reply::{push_hello, HELLO_OVERHEAD};
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

/// The reply to one datagram: the message as received, cut so that the
/// reply fits in one datagram (a 64 KiB message plus `Hello, ` and `!`
/// would not). Never longer than the datagram plus [`HELLO_OVERHEAD`].
pub fn reply_to(data: &[u8]) -> Vec<u8> {
    let msg = trim_line_end(data);
    let msg = &msg[..cut_point(msg, MAX_REPLY - HELLO_OVERHEAD)];
    let mut reply = Vec::new();
    push_hello(&mut reply, msg);
    reply
}

/// The longest prefix of `msg` of at most `max` bytes that does not end
/// inside a UTF-8 character, so a cut text message stays text. Only a
/// character actually split is backed out of (at most 3 bytes); bytes that
/// are not UTF-8 are cut where they fall.
fn cut_point(msg: &[u8], max: usize) -> usize {
    let is_continuation = |b: u8| b & 0xC0 == 0x80;
    if msg.len() <= max || !is_continuation(msg[max]) {
        return msg.len().min(max);
    }
    for back in 1..=max.min(3) {
        let lead = msg[max - back];
        if !is_continuation(lead) {
            let len = match lead {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if len > back { max - back } else { max };
        }
    }
    max
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
            (b"\xff\xfe\n", b"Hello, \xff\xfe!"),
        ] {
            assert_eq!(reply_to(input), want, "{input:?}");
        }
    }

    #[test]
    fn a_reply_never_exceeds_the_request_by_more_than_the_greeting() {
        // 21,833 bytes of 0xFF used to come back as 65,507 (U+FFFD each).
        for data in [
            vec![0xff; 21_833],
            vec![0x80; MAX_REPLY],
            vec![0xc3; MAX_REPLY + 1],
            b"\xe2\x82".repeat(30_000),
            vec![b'a'; 70_000],
        ] {
            let reply = reply_to(&data);
            assert!(reply.len() <= data.len() + HELLO_OVERHEAD, "{}", data.len());
            assert!(reply.len() <= MAX_REPLY, "{}", data.len());
            // Cut bytes that are not UTF-8 lose at most 3 bytes to the cut.
            let kept = reply.len().min(MAX_REPLY);
            assert!(kept + 3 >= data.len().min(MAX_REPLY), "{}", data.len());
        }
        assert_eq!(reply_to(&[0xff; 21_833]).len(), 21_833 + HELLO_OVERHEAD);
    }

    #[test]
    fn cut_points() {
        let e = "\u{e9}".as_bytes(); // 2 bytes
        let euro = "\u{20ac}".as_bytes(); // 3 bytes
        let smile = "\u{1f600}".as_bytes(); // 4 bytes
        for (msg, max, want) in [
            (b"abc".to_vec(), 5, 3),
            (b"abc".to_vec(), 2, 2),
            (b"abc".to_vec(), 0, 0),
            ([b"a", e].concat(), 2, 1),
            ([b"a", e].concat(), 3, 3),
            ([b"a", euro].concat(), 2, 1),
            ([b"a", euro].concat(), 3, 1),
            ([b"a", smile].concat(), 4, 1),
            (smile.to_vec(), 3, 0),
            // Stray continuation bytes are not characters: cut where they fall.
            (vec![0x80; 5], 3, 3),
            (b"\xff\x80\x80".to_vec(), 1, 1),
            // A complete character before the cut is kept.
            ([e, b"\x80"].concat(), 2, 2),
        ] {
            assert_eq!(cut_point(&msg, max), want, "{msg:?} at {max}");
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

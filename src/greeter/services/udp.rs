//! The small services over UDP ([`UdpServices`]): `echo` sends each
//! datagram back as it came (a reply is never larger than its request);
//! `daytime` and `time` answer one datagram per datagram, and `clock` one
//! line per datagram, at most [`PER_SOURCE`] replies per source address
//! per [`WINDOW`] ([`RateLimit`]): these are classic reflection vectors (a
//! spoofed source gets a reply it never asked for), so a flood aimed at a
//! victim through this server yields a trickle. The limiter's table is
//! bounded; when full, sources not yet in it get no reply until entries
//! expire. `greet` over UDP stays `UdpGreeter`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::clock::{clock_reply, daytime_line, time_bytes};
use crate::event_loop::{DatagramQueue, DatagramService, Flow};
use crate::greeter::config::ServiceName;
use crate::greeter::lines::trim_line_end;

/// Replies one source address may get per [`WINDOW`].
pub const PER_SOURCE: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(1);
/// Source addresses remembered at most.
const MAX_SOURCES: usize = 16_384;

/// A fixed-window counter per source address.
#[derive(Debug, Default)]
pub struct RateLimit {
    seen: HashMap<SocketAddr, (Instant, u32)>,
}

impl RateLimit {
    /// Whether `from` may get a reply now (and counts it).
    pub fn allow(&mut self, from: SocketAddr, now: Instant) -> bool {
        if self.seen.len() >= MAX_SOURCES && !self.seen.contains_key(&from) {
            self.seen
                .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if self.seen.len() >= MAX_SOURCES {
                return false;
            }
        }
        let entry = self.seen.entry(from).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= PER_SOURCE
    }
}

#[derive(Debug)]
pub struct UdpServices {
    name: ServiceName,
    zone: TimeZone,
    limit: RateLimit,
    answered: u64,
}

impl UdpServices {
    pub fn new(name: ServiceName, zone: TimeZone) -> Self {
        UdpServices {
            name,
            zone,
            limit: RateLimit::default(),
            answered: 0,
        }
    }

    /// The reply to one datagram, before rate limiting.
    fn reply(&self, data: &[u8]) -> Vec<u8> {
        let now = Timestamp::now();
        match self.name {
            ServiceName::Daytime => daytime_line(now, &self.zone),
            ServiceName::Time => time_bytes(now).to_vec(),
            ServiceName::Clock => clock_reply(trim_line_end(data), &self.zone),
            ServiceName::Echo | ServiceName::Greet => data.to_vec(),
        }
    }
}

impl DatagramService for UdpServices {
    fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        out: &mut DatagramQueue,
        now: Instant,
    ) {
        let limited = self.name != ServiceName::Echo;
        if limited && !self.limit.allow(from, now) {
            log::debug!("rate limit: no reply to {from}");
            return;
        }
        if out.push(self.reply(data), from) {
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
    fn each_source_gets_a_few_replies_per_window() {
        let mut limit = RateLimit::default();
        let (a, b): (SocketAddr, SocketAddr) = (
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        let t = Instant::now();
        let allowed = (0..20).filter(|_| limit.allow(a, t)).count();
        assert_eq!(allowed, PER_SOURCE as usize);
        assert!(limit.allow(b, t), "another source is not affected");
        assert!(!limit.allow(a, t + WINDOW / 2));
        assert!(limit.allow(a, t + WINDOW));
    }

    #[test]
    fn echo_replies_are_the_request_and_others_are_small() {
        let mut q = DatagramQueue::new(64);
        let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut echo = UdpServices::new(ServiceName::Echo, TimeZone::UTC);
        for data in [&b""[..], b"x", &[0xff; 1000]] {
            assert_eq!(echo.reply(data), data);
        }
        for _ in 0..20 {
            echo.on_datagram(b"x", from, &mut q, Instant::now());
        }
        assert_eq!(echo.answered, 20, "echo is not amplification: no limit");
        let mut time = UdpServices::new(ServiceName::Time, TimeZone::UTC);
        for _ in 0..20 {
            time.on_datagram(b"", from, &mut q, Instant::now());
        }
        assert_eq!(time.answered, u64::from(PER_SOURCE));
        let clock = UdpServices::new(ServiceName::Clock, TimeZone::UTC);
        assert_eq!(clock.reply(b"0\n"), b"Thu Jan  1 00:00:00 1970\n");
        assert!(clock.reply(&[b'9'; 60_000]).len() < 100);
    }
}

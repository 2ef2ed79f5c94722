//! `--limit-rate`: a token bucket per transfer, kept as the time by which
//! the bytes taken so far are paid for. The session takes what it read,
//! and while that time is ahead of the clock it asks the loop not to read
//! (`Step::Wait { read: false, deadline }`): the socket's read interest
//! pauses, no thread sleeps. Pure arithmetic on instants, tested here.
//!
//! The bucket holds at most [`BURST`] of credit: a transfer that stalled
//! (a slow server, a late wake-up) may catch up by that much, not more,
//! and a new one starts empty, so the rate holds from the first byte.

use std::time::{Duration, Instant};

/// The most credit saved while idle.
pub const BURST: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Bytes per second.
    rate: u64,
    /// When everything taken so far is paid for; `None` before the first take.
    paid_until: Option<Instant>,
}

impl Bucket {
    pub fn new(rate: u64) -> Bucket {
        Bucket {
            rate: rate.max(1),
            paid_until: None,
        }
    }

    /// Takes `n` bytes at `now`.
    pub fn take(&mut self, n: u64, now: Instant) {
        if n == 0 {
            return;
        }
        let floor = now.checked_sub(BURST).unwrap_or(now);
        let base = self.paid_until.map_or(now, |t| t.max(floor));
        let cost = Duration::from_secs_f64(n as f64 / self.rate as f64);
        self.paid_until = Some(base + cost);
    }

    /// Until when reading must wait; `None`: read now.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paid_until.filter(|t| *t > now)
    }

    /// How many bytes to buffer at most between takes: a twentieth of a
    /// second's worth (at least 1 KiB), so one read never jumps far ahead.
    pub fn input_cap(&self) -> usize {
        (self.rate / 20).clamp(1024, 256 * 1024) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_paid_for_at_the_rate_with_little_credit() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let ms = |n: u64| Duration::from_millis(n);
        let mut b = Bucket::new(1000);
        assert_eq!(b.paused_until(t0), None);
        // (take at +ms, bytes, paused until +ms)
        let cases: [(u64, u64, Option<u64>); 6] = [
            // The first bytes are not free.
            (0, 500, Some(500)),
            // Reading early does not add credit: the schedule only grows.
            (100, 500, Some(1000)),
            (1000, 0, None),
            // Idle for 2 s: at most BURST (100 ms) of credit is kept.
            (3000, 200, Some(3100)),
            (3100, 1000, Some(4100)),
            // Woken late by 30 ms: the lateness is credit, not lost.
            (4130, 1000, Some(5100)),
        ];
        for (at, n, until) in cases {
            b.take(n, t0 + ms(at));
            assert_eq!(
                b.paused_until(t0 + ms(at)),
                until.map(|u| t0 + ms(u)),
                "+{at}ms"
            );
        }
        assert_eq!(Bucket::new(500 * 1024).input_cap(), 25_600);
        assert_eq!(Bucket::new(100).input_cap(), 1024);
        assert_eq!(Bucket::new(u64::MAX).input_cap(), 256 * 1024);
    }
}

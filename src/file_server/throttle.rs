//! Slowing down password guessing: every wrong `--auth` credential from an
//! address counts a failure; after [`FREE`] of them its 401s are answered
//! only after a delay that doubles with each further failure, from
//! [`FIRST_DELAY`] up to [`MAX_DELAY`]. The session holds the answer until
//! the deadline on the event loop (nothing sleeps). Failures decay: one is
//! forgotten per [`DECAY`] without a new one, and a good login checked
//! by a slow hash (not one the loop remembers) clears them.
//! The table is shared by all loops (a connection's loop is chosen by the
//! kernel, a guesser's is not) behind a mutex taken only on a failure or a
//! fresh slow verification, and holds at most [`CAPACITY`] addresses: when
//! full, decayed entries go, and if none has, the whole table is reset.
//! The first failure past [`FREE`] of a burst is logged at warn level.
//! Keyed by any address type (`Host`, where all Unix-socket peers are one
//! address). A leaf: it uses nothing else in the crate.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures answered at once.
pub const FREE: u32 = 3;
/// The delay for the first failure past [`FREE`].
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// Time without a failure after which one failure is forgotten.
pub const DECAY: Duration = Duration::from_secs(30);
/// Addresses remembered.
pub const CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

impl Entry {
    /// The failures still counted at `now`.
    fn current(&self, now: Instant) -> u32 {
        let idle = now.saturating_duration_since(self.last);
        let forgotten = (idle.as_secs_f64() / DECAY.as_secs_f64()) as u32;
        self.failures.saturating_sub(forgotten)
    }
}

/// Failed logins per address.
#[derive(Debug)]
pub struct Throttle<K = IpAddr> {
    table: Mutex<HashMap<K, Entry>>,
}

impl<K> Default for Throttle<K> {
    fn default() -> Self {
        Throttle {
            table: Mutex::new(HashMap::new()),
        }
    }
}

/// The delay for the `n`th failure in a row.
pub fn delay_for(n: u32) -> Duration {
    if n <= FREE {
        return Duration::ZERO;
    }
    let doublings = (n - FREE - 1).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

impl<K: Copy + Eq + Hash + Display> Throttle<K> {
    /// Counts a failure from `ip`; returns how long to hold its 401.
    pub fn failed(&self, ip: K, now: Instant) -> Duration {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= CAPACITY && !table.contains_key(&ip) {
            table.retain(|_, e| e.current(now) > 0);
            if table.len() >= CAPACITY {
                log::warn!("failed-login table full ({CAPACITY} addresses): reset");
                table.clear();
            }
        }
        let entry = table.entry(ip).or_insert(Entry {
            failures: 0,
            last: now,
        });
        entry.failures = entry.current(now) + 1;
        entry.last = now;
        let n = entry.failures;
        let delay = delay_for(n);
        if n == FREE + 1 {
            log::warn!(
                "{ip}: {n} failed logins; its 401s now wait {} ms, doubling per failure",
                delay.as_millis()
            );
        }
        delay
    }

    /// A good login from `ip`: its failures are forgotten.
    pub fn succeeded(&self, ip: K) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let ms = |n| delay_for(n).as_millis();
        let got: Vec<u128> = (1..=10).map(ms).collect();
        assert_eq!(got, [0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(delay_for(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn failures_grow_per_address_and_decay() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        let delays: Vec<_> = (0..5).map(|_| t.failed(a, t0)).collect();
        assert_eq!(delays[3], FIRST_DELAY);
        assert_eq!(delays[4], FIRST_DELAY * 2);
        assert_eq!(t.failed(b, t0), Duration::ZERO, "per address");
        // Two decay periods later, two failures are forgotten: 5 - 2 + 1.
        assert_eq!(t.failed(a, t0 + DECAY * 2), delay_for(4));
        // Long idle: back to free.
        assert_eq!(t.failed(a, t0 + DECAY * 100), Duration::ZERO);
        for _ in 0..5 {
            t.failed(b, t0);
        }
        t.succeeded(b);
        assert_eq!(t.failed(b, t0), Duration::ZERO, "a good login clears");
    }

    #[test]
    fn unix_socket_peers_count_as_one_address() {
        use crate::event_loop::{Host, Peer};
        let t: Throttle<Host> = Throttle::default();
        let now = Instant::now();
        // Each Unix client is `Peer::Unix`: their failures add up.
        let delays: Vec<_> = (0..4).map(|_| t.failed(Peer::Unix.host(), now)).collect();
        assert_eq!(delays[3], FIRST_DELAY);
        let ip = Host::Ip("192.0.2.1".parse().unwrap());
        assert_eq!(t.failed(ip, now), Duration::ZERO, "TCP peers apart");
    }

    #[test]
    fn the_table_is_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..CAPACITY as u32 + 10 {
            t.failed(IpAddr::V4(i.into()), now);
        }
        assert!(t.table.lock().unwrap().len() <= CAPACITY);
    }
}

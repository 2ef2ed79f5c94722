//! Shared test helpers, the one copy every test module uses: run the real
//! binary with a deadline, launch `wirecat serve` / `greet` in the
//! background (killed on drop) and find where it listens, talk raw HTTP
//! over sockets with timeouts, wait for a condition with a deadline, and
//! report a test that cannot run here as skipped.
//! Nothing here sleeps to synchronise: servers announce their address on
//! stdout and tests wait for that line; other waits poll a condition until
//! a deadline.
#![allow(dead_code)]

use std::io::Write;
use std::net::{Ipv6Addr, TcpListener};
use std::time::{Duration, Instant};

mod net;
mod process;
mod transport;

pub use net::*;
pub use process::*;
pub use transport::*;

/// Certificates made at test time; the same file serves the library's
/// unit tests (see its module doc).
#[path = "../../src/tls/test_pki.rs"]
mod test_pki;
pub use test_pki::Pki;

/// The CA the integration tests' HTTPS servers are signed by.
pub fn test_ca() -> Pki {
    Pki::new("wirecat https test CA")
}

/// Upper bound for any single blocking step in a test.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `done` until it holds, failing with `what` after [`TIMEOUT`].
/// For conditions nothing announces (a file growing): the short pause
/// between checks only spaces the polls, it decides nothing.
pub fn wait_until<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = done() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} (waited {TIMEOUT:?})");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `len` bytes, the same every run for a `seed`, different between seeds,
/// and not trivially compressible (xorshift).
pub fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

// ---- Skipping -----------------------------------------------------------

/// Set (to anything) to make a skipped test fail instead, on a machine
/// where every test is expected to run.
pub const NO_SKIP_ENV: &str = "WIRECAT_TEST_NO_SKIP";

/// Reports the running test (or a part of it) as skipped; the caller then
/// returns or leaves the part out.
///
/// A plain `eprintln!` would be swallowed: libtest captures the print
/// macros of a test that passes. This writes to the process's stderr
/// itself, which libtest does not capture, so `SKIPPED <test>: <reason>`
/// shows in every `cargo test` run, next to the test's `ok`.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if std::env::var_os(NO_SKIP_ENV).is_some() {
        panic!("{test} cannot run here ({reason}) and {NO_SKIP_ENV} is set");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Whether this machine has an IPv6 loopback (`::1`); some containers do not.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// For a test that needs `::1`: true when it is there, otherwise the test
/// is reported as skipped (see [`skip`]) and should return.
pub fn needs_ipv6() -> bool {
    let there = ipv6_loopback();
    if !there {
        skip("no IPv6 loopback (::1) on this machine");
    }
    there
}

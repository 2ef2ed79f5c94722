//! `--retry`: which failures are worth another attempt, and how long to
//! wait before it. Pure decisions over an error, a status and a header
//! value, tested with tables; the service ([`super::service`]) keeps the
//! job waiting on the loop's timer and says so on stderr.
//!
//! Transient (retried): a refused or reset connection, a connect or idle
//! timeout, a response cut short (the connection closed or failed in the
//! middle of a head or a body), a name lookup that failed for now
//! (`EAI_AGAIN`: the resolver did not answer), status 408, 429, 500, 502,
//! 503, 504. Everything else is permanent: other 4xx, TLS and certificate
//! errors, a name that does not exist, usage and local file errors,
//! `--max-time`. (curl retries every lookup failure; wget none unless
//! asked. A name that does not exist will not exist a second later.)
//!
//! The wait: 1 s before the first retry, doubling, with +-25% jitter (so
//! many clients cut off together do not come back together), capped by
//! `--retry-max-delay`; a `Retry-After` (RFC 9110 section 10.2.3) replaces
//! it, also capped, without jitter (the server asked for that time). The
//! doubling counts attempts that brought no body bytes in a row: an
//! attempt that did (a long download cut by a middlebox every so often)
//! is retried at once, and the backoff starts again from 1 s. `--retry N`
//! still bounds the attempts.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::error::Error;

/// What `--retry` and `--retry-max-delay` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts after the first (0: none, the default, as curl's).
    pub retries: u32,
    /// No wait is longer than this, Retry-After included.
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            retries: 0,
            max_delay: Duration::from_secs(60),
        }
    }
}

/// A failure worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No connection: refused, unreachable, reset while connecting.
    Connect,
    /// The resolver could not answer for now (`EAI_AGAIN`).
    Lookup,
    /// A connect or idle timeout.
    Timeout,
    /// The connection closed or failed before the response was whole.
    Cut,
    /// 408, 429, 500, 502, 503 or 504.
    Status(u16),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Connect => f.write_str("no connection"),
            Fault::Lookup => f.write_str("name lookup failed for now"),
            Fault::Timeout => f.write_str("timed out"),
            Fault::Cut => f.write_str("response cut short"),
            Fault::Status(s) => write!(f, "status {s}"),
        }
    }
}

/// Statuses that say "not now" rather than "no" (RFC 9110 sections
/// 15.5.9, 15.6.1, 15.6.3, 15.6.4, 15.6.5; RFC 6585 section 4).
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The transient fault behind `error`, or `None` for a permanent one.
/// `cut`: the connection ended (closed, reset) before the response was
/// whole, which a protocol error alone does not tell from a malformed one.
pub fn fault(error: &Error, cut: bool) -> Option<Fault> {
    match error {
        Error::Connect(_) => Some(Fault::Connect),
        Error::Resolve { source, .. } if is_temporary_lookup(source) => Some(Fault::Lookup),
        Error::Timeout(m) if !m.contains("--max-time") => Some(Fault::Timeout),
        Error::Protocol(_) if cut => Some(Fault::Cut),
        Error::HttpStatus { status, .. } if is_transient_status(*status) => {
            Some(Fault::Status(*status))
        }
        _ => None,
    }
}

/// Whether a failed lookup was `EAI_AGAIN`. The standard library reports
/// getaddrinfo's errors only as text, gai_strerror's: in the C locale
/// (Rust programs never call setlocale) glibc says "Temporary failure in
/// name resolution", musl "Try again".
fn is_temporary_lookup(source: &std::io::Error) -> bool {
    let text = source.to_string();
    text.contains("Temporary failure in name resolution") || text.ends_with(": Try again")
}

/// `Retry-After` as a wait from `now`: delta-seconds or an HTTP-date
/// (RFC 9110 section 10.2.3); a date in the past is no wait, a value that
/// is neither is ignored.
pub fn retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is "a very long time".
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff before retry number `retry` (1 for the first): 1 s
/// doubling, scaled by `1 + jitter / 4` with `jitter` in -1..=1.
pub fn backoff(retry: u32, jitter: f64) -> Duration {
    let base = 2f64.powi(retry.saturating_sub(1).min(30) as i32);
    Duration::from_secs_f64(base * (1.0 + jitter.clamp(-1.0, 1.0) / 4.0))
}

/// Where a failed download stands, as the retry decision needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempts {
    /// Retries made so far.
    pub retries: u32,
    /// Failed attempts in a row, this one included, that brought no body
    /// bytes; 0 when this one brought some.
    pub stalls: u32,
}

/// Whether to try again after a failure with `fault`, and after how
/// long: `None` gives up.
pub fn decide(
    config: &RetryConfig,
    attempts: Attempts,
    fault: Option<Fault>,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    fault?;
    if attempts.retries >= config.retries {
        return None;
    }
    let wait = match (retry_after, attempts.stalls) {
        (Some(after), _) => after,
        (None, 0) => Duration::ZERO,
        (None, stalls) => backoff(stalls, jitter),
    };
    Some(wait.min(config.max_delay))
}

/// A number in -1..=1 that differs between calls and runs, for jitter;
/// not for anything that needs real randomness.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_transient_or_permanent() {
        let status = |status| Error::HttpStatus {
            status,
            reason: String::new(),
            url: "http://127.0.0.1/".into(),
        };
        let io = std::io::Error::other("x");
        // (error, cut, fault)
        let cases = [
            (
                Error::Connect("refused".into()),
                false,
                Some(Fault::Connect),
            ),
            (
                Error::Timeout("connect timed out".into()),
                false,
                Some(Fault::Timeout),
            ),
            (
                Error::Timeout("no data for 30s".into()),
                false,
                Some(Fault::Timeout),
            ),
            (
                Error::Timeout("not finished within --max-time 5s".into()),
                false,
                None,
            ),
            (
                Error::Protocol("connection closed after 3 of 9 bytes".into()),
                true,
                Some(Fault::Cut),
            ),
            (Error::Protocol("malformed head".into()), false, None),
            (status(408), false, Some(Fault::Status(408))),
            (status(429), false, Some(Fault::Status(429))),
            (status(500), false, Some(Fault::Status(500))),
            (status(502), false, Some(Fault::Status(502))),
            (status(503), false, Some(Fault::Status(503))),
            (status(504), false, Some(Fault::Status(504))),
            (status(404), false, None),
            (status(403), false, None),
            (status(501), false, None),
            (Error::Tls("certificate expired".into()), true, None),
            (
                Error::Resolve {
                    host: "x".into(),
                    source: std::io::Error::other("no such name"),
                },
                false,
                None,
            ),
            (
                Error::Resolve {
                    host: "x".into(),
                    source: std::io::Error::other(
                        "failed to lookup address information: Name or service not known",
                    ),
                },
                false,
                None,
            ),
            (
                Error::Resolve {
                    host: "x".into(),
                    source: std::io::Error::other(
                        "failed to lookup address information: \
                         Temporary failure in name resolution",
                    ),
                },
                false,
                Some(Fault::Lookup),
            ),
            (
                Error::Resolve {
                    host: "x".into(),
                    source: std::io::Error::other(
                        "failed to lookup address information: Try again",
                    ),
                },
                false,
                Some(Fault::Lookup),
            ),
            (Error::Usage("bad".into()), false, None),
            (Error::file("out", io), false, None),
            (Error::Interrupted, true, None),
        ];
        for (error, cut, want) in cases {
            assert_eq!(fault(&error, cut), want, "{error:?}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let cases: [(&str, Option<u64>); 9] = [
            ("2", Some(2)),
            (" 120 ", Some(120)),
            ("0", Some(0)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("Sun, 06 Nov 1994 08:49:47 GMT", Some(10)),
            ("Sun, 06 Nov 1994 08:49:00 GMT", Some(0)),
            ("Sunday, 06-Nov-94 08:50:37 GMT", Some(60)),
            ("-1", None),
            ("soon", None),
        ];
        for (value, want) in cases {
            let got = retry_after(value.as_bytes(), now).map(|d| d.as_secs());
            assert_eq!(got, want, "{value}");
        }
    }

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        let config = RetryConfig {
            retries: 5,
            max_delay: Duration::from_secs(6),
        };
        let s = Duration::from_secs_f64;
        let status = Some(Fault::Status(503));
        let at = |retries, stalls| Attempts { retries, stalls };
        // (attempts, fault, Retry-After, jitter, wait)
        let cases = [
            (at(0, 1), status, None, 0.0, Some(s(1.0))),
            (at(1, 2), status, None, 0.0, Some(s(2.0))),
            (at(2, 3), Some(Fault::Cut), None, 0.0, Some(s(4.0))),
            (at(3, 4), Some(Fault::Cut), None, 0.0, Some(s(6.0))),
            (at(0, 1), status, None, 1.0, Some(s(1.25))),
            (at(1, 2), status, None, -1.0, Some(s(1.5))),
            (at(0, 1), status, Some(s(2.0)), 1.0, Some(s(2.0))),
            (at(0, 1), status, Some(s(600.0)), 0.0, Some(s(6.0))),
            (at(4, 5), Some(Fault::Timeout), None, 0.0, Some(s(6.0))),
            // Body bytes came: at once, and the doubling starts again.
            (at(3, 0), Some(Fault::Cut), None, 1.0, Some(s(0.0))),
            (at(4, 1), Some(Fault::Cut), None, 0.0, Some(s(1.0))),
            (at(3, 0), status, Some(s(2.0)), 0.0, Some(s(2.0))),
            (at(5, 0), Some(Fault::Cut), None, 0.0, None),
            (at(5, 1), status, None, 0.0, None),
            (at(0, 1), None, Some(s(1.0)), 0.0, None),
        ];
        for (attempts, fault, after, jitter, want) in cases {
            assert_eq!(
                decide(&config, attempts, fault, after, jitter),
                want,
                "{attempts:?} {fault:?} {after:?} {jitter}"
            );
        }
        assert_eq!(
            decide(&RetryConfig::default(), at(0, 1), status, None, 0.0),
            None
        );
        assert_eq!(backoff(40, 0.0), s(2f64.powi(30)));
        for _ in 0..100 {
            assert!((-1.0..=1.0).contains(&jitter()));
        }
    }
}

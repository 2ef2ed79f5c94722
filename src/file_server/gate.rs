//! Where `--auth` meets a request: [`check`] decides whether a parsed
//! request is answered, answered with 401, or has its 401 held until a
//! deadline (an address that keeps failing, see [`super::throttle`]);
//! [`challenge`] builds that 401 with its `WWW-Authenticate`. The session
//! only keeps the verdict and the held request.

use std::time::Instant;

use super::auth::{self, Verdict};
use super::handle::{self, Response};
use super::page;
use super::site::Site;
use crate::event_loop::Host;
use crate::http;
use crate::http::request::RequestHead;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Answer it.
    Pass,
    /// Answer 401 now.
    Deny,
    /// Answer 401 at this instant, not before.
    Hold(Instant),
}

/// Checks `req`'s credentials, counting a wrong one against `peer`.
pub fn check(site: &Site, req: &RequestHead, peer: Host, now: Instant) -> Gate {
    if site.auth.is_empty() {
        return Gate::Pass;
    }
    // A CORS preflight never carries credentials (Fetch standard, CORS
    // protocol): with --cors it is answered, or no cross-origin request
    // with a login could ever follow it.
    if site.cors && super::cors::is_preflight(&req.method, &req.headers) {
        return Gate::Pass;
    }
    let header = http::find(&req.headers, "authorization");
    match auth::check(&site.auth, header) {
        Verdict::Allowed => Gate::Pass,
        Verdict::Verified => {
            site.throttle.succeeded(peer);
            Gate::Pass
        }
        Verdict::Missing => Gate::Deny,
        Verdict::Wrong => {
            let delay = site.throttle.failed(peer, now);
            if delay.is_zero() {
                return Gate::Deny;
            }
            log::debug!("{peer}: 401 held {} ms", delay.as_millis());
            Gate::Hold(now + delay)
        }
    }
}

/// The 401 (RFC 9110 section 15.5.2) in the format `req` accepts.
pub fn challenge(site: &Site, req: &RequestHead, date: &[u8]) -> Response {
    let fmt = page::negotiate(&req.headers);
    let mut resp = handle::error(site, fmt, 401, date);
    resp.head.text("WWW-Authenticate", auth::CHALLENGE);
    resp
}

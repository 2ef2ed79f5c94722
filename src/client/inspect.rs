//! What each hop of a download looked like, kept for `--json`,
//! `--json-meta` and `-w`: the URL, the peer, the response head as
//! received, the hop's timings and its TLS facts. Recorded by the session
//! when a final or redirect head arrives, closed when the hop ends. Plain
//! data; rendering it is [`super::report`]'s.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::headers::Timing;
use crate::http::response::ResponseHead;
use crate::http::{Header, Version};
use crate::tls::TlsInfo;

/// One request and the head that answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct HopRecord {
    pub url: Url,
    /// The address connected to (a proxy's, through one); `None` when unknown.
    pub remote: Option<SocketAddr>,
    pub version: Version,
    pub status: u16,
    pub reason: Vec<u8>,
    /// As received: names in their case, in order, repeats kept.
    pub headers: Vec<Header>,
    /// Each from the hop's start; `total` is set when the hop ends.
    pub timing: Timing,
    /// The connection's TLS facts: the same for every hop it carried.
    pub tls: Option<TlsInfo>,
    /// The hop ran on a connection kept alive from an earlier download, so
    /// it had no lookup, connect or handshake of its own.
    pub reused: bool,
    /// The hop has ended: its timings and TLS facts are final.
    pub closed: bool,
}

impl HopRecord {
    pub fn new(url: &Url, remote: Option<SocketAddr>, head: &ResponseHead) -> HopRecord {
        HopRecord {
            url: url.clone(),
            remote,
            version: head.version,
            status: head.status,
            reason: head.reason.clone(),
            headers: head.headers.clone(),
            timing: Timing::default(),
            tls: None,
            reused: false,
            closed: false,
        }
    }

    /// Ends the hop (once): `timing` as measured, `total` its length,
    /// `tls` the connection's facts, `reused` whether it was kept alive
    /// from an earlier download.
    pub fn close(&mut self, timing: &Timing, total: Duration, tls: Option<TlsInfo>, reused: bool) {
        if self.closed {
            return;
        }
        self.timing = Timing {
            total: Some(total),
            ..*timing
        };
        self.tls = tls;
        self.reused = reused;
        self.closed = true;
    }
}

//! How one exchange ended, as the session hands it to the service: an
//! [`Ending`] or an error. Messages are built without the URL inside the
//! session and its layers; [`at`] adds it once, where a connection's result
//! leaves them, so every message names its URL the same way.

use url::Url;

use crate::error::Error;

/// How an exchange ended well.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// The body (if any) is complete and verified against its framing.
    Complete,
    /// A redirect to follow; the job's `head` holds it.
    Redirect,
    /// A kept-alive connection turned out closed before any response
    /// byte came (the server timed it out while idle): send the request
    /// again on a new connection.
    Retry,
}

/// `error` as the user reads it: the peer's and the network's failures
/// (protocol, timeout, connect, TLS) say which URL they concern; local
/// ones (files, stdout, `--fail`'s status, Ctrl-C) carry their own context.
pub fn at(url: &Url, error: Error) -> Error {
    match error {
        Error::Protocol(m) => Error::Protocol(format!("{url}: {m}")),
        Error::Timeout(m) => Error::Timeout(format!("{url}: {m}")),
        Error::Connect(m) => Error::Connect(format!("{url}: {m}")),
        Error::Tls(m) => Error::Tls(format!("{url}: {m}")),
        e => e,
    }
}

//! How one exchange ended, as the session hands it to the service: an
//! [`Ending`] or an error. Messages are built without the URL inside the
//! session and its layers; [`at`] adds it once, where a connection's result
//! leaves them, so every message names its URL the same way.

use std::io;

use url::Url;

use super::job::Job;
use crate::error::Error;
use crate::event_loop::Ended;
use crate::http::ParseError;

/// The largest response head we read (interim heads each count alone).
pub const MAX_HEAD: usize = 64 * 1024;

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

pub fn head_error(e: ParseError) -> Error {
    Error::Protocol(match e {
        ParseError::HeadTooLarge => {
            format!("response head larger than {} KiB", MAX_HEAD / 1024)
        }
        ParseError::TooManyHeaders => format!(
            "response head with more than {} header fields",
            crate::http::MAX_HEADERS
        ),
        e => format!("{e} in the response"),
    })
}

/// Why a connection that ended before its exchange did failed it.
pub fn unfinished(job: &Job, progress: String, how: Ended) -> Error {
    match how {
        Ended::ConnectFailed(e) if e.kind() == io::ErrorKind::TimedOut => {
            log::debug!("{e}");
            let config = &job.config;
            let limit = config
                .max_time
                .map_or(config.connect_timeout, |m| m.min(config.connect_timeout));
            Error::Timeout(format!("connect timed out after {}s", limit.as_secs_f64()))
        }
        Ended::ConnectFailed(e) => Error::Connect(match &job.target.via {
            Some(proxy) => format!("could not connect to proxy {}: {e}", proxy.url),
            None => format!("could not connect: {e}"),
        }),
        Ended::Failed(e) => Error::Protocol(format!("connection failed: {e} ({})", progress)),
        Ended::Closed => Error::Protocol(format!("connection closed ({})", progress)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_peer_and_network_failures_name_their_url_and_local_ones_keep_theirs() {
        let url = Url::parse("http://127.0.0.1:8080/a?b").unwrap();
        let io = || std::io::Error::other("disk full");
        // (error, what the user reads)
        let cases = [
            (
                Error::Protocol("connection closed".into()),
                "http://127.0.0.1:8080/a?b: connection closed",
            ),
            (
                Error::Timeout("no data".into()),
                "http://127.0.0.1:8080/a?b: no data",
            ),
            (
                Error::Connect("could not connect: refused".into()),
                "http://127.0.0.1:8080/a?b: could not connect: refused",
            ),
            (
                Error::Tls("bad certificate".into()),
                "http://127.0.0.1:8080/a?b: bad certificate",
            ),
            (
                Error::file(PathBuf::from("out"), io()),
                &Error::file(PathBuf::from("out"), io()).to_string(),
            ),
            (Error::Interrupted, &Error::Interrupted.to_string()),
            (
                Error::HttpStatus {
                    status: 404,
                    reason: "Not Found".into(),
                    url: url.to_string(),
                },
                &Error::HttpStatus {
                    status: 404,
                    reason: "Not Found".into(),
                    url: url.to_string(),
                }
                .to_string(),
            ),
        ];
        for (error, want) in cases {
            let code = error.exit_code();
            let got = at(&url, error);
            assert_eq!(got.to_string(), want);
            assert_eq!(got.exit_code(), code, "{want}");
        }
    }
}

//! A pure HTTP/1.1 codec over byte slices (RFC 9110, RFC 9112): request and
//! response heads, body framing, chunked decoding, content codings
//! (`content_coding`) and Content-Disposition file names (`disposition`).
//! No I/O and no knowledge of the rest of the crate; every parser is a push
//! parser that answers "complete, used N bytes", "need more" or an error.

pub mod accept_encoding;
pub mod body;
pub mod chunked;
pub mod content_coding;
pub mod disposition;
pub mod multipart;
pub mod request;
pub mod response;

use std::fmt;

/// Header fields a head may carry before it is refused.
pub const MAX_HEADERS: usize = 100;

/// Why bytes are not valid HTTP. Small and `Copy` so callers can match on it
/// and map it to a status code or an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The head is larger than the caller's cap.
    HeadTooLarge,
    /// The request line alone is larger than the caller's cap (414).
    UriTooLong,
    /// More header fields than `MAX_HEADERS`.
    TooManyHeaders,
    /// Malformed start line or header field.
    BadSyntax,
    /// A version other than HTTP/1.0 or HTTP/1.1.
    BadVersion,
    /// A Content-Length that is not a number, or several that differ.
    BadContentLength,
    /// Transfer-Encoding and Content-Length together (RFC 9112 section 6.3, rule 3).
    LengthWithTransferEncoding,
    /// A transfer coding other than chunked as the final coding.
    UnsupportedTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 message, which has no transfer
    /// codings: the framing is faulty (RFC 9112 section 6.1).
    TransferEncodingInHttp10,
    /// A chunk size line that is not hex, or too large.
    BadChunkSize,
    /// Missing CRLF after chunk data, or a malformed trailer.
    BadChunk,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::HeadTooLarge => "head too large",
            ParseError::UriTooLong => "request line too long",
            ParseError::TooManyHeaders => "too many header fields",
            ParseError::BadSyntax => "malformed head",
            ParseError::BadVersion => "unsupported HTTP version",
            ParseError::BadContentLength => "invalid or conflicting Content-Length",
            ParseError::LengthWithTransferEncoding => {
                "both Transfer-Encoding and Content-Length present"
            }
            ParseError::UnsupportedTransferCoding => "unsupported transfer coding",
            ParseError::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 message",
            ParseError::BadChunkSize => "invalid chunk size",
            ParseError::BadChunk => "malformed chunked body",
        })
    }
}

impl std::error::Error for ParseError {}

/// One header field. Names are tokens (ASCII, case kept as received);
/// values are bytes, since servers send Latin-1 and worse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value as text, lossily, for messages and logs.
    pub fn value_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
}

/// The first value of `name`, if any.
pub fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.is(name))
        .map(|h| h.value.as_slice())
}

/// Every comma-separated element of every `name` field, trimmed, in order
/// (RFC 9110 section 5.3: repeated fields combine as a list).
pub fn list<'a>(headers: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |h| h.is(name))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(trim)
        .filter(|v| !v.is_empty())
}

/// Does the list header `name` contain `token` (case-insensitive)?
pub fn has_token(headers: &[Header], name: &str, token: &str) -> bool {
    list(headers, name).any(|v| v.eq_ignore_ascii_case(token.as_bytes()))
}

/// token characters (RFC 9110 section 5.6.2).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Strips optional whitespace (SP and HTAB, RFC 9110 section 5.6.3).
pub fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The protocol version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// Does a message of this version with these headers leave the connection
/// open afterwards? (RFC 9112 section 9.3.)
pub fn keeps_alive(version: Version, headers: &[Header]) -> bool {
    if has_token(headers, "connection", "close") {
        return false;
    }
    match version {
        Version::Http11 => true,
        Version::Http10 => has_token(headers, "connection", "keep-alive"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_splits_and_trims_across_fields() {
        let hs = vec![
            Header::new("Connection", " keep-alive , Upgrade"),
            Header::new("connection", "close"),
        ];
        let all: Vec<&[u8]> = list(&hs, "CONNECTION").collect();
        assert_eq!(all, vec![&b"keep-alive"[..], b"Upgrade", b"close"]);
        assert!(!keeps_alive(Version::Http11, &hs));
    }

    #[test]
    fn keep_alive_defaults_by_version() {
        assert!(keeps_alive(Version::Http11, &[]));
        assert!(!keeps_alive(Version::Http10, &[]));
        let ka = [Header::new("Connection", "Keep-Alive")];
        assert!(keeps_alive(Version::Http10, &ka));
    }
}

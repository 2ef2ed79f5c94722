//! Response heads (RFC 9112 section 4): an incremental parse that keeps
//! header names in their original case and order, and values as bytes.

use super::{Header, ParseError, Version, MAX_HEADERS};

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: Version,
    pub status: u16,
    /// The reason phrase as sent (may be empty, may not be UTF-8).
    pub reason: Vec<u8>,
    pub headers: Vec<Header>,
}

impl ResponseHead {
    /// 1xx heads are interim: the final response follows (RFC 9110 section 15.2).
    /// 101 is final: the connection changes protocol after it.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        super::find(&self.headers, name)
    }
}

/// Parses one response head from the front of `buf`: `Ok(Some((head, n)))`
/// when the first `n` bytes are a complete head, `Ok(None)` when more are
/// needed, an error when the head is malformed or would exceed `max_head`.
///
/// ```
/// use wirecat::http::response::try_parse_response;
///
/// let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
/// assert_eq!(try_parse_response(&wire[..10], 65536), Ok(None));
/// let (head, used) = try_parse_response(wire, 65536).unwrap().unwrap();
/// assert_eq!((head.status, used), (200, wire.len() - 2));
/// ```
pub fn try_parse_response(
    buf: &[u8],
    max_head: usize,
) -> Result<Option<(ResponseHead, usize)>, ParseError> {
    // Only the first `max_head` bytes are looked at, so what lies beyond the
    // cap cannot change the answer: it is the same however the bytes arrive.
    let window = &buf[..buf.len().min(max_head)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    // Old servers still fold lines and put spaces before colons; read them
    // rather than fail (RFC 9112 section 5.2 lets a user agent unfold).
    let status = httparse::ParserConfig::default()
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .parse_response(&mut res, window)
        .map_err(|e| match e {
            httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
            // An SSH banner or TLS alert is garbage, not a version we lack.
            httparse::Error::Version if window.starts_with(b"HTTP/") => ParseError::BadVersion,
            _ => ParseError::BadSyntax,
        })?;
    match status {
        httparse::Status::Partial if buf.len() >= max_head => Err(ParseError::HeadTooLarge),
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(n) => {
            let head = ResponseHead {
                version: Version::from_minor(res.version.unwrap_or(1)),
                status: res.code.unwrap_or(0),
                reason: res.reason.unwrap_or("").as_bytes().to_vec(),
                headers: res
                    .headers
                    .iter()
                    .map(|h| Header::new(h.name, unfold(h.value)))
                    .collect(),
            };
            Ok(Some((head, n)))
        }
    }
}

/// Replaces each obs-fold (CRLF followed by whitespace) with one space.
fn unfold(value: &[u8]) -> Vec<u8> {
    if !value.contains(&b'\n') {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\r' | b'\n' => {
                while i < value.len() && matches!(value[i], b'\r' | b'\n' | b' ' | b'\t') {
                    i += 1;
                }
                out.push(b' ');
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Odd-CASE: \xff\xfe\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn every_split_point_parses_the_same() {
        let head_len = HEAD.len() - 5;
        for end in 0..head_len {
            assert_eq!(
                try_parse_response(&HEAD[..end], 65536),
                Ok(None),
                "prefix {end}"
            );
        }
        let (head, n) = try_parse_response(HEAD, 65536).unwrap().unwrap();
        assert_eq!(n, head_len);
        assert_eq!(head.status, 200);
        assert_eq!(head.reason, b"OK");
        assert_eq!(head.headers[1].name, "X-Odd-CASE");
        assert_eq!(head.headers[1].value, b"\xff\xfe");
        assert_eq!(head.header("content-length"), Some(&b"5"[..]));
    }

    #[test]
    fn obs_fold_is_unfolded() {
        let raw = b"HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\r\n";
        let (head, _) = try_parse_response(raw, 65536).unwrap().unwrap();
        assert_eq!(head.headers[0].value, b"one two");
    }

    #[test]
    fn interim_heads() {
        let (h, _) = try_parse_response(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert!(h.is_interim());
        let (h, _) = try_parse_response(b"HTTP/1.1 101 Switching\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert!(!h.is_interim());
    }

    /// Found by the fuzz tests: an error past the cap made the answer
    /// depend on how the bytes were split.
    #[test]
    fn what_lies_past_the_cap_does_not_change_the_answer() {
        let input = b"HTTP/1.1 200 OK\r\nServer: example\r\nBad Line\r\n\r\n";
        for end in 30..=input.len() {
            assert_eq!(
                try_parse_response(&input[..end], 30),
                Err(ParseError::HeadTooLarge),
                "{end}"
            );
        }
    }

    #[test]
    fn garbage_and_caps() {
        assert_eq!(
            try_parse_response(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", 1000),
            Err(ParseError::BadSyntax)
        );
        assert_eq!(
            try_parse_response(b"HTTP/1.1 2000 OK\r\n\r\n", 1000),
            Err(ParseError::BadSyntax)
        );
        assert_eq!(
            try_parse_response(b"HTTP/3.0 200 OK\r\n\r\n", 1000),
            Err(ParseError::BadVersion)
        );
        let endless = [b"HTTP/1.1 200 OK\r\n".as_slice(), &b"X: y\r\n".repeat(20)].concat();
        assert_eq!(
            try_parse_response(&endless, 64),
            Err(ParseError::HeadTooLarge)
        );
        let many = [
            b"HTTP/1.1 200 OK\r\n".as_slice(),
            &b"X: y\r\n".repeat(MAX_HEADERS + 1),
            b"\r\n",
        ]
        .concat();
        assert_eq!(
            try_parse_response(&many, 1 << 20),
            Err(ParseError::TooManyHeaders)
        );
    }
}

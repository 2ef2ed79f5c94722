//! Request heads (RFC 9112 section 3): an incremental parse over a buffer
//! that may hold a partial head, several pipelined requests, or garbage.

use super::{Header, ParseError, Version, MAX_HEADERS};

/// A parsed request head, owning its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request-target as sent: origin form (`/a?b`), absolute form
    /// (`http://host/a`), authority form or `*`.
    pub target: String,
    pub version: Version,
    pub headers: Vec<Header>,
}

/// Parses one request head from the front of `buf`.
///
/// `Ok(Some((head, n)))`: the head used the first `n` bytes (a body or the
/// next request may follow). `Ok(None)`: need more bytes. A head that would
/// exceed `max_head` is an error as soon as that is certain, so a client
/// cannot make us buffer without bound.
pub fn try_parse_request(
    buf: &[u8],
    max_head: usize,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    // Only the first `max_head` bytes are looked at, so what lies beyond the
    // cap cannot change the answer: it is the same however the bytes arrive.
    let window = &buf[..buf.len().min(max_head)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = match req.parse(window) {
        Ok(status) => status,
        Err(httparse::Error::Version) => match version_error(window) {
            // RFC 9110 section 2.5: a later minor version of a major one we
            // speak is processed as the highest minor we speak, HTTP/1.1.
            // The digit is patched in a copy (same length, same offsets).
            // Copied once the head is whole (or at the cap), not on every
            // read while it arrives, which would be quadratic.
            Some(ParseError::BadVersion) => match later_minor(window) {
                Some((at, _)) if buf.len() >= max_head => return as_http_11(window, at, max_head),
                Some((at, line_end)) if head_ends(&window[line_end..]) => {
                    return as_http_11(window, at, max_head)
                }
                Some(_) => return Ok(None),
                None => return Err(ParseError::BadVersion),
            },
            Some(e) => return Err(e),
            // A version not yet complete: decide when its line is.
            None => httparse::Status::Partial,
        },
        Err(e) => return Err(map_error(e)),
    };
    match status {
        httparse::Status::Partial if buf.len() >= max_head => Err(too_large(window)),
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(n) => {
            let head = RequestHead {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                version: Version::from_minor(req.version.unwrap_or(1)),
                headers: req
                    .headers
                    .iter()
                    .map(|h| Header::new(h.name, h.value))
                    .collect(),
            };
            Ok(Some((head, n)))
        }
    }
}

/// 414 when even the request line does not fit, 431 otherwise (RFC 9112
/// section 3, RFC 6585 section 5).
fn too_large(window: &[u8]) -> ParseError {
    if window.contains(&b'\n') {
        ParseError::HeadTooLarge
    } else {
        ParseError::UriTooLong
    }
}

/// httparse calls any unexpected byte where the version belongs a version
/// error. RFC 9112 section 2.3: `HTTP-version = HTTP-name "/" DIGIT "."
/// DIGIT` with `HTTP-name = %s"HTTP"`, case-sensitive. A well-formed version
/// we do not speak is `BadVersion` (505); anything else (`http/1.1`,
/// `HTTP/1.1x`, `HTTP/11`) is a malformed request line (400). `None` while
/// the version is an unfinished prefix of a well-formed one, so the answer
/// does not depend on where the bytes were split.
fn version_error(buf: &[u8]) -> Option<ParseError> {
    // httparse skips empty lines before the request line (RFC 9112 section 2.2).
    let start = buf.iter().position(|&b| !matches!(b, b'\r' | b'\n'))?;
    let rest = &buf[start..];
    let line_end = rest.iter().position(|&b| b == b'\n');
    let line = &rest[..line_end.unwrap_or(rest.len())];
    // httparse has accepted `method SP request-target SP` before the version.
    let Some(version) = line.splitn(3, |&b| b == b' ').nth(2) else {
        return Some(ParseError::BadSyntax);
    };
    let pattern = |i: usize, b: u8| match i {
        0..=4 => b == b"HTTP/"[i],
        5 | 7 => b.is_ascii_digit(),
        6 => b == b'.',
        8 => b == b'\r',
        _ => false,
    };
    let fits = version.iter().enumerate().all(|(i, &b)| pattern(i, b));
    match line_end {
        None if fits => None,
        Some(_) if fits && matches!(version.len(), 8 | 9) => Some(ParseError::BadVersion),
        _ => Some(ParseError::BadSyntax),
    }
}

/// `window` parsed with its `HTTP/1.D` (minor digit at `at`) read as 1.1.
fn as_http_11(
    window: &[u8],
    at: usize,
    max_head: usize,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    let mut as_11 = window.to_vec();
    as_11[at] = b'1';
    try_parse_request(&as_11, max_head)
}

/// Whether the head ends in `rest` (from the request line's LF on): an
/// empty line follows some line end.
fn head_ends(rest: &[u8]) -> bool {
    rest.windows(2).any(|w| w == b"\n\n") || rest.windows(3).any(|w| w == b"\n\r\n")
}

/// Where the minor digit of a complete, well-formed `HTTP/1.D` version
/// with D from 2 to 9 sits in `buf` (the caller has seen `BadVersion`),
/// and where the request line's LF is.
fn later_minor(buf: &[u8]) -> Option<(usize, usize)> {
    let start = buf.iter().position(|&b| !matches!(b, b'\r' | b'\n'))?;
    let line_end = start + buf[start..].iter().position(|&b| b == b'\n')?;
    let line = &buf[start..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version_at = start + line.iter().rposition(|&b| b == b' ')? + 1;
    match &buf[version_at..start + line.len()] {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d] if (b'2'..=b'9').contains(d) => {
            Some((version_at + 7, line_end))
        }
        _ => None,
    }
}

fn map_error(e: httparse::Error) -> ParseError {
    match e {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::Version => ParseError::BadVersion,
        _ => ParseError::BadSyntax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET /a%20b?x=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n";

    #[test]
    fn every_prefix_needs_more() {
        for end in 0..GET.len() {
            assert_eq!(
                try_parse_request(&GET[..end], 8192),
                Ok(None),
                "prefix {end}"
            );
        }
        let (head, n) = try_parse_request(GET, 8192).unwrap().unwrap();
        assert_eq!(n, GET.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/a%20b?x=1");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.headers[0], Header::new("Host", "example.test"));
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let mut buf = GET.to_vec();
        buf.extend_from_slice(b"HEAD / HTTP/1.0\r\n\r\nGET /partial");
        let (_, n1) = try_parse_request(&buf, 8192).unwrap().unwrap();
        let (h2, n2) = try_parse_request(&buf[n1..], 8192).unwrap().unwrap();
        assert_eq!(h2.method, "HEAD");
        assert_eq!(h2.version, Version::Http10);
        assert_eq!(try_parse_request(&buf[n1 + n2..], 8192), Ok(None));
    }

    #[test]
    fn bad_requests() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"GET / HTTP/2.0\r\n\r\n", ParseError::BadVersion),
            (b"GET / HTTP/2.0\n\n", ParseError::BadVersion),
            (b"\r\nGET / HTTP/3.0\r\n\r\n", ParseError::BadVersion),
            // RFC 9112 section 2.3: HTTP-name is case-sensitive, one digit each side.
            (b"GET / http/1.1\r\n\r\n", ParseError::BadSyntax),
            (b"GET / Http/1.1\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/1.1x\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/11.1\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.0x\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.0 \r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.0\rX\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/\r\n\r\n", ParseError::BadSyntax),
            (
                b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                ParseError::BadSyntax,
            ),
            (b"G\0T / HTTP/1.1\r\n\r\n", ParseError::BadSyntax),
            (b"GET /\0 HTTP/1.1\r\n\r\n", ParseError::BadSyntax),
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                ParseError::BadSyntax,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                try_parse_request(input, 8192),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Every prefix of a bad request line is "need more" or the very error
    /// of the whole, so a split can never turn a 400 into a 505 or back.
    #[test]
    fn version_errors_do_not_depend_on_the_split() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", ParseError::BadVersion),
            (b"GET / HTTP/0.9\r\n\r\n", ParseError::BadVersion),
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.0x\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.01\r\n\r\n", ParseError::BadSyntax),
            (b"GET / HTTP/2.0\r\r\n\r\n", ParseError::BadSyntax),
        ];
        for (input, want) in cases {
            assert_eq!(try_parse_request(input, 8192), Err(*want));
            for end in 0..input.len() {
                let got = try_parse_request(&input[..end], 8192);
                assert!(
                    got == Ok(None) || got == Err(*want),
                    "{:?} prefix {end}: {got:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// RFC 9110 section 2.5: HTTP/1.2 to HTTP/1.9 are read as HTTP/1.1,
    /// whatever the split; the head's length is the one sent.
    #[test]
    fn a_later_minor_version_is_read_as_http_1_1() {
        for input in [
            &b"GET /x HTTP/1.2\r\nHost: a\r\n\r\n"[..],
            b"\r\nGET /x HTTP/1.9\r\nHost: a\r\n\r\n",
            b"GET /x HTTP/1.5\nHost: a\n\n",
        ] {
            let (head, n) = try_parse_request(input, 8192).unwrap().unwrap();
            assert_eq!(
                (head.version, head.target.as_str(), n),
                (Version::Http11, "/x", input.len())
            );
            assert_eq!(head.headers, [Header::new("Host", "a")]);
            for end in 0..input.len() {
                assert_eq!(try_parse_request(&input[..end], 8192), Ok(None), "{end}");
            }
        }
        // Errors, and the cap, answer as they would for HTTP/1.1.
        for (v12, cap) in [
            (&b"GET / HTTP/1.2\r\nBad Header\r\n\r\n"[..], 8192),
            (
                b"GET / HTTP/1.2\r\nHost: example.test\r\nBad Line\r\n\r\n",
                30,
            ),
            (b"GET / HTTP/1.2\r\nHost: example.test\r\nX: y\r\n\r\n", 30),
        ] {
            let mut v11 = v12.to_vec();
            v11[13] = b'1';
            let want = try_parse_request(&v11, cap);
            assert!(want.is_err(), "{want:?}");
            assert_eq!(try_parse_request(v12, cap), want);
            for end in 0..v12.len() {
                let got = try_parse_request(&v12[..end], cap);
                assert!(got == Ok(None) || got == want, "{end}: {got:?}");
            }
        }
    }

    /// Found by the fuzz tests: an error past the cap made the answer
    /// depend on the split (431 if the cap was reached first, 400 if the
    /// bad byte arrived in the same read).
    #[test]
    fn what_lies_past_the_cap_does_not_change_the_answer() {
        let input = b"GET / HTTP/1.1\r\nHost: example.test\r\nBad Line\r\n\r\n";
        for end in 30..=input.len() {
            assert_eq!(
                try_parse_request(&input[..end], 30),
                Err(ParseError::HeadTooLarge),
                "{end}"
            );
        }
    }

    #[test]
    fn size_caps_pick_414_or_431() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        assert_eq!(
            try_parse_request(long_line.as_bytes(), 8192),
            Err(ParseError::UriTooLong)
        );
        let mut big_head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..50 {
            big_head.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(200)).as_bytes());
        }
        assert_eq!(
            try_parse_request(&big_head, 8192),
            Err(ParseError::HeadTooLarge)
        );
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            try_parse_request(&many, 65536),
            Err(ParseError::TooManyHeaders)
        );
    }
}

//! Message body framing (RFC 9112 section 6.3) and a push decoder for
//! length-delimited, chunked (section 7.1) and close-delimited bodies.

use std::ops::Range;

use super::{list, Header, ParseError};

/// Longest chunk-size line (with extensions) or trailer field we accept.
const MAX_LINE: usize = 4096;
/// Total trailer section size we accept.
const MAX_TRAILERS: usize = 16 * 1024;

/// How the end of a body is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the peer closes (responses only).
    Close,
}

/// The framing of a response to a request with `method`, per RFC 9112
/// section 6.3.
pub fn response_framing(
    method: &str,
    status: u16,
    headers: &[Header],
) -> Result<Framing, ParseError> {
    // Rule 1: HEAD, 1xx, 204 and 304 never have a body, whatever the headers say.
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::Empty);
    }
    // Rule 2: a successful CONNECT turns the connection into a tunnel.
    if method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status) {
        return Ok(Framing::Empty);
    }
    match transfer_coding(headers)? {
        // Rule 4: chunked last means chunked; any other final coding means
        // the body runs until the connection closes.
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Ok(Framing::Close),
        // Rules 5 to 7.
        None => Ok(content_length(headers)?.map_or(Framing::Close, Framing::Length)),
    }
}

/// The framing of a request body, per RFC 9112 section 6.3: chunked,
/// Content-Length, or none; a request is never close-delimited.
pub fn request_framing(headers: &[Header]) -> Result<Framing, ParseError> {
    match transfer_coding(headers)? {
        Some(true) => Ok(Framing::Chunked),
        // Rule 4 for requests: the length cannot be determined; 400 (or 501).
        Some(false) => Err(ParseError::UnsupportedTransferCoding),
        None => Ok(content_length(headers)?.map_or(Framing::Empty, Framing::Length)),
    }
}

/// `None` without Transfer-Encoding; otherwise whether the codings are
/// exactly "chunked" (true) or something we cannot decode (false; the
/// caller decides whether that is an error). Transfer-Encoding with
/// Content-Length is refused outright (rule 3): it is the classic request
/// smuggling vector, and a recipient that guesses risks truncation.
fn transfer_coding(headers: &[Header]) -> Result<Option<bool>, ParseError> {
    if !headers.iter().any(|h| h.is("transfer-encoding")) {
        return Ok(None);
    }
    if headers.iter().any(|h| h.is("content-length")) {
        return Err(ParseError::LengthWithTransferEncoding);
    }
    let codings: Vec<&[u8]> = list(headers, "transfer-encoding").collect();
    match codings.as_slice() {
        [only] if only.eq_ignore_ascii_case(b"chunked") => Ok(Some(true)),
        [.., last] if last.eq_ignore_ascii_case(b"chunked") => {
            Err(ParseError::UnsupportedTransferCoding)
        }
        [] => Err(ParseError::UnsupportedTransferCoding),
        _ => Ok(Some(false)),
    }
}

/// Content-Length, where identical repeated values (`5, 5` or two fields)
/// are accepted and anything else is an error (RFC 9110 section 8.6).
pub fn content_length(headers: &[Header]) -> Result<Option<u64>, ParseError> {
    let mut found: Option<u64> = None;
    let mut any = false;
    for v in list(headers, "content-length") {
        any = true;
        if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::BadContentLength);
        }
        let n: u64 = std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ParseError::BadContentLength)?;
        match found {
            Some(prev) if prev != n => return Err(ParseError::BadContentLength),
            _ => found = Some(n),
        }
    }
    let present = headers.iter().any(|h| h.is("content-length"));
    if present && !any {
        return Err(ParseError::BadContentLength); // "Content-Length:" with no value
    }
    Ok(found)
}

/// The result of one `decode` call: `consumed` input bytes may be dropped,
/// and `body` (a range of the input) holds decoded body bytes, possibly empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub consumed: usize,
    pub body: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Length(u64),
    Close,
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Done,
}

/// The body was cut short by the peer closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    pub received: u64,
    /// The declared length, when there was one.
    pub expected: Option<u64>,
}

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.expected {
            Some(n) => write!(f, "connection closed after {} of {n} bytes", self.received),
            None => write!(
                f,
                "connection closed after {} bytes, before the last chunk",
                self.received
            ),
        }
    }
}

/// A push decoder for one body. Feed it what is buffered; it says how much
/// it used and which part of that is body. Trailers of a chunked body are
/// kept for the caller to show.
///
/// ```
/// use wirecat::http::body::{BodyDecoder, Framing};
///
/// let mut dec = BodyDecoder::new(Framing::Chunked);
/// let mut input: &[u8] = b"3\r\nabc\r\n0\r\n\r\n";
/// let mut body = Vec::new();
/// while !dec.is_done() {
///     let d = dec.decode(input).unwrap();
///     body.extend_from_slice(&input[d.body]);
///     input = &input[d.consumed..];
/// }
/// assert_eq!(body, b"abc");
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    received: u64,
    expected: Option<u64>,
    trailers: Vec<Header>,
    trailer_bytes: usize,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> Self {
        let (state, expected) = match framing {
            Framing::Empty => (State::Done, Some(0)),
            Framing::Length(0) => (State::Done, Some(0)),
            Framing::Length(n) => (State::Length(n), Some(n)),
            Framing::Chunked => (State::ChunkSize, None),
            Framing::Close => (State::Close, None),
        };
        BodyDecoder {
            state,
            received: 0,
            expected,
            trailers: Vec::new(),
            trailer_bytes: 0,
        }
    }

    /// Has the whole body (and any trailers) been seen?
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes decoded so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The declared length, if the framing has one.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    pub fn trailers(&self) -> &[Header] {
        &self.trailers
    }

    /// Decodes from the front of `input`. Call again while `consumed > 0`;
    /// `consumed == 0` means more input is needed (or the body is done).
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, ParseError> {
        let nothing = Decoded {
            consumed: 0,
            body: 0..0,
        };
        match self.state {
            State::Done => Ok(nothing),
            State::Close => {
                self.received += input.len() as u64;
                Ok(Decoded {
                    consumed: input.len(),
                    body: 0..input.len(),
                })
            }
            State::Length(left) | State::ChunkData(left) => {
                let n = left.min(input.len() as u64) as usize;
                self.received += n as u64;
                let left = left - n as u64;
                self.state = match (&self.state, left) {
                    (State::Length(_), 0) => State::Done,
                    (State::Length(_), _) => State::Length(left),
                    (_, 0) => State::ChunkDataEnd,
                    _ => State::ChunkData(left),
                };
                Ok(Decoded {
                    consumed: n,
                    body: 0..n,
                })
            }
            State::ChunkSize => {
                let Some((line, used)) = take_line(input)? else {
                    return Ok(nothing);
                };
                let size = parse_chunk_size(line)?;
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::ChunkData(size)
                };
                Ok(Decoded {
                    consumed: used,
                    body: 0..0,
                })
            }
            State::ChunkDataEnd => {
                let Some((line, used)) = take_line(input)? else {
                    return Ok(nothing);
                };
                if !line.is_empty() {
                    return Err(ParseError::BadChunk);
                }
                self.state = State::ChunkSize;
                Ok(Decoded {
                    consumed: used,
                    body: 0..0,
                })
            }
            State::Trailers => {
                let Some((line, used)) = take_line(input)? else {
                    return Ok(nothing);
                };
                if line.is_empty() {
                    self.state = State::Done;
                } else {
                    self.trailer_bytes += used;
                    if self.trailer_bytes > MAX_TRAILERS {
                        return Err(ParseError::BadChunk);
                    }
                    self.trailers.push(parse_trailer(line)?);
                }
                Ok(Decoded {
                    consumed: used,
                    body: 0..0,
                })
            }
        }
    }

    /// The peer closed the connection: fine for a close-delimited body (it
    /// is now complete), a truncation for anything unfinished.
    pub fn finish_at_eof(&mut self) -> Result<(), Truncated> {
        match self.state {
            State::Done => Ok(()),
            State::Close => {
                self.state = State::Done;
                self.expected = Some(self.received);
                Ok(())
            }
            _ => Err(Truncated {
                received: self.received,
                expected: self.expected,
            }),
        }
    }
}

/// A line ending in LF (CR before it optional, as RFC 9112 section 2.2
/// allows recipients to accept), without its line ending.
fn take_line(input: &[u8]) -> Result<Option<(&[u8], usize)>, ParseError> {
    match input.iter().take(MAX_LINE).position(|&b| b == b'\n') {
        Some(i) => {
            let line = &input[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((line, i + 1)))
        }
        None if input.len() >= MAX_LINE => Err(ParseError::BadChunkSize),
        None => Ok(None),
    }
}

/// chunk-size [ chunk-ext ]: hex digits, then optional whitespace and
/// `;ext` parts, which we ignore (RFC 9112 section 7.1.1).
fn parse_chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ParseError::BadChunkSize);
    }
    let rest = super::trim(&line[digits..]);
    if !rest.is_empty() && rest[0] != b';' {
        return Err(ParseError::BadChunkSize);
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16).expect("checked hex") as u64;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(d))
            .ok_or(ParseError::BadChunkSize)?;
    }
    Ok(size)
}

fn parse_trailer(line: &[u8]) -> Result<Header, ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::BadChunk)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadChunk);
    }
    let name = String::from_utf8(name.to_vec()).map_err(|_| ParseError::BadChunk)?;
    Ok(Header::new(name, super::trim(&line[colon + 1..]).to_vec()))
}

/// token characters (RFC 9110 section 5.6.2).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Header {
        Header::new(name, value)
    }

    /// Feeds `input` in pieces of `step` bytes, as a loop with a buffer does.
    fn decode_all(
        framing: Framing,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, BodyDecoder, usize), ParseError> {
        let mut dec = BodyDecoder::new(framing);
        let mut buf = Vec::new();
        let mut body = Vec::new();
        let mut fed = 0;
        let mut used_total = 0;
        while !dec.is_done() {
            if fed < input.len() {
                let end = (fed + step).min(input.len());
                buf.extend_from_slice(&input[fed..end]);
                fed = end;
            } else if buf.is_empty() || fed == input.len() {
                // No more input: try once more, then stop.
                let d = dec.decode(&buf)?;
                if d.consumed == 0 {
                    break;
                }
                body.extend_from_slice(&buf[d.body.clone()]);
                buf.drain(..d.consumed);
                used_total += d.consumed;
                continue;
            }
            loop {
                let d = dec.decode(&buf)?;
                body.extend_from_slice(&buf[d.body.clone()]);
                buf.drain(..d.consumed);
                used_total += d.consumed;
                if d.consumed == 0 || dec.is_done() {
                    break;
                }
            }
        }
        Ok((body, dec, used_total))
    }

    #[test]
    fn framing_rules_of_rfc9112_section_6_3() {
        let cl = [h("Content-Length", "5")];
        let te = [h("Transfer-Encoding", "chunked")];
        type Case = (&'static str, u16, Vec<Header>, Result<Framing, ParseError>);
        let cases: Vec<Case> = vec![
            ("HEAD", 200, cl.to_vec(), Ok(Framing::Empty)),
            ("GET", 100, vec![], Ok(Framing::Empty)),
            ("GET", 204, cl.to_vec(), Ok(Framing::Empty)),
            ("GET", 304, te.to_vec(), Ok(Framing::Empty)),
            ("CONNECT", 200, vec![], Ok(Framing::Empty)),
            ("GET", 200, te.to_vec(), Ok(Framing::Chunked)),
            (
                "GET",
                200,
                vec![h("Transfer-Encoding", "gzip")],
                Ok(Framing::Close),
            ),
            (
                "GET",
                200,
                vec![h("Transfer-Encoding", "chunked"), h("Content-Length", "5")],
                Err(ParseError::LengthWithTransferEncoding),
            ),
            ("GET", 200, cl.to_vec(), Ok(Framing::Length(5))),
            (
                "GET",
                200,
                vec![h("Content-Length", "5, 5")],
                Ok(Framing::Length(5)),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "5"), h("content-length", "5")],
                Ok(Framing::Length(5)),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "5"), h("Content-Length", "6")],
                Err(ParseError::BadContentLength),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "-1")],
                Err(ParseError::BadContentLength),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "+5")],
                Err(ParseError::BadContentLength),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "99999999999999999999")],
                Err(ParseError::BadContentLength),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "")],
                Err(ParseError::BadContentLength),
            ),
            (
                "GET",
                200,
                vec![h("Content-Length", "0x10")],
                Err(ParseError::BadContentLength),
            ),
            ("GET", 200, vec![], Ok(Framing::Close)),
        ];
        for (method, status, headers, want) in cases {
            assert_eq!(
                response_framing(method, status, &headers),
                want,
                "{method} {status} {headers:?}"
            );
        }
    }

    #[test]
    fn request_framing_never_reads_to_close() {
        assert_eq!(request_framing(&[]), Ok(Framing::Empty));
        assert_eq!(
            request_framing(&[h("Content-Length", "3")]),
            Ok(Framing::Length(3))
        );
        assert_eq!(
            request_framing(&[h("Transfer-Encoding", "chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            request_framing(&[h("Transfer-Encoding", "gzip")]),
            Err(ParseError::UnsupportedTransferCoding)
        );
        assert_eq!(
            request_framing(&[h("Transfer-Encoding", "gzip, chunked")]),
            Err(ParseError::UnsupportedTransferCoding)
        );
    }

    const CHUNKED: &[u8] =
        b"5;name=value\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nX-Sum: 42\r\n\r\n";

    #[test]
    fn chunked_decodes_at_every_split_and_step() {
        let want = b"hello abcdefghijklmnopqrstuvwxy";
        for step in 1..=CHUNKED.len() {
            let (body, dec, used) = decode_all(Framing::Chunked, CHUNKED, step).unwrap();
            assert_eq!(body, want, "step {step}");
            assert!(dec.is_done());
            assert_eq!(used, CHUNKED.len());
            assert_eq!(dec.trailers(), &[h("X-Sum", "42")]);
        }
    }

    #[test]
    fn chunked_every_prefix_needs_more() {
        for end in 0..CHUNKED.len() {
            let (_, dec, _) = decode_all(Framing::Chunked, &CHUNKED[..end], 7).unwrap();
            assert!(!dec.is_done(), "prefix of {end} bytes finished the body");
            let mut dec = dec;
            assert!(dec.finish_at_eof().is_err());
        }
    }

    #[test]
    fn chunked_leaves_the_next_message_alone() {
        let mut input = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let (body, _, used) = decode_all(Framing::Chunked, &input, input.len()).unwrap();
        assert_eq!(body, b"abc");
        assert_eq!(used, 13);
    }

    #[test]
    fn chunked_errors() {
        let bad: &[&[u8]] = &[
            b"zz\r\n",
            b"\r\n",
            b"5 x\r\nhello\r\n",
            b"10000000000000000\r\n",
            b"3\r\nabcX\r\n",
            b"0\r\nno colon here\r\n\r\n",
            b"0\r\n: empty name\r\n\r\n",
        ];
        for input in bad {
            let res = decode_all(Framing::Chunked, input, input.len());
            assert!(
                res.is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(input)
            );
        }
        let long = vec![b'1'; MAX_LINE + 10];
        assert_eq!(
            decode_all(Framing::Chunked, &long, long.len()).unwrap_err(),
            ParseError::BadChunkSize
        );
    }

    #[test]
    fn chunk_size_overflow_is_rejected() {
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(
            parse_chunk_size(b"10000000000000000"),
            Err(ParseError::BadChunkSize)
        );
        assert_eq!(parse_chunk_size(b"a ; ext=1"), Ok(10));
    }

    #[test]
    fn length_body_stops_at_length_and_reports_truncation() {
        let (body, dec, used) = decode_all(Framing::Length(5), b"helloEXTRA", 3).unwrap();
        assert_eq!(body, b"hello");
        assert!(dec.is_done());
        assert_eq!(used, 5);

        let mut dec = BodyDecoder::new(Framing::Length(1024));
        let d = dec.decode(&[0u8; 512]).unwrap();
        assert_eq!(d.consumed, 512);
        let err = dec.finish_at_eof().unwrap_err();
        assert_eq!(err.to_string(), "connection closed after 512 of 1024 bytes");
    }

    #[test]
    fn close_delimited_ends_at_eof() {
        let mut dec = BodyDecoder::new(Framing::Close);
        assert_eq!(dec.decode(b"abc").unwrap().body, 0..3);
        assert!(!dec.is_done());
        dec.finish_at_eof().unwrap();
        assert!(dec.is_done());
        assert_eq!(dec.received(), 3);
    }

    #[test]
    fn empty_bodies_are_done_at_once() {
        assert!(BodyDecoder::new(Framing::Empty).is_done());
        assert!(BodyDecoder::new(Framing::Length(0)).is_done());
    }
}

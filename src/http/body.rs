//! Message body framing (RFC 9112 section 6.3) and a push decoder for
//! length-delimited, chunked (section 7.1) and close-delimited bodies.
//!
//! The chunked decoder has two tempers. Request bodies are read strictly
//! ([`BodyDecoder::strict`]): every line ends in CRLF and chunk extensions
//! follow the grammar of section 7.1.1, because a server that guesses where
//! a body ends differently from a proxy in front of it lets one request
//! smuggle another. Response bodies are read leniently ([`BodyDecoder::new`]),
//! as curl does: a bare LF ends a line and extensions are skipped, since a
//! user agent gains nothing by refusing a body an old server framed sloppily.

use std::ops::Range;

use super::chunked::{
    parse_chunk_size, parse_chunk_size_strictly, parse_trailer, take_line, Temper,
};
use super::{list, Header, ParseError, Version};

/// Token characters; here for callers that found them here first.
pub use super::is_tchar;

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
        Some(Coded::Chunked) => Ok(Framing::Chunked),
        Some(Coded::Other) => Ok(Framing::Close),
        // Rules 5 to 7.
        None => Ok(content_length(headers)?.map_or(Framing::Close, Framing::Length)),
    }
}

/// The framing of a request body, per RFC 9112 section 6.3: chunked,
/// Content-Length, or none; a request is never close-delimited.
pub fn request_framing(version: Version, headers: &[Header]) -> Result<Framing, ParseError> {
    // RFC 9112 section 6.1: HTTP/1.0 has no transfer codings, so a 1.0
    // request carrying Transfer-Encoding has faulty framing (an HTTP/1.0
    // proxy in front of us would frame it by Content-Length or not at all).
    if version == Version::Http10 && headers.iter().any(|h| h.is("transfer-encoding")) {
        return Err(ParseError::TransferEncodingInHttp10);
    }
    match transfer_coding(headers)? {
        Some(Coded::Chunked) => Ok(Framing::Chunked),
        // Rule 4 for requests: the length cannot be determined; 400 (or 501).
        Some(Coded::Other) => Err(ParseError::UnsupportedTransferCoding),
        None => Ok(content_length(headers)?.map_or(Framing::Empty, Framing::Length)),
    }
}

/// What Transfer-Encoding says about the body's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coded {
    /// Exactly "chunked": the chunks frame it.
    Chunked,
    /// A coding we cannot decode last: only the connection's end frames it
    /// (the caller decides whether that is an error).
    Other,
}

/// `None` without Transfer-Encoding; otherwise how the codings frame the
/// body. Transfer-Encoding with Content-Length is refused outright (rule
/// 3): it is the classic request smuggling vector, and a recipient that
/// guesses risks truncation.
fn transfer_coding(headers: &[Header]) -> Result<Option<Coded>, ParseError> {
    if !headers.iter().any(|h| h.is("transfer-encoding")) {
        return Ok(None);
    }
    if headers.iter().any(|h| h.is("content-length")) {
        return Err(ParseError::LengthWithTransferEncoding);
    }
    let codings: Vec<&[u8]> = list(headers, "transfer-encoding").collect();
    match codings.as_slice() {
        [only] if only.eq_ignore_ascii_case(b"chunked") => Ok(Some(Coded::Chunked)),
        [.., last] if last.eq_ignore_ascii_case(b"chunked") => {
            Err(ParseError::UnsupportedTransferCoding)
        }
        [] => Err(ParseError::UnsupportedTransferCoding),
        _ => Ok(Some(Coded::Other)),
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
/// `body` (a range of the input) holds decoded body bytes, possibly empty,
/// and `next` says whether to call again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub consumed: usize,
    pub body: Range<usize>,
    pub next: Next,
}

/// What to do after a `decode` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Call again with the input after `consumed`: more may decode now.
    Decode,
    /// All the input that can be used was used: call again when more
    /// bytes have arrived.
    NeedMore,
    /// The body, and any trailers, ended; what follows the consumed bytes
    /// belongs to the next message.
    Done,
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
    /// How exactly chunked framing is read.
    temper: Temper,
    received: u64,
    expected: Option<u64>,
    trailers: Vec<Header>,
    trailer_bytes: usize,
}

impl BodyDecoder {
    /// A decoder for a response body: chunked framing is read leniently
    /// (bare LF line ends, anything after the chunk size skipped).
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
            temper: Temper::Lenient,
            received: 0,
            expected,
            trailers: Vec::new(),
            trailer_bytes: 0,
        }
    }

    /// A decoder for a request body: chunked framing must be exactly as
    /// RFC 9112 section 7.1 writes it (CRLF after the size line, after the
    /// data and after each trailer; extensions as section 7.1.1 has them).
    /// Anything else is an error, never a guess at where the body ends.
    pub fn strict(framing: Framing) -> Self {
        BodyDecoder {
            temper: Temper::Strict,
            ..BodyDecoder::new(framing)
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

    /// Decodes from the front of `input`; [`Decoded::next`] says whether
    /// to call again now, after more input, or not at all.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, ParseError> {
        let (consumed, body) = match self.state {
            State::Done => (0, 0..0),
            State::Close => {
                self.received += input.len() as u64;
                (input.len(), 0..input.len())
            }
            State::Length(left) | State::ChunkData(left) => {
                let n = self.take_data(left, input.len());
                (n, 0..n)
            }
            State::ChunkSize => (self.chunk_size_line(input)?, 0..0),
            State::ChunkDataEnd => (self.chunk_data_end(input)?, 0..0),
            State::Trailers => (self.trailer_line(input)?, 0..0),
        };
        let next = if self.state == State::Done {
            Next::Done
        } else if consumed == 0 || consumed == input.len() {
            Next::NeedMore
        } else {
            Next::Decode
        };
        Ok(Decoded {
            consumed,
            body,
            next,
        })
    }

    /// Body bytes of a length or a chunk with `left` to go, up to
    /// `available`. Returns how many.
    fn take_data(&mut self, left: u64, available: usize) -> usize {
        let n = left.min(available as u64) as usize;
        self.received += n as u64;
        let left = left - n as u64;
        self.state = match (&self.state, left) {
            (State::Length(_), 0) => State::Done,
            (State::Length(_), _) => State::Length(left),
            (_, 0) => State::ChunkDataEnd,
            _ => State::ChunkData(left),
        };
        n
    }

    /// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 section 7.1); 0 when the
    /// line is not all there yet.
    fn chunk_size_line(&mut self, input: &[u8]) -> Result<usize, ParseError> {
        let Some((line, used)) = take_line(input, self.temper)? else {
            return Ok(0);
        };
        let size = if self.temper == Temper::Strict {
            parse_chunk_size_strictly(line)?
        } else {
            parse_chunk_size(line)?
        };
        self.state = if size == 0 {
            State::Trailers
        } else {
            State::ChunkData(size)
        };
        Ok(used)
    }

    /// The CRLF after a chunk's data; 0 when it is not all there yet.
    fn chunk_data_end(&mut self, input: &[u8]) -> Result<usize, ParseError> {
        let used = if self.temper == Temper::Strict {
            // Refuse at the first wrong byte rather than wait for a LF.
            match input {
                [b'\r', b'\n', ..] => 2,
                [] | [b'\r'] => return Ok(0),
                _ => return Err(ParseError::BadChunk),
            }
        } else {
            let Some((line, used)) = take_line(input, Temper::Lenient)? else {
                return Ok(0);
            };
            if !line.is_empty() {
                return Err(ParseError::BadChunk);
            }
            used
        };
        self.state = State::ChunkSize;
        Ok(used)
    }

    /// One trailer field, or the empty line that ends the body; 0 when the
    /// line is not all there yet.
    fn trailer_line(&mut self, input: &[u8]) -> Result<usize, ParseError> {
        let Some((line, used)) = take_line(input, self.temper)? else {
            return Ok(0);
        };
        if line.is_empty() {
            self.state = State::Done;
        } else {
            self.trailer_bytes += used;
            if self.trailer_bytes > MAX_TRAILERS {
                return Err(ParseError::BadChunk);
            }
            self.trailers.push(parse_trailer(line, self.temper)?);
        }
        Ok(used)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::chunked::MAX_LINE;

    fn h(name: &str, value: &str) -> Header {
        Header::new(name, value)
    }

    /// Feeds `input` in pieces of `step` bytes, as a loop with a buffer does.
    fn decode_all(
        framing: Framing,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, BodyDecoder, usize), ParseError> {
        decode_with(BodyDecoder::new(framing), input, step)
    }

    fn decode_with(
        mut dec: BodyDecoder,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, BodyDecoder, usize), ParseError> {
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
        let v11 = Version::Http11;
        assert_eq!(request_framing(v11, &[]), Ok(Framing::Empty));
        assert_eq!(
            request_framing(v11, &[h("Content-Length", "3")]),
            Ok(Framing::Length(3))
        );
        assert_eq!(
            request_framing(v11, &[h("Transfer-Encoding", "chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            request_framing(v11, &[h("Transfer-Encoding", "gzip")]),
            Err(ParseError::UnsupportedTransferCoding)
        );
        assert_eq!(
            request_framing(v11, &[h("Transfer-Encoding", "gzip, chunked")]),
            Err(ParseError::UnsupportedTransferCoding)
        );
    }

    /// RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is faulty
    /// framing, whatever the coding and even beside a Content-Length.
    #[test]
    fn http10_with_transfer_encoding_is_faulty_framing() {
        let v10 = Version::Http10;
        for headers in [
            vec![h("Transfer-Encoding", "chunked")],
            vec![h("transfer-encoding", "gzip")],
            vec![h("Transfer-Encoding", "chunked"), h("Content-Length", "3")],
            vec![h("Content-Length", "3"), h("Transfer-Encoding", "")],
        ] {
            assert_eq!(
                request_framing(v10, &headers),
                Err(ParseError::TransferEncodingInHttp10),
                "{headers:?}"
            );
        }
        assert_eq!(
            request_framing(v10, &[h("Content-Length", "3")]),
            Ok(Framing::Length(3))
        );
    }

    /// Decodes all at once, then split in two at every point, and checks
    /// that every way gives the same outcome: body, bytes used, or error.
    fn chunked_at_every_split(strict: bool, input: &[u8]) -> Result<(Vec<u8>, usize), ParseError> {
        let fresh = || {
            if strict {
                BodyDecoder::strict(Framing::Chunked)
            } else {
                BodyDecoder::new(Framing::Chunked)
            }
        };
        let outcome = |r: Result<(Vec<u8>, BodyDecoder, usize), ParseError>| {
            r.map(|(body, dec, used)| (body, dec.is_done(), used))
        };
        let whole = outcome(decode_with(fresh(), input, input.len().max(1)));
        for step in 1..input.len() {
            assert_eq!(
                outcome(decode_with(fresh(), input, step)),
                whole,
                "step {step} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let (body, done, used) = whole?;
        assert!(done, "{:?} unfinished", String::from_utf8_lossy(input));
        Ok((body, used))
    }

    #[test]
    fn strict_chunked_accepts_the_grammar_of_rfc9112_section_7_1() {
        let good: &[&[u8]] = &[
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5;name=value\r\nhello\r\n0\r\n\r\n",
            // BWS before ";" and around "=", quoted values with escapes.
            b"5 ;a\r\nhello\r\n0\r\n\r\n",
            b"5\t; a = \"q \\\" ;s\" ;b;c=\"\"\r\nhello\r\n0;z\r\n\r\n",
            b"00005\r\nhello\r\n000\r\nX-Sum: 1\t2\r\n\r\n",
        ];
        for input in good {
            let (body, used) = chunked_at_every_split(true, input).unwrap();
            assert_eq!(body, b"hello");
            assert_eq!(used, input.len());
            assert_eq!(chunked_at_every_split(false, input), Ok((body, used)));
        }
    }

    /// What RFC 9112 section 7.1 forbids in a request body: each of these
    /// was accepted before, so a request pipelined behind it was answered.
    /// Responses are still read leniently, as curl reads them.
    #[test]
    fn strict_chunked_refuses_what_lenient_reads() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"5\nhello\r\n0\r\n\r\n", ParseError::BadChunk),
            (b"5\r\nhello\n0\r\n\r\n", ParseError::BadChunk),
            (b"5\r\nhello\r\n0\n\r\n", ParseError::BadChunk),
            (b"5\r\nhello\r\n0\r\n\n", ParseError::BadChunk),
            (b"5\r\nhello\r\n0\r\nX: y\n\r\n", ParseError::BadChunk),
            (b"5;a\rb\r\nhello\r\n0\r\n\r\n", ParseError::BadChunk),
            (b"5 \r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5\t\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5;a \r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5;\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5;a=\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5;a b\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"5;a=\"x\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (
                b"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n",
                ParseError::BadChunkSize,
            ),
            (b"5;a=@\r\nhello\r\n0\r\n\r\n", ParseError::BadChunkSize),
            (b"0\r\nX: a\x01b\r\n\r\n", ParseError::BadChunk),
        ];
        for (input, want) in cases {
            assert_eq!(
                chunked_at_every_split(true, input),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            let lenient = chunked_at_every_split(false, input);
            assert!(
                lenient.is_ok(),
                "lenient {:?}",
                String::from_utf8_lossy(input)
            );
        }
        // Wrong in either temper.
        for input in [
            &b"5\rhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX\r\n0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
        ] {
            assert!(chunked_at_every_split(true, input).is_err());
            assert!(chunked_at_every_split(false, input).is_err());
        }
    }

    #[test]
    fn strict_chunk_data_end_fails_at_the_first_wrong_byte() {
        let mut dec = BodyDecoder::strict(Framing::Chunked);
        assert_eq!(dec.decode(b"3\r\n").unwrap().consumed, 3);
        assert_eq!(dec.decode(b"abc").unwrap().consumed, 3);
        assert_eq!(dec.decode(b"\r").unwrap().consumed, 0);
        assert_eq!(dec.decode(b"X"), Err(ParseError::BadChunk));
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

    /// `consumed == 0` used to mean both "need more" and "done"; `next`
    /// tells them apart, and says when to call again at once.
    #[test]
    fn decode_says_what_comes_next() {
        let mut dec = BodyDecoder::new(Framing::Length(5));
        assert_eq!(dec.decode(b"hel").unwrap().next, Next::NeedMore);
        let d = dec.decode(b"loNEXT").unwrap();
        assert_eq!((d.consumed, d.next), (2, Next::Done));
        assert_eq!(dec.decode(b"NEXT").unwrap().next, Next::Done);
        let mut dec = BodyDecoder::strict(Framing::Chunked);
        let mut input: &[u8] = b"3\r\nabc\r\n0\r\n\r\nNEXT";
        let mut nexts = Vec::new();
        loop {
            let d = dec.decode(input).unwrap();
            input = &input[d.consumed..];
            nexts.push(d.next);
            if d.next != Next::Decode {
                break;
            }
        }
        assert_eq!(nexts.last(), Some(&Next::Done));
        assert_eq!(input, b"NEXT");
        let mut dec = BodyDecoder::new(Framing::Chunked);
        assert_eq!(dec.decode(b"3\r").unwrap().next, Next::NeedMore);
        assert_eq!(dec.decode(b"").unwrap().next, Next::NeedMore);
        let mut dec = BodyDecoder::new(Framing::Close);
        assert_eq!(dec.decode(b"abc").unwrap().next, Next::NeedMore);
    }

    #[test]
    fn empty_bodies_are_done_at_once() {
        assert!(BodyDecoder::new(Framing::Empty).is_done());
        assert!(BodyDecoder::new(Framing::Length(0)).is_done());
    }
}

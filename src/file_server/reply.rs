//! Planning a reply to GET or HEAD of a file, purely from request headers
//! and the file's validators: conditional requests (RFC 9110 section 13),
//! ranges (section 14) and the multipart/byteranges layout; plus rendering
//! response heads. No I/O: the session opens files and queues bytes.
//!
//! A file whose modification time an HTTP-date cannot carry (before 1970,
//! after 9999) gets no `Last-Modified`, and date preconditions are ignored
//! for it as for a file without a date; its ETag still tells versions apart.

use std::cell::Cell;
use std::fmt::Display;
use std::io::Write;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::{self, Header, Version};

/// More ranges than this in one request are treated as abuse (RFC 9110
/// section 14.2 lets a server ignore or refuse such sets).
pub const MAX_RANGES: usize = 16;

/// What identifies one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    pub len: u64,
    /// Whole seconds: what Last-Modified can carry and dates compare
    /// against. `None` when the file has no usable modification time or one
    /// an HTTP-date cannot express (before 1970 or after 9999): then no
    /// Last-Modified is sent and date preconditions are ignored.
    pub modified: Option<SystemTime>,
    /// Strong (RFC 9110 section 8.8.3): size and mtime to the nanosecond.
    pub etag: String,
}

impl Validators {
    pub fn new(len: u64, mtime: Option<SystemTime>) -> Self {
        // Signed, so files dated before 1970 keep distinct tags.
        let (sign, since) = match mtime.map(|t| t.duration_since(UNIX_EPOCH)) {
            Some(Ok(d)) => ("", d),
            Some(Err(before)) => ("-", before.duration()),
            None => ("", Duration::ZERO),
        };
        Validators {
            len,
            modified: mtime.and_then(http_date_time),
            etag: format!(
                "\"{sign}{:x}.{:x}-{:x}\"",
                since.as_secs(),
                since.subsec_nanos(),
                len
            ),
        }
    }

    /// The Last-Modified value, when there is one.
    pub fn last_modified(&self) -> Option<String> {
        self.modified.map(httpdate::fmt_http_date)
    }
}

/// Seconds from the epoch to 10000-01-01T00:00:00Z: the first instant an
/// IMF-fixdate's four-digit year cannot express.
const YEAR_10000: u64 = 253_402_300_800;

/// `t` truncated to whole seconds, if an HTTP-date (RFC 9110 section
/// 5.6.7) can carry it: from 1970 (httpdate's range starts at the epoch)
/// through 9999. `httpdate::fmt_http_date` panics outside that range, so
/// every time formatted as an HTTP-date passes through here first.
pub fn http_date_time(t: SystemTime) -> Option<SystemTime> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs < YEAR_10000).then(|| UNIX_EPOCH + Duration::from_secs(secs))
}

/// The outcome of evaluating a GET or HEAD against a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// 200 with the whole file.
    Full,
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
    /// 206 with these ranges (one: a plain 206; several: multipart).
    Partial(Vec<Range<u64>>),
    /// 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

/// Evaluates preconditions in the order of RFC 9110 section 13.2.2, then
/// the Range header.
pub fn plan(headers: &[Header], v: &Validators) -> Plan {
    // Step 1 and 2: If-Match, else If-Unmodified-Since.
    if headers.iter().any(|h| h.is("if-match")) {
        if !tag_list_matches(headers, "if-match", &v.etag, Compare::Strong) {
            return Plan::PreconditionFailed;
        }
    } else if let (Some(date), Some(modified)) =
        (date_header(headers, "if-unmodified-since"), v.modified)
    {
        // RFC 9110 section 13.1.4: ignored without a modification date.
        if modified > date {
            return Plan::PreconditionFailed;
        }
    }
    // Step 3 and 4: If-None-Match, else If-Modified-Since (GET and HEAD only,
    // which is all that reaches here).
    if headers.iter().any(|h| h.is("if-none-match")) {
        if tag_list_matches(headers, "if-none-match", &v.etag, Compare::Weak) {
            return Plan::NotModified;
        }
    } else if let (Some(date), Some(modified)) =
        (date_header(headers, "if-modified-since"), v.modified)
    {
        // RFC 9110 section 13.1.3: ignored without a modification date.
        if modified <= date {
            return Plan::NotModified;
        }
    }
    // Step 5: Range, guarded by If-Range.
    let Some(range) = http::find(headers, "range") else {
        return Plan::Full;
    };
    if let Some(cond) = http::find(headers, "if-range") {
        if !if_range_holds(cond, v) {
            return Plan::Full;
        }
    }
    match parse_ranges(range, v.len) {
        Ranges::Ignore => Plan::Full,
        Ranges::Unsatisfiable => Plan::Unsatisfiable,
        Ranges::Some(r) => Plan::Partial(r),
    }
}

/// How two entity-tags are compared (RFC 9110 section 8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Both strong and equal: If-Match and If-Range.
    Strong,
    /// Equal opaque tags, weak or not: If-None-Match.
    Weak,
}

/// Does an If-Match or If-None-Match list match our tag? `*` matches any
/// current representation.
fn tag_list_matches(headers: &[Header], name: &str, etag: &str, compare: Compare) -> bool {
    http::list(headers, name).any(|t| {
        if t == b"*" {
            return true;
        }
        match t.strip_prefix(b"W/") {
            Some(_) if compare == Compare::Strong => false,
            Some(weak) => weak == etag.as_bytes(),
            None => t == etag.as_bytes(),
        }
    })
}

/// If-Range (RFC 9110 section 13.1.5): an entity-tag must match strongly;
/// a date must equal Last-Modified exactly.
fn if_range_holds(cond: &[u8], v: &Validators) -> bool {
    let cond = http::trim(cond);
    if cond.starts_with(b"\"") || cond.starts_with(b"W/") {
        return cond == v.etag.as_bytes();
    }
    std::str::from_utf8(cond)
        .ok()
        .and_then(|s| httpdate::parse_http_date(s).ok())
        .is_some_and(|d| Some(d) == v.modified)
}

/// A date header's value; an invalid date is ignored (RFC 9110 section 13.1.3).
fn date_header(headers: &[Header], name: &str) -> Option<SystemTime> {
    let raw = http::find(headers, name)?;
    httpdate::parse_http_date(std::str::from_utf8(http::trim(raw)).ok()?).ok()
}

/// A parsed Range header against a representation of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// Not bytes, malformed, or abusive: serve the whole file.
    Ignore,
    /// Valid but none satisfiable: 416.
    Unsatisfiable,
    /// Satisfiable ranges, in the order asked.
    Some(Vec<Range<u64>>),
}

/// Parses `bytes=a-b, c-, -n` (RFC 9110 section 14.1.2). Sets that overlap,
/// exceed `MAX_RANGES` or ask for more bytes than the file has are
/// refused by serving it whole, so a client cannot multiply our output.
pub fn parse_ranges(value: &[u8], len: u64) -> Ranges {
    let value = http::trim(value);
    let Some(set) = value
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case(b"bytes="))
        .map(|_| &value[6..])
    else {
        return Ranges::Ignore;
    };
    let mut specs = 0;
    let mut out = Vec::new();
    for spec in set.split(|&b| b == b',').map(http::trim) {
        if spec.is_empty() {
            continue;
        }
        specs += 1;
        if specs > MAX_RANGES {
            return Ranges::Ignore;
        }
        let Some(dash) = spec.iter().position(|&b| b == b'-') else {
            return Ranges::Ignore;
        };
        let (first, last) = (&spec[..dash], &spec[dash + 1..]);
        let range = match (number(first), number(last)) {
            (Some(a), Some(b)) if a <= b => (a < len).then(|| a..(b.saturating_add(1)).min(len)),
            (Some(a), None) if last.is_empty() => (a < len).then_some(a..len),
            (None, Some(n)) if first.is_empty() => {
                (n > 0 && len > 0).then(|| len - n.min(len)..len)
            }
            _ => return Ranges::Ignore,
        };
        out.extend(range);
    }
    if specs == 0 {
        return Ranges::Ignore;
    }
    if out.is_empty() {
        return Ranges::Unsatisfiable;
    }
    // Saturating: three whole-file ranges of a huge sparse file would
    // overflow a plain sum (a panic in debug builds).
    let total = out
        .iter()
        .fold(0u64, |t, r| t.saturating_add(r.end - r.start));
    let mut sorted = out.clone();
    sorted.sort_by_key(|r| r.start);
    let overlaps = sorted.windows(2).any(|w| w[1].start < w[0].end);
    if total > len || overlaps {
        return Ranges::Ignore;
    }
    Ranges::Some(out)
}

fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// One piece of a multipart body: literal bytes or a range of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    File(Range<u64>),
}

/// The body of a multipart/byteranges response (RFC 9110 section 14.6)
/// and its total length.
pub fn multipart(
    ranges: &[Range<u64>],
    len: u64,
    content_type: &str,
    boundary: &str,
) -> (Vec<Piece>, u64) {
    let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut total = 0;
    for r in ranges {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
            r.start,
            r.end - 1
        );
        total += head.len() as u64 + (r.end - r.start);
        pieces.push(Piece::Bytes(head.into_bytes()));
        pieces.push(Piece::File(r.clone()));
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    total += tail.len() as u64;
    pieces.push(Piece::Bytes(tail.into_bytes()));
    (pieces, total)
}

/// A response head under construction.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    buf: Vec<u8>,
}

impl Head {
    /// Starts with the status line, Date and Server (RFC 9110 sections
    /// 6.6.1 and 10.2.4). `extra` are the operator's `-H` lines, rendered.
    pub fn new(status: u16, date: &[u8], extra: &[u8]) -> Head {
        let mut buf = Vec::with_capacity(320);
        buf.extend_from_slice(b"HTTP/1.1 ");
        buf.extend_from_slice(status_line(status).as_bytes());
        buf.extend_from_slice(b"\r\nServer: wirecat\r\nDate: ");
        buf.extend_from_slice(date);
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(extra);
        Head { status, buf }
    }

    /// A header whose value is already text: no formatting machinery.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    pub fn header(&mut self, name: &str, value: impl Display) -> &mut Self {
        let _ = write!(self.buf, "{name}: {value}\r\n");
        self
    }

    /// Ends the head, saying what becomes of the connection.
    pub fn finish(mut self, connection: Connection) -> Vec<u8> {
        match connection {
            Connection::Close => self.buf.extend_from_slice(b"Connection: close\r\n"),
            Connection::KeepAlive => self.buf.extend_from_slice(b"Connection: keep-alive\r\n"),
            Connection::Persist => {}
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// What a response head says about its connection (RFC 9112 section 9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// `Connection: close`: the server closes after this response.
    Close,
    /// Nothing: an HTTP/1.1 connection persists unless told otherwise.
    Persist,
    /// `Connection: keep-alive`: an HTTP/1.0 client persists only when
    /// told so (RFC 9112 appendix C.2.2).
    KeepAlive,
}

impl Connection {
    /// For a response that closes the connection or not, to a request of
    /// `version`.
    pub fn after(close: bool, version: Version) -> Connection {
        match (close, version) {
            (true, _) => Connection::Close,
            (false, Version::Http10) => Connection::KeepAlive,
            (false, _) => Connection::Persist,
        }
    }
}

/// "200 OK" and friends, for the statuses this server sends.
pub fn status_line(status: u16) -> &'static str {
    match status {
        200 => "200 OK",
        201 => "201 Created",
        204 => "204 No Content",
        206 => "206 Partial Content",
        301 => "301 Moved Permanently",
        303 => "303 See Other",
        304 => "304 Not Modified",
        400 => "400 Bad Request",
        401 => "401 Unauthorized",
        403 => "403 Forbidden",
        404 => "404 Not Found",
        405 => "405 Method Not Allowed",
        408 => "408 Request Timeout",
        409 => "409 Conflict",
        411 => "411 Length Required",
        412 => "412 Precondition Failed",
        413 => "413 Content Too Large",
        414 => "414 URI Too Long",
        415 => "415 Unsupported Media Type",
        416 => "416 Range Not Satisfiable",
        431 => "431 Request Header Fields Too Large",
        501 => "501 Not Implemented",
        503 => "503 Service Unavailable",
        505 => "505 HTTP Version Not Supported",
        507 => "507 Insufficient Storage",
        _ => "500 Internal Server Error",
    }
}

/// The Date header value (RFC 9110 section 6.6.1), formatted at most once
/// per second per thread.
pub fn http_date() -> [u8; 29] {
    thread_local! {
        /// The second formatted last, and its date.
        static CACHE: Cell<Option<(u64, [u8; 29])>> = const { Cell::new(None) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        if let Some((at, date)) = c.get() {
            if at == secs {
                return date;
            }
        }
        // A clock set before 1970 or past 9999 would make httpdate panic;
        // such a clock is wrong anyway, so say 1970 rather than crash.
        let now = http_date_time(now).unwrap_or(UNIX_EPOCH);
        let mut date = [0u8; 29];
        date.copy_from_slice(&httpdate::fmt_http_date(now).as_bytes()[..29]);
        c.set(Some((secs, date)));
        date
    })
}

/// The status for a head or framing error.
pub fn status_for(e: http::ParseError) -> u16 {
    match e {
        http::ParseError::HeadTooLarge | http::ParseError::TooManyHeaders => 431,
        http::ParseError::UriTooLong => 414,
        http::ParseError::BadVersion => 505,
        http::ParseError::UnsupportedTransferCoding => 501,
        // Malformed heads, and faulty framing: Content-Length with
        // Transfer-Encoding, Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1).
        _ => 400,
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn date_is_imf_fixdate() {
        let d = http_date();
        let s = std::str::from_utf8(&d).unwrap();
        assert!(s.ends_with(" GMT"), "{s}");
        assert!(httpdate::parse_http_date(s).is_ok());
    }

    fn v() -> Validators {
        Validators::new(1000, Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123)))
    }

    fn hs(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| Header::new(*n, *v)).collect()
    }

    const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT"; // 1_700_000_000
    const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
    const AFTER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

    #[test]
    fn etag_is_strong_and_changes_with_mtime_and_size() {
        let a = v();
        assert!(a.etag.starts_with('"') && !a.etag.starts_with("W/"));
        let b = Validators::new(1000, Some(UNIX_EPOCH + Duration::new(1_700_000_000, 124)));
        let c = Validators::new(1001, Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123)));
        assert_ne!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        assert_eq!(a.last_modified().as_deref(), Some(LM));
    }

    /// httpdate panics outside 1970..=9999; such files get no
    /// Last-Modified, distinct ETags, and date preconditions are ignored.
    #[test]
    fn dates_an_http_date_cannot_carry() {
        let secs = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let y1960 = UNIX_EPOCH - Duration::from_secs(315_619_200);
        let cases = [
            (Some(y1960), None),
            (Some(UNIX_EPOCH - Duration::from_nanos(1)), None),
            (Some(UNIX_EPOCH), Some("Thu, 01 Jan 1970 00:00:00 GMT")),
            (
                Some(secs(YEAR_10000 - 1)),
                Some("Fri, 31 Dec 9999 23:59:59 GMT"),
            ),
            (Some(secs(YEAR_10000)), None),
            (Some(secs(YEAR_10000 * 4)), None),
            (None, None),
        ];
        for (mtime, want) in cases {
            let v = Validators::new(3, mtime);
            assert_eq!(v.last_modified().as_deref(), want, "{mtime:?}");
            for name in ["If-Modified-Since", "If-Unmodified-Since"] {
                let h = hs(&[(name, "Thu, 01 Jan 1970 00:00:00 GMT")]);
                let p = plan(&h, &v);
                if want.is_none() {
                    assert_eq!(p, Plan::Full, "{name} {mtime:?}");
                }
            }
            let h = hs(&[("Range", "bytes=0-0"), ("If-Range", LM)]);
            if want.is_none() {
                assert_eq!(plan(&h, &v), Plan::Full);
            }
        }
        let before = Validators::new(3, Some(UNIX_EPOCH - Duration::from_secs(5)));
        let after = Validators::new(3, Some(UNIX_EPOCH + Duration::from_secs(5)));
        assert_ne!(before.etag, after.etag);
        assert_ne!(before.etag, Validators::new(3, Some(y1960)).etag);
    }

    #[test]
    fn conditionals_follow_rfc9110_precedence() {
        let tag = v().etag;
        let weak = format!("W/{tag}");
        let cases: Vec<(Vec<(&str, &str)>, Plan)> = vec![
            (vec![], Plan::Full),
            (vec![("If-Match", &tag)], Plan::Full),
            (vec![("If-Match", "*")], Plan::Full),
            (vec![("If-Match", "\"other\"")], Plan::PreconditionFailed),
            (vec![("If-Match", &weak)], Plan::PreconditionFailed),
            (vec![("If-Match", "\"x\", ")], Plan::PreconditionFailed),
            (
                vec![("If-Unmodified-Since", BEFORE)],
                Plan::PreconditionFailed,
            ),
            (vec![("If-Unmodified-Since", LM)], Plan::Full),
            (vec![("If-Unmodified-Since", "garbage")], Plan::Full),
            // If-Match wins over If-Unmodified-Since.
            (
                vec![("If-Match", &tag), ("If-Unmodified-Since", BEFORE)],
                Plan::Full,
            ),
            (vec![("If-None-Match", &tag)], Plan::NotModified),
            (vec![("If-None-Match", &weak)], Plan::NotModified),
            (vec![("If-None-Match", "*")], Plan::NotModified),
            (vec![("If-None-Match", "\"a\", \"b\"")], Plan::Full),
            (vec![("If-Modified-Since", LM)], Plan::NotModified),
            (vec![("If-Modified-Since", AFTER)], Plan::NotModified),
            (vec![("If-Modified-Since", BEFORE)], Plan::Full),
            // Dates are compared, not strings: the obsolete RFC 850 form works.
            (
                vec![("If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT")],
                Plan::NotModified,
            ),
            // If-None-Match wins over If-Modified-Since.
            (
                vec![("If-None-Match", "\"a\""), ("If-Modified-Since", AFTER)],
                Plan::Full,
            ),
            // 412 before 304.
            (
                vec![("If-Match", "\"a\""), ("If-None-Match", &tag)],
                Plan::PreconditionFailed,
            ),
            (vec![("Range", "bytes=0-9")], Plan::Partial(vec![0..10])),
            (
                vec![("Range", "bytes=0-9"), ("If-Range", &tag)],
                Plan::Partial(vec![0..10]),
            ),
            (
                vec![("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
                Plan::Full,
            ),
            (
                vec![("Range", "bytes=0-9"), ("If-Range", &weak)],
                Plan::Full,
            ),
            (
                vec![("Range", "bytes=0-9"), ("If-Range", LM)],
                Plan::Partial(vec![0..10]),
            ),
            (
                vec![("Range", "bytes=0-9"), ("If-Range", AFTER)],
                Plan::Full,
            ),
            (
                vec![("If-None-Match", &tag), ("Range", "bytes=0-9")],
                Plan::NotModified,
            ),
            (vec![("Range", "bytes=5000-")], Plan::Unsatisfiable),
        ];
        for (headers, want) in cases {
            assert_eq!(plan(&hs(&headers), &v()), want, "{headers:?}");
        }
    }

    #[test]
    fn range_sets() {
        let cases: &[(&str, Ranges)] = &[
            ("bytes=0-99", Ranges::Some(vec![0..100])),
            ("bytes=100-", Ranges::Some(vec![100..1000])),
            ("bytes=-100", Ranges::Some(vec![900..1000])),
            ("bytes=-5000", Ranges::Some(vec![0..1000])),
            ("bytes=990-5000", Ranges::Some(vec![990..1000])),
            ("BYTES = 0-1", Ranges::Ignore),
            ("Bytes=0-1", Ranges::Some(vec![0..2])),
            ("bytes=0-0,-1", Ranges::Some(vec![0..1, 999..1000])),
            ("bytes= 0-9 , 20-29 ,", Ranges::Some(vec![0..10, 20..30])),
            ("bytes=1000-", Ranges::Unsatisfiable),
            ("bytes=-0", Ranges::Unsatisfiable),
            ("bytes=2000-3000, 5000-", Ranges::Unsatisfiable),
            ("bytes=0-9, 2000-", Ranges::Some(vec![0..10])),
            ("bytes=9-0", Ranges::Ignore),
            ("bytes=abc", Ranges::Ignore),
            ("bytes=1-2-3", Ranges::Ignore),
            ("bytes=", Ranges::Ignore),
            ("items=0-1", Ranges::Ignore),
            ("bytes=0-9,5-14", Ranges::Ignore),
            ("bytes=0-,0-", Ranges::Ignore),
            ("bytes=-600,0-600", Ranges::Ignore),
            ("bytes=+1-2", Ranges::Ignore),
        ];
        for (value, want) in cases {
            assert_eq!(parse_ranges(value.as_bytes(), 1000), *want, "{value}");
        }
        let many: String = (0..=MAX_RANGES)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse_ranges(format!("bytes={many}").as_bytes(), 1000),
            Ranges::Ignore
        );
        let huge = i64::MAX as u64; // a sparse file's size can reach this
        assert_eq!(parse_ranges(b"bytes=0-,0-,0-", huge), Ranges::Ignore);
        assert_eq!(parse_ranges(b"bytes=0-0", 0), Ranges::Unsatisfiable);
        assert_eq!(parse_ranges(b"bytes=-1", 0), Ranges::Unsatisfiable);
    }

    #[test]
    fn multipart_layout_and_length() {
        let (pieces, total) = multipart(&[0..2, 5..6], 10, "text/plain", "B");
        let mut body = Vec::new();
        let content = b"0123456789";
        for p in &pieces {
            match p {
                Piece::Bytes(b) => body.extend_from_slice(b),
                Piece::File(r) => {
                    body.extend_from_slice(&content[r.start as usize..r.end as usize])
                }
            }
        }
        assert_eq!(body.len() as u64, total);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
             \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/10\r\n\r\n5\
             \r\n--B--\r\n"
        );
    }

    #[test]
    fn head_rendering() {
        let mut h = Head::new(404, b"DATE", b"X-A: 1\r\n");
        h.header("Content-Length", 3);
        let bytes = h.finish(Connection::Close);
        assert_eq!(
            bytes,
            b"HTTP/1.1 404 Not Found\r\nServer: wirecat\r\nDate: DATE\r\nX-A: 1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
    }
}

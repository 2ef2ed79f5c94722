//! Seeded, fuzz-style robustness tests (issue 9) that run on stable Rust
//! inside `cargo test`: random bytes and mutations of valid messages, split
//! at random points, go through the request and response head parsers, both
//! chunked decoders, `HttpSession` and `GreetSession`. Nothing may panic;
//! every feed must make progress or ask for more within a bounded number of
//! steps; the parsers and sessions must answer the same whatever the split
//! points; and the file server must never answer bytes that belong to a
//! request it rejected. The page codec (issue 12) gets random bytes and
//! mutated HTML and CSS: no panic, a rewrite that makes everything absolute
//! is idempotent, and an identity map gives a page back byte for byte.
//!
//! The default run is short and always the same (`DEFAULT_SEED`), so it
//! cannot fail at random in someone else's change. `WIRECAT_FUZZ_SEED`
//! (decimal or `0x` hex) and `WIRECAT_FUZZ_ITERS` (cases per target) change
//! that; a failing case prints the seed that replays it alone.
//! `scripts/fuzz` runs the same harness long, in release mode, with a fresh
//! seed each time.
//!
//! The generator is splitmix64, a few lines here rather than a crate: no
//! dependency, and a seed replays the same case on any platform and after
//! any upgrade, which a crate's generator does not promise across versions.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::event_loop::testing::Wire;
use crate::event_loop::{Session, Step};
use crate::file_server::cache::FileCache;
use crate::file_server::session::HttpSession;
use crate::file_server::Site;
use crate::greeter::{GreetLimits, GreetSession};
use crate::http::body::{request_framing, BodyDecoder, Framing, Next};
use crate::http::request::try_parse_request;
use crate::http::response::try_parse_response;
use crate::http::{Header, ParseError};

const DEFAULT_SEED: u64 = 0x5eed_0009_c0ff_ee00;
const DEFAULT_ITERS: usize = 2000;

/// splitmix64 (Steele, Lea and Flood, 2014).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// Random bytes, `min..=max` of them.
    fn bytes(&mut self, min: usize, max: usize) -> Vec<u8> {
        let n = min + self.below(max - min + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// Prints how to replay the case if it panics.
struct Replay {
    target: &'static str,
    seed: u64,
}

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "fuzz case failed; replay it with WIRECAT_FUZZ_SEED={:#x} WIRECAT_FUZZ_ITERS=1 \
                 cargo test --lib fuzz_tests::{}",
                self.seed, self.target
            );
        }
    }
}

/// Runs `case` once per iteration, each with its own seed; iteration 0
/// uses the seed itself, so a printed seed replays with one iteration.
fn run(target: &'static str, mut case: impl FnMut(&mut Rng)) {
    let seed = env_number("WIRECAT_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let iters = env_number("WIRECAT_FUZZ_ITERS").map_or(DEFAULT_ITERS, |n| n as usize);
    for i in 0..iters as u64 {
        let seed = seed.wrapping_add(i.wrapping_mul(0xd1b5_4a32_d192_ed03));
        let _replay = Replay { target, seed };
        case(&mut Rng(seed));
    }
}

// ---------------------------------------------------------------- inputs

const REQUESTS: &[&[u8]] = &[
    b"GET /a.txt HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /sub/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde",
    b"PUT /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;n=v\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9,70-79\r\n\r\n",
    b"GET http://x/a.txt?q=1 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\", *\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /sub HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
    b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\r\nGET /a.txt HTTP/1.1\nHost: x\nRange: bytes=-2\n\n",
];

const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.0 404 Not Found\r\nX-Folded: a\r\n b\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
    b"HTTP/1.1 304 \r\nETag: \"x\"\r\n\r\n",
    b"HTTP/1.1 301 Moved\r\nLocation: /b\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\n\r\n",
    b"HTTP/1.1 200 \xc3\xa9t\xe9\r\nX-Bin: \xff\xfe\r\n\r\n",
];

const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b":",
    b";",
    b"=",
    b"\"",
    b"\\",
    b"\0",
    b"\x7f",
    b"\xff",
    b"0",
    b"f",
    b"-",
    b",",
    b"\r\n\r\n",
    b"\r\n ",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 18446744073709551616\r\n",
    b"Connection: close\r\n",
    b"Expect: 100-continue\r\n",
    b"ffffffffffffffff",
    b"10000000000000000",
    b"99999999999999999999",
    b"HTTP/1.1",
    b"http/1.1",
    b"HTTP/1.0",
    b"HTTP/9.9",
    b";ext=\"v\\\"\"",
    b"0\r\n\r\n",
];

/// A few random edits: bit flips, odd bytes, insertions, deletions,
/// duplicated ranges, header lines spliced from `donors`, CR/LF games and
/// truncation.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, donors: &[&[u8]]) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        let end = (at + 1 + rng.below(16)).min(data.len());
        match rng.below(9) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 if at < data.len() => data[at] = rng.pick(INTERESTING)[0],
            2 => {
                let ins = *rng.pick(INTERESTING);
                data.splice(at..at, ins.iter().copied());
            }
            3 => {
                let ins = rng.bytes(1, 8);
                data.splice(at..at, ins);
            }
            4 if at < end => {
                data.drain(at..end);
            }
            5 if at < end => {
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
            6 => {
                let donor = *rng.pick(donors);
                let lines: Vec<&[u8]> = donor.split_inclusive(|&b| b == b'\n').collect();
                let line = *rng.pick(&lines);
                let bounds: Vec<usize> = std::iter::once(0)
                    .chain(
                        data.iter()
                            .enumerate()
                            .filter(|(_, &b)| b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .collect();
                let to = *rng.pick(&bounds);
                data.splice(to..to, line.iter().copied());
            }
            7 => crlf_game(rng, data),
            8 => data.truncate(at),
            _ => {}
        }
    }
}

/// Turns one line end into another: CRLF to LF, LF to CRLF, or a bare CR.
fn crlf_game(rng: &mut Rng, data: &mut Vec<u8>) {
    let ends: Vec<usize> = (0..data.len()).filter(|&i| data[i] == b'\n').collect();
    if ends.is_empty() {
        return;
    }
    let i = *rng.pick(&ends);
    let has_cr = i > 0 && data[i - 1] == b'\r';
    match rng.below(3) {
        0 if has_cr => {
            data.remove(i - 1);
        }
        0 => data.insert(i, b'\r'),
        1 => data[i] = b'\r',
        _ => data.insert(i + 1, b'\r'),
    }
}

/// A message from `corpus`, mutated one time in `mutated_one_in`, or
/// (rarely) noise.
fn message(rng: &mut Rng, corpus: &[&[u8]], mutated_one_in: usize) -> Vec<u8> {
    if rng.one_in(10 * mutated_one_in) {
        return rng.bytes(0, 300);
    }
    let mut m = rng.pick(corpus).to_vec();
    if rng.one_in(mutated_one_in) {
        mutate(rng, &mut m, corpus);
    }
    m
}

/// Sorted cut points inside `0..=len`: a few random ones, or every byte.
fn cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    if len <= 300 && rng.one_in(6) {
        return (1..len).collect();
    }
    let mut cuts: Vec<usize> = (0..rng.below(8)).map(|_| rng.below(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

// ---------------------------------------------------------------- head parsers

/// Every prefix of `input` must parse to "need more" or to exactly what the
/// whole input parses to: the same head and length, or the same error.
fn check_prefixes<T: PartialEq + std::fmt::Debug>(
    input: &[u8],
    parse: impl Fn(&[u8]) -> Result<Option<(T, usize)>, ParseError>,
) {
    let whole = parse(input);
    if let Ok(Some((_, n))) = &whole {
        assert!(*n > 0 && *n <= input.len(), "used {n} of {}", input.len());
    }
    let ends: Vec<usize> = if input.len() <= 600 {
        (0..input.len()).collect()
    } else {
        (0..input.len()).step_by(input.len() / 300).collect()
    };
    for end in ends {
        let part = parse(&input[..end]);
        if part != Ok(None) {
            assert_eq!(
                part,
                whole,
                "prefix of {end} bytes of {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn request_parser() {
    run("request_parser", |rng| {
        let mut input = message(rng, REQUESTS, 1);
        if rng.one_in(3) {
            input.extend(message(rng, REQUESTS, 1));
        }
        let max_head = *rng.pick(&[40, 200, 8192]);
        check_prefixes(&input, |b| try_parse_request(b, max_head));
    });
}

#[test]
fn response_parser() {
    run("response_parser", |rng| {
        let input = message(rng, RESPONSES, 1);
        let max_head = *rng.pick(&[40, 200, 65536]);
        check_prefixes(&input, |b| try_parse_response(b, max_head));
    });
}

// ---------------------------------------------------------------- chunked decoders

/// Everything one decoder made of an input.
#[derive(Debug, PartialEq)]
struct Decoding {
    body: Vec<u8>,
    used: usize,
    done: bool,
    error: Option<ParseError>,
    trailers: Vec<Header>,
}

/// Feeds `input` cut at `cuts`, as a loop with a buffer does, decoding
/// until the decoder asks for more after each piece.
fn decode_in_pieces(mut dec: BodyDecoder, input: &[u8], cuts: &[usize]) -> Decoding {
    let (mut buf, mut body, mut used, mut fed) = (Vec::new(), Vec::new(), 0, 0);
    let mut error = None;
    'feed: for end in cuts.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        // Each call that does not ask for more uses at least one byte.
        for _ in 0..=buf.len() + 1 {
            match dec.decode(&buf) {
                Err(e) => {
                    error = Some(e);
                    break 'feed;
                }
                Ok(d) => {
                    assert!(d.consumed <= buf.len(), "used more than given");
                    assert!(d.body.start <= d.body.end && d.body.end <= d.consumed);
                    assert_eq!(
                        d.next == Next::Done,
                        dec.is_done(),
                        "next says {:?}",
                        d.next
                    );
                    assert_eq!(
                        d.next == Next::NeedMore,
                        !dec.is_done() && (d.consumed == 0 || d.consumed == buf.len()),
                        "next says {:?}",
                        d.next
                    );
                    body.extend_from_slice(&buf[d.body]);
                    buf.drain(..d.consumed);
                    used += d.consumed;
                    if dec.is_done() {
                        break 'feed;
                    }
                    if d.consumed == 0 {
                        continue 'feed;
                    }
                }
            }
        }
        panic!("the decoder kept going without using its input");
    }
    Decoding {
        body,
        used,
        done: dec.is_done(),
        error,
        trailers: dec.trailers().to_vec(),
    }
}

/// A well-framed chunked body of random data, with the extensions and
/// trailers RFC 9112 section 7.1 allows; returns the wire form and the data.
fn chunked_body(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    const EXTS: &[&str] = &[
        "",
        ";a",
        ";a=b",
        " ;a",
        "\t; a = \"q \\\" ;x\" ;b",
        ";a;b=c",
    ];
    let (mut wire, mut data) = (Vec::new(), Vec::new());
    for _ in 0..rng.below(5) {
        let chunk = rng.bytes(1, 40);
        let zeros = "0".repeat(rng.below(3));
        let size = if rng.one_in(2) {
            format!("{zeros}{:x}", chunk.len())
        } else {
            format!("{zeros}{:X}", chunk.len())
        };
        wire.extend(format!("{size}{}\r\n", rng.pick(EXTS)).bytes());
        wire.extend_from_slice(&chunk);
        wire.extend_from_slice(b"\r\n");
        data.extend(chunk);
    }
    wire.extend(format!("0{}\r\n", rng.pick(EXTS)).bytes());
    for _ in 0..rng.below(3) {
        wire.extend_from_slice(&rng.pick(&[&b"X-A: 1\r\n"[..], b"X-B:\tv v\r\n"])[..]);
    }
    wire.extend_from_slice(b"\r\n");
    (wire, data)
}

#[test]
fn chunked_decoders() {
    run("chunked_decoders", |rng| {
        let (mut input, data) = chunked_body(rng);
        let strict = || BodyDecoder::strict(Framing::Chunked);
        let lenient = || BodyDecoder::new(Framing::Chunked);
        let good = decode_in_pieces(strict(), &input, &cuts(rng, input.len()));
        assert_eq!(
            (&good.body, good.used, good.done),
            (&data, input.len(), true)
        );
        if !rng.one_in(5) {
            let donors = [input.clone()];
            let donors: Vec<&[u8]> = donors.iter().map(|d| d.as_slice()).collect();
            mutate(rng, &mut input, &donors);
        }
        if rng.one_in(3) {
            input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        }
        let strict_whole = decode_in_pieces(strict(), &input, &[]);
        let lenient_whole = decode_in_pieces(lenient(), &input, &[]);
        for _ in 0..3 {
            let cuts = cuts(rng, input.len());
            assert_eq!(decode_in_pieces(strict(), &input, &cuts), strict_whole);
            assert_eq!(decode_in_pieces(lenient(), &input, &cuts), lenient_whole);
        }
        // Lenience only ever accepts more: what strict reads, lenient reads alike.
        if strict_whole.done {
            assert_eq!(lenient_whole, strict_whole);
        }
    });
}

#[test]
fn length_and_close_decoders() {
    run("length_and_close_decoders", |rng| {
        let input = rng.bytes(0, 200);
        let framing = match rng.below(3) {
            0 => Framing::Close,
            1 => Framing::Empty,
            _ => Framing::Length(rng.below(250) as u64),
        };
        let whole = decode_in_pieces(BodyDecoder::strict(framing), &input, &[]);
        let split = decode_in_pieces(BodyDecoder::new(framing), &input, &cuts(rng, input.len()));
        assert_eq!(split, whole);
        let want = match framing {
            Framing::Length(n) => input.len().min(n as usize),
            Framing::Empty => 0,
            _ => input.len(),
        };
        assert_eq!(whole.body, input[..want]);
    });
}

// ---------------------------------------------------------------- sessions

/// A session with plain buffers, driven as the event loop drives it.
struct Driven<S> {
    session: S,
    wire: Wire,
    last: Option<Step>,
}

impl<S: Session> Driven<S> {
    fn new(session: S, now: Instant) -> Self {
        Driven {
            session,
            wire: Wire { now, ..Wire::new() },
            last: None,
        }
    }

    fn closed(&self) -> bool {
        matches!(self.last, Some(Step::Close | Step::Abort))
    }

    /// Adds `bytes`, then drives until the session waits with nothing to
    /// send, everything queued being "sent" after each call. The loop never
    /// drives a session again once it returned Close or Abort.
    fn feed(&mut self, bytes: &[u8], peer_closed: bool) -> Step {
        assert!(!self.closed());
        self.wire.input.extend(bytes);
        self.wire.peer_closed = peer_closed;
        for _ in 0..10_000 {
            let step = self.wire.drive(&mut self.session);
            let queued = !self.wire.output.is_empty();
            self.wire.flush();
            self.last = Some(step);
            match step {
                // The loop drives again once queued output has drained.
                Step::Wait { .. } if queued => continue,
                Step::Wait { read: false, .. } => {
                    panic!("waits with nothing to send and no reading: it would hang")
                }
                _ => return step,
            }
        }
        panic!("drive kept queuing output for 10,000 calls");
    }

    /// Feeds `input` cut at `cuts`, then the peer's EOF; the session must
    /// end by then, having nothing more to send or read.
    fn run(mut self, input: &[u8], cuts: &[usize]) -> Self {
        let mut fed = 0;
        for end in cuts.iter().copied().chain([input.len()]) {
            if self.closed() {
                return self;
            }
            self.feed(&input[fed..end], false);
            fed = end;
        }
        if !self.closed() {
            let step = self.feed(b"", true);
            assert!(
                matches!(step, Step::Close | Step::Abort),
                "still open after the peer closed: {step:?}"
            );
        }
        self
    }
}

const MARKER_BODY: &str = "the-request-after-all-others";
const MARKER_REQUEST: &[u8] = b"GET /marker.txt HTTP/1.1\r\nHost: x\r\n\r\n";

/// A site with a small file, a folder, the marker and a file larger than
/// the session sends inline.
fn site() -> (tempfile::TempDir, Arc<Site>) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "hello").unwrap();
    std::fs::write(d.path().join("marker.txt"), MARKER_BODY).unwrap();
    std::fs::write(d.path().join("big.bin"), vec![7u8; 70_000]).unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    let site = Arc::new(Site::for_tests(d.path()));
    (d, site)
}

fn new_http_session(site: &Arc<Site>) -> Driven<HttpSession> {
    let now = Instant::now();
    let cache = Rc::new(RefCell::new(FileCache::new()));
    let s = HttpSession::new(site.clone(), cache, "127.0.0.1:1".parse().unwrap(), now);
    Driven::new(s, now)
}

/// The status of each response in `out`, and whether it closes the
/// connection. (No body the test site serves holds "HTTP/1.1 ".)
fn responses(out: &[u8]) -> Vec<(u16, bool)> {
    let starts = (0..out.len()).filter(|&i| out[i..].starts_with(b"HTTP/1.1 "));
    starts
        .map(|i| {
            let (head, _) = try_parse_response(&out[i..], 64 * 1024)
                .expect("a valid response head")
                .expect("a whole response head");
            let closes = crate::http::has_token(&head.headers, "connection", "close");
            (head.status, closes)
        })
        .collect()
}

/// What the http codec says of `input`: how many requests there are up to
/// and including the first one that must be refused, and whether there is
/// one. A head error, a framing error (RFC 9112 sections 6.1 and 6.3) or a
/// misframed chunked body (section 7.1) is refused.
fn oracle(mut input: &[u8], max_head: usize) -> (usize, bool) {
    let mut requests = 0;
    loop {
        let (head, used) = match try_parse_request(input, max_head) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return (requests, false),
            Err(_) => return (requests + 1, true),
        };
        requests += 1;
        input = &input[used..];
        let Ok(framing) = request_framing(head.version, &head.headers) else {
            return (requests, true);
        };
        let body = decode_in_pieces(BodyDecoder::strict(framing), input, &[]);
        if body.error.is_some() {
            return (requests, true);
        }
        if !body.done {
            return (requests, false);
        }
        input = &input[body.used..];
    }
}

#[test]
fn http_session() {
    let (_dir, site) = site();
    run("http_session", |rng| {
        let mut input = Vec::new();
        // Mostly well-formed requests, so that the ones behind a bad one
        // are worth answering.
        for _ in 0..1 + rng.below(4) {
            input.extend(message(rng, REQUESTS, 4));
        }
        input.extend_from_slice(MARKER_REQUEST);
        let whole = new_http_session(&site).run(&input, &[]);
        let split = new_http_session(&site).run(&input, &cuts(rng, input.len()));
        let got = responses(&whole.wire.sent);
        let text = || String::from_utf8_lossy(&input).into_owned();
        assert_eq!(
            responses(&split.wire.sent),
            got,
            "split differently: {:?}",
            text()
        );
        assert_eq!(split.last, whole.last);
        // "Connection: close" is the last answer, and the connection closes.
        if let Some(i) = got.iter().position(|&(_, closes)| closes) {
            assert_eq!(
                i + 1,
                got.len(),
                "answered after a close: {got:?} {:?}",
                text()
            );
            assert_eq!(whole.last, Some(Step::Close));
        }
        // Never more answers than requests, and none past a refused one,
        // whose answer, if it gets one, closes the connection.
        let (requests, refused) = oracle(&input, site.limits.max_head);
        assert!(
            got.len() <= requests,
            "{got:?} for {requests} requests: {:?}",
            text()
        );
        if refused {
            let answered_marker = String::from_utf8_lossy(&whole.wire.sent).contains(MARKER_BODY);
            assert!(
                !answered_marker,
                "answered past a refused request: {:?}",
                text()
            );
            if got.len() == requests {
                // A refusal, or the normal answer when the session closes
                // without reading the body at all (`Connection: close`).
                let (_, closes) = got[got.len() - 1];
                assert!(closes, "{got:?}: {:?}", text());
            }
        }
    });
}

const LINES: &[&[u8]] = &[
    b"hello\n",
    b"Sarah\r\n",
    b"\n",
    b"exit\n",
    b"caf\xc3\xa9 \xff\n",
    b"a line a little longer than the shortest caps\n",
    b"no end",
    b"\r",
];

#[test]
fn greet_session() {
    run("greet_session", |rng| {
        let limits = GreetLimits {
            max_line: 1 + rng.below(48),
            output_cap: 1 + rng.below(300),
            ..GreetLimits::default()
        };
        let mut input = Vec::new();
        for _ in 0..rng.below(12) {
            input.extend_from_slice(&rng.pick(LINES)[..]);
        }
        if rng.one_in(2) {
            mutate(rng, &mut input, LINES);
        }
        let session = || {
            let now = Instant::now();
            Driven::new(
                GreetSession::new(limits, "127.0.0.1:1".parse().unwrap(), now),
                now,
            )
        };
        let whole = session().run(&input, &[]);
        let split = session().run(&input, &cuts(rng, input.len()));
        assert_eq!(
            (&split.wire.sent, split.last, split.session.messages()),
            (&whole.wire.sent, whole.last, whole.session.messages()),
            "split differently: {:?}",
            String::from_utf8_lossy(&input)
        );
        // Each reply answers a line of input, the final one perhaps unended.
        let lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
        assert!(whole.session.messages() <= lines + 1);
    });
}

// ---------------------------------------------------------------- page codec

/// Pages whose every reference is already an absolute, normalised URL, so
/// a map that answers `url.as_str()` must give them back byte for byte.
const CANONICAL_PAGES: &[&[u8]] = &[
    b"<!doctype html><html><head><meta charset=utf-8>\n<link rel=stylesheet href='http://h.test/s.css'>\n<style>@import \"http://h.test/i.css\"; a{b:url(http://h.test/u.png)}</style></head>\n<body><img src=http://h.test/a.png srcset=\"http://h.test/a.png 1x, http://h.test/b,2.png 2x\">\n<a href=\"http://o.test/p?x=1&amp;y=2#f\" rel=nofollow>x</a><p style='c:url(\"http://h.test/c.png\")'>\n<script>var s='<img src=no.png>'</script><!-- <a href=c.html> --></body></html>\n",
    b"<html><head><meta http-equiv=content-type content='text/html; charset=gb2312'><title>\xd0\xc2\xce\xc5</title></head><body>\xd6\xd0<IMG SRC=http://h.test/%E5%9B%BE.png><iframe src=http://h.test/f.html></iframe><a href=#top>\xff\xfe</a></body></html>",
    b"@charset \"utf-8\";\n@import url(http://h.test/a.css) screen;\n/* url(x.png) */ b{background:url( 'http://h.test/b.png' ) no-repeat; content:\"url(no)\"}\n@font-face{src:url(http://h.test/f.woff2) format('woff2')}\n",
];

/// Content types the page codec is driven with.
const PAGE_TYPES: &[Option<&str>] = &[
    Some("text/html"),
    Some("text/html; charset=gbk"),
    Some("text/html; charset=shift_jis"),
    Some("application/xhtml+xml"),
    Some("text/css"),
    Some("text/css; charset=utf-16le"),
    None,
];

const PAGE_PIECES: &[&[u8]] = &[
    b"<base href=/x/>",
    b"<meta http-equiv=refresh content='0;url=",
    b"<img src=",
    b" srcset='a.png 1x, b,c.png 2x'",
    b"<style>",
    b"</style>",
    b"<script>",
    b"</script>",
    b"<!--",
    b"-->",
    b"url(",
    b")",
    b"\\",
    b"\"",
    b"'",
    b"&amp;",
    b"&#",
    b"@import ",
    b"/*",
    b"*/",
    b"<svg>",
    b"<![CDATA[",
    b"]]>",
    b" style='",
    b"\xd6\xd0",
    b"\xff",
];

fn page_input(rng: &mut Rng) -> Vec<u8> {
    if rng.one_in(8) {
        return rng.bytes(0, 400);
    }
    let mut m = rng.pick(CANONICAL_PAGES).to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(m.len() + 1);
        if rng.one_in(2) {
            m.splice(at..at, rng.pick(PAGE_PIECES).iter().copied());
        } else {
            mutate(rng, &mut m, CANONICAL_PAGES);
        }
    }
    m
}

#[test]
fn page_codec() {
    use crate::page::{Documents, PageDocuments};
    let docs = PageDocuments;
    let url = url::Url::parse("http://h.test/dir/p.html").unwrap();
    run("page_codec", |rng| {
        let body = page_input(rng);
        let ct = *rng.pick(PAGE_TYPES);
        let found = docs.references(&url, ct, &body);
        for r in &found.refs {
            assert!(matches!(r.url.scheme(), "http" | "https") && r.url.fragment().is_none());
        }
        let odd = ["", "a b\"c'd&e(f)g<h>", "../x%20y.png", "\u{4e2d}"];
        let answer = *rng.pick(&odd);
        let mut local = |_: &url::Url| Some(answer.to_string());
        let _ = docs.rewrite(&url, ct, &body, &mut local);
        let _ = docs.local_path(&url, ct);
        // Everything unsaved becomes absolute; doing it twice changes nothing.
        let mut absolute = |_: &url::Url| None;
        if let Some(once) = docs.rewrite(&url, ct, &body, &mut absolute) {
            let twice = docs.rewrite(&url, ct, &once, &mut absolute).unwrap();
            assert!(
                once == twice,
                "not idempotent:\n{:?}\n{:?}",
                String::from_utf8_lossy(&once),
                String::from_utf8_lossy(&twice)
            );
        }
    });
}

#[test]
fn page_codec_identity() {
    use crate::page::{Documents, PageDocuments};
    let url = url::Url::parse("http://h.test/dir/p.html").unwrap();
    for (page, ct) in CANONICAL_PAGES
        .iter()
        .zip([Some("text/html"), None, Some("text/css")])
    {
        let mut same = |u: &url::Url| Some(u.as_str().to_string());
        let out = PageDocuments.rewrite(&url, ct, page, &mut same).unwrap();
        assert!(out == *page, "{}", String::from_utf8_lossy(&out));
    }
}

/// The harness itself: a case replays from its seed.
#[test]
fn a_seed_replays_its_case() {
    let draw = |seed| {
        let mut rng = Rng(seed);
        let mut m = REQUESTS[0].to_vec();
        mutate(&mut rng, &mut m, REQUESTS);
        (m, cuts(&mut rng, 100))
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
}

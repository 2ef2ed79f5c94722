//! The HTTP targets: head parsers, both chunked decoders, the length and
//! close decoders, and `HttpSession` against an oracle built from the codec.

use super::*;

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
    let s = HttpSession::new(
        site.clone(),
        cache,
        crate::event_loop::Peer::Tcp("127.0.0.1:1".parse().unwrap()),
        now,
    );
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

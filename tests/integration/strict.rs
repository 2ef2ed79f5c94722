//! Protocol strictness of `wirecat serve` over the real binary (issue 9,
//! item 8): faulty framing and malformed versions get 400 and a close, and
//! a request pipelined behind the bad one in the same write is never
//! answered, since where it begins is exactly what is in doubt.

use std::fs;
use std::net::SocketAddr;

use wirecat::http::response::try_parse_response;

use crate::both;
use crate::support::{self, exchange, Server, Transport};

/// The body of the file the pipelined request asks for.
const MARKER: &str = "pipelined-request-was-answered";
/// The request sent right behind each bad one.
const NEXT: &str = "GET /next.txt HTTP/1.1\r\nHost: t\r\n\r\n";

fn serve(t: Transport) -> (Server, SocketAddr, tempfile::TempDir) {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("next.txt"), MARKER).unwrap();
    let s = support::serve(d.path())
        .transport(t)
        .args(["-q", "--threads", "1"])
        .start();
    let addr = s.addr;
    (s, addr, d)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The status and Connection header of every response in `out`.
fn responses(mut out: &[u8]) -> Vec<(u16, Option<String>)> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let (head, n) = try_parse_response(out, 64 * 1024)
            .expect("a valid response head")
            .expect("a whole response head");
        let len: usize = head
            .header("content-length")
            .map_or(0, |v| lossy(v).parse().unwrap());
        let conn = head.header("connection").map(lossy);
        all.push((head.status, conn));
        out = &out[(n + len).min(out.len())..];
    }
    all
}

fn chunked(body: &str) -> String {
    format!("POST /next.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
}

both!(
    faulty_framing_is_400_close_and_the_next_request_is_not_answered,
    |t| {
        let (_bg, addr, _dir) = serve(t);
        let bad = [
        // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0.
        "GET /next.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            .to_string(),
        // Section 7.1: CRLF after the size line, the data, the last chunk.
        chunked("3\nabc\r\n0\r\n\r\n"),
        chunked("3\r\nabc\n0\r\n\r\n"),
        chunked("3\r\nabc\r\n0\n\n"),
        // Section 7.1.1: no CR in an extension, no space without a ";".
        chunked("3;ext\rjunk\r\nabc\r\n0\r\n\r\n"),
        chunked("3 \r\nabc\r\n0\r\n\r\n"),
        // Section 2.3: HTTP-name is case-sensitive; this is malformed, not 505.
        "GET /next.txt http/1.1\r\nHost: t\r\n\r\n".to_string(),
    ];
        for req in &bad {
            let out = exchange(addr, [req.as_str(), NEXT].concat().as_bytes());
            assert_eq!(
                responses(&out),
                vec![(400, Some("close".to_string()))],
                "{req:?} got {:?}",
                lossy(&out)
            );
            assert!(
                !lossy(&out).contains(MARKER),
                "{req:?} got {:?}",
                lossy(&out)
            );
        }
    }
);

// The control: well framed, the same requests are answered, and so is the
// one behind them, so the test above can see a pipelined answer.
both!(
    well_framed_bodies_keep_the_connection_for_the_next_request,
    |t| {
        let (_bg, addr, _dir) = serve(t);
        for body in [
            "3\r\nabc\r\n0\r\n\r\n",
            "3 ;ext=\"a b\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
        ] {
            let last = "GET /next.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
            let out = exchange(addr, [chunked(body).as_str(), last].concat().as_bytes());
            let got: Vec<u16> = responses(&out).into_iter().map(|(s, _)| s).collect();
            assert_eq!(got, vec![405, 200], "{body:?} got {:?}", lossy(&out));
            assert!(lossy(&out).ends_with(MARKER));
        }
    }
);

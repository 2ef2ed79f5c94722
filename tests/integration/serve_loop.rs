//! `wirecat serve` against the event loop's rules for ending connections:
//! downloads that close (`Connection: close`, HTTP/1.0) are flushed under
//! the send-progress rule and never cut by the linger, the send timeout
//! counts from the last byte taken, the access log records the bytes
//! actually sent, and the 503 for a full loop carries a Date and arrives
//! despite an unread request.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::both;
use crate::support::{self, Server, Stream, Transport};

/// A sparse file of zeros: large to send, free to make.
const BIG: u64 = 256 << 20;

fn serve(t: Transport, dir: &Path, extra: &[&str]) -> Server {
    support::serve(dir)
        .transport(t)
        .args(["--threads", "1"])
        .args(extra)
        .start()
}

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::File::create(d.path().join("big.bin"))
        .unwrap()
        .set_len(BIG)
        .unwrap();
    fs::write(d.path().join("a.txt"), "hello\n").unwrap();
    d
}

/// Reads a response head byte by byte (so no body byte is taken with it).
fn read_head(c: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut b).unwrap(), 1, "EOF inside the head");
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads to EOF as a slow but steady client on a link of `per_sec` bytes
/// a second: it never gets ahead of that rate, and never pauses for more
/// than a few milliseconds (the pause paces a link; it waits for nothing).
/// Returns the byte count and whether all were zero.
fn read_body(c: &mut impl Read, per_sec: u64) -> (u64, bool) {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut zeros) = (0u64, true);
    let started = Instant::now();
    loop {
        let due = Duration::from_secs_f64(total as f64 / per_sec as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead.min(Duration::from_millis(5)));
            continue;
        }
        let n = c.read(&mut buf).expect("body read");
        if n == 0 {
            return (total, zeros);
        }
        zeros &= buf[..n].iter().all(|&b| b == 0);
        total += n as u64;
    }
}

both!(
    closing_downloads_outlast_the_linger_and_log_every_byte,
    |t| {
        let d = site();
        // The linger is bounded by --send-timeout: one second here, while each
        // download is paced to take two. Every window of a second sees
        // progress, so nothing may be cut.
        let Server { bg, addr, .. } = serve(t, d.path(), &["--send-timeout", "1"]);
        for (req, version) in [
            (
                "GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                "HTTP/1.1",
            ),
            ("GET /big.bin HTTP/1.0\r\n\r\n", "HTTP/1.0"),
        ] {
            let mut c = Stream::open(addr);
            let started = Instant::now();
            c.write_all(req.as_bytes()).unwrap();
            let head = read_head(&mut c);
            assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
            let (got, zeros) = read_body(&mut c, BIG / 2);
            let took = started.elapsed();
            assert_eq!(got, BIG, "{version}: body cut short after {took:?}");
            assert!(zeros);
            assert!(
                took > Duration::from_secs(1),
                "{version}: too fast ({took:?}) to outlast the linger"
            );
            let line = bg.line_with(&format!("\"GET /big.bin {version}\""));
            assert!(line.contains(&format!(" 200 {BIG} ")), "{line}");
        }
    }
);

both!(access_log_counts_the_bytes_of_a_cut_download, |t| {
    let d = site();
    let Server { bg, addr, .. } = serve(t, d.path(), &[]);
    let mut c = Stream::open(addr);
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_head(&mut c);
    let mut buf = vec![0u8; 1 << 20];
    c.read_exact(&mut buf).unwrap();
    // Go away with a reset, mid-body.
    socket2::SockRef::from(&*c)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(c);
    let line = bg.line_with("\"GET /big.bin HTTP/1.1\"");
    let bytes: u64 = line
        .split("\" 200 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in {line}"));
    assert!((1 << 20..BIG).contains(&bytes), "{line}");
});

both!(
    send_timeout_drops_a_client_that_never_reads_after_one_timeout,
    |t| {
        let d = site();
        let Server { bg, addr, .. } = serve(t, d.path(), &["--send-timeout", "2"]);
        let mut c = Stream::open(addr);
        let asked = Instant::now();
        c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        // Never read. The log line is written when the connection ends, so
        // its arrival times the drop.
        let line = bg.line_with("\"GET /big.bin HTTP/1.1\"");
        let took = asked.elapsed();
        assert!(line.contains(" 200 "), "{line}");
        // The bug this guards against dropped it at twice the timeout (4 s).
        assert!(took >= Duration::from_secs(2), "dropped after {took:?}");
        assert!(took < Duration::from_millis(3500), "dropped after {took:?}");
    }
);

#[test]
fn refusal_503_has_a_date_and_arrives_despite_an_unread_request() {
    let d = site();
    let s = serve(
        Transport::Plain,
        d.path(),
        &[
            "-q",
            "--max-connections",
            "1",
            "--cors",
            "-H",
            "X-Site: demo",
        ],
    );
    let addr = s.addr;
    let mut held = support::connect(addr);
    held.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_head(&mut held);
    let mut body = [0u8; 6];
    held.read_exact(&mut body).unwrap();
    for _ in 0..5 {
        let mut c = support::connect(addr);
        let mut req = b"POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n".to_vec();
        req.resize(req.len() + 50_000, b'x');
        c.write_all(&req).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).expect("503 lost to a reset");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        let date = text
            .lines()
            .find_map(|l| l.strip_prefix("Date: "))
            .unwrap_or_else(|| panic!("no Date in {text}"));
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        // The lines every response carries, so a page can read the 503.
        assert!(text.contains("\r\nX-Site: demo\r\n"), "{text}");
        assert!(
            text.contains("\r\nAccess-Control-Allow-Origin: *\r\n"),
            "{text}"
        );
    }
}

//! `serve`'s access log with a stdout nobody reads (`serve | less`, a
//! paused terminal): requests are still answered, lines beyond the queue
//! are dropped and counted on stderr, logging resumes once the reader does,
//! and shutdown does not hang on the stalled pipe.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{self, connect, TIMEOUT};

/// How long one response may take: prompt, though the log is stalled.
const PROMPT: Duration = Duration::from_secs(5);

/// A request target long enough that each log line is about 2 KiB, so a
/// few thousand requests are many times a 64 KiB pipe buffer and more than
/// the 1 MiB log queue.
fn target(tag: &str) -> String {
    format!("/index.html?{tag}-{}", "x".repeat(2000))
}

/// `wirecat serve` with stdout a pipe handed back unread (after the
/// announcement) and stderr collected line by line.
struct Server {
    served: support::Server,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "hi\n").unwrap();
        let served = support::serve(dir.path())
            .args(["--threads", "2"])
            .stdout_unread()
            .stderr_lines()
            .start();
        Server {
            addr: served.addr,
            served,
            _dir: dir,
        }
    }

    /// `n` pipelined HEAD requests on each of `conns` connections, each
    /// response awaited with a short socket timeout.
    fn requests(&self, tag: &str, conns: usize, n: usize) {
        for c in 0..conns {
            let s = connect(self.addr);
            s.set_read_timeout(Some(PROMPT)).unwrap();
            let mut batch = Vec::new();
            for i in 0..n {
                write!(
                    batch,
                    "HEAD {} HTTP/1.1\r\nHost: x\r\n\r\n",
                    target(&format!("{tag}{c}.{i}"))
                )
                .unwrap();
            }
            let mut w = s.try_clone().unwrap();
            let writer = std::thread::spawn(move || w.write_all(&batch));
            let mut r = BufReader::new(s);
            for i in 0..n {
                let mut status = String::new();
                r.read_line(&mut status)
                    .unwrap_or_else(|e| panic!("request {i} on connection {c} not answered: {e}"));
                assert!(status.starts_with("HTTP/1.1 200 "), "{status:?}");
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    r.read_line(&mut line).expect("response head");
                }
            }
            writer.join().unwrap().unwrap();
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn stderr_line(&self, needle: &str) -> String {
        self.served.bg.stderr_line(needle)
    }

    fn terminate(&mut self) {
        self.served.bg.signal("TERM");
        let status = self.served.bg.wait(TIMEOUT);
        assert_eq!(
            status.code(),
            Some(0),
            "serve did not exit cleanly within {TIMEOUT:?} with stdout stalled"
        );
    }
}

/// N in "wirecat: N access-log lines dropped (...)".
fn dropped_in(line: &str) -> u64 {
    let rest = line.strip_prefix("wirecat: ").expect(line);
    rest.split(' ').next().unwrap().parse().expect(line)
}

fn is_log_line(l: &str) -> bool {
    l.starts_with("127.0.0.1 - - [") && l.contains("\"HEAD /index.html?")
}

#[test]
fn serve_answers_every_request_while_stdout_is_not_read_and_the_log_resumes() {
    let mut server = Server::start();
    const CONNS: usize = 20;
    const PER_CONN: usize = 100;
    const TOTAL: u64 = (CONNS * PER_CONN) as u64;
    server.requests("stalled", CONNS, PER_CONN);

    // The reader comes back: what was queued arrives, and the dropped
    // lines are reported once the writer has caught up.
    let (tx, lines) = mpsc::channel();
    let mut stdout = server.served.bg.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    let report = server.stderr_line("access-log lines dropped");
    assert!(report.ends_with("(stdout was not being read)"), "{report}");
    let mut dropped = dropped_in(&report);
    assert!(dropped > 0 && dropped < TOTAL, "{report}");
    // And logging goes on as before. A stalled-wave line the server
    // queued late (its loop thread preempted under load between sending a
    // response and logging it) may still take the room the first write
    // freed, so a probe's own line may be dropped, rightly: probe again,
    // and count a probe that never showed among the dropped.
    let mut written = 0;
    let mut probes = 0u64;
    let mut probes_seen = 1; // the one that ends the loop
    'resumed: loop {
        assert!(probes < 5, "the log never resumed after {probes} probes");
        server.requests(&format!("after{probes}-"), 1, 1);
        probes += 1;
        let mine = format!("?after{}-0.0-", probes - 1);
        while let Ok(l) = lines.recv_timeout(PROMPT) {
            assert!(is_log_line(&l), "{l:?}");
            if l.contains(&mine) {
                break 'resumed;
            }
            assert!(l.contains("?stalled") || l.contains("?after"), "{l:?}");
            written += u64::from(l.contains("?stalled"));
            probes_seen += u64::from(l.contains("?after"));
        }
    }
    // Every line was either written or counted as dropped. Lines of the
    // stalled wave may still have been queued (or dropped, and reported
    // again) after the first report, so the count is settled at exit.
    server.terminate();
    let rest: Vec<String> = lines.iter().collect();
    written += rest.iter().filter(|l| l.contains("?stalled")).count() as u64;
    // Probes before the one that showed were dropped, or show late.
    probes_seen += rest.iter().filter(|l| l.contains("?after")).count() as u64;
    let stderr = server.served.bg.stderr.take().expect("stderr collected");
    dropped += stderr
        .iter()
        .filter(|l| l.contains("access-log lines dropped"))
        .map(|l| dropped_in(&l))
        .sum::<u64>();
    assert_eq!(
        written + dropped,
        TOTAL + probes - probes_seen,
        "{written} written, {dropped} dropped, {probes} probes ({probes_seen} logged)"
    );
}

#[test]
fn serve_exits_promptly_on_sigterm_with_stdout_stalled() {
    let mut server = Server::start();
    // Enough to fill the pipe and leave the writer stuck with more queued.
    server.requests("stalled", 2, 100);
    server.terminate();
    let report = server.stderr_line("access-log lines dropped");
    let lost = dropped_in(&report);
    let mut rest = String::new();
    let _ = server
        .served
        .bg
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest);
    // The last line may have been cut where the pipe filled up.
    let written = rest.lines().filter(|l| is_log_line(l)).count() as u64;
    assert!(written > 0, "nothing reached stdout");
    assert!(lost > 0, "{report}");
    assert!(written + lost >= 200, "{written} written, {report}");
}

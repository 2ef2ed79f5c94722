//! The access log: one line per response in the combined log format
//! (`host - - [time] "request" status bytes "referer" "user-agent"`),
//! written to stdout. Client-controlled text is escaped so a request
//! cannot forge log lines or terminal sequences.
//!
//! Logging never blocks serving. A loop thread only formats the line and
//! hands it to a writer thread through a queue bounded at [`QUEUE_BYTES`];
//! when stdout is not being read (`serve | less`, a paused terminal, a
//! stalled log shipper) the queue fills and further lines are dropped and
//! counted, and the count is reported on stderr once the writer catches
//! up or at exit. The bound is in bytes rather than lines because a line
//! runs from about 100 bytes to about 33 KiB (an 8 KiB request target, each
//! byte escaped to four). At exit [`drain`] gives the writer a bounded time
//! to get the queued lines out. A session's lines wait ([`PendingLog`])
//! until their responses are with the kernel, to log the bytes sent.

use crate::event_loop::Host;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Formatted lines waiting for stdout, in bytes; beyond it lines are dropped.
pub const QUEUE_BYTES: usize = 1024 * 1024;

/// What one log line says.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The client's address (`unix:` over a Unix socket).
    pub peer: Host,
    pub time: SystemTime,
    /// The request line, or `None` when none could be parsed.
    pub request: Option<(&'a str, &'a str, &'a str)>,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

/// Writes one line, newline included.
pub fn write_line(w: &mut impl Write, e: &Entry<'_>) -> io::Result<()> {
    let mut line = Vec::with_capacity(200);
    write!(line, "{} - - [", e.peer)?;
    clf_time(&mut line, e.time)?;
    line.extend_from_slice(b"] \"");
    match e.request {
        Some((method, target, version)) => {
            escape(&mut line, method.as_bytes());
            line.push(b' ');
            escape(&mut line, target.as_bytes());
            line.push(b' ');
            escape(&mut line, version.as_bytes());
        }
        None => line.push(b'-'),
    }
    write!(line, "\" {} ", e.status)?;
    if e.bytes == 0 {
        line.push(b'-');
    } else {
        write!(line, "{}", e.bytes)?;
    }
    for field in [e.referer, e.user_agent] {
        line.extend_from_slice(b" \"");
        match field {
            Some(v) => escape(&mut line, v),
            None => line.push(b'-'),
        }
        line.push(b'"');
    }
    line.push(b'\n');
    w.write_all(&line)
}

/// Queues one line for stdout; never waits. A closed stdout is ignored
/// (the server keeps serving when its log reader goes away).
pub fn emit(e: &Entry<'_>) {
    let mut line = Vec::with_capacity(200);
    let _ = write_line(&mut line, e);
    QUEUE.get_or_init(Queue::for_stdout).push(line);
}

/// Waits at most `wait` for the lines queued so far to be written, then
/// reports on stderr the lines that were dropped or are still unwritten.
/// Called once serving has stopped: with a stalled stdout it gives up
/// after `wait` rather than hang the exit.
pub fn drain(wait: Duration) {
    if let Some(q) = QUEUE.get() {
        report_dropped(q.drain(wait));
    }
}

/// The most one write to stdout carries.
const BATCH_BYTES: usize = 64 * 1024;

/// How long [`drain`] waits at exit.
pub const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Started on first use, so `serve -q` and unit tests never start it.
static QUEUE: OnceLock<Queue> = OnceLock::new();

enum Msg {
    Line(Vec<u8>),
    /// Answer once everything before it is written.
    Flush(Sender<()>),
}

/// The loop threads' end of the log. The channel itself is unbounded, so
/// a `Flush` always gets in; the byte budget is what bounds it.
struct Queue {
    /// `None` when the writer could not be started: every line is dropped.
    tx: Option<Sender<Msg>>,
    counts: Arc<Counts>,
    budget: usize,
}

#[derive(Default)]
struct Counts {
    /// Bytes of lines queued and not yet written.
    bytes: AtomicUsize,
    /// Lines queued and not yet written.
    lines: AtomicU64,
    /// Lines dropped and not yet reported.
    dropped: AtomicU64,
}

impl Queue {
    /// The writer gets a duplicate of fd 1, so a write blocked on a full
    /// pipe holds no lock the rest of the process needs (std's stdout lock,
    /// taken by a final flush).
    fn for_stdout() -> Queue {
        let queue = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(|fd| Queue::spawn(std::fs::File::from(fd), QUEUE_BYTES, report_dropped));
        queue.unwrap_or_else(|e| {
            ::log::warn!("cannot start the access log writer, not logging: {e}");
            Queue {
                tx: None,
                counts: Arc::default(),
                budget: 0,
            }
        })
    }

    /// Starts a writer thread for `out`; `report` hears dropped counts.
    fn spawn(
        out: impl Write + Send + 'static,
        budget: usize,
        report: fn(u64),
    ) -> io::Result<Queue> {
        let (tx, rx) = mpsc::channel();
        let counts = Arc::<Counts>::default();
        let shared = counts.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(rx, out, &shared, report))?;
        Ok(Queue {
            tx: Some(tx),
            counts,
            budget,
        })
    }

    fn push(&self, line: Vec<u8>) {
        let len = line.len();
        let c = &self.counts;
        // Bytes and line are counted before the send, so the writer never
        // subtracts what was not added; concurrent pushes can only see
        // more queued than there is, so the budget holds.
        if c.bytes.fetch_add(len, Ordering::Relaxed) + len <= self.budget {
            c.lines.fetch_add(1, Ordering::Relaxed);
            if let Some(tx) = &self.tx {
                if tx.send(Msg::Line(line)).is_ok() {
                    return;
                }
            }
            c.lines.fetch_sub(1, Ordering::Relaxed);
        }
        c.bytes.fetch_sub(len, Ordering::Relaxed);
        c.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits up to `wait` for what is queued to be written; returns the
    /// lines lost: dropped and not yet reported, plus any still unwritten.
    fn drain(&self, wait: Duration) -> u64 {
        let c = &self.counts;
        let (ack, done) = mpsc::channel();
        let flushed = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Flush(ack)).is_ok())
            && done.recv_timeout(wait).is_ok();
        let unwritten = if flushed {
            0
        } else {
            c.lines.load(Ordering::Relaxed)
        };
        c.dropped.swap(0, Ordering::Relaxed) + unwritten
    }
}

/// The writer thread: everything already queued goes out in one write.
/// Once the queue has run empty, lines dropped meanwhile are reported, at
/// most once a second (a slow reader would otherwise get a report per
/// write); [`Queue::drain`] reports the rest.
fn write_lines(rx: Receiver<Msg>, mut out: impl Write, counts: &Counts, report: fn(u64)) {
    let mut batch = Vec::new();
    let mut acks = Vec::new();
    let mut reported_at: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut lines = 0;
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => {
                    batch.extend_from_slice(&line);
                    lines += 1;
                }
                Msg::Flush(ack) => acks.push(ack),
            }
            // Bounded, so what is written but not yet subtracted from the
            // budget is small: a reader that has caught up finds room.
            if batch.len() >= BATCH_BYTES {
                break;
            }
            next = rx.try_recv().ok();
        }
        // An error (stdout closed) loses these lines, as it always has.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        counts.bytes.fetch_sub(batch.len(), Ordering::Relaxed);
        counts.lines.fetch_sub(lines, Ordering::Relaxed);
        batch.clear();
        let due = reported_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due && counts.dropped.load(Ordering::Relaxed) > 0 {
            report(counts.dropped.swap(0, Ordering::Relaxed));
            reported_at = Some(Instant::now());
        }
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

fn report_dropped(n: u64) {
    if n > 0 {
        let _ = writeln!(
            io::stderr(),
            "wirecat: {n} access-log lines dropped (stdout was not being read)"
        );
    }
}

/// `"`, `\` and bytes outside printable ASCII as `\xHH`, as nginx does.
fn escape(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b);
        }
    }
}

/// `10/Oct/2000:13:55:36 +0000`, in UTC.
fn clf_time(out: &mut Vec<u8>, t: SystemTime) -> io::Result<()> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64).unwrap_or((1970, 1, 1));
    let rem = secs % 86_400;
    write!(
        out,
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
/// `None` only past the range of `i64` days.
pub fn civil_from_days(days: i64) -> Option<(i64, u32, u32)> {
    let z = days.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some((y, m, d))
}

/// Which waiting access log lines to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Those whose responses were wholly handed to the kernel.
    Sent,
    /// All: the connection ended, so what went out is all that will.
    All,
}

/// An access log line waiting to learn how many body bytes went out.
pub struct PendingLog {
    pub time: SystemTime,
    pub request: Option<(String, String, &'static str)>,
    pub status: u16,
    pub referer: Option<Vec<u8>>,
    pub user_agent: Option<Vec<u8>>,
    /// Where the body starts and ends, in `Outbox::written` terms.
    pub body_start: u64,
    pub body_end: u64,
}

/// Writes the waiting lines `which` says, counting for each the body
/// bytes among the `written` ones.
pub fn flush(peer: Host, logs: &mut VecDeque<PendingLog>, written: u64, which: Flush) {
    while let Some(p) = logs.front() {
        if which == Flush::Sent && written < p.body_end {
            break;
        }
        let bytes = written.clamp(p.body_start, p.body_end) - p.body_start;
        emit(&Entry {
            peer,
            time: p.time,
            request: p
                .request
                .as_ref()
                .map(|(m, t, v)| (m.as_str(), t.as_str(), *v)),
            status: p.status,
            bytes,
            referer: p.referer.as_deref(),
            user_agent: p.user_agent.as_deref(),
        });
        logs.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn combined_format() {
        let e = Entry {
            peer: Host::Ip("127.0.0.1".parse().unwrap()),
            time: UNIX_EPOCH + Duration::from_secs(971_186_136),
            request: Some(("GET", "/a\"b\n", "HTTP/1.1")),
            status: 200,
            bytes: 2326,
            referer: None,
            user_agent: Some(b"curl/8.0 \x1b[31m"),
        };
        let mut out = Vec::new();
        write_line(&mut out, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /a\\x22b\\x0A HTTP/1.1\" 200 2326 \"-\" \"curl/8.0 \\x1B[31m\"\n"
        );
        let e = Entry {
            request: None,
            bytes: 0,
            status: 400,
            ..e
        };
        let mut out = Vec::new();
        write_line(&mut out, &e).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("\"-\" 400 - \"-\""));
    }

    /// A stdout that blocks every write until the test drops `open`'s
    /// sender, like a pipe nobody reads.
    struct Stalled {
        open: Receiver<()>,
        out: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.open.recv();
            self.out.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn stalled_queue(
        budget: usize,
        report: fn(u64),
    ) -> (Queue, Sender<()>, Arc<std::sync::Mutex<Vec<u8>>>) {
        let (release, open) = mpsc::channel();
        let out = Arc::default();
        let writer = Stalled {
            open,
            out: Arc::clone(&out),
        };
        (Queue::spawn(writer, budget, report).unwrap(), release, out)
    }

    #[test]
    fn a_stalled_stdout_never_blocks_a_push_and_lines_beyond_the_budget_are_dropped() {
        fn ignore(_: u64) {}
        let (q, release, out) = stalled_queue(100, ignore);
        for i in 0..20 {
            q.push(format!("line {i:04}\n").into_bytes()); // 10 bytes each
        }
        // Ten fit the budget and wait (unwritten), ten were dropped; the
        // wait is bounded even though the writer is stuck.
        assert_eq!(q.drain(Duration::from_millis(10)), 20);
        assert_eq!(
            q.drain(Duration::from_millis(10)),
            10,
            "only the unwritten are left"
        );
        drop(release);
        assert!(out.lock().unwrap().len() <= 100);
    }

    #[test]
    fn the_writer_catches_up_and_reports_what_was_dropped() {
        static REPORTED: AtomicU64 = AtomicU64::new(0);
        fn count(n: u64) {
            REPORTED.fetch_add(n, Ordering::Relaxed);
        }
        let (q, release, out) = stalled_queue(100, count);
        for i in 0..20 {
            q.push(format!("line {i:04}\n").into_bytes());
        }
        drop(release);
        assert_eq!(q.drain(Duration::from_secs(20)), 0);
        assert_eq!(REPORTED.load(Ordering::Relaxed), 10);
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let want: String = (0..10).map(|i| format!("line {i:04}\n")).collect();
        assert_eq!(text, want);
        // With room again, lines flow.
        q.push(b"later\n".to_vec());
        assert_eq!(q.drain(Duration::from_secs(20)), 0);
        assert!(out.lock().unwrap().ends_with(b"later\n"));
    }

    #[test]
    fn calendar_dates() {
        assert_eq!(civil_from_days(0), Some((1970, 1, 1)));
        assert_eq!(civil_from_days(11_016), Some((2000, 2, 29)));
        assert_eq!(civil_from_days(20_779), Some((2026, 11, 22)));
        assert_eq!(civil_from_days(i64::MAX), None);
    }
}

//! `talk`: the client. It prints every line the server sends as it comes,
//! and sends lines, either the MESSAGEs given (one at a time, each waiting
//! for its reply, then `exit` over TCP) or lines from stdin (sent as they
//! are read, like a tiny line-based netcat).
//!
//! Pairing replies with messages: each line sent is owed one line back;
//! extra lines (a welcome, a multi-line answer) are printed and owe nothing.
//! Before sending anything the client waits briefly for the server to speak
//! first (`greeting_wait`), so a welcome is not taken for the first reply.
//! A server that leaves a reply owed for `reply_timeout` is an error.
//!
//! Sans I/O like every session: stdin lines come through a channel from a
//! reader thread that wakes the loop; the sockets belong to the event loop.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use super::lines::trim_line_end;
use crate::error::{Error, Result};
use crate::event_loop::{
    Control, DatagramQueue, DatagramService, Ended, Flow, Io, Notifier, Service, Session, Step,
};

/// Lines from stdin waiting for the loop; the reader blocks beyond this.
const STDIN_BACKLOG: usize = 1024;
/// Queued outgoing bytes above which no more stdin lines are taken.
const OUTPUT_CAP: u64 = 64 * 1024;

/// How long to wait, and for what.
#[derive(Debug, Clone, Copy)]
pub struct TalkTimeouts {
    pub reply: Option<Duration>,
    pub greeting_wait: Duration,
}

/// The lines to send: given up front, or arriving from a stdin reader.
#[derive(Debug)]
pub struct Outgoing {
    queue: VecDeque<Vec<u8>>,
    stdin: Option<Receiver<Vec<u8>>>,
    /// One at a time, each waiting for its reply (MESSAGE mode).
    lockstep: bool,
}

impl Outgoing {
    /// MESSAGE mode: these lines, one at a time.
    pub fn messages(lines: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Outgoing {
            queue: lines.into_iter().collect(),
            stdin: None,
            lockstep: true,
        }
    }

    /// stdin mode: lines sent as they arrive through `rx`; its sender
    /// hanging up is end of input.
    pub fn stream(rx: Receiver<Vec<u8>>) -> Self {
        Outgoing {
            queue: VecDeque::new(),
            stdin: Some(rx),
            lockstep: false,
        }
    }

    fn refill(&mut self) {
        while let Some(rx) = &self.stdin {
            match rx.try_recv() {
                Ok(line) => self.queue.push_back(line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.stdin = None,
            }
        }
    }

    fn is_exhausted(&self) -> bool {
        self.queue.is_empty() && self.stdin.is_none()
    }
}

/// Counts replies owed and how long they have been owed.
#[derive(Debug, Default)]
struct Owed {
    count: u64,
    since: Option<Instant>,
    last_sent: Vec<u8>,
}

impl Owed {
    fn sent(&mut self, line: &[u8], now: Instant) {
        if self.count == 0 {
            self.since = Some(now);
        }
        self.count += 1;
        self.last_sent = line.to_vec();
    }

    fn received(&mut self, lines: u64, now: Instant) {
        if lines == 0 {
            return;
        }
        self.count = self.count.saturating_sub(lines);
        self.since = (self.count > 0).then_some(now);
    }

    /// `None` also for a timeout too long for the clock to add.
    fn deadline(&self, reply: Option<Duration>) -> Option<Instant> {
        self.since?.checked_add(reply?)
    }

    fn timeout_error(&self, server: &str, reply: Option<Duration>) -> Error {
        Error::Timeout(format!(
            "no reply from {server} to {:?} within {:?}",
            String::from_utf8_lossy(&self.last_sent),
            reply.unwrap_or_default()
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connected; giving the server until then to speak first.
    Greeting(Option<Instant>),
    Talking,
    Done,
}

/// One TCP conversation.
pub struct TalkSession<W: Write> {
    out: W,
    outgoing: Outgoing,
    timeouts: TalkTimeouts,
    server: String,
    phase: Phase,
    owed: Owed,
    error: Option<Error>,
}

impl<W: Write> TalkSession<W> {
    pub fn new(out: W, outgoing: Outgoing, timeouts: TalkTimeouts, server: String) -> Self {
        TalkSession {
            out,
            outgoing,
            timeouts,
            server,
            phase: Phase::Greeting(None),
            owed: Owed::default(),
            error: None,
        }
    }

    /// The conversation ended as it should (everything sent and answered,
    /// or the server said goodbye).
    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Done && self.error.is_none()
    }

    /// Why the conversation failed, if it did.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    fn fail(&mut self, e: Error) -> Step {
        self.error = Some(e);
        self.phase = Phase::Done;
        Step::Abort
    }

    /// Prints every complete line the server sent; returns how many.
    fn print_lines(&mut self, io: &mut Io<'_>) -> io::Result<u64> {
        let data = io.input.data();
        let mut used = 0;
        let mut lines = 0;
        while let Some(i) = memchr::memchr(b'\n', &data[used..]) {
            self.out.write_all(&data[used..used + i + 1])?;
            used += i + 1;
            lines += 1;
        }
        let rest = &data[used..];
        if io.peer_closed && !rest.is_empty() {
            self.out.write_all(rest)?;
            self.out.write_all(b"\n")?;
            used = data.len();
            lines += 1;
        } else if data.len() - used >= 60 * 1024 {
            // A "line" too long to hold: print what there is, newline later.
            self.out.write_all(rest)?;
            used = data.len();
        }
        io.input.consume(used);
        if lines > 0 {
            self.out.flush()?;
        }
        Ok(lines)
    }

    /// Queues what may be sent now.
    fn send(&mut self, io: &mut Io<'_>) {
        self.outgoing.refill();
        while io.output.pending() < OUTPUT_CAP {
            if self.outgoing.lockstep && self.owed.count > 0 {
                break;
            }
            let Some(mut line) = self.outgoing.queue.pop_front() else {
                break;
            };
            self.owed.sent(&line, io.now);
            line.push(b'\n');
            io.output.push(line);
        }
    }

    fn converse(&mut self, io: &mut Io<'_>) -> Step {
        if let Phase::Greeting(until) = self.phase {
            // A wait too long for the clock to add is a wait for the server.
            let until = until.or_else(|| io.now.checked_add(self.timeouts.greeting_wait));
            self.phase = Phase::Greeting(until);
            match until {
                Some(t) if io.now >= t => self.phase = Phase::Talking,
                _ => return Step::read(until),
            }
        }
        self.send(io);
        if self.owed.count == 0 && self.outgoing.is_exhausted() {
            self.phase = Phase::Done;
            return Step::Close;
        }
        let deadline = self.owed.deadline(self.timeouts.reply);
        if deadline.is_some_and(|d| io.now >= d) {
            let e = self.owed.timeout_error(&self.server, self.timeouts.reply);
            return self.fail(e);
        }
        Step::read(deadline)
    }
}

impl<W: Write> Session for TalkSession<W> {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if self.phase == Phase::Done {
            return Step::Close;
        }
        let lines = match self.print_lines(io) {
            Ok(n) => n,
            Err(e) => return self.fail(Error::io("writing to stdout", e)),
        };
        match self.phase {
            // The server spoke first: that is its greeting, and owes nothing.
            Phase::Greeting(_) if lines > 0 => self.phase = Phase::Talking,
            Phase::Greeting(_) => {}
            _ => self.owed.received(lines, io.now),
        }
        if io.peer_closed {
            return self.server_closed();
        }
        self.converse(io)
    }
}

impl<W: Write> TalkSession<W> {
    /// The server hung up. Fine after `exit` or in stdin mode (the server
    /// decides when a netcat session ends); an error while MESSAGEs still
    /// wait to be sent or answered.
    fn server_closed(&mut self) -> Step {
        let unsent = !self.outgoing.queue.is_empty();
        let owed_before_exit = self.owed.count > 0 && self.owed.last_sent != b"exit";
        if self.outgoing.lockstep && (unsent || owed_before_exit) {
            let e = Error::Protocol(format!(
                "{} closed the connection before answering {:?}",
                self.server,
                String::from_utf8_lossy(&self.owed.last_sent)
            ));
            return self.fail(e);
        }
        self.phase = Phase::Done;
        Step::Close
    }
}

/// Starts one TCP conversation and reports how it ended.
pub struct TalkService<W: Write> {
    start: Option<(Vec<SocketAddr>, TalkSession<W>)>,
    stdin: Option<Box<dyn BufRead + Send>>,
    result: Option<Result<()>>,
}

impl<W: Write> TalkService<W> {
    /// With `stdin`, the session's lines come from it (read on a thread).
    pub fn new(
        addrs: Vec<SocketAddr>,
        session: TalkSession<W>,
        stdin: Option<Box<dyn BufRead + Send>>,
    ) -> Self {
        TalkService {
            start: Some((addrs, session)),
            stdin,
            result: None,
        }
    }

    pub fn into_result(self) -> Result<()> {
        self.result.unwrap_or(Ok(()))
    }
}

impl<W: Write> Service for TalkService<W> {
    type Session = TalkSession<W>;

    fn tick(&mut self, ctl: &mut Control<'_, TalkSession<W>>) -> bool {
        if let Some((addrs, mut session)) = self.start.take() {
            if let Some(input) = self.stdin.take() {
                session.outgoing = Outgoing::stream(spawn_line_reader(input, ctl.notifier()));
            }
            ctl.connect(addrs, session);
        }
        false
    }

    fn ended(&mut self, mut session: TalkSession<W>, how: Ended) {
        let _ = session.out.flush();
        let result = match (session.take_error(), how) {
            (Some(e), _) => Err(e),
            (None, Ended::ConnectFailed(e)) => Err(connect_error(&session.server, e)),
            (None, Ended::Failed(e)) if !session.is_complete() => {
                Err(Error::io(format!("connection to {}", session.server), e))
            }
            (None, _) => Ok(()),
        };
        self.result = Some(result);
    }
}

fn connect_error(server: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::TimedOut {
        Error::Timeout(format!("could not connect to {server}: {e}"))
    } else {
        Error::Connect(format!("could not connect to {server}: {e}"))
    }
}

/// Reads lines on a thread and hands them over, waking the loop after each
/// one and once more at end of input (the sender hanging up says so).
pub fn spawn_line_reader(
    mut input: Box<dyn BufRead + Send>,
    notifier: Notifier,
) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::sync_channel(STDIN_BACKLOG);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            loop {
                let mut line = Vec::new();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        let len = trim_line_end(&line).len();
                        line.truncate(len);
                        if tx.send(line).is_err() {
                            return;
                        }
                        notifier.notify();
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::warn!("reading stdin: {e}");
                        break;
                    }
                }
            }
            drop(tx);
            notifier.notify();
        });
    if let Err(e) = spawned {
        // The receiver sees a hung-up sender: no input, which is reported
        // by the conversation simply ending.
        log::warn!("cannot start the stdin reader: {e}");
    }
    rx
}

/// One UDP conversation: each line is one datagram, each datagram from the
/// server is printed as one line. Datagrams from anyone else are ignored.
pub struct UdpTalk<W: Write> {
    server: SocketAddr,
    out: W,
    outgoing: Outgoing,
    reply: Option<Duration>,
    owed: Owed,
    error: Option<Error>,
}

impl<W: Write> UdpTalk<W> {
    pub fn new(server: SocketAddr, out: W, outgoing: Outgoing, reply: Option<Duration>) -> Self {
        UdpTalk {
            server,
            out,
            outgoing,
            reply,
            owed: Owed::default(),
            error: None,
        }
    }

    pub fn into_result(mut self) -> Result<()> {
        let _ = self.out.flush();
        self.error.map_or(Ok(()), Err)
    }

    fn print(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        if !data.ends_with(b"\n") {
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}

impl<W: Write> DatagramService for UdpTalk<W> {
    fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        _out: &mut DatagramQueue,
        now: Instant,
    ) {
        if from != self.server {
            log::debug!("ignoring a datagram from {from}");
            return;
        }
        if let Err(e) = self.print(data) {
            self.error.get_or_insert(Error::io("writing to stdout", e));
        }
        self.owed.received(1, now);
    }

    fn tick(&mut self, out: &mut DatagramQueue, now: Instant, shutting_down: bool) -> Flow {
        if self.error.is_some() || shutting_down {
            return Flow::Stop;
        }
        self.outgoing.refill();
        while !(self.outgoing.lockstep && self.owed.count > 0) {
            let Some(line) = self.outgoing.queue.pop_front() else {
                break;
            };
            self.owed.sent(&line, now);
            if !out.push(line.clone(), self.server) {
                // Our own send queue is full: try again next turn.
                self.owed.count -= 1;
                self.outgoing.queue.push_front(line);
                break;
            }
        }
        if self.owed.count == 0 && self.outgoing.is_exhausted() {
            return Flow::Stop;
        }
        let deadline = self.owed.deadline(self.reply);
        if deadline.is_some_and(|d| now >= d) {
            let server = format!("udp://{}", self.server);
            self.error = Some(self.owed.timeout_error(&server, self.reply));
            return Flow::Stop;
        }
        Flow::Continue(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_loop::{InBuf, Outbox};

    const T: TalkTimeouts = TalkTimeouts {
        reply: Some(Duration::from_secs(5)),
        greeting_wait: Duration::from_millis(300),
    };

    struct Harness {
        session: TalkSession<Vec<u8>>,
        input: InBuf,
        output: Outbox,
        sent: Vec<u8>,
        now: Instant,
        peer_closed: bool,
    }

    impl Harness {
        fn new(outgoing: Outgoing) -> Self {
            Harness {
                session: TalkSession::new(Vec::new(), outgoing, T, "srv".into()),
                input: InBuf::new(),
                output: Outbox::new(),
                sent: Vec::new(),
                now: Instant::now(),
                peer_closed: false,
            }
        }

        fn feed(&mut self, bytes: &[u8]) -> Step {
            self.input.extend(bytes);
            let mut io = Io {
                input: &mut self.input,
                output: &mut self.output,
                peer_closed: self.peer_closed,
                shutting_down: false,
                now: self.now,
                peer: "127.0.0.1:1".parse().unwrap(),
            };
            let step = self.session.drive(&mut io);
            self.output.drain_into(&mut self.sent, usize::MAX).unwrap();
            step
        }

        fn sent(&mut self) -> String {
            String::from_utf8(std::mem::take(&mut self.sent)).unwrap()
        }

        fn printed(&self) -> &str {
            std::str::from_utf8(&self.session.out).unwrap()
        }
    }

    fn messages(m: &[&str]) -> Outgoing {
        Outgoing::messages(m.iter().map(|s| s.as_bytes().to_vec()))
    }

    #[test]
    fn the_lessons_client() {
        let mut h = Harness::new(messages(&["Michael", "Tracy", "exit"]));
        assert!(matches!(h.feed(b""), Step::Wait { .. }));
        assert_eq!(h.sent(), "", "waits for the welcome first");
        h.feed(b"Welcome!\n");
        assert_eq!(h.sent(), "Michael\n");
        h.feed(b"Hello, Mich");
        assert_eq!(h.sent(), "", "half a reply is not a reply");
        h.feed(b"ael!\r\n");
        assert_eq!(h.sent(), "Tracy\n");
        h.feed(b"Hello, Tracy!\n");
        assert_eq!(h.sent(), "exit\n");
        assert_eq!(h.feed(b"Bye!\n"), Step::Close);
        assert!(h.session.is_complete());
        assert_eq!(
            h.printed(),
            "Welcome!\nHello, Michael!\r\nHello, Tracy!\nBye!\n"
        );
    }

    #[test]
    fn a_server_that_does_not_greet_gets_the_first_line_after_the_wait() {
        let mut h = Harness::new(messages(&["ping"]));
        let Step::Wait {
            deadline: Some(d), ..
        } = h.feed(b"")
        else {
            panic!("expected a greeting deadline")
        };
        assert_eq!(d, h.now + T.greeting_wait);
        h.now = d;
        h.feed(b"");
        assert_eq!(h.sent(), "ping\n");
        assert_eq!(h.feed(b"pong\n"), Step::Close);
        assert_eq!(h.printed(), "pong\n");
    }

    #[test]
    fn a_silent_server_is_a_timeout() {
        let mut h = Harness::new(messages(&["a", "b"]));
        h.feed(b"hi\n");
        assert_eq!(h.sent(), "a\n");
        h.now += Duration::from_secs(5);
        assert_eq!(h.feed(b""), Step::Abort);
        let e = h.session.take_error().unwrap();
        assert!(matches!(e, Error::Timeout(_)), "{e}");
        assert!(e.to_string().contains("\"a\""), "{e}");
    }

    #[test]
    fn hanging_up_early_is_an_error_but_after_exit_is_not() {
        let mut h = Harness::new(messages(&["a", "exit"]));
        h.feed(b"hi\n");
        h.peer_closed = true;
        assert_eq!(h.feed(b"partial"), Step::Abort);
        assert!(matches!(h.session.take_error(), Some(Error::Protocol(_))));
        assert_eq!(h.printed(), "hi\npartial\n");

        let mut h = Harness::new(messages(&["exit"]));
        h.feed(b"hi\n");
        assert_eq!(h.sent(), "exit\n");
        h.peer_closed = true;
        assert_eq!(h.feed(b""), Step::Close);
        assert!(h.session.is_complete());
    }

    #[test]
    fn stdin_lines_are_sent_as_they_come() {
        let (tx, rx) = mpsc::sync_channel(10);
        let mut h = Harness::new(Outgoing::stream(rx));
        h.feed(b"Welcome!\n");
        tx.send(b"a".to_vec()).unwrap();
        tx.send(b"b".to_vec()).unwrap();
        assert!(matches!(h.feed(b""), Step::Wait { .. }));
        assert_eq!(h.sent(), "a\nb\n", "no waiting for replies in between");
        drop(tx);
        assert!(matches!(h.feed(b"Hello, a!\n"), Step::Wait { .. }));
        assert_eq!(h.feed(b"Hello, b!\n"), Step::Close);
        assert_eq!(h.printed(), "Welcome!\nHello, a!\nHello, b!\n");
    }

    #[test]
    fn timeouts_too_long_for_the_clock_are_no_deadline() {
        let mut h = Harness::new(messages(&["a"]));
        h.session.timeouts = TalkTimeouts {
            reply: Some(Duration::MAX),
            greeting_wait: Duration::MAX,
        };
        assert_eq!(h.feed(b""), Step::read(None), "waits for a greeting");
        assert_eq!(h.feed(b"hi\n"), Step::read(None));
        assert_eq!(h.sent(), "a\n");

        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut t = UdpTalk::new(server, Vec::new(), messages(&["a"]), Some(Duration::MAX));
        let mut q = DatagramQueue::new(8);
        assert_eq!(t.tick(&mut q, Instant::now(), false), Flow::Continue(None));
    }

    #[test]
    fn udp_talk_sends_one_at_a_time_and_times_out() {
        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut t = UdpTalk::new(server, Vec::new(), messages(&["a", "b"]), T.reply);
        let mut q = DatagramQueue::new(8);
        let now = Instant::now();
        assert!(matches!(
            t.tick(&mut q, now, false),
            Flow::Continue(Some(_))
        ));
        t.on_datagram(b"nope", "127.0.0.1:10".parse().unwrap(), &mut q, now);
        t.on_datagram(b"Hello, a!", server, &mut q, now);
        assert!(matches!(
            t.tick(&mut q, now, false),
            Flow::Continue(Some(_))
        ));
        let later = now + Duration::from_secs(5);
        assert_eq!(t.tick(&mut q, later, false), Flow::Stop);
        assert_eq!(t.out, b"Hello, a!\n");
        assert!(matches!(t.into_result(), Err(Error::Timeout(_))));
    }
}

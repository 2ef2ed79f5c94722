//! The TCP greeting session and the service that makes one per accepted
//! connection. Sans I/O: the event loop hands each session its input and
//! outbox; the session frames lines and queues replies.
//!
//! Protocol (the lesson's, line-framed): `Welcome!` on connect, `Hello,
//! <line>!` per line, `Bye!` and close on `exit`. A line is echoed as the
//! bytes received, UTF-8 or not: decoding it lossily would make a reply up
//! to three times the line.
//!
//! # Slow readers and idle clients
//!
//! - While more than `output_cap` bytes of replies wait to be sent, the
//!   session stops taking lines and stops reading (`Step::Wait { read:
//!   false }`): a pipelining client is slowed to the pace it reads replies,
//!   and TCP flow control pushes back on its writes. Queued output per
//!   connection is therefore at most `output_cap` plus one reply.
//! - If replies are queued and not one byte of them is taken by the client
//!   for `stall_timeout`, the connection is aborted (queued replies are
//!   dropped): a client that never reads is disconnected, not buffered for.
//! - With nothing queued, `idle_timeout` of silence closes the connection.

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;

use super::lines::{final_line, try_parse_line, LineError};
use super::reply::{push_hello, BYE, WELCOME};
use super::services::clock::clock_reply;
use crate::event_loop::{Ended, Io, Peer, Service, Session, Step};

/// Per-connection limits, resolved from the command line.
#[derive(Debug, Clone, Copy)]
pub struct GreetLimits {
    /// Longest line accepted, terminator excluded.
    pub max_line: usize,
    /// Queued reply bytes above which no more lines are taken.
    pub output_cap: usize,
    /// Silence (nothing read, nothing queued) before closing.
    pub idle_timeout: Option<Duration>,
    /// Queued replies the client takes none of for this long: abort.
    pub stall_timeout: Option<Duration>,
}

impl Default for GreetLimits {
    fn default() -> Self {
        GreetLimits {
            max_line: super::lines::DEFAULT_MAX_LINE,
            output_cap: 64 * 1024,
            idle_timeout: Some(Duration::from_secs(300)),
            stall_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// One client of the greeting server.
#[derive(Debug)]
pub struct GreetSession {
    limits: GreetLimits,
    peer: Peer,
    welcomed: bool,
    done: bool,
    messages: u64,
    /// The last time a line was taken or a reply byte was sent.
    last_progress: Instant,
    last_written: u64,
    /// The `clock` service: each line a timestamp, answered in this zone
    /// (no welcome, no `exit`).
    clock: Option<TimeZone>,
}

/// Why the line loop of one `drive` stopped.
enum Stop {
    /// No complete line is buffered.
    NeedMore,
    /// Enough replies are queued; wait for them to drain.
    OutputFull,
    /// The conversation is over (`exit`, an error, or EOF answered).
    Finished,
}

impl GreetSession {
    pub fn new(limits: GreetLimits, peer: Peer, now: Instant) -> Self {
        GreetSession {
            limits,
            peer,
            welcomed: false,
            done: false,
            messages: 0,
            last_progress: now,
            last_written: 0,
            clock: None,
        }
    }

    /// A session of the `clock` service instead of the greeting.
    pub fn clock(limits: GreetLimits, peer: Peer, now: Instant, zone: TimeZone) -> Self {
        GreetSession {
            clock: Some(zone),
            welcomed: true,
            ..GreetSession::new(limits, peer, now)
        }
    }

    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Lines received, `exit` included.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Answers every complete line buffered, up to the output cap. Replies
    /// go into one batch pushed once, so a burst of pipelined lines costs
    /// one allocation and (with the loop's writev) one syscall.
    fn answer_lines(&mut self, io: &mut Io<'_>) -> Stop {
        let data = io.input.data();
        let queued = io.output.pending() as usize;
        let mut batch = Vec::new();
        let mut used = 0;
        let stop = loop {
            if queued + batch.len() >= self.limits.output_cap {
                break Stop::OutputFull;
            }
            match try_parse_line(&data[used..], self.limits.max_line) {
                Ok(Some((line, n))) => {
                    used += n;
                    if self.answer(line, &mut batch) {
                        break Stop::Finished;
                    }
                }
                Ok(None) if io.peer_closed => {
                    // The lesson answers a last line the client did not end.
                    match final_line(&data[used..], self.limits.max_line) {
                        Ok(Some(line)) => {
                            self.answer(line, &mut batch);
                        }
                        Ok(None) => {}
                        Err(LineError::TooLong) => self.refuse_long_line(&mut batch),
                    }
                    used = data.len();
                    break Stop::Finished;
                }
                Ok(None) => break Stop::NeedMore,
                Err(LineError::TooLong) => {
                    self.refuse_long_line(&mut batch);
                    used = data.len();
                    break Stop::Finished;
                }
            }
        };
        if used > 0 {
            io.input.consume(used);
            self.last_progress = io.now;
        }
        io.output.push(batch);
        stop
    }

    /// Queues the reply to one line; true when the line ends the conversation.
    fn answer(&mut self, line: &[u8], out: &mut Vec<u8>) -> bool {
        self.messages += 1;
        if let Some(zone) = &self.clock {
            out.extend_from_slice(&clock_reply(line, zone));
            return false;
        }
        if line == b"exit" {
            out.extend_from_slice(BYE);
            return true;
        }
        push_hello(out, line);
        out.push(b'\n');
        false
    }

    fn refuse_long_line(&mut self, out: &mut Vec<u8>) {
        log::debug!(
            "{}: line longer than {} bytes",
            self.peer,
            self.limits.max_line
        );
        out.extend_from_slice(
            format!("Error: line longer than {} bytes\n", self.limits.max_line).as_bytes(),
        );
    }

    /// When silence or a stalled reader ends the connection.
    fn deadline(&self, queued: u64) -> Option<Instant> {
        let limit = if queued > 0 {
            self.limits.stall_timeout
        } else {
            self.limits.idle_timeout
        };
        // A limit too long for the clock (`--idle-timeout 1e19`) is none.
        limit.and_then(|d| self.last_progress.checked_add(d))
    }
}

impl Session for GreetSession {
    fn on_connect(&mut self, _local: Peer, peer: Peer, now: Instant) {
        self.peer = peer;
        self.last_progress = now;
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if self.done {
            return Step::Close;
        }
        if !self.welcomed {
            io.output.push(WELCOME);
            self.welcomed = true;
        }
        if io.output.written() != self.last_written {
            self.last_written = io.output.written();
            self.last_progress = io.now;
        }
        let stop = self.answer_lines(io);
        if matches!(stop, Stop::Finished) || (io.shutting_down && matches!(stop, Stop::NeedMore)) {
            // On shutdown, lines already received are answered; a partial
            // one is not a message yet.
            self.done = true;
            return Step::Close;
        }
        let queued = io.output.pending();
        let deadline = self.deadline(queued);
        if deadline.is_some_and(|d| io.now >= d) {
            self.done = true;
            if queued > 0 {
                log::info!("{}: not reading its replies, dropping it", self.peer);
                return Step::Abort;
            }
            log::info!("{}: idle, closing", self.peer);
            return Step::Close;
        }
        Step::Wait {
            read: matches!(stop, Stop::NeedMore) && !io.shutting_down,
            deadline,
        }
    }

    fn input_cap(&self) -> usize {
        // A whole line and its CRLF must fit, or the cap could never be seen.
        (64 * 1024).max(self.limits.max_line.saturating_add(2))
    }
}

/// Makes a [`GreetSession`] per accepted connection and logs each one, as
/// the lesson's server prints them.
#[derive(Debug, Clone)]
pub struct GreetService {
    limits: GreetLimits,
    clock: Option<TimeZone>,
}

impl GreetService {
    pub fn new(limits: GreetLimits) -> Self {
        GreetService {
            limits,
            clock: None,
        }
    }

    /// The `clock` service: timestamps in, dates in `zone` out.
    pub fn clock(limits: GreetLimits, zone: TimeZone) -> Self {
        GreetService {
            limits,
            clock: Some(zone),
        }
    }
}

impl Service for GreetService {
    type Session = GreetSession;

    fn accept(&mut self, peer: Peer, _local: Peer) -> Option<GreetSession> {
        log::info!("accepted connection from {peer}");
        let now = Instant::now();
        Some(match &self.clock {
            Some(zone) => GreetSession::clock(self.limits, peer, now, zone.clone()),
            None => GreetSession::new(self.limits, peer, now),
        })
    }

    fn refusal(&self) -> Vec<u8> {
        b"Error: too many clients, try again later\n".to_vec()
    }

    fn ended(&mut self, session: GreetSession, how: Ended) {
        if let Ended::Failed(e) = how {
            log::debug!("connection from {}: {e}", session.peer);
        }
        log::info!(
            "connection from {} closed ({} messages)",
            session.peer,
            session.messages
        );
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::event_loop::testing::{OnWire, Wire};

    /// A session on a [`Wire`]; the wire's fields (`input`, `output`,
    /// `sent`, `now`, `peer_closed`, `shutting_down`) are the harness's own.
    type Harness = OnWire<GreetSession>;

    impl Harness {
        fn new(limits: GreetLimits) -> Self {
            let wire = Wire::with_peer("127.0.0.1:5000".parse().unwrap());
            Harness {
                session: GreetSession::new(limits, wire.peer, wire.now),
                wire,
            }
        }

        fn text(&self) -> String {
            String::from_utf8(self.sent.clone()).unwrap()
        }
    }

    fn waiting(step: Step) -> bool {
        matches!(step, Step::Wait { read: true, .. })
    }

    #[test]
    fn the_lessons_dialogue() {
        let mut h = Harness::new(GreetLimits::default());
        assert!(waiting(h.feed(b"")));
        assert!(waiting(h.feed(b"Michael\n")));
        assert!(waiting(h.feed(b"Tracy\r\n")));
        assert!(waiting(h.feed(b"Sarah\n")));
        assert_eq!(h.feed(b"exit\n"), Step::Close);
        assert_eq!(
            h.text(),
            "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\nBye!\n"
        );
        assert_eq!(h.session.messages(), 4);
    }

    #[test]
    fn byte_at_a_time_and_all_at_once_agree() {
        let stream: &[u8] = b"a\r\nbb\n\nccc\r\nexit\nignored\n";
        let mut whole = Harness::new(GreetLimits::default());
        assert_eq!(whole.feed(stream), Step::Close);
        for cut in 0..=stream.len() {
            let mut h = Harness::new(GreetLimits::default());
            h.feed(&stream[..cut]);
            h.feed(&stream[cut..]);
            assert_eq!(h.text(), whole.text(), "cut at {cut}");
        }
        let mut h = Harness::new(GreetLimits::default());
        for b in stream {
            h.feed(&[*b]);
        }
        assert_eq!(h.text(), whole.text());
        assert_eq!(
            whole.text(),
            "Welcome!\nHello, a!\nHello, bb!\nHello, !\nHello, ccc!\nBye!\n"
        );
    }

    #[test]
    fn drive_without_news_changes_nothing() {
        let mut h = Harness::new(GreetLimits::default());
        h.feed(b"x\npart");
        let before = h.text();
        for _ in 0..3 {
            assert!(waiting(h.feed(b"")));
        }
        assert_eq!(h.text(), before);
        assert_eq!(h.input.data(), b"part");
    }

    #[test]
    fn partial_last_line_is_answered_at_eof() {
        for (input, want) in [
            (&b"Sarah"[..], "Hello, Sarah!\n"),
            (b"Sarah\r", "Hello, Sarah!\n"),
            (b"exit", "Bye!\n"),
            (b"", ""),
        ] {
            let mut h = Harness::new(GreetLimits::default());
            h.feed(input);
            h.peer_closed = true;
            assert_eq!(h.feed(b""), Step::Close);
            assert_eq!(h.text(), format!("Welcome!\n{want}"), "{input:?}");
        }
    }

    #[test]
    fn overlong_line_gets_an_error_and_a_close() {
        let limits = GreetLimits {
            max_line: 10,
            ..GreetLimits::default()
        };
        let mut h = Harness::new(limits);
        assert!(waiting(h.feed(b"ok\n0123456789")));
        assert_eq!(h.feed(b"abc"), Step::Close);
        assert_eq!(
            h.text(),
            "Welcome!\nHello, ok!\nError: line longer than 10 bytes\n"
        );
        assert!(h.input.is_empty());
    }

    #[test]
    fn lines_are_echoed_as_received_without_amplification() {
        let mut h = Harness::new(GreetLimits::default());
        h.feed(b"caf\xc3\xa9 \xff\n");
        assert_eq!(h.sent, b"Welcome!\nHello, caf\xc3\xa9 \xff!\n");
        // A longest line of bytes that are not UTF-8 costs its own length
        // plus the greeting, not three times that (U+FFFD each).
        let max_line = GreetLimits::default().max_line;
        let mut line = vec![0xff; max_line];
        line.push(b'\n');
        h.sent.clear();
        h.feed(&line);
        assert_eq!(h.sent.len(), line.len() + b"Hello, !".len());
    }

    #[test]
    fn queued_output_stays_under_the_cap() {
        let limits = GreetLimits {
            output_cap: 1000,
            ..GreetLimits::default()
        };
        let mut h = Harness::new(limits);
        let mut lines = Vec::new();
        for i in 0..5000 {
            lines.extend_from_slice(format!("message {i}\n").as_bytes());
        }
        h.input.extend(&lines);
        // The client reads nothing: replies pile up to the cap, then the
        // session stops taking lines and stops reading.
        let step = h.drive();
        assert!(matches!(step, Step::Wait { read: false, .. }), "{step:?}");
        let queued = h.output.pending();
        assert!((1000..1000 + 64).contains(&queued), "{queued}");
        assert_eq!(h.drive(), step);
        assert_eq!(h.output.pending(), queued);
        // Once drained, it carries on where it stopped, in order.
        let mut rounds = 0;
        while !h.input.is_empty() {
            h.flush();
            h.drive();
            assert!(h.output.pending() < 1000 + 64);
            rounds += 1;
        }
        h.flush();
        assert!(rounds > 10);
        let text = h.text();
        assert_eq!(text.lines().count(), 5001);
        assert_eq!(text.lines().last(), Some("Hello, message 4999!"));
    }

    #[test]
    fn a_reader_that_stalls_is_aborted_and_an_idle_one_closed() {
        let limits = GreetLimits {
            output_cap: 100,
            idle_timeout: Some(Duration::from_secs(60)),
            stall_timeout: Some(Duration::from_secs(5)),
            ..GreetLimits::default()
        };
        let mut h = Harness::new(limits);
        h.input.extend(&b"hello\n".repeat(100));
        let Step::Wait {
            read: false,
            deadline: Some(d),
        } = h.drive()
        else {
            panic!("expected backpressure with a deadline")
        };
        assert_eq!(d, h.now + Duration::from_secs(5));
        // Progress (some bytes taken) moves the deadline.
        h.output.drain_into(&mut Vec::new(), 10).unwrap();
        h.now += Duration::from_secs(4);
        let Step::Wait {
            deadline: Some(d2), ..
        } = h.drive()
        else {
            panic!("expected to keep waiting")
        };
        assert_eq!(d2, h.now + Duration::from_secs(5));
        h.now += Duration::from_secs(5);
        assert_eq!(h.drive(), Step::Abort);

        let mut idle = Harness::new(limits);
        idle.feed(b""); // the welcome goes out: that is progress
        let Step::Wait {
            deadline: Some(d), ..
        } = idle.feed(b"")
        else {
            panic!("expected an idle deadline")
        };
        idle.now = d;
        assert_eq!(idle.feed(b""), Step::Close);
    }

    #[test]
    fn timeouts_too_long_for_the_clock_are_no_deadline() {
        let limits = GreetLimits {
            output_cap: 10,
            idle_timeout: Some(Duration::MAX),
            stall_timeout: Some(Duration::MAX),
            ..GreetLimits::default()
        };
        let mut h = Harness::new(limits);
        assert_eq!(h.feed(b""), Step::read(None));
        h.input.extend(b"a\nb\nc\n");
        assert_eq!(
            h.drive(),
            Step::Wait {
                read: false,
                deadline: None
            }
        );
    }

    #[test]
    fn the_clock_answers_each_line_and_evaluates_nothing() {
        let wire = Wire::with_peer("127.0.0.1:5000".parse().unwrap());
        let mut h = Harness {
            session: GreetSession::clock(
                GreetLimits::default(),
                wire.peer,
                wire.now,
                TimeZone::UTC,
            ),
            wire,
        };
        h.feed(b"0\n__import__('os')\n\n-1.5\n");
        let text = h.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Thu Jan  1 00:00:00 1970");
        assert!(lines[1].starts_with("Error: send a Unix timestamp"));
        assert!(lines[2].starts_with("Error: send a Unix timestamp"));
        assert_eq!(lines[3], "Wed Dec 31 23:59:58 1969");
        assert!(matches!(h.feed(b"exit\n"), Step::Wait { read: true, .. }));
        assert!(
            h.text().lines().nth(4).unwrap().starts_with("Error:"),
            "exit is not special"
        );
    }

    #[test]
    fn shutdown_answers_buffered_lines_then_closes() {
        let mut h = Harness::new(GreetLimits::default());
        h.shutting_down = true;
        assert_eq!(h.feed(b"a\nb\npartial"), Step::Close);
        assert_eq!(h.text(), "Welcome!\nHello, a!\nHello, b!\n");
    }
}

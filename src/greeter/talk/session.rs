//! `talk` over TCP: [`TalkSession`], one conversation, and [`TalkService`],
//! which starts it and reports how it ended. Sans I/O like every session:
//! the event loop owns the socket and hands the session its input and
//! outbox; what is printed goes to the writer the session is given, and
//! stdin lines arrive through [`Outgoing`]. Nothing here opens a terminal
//! or a socket.
//!
//! Before sending anything the client waits briefly for the server to speak
//! first (`greeting_wait`), so a welcome is not taken for the first reply.
//! A server that leaves a reply owed for `reply_timeout` is an error.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use super::pacing::{Outgoing, Owed, TalkTimeouts, QUIT};
use super::terminal::{print_lines, spawn_line_reader};
use crate::error::{Error, Result};
use crate::event_loop::{Control, Ended, Io, Service, Session, Step};

/// Queued outgoing bytes above which no more stdin lines are taken.
const OUTPUT_CAP: u64 = 64 * 1024;

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
    /// A chat member's `/quit` went out then: the server closes next.
    quit_at: Option<Instant>,
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
            quit_at: None,
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
        let printed = print_lines(&mut self.out, io.input.data(), io.peer_closed)?;
        io.input.consume(printed.used);
        Ok(printed.lines)
    }

    /// Queues what may be sent now.
    fn send(&mut self, io: &mut Io<'_>) {
        self.outgoing.refill();
        while io.output.pending() < OUTPUT_CAP {
            let Some(mut line) = self.outgoing.next(&self.owed) else {
                break;
            };
            if !self.outgoing.is_chat() {
                self.owed.sent(&line, io.now);
            } else if line == QUIT {
                self.quit_at = Some(io.now);
            }
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
        if let Some(at) = self.quit_at {
            // Chat: the server ends the session after `/quit`.
            let deadline = self.timeouts.reply.and_then(|r| at.checked_add(r));
            if deadline.is_some_and(|d| io.now >= d) {
                let e = Error::Timeout(format!("{} did not close after /quit", self.server));
                return self.fail(e);
            }
            return Step::read(deadline);
        }
        if self.owed.is_settled() && self.outgoing.is_exhausted() {
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

    /// The server hung up. Fine after `exit` or in stdin mode (the server
    /// decides when a netcat session ends); an error while MESSAGEs still
    /// wait to be sent or answered.
    fn server_closed(&mut self) -> Step {
        let unsent = self.outgoing.has_unsent();
        let owed_before_exit = !self.owed.is_settled() && self.owed.last_sent() != b"exit";
        if self.outgoing.is_lockstep() && (unsent || owed_before_exit) {
            let e = Error::Protocol(format!(
                "{} closed the connection before answering {:?}",
                self.server,
                String::from_utf8_lossy(self.owed.last_sent())
            ));
            return self.fail(e);
        }
        self.phase = Phase::Done;
        Step::Close
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

/// Starts one TCP conversation and reports how it ended.
pub struct TalkService<W: Write> {
    start: Option<(Vec<SocketAddr>, TalkSession<W>)>,
    /// Connect to this Unix-domain socket instead of the addresses.
    unix: Option<PathBuf>,
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
            unix: None,
            stdin,
            result: None,
        }
    }

    /// Connects to the Unix-domain socket at `path` (the session does not
    /// know the difference).
    pub fn over_unix(mut self, path: PathBuf) -> Self {
        self.unix = Some(path);
        self
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
                let rx = spawn_line_reader(input, ctl.notifier());
                session.outgoing.read_from(rx);
            }
            match self.unix.take() {
                Some(path) => ctl.connect_unix(path, session),
                None => ctl.connect(addrs, session),
            }
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::event_loop::testing::{OnWire, Wire};

    const T: TalkTimeouts = TalkTimeouts {
        reply: Some(Duration::from_secs(5)),
        greeting_wait: Duration::from_millis(300),
    };

    /// A session on a [`Wire`]; the wire's fields (`now`, `peer_closed`)
    /// are the harness's own.
    type Harness = OnWire<TalkSession<Vec<u8>>>;

    impl Harness {
        fn new(outgoing: Outgoing) -> Self {
            Harness {
                session: TalkSession::new(Vec::new(), outgoing, T, "srv".into()),
                wire: Wire::new(),
            }
        }

        fn sent(&mut self) -> String {
            String::from_utf8(self.wire.take_sent()).unwrap()
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
    }
}

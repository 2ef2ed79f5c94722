//! `talk` over UDP: [`UdpTalk`], each line one datagram to the server,
//! each datagram from the server printed as one line, datagrams from anyone
//! else ignored. A datagram service: the event loop owns the socket;
//! printing goes to the writer it is given.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::pacing::{Outgoing, Owed, QUIT};
use super::terminal::print_datagram;
use crate::error::{Error, Result};
use crate::event_loop::{DatagramQueue, DatagramService, Flow};

/// The chat room's answer to `/quit`.
const CHAT_BYE: &[u8] = b"* Bye!\n";

/// One UDP conversation.
pub struct UdpTalk<W: Write> {
    server: SocketAddr,
    out: W,
    outgoing: Outgoing,
    reply: Option<Duration>,
    owed: Owed,
    /// A chat member's `/quit` went out then: the room's `* Bye!` ends it.
    quit_at: Option<Instant>,
    said_bye: bool,
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
            quit_at: None,
            said_bye: false,
            error: None,
        }
    }

    pub fn into_result(mut self) -> Result<()> {
        let _ = self.out.flush();
        self.error.map_or(Ok(()), Err)
    }

    /// Queues what may be sent now; a full queue keeps the line for later.
    fn send(&mut self, out: &mut DatagramQueue, now: Instant) {
        self.outgoing.refill();
        while let Some(line) = self.outgoing.next(&self.owed) {
            let owes = !self.outgoing.is_chat();
            if owes {
                self.owed.sent(&line, now);
            }
            if !out.push(line.clone(), self.server) {
                // Our own send queue is full: try again next turn.
                if owes {
                    self.owed.unsent();
                }
                self.outgoing.put_back(line);
                break;
            }
            if !owes && line == QUIT {
                self.quit_at = Some(now);
            }
        }
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
        if let Err(e) = print_datagram(&mut self.out, data) {
            self.error.get_or_insert(Error::io("writing to stdout", e));
        }
        self.owed.received(1, now);
        if self.quit_at.is_some() && data == CHAT_BYE {
            self.said_bye = true;
        }
    }

    fn tick(&mut self, out: &mut DatagramQueue, now: Instant, shutting_down: bool) -> Flow {
        if self.error.is_some() || shutting_down {
            return Flow::Stop;
        }
        self.send(out, now);
        if let Some(at) = self.quit_at {
            let deadline = self.reply.and_then(|r| at.checked_add(r));
            if self.said_bye || deadline.is_some_and(|d| now >= d) {
                return Flow::Stop;
            }
            return Flow::Continue(deadline);
        }
        if self.owed.is_settled() && self.outgoing.is_exhausted() {
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

    fn messages(m: &[&str]) -> Outgoing {
        Outgoing::messages(m.iter().map(|s| s.as_bytes().to_vec()))
    }

    #[test]
    fn timeouts_too_long_for_the_clock_are_no_deadline() {
        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut t = UdpTalk::new(server, Vec::new(), messages(&["a"]), Some(Duration::MAX));
        let mut q = DatagramQueue::new(8);
        assert_eq!(t.tick(&mut q, Instant::now(), false), Flow::Continue(None));
    }

    #[test]
    fn udp_talk_sends_one_at_a_time_and_times_out() {
        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let reply = Some(Duration::from_secs(5));
        let mut t = UdpTalk::new(server, Vec::new(), messages(&["a", "b"]), reply);
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

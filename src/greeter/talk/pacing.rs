//! What `talk` sends next and which replies it is still owed, shared by the
//! TCP and the UDP client. Pure bookkeeping over lines and instants: no
//! I/O, no printing, no sockets.
//!
//! Pairing replies with messages: each line sent is owed one line back;
//! extra lines (a welcome, a multi-line answer) owe nothing. In MESSAGE
//! mode (lockstep) the next line waits until nothing is owed.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::error::Error;

/// How long to wait, and for what.
#[derive(Debug, Clone, Copy)]
pub struct TalkTimeouts {
    /// A reply owed for this long is an error (`None`: wait forever).
    pub reply: Option<Duration>,
    /// How long a TCP server may take to speak first (a welcome).
    pub greeting_wait: Duration,
}

/// A chat member's last line.
pub(super) const QUIT: &[u8] = b"/quit";

/// The lines to send: given up front, or arriving from a stdin reader.
#[derive(Debug)]
pub struct Outgoing {
    queue: VecDeque<Vec<u8>>,
    stdin: Option<Receiver<Vec<u8>>>,
    /// One at a time, each waiting for its reply (MESSAGE mode).
    lockstep: bool,
    /// A chat member: lines owe no reply, and `/quit` goes last.
    chat: bool,
}

impl Outgoing {
    /// MESSAGE mode: these lines, one at a time.
    pub fn messages(lines: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Outgoing {
            queue: lines.into_iter().collect(),
            stdin: None,
            lockstep: true,
            chat: false,
        }
    }

    /// stdin mode: lines sent as they arrive through `rx`; its sender
    /// hanging up is end of input.
    pub fn stream(rx: Receiver<Vec<u8>>) -> Self {
        Outgoing {
            queue: VecDeque::new(),
            stdin: Some(rx),
            lockstep: false,
            chat: false,
        }
    }

    /// A chat member: `/nick NAME` first if named, then the lines (given,
    /// or from `rx`) as they come, owing no replies, then `/quit`.
    pub fn chat(
        name: Option<&str>,
        lines: impl IntoIterator<Item = Vec<u8>>,
        rx: Option<Receiver<Vec<u8>>>,
    ) -> Self {
        let nick = name.map(|n| format!("/nick {n}").into_bytes());
        let mut out = Outgoing {
            queue: nick.into_iter().chain(lines).collect(),
            stdin: rx,
            lockstep: false,
            chat: true,
        };
        if out.stdin.is_none() {
            out.queue.push_back(QUIT.to_vec());
        }
        out
    }

    /// The rest of the lines come from `rx` (a stdin reader): a chat
    /// member keeps its `/nick` and sends `/quit` when `rx` ends.
    pub(super) fn read_from(&mut self, rx: Receiver<Vec<u8>>) {
        if !self.chat {
            *self = Outgoing::stream(rx);
            return;
        }
        if self.stdin.is_none() && self.queue.back().is_some_and(|l| l == QUIT) {
            self.queue.pop_back();
        }
        self.stdin = Some(rx);
    }

    /// A chat member: lines owe no reply.
    pub(super) fn is_chat(&self) -> bool {
        self.chat
    }

    /// Takes in whatever the stdin reader has handed over so far.
    pub(super) fn refill(&mut self) {
        while let Some(rx) = &self.stdin {
            match rx.try_recv() {
                Ok(line) => self.queue.push_back(line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.stdin = None;
                    if self.chat {
                        self.queue.push_back(QUIT.to_vec());
                    }
                }
            }
        }
    }

    /// The next line that may go out now, given what is owed.
    pub(super) fn next(&mut self, owed: &Owed) -> Option<Vec<u8>> {
        if self.lockstep && owed.count > 0 {
            return None;
        }
        self.queue.pop_front()
    }

    /// A line taken by [`Outgoing::next`] that could not be sent yet.
    pub(super) fn put_back(&mut self, line: Vec<u8>) {
        self.queue.push_front(line);
    }

    /// MESSAGE mode: lines given up front, each awaiting its reply.
    pub(super) fn is_lockstep(&self) -> bool {
        self.lockstep
    }

    pub(super) fn has_unsent(&self) -> bool {
        !self.queue.is_empty()
    }

    pub(super) fn is_exhausted(&self) -> bool {
        self.queue.is_empty() && self.stdin.is_none()
    }
}

/// Counts replies owed and how long they have been owed.
#[derive(Debug, Default)]
pub(super) struct Owed {
    count: u64,
    since: Option<Instant>,
    last_sent: Vec<u8>,
}

impl Owed {
    pub(super) fn sent(&mut self, line: &[u8], now: Instant) {
        if self.count == 0 {
            self.since = Some(now);
        }
        self.count += 1;
        self.last_sent = line.to_vec();
    }

    /// A line counted by [`Owed::sent`] did not go out after all.
    pub(super) fn unsent(&mut self) {
        self.count -= 1;
    }

    pub(super) fn received(&mut self, lines: u64, now: Instant) {
        if lines == 0 {
            return;
        }
        self.count = self.count.saturating_sub(lines);
        self.since = (self.count > 0).then_some(now);
    }

    /// No reply is owed.
    pub(super) fn is_settled(&self) -> bool {
        self.count == 0
    }

    pub(super) fn last_sent(&self) -> &[u8] {
        &self.last_sent
    }

    /// `None` also for a timeout too long for the clock to add.
    pub(super) fn deadline(&self, reply: Option<Duration>) -> Option<Instant> {
        self.since?.checked_add(reply?)
    }

    pub(super) fn timeout_error(&self, server: &str, reply: Option<Duration>) -> Error {
        Error::Timeout(format!(
            "no reply from {server} to {:?} within {:?}",
            String::from_utf8_lossy(&self.last_sent),
            reply.unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_member_names_itself_first_owes_nothing_and_quits_last() {
        let owed = Owed::default();
        let mut given = Outgoing::chat(Some("bob"), [b"hi".to_vec()], None);
        let mut sent = Vec::new();
        while let Some(l) = given.next(&owed) {
            sent.push(l);
        }
        assert_eq!(sent, [&b"/nick bob"[..], b"hi", b"/quit"]);
        assert!(given.is_chat() && given.is_exhausted());

        let (tx, rx) = std::sync::mpsc::channel();
        let mut typed = Outgoing::chat(None, [], None);
        typed.read_from(rx);
        tx.send(b"hello".to_vec()).unwrap();
        typed.refill();
        assert_eq!(typed.next(&owed), Some(b"hello".to_vec()));
        assert_eq!(typed.next(&owed), None, "no /quit while stdin is open");
        drop(tx);
        typed.refill();
        assert_eq!(typed.next(&owed), Some(b"/quit".to_vec()));
        assert!(typed.is_exhausted());
    }
}

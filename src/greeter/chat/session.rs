//! One TCP member of the chat room ([`ChatSession`]) and the service that
//! makes one per connection ([`ChatService`]). The room is shared by the
//! sessions of the one loop through `Rc<RefCell<..>>`; a session that
//! posts wakes the members whose queue it filled, and each session moves
//! its own queue into its outbox, up to `output_cap` bytes at a time.
//!
//! Sessions see a member number, never an address family: the peer is
//! kept for logs only.

use crate::event_loop::Peer;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::room::{Room, RoomLimits, Said};
use crate::event_loop::{Ended, Io, Service, Session, SessionWaker, Step};
use crate::greeter::lines::{try_parse_line, LineError};

/// The room's and each member's limits.
#[derive(Debug, Clone, Copy)]
pub struct ChatLimits {
    pub max_line: usize,
    pub max_members: usize,
    /// Lines waiting for one member before it is dropped.
    pub queue_cap: usize,
    /// Bytes moved from a member's queue to its outbox at most.
    pub output_cap: usize,
    /// Silence (nothing received) before a member is closed.
    pub idle_timeout: Option<Duration>,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            max_line: 2048,
            max_members: 10_000,
            queue_cap: 1024,
            output_cap: 16 * 1024,
            idle_timeout: Some(Duration::from_secs(3600)),
        }
    }
}

/// Lines waiting in all queues together above which members' lines are
/// not taken (the senders stop reading) until the queues drain to half:
/// a burst from every member at once (1,000 members, 10 lines each, is
/// 10 million queue entries) would otherwise be queued whole, at 16 bytes
/// an entry, before a single member's turn comes. 16 MiB of entries.
const ROOM_BUDGET: usize = 1 << 20;
/// A sender held back re-checks at least this often.
const HELD_RECHECK: Duration = Duration::from_millis(200);
/// How long a member's outbox may hold bytes the kernel does not take
/// before the member counts as not reading (and a full queue drops it).
/// Counted in send progress, not in turns: a member whose turn is late
/// because the loop is busy has not stopped reading.
const STALLED_AFTER: Duration = Duration::from_secs(2);
/// While bytes wait in its outbox, a member re-checks its progress this
/// often once stalled (so a reader that resumes is seen to).
const STALL_RECHECK: Duration = Duration::from_millis(250);

/// Send progress of one member, as seen at its turns: whether its socket
/// has stopped taking bytes. Pure, so the rule is table-tested.
#[derive(Debug, Clone, Copy)]
struct Progress {
    written: u64,
    /// When bytes were last seen taken (or the outbox seen empty).
    at: Instant,
}

impl Progress {
    /// Notes the outbox as the loop left it (after its flush, before this
    /// turn adds to it); true when bytes have waited with none taken for
    /// [`STALLED_AFTER`].
    fn stalled(&mut self, empty: bool, written: u64, now: Instant) -> bool {
        if empty || written != self.written {
            self.written = written;
            self.at = now;
        }
        !empty && now.saturating_duration_since(self.at) >= STALLED_AFTER
    }

    /// When to look again while bytes wait in the outbox.
    fn recheck(&self, now: Instant) -> Instant {
        let stalls_at = self.at + STALLED_AFTER;
        if stalls_at > now {
            stalls_at
        } else {
            now + STALL_RECHECK
        }
    }
}

/// The room and the way to wake each member, shared by one loop's sessions.
#[derive(Debug)]
struct Hall {
    room: Room<u64>,
    wakers: HashMap<u64, SessionWaker>,
    /// Members whose lines wait for the room to drain (a set: a held
    /// member re-checks, and must not be woken once per re-check).
    held: HashSet<u64>,
}

impl Hall {
    /// Gets every member with news driven (not `me`: it is being driven).
    fn wake_others(&mut self, me: u64) {
        if !self.held.is_empty() && self.room.queued() <= ROOM_BUDGET / 2 {
            for k in std::mem::take(&mut self.held) {
                if let Some(w) = self.wakers.get(&k) {
                    w.wake();
                }
            }
        }
        for k in self.room.take_woken() {
            if k != me {
                if let Some(w) = self.wakers.get(&k) {
                    w.wake();
                }
            }
        }
    }
}

#[derive(Debug)]
pub struct ChatSession {
    id: u64,
    hall: Rc<RefCell<Hall>>,
    limits: ChatLimits,
    peer: Peer,
    arrived: bool,
    done: bool,
    /// Lines are waiting for the room to drain (see [`ROOM_BUDGET`]).
    held: bool,
    lines: u64,
    last_heard: Instant,
    progress: Progress,
}

impl ChatSession {
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Takes every complete line; `Some(step)` when the member is done.
    fn take_lines(&mut self, io: &mut Io<'_>, hall: &mut Hall) -> Option<Step> {
        let data = io.input.data();
        let mut used = 0;
        let mut end = None;
        loop {
            if hall.room.queued() >= ROOM_BUDGET {
                self.held = true;
                hall.held.insert(self.id);
                break;
            }
            match try_parse_line(&data[used..], self.limits.max_line) {
                Ok(Some((line, n))) => {
                    used += n;
                    self.lines += 1;
                    if hall.room.line(&self.id, line) == Said::Quit {
                        end = Some(Step::Close);
                        break;
                    }
                }
                Ok(None) if io.peer_closed => {
                    end = Some(Step::Close);
                    break;
                }
                Ok(None) => break,
                Err(LineError::TooLong) => {
                    log::debug!("{}: line longer than {}", self.peer, self.limits.max_line);
                    let msg = format!("Error: line longer than {} bytes\n", self.limits.max_line);
                    // Ahead of anything still queued: this is the last word.
                    io.output.push(msg);
                    used = data.len();
                    end = Some(Step::Close);
                    break;
                }
            }
        }
        if used > 0 {
            io.input.consume(used);
            self.last_heard = io.now;
        }
        end
    }

    /// Moves queued room lines into the outbox, up to the output cap, in
    /// one push of exactly their size (a growing Vec could hold twice it,
    /// and a thousand members' outboxes are most of the room's memory).
    ///
    /// "Behind" (a full queue then drops the member) is decided before
    /// the push, on what the loop could not send: bytes just pushed have
    /// not been offered to the kernel yet, and a member whose turn comes
    /// late under load must not count as not reading.
    fn fill_outbox(&mut self, io: &mut Io<'_>, hall: &mut Hall) {
        let stalled = self
            .progress
            .stalled(io.output.is_empty(), io.output.written(), io.now);
        hall.room.set_behind(&self.id, stalled);
        let room = self
            .limits
            .output_cap
            .saturating_sub(io.output.pending() as usize);
        let mut lines = Vec::new();
        let mut total = 0;
        while total < room {
            match hall.room.pop(&self.id) {
                Some(line) => {
                    total += line.len();
                    lines.push(line);
                }
                None => break,
            }
        }
        if !lines.is_empty() {
            let mut batch = Vec::with_capacity(total);
            for line in &lines {
                batch.extend_from_slice(line);
            }
            io.output.push(batch);
        }
    }

    fn turn(&mut self, io: &mut Io<'_>, hall: &mut Hall) -> Step {
        if !self.arrived {
            if !hall.room.arrive(self.id, true) {
                io.output.push("Error: the room is full, try again later\n");
                return Step::Close;
            }
            self.arrived = true;
        }
        self.held = false;
        let end = self.take_lines(io, hall);
        if hall.room.is_dropped(&self.id) {
            log::info!("{}: not reading, dropped", self.peer);
            return Step::Abort;
        }
        self.fill_outbox(io, hall);
        if let Some(step) = end {
            return step;
        }
        if io.shutting_down {
            return Step::Close;
        }
        let deadline = self
            .limits
            .idle_timeout
            .and_then(|d| self.last_heard.checked_add(d));
        if self.held {
            // Not idle: its lines wait for the room (woken, or re-checked).
            return Step::Wait {
                read: false,
                deadline: io.now.checked_add(HELD_RECHECK),
            };
        }
        if deadline.is_some_and(|d| io.now >= d) {
            io.output.push("* Closing: idle too long\n");
            return Step::Close;
        }
        let recheck = (!io.output.is_empty()).then(|| self.progress.recheck(io.now));
        Step::read(deadline.into_iter().chain(recheck).min())
    }
}

impl Session for ChatSession {
    fn on_waker(&mut self, waker: SessionWaker) {
        self.hall.borrow_mut().wakers.insert(self.id, waker);
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if self.done {
            return Step::Close;
        }
        let hall = self.hall.clone();
        let mut hall = hall.borrow_mut();
        let step = self.turn(io, &mut hall);
        hall.wake_others(self.id);
        if step != Step::read(None) && !matches!(step, Step::Wait { .. }) {
            self.done = true;
        }
        step
    }

    fn input_cap(&self) -> usize {
        (16 * 1024).max(self.limits.max_line.saturating_add(2))
    }
}

/// Makes a [`ChatSession`] per connection, all in one room; one loop only.
#[derive(Debug)]
pub struct ChatService {
    hall: Rc<RefCell<Hall>>,
    limits: ChatLimits,
    next_id: u64,
}

impl ChatService {
    pub fn new(limits: ChatLimits) -> Self {
        let room = Room::new(RoomLimits {
            max_members: limits.max_members,
            queue_cap: limits.queue_cap,
        });
        ChatService {
            hall: Rc::new(RefCell::new(Hall {
                room,
                wakers: HashMap::new(),
                held: HashSet::new(),
            })),
            limits,
            next_id: 0,
        }
    }
}

impl Service for ChatService {
    type Session = ChatSession;

    fn accept(&mut self, peer: Peer, _local: Peer) -> Option<ChatSession> {
        log::info!("accepted connection from {peer}");
        self.next_id += 1;
        Some(ChatSession {
            id: self.next_id,
            hall: self.hall.clone(),
            limits: self.limits,
            peer,
            arrived: false,
            done: false,
            held: false,
            lines: 0,
            last_heard: Instant::now(),
            progress: Progress {
                written: 0,
                at: Instant::now(),
            },
        })
    }

    fn refusal(&self) -> Vec<u8> {
        b"Error: too many clients, try again later\n".to_vec()
    }

    fn ended(&mut self, session: ChatSession, how: Ended) {
        if let Ended::Failed(e) = &how {
            log::debug!("connection from {}: {e}", session.peer);
        }
        let mut hall = self.hall.borrow_mut();
        hall.wakers.remove(&session.id);
        hall.held.remove(&session.id);
        let why = if matches!(how, Ended::Failed(_)) {
            " (connection lost)"
        } else {
            ""
        };
        hall.room.leave(&session.id, why);
        hall.wake_others(session.id);
        log::info!(
            "connection from {} closed ({} lines)",
            session.peer,
            session.lines
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_stalled_only_when_its_socket_takes_nothing_for_a_while() {
        let t0 = Instant::now();
        let s = |secs: f64| t0 + Duration::from_secs_f64(secs);
        // (outbox empty, bytes written so far, at, stalled?)
        let table = [
            (true, 0, 0.0, false),
            (false, 0, 1.0, false),
            (false, 0, 1.9, false),
            (false, 0, 2.0, true),
            (false, 10, 2.5, false), // the kernel took bytes: progress
            (false, 10, 4.4, false),
            (false, 10, 4.5, true),
            (true, 10, 9.0, false), // a late turn with nothing waiting
            (false, 10, 9.5, false),
        ];
        let mut p = Progress { written: 0, at: t0 };
        for (empty, written, at, want) in table {
            assert_eq!(p.stalled(empty, written, s(at)), want, "at {at}");
        }
        assert_eq!(p.recheck(s(9.5)), s(11.0));
        p.stalled(false, 10, s(12.0));
        assert_eq!(p.recheck(s(12.0)), s(12.0) + STALL_RECHECK);
    }
}

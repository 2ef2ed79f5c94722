//! Moving one connection forward: flush its output, read its input, drive
//! its session and apply the [`Step`] it answers with, in fair rounds, and
//! end it (close and linger, abort, fail, stall). A panic in the session
//! is contained to its connection here. The socket reads and writes
//! themselves are in `transfer`; accepting and connecting are not here.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::ending::{panic_message, report_end, tell_ended};
use super::table::{min_time, Conn, EventLoop, State};
use super::transfer::{read_in, write_out};
use crate::event_loop::session::{Ended, Io, Service, Session, Step};
use crate::event_loop::socket::Stream;

/// Rounds of read/drive/write one connection gets per turn before others go first.
const FAIR_ROUNDS: usize = 16;

/// Whether a connection may go on to another round in this turn.
enum Round {
    Again,
    Stop,
}

impl<S: Session> EventLoop<S> {
    /// Moves one connection forward as far as it can go without blocking,
    /// containing a panic in its session to that connection.
    pub(super) fn process<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
    ) {
        let res = catch_unwind(AssertUnwindSafe(|| self.advance(key, svc, now)));
        if let Err(panic) = res {
            self.contain_panic(key, svc, &*panic);
        }
    }

    /// The last line of defence: a panic while driving `key` (or telling
    /// its service) drops that connection only.
    fn contain_panic<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        panic: &(dyn std::any::Any + Send),
    ) {
        let msg = panic_message(panic);
        // Gone already when the panic came from the service's `ended`.
        let Some(mut conn) = self.conns.try_remove(key) else {
            return log::error!("a connection's service callback panicked: {msg}");
        };
        log::error!("connection to {}: panicked: {msg}; dropping it", conn.peer);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let e = io::Error::other(format!("panicked: {msg}"));
        let peer = conn.peer;
        tell_ended(svc, conn.session, Ended::Failed(e), peer);
    }

    fn advance<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, now: Instant) {
        for _ in 0..FAIR_ROUNDS {
            if let Round::Stop = self.round(key, svc, now) {
                return;
            }
        }
        // Out of rounds with work left: let the others have a turn first.
        self.backlog.push(key);
    }

    /// One round: flush, read, drive the session if anything changed.
    fn round<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        now: Instant,
    ) -> Round {
        let linger = self.config.linger;
        let Some(conn) = self.conns.get_mut(key) else {
            return Round::Stop;
        };
        if let State::Connecting { .. } = conn.state {
            self.check_connect(key, svc, now);
            return match self.conns.get(key) {
                Some(c) if matches!(c.state, State::Open) => Round::Again,
                _ => Round::Stop,
            };
        }
        if let Err(e) = flush(conn, now) {
            self.fail(key, svc, e);
            return Round::Stop;
        }
        if conn.send_deadline(linger).is_some_and(|d| now >= d) {
            self.stalled(key, svc);
            return Round::Stop;
        }
        if matches!(conn.state, State::Closing) {
            if conn.output.is_empty() {
                self.close(key, svc, now);
                return Round::Stop;
            }
            return if conn.writable {
                Round::Again
            } else {
                Round::Stop
            };
        }
        let cap = conn.session.input_cap();
        if conn.can_read(cap) {
            let chunk = conn.session.read_chunk().unwrap_or(self.config.read_chunk);
            match read_in(conn, cap, chunk, &mut self.scratch) {
                Ok(true) => conn.dirty = true,
                Ok(false) => {}
                Err(e) => {
                    self.fail(key, svc, e);
                    return Round::Stop;
                }
            }
        }
        if conn.deadline.is_some_and(|d| now >= d) {
            conn.dirty = true;
        }
        if !conn.dirty {
            return Round::Stop;
        }
        conn.dirty = false;
        conn.output.borrow_spares(&mut self.spares);
        let step = drive(conn, self.shutting_down, now);
        self.apply(key, svc, step, cap, now)
    }

    /// Does what the session asked for; `cap` is its input cap this round.
    fn apply<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        step: Step,
        cap: usize,
        now: Instant,
    ) -> Round {
        let conn = &mut self.conns[key];
        match step {
            Step::Wait { read, deadline } => {
                conn.want_read = read;
                conn.deadline = deadline;
                // A deadline already reached asks to be driven again at
                // once (work split across calls, such as a zip's CRC-32s):
                // next turn, after the others, not at the next sweep up to
                // SWEEP_SPACING away, which paced a 4.5 GiB CRC to 12 s.
                // Once per turn: queued at most once, and not also swept.
                if deadline.is_some_and(|d| d <= now) {
                    if !conn.queued {
                        conn.queued = true;
                        self.backlog.push(key);
                    }
                    return Round::Stop;
                }
            }
            Step::Close => {
                // No fixed deadline: the flush is bounded by send
                // progress, the linger starts once it is done.
                conn.state = State::Closing;
                conn.deadline = None;
                if conn.output.is_empty() {
                    self.close(key, svc, now);
                    return Round::Stop;
                }
            }
            Step::Abort => {
                self.finish(key, svc, Ended::Closed);
                return Round::Stop;
            }
        }
        self.next_sweep = min_time(self.next_sweep, conn.due(self.config.linger));
        let can_write = conn.writable && !conn.output.is_empty();
        if !can_write && !conn.can_read(cap) {
            // Idle until the next event: give the input buffer back if
            // it is empty (or shrink it to its data). Not between
            // rounds, where a busy download reuses it for the next read.
            // Likewise the output's spare buffers, to the loop's pool.
            conn.input.shrink_idle();
            conn.output.return_spares(&mut self.spares);
            return Round::Stop;
        }
        Round::Again
    }

    /// The peer took no bytes for the whole send timeout: drop it.
    fn stalled<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc) {
        let conn = &self.conns[key];
        let limit = conn.send_timeout.unwrap_or(self.config.linger);
        log::debug!("{}: no send progress for {limit:?}, dropping", conn.peer);
        let e = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("peer took no bytes for {limit:?}"),
        );
        self.finish(key, svc, Ended::Failed(e));
    }

    fn fail<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, e: io::Error) {
        log::debug!("connection to {}: {e}", self.conns[key].peer);
        self.finish(key, svc, Ended::Failed(e));
    }

    /// Ends a connection whose output all went to the kernel, the polite
    /// way: half-close and linger, reading until the peer closes too.
    fn close<Svc: Service<Session = S>>(&mut self, key: usize, svc: &mut Svc, now: Instant) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        conn.output.return_spares(&mut self.spares);
        let (stream, peer, peer_closed) = (conn.stream, conn.peer, conn.peer_closed);
        report_end(
            svc,
            conn.session,
            conn.output.written(),
            Ended::Closed,
            peer,
        );
        if peer_closed {
            // EOF was read, so nothing is left unread: close now.
            let _ = stream.shutdown(std::net::Shutdown::Write);
        } else {
            self.linger(stream, now);
        }
        self.descriptor_freed();
    }

    /// Half-closes `stream` and drains it until the peer closes or the
    /// linger time is over.
    pub(super) fn linger(&mut self, stream: Stream, now: Instant) {
        let deadline = now + self.config.linger;
        let registry = self.poll.registry();
        self.lingering
            .add(registry, stream, deadline, &mut self.scratch);
        // The sweep closes it on time even if nothing else is scheduled.
        self.next_sweep = min_time(self.next_sweep, Some(deadline));
    }

    /// Ends a connection at once (abort, failure, grace period over).
    pub(super) fn finish<Svc: Service<Session = S>>(
        &mut self,
        key: usize,
        svc: &mut Svc,
        how: Ended,
    ) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if matches!(how, Ended::Closed) && conn.output.is_empty() {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        }
        conn.output.return_spares(&mut self.spares);
        report_end(svc, conn.session, conn.output.written(), how, conn.peer);
        self.descriptor_freed();
    }
}

/// Writes what the socket takes, noting progress for the send timeout and
/// marking the session to be driven once its output has drained.
fn flush<S>(conn: &mut Conn<S>, now: Instant) -> io::Result<()> {
    if !conn.writable || conn.output.is_empty() {
        return Ok(());
    }
    let before = conn.output.written();
    write_out(conn)?;
    if conn.output.written() != before {
        conn.sent_at = now;
    }
    if conn.output.is_empty() {
        conn.dirty = true;
    }
    Ok(())
}

/// One call to the session's `drive`, the only place the loop builds an [`Io`].
fn drive<S: Session>(conn: &mut Conn<S>, shutting_down: bool, now: Instant) -> Step {
    let was_empty = conn.output.is_empty();
    let mut io = Io {
        input: &mut conn.input,
        output: &mut conn.output,
        peer_closed: conn.peer_closed,
        shutting_down,
        now,
        peer: conn.peer,
    };
    let step = conn.session.drive(&mut io);
    if was_empty && !conn.output.is_empty() {
        // The send timeout counts from when there was something to send.
        conn.sent_at = now;
    }
    step
}

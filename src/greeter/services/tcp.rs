//! The small services over TCP, sans I/O: [`ServiceSession`] answers one
//! connection as `echo` (RFC 862: every byte back), `daytime` (RFC 867:
//! one line, then close) or `time` (RFC 868: four bytes, then close); the
//! `clock` and `greet` services are line services and live with
//! `GreetSession`. [`SmallService`] makes one session per connection.
//!
//! Echo keeps the greeter's limits: it stops reading while `output_cap`
//! bytes wait to be sent (so TCP flow control slows a sender that does not
//! read), drops a client that takes none of them for `stall_timeout`, and
//! closes after `idle_timeout` of silence.

use crate::event_loop::Peer;
use std::time::Instant;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::clock::{daytime_line, time_bytes};
use crate::event_loop::{Ended, Io, Service, Session, Step};
use crate::greeter::config::ServiceName;
use crate::greeter::session::GreetLimits;

#[derive(Debug)]
pub struct ServiceSession {
    name: ServiceName,
    limits: GreetLimits,
    zone: TimeZone,
    peer: Peer,
    done: bool,
    last_progress: Instant,
    last_written: u64,
}

impl ServiceSession {
    fn echo(&mut self, io: &mut Io<'_>) -> Step {
        if io.output.written() != self.last_written {
            self.last_written = io.output.written();
            self.last_progress = io.now;
        }
        let room = self
            .limits
            .output_cap
            .saturating_sub(io.output.pending() as usize);
        let take = room.min(io.input.len());
        if take > 0 {
            io.output.push(&io.input.data()[..take]);
            io.input.consume(take);
            self.last_progress = io.now;
        }
        if io.input.is_empty() && (io.peer_closed || io.shutting_down) {
            self.done = true;
            return Step::Close;
        }
        let queued = io.output.pending() > 0;
        let limit = if queued {
            self.limits.stall_timeout
        } else {
            self.limits.idle_timeout
        };
        let deadline = limit.and_then(|d| self.last_progress.checked_add(d));
        if deadline.is_some_and(|d| io.now >= d) {
            self.done = true;
            return if queued { Step::Abort } else { Step::Close };
        }
        let full = io.output.pending() as usize >= self.limits.output_cap;
        Step::Wait {
            read: !full,
            deadline,
        }
    }
}

impl Session for ServiceSession {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if self.done {
            return Step::Close;
        }
        match self.name {
            ServiceName::Daytime => io.output.push(daytime_line(Timestamp::now(), &self.zone)),
            ServiceName::Time => io.output.push(time_bytes(Timestamp::now()).to_vec()),
            _ => return self.echo(io),
        }
        // RFC 867 and 868: the server answers and closes; what the client
        // sent is ignored (and drained by the loop's lingering close).
        self.done = true;
        Step::Close
    }
}

/// Makes a [`ServiceSession`] per accepted connection.
#[derive(Debug, Clone)]
pub struct SmallService {
    name: ServiceName,
    limits: GreetLimits,
    zone: TimeZone,
}

impl SmallService {
    pub fn new(name: ServiceName, limits: GreetLimits, zone: TimeZone) -> Self {
        SmallService { name, limits, zone }
    }
}

impl Service for SmallService {
    type Session = ServiceSession;

    fn accept(&mut self, peer: Peer, _local: Peer) -> Option<ServiceSession> {
        log::info!("accepted connection from {peer}");
        Some(ServiceSession {
            name: self.name,
            limits: self.limits,
            zone: self.zone.clone(),
            peer,
            done: false,
            last_progress: Instant::now(),
            last_written: 0,
        })
    }

    fn ended(&mut self, session: ServiceSession, how: Ended) {
        if let Ended::Failed(e) = how {
            log::debug!("connection from {}: {e}", session.peer);
        }
        log::info!("connection from {} closed", session.peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_loop::testing::{OnWire, Wire};

    fn harness(name: ServiceName, limits: GreetLimits) -> OnWire<ServiceSession> {
        let wire = Wire::with_peer("127.0.0.1:5000".parse().unwrap());
        let mut svc = SmallService::new(name, limits, TimeZone::UTC);
        OnWire {
            session: svc.accept(wire.peer, wire.peer).unwrap(),
            wire,
        }
    }

    #[test]
    fn echo_is_byte_exact_and_stops_reading_when_its_output_is_full() {
        let limits = GreetLimits {
            output_cap: 100,
            ..GreetLimits::default()
        };
        let mut h = harness(ServiceName::Echo, limits);
        let data: Vec<u8> = (0..=255).collect();
        h.input.extend(&data);
        let step = h.drive();
        assert!(matches!(step, Step::Wait { read: false, .. }), "{step:?}");
        let mut got = Vec::new();
        while !h.input.is_empty() || h.output.pending() > 0 {
            h.output.drain_into(&mut got, 30).unwrap();
            h.drive();
        }
        assert_eq!(got, data);
        h.peer_closed = true;
        assert_eq!(h.drive(), Step::Close);
    }

    #[test]
    fn daytime_and_time_answer_once_and_close() {
        let mut h = harness(ServiceName::Time, GreetLimits::default());
        assert_eq!(h.feed(b"ignored"), Step::Close);
        assert_eq!(h.sent.len(), 4);
        let mut h = harness(ServiceName::Daytime, GreetLimits::default());
        assert_eq!(h.feed(b""), Step::Close);
        assert!(h.sent.ends_with(b"-UTC\r\n"));
    }
}

//! The chat room over datagrams ([`UdpChat`]): a datagram from an address
//! not in the room is that address's name (or `/nick NAME`), and joins it;
//! every later datagram is one line; every line out is one datagram.
//! Members silent for the idle timeout leave. Members are keyed by the
//! peer value the loop reports and nothing else is read from it.
//!
//! Amplification: an address not in the room gets at most one short
//! datagram back (the welcome, or why its name was refused) per datagram,
//! and only members' lines are relayed to the room.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::room::{Room, RoomLimits, Said};
use crate::event_loop::{DatagramQueue, DatagramService, Flow};
use crate::greeter::lines::trim_line_end;

#[derive(Debug)]
pub struct UdpChat {
    room: Room<SocketAddr>,
    last_heard: HashMap<SocketAddr, Instant>,
    idle_timeout: Option<Duration>,
    max_line: usize,
}

impl UdpChat {
    pub fn new(limits: RoomLimits, max_line: usize, idle_timeout: Option<Duration>) -> Self {
        UdpChat {
            room: Room::new(limits),
            last_heard: HashMap::new(),
            idle_timeout,
            max_line,
        }
    }

    /// Sends what the room queued, one datagram per line.
    fn flush(&mut self, out: &mut DatagramQueue) {
        for k in self.room.take_woken() {
            while let Some(line) = self.room.pop(&k) {
                out.push(line.to_vec(), k);
            }
        }
    }

    fn expire(&mut self, now: Instant) -> Option<Instant> {
        let idle = self.idle_timeout?;
        let gone: Vec<SocketAddr> = self
            .last_heard
            .iter()
            .filter(|(_, t)| t.checked_add(idle).is_some_and(|d| now >= d))
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            log::info!("chat: {k} idle, leaves");
            self.last_heard.remove(&k);
            self.room.leave(&k, " (idle)");
        }
        self.last_heard
            .values()
            .filter_map(|t| t.checked_add(idle))
            .min()
    }
}

impl DatagramService for UdpChat {
    fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        out: &mut DatagramQueue,
        now: Instant,
    ) {
        let line = trim_line_end(data);
        if line.len() > self.max_line {
            out.push(
                format!("Error: line longer than {} bytes\n", self.max_line).into_bytes(),
                from,
            );
            return;
        }
        if !self.room.contains(&from) {
            if !self.room.arrive(from, false) {
                out.push(b"Error: the room is full, try again later\n".to_vec(), from);
                return;
            }
            self.room.line(&from, line);
            self.flush(out);
            if self.room.name(&from).is_none() {
                // Refused names do not hold a place in the room.
                self.room.leave(&from, "");
                return;
            }
            log::info!("chat: {from} joined");
            self.last_heard.insert(from, now);
            return;
        }
        self.last_heard.insert(from, now);
        if self.room.line(&from, line) == Said::Quit {
            self.flush(out);
            self.last_heard.remove(&from);
            self.room.leave(&from, "");
        }
        self.flush(out);
    }

    fn tick(&mut self, out: &mut DatagramQueue, now: Instant, shutting_down: bool) -> Flow {
        if shutting_down {
            return Flow::Stop;
        }
        let next = self.expire(now);
        self.flush(out);
        Flow::Continue(next)
    }
}

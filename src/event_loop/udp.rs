//! The datagram loop: one UDP socket, replies queued when the socket is
//! full, and per-peer errors (ICMP port unreachable) that never stop it.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::errors::{is_interrupted, is_would_block};
use super::shutdown::{Notifier, Shutdown};

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
/// Largest UDP payload over IPv4 (65,535 minus the IP and UDP headers).
const MAX_DATAGRAM: usize = 65_507;

/// Datagrams waiting to be sent. Bounded: UDP may drop, and a queue that
/// only grows would let one slow socket eat memory.
#[derive(Debug)]
pub struct DatagramQueue {
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    cap: usize,
}

impl DatagramQueue {
    pub fn new(cap: usize) -> Self {
        DatagramQueue {
            queue: VecDeque::new(),
            cap,
        }
    }

    /// Queues a datagram; returns false (and drops it) when the queue is full.
    pub fn push(&mut self, data: Vec<u8>, to: SocketAddr) -> bool {
        if self.queue.len() >= self.cap {
            log::debug!("send queue full, dropping a datagram to {to}");
            return false;
        }
        self.queue.push_back((data, to));
        true
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// What a datagram service wants after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going; call `tick` again by the deadline at the latest.
    Continue(Option<Instant>),
    /// Stop once queued datagrams are sent.
    Stop,
}

/// Datagram protocol logic, sans I/O.
pub trait DatagramService {
    fn on_datagram(&mut self, data: &[u8], from: SocketAddr, out: &mut DatagramQueue, now: Instant);

    /// Called on every turn, wake-up and deadline.
    fn tick(&mut self, out: &mut DatagramQueue, now: Instant, shutting_down: bool) -> Flow;
}

/// A poll instance owning one UDP socket.
pub struct DatagramLoop {
    poll: Poll,
    socket: UdpSocket,
    notifier: Notifier,
    shutdown: Shutdown,
}

impl DatagramLoop {
    pub fn new(socket: std::net::UdpSocket, shutdown: Shutdown) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        let poll = Poll::new()?;
        let mut socket = UdpSocket::from_std(socket);
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        let notifier = Notifier(std::sync::Arc::new(Waker::new(poll.registry(), WAKER)?));
        shutdown.add_waker(notifier.clone());
        Ok(DatagramLoop {
            poll,
            socket,
            notifier,
            shutdown,
        })
    }

    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn run(&mut self, svc: &mut impl DatagramService) -> io::Result<()> {
        let mut events = Events::with_capacity(64);
        let mut out = DatagramQueue::new(4096);
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let mut readable = true;
        let mut writable = true;
        loop {
            let now = Instant::now();
            let flow = svc.tick(&mut out, now, self.shutdown.is_requested());
            if writable {
                writable = self.flush(&mut out)?;
            }
            let deadline = match flow {
                Flow::Stop if out.is_empty() || !writable => return Ok(()),
                Flow::Stop => None,
                Flow::Continue(d) => d,
            };
            if readable {
                let (more, received) = self.receive(svc, &mut buf, &mut out)?;
                readable = more;
                if more || received {
                    // Go round without sleeping: the datagrams may have
                    // changed what the service wants (a reply lets `talk`
                    // send its next message), and the deadline above was
                    // computed before they arrived.
                    continue;
                }
            }
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if is_interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                if ev.token() == SOCKET {
                    readable |= ev.is_readable() || ev.is_error();
                    writable |= ev.is_writable();
                }
            }
        }
    }

    /// Receives until `WouldBlock` or a batch is done. Returns whether more
    /// may be waiting (the batch cap was hit) and whether any datagram was
    /// handed to the service.
    fn receive(
        &mut self,
        svc: &mut impl DatagramService,
        buf: &mut [u8],
        out: &mut DatagramQueue,
    ) -> io::Result<(bool, bool)> {
        let mut received = false;
        for _ in 0..256 {
            match self.socket.recv_from(buf) {
                Ok((n, from)) => {
                    // recv_from never reports more than `buf` holds; one
                    // byte more than the largest datagram means truncation.
                    if n > MAX_DATAGRAM {
                        log::debug!("oversized datagram from {from} dropped");
                        continue;
                    }
                    svc.on_datagram(&buf[..n], from, out, Instant::now());
                    received = true;
                }
                Err(e) if is_would_block(&e) => return Ok((false, received)),
                Err(e) if is_interrupted(&e) => {}
                // An ICMP error for an earlier send to one peer; others are unaffected.
                Err(e) => log::debug!("udp receive: {e}"),
            }
        }
        Ok((true, received))
    }

    /// Sends queued datagrams; returns whether the socket is still writable.
    fn flush(&mut self, out: &mut DatagramQueue) -> io::Result<bool> {
        while let Some((data, to)) = out.queue.front() {
            match self.socket.send_to(data, *to) {
                Ok(_) => {
                    out.queue.pop_front();
                }
                Err(e) if is_would_block(&e) => return Ok(false),
                Err(e) if is_interrupted(&e) => {}
                Err(e) => {
                    log::debug!("udp send to {to}: {e}");
                    out.queue.pop_front();
                }
            }
        }
        Ok(true)
    }
}

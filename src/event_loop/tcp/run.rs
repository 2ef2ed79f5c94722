//! The loop itself: one poll per thread, turn by turn. Each turn ticks the
//! service (and starts the connects it asked for), polls, hands ready
//! listeners to `accept` and ready connections to `conn`, then sweeps
//! deadlines and runs the backlog. Shutdown and its grace period are
//! decided here. No socket is read or written in this file.

use std::io;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll, Waker};
use slab::Slab;

use super::table::{min_time, socket_budget, Conn, EventLoop, LoopConfig};
use super::token::{Ready, Source, WAKER};
use crate::event_loop::buffer::SparePool;
use crate::event_loop::control::Control;
use crate::event_loop::errors::is_interrupted;
use crate::event_loop::linger::Lingering;
use crate::event_loop::session::{Ended, Service, Session};
use crate::event_loop::shutdown::{Notifier, Shutdown};
use crate::event_loop::socket::Listener;

/// Deadlines are checked by sweeping the table; sweeps are at least this far apart.
const SWEEP_SPACING: Duration = Duration::from_millis(10);

/// Runs one loop per set of listeners, each on its own thread with its
/// own service, until `shutdown` is requested and in-flight work is done.
/// Returns the first error any loop failed with.
pub fn serve_threads<Svc, F>(
    listeners: Vec<Vec<Listener>>,
    config: LoopConfig,
    shutdown: Shutdown,
    make_service: F,
) -> io::Result<()>
where
    Svc: Service,
    F: Fn() -> Svc + Send + Sync + 'static,
{
    raise_descriptor_limit();
    let make_service = std::sync::Arc::new(make_service);
    let mut handles = Vec::new();
    let loops = listeners.len();
    for (i, set) in listeners.into_iter().enumerate() {
        let config = LoopConfig {
            loops,
            ..config.clone()
        };
        let shutdown = shutdown.clone();
        let make_service = make_service.clone();
        let handle = std::thread::Builder::new()
            .name(format!("loop-{i}"))
            .spawn(move || -> io::Result<()> {
                let mut service = make_service();
                let mut lp = EventLoop::new(config, shutdown)?;
                for listener in set {
                    lp.listen(listener)?;
                }
                lp.run(&mut service)
            })?;
        handles.push(handle);
    }
    let mut first_error = None;
    for h in handles {
        let res = h
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("an event loop thread panicked")));
        if let Err(e) = res {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// A server's connections are descriptors: lift the soft RLIMIT_NOFILE to
/// the hard one, as nginx's `worker_rlimit_nofile` or Go's runtime do, so
/// a low default (often 1024) does not cap the loops' share.
pub fn raise_descriptor_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            log::debug!("raising the descriptor limit: {e}");
        }
    }
}

impl<S: Session> EventLoop<S> {
    pub fn new(config: LoopConfig, shutdown: Shutdown) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = std::sync::Arc::new(Waker::new(poll.registry(), WAKER)?);
        let notifier = Notifier(waker);
        shutdown.add_waker(notifier.clone());
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(1024),
            conns: Slab::new(),
            listeners: Vec::new(),
            accept_paused_until: None,
            service_wake: None,
            socket_budget: socket_budget(config.loops),
            notifier,
            woken: Default::default(),
            shutdown,
            next_sweep: None,
            backlog: Vec::new(),
            ready: Vec::new(),
            connects: Vec::new(),
            unstarted: Vec::new(),
            shutting_down: false,
            // A floor, so a loop with a tiny limit still drains refusals.
            lingering: Lingering::new(config.max_connections.max(64)),
            scratch: vec![0; config.read_chunk.max(1)],
            spares: SparePool::default(),
            config,
        })
    }

    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// Runs until the service is finished and no connection is left, or until
    /// shutdown was requested and in-flight work ended (or the grace period ran out).
    pub fn run<Svc: Service<Session = S>>(&mut self, svc: &mut Svc) -> io::Result<()> {
        let mut service_active = true;
        let mut grace_deadline = None;
        loop {
            let now = Instant::now();
            if service_active {
                service_active = self.tick(svc, now);
            }
            if self.report_unstarted(svc) {
                continue; // the service may act on them at once
            }
            if self.shutdown.is_requested() && !self.shutting_down {
                self.begin_shutdown(svc, now);
                grace_deadline = Some(now + self.config.grace);
            }
            if self.conns.is_empty() && (!service_active || self.shutting_down) {
                return Ok(());
            }
            if grace_deadline.is_some_and(|d| now >= d) {
                self.end_grace(svc);
                return Ok(());
            }
            let timeout = self.poll_timeout(now, grace_deadline);
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if is_interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
            self.turn(svc, Instant::now());
        }
    }

    /// `Service::tick`, then the connects it asked for.
    fn tick<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) -> bool {
        let mut connects = std::mem::take(&mut self.connects);
        let mut wake = None;
        let active = svc.tick(&mut Control {
            connects: &mut connects,
            notifier: &self.notifier,
            now,
            open: self.conns.len(),
            wake: &mut wake,
        });
        self.service_wake = wake;
        for (target, session) in connects.drain(..) {
            self.start_connect(target, session, now);
        }
        self.connects = connects;
        active
    }

    /// Everything after one poll: the ready listeners and connections in
    /// event order, a wake-up, paused accepts, deadlines, the backlog.
    fn turn<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        let woken = self.collect_ready();
        let ready = std::mem::take(&mut self.ready);
        for &r in &ready {
            match r {
                Ready::Listener(index) => self.accept_all(index, svc, now),
                Ready::Conn(key) => self.process(key, svc, now),
            }
        }
        self.ready = ready;
        if woken {
            self.mark_all_dirty();
        }
        self.mark_woken();
        self.resume_accepting(svc, now);
        self.sweep(svc, now);
        self.run_backlog(svc, now);
    }

    /// Notes what the last poll reported (lingering sockets are served at
    /// once) and fills `ready`; returns whether the waker fired.
    fn collect_ready(&mut self) -> bool {
        let mut woken = false;
        self.ready.clear();
        for event in self.events.iter() {
            match Source::of(event.token()) {
                Source::Waker => woken = true,
                Source::Listener(index) => self.ready.push(Ready::Listener(index)),
                Source::Lingering(token) => {
                    self.lingering
                        .on_readable(self.poll.registry(), token, &mut self.scratch)
                }
                Source::Conn(key) => {
                    if let Some(conn) = self.conns.get_mut(key) {
                        note_readiness(conn, event);
                        self.ready.push(Ready::Conn(key));
                    }
                }
            }
        }
        woken
    }

    /// The grace period after a shutdown request is over: end what is left.
    fn end_grace<Svc: Service<Session = S>>(&mut self, svc: &mut Svc) {
        log::info!(
            "grace period over, closing {} connection(s)",
            self.conns.len()
        );
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.finish(key, svc, Ended::Closed);
        }
    }

    fn poll_timeout(&self, now: Instant, grace: Option<Instant>) -> Option<Duration> {
        if !self.backlog.is_empty() || !self.woken.is_empty() {
            return Some(Duration::ZERO);
        }
        [
            self.next_sweep,
            grace,
            self.accept_paused_until,
            self.service_wake,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| t.saturating_duration_since(now))
    }

    fn begin_shutdown<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        self.shutting_down = true;
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = true;
            }
            self.process(key, svc, now);
        }
    }

    fn mark_all_dirty(&mut self) {
        for (key, conn) in self.conns.iter_mut() {
            conn.dirty = true;
            self.backlog.push(key);
        }
    }

    /// Sessions woken through their `SessionWaker` go on the backlog.
    fn mark_woken(&mut self) {
        for key in self.woken.take() {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.dirty = true;
                self.backlog.push(key);
            }
        }
    }

    fn run_backlog<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        let keys = std::mem::take(&mut self.backlog);
        for key in keys {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.queued = false;
            }
            self.process(key, svc, now);
        }
    }

    fn sweep<Svc: Service<Session = S>>(&mut self, svc: &mut Svc, now: Instant) {
        if self.next_sweep.is_none_or(|t| now < t) {
            return;
        }
        let linger = self.config.linger;
        let due: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.due(linger).is_some_and(|d| now >= d))
            .map(|(k, _)| k)
            .collect();
        for key in due {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = true;
            }
            self.process(key, svc, now);
        }
        if self.conns.capacity() > 1024 && self.conns.len() < self.conns.capacity() / 4 {
            // Give back the table a past wave of connections grew.
            self.conns.shrink_to_fit();
        }
        let lingering = self.lingering.sweep(self.poll.registry(), now);
        let next = self.conns.iter().filter_map(|(_, c)| c.due(linger)).min();
        self.next_sweep = min_time(next, lingering).map(|t| t.max(now + SWEEP_SPACING));
    }
}

/// Records readiness edge-triggered: errors and hang-ups surface through
/// the next read or write.
fn note_readiness<S>(conn: &mut Conn<S>, event: &Event) {
    if event.is_readable() || event.is_read_closed() || event.is_error() {
        conn.readable = true;
    }
    if event.is_read_closed() || event.is_error() {
        conn.read_closed = true;
    }
    if event.is_writable() || event.is_write_closed() || event.is_error() {
        conn.writable = true;
    }
}

//! `FetchSession`: one request and its response on one connection, sans
//! I/O, as a state machine. `Exchange` holds the state, one variant per
//! step, and each step has one function:
//!
//! - `SendRequest` (`send_request`): queue the request (and its body),
//!   asking to keep the connection when the pool holds another job for
//!   the same origin; then `ReadHead`.
//! - `ReadHead` (`read_head`): parse a head as bytes arrive and apply what
//!   [`super::plan`] decides for it ([`super::apply`]): `ReadHead` again
//!   after a 1xx, `ReadBody` for a body to keep, `Done` otherwise.
//! - `ReadBody` (`read_body`, [`super::reading`]): stream the body through
//!   the framing decoder and (with `--compressed`) the content decoder
//!   into the job's [`Outlet`]; once it is whole, `SendRequest` for the
//!   next job of the origin on a kept-alive connection, else `Done`.
//! - `Done`: the result, until the service takes the job back with
//!   [`FetchSession::finish`], which also gives errors their URL.
//!
//! With `pipeline` (the crawl), `ReadHead` also sends the next GET for the
//! origin behind the current one (`Ahead`, one request deep, RFC 9112
//! section 9.3.2); when the current body is whole that exchange reads its
//! head at once, and a request sent ahead that is never answered goes
//! back to the pool to be asked again on another connection.
//!
//! Byte and time counters (last activity, bytes written, exchanges served)
//! are plain fields; everything that says where the exchange stands is in
//! the state. It never sees a socket, a file or a terminal: the body and
//! the transcript go to the outlet it is given, so tests drive it with
//! plain buffers and an outlet in memory.

use std::time::Instant;

use super::apply::{self, Applied};
use super::ending::{self, Ending, MAX_HEAD};
use super::job::Job;
use super::outlet::Outlet;
use super::plan;
use super::pool::{Origin, SharedPool};
use super::rate::Bucket;
use super::reading::Reading;
use super::segments;
use super::sending::{pipelines, queue_request};
use crate::error::{Error, Result};
use crate::event_loop::{Ended, Io, Peer, Session, Step};
use crate::http::response::{try_parse_response, ResponseHead};
use crate::tls::TlsInfo;

/// Interim (1xx) heads accepted before one response is called endless.
const MAX_INTERIM: u32 = 32;
/// Bytes buffered before the session must consume some: large, so a fast
/// download moves in few, big reads and writes.
const INPUT_CAP: usize = 256 * 1024;

/// Where the exchange stands.
#[derive(Debug)]
enum Exchange {
    /// The request is still to be queued.
    SendRequest,
    /// Waiting for the final head; 1xx heads pass through.
    ReadHead(AwaitHead),
    /// Streaming the body into the outlet.
    ReadBody(Reading),
    /// Over, until the service takes the job back.
    Done(Result<Ending>),
}

#[derive(Debug)]
struct AwaitHead {
    /// Interim heads seen so far.
    interim: u32,
    /// The request asked to keep the connection open.
    keep_alive: bool,
    /// The request for the `-v` transcript, not shown yet: over TLS it
    /// waits for the first plaintext from the server (or the end), so the
    /// handshake's facts, printed as it completes, come first as in curl.
    unshown: Option<Vec<u8>>,
}

/// What a step hands back: the next state, to run at once (`Go`) or once
/// more bytes come (`Wait`).
enum Flow {
    Go(Exchange),
    Wait(Exchange),
}

/// The next exchange's job, its request already on the wire behind the
/// current one (RFC 9112 section 9.3.2), and what that request said.
#[derive(Debug)]
struct Ahead {
    job: Job,
    request: Vec<u8>,
    /// The request left out `Connection: close`.
    keep_alive: bool,
}

#[derive(Debug)]
pub struct FetchSession {
    job: Job,
    /// With `pipeline`: the job whose request was sent after the current
    /// one's, answered next on this connection.
    ahead: Option<Ahead>,
    /// Where to take the next job for this connection and leave finished ones.
    pool: SharedPool,
    state: Exchange,
    /// Exchanges this connection finished before the current one.
    served: u32,
    /// Input left unconsumed at the end of the last drive, to tell new bytes from old.
    leftover: usize,
    /// Bytes the connection had written at the last drive.
    written: u64,
    last_activity: Option<Instant>,
    /// `--limit-rate`: what the body read so far has cost.
    bucket: Option<Bucket>,
    /// The connection's TLS facts once its handshake ended (told by
    /// [`super::conn`]): every download it carries reports them.
    tls: Option<TlsInfo>,
}

impl FetchSession {
    pub fn new(job: Job, pool: SharedPool) -> FetchSession {
        FetchSession {
            bucket: job.config.limit_rate.map(Bucket::new),
            job,
            ahead: None,
            pool,
            state: Exchange::SendRequest,
            served: 0,
            leftover: 0,
            written: 0,
            last_activity: None,
            tls: None,
        }
    }

    /// The connection's TLS handshake ended with these facts.
    pub fn secured(&mut self, info: TlsInfo) {
        self.tls = Some(info);
    }

    /// The `-v` label of this connection's lines, if any (`--segments`).
    pub fn label(&self) -> Option<usize> {
        self.job.outlet.label()
    }

    /// Hands the job back with how the exchange went, given how the
    /// connection ended. `interrupted`: a shutdown was requested. This is
    /// where the session's errors get their URL.
    pub fn finish(mut self, how: Ended, interrupted: bool) -> (Job, Result<Ending>) {
        // A request sent ahead and never answered is asked again elsewhere:
        // pipelined requests are idempotent GETs (RFC 9112 section 9.3.2).
        if let Some(ahead) = self.ahead.take() {
            self.pool.borrow_mut().push_front(ahead.job);
        }
        if self.went_stale(&how, interrupted) {
            log::debug!(
                "{}: kept-alive connection closed while idle; retrying",
                self.job.url()
            );
            return (self.job, Ok(Ending::Retry));
        }
        let result = match self.state {
            Exchange::Done(r) => r,
            _ if interrupted => Err(Error::Interrupted),
            state => {
                self.job.cut |= matches!(how, Ended::Closed | Ended::Failed(_));
                Err(ending::unfinished(
                    &self.job,
                    describe_progress(&state),
                    how,
                ))
            }
        };
        let result = result.map_err(|e| ending::at(self.job.url(), e));
        (self.job, result)
    }

    /// A reused connection that ended before any byte of this response:
    /// the server closed it while idle (RFC 9112 section 9.3.1 allows the
    /// retry for an idempotent request, and only once). No byte came, so
    /// the exchange never got past its head.
    fn went_stale(&self, how: &Ended, interrupted: bool) -> bool {
        let closed = match (&self.state, how) {
            (Exchange::Done(result), _) => matches!(result, Err(Error::Protocol(_))),
            (_, how) => matches!(how, Ended::Closed | Ended::Failed(_)),
        };
        self.served > 0
            && closed
            && !interrupted
            && !self.job.retried
            && self.job.timing.first_byte.is_none()
            && matches!(self.job.method.as_str(), "GET" | "HEAD")
    }

    /// Ends the exchange with `result` (showing a request still held back).
    fn end(&mut self, result: Result<Ending>) -> Step {
        if let Exchange::ReadHead(head) = &mut self.state {
            show(&mut *self.job.outlet, head);
        }
        self.state = Exchange::Done(result);
        Step::Abort
    }

    fn note_activity(&mut self, io: &Io<'_>) {
        if io.input.len() > self.leftover || io.output.written() != self.written || io.peer_closed {
            self.last_activity = Some(io.now);
            self.written = io.output.written();
        }
        let awaiting = matches!(self.state, Exchange::ReadHead(_) | Exchange::ReadBody(_));
        if awaiting && io.output.is_empty() && self.job.timing.request_sent.is_none() {
            self.job.timing.request_sent = Some(Instant::now() - self.job.hop_started);
        }
        if !io.input.is_empty() && self.job.timing.first_byte.is_none() {
            self.job.timing.first_byte = Some(io.now - self.job.hop_started);
        }
    }

    /// `SendRequest`: queues the request and its body.
    fn send_request(&mut self, io: &mut Io<'_>) -> Exchange {
        let (request, keep_alive) = queue_request(&self.job, &self.pool, io);
        self.last_activity = Some(io.now);
        self.await_head(request, keep_alive, io)
    }

    /// Waits for the head of the request just queued (or sent ahead), and
    /// with `pipeline` sends the next request for the origin behind it.
    fn await_head(&mut self, request: Vec<u8>, keep_alive: bool, io: &mut Io<'_>) -> Exchange {
        let mut head = AwaitHead {
            interim: 0,
            keep_alive,
            unshown: Some(request),
        };
        if !self.job.target.is_https() {
            show(&mut *self.job.outlet, &mut head);
        }
        if keep_alive && self.job.config.pipeline && self.ahead.is_none() && pipelines(&self.job) {
            let origin = Origin::of(&self.job);
            let next = self
                .pool
                .borrow_mut()
                .take_where(|j| Origin::of(j) == origin && pipelines(j));
            if let Some(job) = next {
                let (request, keep_alive) = queue_request(&job, &self.pool, io);
                self.ahead = Some(Ahead {
                    job,
                    request,
                    keep_alive,
                });
            }
        }
        Exchange::ReadHead(head)
    }

    /// A whole body on a connection that stays open: the request sent
    /// ahead is answered next, or else the next job for the origin.
    fn next_exchange(&mut self, io: &mut Io<'_>) -> Option<Exchange> {
        let Some(ahead) = self.ahead.take() else {
            return self.carry_on(io).then_some(Exchange::SendRequest);
        };
        self.hand_over(ahead.job, io);
        self.leftover = io.input.len();
        self.last_activity = Some(io.now);
        Some(self.await_head(ahead.request, ahead.keep_alive, io))
    }

    /// `ReadHead`: a head, once the input holds one, and what it means.
    fn read_head(&mut self, mut head: AwaitHead, io: &mut Io<'_>) -> Flow {
        if !io.input.is_empty() || io.peer_closed {
            show(&mut *self.job.outlet, &mut head);
        }
        let parsed = match try_parse_response(io.input.data(), MAX_HEAD) {
            Ok(parsed) => parsed,
            Err(e) => return Flow::Go(Exchange::Done(Err(ending::head_error(e)))),
        };
        let Some((response, n)) = parsed else {
            if io.peer_closed {
                self.job.cut = true;
                let e = self.closed_in_head(io.input.len());
                return Flow::Go(Exchange::Done(Err(e)));
            }
            return Flow::Wait(Exchange::ReadHead(head));
        };
        let raw = io.input.data()[..n].to_vec();
        io.input.consume(n);
        let next = self.on_head(head, response, &raw);
        Flow::Go(next.unwrap_or_else(|e| Exchange::Done(Err(e))))
    }

    /// Applies what [`plan`] decides for a complete head.
    /// A `--segments` piece's head is judged by [`segments::head`].
    fn on_head(&mut self, head: AwaitHead, response: ResponseHead, raw: &[u8]) -> Result<Exchange> {
        let applied = match segments::head(&mut self.job, &response, raw) {
            Some(applied) => applied?,
            None => {
                let response = apply::unless_retried(&mut self.job, response, raw)?;
                let plan = plan::plan(&response, &apply::ask(&self.job))?;
                let applied = apply::apply(&mut self.job, plan, response, raw, head.keep_alive)?;
                if matches!(applied, Applied::Body(_)) {
                    segments::begin(&mut self.job, &self.pool);
                }
                applied
            }
        };
        Ok(match applied {
            Applied::Interim => return interim(head),
            Applied::Body(body) => Exchange::ReadBody(body),
            Applied::Done(result) => Exchange::Done(result),
        })
    }

    /// `ReadBody`: decodes what the input holds into the outlet.
    fn read_body(&mut self, mut body: Reading, io: &mut Io<'_>) -> Flow {
        let before = io.input.len();
        let pumped = body.pump(io.input, io.peer_closed, &mut *self.job.outlet);
        let taken = (before - io.input.len()) as u64;
        self.job.progressed |= taken > 0;
        if let Some(bucket) = &mut self.bucket {
            bucket.take(taken, io.now);
        }
        match pumped {
            Err(e) => {
                self.job.cut |= io.peer_closed && matches!(e, Error::Protocol(_));
                Flow::Go(Exchange::Done(Err(e)))
            }
            // `--segments`: this connection's span is in; it closes.
            Ok(false) if self.job.outlet.satisfied() => {
                Flow::Go(Exchange::Done(Ok(Ending::Complete)))
            }
            Ok(false) => Flow::Wait(Exchange::ReadBody(body)),
            Ok(true) if body.keep_alive() => match self.next_exchange(io) {
                Some(next) => Flow::Go(next),
                None => Flow::Go(Exchange::Done(Ok(Ending::Complete))),
            },
            Ok(true) => Flow::Go(Exchange::Done(Ok(Ending::Complete))),
        }
    }

    /// After a whole body on a connection that stays open: the next job
    /// for this origin takes the connection, and the finished one goes to
    /// the pool for the service.
    fn carry_on(&mut self, io: &Io<'_>) -> bool {
        if !io.input.is_empty() || io.peer_closed {
            return false;
        }
        let Some(next) = self.pool.borrow_mut().take_for(&Origin::of(&self.job)) else {
            return false;
        };
        self.hand_over(next, io);
        self.leftover = 0;
        true
    }

    /// The connection passes to `next`; the finished job goes to the pool.
    fn hand_over(&mut self, next: Job, io: &Io<'_>) {
        let mut done = std::mem::replace(&mut self.job, next);
        done.close_hop(io.now, self.tls.clone());
        self.pool.borrow_mut().finished(done, Ok(Ending::Complete));
        self.job.target.route(&self.job.config.web.proxy);
        self.bucket = self.job.config.limit_rate.map(Bucket::new);
        self.served += 1;
        self.job.begin_hop(io.now);
        self.job.reused = true;
        self.job.peer = io.peer.tcp();
        // Its clock starts now, not when the run began; a `--segments`
        // range keeps its file's clock.
        if self.job.segment.is_none() {
            self.job.started = io.now;
        }
    }

    fn closed_in_head(&self, buffered: usize) -> Error {
        Error::Protocol(if buffered == 0 && self.job.timing.first_byte.is_none() {
            "the server closed the connection without a response".into()
        } else {
            "the server closed the connection in the middle of a response head".into()
        })
    }

    /// `--limit-rate`, while a body is read: until when reading waits.
    fn paused_until(&self, now: Instant) -> Option<Instant> {
        let bucket = self.bucket.as_ref()?;
        if !matches!(self.state, Exchange::ReadBody(_)) {
            return None;
        }
        bucket.paused_until(now)
    }

    /// The earliest of the silence and overall deadlines.
    fn deadline(&self) -> Option<Instant> {
        let config = &self.job.config;
        let silence = self
            .last_activity
            .zip(config.read_timeout)
            .map(|(t, d)| t + d);
        let overall = config.max_time.map(|d| self.job.started + d);
        silence.into_iter().chain(overall).min()
    }

    fn timeout_error(&self, now: Instant) -> Error {
        let config = &self.job.config;
        let progress = describe_progress(&self.state);
        match config.max_time {
            Some(max) if now >= self.job.started + max => Error::Timeout(format!(
                "not finished within --max-time {}s ({progress})",
                max.as_secs_f64()
            )),
            _ => Error::Timeout(format!(
                "no data from the server for {}s ({progress})",
                config.read_timeout.unwrap_or_default().as_secs_f64()
            )),
        }
    }
}

/// Shows the request in the transcript, once.
fn show(outlet: &mut dyn Outlet, head: &mut AwaitHead) {
    if let Some(request) = head.unshown.take() {
        outlet.request(&request);
    }
}

/// Another interim head: the final one is still to come.
fn interim(mut head: AwaitHead) -> Result<Exchange> {
    head.interim += 1;
    if head.interim > MAX_INTERIM {
        return Err(Error::Protocol(format!(
            "more than {MAX_INTERIM} interim (1xx) responses"
        )));
    }
    Ok(Exchange::ReadHead(head))
}

/// "no response yet", "after 512 of 1024 body bytes", for messages.
fn describe_progress(state: &Exchange) -> String {
    match state {
        Exchange::ReadBody(body) => body.describe(),
        _ => "no complete response head yet".into(),
    }
}

impl Session for FetchSession {
    fn on_connect(&mut self, _local: Peer, peer: Peer, now: Instant) {
        self.job.timing.connect = Some(now - self.job.hop_started);
        self.job.connects += 1;
        self.job.peer = peer.tcp();
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if matches!(self.state, Exchange::Done(_)) {
            return Step::Abort;
        }
        if io.shutting_down {
            return self.end(Err(Error::Interrupted));
        }
        loop {
            if segments::abandoned(&self.job) {
                // Another range of the file failed for good: nothing more
                // is asked or read here (the split's error is the result).
                return self.end(Err(Error::Protocol("the segmented download failed".into())));
            }
            self.note_activity(io);
            let flow = match std::mem::replace(&mut self.state, Exchange::SendRequest) {
                Exchange::SendRequest => Flow::Go(self.send_request(io)),
                Exchange::ReadHead(head) => self.read_head(head, io),
                Exchange::ReadBody(body) => self.read_body(body, io),
                Exchange::Done(result) => Flow::Go(Exchange::Done(result)),
            };
            match flow {
                Flow::Go(Exchange::Done(result)) => return self.end(result),
                Flow::Go(next) => self.state = next,
                Flow::Wait(next) => {
                    self.state = next;
                    break;
                }
            }
        }
        self.leftover = io.input.len();
        let deadline = self.deadline();
        if deadline.is_some_and(|d| io.now >= d) {
            let e = self.timeout_error(io.now);
            return self.end(Err(e));
        }
        match self.paused_until(io.now) {
            // `--limit-rate`: the socket's read interest pauses until the
            // bytes read so far are paid for.
            Some(until) => Step::Wait {
                read: false,
                deadline: Some(deadline.map_or(until, |d| d.min(until))),
            },
            None => Step::read(deadline),
        }
    }

    fn input_cap(&self) -> usize {
        self.bucket.as_ref().map_or(INPUT_CAP, Bucket::input_cap)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;
    use crate::client::config::{ClientConfig, Mode};
    use crate::client::outlet::{BodyTarget, Delivered};
    use crate::client::output::Destination;
    use crate::client::pool::Pool;
    use crate::client::target::parse_url;
    use crate::event_loop::testing::Wire;
    use crate::http::Header;

    /// What the session handed its outlet.
    #[derive(Debug, Default)]
    struct Seen {
        /// Where the body was opened (`None`: never).
        opened: Option<Destination>,
        body: Vec<u8>,
        /// The requests shown in the transcript.
        requests: usize,
    }

    /// An outlet in memory; the test keeps a handle to read it.
    #[derive(Debug, Clone, Default)]
    struct Memory(Rc<RefCell<Seen>>);

    impl Outlet for Memory {
        fn request(&mut self, _: &[u8]) {
            self.0.borrow_mut().requests += 1;
        }
        fn passing_head(&mut self, _: &[u8]) {}
        fn final_head(&mut self, _: &[u8]) -> Result<()> {
            Ok(())
        }
        fn open(&mut self, target: BodyTarget<'_>) -> Result<()> {
            self.0.borrow_mut().opened = Some(target.destination.clone());
            Ok(())
        }
        fn write(&mut self, bytes: &[u8]) -> Result<()> {
            self.0.borrow_mut().body.extend_from_slice(bytes);
            Ok(())
        }
        fn progress(&mut self, _: u64, _: Option<u64>) {}
        fn body_end(&mut self, _: &[Header]) {}
        fn commit(&mut self) -> Result<Option<Delivered>> {
            Ok(None)
        }
    }

    fn job(config: ClientConfig) -> Job {
        job_seen(config).0
    }

    fn job_seen(config: ClientConfig) -> (Job, Memory) {
        let url = parse_url("http://127.0.0.1:8080/dir/file?q=1").unwrap();
        in_memory(Job::new(Rc::new(config), url, Instant::now()).unwrap())
    }

    fn in_memory(mut job: Job) -> (Job, Memory) {
        let memory = Memory::default();
        job.outlet = Box::new(memory.clone());
        (job, memory)
    }

    /// A session with a pool of its own (no other job to carry on with).
    fn session(job: Job) -> FetchSession {
        FetchSession::new(job, Pool::shared(Vec::new()))
    }

    /// What the session queued since the last look, as the server reads it.
    fn sent(w: &mut Wire) -> Vec<u8> {
        w.flush();
        w.take_sent()
    }

    /// Feeds `response` `step` bytes at a time, then EOF; returns the outcome
    /// and the body the outlet got.
    fn run(config: ClientConfig, response: &[u8], step: usize) -> (Result<Ending>, Vec<u8>, Job) {
        let (res, seen, job) = run_seen(config, response, step);
        (res, seen.body, job)
    }

    /// [`run`], with all the outlet saw.
    fn run_seen(config: ClientConfig, response: &[u8], step: usize) -> (Result<Ending>, Seen, Job) {
        let (job, memory) = job_seen(config);
        let mut s = session(job);
        let mut w = Wire::new();
        assert!(matches!(w.drive(&mut s), Step::Wait { read: true, .. }));
        let mut last = Step::read(None);
        for piece in response.chunks(step.max(1)) {
            w.input.extend(piece);
            last = w.drive(&mut s);
            if last == Step::Abort {
                break;
            }
        }
        if last != Step::Abort {
            w.peer_closed = true;
            assert_eq!(w.drive(&mut s), Step::Abort, "EOF must end the exchange");
        }
        let (job, res) = s.finish(Ended::Closed, false);
        (res, memory.0.take(), job)
    }

    #[test]
    fn a_rate_limit_pauses_reading_until_the_bytes_are_paid_for() {
        let config = ClientConfig {
            limit_rate: Some(1000),
            ..ClientConfig::for_tests()
        };
        let (job, memory) = job_seen(config);
        let mut s = session(job);
        let mut w = Wire::new();
        w.drive(&mut s);
        assert_eq!(s.input_cap(), 1024);
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        w.input.extend(&[b'x'; 500]);
        let t0 = w.now;
        let paused = |ms| Step::Wait {
            read: false,
            deadline: Some(t0 + Duration::from_millis(ms)),
        };
        assert_eq!(w.drive(&mut s), paused(500));
        // Woken at the deadline: reading goes on.
        w.now = t0 + Duration::from_millis(500);
        assert!(matches!(w.drive(&mut s), Step::Wait { read: true, .. }));
        w.input.extend(&[b'x'; 250]);
        assert_eq!(w.drive(&mut s), paused(750));
        w.now = t0 + Duration::from_millis(750);
        w.input.extend(&[b'x'; 250]);
        assert_eq!(w.drive(&mut s), Step::Abort, "the body is whole");
        assert_eq!(memory.0.borrow().body.len(), 1000);
    }

    #[test]
    fn sends_the_request_once() {
        let mut s = session(job(ClientConfig::for_tests()));
        let mut w = Wire::new();
        w.drive(&mut s);
        w.drive(&mut s);
        let sent = String::from_utf8(sent(&mut w)).unwrap();
        assert!(sent.starts_with("GET /dir/file?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert_eq!(sent.matches("GET").count(), 1);
    }

    #[test]
    fn the_transcript_shows_each_request_once_and_over_tls_after_the_reply_starts() {
        // (URL, input that comes after the request, shown before it, after)
        let cases: [(&str, &[u8], usize, usize); 4] = [
            (
                "http://127.0.0.1:8080/",
                b"HTTP/1.1 204 No Content\r\n\r\n",
                1,
                1,
            ),
            (
                "https://127.0.0.1:8443/",
                b"HTTP/1.1 204 No Content\r\n\r\n",
                0,
                1,
            ),
            // A request that ends without a reply is still shown once.
            ("https://127.0.0.1:8443/", b"", 0, 1),
            ("http://127.0.0.1:8080/", b"", 1, 1),
        ];
        for (url, reply, before, after) in cases {
            let config = Rc::new(ClientConfig::for_tests());
            let job = Job::new(config, parse_url(url).unwrap(), Instant::now()).unwrap();
            let (job, memory) = in_memory(job);
            let mut s = session(job);
            let mut w = Wire::new();
            w.drive(&mut s);
            assert_eq!(memory.0.borrow().requests, before, "{url} {reply:?}");
            w.input.extend(reply);
            w.peer_closed = reply.is_empty();
            assert_eq!(w.drive(&mut s), Step::Abort);
            assert_eq!(w.drive(&mut s), Step::Abort);
            assert_eq!(memory.0.borrow().requests, after, "{url} {reply:?}");
        }
    }

    #[test]
    fn bodies_arrive_whole_at_every_split() {
        let chunked: &[u8] =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
            HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n";
        let length: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
        let close: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nhello world";
        let folded: &[u8] = b"HTTP/1.1 200 \xffOK\r\nX-Bin: \xfe\r\nX-Fold: a\r\n b\r\nContent-Length: 11\r\n\r\nhello world";
        for response in [chunked, length, close, folded] {
            for step in [1, 2, 3, 7, 64, response.len()] {
                let (res, body, job) = run(ClientConfig::for_tests(), response, step);
                assert_eq!(res.unwrap(), Ending::Complete, "step {step}");
                assert_eq!(body, b"hello world", "step {step}");
                assert_eq!(job.head.unwrap().status, 200);
            }
        }
    }

    #[test]
    fn no_body_for_head_204_304() {
        let mut config = ClientConfig::for_tests();
        config.method = "HEAD".into();
        let (res, body, _) = run(config, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 5);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert!(body.is_empty());
        for status in ["204 No Content", "304 Not Modified"] {
            let resp = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
            let (res, body, _) = run(ClientConfig::for_tests(), resp.as_bytes(), 1);
            assert_eq!(res.unwrap(), Ending::Complete);
            assert!(body.is_empty());
        }
    }

    #[test]
    fn hostile_responses_are_protocol_errors() {
        let big = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &vec![b'a'; MAX_HEAD],
            b"\r\n\r\n",
        ]
        .concat();
        let endless = [b"HTTP/1.1 200 OK\r\n".as_slice(), &b"X: y\r\n".repeat(5000)].concat();
        let endless_interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(40);
        // (response, part of the message)
        let cases: Vec<(&[u8], &str)> = vec![
            (b"", "without a response"),
            (b"HTTP/1.1 200 OK\r\nContent-", "middle of a response head"),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "malformed head"),
            (&big, "larger than 64 KiB"),
            (&endless, "more than 100 header fields"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nabc",
                "connection closed after 3 of 1024 bytes",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                "conflicting Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                "both Transfer-Encoding and Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "invalid chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                "before the last chunk",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
                "invalid chunk size",
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                "switched protocols",
            ),
            (&endless_interim, "more than 32 interim (1xx) responses"),
            // Transfer codings we cannot undo (RFC 9112 section 6.1).
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
                "unsupported Transfer-Encoding \"gzip\"",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, br\r\n\r\nxx",
                "unsupported Transfer-Encoding",
            ),
        ];
        for (response, want) in cases {
            // Byte at a time for the small ones; the big heads in large
            // pieces (re-parsing 64 KiB a byte at a time is quadratic).
            let steps = if response.len() < 1024 {
                [1, 4096]
            } else {
                [1000, 4096]
            };
            for step in steps {
                let (res, _, _) = run(ClientConfig::for_tests(), response, step);
                let err = res.unwrap_err();
                assert!(matches!(err, Error::Protocol(_)), "{err:?}");
                let msg = err.to_string();
                assert!(msg.contains(want), "{msg:?} lacks {want:?}");
                assert!(msg.contains("http://127.0.0.1:8080/dir/file?q=1"), "{msg}");
            }
        }
    }

    #[test]
    fn redirects_stop_at_the_head_unless_told_not_to_follow() {
        let resp: &[u8] = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 4\r\n\r\nbody";
        let (res, body, job) = run(ClientConfig::for_tests(), resp, 3);
        assert_eq!(res.unwrap(), Ending::Redirect);
        assert!(body.is_empty());
        assert_eq!(job.head.unwrap().header("location"), Some(&b"/next"[..]));

        let mut config = ClientConfig::for_tests();
        config.follow = false;
        let (res, body, _) = run(config, resp, 3);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert_eq!(body, b"body");

        let no_location: &[u8] = b"HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n";
        let (res, _, _) = run(ClientConfig::for_tests(), no_location, 3);
        assert_eq!(res.unwrap(), Ending::Complete);
    }

    #[test]
    fn fail_flag_and_headers_mode_skip_the_body() {
        let resp: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope";
        let mut config = ClientConfig::for_tests();
        config.fail = true;
        let (res, body, _) = run(config, resp, 2);
        assert!(matches!(res, Err(Error::HttpStatus { status: 404, .. })));
        assert!(body.is_empty());

        let mut config = ClientConfig::for_tests();
        config.mode = Mode::Headers;
        let (res, seen, _) = run_seen(config, resp, 2);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert!(seen.body.is_empty());
        assert!(seen.opened.is_none());
    }

    #[test]
    fn silence_and_overall_deadlines() {
        let mut config = ClientConfig::for_tests();
        config.read_timeout = Some(Duration::from_secs(2));
        let mut s = session(job(config));
        let mut w = Wire::new();
        let Step::Wait {
            deadline: Some(d), ..
        } = w.drive(&mut s)
        else {
            panic!("no deadline")
        };
        assert_eq!(d, w.now + Duration::from_secs(2));
        w.now += Duration::from_secs(1);
        w.input.extend(b"HTTP/1.1 200 OK\r\n");
        let Step::Wait {
            deadline: Some(d2), ..
        } = w.drive(&mut s)
        else {
            panic!("no deadline")
        };
        assert_eq!(
            d2,
            w.now + Duration::from_secs(2),
            "new bytes push the deadline"
        );
        w.now = d2;
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (_, res) = s.finish(Ended::Closed, false);
        let msg = res.unwrap_err().to_string();
        assert!(msg.contains("no data from the server for 2s"), "{msg}");

        let mut config = ClientConfig::for_tests();
        config.max_time = Some(Duration::from_secs(5));
        let j = job(config);
        let started = j.started;
        let mut s = session(j);
        let mut w = Wire::new();
        w.now = started + Duration::from_secs(5);
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (_, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Err(Error::Timeout(m)) if m.contains("--max-time 5s")));
    }

    #[test]
    fn shutdown_interrupts_and_output_is_dropped() {
        let mut s = session(job(ClientConfig::for_tests()));
        let mut w = Wire::new();
        w.drive(&mut s);
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        w.drive(&mut s);
        w.shutting_down = true;
        assert_eq!(w.drive(&mut s), Step::Abort);
        assert_eq!(w.drive(&mut s), Step::Abort, "idempotent once over");
        let (_, res) = s.finish(Ended::Closed, true);
        assert!(matches!(res, Err(Error::Interrupted)));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn compressed() -> ClientConfig {
        let mut config = ClientConfig::for_tests();
        config.web.compressed = true;
        config
    }

    #[test]
    fn compressed_asks_for_codings_and_plain_asks_for_identity() {
        for (config, want) in [
            (compressed(), "Accept-Encoding: gzip, deflate, br\r\n"),
            (ClientConfig::for_tests(), "Accept-Encoding: identity\r\n"),
        ] {
            let mut s = session(job(config));
            let mut w = Wire::new();
            w.drive(&mut s);
            let sent = String::from_utf8(sent(&mut w)).unwrap();
            assert!(sent.contains(want), "{sent}");
        }
    }

    #[test]
    fn compressed_bodies_are_decoded_at_every_split() {
        let text = b"hello hello hello world".repeat(50);
        let z = gzip(&text);
        let mut chunked = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            z.len()
        )
        .into_bytes();
        chunked.extend_from_slice(&z);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        for step in [1, 5, 100, chunked.len()] {
            let (res, body, _) = run(compressed(), &chunked, step);
            assert_eq!(res.unwrap(), Ending::Complete, "step {step}");
            assert_eq!(body, text, "step {step}");
        }
        // Without --compressed (or with --raw-body) the bytes are kept as sent.
        let mut raw = compressed();
        raw.web.raw_body = true;
        for config in [ClientConfig::for_tests(), raw] {
            let (res, body, _) = run(config, &chunked, 64);
            assert_eq!(res.unwrap(), Ending::Complete);
            assert_eq!(body, z);
        }
    }

    #[test]
    fn bad_codings_are_protocol_errors_unless_raw() {
        let unknown: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: 3\r\n\r\nabc";
        let (res, seen, _) = run_seen(compressed(), unknown, 7);
        let err = res.unwrap_err();
        assert!(err.to_string().contains("--raw-body"), "{err}");
        assert_eq!(err.exit_code(), 6);
        assert!(seen.opened.is_none(), "nothing opened for an unusable body");
        let mut raw = compressed();
        raw.web.raw_body = true;
        let (res, body, _) = run(raw, unknown, 7);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert_eq!(body, b"abc");

        let z = gzip(b"some text that is long enough");
        let cut = [
            format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                z.len() - 4
            )
            .into_bytes(),
            z[..z.len() - 4].to_vec(),
        ]
        .concat();
        let (res, _, _) = run(compressed(), &cut, 9);
        assert!(matches!(res, Err(Error::Protocol(m)) if m.contains("gzip")));
        let empty: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n";
        let (res, body, _) = run(compressed(), empty, 9);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert!(body.is_empty());
    }

    #[test]
    fn remote_name_takes_the_sanitised_disposition_name() {
        // (Content-Disposition, resulting name)
        let cases = [
            ("attachment; filename=\"report.pdf\"", "report.pdf"),
            ("attachment; filename=\"../../etc/passwd\"", "passwd"),
            ("attachment; filename=\".bashrc\"", "bashrc"),
            ("attachment; filename=\"\"", "file"),
        ];
        for (cd, want) in cases {
            let mut config = ClientConfig::for_tests();
            config.web.remote_name = true;
            config.destination = None;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Disposition: {cd}\r\nContent-Length: 0\r\n\r\n"
            );
            let mut s = session(job(config));
            let mut w = Wire::new();
            w.drive(&mut s);
            w.input.extend(resp.as_bytes());
            w.drive(&mut s);
            let (job, res) = s.finish(Ended::Closed, false);
            assert_eq!(res.unwrap(), Ending::Complete);
            match &job.destination {
                Destination::Derived { name, .. } => assert_eq!(name, want, "{cd}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn connection_failures_map_to_their_errors() {
        use std::io::{Error as IoError, ErrorKind};
        let cases = [
            (Ended::ConnectFailed(IoError::from(ErrorKind::TimedOut)), 5),
            (
                Ended::ConnectFailed(IoError::from(ErrorKind::ConnectionRefused)),
                4,
            ),
            (Ended::Failed(IoError::from(ErrorKind::ConnectionReset)), 6),
            (Ended::Closed, 6),
        ];
        for (how, code) in cases {
            let s = session(job(ClientConfig::for_tests()));
            let (_, res) = s.finish(how, false);
            assert_eq!(res.unwrap_err().exit_code(), code);
        }
        let s = session(job(ClientConfig::for_tests()));
        assert!(matches!(
            s.finish(Ended::Closed, true).1,
            Err(Error::Interrupted)
        ));
    }

    fn job_for(config: &Rc<ClientConfig>, path: &str) -> Job {
        job_for_seen(config, path).0
    }

    fn job_for_seen(config: &Rc<ClientConfig>, path: &str) -> (Job, Memory) {
        let url = parse_url(&format!("http://127.0.0.1:8080{path}")).unwrap();
        in_memory(Job::new(config.clone(), url, Instant::now()).unwrap())
    }

    #[test]
    fn a_kept_alive_connection_carries_the_next_job_of_its_origin() {
        let config = Rc::new(ClientConfig::for_tests());
        let (other, _) = in_memory(
            Job::new(
                config.clone(),
                parse_url("http://127.0.0.2:8080/c").unwrap(),
                Instant::now(),
            )
            .unwrap(),
        );
        let (b, b_seen) = job_for_seen(&config, "/b");
        let pool = Pool::shared(vec![b, other]);
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        w.drive(&mut s);
        let first = String::from_utf8(sent(&mut w)).unwrap();
        assert!(first.starts_with("GET /a "), "{first}");
        assert!(!first.contains("Connection: close"), "{first}");

        // Byte at a time: the next request goes out only once the body is whole.
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA!".iter() {
            assert!(sent(&mut w).is_empty());
            w.input.extend(&[*b]);
            assert!(matches!(w.drive(&mut s), Step::Wait { read: true, .. }));
        }
        let second = String::from_utf8(sent(&mut w)).unwrap();
        assert!(second.starts_with("GET /b "), "{second}");
        // No more jobs for this origin: this one asks to close.
        assert!(second.contains("Connection: close"), "{second}");
        let done = pool.borrow_mut().take_done();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0.url().path(), "/a");
        assert!(matches!(done[0].1, Ok(Ending::Complete)));

        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (job, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Complete)));
        assert_eq!(job.url().path(), "/b");
        let seen = b_seen.0.take();
        assert!(seen.opened.is_some());
        assert_eq!(seen.body, b"B");
        // The other origin's job is still waiting for a connection of its own.
        assert_eq!(pool.borrow_mut().take_any().unwrap().url().path(), "/c");
    }

    #[test]
    fn keep_alive_is_not_used_when_the_server_or_framing_ends_it() {
        let cases: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
            b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
            b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 1\r\n\r\nx",
        ];
        for response in cases {
            let config = Rc::new(ClientConfig::for_tests());
            let pool = Pool::shared(vec![job_for(&config, "/b"), job_for(&config, "/c")]);
            let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
            let mut w = Wire::new();
            w.drive(&mut s);
            sent(&mut w);
            w.input.extend(response);
            assert_eq!(w.drive(&mut s), Step::Abort, "{response:?}");
            assert!(sent(&mut w).is_empty());
            assert!(pool.borrow_mut().take_done().is_empty());
        }
    }

    #[test]
    fn a_reused_connection_closed_before_any_reply_means_retry() {
        let config = Rc::new(ClientConfig::for_tests());
        let pool = Pool::shared(vec![job_for(&config, "/b"), job_for(&config, "/c")]);
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        w.drive(&mut s);
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
        w.drive(&mut s);
        w.peer_closed = true;
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (job, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Retry)), "{res:?}");
        assert_eq!(job.url().path(), "/b");
    }

    /// A connection's TLS facts, as [`FetchSession::secured`] is told them.
    fn facts() -> TlsInfo {
        TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
            certificate: None,
            handshake_time: Some(Duration::from_millis(5)),
        }
    }

    /// Every download a connection carries reports the connection's TLS
    /// facts; the first its own connect and handshake, the next one none
    /// (0, as curl counts a reused connection) and no new connection.
    #[test]
    fn each_job_on_a_kept_alive_connection_reports_the_connections_facts() {
        let config = Rc::new(ClientConfig::for_tests());
        let pool = Pool::shared(vec![job_for(&config, "/b")]);
        pool.borrow_mut().reuse_always();
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        let addr = Peer::Tcp("127.0.0.1:8080".parse().unwrap());
        s.on_connect(addr, addr, Instant::now());
        s.secured(facts());
        w.drive(&mut s);
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
        w.drive(&mut s);
        let (a, res) = pool.borrow_mut().take_done().remove(0);
        assert!(matches!(res, Ok(Ending::Complete)));
        let hop = &a.hops[0];
        assert_eq!(
            (hop.tls.as_ref(), hop.reused, a.connects),
            (Some(&facts()), false, 1)
        );
        let connect = hop.timing.connect.unwrap();
        assert_eq!(hop.timing.tls, Some(connect + Duration::from_millis(5)));

        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (mut b, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Complete)));
        // What `Conn::finish` does with the connection's facts.
        b.close_hop(Instant::now(), Some(facts()));
        let hop = &b.hops[0];
        assert_eq!(
            (hop.tls.as_ref(), hop.reused, b.connects),
            (Some(&facts()), true, 0)
        );
        let zero = Some(Duration::ZERO);
        let t = &hop.timing;
        assert_eq!((t.lookup, t.connect, t.tls), (zero, zero, zero));
        assert!(t.first_byte.is_some() && t.total.is_some());
    }

    fn pipelining() -> Rc<ClientConfig> {
        Rc::new(ClientConfig {
            pipeline: true,
            ..ClientConfig::for_tests()
        })
    }

    #[test]
    fn pipelining_sends_one_request_ahead_and_answers_in_order() {
        let config = pipelining();
        let (b, b_seen) = job_for_seen(&config, "/b");
        let pool = Pool::shared(vec![b, job_for(&config, "/c")]);
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        w.drive(&mut s);
        let first = String::from_utf8(sent(&mut w)).unwrap();
        // /a, then /b behind it before any answer; both keep the connection.
        let a = first.find("GET /a ").unwrap();
        let b = first.find("GET /b ").expect("no request sent ahead");
        assert!(a < b && !first.contains("Connection: close"), "{first}");
        assert!(first.find("GET /c ").is_none(), "only one request ahead");

        // /a's answer: /b is answered next, and /c goes out behind it.
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
        assert!(matches!(w.drive(&mut s), Step::Wait { read: true, .. }));
        let third = String::from_utf8(sent(&mut w)).unwrap();
        assert!(third.starts_with("GET /c "), "{third}");
        assert!(third.contains("Connection: close"), "the last one: {third}");
        let done = pool.borrow_mut().take_done();
        assert_eq!(done[0].0.url().path(), "/a");

        // Both remaining answers in one read, split nowhere in particular.
        w.input.extend(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nBBHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC",
        );
        assert_eq!(w.drive(&mut s), Step::Abort);
        assert_eq!(b_seen.0.take().body, b"BB");
        let done = pool.borrow_mut().take_done();
        assert_eq!(done[0].0.url().path(), "/b");
        let (job, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Complete)), "{res:?}");
        assert_eq!(job.url().path(), "/c");
        assert!(pool.borrow_mut().take_any().is_none());
    }

    #[test]
    fn a_request_sent_ahead_is_asked_again_when_the_connection_ends() {
        let config = pipelining();
        let pool = Pool::shared(vec![job_for(&config, "/b"), job_for(&config, "/c")]);
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        w.drive(&mut s);
        assert!(String::from_utf8(sent(&mut w)).unwrap().contains("GET /b "));
        // The server closes after /a: /b was never answered.
        w.input
            .extend(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nA");
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (job, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Complete)));
        assert_eq!(job.url().path(), "/a");
        let mut waiting = pool.borrow_mut();
        assert_eq!(waiting.take_any().unwrap().url().path(), "/b");
        assert_eq!(waiting.take_any().unwrap().url().path(), "/c");
    }

    #[test]
    fn only_gets_without_a_body_are_sent_ahead() {
        let config = pipelining();
        let mut post = job_for(&config, "/b");
        post.method = "POST".into();
        let pool = Pool::shared(vec![post, job_for(&config, "/c")]);
        let mut s = FetchSession::new(job_for(&config, "/a"), pool.clone());
        let mut w = Wire::new();
        w.drive(&mut s);
        let first = String::from_utf8(sent(&mut w)).unwrap();
        // /c may go ahead (a GET), the POST waits its turn.
        assert!(!first.contains("POST /b"), "{first}");
        assert!(first.contains("GET /c "), "{first}");
        // Without pipelining nothing goes ahead.
        let plain = Rc::new(ClientConfig::for_tests());
        let pool = Pool::shared(vec![job_for(&plain, "/b"), job_for(&plain, "/c")]);
        let mut s = FetchSession::new(job_for(&plain, "/a"), pool);
        let mut w = Wire::new();
        w.drive(&mut s);
        let only = String::from_utf8(sent(&mut w)).unwrap();
        assert_eq!(only.matches("GET ").count(), 1, "{only}");
    }
}

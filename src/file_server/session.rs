//! `HttpSession`: one server connection as a sans-IO state machine. It
//! parses request heads from the input buffer, discards request bodies,
//! answers pipelined requests strictly in order, keeps the connection alive
//! or closes it (RFC 9112 section 9), and enforces the per-connection
//! deadlines: head read (from a request's first byte, so slowloris fails),
//! keep-alive idle. Send progress is the loop's to watch (it sees each
//! write): the session only names the limit. It never touches a socket.
//!
//! A chunked request body is read, strictly, before its request is
//! answered: if its framing is faulty (RFC 9112 section 7.1) the answer is
//! 400 and the connection closes, so bytes after a bad body are never taken
//! for a request, and the answer does not depend on how the bytes arrived.
//! A Content-Length body cannot be misframed; its request is answered first
//! and the body discarded after.
//!
//! Access log lines wait until their response has been handed to the
//! kernel (or the connection ended), so they record the body bytes
//! actually sent, not the bytes planned.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::archive::sending::{Driven, Sending};
use super::auth;
use super::cache::FileCache;
use super::gate::{self, Gate};
use super::handle::{self, Body, Response};
use super::log::{self as access, Flush, PendingLog};
use super::outgoing;
use super::page::{self, Format};
use super::reply::{self, http_date, Connection};
use super::site::Site;
use super::upload::{self, Pumped, Receiving};
use crate::event_loop::{Io, Peer, Session, Step};
use crate::http::body::{request_framing, BodyDecoder, Framing, Next};
use crate::http::request::{try_parse_request, RequestHead};
use crate::http::{self, Version};

/// Stop answering pipelined requests while this much output is queued;
/// resume when it has drained (backpressure instead of memory growth).
const OUTPUT_CAP: u64 = 256 * 1024;
/// How far input is read ahead of an upload's file writes: two reads, so
/// the memory an upload holds is bounded (and given back when it ends).
const UPLOAD_READ: usize = 2048 * 1024;
/// An upload's body is read this much per read(2). benches/upload.sh, 1 GiB
/// on tmpfs, server CPU per GiB: 16 KiB reads made recv the busiest call
/// (32,778 for 512 MiB); 256 KiB took 500 ms, 1 MiB 405-425 ms, and 4 MiB
/// (with 8 MiB ahead) was no better, 425-435 ms.
const UPLOAD_CHUNK: usize = 1024 * 1024;
/// A request body larger than this is not worth discarding: answer, close.
const MAX_DISCARD: u64 = 1 << 20;

/// One HTTP/1.1 server connection. The states few connections are in (a
/// body being discarded, a held 401, an upload, a deferred request) are
/// boxed, so an idle connection's session is 184 bytes, not 688.
pub struct HttpSession {
    site: Arc<Site>,
    /// The loop's small-file cache, shared by its sessions.
    cache: Rc<RefCell<FileCache>>,
    peer: Peer,
    /// A request body being read and thrown away before the next request.
    discard: Option<Box<BodyDecoder>>,
    /// The request whose chunked body `discard` is reading, answered once
    /// the body has been read and found well framed.
    deferred: Option<Box<RequestHead>>,
    /// When the first byte of the request now being received arrived.
    head_started: Option<Instant>,
    /// When the connection last did anything (for the keep-alive timeout).
    active_at: Instant,
    /// `io.output.written()` when last seen.
    written: u64,
    /// Access log lines of responses not yet wholly handed to the kernel.
    logs: VecDeque<PendingLog>,
    /// The request being answered failed `--auth`: reply with 401.
    denied: bool,
    /// A denied request whose 401 waits for its deadline (see `throttle`).
    held: Option<Box<(RequestHead, Instant)>>,
    /// A folder archive still being queued.
    archive: Sending,
    /// An upload whose body is being streamed to its file (`--upload`).
    upload: Option<Box<(RequestHead, Receiving)>>,
}

impl HttpSession {
    pub fn new(site: Arc<Site>, cache: Rc<RefCell<FileCache>>, peer: Peer, now: Instant) -> Self {
        HttpSession {
            site,
            cache,
            peer,
            discard: None,
            deferred: None,
            head_started: None,
            active_at: now,
            written: 0,
            logs: VecDeque::new(),
            denied: false,
            held: None,
            archive: Sending::default(),
            upload: None,
        }
    }

    /// Writes the waiting log lines `which` says.
    fn flush_logs(&mut self, written: u64, which: Flush) {
        access::flush(self.peer.host(), &mut self.logs, written, which);
    }

    /// Reads and drops request body bytes. `Some(step)` when the body is
    /// not done yet (or cannot be), `None` when the next request may parse.
    fn discard_body(&mut self, io: &mut Io<'_>) -> Option<Step> {
        let dec = self.discard.as_mut()?;
        loop {
            match dec.decode(io.input.data()) {
                Ok(d) => {
                    io.input.consume(d.consumed);
                    if d.next == Next::Done {
                        self.discard = None;
                        let req = *self.deferred.take()?;
                        return self.reply(req, false, io).then_some(Step::Close);
                    }
                    if dec.received() > MAX_DISCARD {
                        // Not worth reading on: answer (if not yet), close.
                        if let Some(req) = self.deferred.take() {
                            self.reply(*req, true, io);
                        }
                        return Some(self.closing(io));
                    }
                    if d.next == Next::NeedMore {
                        break;
                    }
                }
                Err(e) => {
                    // RFC 9112 section 7.1: the framing is faulty, so where
                    // this request ends, and the next begins, is unknown.
                    log::debug!("{}: request body: {e}", self.peer);
                    let req = self.deferred.take();
                    return Some(self.refuse(400, req.as_deref(), io));
                }
            }
        }
        if io.peer_closed {
            return Some(Step::Close);
        }
        if io.shutting_down && self.deferred.is_some() {
            // The request is in flight: answer it, without its body.
            let req = *self.deferred.take()?;
            self.reply(req, true, io);
            return Some(self.closing(io));
        }
        let deadline = self.active_at + self.site.limits.head_timeout;
        if io.now >= deadline {
            let req = self.deferred.take();
            return Some(match req {
                Some(req) => self.refuse(408, Some(&req), io),
                None => Step::Close,
            });
        }
        Some(Step::read(Some(deadline)))
    }

    /// Close now, as a request just answered asks; but an archive being
    /// walked is driven on next turn, and closes once it is answered.
    fn closing(&self, io: &Io<'_>) -> Step {
        if self.archive.is_walking() {
            Step::read(Some(io.now))
        } else {
            Step::Close
        }
    }

    /// Answers one parsed request, or defers that until its chunked body
    /// has been read; returns whether the connection must close.
    fn answer(&mut self, req: RequestHead, io: &mut Io<'_>) -> bool {
        let framing = match request_framing(req.version, &req.headers) {
            Ok(framing) => framing,
            Err(e) => {
                // RFC 9112 sections 6.1 and 6.3: a request whose body length
                // cannot be known is answered and the connection closed.
                log::debug!("{}: request framing: {e}", self.peer);
                self.refuse(reply::status_for(e), Some(&req), io);
                return true;
            }
        };
        if !self.denied && !io.shutting_down {
            match upload::begin(&self.site, &req, framing, io) {
                Some(Ok(up)) => {
                    self.upload = Some(Box::new((req, up)));
                    return false;
                }
                Some(Err(resp)) => return self.send_closing(resp, &req, io),
                None => {}
            }
        }
        let close = io.shutting_down
            || !http::keeps_alive(req.version, &req.headers)
            || matches!(framing, Framing::Length(n) if n > MAX_DISCARD)
            // We never send 100 Continue: a client waiting for it would
            // stall the connection, so answer and close (RFC 9110 section
            // 10.1.1).
            || (framing != Framing::Empty && http::find(&req.headers, "expect").is_some());
        match framing {
            Framing::Chunked if !close => {
                self.discard = Some(Box::new(BodyDecoder::strict(framing)));
                self.deferred = Some(Box::new(req));
                false
            }
            Framing::Length(_) if !close => {
                let close = self.reply(req, false, io);
                if !close {
                    self.discard = Some(Box::new(BodyDecoder::strict(framing)));
                }
                close
            }
            _ => self.reply(req, close, io),
        }
    }

    /// The upload under way: its body into its file, then its answer.
    fn receive(&mut self, io: &mut Io<'_>) -> Option<Step> {
        let stall = self.site.limits.head_timeout;
        let resp = match self.upload.as_mut()?.1.pump(&self.site, io, stall) {
            Pumped::Wait(step) => return Some(step),
            Pumped::Done(resp) => resp,
        };
        let (req, _) = *self.upload.take()?;
        self.active_at = io.now;
        self.send_closing(resp, &req, io).then_some(Step::Close)
    }

    /// Queues `resp` to `req`, closing after it if it says so or the
    /// request does not keep the connection; returns whether it closes.
    fn send_closing(&mut self, mut resp: Response, req: &RequestHead, io: &mut Io<'_>) -> bool {
        resp.close |= !http::keeps_alive(req.version, &req.headers);
        let close = resp.close;
        self.send(resp, Some(req), io);
        close
    }

    /// Queues the response to `req`, closing after it if `close` or if the
    /// handler says so; returns whether the connection must close.
    fn reply(&mut self, req: RequestHead, close: bool, io: &mut Io<'_>) -> bool {
        let date = http_date();
        let mut resp = if std::mem::take(&mut self.denied) {
            gate::challenge(&self.site, &req, &date)
        } else {
            handle::respond(&self.site, &mut self.cache.borrow_mut(), &req, &date)
        };
        resp.close |= close;
        if let Body::Walk(planning) = resp.body {
            // Answered once its manifest is read (see `drive`).
            self.archive.plan(planning, req, resp.close);
            return false;
        }
        let close = resp.close;
        self.send(resp, Some(&req), io);
        close && !self.archive.defer_close()
    }

    /// Queues a response to `req` (`None`: a request whose head could not
    /// be read). A HEAD response is its head alone, which still says how
    /// long the body would be (RFC 9110 section 9.3.2).
    fn send(&mut self, resp: Response, req: Option<&RequestHead>, io: &mut Io<'_>) {
        let status = resp.head.status;
        let version = req.map_or(Version::Http11, |r| r.version);
        let out = resp.head.finish(Connection::after(resp.close, version));
        let body_len = if req.is_some_and(|r| r.method == "HEAD") {
            io.output.push(out);
            0
        } else {
            let len = resp.body.len();
            if let Some(stream) = outgoing::queue(out, resp.body, io, &self.peer) {
                self.archive.start(stream);
            }
            len
        };
        if self.site.access_log {
            self.log_later(status, body_len, req, io);
        }
    }

    /// Notes the access log line of the response just queued, to be
    /// written once its last body byte has been handed to the kernel.
    fn log_later(&mut self, status: u16, body_len: u64, req: Option<&RequestHead>, io: &Io<'_>) {
        let header = |name| req.and_then(|r| http::find(&r.headers, name).map(<[u8]>::to_vec));
        let body_end = io.output.written() + io.output.pending() + self.archive.unqueued();
        self.logs.push_back(PendingLog {
            time: SystemTime::now(),
            request: req.map(|r| {
                let target = auth::redact_target(&r.target).into_owned();
                (r.method.clone(), target, r.version.as_str())
            }),
            status,
            referer: header("referer"),
            user_agent: header("user-agent"),
            body_start: body_end - body_len,
            body_end,
        });
        self.flush_logs(io.output.written(), Flush::Sent);
    }

    /// A request that could not be parsed or framed (`req` when its head
    /// was read): answer with `status`, then close.
    fn refuse(&mut self, status: u16, req: Option<&RequestHead>, io: &mut Io<'_>) -> Step {
        let fmt = req.map_or(Format::Html, |r| page::negotiate(&r.headers));
        let mut resp = handle::error(&self.site, fmt, status, &http_date());
        resp.close = true;
        self.send(resp, req, io);
        Step::Close
    }

    /// Sending counts as activity: the idle timeout starts once the
    /// output has drained (the loop drives the session when it does).
    fn note_progress(&mut self, io: &Io<'_>) {
        let written = io.output.written();
        if written != self.written || io.output.pending() > 0 {
            self.written = written;
            self.active_at = io.now;
        }
        self.flush_logs(written, Flush::Sent);
    }
}

impl Session for HttpSession {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        self.note_progress(io);
        if let Some(step) = self.release(io) {
            return step;
        }
        loop {
            match self.archive.drive(io, &self.site) {
                Some(Driven::Step(step)) => return step,
                Some(Driven::Answer(resp, req)) => {
                    self.send(resp, Some(&req), io);
                    if self.archive.closes_now() {
                        return Step::Close;
                    }
                    continue;
                }
                None => {}
            }
            if let Some(step) = self.receive(io) {
                return step;
            }
            // A chunked body just read may have started an archive's walk.
            match self.discard_body(io) {
                Some(step) => return step,
                None if self.archive.is_walking() => continue,
                None => {}
            }
            if io.shutting_down {
                // Whatever is queued is the response in flight: Close sends
                // it first. Requests not yet answered are not started.
                return Step::Close;
            }
            if io.output.pending() >= OUTPUT_CAP {
                // Called again once it drains (the send timeout bounds it).
                return Step::Wait {
                    read: false,
                    deadline: None,
                };
            }
            let parsed = try_parse_request(io.input.data(), self.site.limits.max_head);
            match parsed {
                Ok(Some((req, n))) => {
                    io.input.consume(n);
                    self.head_started = None;
                    self.active_at = io.now;
                    let Some(req) = self.admit(req, io.now) else {
                        return self.release(io).unwrap_or(Step::Close);
                    };
                    if self.answer(req, io) {
                        return Step::Close;
                    }
                }
                Ok(None) if io.peer_closed => return Step::Close,
                Ok(None) => return self.wait_for_input(io),
                Err(e) => {
                    log::debug!("{}: bad request: {e}", self.peer);
                    return self.refuse(reply::status_for(e), None, io);
                }
            }
        }
    }

    fn send_timeout(&self) -> Option<Duration> {
        Some(self.site.limits.send_timeout)
    }

    fn input_cap(&self) -> usize {
        // An upload's body goes to disk as it arrives: larger reads, fewer
        // writes; still bounded, so a slow disk stops the reading.
        if self.upload.is_some() {
            UPLOAD_READ
        } else {
            64 * 1024
        }
    }

    fn read_chunk(&self) -> Option<usize> {
        self.upload.is_some().then_some(UPLOAD_CHUNK)
    }

    fn on_close(&mut self, written: u64) {
        self.flush_logs(written, Flush::All);
    }
}

impl HttpSession {
    /// Checks `req` against `--auth`: `Some(req)` to answer now (marked
    /// denied if it failed), `None` when its 401 is held back.
    fn admit(&mut self, req: RequestHead, now: Instant) -> Option<RequestHead> {
        match gate::check(&self.site, &req, self.peer.host(), now) {
            Gate::Pass => {}
            Gate::Deny => self.denied = true,
            Gate::Hold(at) => {
                self.denied = true;
                self.held = Some(Box::new((req, at)));
                return None;
            }
        }
        Some(req)
    }

    /// A held 401: wait for its deadline (reading nothing meanwhile), then
    /// answer it. `None` when nothing is held or it has just been answered.
    fn release(&mut self, io: &mut Io<'_>) -> Option<Step> {
        let at = self.held.as_ref()?.1;
        if io.now < at && !io.shutting_down {
            return Some(Step::Wait {
                read: false,
                deadline: Some(at),
            });
        }
        let (req, _) = *self.held.take()?;
        self.active_at = io.now;
        self.answer(req, io).then_some(Step::Close)
    }

    /// Nothing complete to answer: wait for more, under the head deadline
    /// if a request has begun, else the idle timeout.
    fn wait_for_input(&mut self, io: &mut Io<'_>) -> Step {
        let limits = &self.site.limits;
        let deadline = if io.input.is_empty() {
            self.head_started = None;
            if io.output.pending() > 0 {
                // Not idle while sending; the loop's send timeout applies.
                None
            } else {
                let idle = self.active_at + limits.idle_timeout;
                if io.now >= idle {
                    return Step::Close;
                }
                Some(idle)
            }
        } else {
            let started = *self.head_started.get_or_insert(io.now);
            let d = started + limits.head_timeout;
            if io.now >= d {
                log::debug!("{}: request head too slow", self.peer);
                return self.refuse(408, None, io);
            }
            Some(d)
        };
        Step::read(deadline)
    }
}

#[cfg(test)]
mod tests {
    use std::ops::{Deref, DerefMut};

    use super::*;
    use crate::event_loop::testing::Wire;
    use crate::file_server::{Limits, Site};
    use std::time::Duration;

    fn site(dir: &std::path::Path) -> Arc<Site> {
        let mut s = Site::for_tests(dir);
        s.limits = Limits {
            max_head: 8192,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
        };
        Arc::new(s)
    }

    /// A session on a [`Wire`]; the wire's fields (`input`, `output`,
    /// `sent`, `now`) are the harness's own.
    struct Conn {
        s: HttpSession,
        wire: Wire,
    }

    impl Deref for Conn {
        type Target = Wire;
        fn deref(&self) -> &Wire {
            &self.wire
        }
    }

    impl DerefMut for Conn {
        fn deref_mut(&mut self) -> &mut Wire {
            &mut self.wire
        }
    }

    impl Conn {
        fn new(dir: &std::path::Path) -> Conn {
            let wire = Wire::new();
            Conn {
                s: HttpSession::new(
                    site(dir),
                    Rc::new(RefCell::new(FileCache::new())),
                    wire.peer,
                    wire.now,
                ),
                wire,
            }
        }

        /// Feeds bytes, drives, and collects all output (as the loop would).
        fn feed(&mut self, bytes: &[u8], peer_closed: bool) -> Step {
            self.wire.peer_closed = peer_closed;
            self.wire.feed_all(&mut self.s, bytes)
        }
    }

    fn statuses(out: &[u8]) -> Vec<u16> {
        let text = String::from_utf8_lossy(out);
        text.match_indices("HTTP/1.1 ")
            .map(|(i, _)| text[i + 9..i + 12].parse().unwrap())
            .collect()
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "hello").unwrap();
        std::fs::write(d.path().join("big.bin"), vec![7u8; 300_000]).unwrap();
        d
    }

    const PIPELINE: &[u8] = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\
        POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde\
        HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\
        POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
        GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn pipelined_requests_answered_in_order_at_any_split() {
        let d = tree();
        let want = vec![200, 405, 200, 405, 404];
        let mut whole = Conn::new(d.path());
        whole.feed(PIPELINE, false);
        assert_eq!(statuses(&whole.sent), want);
        for step in [1, 2, 3, 7, 13] {
            let mut c = Conn::new(d.path());
            for piece in PIPELINE.chunks(step) {
                assert!(matches!(c.feed(piece, false), Step::Wait { .. }));
            }
            assert_eq!(statuses(&c.sent), want, "step {step}");
            assert_eq!(c.sent.len(), whole.sent.len(), "step {step}");
        }
    }

    #[test]
    fn every_split_point_of_two_requests() {
        let d = tree();
        let two = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        for cut in 0..two.len() {
            let mut c = Conn::new(d.path());
            c.feed(&two[..cut], false);
            let step = c.feed(&two[cut..], false);
            assert_eq!(step, Step::Close, "cut {cut}");
            assert_eq!(statuses(&c.sent), vec![200, 200], "cut {cut}");
        }
    }

    #[test]
    fn head_errors_close() {
        let d = tree();
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            // RFC 9112 section 2.3: HTTP-name is case-sensitive.
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            (b"garbage\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ];
        for (req, status) in cases {
            let mut c = Conn::new(d.path());
            let step = c.feed(req, false);
            assert_eq!(step, Step::Close, "{}", String::from_utf8_lossy(req));
            assert_eq!(
                statuses(&c.sent),
                vec![*status],
                "{}",
                String::from_utf8_lossy(req)
            );
        }
    }

    /// Issue 9, item 8: faulty framing (RFC 9112 sections 6.1 and 7.1) is
    /// answered 400 and closed, and the request pipelined behind it is
    /// never answered, however the bytes are split.
    #[test]
    fn faulty_framing_gets_400_and_nothing_after_it() {
        let d = tree();
        let next = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        let chunked = |body: &str| {
            format!("POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
        };
        let bad = [
            "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_string(),
            "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"
                .to_string(),
            chunked("3\nabc\r\n0\r\n\r\n"),
            chunked("3\r\nabc\n0\r\n\r\n"),
            chunked("3\r\nabc\r\n0\n\n"),
            chunked("3;x\ry\r\nabc\r\n0\r\n\r\n"),
            chunked("3 \r\nabc\r\n0\r\n\r\n"),
            "GET /a.txt http/1.1\r\nHost: x\r\n\r\n".to_string(),
        ];
        for req in &bad {
            let input = [req.as_bytes(), next].concat();
            for cut in 0..=input.len() {
                let mut c = Conn::new(d.path());
                // The loop never drives a session again after Close.
                let mut step = c.feed(&input[..cut], false);
                if step != Step::Close {
                    step = c.feed(&input[cut..], false);
                }
                assert_eq!(step, Step::Close, "{req:?} cut {cut}");
                assert_eq!(statuses(&c.sent), vec![400], "{req:?} cut {cut}");
                assert!(!String::from_utf8_lossy(&c.sent).contains("hello"));
            }
        }
        // The same bodies, well framed: the POST is answered (405) after
        // its body, then the GET.
        for body in ["3\r\nabc\r\n0\r\n\r\n", "3 ;x=\"y\"\r\nabc\r\n0\r\n\r\n"] {
            let input = [chunked(body).as_bytes(), next].concat();
            for cut in 0..=input.len() {
                let mut c = Conn::new(d.path());
                c.feed(&input[..cut], false);
                assert!(matches!(c.feed(&input[cut..], false), Step::Wait { .. }));
                assert_eq!(statuses(&c.sent), vec![405, 200], "{body:?} cut {cut}");
            }
        }
    }

    /// A chunked body waits for its answer; one that never ends gets 408.
    #[test]
    fn a_chunked_body_is_read_before_its_answer() {
        let d = tree();
        let mut c = Conn::new(d.path());
        let step = c.feed(
            b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            false,
        );
        let Step::Wait {
            deadline: Some(dl), ..
        } = step
        else {
            panic!("{step:?}")
        };
        assert!(c.sent.is_empty());
        c.now = dl;
        assert_eq!(c.feed(b"", false), Step::Close);
        assert_eq!(statuses(&c.sent), vec![408]);
    }

    /// Shutdown while a chunked body is still coming: the request is in
    /// flight, so it is answered (without its body) and the connection closed.
    #[test]
    fn shutdown_answers_a_request_whose_body_is_unread() {
        let d = tree();
        let mut c = Conn::new(d.path());
        c.feed(
            b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            false,
        );
        c.wire.shutting_down = true;
        assert_eq!(c.wire.drive(&mut c.s), Step::Close);
        c.flush();
        assert_eq!(statuses(&c.sent), vec![405]);
        assert!(String::from_utf8_lossy(&c.sent).contains("Connection: close"));
    }

    /// Garbage and mangled requests in random pieces: the session must
    /// never panic (a panic would take down the whole loop).
    #[test]
    fn random_input_never_panics() {
        let d = tree();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces: &[&[u8]] = &[
            b"GET ",
            b"HEAD ",
            b"POST ",
            b"/a.txt",
            b"/big.bin",
            b"/%2e%2e/",
            b"/\xc3",
            b" HTTP/1.1\r\n",
            b" HTTP/1.0\r\n",
            b"Host: x\r\n",
            b"Range: bytes=0-1,5-\r\n",
            b"Range: bytes=-0\r\n",
            b"Content-Length: 3\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"\r\n",
            b"abc",
            b"0\r\n\r\n",
            b"If-None-Match: *\r\n",
            b"If-Range: \"x\"\r\n",
            b"\xff\xfe",
            b"\n",
            b":",
            "http://h\u{e9}/\u{fc}".as_bytes(),
        ];
        for _ in 0..300 {
            let mut input = Vec::new();
            for _ in 0..(next() % 24) {
                input.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let mut c = Conn::new(d.path());
            let mut at = 0;
            while at < input.len() {
                let n = 1 + (next() % 40) as usize;
                let end = (at + n).min(input.len());
                if !matches!(c.feed(&input[at..end], false), Step::Wait { .. }) {
                    break;
                }
                at = end;
            }
            c.feed(b"", true);
        }
    }

    #[test]
    fn slow_head_times_out_from_its_first_byte() {
        let d = tree();
        let mut c = Conn::new(d.path());
        let step = c.feed(b"GET /a.txt HTTP/1.1\r\n", false);
        let Step::Wait {
            deadline: Some(dl), ..
        } = step
        else {
            panic!("{step:?}")
        };
        // More bytes do not push the deadline back.
        c.now += Duration::from_secs(5);
        let Step::Wait {
            deadline: Some(dl2),
            ..
        } = c.feed(b"X: y\r\n", false)
        else {
            panic!()
        };
        assert_eq!(dl, dl2);
        c.now = dl;
        assert_eq!(c.feed(b"", false), Step::Close);
        assert_eq!(statuses(&c.sent), vec![408]);
    }

    #[test]
    fn idle_keep_alive_times_out() {
        let d = tree();
        let mut c = Conn::new(d.path());
        let Step::Wait {
            deadline: Some(dl), ..
        } = c.feed(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false)
        else {
            panic!()
        };
        c.now = dl;
        assert_eq!(c.feed(b"", false), Step::Close);
    }

    #[test]
    fn large_files_wait_for_output_to_drain() {
        let d = tree();
        let mut c = Conn::new(d.path());
        c.input.extend(
            b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let step = c.wire.drive(&mut c.s);
        // No deadline of its own: the loop, which sees every write, drops
        // the peer after the send timeout without progress.
        assert_eq!(
            step,
            Step::Wait {
                read: false,
                deadline: None
            }
        );
        assert!(!c.input.is_empty(), "second request waits");
        assert_eq!(c.s.send_timeout(), Some(Duration::from_secs(30)));
    }

    /// The access log counts the body bytes that reached the kernel, not
    /// the bytes planned: a download cut short logs what went out.
    #[test]
    fn access_log_waits_for_the_bytes_actually_sent() {
        let d = tree();
        let mut c = Conn::new(d.path());
        let mut site = Site::for_tests(d.path());
        site.access_log = true;
        c.s.site = Arc::new(site);
        c.input.extend(
            b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        c.wire.drive(&mut c.s);
        assert_eq!(c.s.logs.len(), 1, "logged before it was sent");
        let head = c.s.logs[0].body_start;
        // The kernel takes the head and 1000 body bytes, then the peer goes.
        c.output.advance(head + 1000);
        c.s.note_progress(&c.wire.io());
        assert_eq!(c.s.logs.len(), 1);
        let sent =
            |p: &PendingLog, written: u64| written.clamp(p.body_start, p.body_end) - p.body_start;
        assert_eq!(sent(&c.s.logs[0], c.output.written()), 1000);
        assert_eq!(c.s.logs[0].body_end - c.s.logs[0].body_start, 300_000);
        c.s.on_close(c.output.written());
        assert!(c.s.logs.is_empty());
    }
}

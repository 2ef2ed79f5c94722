//! `FetchSession`: one request and its response on one connection, sans
//! I/O. It queues the request, parses heads as bytes arrive (skipping 1xx),
//! decides from the final head whether a body is wanted (not for a redirect
//! being followed, `--fail` errors or `headers`), and streams the body
//! through the framing decoder and (with `--compressed`) the content
//! decoder into the job's output as it comes; with `-J` the server's
//! Content-Disposition names the file. It never sees a socket, so tests
//! drive it with plain buffers.

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Instant;

use super::job::{Job, Mode};
use super::output::{Continue, Destination, Output};
use super::partial::{parse_content_range, validator_of, ContentRange, Partial};
use super::pool::{Origin, SharedPool};
use super::progress::Progress;
use super::redirect;
use super::request::{self, Body, HeaderEdit};
use crate::error::{shown, Error, Result};
use crate::event_loop::{Ended, Io, Session, Step};
use crate::http::body::{response_framing, BodyDecoder, Framing};
use crate::http::content_coding::{CodingError, DecodeError, Decoder, ACCEPT_ENCODING};
use crate::http::disposition;
use crate::http::response::{try_parse_response, ResponseHead};
use crate::http::{keeps_alive, ParseError};

/// The largest response head we read (interim heads each count alone).
pub const MAX_HEAD: usize = 64 * 1024;
/// Interim (1xx) heads accepted before one response is called endless.
const MAX_INTERIM: u32 = 32;
/// Bytes buffered before the session must consume some: large, so a fast
/// download moves in few, big reads and writes.
const INPUT_CAP: usize = 256 * 1024;

/// How an exchange ended well.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// The body (if any) is complete and verified against its framing.
    Complete,
    /// A redirect to follow; the job's `head` holds it.
    Redirect,
    /// A kept-alive connection turned out closed before any response
    /// byte came (the server timed it out while idle): send the request
    /// again on a new connection.
    Retry,
}

#[derive(Debug)]
enum Phase {
    Head,
    Body(BodyDecoder, Unwrap),
}

/// The content codings still on the body as framing yields it: undone
/// with `--compressed`, left alone otherwise.
struct Unwrap(Option<Decoder>);

impl fmt::Debug for Unwrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Decode" } else { "Raw" })
    }
}

impl Unwrap {
    /// Decoding when `--compressed` asked for codings and `--raw-body`
    /// does not want the bytes as sent. A coding we cannot undo is an
    /// error before anything is written.
    fn for_head(job: &Job, head: &ResponseHead, framing: Framing) -> Result<Unwrap> {
        let web = &job.config.web;
        if !web.compressed || web.raw_body || framing == Framing::Empty {
            return Ok(Unwrap(None));
        }
        match Decoder::from_headers(&head.headers) {
            Ok(d) if d.is_identity() => Ok(Unwrap(None)),
            Ok(d) => Ok(Unwrap(Some(d))),
            Err(e @ CodingError::Unsupported(_)) => Err(Error::Protocol(format!(
                "{}: {e}; --raw-body saves the body as it came",
                job.target.url
            ))),
            Err(e) => Err(Error::Protocol(format!("{}: {e}", job.target.url))),
        }
    }

    fn write(&mut self, output: &mut Output, bytes: &[u8], url: &url::Url) -> Result<()> {
        match &mut self.0 {
            None => output.write(bytes),
            Some(d) => {
                let mut sink = Sink {
                    output,
                    error: None,
                };
                let res = d.feed(bytes, &mut sink);
                decode_result(res, sink.error, url)
            }
        }
    }

    /// The body ended: the compressed stream must have ended with it. An
    /// empty body is left empty (some servers label those too).
    fn finish(&mut self, output: &mut Output, url: &url::Url) -> Result<()> {
        match &mut self.0 {
            Some(d) if d.encoded_bytes() > 0 => {
                let mut sink = Sink {
                    output,
                    error: None,
                };
                let res = d.finish(&mut sink);
                decode_result(res, sink.error, url)
            }
            _ => Ok(()),
        }
    }
}

/// A decoding failure is the body's fault (a protocol error: corrupt data,
/// a bomb) or the output's (its own error, kept by the sink).
fn decode_result(
    res: std::result::Result<(), DecodeError>,
    sink_error: Option<Error>,
    url: &url::Url,
) -> Result<()> {
    match res {
        Ok(()) => Ok(()),
        Err(DecodeError::Write(e)) => Err(sink_error.unwrap_or_else(|| Error::io("writing", e))),
        Err(DecodeError::Coding(e)) => Err(Error::Protocol(format!("{url}: {e}"))),
    }
}

/// The job's output as an `io::Write`, keeping the crate error it gave.
struct Sink<'a> {
    output: &'a mut Output,
    error: Option<Error>,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.output.write(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.error = Some(e);
                Err(io::Error::other("the output failed"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
pub struct FetchSession {
    job: Job,
    request: Vec<u8>,
    queued: bool,
    /// The `-v` transcript has shown the request. Over TLS that waits
    /// for the first plaintext from the server (or the end), so the
    /// handshake's facts, printed as it completes, come first as in curl.
    shown: bool,
    phase: Phase,
    /// Input left unconsumed at the end of the last drive, to tell new bytes from old.
    leftover: usize,
    interim: u32,
    written: u64,
    last_activity: Option<Instant>,
    outcome: Option<Result<Ending>>,
    /// Where to take the next job for this connection and leave finished ones.
    pool: Option<SharedPool>,
    /// This connection carried an earlier exchange.
    reused: bool,
    /// The request left out `Connection: close` and the response agreed:
    /// once the body is complete the connection may carry another request.
    reusable: bool,
}

impl FetchSession {
    pub fn new(mut job: Job) -> FetchSession {
        let pool = job.pool.take();
        FetchSession {
            job,
            request: Vec::new(),
            queued: false,
            shown: false,
            phase: Phase::Head,
            leftover: 0,
            interim: 0,
            written: 0,
            last_activity: None,
            outcome: None,
            pool,
            reused: false,
            reusable: false,
        }
    }

    /// Hands the job back with how the exchange went, given how the
    /// connection ended. `interrupted`: a shutdown was requested.
    pub fn finish(self, how: Ended, interrupted: bool) -> (Job, Result<Ending>) {
        let url = self.job.url().to_string();
        if self.went_stale(&how, interrupted) {
            log::debug!("{url}: kept-alive connection closed while idle; retrying");
            return (self.job, Ok(Ending::Retry));
        }
        let result = match (self.outcome, how) {
            (Some(r), _) => r,
            (None, _) if interrupted => Err(Error::Interrupted),
            (None, Ended::ConnectFailed(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                log::debug!("{e}");
                let config = &self.job.config;
                let limit = config
                    .max_time
                    .map_or(config.connect_timeout, |m| m.min(config.connect_timeout));
                Err(Error::Timeout(format!(
                    "{url}: connect timed out after {}s",
                    limit.as_secs_f64()
                )))
            }
            (None, Ended::ConnectFailed(e)) => Err(Error::Connect(match &self.job.target.via {
                Some(proxy) => format!("{url}: could not connect to proxy {}: {e}", proxy.url),
                None => format!("{url}: could not connect: {e}"),
            })),
            (None, Ended::Failed(e)) => Err(Error::Protocol(format!(
                "{url}: connection failed: {e} ({})",
                describe_progress(&self.phase)
            ))),
            (None, Ended::Closed) => Err(Error::Protocol(format!(
                "{url}: connection closed ({})",
                describe_progress(&self.phase)
            ))),
        };
        (self.job, result)
    }

    /// A reused connection that ended before any byte of this response:
    /// the server closed it while idle (RFC 9112 section 9.3.1 allows the
    /// retry for an idempotent request, and only once).
    fn went_stale(&self, how: &Ended, interrupted: bool) -> bool {
        let closed = matches!(
            (&self.outcome, how),
            (Some(Err(Error::Protocol(_))), _) | (None, Ended::Closed | Ended::Failed(_))
        );
        self.reused
            && closed
            && !interrupted
            && !self.job.retried
            && matches!(self.phase, Phase::Head)
            && self.job.timing.first_byte.is_none()
            && matches!(self.job.method.as_str(), "GET" | "HEAD")
    }

    /// After a complete exchange on a connection that stays open: the next
    /// job for this origin, with the finished one handed to the pool.
    fn carry_on(&mut self, io: &Io<'_>) -> bool {
        let Some(pool) = self.pool.clone() else {
            return false;
        };
        if !self.reusable || !io.input.is_empty() || io.peer_closed {
            return false;
        }
        let Some(next) = pool.borrow_mut().take_for(&Origin::of(&self.job)) else {
            return false;
        };
        let done = std::mem::replace(&mut self.job, next);
        pool.borrow_mut().finished(done, Ok(Ending::Complete));
        self.job.target.route(&self.job.config.web.proxy);
        self.queued = false;
        self.shown = false;
        self.phase = Phase::Head;
        self.leftover = 0;
        self.interim = 0;
        self.reused = true;
        self.reusable = false;
        self.job.hop_started = io.now;
        // Its clock starts now, not when the run began.
        self.job.started = io.now;
        true
    }

    fn stop(&mut self, result: Result<Ending>) -> Step {
        self.show_request();
        self.outcome = Some(result);
        Step::Abort
    }

    fn queue_request(&mut self, io: &mut Io<'_>) {
        let more = self
            .pool
            .as_ref()
            .is_some_and(|p| p.borrow().has_more_for(&Origin::of(&self.job)));
        // Without `Connection: close` HTTP/1.1 keeps the connection open
        // (RFC 9112 section 9.3); ask for that only when it will be used.
        let keep = more && !self.job.edits.iter().any(|e| e.is("connection"));
        let mut edits = self.job.edits.clone();
        if keep {
            edits.push(HeaderEdit {
                name: "Connection".into(),
                value: None,
            });
        }
        self.reusable = keep;
        // Ranges count bytes of the representation as sent (RFC 9110
        // section 14.1.2): with `-C` the part holds identity bytes, so only
        // identity is asked for.
        let accept = if self.job.config.web.compressed && !self.job.config.resume {
            ACCEPT_ENCODING
        } else {
            request::IDENTITY
        };
        self.request = request::head(
            &self.job.method,
            &self.job.target,
            &edits,
            self.job.body.as_ref(),
            accept,
        );
        io.output.push(self.request.as_slice());
        match &self.job.body {
            Some(Body::Bytes(b)) => io.output.push(b.to_vec()),
            Some(Body::File { file, len }) => io.output.push_file(file.clone(), 0, *len),
            None => {}
        }
        self.queued = true;
        if !self.job.target.is_https() {
            self.show_request();
        }
        self.last_activity = Some(io.now);
    }

    /// Parses and stores what the input allows. `Some` once the exchange is over.
    fn advance(&mut self, io: &mut Io<'_>) -> Result<Option<Ending>> {
        loop {
            match &mut self.phase {
                Phase::Head => {
                    let parsed = try_parse_response(io.input.data(), MAX_HEAD)
                        .map_err(|e| self.head_error(e))?;
                    let Some((head, n)) = parsed else {
                        if io.peer_closed {
                            return Err(self.closed_in_head(io.input.len()));
                        }
                        return Ok(None);
                    };
                    let raw = io.input.data()[..n].to_vec();
                    io.input.consume(n);
                    if let Some(end) = self.on_head(head, &raw)? {
                        return Ok(Some(end));
                    }
                }
                Phase::Body(dec, unwrap) => {
                    let output = self.job.output.as_mut().expect("opened before the body");
                    let url = &self.job.target.url;
                    loop {
                        let d = dec
                            .decode(io.input.data())
                            .map_err(|e| Error::Protocol(format!("{url}: {e} in the body")))?;
                        if !d.body.is_empty() {
                            unwrap.write(output, &io.input.data()[d.body], url)?;
                        }
                        io.input.consume(d.consumed);
                        if dec.is_done() || d.consumed == 0 {
                            break;
                        }
                    }
                    self.job.progress.update(dec.received());
                    if !dec.is_done() && io.peer_closed {
                        dec.finish_at_eof().map_err(|t| {
                            Error::Protocol(format!("{}: {t}", self.job.target.url))
                        })?;
                    }
                    if dec.is_done() {
                        unwrap.finish(output, url)?;
                        self.job.progress.finish();
                        self.job.config.printer.trailers(dec.trailers());
                        return Ok(Some(Ending::Complete));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// A complete head arrived. Interim heads are shown and skipped
    /// (RFC 9110 section 15.2); the final one decides what comes next.
    fn show_request(&mut self) {
        if !self.shown {
            self.shown = true;
            self.job.config.printer.request(&self.request);
        }
    }

    fn on_head(&mut self, head: ResponseHead, raw: &[u8]) -> Result<Option<Ending>> {
        self.show_request();
        let config = self.job.config.clone();
        let url = &self.job.target.url.clone();
        if head.is_interim() {
            config.printer.passing_head(raw);
            self.interim += 1;
            if self.interim > MAX_INTERIM {
                return Err(Error::Protocol(format!(
                    "{url}: more than {MAX_INTERIM} interim (1xx) responses"
                )));
            }
            return Ok(None);
        }
        if head.status == 101 {
            return Err(Error::Protocol(format!(
                "{url}: the server switched protocols (101) without being asked"
            )));
        }
        let framing = response_framing(&self.job.method, head.status, &head.headers)
            .map_err(|e| Error::Protocol(format!("{url}: {e} in the response head")))?;
        self.reusable &= config.mode == Mode::Fetch
            && framing != Framing::Close
            && keeps_alive(head.version, &head.headers);
        if config.follow && redirect::is_followed(head.status) && head.header("location").is_some()
        {
            config.printer.passing_head(raw);
            self.job.head = Some(head);
            return Ok(Some(Ending::Redirect));
        }
        let status = head.status;
        let whole_already = status == 416
            && self
                .job
                .partial
                .as_ref()
                .is_some_and(|p| matches!(continue_how(&head, p, url), Ok(Continue::Complete)));
        if config.fail && status >= 400 && !whole_already {
            config.printer.final_head(raw)?;
            return Err(Error::HttpStatus {
                status,
                url: url.to_string(),
            });
        }
        if config.mode == Mode::Headers {
            self.job.head = Some(head);
            config.printer.final_head(raw)?;
            return Ok(Some(Ending::Complete));
        }
        check_transfer_coding(&head, framing, url)?;
        let unwrap = Unwrap::for_head(&self.job, &head, framing)?;
        if config.web.remote_name {
            self.name_from_server(&head);
        }
        self.job.head = Some(head);
        // Open the output before showing the head, so whoever sees the
        // head knows the download is under way.
        let how = match &self.job.partial {
            None => None,
            Some(partial) => {
                let head = self.job.head.as_ref().expect("stored above");
                let how = continue_how(head, partial, url)?;
                let validator = validator_of(head);
                self.job.output = Some(Output::open_part(
                    &self.job.destination,
                    partial,
                    how,
                    validator.as_deref(),
                )?);
                Some(how)
            }
        };
        if how.is_none() {
            self.job.output = Some(Output::open(&self.job.destination)?);
        }
        if how == Some(Continue::Complete) {
            // The 416's own body (if any) is not ours to read.
            self.reusable = false;
            config.printer.final_head(raw).ok();
            return Ok(Some(Ending::Complete));
        }
        // The head on stdout is a courtesy here; a reader that went away
        // (`| head -3`) must not cost the download.
        if let Err(e) = config.printer.final_head(raw) {
            log::debug!("could not show the head: {e}");
        }
        let decoder = BodyDecoder::new(framing);
        self.job.progress = match &config.board {
            Some(board) => {
                Progress::on_board(board, &self.job.destination.label(), decoder.expected())
            }
            None => Progress::new(config.progress, decoder.expected()),
        };
        self.phase = Phase::Body(decoder, unwrap);
        Ok(None)
    }

    /// `-J`: the Content-Disposition name, sanitised, replaces the name
    /// derived from the URL (an explicit `-o` stays). It is still never
    /// allowed to overwrite: the derived-name rule adds `.1`, `.2`...
    fn name_from_server(&mut self, head: &ResponseHead) {
        let Destination::Derived { name, .. } = &mut self.job.destination else {
            return;
        };
        match disposition::from_headers(&head.headers) {
            Some(safe) => {
                log::info!("Content-Disposition names the file {safe:?}");
                *name = safe;
            }
            None => log::info!("no usable Content-Disposition name; keeping {name:?}"),
        }
    }

    fn head_error(&self, e: ParseError) -> Error {
        let url = &self.job.target.url;
        Error::Protocol(match e {
            ParseError::HeadTooLarge => {
                format!("{url}: response head larger than {} KiB", MAX_HEAD / 1024)
            }
            ParseError::TooManyHeaders => format!(
                "{url}: response head with more than {} header fields",
                crate::http::MAX_HEADERS
            ),
            e => format!("{url}: {e} in the response"),
        })
    }

    fn closed_in_head(&self, buffered: usize) -> Error {
        let url = &self.job.target.url;
        Error::Protocol(if buffered == 0 && !self.seen_any() {
            format!("{url}: the server closed the connection without a response")
        } else {
            format!("{url}: the server closed the connection in the middle of a response head")
        })
    }

    fn seen_any(&self) -> bool {
        self.job.timing.first_byte.is_some()
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
        let url = &self.job.target.url;
        let progress = describe_progress(&self.phase);
        match config.max_time {
            Some(max) if now >= self.job.started + max => Error::Timeout(format!(
                "{url}: not finished within --max-time {}s ({progress})",
                max.as_secs_f64()
            )),
            _ => Error::Timeout(format!(
                "{url}: no data from the server for {}s ({progress})",
                config.read_timeout.unwrap_or_default().as_secs_f64()
            )),
        }
    }
}

/// A body whose transfer codings end in something other than chunked is
/// delimited by the close (RFC 9112 section 6.3, rule 4), but its bytes are
/// still transfer-coded, and a recipient must decode every transfer coding
/// (RFC 9112 section 6.1); we decode only chunked. Saving such a body would
/// hand the user bytes nobody asked for with a success status, so it is a
/// framing error, like any other body we cannot delimit and decode.
fn check_transfer_coding(head: &ResponseHead, framing: Framing, url: &url::Url) -> Result<()> {
    match head.header("transfer-encoding") {
        Some(te) if framing == Framing::Close => Err(Error::Protocol(format!(
            "{url}: unsupported Transfer-Encoding {:?} in the response: the body cannot be decoded",
            String::from_utf8_lossy(te)
        ))),
        _ => Ok(()),
    }
}

/// `-C`: what the final head says about the part we asked the rest of.
fn continue_how(head: &ResponseHead, partial: &Partial, url: &url::Url) -> Result<Continue> {
    let name = shown(&partial.part);
    let have = partial.have;
    let range = head.header("content-range").and_then(parse_content_range);
    match head.status {
        // RFC 9110 section 15.3.7: the range we asked for, of the same
        // representation (If-Range matched).
        206 => match range {
            Some(ContentRange::Bytes { first, .. }) if first == have && have > 0 => {
                Ok(Continue::Append)
            }
            _ => Err(Error::Protocol(format!(
                "{url}: 206 with Content-Range {:?} does not continue {name} ({have} bytes)",
                head.header("content-range")
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
            ))),
        },
        // RFC 9110 section 15.5.17: nothing at or past our offset, and the
        // whole is exactly what we have.
        416 => match range {
            Some(ContentRange::Unsatisfied { total }) if total == have && have > 0 => {
                Ok(Continue::Complete)
            }
            _ => Err(Error::Protocol(format!(
                "{url}: 416: the server's copy does not extend {name} ({have} bytes)"
            ))),
        },
        // 200 and the rest: a whole new representation; start over.
        _ => Ok(Continue::Fresh),
    }
}

/// "no response yet", "after 512 of 1024 body bytes", for messages.
fn describe_progress(phase: &Phase) -> String {
    match phase {
        Phase::Head => "no complete response head yet".into(),
        Phase::Body(dec, _) => match dec.expected() {
            Some(n) => format!("after {} of {n} body bytes", dec.received()),
            None => format!("after {} body bytes", dec.received()),
        },
    }
}

impl Session for FetchSession {
    fn on_connect(&mut self, _local: SocketAddr, _peer: SocketAddr, now: Instant) {
        self.job.timing.connect = Some(now - self.job.hop_started);
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if self.outcome.is_some() {
            return Step::Abort;
        }
        if io.shutting_down {
            return self.stop(Err(Error::Interrupted));
        }
        loop {
            if !self.queued {
                self.queue_request(io);
            }
            if !io.input.is_empty() || io.peer_closed {
                self.show_request();
            }
            if io.input.len() > self.leftover
                || io.output.written() != self.written
                || io.peer_closed
            {
                self.last_activity = Some(io.now);
                self.written = io.output.written();
            }
            if !io.input.is_empty() && self.job.timing.first_byte.is_none() {
                self.job.timing.first_byte = Some(io.now - self.job.hop_started);
            }
            match self.advance(io) {
                Ok(Some(Ending::Complete)) if self.carry_on(io) => continue,
                Ok(Some(end)) => return self.stop(Ok(end)),
                Ok(None) => break,
                Err(e) => return self.stop(Err(e)),
            }
        }
        self.leftover = io.input.len();
        let deadline = self.deadline();
        if deadline.is_some_and(|d| io.now >= d) {
            let e = self.timeout_error(io.now);
            return self.stop(Err(e));
        }
        Step::read(deadline)
    }

    fn input_cap(&self) -> usize {
        INPUT_CAP
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;
    use crate::client::job::ClientConfig;
    use crate::client::output::Saved;
    use crate::client::target::parse_url;
    use crate::event_loop::{InBuf, Outbox};

    fn job(config: ClientConfig) -> Job {
        let url = parse_url("http://127.0.0.1:8080/dir/file?q=1").unwrap();
        Job::new(Rc::new(config), url, Instant::now()).unwrap()
    }

    struct Wire {
        input: InBuf,
        output: Outbox,
        peer_closed: bool,
        shutting_down: bool,
        now: Instant,
    }

    impl Wire {
        fn new() -> Wire {
            Wire {
                input: InBuf::new(),
                output: Outbox::new(),
                peer_closed: false,
                shutting_down: false,
                now: Instant::now(),
            }
        }

        fn drive(&mut self, s: &mut FetchSession) -> Step {
            let mut io = Io {
                input: &mut self.input,
                output: &mut self.output,
                peer_closed: self.peer_closed,
                shutting_down: self.shutting_down,
                now: self.now,
                peer: "127.0.0.1:8080".parse().unwrap(),
            };
            s.drive(&mut io)
        }

        fn sent(&mut self) -> Vec<u8> {
            let mut v = Vec::new();
            self.output.drain_into(&mut v, usize::MAX).unwrap();
            v
        }
    }

    /// Feeds `response` `step` bytes at a time, then EOF; returns the outcome
    /// and the body the output got.
    fn run(config: ClientConfig, response: &[u8], step: usize) -> (Result<Ending>, Vec<u8>, Job) {
        let mut s = FetchSession::new(job(config));
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
        let (mut job, res) = s.finish(Ended::Closed, false);
        let body = match job.output.take().map(|o| o.commit().unwrap()) {
            Some(Saved::Memory(v)) => v,
            None => Vec::new(),
            other => panic!("{other:?}"),
        };
        (res, body, job)
    }

    #[test]
    fn sends_the_request_once() {
        let mut s = FetchSession::new(job(ClientConfig::for_tests()));
        let mut w = Wire::new();
        w.drive(&mut s);
        w.drive(&mut s);
        let sent = String::from_utf8(w.sent()).unwrap();
        assert!(sent.starts_with("GET /dir/file?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert_eq!(sent.matches("GET").count(), 1);
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
        let (res, body, job) = run(config, resp, 2);
        assert_eq!(res.unwrap(), Ending::Complete);
        assert!(body.is_empty());
        assert!(job.output.is_none());
    }

    #[test]
    fn silence_and_overall_deadlines() {
        let mut config = ClientConfig::for_tests();
        config.read_timeout = Some(Duration::from_secs(2));
        let mut s = FetchSession::new(job(config));
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
        let mut s = FetchSession::new(j);
        let mut w = Wire::new();
        w.now = started + Duration::from_secs(5);
        assert_eq!(w.drive(&mut s), Step::Abort);
        let (_, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Err(Error::Timeout(m)) if m.contains("--max-time 5s")));
    }

    #[test]
    fn shutdown_interrupts_and_output_is_dropped() {
        let mut s = FetchSession::new(job(ClientConfig::for_tests()));
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
            let mut s = FetchSession::new(job(config));
            let mut w = Wire::new();
            w.drive(&mut s);
            let sent = String::from_utf8(w.sent()).unwrap();
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
        let (res, _, job) = run(compressed(), unknown, 7);
        let err = res.unwrap_err();
        assert!(err.to_string().contains("--raw-body"), "{err}");
        assert_eq!(err.exit_code(), 6);
        assert!(job.output.is_none(), "nothing opened for an unusable body");
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
            let mut s = FetchSession::new(job(config));
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
            // Dropping the job removes the temporary file it opened.
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
            let s = FetchSession::new(job(ClientConfig::for_tests()));
            let (_, res) = s.finish(how, false);
            assert_eq!(res.unwrap_err().exit_code(), code);
        }
        let s = FetchSession::new(job(ClientConfig::for_tests()));
        assert!(matches!(
            s.finish(Ended::Closed, true).1,
            Err(Error::Interrupted)
        ));
    }

    fn pooled(mut job: Job, pool: &SharedPool) -> Job {
        job.pool = Some(pool.clone());
        job
    }

    fn job_for(config: &Rc<ClientConfig>, path: &str) -> Job {
        let url = parse_url(&format!("http://127.0.0.1:8080{path}")).unwrap();
        Job::new(config.clone(), url, Instant::now()).unwrap()
    }

    #[test]
    fn a_kept_alive_connection_carries_the_next_job_of_its_origin() {
        use crate::client::pool::Pool;
        let config = Rc::new(ClientConfig::for_tests());
        let other = Job::new(
            config.clone(),
            parse_url("http://127.0.0.2:8080/c").unwrap(),
            Instant::now(),
        )
        .unwrap();
        let pool = Pool::shared(vec![job_for(&config, "/b"), other]);
        let mut s = FetchSession::new(pooled(job_for(&config, "/a"), &pool));
        let mut w = Wire::new();
        w.drive(&mut s);
        let first = String::from_utf8(w.sent()).unwrap();
        assert!(first.starts_with("GET /a "), "{first}");
        assert!(!first.contains("Connection: close"), "{first}");

        // Byte at a time: the next request goes out only once the body is whole.
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA!".iter() {
            assert!(w.sent().is_empty());
            w.input.extend(&[*b]);
            assert!(matches!(w.drive(&mut s), Step::Wait { read: true, .. }));
        }
        let second = String::from_utf8(w.sent()).unwrap();
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
        let (mut job, res) = s.finish(Ended::Closed, false);
        assert!(matches!(res, Ok(Ending::Complete)));
        assert_eq!(job.url().path(), "/b");
        let saved = job.output.take().unwrap().commit().unwrap();
        assert_eq!(saved, Saved::Memory(b"B".to_vec()));
        // The other origin's job is still waiting for a connection of its own.
        assert_eq!(pool.borrow_mut().take_any().unwrap().url().path(), "/c");
    }

    #[test]
    fn keep_alive_is_not_used_when_the_server_or_framing_ends_it() {
        use crate::client::pool::Pool;
        let cases: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
            b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
            b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 1\r\n\r\nx",
        ];
        for response in cases {
            let config = Rc::new(ClientConfig::for_tests());
            let pool = Pool::shared(vec![job_for(&config, "/b"), job_for(&config, "/c")]);
            let mut s = FetchSession::new(pooled(job_for(&config, "/a"), &pool));
            let mut w = Wire::new();
            w.drive(&mut s);
            w.sent();
            w.input.extend(response);
            assert_eq!(w.drive(&mut s), Step::Abort, "{response:?}");
            assert!(w.sent().is_empty());
            assert!(pool.borrow_mut().take_done().is_empty());
        }
    }

    #[test]
    fn a_reused_connection_closed_before_any_reply_means_retry() {
        use crate::client::pool::Pool;
        let config = Rc::new(ClientConfig::for_tests());
        let pool = Pool::shared(vec![job_for(&config, "/b"), job_for(&config, "/c")]);
        let mut s = FetchSession::new(pooled(job_for(&config, "/a"), &pool));
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
}

//! The archive a connection is answering, as the session holds it: first
//! its manifest being read, a bounded step per turn of the loop (the loop
//! serves its other connections in between; requests pipelined behind it
//! wait), then its answer, then its stream fed between requests until
//! wholly queued; then the next request may start (or the connection
//! closes, if it was to). A failed stream cuts the connection, so the
//! client sees a short body.
//!
//! A peer that closes while the manifest is read stops the walk (nothing
//! has been sent). A shutdown then answers 503 with `Retry-After`, rather
//! than walk on for a response that has not begun.

use super::stream::{Feed, Stream};
use super::{respond, Planning};
use crate::event_loop::{Io, Step};
use crate::file_server::handle::{self, Body, Response};
use crate::file_server::page;
use crate::file_server::reply::http_date;
use crate::file_server::site::Site;
use crate::http::request::RequestHead;

#[derive(Debug, Default)]
pub struct Sending {
    /// The archive whose manifest is being read, and the request it answers.
    planning: Option<Box<(Planning, RequestHead)>>,
    stream: Option<Box<Stream>>,
    close_after: bool,
}

/// What the session is to do for its archive now.
#[derive(Debug)]
pub enum Driven {
    /// Hand this step to the loop.
    Step(Step),
    /// The manifest is read: send this answer to this request, then drive on.
    Answer(Response, RequestHead),
}

impl Sending {
    /// Starts reading the manifest of `planning`, the archive answering
    /// `req`; the connection closes after it if `close`.
    pub fn plan(&mut self, planning: Box<Planning>, req: RequestHead, close: bool) {
        self.planning = Some(Box::new((*planning, req)));
        self.close_after = close;
    }

    /// A manifest is being read: the archive has not been answered yet.
    pub fn is_walking(&self) -> bool {
        self.planning.is_some()
    }

    pub fn start(&mut self, stream: Box<Stream>) {
        self.stream = Some(stream);
    }

    /// With an archive under way, a close is put off until it is queued:
    /// `true` if so.
    pub fn defer_close(&mut self) -> bool {
        self.close_after = self.stream.is_some();
        self.close_after
    }

    /// After an [`Driven::Answer`] has been sent: `true` if it has no
    /// stream to follow and the connection is to close now.
    pub fn closes_now(&mut self) -> bool {
        self.stream.is_none() && std::mem::take(&mut self.close_after)
    }

    /// Body bytes planned and not yet queued.
    pub fn unqueued(&self) -> u64 {
        self.stream.as_ref().map_or(0, |s| s.unqueued())
    }

    /// Walks or feeds the archive, if any: `Some` while it is not wholly
    /// queued (or has failed), `None` once it is and the session may go on.
    pub fn drive(&mut self, io: &mut Io<'_>, site: &Site) -> Option<Driven> {
        if self.planning.is_some() {
            return Some(self.walk(io, site));
        }
        let stream = self.stream.as_mut()?;
        let step = match stream.feed(io, &site.root) {
            Feed::Done => {
                self.stream = None;
                std::mem::take(&mut self.close_after).then_some(Step::Close)?
            }
            // Driven again when the output drains, or at once if nothing
            // is queued (tar.gz paused by its compression budget).
            Feed::More => Step::Wait {
                read: false,
                deadline: io.output.is_empty().then_some(io.now),
            },
            Feed::Fail => Step::Abort,
        };
        Some(Driven::Step(step))
    }

    /// One step of the manifest's walk, and its answer once it is done.
    fn walk(&mut self, io: &mut Io<'_>, site: &Site) -> Driven {
        // No stop on `io.peer_closed`: a client that half-closed after its
        // request (HTTP/1.0 scripts, `nc -N`) is answered, as a plain GET
        // is; one that is gone is found when the answer is written. The
        // walk is bounded by the entry cap either way.
        let (planning, req) = &mut **self.planning.as_mut().expect("a walk under way");
        let date = http_date();
        let mut resp = if io.shutting_down {
            let mut r = handle::error(site, page::negotiate(&req.headers), 503, &date);
            r.head.header("Retry-After", 1);
            r.close = true;
            r
        } else {
            match planning.step(&site.root) {
                // Driven again on the loop's next turn, after the others;
                // reading on, as the stream does (what comes waits).
                None => return Driven::Step(Step::read(Some(io.now))),
                Some(walked) => answer(site, req, planning, walked, &date),
            }
        };
        let (_, req) = *self.planning.take().expect("a walk under way");
        resp.close |= self.close_after;
        self.close_after = resp.close;
        Driven::Answer(resp, req)
    }
}

/// The answer to `req` once the manifest of `planned` is read (or its walk
/// failed): the archive, or the error page its refusal calls for.
fn answer(
    site: &Site,
    req: &RequestHead,
    planned: &Planning,
    walked: Result<Vec<super::manifest::Item>, super::Refusal>,
    date: &[u8],
) -> Response {
    match walked.and_then(|items| respond(site, req, planned, items, date)) {
        Ok(a) => Response {
            head: a.head,
            body: Body::Archive(Box::new(a.stream)),
            close: a.close,
        },
        Err(no) => {
            let fmt = page::negotiate(&req.headers);
            let mut r = handle::error(site, fmt, no.status(), date);
            no.annotate(&mut r.head);
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

    use super::super::walk::STEP;
    use crate::event_loop::testing::OnWire;
    use crate::event_loop::Step;
    use crate::file_server::cache::FileCache;
    use crate::file_server::session::HttpSession;
    use crate::file_server::site::Site;

    /// An archive of a folder that takes two steps to walk, with a
    /// request pipelined behind it.
    const REQ: &[u8] = b"GET /top/?download=tar HTTP/1.1\r\nHost: x\r\n\r\n\
        GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";

    fn conn() -> (tempfile::TempDir, OnWire<HttpSession>) {
        // tmpfs when there is one: thousands of files made in milliseconds.
        let d = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        std::fs::write(d.path().join("a.txt"), "hello").unwrap();
        let top = d.path().join("top");
        std::fs::create_dir(&top).unwrap();
        for i in 0..STEP + 1 {
            std::fs::File::create(top.join(format!("{i}"))).unwrap();
        }
        let site = Arc::new(Site::for_tests(d.path()));
        let wire = crate::event_loop::testing::Wire::new();
        let cache = Rc::new(RefCell::new(FileCache::new()));
        let session = HttpSession::new(site, cache, wire.peer, wire.now);
        (d, OnWire { session, wire })
    }

    /// A step hands the loop back a wait that is already due, with nothing
    /// sent; the second answers, and only then the next request.
    #[test]
    fn the_walk_takes_steps_then_answers_then_the_next_request() {
        let (_d, mut c) = conn();
        let again = Step::read(Some(c.now));
        assert_eq!(c.feed(REQ), again);
        assert!(c.sent.is_empty(), "{}", c.sent_text());
        let step = c.wire.feed_all(&mut c.session, b"");
        assert!(matches!(step, Step::Wait { read: true, .. }), "{step:?}");
        let text = c.sent_text();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:.200}");
        // Every entry is a 512-byte header, then the two end blocks.
        let tar_len = (STEP + 2) * 512 + 1024;
        assert!(text.contains(&format!("Content-Length: {tar_len}\r\n")));
        assert!(text.ends_with("\r\n\r\nhello"), "the pipelined GET last");
    }

    /// A client that half-closed after its request still gets its
    /// archive (and the GET behind it), as a plain GET would; shutdown
    /// mid-walk answers 503.
    #[test]
    fn a_half_closed_peer_is_answered_and_shutdown_answers_503() {
        let (_d, mut c) = conn();
        assert_eq!(c.feed(REQ), Step::read(Some(c.now)));
        c.peer_closed = true;
        c.wire.feed_all(&mut c.session, b"");
        let text = c.sent_text();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:.200}");
        assert!(text.ends_with("\r\n\r\nhello"), "the pipelined GET last");

        let (_d, mut c) = conn();
        assert_eq!(c.feed(REQ), Step::read(Some(c.now)));
        c.shutting_down = true;
        assert_eq!(c.feed(b""), Step::Close);
        let text = c.sent_text();
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        assert!(text.contains("Retry-After: 1\r\n") && text.contains("Connection: close\r\n"));
        assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
    }

    /// An archive asked for with a short chunked body (read, then the walk)
    /// is answered before the request behind it, and its walk goes on at
    /// once rather than at the idle timeout.
    #[test]
    fn an_archive_with_a_short_chunked_body_comes_before_the_next_request() {
        let (_d, mut c) = conn();
        let req = b"GET /top/?download=tar HTTP/1.1\r\nHost: x\r\n\
            Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
            GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(c.feed(req), Step::read(Some(c.now)));
        assert!(c.sent.is_empty(), "{}", c.sent_text());
        c.wire.feed_all(&mut c.session, b"");
        let text = c.sent_text();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:.200}");
        assert!(text.ends_with("\r\n\r\nhello"), "the pipelined GET last");
    }

    /// An archive asked for with a chunked body is walked and answered
    /// like any (then the connection closes) when the body is too long to
    /// read on, and answered 503 on shutdown while the body is unread.
    #[test]
    fn an_archive_with_a_body_it_will_not_read_is_still_answered() {
        let chunked = b"GET /top/?download=tar HTTP/1.1\r\nHost: x\r\n\
            Transfer-Encoding: chunked\r\n\r\n";
        let (_d, mut c) = conn();
        let body = [b"200000\r\n".as_slice(), &vec![b'x'; 0x20_0000]].concat();
        let again = Step::read(Some(c.now));
        assert_eq!(c.feed(&[chunked.as_slice(), &body].concat()), again);
        assert_eq!(c.feed(b""), again, "the walk's first step");
        assert!(c.sent.is_empty());
        assert_eq!(c.wire.feed_all(&mut c.session, b""), Step::Close);
        let text = c.sent_text();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:.200}");
        assert!(text.contains("Connection: close\r\n"));
        assert_eq!(
            text.len(),
            text.find("\r\n\r\n").unwrap() + 4 + (STEP + 2) * 512 + 1024
        );

        let (_d, mut c) = conn();
        c.feed(&[chunked.as_slice(), b"3\r\nab"].concat());
        assert!(c.sent.is_empty(), "the body is not whole yet");
        c.shutting_down = true;
        assert_eq!(c.feed(b""), Step::read(Some(c.now)), "answered next turn");
        assert_eq!(c.feed(b""), Step::Close);
        assert!(
            c.sent_text().starts_with("HTTP/1.1 503 "),
            "{}",
            c.sent_text()
        );
    }
}

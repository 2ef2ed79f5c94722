//! `serve --upload`: `PUT /path/name` streamed into a file beneath the
//! root, never held in memory and never half-written.
//!
//! [`begin`] runs when a PUT's head has been read: it resolves the
//! target's folder with the one safe resolver ([`super::path::Root`]),
//! gathers the facts [`plan::decide`] needs, and either refuses (the body
//! unread; the connection then closes) or creates the temporary file
//! ([`sink::TempFile`]) through the folder's descriptor. [`Receiving::pump`]
//! then decodes the body on the loop thread as it arrives, writing each
//! piece before consuming it from the input buffer, so a slow disk stops
//! the reading (the loop reads no more than the session's input cap ahead)
//! instead of growing memory. Only a body whose framing checked out is
//! committed to its name; anything else drops the temporary file.

pub mod form;
pub mod html;
pub mod plan;
pub mod reaper;
pub mod sink;
pub mod target;

use std::time::Instant;

use super::handle::{self, Body, Response};
use super::page::{self, Format};
use super::path;
use super::reply::{http_date, Head};
use super::site::Site;
use crate::event_loop::{Io, Step};
use crate::http::body::{BodyDecoder, Framing, Next};
use crate::http::request::RequestHead;
use crate::http::{self, multipart, Version};
use form::Form;
use sink::{Commit, TempFile};
use target::{inspect, prepare, status_of, Asks};

/// The interim response sent once an `Expect: 100-continue` upload has
/// passed its checks (RFC 9110 section 10.1.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// An upload whose body is being read: into one temporary file (PUT) or
/// through the multipart parser into one per file part (a form's POST).
#[derive(Debug)]
pub struct Receiving {
    decoder: BodyDecoder,
    into: Into,
    max: u64,
    /// When a body byte last arrived (the stall deadline counts from it).
    active_at: Instant,
    /// The connection closes after the answer.
    close: bool,
}

#[derive(Debug)]
enum Into {
    File(OneFile),
    Form(Box<Form>),
}

/// A PUT's file.
#[derive(Debug)]
struct OneFile {
    temp: TempFile,
    /// The final name, in the folder the temporary file is in.
    name: String,
    replace: bool,
    /// The Location of the new file, encoded.
    location: String,
    /// The status when the name was taken meanwhile: 412 when the client
    /// asked to create only (If-None-Match: *), else 409.
    taken: u16,
}

/// What a call to [`Receiving::pump`] came to.
#[derive(Debug)]
pub enum Pumped {
    /// More body to come (or the connection is over): this step.
    Wait(Step),
    /// The upload ended: this answer (closing the connection if it says so).
    Done(Response),
}

/// A PUT or a form's POST under `--upload`: `None` when uploads are off
/// or `req` is neither (the usual answer applies); otherwise the upload
/// under way, with a `100 Continue` queued if the client waits for it, or
/// the refusal.
pub fn begin(
    site: &Site,
    req: &RequestHead,
    framing: Framing,
    io: &mut Io<'_>,
) -> Option<Result<Receiving, Response>> {
    let opts = site.upload.as_ref()?;
    let length = match framing {
        Framing::Length(n) => Some(n),
        Framing::Chunked => None,
        _ => Some(0),
    };
    let into = match req.method.as_str() {
        "PUT" => put(site, opts, req, length),
        "POST" => form(site, opts, req, length),
        _ => return None,
    };
    let has_body = length != Some(0);
    let into = match into {
        Ok(into) => into,
        Err(status) => {
            let date = http_date();
            let mut r = handle::error(site, page::negotiate(&req.headers), status, &date);
            if status == 405 {
                r.head.header("Allow", site.allow());
            }
            // The body was not read: where the next request starts is unknown.
            r.close |= has_body;
            return Some(Err(r));
        }
    };
    if has_body && req.version == Version::Http11 && expects_continue(req) {
        io.output.push(CONTINUE.to_vec());
    }
    Some(Ok(Receiving {
        decoder: BodyDecoder::strict(framing),
        into,
        max: opts.max,
        active_at: io.now,
        close: !http::keeps_alive(req.version, &req.headers),
    }))
}

/// `PUT /path/name`: the file's target checked and its temporary file made.
fn put(
    site: &Site,
    opts: &plan::Options,
    req: &RequestHead,
    length: Option<u64>,
) -> Result<Into, u16> {
    // A folder is not replaced by a file.
    let url = target_url(req, false)?;
    let asks = Asks {
        length,
        if_match: header_text(req, "if-match"),
        if_none_match: header_text(req, "if-none-match"),
    };
    let (target, temp, replace) = prepare(site, opts, inspect(site, url)?, &asks)?;
    Ok(Into::File(OneFile {
        temp,
        name: target.name,
        replace,
        location: target.url.encoded(false),
        taken: if asks.if_none_match.is_some() {
            412
        } else {
            409
        },
    }))
}

/// `POST /folder/` with `multipart/form-data`: the folder checked; its
/// file parts are checked one by one as they come.
fn form(
    site: &Site,
    opts: &plan::Options,
    req: &RequestHead,
    length: Option<u64>,
) -> Result<Into, u16> {
    let url = target_url(req, true)?;
    if url.is_hidden() && !site.hidden {
        return Err(404);
    }
    let boundary = http::find(&req.headers, "content-type")
        .and_then(multipart::boundary)
        .ok_or(415u16)?;
    if length.is_some_and(|n| n > opts.max) {
        return Err(413);
    }
    site.root
        .open_dir(&url.relative())
        .map_err(|e| status_of(&e, 404))?;
    Ok(Into::Form(Box::new(Form::new(
        &boundary,
        url,
        opts.clone(),
    ))))
}

/// The request's cleaned path when it names what the method takes (a
/// folder for a form's POST, a file for PUT): 400 when it does not clean,
/// 405 for the other kind.
fn target_url(req: &RequestHead, folder: bool) -> Result<path::UrlPath, u16> {
    let (url, _) = path::clean(&req.target).map_err(|_| 400u16)?;
    let names_folder = url.trailing_slash || url.segments.is_empty();
    if names_folder != folder {
        return Err(405);
    }
    Ok(url)
}

fn header_text<'a>(req: &'a RequestHead, name: &str) -> Option<&'a str> {
    http::find(&req.headers, name).and_then(|v| std::str::from_utf8(v).ok())
}

fn expects_continue(req: &RequestHead) -> bool {
    http::find(&req.headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"))
}

impl Receiving {
    /// Reads what body has arrived into its file or files; at the body's
    /// end, commits and says the answer. `stall` bounds the wait for the
    /// next body byte.
    pub fn pump(&mut self, site: &Site, io: &mut Io<'_>, stall: std::time::Duration) -> Pumped {
        loop {
            let data = io.input.data();
            let d = match self.decoder.decode(data) {
                Ok(d) => d,
                Err(e) => {
                    // RFC 9112 section 7.1: faulty framing; nothing is kept.
                    log::debug!("{}: upload body: {e}", io.peer);
                    return self.answer(site, 400, true);
                }
            };
            if self.decoder.received() > self.max {
                return self.answer(site, 413, true);
            }
            let done = d.next == Next::Done;
            let fed = match &mut self.into {
                Into::File(f) => f.temp.write(&data[d.body.clone()]).map_err(|e| {
                    log::warn!("{}: upload write: {e}", io.peer);
                    status_of(&e, 500)
                }),
                Into::Form(form) => form.feed(site, &data[d.body.clone()], done),
            };
            if let Err(status) = fed {
                return self.answer(site, status, true);
            }
            io.input.consume(d.consumed);
            if d.consumed > 0 {
                self.active_at = io.now;
            }
            match d.next {
                Next::Done => return self.commit(site, io),
                Next::NeedMore => break,
                Next::Decode => {}
            }
        }
        if io.peer_closed || io.shutting_down {
            // Cut short, or the server is stopping: the temporary file
            // goes with this upload when the session drops it.
            log::debug!("{}: upload abandoned", io.peer);
            return Pumped::Wait(Step::Close);
        }
        let deadline = self.active_at + stall;
        if io.now >= deadline {
            log::debug!("{}: upload stalled", io.peer);
            return self.answer(site, 408, true);
        }
        Pumped::Wait(Step::read(Some(deadline)))
    }

    /// The body is whole: give the file its name, and say so.
    fn commit(&mut self, site: &Site, io: &Io<'_>) -> Pumped {
        let date = http_date();
        let close = self.close || io.shutting_down;
        let f = match &mut self.into {
            Into::File(f) => f,
            Into::Form(form) => {
                return match form.finish() {
                    // RFC 9110 section 15.4.4: see the listing, by GET.
                    Ok(location) => {
                        let mut r = handle::error(site, Format::Text, 303, &date);
                        r.head.text("Location", &location);
                        r.close = close;
                        Pumped::Done(r)
                    }
                    Err(status) => self.answer(site, status, false),
                };
            }
        };
        match f.temp.commit(&f.name, f.replace) {
            Ok(()) if f.replace => {
                let head = Head::new(204, &date, &site.extra_headers);
                let body = Body::Empty;
                Pumped::Done(Response { head, body, close })
            }
            Ok(()) => {
                let mut r = handle::error(site, Format::Text, 201, &date);
                r.head.text("Location", &f.location);
                r.close = close;
                Pumped::Done(r)
            }
            Err(Commit::Exists) => {
                let taken = f.taken;
                self.answer(site, taken, false)
            }
            Err(Commit::Io(e)) => {
                log::warn!("{}: upload commit: {e}", io.peer);
                self.answer(site, status_of(&e, 500), false)
            }
        }
    }

    /// The final answer of an upload that failed; `close` when the rest of
    /// the body is left unread.
    fn answer(&self, site: &Site, status: u16, close: bool) -> Pumped {
        let mut r = handle::error(site, Format::Text, status, &http_date());
        r.close = close || self.close;
        Pumped::Done(r)
    }
}

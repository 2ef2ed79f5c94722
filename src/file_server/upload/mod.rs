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

pub mod plan;
pub mod sink;

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustix::fs::{AtFlags, Mode};
use rustix::io::Errno;

use super::handle::{self, Body, Response};
use super::page::{self, Format};
use super::path::{self, Root, UrlPath};
use super::reply::{http_date, Head, Validators};
use super::site::Site;
use crate::event_loop::{Io, Step};
use crate::http::body::{BodyDecoder, Framing, Next};
use crate::http::request::RequestHead;
use crate::http::{self, Version};
use plan::{Decision, Existing, Facts, Folder};
use sink::{Commit, TempFile};

/// The interim response sent once an `Expect: 100-continue` upload has
/// passed its checks (RFC 9110 section 10.1.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// An upload whose body is being read into its temporary file.
#[derive(Debug)]
pub struct Receiving {
    decoder: BodyDecoder,
    temp: TempFile,
    /// The final name, in the folder the temporary file is in.
    name: String,
    replace: bool,
    /// The Location of the new file, encoded.
    location: String,
    /// The status when the name was taken meanwhile: 412 when the client
    /// asked to create only (If-None-Match: *), else 409.
    taken: u16,
    max: u64,
    /// When a body byte last arrived (the stall deadline counts from it).
    active_at: Instant,
    /// The connection closes after the answer.
    close: bool,
}

/// What a call to [`Receiving::pump`] came to.
#[derive(Debug)]
pub enum Pumped {
    /// More body to come (or the connection is over): this step.
    Wait(Step),
    /// The upload ended: this answer (closing the connection if it says so).
    Done(Response),
}

/// A PUT under `--upload`: `None` when uploads are off or `req` is not
/// one (the usual answer applies); otherwise the upload under way, with
/// a `100 Continue` queued if the client waits for it, or the refusal.
pub fn begin(
    site: &Site,
    req: &RequestHead,
    framing: Framing,
    io: &mut Io<'_>,
) -> Option<Result<Receiving, Response>> {
    let opts = site.upload.as_ref()?;
    if req.method != "PUT" {
        return None;
    }
    let has_body = !matches!(framing, Framing::Empty | Framing::Length(0));
    let asks = Asks {
        length: match framing {
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
            _ => Some(0),
        },
        if_match: header_text(req, "if-match"),
        if_none_match: header_text(req, "if-none-match"),
    };
    let prepared = inspect(site, req).and_then(|t| prepare(site, opts, t, &asks));
    let (target, temp, replace) = match prepared {
        Ok(p) => p,
        Err(status) => {
            let date = http_date();
            let mut r = handle::error(site, page::negotiate(&req.headers), status, &date);
            if status == 405 {
                r.head.header("Allow", "GET, HEAD");
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
        temp,
        name: target.name,
        replace,
        location: target.url.encoded(false),
        taken: if asks.if_none_match.is_some() {
            412
        } else {
            409
        },
        max: opts.max,
        active_at: io.now,
        close: !http::keeps_alive(req.version, &req.headers),
    }))
}

/// What the client asked, besides the target.
struct Asks<'a> {
    length: Option<u64>,
    if_match: Option<&'a str>,
    if_none_match: Option<&'a str>,
}

/// Decides an upload to `target` and, if it may go ahead, makes the
/// folders (`--mkdir`) and the temporary file; with whether it replaces.
fn prepare(
    site: &Site,
    opts: &plan::Options,
    target: Target,
    asks: &Asks<'_>,
) -> Result<(Target, TempFile, bool), u16> {
    let facts = Facts {
        length: asks.length,
        folder: target.folder,
        existing: match (target.existing_other, target.existing_tag.as_deref()) {
            (true, _) => Existing::Other,
            (false, Some(t)) => Existing::File(t),
            (false, None) => Existing::Nothing,
        },
        if_match: asks.if_match,
        if_none_match: asks.if_none_match,
    };
    let replace = match plan::decide(opts, &facts) {
        Decision::Refuse(status) => return Err(status),
        Decision::Create { mkdir: true } => {
            make_folders(&site.root, &target.url.segments).map_err(|e| status_of(&e, 409))?;
            false
        }
        Decision::Create { mkdir: false } => false,
        Decision::Replace => true,
    };
    let folder = open_folder(&site.root, &target.url.segments).map_err(|e| status_of(&e, 409))?;
    let temp = TempFile::create(folder).map_err(|e| status_of(&e, 500))?;
    Ok((target, temp, replace))
}

/// The target of a PUT, looked at.
struct Target {
    url: UrlPath,
    name: String,
    folder: Folder,
    existing_tag: Option<String>,
    existing_other: bool,
}

/// Cleans and checks the target, and looks at its folder and name.
/// `Err(status)` for a target no file may be written at.
fn inspect(site: &Site, req: &RequestHead) -> Result<Target, u16> {
    let (url, _) = path::clean(&req.target).map_err(|_| 400u16)?;
    if url.trailing_slash || url.segments.is_empty() {
        // A folder is not replaced by a file.
        return Err(405);
    }
    if url.is_hidden() && !site.hidden {
        return Err(404);
    }
    if !url
        .segments
        .iter()
        .all(|s| plan::is_safe_name(s, site.hidden))
    {
        return Err(400);
    }
    let name = url.segments.last().cloned().unwrap_or_default();
    let (folder, existing) = match open_folder(&site.root, &url.segments) {
        Ok(fd) => (Folder::Exists, existing(&fd, &name)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Folder::Missing, Ok(None)),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => (Folder::NotFolder, Ok(None)),
        Err(e) => return Err(status_of(&e, 500)),
    };
    let (existing_tag, existing_other) = match existing {
        Ok(tag) => (tag, false),
        Err(()) => (None, true),
    };
    Ok(Target {
        url,
        name,
        folder,
        existing_tag,
        existing_other,
    })
}

/// The folder the last segment goes in, opened beneath the root.
fn open_folder(root: &Root, segments: &[String]) -> io::Result<OwnedFd> {
    let parent: PathBuf = segments[..segments.len().saturating_sub(1)]
        .iter()
        .collect();
    if parent.as_os_str().is_empty() {
        return root.open_dir(Path::new("."));
    }
    root.open_dir(&parent)
}

/// What `name` in `dir` is now: `Ok(None)` nothing, `Ok(Some(etag))` a
/// regular file, `Err(())` anything else (never followed: a symlink too).
fn existing(dir: &OwnedFd, name: &str) -> Result<Option<String>, ()> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
            let mtime = std::time::UNIX_EPOCH
                .checked_add(std::time::Duration::new(
                    st.st_mtime as u64,
                    st.st_mtime_nsec as u32,
                ))
                .filter(|_| st.st_mtime >= 0);
            Ok(Some(Validators::new(st.st_size as u64, mtime).etag))
        }
        Err(Errno::NOENT) => Ok(None),
        _ => Err(()),
    }
}

/// `--mkdir`: creates the missing folders on the way to the last
/// segment, each with mkdirat in its parent opened by the resolver.
fn make_folders(root: &Root, segments: &[String]) -> io::Result<()> {
    let folders = &segments[..segments.len().saturating_sub(1)];
    let mut fd = root.open_dir(Path::new("."))?;
    for i in 0..folders.len() {
        let rel: PathBuf = folders[..=i].iter().collect();
        fd = match root.open_dir(&rel) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match rustix::fs::mkdirat(&fd, folders[i].as_str(), Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                root.open_dir(&rel)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(())
}

/// The status for a file system error: `missing` for a folder that is
/// not there (or not reachable beneath the root).
fn status_of(e: &io::Error, missing: u16) -> u16 {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::NOSPC) | Some(Errno::DQUOT) => 507,
        Some(Errno::ACCESS) | Some(Errno::PERM) | Some(Errno::ROFS) => 403,
        Some(Errno::NOENT) | Some(Errno::NOTDIR) | Some(Errno::LOOP) => missing,
        _ if e.kind() == io::ErrorKind::NotFound => missing,
        _ => 500,
    }
}

fn header_text<'a>(req: &'a RequestHead, name: &str) -> Option<&'a str> {
    http::find(&req.headers, name).and_then(|v| std::str::from_utf8(v).ok())
}

fn expects_continue(req: &RequestHead) -> bool {
    http::find(&req.headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"))
}

impl Receiving {
    /// Reads what body has arrived into the file; at the body's end,
    /// commits it and says the answer. `stall` bounds the wait for the
    /// next body byte.
    pub fn pump(&mut self, site: &Site, io: &mut Io<'_>, stall: std::time::Duration) -> Pumped {
        loop {
            let data = io.input.data();
            let d = match self.decoder.decode(data) {
                Ok(d) => d,
                Err(e) => {
                    // RFC 9112 section 7.1: faulty framing; nothing is kept.
                    log::debug!("{}: upload body: {e}", io.peer);
                    return self.fail(site, 400);
                }
            };
            if let Err(e) = self.temp.write(&data[d.body.clone()]) {
                log::warn!("{}: upload write: {e}", io.peer);
                return self.fail(site, status_of(&e, 500));
            }
            io.input.consume(d.consumed);
            if d.consumed > 0 {
                self.active_at = io.now;
            }
            if self.decoder.received() > self.max {
                return self.fail(site, 413);
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
            log::debug!(
                "{}: upload abandoned after {} bytes",
                io.peer,
                self.temp.written()
            );
            return Pumped::Wait(Step::Close);
        }
        let deadline = self.active_at + stall;
        if io.now >= deadline {
            log::debug!("{}: upload stalled", io.peer);
            return self.fail(site, 408);
        }
        Pumped::Wait(Step::read(Some(deadline)))
    }

    /// The body is whole: give the file its name, and say so.
    fn commit(&mut self, site: &Site, io: &Io<'_>) -> Pumped {
        let date = http_date();
        match self.temp.commit(&self.name, self.replace) {
            Ok(()) if self.replace => {
                let head = Head::new(204, &date, &site.extra_headers);
                Pumped::Done(Response {
                    head,
                    body: Body::Empty,
                    close: self.close || io.shutting_down,
                })
            }
            Ok(()) => {
                let mut r = handle::error(site, Format::Text, 201, &date);
                r.head.text("Location", &self.location);
                r.close = self.close || io.shutting_down;
                Pumped::Done(r)
            }
            Err(Commit::Exists) => self.answer(site, self.taken, false),
            Err(Commit::Io(e)) => {
                log::warn!("{}: upload commit: {e}", io.peer);
                self.answer(site, status_of(&e, 500), false)
            }
        }
    }

    /// An upload that failed before its body ended: the connection closes
    /// (the rest of the body is not read).
    fn fail(&mut self, site: &Site, status: u16) -> Pumped {
        self.answer(site, status, true)
    }

    fn answer(&self, site: &Site, status: u16, close: bool) -> Pumped {
        let mut r = handle::error(site, Format::Text, status, &http_date());
        r.close = close || self.close;
        Pumped::Done(r)
    }
}

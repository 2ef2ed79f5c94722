//! From one parsed request to one response: method and Host checks, path
//! cleaning and lookup, directories (redirect, index.html, listings) and
//! files (validators, conditionals, ranges). Opens files but never touches
//! a socket; the session queues what this returns.

use std::fs::{File, Metadata};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Arc;

use super::archive::{self, stream::Stream, Planning};
use super::cache::{self, FileCache, FileId, FileMeta};
use super::compress::{self, Content};
use super::listing;
use super::naming::{cache_key, content_type, host_is_valid};
use super::page::{self, Format};
use super::path::{self, UrlPath};
use super::reply::{self, Head, Piece, Plan, Validators};
use super::site::Site;
use super::upload::html as upload_form;
use super::{cors, fallback};
use crate::http::request::RequestHead;

/// What to send: a head still open for the Connection header, and a body.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: Body,
    /// The connection must close after this response.
    pub close: bool,
}

/// A response body; HEAD responses drop it but keep its Content-Length.
#[derive(Debug)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Part of a cached small file.
    Shared {
        data: Rc<[u8]>,
        range: Range<u64>,
    },
    File {
        file: Arc<File>,
        range: Range<u64>,
    },
    Multipart {
        file: Arc<File>,
        pieces: Vec<Piece>,
    },
    /// A folder archive, sent part by part as the output drains.
    Archive(Box<Stream>),
    /// A folder archive: the session reads its manifest, then answers.
    Walk(Box<Planning>),
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { range, .. } | Body::Shared { range, .. } => range.end - range.start,
            Body::Multipart { pieces, .. } => pieces
                .iter()
                .map(|p| match p {
                    Piece::Bytes(b) => b.len() as u64,
                    Piece::File(r) => r.end - r.start,
                })
                .sum(),
            Body::Archive(s) => s.unqueued(),
            Body::Walk(_) => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Methods RFC 9110 defines (plus PATCH): known, but not allowed on files.
const KNOWN_METHODS: &[&str] = &[
    "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Answers one request. `cache` holds this loop's small files.
pub fn respond(site: &Site, cache: &mut FileCache, req: &RequestHead, date: &[u8]) -> Response {
    let fmt = page::negotiate(&req.headers);
    if !host_is_valid(req) {
        // Who the request is for is unclear; so is what follows it.
        let mut r = error(site, fmt, 400, date);
        r.close = true;
        return r;
    }
    match req.method.as_str() {
        "GET" | "HEAD" => {}
        _ if site.cors && cors::is_preflight(&req.method, &req.headers) => {
            return bodiless(site.preflight(&req.headers, date))
        }
        m if KNOWN_METHODS.contains(&m) => {
            let mut r = error(site, fmt, 405, date);
            r.head.header("Allow", site.allow());
            return r;
        }
        _ => return error(site, fmt, 501, date),
    }
    let (url, query) = match path::clean(&req.target) {
        Ok(p) => p,
        Err(e) => {
            log::debug!(
                "bad path {:?}: {e:?}",
                super::auth::redact_target(&req.target)
            );
            return error(site, fmt, 400, date);
        }
    };
    if url.is_hidden() && !site.hidden {
        return error(site, fmt, 404, date);
    }
    let key = cache_key(&url);
    if let Some(entry) = cache.lookup(&site.root, &key) {
        let content = Content::Memory(entry.data.clone());
        return file_reply(site, cache, req, &key, &entry.meta, content, date);
    }
    let rel = url.relative();
    let opened = site
        .root
        .open_file(&rel)
        .and_then(|f| f.metadata().map(|m| (f, m)));
    let (file, meta) = match opened {
        Ok(fm) => fm,
        Err(e) => return missing(site, cache, req, &url, &e, date),
    };
    if meta.is_dir() {
        return directory(site, cache, req, &url, query, &file, date);
    }
    if !meta.is_file() || url.trailing_slash {
        return error(site, fmt, 404, date);
    }
    let name = url.segments.last().map_or("", String::as_str);
    disk_reply(site, cache, req, file, &meta, content_type(name), key, date)
}

/// A file just opened: small ones are read whole and cached for the next
/// request, large ones are sent from disk.
#[allow(clippy::too_many_arguments)]
fn disk_reply(
    site: &Site,
    cache: &mut FileCache,
    req: &RequestHead,
    file: File,
    meta: &Metadata,
    content_type: String,
    key: String,
    date: &[u8],
) -> Response {
    let validators = Validators::new(meta.len(), meta.modified().ok());
    let fm = FileMeta {
        last_modified: validators.last_modified(),
        validators,
        content_type,
    };
    if meta.len() <= cache::MAX_FILE {
        let mut data = vec![0u8; meta.len() as usize];
        if file.read_exact_at(&mut data, 0).is_ok() {
            let entry = Rc::new(cache::Entry {
                id: FileId::of(meta),
                data: data.into(),
                meta: fm,
            });
            cache.insert(key.clone(), entry.clone());
            let content = Content::Memory(entry.data.clone());
            return file_reply(site, cache, req, &key, &entry.meta, content, date);
        }
    }
    let content = Content::Disk(Arc::new(file));
    file_reply(site, cache, req, &key, &fm, content, date)
}

/// A path that failed to open with `e`: a [`fallback`] page when there
/// is one (the root index under `--spa`, or the not-found page with 404).
fn missing(
    site: &Site,
    cache: &mut FileCache,
    req: &RequestHead,
    url: &UrlPath,
    e: &io::Error,
    date: &[u8],
) -> Response {
    let Some(found) = fallback::find(&site.root, url, site.spa, &site.not_found_page, e) else {
        return open_error(site, page::negotiate(&req.headers), e, date);
    };
    let ctype = content_type(&found.rel.to_string_lossy());
    if found.index {
        let (file, key) = (found.file, "index.html".to_string());
        return disk_reply(site, cache, req, file, &found.meta, ctype, key, date);
    }
    let mut head = Head::new(404, date, &site.extra_headers);
    head.text("Content-Type", &ctype);
    let body = Content::Disk(Arc::new(found.file)).slice(0..found.meta.len());
    sized(head, body)
}

fn open_error(site: &Site, fmt: Format, e: &io::Error, date: &[u8]) -> Response {
    match e.kind() {
        io::ErrorKind::PermissionDenied => error(site, fmt, 403, date),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => error(site, fmt, 404, date),
        _ => match rustix::io::Errno::from_io_error(e) {
            // ELOOP: a symlink loop or too deep; ENAMETOOLONG: nothing there.
            Some(rustix::io::Errno::LOOP | rustix::io::Errno::NAMETOOLONG) => {
                error(site, fmt, 404, date)
            }
            // Out of descriptors is a passing overload, not a fault: the
            // client may try again (RFC 9110 section 15.6.4).
            Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE) => {
                log::warn!("open: {e}; answering 503");
                let mut r = error(site, fmt, 503, date);
                r.head.header("Retry-After", 1);
                r
            }
            _ => {
                log::debug!("open: {e}");
                error(site, fmt, 500, date)
            }
        },
    }
}

/// A small page explaining the status, in the format the client asked
/// for: HTML in the listing's style, JSON or plain text (see
/// [`page::error_body`]). Statuses below 400 (a redirect) get plain text.
pub fn error(site: &Site, fmt: Format, status: u16, date: &[u8]) -> Response {
    let fmt = if status < 400 { Format::Text } else { fmt };
    let (data, ctype) = page::error_body(status, fmt);
    let mut head = Head::new(status, date, &site.extra_headers);
    head.text("Content-Type", ctype)
        .header("Content-Length", data.len());
    if status >= 400 {
        head.text("Vary", "Accept");
    }
    Response {
        head,
        body: Body::Shared {
            range: 0..data.len() as u64,
            data,
        },
        close: false,
    }
}

/// A folder request; `dir` is the folder as opened beneath the root, and
/// the listing is read through it, never by name again.
#[allow(clippy::too_many_arguments)]
fn directory(
    site: &Site,
    cache: &mut FileCache,
    req: &RequestHead,
    url: &UrlPath,
    query: Option<&str>,
    dir: &File,
    date: &[u8],
) -> Response {
    let fmt = page::negotiate(&req.headers);
    if !url.trailing_slash {
        // The Location is built from cleaned segments, so it is always a
        // path starting with a single '/' (never `//evil.test`).
        let mut location = url.encoded(true);
        if let Some(q) = query {
            location.push('?');
            location.push_str(q);
        }
        let mut r = error(site, fmt, 301, date);
        r.head.header("Location", location);
        return r;
    }
    if let Some(format) = archive::requested(query).filter(|_| site.listing) {
        // The head waits for the manifest (see `archive::sending`).
        return match archive::begin(site, url, format) {
            Ok(p) => Response {
                head: Head::new(200, date, &[]),
                body: Body::Walk(Box::new(p)),
                close: false,
            },
            Err(no) => error(site, fmt, no.status(), date),
        };
    }
    let index = url.relative().join("index.html");
    if let Ok((file, meta)) = site
        .root
        .open_file(&index)
        .and_then(|f| f.metadata().map(|m| (f, m)))
    {
        if meta.is_file() {
            let ctype = "text/html; charset=utf-8".to_string();
            return disk_reply(site, cache, req, file, &meta, ctype, cache_key(url), date);
        }
    }
    if !site.listing {
        return error(site, fmt, 404, date);
    }
    listing_reply(site, fmt, url, query, dir, date)
}

/// The listing of the folder `dir` (opened as `url`), in `fmt` and the
/// order the query asks for.
fn listing_reply(
    site: &Site,
    fmt: Format,
    url: &UrlPath,
    query: Option<&str>,
    dir: &File,
    date: &[u8],
) -> Response {
    let mut entries = match listing::read_entries(&site.root, dir, &url.relative(), site.hidden) {
        Ok(e) => e,
        Err(e) => return open_error(site, fmt, &e, date),
    };
    let sort = listing::Sort::from_query(query);
    listing::sort(&mut entries, sort);
    let (body, ctype) = match fmt {
        Format::Json => (listing::json(url, &entries), "application/json"),
        // There is no plain-text listing: HTML reads well enough as text.
        Format::Html | Format::Text => (
            listing::html(url, &entries, sort),
            "text/html; charset=utf-8",
        ),
    };
    // Only HTML: a file named `</body>` must not splice a form into text.
    let body = upload_form::with_form(body, site.upload.is_some() && fmt == Format::Html);
    let cache_control = site.cache_control.as_deref().unwrap_or("no-cache");
    let mut head = Head::new(200, date, &site.extra_headers);
    head.header("Content-Type", ctype)
        .header("Content-Length", body.len())
        .header("Vary", "Accept")
        .text("Cache-Control", cache_control);
    Response {
        head,
        body: Body::Bytes(body),
        close: false,
    }
}

/// The reply to GET or HEAD of the file `key`, in the representation
/// `compress::choose` picks (identity, a sidecar or a body compressed on
/// the fly), with `Vary: Accept-Encoding` when there is a choice.
fn file_reply(
    site: &Site,
    cache: &mut FileCache,
    req: &RequestHead,
    key: &str,
    fm: &FileMeta,
    content: Content,
    date: &[u8],
) -> Response {
    let len = fm.validators.len;
    let choice = compress::choose(
        &site.root,
        &site.compression,
        &mut cache.encoded,
        &req.headers,
        key,
        fm,
        || content.whole(len),
    );
    let mut r = match choice.variant {
        Some(ref v) => planned(site, req, &v.meta, v.body.clone(), date),
        None => planned(site, req, fm, content, date),
    };
    if let (Some(v), 200 | 304) = (&choice.variant, r.head.status) {
        r.head.text("Content-Encoding", v.coding.token());
    }
    if choice.vary {
        r.head.text("Vary", "Accept-Encoding");
    }
    r
}

/// The reply to GET or HEAD of one representation: one arm per [`Plan`]
/// that `reply::plan` makes of the request's conditionals and Range.
fn planned(
    site: &Site,
    req: &RequestHead,
    fm: &FileMeta,
    content: Content,
    date: &[u8],
) -> Response {
    let fmt = page::negotiate(&req.headers);
    let len = fm.validators.len;
    match reply::plan(&req.headers, &fm.validators) {
        Plan::PreconditionFailed => error(site, fmt, 412, date),
        Plan::Unsatisfiable => {
            let mut r = error(site, fmt, 416, date);
            r.head.header("Content-Range", format!("bytes */{len}"));
            r
        }
        // RFC 9110 section 15.4.5: a 304 carries the validators a 200 would.
        Plan::NotModified => bodiless(validated_head(site, 304, fm, date)),
        Plan::Full => {
            let mut head = content_head(site, 200, fm, date);
            head.text("Content-Type", &fm.content_type);
            sized(head, content.slice(0..len))
        }
        Plan::Partial(ranges) if ranges.len() == 1 => {
            let r = ranges[0].clone();
            let mut head = content_head(site, 206, fm, date);
            head.header("Content-Type", &fm.content_type).header(
                "Content-Range",
                format!("bytes {}-{}/{len}", r.start, r.end - 1),
            );
            sized(head, content.slice(r))
        }
        Plan::Partial(ranges) => {
            let (pieces, _) = reply::multipart(&ranges, len, &fm.content_type, &site.boundary);
            let mut head = content_head(site, 206, fm, date);
            head.header(
                "Content-Type",
                format!("multipart/byteranges; boundary={}", site.boundary),
            );
            sized(head, content.pieces(pieces))
        }
    }
}

/// A head with the file's validators: Last-Modified (when the mtime can
/// be an HTTP-date) and ETag.
fn validated_head(site: &Site, status: u16, fm: &FileMeta, date: &[u8]) -> Head {
    let mut head = Head::new(status, date, &site.extra_headers);
    if let Some(lm) = &fm.last_modified {
        head.text("Last-Modified", lm);
    }
    head.text("ETag", &fm.validators.etag);
    if let Some(cc) = &site.cache_control {
        head.text("Cache-Control", cc);
    }
    head
}

/// The head of a 200 or 206: validators, and ranges on offer.
fn content_head(site: &Site, status: u16, fm: &FileMeta, date: &[u8]) -> Head {
    let mut head = validated_head(site, status, fm, date);
    head.text("Accept-Ranges", "bytes");
    head
}

/// A response that has no body by its status (204, 304): no Content-Length.
fn bodiless(head: Head) -> Response {
    let (body, close) = (Body::Empty, false);
    Response { head, body, close }
}

/// `head` with the Content-Length of `body`, and `body`.
fn sized(mut head: Head, body: Body) -> Response {
    head.header("Content-Length", body.len());
    Response {
        head,
        body,
        close: false,
    }
}

impl Content {
    /// The bytes of `range`, from wherever they are.
    fn slice(&self, range: Range<u64>) -> Body {
        match self {
            Content::Disk(file) => Body::File {
                file: file.clone(),
                range,
            },
            Content::Memory(data) => Body::Shared {
                data: data.clone(),
                range,
            },
        }
    }

    /// A multipart/byteranges body: from disk piece by piece, from memory
    /// assembled at once (it is small).
    fn pieces(&self, pieces: Vec<Piece>) -> Body {
        match self {
            Content::Disk(file) => Body::Multipart {
                file: file.clone(),
                pieces,
            },
            Content::Memory(data) => {
                let mut out = Vec::new();
                for p in pieces {
                    match p {
                        Piece::Bytes(b) => out.extend_from_slice(&b),
                        Piece::File(r) => {
                            out.extend_from_slice(&data[r.start as usize..r.end as usize])
                        }
                    }
                }
                Body::Bytes(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Header, Version};

    fn req(method: &str, target: &str, version: Version, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: target.into(),
            version,
            headers: headers.iter().map(|(n, v)| Header::new(*n, *v)).collect(),
        }
    }

    #[test]
    fn open_errors_map_to_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let site = Site::for_tests(dir.path());
        let os = io::Error::from_raw_os_error;
        let cases = [
            (io::Error::from(io::ErrorKind::NotFound), 404, None),
            (io::Error::from(io::ErrorKind::PermissionDenied), 403, None),
            (os(rustix::io::Errno::LOOP.raw_os_error()), 404, None),
            (os(rustix::io::Errno::NAMETOOLONG.raw_os_error()), 404, None),
            // Out of descriptors: try again shortly, not a server fault.
            (
                os(rustix::io::Errno::MFILE.raw_os_error()),
                503,
                Some("Retry-After: 1"),
            ),
            (
                os(rustix::io::Errno::NFILE.raw_os_error()),
                503,
                Some("Retry-After: 1"),
            ),
            (os(rustix::io::Errno::IO.raw_os_error()), 500, None),
        ];
        for (e, status, header) in cases {
            let r = open_error(&site, Format::Html, &e, b"Sun, 29 Nov 2026 00:00:00 GMT");
            assert_eq!(r.head.status, status, "{e}");
            let head = String::from_utf8(r.head.finish(reply::Connection::Persist)).unwrap();
            if let Some(h) = header {
                assert!(head.contains(h), "{e}: {head}");
            }
        }
    }

    #[test]
    fn host_rules_of_rfc9112_section_3_2() {
        let v11 = Version::Http11;
        let cases: &[(RequestHead, bool)] = &[
            (req("GET", "/", v11, &[("Host", "example.test:80")]), true),
            (req("GET", "/", v11, &[("Host", "[::1]:8000")]), true),
            (req("GET", "/", v11, &[("Host", "")]), true),
            (req("GET", "/", v11, &[]), false),
            (req("GET", "/", v11, &[("Host", "a"), ("host", "a")]), false),
            (req("GET", "/", v11, &[("Host", "a/b")]), false),
            (req("GET", "/", v11, &[("Host", "a b")]), false),
            (req("GET", "/", Version::Http10, &[]), true),
        ];
        for (r, ok) in cases {
            assert_eq!(host_is_valid(r), *ok, "{:?}", r.headers);
        }
    }

    #[test]
    fn methods_and_statuses() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f.txt"), "x").unwrap();
        let site = Site::for_tests(d.path());
        let mut cache = FileCache::new();
        let h = [("Host", "t")];
        let cases = [
            ("GET", "/f.txt", 200),
            ("HEAD", "/f.txt", 200),
            ("POST", "/f.txt", 405),
            ("DELETE", "/missing", 405),
            ("BREW", "/f.txt", 501),
            ("GET", "/missing", 404),
            ("GET", "/f.txt/", 404),
            ("GET", "/", 200),
            ("GET", "/%00", 400),
        ];
        for (m, t, status) in cases {
            let r = respond(&site, &mut cache, &req(m, t, Version::Http11, &h), b"DATE");
            assert_eq!(r.head.status, status, "{m} {t}");
        }
    }
}

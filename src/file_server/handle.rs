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

use super::cache::{self, FileCache, FileId, FileMeta};
use super::listing;
use super::page::{self, Format};
use super::path::{self, UrlPath};
use super::reply::{self, Head, Piece, Plan, Validators};
use super::site::Site;
use crate::http::request::RequestHead;
use crate::http::Version;

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
        m if KNOWN_METHODS.contains(&m) => {
            let mut r = error(site, fmt, 405, date);
            r.head.header("Allow", "GET, HEAD");
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
        return file_reply(
            site,
            req,
            &entry.meta,
            Content::Memory(entry.data.clone()),
            date,
        );
    }
    let rel = url.relative();
    let opened = site
        .root
        .open_file(&rel)
        .and_then(|f| f.metadata().map(|m| (f, m)));
    let (file, meta) = match opened {
        Ok(fm) => fm,
        Err(e) => return open_error(site, fmt, &e, date),
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

/// The cache key for a request: its relative path, or the index file of
/// the folder it names.
fn cache_key(url: &UrlPath) -> String {
    let mut key = url.segments.join("/");
    if url.trailing_slash {
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str("index.html");
    }
    key
}

/// Where a file's bytes come from.
enum Content {
    Disk(Arc<File>),
    Memory(Rc<[u8]>),
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
            cache.insert(key, entry.clone());
            return file_reply(
                site,
                req,
                &entry.meta,
                Content::Memory(entry.data.clone()),
                date,
            );
        }
    }
    file_reply(site, req, &fm, Content::Disk(Arc::new(file)), date)
}

/// RFC 9112 section 3.2: an HTTP/1.1 request needs exactly one Host; no
/// request may carry two. The value must look like `host[:port]`.
fn host_is_valid(req: &RequestHead) -> bool {
    let mut hosts = req.headers.iter().filter(|h| h.is("host"));
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => false,
        (None, _) => req.version == Version::Http10,
        (Some(h), None) => h
            .value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~:[]%!$&'()*+,;=".contains(&b)),
    }
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
    let mut head = Head::new(200, date, &site.extra_headers);
    head.header("Content-Type", ctype)
        .header("Content-Length", body.len())
        .header("Vary", "Accept")
        .header("Cache-Control", "no-cache");
    Response {
        head,
        body: Body::Bytes(body),
        close: false,
    }
}

/// The type for a file name, from the maintained MIME table; text types
/// are declared UTF-8.
pub fn content_type(name: &str) -> String {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let texty = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml" | "application/xml"
        );
    if texty {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// The reply to GET or HEAD of a file: one arm per [`Plan`] that
/// `reply::plan` makes of the request's conditionals and Range.
fn file_reply(
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
        Plan::NotModified => Response {
            head: validated_head(site, 304, fm, date),
            body: Body::Empty,
            close: false,
        },
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
    head
}

/// The head of a 200 or 206: validators, and ranges on offer.
fn content_head(site: &Site, status: u16, fm: &FileMeta, date: &[u8]) -> Head {
    let mut head = validated_head(site, status, fm, date);
    head.text("Accept-Ranges", "bytes");
    head
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
    use crate::http::Header;

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
    fn content_types_from_the_mime_table() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("photo.PNG", "image/png"),
            ("tone.wav", "audio/wav"),
            ("noext", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn cache_keys_name_files_and_folder_indexes() {
        let key = |t: &str| cache_key(&path::clean(t).unwrap().0);
        assert_eq!(key("/"), "index.html");
        assert_eq!(key("/a/b.txt"), "a/b.txt");
        assert_eq!(key("/a/"), "a/index.html");
        assert_eq!(key("/a b/%23"), "a b/#");
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

//! Folder downloads: `GET /dir/?download=tar|tar.gz|zip`. The folder is
//! [`walk`]ed with the listing's rules into a [`manifest`] before the first
//! byte, a bounded step per turn of the loop ([`Planning`]), laid out
//! ([`layout`]) as tar or zip parts so the exact length is known, and
//! answered with a strong ETag made from the manifest, so
//! `Range` (one range; several get the whole archive, as RFC 9110 section
//! 14.2 allows) and `If-Range` work and interrupted downloads resume.
//! tar.gz is the tar stream through gzip, chunked, without ranges. The
//! [`stream`] sends it on the event loop; nothing here touches a socket.

pub mod crcs;
pub mod layout;
pub mod manifest;
pub mod sending;
pub mod stream;
pub mod tar;
pub mod walk;
pub mod zip;

use std::io;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::path::{Root, UrlPath};
use super::reply::{self, Head, Plan, Validators};
use super::site::Site;
use crate::http::request::RequestHead;
use crate::http::Version;
use layout::{Kind, Layout};
use manifest::Item;
use stream::Stream;
use walk::Walker;

/// A planned archive response: its head (Content-Length or chunked
/// framing still to be decided by the session only for HEAD) and body.
#[derive(Debug)]
pub struct Archive {
    pub head: Head,
    pub stream: Stream,
    /// tar.gz to an HTTP/1.0 client: the body ends with the connection.
    pub close: bool,
}

/// Why there is no archive: a status, or 416 for an archive this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Status(u16),
    Unsatisfiable(u64),
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::Status(s) => s,
            Refusal::Unsatisfiable(_) => 416,
        }
    }

    /// Adds what the error page's head must say beyond its status.
    pub fn annotate(self, head: &mut Head) {
        if let Refusal::Unsatisfiable(len) = self {
            head.header("Content-Range", format!("bytes */{len}"));
        }
    }
}

/// The archive formats on offer: query value, file extension, media type.
pub const FORMATS: [(&str, &str); 3] = [
    ("tar", "application/x-tar"),
    ("tar.gz", "application/gzip"),
    ("zip", "application/zip"),
];

/// The `download=` value of a folder's query, if it asks for one.
pub fn requested(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("download="))
}

/// A folder archive whose manifest is still being read: what it will be
/// called and sent as, and the walk (driven by the session, a step per
/// turn of the loop, see [`walk`]).
#[derive(Debug)]
pub struct Planning {
    ext: &'static str,
    ctype: &'static str,
    top: String,
    walker: Walker,
}

/// Starts the answer to `?download=format` on the folder at `url`
/// (already opened and found a folder): 400 for an unknown format.
pub fn begin(site: &Site, url: &UrlPath, format: &str) -> Result<Planning, Refusal> {
    let Some(&(ext, ctype)) = FORMATS.iter().find(|(f, _)| *f == format) else {
        return Err(Refusal::Status(400));
    };
    let top = top_name(site, url);
    let walker = Walker::new(&url.relative(), &top, site.hidden);
    Ok(Planning {
        ext,
        ctype,
        top,
        walker,
    })
}

impl Planning {
    /// Reads on: `None` while the walk goes on, then its manifest, or the
    /// status its failure answers with.
    pub fn step(&mut self, root: &Root) -> Option<Result<Vec<Item>, Refusal>> {
        let walked = self.walker.step(root).transpose()?;
        Some(walked.map_err(|e| {
            log::debug!("archive of {}: {e}", self.top);
            Refusal::Status(match e.kind() {
                _ if walk::too_many(&e) => 507,
                io::ErrorKind::NotFound => 404,
                io::ErrorKind::PermissionDenied => 403,
                _ => 500,
            })
        }))
    }
}

/// The answer to `req` for the archive `planned`, once its manifest
/// `items` has been read: everything that depends on the manifest (the
/// length, the ETag, conditionals and Range) is decided here.
pub fn respond(
    site: &Site,
    req: &RequestHead,
    planned: &Planning,
    items: Vec<Item>,
    date: &[u8],
) -> Result<Archive, Refusal> {
    let (ext, ctype, top) = (planned.ext, planned.ctype, &planned.top);
    let kind = if ext == "zip" { Kind::Zip } else { Kind::Tar };
    let layout = Layout::plan(&items, kind);
    let disposition = disposition(&format!("{top}.{ext}"));
    let cache_control = site.cache_control.as_deref().unwrap_or("no-cache");
    let start = |status| {
        let mut head = Head::new(status, date, &site.extra_headers);
        head.text("Content-Type", ctype)
            .text("Content-Disposition", &disposition)
            .text("Cache-Control", cache_control);
        head
    };
    if ext != "tar.gz" {
        let etag = manifest::etag(&items, ext);
        return ranged(req, items, layout, etag, start);
    }
    // The compressed length is not known before it is made: no
    // Content-Length, no ranges (RFC 9112 section 7.1).
    let chunked = req.version != Version::Http10;
    let mut head = start(200);
    if chunked {
        head.text("Transfer-Encoding", "chunked");
    }
    let stream = Stream::gzipped(items, layout, chunked);
    let close = !chunked;
    Ok(Archive {
        head,
        stream,
        close,
    })
}

/// A tar or zip answer: conditionals and one Range against the archive's
/// exact length and its manifest's ETag; `start` makes a head.
fn ranged(
    req: &RequestHead,
    items: Vec<Item>,
    layout: Layout,
    etag: String,
    start: impl Fn(u16) -> Head,
) -> Result<Archive, Refusal> {
    let len = layout.len();
    let validators = Validators {
        len,
        modified: None,
        etag,
    };
    let (mut head, range) = match reply::plan(&req.headers, &validators) {
        Plan::PreconditionFailed => return Err(Refusal::Status(412)),
        Plan::Unsatisfiable => return Err(Refusal::Unsatisfiable(len)),
        // RFC 9110 section 15.4.5: no body, the validators a 200 would carry.
        Plan::NotModified => (start(304), 0..0),
        Plan::Partial(ranges) if ranges.len() == 1 => {
            let r = ranges[0].clone();
            let mut head = start(206);
            let last = r.end - 1;
            head.header("Content-Range", format!("bytes {}-{last}/{len}", r.start));
            (head, r)
        }
        // One range is what resuming and progress need; several get the
        // whole archive, which RFC 9110 section 14.2 allows.
        Plan::Full | Plan::Partial(_) => (start(200), 0..len),
    };
    head.text("ETag", &validators.etag);
    if head.status != 304 {
        head.text("Accept-Ranges", "bytes")
            .header("Content-Length", range.end - range.start);
    }
    Ok(Archive {
        head,
        stream: Stream::new(items, layout, range),
        close: false,
    })
}

/// The archive's top folder: the folder's own name, or the served
/// root's name for `/`.
fn top_name(site: &Site, url: &UrlPath) -> String {
    let name = match url.segments.last() {
        Some(s) => s.clone(),
        None => site
            .root
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("files")
            .to_string(),
    };
    if name.is_empty() || name.starts_with('.') || name.contains('/') {
        "files".to_string()
    } else {
        name
    }
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 one
/// (RFC 6266 section 4.3, RFC 8187).
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let exact = utf8_percent_encode(name, NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_query_values() {
        let cases = [
            (None, None),
            (Some("sort=name"), None),
            (Some("download=tar"), Some("tar")),
            (Some("sort=size&download=zip"), Some("zip")),
            (Some("download=tar.gz&x=1"), Some("tar.gz")),
        ];
        for (q, want) in cases {
            assert_eq!(requested(q), want, "{q:?}");
        }
    }

    /// How a walk's failure is answered: a folder gone 404, too many
    /// entries 507.
    #[test]
    fn walk_failures_map_to_statuses() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("top")).unwrap();
        for f in ["a", "b", "c"] {
            std::fs::write(d.path().join("top").join(f), f).unwrap();
        }
        let root = Root::open(d.path(), false).unwrap();
        let planning = |dir: &str, cap| Planning {
            ext: "tar",
            ctype: "application/x-tar",
            top: "top".into(),
            walker: Walker::new(std::path::Path::new(dir), "top", false).capped(cap),
        };
        let walked = |mut p: Planning| loop {
            if let Some(r) = p.step(&root) {
                break r.map(|items| items.len());
            }
        };
        assert_eq!(walked(planning("top", 3)), Ok(4));
        assert_eq!(walked(planning("top", 2)), Err(Refusal::Status(507)));
        assert_eq!(walked(planning("gone", 3)), Err(Refusal::Status(404)));
    }

    #[test]
    fn disposition_has_a_safe_fallback() {
        assert_eq!(
            disposition("a b.tar"),
            "attachment; filename=\"a b.tar\"; filename*=UTF-8''a%20b%2Etar"
        );
        assert!(
            disposition("caf\u{e9} \"x\".zip").starts_with("attachment; filename=\"caf_ _x_.zip\"")
        );
    }
}

//! Which representation of a file to send (RFC 9110 sections 8.4 and
//! 12.5.3): a precompressed sidecar (`FILE.br`, `FILE.zst`, `FILE.gz`)
//! opened beneath the root like the file itself and not older than it, a
//! body compressed on the fly once per file version (br or gzip, kept in
//! the loop's [`EncodedCache`]), or the identity bytes. A Range request
//! always gets identity. Sidecars win over compressing on the fly.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use super::cache::FileMeta;
use super::encoded::EncodedCache;
use super::path::Root;
use super::reply::Validators;
use super::site::Compression;
use crate::http::accept_encoding::{AcceptEncoding, Coding};
use crate::http::Header;

/// Smaller bodies gain nothing worth a round of compression.
pub const MIN_SIZE: u64 = 256;
/// Brotli quality on the fly, by size: each version is compressed once, on
/// the loop. For a 200 KiB script (release build) q10 takes ~75 ms and
/// comes within 4% of -q 11 (~190 ms); q9 ~25 ms and 13%; q5 keeps the
/// largest files to a few hundred ms.
fn br_quality(len: usize) -> u32 {
    match len {
        0..=0x40000 => 10,
        0x40001..=0x100000 => 9,
        _ => 5,
    }
}

/// Where a file's (or a variant's) bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    Disk(Arc<File>),
    Memory(Rc<[u8]>),
}

impl Content {
    /// All `len` bytes, read from disk if need be (to compress them).
    pub fn whole(&self, len: u64) -> Option<Rc<[u8]>> {
        match self {
            Content::Memory(d) => Some(d.clone()),
            Content::Disk(f) => {
                let mut data = vec![0u8; usize::try_from(len).ok()?];
                f.read_exact_at(&mut data, 0).ok()?;
                Some(data.into())
            }
        }
    }
}

/// An encoded representation: its coding, bytes and validators.
#[derive(Debug)]
pub struct Variant {
    pub coding: Coding,
    pub body: Content,
    pub meta: FileMeta,
}

/// What to send: whether the resource varies by Accept-Encoding, and the
/// encoded variant chosen (`None`: identity).
#[derive(Debug)]
pub struct Choice {
    pub vary: bool,
    pub variant: Option<Variant>,
}

/// Types worth compressing: text, scripts, data, SVG, wasm and fonts that
/// are not compressed already (woff and woff2 are).
pub fn compressible(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.starts_with("text/")
        || mime.ends_with("+xml")
        || mime.ends_with("+json")
        || matches!(
            mime,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
                | "font/ttf"
                | "font/otf"
                | "application/font-sfnt"
                | "application/x-font-ttf"
                | "application/vnd.ms-fontobject"
        )
}

/// Whether this file may be compressed on the fly.
fn on_the_fly(c: &Compression, fm: &FileMeta) -> bool {
    c.on_the_fly
        && (MIN_SIZE..=c.max).contains(&fm.validators.len)
        && compressible(&fm.content_type)
}

/// The ETag of a variant: the identity tag with the coding (and, for a
/// sidecar, its own size) inside the quotes, so each variant has its own.
pub fn variant_etag(identity: &str, coding: Coding, sidecar_len: Option<u64>) -> String {
    let inner = identity.trim_end_matches('"');
    match sidecar_len {
        Some(n) => format!("{inner}-{}.{n:x}\"", coding.token()),
        None => format!("{inner}-{}\"", coding.token()),
    }
}

/// Picks the representation for a request of the file `key` (a relative
/// path beneath `root`) described by `fm`. `identity` yields the file's
/// bytes when they must be compressed.
pub fn choose(
    root: &Root,
    settings: &Compression,
    store: &mut EncodedCache,
    headers: &[Header],
    key: &str,
    fm: &FileMeta,
    identity: impl FnOnce() -> Option<Rc<[u8]>>,
) -> Choice {
    let accept = AcceptEncoding::from_headers(headers);
    // Sidecars are looked for only when some coding may be sent, so a
    // request without Accept-Encoding costs no extra stat(2): its reply
    // lacks Vary only when sidecars are the sole variants.
    let sidecars = if Coding::PREFERENCE.iter().any(|&c| accept.allows(c)) {
        sidecars_present(root, key, fm)
    } else {
        Vec::new()
    };
    let fly = on_the_fly(settings, fm);
    let vary = fly || !sidecars.is_empty();
    if !vary || headers.iter().any(|h| h.is("range")) {
        return Choice {
            vary,
            variant: None,
        };
    }
    let variant = match accept.choose(&sidecars) {
        Some(c) => open_sidecar(root, key, c, fm),
        None if fly => accept
            .choose(&[Coding::Br, Coding::Gzip])
            .and_then(|c| compressed(store, key, c, fm, identity)),
        None => None,
    };
    Choice { vary, variant }
}

/// The codings with a usable sidecar beside `key`: a regular file, found
/// beneath the root, modified no earlier than the file (to the second).
/// (stat(2) field types vary by architecture, hence the cast.)
#[allow(clippy::unnecessary_cast)]
fn sidecars_present(root: &Root, key: &str, fm: &FileMeta) -> Vec<Coding> {
    Coding::PREFERENCE
        .into_iter()
        .filter(|c| {
            let st = root.stat_beneath(Path::new(&format!("{key}{}", c.suffix())));
            st.is_ok_and(|st| {
                let regular = rustix::fs::FileType::from_raw_mode(st.st_mode).is_file();
                regular && fresh(st.st_mtime as i64, fm)
            })
        })
        .collect()
}

/// A sidecar modified at `secs` is not older than the file of `fm`.
fn fresh(secs: i64, fm: &FileMeta) -> bool {
    let Some(file) = fm.validators.modified else {
        return true;
    };
    let file_secs = match file.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    secs >= file_secs
}

/// Opens the sidecar for `coding` and checks it again through the open
/// descriptor, which is what gets sent.
fn open_sidecar(root: &Root, key: &str, coding: Coding, fm: &FileMeta) -> Option<Variant> {
    let file = root
        .open_file(Path::new(&format!("{key}{}", coding.suffix())))
        .ok()?;
    let m = file.metadata().ok()?;
    let secs = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if !m.is_file() || !fresh(secs, fm) {
        return None;
    }
    Some(Variant {
        coding,
        body: Content::Disk(Arc::new(file)),
        meta: variant_meta(fm, coding, m.len(), Some(m.len())),
    })
}

/// The identity's metadata for an encoded body of `len` bytes.
fn variant_meta(fm: &FileMeta, coding: Coding, len: u64, sidecar: Option<u64>) -> FileMeta {
    let mut validators: Validators = fm.validators.clone();
    validators.len = len;
    validators.etag = variant_etag(&fm.validators.etag, coding, sidecar);
    FileMeta {
        validators,
        last_modified: fm.last_modified.clone(),
        content_type: fm.content_type.clone(),
    }
}

/// The body compressed on the fly: from the store when this version was
/// compressed before, else compressed now and stored. A body that does
/// not shrink is stored too but not sent.
fn compressed(
    store: &mut EncodedCache,
    key: &str,
    coding: Coding,
    fm: &FileMeta,
    identity: impl FnOnce() -> Option<Rc<[u8]>>,
) -> Option<Variant> {
    let etag = &fm.validators.etag;
    let data = match store.get(key, coding, etag) {
        Some(d) => d,
        None => {
            let d: Rc<[u8]> = encode(coding, &identity()?)?.into();
            store.insert(key, coding, etag, d.clone());
            d
        }
    };
    if data.len() as u64 >= fm.validators.len {
        return None;
    }
    Some(Variant {
        coding,
        meta: variant_meta(fm, coding, data.len() as u64, None),
        body: Content::Memory(data),
    })
}

/// `data` in `coding` (br or gzip; zstd only comes from sidecars).
pub fn encode(coding: Coding, data: &[u8]) -> Option<Vec<u8>> {
    match coding {
        Coding::Br => {
            let q = br_quality(data.len());
            let mut w = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, q, 22);
            w.write_all(data).ok()?;
            Some(w.into_inner())
        }
        Coding::Gzip => {
            let level = flate2::Compression::new(if data.len() <= 1 << 20 { 9 } else { 6 });
            let mut w = flate2::write::GzEncoder::new(Vec::new(), level);
            w.write_all(data).ok()?;
            w.finish().ok()
        }
        Coding::Zstd => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn meta(len: u64, ctype: &str, mtime_secs: u64) -> FileMeta {
        let v = Validators::new(len, Some(UNIX_EPOCH + Duration::from_secs(mtime_secs)));
        FileMeta {
            last_modified: v.last_modified(),
            validators: v,
            content_type: ctype.into(),
        }
    }

    #[test]
    fn what_is_compressed_on_the_fly() {
        let on = Compression::default();
        let off = Compression {
            on_the_fly: false,
            ..Compression::default()
        };
        let cases = [
            (&on, 1000, "text/html; charset=utf-8", true),
            (&on, 1000, "text/javascript; charset=utf-8", true),
            (&on, 1000, "application/json", true),
            (&on, 1000, "image/svg+xml; charset=utf-8", true),
            (&on, 1000, "application/wasm", true),
            (&on, 1000, "font/ttf", true),
            (&on, 1000, "font/woff2", false),
            (&on, 1000, "image/png", false),
            (&on, 1000, "application/gzip", false),
            (&on, 255, "text/plain", false),
            (&on, 256, "text/plain", true),
            (&on, 8 << 20, "text/plain", true),
            ((&on), (8 << 20) + 1, "text/plain", false),
            (&off, 1000, "text/plain", false),
        ];
        for (c, len, ctype, want) in cases {
            assert_eq!(on_the_fly(c, &meta(len, ctype, 0)), want, "{len} {ctype}");
        }
    }

    #[test]
    fn variant_tags_differ_from_identity_and_each_other() {
        let id = "\"5f.0-28\"";
        assert_eq!(variant_etag(id, Coding::Br, None), "\"5f.0-28-br\"");
        assert_eq!(
            variant_etag(id, Coding::Gzip, Some(16)),
            "\"5f.0-28-gzip.10\""
        );
        assert_ne!(
            variant_etag(id, Coding::Gzip, None),
            variant_etag(id, Coding::Gzip, Some(16))
        );
    }

    #[test]
    fn sidecars_must_not_be_older_than_the_file() {
        let fm = meta(10, "text/plain", 1000);
        assert!(fresh(1000, &fm));
        assert!(fresh(1001, &fm));
        assert!(!fresh(999, &fm));
    }

    #[test]
    fn encodings_round_trip() {
        let data = b"hello hello hello hello hello hello".repeat(20);
        let br = encode(Coding::Br, &data).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut brotli::Decompressor::new(&br[..], 4096), &mut out)
            .unwrap();
        assert_eq!(out, data);
        let gz = encode(Coding::Gzip, &data).unwrap();
        out.clear();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert_eq!(out, data);
        assert!(encode(Coding::Zstd, &data).is_none());
    }

    #[test]
    fn each_version_is_compressed_once() {
        let d = tempfile::tempdir().unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let mut store = EncodedCache::default();
        let data: Rc<[u8]> = b"abcabcabc".repeat(100).into();
        let fm = meta(data.len() as u64, "text/plain", 5);
        let ae = [Header::new("Accept-Encoding", "br")];
        let c = Compression::default();
        let mut calls = 0;
        for _ in 0..3 {
            let choice = choose(&root, &c, &mut store, &ae, "a.txt", &fm, || {
                calls += 1;
                Some(data.clone())
            });
            assert!(choice.vary);
            assert_eq!(choice.variant.unwrap().coding, Coding::Br);
        }
        assert_eq!(calls, 1);
        let range = [ae[0].clone(), Header::new("Range", "bytes=0-1")];
        let choice = choose(&root, &c, &mut store, &range, "a.txt", &fm, || None);
        assert!(choice.vary && choice.variant.is_none());
    }
}

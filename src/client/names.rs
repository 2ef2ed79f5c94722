//! File names for saved bodies: the name a URL implies, names cut to fit
//! NAME_MAX on a character boundary, and the one no-clobber search over
//! `NAME`, `NAME.1`, `NAME.2`... Pure but for the `take` callback.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use url::Url;

use crate::error::{Error, Result};
use crate::http::disposition::{self, MAX_NAME};

/// How many `.N` suffixes to try before giving up on a derived name.
const MAX_SUFFIX: u32 = 9999;

/// The no-clobber name search, the one place it is done: tries `dest`,
/// then `dest.1`, `dest.2`, ... up to `.9999`, until `take` takes one
/// (`Ok(true)`; `Ok(false)`: that name is taken, try the next).
pub fn first_free(dest: &Path, mut take: impl FnMut(&Path) -> Result<bool>) -> Result<PathBuf> {
    for n in 0..=MAX_SUFFIX {
        let path = numbered(dest, n);
        if take(&path)? {
            return Ok(path);
        }
    }
    Err(Error::file(
        dest,
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every .N name up to 9999 is taken",
        ),
    ))
}

/// `path` itself for `n == 0`, else `path.N`, the name shortened (on a
/// character boundary) as much as the suffix needs to fit in NAME_MAX.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let suffix = format!(".{n}");
    let mut name = fit_name(
        path.file_name().unwrap_or_default(),
        MAX_NAME - suffix.len(),
    );
    name.push(suffix);
    path.with_file_name(name)
}

/// The first bytes of `name`, at most `room`, cut where no UTF-8
/// character is split.
pub fn fit_name(name: &OsStr, room: usize) -> OsString {
    let bytes = name.as_bytes();
    if bytes.len() <= room {
        return name.to_os_string();
    }
    let mut cut = room;
    // A UTF-8 continuation byte (0b10xx_xxxx) is never where a character starts.
    while cut > 0 && bytes[cut] & 0xc0 == 0x80 {
        cut -= 1;
    }
    OsString::from_vec(bytes[..cut].to_vec())
}

/// The file name a URL implies: its last path segment, percent-decoded,
/// and made safe like a Content-Disposition name (see
/// [`disposition::sanitize`]: no separators, control characters, leading
/// dots or dash, at most 255 bytes), or `index.html` when nothing is left.
/// Separators decoded from `%2F` and `%5C` become `_` first, so `a%2Fb`
/// keeps both halves.
pub fn derive_name(url: &Url) -> String {
    name_in(url).unwrap_or_else(|| "index.html".to_string())
}

/// The name [`derive_name`] takes from the URL, or `None` when the URL
/// names no file (a path ending in `/`) and `index.html` stands in.
pub fn name_in(url: &Url) -> Option<String> {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
    let flat = decoded.replace(['/', '\\'], "_");
    disposition::sanitize(&flat)
}

//! What answers a path that names nothing: with `--spa`, an extensionless
//! path gets the root `index.html` (200) so a single-page app can route
//! it; otherwise the site's not-found page (`404.html` at the root, or
//! `--404 FILE`) is sent with status 404. A leaf: pure decisions; the
//! caller opens the file beneath the root with the usual safe resolver.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use super::path::{Root, UrlPath};
use crate::error::{Error, Result};

/// The not-found page looked for when `--404` is not given.
pub const DEFAULT_PAGE: &str = "404.html";

/// The page a missing path is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The root `index.html`, status 200 (`--spa`).
    Index,
    /// The not-found page, relative to the root, status 404.
    NotFound(PathBuf),
}

/// The pages to try, in order, for a missing `url`: the index first for
/// an extensionless path under `--spa`, then the not-found page.
pub fn candidates(url: &UrlPath, spa: bool, page: &Path) -> Vec<Fallback> {
    let mut out = Vec::with_capacity(2);
    if spa && !has_extension(url) {
        out.push(Fallback::Index);
    }
    out.push(Fallback::NotFound(page.to_path_buf()));
    out
}

/// A fallback page, opened beneath the root.
#[derive(Debug)]
pub struct Found {
    /// The root index (200), rather than the not-found page (404).
    pub index: bool,
    pub file: File,
    pub meta: Metadata,
    /// Its path beneath the root, for its type.
    pub rel: PathBuf,
}

/// The page that answers `url`, which failed to open with `e`: only a
/// path that names nothing (not a forbidden one) gets one, and only a
/// regular file that opens beneath `root` is used.
pub fn find(root: &Root, url: &UrlPath, spa: bool, page: &Path, e: &io::Error) -> Option<Found> {
    if !matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) {
        return None;
    }
    candidates(url, spa, page).into_iter().find_map(|c| {
        let (index, rel) = match c {
            Fallback::Index => (true, PathBuf::from("index.html")),
            Fallback::NotFound(p) => (false, p),
        };
        let file = root.open_file(&rel).ok()?;
        let meta = file.metadata().ok().filter(|m| m.is_file())?;
        Some(Found {
            index,
            file,
            meta,
            rel,
        })
    })
}

/// Whether the last segment looks like a file name (`app.js`, not
/// `about` or `.env`). A trailing-slash path names a folder: no extension.
pub fn has_extension(url: &UrlPath) -> bool {
    if url.trailing_slash {
        return false;
    }
    url.segments
        .last()
        .and_then(|s| s.rfind('.').map(|i| i > 0 && i + 1 < s.len()))
        .unwrap_or(false)
}

/// `--404 FILE` as a path beneath the root (a leading `/` means the
/// root): plain names only, so it can neither climb out (`..`) nor name
/// the root itself. Opening it still goes through the safe resolver.
pub fn page_path(value: &str) -> Option<PathBuf> {
    use std::path::Component;
    if value.ends_with('/') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(value.trim_start_matches('/')).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The not-found page to use: `404.html` (which may be absent) or the
/// `--404` file, which must be a regular file beneath the root at start.
pub fn page_file(root: &Root, given: Option<&Path>) -> Result<PathBuf> {
    let Some(page) = given else {
        return Ok(PathBuf::from(DEFAULT_PAGE));
    };
    match root.open_file(page).and_then(|f| f.metadata()) {
        Ok(m) if m.is_file() => Ok(page.to_path_buf()),
        Ok(_) => Err(Error::Usage(format!(
            "--404 {}: not a regular file",
            page.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::Usage(format!(
            "--404 {}: no such file in the folder served",
            page.display()
        ))),
        Err(e) => Err(Error::Usage(format!("--404 {}: {e}", page.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(target: &str) -> UrlPath {
        super::super::path::clean(target).unwrap().0
    }

    #[test]
    fn extensions() {
        let cases = [
            ("/about", false),
            ("/app/settings", false),
            ("/app.js", true),
            ("/a/b.min.css", true),
            ("/.env", false),
            ("/trailing.", false),
            ("/docs.v2/", false),
            ("/", false),
        ];
        for (target, want) in cases {
            assert_eq!(has_extension(&url(target)), want, "{target}");
        }
    }

    #[test]
    fn spa_tries_the_index_first_for_extensionless_paths() {
        let page = Path::new("404.html");
        let nf = Fallback::NotFound(page.into());
        let cases = [
            ("/about", true, vec![Fallback::Index, nf.clone()]),
            ("/about", false, vec![nf.clone()]),
            ("/missing.js", true, vec![nf.clone()]),
        ];
        for (target, spa, want) in cases {
            assert_eq!(candidates(&url(target), spa, page), want, "{target} {spa}");
        }
    }

    #[test]
    fn not_found_page_stays_beneath_the_root() {
        let cases = [
            ("404.html", Some("404.html")),
            ("/errors/missing.html", Some("errors/missing.html")),
            ("errors/./nf.html", Some("errors/nf.html")),
            ("../outside.html", None),
            ("a/../../x.html", None),
            ("", None),
            ("dir/", None),
            ("/", None),
            ("a%20b.html", Some("a%20b.html")),
        ];
        for (value, want) in cases {
            let got = page_path(value);
            assert_eq!(got.as_deref(), want.map(Path::new), "{value:?}");
        }
    }
}

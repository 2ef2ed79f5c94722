//! URL paths to files: cleaning a request-target into safe path segments
//! (pure, table-tested), and opening them beneath the served root so no
//! request reaches a file outside it.
//!
//! Cleaning percent-decodes exactly once, refuses NUL and invalid UTF-8
//! (which covers overlong encodings such as `%c0%ae`), treats `\` as a
//! separator (so `..%5c` is `..`), and resolves `.` and `..` itself; a `..`
//! that would climb above the root is refused. Opening uses openat2(2) with
//! `RESOLVE_BENEATH`, so a symlink cannot lead out of the root unless the
//! operator allowed it.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustix::fs::{Mode, OFlags, ResolveFlags};

/// Characters left alone when a path segment is put into a URL: RFC 3986
/// unreserved plus a few sub-delims that are harmless in a path.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// A request path after cleaning: decoded segments, none empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPath {
    pub segments: Vec<String>,
    /// The request named a directory (`/dir/`); `/dir` gets redirected.
    pub trailing_slash: bool,
}

/// Why a target cannot name a file: every case is a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPath {
    /// Not origin-form or absolute-form (`*`, `host:port`, `foo`).
    Form,
    /// A NUL byte, decoded or raw.
    Nul,
    /// Decoded bytes are not UTF-8 (overlong forms included).
    NotUtf8,
    /// `..` above the root.
    Escape,
}

impl UrlPath {
    /// The path relative to the root, for opening.
    pub fn relative(&self) -> PathBuf {
        if self.segments.is_empty() {
            PathBuf::from(".")
        } else {
            self.segments.iter().collect()
        }
    }

    /// Does any segment name a dotfile or dot-directory?
    pub fn is_hidden(&self) -> bool {
        self.segments.iter().any(|s| s.starts_with('.'))
    }

    /// The canonical URL path, percent-encoded, ending in `/` when `dir`.
    /// It starts with exactly one `/` followed by a non-empty encoded
    /// segment (or nothing), so as a Location it can never be read as a
    /// network-path reference `//host` (an open redirect).
    pub fn encoded(&self, dir: bool) -> String {
        let mut out = String::with_capacity(64);
        for s in &self.segments {
            out.push('/');
            out.extend(utf8_percent_encode(s, SEGMENT));
        }
        if dir || self.segments.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Cleans a request-target (origin form `/a/b?q` or absolute form
/// `http://host/a/b`, RFC 9112 section 3.2) into path segments. Returns
/// the query (without `?`) alongside, untouched.
pub fn clean(target: &str) -> Result<(UrlPath, Option<&str>), BadPath> {
    let path = if target.starts_with('/') {
        target
    } else if let Some(rest) = strip_scheme(target) {
        // Absolute form: the authority ends at the first '/', '?' or '#'.
        match rest.find(['/', '?', '#']) {
            Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
            Some(i) => return clean_origin(&format!("/{}", &rest[i..])).map(|(p, _)| (p, None)),
            None => "/",
        }
    } else {
        return Err(BadPath::Form);
    };
    clean_origin(path)
}

fn strip_scheme(target: &str) -> Option<&str> {
    ["http://", "https://"].into_iter().find_map(|scheme| {
        // `get`, not slicing: the target may hold multi-byte characters.
        target
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .map(|_| &target[scheme.len()..])
    })
}

fn clean_origin(path: &str) -> Result<(UrlPath, Option<&str>), BadPath> {
    // A fragment never belongs in a request-target (RFC 9110 section 7.1);
    // drop it rather than look it up as part of a name.
    let path = path.split('#').next().unwrap_or("");
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    if path.contains('\0') {
        return Err(BadPath::Nul);
    }
    let bytes: Vec<u8> = percent_decode_str(path).collect();
    if bytes.contains(&0) {
        return Err(BadPath::Nul);
    }
    let decoded = String::from_utf8(bytes).map_err(|_| BadPath::NotUtf8)?;
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = true;
    // Backslash is a separator too: on Linux it is a valid name byte, but
    // treating `..\` as a name invites mistakes if the tree is copied to
    // a system where it is not.
    for seg in decoded.split(['/', '\\']) {
        match seg {
            "" | "." => trailing_slash = true,
            ".." => {
                segments.pop().ok_or(BadPath::Escape)?;
                trailing_slash = true;
            }
            s => {
                segments.push(s.to_string());
                trailing_slash = false;
            }
        }
    }
    Ok((
        UrlPath {
            segments,
            trailing_slash,
        },
        query,
    ))
}

/// The served folder, held open so every lookup is relative to it.
#[derive(Debug)]
pub struct Root {
    /// The canonical path, for listings and the symlink fallback.
    pub dir: PathBuf,
    fd: OwnedFd,
    follow_symlinks: bool,
}

impl Root {
    pub fn open(dir: &Path, follow_symlinks: bool) -> io::Result<Root> {
        let dir = dir.canonicalize()?;
        let fd = rustix::fs::open(
            &dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            dir,
            fd,
            follow_symlinks,
        })
    }

    /// Opens `rel` (a cleaned relative path) for reading. A symlink that
    /// leads outside the root is `NotFound` unless symlinks are followed.
    pub fn open_file(&self, rel: &Path) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        if self.follow_symlinks {
            return Ok(rustix::fs::openat(&self.fd, rel, flags, Mode::empty())?.into());
        }
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&self.fd, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(fd.into()),
            // EXDEV: the walk would leave the root. An absolute symlink that
            // points back inside also lands here; let canonicalisation judge.
            // ENOSYS/EPERM: an old kernel or a seccomp filter without openat2.
            Err(e)
                if e == rustix::io::Errno::XDEV
                    || e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::PERM =>
            {
                self.open_checked(rel, flags)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn open_checked(&self, rel: &Path, flags: OFlags) -> io::Result<File> {
        let real = self.dir.join(rel).canonicalize()?;
        if !self.contains(&real) {
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok(rustix::fs::open(&real, flags, Mode::empty())?.into())
    }

    /// stat(2) of `rel`, following symlinks, resolved from the root's
    /// descriptor so only `rel`'s own components are walked.
    pub fn stat(&self, rel: &Path) -> io::Result<rustix::fs::Stat> {
        Ok(rustix::fs::statat(
            &self.fd,
            rel,
            rustix::fs::AtFlags::empty(),
        )?)
    }

    /// Is `real` (a canonical path) the root or beneath it?
    pub fn contains(&self, real: &Path) -> bool {
        real.starts_with(&self.dir)
    }

    pub fn follows_symlinks(&self) -> bool {
        self.follow_symlinks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(target: &str) -> Result<Vec<String>, BadPath> {
        clean(target).map(|(p, _)| p.segments)
    }

    #[test]
    fn clean_accepts_ordinary_and_awkward_paths() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("/", &[], true),
            ("/a/b.txt", &["a", "b.txt"], false),
            ("/a/b/", &["a", "b"], true),
            ("/a%20b", &["a b"], false),
            ("/%23hash%25pct%3Fq", &["#hash%pct?q"], false),
            ("/caf%C3%A9", &["café"], false),
            ("/a//b", &["a", "b"], false),
            ("/a/./b", &["a", "b"], false),
            ("/a/b/..", &["a"], true),
            ("/a/b/../c", &["a", "c"], false),
            ("/a?x=/../..", &["a"], false),
            ("/a#frag", &["a"], false),
            ("http://example.test/x/y", &["x", "y"], false),
            ("HTTP://example.test", &[], true),
            ("http://example.test?q", &[], true),
            ("/%", &["%"], false),
            ("/%zz", &["%zz"], false),
        ];
        for (target, want, slash) in cases {
            let (p, _) = clean(target).unwrap_or_else(|e| panic!("{target}: {e:?}"));
            assert_eq!(p.segments, *want, "{target}");
            assert_eq!(p.trailing_slash, *slash, "{target}");
        }
    }

    #[test]
    fn multibyte_targets_do_not_panic() {
        for t in ["héllo", "http:/é", "httpé://x", "é", "http://é/ü", "/é?ü#ö"] {
            let _ = clean(t);
        }
        assert_eq!(segs("http://é/ü"), Ok(vec!["ü".to_string()]));
    }

    #[test]
    fn query_is_kept_apart() {
        assert_eq!(clean("/a?b=c").unwrap().1, Some("b=c"));
        assert_eq!(clean("/a").unwrap().1, None);
    }

    /// Traversal attempts: each must be refused or stay inside the root.
    #[test]
    fn traversal_table() {
        let cases: &[&str] = &[
            "/..",
            "/../",
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/etc/passwd",
            "/%2e./etc/passwd",
            "/..%2fetc%2fpasswd",
            "/%2e%2e%2fetc%2fpasswd",
            "/..%5cetc%5cpasswd",
            "/..\\etc\\passwd",
            "/a\\..\\..\\etc",
            "/%5c..%5c..%5cetc",
            "/a/%2e%2e/%2e%2e/etc",
            "/./../etc",
            "/a/b/../../../etc",
            "http://h/../etc/passwd",
            "http://h/%2e%2e/etc",
            "/%252e%252e/etc", // double-encoded: decoded once, stays a name
            "/%c0%ae%c0%ae/etc",
            "/%c0%af..%c0%afetc",
            "/%e0%80%ae%e0%80%ae/etc",
            "/..%c0%af..%c0%afetc",
            "/%ff/etc",
            "/etc/passwd%00.html",
            "/%00",
            "/a%00/../..",
            "/..;/etc",
            "/....//etc",
            "/.../etc",
            "//../etc",
            "///..//..//etc",
            "/%2e%2e%5c%2e%2e%5cetc",
            "*",
            "etc/passwd",
            "../etc/passwd",
        ];
        assert!(cases.len() >= 30);
        for target in cases {
            match clean(target) {
                Err(_) => {}
                Ok((p, _)) => {
                    // Whatever survives names something under the root:
                    // no segment is empty, "." or "..", and none contains a
                    // separator that could be reinterpreted later.
                    for s in &p.segments {
                        assert!(
                            !s.is_empty() && s != "." && s != "..",
                            "{target}: segment {s:?}"
                        );
                        assert!(!s.contains(['/', '\\', '\0']), "{target}: {s:?}");
                    }
                    assert!(p.relative().is_relative(), "{target}");
                    assert!(
                        !p.relative()
                            .components()
                            .any(|c| matches!(c, std::path::Component::ParentDir)),
                        "{target}"
                    );
                }
            }
        }
        assert_eq!(segs("/../etc"), Err(BadPath::Escape));
        assert_eq!(segs("/%2e%2e/etc"), Err(BadPath::Escape));
        assert_eq!(segs("/..%5cetc"), Err(BadPath::Escape));
        assert_eq!(segs("/a%00"), Err(BadPath::Nul));
        assert_eq!(segs("/%c0%ae%c0%ae/etc"), Err(BadPath::NotUtf8));
        assert_eq!(segs("*"), Err(BadPath::Form));
        assert_eq!(segs("/%252e%252e/x"), Ok(vec!["%2e%2e".into(), "x".into()]));
        assert_eq!(segs("/....//etc"), Ok(vec!["....".into(), "etc".into()]));
    }

    #[test]
    fn encoded_never_starts_with_two_slashes() {
        for target in [
            "//evil.test",
            "/%2f%2fevil.test",
            "///evil.test/x",
            "/\\evil.test",
        ] {
            let (p, _) = clean(target).unwrap();
            let loc = p.encoded(true);
            assert!(!loc.starts_with("//"), "{target} -> {loc}");
            assert!(!loc.starts_with("/\\"), "{target} -> {loc}");
        }
        let (p, _) = clean("/a b/#%?\"é").unwrap();
        assert_eq!(p.encoded(true), "/a%20b/");
        let p = UrlPath {
            segments: vec!["x #%?\"é".into()],
            trailing_slash: false,
        };
        assert_eq!(p.encoded(false), "/x%20%23%25%3F%22%C3%A9");
    }

    #[test]
    fn hidden_segments() {
        assert!(clean("/.git/config").unwrap().0.is_hidden());
        assert!(clean("/a/.env").unwrap().0.is_hidden());
        assert!(!clean("/a/b.c").unwrap().0.is_hidden());
        assert!(!clean("/a/./b").unwrap().0.is_hidden());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("in.txt"), "i").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("in.txt"), root.path().join("abs-in")).unwrap();
        std::os::unix::fs::symlink("in.txt", root.path().join("rel-in")).unwrap();
        let r = Root::open(root.path(), false).unwrap();
        assert!(r.open_file(Path::new("in.txt")).is_ok());
        assert!(r.open_file(Path::new("rel-in")).is_ok());
        assert!(r.open_file(Path::new("abs-in")).is_ok());
        let e = r.open_file(Path::new("out")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let r = Root::open(root.path(), true).unwrap();
        assert!(r.open_file(Path::new("out")).is_ok());
    }
}

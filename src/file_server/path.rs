//! URL paths to files: cleaning a request-target into safe path segments
//! (pure, table-tested), and opening them beneath the served root so no
//! request reaches a file outside it.
//!
//! Cleaning percent-decodes exactly once, refuses NUL and invalid UTF-8
//! (which covers overlong encodings such as `%c0%ae`), treats `\` as a
//! separator (so `..%5c` is `..`), and resolves `.` and `..` itself; a `..`
//! that would climb above the root is refused.
//!
//! Opening never uses a path string after a check. What the resolver
//! guarantees, unless the operator passed `--follow-symlinks`:
//!
//! - Every lookup starts at the root's descriptor, held open since start,
//!   and every descriptor it hands out was beneath the root when opened.
//!   A path without symlinks is one openat2(2) with `RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS`.
//! - A symlink is followed only if its target, resolved the same way,
//!   stays beneath the root (relative targets, and absolute ones that
//!   name the root's canonical path or below it); otherwise the lookup is
//!   `NotFound`. The walk that does this opens one component at a time
//!   relative to the folder opened before it, with `O_NOFOLLOW`, reads
//!   links with readlinkat(2), and keeps its own stack of folder
//!   descriptors for `..`; so a folder swapped for a symlink at any moment
//!   is seen as a symlink and judged, never followed blindly. At most 40
//!   links per lookup (ELOOP beyond, as the kernel does).
//! - Kernels without openat2 (ENOSYS, or a seccomp filter) get the same
//!   walk, with the same guarantees.
//! - Listings read entries through the folder's descriptor (see
//!   [`super::listing::read_entries`]).
//!
//! As with `RESOLVE_BENEATH` itself, the guarantee holds at the moment of
//! each open: a folder moved out of the root after it was opened can still
//! be read through the descriptor already open.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

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

/// Symlinks followed in one lookup at most (the kernel's MAXSYMLINKS):
/// beyond it, ELOOP, as for a loop.
const MAX_SYMLINKS: usize = 40;
/// Components opened in one lookup at most: 40 links of up to 2,048
/// components each would otherwise cost 80,000 openat calls per request.
const MAX_STEPS: usize = 4096;

/// The served folder, held open so every lookup is relative to it.
#[derive(Debug)]
pub struct Root {
    /// The canonical path: absolute symlink targets are read against it,
    /// and it is shown to people. Nothing is opened by this path.
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

    /// Opens `rel` (a cleaned relative path) for reading: a file, or a
    /// folder to list. Without `--follow-symlinks`, a symlink that leads
    /// outside the root, or cannot be resolved, is `NotFound`.
    pub fn open_file(&self, rel: &Path) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        Ok(self.open_beneath(rel, flags)?.into())
    }

    /// Opens the folder `rel` under the same rules, for making files in
    /// it through its descriptor (uploads).
    pub fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        self.open_beneath(rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC)
    }

    /// stat(2) of what `rel` resolves to, under the same rules as
    /// [`Root::open_file`].
    pub fn stat_beneath(&self, rel: &Path) -> io::Result<rustix::fs::Stat> {
        let fd = self.open_beneath(rel, OFlags::PATH | OFlags::CLOEXEC)?;
        Ok(rustix::fs::fstat(fd)?)
    }

    fn open_beneath(&self, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        if self.follow_symlinks {
            // The operator allowed symlinks to lead anywhere; `rel` itself
            // has no `..` and is relative, so only symlinks can leave.
            return Ok(rustix::fs::openat(&self.fd, rel, flags, Mode::empty())?);
        }
        // One syscall for the common case, a path without symlinks. The
        // kernel refuses any symlink (ELOOP) and any escape (EXDEV).
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
        match rustix::fs::openat2(&self.fd, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(fd),
            // ELOOP/EXDEV: a symlink on the way, which may be allowed.
            // ENOSYS/EPERM/E2BIG/EINVAL: no openat2 (old kernel, seccomp).
            // EAGAIN: the kernel saw a concurrent rename and gave up.
            Err(e)
                if [
                    Errno::LOOP,
                    Errno::XDEV,
                    Errno::NOSYS,
                    Errno::PERM,
                    Errno::TOOBIG,
                    Errno::INVAL,
                    Errno::AGAIN,
                ]
                .contains(&e) =>
            {
                self.walk(rel, flags, || {})
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Resolves `rel` one component at a time, each opened relative to the
    /// descriptor of the folder before it with `O_NOFOLLOW`, so nothing is
    /// ever looked up by a path string and a component swapped mid-walk is
    /// seen as what it is now. Symlinks are read with readlinkat and their
    /// targets walked the same way: a relative target from the folder that
    /// holds the link, an absolute one from the root's descriptor if it
    /// names the root or a path beneath it (compared component-wise with
    /// the canonical root path). A `..` pops the folders walked, and
    /// popping past the root is `NotFound`.
    ///
    /// `between` runs before each component is opened: tests use it to
    /// change the tree mid-walk.
    fn walk(&self, rel: &Path, flags: OFlags, mut between: impl FnMut()) -> io::Result<OwnedFd> {
        // The folders opened so far beneath the root, outermost first.
        let mut dirs: Vec<OwnedFd> = Vec::new();
        // Components still to resolve, the next one last.
        let mut todo: Vec<OsString> = Vec::new();
        push_components(rel, &mut todo);
        let (mut links, mut steps) = (0, 0);
        while let Some(name) = todo.pop() {
            steps += 1;
            if steps > MAX_STEPS {
                return Err(Errno::LOOP.into());
            }
            if name == ".." {
                dirs.pop().ok_or(io::ErrorKind::NotFound)?;
                continue;
            }
            let cur = dirs.last().map_or(self.fd.as_fd(), |d| d.as_fd());
            let last = todo.is_empty();
            let step = if last {
                flags | OFlags::NOFOLLOW
            } else {
                // O_PATH: passing through needs search, not read, permission.
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
            };
            between();
            let failed = match rustix::fs::openat(cur, &name, step, Mode::empty()) {
                Ok(fd) if is_link_itself(&fd, step)? => Errno::LOOP,
                Ok(fd) if last => return Ok(fd),
                Ok(fd) => {
                    dirs.push(fd);
                    continue;
                }
                // A symlink: ELOOP as the last component, ENOTDIR before
                // it (O_DIRECTORY with O_NOFOLLOW). Or not a folder at all.
                Err(e) if e == Errno::LOOP || e == Errno::NOTDIR => e,
                Err(e) => return Err(e.into()),
            };
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::LOOP.into());
            }
            let target = match rustix::fs::readlinkat(cur, &name, Vec::new()) {
                Ok(t) => OsString::from_vec(t.into_bytes()),
                Err(Errno::INVAL) if failed == Errno::NOTDIR => return Err(failed.into()),
                // No longer a symlink: it changed under us; look again.
                Err(Errno::INVAL) => {
                    todo.push(name);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            self.follow(Path::new(&target), &mut dirs, &mut todo)?;
        }
        // The path ended in `.` or `..` (a link to "." or "../x/.."): open
        // the folder reached, through its own descriptor.
        let cur = dirs.last().map_or(self.fd.as_fd(), |d| d.as_fd());
        Ok(rustix::fs::openat(cur, ".", flags, Mode::empty())?)
    }

    /// Queues a symlink's target for the walk.
    fn follow(
        &self,
        target: &Path,
        dirs: &mut Vec<OwnedFd>,
        todo: &mut Vec<OsString>,
    ) -> io::Result<()> {
        if target.as_os_str().is_empty() {
            return Err(io::ErrorKind::NotFound.into());
        }
        if target.is_absolute() {
            let beneath = target
                .strip_prefix(&self.dir)
                .map_err(|_| io::Error::from(io::ErrorKind::NotFound))?;
            dirs.clear();
            push_components(beneath, todo);
        } else {
            push_components(target, todo);
        }
        Ok(())
    }

    /// stat(2) of `rel`, following symlinks, resolved from the root's
    /// descriptor. For the cache's identity check only: it may follow a
    /// symlink out of the root, but a hit needs the very inode that was
    /// opened safely, so it can only confirm what is already cached.
    pub fn stat(&self, rel: &Path) -> io::Result<rustix::fs::Stat> {
        Ok(rustix::fs::statat(
            &self.fd,
            rel,
            rustix::fs::AtFlags::empty(),
        )?)
    }

    pub fn follows_symlinks(&self) -> bool {
        self.follow_symlinks
    }
}

/// Did an open with `O_PATH | O_NOFOLLOW` (and no `O_DIRECTORY`) give
/// the symlink itself rather than refuse it?
fn is_link_itself(fd: &OwnedFd, step: OFlags) -> io::Result<bool> {
    if !step.contains(OFlags::PATH) || step.contains(OFlags::DIRECTORY) {
        return Ok(false);
    }
    let st = rustix::fs::fstat(fd)?;
    Ok(rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink)
}

/// Pushes `path`'s components onto `todo` so the first is popped first.
/// `Path::components` has already dropped empty and (inner) `.` parts.
fn push_components(path: &Path, todo: &mut Vec<OsString>) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => todo.push(n.to_os_string()),
            Component::ParentDir => todo.push("..".into()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
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

    fn read(f: io::Result<OwnedFd>) -> io::Result<String> {
        io::read_to_string(File::from(f?))
    }

    const READ: OFlags = OFlags::RDONLY.union(OFlags::CLOEXEC);

    /// A root with links that stay inside and links that leave, next to
    /// an outside folder holding `f.txt` = "SECRET".
    fn tricky() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let base = top.path().canonicalize().unwrap();
        let (root, out) = (base.join("root"), base.join("out"));
        std::fs::create_dir_all(root.join("real/a")).unwrap();
        std::fs::create_dir(&out).unwrap();
        std::fs::write(root.join("real/a/f.txt"), "inside").unwrap();
        std::fs::write(out.join("f.txt"), "SECRET").unwrap();
        let link = |to: &Path, at: &str| std::os::unix::fs::symlink(to, root.join(at)).unwrap();
        link(&root.join("real"), "abs");
        link(Path::new("real/a"), "rel");
        link(Path::new("../f.txt"), "real/a/up-bad");
        link(Path::new("../a/f.txt"), "real/a/up-ok");
        link(Path::new("."), "real/a/self");
        link(&out, "swap");
        link(&out.join("f.txt"), "swap-file");
        link(&out, "real/out");
        link(Path::new("../out"), "dotdot");
        link(&root.join("real/../../out"), "abs-dotdot");
        link(Path::new("loop"), "loop");
        link(&root, "whole");
        (top, root, out)
    }

    /// Every lookup, through openat2 and through the step-by-step walk an
    /// old kernel gets, lands beneath the root or is refused.
    #[test]
    fn resolution_table_with_and_without_openat2() {
        let (_top, root, _out) = tricky();
        let r = Root::open(&root, false).unwrap();
        let cases: &[(&str, Option<&str>)] = &[
            ("real/a/f.txt", Some("inside")),
            ("abs/a/f.txt", Some("inside")),
            ("rel/f.txt", Some("inside")),
            ("abs/a/up-ok", Some("inside")),
            ("rel/self/self/f.txt", Some("inside")),
            ("whole/abs/a/f.txt", Some("inside")),
            ("real/a/up-bad", None),
            ("swap/f.txt", None),
            ("swap-file", None),
            ("real/out/f.txt", None),
            ("abs/out/f.txt", None),
            ("dotdot/f.txt", None),
            ("abs-dotdot/f.txt", None),
            ("loop", None),
            ("loop/f.txt", None),
            ("real/a/f.txt/x", None),
            ("missing", None),
        ];
        for (rel, want) in cases {
            let rel = Path::new(rel);
            let fast = read(r.open_beneath(rel, READ)).ok();
            let walked = read(r.walk(rel, READ, || {})).ok();
            assert_eq!(fast.as_deref(), *want, "{rel:?} via openat2");
            assert_eq!(walked.as_deref(), *want, "{rel:?} via the walk");
            assert_eq!(r.stat_beneath(rel).is_ok(), want.is_some(), "{rel:?}");
        }
        let e = r.walk(Path::new("loop"), READ, || {}).unwrap_err();
        assert_eq!(rustix::io::Errno::from_io_error(&e), Some(Errno::LOOP));
        assert!(r.walk(Path::new("whole"), READ, || {}).is_ok());
        assert!(r.walk(Path::new("."), READ, || {}).is_ok());
        // O_PATH opens of a final symlink are resolved, not the link itself.
        let st = r.stat_beneath(Path::new("rel")).unwrap();
        assert_eq!(
            rustix::fs::FileType::from_raw_mode(st.st_mode),
            rustix::fs::FileType::Directory
        );
    }

    /// The race of issue 9: a folder (or the file) is swapped with
    /// renameat2(RENAME_EXCHANGE) for a symlink out of the root, before
    /// each step of the walk in turn. Whatever the moment, the result is
    /// the inside file or NotFound, never the outside one. (The old
    /// canonicalise-check-then-open-by-name fallback served the outside
    /// file when the swap fell between its check and its open.)
    #[test]
    fn swapping_a_folder_for_a_symlink_mid_walk_never_leaves_the_root() {
        let (_top, root, _out) = tricky();
        let r = Root::open(&root, false).unwrap();
        let exchange = |a: &str, b: &str| {
            let cwd = rustix::fs::CWD;
            let flags = rustix::fs::RenameFlags::EXCHANGE;
            rustix::fs::renameat_with(cwd, root.join(a), cwd, root.join(b), flags).unwrap();
        };
        let swaps = [
            ("real/a", "swap"),
            ("real", "swap"),
            ("real/a/f.txt", "swap-file"),
        ];
        for rel in [
            "real/a/f.txt",
            "abs/a/f.txt",
            "rel/f.txt",
            "whole/real/a/f.txt",
        ] {
            for (a, b) in swaps {
                let (mut saw_inside, mut saw_refusal) = (false, false);
                for k in 0..8 {
                    let mut step = 0;
                    let mut swapped = false;
                    let got = read(r.walk(Path::new(rel), READ, || {
                        if step == k {
                            exchange(a, b);
                            swapped = true;
                        }
                        step += 1;
                    }));
                    if swapped {
                        exchange(a, b);
                    }
                    match got {
                        Ok(text) => {
                            assert_eq!(text, "inside", "{rel}, {a} swapped at step {k}");
                            saw_inside = true;
                        }
                        Err(e) => {
                            assert_eq!(e.kind(), io::ErrorKind::NotFound, "{rel} {a} {k}: {e}");
                            saw_refusal = true;
                        }
                    }
                }
                assert!(saw_inside && saw_refusal, "{rel} {a}: both outcomes seen");
            }
        }
    }

    /// Links whose targets wander (`x/../x/../…`) are cut off after
    /// MAX_STEPS components, as a loop is, rather than costing thousands
    /// of syscalls per request.
    #[test]
    fn long_wandering_links_are_cut_off() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("x")).unwrap();
        std::fs::write(d.path().join("f.txt"), "f").unwrap();
        let wander = "x/../".repeat(800);
        let link = |name: &str, to: String| {
            std::os::unix::fs::symlink(to, d.path().join(name)).unwrap();
        };
        link("l1", format!("{wander}f.txt"));
        link("l2", format!("{wander}l1"));
        link("l3", format!("{wander}l2"));
        let r = Root::open(d.path(), false).unwrap();
        assert_eq!(read(r.open_beneath(Path::new("l2"), READ)).unwrap(), "f");
        let e = r.open_beneath(Path::new("l3"), READ).unwrap_err();
        assert_eq!(rustix::io::Errno::from_io_error(&e), Some(Errno::LOOP));
    }
}

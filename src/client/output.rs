//! Where a body goes: a temporary file beside the target that is renamed
//! into place only once the body is complete (and removed on any failure),
//! a device or pipe written directly, or stdout. Also the
//! file name a URL implies, and the `.1`, `.2` suffixes that keep an
//! existing file from being clobbered. With `-C` the body goes to the
//! kept `NAME.part` instead (see [`super::partial`]): appended to or started
//! over, left in place on failure, renamed into place when complete.
//!
//! Every name made here fits in NAME_MAX (255 bytes) whatever the final
//! name's length: the temporary `.NAME.XXXXXX.part` shortens NAME (the
//! random part keeps it unique), and a `.N` suffix shortens the name it
//! follows rather than fail with "File name too long".

use std::ffi::OsString;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use super::names::{first_free, fit_name};
use super::partial::Partial;
use crate::error::{shown, Error, Result};
use crate::event_loop::RemoveOnExit;
use crate::http::disposition::MAX_NAME;

/// Bodies reach the disk in writes of this size (or larger, when a read
/// brought more), so a big download costs few system calls. Smaller than
/// a read (128 KiB), so a full read goes straight to write(2) without a
/// copy through the buffer: with 8 downloads at once on one thread that
/// copy cost ~10% (benches/fetch_many.sh); a single 1 GiB fetch is unchanged.
const WRITE_BUFFER: usize = 64 * 1024;
/// What tempfile adds around the name: `.` before, `.` and six random
/// characters and `.part` after.
const TEMP_EXTRA: usize = 1 + 1 + 6 + 5;

/// Where the user asked the body to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A name derived from the URL, in `dir`; never overwrites.
    Derived { dir: PathBuf, name: String },
    /// `-o FILE`: exactly there, overwriting like curl.
    Exact(PathBuf),
    /// `-o -`.
    Stdout,
}

impl Destination {
    /// A short name for progress lines, escaped for a terminal.
    pub fn label(&self) -> String {
        match self {
            Destination::Derived { name, .. } => shown(Path::new(name)),
            Destination::Exact(path) => shown(path),
            Destination::Stdout => "-".into(),
        }
    }
}

/// An open body sink. Dropping it without `commit` leaves the final name
/// untouched and removes the temporary file.
#[derive(Debug)]
pub struct Output {
    sink: Sink,
    written: u64,
    /// Bytes the file held before this output wrote any (`-C` appending).
    base: u64,
}

#[derive(Debug)]
enum Sink {
    Temp {
        w: BufWriter<File>,
        temp: TempPath,
        dest: PathBuf,
        clobber: bool,
        /// Removes the temporary file should a second Ctrl-C end the
        /// process before `temp` can be dropped.
        _doomed: RemoveOnExit,
    },
    Direct {
        w: BufWriter<File>,
        path: PathBuf,
    },
    Stdout(BufWriter<File>),
    /// `-C`: the kept part file. Dropped without `commit`, it stays (the
    /// buffer is flushed by `BufWriter`'s drop) for the next `-C` run.
    Part {
        w: BufWriter<File>,
        partial: Partial,
        dest: PathBuf,
        clobber: bool,
    },
}

/// How `-C` continues a partial download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// 200: start over from zero with this response's validator.
    Fresh,
    /// 206 at the end of the part: append.
    Append,
    /// 416 for exactly the part's size: nothing left to fetch.
    Complete,
}

/// What `commit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// The body is at `path`; `wanted` is the taken name it stepped around.
    File {
        path: PathBuf,
        wanted: Option<PathBuf>,
    },
    Stdout,
}

impl Output {
    pub fn open(dest: &Destination) -> Result<Output> {
        let sink = match dest {
            Destination::Derived { dir, name } => temp_beside(&dir.join(name), false, None)?,
            Destination::Exact(path) => match std::fs::metadata(path) {
                // Never create or rename files beside a device or a pipe.
                Ok(meta) if !meta.is_file() => {
                    let file = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| Error::file(path, e))?;
                    Sink::Direct {
                        w: BufWriter::with_capacity(WRITE_BUFFER, file),
                        path: path.clone(),
                    }
                }
                // Replacing an existing file keeps its permissions, and a
                // symlink keeps pointing where it did: the new body lands
                // on the file it names.
                Ok(meta) => {
                    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                    temp_beside(&real, true, Some(meta.permissions()))?
                }
                Err(_) => temp_beside(path, true, None)?,
            },
            Destination::Stdout => {
                // A duplicate of fd 1 as a plain file: no line buffering
                // between the body and the pipe.
                use std::os::fd::AsFd;
                let fd = io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("stdout", e))?;
                Sink::Stdout(BufWriter::with_capacity(WRITE_BUFFER, File::from(fd)))
            }
        };
        Ok(Output {
            sink,
            written: 0,
            base: 0,
        })
    }

    /// Opens the `-C` part file for `dest` (see [`Continue`]). `validator`
    /// is the fresh response's, recorded before any of its body is written.
    pub fn open_part(
        dest: &Destination,
        partial: &Partial,
        how: Continue,
        validator: Option<&str>,
    ) -> Result<Output> {
        let (target, clobber) = match dest {
            Destination::Derived { dir, name } => (dir.join(name), false),
            Destination::Exact(path) => (path.clone(), true),
            _ => return Output::open(dest),
        };
        let part = &partial.part;
        let file = match how {
            Continue::Fresh => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(part)
                    .map_err(|e| Error::file(part, e))?;
                partial
                    .write_meta(validator)
                    .map_err(|e| Error::file(&partial.meta, e))?;
                file
            }
            // At `have`, not O_APPEND: a segmented part has ranges written
            // beyond it (and positioned writes ignore O_APPEND's offset).
            Continue::Append | Continue::Complete => OpenOptions::new()
                .write(true)
                .open(part)
                .and_then(|mut f| f.seek(SeekFrom::Start(partial.have)).map(|_| f))
                .map_err(|e| Error::file(part, e))?,
        };
        Ok(Output {
            sink: Sink::Part {
                w: BufWriter::with_capacity(WRITE_BUFFER, file),
                partial: partial.clone(),
                dest: target,
                clobber,
            },
            written: 0,
            base: match how {
                Continue::Fresh => 0,
                Continue::Append | Continue::Complete => partial.have,
            },
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.written += bytes.len() as u64;
        match &mut self.sink {
            // Name the file the user knows, not the temporary one.
            Sink::Temp { w, dest, .. } => w.write_all(bytes).map_err(|e| Error::file(&*dest, e)),
            Sink::Direct { w, path } => w.write_all(bytes).map_err(|e| Error::file(&*path, e)),
            Sink::Part { w, partial, .. } => w
                .write_all(bytes)
                .map_err(|e| Error::file(&partial.part, e)),
            Sink::Stdout(w) => w
                .write_all(bytes)
                .map_err(|e| Error::io("writing to stdout", e)),
        }
    }

    /// `--segments`: another handle on the temporary or `-C` part file
    /// (not stdout or a device), for writes at offsets.
    pub fn positioned(&self) -> Option<File> {
        match &self.sink {
            Sink::Temp { w, .. } | Sink::Part { w, .. } => w.get_ref().try_clone().ok(),
            _ => None,
        }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// The body's length in its file: what was there before plus what
    /// this output wrote.
    pub fn length(&self) -> u64 {
        self.base + self.written
    }

    /// Flushes, and for a temporary file renames it into place: over the
    /// target for `-o`, or under the first free `.N` name for a derived one.
    pub fn commit(self) -> Result<Saved> {
        match self.sink {
            Sink::Temp {
                w,
                temp,
                dest,
                clobber,
                _doomed,
            } => {
                let file = w
                    .into_inner()
                    .map_err(|e| Error::file(&*temp, e.into_error()))?;
                drop(file);
                commit_temp(temp, dest, clobber)
            }
            Sink::Direct { mut w, path } => {
                w.flush().map_err(|e| Error::file(&path, e))?;
                Ok(Saved::File { path, wanted: None })
            }
            Sink::Stdout(mut w) => {
                w.flush().map_err(|e| Error::io("writing to stdout", e))?;
                Ok(Saved::Stdout)
            }
            Sink::Part {
                w,
                partial,
                dest,
                clobber,
            } => {
                let file = w
                    .into_inner()
                    .map_err(|e| Error::file(&partial.part, e.into_error()))?;
                drop(file);
                commit_part(&partial, dest, clobber)
            }
        }
    }
}

/// Puts a complete temporary file in place: over `dest` (`-o`), or
/// under the first free name.
fn commit_temp(temp: TempPath, dest: PathBuf, clobber: bool) -> Result<Saved> {
    if clobber {
        temp.persist(&dest)
            .map_err(|e| Error::file(&dest, e.error))?;
        return Ok(Saved::File {
            path: dest,
            wanted: None,
        });
    }
    persist_without_clobbering(temp, dest)
}

/// Puts a complete `-C` part file in place, like [`commit_temp`], and
/// drops its sidecar.
fn commit_part(partial: &Partial, dest: PathBuf, clobber: bool) -> Result<Saved> {
    let part = &partial.part;
    let saved = if clobber {
        std::fs::rename(part, &dest).map_err(|e| Error::file(&dest, e))?;
        Saved::File {
            path: dest,
            wanted: None,
        }
    } else {
        rename_without_clobbering(part, dest)?
    };
    // The part is gone; a meta left behind would only be noise.
    let _ = partial.write_meta(None);
    Ok(saved)
}

/// A temporary file in the directory of `dest`, so the final rename stays
/// on one file system and is atomic.
/// New files get 0666 less the umask, like any other file the user
/// creates, not the 0600 of a private temporary file.
fn temp_beside(dest: &Path, clobber: bool, mode: Option<Permissions>) -> Result<Sink> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let stem = fit_name(dest.file_name().unwrap_or_default(), MAX_NAME - TEMP_EXTRA);
    let mut prefix = OsString::from(".");
    prefix.push(&stem);
    prefix.push(".");
    let temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".part")
        .permissions(mode.unwrap_or_else(|| Permissions::from_mode(0o666)))
        .tempfile_in(dir)
        // tempfile's message names its random file; the user named `dest`.
        .map_err(|e| Error::file(dest, plain_io(dir, &e)))?;
    let (file, temp) = temp.into_parts();
    Ok(Sink::Temp {
        w: BufWriter::with_capacity(WRITE_BUFFER, file),
        _doomed: RemoveOnExit::new(temp.to_path_buf()),
        temp,
        dest: dest.to_path_buf(),
        clobber,
    })
}

/// Why no file could be created in `dir`, without the text tempfile
/// wraps around it (its random path): the folder's own error when it
/// cannot be reached (with the OS's words), else the error's kind.
fn plain_io(dir: &Path, e: &io::Error) -> io::Error {
    match std::fs::metadata(dir) {
        Err(reach) => reach,
        Ok(_) => e.kind().into(),
    }
}

/// Renames `temp` to `dest`, or `dest.1`, `dest.2`, ... whichever is free
/// first. The no-clobber rename decides, not an earlier `exists()` check,
/// so a file that appears meanwhile is still never overwritten.
fn persist_without_clobbering(temp: TempPath, dest: PathBuf) -> Result<Saved> {
    let mut temp = Some(temp);
    let path = first_free(&dest, |path| {
        let t = temp.take().expect("kept while names are taken");
        match t.persist_noclobber(path) {
            Ok(()) => Ok(true),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                temp = Some(e.path);
                Ok(false)
            }
            Err(e) => Err(Error::file(path, e.error)),
        }
    })?;
    let wanted = (path != dest).then_some(dest);
    Ok(Saved::File { path, wanted })
}

/// Like [`persist_without_clobbering`] for a part file we do not own as a
/// `TempPath`: link(2) fails rather than replace an existing name, then
/// the part name goes.
fn rename_without_clobbering(part: &Path, dest: PathBuf) -> Result<Saved> {
    let path = first_free(&dest, |path| match std::fs::hard_link(part, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::file(path, e)),
    })?;
    std::fs::remove_file(part).map_err(|e| Error::file(part, e))?;
    let wanted = (path != dest).then_some(dest);
    Ok(Saved::File { path, wanted })
}

#[cfg(test)]
mod tests {
    use super::super::names::{derive_name, numbered};
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use url::Url;

    #[test]
    fn names_from_urls() {
        let cases = [
            ("http://h", "index.html"),
            ("http://h/", "index.html"),
            ("http://h/dir/", "index.html"),
            ("http://h/a/file.tar.gz?x=1#y", "file.tar.gz"),
            ("http://h/with%20space%C3%A9", "with space\u{e9}"),
            ("http://h/a%2Fb", "a_b"),
            ("http://h/%2e%2e", "index.html"),
            ("http://h/x/..", "index.html"),
            ("http://h/bad%FF", "bad\u{fffd}"),
            // Hostile names get what -J names get (disposition::sanitize).
            (
                "http://h/%1b%5d0%3bPWNED%07report.pdf",
                "_]0;PWNED_report.pdf",
            ),
            ("http://h/two%0D%0Alines%00", "two__lines_"),
            ("http://h/c1%C2%85x", "c1_x"),
            ("http://h/invoice%E2%80%AEfdp.exe", "invoice_fdp.exe"),
            ("http://h/a%5Cb", "a_b"),
            ("http://h/..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd"),
            ("http://h/%2e", "index.html"),
            ("http://h/...", "index.html"),
            ("http://h/%20%20", "index.html"),
            ("http://h/.bashrc", "bashrc"),
            ("http://h/-rf", "_rf"),
            ("http://h/%FF%FE", "\u{fffd}\u{fffd}"),
        ];
        for (url, want) in cases {
            assert_eq!(derive_name(&Url::parse(url).unwrap()), want, "{url}");
        }
        let long = format!("http://h/{}.tar.gz", "n".repeat(400));
        let name = derive_name(&Url::parse(&long).unwrap());
        assert_eq!(name.len(), MAX_NAME);
        assert!(name.ends_with("nnn.gz"), "{name}");
    }

    #[test]
    fn names_shorten_to_fit_on_character_boundaries() {
        let name = OsStr::new("\u{e9}\u{e9}x");
        assert_eq!(fit_name(name, 10), name);
        assert_eq!(fit_name(name, 5), name);
        assert_eq!(fit_name(name, 4), "\u{e9}\u{e9}");
        assert_eq!(fit_name(name, 3), "\u{e9}");
        assert_eq!(fit_name(name, 1), "");
        let raw = OsStr::from_bytes(b"\xff\xfe\xfd");
        assert_eq!(fit_name(raw, 2).as_bytes(), b"\xff\xfe");
        let long = "x".repeat(MAX_NAME);
        assert_eq!(numbered(Path::new("d/f"), 0), Path::new("d/f"));
        assert_eq!(numbered(Path::new("d/f"), 12), Path::new("d/f.12"));
        let n = numbered(&Path::new("d").join(&long), 12);
        assert_eq!(n.file_name().unwrap().len(), MAX_NAME);
        assert!(n.to_str().unwrap().ends_with("xx.12"));
    }

    /// A name of NAME_MAX bytes gets a temporary file and its `.N` steps.
    #[test]
    fn longest_names_are_saved_and_stepped_around() {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{}.bin", "\u{e9}".repeat(125) + "x");
        assert_eq!(name.len(), MAX_NAME);
        for want in [
            name.clone(),
            fit_name(OsStr::new(&name), 253).into_string().unwrap() + ".1",
        ] {
            let dest = Destination::Derived {
                dir: dir.path().to_path_buf(),
                name: name.clone(),
            };
            let mut out = Output::open(&dest).unwrap();
            out.write(b"x").unwrap();
            let Saved::File { path, .. } = out.commit().unwrap() else {
                panic!("not a file");
            };
            assert_eq!(path, dir.path().join(want));
        }
        let exact = dir.path().join("y".repeat(MAX_NAME));
        let mut out = Output::open(&Destination::Exact(exact.clone())).unwrap();
        out.write(b"y").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&exact).unwrap(), b"y");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn derived_names_step_around_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        std::fs::write(dir.path().join("a.txt.1"), "old1").unwrap();
        let dest = Destination::Derived {
            dir: dir.path().to_path_buf(),
            name: "a.txt".into(),
        };
        let mut out = Output::open(&dest).unwrap();
        out.write(b"new").unwrap();
        let saved = out.commit().unwrap();
        assert_eq!(
            saved,
            Saved::File {
                path: dir.path().join("a.txt.2"),
                wanted: Some(dir.path().join("a.txt")),
            }
        );
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(std::fs::read(dir.path().join("a.txt.2")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn exact_overwrites_and_dropping_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "old").unwrap();
        let dest = Destination::Exact(path.clone());
        let mut out = Output::open(&dest).unwrap();
        out.write(&[7u8; 300_000]).unwrap();
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let mut out = Output::open(&dest).unwrap();
        out.write(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn modes_and_symlinks_are_kept() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let save = |dest: Destination| {
            let mut out = Output::open(&dest).unwrap();
            out.write(b"x").unwrap();
            out.commit().unwrap();
        };
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        save(Destination::Derived {
            dir: dir.path().into(),
            name: "new".into(),
        });
        assert_eq!(mode(&dir.path().join("new")), 0o666 & !umask());

        let script = dir.path().join("script");
        std::fs::write(&script, "old").unwrap();
        std::fs::set_permissions(&script, Permissions::from_mode(0o751)).unwrap();
        let link = dir.path().join("link");
        symlink(&script, &link).unwrap();
        save(Destination::Exact(link.clone()));
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&script).unwrap(), b"x");
        assert_eq!(mode(&script), 0o751);
    }

    /// The process umask, read without changing it (Linux only).
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
    }

    #[test]
    fn devices_are_written_directly() {
        let mut out = Output::open(&Destination::Exact("/dev/null".into())).unwrap();
        out.write(b"x").unwrap();
        assert!(matches!(out.sink, Sink::Direct { .. }));
        out.commit().unwrap();
        let mut full = Output::open(&Destination::Exact("/dev/full".into())).unwrap();
        let res = full
            .write(&[0u8; 1 << 20])
            .and_then(|_| full.commit().map(|_| ()));
        assert!(matches!(res, Err(Error::File { .. })), "{res:?}");
    }

    #[test]
    fn part_files_are_kept_on_drop_appended_to_and_renamed_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let dest = Destination::Derived {
            dir: dir.path().into(),
            name: "f".into(),
        };
        let partial = Partial::for_dest(&dir.path().join("f"));
        let mut out = Output::open_part(&dest, &partial, Continue::Fresh, Some("\"v\"")).unwrap();
        out.write(b"hello ").unwrap();
        drop(out);
        let partial = Partial::for_dest(&dir.path().join("f"));
        assert_eq!(partial.have, 6);
        assert_eq!(partial.validator.as_deref(), Some("\"v\""));

        let mut out = Output::open_part(&dest, &partial, Continue::Append, None).unwrap();
        out.write(b"world").unwrap();
        // The name is taken meanwhile: the part steps around it.
        std::fs::write(dir.path().join("f"), "other").unwrap();
        let saved = out.commit().unwrap();
        assert_eq!(
            saved,
            Saved::File {
                path: dir.path().join("f.1"),
                wanted: Some(dir.path().join("f")),
            }
        );
        assert_eq!(
            std::fs::read(dir.path().join("f.1")).unwrap(),
            b"hello world"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        // A 200 after all: the part starts over from zero.
        std::fs::write(&partial.part, "stale bytes").unwrap();
        let mut out = Output::open_part(&dest, &partial, Continue::Fresh, None).unwrap();
        out.write(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("f.2")).unwrap(), b"new");
        assert!(!partial.meta.exists() && !partial.part.exists());
    }

    #[test]
    fn missing_directory_is_a_file_error() {
        let dest = Destination::Exact("/nonexistent-wirecat-dir/x".into());
        assert!(matches!(Output::open(&dest), Err(Error::File { .. })));
    }
}

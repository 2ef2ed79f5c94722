//! Where an upload's bytes go: a temporary file created (`O_EXCL`,
//! `O_NOFOLLOW`) inside the target folder through that folder's
//! descriptor, which the safe resolver opened; no path string is ever
//! used. Only [`TempFile::commit`] gives it its name: renameat2 with
//! `RENAME_NOREPLACE` for a new file, so of two uploads of one name one
//! wins whole and the other sees `Exists`; a plain rename (atomic) to
//! replace. Dropping a `TempFile` that was not committed removes it, so
//! every abort (peer gone, deadline, bad framing, shutdown, a panic
//! unwinding) leaves nothing behind.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::reaper;

/// The prefix of temporary names: a dotfile, so listings skip it.
pub const TEMP_PREFIX: &str = ".wirecat-upload-";

/// Why a commit failed.
#[derive(Debug)]
pub enum Commit {
    /// The name was taken meanwhile (no-clobber).
    Exists,
    Io(io::Error),
}

/// A temporary file beneath a folder, removed on drop unless committed.
#[derive(Debug)]
pub struct TempFile {
    dir: OwnedFd,
    name: String,
    file: Option<File>,
    written: u64,
}

impl TempFile {
    /// Creates a fresh temporary file in `dir` (mode 0644 before umask).
    pub fn create(dir: OwnedFd) -> io::Result<TempFile> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        loop {
            let seq = SEQ.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TEMP_PREFIX}{}-{seq}", std::process::id());
            match rustix::fs::openat(&dir, name.as_str(), flags, Mode::from_raw_mode(0o644)) {
                Ok(fd) => {
                    return Ok(TempFile {
                        dir,
                        name,
                        file: Some(fd.into()),
                        written: 0,
                    })
                }
                // A leftover of an earlier process with our pid: next.
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes all of `bytes` (the loop's read size bounds each piece).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self.file.as_mut().ok_or(io::ErrorKind::Other)?;
        file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Gives the file its name `to` in its folder: never over an existing
    /// file unless `replace`. On error the temporary file stays until
    /// this is dropped.
    pub fn commit(&mut self, to: &str, replace: bool) -> Result<(), Commit> {
        // No fsync: on the loop thread it would stall every connection
        // for as long as the disk takes to flush the whole file (seconds
        // for a GiB), and it halved upload throughput in benches/upload.sh.
        // A crash of the process never leaves a partial file under the
        // name; a power loss may lose recent uploads, as with nginx's PUT.
        let (flags, old) = if replace {
            (RenameFlags::empty(), self.hold(to))
        } else {
            (RenameFlags::NOREPLACE, None)
        };
        let renamed = rustix::fs::renameat_with(&self.dir, &*self.name, &self.dir, to, flags);
        match renamed {
            Ok(()) => {
                self.name.clear();
                self.file = None;
                if let Some(old) = old {
                    reaper::close_later(old);
                }
                Ok(())
            }
            Err(Errno::EXIST) => Err(Commit::Exists),
            Err(e) => Err(Commit::Io(e.into())),
        }
    }

    /// A descriptor of the file now named `name`, if any, so that a
    /// rename over it does not free its pages on this thread (see
    /// `reaper`). `O_PATH` needs no permission and opens no fifo.
    fn hold(&self, name: &str) -> Option<OwnedFd> {
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(&self.dir, name, flags, Mode::empty()).ok()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        if let Err(e) = rustix::fs::unlinkat(&self.dir, &*self.name, AtFlags::empty()) {
            log::warn!("cannot remove temporary upload {}: {e}", self.name);
        }
        // Still open, so unlinking freed nothing yet: the reaper does.
        if let Some(file) = self.file.take() {
            reaper::close_later(file.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_fd(p: &std::path::Path) -> OwnedFd {
        rustix::fs::open(p, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    fn names(p: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn dropped_uncommitted_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let mut t = TempFile::create(dir_fd(d.path())).unwrap();
        t.write(b"half").unwrap();
        assert_eq!(names(d.path()).len(), 1);
        drop(t);
        assert!(names(d.path()).is_empty());
    }

    #[test]
    fn commit_never_clobbers_unless_replacing() {
        let d = tempfile::tempdir().unwrap();
        let mut a = TempFile::create(dir_fd(d.path())).unwrap();
        let mut b = TempFile::create(dir_fd(d.path())).unwrap();
        a.write(b"first").unwrap();
        b.write(b"second").unwrap();
        a.commit("x", false).unwrap();
        assert!(matches!(b.commit("x", false), Err(Commit::Exists)));
        drop(b);
        assert_eq!(names(d.path()), ["x"]);
        assert_eq!(std::fs::read(d.path().join("x")).unwrap(), b"first");
        let mut c = TempFile::create(dir_fd(d.path())).unwrap();
        c.write(b"third").unwrap();
        c.commit("x", true).unwrap();
        drop(c);
        assert_eq!(names(d.path()), ["x"]);
        assert_eq!(std::fs::read(d.path().join("x")).unwrap(), b"third");
    }
}

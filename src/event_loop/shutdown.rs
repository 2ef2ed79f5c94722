//! Shutdown and wake-ups: a flag shared by every loop of a process, the mio
//! wakers that interrupt their polls, the thread that turns SIGINT and
//! SIGTERM into a shutdown request, and the files a second signal (which
//! ends the process at once, without unwinding) removes first: a
//! download's temporary file, or a Unix socket file while it is still ours.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mio::Waker;

/// Wakes one loop from another thread (a stdin reader, a signal thread).
#[derive(Clone)]
pub struct Notifier(pub(crate) Arc<Waker>);

impl Notifier {
    pub fn notify(&self) {
        if let Err(e) = self.0.wake() {
            log::warn!("could not wake the event loop: {e}");
        }
    }
}

/// A shutdown request shared by all loops of the process.
#[derive(Clone, Default)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    wakers: Arc<Mutex<Vec<Notifier>>>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Asks every loop to stop accepting, finish in-flight work and return.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
        for w in self.wakers.lock().expect("wakers lock").iter() {
            w.notify();
        }
    }

    pub(crate) fn add_waker(&self, n: Notifier) {
        self.wakers.lock().expect("wakers lock").push(n);
        // A request that came before this loop existed still counts.
        if self.is_requested() {
            self.request();
        }
    }

    /// Turns SIGINT and SIGTERM into `request()`. A second signal ends the
    /// process at once with status 130, for when the grace period is too long
    /// for the person at the keyboard.
    pub fn on_signals(&self) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let this = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if this.is_requested() {
                        // Drops do not run after exit: remove what they would have.
                        remove_doomed();
                        std::process::exit(130);
                    }
                    log::info!("signal {sig}: shutting down");
                    this.request();
                }
            })?;
        Ok(())
    }
}

/// A file to remove and, when known, the (device, inode) it must still
/// have: a path someone else has since replaced is not ours to remove.
type Doomed = (PathBuf, Option<(u64, u64)>);

/// The files that must not outlive an interrupted process, by registration id.
static DOOMED: Mutex<BTreeMap<u64, Doomed>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn doomed() -> MutexGuard<'static, BTreeMap<u64, Doomed>> {
    // A panic elsewhere while holding the lock leaves a usable map.
    DOOMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A file (a download's temporary file) that a second Ctrl-C removes
/// before ending the process. Ordinary endings remove or rename the file
/// themselves; dropping the registration only forgets it.
#[derive(Debug)]
pub struct RemoveOnExit {
    id: u64,
}

impl RemoveOnExit {
    pub fn new(path: PathBuf) -> RemoveOnExit {
        Self::register(path, None)
    }

    /// The same, for a file removed only while it is still the one with
    /// this (device, inode): a Unix socket file another server may have
    /// replaced.
    pub fn if_unchanged(path: PathBuf, identity: (u64, u64)) -> RemoveOnExit {
        Self::register(path, Some(identity))
    }

    fn register(path: PathBuf, identity: Option<(u64, u64)>) -> RemoveOnExit {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        doomed().insert(id, (path, identity));
        RemoveOnExit { id }
    }
}

/// Removes `path` if it is still the file with `identity` (any file when
/// `None`). Between the check and the unlink another process could swap
/// the file; there is no unlink-by-inode, and a socket path is only
/// replaced by someone who already removed ours.
pub(super) fn remove_if_unchanged(path: &Path, identity: Option<(u64, u64)>) {
    use std::os::unix::fs::MetadataExt;
    if let Some(want) = identity {
        match std::fs::symlink_metadata(path) {
            Ok(m) if (m.dev(), m.ino()) == want => {}
            _ => return,
        }
    }
    let _ = std::fs::remove_file(path);
}

impl Drop for RemoveOnExit {
    fn drop(&mut self) {
        doomed().remove(&self.id);
    }
}

/// Removes every registered file. The lock is kept until the process
/// exits, so no file registered after this pass can escape it.
fn remove_doomed() {
    let map = doomed();
    for (path, identity) in map.values() {
        remove_if_unchanged(path, *identity);
    }
    std::mem::forget(map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_forgotten_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let keep_a = RemoveOnExit::new(a.clone());
        let keep_b = RemoveOnExit::new(b.clone());
        drop(keep_a);
        let listed: Vec<PathBuf> = doomed().values().map(|d| d.0.clone()).collect();
        assert!(listed.contains(&b) && !listed.contains(&a), "{listed:?}");
        drop(keep_b);
        assert!(!doomed().values().any(|d| d.0 == b));
    }

    #[test]
    fn a_replaced_file_is_not_removed() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "ours").unwrap();
        let m = std::fs::metadata(&path).unwrap();
        let ours = (m.dev(), m.ino());
        // Replaced by a new file (a new inode) under the same name.
        std::fs::write(dir.path().join("t"), "theirs").unwrap();
        std::fs::rename(dir.path().join("t"), &path).unwrap();
        remove_if_unchanged(&path, Some(ours));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs");
        let m = std::fs::metadata(&path).unwrap();
        remove_if_unchanged(&path, Some((m.dev(), m.ino())));
        assert!(!path.exists());
    }
}

//! A per-loop cache of small files (up to `MAX_FILE` bytes), so the
//! common case, a small static file asked for again and again, costs one
//! stat(2) instead of open, fstat, read and close.
//!
//! An entry is only ever filled through the safe open beneath the root,
//! and is used only while a stat of the same path still shows the very
//! same file unchanged (device, inode, size, mtime and ctime to the
//! nanosecond). A path swapped for a symlink elsewhere shows another
//! inode and misses, so the cache cannot widen what is served.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::rc::Rc;

use super::encoded::EncodedCache;
use super::path::Root;
use super::reply::Validators;

/// Files larger than this are streamed with sendfile instead.
pub const MAX_FILE: u64 = 64 * 1024;
/// Bytes held per loop at most; when full the cache starts over.
const MAX_BYTES: usize = 8 << 20;
const MAX_ENTRIES: usize = 1024;

/// What makes a file the same file, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    /// From stat(2) fields, whose integer types vary by architecture.
    #[allow(clippy::unnecessary_cast)]
    pub fn of_stat(st: &rustix::fs::Stat) -> FileId {
        FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }

    pub fn of(m: &Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// What the reply to a file needs besides its bytes.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub validators: Validators,
    /// `None` when the mtime cannot be an HTTP-date: no header is sent.
    pub last_modified: Option<String>,
    pub content_type: String,
}

/// One cached file with what its replies need.
#[derive(Debug)]
pub struct Entry {
    pub id: FileId,
    pub data: Rc<[u8]>,
    pub meta: FileMeta,
}

#[derive(Debug, Default)]
pub struct FileCache {
    map: HashMap<String, Rc<Entry>>,
    bytes: usize,
    /// Bodies compressed on the fly, beside the small files.
    pub encoded: EncodedCache,
}

impl FileCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for `key` (a cleaned relative path), if the file there is
    /// still the one cached.
    pub fn lookup(&mut self, root: &Root, key: &str) -> Option<Rc<Entry>> {
        let entry = self.map.get(key)?;
        match root.stat(Path::new(key)) {
            Ok(st) if FileId::of_stat(&st) == entry.id => Some(entry.clone()),
            _ => {
                if let Some(gone) = self.map.remove(key) {
                    self.bytes -= gone.data.len();
                }
                None
            }
        }
    }

    pub fn insert(&mut self, key: String, entry: Rc<Entry>) {
        if self.bytes + entry.data.len() > MAX_BYTES || self.map.len() >= MAX_ENTRIES {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += entry.data.len();
        if let Some(old) = self.map.insert(key, entry) {
            self.bytes -= old.data.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry(root: &Root, name: &str) -> Rc<Entry> {
        let m = std::fs::metadata(root.dir.join(name)).unwrap();
        Rc::new(Entry {
            id: FileId::of(&m),
            data: std::fs::read(root.dir.join(name)).unwrap().into(),
            meta: FileMeta {
                validators: Validators::new(m.len(), Some(UNIX_EPOCH)),
                last_modified: None,
                content_type: String::new(),
            },
        })
    }

    #[test]
    fn entries_go_stale_when_the_file_changes_or_is_replaced() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "one").unwrap();
        std::fs::write(d.path().join("elsewhere"), "two").unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let mut c = FileCache::new();
        c.insert("a".into(), entry(&root, "a"));
        assert_eq!(&*c.lookup(&root, "a").unwrap().data, b"one");
        std::fs::write(d.path().join("a"), "changed").unwrap();
        assert!(c.lookup(&root, "a").is_none());
        c.insert("a".into(), entry(&root, "a"));
        std::fs::remove_file(d.path().join("a")).unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), d.path().join("a")).unwrap();
        assert!(c.lookup(&root, "a").is_none());
        assert!(c.lookup(&root, "missing").is_none());
        assert_eq!(c.bytes, 0);
    }
}

//! The manifest of a folder archive: every entry it will hold, planned
//! from the tree before the first byte is sent ([`walk`](super::walk)
//! reads the tree into it, in steps). Names are relative, `/`-separated,
//! never `..` nor absolute. Plain data: an entry from its stat(2), the
//! order, the ETag. Never reads the tree, never touches a socket.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// One entry of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The name in the archive: `top/sub/file`; folders end with `/`.
    pub name: String,
    /// Where it is, relative to the served root (opened beneath it).
    pub rel: PathBuf,
    pub is_dir: bool,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Seconds since the epoch (negative before it) and nanoseconds.
    pub mtime: i64,
    pub mtime_nsec: u32,
}

/// Stat fields the archive carries, as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
}

impl Item {
    pub fn stamp(&self) -> Stamp {
        Stamp {
            size: self.size,
            mtime: self.mtime,
            mtime_nsec: self.mtime_nsec,
        }
    }
}

/// The stamp of a stat(2) result (the field types vary by architecture).
#[allow(clippy::unnecessary_cast)]
pub fn stamp_of(st: &rustix::fs::Stat) -> Stamp {
    Stamp {
        size: st.st_size.max(0) as u64,
        mtime: st.st_mtime as i64,
        mtime_nsec: st.st_mtime_nsec as u32,
    }
}

/// The entry at `rel` named `name` in the archive, from the stat(2) of
/// what it resolves to; `None` unless it is the folder or regular file it
/// was listed as (sockets, fifos and devices have no bytes to archive).
pub fn item_of(rel: PathBuf, name: String, is_dir: bool, st: &rustix::fs::Stat) -> Option<Item> {
    let s = stamp_of(st);
    let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
    let kind_ok = if is_dir {
        ft == rustix::fs::FileType::Directory
    } else {
        ft == rustix::fs::FileType::RegularFile
    };
    #[allow(clippy::unnecessary_cast)]
    let mode = (st.st_mode as u32) & 0o7777;
    kind_ok.then_some(Item {
        name,
        rel,
        is_dir,
        mode,
        size: if is_dir { 0 } else { s.size },
        mtime: s.mtime,
        mtime_nsec: s.mtime_nsec,
    })
}

/// Depth-first order by name, each folder right before its contents: the
/// order [`walk`](super::walk) yields by construction.
#[cfg(test)]
pub fn in_order(a: &Item, b: &Item) -> std::cmp::Ordering {
    a.name.split('/').cmp(b.name.split('/'))
}

/// A strong entity tag for the archive of `items` in `format`: any
/// change of a name, size, mode or mtime changes it, so If-Range and
/// resumed downloads never splice two versions.
pub fn etag(items: &[Item], format: &str) -> String {
    let mut h = Sha256::new();
    h.update(format.as_bytes());
    for it in items {
        h.update(it.name.as_bytes());
        h.update([0]);
        h.update(it.size.to_le_bytes());
        h.update(it.mtime.to_le_bytes());
        h.update(it.mtime_nsec.to_le_bytes());
        h.update(it.mode.to_le_bytes());
    }
    let d = h.finalize();
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"a-{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_puts_folders_before_their_contents() {
        let mk = |name: &str| Item {
            name: name.into(),
            rel: PathBuf::new(),
            is_dir: name.ends_with('/'),
            mode: 0,
            size: 0,
            mtime: 0,
            mtime_nsec: 0,
        };
        let mut items: Vec<Item> = ["t/b", "t/a-b/", "t/a/x", "t/", "t/a/", "t/a-b/y", "t/a b"]
            .into_iter()
            .map(mk)
            .collect();
        items.sort_by(in_order);
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["t/", "t/a/", "t/a/x", "t/a b", "t/a-b/", "t/a-b/y", "t/b"]
        );
        assert_ne!(etag(&items, "tar"), etag(&items, "zip"));
    }
}

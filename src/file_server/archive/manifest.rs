//! The manifest of a folder archive: every entry it will hold, planned
//! from the tree before the first byte is sent. The walk is the listing's
//! own ([`listing::read_entries`]: dotfiles only with `--hidden`, symlinks
//! only when they resolve beneath the root or are followed, UTF-8 names
//! only), folder by folder through descriptors opened beneath the root;
//! each entry is then stat'ed beneath the root for its mode, size and
//! mtime. Names are relative, `/`-separated, never `..` nor absolute.
//! Reads the tree, never writes, never touches a socket.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::file_server::listing;
use crate::file_server::path::Root;

/// Folders nested deeper than this are left out (a guard, not a limit
/// anyone should meet).
const MAX_DEPTH: usize = 64;

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

/// Walks the folder `rel` (already opened and checked by the caller)
/// and lists it depth first, folders before their contents, each
/// folder's entries by name; `top` is the archive's top folder name.
pub fn walk(root: &Root, rel: &Path, top: &str, hidden: bool) -> io::Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    out.push(item(root, rel, format!("{top}/"), true)?);
    let mut stack = vec![(rel.to_path_buf(), format!("{top}/"), 0usize)];
    while let Some((dir_rel, prefix, depth)) = stack.pop() {
        let st = root.stat_beneath(&dir_rel)?;
        // A symlinked folder leading back up would loop for ever.
        #[allow(clippy::unnecessary_cast)]
        if !seen.insert((st.st_dev as u64, st.st_ino as u64)) || depth >= MAX_DEPTH {
            continue;
        }
        let dir = root.open_file(&dir_rel)?;
        let entries = listing::read_entries(root, &dir, &dir_rel, hidden)?;
        let mut subdirs = Vec::new();
        for e in entries {
            let child_rel = dir_rel.join(&e.name);
            let name = format!("{prefix}{}{}", e.name, if e.is_dir { "/" } else { "" });
            // Gone, or no longer allowed, since it was listed: left out.
            let Ok(it) = item(root, &child_rel, name, e.is_dir) else {
                continue;
            };
            if e.is_dir {
                subdirs.push((child_rel, it.name.clone(), depth + 1));
            }
            out.push(it);
        }
        // Reversed so the stack pops them in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    order(&mut out);
    Ok(out)
}

/// Depth-first order by name, each folder right before its contents.
fn order(items: &mut [Item]) {
    items.sort_by(|a, b| a.name.split('/').cmp(b.name.split('/')));
}

fn item(root: &Root, rel: &Path, name: String, is_dir: bool) -> io::Result<Item> {
    let st = root.stat_beneath(rel)?;
    let s = stamp_of(&st);
    let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
    let kind_ok = if is_dir {
        ft == rustix::fs::FileType::Directory
    } else {
        ft == rustix::fs::FileType::RegularFile
    };
    if !kind_ok {
        // Sockets, fifos and devices have no bytes to archive.
        return Err(io::ErrorKind::Unsupported.into());
    }
    #[allow(clippy::unnecessary_cast)]
    let mode = (st.st_mode as u32) & 0o7777;
    Ok(Item {
        name,
        rel: rel.to_path_buf(),
        is_dir,
        mode,
        size: if is_dir { 0 } else { s.size },
        mtime: s.mtime,
        mtime_nsec: s.mtime_nsec,
    })
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
        let mut items: Vec<Item> = ["t/b", "t/a-b/", "t/a/x", "t/", "t/a/", "t/a-b/y"]
            .into_iter()
            .map(mk)
            .collect();
        order(&mut items);
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["t/", "t/a/", "t/a/x", "t/a-b/", "t/a-b/y", "t/b"]);
    }

    #[test]
    fn walk_follows_the_listing_rules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("top");
        std::fs::create_dir_all(p.join("sub/empty")).unwrap();
        std::fs::write(p.join("sub/f"), "abc").unwrap();
        std::fs::write(p.join(".hid"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", p.join("out")).unwrap();
        std::os::unix::fs::symlink("..", p.join("sub/up")).unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let names = |hidden| -> Vec<String> {
            walk(&root, Path::new("top"), "top", hidden)
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect()
        };
        // `up` leads back to `top`, already archived: listed as a folder
        // but never walked twice.
        assert_eq!(
            names(false),
            [
                "top/",
                "top/sub/",
                "top/sub/empty/",
                "top/sub/f",
                "top/sub/up/"
            ]
        );
        assert!(names(true).contains(&"top/.hid".to_string()));
        let items = walk(&root, Path::new("top"), "top", false).unwrap();
        assert_eq!(items[3].size, 3);
        assert_ne!(etag(&items, "tar"), etag(&items, "zip"));
    }
}

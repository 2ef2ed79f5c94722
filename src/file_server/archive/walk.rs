//! Reading a folder's tree into an archive's manifest in bounded steps, so
//! that a folder of 100,000 entries does not hold the event loop: each
//! [`Walker::step`] considers at most [`STEP`] entries, and the session
//! comes back for the next step on the loop's next turn, after the others.
//!
//! The rules are the listing's ([`listing::read_entries`]): dotfiles only
//! with `--hidden`, symlinks only when they resolve beneath the root (or
//! are followed), UTF-8 names only, sockets and devices left out, and each
//! folder read through its descriptor as opened beneath the root, never by
//! name again. Depth first, each folder's entries by name, each folder
//! right before its contents, so the manifest (and with it the archive's
//! bytes and ETag) is the same however the steps fall. One folder is read
//! to its end (its entries into a heap by name), then its entries are put
//! in place, at most [`PLACE`] per step, descending into each subfolder in
//! turn: at most one directory descriptor is open at a time.
//! Reads the tree, never writes, never touches a socket.
//!
//! [`listing::read_entries`]: crate::file_server::listing::read_entries

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{self, AtFlags, Dir, FileType};

use super::manifest::{item_of, Item};
use crate::file_server::path::Root;

/// Entries read per step. One costs a getdents share, one fstatat (a
/// symlink a few more) and a heap push: about 1.5 us from the page cache
/// (tmpfs or a warm ext4, release build), so a step takes about 3 ms, the
/// most a big folder adds to the latency of the loop's other connections
/// per turn, while 30,000 entries still take only 15 turns to read (and
/// 8 to place, see [`PLACE`]). Cold metadata on a disk costs far more per
/// entry; the bound then keeps the other connections moving all the same.
pub const STEP: usize = 2_000;
/// Entries put in place per step once their folder is read: each a pop
/// from a heap of its entries, about a third of a read's cost, so a big
/// folder's sort is spread over steps too rather than done at once.
pub const PLACE: usize = 2 * STEP;
/// Entries one archive may hold: beyond this the manifest alone would take
/// about 150 MB, so the walk stops and the answer is 507.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Folders nested deeper than this are left out (a guard, not a limit
/// anyone should meet).
const MAX_DEPTH: usize = 64;

/// Why a walk gave up because of [`MAX_ENTRIES`] (carried in an
/// [`io::Error`], see [`too_many`]).
#[derive(Debug)]
struct TooMany;

impl std::fmt::Display for TooMany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {MAX_ENTRIES} entries")
    }
}

impl std::error::Error for TooMany {}

/// The walk stopped at [`MAX_ENTRIES`] (its error, not a failed read).
pub fn too_many(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<TooMany>())
}

/// One folder of the walk: being read, then emitted entry by entry.
struct Level {
    rel: PathBuf,
    /// Its name in the archive, ending with `/`.
    prefix: String,
    depth: usize,
    /// While it is being read: its stream, and an entry read when the
    /// step's budget had run out (considered first next step).
    reading: Option<(Dir, Option<CString>)>,
    /// Its entries read so far, the first by name on top.
    entries: BinaryHeap<Reverse<ByName>>,
}

/// An entry ordered by its name in its folder: a folder's without its
/// `/`, so `a/` comes before `a b`, as in the old walk's final sort.
struct ByName(Item);

impl ByName {
    fn key(&self) -> &str {
        let n = &self.0.name;
        &n[..n.len() - usize::from(self.0.is_dir)]
    }
}

impl Ord for ByName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(other.key())
    }
}

impl PartialOrd for ByName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ByName {}

/// A walk under way (see the module docs).
pub struct Walker {
    rel: PathBuf,
    top: String,
    hidden: bool,
    /// Entries read and placed per step ([`STEP`], [`PLACE`]; smaller
    /// in tests), and in all.
    step: usize,
    place: usize,
    cap: usize,
    started: bool,
    stack: Vec<Level>,
    /// Folders entered, by (device, inode): a symlinked folder leading
    /// back up is listed but not walked twice.
    seen: HashSet<(u64, u64)>,
    /// Entries found so far, emitted or waiting in `stack`.
    found: usize,
    out: Vec<Item>,
}

impl std::fmt::Debug for Walker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Walker({:?}, {} found)", self.rel, self.found)
    }
}

impl Walker {
    /// A walk of the folder `rel` (already opened and checked by the
    /// caller) whose archive's top folder is named `top`.
    pub fn new(rel: &Path, top: &str, hidden: bool) -> Walker {
        Walker {
            rel: rel.to_path_buf(),
            top: top.to_string(),
            hidden,
            step: STEP,
            place: PLACE,
            cap: MAX_ENTRIES,
            started: false,
            stack: Vec::new(),
            seen: HashSet::new(),
            found: 0,
            out: Vec::new(),
        }
    }

    /// The same walk, allowed only `cap` entries (for tests).
    #[cfg(test)]
    pub fn capped(mut self, cap: usize) -> Walker {
        self.cap = cap;
        self
    }

    /// Walks on for at most one step's worth of entries (read or placed): `Ok(None)` while
    /// there is more, the manifest once done. An error ends the walk.
    pub fn step(&mut self, root: &Root) -> io::Result<Option<Vec<Item>>> {
        if !self.started {
            self.started = true;
            let name = format!("{}/", self.top);
            let rel = self.rel.clone();
            let top = self.enter(root, rel.clone(), name.clone(), 0)?;
            let st = top.ok_or(io::ErrorKind::NotFound)?;
            let item = item_of(rel, name, true, &st).ok_or(io::ErrorKind::Unsupported)?;
            self.out.push(item);
        }
        let (mut budget, mut placing) = (self.step, self.place);
        while let Some(level) = self.stack.last_mut() {
            if level.reading.is_some() {
                if !self.read(root, &mut budget)? {
                    return Ok(None);
                }
                continue;
            }
            if level.entries.is_empty() {
                self.stack.pop();
                continue;
            }
            if placing == 0 {
                return Ok(None);
            }
            placing -= 1;
            let Some(Reverse(ByName(item))) = level.entries.pop() else {
                continue;
            };
            let (depth, is_dir) = (level.depth + 1, item.is_dir);
            let (rel, prefix) = (item.rel.clone(), item.name.clone());
            self.out.push(item);
            if is_dir && depth < MAX_DEPTH {
                self.enter(root, rel, prefix, depth)?;
            } else if is_dir {
                // Not walked, but seen, as the one-shot walk had it: the
                // same folder reached later by a shallower symlink is
                // listed, not walked, so the manifest (and ETag) match.
                if let Ok(st) = root.stat_beneath(&rel) {
                    #[allow(clippy::unnecessary_cast)]
                    self.seen.insert((st.st_dev as u64, st.st_ino as u64));
                }
            }
        }
        Ok(Some(std::mem::take(&mut self.out)))
    }

    /// Opens the folder `rel` beneath the root and, unless already walked,
    /// stacks it to be read: its stat(2), or `None` if it was seen.
    fn enter(
        &mut self,
        root: &Root,
        rel: PathBuf,
        prefix: String,
        depth: usize,
    ) -> io::Result<Option<fs::Stat>> {
        let dir = Dir::new(root.open_dir(&rel)?)?;
        let st = dir.stat()?;
        #[allow(clippy::unnecessary_cast)]
        if !self.seen.insert((st.st_dev as u64, st.st_ino as u64)) {
            return Ok(None);
        }
        self.stack.push(Level {
            rel,
            prefix,
            depth,
            reading: Some((dir, None)),
            entries: BinaryHeap::new(),
        });
        Ok(Some(st))
    }

    /// Reads on in the top folder of the stack: `false` when the budget
    /// ran out first, `true` when the folder has been read to its end.
    fn read(&mut self, root: &Root, budget: &mut usize) -> io::Result<bool> {
        let hidden = self.hidden;
        let level = self.stack.last_mut().expect("a folder being read");
        let (dir, held) = level.reading.as_mut().expect("being read");
        loop {
            let name = match held.take() {
                Some(name) => name,
                None => match dir.read() {
                    None => break,
                    Some(entry) => entry?.file_name().to_owned(),
                },
            };
            if matches!(name.as_bytes(), b"." | b"..") {
                continue;
            }
            if *budget == 0 {
                *held = Some(name);
                return Ok(false);
            }
            *budget -= 1;
            let Some(item) = consider(root, dir, (&level.rel, &level.prefix), &name, hidden) else {
                continue;
            };
            self.found += 1;
            if self.found > self.cap {
                return Err(io::Error::other(TooMany));
            }
            level.entries.push(Reverse(ByName(item)));
        }
        level.reading = None;
        Ok(true)
    }
}

/// The whole walk in one go (for tests).
#[cfg(test)]
pub fn walk(root: &Root, rel: &Path, top: &str, hidden: bool) -> io::Result<Vec<Item>> {
    let mut w = Walker::new(rel, top, hidden);
    loop {
        if let Some(items) = w.step(root)? {
            return Ok(items);
        }
    }
}

/// The entry `name` of the folder `dir` (at `rel`, named `prefix` in the
/// archive), if the listing's rules let it in: its stat(2) through the
/// folder's descriptor, or for a symlink what it resolves to beneath the
/// root (anywhere, if symlinks are followed).
fn consider(
    root: &Root,
    dir: &Dir,
    (rel, prefix): (&Path, &str),
    name: &CString,
    hidden: bool,
) -> Option<Item> {
    let text = name.to_str().ok()?;
    if text.starts_with('.') && !hidden {
        return None;
    }
    let fd = dir.fd().ok()?;
    let rel = rel.join(text);
    let mut st = fs::statat(fd, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        st = if root.follows_symlinks() {
            fs::statat(fd, name.as_c_str(), AtFlags::empty()).map_err(io::Error::from)
        } else {
            root.stat_beneath(&rel)
        }
        .ok()?;
    }
    let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    let slash = if is_dir { "/" } else { "" };
    let name = format!("{prefix}{text}{slash}");
    item_of(rel, name, is_dir, &st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_server::archive::manifest::in_order;
    use crate::file_server::listing;

    /// The one-shot walk this module replaced, kept verbatim (but for the
    /// stat of each entry, now [`item_of`]) as the reference the steps
    /// must reproduce.
    fn reference(root: &Root, rel: &Path, top: &str, hidden: bool) -> io::Result<Vec<Item>> {
        let item = |rel: &Path, name: String, is_dir| -> io::Result<Item> {
            let st = root.stat_beneath(rel)?;
            item_of(rel.to_path_buf(), name, is_dir, &st).ok_or(io::ErrorKind::Unsupported.into())
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        out.push(item(rel, format!("{top}/"), true)?);
        let mut stack = vec![(rel.to_path_buf(), format!("{top}/"), 0usize)];
        while let Some((dir_rel, prefix, depth)) = stack.pop() {
            let st = root.stat_beneath(&dir_rel)?;
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
                let Ok(it) = item(&child_rel, name, e.is_dir) else {
                    continue;
                };
                if e.is_dir {
                    subdirs.push((child_rel, it.name.clone(), depth + 1));
                }
                out.push(it);
            }
            stack.extend(subdirs.into_iter().rev());
        }
        out.sort_by(in_order);
        Ok(out)
    }

    /// A walk of `top` reading `step` entries per call, `cap` in all.
    fn sized(hidden: bool, step: usize, cap: usize) -> Walker {
        let mut w = Walker::new(Path::new("top"), "top", hidden);
        (w.step, w.cap) = (step, cap);
        w
    }

    /// Steps `w` to its end: the manifest and the calls it took.
    fn run(w: &mut Walker, root: &Root) -> io::Result<(Vec<Item>, usize)> {
        for calls in 1..1_000_000 {
            if let Some(items) = w.step(root)? {
                return Ok((items, calls));
            }
        }
        panic!("never done");
    }

    /// A tree of `n` entries in nested folders (names that sort
    /// differently with and without a folder's `/`), and none left out.
    fn tree(n: usize) -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let top = d.path().join("top");
        let folders = ["a", "a b", "a-b", "a/x", "a/x/y", "z"];
        for f in folders {
            std::fs::create_dir_all(top.join(f)).unwrap();
        }
        for i in 0..n - folders.len() {
            let at = top.join(folders[i % folders.len()]).join(format!("f{i}"));
            std::fs::write(at, i.to_string()).unwrap();
        }
        let root = Root::open(d.path(), false).unwrap();
        (d, root)
    }

    /// N entries take ceil(N / step) steps, whatever the step (placing
    /// them unbounded here), and give the old one-shot walk's items in its
    /// order.
    #[test]
    fn n_entries_take_ceil_n_over_step_calls_and_match_the_old_walk() {
        let n = 2 * STEP + 35;
        let (_d, root) = tree(n);
        let want = reference(&root, Path::new("top"), "top", false).unwrap();
        assert_eq!(want.len(), n + 1, "every entry and the top folder");
        for step in [1, 2, 7, 100, STEP, n, n + 1] {
            let mut w = sized(false, step, MAX_ENTRIES);
            w.place = usize::MAX;
            let (items, calls) = run(&mut w, &root).unwrap();
            assert_eq!(calls, n.div_ceil(step), "step {step}");
            assert!(items == want, "step {step}: not the old walk's items");
        }
        let mut w = Walker::new(Path::new("top"), "top", false);
        assert!(run(&mut w, &root).unwrap().0 == want);
        let (empty, _) = tree(6);
        std::fs::remove_dir_all(empty.path().join("top")).unwrap();
        std::fs::create_dir(empty.path().join("top")).unwrap();
        let root = Root::open(empty.path(), false).unwrap();
        let mut w = Walker::new(Path::new("top"), "top", false);
        assert_eq!(
            run(&mut w, &root).unwrap().1,
            1,
            "an empty folder: one call"
        );
    }

    /// Once a folder is read, its entries are put in place [`PLACE`] per
    /// call: a folder read in one call takes ceil(N / place) calls.
    #[test]
    fn placing_a_big_folder_in_order_takes_steps_too() {
        let n = STEP + 3;
        let (_d, root) = tree(n);
        let want = reference(&root, Path::new("top"), "top", false).unwrap();
        for place in [1, 10, 333, n] {
            let mut w = sized(false, n + 1, MAX_ENTRIES);
            w.place = place;
            let (items, calls) = run(&mut w, &root).unwrap();
            assert_eq!(calls, n.div_ceil(place), "place {place}");
            assert!(items == want, "place {place}");
        }
    }

    /// A folder at the depth cap is not walked but counts as seen, as in
    /// the one-shot walk: reached again by a shallower symlink (`z`, after
    /// `d` in name order), it is listed, not walked, and the ETag holds.
    #[test]
    fn a_folder_at_the_depth_cap_counts_as_seen_as_in_the_old_walk() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("top");
        let deep: PathBuf = std::iter::repeat_n("d", MAX_DEPTH).collect();
        std::fs::create_dir_all(top.join(&deep)).unwrap();
        std::fs::write(top.join(&deep).join("f"), "x").unwrap();
        std::os::unix::fs::symlink(&deep, top.join("z")).unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let want = reference(&root, Path::new("top"), "top", false).unwrap();
        assert!(!want.iter().any(|i| i.name == "top/z/f"), "the old walk");
        let mut w = Walker::new(Path::new("top"), "top", false);
        let got = run(&mut w, &root).unwrap().0;
        let names = |v: &[Item]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want));
    }

    #[test]
    fn the_listing_rules_hold_at_any_step() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("top");
        std::fs::create_dir_all(p.join("sub/empty")).unwrap();
        std::fs::write(p.join("sub/f"), "abc").unwrap();
        std::fs::write(p.join(".hid"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", p.join("out")).unwrap();
        std::os::unix::fs::symlink("..", p.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("sub", p.join("link")).unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let names = |hidden, step| -> Vec<String> {
            let mut w = sized(hidden, step, MAX_ENTRIES);
            let (items, _) = run(&mut w, &root).unwrap();
            let want = reference(&root, Path::new("top"), "top", hidden).unwrap();
            assert!(items == want, "step {step}, hidden {hidden}");
            items.into_iter().map(|i| i.name).collect()
        };
        for step in [1, 2, 3, STEP] {
            // `up` leads back to `top` and `sub` is `link` again, both
            // walked already: listed as folders, never walked twice.
            assert_eq!(
                names(false, step),
                [
                    "top/",
                    "top/link/",
                    "top/link/empty/",
                    "top/link/f",
                    "top/link/up/",
                    "top/sub/",
                ]
            );
            assert!(names(true, step).contains(&"top/.hid".to_string()));
        }
    }

    /// A folder that vanishes between steps answers as it would have in
    /// one go (NotFound: 404); so many entries that the manifest would be
    /// huge stop the walk.
    #[test]
    fn a_folder_gone_mid_walk_and_too_many_entries_end_it() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("top");
        for sub in ["d1", "d2"] {
            for f in ["x", "y", "z"] {
                std::fs::create_dir_all(top.join(sub)).unwrap();
                std::fs::write(top.join(sub).join(f), f).unwrap();
            }
        }
        let root = Root::open(d.path(), false).unwrap();
        let mut w = sized(false, 1, MAX_ENTRIES);
        assert!(w.step(&root).unwrap().is_none());
        std::fs::remove_dir_all(top.join("d2")).unwrap();
        let e = run(&mut w, &root).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!too_many(&e));
        let mut w = sized(false, 2, 3);
        assert!(too_many(&run(&mut w, &root).unwrap_err()));
        let mut w = sized(false, 2, 4);
        assert_eq!(run(&mut w, &root).unwrap().0.len(), 5);
    }
}

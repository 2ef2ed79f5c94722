//! CRC-32s of files already read for a zip, kept per file version
//! (device, inode, size, mtime and ctime to the nanosecond) for the whole
//! process, so a resumed or ranged zip download whose central directory
//! needs every file's CRC does not read the whole folder again. Bounded:
//! emptied when full. A changed file has a new ctime, so a stale entry is
//! never found.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most (about 50 bytes each).
const MAX_ENTRIES: usize = 200_000;

/// A file version: what fstat(2) says of it.
pub type Version = (u64, u64, u64, i64, i64, i64, i64);

static CACHE: Mutex<Option<HashMap<Version, u32>>> = Mutex::new(None);

/// The version of an open file, from its stat(2).
#[allow(clippy::unnecessary_cast)]
pub fn version(st: &rustix::fs::Stat) -> Version {
    (
        st.st_dev as u64,
        st.st_ino as u64,
        st.st_size as u64,
        st.st_mtime as i64,
        st.st_mtime_nsec as i64,
        st.st_ctime as i64,
        st.st_ctime_nsec as i64,
    )
}

pub fn lookup(v: &Version) -> Option<u32> {
    let guard = CACHE.lock().ok()?;
    guard.as_ref()?.get(v).copied()
}

pub fn insert(v: Version, crc: u32) {
    let Ok(mut guard) = CACHE.lock() else {
        return;
    };
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(v, crc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_found_and_another_is_not() {
        let v = (1, 2, 3, 4, 5, 6, u32::MAX as i64 + 7);
        insert(v, 0xdead_beef);
        assert_eq!(lookup(&v), Some(0xdead_beef));
        assert_eq!(lookup(&(1, 2, 3, 4, 5, 6, 8)), None);
    }
}

//! The per-loop store of bodies compressed on the fly, beside the
//! small-file cache: one entry per (path, coding), kept only while the
//! identity file still has the ETag it was made from (the caller has just
//! stat'ed it), so each file version is compressed once. Bounded: when
//! full it starts over, like the small-file cache.

use std::collections::HashMap;
use std::rc::Rc;

use crate::http::accept_encoding::Coding;

/// Compressed bytes held per loop at most.
const MAX_BYTES: usize = 32 << 20;
const MAX_ENTRIES: usize = 1024;

/// (path, coding) -> (the identity ETag it was made from, the bytes).
type Map = HashMap<(String, Coding), (String, Rc<[u8]>)>;

#[derive(Debug, Default)]
pub struct EncodedCache {
    map: Map,
    bytes: usize,
}

impl EncodedCache {
    /// The body of `key` in `coding`, made from the version tagged `etag`.
    pub fn get(&self, key: &str, coding: Coding, etag: &str) -> Option<Rc<[u8]>> {
        let (tag, data) = self.map.get(&(key.to_string(), coding))?;
        (tag == etag).then(|| data.clone())
    }

    pub fn insert(&mut self, key: &str, coding: Coding, etag: &str, data: Rc<[u8]>) {
        if self.bytes + data.len() > MAX_BYTES || self.map.len() >= MAX_ENTRIES {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += data.len();
        let old = self
            .map
            .insert((key.to_string(), coding), (etag.to_string(), data));
        if let Some((_, old)) = old {
            self.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_coding_and_version_and_bounded() {
        let mut c = EncodedCache::default();
        c.insert("a.js", Coding::Br, "\"1\"", Rc::from(&b"xx"[..]));
        assert!(c.get("a.js", Coding::Br, "\"1\"").is_some());
        assert!(c.get("a.js", Coding::Gzip, "\"1\"").is_none());
        assert!(c.get("a.js", Coding::Br, "\"2\"").is_none());
        c.insert("a.js", Coding::Br, "\"2\"", Rc::from(&b"yyy"[..]));
        assert_eq!(c.bytes, 3);
        let big: Rc<[u8]> = vec![0u8; MAX_BYTES].into();
        c.insert("b.js", Coding::Gzip, "\"1\"", big);
        assert!(c.get("a.js", Coding::Br, "\"2\"").is_none(), "started over");
        assert_eq!(c.bytes, MAX_BYTES);
    }
}

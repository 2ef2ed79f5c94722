//! An archive laid out as a list of parts (header bytes, a file's bytes,
//! padding, a zip data descriptor or central directory header, the end
//! records), each with its offset, computed from the manifest alone: the
//! exact length is known before the first byte, and any byte offset maps
//! to the part that holds it, so a range of the archive can be sent
//! without producing what comes before it. Pure.

use super::manifest::Item;
use super::{tar, zip};

/// tar or zip; tar.gz is the tar layout passed through gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tar,
    Zip,
}

/// One part of an archive; the `usize` is an index into the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A tar header (with any pax header) or a zip local header.
    Header(usize),
    /// The file's own bytes.
    Data(usize),
    /// Zero bytes (tar's padding to 512).
    Pad(u64),
    /// A zip data descriptor (the file's CRC-32 and sizes).
    Descriptor(usize),
    /// A zip central directory header.
    Central(usize),
    /// tar's two zero blocks, or zip's end records.
    End,
}

impl Part {
    /// Parts that close the archive: sent only once every file sent
    /// before them has been checked unchanged.
    pub fn is_closing(self) -> bool {
        matches!(self, Part::Central(_) | Part::End)
    }
}

#[derive(Debug)]
pub struct Layout {
    pub kind: Kind,
    parts: Vec<Part>,
    /// Where each part starts; a last entry holds the total length.
    starts: Vec<u64>,
    /// zip: where each item's local header starts.
    offsets: Vec<u64>,
    cd: (u64, u64),
}

impl Layout {
    pub fn plan(items: &[Item], kind: Kind) -> Layout {
        let mut l = Layout {
            kind,
            parts: Vec::with_capacity(items.len() * 3 + 1),
            starts: Vec::with_capacity(items.len() * 3 + 2),
            offsets: Vec::new(),
            cd: (0, 0),
        };
        let mut at = 0;
        for (i, it) in items.iter().enumerate() {
            if kind == Kind::Zip {
                l.offsets.push(at);
            }
            l.push(&mut at, Part::Header(i), items);
            if !it.is_dir {
                l.push(&mut at, Part::Data(i), items);
                match kind {
                    Kind::Tar => l.push(&mut at, Part::Pad(tar::padding(it.size)), items),
                    Kind::Zip => l.push(&mut at, Part::Descriptor(i), items),
                }
            }
        }
        if kind == Kind::Zip {
            let cd_offset = at;
            for i in 0..items.len() {
                l.push(&mut at, Part::Central(i), items);
            }
            l.cd = (cd_offset, at - cd_offset);
        }
        l.push(&mut at, Part::End, items);
        l.starts.push(at);
        l
    }

    fn push(&mut self, at: &mut u64, part: Part, items: &[Item]) {
        let len = self.part_len(part, items);
        if len == 0 {
            return;
        }
        self.parts.push(part);
        self.starts.push(*at);
        *at += len;
    }

    fn part_len(&self, part: Part, items: &[Item]) -> u64 {
        match (self.kind, part) {
            (Kind::Tar, Part::Header(i)) => tar::header_len(&items[i]),
            (Kind::Zip, Part::Header(i)) => zip::local_header_len(&items[i]),
            (_, Part::Data(i)) => items[i].size,
            (_, Part::Pad(n)) => n,
            (_, Part::Descriptor(i)) => zip::descriptor_len(&items[i]),
            (_, Part::Central(i)) => zip::central_len(&items[i], self.offsets[i]),
            (Kind::Tar, Part::End) => tar::END_LEN,
            (Kind::Zip, Part::End) => {
                let (off, size) = self.cd;
                zip::end_len(items.len() as u64, off, size)
            }
        }
    }

    /// The archive's length in bytes.
    pub fn len(&self) -> u64 {
        *self.starts.last().unwrap_or(&0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The part `i` and the byte range it covers.
    pub fn part(&self, i: usize) -> (Part, u64, u64) {
        (self.parts[i], self.starts[i], self.starts[i + 1])
    }

    /// The index of the part holding byte `pos` (`parts()` at the end).
    pub fn find(&self, pos: u64) -> usize {
        self.starts[..self.parts.len()]
            .partition_point(|&s| s <= pos)
            .saturating_sub(1)
    }

    /// The bytes of a part that is not a file's data; `crc` gives the
    /// CRC-32 of an item's bytes (zip only).
    pub fn bytes(
        &self,
        part: Part,
        items: &[Item],
        crc: &mut dyn FnMut(usize) -> std::io::Result<u32>,
    ) -> std::io::Result<Vec<u8>> {
        Ok(match (self.kind, part) {
            (Kind::Tar, Part::Header(i)) => tar::header(&items[i]),
            (Kind::Zip, Part::Header(i)) => zip::local_header(&items[i]),
            (_, Part::Data(_)) => unreachable!("file bytes are sent from the file"),
            (_, Part::Pad(n)) => vec![0; n as usize],
            (_, Part::Descriptor(i)) => zip::descriptor(&items[i], crc(i)?),
            (_, Part::Central(i)) => {
                let c = if items[i].is_dir { 0 } else { crc(i)? };
                zip::central(&items[i], c, self.offsets[i])
            }
            (Kind::Tar, Part::End) => vec![0; tar::END_LEN as usize],
            (Kind::Zip, Part::End) => {
                let (off, size) = self.cd;
                zip::end(items.len() as u64, off, size)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn items() -> Vec<Item> {
        let mk = |name: &str, size: u64| Item {
            name: name.into(),
            rel: PathBuf::new(),
            is_dir: name.ends_with('/'),
            mode: 0o644,
            size,
            mtime: 0,
            mtime_nsec: 0,
        };
        vec![mk("t/", 0), mk("t/a", 3), mk("t/e", 0), mk("t/b", 512)]
    }

    #[test]
    fn tar_layout_lengths_and_lookup() {
        let items = items();
        let l = Layout::plan(&items, Kind::Tar);
        // Headers of 512 each, 3 bytes padded to 512, 512 bytes, the end.
        assert_eq!(l.len(), 512 + (512 + 512) + 512 + (512 + 512) + 1024);
        assert_eq!(l.find(0), 0);
        assert_eq!(l.find(511), 0);
        assert_eq!(l.part(l.find(512)).0, Part::Header(1));
        assert_eq!(l.part(l.find(1024)).0, Part::Data(1));
        assert_eq!(l.part(l.find(1027)).0, Part::Pad(509));
        assert_eq!(l.part(l.find(l.len() - 1)).0, Part::End);
        assert_eq!(l.find(l.len()), l.parts() - 1);
    }

    #[test]
    fn zip_layout_matches_its_bytes() {
        let items = items();
        let l = Layout::plan(&items, Kind::Zip);
        let mut total = 0;
        for i in 0..l.parts() {
            let (part, start, end) = l.part(i);
            assert_eq!(start, total);
            let len = match part {
                Part::Data(i) => items[i].size,
                p => l.bytes(p, &items, &mut |_| Ok(9)).unwrap().len() as u64,
            };
            assert_eq!(end - start, len, "{part:?}");
            total = end;
        }
        assert_eq!(total, l.len());
        assert!(l.part(l.parts() - 1).0.is_closing());
    }
}

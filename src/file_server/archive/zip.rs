//! zip record bytes (PKWARE APPNOTE 6.3.x), pure: stored entries (no
//! compression), UTF-8 names (flag bit 11), Unix modes and an extended
//! timestamp, and Zip64 records for files of 4 GiB and more, offsets past
//! 4 GiB, or more than 65,534 entries. A file's CRC-32 goes into a data
//! descriptor after its bytes (flag bit 3) and into the central directory,
//! so the local header can be sent before the file has been read.

use super::manifest::Item;

const LOCAL_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const END_SIG: u32 = 0x0605_4b50;
/// A 32-bit field that says "see the Zip64 extra field".
const MAX32: u64 = 0xFFFF_FFFF;
const MAX16: u64 = 0xFFFF;
/// Bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8.
const FLAGS_FILE: u16 = 0x0808;
const FLAGS_DIR: u16 = 0x0800;
/// 2.0 (folders, deflate-era stored entries) or 4.5 (Zip64).
const V20: u16 = 20;
const V45: u16 = 45;
/// "Made by" Unix (3), so the high half of the external attributes is a mode.
const MADE_BY_UNIX: u16 = 3 << 8;
/// The extended timestamp extra field (0x5455) with the mtime alone.
const UT_LEN: usize = 9;
/// The Unix file-type bits for the external attributes.
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// Whether `item`'s sizes need Zip64 fields.
pub fn is_zip64(item: &Item) -> bool {
    item.size >= MAX32
}

fn version(item: &Item) -> u16 {
    if is_zip64(item) {
        V45
    } else {
        V20
    }
}

/// The local file header of `item`.
pub fn local_header(item: &Item) -> Vec<u8> {
    let name = item.name.as_bytes();
    let z64 = is_zip64(item);
    let mut out = Vec::with_capacity(30 + name.len() + UT_LEN + 20);
    put32(&mut out, LOCAL_SIG);
    put16(&mut out, version(item));
    put16(&mut out, if item.is_dir { FLAGS_DIR } else { FLAGS_FILE });
    put16(&mut out, 0); // stored
    put_dos_time(&mut out, item.mtime);
    put32(&mut out, 0); // CRC: in the data descriptor
    let sizes = if z64 { MAX32 as u32 } else { 0 };
    put32(&mut out, sizes);
    put32(&mut out, sizes);
    put16(&mut out, name.len() as u16);
    put16(&mut out, (UT_LEN + if z64 { 20 } else { 0 }) as u16);
    out.extend_from_slice(name);
    put_ut(&mut out, item.mtime);
    if z64 {
        // Both sizes, zero here; the descriptor has them (APPNOTE 4.5.3).
        put16(&mut out, 0x0001);
        put16(&mut out, 16);
        put64(&mut out, 0);
        put64(&mut out, 0);
    }
    out
}

/// The length of [`local_header`].
pub fn local_header_len(item: &Item) -> u64 {
    (30 + item.name.len() + UT_LEN + if is_zip64(item) { 20 } else { 0 }) as u64
}

/// The data descriptor after a file's bytes (none for a folder).
pub fn descriptor(item: &Item, crc: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    put32(&mut out, DESCRIPTOR_SIG);
    put32(&mut out, crc);
    if is_zip64(item) {
        put64(&mut out, item.size);
        put64(&mut out, item.size);
    } else {
        put32(&mut out, item.size as u32);
        put32(&mut out, item.size as u32);
    }
    out
}

pub fn descriptor_len(item: &Item) -> u64 {
    match (item.is_dir, is_zip64(item)) {
        (true, _) => 0,
        (false, true) => 24,
        (false, false) => 16,
    }
}

/// The central directory header of `item`, whose local header is at `offset`.
pub fn central(item: &Item, crc: u32, offset: u64) -> Vec<u8> {
    let name = item.name.as_bytes();
    let (big_size, big_offset) = (is_zip64(item), offset >= MAX32);
    let z64_len = 8 * (2 * usize::from(big_size) + usize::from(big_offset));
    let extra = UT_LEN + if z64_len > 0 { 4 + z64_len } else { 0 };
    let mut out = Vec::with_capacity(46 + name.len() + extra);
    put32(&mut out, CENTRAL_SIG);
    let needed = if z64_len > 0 { V45 } else { version(item) };
    put16(&mut out, MADE_BY_UNIX | needed);
    put16(&mut out, needed);
    put16(&mut out, if item.is_dir { FLAGS_DIR } else { FLAGS_FILE });
    put16(&mut out, 0);
    put_dos_time(&mut out, item.mtime);
    put32(&mut out, crc);
    let size = if big_size { MAX32 } else { item.size };
    put32(&mut out, size as u32);
    put32(&mut out, size as u32);
    put16(&mut out, name.len() as u16);
    put16(&mut out, extra as u16);
    put16(&mut out, 0); // comment
    put16(&mut out, 0); // disk
    put16(&mut out, 0); // internal attributes
    let (kind, dos) = if item.is_dir {
        (S_IFDIR, 0x10)
    } else {
        (S_IFREG, 0)
    };
    put32(&mut out, ((kind | item.mode) << 16) | dos);
    put32(&mut out, offset.min(MAX32) as u32);
    out.extend_from_slice(name);
    put_ut(&mut out, item.mtime);
    if z64_len > 0 {
        put16(&mut out, 0x0001);
        put16(&mut out, z64_len as u16);
        if big_size {
            put64(&mut out, item.size);
            put64(&mut out, item.size);
        }
        if big_offset {
            put64(&mut out, offset);
        }
    }
    out
}

pub fn central_len(item: &Item, offset: u64) -> u64 {
    let z64_len = 8 * (2 * usize::from(is_zip64(item)) + usize::from(offset >= MAX32));
    (46 + item.name.len() + UT_LEN + if z64_len > 0 { 4 + z64_len } else { 0 }) as u64
}

/// Whether the end of the archive needs the Zip64 end records.
fn end_is_zip64(entries: u64, cd_offset: u64, cd_size: u64) -> bool {
    entries >= MAX16 || cd_offset >= MAX32 || cd_size >= MAX32
}

/// The end records: Zip64 end record and locator when needed, then the
/// end of central directory record.
pub fn end(entries: u64, cd_offset: u64, cd_size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(98);
    if end_is_zip64(entries, cd_offset, cd_size) {
        let at = cd_offset + cd_size;
        put32(&mut out, ZIP64_END_SIG);
        put64(&mut out, 44); // the record's size after this field
        put16(&mut out, MADE_BY_UNIX | V45);
        put16(&mut out, V45);
        put32(&mut out, 0);
        put32(&mut out, 0);
        put64(&mut out, entries);
        put64(&mut out, entries);
        put64(&mut out, cd_size);
        put64(&mut out, cd_offset);
        put32(&mut out, ZIP64_LOCATOR_SIG);
        put32(&mut out, 0);
        put64(&mut out, at);
        put32(&mut out, 1);
    }
    put32(&mut out, END_SIG);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, entries.min(MAX16) as u16);
    put16(&mut out, entries.min(MAX16) as u16);
    put32(&mut out, cd_size.min(MAX32) as u32);
    put32(&mut out, cd_offset.min(MAX32) as u32);
    put16(&mut out, 0);
    out
}

pub fn end_len(entries: u64, cd_offset: u64, cd_size: u64) -> u64 {
    if end_is_zip64(entries, cd_offset, cd_size) {
        22 + 56 + 20
    } else {
        22
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The extended timestamp field: flags (mtime present), mtime as i32.
fn put_ut(out: &mut Vec<u8>, mtime: i64) {
    put16(out, 0x5455);
    put16(out, 5);
    out.push(1);
    let t = mtime.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    out.extend_from_slice(&t.to_le_bytes());
}

/// MS-DOS time and date (in UTC; the extended timestamp is exact),
/// clamped to 1980 through 2107.
fn put_dos_time(out: &mut Vec<u8>, mtime: i64) {
    let t = mtime.clamp(315_532_800, 4_354_819_199);
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    let time = ((secs / 3600) << 11) | ((secs % 3600 / 60) << 5) | ((secs % 60) / 2);
    let date = ((y - 1980) << 9) | (m << 5) | d;
    put16(out, time as u16);
    put16(out, date as u16);
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn item(name: &str, size: u64) -> Item {
        Item {
            name: name.into(),
            rel: PathBuf::new(),
            is_dir: name.ends_with('/'),
            mode: 0o644,
            size,
            mtime: 1_700_000_000,
            mtime_nsec: 0,
        }
    }

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    /// Synthetic sizes: every length function agrees with its bytes, and
    /// Zip64 fields appear exactly when a size or offset needs them.
    #[test]
    fn zip64_fields_appear_exactly_when_needed() {
        let cases = [
            (item("t/a", 10), 0, false, false),
            (item("t/", 0), 0, false, false),
            (item("t/big", MAX32 - 1), 0, false, false),
            (item("t/big", MAX32), 0, true, false),
            (item("t/big", 6 << 30), 0, true, false),
            (item("t/late", 10), MAX32 - 1, false, false),
            (item("t/late", 10), MAX32, false, true),
            (item("t/both", 5 << 30), 9 << 30, true, true),
        ];
        for (it, offset, big_size, big_offset) in cases {
            let what = format!("{} {} @{offset}", it.name, it.size);
            let local = local_header(&it);
            assert_eq!(local.len() as u64, local_header_len(&it), "{what}");
            assert_eq!(u32_at(&local, 18) == 0xFFFF_FFFF, big_size, "{what}");
            let d = descriptor(&it, 7);
            assert_eq!(d.len() as u64, descriptor_len(&it).max(16), "{what}");
            if big_size {
                assert_eq!(u64_at(&d, 8), it.size, "{what}");
                assert_eq!(u64_at(&d, 16), it.size, "{what}");
            }
            let c = central(&it, 7, offset);
            assert_eq!(c.len() as u64, central_len(&it, offset), "{what}");
            assert_eq!(u32_at(&c, 16), 7);
            assert_eq!(u32_at(&c, 42) == 0xFFFF_FFFF, big_offset, "{what}");
            assert_eq!(u32_at(&c, 24) == 0xFFFF_FFFF, big_size, "{what}");
            let needs = big_size || big_offset;
            assert_eq!(u16_at(&c, 6), if needs { 45 } else { 20 }, "{what}");
            // The Zip64 extra field, after the name and the timestamp.
            let x = 46 + it.name.len() + UT_LEN;
            if needs {
                assert_eq!(u16_at(&c, x), 1, "{what}");
                let mut at = x + 4;
                if big_size {
                    assert_eq!(u64_at(&c, at), it.size);
                    at += 16;
                }
                if big_offset {
                    assert_eq!(u64_at(&c, at), offset);
                }
            } else {
                assert_eq!(c.len(), x, "{what}");
            }
        }
    }

    #[test]
    fn end_records_switch_to_zip64_at_the_limits() {
        let cases = [
            (3, 100, 200, false),
            (65_534, 100, 200, false),
            (65_535, 100, 200, true),
            (70_000, 100, 200, true),
            (3, MAX32, 200, true),
            (3, 100, MAX32, true),
        ];
        for (n, off, size, z64) in cases {
            let e = end(n, off, size);
            assert_eq!(e.len() as u64, end_len(n, off, size));
            assert_eq!(e.len() > 22, z64, "{n} {off} {size}");
            let eocd = &e[e.len() - 22..];
            assert_eq!(u32_at(eocd, 0), END_SIG);
            assert_eq!(u64::from(u16_at(eocd, 10)), n.min(MAX16));
            if z64 {
                assert_eq!(u64_at(&e, 24), n);
                assert_eq!(u64_at(&e, 40), size);
                assert_eq!(u64_at(&e, 48), off);
                // The locator points at the Zip64 end record.
                assert_eq!(u64_at(&e, 56 + 8), off + size);
            }
        }
    }

    #[test]
    fn dos_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
        let mut out = Vec::new();
        put_dos_time(&mut out, 1_709_164_861); // 2024-02-29 00:01:01 UTC
        assert_eq!(u16_at(&out, 0), 1 << 5);
        assert_eq!(u16_at(&out, 2), (44 << 9) | (2 << 5) | 29);
    }
}

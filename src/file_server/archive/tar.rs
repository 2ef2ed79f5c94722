//! tar header bytes (POSIX ustar, with a pax extended header before any
//! entry whose name, size or mtime does not fit ustar's fields), pure.
//! A file's bytes follow its header, padded to 512; two zero blocks end
//! the archive. Lengths are known from the manifest alone, so the
//! archive's exact size is known before the first byte.

use super::manifest::Item;

pub const BLOCK: u64 = 512;
/// Two zero blocks end an archive (POSIX pax, "ustar Interchange Format").
pub const END_LEN: u64 = 2 * BLOCK;

/// The largest value an octal field of `width` bytes (with its NUL) holds.
fn fits(width: usize, v: u64) -> bool {
    v < 1u64 << (3 * (width as u32 - 1))
}

/// The header bytes of `item`: a pax header when needed, then the ustar one.
pub fn header(item: &Item) -> Vec<u8> {
    let mut records = String::new();
    let name = item.name.as_bytes();
    if name.len() > 100 {
        records.push_str(&pax_record("path", &item.name));
    }
    if !fits(12, item.size) {
        records.push_str(&pax_record("size", &item.size.to_string()));
    }
    if item.mtime < 0 || !fits(12, item.mtime as u64) {
        records.push_str(&pax_record("mtime", &item.mtime.to_string()));
    }
    let mut out = Vec::with_capacity(512);
    if !records.is_empty() {
        let pax = ustar(b"././@PaxHeader", b'x', 0o644, records.len() as u64, 0);
        out.extend_from_slice(&pax);
        out.extend_from_slice(records.as_bytes());
        pad_to_block(&mut out);
    }
    let short = truncate(&item.name, 100);
    let size = if fits(12, item.size) { item.size } else { 0 };
    let mtime = u64::try_from(item.mtime).ok().filter(|&m| fits(12, m));
    let kind = if item.is_dir { b'5' } else { b'0' };
    out.extend_from_slice(&ustar(
        short.as_bytes(),
        kind,
        item.mode,
        size,
        mtime.unwrap_or(0),
    ));
    out
}

/// The length of [`header`] of `item`, without building it.
pub fn header_len(item: &Item) -> u64 {
    header(item).len() as u64
}

/// Zero bytes after `size` bytes of data up to the next block.
pub fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// "%d key=value\n" where the length counts the whole record, itself included.
fn pax_record(key: &str, value: &str) -> String {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut n = body + 1;
    while n != body + n.to_string().len() {
        n = body + n.to_string().len();
    }
    format!("{n} {key}={value}\n")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn pad_to_block(out: &mut Vec<u8>) {
    let n = padding(out.len() as u64) as usize;
    out.resize(out.len() + n, 0);
}

/// One 512-byte ustar header block.
fn ustar(name: &[u8], kind: u8, mode: u32, size: u64, mtime: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // The checksum is taken with its own field as spaces.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// Zero-padded octal with a trailing NUL, filling `field`.
fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}\0", w = field.len() - 1);
    field.copy_from_slice(&s.as_bytes()[s.len() - field.len()..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn item(name: &str, size: u64, mtime: i64) -> Item {
        Item {
            name: name.into(),
            rel: PathBuf::new(),
            is_dir: name.ends_with('/'),
            mode: 0o640,
            size,
            mtime,
            mtime_nsec: 0,
        }
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        for value in ["a", &"x".repeat(90), &"y".repeat(94), &"z".repeat(995)] {
            let r = pax_record("path", value);
            let n: usize = r.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(n, r.len(), "{r:?}");
        }
    }

    #[test]
    fn headers_and_when_pax_is_needed() {
        let cases = [
            (item("t/short", 5, 1_700_000_000), 512),
            (item("t/", 0, 1_700_000_000), 512),
            (item(&format!("t/{}", "n".repeat(120)), 5, 0), 512 * 3),
            (item("t/big", 1 << 33, 0), 512 * 3),
            (item("t/old", 1, -5), 512 * 3),
        ];
        for (it, len) in cases {
            let h = header(&it);
            assert_eq!(h.len(), len, "{}", it.name);
            assert_eq!(header_len(&it), len as u64);
            let last = &h[h.len() - 512..];
            assert_eq!(&last[257..263], b"ustar\0");
            let sum: u32 = last
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u32::from(b)
                    }
                })
                .sum();
            let field = std::str::from_utf8(&last[148..154]).unwrap();
            assert_eq!(u32::from_str_radix(field, 8).unwrap(), sum);
        }
    }

    #[test]
    fn octal_fields_and_padding() {
        let mut f = [0u8; 8];
        octal(&mut f, 0o755);
        assert_eq!(&f, b"0000755\0");
        assert!(fits(12, (1 << 33) - 1));
        assert!(!fits(12, 1 << 33));
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        // A name cut inside a multi-byte char stops before it.
        assert_eq!(truncate("ab\u{e9}", 3), "ab");
    }
}

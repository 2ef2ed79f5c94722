//! `-C/--continue`: the partial download kept between runs. Its bytes live
//! in `NAME.part` beside the final name; the validator the server sent with
//! them (a strong ETag, else Last-Modified) lives in a one-line sidecar,
//! `NAME.part.meta` (a plain file rather than an xattr: it survives copies,
//! tmpfs and file systems without xattrs, and a person can read it).
//! Without a validator a partial is never resumed: `If-Range` is what
//! guarantees that the bytes we append belong to the bytes we have (RFC 9110
//! section 13.1.5), so the result is the old file or the new one, never a mix.
//!
//! A final name too long for these suffixes (over 241 bytes) keeps its
//! part under a shortened name tagged with a hash of the full name, e.g.
//! `aaaa…~1a2b3c4d.part`, so every name involved fits in NAME_MAX.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::names::fit_name;
use super::request::HeaderEdit;
use crate::http::disposition::MAX_NAME;
use crate::http::response::ResponseHead;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub part: PathBuf,
    pub meta: PathBuf,
    /// Bytes already in the part file.
    pub have: u64,
    /// The validator they were fetched with, as the header value sent.
    pub validator: Option<String>,
    /// `--segments` (meta version 2): the complete length and the byte
    /// ranges (`first..=last`) complete beyond `have`; `have` is then the
    /// end of the complete run from byte 0, not the file's length.
    pub segmented: Option<Segmented>,
}

/// What a version-2 meta adds: the part file has holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmented {
    pub total: u64,
    pub done: Vec<(u64, u64)>,
}

impl Partial {
    /// The partial download for `dest`, as left by an earlier run (or an
    /// empty one).
    pub fn for_dest(dest: &Path) -> Partial {
        let base = part_base(dest);
        let part = suffixed(&base, ".part");
        let meta = suffixed(&base, ".part.meta");
        let mut have = std::fs::metadata(&part)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0, |m| m.len());
        let text = std::fs::read_to_string(&meta).unwrap_or_default();
        let (validator, segmented) = match parse_meta_v2(&text) {
            Some((validator, prefix, segmented)) => {
                have = have.min(prefix);
                (Some(validator), Some(segmented))
            }
            None => (parse_meta(&text), None),
        };
        Partial {
            part,
            meta,
            have,
            validator,
            segmented,
        }
    }

    /// `Range` and `If-Range` when there is something to resume; nothing
    /// (a full download) otherwise.
    pub fn request_edits(&self) -> Vec<HeaderEdit> {
        match &self.validator {
            Some(v) if self.have > 0 || self.segmented.is_some() => vec![
                HeaderEdit {
                    name: "Range".into(),
                    value: Some(format!("bytes={}-", self.have).into_bytes()),
                },
                HeaderEdit {
                    name: "If-Range".into(),
                    value: Some(v.clone().into_bytes()),
                },
            ],
            _ => Vec::new(),
        }
    }

    /// Records the validator of a fresh download (or removes a stale one
    /// when the response has none). Written atomically, before any body byte.
    pub fn write_meta(&self, validator: Option<&str>) -> io::Result<()> {
        match validator {
            Some(v) => {
                let tmp = suffixed(&self.meta, ".tmp");
                std::fs::write(&tmp, format!("if-range {v}\n"))?;
                std::fs::rename(&tmp, &self.meta)
            }
            None => match std::fs::remove_file(&self.meta) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }
}

impl Partial {
    /// `--segments`: records the validator, the length and the complete
    /// ranges (`first..=last`, any order) as a version-2 meta, atomically.
    /// Its first line is no `if-range`, so a wirecat that knows only
    /// version 1 sees no validator and starts over instead of appending
    /// after the holes.
    pub fn write_ranges(&self, validator: &str, total: u64, done: &[(u64, u64)]) -> io::Result<()> {
        let mut text = format!("wirecat-part 2\nif-range {validator}\nlength {total}\n");
        for (first, last) in merged(done) {
            text.push_str(&format!("done {first}-{last}\n"));
        }
        let tmp = suffixed(&self.meta, ".tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.meta)
    }
}

/// Ranges sorted, touching and overlapping ones joined.
pub fn merged(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (first, last) in sorted {
        match out.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

/// A version-2 meta: its validator, the end of the complete run from
/// byte 0, and the length with the complete ranges beyond that run.
fn parse_meta_v2(text: &str) -> Option<(String, u64, Segmented)> {
    let mut lines = text.lines();
    if lines.next()? != "wirecat-part 2" {
        return None;
    }
    let validator = parse_meta(lines.next()?)?;
    let total = lines.next()?.strip_prefix("length ")?.parse().ok()?;
    let mut done = Vec::new();
    for line in lines {
        let (first, last) = line.strip_prefix("done ")?.split_once('-')?;
        let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
        if first > last || last >= total {
            return None;
        }
        done.push((first, last));
    }
    let mut done = merged(&done);
    let prefix = match done.first() {
        Some(&(0, last)) => {
            done.remove(0);
            last + 1
        }
        _ => 0,
    };
    Some((validator, prefix, Segmented { total, done }))
}

/// What a retry continues from when part of a body arrived before the
/// failure: the bytes kept (in the open output), the validator they came
/// with and the total the server named. The retry asks for the rest with
/// `Range` and `If-Range`, like `-C` (RFC 9110 sections 14.2, 13.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carry {
    pub have: u64,
    pub validator: String,
    /// The representation's complete length, when the first response said.
    pub total: Option<u64>,
}

impl Carry {
    pub fn request_edits(&self) -> Vec<HeaderEdit> {
        vec![
            HeaderEdit {
                name: "Range".into(),
                value: Some(format!("bytes={}-", self.have).into_bytes()),
            },
            HeaderEdit {
                name: "If-Range".into(),
                value: Some(self.validator.clone().into_bytes()),
            },
        ]
    }
}

/// What an opened body says about continuing it later: its validator
/// and complete length, and whether its bytes are decoded (then a byte
/// count of the output is no offset into the representation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyFacts {
    pub validator: Option<String>,
    pub total: Option<u64>,
    pub decoded: bool,
}

impl BodyFacts {
    /// The carry for a retry once `have` bytes of this body are kept:
    /// none without a validator, for decoded bytes, or with nothing kept.
    pub fn carry(&self, have: u64) -> Option<Carry> {
        if self.decoded || have == 0 || self.total.is_some_and(|t| have >= t) {
            return None;
        }
        Some(Carry {
            have,
            validator: self.validator.clone()?,
            total: self.total,
        })
    }
}

/// The longest suffix added to the base name: `.part.meta.tmp`.
const LONGEST_SUFFIX: usize = ".part.meta.tmp".len();
/// `~` and eight hex digits.
const HASH_TAG: usize = 9;

/// `dest`, or, when `dest`'s name is too long for `.part.meta.tmp` to
/// follow it within NAME_MAX, its name shortened and tagged with a hash of
/// the whole name: the same final name always finds the same part (the next
/// `-C` run must), and two long names that share a beginning do not share one.
fn part_base(dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap_or_default();
    if name.len() + LONGEST_SUFFIX <= MAX_NAME {
        return dest.to_path_buf();
    }
    let mut short = fit_name(name, MAX_NAME - LONGEST_SUFFIX - HASH_TAG);
    short.push(format!("~{:08x}", fnv1a(name.as_bytes())));
    dest.with_file_name(short)
}

/// FNV-1a, 32 bits: a hash that never changes between runs or Rust versions.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn parse_meta(text: &str) -> Option<String> {
    let v = text.lines().next()?.strip_prefix("if-range ")?;
    (!v.is_empty() && !v.bytes().any(|b| b.is_ascii_control())).then(|| v.to_string())
}

/// The validator to resume this response with later: a strong ETag, else
/// Last-Modified. A weak ETag cannot be used in `If-Range` (RFC 9110
/// section 13.1.5).
pub fn validator_of(head: &ResponseHead) -> Option<String> {
    let text = |name| {
        head.header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.bytes().any(|b| b.is_ascii_control()))
    };
    match text("etag") {
        Some(e) if !e.starts_with("W/") => Some(e.to_string()),
        _ => text("last-modified").map(str::to_string),
    }
}

/// A `Content-Range` value (RFC 9110 section 14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes FIRST-LAST/TOTAL` (`*` for an unknown total).
    Bytes {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
    /// `bytes */TOTAL`, sent with 416.
    Unsatisfied { total: u64 },
}

pub fn parse_content_range(value: &[u8]) -> Option<ContentRange> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let rest = text.strip_prefix("bytes ")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    if range == "*" {
        return Some(ContentRange::Unsatisfied {
            total: number(total)?,
        });
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (number(first)?, number(last)?);
    let total = if total == "*" {
        None
    } else {
        Some(number(total)?)
    };
    if last < first || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(ContentRange::Bytes { first, last, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_parts_that_fit() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("a".repeat(241));
        assert_eq!(part_base(&short), short);
        let long = |c: &str| dir.path().join(c.repeat(255));
        let p = Partial::for_dest(&long("a"));
        let name = p.part.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= MAX_NAME - ".meta.tmp".len(), "{name}");
        assert!(name.ends_with(".part") && name.contains('~'), "{name}");
        // The same name finds the same part; another long name does not.
        assert_eq!(Partial::for_dest(&long("a")).part, p.part);
        let other = dir.path().join(format!("{}b", "a".repeat(254)));
        assert_ne!(Partial::for_dest(&other).part, p.part);
        // Every file -C makes can be made.
        std::fs::write(&p.part, "1234").unwrap();
        p.write_meta(Some("\"e\"")).unwrap();
        let again = Partial::for_dest(&long("a"));
        assert_eq!((again.have, again.validator.as_deref()), (4, Some("\"e\"")));
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }
    use crate::http::Header;
    use crate::http::Version;

    #[test]
    fn a_retry_carries_only_undecoded_bytes_with_a_validator() {
        let facts = |validator: Option<&str>, total, decoded| BodyFacts {
            validator: validator.map(str::to_string),
            total,
            decoded,
        };
        let carry = |have, total| {
            Some(Carry {
                have,
                validator: "\"e\"".into(),
                total,
            })
        };
        // (facts, bytes kept, carry)
        let cases = [
            (facts(Some("\"e\""), Some(10), false), 4, carry(4, Some(10))),
            (facts(Some("\"e\""), None, false), 4, carry(4, None)),
            (facts(None, Some(10), false), 4, None),
            (facts(Some("\"e\""), Some(10), true), 4, None),
            (facts(Some("\"e\""), Some(10), false), 0, None),
            (facts(Some("\"e\""), Some(10), false), 10, None),
        ];
        for (facts, have, want) in cases {
            assert_eq!(facts.carry(have), want, "{facts:?} {have}");
        }
        let edits = carry(4, None).unwrap().request_edits();
        assert_eq!(edits[0].value.as_deref(), Some(&b"bytes=4-"[..]));
        assert_eq!(edits[1].value.as_deref(), Some(&b"\"e\""[..]));
    }

    #[test]
    fn content_ranges() {
        let cases: [(&str, Option<ContentRange>); 10] = [
            (
                "bytes 100-199/200",
                Some(ContentRange::Bytes {
                    first: 100,
                    last: 199,
                    total: Some(200),
                }),
            ),
            (
                "bytes 0-0/*",
                Some(ContentRange::Bytes {
                    first: 0,
                    last: 0,
                    total: None,
                }),
            ),
            (
                "bytes */4096",
                Some(ContentRange::Unsatisfied { total: 4096 }),
            ),
            ("bytes 5-4/10", None),
            ("bytes 5-10/10", None),
            ("bytes -5/10", None),
            ("items 0-1/2", None),
            ("bytes 1-2", None),
            ("bytes +1-2/3", None),
            ("bytes 99999999999999999999-1/2", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_content_range(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn validators_prefer_strong_etags() {
        let head = |hs: &[(&str, &str)]| ResponseHead {
            version: Version::Http11,
            status: 200,
            reason: b"OK".to_vec(),
            headers: hs.iter().map(|(n, v)| Header::new(*n, *v)).collect(),
        };
        let lm = "Sun, 22 Nov 2026 03:00:00 GMT";
        let cases = [
            (
                vec![("ETag", "\"abc\""), ("Last-Modified", lm)],
                Some("\"abc\""),
            ),
            (vec![("ETag", "W/\"abc\""), ("Last-Modified", lm)], Some(lm)),
            (vec![("ETag", "W/\"abc\"")], None),
            (vec![], None),
        ];
        for (hs, want) in cases {
            assert_eq!(validator_of(&head(&hs)).as_deref(), want, "{hs:?}");
        }
    }

    #[test]
    fn a_segmented_part_records_its_ranges_and_old_readers_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = Partial::for_dest(&dir.path().join("f"));
        std::fs::write(&p.part, [7u8; 100]).unwrap();
        let done = [(50, 59), (0, 9), (10, 19), (90, 99), (55, 69)];
        p.write_ranges("\"e\"", 100, &done).unwrap();
        let text = std::fs::read_to_string(&p.meta).unwrap();
        assert_eq!(
            text,
            "wirecat-part 2\nif-range \"e\"\nlength 100\ndone 0-19\ndone 50-69\ndone 90-99\n"
        );
        // Version 1's reader finds no validator: no resume, no mixed file.
        assert_eq!(parse_meta(&text), None);
        let again = Partial::for_dest(&dir.path().join("f"));
        assert_eq!(again.have, 20);
        assert_eq!(again.validator.as_deref(), Some("\"e\""));
        let seg = again.segmented.clone().unwrap();
        assert_eq!((seg.total, seg.done), (100, vec![(50, 69), (90, 99)]));
        assert_eq!(
            again.request_edits()[0].value.as_deref(),
            Some(&b"bytes=20-"[..])
        );
        // Nothing from byte 0 yet: still asked as a range (a 206 at 0).
        p.write_ranges("\"e\"", 100, &[(50, 59)]).unwrap();
        let none = Partial::for_dest(&dir.path().join("f"));
        assert_eq!(none.have, 0);
        assert_eq!(
            none.request_edits()[0].value.as_deref(),
            Some(&b"bytes=0-"[..])
        );
        // A claim past the length, or a bad line, is no meta at all.
        for bad in ["done 0-100\n", "done 5-1\n", "done x\n"] {
            let text = format!("wirecat-part 2\nif-range \"e\"\nlength 100\n{bad}");
            assert_eq!(parse_meta_v2(&text), None, "{bad}");
        }
    }

    #[test]
    fn a_partial_round_trips_through_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big.iso");
        let empty = Partial::for_dest(&dest);
        assert_eq!((empty.have, empty.validator.clone()), (0, None));
        assert!(empty.request_edits().is_empty());

        std::fs::write(&empty.part, [1u8; 1234]).unwrap();
        empty.write_meta(Some("\"v1\"")).unwrap();
        let p = Partial::for_dest(&dest);
        assert_eq!(p.have, 1234);
        assert_eq!(p.validator.as_deref(), Some("\"v1\""));
        let edits = p.request_edits();
        assert_eq!(edits[0].value.as_deref(), Some(&b"bytes=1234-"[..]));
        assert_eq!(edits[1].value.as_deref(), Some(&b"\"v1\""[..]));

        // No validator: the part is never resumed.
        p.write_meta(None).unwrap();
        let p = Partial::for_dest(&dest);
        assert_eq!(p.validator, None);
        assert!(p.request_edits().is_empty());
    }
}

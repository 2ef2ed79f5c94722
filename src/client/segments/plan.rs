//! `--segments`' pure decisions: whether a first response can be split
//! (and why not, for the fallback note), how a length splits into ranges,
//! which range a connection that finished early takes over, and what a
//! segment's response head means. No I/O; table-tested.

use crate::client::partial::{parse_content_range, ContentRange};
use crate::http::response::ResponseHead;

/// One byte range of the file, `start..end`, and how much of it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    /// One past the last byte; stealing moves it down.
    pub end: u64,
    /// Bytes of it written so far, from `start`.
    pub got: u64,
}

impl Span {
    pub fn new(start: u64, end: u64) -> Span {
        Span { start, end, got: 0 }
    }

    /// The next byte to fetch.
    pub fn at(&self) -> u64 {
        self.start + self.got
    }

    pub fn left(&self) -> u64 {
        self.end.saturating_sub(self.at())
    }

    pub fn is_whole(&self) -> bool {
        self.left() == 0
    }
}

/// What a first 200 says about splitting its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// Split into these many ranges, checked against `validator`.
    Split { total: u64, validator: String },
    /// One connection, for this reason (said in the fallback note).
    Single(&'static str),
}

/// The facts of the first response that decide a split.
#[derive(Debug, Clone, Copy)]
pub struct First<'a> {
    pub status: u16,
    /// `Accept-Ranges` lists `bytes`.
    pub ranges: bool,
    /// The body's length, from `Content-Length` (none when chunked or close-delimited).
    pub length: Option<u64>,
    /// The body is decoded (`--compressed`): its bytes are no offsets.
    pub decoded: bool,
    pub etag: Option<&'a str>,
    pub last_modified: bool,
}

/// Whether `first` may be split into `count` segments of at least `min` bytes.
pub fn fit(first: &First<'_>, count: usize, min: u64) -> Fit {
    let Some(total) = first.length else {
        return Fit::Single("the response has no Content-Length");
    };
    if first.status != 200 {
        return Fit::Single("the response is not a 200");
    }
    if !first.ranges {
        return Fit::Single("the server does not accept byte ranges");
    }
    if first.decoded {
        return Fit::Single("the body is decoded (--compressed)");
    }
    let validator = match first.etag {
        Some(tag) if !tag.starts_with("W/") => tag.to_string(),
        // A weak tag or a date may stay the same across two versions of
        // the file within its second: If-Range needs a strong validator
        // to promise that every range comes from the same bytes (RFC 9110
        // section 13.1.5).
        Some(_) => return Fit::Single("the ETag is weak"),
        None if first.last_modified => {
            return Fit::Single("Last-Modified alone is not a strong validator")
        }
        None => return Fit::Single("the response has no ETag"),
    };
    if count < 2 || total < 2 * min.max(1) {
        return Fit::Single("the file is too small to split");
    }
    Fit::Split { total, validator }
}

/// `total` bytes as at most `count` ranges of at least `min` bytes (the
/// first ones one byte longer when it does not divide evenly).
pub fn split(total: u64, count: usize, min: u64) -> Vec<Span> {
    let count = (count as u64).min(total / min.max(1)).max(1);
    let (size, extra) = (total / count, total % count);
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 0..count {
        let end = start + size + u64::from(i < extra);
        spans.push(Span::new(start, end));
        start = end;
    }
    spans
}

/// `-C`: the spans still to fetch of `total` bytes when `..have` and the
/// `done` ranges (`first..=last`, sorted, apart) are in the part: the
/// first starts at `have` (the first connection's 206 continues there);
/// large holes are halved until there are `count` spans of `min` bytes.
pub fn resume_spans(
    have: u64,
    total: u64,
    done: &[(u64, u64)],
    count: usize,
    min: u64,
) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut at = have;
    // Ranges at or before `have` cannot be: the 206 continues at `have`.
    for &(first, last) in done.iter().filter(|r| r.0 > have) {
        if first > at {
            spans.push(Span::new(at, first));
        }
        at = at.max(last + 1);
    }
    if at < total {
        spans.push(Span::new(at, total));
    }
    while spans.len() < count {
        let Some((i, start, end)) = steal(&spans, min) else {
            break;
        };
        spans[i].end = start;
        spans.push(Span::new(start, end));
    }
    spans
}

/// A connection is free: the span with the most bytes left gives up its
/// second half when that half is at least `min` bytes. Returns its index
/// and the range taken (`start..end`); the caller shortens that span.
pub fn steal(spans: &[Span], min: u64) -> Option<(usize, u64, u64)> {
    let (i, span) = spans
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (s.left(), std::cmp::Reverse(*i)))?;
    let half = span.left() / 2;
    if half < min.max(1) {
        return None;
    }
    Some((i, span.end - half, span.end))
}

/// What a segment's response head means, asked for `first..=last` of
/// `total` bytes with `If-Range: validator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 1xx: the final head is still to come.
    Interim,
    /// The 206 we asked for: its body is the range's bytes.
    Take,
    /// Anything else; the segmented download cannot trust it.
    Refuse(String),
}

pub fn judge(head: &ResponseHead, first: u64, last: u64, total: u64, validator: &str) -> Verdict {
    if head.is_interim() {
        return Verdict::Interim;
    }
    if head.status == 200 {
        // If-Range did not match: the file changed since the first response.
        return Verdict::Refuse("the server sent the whole file for a range (it changed?)".into());
    }
    if head.status != 206 {
        return Verdict::Refuse(format!("a range was answered with {}", head.status));
    }
    let tag = head
        .header("etag")
        .and_then(|v| std::str::from_utf8(v).ok());
    if tag.map(str::trim) != Some(validator) {
        return Verdict::Refuse(format!(
            "a range came with ETag {} instead of {validator}",
            tag.unwrap_or("(none)")
        ));
    }
    let range = head.header("content-range").and_then(parse_content_range);
    let want = ContentRange::Bytes {
        first,
        last,
        total: Some(total),
    };
    if range != Some(want) {
        let said = head
            .header("content-range")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "(none)".into());
        return Verdict::Refuse(format!(
            "asked for bytes {first}-{last}/{total}, the server sent Content-Range {said}"
        ));
    }
    if head.header("content-encoding").is_some() {
        return Verdict::Refuse("a range came content-encoded".into());
    }
    Verdict::Take
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::try_parse_response;

    fn first(status: u16, length: Option<u64>, etag: Option<&str>) -> First<'_> {
        First {
            status,
            ranges: true,
            length,
            decoded: false,
            etag,
            last_modified: true,
        }
    }

    #[test]
    fn only_a_whole_ranged_strongly_tagged_body_splits() {
        let tag = Some("\"e1\"");
        let split = |total| Fit::Split {
            total,
            validator: "\"e1\"".into(),
        };
        let cases: Vec<(First, usize, u64, Fit)> = vec![
            (first(200, Some(100), tag), 4, 10, split(100)),
            (first(200, Some(20), tag), 4, 10, split(20)),
            (
                first(200, Some(19), tag),
                4,
                10,
                Fit::Single("the file is too small to split"),
            ),
            (
                first(200, Some(100), tag),
                1,
                1,
                Fit::Single("the file is too small to split"),
            ),
            (
                first(200, None, tag),
                4,
                1,
                Fit::Single("the response has no Content-Length"),
            ),
            (
                first(206, Some(100), tag),
                4,
                1,
                Fit::Single("the response is not a 200"),
            ),
            (
                first(200, Some(100), Some("W/\"e\"")),
                4,
                1,
                Fit::Single("the ETag is weak"),
            ),
            (
                first(200, Some(100), None),
                4,
                1,
                Fit::Single("Last-Modified alone is not a strong validator"),
            ),
            (
                First {
                    ranges: false,
                    ..first(200, Some(100), tag)
                },
                4,
                1,
                Fit::Single("the server does not accept byte ranges"),
            ),
            (
                First {
                    decoded: true,
                    ..first(200, Some(100), tag)
                },
                4,
                1,
                Fit::Single("the body is decoded (--compressed)"),
            ),
            (
                First {
                    last_modified: false,
                    ..first(200, Some(100), None)
                },
                4,
                1,
                Fit::Single("the response has no ETag"),
            ),
        ];
        for (f, count, min, want) in cases {
            assert_eq!(fit(&f, count, min), want, "{f:?} {count} {min}");
        }
    }

    #[test]
    fn splits_cover_every_byte_once() {
        for (total, count, min, n) in [
            (1u64, 8usize, 1u64, 1usize),
            (7, 8, 1, 7),
            (9, 8, 1, 8),
            (100, 3, 1, 3),
            (100, 16, 10, 10),
            (1 << 30, 16, 1 << 20, 16),
        ] {
            let spans = split(total, count, min);
            assert_eq!(spans.len(), n, "{total} {count}");
            assert_eq!(spans[0].start, 0);
            assert_eq!(spans.last().unwrap().end, total);
            for w in spans.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(w[0].end - w[0].start >= w[1].end - w[1].start);
            }
            let sizes: Vec<u64> = spans.iter().map(|s| s.end - s.start).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn a_resume_fetches_only_the_holes() {
        let span = |start, end| Span::new(start, end);
        type Case<'a> = (u64, &'a [(u64, u64)], usize, Vec<Span>);
        let cases: Vec<Case> = vec![
            (0, &[], 1, vec![span(0, 100)]),
            (10, &[], 2, vec![span(10, 55), span(55, 100)]),
            (
                10,
                &[(20, 29), (50, 99)],
                1,
                vec![span(10, 20), span(30, 50)],
            ),
            (
                10,
                &[(20, 29), (50, 99)],
                3,
                vec![span(10, 20), span(30, 40), span(40, 50)],
            ),
            (0, &[(0, 9), (50, 99)], 1, vec![span(0, 50)]),
            (
                40,
                &[(10, 49)],
                3,
                vec![span(40, 55), span(70, 100), span(55, 70)],
            ),
            (
                40,
                &[(40, 99)],
                3,
                vec![span(40, 55), span(70, 100), span(55, 70)],
            ),
            (60, &[(70, 99)], 4, vec![span(60, 70)]),
            (
                10,
                &[(20, 29)],
                3,
                vec![span(10, 20), span(30, 65), span(65, 100)],
            ),
        ];
        for (have, done, count, want) in cases {
            assert_eq!(
                resume_spans(have, 100, done, count, 10),
                want,
                "{have} {done:?}"
            );
        }
    }

    #[test]
    fn the_span_with_most_left_gives_up_its_second_half() {
        let span = |start, end, got| Span { start, end, got };
        type Case = (Vec<Span>, u64, Option<(usize, u64, u64)>);
        let cases: Vec<Case> = vec![
            (
                vec![span(0, 100, 100), span(100, 200, 10)],
                1,
                Some((1, 155, 200)),
            ),
            (
                vec![span(0, 100, 20), span(100, 200, 20)],
                1,
                Some((0, 60, 100)),
            ),
            (vec![span(0, 100, 100), span(100, 200, 199)], 1, None),
            (vec![span(0, 100, 100), span(100, 200, 90)], 10, None),
            (
                vec![span(0, 100, 100), span(100, 200, 80)],
                10,
                Some((1, 190, 200)),
            ),
            (vec![span(0, 10, 10)], 1, None),
            (vec![], 1, None),
        ];
        for (spans, min, want) in cases {
            assert_eq!(steal(&spans, min), want, "{spans:?}");
        }
    }

    #[test]
    fn a_segment_takes_only_the_exact_range_of_the_same_file() {
        let head = |text: &str| {
            let raw = format!("{text}\r\n\r\n");
            try_parse_response(raw.as_bytes(), 4096).unwrap().unwrap().0
        };
        let ok = "HTTP/1.1 206 Partial\r\nETag: \"e1\"\r\nContent-Range: bytes 10-19/100";
        let cases = [
            (ok.to_string(), Verdict::Take),
            ("HTTP/1.1 100 Continue".into(), Verdict::Interim),
            (
                "HTTP/1.1 200 OK\r\nETag: \"e2\"".into(),
                Verdict::Refuse("the server sent the whole file for a range (it changed?)".into()),
            ),
            (
                ok.replace("e1", "e2"),
                Verdict::Refuse("a range came with ETag \"e2\" instead of \"e1\"".into()),
            ),
            (
                ok.replace("10-19", "10-20"),
                Verdict::Refuse(
                    "asked for bytes 10-19/100, the server sent Content-Range bytes 10-20/100"
                        .into(),
                ),
            ),
            (
                ok.replace("/100", "/101"),
                Verdict::Refuse(
                    "asked for bytes 10-19/100, the server sent Content-Range bytes 10-19/101"
                        .into(),
                ),
            ),
            (
                "HTTP/1.1 416 No\r\nETag: \"e1\"".into(),
                Verdict::Refuse("a range was answered with 416".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(judge(&head(&text), 10, 19, 100, "\"e1\""), want, "{text}");
        }
    }
}

//! A streaming `multipart/form-data` parser (RFC 7578 over RFC 2046
//! section 5.1), sans I/O in httparse's manner: [`Multipart::next`] looks
//! at the buffered body bytes and answers one [`Event`] with how many bytes
//! it used, or `Ok(None)` for "need more". Part data is handed out as it
//! arrives (a range of the input), holding back only what could be the
//! start of a delimiter, so a part of any size passes through in bounded
//! memory. A part's head is bounded by [`MAX_PART_HEAD`].

use std::ops::Range;

use super::disposition;

/// The largest head of one part (its header lines), in bytes.
pub const MAX_PART_HEAD: usize = 8 * 1024;

/// Why a body is not well-formed multipart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartError {
    /// A part's head is over [`MAX_PART_HEAD`] or not header lines.
    BadPartHead,
    /// A part has no `Content-Disposition: form-data; name=...`.
    NoDisposition,
    /// Something other than CRLF or `--` after a delimiter.
    BadDelimiter,
    /// The body ended before the closing delimiter.
    Truncated,
}

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MultipartError::BadPartHead => "bad part head",
            MultipartError::NoDisposition => "part without form-data disposition",
            MultipartError::BadDelimiter => "bad delimiter line",
            MultipartError::Truncated => "body ended before the closing delimiter",
        })
    }
}

/// One step of the parse. `Data` with an empty range marks bytes used
/// without a part's data in them (preamble, delimiter lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part begins: its field name and, for a file, the file name as
    /// sent (decoded, not sanitised).
    PartStart {
        field: String,
        filename: Option<String>,
    },
    /// Bytes of the current part: this range of the input.
    Data(Range<usize>),
    PartEnd,
    /// The closing delimiter was read; the rest is epilogue.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter (a preamble is skipped).
    Preamble,
    /// Just after a delimiter: CRLF (a part follows) or `--` (the end).
    AfterDelimiter,
    PartHead,
    PartData,
    /// After the closing delimiter: everything is consumed.
    Epilogue,
}

/// The parser for one body.
#[derive(Debug, Clone)]
pub struct Multipart {
    /// CRLF, `--`, then the boundary: what ends a part's data.
    delimiter: Vec<u8>,
    state: State,
    /// Preamble bytes were skipped: the body no longer starts here.
    skipped: bool,
}

/// The boundary of a `multipart/form-data` Content-Type value (RFC 2046
/// section 5.1.1: 1 to 70 characters), quoted or not.
pub fn boundary(content_type: &[u8]) -> Option<Vec<u8>> {
    let mut parts = content_type.splitn(2, |&b| b == b';');
    let kind = super::trim(parts.next()?);
    if !kind.eq_ignore_ascii_case(b"multipart/form-data") {
        return None;
    }
    let (_, value) = disposition::params(parts.next()?)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))?;
    let ok = (1..=70).contains(&value.len()) && value.iter().all(|b| (b' '..=b'~').contains(b));
    ok.then_some(value)
}

impl Multipart {
    pub fn new(boundary: &[u8]) -> Multipart {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        Multipart {
            delimiter,
            state: State::Preamble,
            skipped: false,
        }
    }

    /// Has the closing delimiter been read?
    pub fn is_done(&self) -> bool {
        self.state == State::Epilogue
    }

    /// The next event from the front of `input`, and the bytes it used;
    /// `Ok(None)`: nothing can be decided without more input (`at_end`
    /// says no more will come, which is then an error unless done).
    pub fn next(
        &mut self,
        input: &[u8],
        at_end: bool,
    ) -> Result<Option<(Event, usize)>, MultipartError> {
        let got = match self.state {
            State::Preamble => self.preamble(input),
            State::AfterDelimiter => self.after_delimiter(input)?,
            State::PartHead => self.part_head(input)?,
            State::PartData => self.part_data(input),
            State::Epilogue => {
                return Ok((!input.is_empty()).then_some((Event::Data(0..0), input.len())))
            }
        };
        if got.is_none() && at_end && self.state != State::Epilogue {
            return Err(MultipartError::Truncated);
        }
        Ok(got)
    }

    /// The first delimiter may open the body without the CRLF before it;
    /// anything before the first delimiter line is preamble, skipped.
    fn preamble(&mut self, input: &[u8]) -> Option<(Event, usize)> {
        let dash = &self.delimiter[2..];
        if !self.skipped {
            if input.starts_with(dash) {
                self.state = State::AfterDelimiter;
                return Some((Event::Data(0..0), dash.len()));
            }
            if dash.starts_with(input) {
                return None;
            }
        }
        if let Some(i) = find(input, &self.delimiter) {
            self.state = State::AfterDelimiter;
            return Some((Event::Data(0..0), i + self.delimiter.len()));
        }
        // Keep what could be the start of a delimiter line.
        let keep = self.delimiter.len() - 1;
        let n = input.len().saturating_sub(keep);
        if n == 0 {
            return None;
        }
        self.skipped = true;
        Some((Event::Data(0..0), n))
    }

    fn after_delimiter(&mut self, input: &[u8]) -> Result<Option<(Event, usize)>, MultipartError> {
        // Transport padding (RFC 2046 section 5.1.1) may precede the CRLF.
        let pad = input
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let rest = &input[pad..];
        if rest.len() < 2 {
            return Ok(None);
        }
        if rest.starts_with(b"\r\n") {
            self.state = State::PartHead;
            Ok(Some((Event::Data(0..0), pad + 2)))
        } else if rest.starts_with(b"--") {
            self.state = State::Epilogue;
            Ok(Some((Event::Done, pad + 2)))
        } else {
            Err(MultipartError::BadDelimiter)
        }
    }

    fn part_head(&mut self, input: &[u8]) -> Result<Option<(Event, usize)>, MultipartError> {
        let head = &input[..input.len().min(MAX_PART_HEAD + 4)];
        let end = if head.starts_with(b"\r\n") {
            Some(2)
        } else {
            find(head, b"\r\n\r\n").map(|i| i + 4)
        };
        let Some(end) = end else {
            if input.len() >= MAX_PART_HEAD + 4 {
                return Err(MultipartError::BadPartHead);
            }
            return Ok(None);
        };
        let mut field = None;
        let mut filename = None;
        for line in input[..end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let colon = line.iter().position(|&b| b == b':');
            let (name, value) = colon
                .map(|i| (&line[..i], &line[i + 1..]))
                .ok_or(MultipartError::BadPartHead)?;
            if !name.eq_ignore_ascii_case(b"content-disposition") {
                continue;
            }
            let value = super::trim(value);
            if !value
                .get(..9)
                .is_some_and(|k| k.eq_ignore_ascii_case(b"form-data"))
            {
                return Err(MultipartError::NoDisposition);
            }
            field = disposition::params(value)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"name"))
                .map(|(_, v)| String::from_utf8_lossy(&v).into_owned());
            let has_filename = disposition::params(value).iter().any(|(k, _)| {
                k.eq_ignore_ascii_case(b"filename") || k.eq_ignore_ascii_case(b"filename*")
            });
            filename = if has_filename {
                Some(disposition::filename(value).unwrap_or_default())
            } else {
                None
            };
        }
        let field = field.ok_or(MultipartError::NoDisposition)?;
        self.state = State::PartData;
        Ok(Some((Event::PartStart { field, filename }, end)))
    }

    fn part_data(&mut self, input: &[u8]) -> Option<(Event, usize)> {
        match find(input, &self.delimiter) {
            Some(0) => {
                self.state = State::AfterDelimiter;
                Some((Event::PartEnd, self.delimiter.len()))
            }
            Some(i) => Some((Event::Data(0..i), i)),
            None => {
                // Hold back what could be the start of the delimiter.
                let held = (1..self.delimiter.len().min(input.len() + 1))
                    .rev()
                    .find(|&n| input.ends_with(&self.delimiter[..n]))
                    .unwrap_or(0);
                let n = input.len() - held;
                (n > 0).then_some((Event::Data(0..n), n))
            }
        }
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field, file name, data.
    type Part = (String, Option<String>, Vec<u8>);

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"note\"\r\n\r\n\
        hi\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        line1\r\n--Xy not yet\r\n\r\n--XyZ  \r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"empty\"\r\n\r\n\
        \r\n--XyZ--\r\nepilogue";

    /// Events with data joined per part, feeding `input` in pieces cut at
    /// `cuts`, the way a session would (unconsumed bytes kept in front).
    fn parse(input: &[u8], cuts: &[usize]) -> Result<Vec<Part>, MultipartError> {
        let mut m = Multipart::new(b"XyZ");
        let mut buf = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        let mut fed = 0;
        let mut ends = cuts.to_vec();
        ends.push(input.len());
        for end in ends {
            buf.extend_from_slice(&input[fed..end]);
            fed = end;
            let at_end = fed == input.len();
            let mut steps = 0;
            while let Some((ev, n)) = m.next(&buf, at_end)? {
                steps += 1;
                assert!(steps < 10_000, "no progress");
                match ev {
                    Event::PartStart { field, filename } => {
                        parts.push((field, filename, Vec::new()))
                    }
                    Event::Data(r) => {
                        if let Some(p) = parts.last_mut().filter(|_| !r.is_empty()) {
                            p.2.extend_from_slice(&buf[r]);
                        }
                    }
                    Event::PartEnd | Event::Done => {}
                }
                buf.drain(..n);
                if n == 0 && matches!(m.state, State::Epilogue) {
                    break;
                }
            }
        }
        assert!(m.is_done());
        Ok(parts)
    }

    fn want() -> Vec<Part> {
        vec![
            ("note".into(), None, b"hi".to_vec()),
            (
                "file".into(),
                Some("a b.txt".into()),
                b"line1\r\n--Xy not yet\r\n".to_vec(),
            ),
            ("file".into(), Some("empty".into()), b"".to_vec()),
        ]
    }

    #[test]
    fn whole_body() {
        assert_eq!(parse(BODY, &[]).unwrap(), want());
    }

    #[test]
    fn every_split_point() {
        for cut in 0..=BODY.len() {
            assert_eq!(parse(BODY, &[cut]).unwrap(), want(), "cut at {cut}");
        }
    }

    #[test]
    fn byte_at_a_time() {
        let cuts: Vec<usize> = (1..BODY.len()).collect();
        assert_eq!(parse(BODY, &cuts).unwrap(), want());
    }

    #[test]
    fn every_prefix_needs_more() {
        let end = BODY.len() - b"epilogue".len();
        for n in 0..end - 2 {
            let mut m = Multipart::new(b"XyZ");
            let mut buf = BODY[..n].to_vec();
            while let Some((ev, used)) = m.next(&buf, false).unwrap() {
                assert_ne!(ev, Event::Done, "prefix {n}");
                buf.drain(..used);
            }
            assert!(!m.is_done(), "prefix {n}");
            assert_eq!(
                m.next(&buf, true),
                Err(MultipartError::Truncated),
                "prefix {n}"
            );
        }
    }

    #[test]
    fn malformed() {
        let cases: &[(&[u8], MultipartError)] = &[
            (b"--XyZ\r\nX-No-Colon\r\n\r\n", MultipartError::BadPartHead),
            (
                b"--XyZ\r\nContent-Type: a\r\n\r\nx\r\n--XyZ--",
                MultipartError::NoDisposition,
            ),
            (
                b"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n",
                MultipartError::NoDisposition,
            ),
            (b"--XyZxx", MultipartError::BadDelimiter),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nabc",
                MultipartError::Truncated,
            ),
        ];
        for (body, err) in cases {
            assert_eq!(
                parse(body, &[]),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let huge = [b"--XyZ\r\nA: ".as_slice(), &[b'a'; MAX_PART_HEAD + 10]].concat();
        assert_eq!(parse(&huge, &[]), Err(MultipartError::BadPartHead));
    }

    #[test]
    fn boundaries() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"multipart/form-data; boundary=abc", Some(b"abc")),
            (b"Multipart/Form-Data;boundary=\"a b:c\"", Some(b"a b:c")),
            (
                b"multipart/form-data; charset=x; boundary=----WebKitFormBoundaryz",
                Some(b"----WebKitFormBoundaryz"),
            ),
            (b"multipart/form-data", None),
            (b"multipart/form-data; boundary=", None),
            (b"multipart/mixed; boundary=abc", None),
            (b"text/plain; boundary=abc", None),
        ];
        for (ct, want) in cases {
            assert_eq!(
                boundary(ct).as_deref(),
                *want,
                "{:?}",
                String::from_utf8_lossy(ct)
            );
        }
        assert_eq!(
            boundary(&[b"multipart/form-data; boundary=".as_slice(), &[b'a'; 71]].concat()),
            None
        );
    }
}

//! Line framing for the greeting protocol, pure over byte slices: a line
//! ends with LF, an optional CR before it is dropped (so LF and CRLF both
//! work, even when the CR and LF arrive in different reads), and a line
//! longer than a cap is an error rather than a reason to buffer forever.
//!
//! TCP is a byte stream with no message boundaries ("sticky packets"); this
//! is what puts them back. Nothing here does I/O.

/// The default longest line, terminator excluded.
pub const DEFAULT_MAX_LINE: usize = 8 * 1024;

/// Why no line could be taken from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// More than the cap of bytes came without a line end.
    TooLong,
}

/// Takes the first complete line from `buf`.
///
/// Returns the line without its LF or CRLF and the bytes it used, `None`
/// when no line end has arrived yet, or `TooLong` once the line certainly
/// exceeds `max` bytes. Only the first `max + 2` bytes are searched, so a
/// client that never sends LF costs a bounded scan.
pub fn try_parse_line(buf: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, LineError> {
    let window = &buf[..buf.len().min(max.saturating_add(2))];
    match memchr::memchr(b'\n', window) {
        Some(i) => {
            let line = strip_cr(&buf[..i]);
            if line.len() > max {
                return Err(LineError::TooLong);
            }
            Ok(Some((line, i + 1)))
        }
        // `max` bytes and a CR could still be waiting for their LF.
        None if buf.len() >= max.saturating_add(2) => Err(LineError::TooLong),
        None => Ok(None),
    }
}

/// The unterminated last line left in `buf` when the peer has closed: the
/// lesson answers it rather than dropping it. `None` if nothing is left.
pub fn final_line(buf: &[u8], max: usize) -> Result<Option<&[u8]>, LineError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let line = strip_cr(buf);
    if line.len() > max {
        return Err(LineError::TooLong);
    }
    Ok(Some(line))
}

/// Drops one trailing LF or CRLF (for datagrams, which carry one message
/// each, and for lines read from stdin).
pub fn trim_line_end(data: &[u8]) -> &[u8] {
    strip_cr(data.strip_suffix(b"\n").unwrap_or(data))
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` the way a session sees reads: appended to a buffer,
    /// every complete line taken after each one, the rest kept.
    fn frame(chunks: &[&[u8]], max: usize) -> (Vec<Vec<u8>>, Result<Vec<u8>, LineError>) {
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match try_parse_line(&buf, max) {
                    Ok(Some((line, used))) => {
                        lines.push(line.to_vec());
                        buf.drain(..used);
                    }
                    Ok(None) => break,
                    Err(e) => return (lines, Err(e)),
                }
            }
        }
        (lines, Ok(buf))
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a [u8], Result<Option<(&'a [u8], usize)>, LineError>);
        let cases: &[Case] = &[
            (b"", Ok(None)),
            (b"abc", Ok(None)),
            (b"abc\r", Ok(None)),
            (b"abc\n", Ok(Some((b"abc", 4)))),
            (b"abc\r\n", Ok(Some((b"abc", 5)))),
            (b"\n", Ok(Some((b"", 1)))),
            (b"\r\n", Ok(Some((b"", 2)))),
            (b"a\rb\n", Ok(Some((b"a\rb", 4)))),
            (b"a\r\r\n", Ok(Some((b"a\r", 4)))),
            (b"one\ntwo\n", Ok(Some((b"one", 4)))),
            (b"\xff\xfe\n", Ok(Some((b"\xff\xfe", 3)))),
        ];
        for (input, want) in cases {
            assert_eq!(try_parse_line(input, 100), *want, "{input:?}");
        }
    }

    #[test]
    fn cap_is_on_the_line_not_its_terminator() {
        let max = 4;
        assert_eq!(try_parse_line(b"abcd\n", max), Ok(Some((&b"abcd"[..], 5))));
        assert_eq!(
            try_parse_line(b"abcd\r\n", max),
            Ok(Some((&b"abcd"[..], 6)))
        );
        assert_eq!(try_parse_line(b"abcd\r", max), Ok(None));
        assert_eq!(try_parse_line(b"abcde", max), Ok(None));
        assert_eq!(try_parse_line(b"abcde\n", max), Err(LineError::TooLong));
        assert_eq!(try_parse_line(b"abcdef", max), Err(LineError::TooLong));
        assert_eq!(try_parse_line(b"abcd\rx", max), Err(LineError::TooLong));
        // Lines after a long one are not searched: the cap bounds the scan.
        assert_eq!(
            try_parse_line(b"abcdefgh\nok\n", max),
            Err(LineError::TooLong)
        );
        assert_eq!(final_line(b"abcd\r", max), Ok(Some(&b"abcd"[..])));
        assert_eq!(final_line(b"abcde", max), Err(LineError::TooLong));
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let stream: &[u8] = b"Michael\r\nTracy\nSarah\r\n\r\nexit\n";
        let want: Vec<Vec<u8>> = ["Michael", "Tracy", "Sarah", "", "exit"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for cut in 0..=stream.len() {
            let (lines, rest) = frame(&[&stream[..cut], &stream[cut..]], 100);
            assert_eq!(lines, want, "cut at {cut}");
            assert_eq!(rest, Ok(vec![]));
        }
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let (lines, _) = frame(&[&stream[..a], &stream[a..b], &stream[b..]], 100);
                assert_eq!(lines, want, "cuts at {a} and {b}");
            }
        }
    }

    #[test]
    fn byte_at_a_time() {
        let stream: &[u8] = b"Michael\r\nTracy\nSar";
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let (lines, rest) = frame(&chunks, 100);
        assert_eq!(lines, vec![b"Michael".to_vec(), b"Tracy".to_vec()]);
        assert_eq!(rest, Ok(b"Sar".to_vec()));
    }

    #[test]
    fn every_prefix_of_a_line_needs_more() {
        let line: &[u8] = b"Hello there\r\n";
        for end in 0..line.len() {
            assert_eq!(try_parse_line(&line[..end], 100), Ok(None), "{end}");
        }
        assert_eq!(try_parse_line(line, 100), Ok(Some((&line[..11], 13))));
    }

    #[test]
    fn crlf_split_between_reads() {
        let (lines, rest) = frame(&[b"abc\r", b"\ndef\r", b"\n"], 100);
        assert_eq!(lines, vec![b"abc".to_vec(), b"def".to_vec()]);
        assert_eq!(rest, Ok(vec![]));
    }

    #[test]
    fn many_lines_in_one_buffer() {
        let mut stream = Vec::new();
        for i in 0..1000 {
            stream.extend_from_slice(format!("m{i}\n").as_bytes());
        }
        let (lines, rest) = frame(&[&stream], 100);
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], b"m999");
        assert_eq!(rest, Ok(vec![]));
    }

    #[test]
    fn overlong_line_split_across_reads() {
        let long = [b'x'; 50];
        let (lines, rest) = frame(&[b"ok\n", &long[..30], &long[30..], b"\n"], 40);
        assert_eq!(lines, vec![b"ok".to_vec()]);
        assert_eq!(rest, Err(LineError::TooLong));
    }

    #[test]
    fn final_line_and_trim() {
        assert_eq!(final_line(b"", 10), Ok(None));
        assert_eq!(final_line(b"Sarah", 10), Ok(Some(&b"Sarah"[..])));
        assert_eq!(final_line(b"Sarah\r", 10), Ok(Some(&b"Sarah"[..])));
        assert_eq!(final_line(b"\r", 10), Ok(Some(&b""[..])));
        for (input, want) in [
            (&b"hi\n"[..], &b"hi"[..]),
            (b"hi\r\n", b"hi"),
            (b"hi", b"hi"),
            (b"hi\n\n", b"hi\n"),
            (b"", b""),
        ] {
            assert_eq!(trim_line_end(input), want, "{input:?}");
        }
    }
}

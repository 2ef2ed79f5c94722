//! The line grammar of the chunked transfer coding (RFC 9112 section 7.1):
//! size lines with their extensions (section 7.1.1) and trailer fields
//! (section 7.1.2), read leniently or strictly. Pure functions over one
//! line; the state machine that calls them is `body::BodyDecoder`.

use super::{is_tchar, trim, Header, ParseError};

/// How exactly chunked framing is read: request bodies strictly, response
/// bodies leniently (the reasons are in `body`'s module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temper {
    /// Bare LF line ends, extensions skipped unchecked, any trailer value.
    Lenient,
    /// Exactly the grammar of RFC 9112 section 7.1.
    Strict,
}

/// Longest chunk-size line (with extensions) or trailer field we accept.
pub const MAX_LINE: usize = 4096;

/// A line ending in LF, without its line ending. Leniently the CR before
/// the LF is optional, as RFC 9112 section 2.2 lets a recipient accept in a
/// head; strictly it is required (section 7.1 writes CRLF, and 2.2 covers
/// only the start line and fields) and no other CR may be in the line.
pub fn take_line(input: &[u8], temper: Temper) -> Result<Option<(&[u8], usize)>, ParseError> {
    match input.iter().take(MAX_LINE).position(|&b| b == b'\n') {
        Some(i) => {
            let line = &input[..i];
            let line = match line.strip_suffix(b"\r") {
                Some(line) if temper == Temper::Lenient || !line.contains(&b'\r') => line,
                None if temper == Temper::Lenient => line,
                _ => return Err(ParseError::BadChunk),
            };
            Ok(Some((line, i + 1)))
        }
        None if input.len() >= MAX_LINE => Err(ParseError::BadChunkSize),
        None => Ok(None),
    }
}

/// chunk-size [ chunk-ext ]: hex digits, then optional whitespace and
/// `;ext` parts, which we ignore (RFC 9112 section 7.1.1).
pub fn parse_chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ParseError::BadChunkSize);
    }
    let rest = trim(&line[digits..]);
    if !rest.is_empty() && rest[0] != b';' {
        return Err(ParseError::BadChunkSize);
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16).expect("checked hex") as u64;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(d))
            .ok_or(ParseError::BadChunkSize)?;
    }
    Ok(size)
}

/// `chunk-size [ chunk-ext ]` exactly as RFC 9112 section 7.1 has it:
/// `1*HEXDIG`, then extensions that are checked (and ignored): a space
/// after the size with no `;` after it is an error, not whitespace.
pub fn parse_chunk_size_strictly(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || !is_chunk_ext(&line[digits..]) {
        return Err(ParseError::BadChunkSize);
    }
    parse_chunk_size(&line[..digits])
}

/// RFC 9112 section 7.1.1: `chunk-ext = *( BWS ";" BWS chunk-ext-name
/// [ BWS "=" BWS chunk-ext-val ] )`, names tokens, values tokens or
/// quoted strings. Whitespace may come before a `;` or around `=`, never
/// at the end.
fn is_chunk_ext(mut ext: &[u8]) -> bool {
    let token_len = |s: &[u8]| s.iter().take_while(|&&b| is_tchar(b)).count();
    while !ext.is_empty() {
        let Some(rest) = bws(ext).strip_prefix(b";") else {
            return false;
        };
        let rest = bws(rest);
        let name = token_len(rest);
        if name == 0 {
            return false;
        }
        ext = &rest[name..];
        if let Some(value) = bws(ext).strip_prefix(b"=") {
            let value = bws(value);
            let len = match value.first() {
                Some(b'"') => quoted_string_len(value),
                _ => token_len(value),
            };
            if len == 0 {
                return false;
            }
            ext = &value[len..];
        }
    }
    true
}

/// Skips BWS before an element only: `trim` would also eat trailing
/// whitespace, which the grammar does not allow.
fn bws(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|&&b| matches!(b, b' ' | b'\t')).count()..]
}

/// The length of the quoted-string at the front of `s` (RFC 9110 section
/// 5.6.4), or 0 when there is none.
fn quoted_string_len(s: &[u8]) -> usize {
    // qdtext and the escaped byte of a quoted-pair: HTAB, SP, VCHAR, obs-text.
    let text = |b: u8| b == b'\t' || (b >= b' ' && b != 0x7f);
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return i + 1,
            b'\\' if i + 1 < s.len() && text(s[i + 1]) => i += 2,
            b'\\' => return 0,
            b if text(b) => i += 1,
            _ => return 0,
        }
    }
    0
}

/// One trailer field line. Strictly its value may hold no control
/// character but HTAB (RFC 9110 section 5.5).
pub fn parse_trailer(line: &[u8], temper: Temper) -> Result<Header, ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::BadChunk)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadChunk);
    }
    let value = trim(&line[colon + 1..]);
    if temper == Temper::Strict && value.iter().any(|&b| b != b'\t' && (b < b' ' || b == 0x7f)) {
        return Err(ParseError::BadChunk);
    }
    let name = String::from_utf8(name.to_vec()).map_err(|_| ParseError::BadChunk)?;
    Ok(Header::new(name, value.to_vec()))
}

//! The content codings wirecat knows (RFC 9110 section 8.4), the errors
//! decoding them can give, and the coding list of a message's head.

use std::fmt;
use std::io;

use crate::http::{list, Header};

/// Stacked codings decoded at most; more is refused as hostile.
pub const MAX_CODINGS: usize = 2;
/// Output produced per decompression step.
pub(super) const STEP: usize = 32 * 1024;

/// Where a stage sends its decoded output: the next stage, or the caller's sink.
pub(super) type Out<'a> = &'a mut dyn FnMut(&[u8]) -> Result<(), DecodeError>;

/// A content coding we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// RFC 1952, also spelled `x-gzip` (RFC 9110 section 8.4.1.3).
    Gzip,
    /// RFC 1950 zlib, or bare RFC 1951 deflate, which some servers send
    /// instead (RFC 9110 section 8.4.1.2); told apart by the first two bytes.
    Deflate,
    /// RFC 7932.
    Brotli,
}

impl Coding {
    /// The coding a Content-Encoding token names; `None` for `identity`.
    pub fn parse(token: &[u8]) -> Result<Option<Coding>, CodingError> {
        let t = token.to_ascii_lowercase();
        match t.as_slice() {
            b"gzip" | b"x-gzip" => Ok(Some(Coding::Gzip)),
            b"deflate" => Ok(Some(Coding::Deflate)),
            b"br" => Ok(Some(Coding::Brotli)),
            b"identity" => Ok(None),
            _ => Err(CodingError::Unsupported(
                String::from_utf8_lossy(token).into_owned(),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodingError {
    /// A coding we do not know (the body can still be saved raw).
    Unsupported(String),
    /// More stacked codings than [`MAX_CODINGS`].
    TooManyCodings(usize),
    /// The compressed data is malformed.
    Corrupt { coding: Coding, detail: String },
    /// The body ended inside the compressed stream.
    Truncated(Coding),
    /// The decoded size passed the cap for this many encoded bytes.
    Bomb { encoded: u64, decoded: u64 },
}

impl fmt::Display for CodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodingError::Unsupported(c) => write!(f, "unsupported Content-Encoding {c:?}"),
            CodingError::TooManyCodings(n) => write!(
                f,
                "{n} stacked Content-Encodings; at most {MAX_CODINGS} are decoded"
            ),
            CodingError::Corrupt { coding, detail } => {
                write!(f, "corrupt {} body: {detail}", coding.name())
            }
            CodingError::Truncated(c) => {
                write!(
                    f,
                    "{} body ends before its compressed stream does",
                    c.name()
                )
            }
            CodingError::Bomb { encoded, decoded } => write!(
                f,
                "decompression bomb: {encoded} encoded bytes grew past {decoded} decoded bytes"
            ),
        }
    }
}

impl std::error::Error for CodingError {}

/// A failure while decoding: the body's fault, or the output's.
#[derive(Debug)]
pub enum DecodeError {
    Coding(CodingError),
    /// The `impl Write` given to `feed`/`finish` failed (disk full...).
    Write(io::Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Coding(e) => e.fmt(f),
            DecodeError::Write(e) => write!(f, "writing the decoded body: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<CodingError> for DecodeError {
    fn from(e: CodingError) -> Self {
        DecodeError::Coding(e)
    }
}

/// The codings of a message, in the order they were applied (RFC 9110
/// section 8.4: the list in Content-Encoding), `identity` left out.
pub fn codings(headers: &[Header]) -> Result<Vec<Coding>, CodingError> {
    let mut out = Vec::new();
    for token in list(headers, "content-encoding") {
        if let Some(c) = Coding::parse(token)? {
            out.push(c);
        }
    }
    if out.len() > MAX_CODINGS {
        return Err(CodingError::TooManyCodings(out.len()));
    }
    Ok(out)
}

//! Content codings (RFC 9110 section 8.4): decoding gzip, deflate and br
//! bodies as they stream in. Push-style: encoded chunks go in with
//! [`Decoder::feed`], decoded bytes come out into any `impl Write`, and
//! [`Decoder::finish`] says whether the compressed stream was complete.
//!
//! Guards against hostile bodies: at most [`MAX_CODINGS`] stacked codings,
//! unknown codings refused, and the decoded size capped relative to the
//! encoded size (a decompression bomb is an error, not an out-of-memory).
//! Pure: no I/O of its own and nothing from the rest of the crate.

use std::fmt;
use std::io::{self, Write};

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::{list, Header};

/// What `--compressed` asks for.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";
/// Stacked codings decoded at most; more is refused as hostile.
pub const MAX_CODINGS: usize = 2;
/// Decoded bytes always allowed, whatever the encoded size.
pub const BOMB_FLOOR: u64 = 1 << 20;
/// Beyond the floor, decoded bytes allowed per encoded byte. A single
/// deflate layer cannot exceed about 1032:1, so this bites on brotli and
/// on stacked codings, the shapes real bombs take.
pub const BOMB_RATIO: u64 = 1000;

/// Output produced per decompression step.
const STEP: usize = 32 * 1024;
/// A gzip header larger than this (its optional name, comment and extra
/// fields are unbounded in RFC 1952) is refused rather than buffered.
const GZIP_HEADER_MAX: usize = 64 * 1024;

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

/// Decodes one body, chunk by chunk.
pub struct Decoder {
    /// In decoding order: the last coding applied comes first.
    stages: Vec<Stage>,
    encoded: u64,
    decoded: u64,
    floor: u64,
    ratio: u64,
}

impl Decoder {
    /// A decoder undoing `codings`, given in the order they were applied.
    pub fn new(codings: &[Coding]) -> Result<Decoder, CodingError> {
        if codings.len() > MAX_CODINGS {
            return Err(CodingError::TooManyCodings(codings.len()));
        }
        Ok(Decoder {
            stages: codings.iter().rev().map(|&c| Stage::new(c)).collect(),
            encoded: 0,
            decoded: 0,
            floor: BOMB_FLOOR,
            ratio: BOMB_RATIO,
        })
    }

    /// A decoder for the message's Content-Encoding.
    pub fn from_headers(headers: &[Header]) -> Result<Decoder, CodingError> {
        Decoder::new(&codings(headers)?)
    }

    /// Changes the bomb cap: `floor` decoded bytes, or `ratio` per encoded
    /// byte, whichever is more.
    pub fn with_limit(mut self, floor: u64, ratio: u64) -> Self {
        self.floor = floor;
        self.ratio = ratio;
        self
    }

    /// Nothing to undo: bytes pass through unchanged.
    pub fn is_identity(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn encoded_bytes(&self) -> u64 {
        self.encoded
    }

    pub fn decoded_bytes(&self) -> u64 {
        self.decoded
    }

    /// Decodes `encoded` (any piece of the body) into `out`.
    pub fn feed(&mut self, encoded: &[u8], out: &mut impl Write) -> Result<(), DecodeError> {
        self.encoded += encoded.len() as u64;
        if self.stages.is_empty() {
            self.decoded += encoded.len() as u64;
            return out.write_all(encoded).map_err(DecodeError::Write);
        }
        let allowed = self.floor.max(self.encoded.saturating_mul(self.ratio));
        let (encoded_so_far, decoded) = (self.encoded, &mut self.decoded);
        let mut sink = |chunk: &[u8]| sink_capped(chunk, out, decoded, allowed, encoded_so_far);
        push(&mut self.stages, encoded, &mut sink)
    }

    /// The body has ended: flushes what is left and checks that every
    /// compressed stream was complete.
    pub fn finish(&mut self, out: &mut impl Write) -> Result<(), DecodeError> {
        let allowed = self.floor.max(self.encoded.saturating_mul(self.ratio));
        let (encoded_so_far, decoded) = (self.encoded, &mut self.decoded);
        let mut sink = |chunk: &[u8]| sink_capped(chunk, out, decoded, allowed, encoded_so_far);
        finish_all(&mut self.stages, &mut sink)
    }
}

type Out<'a> = &'a mut dyn FnMut(&[u8]) -> Result<(), DecodeError>;

fn sink_capped(
    chunk: &[u8],
    out: &mut impl Write,
    decoded: &mut u64,
    allowed: u64,
    encoded: u64,
) -> Result<(), DecodeError> {
    let total = *decoded + chunk.len() as u64;
    if total > allowed {
        return Err(CodingError::Bomb {
            encoded,
            decoded: allowed,
        }
        .into());
    }
    *decoded = total;
    out.write_all(chunk).map_err(DecodeError::Write)
}

/// Pushes `input` through the first stage, whose output goes through the rest.
fn push(stages: &mut [Stage], input: &[u8], sink: Out<'_>) -> Result<(), DecodeError> {
    match stages.split_first_mut() {
        None => sink(input),
        Some((first, rest)) => first.feed(input, &mut |chunk| push(rest, chunk, sink)),
    }
}

fn finish_all(stages: &mut [Stage], sink: Out<'_>) -> Result<(), DecodeError> {
    match stages.split_first_mut() {
        None => Ok(()),
        Some((first, rest)) => {
            first.finish(&mut |chunk| push(rest, chunk, sink))?;
            finish_all(rest, sink)
        }
    }
}

enum Stage {
    Flate(Flate),
    Brotli(Box<Brotli>),
}

impl Stage {
    fn new(c: Coding) -> Stage {
        match c {
            Coding::Gzip | Coding::Deflate => Stage::Flate(Flate::new(c)),
            Coding::Brotli => Stage::Brotli(Box::new(Brotli::new())),
        }
    }

    fn feed(&mut self, input: &[u8], out: Out<'_>) -> Result<(), DecodeError> {
        match self {
            Stage::Flate(f) => f.feed(input, out),
            Stage::Brotli(b) => b.feed(input, out),
        }
    }

    fn finish(&mut self, out: Out<'_>) -> Result<(), DecodeError> {
        match self {
            Stage::Flate(f) => f.finish(out),
            Stage::Brotli(b) => b.finish(out),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlateState {
    /// Collecting the gzip header, or the two bytes that tell zlib from raw.
    Head,
    Body,
    /// Collecting the gzip trailer: CRC-32 and size (RFC 1952 section 2.3).
    Trailer,
    /// The stream ended; later bytes are another gzip member or ignored.
    Done,
}

/// gzip and deflate, over flate2's raw inflater so that every output step
/// passes the bomb cap and truncation is seen exactly.
struct Flate {
    coding: Coding,
    state: FlateState,
    z: Decompress,
    head: Vec<u8>,
    crc: Crc,
    buf: Vec<u8>,
    fed_any: bool,
}

impl Flate {
    fn new(coding: Coding) -> Flate {
        Flate {
            coding,
            state: FlateState::Head,
            z: Decompress::new(false),
            head: Vec::new(),
            crc: Crc::new(),
            buf: vec![0; STEP],
            fed_any: false,
        }
    }

    fn corrupt(&self, detail: impl Into<String>) -> DecodeError {
        CodingError::Corrupt {
            coding: self.coding,
            detail: detail.into(),
        }
        .into()
    }

    fn feed(&mut self, mut input: &[u8], out: Out<'_>) -> Result<(), DecodeError> {
        self.fed_any |= !input.is_empty();
        loop {
            match self.state {
                FlateState::Head if self.coding == Coding::Deflate => {
                    let n = (2 - self.head.len()).min(input.len());
                    self.head.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    if self.head.len() < 2 {
                        return Ok(());
                    }
                    self.z.reset(is_zlib_header(self.head[0], self.head[1]));
                    self.state = FlateState::Body;
                    // The sniffed bytes are the stream's own first bytes.
                    let sniffed = std::mem::take(&mut self.head);
                    self.feed(&sniffed, out)?;
                }
                FlateState::Head => {
                    if input.is_empty() {
                        return Ok(());
                    }
                    input = self.take_gzip_header(input)?;
                }
                FlateState::Body => {
                    let (used, more) = self.inflate(input, out)?;
                    input = &input[used..];
                    if input.is_empty() && !more && self.state == FlateState::Body {
                        return Ok(());
                    }
                }
                FlateState::Trailer => {
                    let n = (8 - self.head.len()).min(input.len());
                    self.head.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    if self.head.len() < 8 {
                        return Ok(());
                    }
                    self.check_trailer()?;
                    self.state = FlateState::Done;
                }
                FlateState::Done => {
                    // Another gzip member (RFC 1952 section 2.2) is decoded
                    // too; anything else after a complete stream is padding
                    // some servers add, and ignored as curl does.
                    if self.coding == Coding::Gzip && input.first() == Some(&0x1f) {
                        self.state = FlateState::Head;
                        self.head.clear();
                        continue;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Takes gzip header bytes from `input`; returns what is left of it.
    fn take_gzip_header<'i>(&mut self, input: &'i [u8]) -> Result<&'i [u8], DecodeError> {
        let old = self.head.len();
        let n = (GZIP_HEADER_MAX + 1 - old).min(input.len());
        self.head.extend_from_slice(&input[..n]);
        match gzip_header_len(&self.head).map_err(|e| self.corrupt(e))? {
            Some(len) => {
                // An earlier call saw fewer than `len` bytes, so the header
                // ends inside this input.
                self.head.clear();
                self.z.reset(false);
                self.crc.reset();
                self.state = FlateState::Body;
                Ok(&input[len - old..])
            }
            None if self.head.len() > GZIP_HEADER_MAX => Err(self.corrupt("gzip header too large")),
            None => Ok(&input[n..]),
        }
    }

    /// One inflate step: returns the input bytes used and whether more
    /// output may be pending without more input.
    fn inflate(&mut self, input: &[u8], out: Out<'_>) -> Result<(usize, bool), DecodeError> {
        let (in0, out0) = (self.z.total_in(), self.z.total_out());
        let status = self
            .z
            .decompress(input, &mut self.buf, FlushDecompress::None)
            .map_err(|e| self.corrupt(e.to_string()))?;
        let used = (self.z.total_in() - in0) as usize;
        let produced = (self.z.total_out() - out0) as usize;
        if self.coding == Coding::Gzip {
            self.crc.update(&self.buf[..produced]);
        }
        if produced > 0 {
            out(&self.buf[..produced])?;
        }
        if status == Status::StreamEnd {
            self.state = if self.coding == Coding::Gzip {
                FlateState::Trailer
            } else {
                FlateState::Done
            };
            return Ok((used, false));
        }
        if used == 0 && produced == 0 && !input.is_empty() {
            return Err(self.corrupt("the inflater made no progress"));
        }
        Ok((used, produced == self.buf.len()))
    }

    fn check_trailer(&self) -> Result<(), DecodeError> {
        let t = &self.head;
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if crc != self.crc.sum() {
            return Err(self.corrupt("CRC-32 mismatch"));
        }
        // ISIZE is the member's length modulo 2^32 (RFC 1952 section 2.3.1).
        if size != self.crc.amount() {
            return Err(self.corrupt("length mismatch"));
        }
        Ok(())
    }

    fn finish(&mut self, _out: Out<'_>) -> Result<(), DecodeError> {
        // Output is never held back: every step hands over what it made.
        // An empty body is let through; servers send `Content-Encoding:
        // gzip` on empty redirects and errors.
        if self.state == FlateState::Done || !self.fed_any {
            Ok(())
        } else {
            Err(CodingError::Truncated(self.coding).into())
        }
    }
}

/// Does a deflate body start with a zlib header (RFC 1950 section 2.2)?
/// CM is 8, the window is at most 32 KiB, FCHECK makes the pair a multiple
/// of 31, and no preset dictionary is asked for (HTTP has none).
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
        && flg & 0x20 == 0
}

/// The length of the gzip member header at the start of `b`, `None` if
/// more bytes are needed (RFC 1952 section 2.3).
fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, &'static str> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let check = |i: usize, want: u8, what| match b.get(i) {
        Some(&v) if v != want => Err(what),
        _ => Ok(()),
    };
    check(0, 0x1f, "not gzip data")?;
    check(1, 0x8b, "not gzip data")?;
    check(2, 8, "unknown gzip compression method")?;
    if b.len() < 10 {
        return Ok(None);
    }
    let flags = b[3];
    if flags & 0xe0 != 0 {
        return Err("reserved gzip flags set");
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = b.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(rest) = b.get(at..) else {
                return Ok(None);
            };
            match rest.iter().position(|&c| c == 0) {
                Some(i) => at += i + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((b.len() >= at).then_some(at))
}

/// br, over the decoder's raw stream API so that every output step passes
/// the bomb cap.
struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    buf: Vec<u8>,
    total_out: usize,
    done: bool,
    fed_any: bool,
}

impl Brotli {
    fn new() -> Brotli {
        Brotli {
            state: BrotliState::new(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            buf: vec![0; STEP],
            total_out: 0,
            done: false,
            fed_any: false,
        }
    }

    fn feed(&mut self, input: &[u8], out: Out<'_>) -> Result<(), DecodeError> {
        self.fed_any |= !input.is_empty();
        if self.done {
            return Ok(()); // padding after a complete stream, as for deflate
        }
        let mut avail_in = input.len();
        let mut in_at = 0;
        loop {
            let mut avail_out = self.buf.len();
            let mut out_at = 0;
            let result = BrotliDecompressStream(
                &mut avail_in,
                &mut in_at,
                input,
                &mut avail_out,
                &mut out_at,
                &mut self.buf,
                &mut self.total_out,
                &mut self.state,
            );
            if out_at > 0 {
                out(&self.buf[..out_at])?;
            }
            match result {
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::NeedsMoreInput => return Ok(()),
                BrotliResult::ResultSuccess => {
                    self.done = true;
                    return Ok(());
                }
                BrotliResult::ResultFailure => {
                    return Err(CodingError::Corrupt {
                        coding: Coding::Brotli,
                        detail: format!("{:?}", self.state.error_code),
                    }
                    .into())
                }
            }
        }
    }

    fn finish(&mut self, _out: Out<'_>) -> Result<(), DecodeError> {
        if self.done || !self.fed_any {
            Ok(())
        } else {
            Err(CodingError::Truncated(Coding::Brotli).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    #[derive(Debug, Clone, Copy)]
    enum Enc {
        Gzip,
        Zlib,
        RawDeflate,
        Brotli,
    }

    const ALL: [Enc; 4] = [Enc::Gzip, Enc::Zlib, Enc::RawDeflate, Enc::Brotli];

    fn encode(enc: Enc, data: &[u8]) -> Vec<u8> {
        match enc {
            Enc::Gzip => {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::Zlib => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::RawDeflate => {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::Brotli => {
                let mut out = Vec::new();
                {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    e.write_all(data).unwrap();
                }
                out
            }
        }
    }

    fn coding(enc: Enc) -> Coding {
        match enc {
            Enc::Gzip => Coding::Gzip,
            Enc::Zlib | Enc::RawDeflate => Coding::Deflate,
            Enc::Brotli => Coding::Brotli,
        }
    }

    /// Decodes `pieces` in order with a fresh decoder.
    fn decode(codings: &[Coding], pieces: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
        let mut d = Decoder::new(codings).unwrap();
        let mut out = Vec::new();
        for p in pieces {
            d.feed(p, &mut out)?;
        }
        d.finish(&mut out)?;
        assert_eq!(d.decoded_bytes(), out.len() as u64);
        Ok(out)
    }

    fn text(n: usize) -> Vec<u8> {
        // Compressible but not trivially: words with a varying counter.
        let mut v = Vec::with_capacity(n + 32);
        let mut i = 0u64;
        while v.len() < n {
            v.extend_from_slice(
                format!("line {i} of {} ", i.wrapping_mul(2654435761) % 977).as_bytes(),
            );
            i += 1;
        }
        v.truncate(n);
        v
    }

    fn payloads() -> Vec<Vec<u8>> {
        vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"hello, world\n".to_vec(),
            text(3000),
        ]
    }

    #[test]
    fn every_coding_round_trips_whatever_the_split() {
        for enc in ALL {
            for data in payloads() {
                let wire = encode(enc, &data);
                let c = [coding(enc)];
                assert_eq!(decode(&c, &[&wire]).unwrap(), data, "{enc:?} whole");
                for at in 0..=wire.len() {
                    let (a, b) = wire.split_at(at);
                    assert_eq!(decode(&c, &[a, b]).unwrap(), data, "{enc:?} split at {at}");
                }
                let bytes: Vec<&[u8]> = wire.chunks(1).collect();
                assert_eq!(decode(&c, &bytes).unwrap(), data, "{enc:?} byte at a time");
            }
        }
    }

    #[test]
    fn large_bodies_stream_through() {
        let data = text(300_000);
        for enc in ALL {
            let wire = encode(enc, &data);
            let pieces: Vec<&[u8]> = wire.chunks(7919).collect();
            let got = decode(&[coding(enc)], &pieces).unwrap();
            assert!(got == data, "{enc:?}");
        }
    }

    #[test]
    fn stacked_codings_are_undone_last_first() {
        let data = text(5000);
        // "Content-Encoding: gzip, br": gzip was applied first, then br.
        let wire = encode(Enc::Brotli, &encode(Enc::Gzip, &data));
        let headers = [
            Header::new("Content-Encoding", "gzip"),
            Header::new("content-encoding", "br"),
        ];
        let mut d = Decoder::from_headers(&headers).unwrap();
        assert!(!d.is_identity());
        let mut out = Vec::new();
        for piece in wire.chunks(3) {
            d.feed(piece, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        assert!(out == data);
        // The other order does not decode.
        assert!(decode(&[Coding::Brotli, Coding::Gzip], &[&wire]).is_err());
    }

    #[test]
    fn content_encoding_lists() {
        use Coding::*;
        let ok: &[(&str, &[Coding])] = &[
            ("", &[]),
            ("identity", &[]),
            ("GZIP", &[Gzip]),
            ("x-gzip", &[Gzip]),
            ("deflate", &[Deflate]),
            ("br", &[Brotli]),
            ("gzip, br", &[Gzip, Brotli]),
            (" gzip ,identity,  deflate ", &[Gzip, Deflate]),
        ];
        for &(value, want) in ok {
            let hs = [Header::new("Content-Encoding", value)];
            assert_eq!(codings(&hs).unwrap(), want, "{value:?}");
        }
        let bad: &[(&str, CodingError)] = &[
            ("zstd", CodingError::Unsupported("zstd".into())),
            (
                "gzip, compress",
                CodingError::Unsupported("compress".into()),
            ),
            ("gzip, gzip, gzip", CodingError::TooManyCodings(3)),
            ("br,br,br,br", CodingError::TooManyCodings(4)),
        ];
        for (value, want) in bad {
            let hs = [Header::new("Content-Encoding", *value)];
            assert_eq!(&codings(&hs).unwrap_err(), want, "{value:?}");
        }
        assert_eq!(
            Decoder::new(&[Gzip, Gzip, Gzip]).err(),
            Some(CodingError::TooManyCodings(3))
        );
        assert!(Decoder::from_headers(&[]).unwrap().is_identity());
    }

    #[test]
    fn identity_passes_bytes_through() {
        let mut d = Decoder::new(&[]).unwrap();
        let mut out = Vec::new();
        d.feed(b"abc", &mut out).unwrap();
        d.feed(b"def", &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert_eq!(out, b"abcdef");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let data = text(2000);
        for enc in ALL {
            let wire = encode(enc, &data);
            for cut in 1..wire.len() {
                match decode(&[coding(enc)], &[&wire[..cut]]) {
                    Err(DecodeError::Coding(CodingError::Truncated(c))) => {
                        assert_eq!(c, coding(enc))
                    }
                    other => panic!("{enc:?} cut at {cut}/{}: {other:?}", wire.len()),
                }
            }
        }
    }

    #[test]
    fn an_empty_body_is_empty_whatever_the_coding() {
        for c in [Coding::Gzip, Coding::Deflate, Coding::Brotli] {
            assert_eq!(decode(&[c], &[]).unwrap(), b"");
        }
    }

    fn corrupt_error(r: Result<Vec<u8>, DecodeError>) -> String {
        match r {
            Err(DecodeError::Coding(CodingError::Corrupt { detail, .. })) => detail,
            other => panic!("not a corrupt error: {other:?}"),
        }
    }

    #[test]
    fn corrupt_streams_are_errors() {
        let data = text(2000);
        let gz = encode(Enc::Gzip, &data);
        let n = gz.len();
        let mut bad_crc = gz.clone();
        bad_crc[n - 8] ^= 1;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_crc])),
            "CRC-32 mismatch"
        );
        let mut bad_len = gz.clone();
        bad_len[n - 1] ^= 1;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_len])),
            "length mismatch"
        );
        let mut bad_magic = gz.clone();
        bad_magic[1] = 0x8c;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_magic])),
            "not gzip data"
        );
        let mut reserved = gz.clone();
        reserved[3] = 0x80;
        corrupt_error(decode(&[Coding::Gzip], &[&reserved]));

        let mut zlib = encode(Enc::Zlib, &data);
        let last = zlib.len() - 1;
        zlib[last] ^= 1; // the Adler-32
        corrupt_error(decode(&[Coding::Deflate], &[&zlib]));

        corrupt_error(decode(&[Coding::Brotli], &[b"\xff\xff\xff\xff garbage"]));
        corrupt_error(decode(&[Coding::Deflate], &[b"\xff\xff\xff\xff garbage"]));
    }

    #[test]
    fn gzip_header_fields_are_skipped_whatever_the_split() {
        let data = text(500);
        let mut e = flate2::GzBuilder::new()
            .filename("index.html")
            .comment("a comment")
            .extra(vec![7u8; 300])
            .write(Vec::new(), Compression::best());
        e.write_all(&data).unwrap();
        let wire = e.finish().unwrap();
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(
                decode(&[Coding::Gzip], &[a, b]).unwrap(),
                data,
                "split {at}"
            );
        }
        // A header with an FHCRC field too.
        let mut with_hcrc = wire.clone();
        with_hcrc[3] |= 0x02;
        let header_end = gzip_header_len(&wire).unwrap().unwrap();
        with_hcrc.splice(header_end..header_end, [0u8, 0u8]);
        assert_eq!(decode(&[Coding::Gzip], &[&with_hcrc]).unwrap(), data);
    }

    #[test]
    fn gzip_header_that_never_ends_is_refused() {
        let mut wire = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 0xff];
        wire.extend(std::iter::repeat_n(b'a', GZIP_HEADER_MAX + 10));
        corrupt_error(decode(&[Coding::Gzip], &[&wire]));
    }

    #[test]
    fn concatenated_gzip_members_and_padding() {
        let mut wire = encode(Enc::Gzip, b"first ");
        wire.extend(encode(Enc::Gzip, b"second"));
        wire.extend([0u8; 16]);
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(decode(&[Coding::Gzip], &[a, b]).unwrap(), b"first second");
        }
    }

    #[test]
    fn zlib_or_raw_is_told_by_the_first_two_bytes() {
        let cases: &[(u8, u8, bool)] = &[
            (0x78, 0x9c, true),
            (0x78, 0x01, true),
            (0x78, 0xda, true),
            (0x58, 0x85, true),
            (0x78, 0x9d, false), // FCHECK wrong
            (0x78, 0xbb, false), // asks for a preset dictionary
            (0x88, 0x1b, false), // window too large
            (0xed, 0xbd, false), // a typical raw deflate start
            (0x03, 0x00, false), // the empty raw stream
        ];
        for &(a, b, want) in cases {
            assert_eq!(is_zlib_header(a, b), want, "{a:#x} {b:#x}");
        }
        assert_eq!(decode(&[Coding::Deflate], &[&[0x03, 0x00]]).unwrap(), b"");
    }

    fn zeros_gzip(n: usize, layers: usize) -> Vec<u8> {
        let mut data = vec![0u8; n];
        for _ in 0..layers {
            let mut e = GzEncoder::new(Vec::new(), Compression::best());
            e.write_all(&data).unwrap();
            data = e.finish().unwrap();
        }
        data
    }

    #[test]
    fn decompression_bombs_are_refused_early() {
        // Custom cap: 4 KiB, or 10 decoded bytes per encoded byte.
        let wire = zeros_gzip(400_000, 1);
        let mut d = Decoder::new(&[Coding::Gzip]).unwrap().with_limit(4096, 10);
        let mut out = Vec::new();
        let mut err = None;
        for piece in wire.chunks(100) {
            if let Err(e) = d.feed(piece, &mut out) {
                err = Some(e);
                break;
            }
        }
        assert!(
            matches!(err, Some(DecodeError::Coding(CodingError::Bomb { .. }))),
            "{err:?}"
        );
        assert!(out.len() as u64 <= 4096.max(10 * d.encoded_bytes()));

        // Default cap against a two-layer bomb: a few hundred bytes that
        // would become 8 MiB.
        let wire = zeros_gzip(8 << 20, 2);
        assert!(wire.len() < 1024, "{}", wire.len());
        let mut d = Decoder::new(&[Coding::Gzip, Coding::Gzip]).unwrap();
        let mut out = Vec::new();
        let r = d.feed(&wire, &mut out);
        assert!(matches!(
            r,
            Err(DecodeError::Coding(CodingError::Bomb { .. }))
        ));
        assert!(out.len() as u64 <= BOMB_FLOOR);
        assert!(r.unwrap_err().to_string().contains("decompression bomb"));
    }

    #[test]
    fn ordinary_compression_ratios_pass_the_default_cap() {
        // Past the 1 MiB floor, so the ratio is what is checked.
        let data = text(1_500_000);
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&data).unwrap();
        let wire = e.finish().unwrap();
        assert!(data.len() > 2 * wire.len());
        let pieces: Vec<&[u8]> = wire.chunks(16_384).collect();
        assert_eq!(decode(&[Coding::Gzip], &pieces).unwrap().len(), data.len());
    }

    #[test]
    fn output_errors_are_reported_as_such() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for enc in ALL {
            let wire = encode(enc, b"some data");
            let mut d = Decoder::new(&[coding(enc)]).unwrap();
            let r = d.feed(&wire, &mut Full).and_then(|()| d.finish(&mut Full));
            assert!(matches!(r, Err(DecodeError::Write(_))), "{enc:?}: {r:?}");
        }
    }
}

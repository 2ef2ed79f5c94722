//! gzip (RFC 1952) and deflate (RFC 1950 zlib, or the bare RFC 1951
//! stream some servers send instead) as one streaming stage.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::coding::{Coding, CodingError, DecodeError, Out, STEP};

/// A gzip header larger than this (its optional name, comment and extra
/// fields are unbounded in RFC 1952) is refused rather than buffered.
pub(super) const GZIP_HEADER_MAX: usize = 64 * 1024;

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
pub(super) struct Flate {
    coding: Coding,
    state: FlateState,
    z: Decompress,
    head: Vec<u8>,
    crc: Crc,
    buf: Vec<u8>,
    fed_any: bool,
}

impl Flate {
    pub(super) fn new(coding: Coding) -> Flate {
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

    pub(super) fn feed(&mut self, mut input: &[u8], out: Out<'_>) -> Result<(), DecodeError> {
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

    pub(super) fn finish(&mut self, _out: Out<'_>) -> Result<(), DecodeError> {
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
pub(super) fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
        && flg & 0x20 == 0
}

/// The length of the gzip member header at the start of `b`, `None` if
/// more bytes are needed (RFC 1952 section 2.3).
pub(super) fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, &'static str> {
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

//! The decoder for a whole body: the stacked codings undone in order,
//! every stage's output counted against the decompression-bomb cap.

use std::io::Write;

use super::br::Brotli;
use super::coding::{codings, Coding, CodingError, DecodeError, Out, MAX_CODINGS};
use super::flate::Flate;
use crate::http::Header;

/// Decoded bytes always allowed, whatever the encoded size.
pub const BOMB_FLOOR: u64 = 1 << 20;
/// Beyond the floor, decoded bytes allowed per encoded byte. A single
/// deflate layer cannot exceed about 1032:1, so this bites on brotli and
/// on stacked codings, the shapes real bombs take.
pub const BOMB_RATIO: u64 = 1000;

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

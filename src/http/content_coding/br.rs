//! br (RFC 7932) as one streaming stage.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

use super::coding::{Coding, CodingError, DecodeError, Out, STEP};

/// br, over the decoder's raw stream API so that every output step passes
/// the bomb cap.
pub(super) struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    buf: Vec<u8>,
    total_out: usize,
    done: bool,
    fed_any: bool,
}

impl Brotli {
    pub(super) fn new() -> Brotli {
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

    pub(super) fn feed(&mut self, input: &[u8], out: Out<'_>) -> Result<(), DecodeError> {
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

    pub(super) fn finish(&mut self, _out: Out<'_>) -> Result<(), DecodeError> {
        if self.done || !self.fed_any {
            Ok(())
        } else {
            Err(CodingError::Truncated(Coding::Brotli).into())
        }
    }
}

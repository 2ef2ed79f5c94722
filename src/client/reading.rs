//! The `ReadBody` step of an exchange ([`super::session`]): a body's bytes
//! from the input, through the framing decoder (RFC 9112 section 6.3) and,
//! with `--compressed`, the content decoder, into the outlet. Sans-IO: it
//! sees an input buffer and an [`Outlet`], never a socket or a file.

use std::fmt;
use std::io::{self, Write};

use super::outlet::Outlet;
use super::plan::{BodyPlan, Refusal};
use crate::error::{Error, Result};
use crate::event_loop::InBuf;
use crate::http::body::{BodyDecoder, Next};
use crate::http::content_coding::{Coding, DecodeError, Decoder};

/// A body being read.
#[derive(Debug)]
pub struct Reading {
    decoder: BodyDecoder,
    unwrap: Unwrap,
    /// The request asked to keep the connection and the response agreed:
    /// once the body is whole the connection may carry another request.
    keep_alive: bool,
}

impl Reading {
    /// The body `plan` describes; `asked_keep_alive`: the request left the
    /// connection open. A coding that cannot be undone is an error before
    /// anything is opened.
    pub fn new(plan: &BodyPlan, asked_keep_alive: bool) -> Result<Reading> {
        Ok(Reading {
            decoder: BodyDecoder::new(plan.framing),
            unwrap: Unwrap::new(&plan.decode)?,
            keep_alive: asked_keep_alive && plan.keep_alive,
        })
    }

    pub fn expected(&self) -> Option<u64> {
        self.decoder.expected()
    }

    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Moves what `input` holds of the body to `outlet`; `peer_closed`:
    /// no more will come. `true` once the body is whole (its trailers
    /// handed on too).
    pub fn pump(
        &mut self,
        input: &mut InBuf,
        peer_closed: bool,
        outlet: &mut dyn Outlet,
    ) -> Result<bool> {
        let decoder = &mut self.decoder;
        loop {
            let d = decoder
                .decode(input.data())
                .map_err(|e| Error::Protocol(format!("{e} in the body")))?;
            if !d.body.is_empty() {
                self.unwrap.write(outlet, &input.data()[d.body])?;
            }
            input.consume(d.consumed);
            if d.next != Next::Decode {
                break;
            }
        }
        outlet.progress(decoder.received(), decoder.expected());
        if !decoder.is_done() && peer_closed {
            decoder
                .finish_at_eof()
                .map_err(|t| Error::Protocol(t.to_string()))?;
        }
        if !decoder.is_done() {
            return Ok(false);
        }
        self.unwrap.finish(outlet)?;
        outlet.body_end(decoder.trailers());
        Ok(true)
    }

    /// "after 512 of 1024 body bytes", for messages.
    pub fn describe(&self) -> String {
        match self.decoder.expected() {
            Some(n) => format!("after {} of {n} body bytes", self.decoder.received()),
            None => format!("after {} body bytes", self.decoder.received()),
        }
    }
}

/// The content codings still on the body as framing yields it: undone
/// with `--compressed`, left alone otherwise.
struct Unwrap(Option<Decoder>);

impl fmt::Debug for Unwrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Decode" } else { "Raw" })
    }
}

impl Unwrap {
    fn new(codings: &[Coding]) -> Result<Unwrap> {
        if codings.is_empty() {
            return Ok(Unwrap(None));
        }
        let decoder = Decoder::new(codings).map_err(Refusal::Coding)?;
        Ok(Unwrap(Some(decoder)))
    }

    fn write(&mut self, outlet: &mut dyn Outlet, bytes: &[u8]) -> Result<()> {
        match &mut self.0 {
            None => outlet.write(bytes),
            Some(d) => {
                let mut sink = Sink {
                    outlet,
                    error: None,
                };
                let res = d.feed(bytes, &mut sink);
                decode_result(res, sink.error)
            }
        }
    }

    /// The body ended: the compressed stream must have ended with it. An
    /// empty body is left empty (some servers label those too).
    fn finish(&mut self, outlet: &mut dyn Outlet) -> Result<()> {
        match &mut self.0 {
            Some(d) if d.encoded_bytes() > 0 => {
                let mut sink = Sink {
                    outlet,
                    error: None,
                };
                let res = d.finish(&mut sink);
                decode_result(res, sink.error)
            }
            _ => Ok(()),
        }
    }
}

/// A decoding failure is the body's fault (a protocol error: corrupt data,
/// a bomb) or the outlet's (its own error, kept by the sink).
fn decode_result(
    res: std::result::Result<(), DecodeError>,
    sink_error: Option<Error>,
) -> Result<()> {
    match res {
        Ok(()) => Ok(()),
        Err(DecodeError::Write(e)) => Err(sink_error.unwrap_or_else(|| Error::io("writing", e))),
        Err(DecodeError::Coding(e)) => Err(Error::Protocol(e.to_string())),
    }
}

/// The outlet as an `io::Write`, keeping the crate error it gave.
struct Sink<'a> {
    outlet: &'a mut dyn Outlet,
    error: Option<Error>,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.outlet.write(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.error = Some(e);
                Err(io::Error::other("the output failed"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

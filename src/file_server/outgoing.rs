//! Queuing a response's head and body into a connection's outbox: small
//! bodies in the head's own buffer, file ranges by sendfile, the pieces
//! of a multipart body in order. Decides nothing about the response;
//! touches no socket (the loop writes the outbox).

use std::os::unix::fs::FileExt;

use super::archive::stream::Stream;
use super::handle::Body;
use super::reply::Piece;
use crate::event_loop::{Io, Peer};

/// Files up to this size are read and sent with the head in one write.
const INLINE_FILE: u64 = 64 * 1024;

/// Queues a finished head and its body: small bodies in the same
/// buffer as the head (one write), large files by sendfile. An archive's
/// stream is handed back, for the session to feed as the output drains.
pub fn queue(mut out: Vec<u8>, body: Body, io: &mut Io<'_>, peer: &Peer) -> Option<Box<Stream>> {
    match body {
        // A walk is never sent: `reply` holds it until it is answered.
        Body::Empty | Body::Walk(_) => io.output.push(out),
        Body::Archive(stream) => {
            io.output.push(out);
            return Some(stream);
        }
        Body::Bytes(b) => {
            out.extend_from_slice(&b);
            io.output.push(out);
        }
        Body::Shared { data, range } => {
            out.extend_from_slice(&data[range.start as usize..range.end as usize]);
            io.output.push(out);
        }
        Body::File { file, range } if range.end - range.start <= INLINE_FILE => {
            let at = out.len();
            out.resize(at + (range.end - range.start) as usize, 0);
            match file.read_exact_at(&mut out[at..], range.start) {
                Ok(()) => io.output.push(out),
                Err(e) => {
                    // The file shrank since we looked: the promised
                    // length cannot be met, so the peer must see the
                    // connection end early rather than a short body.
                    log::debug!("read for {}: {e}", peer);
                    out.truncate(at);
                    io.output.push(out);
                    io.output
                        .push_file(file, range.start, range.end - range.start);
                }
            }
        }
        Body::File { file, range } => {
            io.output.push(out);
            io.output
                .push_file(file, range.start, range.end - range.start);
        }
        Body::Multipart { file, pieces } => {
            io.output.push(out);
            for p in pieces {
                match p {
                    Piece::Bytes(b) => io.output.push(b),
                    Piece::File(r) => io.output.push_file(file.clone(), r.start, r.end - r.start),
                }
            }
        }
    }
    None
}

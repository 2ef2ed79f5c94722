//! Moving bytes between one connection's socket and its buffers: reads
//! until `WouldBlock` or the session's cap, and the write path (gathered
//! writev, MSG_MORE before a file, sendfile with a read+write fallback).
//! What the bytes mean, and when to close, is decided elsewhere.

use std::io::{self, IoSlice, Write};

use super::table::Conn;
use crate::event_loop::buffer::Chunk;
use crate::event_loop::errors::{is_interrupted, is_would_block};
use crate::event_loop::socket::Stream;

/// Reads until `WouldBlock`, EOF or `cap` buffered bytes. Returns whether
/// anything changed (bytes or EOF).
pub(super) fn read_in<S>(
    conn: &mut Conn<S>,
    cap: usize,
    chunk: usize,
    scratch: &mut [u8],
) -> io::Result<bool> {
    let mut changed = false;
    while conn.input.len() < cap {
        let want = chunk.min(cap - conn.input.len());
        match conn.input.read_via(&mut conn.stream, want, scratch) {
            Ok((0, _)) => {
                conn.peer_closed = true;
                return Ok(true);
            }
            Ok((n, offered)) => {
                changed = true;
                // A read that did not fill its room drained the socket, so
                // the read that would answer EAGAIN is skipped: epoll in
                // edge mode reports any byte that arrives after this one.
                // Not when the peer's FIN or an error was reported, as no
                // further edge would come for the EOF behind the data.
                if n < offered && !conn.read_closed {
                    conn.readable = false;
                    break;
                }
            }
            Err(e) if is_would_block(&e) => {
                conn.readable = false;
                break;
            }
            Err(e) if is_interrupted(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(changed)
}

/// Writes queued output until it is gone or the socket would block.
pub(super) fn write_out<S>(conn: &mut Conn<S>) -> io::Result<()> {
    while let Some(front) = conn.output.front_mut() {
        let res = match front {
            Chunk::File { .. } => send_file_chunk(&conn.stream, front),
            Chunk::Bytes { .. } => {
                // Gather consecutive byte chunks into one writev(2), without
                // allocating on this hot path.
                let mut slices = [IoSlice::new(&[]); 16];
                let mut n = 0;
                let mut file_follows = false;
                for c in conn.output.chunks().take(slices.len() + 1) {
                    match c {
                        Chunk::Bytes { data, pos } if n < slices.len() => {
                            slices[n] = IoSlice::new(&data[*pos..]);
                            n += 1;
                        }
                        Chunk::Bytes { .. } => break,
                        Chunk::File { .. } => {
                            file_follows = true;
                            break;
                        }
                    }
                }
                if file_follows && conn.stream.is_tcp() {
                    // A head before a file body: MSG_MORE holds it back so it
                    // leaves in the same segment as the first file bytes
                    // instead of as a lone small packet (TCP_NODELAY is on).
                    let flags = rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL;
                    let mut control = rustix::net::SendAncillaryBuffer::default();
                    rustix::net::sendmsg(&conn.stream, &slices[..n], &mut control, flags)
                        .map_err(io::Error::from)
                } else {
                    (&conn.stream).write_vectored(&slices[..n])
                }
            }
        };
        match res {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.output.advance(n as u64),
            Err(e) if is_would_block(&e) => {
                conn.writable = false;
                return Ok(());
            }
            Err(e) if is_interrupted(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends part of a file range with sendfile(2), falling back to read+write
/// where the kernel refuses (some file systems do).
fn send_file_chunk(stream: &Stream, chunk: &Chunk) -> io::Result<usize> {
    let Chunk::File { file, offset, end } = chunk else {
        unreachable!("called for file chunks only")
    };
    let count = (*end - *offset).min(1 << 30) as usize;
    let mut off = *offset;
    match rustix::fs::sendfile(stream, &**file, Some(&mut off), count) {
        Ok(n) => Ok(n),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            let mut buf = vec![0u8; count.min(64 * 1024)];
            let n = rustix::io::pread(&**file, &mut buf, *offset)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being sent",
                ));
            }
            let mut s: &Stream = stream;
            s.write(&buf[..n])
        }
        Err(e) => Err(e.into()),
    }
    .and_then(|n| {
        if n == 0 {
            // sendfile returns 0 at end of file: the file shrank under us.
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            ))
        } else {
            Ok(n)
        }
    })
}

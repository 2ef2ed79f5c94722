//! Sending a planned archive (or a byte range of it) on the event loop:
//! parts go into the [`Outbox`](crate::event_loop::Outbox) as it drains,
//! never more than [`QUEUE_CAP`] ahead; header bytes are made when their
//! turn comes, and a file's bytes go as a file range (sendfile) from one
//! descriptor opened beneath the root at a time. tar.gz passes the same
//! parts through gzip, reading the files itself.
//!
//! A file whose size or mtime differs from the manifest when it is opened,
//! when its bytes have gone out, or whose bytes run out early, fails the
//! stream: the session then cuts the connection, so the client sees a short
//! body and an error, never a whole-looking archive with wrong contents.
//! The closing parts (zip's central directory, the end records) wait until
//! every file sent before them has been checked.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use flate2::write::GzEncoder;

use super::layout::{Layout, Part};
use super::manifest::{stamp_of, Item, Stamp};
use crate::event_loop::Io;
use crate::file_server::path::Root;

/// Queue no more than this ahead of the socket (file ranges count by length).
pub const QUEUE_CAP: u64 = 256 * 1024;
/// tar.gz and CRC reads: this much per read.
const READ_BLOCK: usize = 256 * 1024;
/// tar.gz: at most this much file data compressed per call, so one
/// connection cannot hold the loop with a very compressible file.
const GZ_BUDGET: u64 = 4 << 20;

/// What became of one call to [`Stream::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// More to send: call again once the output has drained.
    More,
    /// The whole range is queued.
    Done,
    /// A file changed or could not be read: cut the connection.
    Fail,
}

/// gzip over the tar stream, with chunked framing or (HTTP/1.0) none.
struct Gzip {
    enc: GzEncoder<Vec<u8>>,
    chunked: bool,
}

/// One archive response in progress.
pub struct Stream {
    items: Vec<Item>,
    layout: Layout,
    /// The next archive byte to queue, and the end of the range.
    pos: u64,
    end: u64,
    /// The part holding `pos`.
    part: usize,
    /// The file whose bytes are being sent.
    open: Option<(usize, Arc<File>)>,
    /// Files queued whole, to be checked once the outbox has written past
    /// `u64` (its `written()` count then).
    queued: VecDeque<(Arc<File>, Stamp, u64)>,
    /// zip: CRC-32s computed so far.
    crcs: Vec<Option<u32>>,
    gz: Option<Gzip>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Stream({}..{} of {})",
            self.pos,
            self.end,
            self.layout.len()
        )
    }
}

impl Stream {
    /// Sends `range` of the archive `layout` of `items`.
    pub fn new(items: Vec<Item>, layout: Layout, range: Range<u64>) -> Stream {
        let part = layout.find(range.start);
        let crcs = vec![None; items.len()];
        Stream {
            items,
            layout,
            pos: range.start,
            end: range.end,
            part,
            open: None,
            queued: VecDeque::new(),
            crcs,
            gz: None,
        }
    }

    /// The whole archive through gzip (`chunked`: framed as chunks).
    pub fn gzipped(items: Vec<Item>, layout: Layout, chunked: bool) -> Stream {
        let len = layout.len();
        let mut s = Stream::new(items, layout, 0..len);
        s.gz = Some(Gzip {
            enc: GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            chunked,
        });
        s
    }

    /// Body bytes not yet queued (0 for tar.gz, whose length is unknown).
    pub fn unqueued(&self) -> u64 {
        if self.gz.is_some() {
            0
        } else {
            self.end - self.pos
        }
    }

    /// Queues what the outbox may take now.
    pub fn feed(&mut self, io: &mut Io<'_>, root: &Root) -> Feed {
        let mut budget = GZ_BUDGET;
        loop {
            if !self.check_queued(io.output.written()) {
                return Feed::Fail;
            }
            if self.pos >= self.end {
                return self.finish(io);
            }
            if io.output.pending() >= QUEUE_CAP || budget == 0 {
                return Feed::More;
            }
            let (part, start, stop) = self.layout.part(self.part);
            if stop <= self.pos {
                self.part += 1;
                continue;
            }
            if part.is_closing() && !self.queued.is_empty() {
                return Feed::More;
            }
            let to = stop.min(self.end);
            let ok = match part {
                Part::Data(i) => self.data(i, start, to, io, root, &mut budget),
                p => self.other(p, start, to, io, root),
            };
            if !ok {
                return Feed::Fail;
            }
        }
    }

    /// The range is queued; tar.gz still has its last bytes to flush.
    fn finish(&mut self, io: &mut Io<'_>) -> Feed {
        if let Some(gz) = self.gz.take() {
            let Ok(tail) = gz.enc.finish() else {
                return Feed::Fail;
            };
            push_gz(io, &tail, gz.chunked);
            if gz.chunked {
                io.output.push(b"0\r\n\r\n".to_vec());
            }
        }
        Feed::Done
    }

    /// Queues archive bytes `pos..to` of a part made in memory.
    fn other(&mut self, part: Part, start: u64, to: u64, io: &mut Io<'_>, root: &Root) -> bool {
        let (items, crcs) = (&self.items, &mut self.crcs);
        let mut crc = |i: usize| -> io::Result<u32> {
            if let Some(c) = crcs[i] {
                return Ok(c);
            }
            let c = crc_of(root, &items[i])?;
            crcs[i] = Some(c);
            Ok(c)
        };
        let bytes = match self.layout.bytes(part, items, &mut crc) {
            Ok(b) => b,
            Err(e) => {
                log::debug!("archive: {e}");
                return false;
            }
        };
        let slice = &bytes[(self.pos - start) as usize..(to - start) as usize];
        self.emit(io, slice);
        self.pos = to;
        true
    }

    /// Queues bytes `pos..to` of item `i`'s data, which starts at `start`.
    fn data(
        &mut self,
        i: usize,
        start: u64,
        to: u64,
        io: &mut Io<'_>,
        root: &Root,
        budget: &mut u64,
    ) -> bool {
        let Some(file) = self.file(i, root) else {
            return false;
        };
        let stamp = self.items[i].stamp();
        let off = self.pos - start;
        if self.gz.is_none() {
            io.output.push_file(file.clone(), off, to - self.pos);
            let at = io.output.written() + io.output.pending();
            self.queued.push_back((file, stamp, at));
            self.pos = to;
            return true;
        }
        let n = (to - self.pos).min(READ_BLOCK as u64).min(*budget) as usize;
        let mut buf = vec![0u8; n];
        if file.read_exact_at(&mut buf, off).is_err() {
            log::debug!("archive: {} ended early", self.items[i].name);
            return false;
        }
        *budget -= n as u64;
        self.emit(io, &buf);
        self.pos += n as u64;
        self.pos < to || unchanged(&file, stamp)
    }

    /// Item `i` opened beneath the root and found as planned.
    fn file(&mut self, i: usize, root: &Root) -> Option<Arc<File>> {
        if let Some((at, f)) = &self.open {
            if *at == i {
                return Some(f.clone());
            }
        }
        let item = &self.items[i];
        let file = match root.open_file(&item.rel) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                log::debug!("archive: {}: {e}", item.name);
                return None;
            }
        };
        if !unchanged(&file, item.stamp()) {
            log::debug!("archive: {} changed since it was planned", item.name);
            return None;
        }
        self.open = Some((i, file.clone()));
        Some(file)
    }

    /// Checks the files whose bytes the kernel now has.
    fn check_queued(&mut self, written: u64) -> bool {
        while let Some((file, stamp, at)) = self.queued.front() {
            if *at > written {
                break;
            }
            if !unchanged(file, *stamp) {
                log::debug!("archive: a file changed while it was sent");
                return false;
            }
            self.queued.pop_front();
        }
        true
    }

    fn emit(&mut self, io: &mut Io<'_>, bytes: &[u8]) {
        match &mut self.gz {
            None => io.output.push(bytes.to_vec()),
            Some(gz) => {
                // Writing into a Vec cannot fail.
                let _ = gz.enc.write_all(bytes);
                let out = std::mem::take(gz.enc.get_mut());
                push_gz(io, &out, gz.chunked);
            }
        }
    }
}

/// Queues compressed bytes, as one chunk when `chunked`.
fn push_gz(io: &mut Io<'_>, out: &[u8], chunked: bool) {
    if out.is_empty() {
        return;
    }
    if chunked {
        let mut framed = format!("{:x}\r\n", out.len()).into_bytes();
        framed.extend_from_slice(out);
        framed.extend_from_slice(b"\r\n");
        io.output.push(framed);
    } else {
        io.output.push(out.to_vec());
    }
}

/// The file still has the size and mtime it was planned with.
fn unchanged(file: &File, stamp: Stamp) -> bool {
    rustix::fs::fstat(file).is_ok_and(|st| stamp_of(&st) == stamp)
}

/// The CRC-32 of `item`'s bytes, read through a descriptor opened beneath
/// the root; an error if the file is not as planned before or after.
pub fn crc_of(root: &Root, item: &Item) -> io::Result<u32> {
    let file = root.open_file(&item.rel)?;
    let changed = || io::Error::other(format!("{} changed while archived", item.name));
    if !unchanged(&file, item.stamp()) {
        return Err(changed());
    }
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; READ_BLOCK];
    let mut at = 0;
    while at < item.size {
        let n = (item.size - at).min(READ_BLOCK as u64) as usize;
        file.read_exact_at(&mut buf[..n], at)?;
        h.update(&buf[..n]);
        at += n as u64;
    }
    if !unchanged(&file, item.stamp()) {
        return Err(changed());
    }
    Ok(h.finalize())
}

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

use super::crcs;
use super::layout::{Kind, Layout, Part};
use super::manifest::{stamp_of, Item, Stamp};
use crate::event_loop::Io;
use crate::file_server::path::Root;

/// Queue no more than this ahead of the socket (file ranges count by length).
pub const QUEUE_CAP: u64 = 256 * 1024;
/// tar.gz and CRC reads: this much per read.
const READ_BLOCK: usize = 256 * 1024;
/// File bytes up to this size are read and queued with their headers (one
/// write for many small files, and no descriptor held until they are sent).
const INLINE: u64 = 64 * 1024;
/// At most this much file data compressed (tar.gz) or read for CRC-32s
/// (zip) per call, so one connection cannot hold the loop for long.
const WORK_BUDGET: u64 = 4 << 20;

/// What one call to [`Stream::feed`] works with: the root its files are
/// opened beneath, and the file bytes it may still read ([`WORK_BUDGET`]).
struct Turn<'r> {
    root: &'r Root,
    budget: u64,
}

impl Turn<'_> {
    /// Takes one read's worth of the `left` bytes wanted, at most a
    /// [`READ_BLOCK`] and what the budget has; 0 once it is spent.
    fn take(&mut self, left: u64) -> usize {
        let n = left.min(READ_BLOCK as u64).min(self.budget);
        self.budget -= n;
        n as usize
    }
}

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

/// How far one part got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Queued,
    /// Work remains before it can be queued (a CRC-32 half read).
    Later,
    Failed,
}

/// zip: a CRC-32 being computed, a block at a time.
struct CrcJob {
    item: usize,
    version: crcs::Version,
    file: File,
    hasher: crc32fast::Hasher,
    at: u64,
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
    /// zip: CRC-32s computed so far, and the one under way.
    crcs: Vec<Option<u32>>,
    crc_job: Option<CrcJob>,
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
            crc_job: None,
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
        let turn = &mut Turn {
            root,
            budget: WORK_BUDGET,
        };
        loop {
            if !self.check_queued(io.output.written()) {
                return Feed::Fail;
            }
            if self.pos >= self.end {
                return self.finish(io);
            }
            if io.output.pending() >= QUEUE_CAP {
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
            let progress = match part {
                Part::Data(i) => self.data(i, start, to, io, turn),
                p => self.other(p, start, to, io, turn),
            };
            match progress {
                Progress::Queued => {}
                Progress::Later => return Feed::More,
                Progress::Failed => return Feed::Fail,
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

    /// Queues archive bytes `pos..to` of a part made in memory, once
    /// the CRC-32 it carries (zip) is known.
    fn other(
        &mut self,
        part: Part,
        start: u64,
        to: u64,
        io: &mut Io<'_>,
        turn: &mut Turn<'_>,
    ) -> Progress {
        let needs = match part {
            Part::Descriptor(i) => Some(i),
            Part::Central(i) if !self.items[i].is_dir => Some(i),
            _ => None,
        };
        if let Some(i) = needs.filter(|&i| self.crcs[i].is_none()) {
            match self.crc_step(i, turn) {
                Ok(true) => {}
                Ok(false) => return Progress::Later,
                Err(e) => {
                    log::debug!("archive: {e}");
                    return Progress::Failed;
                }
            }
        }
        let crcs = &self.crcs;
        let mut crc = |i: usize| crcs[i].ok_or_else(|| io::Error::other("no CRC"));
        let Ok(bytes) = self.layout.bytes(part, &self.items, &mut crc) else {
            return Progress::Failed;
        };
        let slice = &bytes[(self.pos - start) as usize..(to - start) as usize];
        self.emit(io, slice);
        self.pos = to;
        Progress::Queued
    }

    /// Reads on with item `i`'s CRC-32 within the turn's budget: `true`
    /// once it is known, an error if the file is not as planned.
    fn crc_step(&mut self, i: usize, turn: &mut Turn<'_>) -> io::Result<bool> {
        let item = &self.items[i];
        let changed = || io::Error::other(format!("{} changed while archived", item.name));
        if self.crc_job.as_ref().is_none_or(|j| j.item != i) {
            let file = turn.root.open_file(&item.rel)?;
            let st = rustix::fs::fstat(&file)?;
            if stamp_of(&st) != item.stamp() {
                return Err(changed());
            }
            let version = crcs::version(&st);
            if let Some(crc) = crcs::lookup(&version) {
                self.crcs[i] = Some(crc);
                return Ok(true);
            }
            let hasher = crc32fast::Hasher::new();
            let (item, at) = (i, 0);
            self.crc_job = Some(CrcJob {
                item,
                version,
                file,
                hasher,
                at,
            });
        }
        let job = self.crc_job.as_mut().expect("just set");
        let mut buf = vec![0u8; READ_BLOCK];
        while job.at < item.size {
            let n = turn.take(item.size - job.at);
            if n == 0 {
                return Ok(false);
            }
            job.file.read_exact_at(&mut buf[..n], job.at)?;
            job.hasher.update(&buf[..n]);
            job.at += n as u64;
        }
        let job = self.crc_job.take().expect("under way");
        if !unchanged(&job.file, item.stamp()) {
            return Err(changed());
        }
        let crc = job.hasher.finalize();
        crcs::insert(job.version, crc);
        self.crcs[i] = Some(crc);
        Ok(true)
    }

    /// Queues bytes `pos..to` of item `i`'s data, which starts at `start`.
    fn data(
        &mut self,
        i: usize,
        start: u64,
        to: u64,
        io: &mut Io<'_>,
        turn: &mut Turn<'_>,
    ) -> Progress {
        let Some(file) = self.file(i, turn.root) else {
            return Progress::Failed;
        };
        let stamp = self.items[i].stamp();
        let off = self.pos - start;
        if self.gz.is_none() && to - self.pos > INLINE {
            io.output.push_file(file.clone(), off, to - self.pos);
            let at = io.output.written() + io.output.pending();
            self.queued.push_back((file, stamp, at));
            self.pos = to;
            return Progress::Queued;
        }
        let n = turn.take(to - self.pos);
        if n == 0 {
            return Progress::Later;
        }
        let mut buf = vec![0u8; n];
        if file.read_exact_at(&mut buf, off).is_err() {
            log::debug!("archive: {} ended early", self.items[i].name);
            return Progress::Failed;
        }
        if self.layout.kind == Kind::Zip && off == 0 && n as u64 == self.items[i].size {
            // Read whole already: its CRC-32 costs no second read.
            self.crcs[i] = Some(crc32fast::hash(&buf));
        }
        self.emit(io, &buf);
        self.pos += n as u64;
        if self.pos < to || unchanged(&file, stamp) {
            Progress::Queued
        } else {
            Progress::Failed
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_loop::testing::Wire;
    use crate::file_server::archive::walk::walk;
    use std::io::Read;
    use std::path::Path;

    /// A folder with a file larger than one call's work budget.
    fn tree() -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("top");
        std::fs::create_dir(&top).unwrap();
        let big: Vec<u8> = (0..(WORK_BUDGET as usize * 2 + 99))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(top.join("big"), big).unwrap();
        std::fs::write(top.join("small"), "small").unwrap();
        let root = Root::open(d.path(), false).unwrap();
        (d, root)
    }

    fn stream(root: &Root, kind: Kind, range: Option<Range<u64>>) -> Stream {
        let items = walk(root, Path::new("top"), "top", false).unwrap();
        let layout = Layout::plan(&items, kind);
        let range = range.unwrap_or(0..layout.len());
        Stream::new(items, layout, range)
    }

    /// Feeds as the loop would until done: (bytes, calls, outcome).
    fn run(s: &mut Stream, root: &Root) -> (Vec<u8>, usize, Feed) {
        let mut wire = Wire::new();
        for calls in 1..10_000 {
            let feed = s.feed(&mut wire.io(), root);
            wire.flush();
            if feed != Feed::More {
                return (wire.take_sent(), calls, feed);
            }
        }
        panic!("never done");
    }

    /// A zip range past every file's bytes still needs their CRC-32s: they
    /// are read a budget at a time, and the bytes equal the same slice of
    /// the whole archive. Once read, a CRC is kept for that file version.
    #[test]
    fn zip_ranges_after_the_data_read_crcs_in_steps() {
        let (_d, root) = tree();
        let len = stream(&root, Kind::Zip, None).layout.len();
        let tail = len - 200..len;
        let (part, calls, feed) = run(&mut stream(&root, Kind::Zip, Some(tail.clone())), &root);
        assert_eq!(feed, Feed::Done);
        assert!(calls >= 3, "{calls} calls: the big file's CRC in one go?");
        let (whole, _, feed) = run(&mut stream(&root, Kind::Zip, None), &root);
        assert_eq!(feed, Feed::Done);
        assert_eq!(part, whole[tail.start as usize..]);
        let (again, calls, _) = run(&mut stream(&root, Kind::Zip, Some(tail)), &root);
        assert_eq!((again, calls), (part, 1));
    }

    #[test]
    fn a_file_changed_after_planning_fails_the_stream() {
        let (d, root) = tree();
        for kind in [Kind::Tar, Kind::Zip] {
            let mut s = stream(&root, kind, None);
            std::fs::write(d.path().join("top/small"), "smaller!").unwrap();
            let (sent, _, feed) = run(&mut s, &root);
            assert_eq!(feed, Feed::Fail, "{kind:?}");
            assert!((sent.len() as u64) < s.layout.len());
        }
    }

    #[test]
    fn tar_gz_decodes_to_the_tar() {
        let (_d, root) = tree();
        let (tar, _, _) = run(&mut stream(&root, Kind::Tar, None), &root);
        let items = walk(&root, Path::new("top"), "top", false).unwrap();
        let layout = Layout::plan(&items, Kind::Tar);
        let (gz, _, feed) = run(&mut Stream::gzipped(items, layout, false), &root);
        assert_eq!(feed, Feed::Done);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert!(out == tar);
    }
}

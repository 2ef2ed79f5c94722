//! The byte queues between a socket and a session: `InBuf` holds what was
//! read and not yet consumed, `Outbox` holds what a session wants sent,
//! including whole file ranges the loop sends with sendfile(2).
//!
//! Nothing here does socket I/O; the loop fills and drains these.
//!
//! An `Outbox` also keeps a few spent byte buffers ([`Outbox::spare`]), so a
//! layer that builds a large buffer per write (TLS ciphertext) reuses warm
//! memory instead of having the allocator fault in fresh pages each time.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The first read into an empty buffer asks for at most this much.
const FIRST_READ: usize = 16 * 1024;

/// Spent output buffers at least this large are kept for reuse; smaller
/// ones cost the allocator little and are simply freed.
const SPARE_MIN: usize = 16 * 1024;
/// Larger ones are freed too, so a one-off big reply is not held on to.
const SPARE_MAX: usize = 256 * 1024;
/// At most this many are kept per outbox: enough for TLS's 256 KiB of
/// queued ciphertext in 64 KiB records to cycle without allocating.
const SPARES: usize = 4;
/// At most this many are kept per loop for the next connection that
/// sends (about 1 MiB of TLS buffers).
const POOL_SPARES: usize = 16;

/// Received bytes waiting for a session to consume them.
///
/// A session looks at `data()`, parses what it can and calls `consume(n)`.
/// Unconsumed bytes stay for the next call, so a message split across reads
/// is simply seen again with more bytes behind it.
///
/// `buf[..]` is all initialised memory; the data is `buf[start..end]`. The
/// space after `end` is reused by the next read without being zeroed again,
/// so a long download does not pay a memset per read.
#[derive(Debug, Default)]
pub struct InBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl InBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the first `n` bytes of `data()`.
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.len(), "consumed more than buffered");
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes room for `n` more bytes after `end`, compacting first so a
    /// long-lived connection that always leaves a partial message behind
    /// does not creep upwards.
    fn reserve_tail(&mut self, n: usize) {
        if self.start > 0 && self.start >= self.end / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < self.end + n {
            self.buf.resize(self.end + n, 0);
        }
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve_tail(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Moves up to `max` bytes queued in `outbox` into the tail (TLS
    /// stages the plaintext it encrypts this way). The tail is reused
    /// without being zeroed again, as for socket reads.
    pub fn fill_from(&mut self, outbox: &mut Outbox, max: usize) -> io::Result<usize> {
        let max = max.min(outbox.pending() as usize);
        self.reserve_tail(max);
        let n = outbox.drain_to(&mut self.buf[self.end..self.end + max])?;
        self.end += n;
        Ok(n)
    }

    /// Reads at most `max` bytes from `src` straight into the buffer's tail,
    /// so a large download is not copied through a scratch buffer first.
    ///
    /// A fresh buffer grows its initialised area by doubling from
    /// `FIRST_READ`, so a short reply does not pay for zeroing (and
    /// faulting in) a large read buffer; a download reaches `max` within a
    /// few reads.
    ///
    /// Returns the bytes read and the room that was offered: a read that
    /// did not fill its room found the socket drained.
    pub(crate) fn read_from(
        &mut self,
        src: &mut impl Read,
        max: usize,
    ) -> io::Result<(usize, usize)> {
        let max = max.min((self.buf.len() * 2).max(FIRST_READ));
        self.reserve_tail(max);
        let n = src.read(&mut self.buf[self.end..self.end + max])?;
        self.end += n;
        Ok((n, max))
    }

    /// Reads at most `max` bytes from `src`, through `scratch` unless this
    /// buffer has already grown to `FIRST_READ` (a connection moving data
    /// in bulk, which `read_from` serves without a copy). Through scratch,
    /// only the bytes that arrived are copied in, so a connection that
    /// sent a few bytes holds a few bytes, not a read buffer.
    pub(crate) fn read_via(
        &mut self,
        src: &mut impl Read,
        max: usize,
        scratch: &mut [u8],
    ) -> io::Result<(usize, usize)> {
        if self.buf.len() >= FIRST_READ || scratch.is_empty() {
            return self.read_from(src, max);
        }
        let max = max.min(scratch.len());
        let n = src.read(&mut scratch[..max])?;
        self.extend(&scratch[..n]);
        Ok((n, max))
    }

    /// Gives memory back once empty; idle connections should cost next to nothing.
    pub fn release_if_empty(&mut self, keep: usize) {
        if self.is_empty() && self.buf.capacity() > keep {
            self.buf = Vec::new();
        }
    }

    /// For an idle connection: frees the buffer when empty, and moves a
    /// small remainder (a partial message) out of a large buffer into one
    /// its own size.
    pub fn shrink_idle(&mut self) {
        self.release_if_empty(0);
        let len = self.len();
        if self.buf.capacity() > FIRST_READ && len <= self.buf.capacity() / 4 {
            self.buf = self.data().to_vec();
            self.start = 0;
            self.end = len;
        }
    }
}

/// One piece of queued output.
#[derive(Debug)]
pub enum Chunk {
    /// Bytes from memory; `pos` counts what was already written.
    Bytes { data: Vec<u8>, pos: usize },
    /// A byte range of a file, sent with sendfile(2) where possible.
    File {
        file: Arc<File>,
        offset: u64,
        end: u64,
    },
}

impl Chunk {
    pub fn remaining(&self) -> u64 {
        match self {
            Chunk::Bytes { data, pos } => (data.len() - pos) as u64,
            Chunk::File { offset, end, .. } => end - offset,
        }
    }
}

/// A loop's spent output buffers, lent to a connection's [`Outbox`] while
/// it sends and given back when it goes idle or ends: a keep-alive
/// connection that sends a large file now and then holds none in between,
/// and the next response (on any connection) reuses warm memory.
#[derive(Debug, Default)]
pub struct SparePool(Vec<Vec<u8>>);

/// Output queued by a session, in order. The loop writes it as the socket allows.
#[derive(Debug, Default)]
pub struct Outbox {
    chunks: VecDeque<Chunk>,
    queued: u64,
    written: u64,
    /// Empty buffers of `SPARE_MIN..=SPARE_MAX` bytes of capacity, from
    /// chunks the loop wrote out, for [`Outbox::spare`].
    spares: Vec<Vec<u8>>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, data: impl Into<Vec<u8>>) {
        let data = data.into();
        if data.is_empty() {
            return;
        }
        self.queued += data.len() as u64;
        // Coalesce small writes so a burst of short replies goes out in one syscall.
        if let Some(Chunk::Bytes { data: last, .. }) = self.chunks.back_mut() {
            if last.len() + data.len() <= 16 * 1024 {
                last.extend_from_slice(&data);
                self.recycle(data);
                return;
            }
        }
        self.chunks.push_back(Chunk::Bytes { data, pos: 0 });
    }

    /// Queues `len` bytes of `file` starting at `offset`.
    pub fn push_file(&mut self, file: Arc<File>, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.queued += len;
        self.chunks.push_back(Chunk::File {
            file,
            offset,
            end: offset + len,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> u64 {
        self.queued
    }

    /// Bytes written since the outbox was made; sessions use it to see progress.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.queued = 0;
    }

    /// An empty buffer with room for at least `min_capacity` bytes, reusing
    /// one the loop has written out when there is one. Queue it with
    /// [`Outbox::push`]; once written it comes back here.
    pub fn spare(&mut self, min_capacity: usize) -> Vec<u8> {
        let mut buf = self.spares.pop().unwrap_or_default();
        buf.reserve(min_capacity);
        buf
    }

    /// Keeps a spent buffer for [`Outbox::spare`] if it is worth keeping.
    fn recycle(&mut self, mut buf: Vec<u8>) {
        if (SPARE_MIN..=SPARE_MAX).contains(&buf.capacity()) && self.spares.len() < SPARES {
            buf.clear();
            self.spares.push(buf);
        }
    }

    /// Before a drive: takes a few of the loop's spares if this outbox
    /// has none left.
    pub(crate) fn borrow_spares(&mut self, pool: &mut SparePool) {
        if self.spares.is_empty() && !pool.0.is_empty() {
            let from = pool.0.len().saturating_sub(SPARES);
            self.spares.extend(pool.0.drain(from..));
        }
    }

    /// For a connection that went idle with nothing queued, or ended:
    /// its spares go back to the loop's pool, or are freed if it is full,
    /// so a connection that is not sending costs no buffers.
    pub(crate) fn return_spares(&mut self, pool: &mut SparePool) {
        if !self.is_empty() {
            return;
        }
        let room = POOL_SPARES.saturating_sub(pool.0.len());
        let n = self.spares.len().min(room);
        pool.0.extend(self.spares.drain(..n));
        self.spares = Vec::new();
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut Chunk> {
        self.chunks.front_mut()
    }

    pub(crate) fn chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.chunks.iter()
    }

    /// Records that `n` bytes from the front were written; byte buffers
    /// written out whole are kept for [`Outbox::spare`].
    pub(crate) fn advance(&mut self, n: u64) {
        self.take_front(n, true);
    }

    /// Drops `n` bytes from the front, recycling spent buffers if `recycle`.
    fn take_front(&mut self, mut n: u64, recycle: bool) {
        self.queued -= n;
        self.written += n;
        while n > 0 {
            let front = self.chunks.front_mut().expect("advanced past the end");
            let rem = front.remaining();
            let step = rem.min(n);
            match front {
                Chunk::Bytes { pos, .. } => *pos += step as usize,
                Chunk::File { offset, .. } => *offset += step,
            }
            n -= step;
            if step == rem {
                if let Some(Chunk::Bytes { data, .. }) = self.chunks.pop_front() {
                    if recycle {
                        self.recycle(data);
                    }
                }
            }
        }
    }

    /// Moves up to `max` bytes out of the queue into `out`, reading file
    /// chunks as needed. Used by layers (TLS) that must see plaintext bytes.
    pub fn drain_into(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let start = out.len();
        while out.len() - start < max {
            let room = max - (out.len() - start);
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let n = match front {
                Chunk::Bytes { data, pos } => {
                    let n = (data.len() - *pos).min(room);
                    out.extend_from_slice(&data[*pos..*pos + n]);
                    n
                }
                Chunk::File { file, offset, end } => {
                    let n = ((*end - *offset) as usize).min(room);
                    let at = out.len();
                    out.resize(at + n, 0);
                    // One pread(2), not lseek(2) and read(2).
                    file.read_exact_at(&mut out[at..], *offset)?;
                    n
                }
            };
            // No recycling: whoever drains an outbox this way (TLS's
            // plaintext queue) takes no spares from it.
            self.take_front(n as u64, false);
        }
        // Nor does it keep any a coalescing `push` recycled.
        self.spares.clear();
        Ok(out.len() - start)
    }

    /// Like [`Outbox::drain_into`], into memory that is already initialised,
    /// so a layer staging plaintext in 64 KiB steps pays no memset per step.
    fn drain_to(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < out.len() {
            let room = &mut out[done..];
            let n = match self.chunks.front() {
                None => break,
                Some(Chunk::Bytes { data, pos }) => {
                    let n = (data.len() - pos).min(room.len());
                    room[..n].copy_from_slice(&data[*pos..*pos + n]);
                    n
                }
                Some(Chunk::File { file, offset, end }) => {
                    let n = ((end - offset) as usize).min(room.len());
                    file.read_exact_at(&mut room[..n], *offset)?;
                    n
                }
            };
            self.take_front(n as u64, false);
            done += n;
        }
        self.spares.clear();
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbuf_keeps_unconsumed_bytes() {
        let mut b = InBuf::new();
        b.extend(b"hello ");
        b.consume(2);
        b.extend(b"world");
        assert_eq!(b.data(), b"llo world");
        b.consume(9);
        assert!(b.is_empty());
    }

    #[test]
    fn inbuf_reads_reuse_the_tail_and_compact() {
        let mut b = InBuf::new();
        let mut src: &[u8] = b"abcdefgh";
        assert_eq!(b.read_from(&mut src, 3).unwrap().0, 3);
        assert_eq!(b.data(), b"abc");
        b.consume(2);
        assert_eq!(b.read_from(&mut src, 4).unwrap().0, 4);
        assert_eq!(b.data(), b"cdefg");
        b.consume(5);
        assert!(b.is_empty());
        assert_eq!(b.read_from(&mut src, 10).unwrap().0, 1);
        assert_eq!(b.data(), b"h");
        assert_eq!(b.read_from(&mut src, 10).unwrap().0, 0);
        assert_eq!(b.data(), b"h");
        b.extend(b"ij");
        assert_eq!(b.data(), b"hij");
        b.consume(3);
        b.release_if_empty(0);
        assert_eq!(b.buf.capacity(), 0);

        let big = vec![7u8; 1 << 20];
        let mut src: &[u8] = &big;
        let sizes: Vec<usize> = (0..6)
            .map(|_| {
                let (n, offered) = b.read_from(&mut src, 128 * 1024).unwrap();
                assert_eq!(n, offered, "a full source fills every read");
                n
            })
            .collect();
        // Doubling the initialised area (48 KiB after two reads), capped at `max`.
        assert_eq!(sizes, [16384, 32768, 98304, 131072, 131072, 131072]);
        assert_eq!(b.len(), sizes.iter().sum::<usize>());
    }

    /// A connection that sent a few bytes holds about that many, not a
    /// read buffer (5,000 partial heads once cost 16 KiB each).
    #[test]
    fn small_reads_go_through_scratch_and_cost_their_size() {
        let mut scratch = vec![0u8; 16 * 1024];
        let mut b = InBuf::new();
        let mut src: &[u8] = b"GET / HTTP/1.1\r\nHo";
        assert_eq!(b.read_via(&mut src, 16 * 1024, &mut scratch).unwrap().0, 18);
        assert_eq!(b.data(), b"GET / HTTP/1.1\r\nHo");
        assert!(b.buf.capacity() <= 64, "{}", b.buf.capacity());
        let mut src: &[u8] = b"st: x\r\n";
        b.read_via(&mut src, 16 * 1024, &mut scratch).unwrap();
        assert_eq!(b.data(), b"GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(b.buf.capacity() <= 128, "{}", b.buf.capacity());

        // Bulk data: one full scratch read, then straight into the buffer.
        let big = vec![7u8; 1 << 20];
        let mut src: &[u8] = &big;
        let mut b = InBuf::new();
        let (n, offered) = b.read_via(&mut src, 64 * 1024, &mut scratch).unwrap();
        assert_eq!((n, offered), (16 * 1024, 16 * 1024));
        let (n, _) = b.read_via(&mut src, 64 * 1024, &mut scratch).unwrap();
        assert_eq!(n, 32 * 1024, "grows by doubling once large");
        // Idle with a small remainder: the large buffer is given back.
        b.consume(b.len() - 10);
        b.shrink_idle();
        assert_eq!(b.len(), 10);
        assert!(b.buf.capacity() < 64);
        b.consume(10);
        b.shrink_idle();
        assert_eq!(b.buf.capacity(), 0);
    }

    #[test]
    fn outbox_advance_crosses_chunks() {
        let mut o = Outbox::new();
        o.push(vec![1u8; 20_000]);
        o.push(vec![2u8; 10]);
        assert_eq!(o.pending(), 20_010);
        o.advance(20_005);
        assert_eq!(o.pending(), 5);
        let mut out = Vec::new();
        o.drain_into(&mut out, 100).unwrap();
        assert_eq!(out, vec![2u8; 5]);
        assert!(o.is_empty());
        assert_eq!(o.written(), 20_010);
    }

    #[test]
    fn outbox_small_pushes_coalesce() {
        let mut o = Outbox::new();
        o.push(&b"a"[..]);
        o.push(&b"b"[..]);
        assert_eq!(o.chunks().count(), 1);
    }

    /// Spent buffers come back from `spare`, empty; only big ones are
    /// kept, only a few, and none once the outbox goes idle.
    #[test]
    fn written_buffers_are_recycled_bounded_and_cleared() {
        let mut o = Outbox::new();
        let big = o.spare(64 * 1024);
        assert!(big.is_empty() && big.capacity() >= 64 * 1024);
        let ptr = big.as_ptr();
        o.push(vec![1u8; 20]);
        let mut big = big;
        big.resize(64 * 1024, 9);
        o.push(big);
        o.advance(20 + 64 * 1024);
        let again = o.spare(1024);
        assert_eq!(again.as_ptr(), ptr, "the written buffer is reused");
        assert!(again.is_empty(), "and handed out cleared");

        let table: [(usize, bool); 4] = [
            (SPARE_MIN - 1, false),
            (SPARE_MIN, true),
            (SPARE_MAX, true),
            (SPARE_MAX + 1, false),
        ];
        for (capacity, kept) in table {
            let mut o = Outbox::new();
            let mut v = Vec::with_capacity(capacity);
            v.push(1u8);
            o.push(v);
            o.advance(1);
            assert_eq!(o.spares.len(), usize::from(kept), "{capacity}");
        }

        let mut o = Outbox::new();
        for _ in 0..SPARES + 3 {
            o.push(vec![2u8; 20 * 1024]);
        }
        o.advance(o.pending());
        assert_eq!(o.spares.len(), SPARES);
        let mut pool = SparePool::default();
        o.push(&b"queued"[..]);
        o.return_spares(&mut pool);
        assert_eq!(o.spares.len(), SPARES, "kept while output is queued");
        o.advance(6);
        o.return_spares(&mut pool);
        assert!(o.spares.is_empty());
        assert_eq!(pool.0.len(), SPARES);
    }

    /// The loop's pool lends a few buffers to an outbox with none, takes
    /// them back when it idles, and keeps at most `POOL_SPARES`.
    #[test]
    fn the_pool_lends_and_takes_back_bounded() {
        let mut pool = SparePool::default();
        let outboxes: Vec<Outbox> = (0..POOL_SPARES / SPARES + 2)
            .map(|_| {
                let mut o = Outbox::new();
                for _ in 0..SPARES {
                    o.push(vec![4u8; 20 * 1024]);
                }
                o.advance(o.pending());
                o
            })
            .collect();
        for mut o in outboxes {
            o.return_spares(&mut pool);
            assert!(o.spares.is_empty());
        }
        assert_eq!(pool.0.len(), POOL_SPARES, "the rest were freed");

        let mut o = Outbox::new();
        o.borrow_spares(&mut pool);
        assert_eq!(o.spares.len(), SPARES);
        assert_eq!(pool.0.len(), POOL_SPARES - SPARES);
        o.borrow_spares(&mut pool);
        assert_eq!(o.spares.len(), SPARES, "only an outbox with none borrows");
        let lent = o.spare(64 * 1024);
        assert!(lent.is_empty() && lent.capacity() >= 64 * 1024);
        o.return_spares(&mut pool);
        assert_eq!(pool.0.len(), POOL_SPARES - 1);
    }

    /// A small write coalesced into the previous chunk still returns its
    /// big buffer; draining (TLS's plaintext queue) keeps none.
    #[test]
    fn coalesced_buffers_return_and_drained_ones_do_not() {
        let mut o = Outbox::new();
        o.push(&b"head"[..]);
        let mut v = o.spare(32 * 1024);
        v.extend_from_slice(b"body");
        o.push(v);
        assert_eq!(o.chunks().count(), 1);
        assert_eq!(o.spares.len(), 1);
        o.drain_into(&mut Vec::new(), 2).unwrap();
        assert!(o.spares.is_empty());

        let mut o = Outbox::new();
        o.push(vec![3u8; 40 * 1024]);
        let mut out = Vec::new();
        o.drain_into(&mut out, 1 << 20).unwrap();
        assert!(o.is_empty());
        assert!(o.spares.is_empty());
    }

    #[test]
    fn fill_from_moves_bytes_and_file_ranges_in_steps() {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789").unwrap();
        let mut o = Outbox::new();
        o.push(&b"head:"[..]);
        o.push_file(Arc::new(f), 2, 5);
        o.push(&b":tail"[..]);
        let mut b = InBuf::new();
        assert_eq!(b.fill_from(&mut o, 7).unwrap(), 7);
        assert_eq!(b.data(), b"head:23");
        b.consume(7);
        assert_eq!(b.fill_from(&mut o, 100).unwrap(), 8);
        assert_eq!(b.data(), b"456:tail");
        assert!(o.is_empty());
        assert_eq!(b.fill_from(&mut o, 100).unwrap(), 0);
        assert_eq!(o.written(), 15);
    }

    #[test]
    fn drain_reads_file_ranges() {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789").unwrap();
        let mut o = Outbox::new();
        o.push_file(Arc::new(f), 2, 5);
        let mut out = Vec::new();
        o.drain_into(&mut out, 3).unwrap();
        assert_eq!(out, b"234");
        o.drain_into(&mut out, 10).unwrap();
        assert_eq!(out, b"23456");
    }
}

//! Lingering close: sockets whose last byte has been handed to the kernel,
//! half-closed and kept open only to read and discard what the peer still
//! sends, until its FIN or a deadline.
//!
//! Closing a socket with unread input makes the kernel send a reset, and a
//! reset can destroy response bytes the peer has not read yet (a request
//! pipelined behind the last one, or the request a 503 refusal never
//! read). RFC 9112 section 9.6: close the sending side first, then keep
//! reading until the peer closes too or enough time has passed. No
//! session is attached here: the service has already been told the
//! connection ended.

use std::io::Read;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use slab::Slab;

use super::errors::{is_interrupted, is_would_block};
use super::socket::Stream;

/// Tokens of lingering sockets carry this bit; connection keys never reach it.
pub(super) const TAG: usize = 1 << (usize::BITS - 2);
/// A peer that sends more than this after our close is not winding down:
/// stop being polite and close.
const MAX_DISCARD: usize = 1 << 20;

struct Entry {
    stream: Stream,
    deadline: Instant,
    discarded: usize,
}

/// The lingering sockets of one loop, at most `cap` of them.
pub(super) struct Lingering {
    set: Slab<Entry>,
    cap: usize,
}

impl Lingering {
    pub fn new(cap: usize) -> Self {
        Lingering {
            set: Slab::new(),
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Half-closes `stream` (not registered with the poll) and lingers on
    /// it until `deadline`; closes it at once if the peer already closed,
    /// or if the set is full (a reset is then the lesser evil than running
    /// out of descriptors).
    pub fn add(
        &mut self,
        registry: &Registry,
        mut stream: Stream,
        deadline: Instant,
        scratch: &mut [u8],
    ) {
        if self.set.len() >= self.cap {
            return;
        }
        if stream.shutdown(std::net::Shutdown::Write).is_err() {
            return;
        }
        let mut discarded = 0;
        if !drain(&mut stream, scratch, &mut discarded) {
            return;
        }
        let entry = self.set.vacant_entry();
        // Registering reports readiness that is already there, so bytes
        // that arrived since the drain above are not missed.
        if registry
            .register(&mut stream, Token(TAG | entry.key()), Interest::READABLE)
            .is_ok()
        {
            entry.insert(Entry {
                stream,
                deadline,
                discarded,
            });
        }
    }

    /// The socket behind `token` is readable: discard what came, and close
    /// at EOF, on an error or past the discard budget.
    pub fn on_readable(&mut self, registry: &Registry, token: usize, scratch: &mut [u8]) {
        let key = token & !TAG;
        let Some(e) = self.set.get_mut(key) else {
            return;
        };
        if !drain(&mut e.stream, scratch, &mut e.discarded) {
            self.close(registry, key);
        }
    }

    /// Closes the sockets whose deadline passed; returns the next deadline.
    pub fn sweep(&mut self, registry: &Registry, now: Instant) -> Option<Instant> {
        let due: Vec<usize> = self
            .set
            .iter()
            .filter(|(_, e)| now >= e.deadline)
            .map(|(k, _)| k)
            .collect();
        for key in due {
            self.close(registry, key);
        }
        self.set.iter().map(|(_, e)| e.deadline).min()
    }

    /// Closes every lingering socket, to give their descriptors back.
    pub fn clear(&mut self, registry: &Registry) {
        for mut e in self.set.drain() {
            let _ = registry.deregister(&mut e.stream);
        }
        self.set.shrink_to_fit();
    }

    fn close(&mut self, registry: &Registry, key: usize) {
        if let Some(mut e) = self.set.try_remove(key) {
            let _ = registry.deregister(&mut e.stream);
        }
        if self.set.is_empty() {
            // A wave of closes should not keep the table's memory.
            self.set.shrink_to_fit();
        }
    }
}

/// Reads and drops input until the socket would block. Returns whether to
/// keep lingering: false at EOF, on an error, or past the discard budget.
fn drain(stream: &mut Stream, scratch: &mut [u8], discarded: &mut usize) -> bool {
    loop {
        match stream.read(scratch) {
            Ok(0) => return false,
            Ok(n) => {
                *discarded += n;
                if *discarded > MAX_DISCARD {
                    return false;
                }
            }
            Err(e) if is_would_block(&e) => return true,
            Err(e) if is_interrupted(&e) => {}
            Err(_) => return false,
        }
    }
}

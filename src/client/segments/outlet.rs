//! The outlets of a segmented download. [`Leader`] stands in for the
//! first connection's own outlet (kept in the split as its `sink`, for the
//! first head, the progress of the whole file and the commit): its body
//! is cut at the end of its span (which stealing may move down). Every
//! connection, the first included, writes at its offsets into the one file
//! (positioned writes, so they never share a cursor), and stops taking
//! bytes once the split has failed. With `-v` each connection's heads go
//! in the transcript under its number ([`super::transcript`]); the first
//! connection's own heads were shown before the split began.

use std::os::unix::fs::FileExt;

use super::plan::Span;
use super::state::Shared;
use super::transcript::{self, Way};
use crate::client::outlet::{BodyTarget, Delivered, Outlet};
use crate::error::{Error, Result};
use crate::http::Header;

/// The first connection's outlet once its body is split.
#[derive(Debug)]
pub struct Leader<J> {
    pub split: Shared<J>,
}

/// One more connection's outlet: span `index` of the split.
#[derive(Debug)]
pub struct Piece<J> {
    pub split: Shared<J>,
    pub index: usize,
}

fn check<J>(split: &Shared<J>) -> Result<()> {
    match split.borrow().failure() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `-v`: a head of span `index`'s connection.
fn show<J>(split: &Shared<J>, index: usize, head: &[u8], way: Way) {
    let split = split.borrow();
    let label = split.labels[index];
    transcript::show(&split.template.config.printer, label, head, way);
}

/// Writes what of `bytes` falls inside span `index`, at its offset: the
/// first connection too, so that every byte counted is in the file (no
/// buffer a kill could lose after the meta claimed it).
fn write_span<J>(split: &Shared<J>, index: usize, bytes: &[u8]) -> Result<()> {
    check(split)?;
    let mut split = split.borrow_mut();
    let span = split.spans[index];
    let take = room(&span, bytes.len());
    split
        .file
        .write_all_at(&bytes[..take], span.at())
        .map_err(|e| Error::io("writing a segment", e))?;
    split.wrote(index, take as u64);
    Ok(())
}

/// Calls the download's own outlet (the first job's, kept in the split).
fn sink<J, R>(split: &Shared<J>, f: impl FnOnce(&mut dyn Outlet) -> R) -> Option<R> {
    let mut split = split.borrow_mut();
    split.sink.as_mut().map(|o| f(&mut **o))
}

/// The progress of the whole file, whichever connection read.
fn report<J>(split: &Shared<J>) {
    let mut split = split.borrow_mut();
    let (got, total) = (split.spans.iter().map(|s| s.got).sum(), split.total);
    if let Some(o) = split.sink.as_mut() {
        o.progress(got, Some(total));
    }
}

/// How much of `len` bytes still fall inside `span`.
fn room(span: &Span, len: usize) -> usize {
    span.left().min(len as u64) as usize
}

/// Once split, the first job's requests are retries on new connections:
/// labelled like the others, and their heads only shown (the file's head
/// was shown with the first response).
impl<J: std::fmt::Debug> Outlet for Leader<J> {
    fn request(&mut self, head: &[u8]) {
        show(&self.split, 0, head, Way::Sent);
    }

    fn passing_head(&mut self, head: &[u8]) {
        show(&self.split, 0, head, Way::Received);
    }

    fn final_head(&mut self, head: &[u8]) -> Result<()> {
        show(&self.split, 0, head, Way::Received);
        Ok(())
    }

    fn open(&mut self, target: BodyTarget<'_>) -> Result<()> {
        // A retry of the first connection must continue its own bytes: a
        // fresh body (a 200 after If-Range) means the file changed, and the
        // other ranges belong to the old one.
        if !target.keep {
            let why = "the file changed on the server during the download";
            let mut split = self.split.borrow_mut();
            let url = &split.template.target.url;
            let e = Error::Protocol(format!("{url}: {why}"));
            split.fail(&e);
            return Err(Error::Protocol(why.into()));
        }
        sink(&self.split, |o| o.open(target)).unwrap_or(Ok(()))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        write_span(&self.split, 0, bytes)
    }

    fn progress(&mut self, _received: u64, _expected: Option<u64>) {
        report(&self.split);
    }

    fn body_end(&mut self, trailers: &[Header]) {
        sink(&self.split, |o| o.body_end(trailers));
    }

    /// Where a retry of the first connection continues: the end of what
    /// it wrote (an offset into the file, as a `Range` needs).
    fn received(&self) -> u64 {
        self.split.borrow().spans[0].at()
    }

    fn satisfied(&self) -> bool {
        self.split.borrow().spans[0].is_whole()
    }

    fn label(&self) -> Option<usize> {
        Some(self.split.borrow().labels[0])
    }

    fn commit(&mut self) -> Result<Option<Delivered>> {
        let (sink, total) = {
            let mut split = self.split.borrow_mut();
            (split.sink.take(), split.total)
        };
        let Some(mut sink) = sink else {
            return Ok(None);
        };
        Ok(sink.commit()?.map(|d| Delivered { bytes: total, ..d }))
    }
}

impl<J: std::fmt::Debug> Outlet for Piece<J> {
    fn request(&mut self, head: &[u8]) {
        show(&self.split, self.index, head, Way::Sent);
    }

    fn passing_head(&mut self, head: &[u8]) {
        show(&self.split, self.index, head, Way::Received);
    }

    fn final_head(&mut self, head: &[u8]) -> Result<()> {
        show(&self.split, self.index, head, Way::Received);
        Ok(())
    }

    fn open(&mut self, _target: BodyTarget<'_>) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        write_span(&self.split, self.index, bytes)
    }

    fn progress(&mut self, _received: u64, _expected: Option<u64>) {
        report(&self.split);
    }

    fn body_end(&mut self, _trailers: &[Header]) {}

    fn received(&self) -> u64 {
        self.split.borrow().spans[self.index].got
    }

    fn satisfied(&self) -> bool {
        self.split.borrow().spans[self.index].is_whole()
    }

    fn label(&self) -> Option<usize> {
        Some(self.split.borrow().labels[self.index])
    }

    fn commit(&mut self) -> Result<Option<Delivered>> {
        Ok(None)
    }
}

/// A piece dropped before its span is whole (a run stopped by Ctrl-C, its
/// queued jobs dropped unsettled) lets the parked first job go too: it
/// holds the split that holds it, and only once the split goes is its
/// output dropped (the temporary file removed, a `-C` part kept).
impl<J> Drop for Piece<J> {
    fn drop(&mut self) {
        let parked = match self.split.try_borrow_mut() {
            Ok(mut s) if !s.spans[self.index].is_whole() => s.parked.take(),
            _ => None,
        };
        drop(parked);
    }
}

//! A segmented download's shared state: the temporary file, the spans and
//! what each asked for, why it failed, and the first job parked until the
//! others are done. Generic over the job type so that the job, which
//! carries a [`Role`], and this state do not import each other.

use std::cell::RefCell;
use std::fs::File;
use std::rc::Rc;

use super::plan::Span;
use crate::client::config::ClientConfig;
use crate::client::outlet::Outlet;
use crate::client::partial::Partial;
use crate::client::request::HeaderEdit;
use crate::client::target::Target;

#[derive(Debug)]
pub struct Split<J> {
    /// The temporary file, for positioned writes.
    pub file: File,
    pub total: u64,
    pub validator: String,
    /// Span 0 is the first connection's.
    pub spans: Vec<Span>,
    /// The range each span's request last asked for (`first..=last`).
    pub asked: Vec<Option<(u64, u64)>>,
    /// The smallest span worth stealing.
    pub min: u64,
    /// Why the download can no longer succeed.
    pub failed: Option<String>,
    /// The first job, its span whole, waiting for the others.
    pub parked: Option<J>,
    /// What every piece's job is made from.
    pub template: Template,
    /// `-C`: the part whose meta records the complete ranges.
    pub partial: Option<Partial>,
    /// Ranges complete before this run (`first..=last`).
    pub kept: Vec<(u64, u64)>,
    /// Bytes written since the meta was last saved.
    pub unsaved: u64,
    /// The first job's own outlet (transcript, progress, the output to
    /// commit); the connections' outlets reach it through here.
    pub sink: Option<Box<dyn Outlet>>,
}

/// How often, in bytes written, a `-C` part's meta is saved (and at the
/// end of every span).
const SAVE_EVERY: u64 = 4 << 20;

/// The first job's settings and target (after its redirects), for pieces.
#[derive(Debug)]
pub struct Template {
    pub config: Rc<ClientConfig>,
    pub target: Target,
    pub edits: Vec<HeaderEdit>,
}

pub type Shared<J> = Rc<RefCell<Split<J>>>;

/// What a job is to a segmented download.
#[derive(Debug)]
pub enum Role<J> {
    /// The first connection, reading the 200.
    Leader(Shared<J>),
    /// Span `.1`, fetched as a range.
    Piece(Shared<J>, usize),
}

impl<J> Clone for Role<J> {
    fn clone(&self) -> Self {
        match self {
            Role::Leader(s) => Role::Leader(s.clone()),
            Role::Piece(s, i) => Role::Piece(s.clone(), *i),
        }
    }
}

impl<J> Split<J> {
    pub fn is_whole(&self) -> bool {
        self.spans.iter().all(Span::is_whole)
    }

    /// `n` more bytes of span `index` are in the file.
    pub fn wrote(&mut self, index: usize, n: u64) {
        self.spans[index].got += n;
        self.unsaved += n;
        if self.unsaved >= SAVE_EVERY || self.spans[index].is_whole() {
            self.save();
        }
    }

    /// `-C`: records what the part holds (written bytes only: a killed run
    /// must never find more claimed than is there).
    pub fn save(&mut self) {
        self.unsaved = 0;
        let Some(partial) = &self.partial else {
            return;
        };
        let written = self.spans.iter().filter(|s| s.got > 0);
        let done: Vec<_> = self
            .kept
            .iter()
            .copied()
            .chain(written.map(|s| (s.start, s.at() - 1)))
            .collect();
        if let Err(e) = partial.write_ranges(&self.validator, self.total, &done) {
            log::warn!("{}: {e}", partial.meta.display());
        }
    }
}

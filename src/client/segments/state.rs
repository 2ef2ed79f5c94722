//! A segmented download's shared state: the temporary file, the spans and
//! what each asked for, why it failed (the first error, kept so that every
//! job of the split ends with its kind and exit code), the connections'
//! `-v` labels, and the first job parked until the others are done.
//! Generic over the job type so that the job, which carries a [`Role`],
//! and this state do not import each other.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::rc::Rc;
use std::time::Instant;

use super::plan::Span;
use crate::client::config::ClientConfig;
use crate::client::outlet::Outlet;
use crate::client::partial::Partial;
use crate::client::request::HeaderEdit;
use crate::client::target::Target;
use crate::error::Error;

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
    /// Why the download can no longer succeed: the first failure, with
    /// its URL. Once set, no job of the split sends another request.
    pub failed: Option<Error>,
    /// The service was told of `failed` (to end the split's connections).
    pub told: bool,
    /// `-v`: each span's connection number (`#2`); the first connection
    /// is #1, and every new connection takes the next number.
    pub labels: Vec<usize>,
    /// The connection numbers given so far.
    pub connections: usize,
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
    /// When the download began: `--max-time` bounds the whole file, so
    /// every piece runs on this clock, not on its own.
    pub started: Instant,
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

    /// The download cannot succeed, for `e` (the first failure wins).
    pub fn fail(&mut self, e: &Error) {
        if self.failed.is_none() {
            self.failed = Some(replica(e));
        }
    }

    /// The first failure, to end another job of the split with.
    pub fn failure(&self) -> Option<Error> {
        self.failed.as_ref().map(replica)
    }

    /// `-v`: span `index` goes over a new connection; its number.
    pub fn new_connection(&mut self, index: usize) -> usize {
        self.connections += 1;
        self.labels[index] = self.connections;
        self.connections
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

/// The same failure again (its kind, so its exit code, and its words), for
/// the other jobs of a split that fails: [`Error`] holds `io::Error`s,
/// which cannot be cloned, so those keep their kind and text.
pub fn replica(e: &Error) -> Error {
    let again = |source: &io::Error| io::Error::new(source.kind(), source.to_string());
    match e {
        Error::Usage(m) => Error::Usage(m.clone()),
        Error::Resolve { host, source } => Error::Resolve {
            host: host.clone(),
            source: again(source),
        },
        Error::Connect(m) => Error::Connect(m.clone()),
        Error::Timeout(m) => Error::Timeout(m.clone()),
        Error::Protocol(m) => Error::Protocol(m.clone()),
        Error::HttpStatus {
            status,
            reason,
            url,
        } => Error::HttpStatus {
            status: *status,
            reason: reason.clone(),
            url: url.clone(),
        },
        Error::File { path, source } => Error::file(path.clone(), again(source)),
        Error::Folder { path, source } => Error::Folder {
            path: path.clone(),
            source: again(source),
        },
        Error::Redirect(m) => Error::Redirect(m.clone()),
        Error::Tls(m) => Error::Tls(m.clone()),
        Error::Interrupted => Error::Interrupted,
        Error::Stopped(m) => Error::Stopped(m.clone()),
        Error::Some { failed, total } => Error::Some {
            failed: *failed,
            total: *total,
        },
        Error::Io { context, source } => Error::io(context.clone(), again(source)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_replica_keeps_the_words_and_the_exit_code() {
        let io = || io::Error::new(io::ErrorKind::StorageFull, "no space left");
        let errors = [
            Error::Timeout("http://h/f: not finished within --max-time 2s".into()),
            Error::Protocol("http://h/f: a range came with ETag \"b\"".into()),
            Error::Connect("refused".into()),
            Error::HttpStatus {
                status: 503,
                reason: "Busy".into(),
                url: "http://h/f".into(),
            },
            Error::file(PathBuf::from("out.bin.part"), io()),
            Error::io("writing a segment", io()),
            Error::Interrupted,
        ];
        for e in errors {
            let r = replica(&e);
            assert_eq!(r.to_string(), e.to_string());
            assert_eq!(r.exit_code(), e.exit_code(), "{e}");
        }
    }
}

//! Where an exchange's results go, as the session sees it: the [`Outlet`]
//! trait (the transcript, the final head, the body and its progress) and
//! [`Files`], the implementation a run uses, over [`Printer`], [`Output`]
//! and [`Progress`]. The session only calls the trait, so it never opens a
//! file or touches a terminal, and its tests hand it an outlet in memory.

use std::fmt;

use super::config::ClientConfig;
use super::headers::Printer;
use super::output::{Continue, Destination, Output, Saved};
use super::partial::Partial;
use super::progress::{Board, Progress};
use crate::error::Result;
use crate::http::Header;

/// The receiving end of one download's exchanges.
pub trait Outlet: fmt::Debug {
    /// The request head as sent (`-v`).
    fn request(&mut self, head: &[u8]);
    /// A 1xx head, or the head of a redirect being followed.
    fn passing_head(&mut self, head: &[u8]);
    /// The final head. Its error matters where the head is the point
    /// (`headers`, `--fail`); for a body it is only logged.
    fn final_head(&mut self, head: &[u8]) -> Result<()>;
    /// Opens where the body goes, before any of it is written.
    fn open(&mut self, target: BodyTarget<'_>) -> Result<()>;
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// `received` body bytes so far, of `expected` when the framing says.
    fn progress(&mut self, received: u64, expected: Option<u64>);
    /// The body is complete; `trailers` are its trailer fields (often none).
    fn body_end(&mut self, trailers: &[Header]);
    /// Bytes of the open body kept so far (with `-C`, those of the part
    /// file); 0 when none is open. A retry continues from here.
    fn received(&self) -> u64 {
        0
    }
    /// `--segments`: this connection's share of the body is in (the
    /// session then stops reading and closes it).
    fn satisfied(&self) -> bool {
        false
    }
    /// `--segments`: the open body's file, for positioned writes by other
    /// connections; `None` when it is no regular temporary file.
    fn positioned(&self) -> Option<std::fs::File> {
        None
    }
    /// `--segments`: the number `-v` labels this connection's lines with.
    fn label(&self) -> Option<usize> {
        None
    }
    /// The download succeeded: puts the body in place. `None` when no
    /// body was opened (`headers`, a redirect's last hop without one).
    fn commit(&mut self) -> Result<Option<Delivered>>;
}

/// Where a body goes: the job's destination (with a `-J` name applied),
/// and with `-C` the part file and how it continues.
#[derive(Debug, Clone, Copy)]
pub struct BodyTarget<'a> {
    pub destination: &'a Destination,
    pub part: Option<(&'a Partial, Continue, Option<&'a str>)>,
    /// A retry's 206 continues the body already open: keep it, append.
    pub keep: bool,
}

/// A committed body: where it went and how many bytes it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub saved: Saved,
    pub bytes: u64,
}

/// The outlet of a run: the transcript and heads through the [`Printer`],
/// the body into an [`Output`] (a file, a part file or stdout), progress
/// on stderr.
#[derive(Debug)]
pub struct Files {
    printer: Printer,
    show_progress: bool,
    board: Option<Board>,
    /// The progress line's name, known once the body is opened.
    label: String,
    output: Option<Output>,
    progress: Option<Progress>,
}

impl Files {
    pub fn new(config: &ClientConfig) -> Files {
        Files {
            printer: config.printer,
            show_progress: config.progress,
            board: config.board.clone(),
            label: String::new(),
            output: None,
            progress: None,
        }
    }

    fn end_progress(&mut self) {
        if let Some(p) = &mut self.progress {
            p.finish();
        }
    }
}

impl Outlet for Files {
    fn request(&mut self, head: &[u8]) {
        self.printer.request(head);
    }

    fn passing_head(&mut self, head: &[u8]) {
        self.printer.passing_head(head);
    }

    fn final_head(&mut self, head: &[u8]) -> Result<()> {
        self.printer.final_head(head)
    }

    fn open(&mut self, target: BodyTarget<'_>) -> Result<()> {
        self.label = target.destination.label();
        self.progress = None;
        if target.keep && self.output.is_some() {
            return Ok(());
        }
        // A body that starts over: the old one goes first (its buffered
        // bytes must not land after a truncation of the same part file).
        self.output = None;
        self.output = Some(match target.part {
            None => Output::open(target.destination)?,
            Some((partial, how, validator)) => {
                Output::open_part(target.destination, partial, how, validator)?
            }
        });
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.output
            .as_mut()
            .expect("opened before the body")
            .write(bytes)
    }

    fn progress(&mut self, received: u64, expected: Option<u64>) {
        let (board, label, show) = (&self.board, &self.label, self.show_progress);
        self.progress
            .get_or_insert_with(|| match board {
                Some(board) => Progress::on_board(board, label, expected),
                None => Progress::new(show, expected),
            })
            .update(received);
    }

    fn body_end(&mut self, trailers: &[Header]) {
        self.end_progress();
        self.printer.trailers(trailers);
    }

    fn received(&self) -> u64 {
        self.output.as_ref().map_or(0, Output::length)
    }

    fn positioned(&self) -> Option<std::fs::File> {
        self.output.as_ref().and_then(Output::positioned)
    }

    fn commit(&mut self) -> Result<Option<Delivered>> {
        self.end_progress();
        let Some(output) = self.output.take() else {
            return Ok(None);
        };
        let bytes = output.written();
        Ok(Some(Delivered {
            saved: output.commit()?,
            bytes,
        }))
    }
}

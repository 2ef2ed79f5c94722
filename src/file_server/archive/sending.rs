//! The archive a connection is sending, as the session holds it: fed
//! between requests until wholly queued, then the next request may start
//! (or the connection closes, if it was to). A failed stream cuts the
//! connection, so the client sees a short body.

use super::stream::{Feed, Stream};
use crate::event_loop::{Io, Step};
use crate::file_server::path::Root;

#[derive(Debug, Default)]
pub struct Sending {
    stream: Option<Box<Stream>>,
    close_after: bool,
}

impl Sending {
    pub fn start(&mut self, stream: Box<Stream>) {
        self.stream = Some(stream);
    }

    /// With an archive under way, a close is put off until it is queued:
    /// `true` if so.
    pub fn defer_close(&mut self) -> bool {
        self.close_after = self.stream.is_some();
        self.close_after
    }

    /// Body bytes planned and not yet queued.
    pub fn unqueued(&self) -> u64 {
        self.stream.as_ref().map_or(0, |s| s.unqueued())
    }

    /// Feeds the archive, if any: `Some(step)` while it is not wholly
    /// queued (or has failed), `None` once it is and the session may go on.
    pub fn drive(&mut self, io: &mut Io<'_>, root: &Root) -> Option<Step> {
        let stream = self.stream.as_mut()?;
        match stream.feed(io, root) {
            Feed::Done => {
                self.stream = None;
                std::mem::take(&mut self.close_after).then_some(Step::Close)
            }
            // Driven again when the output drains, or at once if nothing
            // is queued (tar.gz paused by its compression budget).
            Feed::More => Some(Step::Wait {
                read: false,
                deadline: io.output.is_empty().then_some(io.now),
            }),
            Feed::Fail => Some(Step::Abort),
        }
    }
}

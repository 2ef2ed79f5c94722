//! What each mio token stands for: the waker, a listener, a lingering
//! socket or a connection of the table, and the ready list the loop builds
//! from one poll. The encoding of tokens lives here and nowhere else; no
//! I/O happens here.

use mio::Token;

use crate::event_loop::linger;

/// The token of the loop's waker.
pub(super) const WAKER: Token = Token(usize::MAX);
/// Listener `i` has the token `LISTENER_BASE + i`; connection keys and
/// lingering tags (`linger::TAG`) stay below it.
const LISTENER_BASE: usize = usize::MAX - 64;

/// What a token from the poll refers to.
pub(super) enum Source {
    Waker,
    Listener(usize),
    /// A lingering socket, by its full token (`linger` decodes it).
    Lingering(usize),
    Conn(usize),
}

impl Source {
    pub fn of(token: Token) -> Source {
        match token {
            WAKER => Source::Waker,
            Token(t) if t >= LISTENER_BASE => Source::Listener(t - LISTENER_BASE),
            Token(t) if t & linger::TAG != 0 => Source::Lingering(t),
            Token(key) => Source::Conn(key),
        }
    }
}

pub(super) fn listener_token(index: usize) -> Token {
    Token(LISTENER_BASE + index)
}

/// One entry of the list of things to attend to after a poll, in the
/// order their events came.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ready {
    /// Listener `i` may have connections to accept.
    Listener(usize),
    /// The connection with this key had readiness reported.
    Conn(usize),
}

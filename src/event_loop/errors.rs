//! The two I/O error kinds every socket path of the loop treats specially
//! (TCP, UDP, lingering close). Predicates only: deciding what to do about
//! an error stays with the code that hit it.

use std::io;

/// Is this the error a nonblocking socket gives when it would have to wait?
pub fn is_would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Errors that are worth retrying at once rather than treating as fatal.
pub fn is_interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

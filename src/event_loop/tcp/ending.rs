//! How the loop tells a session and its service that a connection ended,
//! with a panic in either contained and logged rather than unwinding into
//! the loop. No socket is touched here.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::event_loop::peer::Peer;
use crate::event_loop::session::{Ended, Service, Session};

/// Tells the session and then the service that a connection ended. A
/// panic in either is logged and goes no further.
pub(super) fn report_end<Svc: Service>(
    svc: &mut Svc,
    mut session: Svc::Session,
    written: u64,
    how: Ended,
    peer: Peer,
) {
    let closed = catch_unwind(AssertUnwindSafe(|| session.on_close(written)));
    if let Err(panic) = closed {
        log::error!(
            "connection to {peer}: panicked while closing: {}",
            panic_message(&*panic)
        );
    }
    tell_ended(svc, session, how, peer);
}

/// `svc.ended`, with a panic logged rather than unwinding into the loop.
/// `peer` names the connection in the log (for a connect that never
/// started, the first address it would have tried, if any).
pub(super) fn tell_ended<Svc: Service>(
    svc: &mut Svc,
    session: Svc::Session,
    how: Ended,
    peer: impl std::fmt::Display,
) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| svc.ended(session, how))) {
        log::error!(
            "connection to {peer}: service panicked on its end: {}",
            panic_message(&*panic)
        );
    }
}

/// The text of a panic payload (`panic!` with a literal or a format).
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

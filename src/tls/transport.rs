//! [`MaybeTls`]: one session type for a service whose connections are
//! plain TCP or TLS (http and https URLs, redirects between them, on one
//! event loop, whose `Service::Session` is a single type).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rustls::{ClientConfig, ServerConfig};

use super::error::TlsError;
use super::session::TlsSession;
use crate::error::Error;
use crate::event_loop::{Io, Session, Step};

/// An inner session `S`, spoken either straight over TCP or inside TLS.
pub enum MaybeTls<S> {
    Plain(S),
    Tls(Box<TlsSession<S>>),
}

impl<S: Session> MaybeTls<S> {
    /// `S` inside a TLS client handshake with `host`.
    pub fn tls(config: Arc<ClientConfig>, host: &str, inner: S) -> Result<Self, Error> {
        Ok(MaybeTls::Tls(Box::new(TlsSession::new(
            config, host, inner,
        )?)))
    }

    /// `S` behind a TLS server handshake (`serve --tls`).
    pub fn tls_server(config: Arc<ServerConfig>, inner: S) -> Result<Self, Error> {
        Ok(MaybeTls::Tls(Box::new(TlsSession::server(config, inner)?)))
    }

    pub fn inner(&self) -> &S {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(t) => t.inner(),
        }
    }

    pub fn inner_mut(&mut self) -> &mut S {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(t) => t.inner_mut(),
        }
    }

    pub fn into_inner(self) -> S {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(t) => t.into_inner(),
        }
    }

    /// The TLS layer, for `error()`, `info()`, `handshake_time()`.
    pub fn as_tls(&self) -> Option<&TlsSession<S>> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Tls(t) => Some(t),
        }
    }

    /// Why TLS failed, if it did (always `None` for plain connections).
    pub fn tls_error(&self) -> Option<&TlsError> {
        self.as_tls().and_then(TlsSession::error)
    }
}

impl<S: Session> Session for MaybeTls<S> {
    fn on_connect(&mut self, local: SocketAddr, peer: SocketAddr, now: Instant) {
        match self {
            MaybeTls::Plain(s) => s.on_connect(local, peer, now),
            MaybeTls::Tls(t) => t.on_connect(local, peer, now),
        }
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        match self {
            MaybeTls::Plain(s) => s.drive(io),
            MaybeTls::Tls(t) => t.drive(io),
        }
    }

    fn input_cap(&self) -> usize {
        match self {
            MaybeTls::Plain(s) => s.input_cap(),
            MaybeTls::Tls(t) => t.input_cap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_loop::testing::Wire;
    use crate::event_loop::Outbox;

    struct Hello;

    impl Session for Hello {
        fn drive(&mut self, io: &mut Io<'_>) -> Step {
            io.output.push(&b"hello"[..]);
            Step::Close
        }

        fn input_cap(&self) -> usize {
            123
        }
    }

    fn drive(s: &mut MaybeTls<Hello>) -> (Step, Outbox) {
        let mut wire = Wire::new();
        (wire.drive(s), wire.output)
    }

    #[test]
    fn plain_passes_straight_through() {
        let mut s = MaybeTls::Plain(Hello);
        let (step, out) = drive(&mut s);
        assert_eq!(step, Step::Close);
        assert_eq!(out.pending(), 5);
        assert_eq!(s.input_cap(), 123);
        assert!(s.as_tls().is_none() && s.tls_error().is_none());
    }

    #[test]
    fn tls_wraps_the_same_session() {
        let config = crate::tls::client_config(None, false).unwrap();
        let mut s = MaybeTls::tls(config, "example.com", Hello).unwrap();
        let (step, out) = drive(&mut s);
        // A ClientHello, then our plaintext waits for the handshake.
        assert!(matches!(step, Step::Wait { read: true, .. }));
        assert!(out.pending() > 5);
        assert!(s.as_tls().unwrap().is_handshaking());
        assert_eq!(s.input_cap(), 64 * 1024);
    }
}

//! [`MaybeTls`]: one session type for a service whose connections are
//! plain TCP or TLS (http and https URLs, redirects between them, on one
//! event loop, whose `Service::Session` is a single type).

use std::sync::Arc;
use std::time::Instant;

use rustls::{ClientConfig, ServerConfig};

use super::error::TlsError;
use super::session::TlsSession;
use crate::error::Error;
use crate::event_loop::{Io, Peer, Session, Step};

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

    /// `S` behind a TLS server handshake (`serve --tls`) that must end
    /// within `handshake_timeout`.
    pub fn tls_server(
        config: Arc<ServerConfig>,
        inner: S,
        handshake_timeout: std::time::Duration,
    ) -> Result<Self, Error> {
        let session = TlsSession::server(config, inner)?.with_handshake_timeout(handshake_timeout);
        Ok(MaybeTls::Tls(Box::new(session)))
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
    fn on_connect(&mut self, local: Peer, peer: Peer, now: Instant) {
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

    fn read_chunk(&self) -> Option<usize> {
        match self {
            MaybeTls::Plain(s) => s.read_chunk(),
            MaybeTls::Tls(t) => t.read_chunk(),
        }
    }

    fn send_timeout(&self) -> Option<std::time::Duration> {
        match self {
            MaybeTls::Plain(s) => s.send_timeout(),
            MaybeTls::Tls(t) => t.send_timeout(),
        }
    }

    fn on_close(&mut self, written: u64) {
        match self {
            MaybeTls::Plain(s) => s.on_close(written),
            MaybeTls::Tls(t) => t.on_close(written),
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
    fn a_tls_server_answers_plain_http_with_a_400_and_handshakes_otherwise() {
        let id = crate::tls::self_signed(&[]).unwrap();
        let mut s =
            MaybeTls::tls_server(id.config.clone(), Hello, std::time::Duration::from_secs(10))
                .unwrap();
        let mut wire = Wire::new();
        wire.input.extend(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(wire.drive(&mut s), Step::Close);
        assert_eq!(
            wire.output.pending(),
            super::super::server::PLAIN_HTTP_REFUSAL.len() as u64
        );
        // A real ClientHello (first byte 0x16) is answered with TLS.
        let mut client = MaybeTls::tls(
            crate::tls::client_config(None, true).unwrap(),
            "localhost",
            Hello,
        )
        .unwrap();
        let mut to_server = Wire::new();
        to_server.drive(&mut client);
        to_server.flush();
        let hello = to_server.take_sent();
        assert_eq!(hello[0], 0x16);
        let mut s =
            MaybeTls::tls_server(id.config, Hello, std::time::Duration::from_secs(10)).unwrap();
        let mut wire = Wire::new();
        wire.input.extend(&hello);
        assert!(matches!(wire.drive(&mut s), Step::Wait { read: true, .. }));
        assert!(s.as_tls().unwrap().is_handshaking() && s.tls_error().is_none());
        assert!(wire.output.pending() > 100, "a ServerHello and more");
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

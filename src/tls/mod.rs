//! TLS for outgoing connections and for `serve --tls`, as one more sans-IO layer: [`TlsSession`]
//! sits between the socket's bytes (ciphertext, from the event loop) and an
//! inner session that speaks plaintext HTTP, and never touches a socket.
//!
//! - [`client_config`] builds the rustls configuration (trust anchors,
//!   `--cacert`, `--insecure`, ALPN `http/1.1`); [`server_name`] turns a URL
//!   host into the SNI / verification name.
//! - [`TlsSession`] implements [`crate::event_loop::Session`] around any
//!   inner session, and reports handshake failures as a [`TlsError`] with a
//!   one-line classification, and a peer that closed without close_notify
//!   as a truncation (RFC 9112 section 9.8).
//! - [`self_signed`] and [`from_files`] build `serve --tls`'s server
//!   configuration and the fingerprint and pin printed at start.
//! - [`MaybeTls`] is one session type for plain and TLS connections, so
//!   http and https (and redirects between them) share one event loop.
//! - [`TlsInfo`] is what `headers -v` shows: version, cipher suite, ALPN,
//!   the peer certificate's subject, issuer and expiry.

mod config;
mod error;
mod info;
mod server;
mod session;
#[cfg(test)]
mod test_pki;
mod transport;

pub use config::{client_config, server_name, ALPN_HTTP11};
pub use error::TlsError;
pub use info::{CertSummary, TlsInfo};
pub use server::{from_files, self_signed, ServerIdentity, TlsSource, BUSY_ALERT};
pub use session::{TlsSession, Truncation};
pub use transport::MaybeTls;

//! The transport a `serve` test speaks: plain TCP, or TLS to `serve --tls`
//! trusting the public-key pin that server printed. [`Stream`] is either,
//! so [`super::Client`], [`super::get`], [`super::request`],
//! [`super::exchange`] and [`super::get_to_close`] work unchanged over both:
//! a server started with [`Transport::Tls`] registers its port with its
//! pin, and a connection to a registered port speaks TLS. The registration
//! lives as long as the [`super::Server`], so a port the kernel hands out
//! again later is plain again.
//!
//! [`crate::both!`] runs one test body over each transport. Every test
//! of `serve` runs under it except these, which stay single:
//! - `serve::out_of_descriptors_pauses_accepting_without_spinning_or_exiting`:
//!   a connection the server has not accepted cannot finish a TLS
//!   handshake, and the test probes those by peeking at raw bytes.
//! - `serve_loop::refusal_503_has_a_date_and_arrives_despite_an_unread_request`:
//!   the plain port's 503; over TLS the refusal is a fatal alert, checked
//!   by `serve::connection_limit_refuses_quickly_with_503::tls`.
//! - `serve_log`'s two tests: a writer thread and a reader share one socket
//!   (`try_clone`), which a TLS stream cannot be split into; what they test
//!   (a stdout pipe nobody reads) lies below the transport.
//! - Start-up errors that never connect: `serve::startup_errors_are_one_line_and_non_zero`,
//!   `listing::serve_a_port_number_says_to_use_p`, `serve_on_a_busy_port_suggests_p_0`,
//!   `serve_a_missing_folder_or_a_file_is_exit_12`, `serve_auth::a_bad_hash_is_a_usage_error`.
//! - `serve_tls` and `serve_tls_peers`: TLS by nature (the pin, plain HTTP
//!   to the TLS port, certificate files, peers' TLS clients).
//! - Tests where `serve` is only the fixture of a client under test
//!   (crawl, mirror, resume, habits, readme, browser): they test `fetch` or
//!   the page, and the client's HTTPS has its own tests (https, tls).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use sha2::{Digest, Sha256};

use super::connect;

/// How a test talks to the server it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Plain,
    /// `serve --tls`, the printed pin trusted.
    Tls,
}

impl Transport {
    /// `http` or `https`.
    pub fn scheme(self) -> &'static str {
        match self {
            Transport::Plain => "http",
            Transport::Tls => "https",
        }
    }
}

/// Runs one test body once per transport: `both!(name, |t| { ... });`
/// defines `fn name(t: Transport)` and the tests `name::plain` and
/// `name::tls`. (The closure-like form keeps the body under rustfmt.)
#[macro_export]
macro_rules! both {
    ($name:ident, |$t:ident| $body:block) => {
        fn $name($t: $crate::support::Transport) $body

        mod $name {
            #[test]
            fn plain() {
                super::$name($crate::support::Transport::Plain)
            }

            #[test]
            fn tls() {
                super::$name($crate::support::Transport::Tls)
            }
        }
    };
}

/// A TLS server's port and the client configuration that trusts it.
pub struct Trusted {
    port: u16,
    pub pin: String,
    /// The certificate's SHA-256 as the server printed it (`AB:CD:...`).
    pub fingerprint: String,
    config: Arc<ClientConfig>,
}

/// Live registrations; a dead `Weak` is a server that is gone.
static TRUSTED: Mutex<Vec<Weak<Trusted>>> = Mutex::new(Vec::new());

/// Makes connections to `port` speak TLS, trusting only the key whose
/// `sha256//BASE64` pin is `pin` (its certificate's `fingerprint` kept for
/// the tests), for as long as the result is kept.
pub fn trust(port: u16, pin: &str, fingerprint: &str) -> Arc<Trusted> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        pin: pin.to_string(),
        algs: provider.signature_verification_algorithms,
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let t = Arc::new(Trusted {
        port,
        pin: pin.to_string(),
        fingerprint: fingerprint.to_string(),
        config: Arc::new(config),
    });
    let mut all = TRUSTED.lock().unwrap();
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(&t));
    t
}

fn trusted(port: u16) -> Option<Arc<ClientConfig>> {
    let all = TRUSTED.lock().unwrap();
    all.iter()
        .filter_map(Weak::upgrade)
        .find(|t| t.port == port)
        .map(|t| t.config.clone())
}

/// `sha256//BASE64` of a certificate's SubjectPublicKeyInfo.
pub fn pin_of(cert: &[u8]) -> String {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).expect("a certificate");
    let digest = Sha256::digest(parsed.tbs_certificate.subject_pki.raw);
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest.as_slice());
    format!("sha256//{b64}")
}

/// Accepts the one key with the pin (as curl's `--pinnedpubkey` does), for
/// any name; the handshake signatures are checked as usual.
#[derive(Debug)]
struct Pinned {
    pin: String,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if pin_of(end_entity) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned key".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A client connection, plain or TLS (see the module doc). Reads and
/// writes go through TLS when it is on; socket options (`set_nodelay`,
/// timeouts, `set_nonblocking`, `peek`, `shutdown`) reach the TCP socket
/// through `Deref`. The TLS handshake happens on the first read or write.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// A connection to `addr` with timeouts, TLS when `addr`'s port is a
    /// registered TLS server's.
    pub fn open(addr: SocketAddr) -> Stream {
        let tcp = connect(addr);
        match trusted(addr.port()) {
            None => Stream::Plain(tcp),
            Some(config) => {
                let name = ServerName::IpAddress(addr.ip().into());
                let conn = ClientConnection::new(config, name).expect("TLS client");
                Stream::Tls(Box::new(StreamOwned::new(conn, tcp)))
            }
        }
    }
}

impl Deref for Stream {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

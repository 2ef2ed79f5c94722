//! The server side of TLS for `serve --tls`: the rustls server
//! configuration from a certificate made at start (rcgen, key in memory
//! only) or from `--tls-cert`/`--tls-key` PEM files, the fingerprint and
//! public-key pin printed at start, and the answer to plain HTTP sent to
//! the TLS port. No sockets; reading the two PEM files is the only I/O.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};

use super::config::ALPN_HTTP11;

/// HTTP/1.0's ALPN id (RFC 7301 section 6); the server picks `http/1.1`
/// whenever the client offers it.
const ALPN_HTTP10: &[u8] = b"http/1.0";
use crate::error::Error;

/// Where `serve`'s certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// `--tls`: a self-signed certificate made at start.
    SelfSigned,
    /// `--tls-cert FILE --tls-key FILE`.
    Files { cert: PathBuf, key: PathBuf },
}

/// A server configuration and what to print about its certificate.
pub struct ServerIdentity {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate, `AB:CD:...` as browsers show it.
    pub fingerprint: String,
    /// `sha256//BASE64` of the leaf's SubjectPublicKeyInfo (curl's
    /// `--pinnedpubkey`, Chromium's `--ignore-certificate-errors-spki-list`
    /// without the prefix).
    pub pin: String,
}

/// The first byte of every TLS connection: a handshake record (RFC 8446
/// section 5.1, content type 22).
pub fn is_handshake_start(first: u8) -> bool {
    first == 0x16
}

/// What a client speaking plain HTTP to the TLS port gets (nginx's 497).
pub const PLAIN_HTTP_REFUSAL: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: wirecat\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 33\r\nConnection: close\r\n\r\n\
this port speaks HTTPS, not HTTP\n";

/// What a client of the TLS port gets when the loop is at its connection
/// limit, then the close: a fatal `internal_error` alert (RFC 8446 section
/// 6; an alert before the handshake goes unprotected). The plain port's
/// HTTP 503 would reach a TLS client as a garbled handshake, and a 503 over
/// TLS would cost a full handshake for a connection being refused.
pub const BUSY_ALERT: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80];

/// A self-signed ECDSA P-256 certificate for `localhost`, `127.0.0.1`,
/// `::1` and `extra` addresses (rcgen's default validity: it lives only as
/// long as the process).
pub fn self_signed(extra: &[IpAddr]) -> Result<ServerIdentity, Error> {
    let fail = |e: rcgen::Error| Error::Tls(format!("making a certificate: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    for ip in extra {
        let s = ip.to_string();
        if !ip.is_unspecified() && !names.contains(&s) {
            names.push(s);
        }
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(fail)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "wirecat serve --tls");
    let cert = params.self_signed(&key).map_err(fail)?;
    let key = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
    identity(vec![cert.der().clone()], key)
}

/// The pair in `cert` (PEM chain, leaf first) and `key` (PKCS#8, SEC1 or
/// RSA PEM). Errors are one line and exit 1.
pub fn from_files(cert: &Path, key: &Path) -> Result<ServerIdentity, Error> {
    let bad = |path: &Path, what: String| {
        Error::io(
            format!("--tls: {}", path.display()),
            io::Error::new(io::ErrorKind::InvalidData, what),
        )
    };
    let bytes =
        std::fs::read(cert).map_err(|e| Error::io(format!("--tls-cert {}", cert.display()), e))?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, format!("bad PEM: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "no CERTIFICATE in this PEM file".into()));
    }
    if let Some(why) = out_of_date(&chain[0]) {
        return Err(bad(cert, why));
    }
    let bytes =
        std::fs::read(key).map_err(|e| Error::io(format!("--tls-key {}", key.display()), e))?;
    let key_der = PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| bad(key, format!("no usable private key: {e}")))?;
    identity(chain, key_der).map_err(|e| bad(key, e.to_string()))
}

/// The rustls configuration for `chain` and `key`: ring, TLS 1.2 and 1.3;
/// session resumption by stateless tickets (RFC 8446 section 4.6.1, RFC
/// 5077; ring's ticketer: random keys rotated every 6 hours, tickets good
/// for 12) besides rustls's default 256-entry session cache, so returning
/// clients skip the full handshake however many come and go; ALPN
/// `http/1.1` (and `http/1.0` for a client that offers only that, as
/// `curl -0` does: rustls refuses a handshake whose offer shares no
/// protocol with ours). A key that does not match the leaf is refused.
fn identity(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerIdentity, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| Error::Tls(format!("unusable private key: {e}")))?;
    let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
    certified
        .keys_match()
        .map_err(|_| Error::Tls("the private key does not match the certificate".into()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key)
        .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec(), ALPN_HTTP10.to_vec()];
    config.ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| Error::Tls(format!("TLS session tickets: {e}")))?;
    let leaf = &chain[0];
    let spki = spki_of(leaf)?;
    Ok(ServerIdentity {
        config: Arc::new(config),
        fingerprint: fingerprint(leaf),
        pin: pin(&spki),
    })
}

fn spki_of(leaf: &[u8]) -> Result<Vec<u8>, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| Error::Tls(format!("unreadable certificate: {e}")))?;
    Ok(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// Why the leaf `der` is not valid now (expired, not yet valid), if so.
fn out_of_date(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let validity = cert.validity();
    let now = x509_parser::time::ASN1Time::now();
    if now > validity.not_after {
        Some(format!("the certificate expired on {}", validity.not_after))
    } else if now < validity.not_before {
        Some(format!(
            "the certificate is not valid before {}",
            validity.not_before
        ))
    } else {
        None
    }
}

/// SHA-256 of `der` as colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// `sha256//BASE64` of the SHA-256 of a SubjectPublicKeyInfo DER.
pub fn pin(spki: &[u8]) -> String {
    let digest = Sha256::digest(spki);
    format!(
        "sha256//{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_slice())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_and_pin_formats() {
        // SHA-256("abc") = ba7816bf 8f01cfea ... f20015ad.
        let fp = fingerprint(b"abc");
        assert!(fp.starts_with("BA:78:16:BF:8F:01:CF:EA"), "{fp}");
        assert!(fp.ends_with(":F2:00:15:AD"), "{fp}");
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert_eq!(
            pin(b"abc"),
            "sha256//ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(
            pin(b""),
            "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn only_a_handshake_record_looks_like_tls() {
        for (byte, tls) in [
            (0x16, true),
            (b'G', false),
            (b'H', false),
            (0x15, false),
            (0x17, false),
            (0, false),
        ] {
            assert_eq!(is_handshake_start(byte), tls, "{byte:#x}");
        }
    }

    #[test]
    fn refusal_is_a_complete_400() {
        let text = std::str::from_utf8(PLAIN_HTTP_REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(body.contains("this port speaks HTTPS"));
    }

    #[test]
    fn busy_alert_is_one_fatal_internal_error_record() {
        // Type 21 (alert), legacy version, length 2, level 2 (fatal), 80.
        assert_eq!(BUSY_ALERT[0], 21);
        assert_eq!(u16::from_be_bytes([BUSY_ALERT[3], BUSY_ALERT[4]]), 2);
        assert_eq!(&BUSY_ALERT[5..], &[2, 80]);
    }

    #[test]
    fn self_signed_has_a_pin_matching_its_key() {
        let id = self_signed(&["192.0.2.7".parse().unwrap()]).unwrap();
        assert!(id.pin.starts_with("sha256//") && id.pin.len() == 8 + 44);
        assert_eq!(id.fingerprint.len(), 95);
        let alpn = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
        assert_eq!(id.config.alpn_protocols, alpn);
        assert!(id.config.ticketer.enabled(), "session tickets on");
    }
}

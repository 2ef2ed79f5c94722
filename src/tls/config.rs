//! Building the rustls client configuration: trust anchors (Mozilla's, plus
//! `--cacert`), ALPN `http/1.1`, the `--insecure` verifier, and the server
//! name sent as SNI. No I/O beyond reading the `--cacert` file.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

/// The one application protocol we speak (RFC 7301; RFC 9112 is `http/1.1`).
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The client configuration for every TLS connection of one run.
///
/// Trust anchors are Mozilla's (webpki-roots) plus every certificate in the
/// PEM file `cacert`. With `insecure`, the peer's certificate is not checked
/// at all (the handshake signatures still are, so the session keys are
/// real); the caller warns the user.
pub fn client_config(cacert: Option<&Path>, insecure: bool) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = cacert {
            for cert in read_pem_certs(path)? {
                roots.add(cert).map_err(|e| {
                    Error::Tls(format!("{}: unusable CA certificate: {e}", path.display()))
                })?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file; none at all is an error, since a
/// `--cacert` that adds nothing is surely a mistake.
fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("{}: bad PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{}: no CERTIFICATE in this PEM file",
            path.display()
        )));
    }
    Ok(certs)
}

/// The name to send as SNI and to check the certificate against, from a
/// URL host: IPv6 literals lose their brackets and become IP names (which
/// are matched against the certificate's IP SANs and never sent as SNI,
/// RFC 6066 section 3).
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bad = || Error::Usage(format!("{host:?} is not a valid TLS server name"));
    if let Some(inner) = host.strip_prefix('[') {
        let ip: std::net::Ipv6Addr = inner
            .strip_suffix(']')
            .and_then(|h| h.parse().ok())
            .ok_or_else(bad)?;
        return Ok(ServerName::IpAddress(IpAddr::V6(ip).into()));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    // A trailing dot names the same host (RFC 1034 section 3.1) but is not
    // a valid SNI value.
    let bare = host.strip_suffix('.').unwrap_or(host);
    ServerName::try_from(bare.to_ascii_lowercase()).map_err(|_| bad())
}

/// `--insecure`: accepts any certificate for any name, but still checks
/// that the server signed the handshake with the key it presented.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_url_hosts() {
        let cases: &[(&str, &str)] = &[
            ("example.com", "example.com"),
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "::1"),
            ("[2001:db8::1]", "2001:db8::1"),
        ];
        for &(host, want) in cases {
            let name = server_name(host).unwrap();
            assert_eq!(name.to_str(), want, "{host}");
        }
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("10.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("localhost").unwrap(),
            ServerName::DnsName(_)
        ));
    }

    #[test]
    fn bad_server_names_are_usage_errors() {
        for host in ["", "a b", "[::1", "a..com", "[not-an-ip]"] {
            assert!(
                matches!(server_name(host), Err(Error::Usage(_))),
                "{host:?} accepted"
            );
        }
    }

    #[test]
    fn config_offers_http11_only() {
        for insecure in [false, true] {
            let c = client_config(None, insecure).unwrap();
            assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
        }
    }

    #[test]
    fn cacert_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            client_config(Some(&missing), false),
            Err(Error::File { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&empty), false).unwrap_err();
        assert!(matches!(err, Error::Tls(_)));
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}

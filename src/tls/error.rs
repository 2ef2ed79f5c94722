//! Why a TLS connection failed, classified the way a person asks about
//! it, and how that becomes the crate's error.

use std::fmt;

use rustls::CertificateError;

use crate::error::Error;

/// Why a TLS connection failed, classified the way a person asks about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The certificate's validity period is over (or has not begun).
    Expired(String),
    /// The certificate does not name the host we asked for.
    WrongHost(String),
    /// No trusted authority issued the certificate (self-signed, private CA).
    UnknownIssuer(String),
    /// The peer closed the connection without close_notify while the inner
    /// session still expected data (RFC 9112 section 9.8, RFC 8446 section 6.1).
    Truncated,
    /// The first bytes back were no TLS record: a plain-HTTP server (an
    /// `https://` URL aimed at an `http://` port).
    PlainHttp,
    /// Anything else: an alert from the peer, a protocol violation, a
    /// certificate problem of another kind, EOF during the handshake.
    Other(String),
}

impl TlsError {
    /// Classifies a rustls error; the detail is rustls's own message.
    pub fn from_rustls(e: &rustls::Error) -> TlsError {
        let detail = e.to_string();
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsError::Expired(detail),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsError::WrongHost(detail),
                CertificateError::UnknownIssuer => TlsError::UnknownIssuer(detail),
                _ => TlsError::Other(detail),
            },
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                TlsError::PlainHttp
            }
            _ => TlsError::Other(detail),
        }
    }
}

impl TlsError {
    /// The one-word class, for tests and logs: `expired`, `wrong-host`,
    /// `unknown-issuer`, `truncated`, `plain-http` or `other`.
    pub fn class(&self) -> &'static str {
        match self {
            TlsError::Expired(_) => "expired",
            TlsError::WrongHost(_) => "wrong-host",
            TlsError::UnknownIssuer(_) => "unknown-issuer",
            TlsError::Truncated => "truncated",
            TlsError::PlainHttp => "plain-http",
            TlsError::Other(_) => "other",
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Expired(d) => write!(f, "TLS: certificate expired or not yet valid ({d})"),
            TlsError::WrongHost(d) => write!(f, "TLS: certificate is for another host name ({d})"),
            TlsError::UnknownIssuer(d) => write!(
                f,
                "TLS: certificate issued by an unknown authority, try --cacert FILE ({d})"
            ),
            TlsError::Truncated => f.write_str(
                "TLS: connection closed without close_notify, the data may be truncated",
            ),
            TlsError::PlainHttp => f.write_str("the server answered in plain HTTP; try http://"),
            TlsError::Other(d) => write!(f, "TLS: {d}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Certificate and handshake failures are TLS errors (their own exit code);
/// a truncation is a broken message, like a body cut short on plain TCP.
impl From<TlsError> for Error {
    fn from(e: TlsError) -> Error {
        match e {
            TlsError::Truncated => Error::Protocol(e.to_string()),
            e => Error::Tls(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::UnixTime;
    use std::time::Duration;

    #[test]
    fn rustls_errors_are_classified() {
        let t = UnixTime::since_unix_epoch(Duration::from_secs(1));
        let cases: Vec<(rustls::Error, &str)> = vec![
            (CertificateError::Expired.into(), "expired"),
            (
                CertificateError::ExpiredContext {
                    time: t,
                    not_after: t,
                }
                .into(),
                "expired",
            ),
            (CertificateError::NotValidYet.into(), "expired"),
            (CertificateError::NotValidForName.into(), "wrong-host"),
            (CertificateError::UnknownIssuer.into(), "unknown-issuer"),
            (CertificateError::BadSignature.into(), "other"),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                "plain-http",
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
                "other",
            ),
        ];
        for (e, class) in cases {
            let t = TlsError::from_rustls(&e);
            assert_eq!(t.class(), class, "{e:?} became {t:?}");
            assert!(!t.to_string().contains('\n'), "one line: {t}");
        }
    }

    #[test]
    fn truncation_is_a_protocol_error_and_the_rest_tls() {
        assert!(matches!(
            Error::from(TlsError::Truncated),
            Error::Protocol(_)
        ));
        let e = Error::from(TlsError::UnknownIssuer("x".into()));
        assert!(matches!(e, Error::Tls(_)));
        assert_eq!(e.exit_code(), 10);
    }
}

//! What a finished handshake tells a person (`headers -v`): protocol
//! version, cipher suite, ALPN, and the peer certificate's subject, issuer
//! and validity, read with x509-parser. Display only; nothing here decides
//! whether to trust anything.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use rustls::{CommonState, ProtocolVersion};

/// The negotiated parameters of one TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// The IANA name, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The application protocol the server chose, if it chose one.
    pub alpn: Option<String>,
    /// The leaf certificate, when the server sent one that parses.
    pub certificate: Option<CertSummary>,
    /// From the start of the connection to the end of the handshake.
    pub handshake_time: Option<Duration>,
}

/// The parts of a certificate a person checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// RFC 4514 form, e.g. `CN=example.com, O=Example`.
    pub subject: String,
    pub issuer: String,
    pub not_before: Option<SystemTime>,
    pub not_after: Option<SystemTime>,
}

impl TlsInfo {
    /// Reads the negotiated parameters; `None` while still handshaking.
    pub(super) fn of(conn: &CommonState, handshake_time: Option<Duration>) -> Option<Self> {
        if conn.is_handshaking() {
            return None;
        }
        let version = match conn.protocol_version()? {
            ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            v => format!("{v:?}"),
        };
        let cipher_suite = conn.negotiated_cipher_suite().map(|s| s.suite())?;
        let cipher_suite = cipher_suite
            .as_str()
            .map_or_else(|| format!("{cipher_suite:?}"), str::to_string);
        let alpn = conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let certificate = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| CertSummary::parse(leaf));
        Some(TlsInfo {
            version,
            cipher_suite,
            alpn,
            certificate,
            handshake_time,
        })
    }

    /// Writes one `{prefix}name: value` line per fact, as `headers -v` shows them.
    pub fn write_to(&self, out: &mut impl Write, prefix: &str) -> io::Result<()> {
        writeln!(
            out,
            "{prefix}TLS: {}, {}, ALPN {}",
            self.version,
            self.cipher_suite,
            self.alpn.as_deref().unwrap_or("none")
        )?;
        if let Some(c) = &self.certificate {
            writeln!(out, "{prefix}certificate subject: {}", c.subject)?;
            writeln!(out, "{prefix}certificate issuer: {}", c.issuer)?;
            if let Some(t) = c.not_after {
                writeln!(out, "{prefix}certificate expires: {}", http_date(t))?;
            }
        }
        Ok(())
    }
}

impl CertSummary {
    /// Parses a DER certificate; `None` if it does not parse.
    pub fn parse(der: &[u8]) -> Option<CertSummary> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let validity = cert.validity();
        Some(CertSummary {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: system_time(validity.not_before.timestamp()),
            not_after: system_time(validity.not_after.timestamp()),
        })
    }
}

fn system_time(unix: i64) -> Option<SystemTime> {
    let secs = u64::try_from(unix).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// IMF-fixdate where it fits (years up to 9999), else seconds since the epoch.
fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // 253402300799 is 9999-12-31T23:59:59Z, the last instant httpdate formats.
    if secs <= 253_402_300_799 {
        httpdate::fmt_http_date(t)
    } else {
        format!("{secs} seconds after 1970")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_subject_issuer_and_expiry() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["example.test".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "example.test");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Wirecat Tests");
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2030, 6, 7);
        let cert = params.self_signed(&key).unwrap();
        let s = CertSummary::parse(cert.der()).unwrap();
        assert!(s.subject.contains("CN=example.test"), "{}", s.subject);
        assert!(s.subject.contains("O=Wirecat Tests"), "{}", s.subject);
        assert_eq!(s.subject, s.issuer);
        assert_eq!(
            http_date(s.not_after.unwrap()),
            "Fri, 07 Jun 2030 00:00:00 GMT"
        );
        assert_eq!(
            http_date(s.not_before.unwrap()),
            "Thu, 02 Jan 2020 00:00:00 GMT"
        );

        let info = TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
            certificate: Some(s),
            handshake_time: None,
        };
        let mut out = Vec::new();
        info.write_to(&mut out, "* ").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            "* TLS: TLSv1.3, TLS13_AES_128_GCM_SHA256, ALPN http/1.1"
        );
        assert!(text.contains("* certificate expires: Fri, 07 Jun 2030 00:00:00 GMT\n"));
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(CertSummary::parse(b"\x30\x03\x02\x01\x01"), None);
        assert_eq!(CertSummary::parse(b""), None);
    }

    #[test]
    fn far_future_dates_do_not_panic() {
        let t = system_time(300_000_000_000).unwrap();
        assert_eq!(http_date(t), "300000000000 seconds after 1970");
        assert_eq!(system_time(-1), None);
    }
}

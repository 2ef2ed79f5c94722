//! Certificates made at test time: a CA, the leaves it signs, and a rustls
//! server config for a leaf. Test code only, compiled twice from this one
//! file: into the library's unit tests (`#[cfg(test)] mod test_pki` in
//! `tls`) and into the integration tests (`#[path]` from
//! `tests/integration/support.rs`), so it names no `crate::` item and is
//! never part of the library's public API.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA made at test time, and leaves it signs.
pub struct Pki {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pub ca_pem: String,
}

/// A leaf certificate chain and its key.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Pki {
    /// A self-signed CA whose common name is `name`.
    pub fn new(name: &str) -> Pki {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Pki {
            issuer: rcgen::Issuer::new(params, key),
            ca_pem: cert.pem(),
        }
    }

    /// A leaf for `names`, valid from 2000 to `until_year`.
    pub fn leaf(&self, names: &[&str], until_year: i32) -> Leaf {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(until_year, 1, 1);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    /// A server config (default TLS versions) for a leaf naming `names`,
    /// valid until `until_year`.
    pub fn server(&self, names: &[&str], until_year: i32) -> Arc<rustls::ServerConfig> {
        server_config(&self.leaf(names, until_year), false)
    }

    /// The CA as a PEM file in `dir`, for `--cacert`.
    pub fn ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// A rustls server config for `leaf` offering `http/1.1`, with TLS 1.2
/// only when `tls12_only`, else the default versions.
pub fn server_config(leaf: &Leaf, tls12_only: bool) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .unwrap();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(c)
}

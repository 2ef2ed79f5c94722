//! What a `serve` is configured with and what all its loops share: the
//! plain [`Config`] (resolved from flags by `cli::serve`, or built by a
//! test or benchmark), the per-connection [`Limits`], and the [`Site`]
//! every session reads. A leaf: it uses no other file of `file_server`
//! but the path module it opens the root with, the leaf option files and
//! the auth leaves.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::auth::Credential;
use super::path::Root;
use super::reply::Head;
use super::throttle::Throttle;
use super::upload::plan::Options as UploadOptions;
use super::{cors, fallback};
use crate::error::{Error, Result};
use crate::event_loop::Host;
use crate::http::Header;

/// Per-connection limits that keep one client from starving the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (431 or 414 beyond it).
    pub max_head: usize,
    /// From the first byte of a request to the end of its head.
    pub head_timeout: Duration,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// How long queued output may go without any byte being taken.
    pub send_timeout: Duration,
}

/// Compressing on the fly (sidecars are always honoured).
#[derive(Debug, Clone)]
pub struct Compression {
    /// Compress compressible types on the fly (off with --no-compress).
    pub on_the_fly: bool,
    /// Largest file compressed on the fly, in bytes.
    pub max: u64,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            on_the_fly: true,
            max: 8 << 20,
        }
    }
}

/// `serve`'s options, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    /// The TCP address to listen on; `None`: only the Unix socket.
    pub addr: Option<SocketAddr>,
    /// `--unix PATH`: also (or only) listen on this Unix-domain socket.
    pub unix: Option<PathBuf>,
    pub threads: usize,
    pub listing: bool,
    pub hidden: bool,
    pub follow_symlinks: bool,
    /// `-H` lines, each already `Name: value\r\n`.
    pub extra_headers: Vec<u8>,
    pub access_log: bool,
    pub limits: Limits,
    pub max_connections: usize,
    pub grace: Duration,
    /// `--cors`: allow any origin, answer preflights.
    pub cors: bool,
    /// `--404 FILE` beneath the root; `None` looks for `404.html`.
    pub not_found_page: Option<PathBuf>,
    /// `--spa`: extensionless missing paths get the root `index.html`.
    pub spa: bool,
    /// `--cache-control VALUE` for every 200, 206 and 304 (checked).
    pub cache_control: Option<String>,
    /// `--qr`: draw the first URL as a QR code at start.
    pub qr: bool,
    pub compression: Compression,
    /// `--auth` users; empty: no authentication.
    pub auth: Vec<Credential>,
    /// `--tls` or `--tls-cert`/`--tls-key`; `None`: plain HTTP.
    pub tls: Option<crate::tls::TlsSource>,
    /// `--upload` and its options; `None`: uploads off.
    pub upload: Option<UploadOptions>,
}

/// Everything the sessions of all loops share.
#[derive(Debug)]
pub struct Site {
    pub root: Root,
    pub listing: bool,
    pub hidden: bool,
    pub extra_headers: Vec<u8>,
    /// The multipart/byteranges boundary, random per process.
    pub boundary: String,
    pub access_log: bool,
    pub limits: Limits,
    /// `--cors`; when on, `extra_headers` also holds the allow-origin line.
    pub cors: bool,
    /// The not-found page beneath the root (`404.html` unless `--404`).
    pub not_found_page: PathBuf,
    pub spa: bool,
    pub cache_control: Option<String>,
    pub compression: Compression,
    /// `--auth` users; empty: every request is answered.
    pub auth: Vec<Credential>,
    /// Failed logins per address, shared by all loops.
    pub throttle: Throttle<Host>,
    /// `--upload`; `None`: PUT gets 405.
    pub upload: Option<UploadOptions>,
}

impl Site {
    /// The methods a 405 lists in `Allow` (RFC 9110 section 15.5.6).
    pub fn allow(&self) -> &'static str {
        match self.upload {
            Some(_) => "GET, HEAD, PUT, POST",
            None => "GET, HEAD",
        }
    }

    /// The answer to a CORS preflight: it offers what [`Site::allow`]
    /// lists, so with `--upload` a page on another origin may PUT (a
    /// form's POST needs no preflight at all).
    pub fn preflight(&self, headers: &[Header], date: &[u8]) -> Head {
        cors::preflight(headers, date, &self.extra_headers, self.allow())
    }

    pub fn new(config: &Config) -> Result<Site> {
        let folder = |source| Error::Folder {
            path: config.dir.clone(),
            source,
        };
        let meta = std::fs::metadata(&config.dir).map_err(folder)?;
        if !meta.is_dir() {
            return Err(folder(io::ErrorKind::NotADirectory.into()));
        }
        std::fs::read_dir(&config.dir).map_err(folder)?;
        let root = Root::open(&config.dir, config.follow_symlinks).map_err(folder)?;
        let mut extra_headers = config.extra_headers.clone();
        if config.cors {
            extra_headers.extend_from_slice(cors::ALLOW_ORIGIN);
        }
        let not_found_page = fallback::page_file(&root, config.not_found_page.as_deref())?;
        Ok(Site {
            root,
            listing: config.listing,
            hidden: config.hidden,
            extra_headers,
            boundary: boundary(),
            access_log: config.access_log,
            limits: config.limits.clone(),
            cors: config.cors,
            not_found_page,
            spa: config.spa,
            cache_control: config.cache_control.clone(),
            compression: config.compression.clone(),
            auth: config.auth.clone(),
            throttle: Throttle::default(),
            upload: config.upload.clone(),
        })
    }

    #[cfg(test)]
    pub(crate) fn for_tests(dir: &std::path::Path) -> Site {
        Site {
            root: Root::open(dir, false).unwrap(),
            listing: true,
            hidden: false,
            extra_headers: Vec::new(),
            boundary: "BOUNDARY".into(),
            access_log: false,
            limits: Limits {
                max_head: 8192,
                head_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                send_timeout: Duration::from_secs(30),
            },
            cors: false,
            not_found_page: PathBuf::from(super::fallback::DEFAULT_PAGE),
            spa: false,
            cache_control: None,
            compression: Compression::default(),
            auth: Vec::new(),
            throttle: Throttle::default(),
            upload: None,
        }
    }
}

/// A boundary no file is likely to contain: time and pid, hashed.
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("wirecat-{:016x}", h.finish())
}

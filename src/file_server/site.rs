//! What a `serve` is configured with and what all its loops share: the
//! plain [`Config`] (resolved from flags by `cli::serve`, or built by a
//! test or benchmark), the per-connection [`Limits`], and the [`Site`]
//! every session reads. A leaf: it uses no other file of `file_server`
//! but the path module it opens the root with and the auth leaves.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::auth::Credential;
use super::path::Root;
use super::throttle::Throttle;
use crate::error::{Error, Result};

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

/// `serve`'s options, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub addr: SocketAddr,
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
    /// `--auth` users; empty: no authentication.
    pub auth: Vec<Credential>,
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
    /// `--auth` users; empty: every request is answered.
    pub auth: Vec<Credential>,
    /// Failed logins per address, shared by all loops.
    pub throttle: Throttle,
}

impl Site {
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
        Ok(Site {
            root,
            listing: config.listing,
            hidden: config.hidden,
            extra_headers: config.extra_headers.clone(),
            boundary: boundary(),
            access_log: config.access_log,
            limits: config.limits.clone(),
            auth: config.auth.clone(),
            throttle: Throttle::default(),
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
            auth: Vec::new(),
            throttle: Throttle::default(),
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

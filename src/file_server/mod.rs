//! `serve`: a static file server on the event loop, one loop per core.
//!
//! This module takes a plain [`Config`] (`cli::serve` resolves the flags
//! into one; nothing here knows a flag), binds the listeners (SO_REUSEPORT,
//! one per loop; a `--unix` socket shared by every loop, each accepting
//! from it), announces the URLs, and runs a [`FileService`] per loop
//! that hands each connection an [`session::HttpSession`]. The parts, in
//! an order where each uses only files above it (and none uses this one,
//! so there are no import cycles):
//!
//! - [`path`]: request-target cleaning and opening beneath the root;
//! - [`reply`]: conditionals, ranges and response heads, pure;
//! - [`cors`], [`fallback`]: `--cors` preflights and the pages a missing
//!   path gets (`--spa`, `404.html`), pure decisions;
//! - [`qr`]: `--qr`'s terminal QR code;
//! - [`page`]: the pages' style, Accept negotiation, dates, error pages;
//! - [`log`]: the combined-format access log;
//! - [`auth`], [`throttle`]: `--auth` credentials and slowing guessers;
//! - [`site`]: the plain config, the limits and what all loops share;
//! - [`cache`]: the per-loop small-file cache, revalidated by stat (an
//!   entry keeps its file's `FileMeta` with its bytes);
//! - [`listing`]: HTML and JSON directory listings;
//! - [`archive`]: folders as tar, tar.gz or zip downloads, planned then streamed;
//! - [`handle`]: one request to one response (methods, Host, directories);
//! - [`outgoing`]: a response's head and body queued into the outbox;
//! - [`gate`]: `--auth` applied to a request (pass, 401, or a held 401);
//! - [`upload`]: `--upload`'s PUT, decided ([`upload::plan`]) and
//!   streamed to a temporary file ([`upload::sink`]) renamed into place;
//! - [`session`]: the per-connection state machine (pipelining, bodies,
//!   keep-alive, deadlines).

pub mod archive;
pub mod auth;
pub mod cache;
pub mod compress;
pub mod cors;
pub mod encoded;
pub mod fallback;
pub mod gate;
pub mod handle;
pub mod listing;
pub mod log;
pub mod naming;
pub mod outgoing;
pub mod page;
pub mod path;
pub mod qr;
pub mod reply;
pub mod session;
pub mod site;
pub mod throttle;
pub mod upload;

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::event_loop::{
    bind_listeners, bind_unix, serve_threads, Ended, Listener, LoopConfig, Peer, Service, Shutdown,
    UnixSocketFile,
};
use crate::tls::{MaybeTls, ServerIdentity, TlsSource, BUSY_ALERT};
use cache::FileCache;
use reply::http_date;
use session::HttpSession;
pub use site::{Compression, Config, Limits, Site};

/// One loop's service: a session per accepted connection.
pub struct FileService {
    site: Arc<Site>,
    cache: Rc<RefCell<FileCache>>,
    /// `serve --tls`: every session speaks through TLS.
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl FileService {
    pub fn new(site: Arc<Site>) -> Self {
        FileService {
            site,
            cache: Rc::new(RefCell::new(FileCache::new())),
            tls: None,
        }
    }

    /// Sessions over TLS with `config`.
    pub fn with_tls(mut self, config: Option<Arc<rustls::ServerConfig>>) -> Self {
        self.tls = config;
        self
    }
}

/// The 503 for a connection over the loop's limit. It carries a Date, as
/// an origin server with a clock must (RFC 9110 section 6.6.1), and the
/// `-H` and `--cors` lines every response carries (`extra`), so a page on
/// another origin can read that the server is busy.
fn refusal(date: &[u8; 29], extra: &[u8]) -> Vec<u8> {
    let body = "503 Service Unavailable: too many connections\n";
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\nServer: wirecat\r\nRetry-After: 1\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(extra);
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

impl Service for FileService {
    type Session = MaybeTls<HttpSession>;

    fn accept(&mut self, peer: Peer, _local: Peer) -> Option<Self::Session> {
        let http = HttpSession::new(self.site.clone(), self.cache.clone(), peer, Instant::now());
        match &self.tls {
            None => Some(MaybeTls::Plain(http)),
            // A stalled handshake gets the time a slow request head gets.
            Some(config) => {
                match MaybeTls::tls_server(config.clone(), http, self.site.limits.head_timeout) {
                    Ok(session) => Some(session),
                    Err(e) => {
                        ::log::debug!("TLS with {peer}: {e}");
                        None
                    }
                }
            }
        }
    }

    fn refusal(&self) -> Vec<u8> {
        match self.tls {
            None => refusal(&http_date(), &self.site.extra_headers),
            Some(_) => BUSY_ALERT.to_vec(),
        }
    }

    fn ended(&mut self, _session: Self::Session, how: Ended) {
        if let Ended::Failed(e) = how {
            ::log::debug!("connection failed: {e}");
        }
    }
}

/// `http://host:port/` (or `https://`), with brackets for IPv6.
fn url(scheme: &str, ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}/"),
    }
}

/// The lines printed on start: the bound URL first, then, for a wildcard
/// bind, one per interface address.
pub fn announcement(dir: &std::path::Path, local: SocketAddr) -> Vec<String> {
    announce(dir, local, "http", &interface_addrs_of(local))
}

/// The interface addresses a wildcard bind is reachable at (none else).
fn interface_addrs_of(local: SocketAddr) -> Vec<IpAddr> {
    if local.ip().is_unspecified() {
        interface_addrs(local.is_ipv6())
    } else {
        Vec::new()
    }
}

fn announce(
    dir: &std::path::Path,
    local: SocketAddr,
    scheme: &str,
    also: &[IpAddr],
) -> Vec<String> {
    let mut lines = vec![format!(
        "Serving {} at {}",
        dir.display(),
        url(scheme, local.ip(), local.port())
    )];
    for ip in also {
        lines.push(format!("  also at {}", url(scheme, *ip, local.port())));
    }
    lines
}

/// `--qr`'s drawing of [`qr_url`].
fn qr_lines(announced: &[String]) -> Vec<String> {
    qr_url(announced).and_then(qr::lines).unwrap_or_default()
}

/// The first URL announced that another device can open: for a wildcard
/// bind, the first interface address; else the bound URL.
fn qr_url(announced: &[String]) -> Option<&str> {
    let urls: Vec<&str> = announced
        .iter()
        .filter_map(|l| l.rsplit(' ').next())
        .filter(|u| u.starts_with("http"))
        .collect();
    let wildcard = |u: &&str| u.contains("//0.0.0.0:") || u.contains("//[::]:");
    urls.iter().find(|u| !wildcard(u)).or(urls.first()).copied()
}

/// This machine's addresses, read from /proc (Linux): IPv4 local routes
/// from fib_trie and, for a dual-stack bind, global IPv6 addresses.
fn interface_addrs(v6: bool) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") {
        let lines: Vec<&str> = trie.lines().collect();
        for w in lines.windows(2) {
            if w[1].contains("/32 host LOCAL") {
                if let Ok(ip) = w[0]
                    .trim()
                    .trim_start_matches("|--")
                    .trim()
                    .parse::<IpAddr>()
                {
                    out.push(ip);
                }
            }
        }
    }
    if v6 {
        if let Ok(list) = std::fs::read_to_string("/proc/net/if_inet6") {
            for line in list.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                // Scope 00 is global; link-local addresses need a zone id.
                if f.len() >= 4 && f[3] == "00" && f[0].len() == 32 {
                    if let Ok(n) = u128::from_str_radix(f[0], 16) {
                        out.push(IpAddr::V6(n.into()));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Beyond loopback without `--auth`: the warning naming the URLs anyone
/// on the network can read from (the announced ones).
fn exposure(
    dir: &std::path::Path,
    auth: bool,
    local: SocketAddr,
    lines: &[String],
) -> Option<String> {
    if auth || local.ip().is_loopback() {
        return None;
    }
    let mut urls: Vec<&str> = lines.iter().filter_map(|l| l.rsplit(' ').next()).collect();
    // The wildcard URL names no host anyone can reach; the interface
    // addresses after it do (kept if there are none).
    if urls.len() > 1 {
        urls.retain(|u| !u.contains("://0.0.0.0:") && !u.contains("://[::]:"));
    }
    Some(format!(
        "no --auth: anyone on the network can read {} at {}",
        dir.display(),
        urls.join(" ")
    ))
}

/// `wirecat serve`: bind, announce, serve until SIGINT or SIGTERM.
pub fn serve(config: &Config) -> Result<()> {
    serve_until(config, Shutdown::new(), true)
}

/// Serves `config` until `shutdown` is requested; with `signals`, SIGINT
/// and SIGTERM request it.
pub fn serve_until(config: &Config, shutdown: Shutdown, signals: bool) -> Result<()> {
    let site = Arc::new(Site::new(config)?);
    // A certificate pair from files is checked before binding.
    let from_files = match &config.tls {
        Some(TlsSource::Files { cert, key }) => Some(crate::tls::from_files(cert, key)?),
        _ => None,
    };
    let bound = bind(config)?;
    if signals {
        shutdown
            .on_signals()
            .map_err(|e| Error::io("cannot handle signals", e))?;
    }
    let also = bound.local.map(interface_addrs_of).unwrap_or_default();
    let identity = match (&config.tls, from_files) {
        (_, Some(identity)) => Some(identity),
        (Some(TlsSource::SelfSigned), None) => {
            let mut ips: Vec<IpAddr> = bound.local.iter().map(|l| l.ip()).collect();
            ips.extend(&also);
            Some(crate::tls::self_signed(&ips)?)
        }
        _ => None,
    };
    print_start(config, &bound, &also, identity.as_ref())?;
    let tls = identity.map(|i| i.config);
    let loop_config = LoopConfig {
        max_connections: config.max_connections,
        grace: config.grace,
        // Waiting for a client's FIN after the last byte is waiting on a
        // peer like sending is: a shorter --send-timeout shortens it too.
        linger: LoopConfig::default().linger.min(config.limits.send_timeout),
        ..LoopConfig::default()
    };
    let (sets, socket_file) = bound.per_loop(config.threads)?;
    let served = serve_threads(sets, loop_config, shutdown, move || {
        FileService::new(site.clone()).with_tls(tls.clone())
    })
    .map_err(|e| Error::io("serving", e));
    // The loops are done with the socket: its file goes (if still ours).
    drop(socket_file);
    log::drain(log::DRAIN_WAIT);
    served
}

/// What `serve` listens on: TCP listeners (one per loop) and the address
/// they got, and the Unix socket with the file that goes when we do.
struct Bound {
    tcp: Vec<TcpListener>,
    local: Option<SocketAddr>,
    unix: Option<(UnixListener, UnixSocketFile)>,
}

/// Binds what `config` asks for; any failure is one line naming the
/// address or path (exit 1).
fn bind(config: &Config) -> Result<Bound> {
    let unix = match &config.unix {
        Some(path) => Some(bind_unix(path).map_err(|e| Error::io(path.display().to_string(), e))?),
        None => None,
    };
    let (tcp, local) = match config.addr {
        Some(addr) => {
            let tcp = bind_listeners(addr, config.threads).map_err(|e| cannot_listen(addr, e))?;
            let local = tcp[0]
                .local_addr()
                .map_err(|e| Error::io("listener address", e))?;
            (tcp, Some(local))
        }
        None => (Vec::new(), None),
    };
    Ok(Bound { tcp, local, unix })
}

impl Bound {
    /// One set of listeners per loop: its TCP listener, and a handle on
    /// the Unix socket every loop accepts from; `threads` loops when only
    /// the Unix socket is served.
    fn per_loop(self, threads: usize) -> Result<(Vec<Vec<Listener>>, Option<UnixSocketFile>)> {
        let loops = if self.tcp.is_empty() {
            threads.max(1)
        } else {
            self.tcp.len()
        };
        let mut tcp = self.tcp.into_iter();
        let (unix, file) = match self.unix {
            Some((l, f)) => (Some(Listener::Unix(l)), Some(f)),
            None => (None, None),
        };
        let mut sets = Vec::with_capacity(loops);
        for _ in 0..loops {
            let mut set: Vec<Listener> = tcp.next().into_iter().map(Listener::Tcp).collect();
            if let Some(u) = &unix {
                set.push(u.try_clone().map_err(|e| Error::io("unix socket", e))?);
            }
            sets.push(set);
        }
        Ok((sets, file))
    }
}

/// The startup lines: URLs, the certificate's fingerprint and pin, the QR
/// code; the warning when serving beyond loopback without `--auth`.
fn print_start(
    config: &Config,
    bound: &Bound,
    also: &[IpAddr],
    identity: Option<&ServerIdentity>,
) -> Result<()> {
    let scheme = if identity.is_some() { "https" } else { "http" };
    let lines = match bound.local {
        Some(local) => announce(&config.dir, local, scheme, also),
        None => Vec::new(),
    };
    let mut out = io::stdout().lock();
    for line in &lines {
        writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))?;
    }
    if let Some((_, file)) = &bound.unix {
        let line = unix_line(&config.dir, file.path(), lines.is_empty());
        writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))?;
    }
    if let Some(id) = identity {
        for line in tls_lines(id) {
            writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))?;
        }
    }
    if config.qr {
        for line in qr_lines(&lines) {
            writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))?;
        }
    }
    out.flush().map_err(|e| Error::io("stdout", e))?;
    let auth = !config.auth.is_empty();
    // A Unix socket is not on the network: only TCP can expose the folder.
    let warning = bound
        .local
        .and_then(|local| exposure(&config.dir, auth, local, &lines));
    if let Some(warning) = warning {
        ::log::warn!("{warning}");
    }
    Ok(())
}

/// The startup line for the Unix socket: the first line when it is all
/// that is served, else one more "also at" line.
fn unix_line(dir: &std::path::Path, path: &std::path::Path, alone: bool) -> String {
    if alone {
        format!("Serving {} at unix:{}", dir.display(), path.display())
    } else {
        format!("  also at unix:{}", path.display())
    }
}

/// What a person checks against their browser, and the pin for curl.
fn tls_lines(id: &ServerIdentity) -> [String; 2] {
    [
        format!("  certificate SHA-256 fingerprint {}", id.fingerprint),
        format!("  public-key pin: curl --pinnedpubkey {}", id.pin),
    ]
}

/// A bind failure; a busy port names the flag that picks a free one (the
/// OS error's "(os error 98)" adds nothing a person can act on).
fn cannot_listen(addr: SocketAddr, e: io::Error) -> Error {
    let context = format!("cannot listen on {addr}");
    if e.kind() == io::ErrorKind::AddrInUse && addr.port() != 0 {
        let hint = "Address already in use; -p 0 picks a free port";
        return Error::io(context, io::Error::new(io::ErrorKind::AddrInUse, hint));
    }
    Error::io(context, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcement_first_line() {
        let lines = announcement(
            std::path::Path::new("www"),
            "127.0.0.1:8000".parse().unwrap(),
        );
        assert_eq!(lines, vec!["Serving www at http://127.0.0.1:8000/"]);
        let lines = announcement(std::path::Path::new("www"), "[::1]:8000".parse().unwrap());
        assert_eq!(lines[0], "Serving www at http://[::1]:8000/");
    }

    #[test]
    fn qr_shows_an_address_another_device_can_open() {
        let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                s(&["Serving www at http://127.0.0.1:8000/"]),
                Some("http://127.0.0.1:8000/"),
            ),
            (
                s(&[
                    "Serving www at http://0.0.0.0:8000/",
                    "  also at http://192.168.1.5:8000/",
                ]),
                Some("http://192.168.1.5:8000/"),
            ),
            (
                s(&[
                    "Serving www at http://[::]:8000/",
                    "  also at http://[fd00::5]:8000/",
                ]),
                Some("http://[fd00::5]:8000/"),
            ),
            (
                s(&["Serving www at http://0.0.0.0:8000/"]),
                Some("http://0.0.0.0:8000/"),
            ),
            (s(&[]), None),
        ];
        for (lines, want) in cases {
            assert_eq!(qr_url(&lines), want, "{lines:?}");
        }
    }

    #[test]
    fn serving_beyond_loopback_without_auth_warns_once() {
        let www = std::path::Path::new("www");
        let lines: Vec<String> = [
            "Serving www at http://0.0.0.0:8000/",
            "  also at http://192.0.2.7:8000/",
        ]
        .map(String::from)
        .to_vec();
        let wild: SocketAddr = "0.0.0.0:8000".parse().unwrap();
        assert_eq!(
            exposure(www, false, wild, &lines).as_deref(),
            Some("no --auth: anyone on the network can read www at http://192.0.2.7:8000/")
        );
        assert_eq!(exposure(www, true, wild, &lines), None, "--auth given");
        let alone = exposure(www, false, wild, &lines[..1]).unwrap();
        assert!(alone.ends_with("www at http://0.0.0.0:8000/"), "{alone}");
        let lo = ["127.0.0.1:8000", "[::1]:8000"];
        for local in lo.map(|a| a.parse::<SocketAddr>().unwrap()) {
            assert_eq!(exposure(www, false, local, &lines), None, "{local}");
        }
    }
}

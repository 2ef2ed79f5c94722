//! `serve`: a static file server on the event loop, one loop per core.
//!
//! This module resolves the command line into a [`Config`], binds the
//! listeners (SO_REUSEPORT, one per loop), announces the URLs, and runs a
//! [`FileService`] per loop that hands each connection an
//! [`session::HttpSession`]. The parts:
//!
//! - [`path`]: request-target cleaning and opening beneath the root;
//! - [`handle`]: one request to one response (methods, Host, directories);
//! - [`reply`]: conditionals, ranges and response heads, pure;
//! - [`listing`]: HTML and JSON directory listings;
//! - [`cache`]: the per-loop small-file cache, revalidated by stat;
//! - [`session`]: the per-connection state machine (pipelining, bodies,
//!   keep-alive, deadlines);
//! - [`log`]: the combined-format access log.

pub mod cache;
pub mod handle;
pub mod listing;
pub mod log;
pub mod path;
pub mod reply;
pub mod session;

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cli::{seconds, ServeArgs};
use crate::error::{Error, Result};
use crate::event_loop::{bind_listeners, serve_threads, Ended, LoopConfig, Service, Shutdown};
use cache::FileCache;
use path::Root;
use session::HttpSession;

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
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> Result<Config> {
        let threads = match args.threads {
            Some(0) => return Err(Error::Usage("--threads: must be at least 1".into())),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let mut extra_headers = Vec::new();
        for h in &args.headers {
            extra_headers.extend_from_slice(&header_line(h)?);
        }
        let secs = |v: f64, flag: &str, default: u64| -> Result<Duration> {
            Ok(seconds(v, flag)?.unwrap_or(Duration::from_secs(default)))
        };
        Ok(Config {
            dir: args.dir.clone(),
            addr: crate::cli::bind_addr(&args.bind, args.port)?,
            threads,
            listing: !args.no_listing,
            hidden: args.hidden,
            follow_symlinks: args.follow_symlinks,
            extra_headers,
            access_log: !args.quiet,
            limits: Limits {
                max_head: 8 * 1024,
                head_timeout: secs(args.head_timeout, "--head-timeout", 10)?,
                idle_timeout: secs(args.idle_timeout, "--idle-timeout", 60)?,
                send_timeout: secs(args.send_timeout, "--send-timeout", 30)?,
            },
            max_connections: args.max_connections.max(1),
            grace: secs(args.grace, "--grace", 5)?,
        })
    }
}

/// Checks a `-H "Name: value"` and renders it as a head line. Names must
/// be tokens and values free of CR, LF and NUL, so no flag can split a
/// response.
fn header_line(h: &str) -> Result<Vec<u8>> {
    let bad = || Error::Usage(format!("-H {h:?}: expected \"Name: value\""));
    let (name, value) = h.split_once(':').ok_or_else(bad)?;
    let value = value.trim();
    if name.is_empty()
        || !name.bytes().all(crate::http::body::is_tchar)
        || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
    {
        return Err(bad());
    }
    Ok(format!("{name}: {value}\r\n").into_bytes())
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
}

impl Site {
    pub fn new(config: &Config) -> Result<Site> {
        let meta = std::fs::metadata(&config.dir).map_err(|e| Error::file(&config.dir, e))?;
        if !meta.is_dir() {
            return Err(Error::file(
                &config.dir,
                io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            ));
        }
        std::fs::read_dir(&config.dir).map_err(|e| Error::file(&config.dir, e))?;
        let root = Root::open(&config.dir, config.follow_symlinks)
            .map_err(|e| Error::file(&config.dir, e))?;
        Ok(Site {
            root,
            listing: config.listing,
            hidden: config.hidden,
            extra_headers: config.extra_headers.clone(),
            boundary: boundary(),
            access_log: config.access_log,
            limits: config.limits.clone(),
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

/// The Date header value (RFC 9110 section 6.6.1), formatted at most once
/// per second per thread.
pub fn http_date() -> [u8; 29] {
    thread_local! {
        static CACHE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let (at, date) = c.get();
        if at == secs {
            return date;
        }
        // A clock set before 1970 or past 9999 would make httpdate panic;
        // such a clock is wrong anyway, so say 1970 rather than crash.
        let now = reply::http_date_time(now).unwrap_or(UNIX_EPOCH);
        let mut date = [0u8; 29];
        date.copy_from_slice(&httpdate::fmt_http_date(now).as_bytes()[..29]);
        c.set((secs, date));
        date
    })
}

/// One loop's service: a session per accepted connection.
pub struct FileService {
    site: Arc<Site>,
    cache: Rc<RefCell<FileCache>>,
}

impl FileService {
    pub fn new(site: Arc<Site>) -> Self {
        FileService {
            site,
            cache: Rc::new(RefCell::new(FileCache::new())),
        }
    }
}

/// The 503 for a connection over the loop's limit. It carries a Date, as
/// an origin server with a clock must (RFC 9110 section 6.6.1).
fn refusal(date: &[u8; 29]) -> Vec<u8> {
    let body = "503 Service Unavailable: too many connections\n";
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\nServer: wirecat\r\nRetry-After: 1\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nDate: ",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

impl Service for FileService {
    type Session = HttpSession;

    fn accept(&mut self, peer: SocketAddr, _local: SocketAddr) -> Option<HttpSession> {
        Some(HttpSession::new(
            self.site.clone(),
            self.cache.clone(),
            peer,
            Instant::now(),
        ))
    }

    fn refusal(&self) -> Vec<u8> {
        refusal(&http_date())
    }

    fn ended(&mut self, _session: HttpSession, how: Ended) {
        if let Ended::Failed(e) = how {
            ::log::debug!("connection failed: {e}");
        }
    }
}

/// `http://host:port/`, with brackets for IPv6.
fn url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}/"),
    }
}

/// The lines printed on start: the bound URL first, then, for a wildcard
/// bind, one per interface address.
pub fn announcement(dir: &std::path::Path, local: SocketAddr) -> Vec<String> {
    let mut lines = vec![format!(
        "Serving {} at {}",
        dir.display(),
        url(local.ip(), local.port())
    )];
    if local.ip().is_unspecified() {
        for ip in interface_addrs(local.is_ipv6()) {
            lines.push(format!("  also at {}", url(ip, local.port())));
        }
    }
    lines
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

/// `wirecat serve`: bind, announce, serve until SIGINT or SIGTERM.
pub fn serve_command(args: ServeArgs) -> Result<()> {
    let config = Config::from_args(&args)?;
    serve(config, Shutdown::new(), true)
}

/// Serves `config` until `shutdown` is requested; with `signals`, SIGINT
/// and SIGTERM request it.
pub fn serve(config: Config, shutdown: Shutdown, signals: bool) -> Result<()> {
    let site = Arc::new(Site::new(&config)?);
    let cannot_listen = |e| Error::io(format!("cannot listen on {}", config.addr), e);
    let listeners = bind_listeners(config.addr, config.threads).map_err(cannot_listen)?;
    let local = listeners[0]
        .local_addr()
        .map_err(|e| Error::io("listener address", e))?;
    if signals {
        shutdown
            .on_signals()
            .map_err(|e| Error::io("cannot handle signals", e))?;
    }
    {
        let mut out = io::stdout().lock();
        for line in announcement(&config.dir, local) {
            writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))?;
        }
        out.flush().map_err(|e| Error::io("stdout", e))?;
    }
    let loop_config = LoopConfig {
        max_connections: config.max_connections,
        grace: config.grace,
        // Waiting for a client's FIN after the last byte is waiting on a
        // peer like sending is: a shorter --send-timeout shortens it too.
        linger: LoopConfig::default().linger.min(config.limits.send_timeout),
        ..LoopConfig::default()
    };
    let served = serve_threads(listeners, loop_config, shutdown, move || {
        FileService::new(site.clone())
    })
    .map_err(|e| Error::io("serving", e));
    log::drain(log::DRAIN_WAIT);
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_flags_cannot_split_responses() {
        assert_eq!(
            header_line("Access-Control-Allow-Origin: *").unwrap(),
            b"Access-Control-Allow-Origin: *\r\n"
        );
        for bad in ["NoColon", ": v", "Bad Name: v", "X: a\r\nY: b", "X: a\nb"] {
            assert!(header_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn date_is_imf_fixdate() {
        let d = http_date();
        let s = std::str::from_utf8(&d).unwrap();
        assert!(s.ends_with(" GMT"), "{s}");
        assert!(httpdate::parse_http_date(s).is_ok());
    }

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
}

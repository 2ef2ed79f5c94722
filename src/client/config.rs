//! The client's settings as plain values: what the flags decided for a run
//! ([`ClientConfig`]) and for the layers around HTTP ([`WebConfig`]). No
//! flag parsing here and nothing that runs: every other client file may
//! read these, and this file reads none of them back.

use std::sync::Arc;
use std::time::Duration;

use super::connect_rules::ConnectRules;
use super::headers::Printer;
use super::output::Destination;
use super::progress::Board;
use super::proxy::ProxyConfig;
use super::request::{Body, HeaderEdit};
use super::retry::RetryConfig;
use super::write_out::Report;

/// "No limit" as a duration that still fits in an `Instant` sum.
pub const NO_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// `fetch` saves bodies; `headers` stops at the final head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fetch,
    Headers,
}

/// Everything the flags decided, as plain values.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub mode: Mode,
    pub method: String,
    pub edits: Vec<HeaderEdit>,
    pub body: Option<Body>,
    pub follow: bool,
    pub max_redirs: u32,
    pub fail: bool,
    pub connect_timeout: Duration,
    pub read_timeout: Option<Duration>,
    pub max_time: Option<Duration>,
    /// `None`: a name derived from each URL, in the current directory.
    pub destination: Option<Destination>,
    pub printer: Printer,
    /// Show a progress bar (stderr is a terminal, not quiet, not disabled).
    pub progress: bool,
    /// Print the one-line summary after a save.
    pub summary: bool,
    pub timing: bool,
    /// `--json`, `--json-meta`, `-w`: what is reported after each transfer.
    pub report: Report,
    /// `-C`: keep and continue `NAME.part` files.
    pub resume: bool,
    /// Send the next GET for the same origin before the current response
    /// has arrived (HTTP/1.1 pipelining, one request ahead): the crawl's
    /// many small files then cost half a round trip each, not one.
    pub pipeline: bool,
    /// Several downloads on a terminal: their shared progress lines.
    pub board: Option<Board>,
    /// `--retry`, `--retry-max-delay`.
    pub retry: RetryConfig,
    /// `--limit-rate`: body bytes per second, per transfer.
    pub limit_rate: Option<u64>,
    /// `--segments`: connections for one file.
    pub segments: Segments,
    /// TLS, proxies, content codings, `-J`.
    pub web: WebConfig,
}

impl ClientConfig {
    /// The defaults every run starts from: `headers` with `method`, no
    /// redirects followed (at most 10 when they are), no deadlines,
    /// nothing printed; the commands set what their flags say on top.
    pub fn new(method: String, web: WebConfig) -> ClientConfig {
        ClientConfig {
            mode: Mode::Headers,
            method,
            edits: Vec::new(),
            body: None,
            follow: false,
            max_redirs: 10,
            fail: false,
            connect_timeout: NO_LIMIT,
            read_timeout: None,
            max_time: None,
            destination: None,
            printer: Printer::silent(),
            progress: false,
            summary: false,
            timing: false,
            report: Report::default(),
            resume: false,
            pipeline: false,
            board: None,
            retry: RetryConfig::default(),
            limit_rate: None,
            segments: Segments::default(),
            web,
        }
    }

    /// Defaults for unit tests: fetch, follow, finite deadlines, nothing
    /// printed (the tests hand the session an outlet of their own).
    #[cfg(test)]
    pub fn for_tests() -> ClientConfig {
        ClientConfig {
            mode: Mode::Fetch,
            follow: true,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(30)),
            ..ClientConfig::new("GET".into(), WebConfig::default())
        }
    }
}

/// The settings of the layers around HTTP: TLS, proxies, content codings
/// and server-chosen names.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The TLS client configuration for https (`None` only in unit tests
    /// that never speak https).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub proxy: ProxyConfig,
    /// `--compressed`: ask for gzip, deflate or br and decode.
    pub compressed: bool,
    /// `--raw-body`: save the body as it came, codings and all.
    pub raw_body: bool,
    /// `-J`: name the file from Content-Disposition.
    pub remote_name: bool,
    /// `--resolve`, `--connect-to`, `-4`, `-6`: where connections go.
    pub connect: ConnectRules,
}

/// `--segments N` and its smallest span (`--segment-min`, hidden: tests
/// split small files with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub count: usize,
    pub min: u64,
}

impl Default for Segments {
    fn default() -> Segments {
        Segments {
            count: 1,
            min: 1 << 20,
        }
    }
}

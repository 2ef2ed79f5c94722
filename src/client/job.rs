//! One download and the settings it runs under: the resolved client config,
//! and the state a download carries from hop to hop (current target,
//! method, body, header edits, redirect trail, output, timing). A job moves
//! into each connection's session and back to the service when it ends.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use url::Url;

use super::conn::WebConfig;
use super::headers::{Printer, Timing};
use super::output::{derive_name, Destination, Output};
use super::progress::Progress;
use super::redirect::{Hop, Trail};
use super::request::{Body, HeaderEdit};
use super::target::Target;
use crate::error::Result;
use crate::http::response::ResponseHead;

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
    /// TLS, proxies, content codings, `-J`.
    pub web: WebConfig,
}

impl ClientConfig {
    /// Defaults for unit tests: fetch into memory, nothing printed.
    #[cfg(test)]
    pub fn for_tests() -> ClientConfig {
        ClientConfig {
            mode: Mode::Fetch,
            method: "GET".into(),
            edits: Vec::new(),
            body: None,
            follow: true,
            max_redirs: 10,
            fail: false,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(30)),
            max_time: None,
            destination: Some(Destination::Memory),
            printer: Printer::silent(),
            progress: false,
            summary: false,
            timing: false,
            web: WebConfig::default(),
        }
    }
}

/// One URL's download, across redirects.
#[derive(Debug)]
pub struct Job {
    pub config: Rc<ClientConfig>,
    pub target: Target,
    pub method: String,
    pub body: Option<Body>,
    pub edits: Vec<HeaderEdit>,
    pub trail: Trail,
    pub destination: Destination,
    pub output: Option<Output>,
    pub progress: Progress,
    pub timing: Timing,
    /// When the first request began: `--max-time` and the total count from here.
    pub started: Instant,
    /// When the current hop began (before its lookup).
    pub hop_started: Instant,
    /// The final head, once it arrived.
    pub head: Option<ResponseHead>,
}

impl Job {
    pub fn new(config: Rc<ClientConfig>, url: Url, now: Instant) -> Result<Job> {
        let target = Target::new(url)?;
        // Like wget and `curl -O`: the name comes from the URL asked for,
        // not from wherever redirects lead.
        let destination = config
            .destination
            .clone()
            .unwrap_or_else(|| Destination::Derived {
                dir: PathBuf::new(),
                name: derive_name(&target.url),
            });
        Ok(Job {
            method: config.method.clone(),
            body: config.body.clone(),
            edits: config.edits.clone(),
            trail: Trail::new(config.max_redirs, &config.method, &target.url),
            target,
            destination,
            output: None,
            progress: Progress::disabled(),
            timing: Timing::default(),
            started: now,
            hop_started: now,
            head: None,
            config,
        })
    }

    /// Moves the job to the next hop of a redirect.
    pub fn redirect(&mut self, hop: Hop) -> Result<()> {
        self.trail.visit(&hop)?;
        let target = Target::new(hop.url.clone())?;
        if hop.crosses_origin {
            // Credentials meant for one origin must not leak to another.
            self.edits
                .retain(|e| !e.is("authorization") && !e.is("cookie"));
        }
        if !hop.keep_body {
            self.body = None;
        }
        self.method = hop.method;
        self.target = target;
        self.head = None;
        self.timing.redirects = self.trail.redirects();
        Ok(())
    }

    pub fn url(&self) -> &Url {
        &self.target.url
    }
}

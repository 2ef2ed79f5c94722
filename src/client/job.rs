//! One download and the settings it runs under: the resolved client config,
//! and the state a download carries from hop to hop (current target,
//! method, body, header edits, redirect trail, output, timing). A job moves
//! into each connection's session and back to the service when it ends.

use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use url::Url;

use super::conn::WebConfig;
use super::headers::{Printer, Timing};
use super::output::{derive_name, numbered, Destination, Output};
use super::partial::Partial;
use super::pool::SharedPool;
use super::progress::{Board, Progress};
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
    /// `-C`: keep and continue `NAME.part` files.
    pub resume: bool,
    /// Several downloads on a terminal: their shared progress lines.
    pub board: Option<Board>,
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
            resume: false,
            board: None,
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
    /// Already sent again after a kept-alive connection went stale.
    pub retried: bool,
    /// `-C`: the part file this job continues or starts.
    pub partial: Option<Partial>,
    /// Set just before the job's session is made, which takes it: where a
    /// kept-alive connection finds its next job.
    pub pool: Option<SharedPool>,
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
            retried: false,
            partial: None,
            pool: None,
            config,
        })
    }

    /// Moves the job to the next hop of a redirect.
    pub fn redirect(&mut self, hop: Hop) -> Result<()> {
        self.trail.visit(&hop)?;
        let mut target = Target::new(hop.url.clone())?;
        if hop.crosses_origin {
            // Credentials meant for one origin must not leak to another,
            // nor those meant for the proxy of the first hop (curl does the same).
            self.edits.retain(|e| {
                !e.is("authorization") && !e.is("cookie") && !e.is("proxy-authorization")
            });
        } else if target.credentials.is_none() {
            // The URL's own credentials stay with their origin, like curl's.
            target.credentials = self.target.credentials.take();
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

    /// `-C`: picks this job's part file, stepping a derived name to
    /// `NAME.1`, `NAME.2`, ... when an earlier job of the run took it (two
    /// downloads must never share a part), and asks for the rest of what an
    /// earlier run left there.
    pub fn claim_part(&mut self, claimed: &mut HashSet<PathBuf>) {
        let path = match &mut self.destination {
            Destination::Derived { dir, name } => {
                let base = PathBuf::from(name.clone());
                let mut n = 0;
                while claimed.contains(&dir.join(&*name)) {
                    n += 1;
                    *name = numbered(&base, n).to_string_lossy().into_owned();
                }
                dir.join(&*name)
            }
            Destination::Exact(path) if !path.exists() || path.is_file() => path.clone(),
            // stdout and devices have nothing to continue.
            _ => return,
        };
        claimed.insert(path.clone());
        let partial = Partial::for_dest(&path);
        self.edits.extend(partial.request_edits());
        self.partial = Some(partial);
    }

    pub fn url(&self) -> &Url {
        &self.target.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_named_jobs_claim_distinct_parts_and_ask_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.part"), "12345").unwrap();
        std::fs::write(dir.path().join("page.part.meta"), "if-range \"e1\"\n").unwrap();
        let config = Rc::new(ClientConfig {
            destination: None,
            resume: true,
            ..ClientConfig::for_tests()
        });
        let mut claimed = HashSet::new();
        let names: Vec<(String, Vec<String>)> = ["http://h/a/page", "http://h/b/page"]
            .iter()
            .map(|u| {
                let mut job =
                    Job::new(config.clone(), Url::parse(u).unwrap(), Instant::now()).unwrap();
                if let Destination::Derived { dir: d, .. } = &mut job.destination {
                    *d = dir.path().to_path_buf();
                }
                job.claim_part(&mut claimed);
                let part = job.partial.as_ref().unwrap().part.clone();
                let edits = job
                    .edits
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.name,
                            String::from_utf8_lossy(e.value.as_deref().unwrap())
                        )
                    })
                    .collect();
                (
                    part.file_name().unwrap().to_string_lossy().into_owned(),
                    edits,
                )
            })
            .collect();
        assert_eq!(names[0].0, "page.part");
        assert_eq!(names[0].1, ["Range: bytes=5-", "If-Range: \"e1\""]);
        assert_eq!(names[1].0, "page.1.part");
        assert!(names[1].1.is_empty());
    }
}

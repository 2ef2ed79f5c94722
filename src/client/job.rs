//! One download and the settings it runs under: the resolved client config,
//! and the state a download carries from hop to hop (current target,
//! method, body, header edits, redirect trail, outlet, timing). A job moves
//! into each connection's session and back to the service when it ends.

use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use url::Url;

use super::config::ClientConfig;
use super::headers::Timing;
use super::inspect::HopRecord;
use super::names::{derive_name, first_free, name_in};
use super::outlet::{Files, Outlet};
use super::output::Destination;
use super::partial::{BodyFacts, Carry, Partial};
use super::redirect::{Hop, Trail};
use super::request::{Body, HeaderEdit};
use super::segments::state::Role;
use super::target::Target;
use crate::error::Result;
use crate::http::response::ResponseHead;
use crate::tls::TlsInfo;

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
    /// Where the transcript, heads and body go ([`Files`] in a run).
    pub outlet: Box<dyn Outlet>,
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
    /// The address the current connection goes to, once connected.
    pub peer: Option<std::net::SocketAddr>,
    /// Every hop's head and timings, for `--json` and `-w`.
    pub hops: Vec<HopRecord>,
    /// The current hop runs on a connection kept alive from an earlier
    /// download (set by the session that hands it over).
    pub reused: bool,
    /// Connections opened for this download, redirects and retries
    /// included (curl's `num_connects`).
    pub connects: u32,
    /// `--retry`: retries made so far.
    pub retries: u32,
    /// `--retry`: failed attempts in a row that brought no body bytes.
    pub stalls: u32,
    /// This attempt read body bytes (set by the session).
    pub progressed: bool,
    /// This attempt's connection ended before its response was whole
    /// (set by the session; a transient fault for `--retry`).
    pub cut: bool,
    /// The body last opened in the outlet, for a retry to continue it.
    pub facts: Option<BodyFacts>,
    /// A retry asks for the rest of this body (`Range` + `If-Range`).
    pub carry: Option<Carry>,
    /// `--segments`: this job's part in a split download.
    pub segment: Option<Role<Job>>,
    /// The file name is derived and the URL named none (`index.html`
    /// stands in): a Content-Disposition name is pointed out on stderr
    /// (`-J` takes it).
    pub nameless: bool,
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
        let nameless = config.destination.is_none() && name_in(&target.url).is_none();
        Ok(Job {
            nameless,
            method: config.method.clone(),
            body: config.body.clone(),
            edits: config.edits.clone(),
            trail: Trail::new(config.max_redirs, &config.method, &target.url),
            target,
            destination,
            outlet: Box::new(Files::new(&config)),
            timing: Timing::default(),
            started: now,
            hop_started: now,
            head: None,
            retried: false,
            partial: None,
            peer: None,
            hops: Vec::new(),
            reused: false,
            connects: 0,
            retries: 0,
            stalls: 0,
            progressed: false,
            cut: false,
            facts: None,
            carry: None,
            segment: None,
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
                let Ok(path) = first_free(&dir.join(&*name), |p| Ok(!claimed.contains(p))) else {
                    return;
                };
                if let Some(free) = path.file_name() {
                    *name = free.to_string_lossy().into_owned();
                }
                path
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

    /// A new hop begins (before its lookup): its timings start afresh.
    pub fn begin_hop(&mut self, now: Instant) {
        self.hop_started = now;
        self.peer = None;
        self.reused = false;
        self.timing = Timing {
            redirects: self.timing.redirects,
            ..Timing::default()
        };
    }

    /// Ends the current hop: its connection phases are settled from
    /// `tls`, the connection's facts, and its record (if one is open) is
    /// closed.
    pub fn close_hop(&mut self, now: Instant, tls: Option<TlsInfo>) {
        let t = &mut self.timing;
        if self.reused {
            // curl's reading of a reused connection: no lookup, connect
            // or handshake happened for this hop, so each took 0.
            (t.lookup, t.connect) = (Some(Duration::ZERO), Some(Duration::ZERO));
            t.tls = tls.as_ref().map(|_| Duration::ZERO);
        } else {
            // Cumulative from the hop's start, like the other fields (curl's appconnect).
            let handshake = tls.as_ref().and_then(|i| i.handshake_time);
            t.tls = handshake.map(|h| t.connect.unwrap_or_default() + h);
            // TLS holds the request until the handshake ends, then sends it
            // at once: it cannot have left before.
            t.request_sent = t.request_sent.map(|s| t.tls.map_or(s, |h| s.max(h)));
        }
        let total = now.saturating_duration_since(self.hop_started);
        if let Some(hop) = self.hops.last_mut() {
            hop.close(&self.timing, total, tls, self.reused);
        }
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

//! `fetch` and `headers`: an HTTP/1.1 client over the event loop. This file
//! runs the jobs of a [`Run`] (which `cli::fetch` resolves from the flags);
//! the rest is split by concern:
//!
//! - [`config`]: the resolved settings, plain values ([`config::ClientConfig`],
//!   [`config::WebConfig`]).
//! - [`target`]: URL -> host, port, `Host` and request-target; resolution,
//!   after [`connect_rules`] (`--resolve`, `--connect-to`, `-4`, `-6`;
//!   `--unix-socket` instead of all of them).
//! - [`proxy`]: which proxy a URL goes through; the CONNECT exchange.
//! - [`conn`]: one connection's layers: CONNECT tunnel, TLS, HTTP session.
//! - [`request`]: the request bytes; [`sending`] queues them for a job.
//! - [`session`]: the sans-IO exchange as a state machine (send the
//!   request, read heads, read the body, done); on a kept-alive connection
//!   it carries on with the next job of the same origin. Its `ReadBody`
//!   step is [`reading`]: framing and content decoding into the outlet.
//! - [`plan`]: what a response head means (interim, redirect, `--fail`,
//!   headers only, `-C` complete, a body and how to keep it): pure;
//!   [`apply`] carries a plan out on the job.
//! - [`outlet`]: where the session's results go (transcript, heads, body,
//!   progress), a trait; [`outlet::Files`] is the real one.
//! - [`ending`]: how an exchange ended, and the one place errors get their URL.
//! - [`pool`]: the jobs waiting for a connection, shared by the service and
//!   its sessions.
//! - [`service`]: starts jobs (at most `-P` connections), follows
//!   redirects, retries stale connections, commits outputs.
//! - [`partial`]: `-C` part files, their validators, Content-Range, and
//!   the [`partial::Carry`] a retry continues from.
//! - [`rate`]: `--limit-rate`'s token bucket; the session pauses reading.
//! - [`retry`]: `--retry`'s decisions (transient or not, how long to wait): pure.
//! - [`segments`]: `--segments`, one file over several connections.
//! - [`redirect`], [`output`], [`progress`], [`headers`]: the policies and
//!   the printing, each pure or behind `impl Write`.
//! - [`inspect`] records each hop (head, peer, timings, TLS);
//!   [`write_out`] parses `-w` formats; [`report`] writes `--json`,
//!   `--json-meta` and `-w` from the records.

pub mod apply;
pub mod config;
pub mod conn;
pub mod connect_rules;
pub mod crawl;
pub mod ending;
pub mod headers;
pub mod inspect;
pub mod job;
pub mod names;
pub mod outlet;
pub mod output;
pub mod partial;
pub mod plan;
pub mod pool;
pub mod progress;
pub mod proxy;
pub mod rate;
pub mod reading;
pub mod redirect;
pub mod report;
pub mod request;
pub mod retry;
pub mod segments;
pub mod sending;
pub mod service;
pub mod session;
pub mod target;
pub mod write_out;

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::event_loop::{EventLoop, LoopConfig, Shutdown};
use config::ClientConfig;
use job::Job;
use service::FetchService;

/// What `fetch` or `headers` is asked to do, resolved from the flags.
#[derive(Debug)]
pub struct Run {
    pub config: ClientConfig,
    /// Every URL, checked before anything is fetched.
    pub urls: Vec<url::Url>,
    /// At most this many connections at once (`-P`).
    pub parallel: usize,
}

/// Runs the jobs on one event loop until each is saved or failed, or
/// Ctrl-C stops them (temporary files are then removed as jobs drop).
pub fn run(run: Run) -> Result<()> {
    let Run {
        config,
        urls,
        parallel,
    } = run;
    let now = Instant::now();
    let connect_timeout = config
        .max_time
        .map_or(config.connect_timeout, |m| m.min(config.connect_timeout));
    let stopped = interrupted_words(&config);
    if let Some(write_out::JsonOut::File(path)) = &config.report.json {
        // Each transfer appends its line; a run starts the file afresh.
        std::fs::File::create(path).map_err(|e| Error::file(path, e))?;
    }
    let config = Rc::new(config);
    let mut jobs = urls
        .into_iter()
        .map(|u| Job::new(config.clone(), u, now))
        .collect::<Result<Vec<_>>>()?;
    if config.resume {
        let mut claimed = std::collections::HashSet::new();
        for job in &mut jobs {
            job.claim_part(&mut claimed);
        }
    }
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .map_err(|e| Error::io("installing signal handlers", e))?;
    let quiet = !config.summary;
    let loop_config = LoopConfig {
        max_connections: parallel.max(64),
        // Big reads: a fast download should cost few system calls.
        read_chunk: 128 * 1024,
        linger: Duration::from_secs(1),
        // Connected sessions stop at once on shutdown; this only bounds
        // connects still under way.
        grace: Duration::from_millis(50),
        connect_timeout,
        ..LoopConfig::default()
    };
    let mut event_loop =
        EventLoop::new(loop_config, shutdown.clone()).map_err(|e| Error::io("event loop", e))?;
    let mut service = FetchService::new(jobs, parallel, shutdown);
    event_loop
        .run(&mut service)
        .map_err(|e| Error::io("event loop", e))?;
    service.into_result(quiet).map_err(|e| match (e, stopped) {
        (Error::Interrupted, Some(words)) => Error::Stopped(words.into()),
        (e, _) => e,
    })
}

/// What Ctrl-C leaves of `fetch`'s downloads, for its message: nothing
/// without `-C` (and that `-C` would have kept it), the parts with it.
/// A body going to stdout was shown, not saved: nothing to add.
fn interrupted_words(config: &ClientConfig) -> Option<&'static str> {
    if matches!(config.destination, Some(output::Destination::Stdout)) {
        return None;
    }
    match (config.mode, config.resume) {
        (config::Mode::Headers, _) => None,
        (config::Mode::Fetch, false) => {
            Some("nothing saved (wirecat fetch -C URL makes downloads resumable)")
        }
        (config::Mode::Fetch, true) => {
            Some("what arrived is kept as .part; the same wirecat fetch -C continues")
        }
    }
}

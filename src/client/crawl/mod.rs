//! `fetch --page`, `fetch -r` and `fetch --mirror`: a crawl on the one
//! event loop. The [`FetchService`] runs the downloads (at most `-P`
//! connections, at most 6 to one origin, kept alive for the next job of the
//! same origin); [`state::Crawl`] is told of each as it settles and queues
//! what its references call for; when all have settled, [`rewrite`] points
//! every saved page and stylesheet at the local copies.
//!
//! - [`config`]: the plain settings `cli::fetch` resolves.
//! - [`scope`]: one spelling per URL, `-r`'s scope, `--accept`/`--reject`.
//! - [`robots`]: the robots.txt rules.
//! - [`index`]: `--mirror`'s validators from the last run.
//! - [`state`]: the crawl as it runs.
//! - [`rewrite`]: the pass that links saved files to each other.
//!
//! What a page references, where a URL is saved and how a link is written
//! are the [`Documents`]'s to say: the crawl is given one.

pub mod config;
pub mod index;
pub mod rewrite;
pub mod robots;
pub mod scope;
pub mod state;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::client::config::ClientConfig;
use crate::client::job::Job;
use crate::client::service::{Feeder, FetchService};
use crate::error::{shown, Error, Result};
use crate::event_loop::{EventLoop, LoopConfig, Shutdown};
use crate::page::Documents;
use config::CrawlConfig;
use state::{Crawl, Stats};

/// Runs the crawl, then the rewrite pass; prints where the start page was
/// saved (stdout) and the summary line (stderr). Exit 11 when anything
/// failed, each failure reported on its own line as it happened.
pub fn run(client: ClientConfig, cfg: CrawlConfig, docs: Box<dyn Documents>) -> Result<()> {
    let began = Instant::now();
    let docs: Rc<dyn Documents> = Rc::from(docs);
    let cfg = Rc::new(cfg);
    let crawl = Rc::new(RefCell::new(Crawl::new(
        cfg.clone(),
        Rc::new(client),
        docs.clone(),
    )));
    let first = crawl.borrow_mut().first()?;
    let result = run_loop(&cfg, first, crawl.clone());
    let crawl = crawl.borrow();
    let _ = std::fs::remove_dir_all(crawl.staging());
    if cfg.mirror {
        crawl
            .index
            .save(&cfg.out_dir)
            .map_err(|e| Error::file(cfg.out_dir.join(index::NAME), e))?;
    }
    rewrite::rewrite_all(&*docs, &cfg.out_dir, &crawl.files, &crawl.links)?;
    let start = scope::fetchable(&cfg.start);
    if let Some(path) = start.and_then(|s| crawl.links.get(s.as_str())) {
        println!("{}", shown(&cfg.out_dir.join(path)));
    }
    if !cfg.quiet {
        eprintln!("{}", summary(&crawl.stats, began.elapsed()));
    }
    match result {
        Err(Error::Some { .. }) | Ok(()) if crawl.stats.failed > 0 => Err(Error::Some {
            failed: crawl.stats.failed,
            total: crawl.files.len() + crawl.stats.failed,
        }),
        other => other,
    }
}

/// The event loop part: runs until every job settled or Ctrl-C.
fn run_loop(cfg: &CrawlConfig, first: Vec<Job>, crawl: Rc<RefCell<Crawl>>) -> Result<()> {
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .map_err(|e| Error::io("installing signal handlers", e))?;
    let loop_config = LoopConfig {
        max_connections: cfg.parallel.max(64),
        read_chunk: 128 * 1024,
        linger: Duration::from_secs(1),
        grace: Duration::from_millis(50),
        ..LoopConfig::default()
    };
    let mut event_loop =
        EventLoop::new(loop_config, shutdown.clone()).map_err(|e| Error::io("event loop", e))?;
    let feeder = Box::new(Shared(crawl));
    let mut service = FetchService::growing(first, cfg.parallel, cfg.per_host, shutdown, feeder);
    event_loop
        .run(&mut service)
        .map_err(|e| Error::io("event loop", e))?;
    service.into_result(true)
}

/// The crawl, shared between the service (as its feeder) and the end.
struct Shared(Rc<RefCell<Crawl>>);

impl Feeder for Shared {
    fn settled(&mut self, job: &Job, result: Result<()>) -> (Result<()>, Vec<Job>) {
        self.0.borrow_mut().settled(job, result)
    }
}

/// "3 pages, 12 other files, 48.2 KiB in 0.21s, 1 failed".
fn summary(stats: &Stats, took: Duration) -> String {
    let capped = match stats.capped {
        true => " (stopped at --max-files)",
        false => "",
    };
    format!(
        "{} pages, {} other files, {} bytes in {:.2}s, {} failed{capped}",
        stats.pages,
        stats.others,
        stats.bytes,
        took.as_secs_f64(),
        stats.failed
    )
}

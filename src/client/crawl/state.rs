//! The crawl as it runs: told of each settled download (through
//! [`Feeder`]), it files the body under its wget-style name, parses pages
//! and stylesheets for references, and queues what the rules take: each
//! URL once, within `--max-files`, links only with `-r` and in scope,
//! requisites with `--page` on any host.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Instant, SystemTime};

use url::Url;

use super::config::{CrawlConfig, FRAME_DEPTH};
use super::index::{Entry, Index};
use super::rewrite::SavedFile;
use super::robots::Robots;
use super::scope::{fetchable, in_scope, wanted};
use crate::client::config::ClientConfig;
use crate::client::job::Job;
use crate::client::output::Destination;
use crate::client::request::HeaderEdit;
use crate::client::service::Feeder;
use crate::error::{Error, Result};
use crate::page::{Documents, Found, Kind};

/// Why a URL is fetched, which decides what of its references is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Robots,
    /// A page: `depth` links from the start, inside `frames` frames.
    Page {
        depth: u32,
        frames: u32,
    },
    Requisite,
}

#[derive(Debug)]
struct Pending {
    url: Url,
    role: Role,
    /// `--mirror`: what an earlier run saved for it.
    earlier: Option<Entry>,
}

/// The counts of the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub pages: usize,
    pub others: usize,
    pub bytes: u64,
    pub failed: usize,
    /// `--max-files` stopped the crawl from taking more.
    pub capped: bool,
}

pub struct Crawl {
    cfg: Rc<CrawlConfig>,
    client: Rc<ClientConfig>,
    docs: Rc<dyn Documents>,
    robots: Robots,
    seen: HashSet<String>,
    pending: HashMap<PathBuf, Pending>,
    staging: PathBuf,
    next_id: u64,
    pub index: Index,
    /// Each saved URL (asked for and final) -> its path in the output folder.
    pub links: HashMap<String, PathBuf>,
    pub files: Vec<SavedFile>,
    pub stats: Stats,
}

impl Crawl {
    pub fn new(cfg: Rc<CrawlConfig>, client: Rc<ClientConfig>, docs: Rc<dyn Documents>) -> Crawl {
        Crawl {
            index: match cfg.mirror {
                true => Index::load(&cfg.out_dir),
                false => Index::default(),
            },
            staging: cfg.out_dir.join(".wirecat-crawl"),
            cfg,
            client,
            docs,
            robots: Robots::allow_all(),
            seen: HashSet::new(),
            pending: HashMap::new(),
            next_id: 0,
            links: HashMap::new(),
            files: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The first jobs: `/robots.txt` when a recursive crawl honours it,
    /// else the start page.
    pub fn first(&mut self) -> Result<Vec<Job>> {
        std::fs::create_dir_all(&self.staging).map_err(|e| Error::file(&self.staging, e))?;
        let start = self.cfg.start.clone();
        if self.cfg.recursive && self.cfg.robots {
            if let Ok(robots) = start.join("/robots.txt") {
                return Ok(self.job(robots, Role::Robots).into_iter().collect());
            }
        }
        let page = Role::Page {
            depth: 0,
            frames: 0,
        };
        Ok(self.job(start, page).into_iter().collect())
    }

    /// Where the staged downloads go; removed when the crawl ends.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// A job for `url`, unless it was taken already or the crawl is full.
    fn job(&mut self, url: Url, role: Role) -> Option<Job> {
        let url = fetchable(&url)?;
        if self.seen.contains(url.as_str()) {
            return None;
        }
        let counted = role != Role::Robots;
        if counted && self.seen.len() >= self.cfg.max_files {
            self.stats.capped = true;
            return None;
        }
        self.seen.insert(url.to_string());
        self.next_id += 1;
        let staged = self.staging.join(self.next_id.to_string());
        let mut job = match Job::new(self.client.clone(), url.clone(), Instant::now()) {
            Ok(job) => job,
            Err(e) => {
                self.stats.failed += 1;
                eprintln!("wirecat: {url}: {e}");
                return None;
            }
        };
        if let Some(board) = &self.client.board {
            board.add_files(1);
        }
        job.destination = Destination::Exact(staged.clone());
        let earlier = self.revalidate(&mut job, &url);
        self.pending.insert(staged, Pending { url, role, earlier });
        Some(job)
    }

    /// `--mirror`: asks for a file an earlier run saved only if it changed.
    fn revalidate(&self, job: &mut Job, url: &Url) -> Option<Entry> {
        let entry = self.index.get(url.as_str())?.clone();
        let meta = std::fs::metadata(self.cfg.out_dir.join(&entry.path)).ok()?;
        if let Some(etag) = &entry.etag {
            job.edits
                .extend(HeaderEdit::parse(&format!("If-None-Match: {etag}")).ok());
        }
        if let Some(time) = meta.modified().ok().filter(|t| *t > SystemTime::UNIX_EPOCH) {
            let date = httpdate::fmt_http_date(time);
            job.edits
                .extend(HeaderEdit::parse(&format!("If-Modified-Since: {date}")).ok());
        }
        Some(entry)
    }

    /// A download came in whole: files it and takes its references.
    fn arrived(&mut self, job: &Job, staged: &Path, pending: Pending) -> Result<Vec<Job>> {
        let head = job.head.as_ref();
        let header = |n: &str| {
            head.and_then(|h| h.header(n))
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
        };
        let (path, content_type, unchanged) = match (&pending.earlier, head.map(|h| h.status)) {
            (Some(e), Some(304)) => {
                let _ = std::fs::remove_file(staged);
                (e.path.clone(), e.content_type.clone(), true)
            }
            _ => {
                let ct = header("content-type");
                let path = self.docs.local_path(job.url(), ct.as_deref());
                self.place(staged, &path)?;
                (path, ct, false)
            }
        };
        let full = self.cfg.out_dir.join(&path);
        let size = std::fs::metadata(&full).map(|m| m.len()).unwrap_or(0);
        if !unchanged {
            self.stats.bytes += size;
        }
        let page = matches!(pending.role, Role::Page { .. });
        match page && is_html(content_type.as_deref()) {
            true => self.stats.pages += 1,
            false => self.stats.others += 1,
        }
        for url in [&pending.url, job.url()] {
            if let Some(u) = fetchable(url) {
                self.links.insert(u.to_string(), path.clone());
            }
        }
        if self.cfg.mirror {
            let etag = header("etag").or_else(|| pending.earlier.as_ref()?.etag.clone());
            let entry = Entry {
                path: path.clone(),
                content_type: content_type.clone(),
                etag,
            };
            self.index.set(pending.url.as_str(), entry);
        }
        self.files.push(SavedFile {
            url: job.url().clone(),
            path,
            content_type: content_type.clone(),
            unchanged,
        });
        if size > self.cfg.max_page_size {
            log::info!("{}: {size} bytes, saved but not parsed", job.url());
            return Ok(Vec::new());
        }
        let body = std::fs::read(&full).map_err(|e| Error::file(&full, e))?;
        let found = self
            .docs
            .references(job.url(), content_type.as_deref(), &body);
        Ok(self.take(found, pending.role))
    }

    /// Moves a staged download to its name in the output folder.
    fn place(&self, staged: &Path, path: &Path) -> Result<()> {
        let full = self.cfg.out_dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
        }
        std::fs::rename(staged, &full).map_err(|e| Error::file(&full, e))
    }

    /// The jobs for what a document references, by the rules of its role.
    fn take(&mut self, found: Found, role: Role) -> Vec<Job> {
        let mut jobs = Vec::new();
        for r in found.refs {
            let next = match (r.kind, role) {
                (Kind::Requisite, Role::Requisite) => Some(Role::Requisite),
                (Kind::Requisite, Role::Page { .. }) if self.cfg.requisites => {
                    Some(Role::Requisite)
                }
                (Kind::Link | Kind::Frame, Role::Page { depth, .. })
                    if !found.nofollow && self.follows(&r.url, depth) =>
                {
                    Some(Role::Page {
                        depth: depth + 1,
                        frames: 0,
                    })
                }
                (Kind::Frame, Role::Page { depth, frames })
                    if self.cfg.requisites && frames < FRAME_DEPTH =>
                {
                    Some(Role::Page {
                        depth,
                        frames: frames + 1,
                    })
                }
                _ => None,
            };
            if let Some(role) = next {
                jobs.extend(self.job(r.url, role));
            }
        }
        jobs
    }

    /// Does `-r` follow a link to `url` from a page at `depth`?
    fn follows(&self, url: &Url, depth: u32) -> bool {
        let cfg = &self.cfg;
        cfg.recursive
            && cfg.depth.is_none_or(|max| depth < max)
            && in_scope(&cfg.start, url)
            && wanted(url, &cfg.accept, &cfg.reject)
            && self.robots.allows(&path_and_query(url))
    }

    /// robots.txt came (or did not): read it, then start on the page.
    fn robots_done(&mut self, staged: &Path, ok: bool) -> Vec<Job> {
        if ok {
            let text = std::fs::read(staged).unwrap_or_default();
            self.robots = Robots::parse(&String::from_utf8_lossy(&text));
        }
        let _ = std::fs::remove_file(staged);
        let start = Role::Page {
            depth: 0,
            frames: 0,
        };
        self.job(self.cfg.start.clone(), start)
            .into_iter()
            .collect()
    }
}

impl Feeder for Crawl {
    fn settled(&mut self, job: &Job, result: Result<()>) -> (Result<()>, Vec<Job>) {
        let Destination::Exact(staged) = &job.destination else {
            return (result, Vec::new());
        };
        let Some(pending) = self.pending.remove(staged) else {
            return (result, Vec::new());
        };
        if pending.role == Role::Robots {
            // No robots.txt (or none reachable) allows everything.
            return (Ok(()), self.robots_done(staged, result.is_ok()));
        }
        let outcome = result.and_then(|()| self.arrived(job, staged, pending));
        match outcome {
            Ok(jobs) => (Ok(()), jobs),
            Err(e) => {
                self.stats.failed += 1;
                (Err(e), Vec::new())
            }
        }
    }
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn is_html(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("text/html") || ct.starts_with("application/xhtml")
    })
}

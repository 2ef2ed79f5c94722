//! The queue of downloads waiting for a connection, shared (single-threaded,
//! `Rc<RefCell<_>>`) between the service and its sessions, so a session whose
//! response ended cleanly on a keep-alive connection can take the next job
//! for the same origin and send it on that connection, and hand the finished
//! job back for the service to commit. It owns no sockets and no files.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::rc::Rc;

use super::ending::Ending;
use super::job::Job;
use crate::error::Result;

/// Scheme, host and port: jobs with the same origin may share a connection
/// (RFC 9110 section 4.3.1). `--unix-socket`'s path is part of it, so a
/// connection over a socket never carries a job meant for TCP, nor one
/// for another socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
    unix: Option<PathBuf>,
}

impl Origin {
    pub fn of(job: &Job) -> Origin {
        Origin {
            scheme: job.url().scheme().to_string(),
            host: job.target.host.to_ascii_lowercase(),
            port: job.target.port,
            unix: job.config.web.connect.unix_socket.clone(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Pool {
    waiting: VecDeque<Job>,
    /// Jobs whose exchange ended on a connection that lives on.
    done: Vec<(Job, Result<Ending>)>,
    /// Hand connections on to the next job (off for a single download).
    reuse: bool,
}

pub type SharedPool = Rc<RefCell<Pool>>;

impl Pool {
    pub fn shared(jobs: Vec<Job>) -> SharedPool {
        let reuse = jobs.len() > 1;
        Rc::new(RefCell::new(Pool {
            waiting: jobs.into(),
            done: Vec::new(),
            reuse,
        }))
    }

    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.done.is_empty()
    }

    pub fn push_front(&mut self, job: Job) {
        self.waiting.push_front(job);
    }

    pub fn take_any(&mut self) -> Option<Job> {
        self.waiting.pop_front()
    }

    /// The oldest waiting job that `fits` (the crawl's per-host limit).
    pub fn take_where(&mut self, fits: impl Fn(&Job) -> bool) -> Option<Job> {
        let at = self.waiting.iter().position(fits)?;
        self.waiting.remove(at)
    }

    pub fn push_back(&mut self, job: Job) {
        self.waiting.push_back(job);
    }

    /// Hand connections on even when the run starts with one job (a crawl
    /// adds jobs as it goes).
    pub fn reuse_always(&mut self) {
        self.reuse = true;
    }

    pub fn drain_waiting(&mut self) -> Vec<Job> {
        self.waiting.drain(..).collect()
    }

    /// Is another job for `origin` waiting? Decides whether a request asks
    /// to keep its connection open.
    pub fn has_more_for(&self, origin: &Origin) -> bool {
        self.reuse && self.waiting.iter().any(|j| Origin::of(j) == *origin)
    }

    /// The oldest waiting job for `origin`, for a connection that is free.
    pub fn take_for(&mut self, origin: &Origin) -> Option<Job> {
        if !self.reuse {
            return None;
        }
        let at = self.waiting.iter().position(|j| Origin::of(j) == *origin)?;
        self.waiting.remove(at)
    }

    pub fn finished(&mut self, job: Job, result: Result<Ending>) {
        self.done.push((job, result));
    }

    pub fn take_done(&mut self) -> Vec<(Job, Result<Ending>)> {
        std::mem::take(&mut self.done)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Instant;

    use super::*;
    use crate::client::config::ClientConfig;
    use crate::client::target::parse_url;

    fn job(url: &str, unix: Option<&str>) -> Job {
        let mut config = ClientConfig::for_tests();
        config.web.connect.unix_socket = unix.map(PathBuf::from);
        Job::new(Rc::new(config), parse_url(url).unwrap(), Instant::now()).unwrap()
    }

    /// A connection over a Unix socket carries only jobs for that socket:
    /// never one for TCP to the same origin, nor one for another socket.
    #[test]
    fn unix_socket_connections_are_keyed_by_their_path() {
        let url = "http://name.test/a";
        let over = |sock| Origin::of(&job(url, sock));
        let pool = Pool::shared(vec![job(url, None), job(url, Some("/tmp/b.sock"))]);
        let mut pool = pool.borrow_mut();
        assert!(!pool.has_more_for(&over(Some("/tmp/a.sock"))));
        assert!(pool.take_for(&over(Some("/tmp/a.sock"))).is_none());
        let b = pool.take_for(&over(Some("/tmp/b.sock"))).unwrap();
        assert_eq!(Origin::of(&b), over(Some("/tmp/b.sock")));
        let tcp = pool.take_for(&over(None)).unwrap();
        assert_eq!(Origin::of(&tcp), over(None));
        assert!(pool.take_any().is_none());
    }
}

//! `FetchService`: owns the downloads of one run and drives them through
//! the event loop. `tick` resolves and connects queued jobs; `ended` takes
//! each session back and decides: follow a redirect (the job goes back in
//! the queue), commit a finished body, or record the error.
//!
//! Every session is made by [`open_session`] ([`super::conn::open`]): the
//! hop's proxy route is chosen there, and the plain session wrapped in a
//! CONNECT tunnel and TLS as the URL needs.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::Instant;

use super::conn::{self, Conn};
use super::headers::write_timing;
use super::job::Job;
use super::output::Saved;
use super::redirect;
use super::session::Ending;
use crate::error::{Error, Result};
use crate::event_loop::{Control, Ended, Service, Shutdown};

/// The connection for the job's next request.
pub fn open_session(job: Job) -> Result<Conn> {
    conn::open(job)
}

pub struct FetchService {
    queue: VecDeque<Job>,
    active: usize,
    shutdown: Shutdown,
    results: Vec<Result<()>>,
}

impl FetchService {
    pub fn new(jobs: Vec<Job>, shutdown: Shutdown) -> FetchService {
        FetchService {
            queue: jobs.into(),
            active: 0,
            shutdown,
            results: Vec::new(),
        }
    }

    /// How the run went: the one error when there was one download, a
    /// count when several failed (each already reported).
    pub fn into_result(self) -> Result<()> {
        let mut errors: Vec<Error> = self.results.into_iter().filter_map(Result::err).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            n => Err(Error::Some(n)),
        }
    }

    fn start(&mut self, mut job: Job, ctl: &mut Control<'_, Conn>) {
        let begun = Instant::now();
        job.hop_started = begun;
        job.target.route(&job.config.web.proxy);
        match job.target.resolve() {
            Ok(addrs) => {
                job.timing.lookup = Some(begun.elapsed());
                log::debug!("{} resolves to {addrs:?}", job.target.host);
                match open_session(job) {
                    Ok(session) => {
                        self.active += 1;
                        ctl.connect(addrs, session);
                    }
                    Err(e) => self.results.push(Err(e)),
                }
            }
            Err(e) => self.results.push(Err(e)),
        }
    }
}

impl Service for FetchService {
    type Session = Conn;

    fn tick(&mut self, ctl: &mut Control<'_, Conn>) -> bool {
        if self.shutdown.is_requested() {
            for _ in self.queue.drain(..) {
                self.results.push(Err(Error::Interrupted));
            }
        }
        while let Some(job) = self.queue.pop_front() {
            self.start(job, ctl);
        }
        self.active > 0 || !self.queue.is_empty()
    }

    fn ended(&mut self, session: Conn, how: Ended) {
        self.active -= 1;
        let (mut job, result) = session.finish(how, self.shutdown.is_requested());
        let result = match result {
            Ok(Ending::Complete) => complete(job),
            Ok(Ending::Redirect) => match follow(&mut job) {
                Ok(()) => {
                    self.queue.push_back(job);
                    return;
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.results.push(result);
    }
}

/// Points the job at the redirect's target.
fn follow(job: &mut Job) -> Result<()> {
    let head = job.head.take().expect("a redirect ending keeps its head");
    let location = head.header("location").expect("checked by the session");
    let hop = redirect::next_hop(job.url(), &job.method, head.status, location)?;
    log::info!("{} {} -> {}", head.status, job.url(), hop.url);
    job.redirect(hop)
}

/// A download finished cleanly: put the file in place and report.
fn complete(mut job: Job) -> Result<()> {
    let config = job.config.clone();
    job.progress.finish();
    let total = job.started.elapsed();
    if let Some(output) = job.output.take() {
        let bytes = output.written();
        if let Saved::File { path, wanted } = output.commit()? {
            if config.summary {
                let secs = total.as_secs_f64();
                let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
                let stepped = match wanted {
                    Some(w) => format!(" ({} exists)", w.display()),
                    None => String::new(),
                };
                eprintln!(
                    "saved {bytes} bytes to {}{stepped} in {secs:.3}s ({})",
                    path.display(),
                    human_rate(rate)
                );
            }
        }
    }
    if config.timing {
        job.timing.total = Some(total);
        let mut out = io::stdout().lock();
        write_timing(&mut out, &job.timing)
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("writing to stdout", e))?;
    }
    Ok(())
}

fn human_rate(bytes_per_sec: f64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let mut v = bytes_per_sec;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_well() {
        assert_eq!(human_rate(0.0), "0.0 B/s");
        assert_eq!(human_rate(1536.0), "1.5 KiB/s");
        assert_eq!(human_rate(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB/s");
    }
}

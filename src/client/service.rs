//! `FetchService`: owns the downloads of one run and drives them through
//! the event loop. `tick` starts queued jobs on new connections, at most
//! `-P` at a time (sessions hand a kept-alive connection on to the next job
//! of the same origin themselves, through the [`Pool`]); `ended` and the
//! pool's finished list give each job back, and the service decides:
//! follow a redirect (the job goes back in the queue), retry on a fresh
//! connection, commit a finished body, or record the error.
//!
//! Every session is made by [`super::conn::open`], handed the pool it
//! shares: the hop's proxy route is chosen here, and the plain session
//! wrapped in a CONNECT tunnel and TLS there, as the URL needs.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use super::conn::{self, Conn};
use super::connect_rules::Route;
use super::ending::Ending;
use super::headers::write_timing;
use super::job::Job;
use super::outlet::Delivered;
use super::output::{Destination, Saved};
use super::pool::{Origin, Pool, SharedPool};
use super::progress::Board;
use super::redirect;
use super::report;
use super::retry;
use super::segments;
use super::write_out::JsonOut;
use crate::error::{shown, Error, Result};
use crate::event_loop::{Control, Ended, Service, Shutdown};

pub struct FetchService {
    pool: SharedPool,
    /// Connections open or connecting; at most `parallel`.
    active: usize,
    parallel: usize,
    /// Several downloads: report each failure as it happens and count at the end.
    many: bool,
    shutdown: Shutdown,
    results: Vec<Result<()>>,
    board: Option<Board>,
    /// A run that grows as it goes (the crawl): told of every settled job.
    feeder: Option<Box<dyn Feeder>>,
    /// At most this many connections to one origin (the crawl's 6).
    per_origin: usize,
    open: HashMap<Origin, usize>,
    /// `--retry`: jobs waiting out their backoff, and until when.
    sleeping: Vec<(Instant, Job)>,
    /// `--segments`: a split failed; the rest of it is to end.
    wake_all: bool,
}

/// Told of each download once it is settled (saved or failed), it may
/// queue more and may change what the result counts as (a missing
/// robots.txt is no failure). Used by `client::crawl`.
pub trait Feeder {
    fn settled(&mut self, job: &Job, result: Result<()>) -> (Result<()>, Vec<Job>);
}

impl FetchService {
    pub fn new(jobs: Vec<Job>, parallel: usize, shutdown: Shutdown) -> FetchService {
        let many = jobs.len() > 1;
        let board = jobs.first().and_then(|j| j.config.board.clone());
        FetchService {
            pool: Pool::shared(jobs),
            active: 0,
            parallel: parallel.max(1),
            many,
            shutdown,
            results: Vec::new(),
            board,
            feeder: None,
            per_origin: usize::MAX,
            open: HashMap::new(),
            sleeping: Vec::new(),
            wake_all: false,
        }
    }

    /// A crawl's service: `feeder` adds jobs as they settle, connections
    /// are kept for the jobs it adds, at most `per_origin` to one origin.
    pub fn growing(
        jobs: Vec<Job>,
        parallel: usize,
        per_origin: usize,
        shutdown: Shutdown,
        feeder: Box<dyn Feeder>,
    ) -> FetchService {
        let mut service = FetchService::new(jobs, parallel, shutdown);
        service.pool.borrow_mut().reuse_always();
        service.many = true;
        service.feeder = Some(feeder);
        service.per_origin = per_origin.max(1);
        service
    }

    /// How the run went: the one error when there was one download; with
    /// several, a final count (on stderr here when all succeeded, as the
    /// error when some failed; each failure was already reported).
    pub fn into_result(mut self, quiet: bool) -> Result<()> {
        if let Some(board) = &self.board {
            board.finish();
        }
        // The loop may stop on a signal between a tick and the next, with
        // jobs still asleep before a retry: they were interrupted.
        for _ in self.sleeping.drain(..) {
            self.results.push(Err(Error::Interrupted));
        }
        let failed = self.results.iter().filter(|r| r.is_err()).count();
        if self.many && self.shutdown.is_requested() {
            return Err(Error::Interrupted);
        }
        if self.many {
            let total = self.results.len();
            if failed > 0 {
                // main prints this one, as it prints every error.
                return Err(Error::Some { failed, total });
            }
            if !quiet {
                eprintln!("{total} downloaded, 0 failed");
            }
            return Ok(());
        }
        let mut errors: Vec<Error> = self.results.into_iter().filter_map(Result::err).collect();
        match errors.len() {
            0 => Ok(()),
            _ => Err(errors.remove(0)),
        }
    }

    fn start(&mut self, mut job: Job, ctl: &mut Control<'_, Conn>) {
        let begun = Instant::now();
        job.begin_hop(begun);
        job.cut = false;
        job.progressed = false;
        if job.trail.redirects() == 0 && !job.retried && job.retries == 0 && job.segment.is_none() {
            // A queued job's clock (--max-time, the summary) starts now (a range's is its file's).
            job.started = begun;
        }
        job.target.route(&job.config.web.proxy);
        match job.target.resolve(&job.config.web.connect) {
            Ok(route) => {
                job.timing.lookup = Some(begun.elapsed());
                log::debug!("{} goes to {route:?}", job.target.host);
                let origin = Origin::of(&job);
                match conn::open(job, self.pool.clone()) {
                    Ok(session) => {
                        self.active += 1;
                        *self.open.entry(origin).or_default() += 1;
                        match route {
                            Route::Tcp(addrs) => ctl.connect(addrs, session),
                            Route::Unix(path) => ctl.connect_unix(path, session),
                        }
                    }
                    Err(e) => {
                        let board = self.board.clone();
                        self.record(Err(e), board.as_ref());
                    }
                }
            }
            Err(e) => {
                let board = job.config.board.clone();
                let result = self.feed(&job, Err(e));
                self.record(result, board.as_ref());
            }
        }
    }

    /// One exchange is over: decide what becomes of its job (and when that
    /// failed its `--segments` split, have the split's other jobs end).
    fn settle(&mut self, job: Job, result: Result<Ending>) {
        let role = job.segment.clone();
        self.decide(job, result);
        self.wake_all |= role.is_some_and(|r| segments::newly_failed(&r));
    }

    fn decide(&mut self, job: Job, result: Result<Ending>) {
        let Some((mut job, result)) = segments::settle(job, result, &self.pool) else {
            return;
        };
        let board = job.config.board.clone();
        let result = match result {
            Ok(Ending::Complete) => match complete(&mut job) {
                Ok(delivered) => report(&job, delivered.as_ref(), None),
                Err(e) => report(&job, None, Some(e)),
            },
            Ok(Ending::Redirect) => match follow(&mut job) {
                Ok(()) => return self.pool.borrow_mut().push_front(job),
                Err(e) => Err(e),
            },
            Ok(Ending::Retry) => {
                job.retried = true;
                return self.pool.borrow_mut().push_front(job);
            }
            Err(e) => match FetchService::retry_wait(&job, &e) {
                Some(wait) => return self.sleep(job, &e, wait),
                None if job.segment.is_some() => match segments::gave_up(job, e) {
                    Some((first, e)) => {
                        job = first;
                        report(&job, None, Some(e))
                    }
                    None => return,
                },
                None => report(&job, None, Some(e)),
            },
        };
        let result = self.feed(&job, result);
        self.record(result, board.as_ref());
    }

    /// `--retry`: how long `job` waits before trying again after `e`;
    /// `None` when `e` is permanent, the retries are spent, or the wait
    /// would pass `--max-time`.
    fn retry_wait(job: &Job, e: &Error) -> Option<Duration> {
        let config = &job.config;
        let kept = job.outlet.received();
        // Bytes already on stdout cannot be taken back for a fresh start.
        let shown = matches!(job.destination, Destination::Stdout) && kept > 0;
        let fault = retry::fault(e, job.cut).filter(|_| !shown);
        let after = job
            .head
            .as_ref()
            .and_then(|h| h.header("retry-after"))
            .and_then(|v| retry::retry_after(v, SystemTime::now()));
        let attempts = retry::Attempts {
            retries: job.retries,
            stalls: stalls_after(job),
        };
        let wait = retry::decide(&config.retry, attempts, fault, after, retry::jitter())?;
        let spent = job.started.elapsed() + wait;
        match config.max_time {
            Some(max) if spent >= max => None,
            _ => Some(wait),
        }
    }

    /// Puts `job` to sleep for `wait` (the loop's timer wakes the service),
    /// saying so in one line on stderr; the rest of a body that arrived in
    /// part is asked for when it has a validator.
    fn sleep(&mut self, mut job: Job, e: &Error, wait: Duration) {
        let config = job.config.clone();
        job.retries += 1;
        job.stalls = stalls_after(&job);
        job.head = None;
        if let Some(facts) = &job.facts {
            job.carry = facts.carry(job.outlet.received());
        }
        // The next attempt may start on a kept-alive connection, without
        // `start`: its own flags begin clear.
        (job.cut, job.progressed) = (false, false);
        if config.summary {
            let line = retry_line(&job, wait, e);
            match &config.board {
                Some(b) => b.println(&line),
                None => eprintln!("{line}"),
            }
        }
        log::info!("{}: retry {} with {:?}", job.url(), job.retries, job.carry);
        self.sleeping.push((Instant::now() + wait, job));
    }

    /// Jobs whose wait is over go first in the queue; the loop is asked
    /// to wake the service for the next one.
    fn wake_sleepers(&mut self, ctl: &mut Control<'_, Conn>) {
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sleeping)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.sleeping = waiting;
        let mut pool = self.pool.borrow_mut();
        for (_, job) in due.into_iter().rev() {
            pool.push_front(job);
        }
        if let Some(next) = self.sleeping.iter().map(|(at, _)| *at).min() {
            ctl.wake_at(next);
        }
    }

    /// Tells the feeder, if any, and queues what it adds.
    fn feed(&mut self, job: &Job, result: Result<()>) -> Result<()> {
        let Some(feeder) = &mut self.feeder else {
            return result;
        };
        let (result, more) = feeder.settled(job, result);
        let mut pool = self.pool.borrow_mut();
        for job in more {
            pool.push_back(job);
        }
        result
    }

    /// Is there room for one more connection to `job`'s origin?
    fn fits(&self, job: &Job) -> bool {
        self.open.get(&Origin::of(job)).copied().unwrap_or(0) < self.per_origin
    }

    fn record(&mut self, result: Result<()>, board: Option<&Board>) {
        if let Some(board) = board {
            board.file_done(result.is_ok());
        }
        if self.many {
            // Ctrl-C is said once, by main, not once per download.
            if let Some(e) = result
                .as_ref()
                .err()
                .filter(|e| !matches!(e, Error::Interrupted))
            {
                let line = format!("wirecat: {e}");
                match board {
                    Some(b) => b.println(&line),
                    None => eprintln!("{line}"),
                }
            }
        }
        self.results.push(result);
    }
}

impl Service for FetchService {
    type Session = Conn;

    fn tick(&mut self, ctl: &mut Control<'_, Conn>) -> bool {
        let done = self.pool.borrow_mut().take_done();
        for (job, result) in done {
            self.settle(job, result);
        }
        if self.shutdown.is_requested() {
            let waiting = self.pool.borrow_mut().drain_waiting();
            for _ in waiting
                .into_iter()
                .chain(self.sleeping.drain(..).map(|(_, j)| j))
            {
                self.results.push(Err(Error::Interrupted));
            }
        }
        if std::mem::take(&mut self.wake_all) {
            // Waking every session once ends a failed split's in flight.
            segments::end_abandoned(&mut self.sleeping, &self.pool);
            ctl.notifier().notify();
        }
        self.wake_sleepers(ctl);
        while self.active < self.parallel {
            let next = match self.per_origin {
                usize::MAX => self.pool.borrow_mut().take_any(),
                _ => self.pool.borrow_mut().take_where(|j| self.fits(j)),
            };
            let Some(job) = next else {
                break;
            };
            self.start(job, ctl);
        }
        self.active > 0 || !self.pool.borrow().is_idle() || !self.sleeping.is_empty()
    }

    fn ended(&mut self, session: Conn, how: Ended) {
        self.active -= 1;
        let (job, result) = session.finish(how, self.shutdown.is_requested());
        if let Some(n) = self.open.get_mut(&Origin::of(&job)) {
            *n = n.saturating_sub(1);
        }
        self.settle(job, result);
    }
}

/// Points the job at the redirect's target.
fn follow(job: &mut Job) -> Result<()> {
    // The session ends with Redirect only after storing a head with a
    // Location; should that ever change, this is one failed download, not a panic.
    let head = job.head.take();
    let Some((head, location)) = head.as_ref().and_then(|h| Some((h, h.header("location")?)))
    else {
        return Err(Error::Protocol(format!(
            "{}: a redirect without a Location",
            job.url()
        )));
    };
    let hop = redirect::next_hop(job.url(), &job.method, head.status, location)?;
    log::info!("{} {} -> {}", head.status, job.url(), hop.url);
    job.redirect(hop)
}

/// Writes `-w`'s text on stdout and the JSON document where it goes, for
/// a transfer that ended; `error` (if any) is passed on as the result.
fn report(job: &Job, delivered: Option<&Delivered>, error: Option<Error>) -> Result<()> {
    let wanted = &job.config.report;
    if wanted.json.is_none() && wanted.write_out.is_none() {
        return error.map_or(Ok(()), Err);
    }
    // As given with -o (like curl), else where the derived name landed.
    let file = match (delivered.map(|d| &d.saved), &job.destination) {
        (Some(Saved::File { .. }), Destination::Exact(given)) => Some(given.as_path()),
        (Some(Saved::File { path, .. }), _) => Some(path.as_path()),
        _ => None,
    };
    let end = report::Finished {
        size: delivered.map_or(0, |d| d.bytes),
        file,
        total: job.started.elapsed(),
        error: error.as_ref().map(|e| e.to_string()),
    };
    let written = write_reports(job, &end);
    match (error, written) {
        (Some(e), _) => Err(e),
        (None, w) => w,
    }
}

fn write_reports(job: &Job, end: &report::Finished<'_>) -> Result<()> {
    let wanted = &job.config.report;
    let mut stdout = String::new();
    if let Some(json) = &wanted.json {
        let line = report::line(&report::document(job, end));
        match json {
            JsonOut::Stdout => stdout.push_str(&line),
            JsonOut::File(path) => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| Error::file(path, e))?,
        }
    }
    if let Some(pieces) = &wanted.write_out {
        stdout.push_str(&report::write_out(pieces, job, end));
    }
    let mut out = io::stdout().lock();
    out.write_all(stdout.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

/// A download finished cleanly: put the file in place and report.
fn complete(job: &mut Job) -> Result<Option<Delivered>> {
    let config = job.config.clone();
    let total = job.started.elapsed();
    let delivered = job.outlet.commit()?;
    if let Some(Delivered {
        saved: Saved::File { path, wanted },
        bytes,
    }) = &delivered
    {
        let bytes = *bytes;
        // On a terminal with several downloads the board says it all.
        if config.summary && config.board.is_none() {
            let secs = total.as_secs_f64();
            let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
            let stepped = match wanted {
                Some(w) => format!(" ({} exists)", shown(w)),
                None => String::new(),
            };
            eprintln!(
                "saved {bytes} bytes to {}{stepped} in {secs:.3}s ({})",
                shown(path),
                human_rate(rate)
            );
        }
    }
    if config.timing {
        job.timing.total = Some(total);
        let mut out = io::stdout().lock();
        write_timing(&mut out, &job.timing)
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("writing to stdout", e))?;
    }
    Ok(delivered)
}

/// Failed attempts in a row without body bytes, counting the one just
/// ended (0 if it brought some).
fn stalls_after(job: &Job) -> u32 {
    match job.progressed {
        true => 0,
        false => job.stalls + 1,
    }
}

/// `wirecat: retry 2/5 in 2.0s: http://...: connection closed after ...`
/// (the error names its URL).
fn retry_line(job: &Job, wait: Duration, e: &Error) -> String {
    format!(
        "wirecat: retry {}/{} in {:.1}s: {e}",
        job.retries,
        job.config.retry.retries,
        wait.as_secs_f64(),
    )
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

//! `--segments N`: one file over N connections. When the first response
//! is a 200 that [`plan::fit`] allows to split, that connection keeps
//! reading from byte 0 (its outlet becomes a [`outlet::Leader`], cut at
//! the end of the first span) and N-1 more jobs ([`Role::Piece`]) are
//! queued, each asking its range with `Range` + `If-Range` and writing at
//! its offset into the same temporary file. Each answer is judged by
//! [`plan::judge`]; anything but the exact 206 of the same file fails the
//! whole download (the temporary file goes, never a mixed file). A piece
//! that fails transiently is retried by the service under `--retry` from
//! where it stopped; a connection that finishes early takes over the
//! second half of the span with most bytes left ([`plan::steal`]). The
//! first job waits, parked here, until every span is whole, and is then
//! committed as any download.
//!
//! The whole split runs on the first job's clock, so `--max-time` bounds
//! the file, not each connection. Once one job fails for good, the split
//! keeps that error ([`state::Split::fail`]) and every other job ends with
//! it: queued and sleeping ones before they send anything, connections in
//! flight at their next drive ([`abandoned`]; the service wakes them).
//! With `-v` every connection after the first is labelled (`#2 > GET`).
//!
//! The session, the sender and the service each call in once: [`head`]
//! for a piece's head, [`begin`] after a first body opened, [`range_edits`]
//! when a piece's request is sent, [`settle`] and [`gave_up`] as jobs end,
//! [`abandoned`] and [`newly_failed`] to stop the rest after a failure.

pub mod outlet;
pub mod plan;
pub mod state;
pub mod transcript;

use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use super::apply::Applied;
use super::ending::Ending;
use super::job::Job;
use super::plan::BodyPlan;
use super::pool::SharedPool;
use super::reading::Reading;
use super::request::HeaderEdit;
use super::retry;
use crate::error::{shown, Error, Result};
use crate::http::body::response_framing;
use crate::http::response::ResponseHead;
use plan::{Fit, Span, Verdict};
use state::{Split, Template};

use super::config::Segments;
use super::partial::{parse_content_range, ContentRange, Partial};

/// The smallest half of a span worth a new request when a connection is
/// free (or `--segment-min`, if larger).
const MIN_STEAL: u64 = 64 * 1024;

/// The shared state, with the first job parked in it.
pub type Shared = state::Shared<Job>;
/// What a job is to a segmented download.
pub type Role = state::Role<Job>;

/// After a first body opened: splits it when `--segments` asks and the
/// response allows, queuing the other spans; otherwise says in one line
/// why it stays on one connection.
pub fn begin(job: &mut Job, pool: &SharedPool) {
    let config = job.config.clone();
    if config.segments.count < 2 || job.segment.is_some() || job.carry.is_some() {
        return;
    }
    let (Some(head), Some(facts)) = (&job.head, &job.facts) else {
        return;
    };
    let first = first_facts(head, facts.decoded);
    let layout = match job.outlet.positioned() {
        None => Err("the output is not a file"),
        Some(file) => {
            layout(&first, head, job.partial.as_ref(), &config.segments).map(|l| (file, l))
        }
    };
    let (file, layout) = match layout {
        Ok(found) => found,
        Err(why) => return note(job, why),
    };
    log::info!("{}: segments {:?}", job.url(), layout.spans);
    let count = layout.spans.len();
    let split = new_split(job, file, layout);
    // Before any range is written: a part with holes must never be
    // described by a version-1 meta (its length would pass for progress).
    split.borrow_mut().save();
    announce(&split);
    let leader = Box::new(outlet::Leader {
        split: split.clone(),
    });
    split.borrow_mut().sink = Some(std::mem::replace(&mut job.outlet, leader));
    job.segment = Some(state::Role::Leader(split.clone()));
    let mut pool = pool.borrow_mut();
    for index in (1..count).rev() {
        pool.push_front(piece(&split, index));
    }
}

fn new_split(job: &Job, file: std::fs::File, layout: Layout) -> Shared {
    let count = layout.spans.len();
    Rc::new(RefCell::new(Split {
        file,
        total: layout.total,
        validator: layout.validator,
        asked: vec![None; count],
        spans: layout.spans,
        min: job.config.segments.min.max(MIN_STEAL),
        failed: None,
        told: false,
        labels: vec![0; count],
        connections: 0,
        parked: None,
        template: Template {
            config: job.config.clone(),
            target: job.target.clone(),
            edits: job.edits.clone(),
            started: job.started,
        },
        partial: job.partial.clone(),
        kept: layout.kept,
        unsaved: 0,
        sink: None,
    }))
}

/// The first connection becomes #1; `-v` says how the file is shared.
fn announce(split: &Shared) {
    let mut s = split.borrow_mut();
    let first = s.new_connection(0);
    let span = s.spans[0];
    let text = format!(
        "--segments: connection #{first} keeps bytes {}-{}; {} more ranges \
         go over new connections (#{} on)",
        span.start,
        span.end.max(span.start + 1) - 1,
        s.spans.len() - 1,
        first + 1,
    );
    transcript::note(&s.template.config.printer, &text);
}

/// How a split download is laid out over the file.
struct Layout {
    total: u64,
    validator: String,
    /// To fetch; the first is the first connection's.
    spans: Vec<Span>,
    /// Complete before this run (`-C`), `first..=last`.
    kept: Vec<(u64, u64)>,
}

/// The spans to fetch: all of a 200's body, or with `-C` what the part
/// lacks, after a 206 that continues it. `Err`: why not.
fn layout(
    first: &plan::First<'_>,
    head: &ResponseHead,
    partial: Option<&Partial>,
    segments: &Segments,
) -> std::result::Result<Layout, &'static str> {
    let (count, min) = (segments.count, segments.min);
    let (Some(partial), 206) = (partial, first.status) else {
        return match plan::fit(first, count, min) {
            Fit::Split { total, validator } => Ok(Layout {
                total,
                spans: plan::split(total, count, min),
                validator,
                kept: Vec::new(),
            }),
            Fit::Single(why) => Err(why),
        };
    };
    let range = head.header("content-range").and_then(parse_content_range);
    let Some(ContentRange::Bytes {
        total: Some(total), ..
    }) = range
    else {
        return Err("the 206 names no complete length");
    };
    let validator = match (first.etag, &partial.validator) {
        (Some(tag), Some(kept)) if !tag.starts_with("W/") && tag == kept => tag.to_string(),
        _ => return Err("the part's validator is no strong ETag"),
    };
    let done = match &partial.segmented {
        Some(s) if s.total != total => return Err("the part's length differs"),
        Some(s) => s.done.clone(),
        None => Vec::new(),
    };
    let mut kept = done.clone();
    if partial.have > 0 {
        kept.push((0, partial.have - 1));
    }
    Ok(Layout {
        total,
        validator,
        spans: plan::resume_spans(partial.have, total, &done, count, min),
        kept,
    })
}

/// The facts [`plan::fit`] needs from a first head.
fn first_facts(head: &ResponseHead, decoded: bool) -> plan::First<'_> {
    let text = |name| {
        head.header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
    };
    plan::First {
        status: head.status,
        ranges: text("accept-ranges")
            .is_some_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes"))),
        length: text("content-length")
            .and_then(|v| v.parse().ok())
            .filter(|_| head.header("transfer-encoding").is_none()),
        decoded,
        etag: text("etag"),
        last_modified: head.header("last-modified").is_some(),
    }
}

/// The one stderr line of a fallback.
fn note(job: &Job, why: &str) {
    if !job.config.summary {
        return;
    }
    let line = format!(
        "wirecat: --segments: one connection for {}: {why}",
        job.url()
    );
    match &job.config.board {
        Some(b) => b.println(&line),
        None => eprintln!("{line}"),
    }
}

/// A job for span `index`: the first job's URL (after its redirects),
/// method GET, its header edits; no redirects, no `-C`.
fn piece(split: &Shared, index: usize) -> Job {
    let s = split.borrow();
    let t = &s.template;
    let mut job = Job::new(t.config.clone(), t.target.url.clone(), t.started)
        .expect("the first job's URL was taken");
    job.target = t.target.clone();
    job.edits = t.edits.clone();
    job.method = "GET".into();
    job.body = None;
    job.outlet = Box::new(outlet::Piece {
        split: split.clone(),
        index,
    });
    job.segment = Some(state::Role::Piece(split.clone(), index));
    job
}

/// A piece's `Range` and `If-Range`: the rest of its span, as it stands
/// when the request is sent (a retry continues where it stopped). Every
/// request of a split goes over a new connection, numbered here for `-v`
/// (before a TLS handshake shows its facts).
pub fn range_edits(job: &Job) -> Option<Vec<HeaderEdit>> {
    let (split, index) = match &job.segment {
        None => return None,
        Some(state::Role::Leader(split)) => {
            split.borrow_mut().new_connection(0);
            return None;
        }
        Some(state::Role::Piece(split, index)) => (split, index),
    };
    let mut split = split.borrow_mut();
    split.new_connection(*index);
    let span = split.spans[*index];
    let (first, last) = (span.at(), span.end.max(span.at() + 1) - 1);
    split.asked[*index] = Some((first, last));
    Some(vec![
        HeaderEdit {
            name: "Range".into(),
            value: Some(format!("bytes={first}-{last}").into_bytes()),
        },
        HeaderEdit {
            name: "If-Range".into(),
            value: Some(split.validator.clone().into_bytes()),
        },
    ])
}

/// A piece's final head: the exact 206 becomes a body to read, anything
/// else fails the whole download. `None` for any other job. `raw`: the
/// head as received, for `-v`.
pub fn head(job: &mut Job, response: &ResponseHead, raw: &[u8]) -> Option<Result<Applied>> {
    let Some(state::Role::Piece(split, index)) = &job.segment else {
        return None;
    };
    if response.is_interim() {
        job.outlet.passing_head(raw);
    } else {
        // A piece's outlet only shows it (-v); it cannot fail.
        let _ = job.outlet.final_head(raw);
    }
    if retry::is_transient_status(response.status) {
        // A 503 for one range is that range's failure, retried under
        // --retry (its Retry-After kept in the head) like any other.
        let e = Error::HttpStatus {
            status: response.status,
            reason: shown(Path::new(OsStr::from_bytes(&response.reason))),
            url: job.url().to_string(),
        };
        job.head = Some(response.clone());
        return Some(Err(e));
    }
    let verdict = {
        let s = split.borrow();
        match s.asked[*index] {
            Some((first, last)) => plan::judge(response, first, last, s.total, &s.validator),
            None => Verdict::Refuse("a range answered before it was asked".into()),
        }
    };
    Some(match verdict {
        Verdict::Interim => Ok(Applied::Interim),
        Verdict::Refuse(why) => {
            let e = Error::Protocol(format!("{}: {why}", job.url()));
            split.borrow_mut().fail(&e);
            Err(Error::Protocol(why))
        }
        Verdict::Take => take(response),
    })
}

fn take(response: &ResponseHead) -> Result<Applied> {
    let framing = response_framing("GET", response.status, &response.headers)
        .map_err(|e| Error::Protocol(format!("a range's framing: {e:?}")))?;
    let body = BodyPlan {
        framing,
        decode: Vec::new(),
        name: None,
        resume: None,
        keep_alive: false,
    };
    Ok(Applied::Body(Reading::new(&body, false)?))
}

/// A job of a split ended. The first job, its span whole, waits here for
/// the others; a piece's end may free its connection for a stolen span,
/// or complete the file. Returns the job and result the service is to
/// settle, if any: the first job once the file is whole or failed.
pub fn settle(
    job: Job,
    result: Result<Ending>,
    pool: &SharedPool,
) -> Option<(Job, Result<Ending>)> {
    let Some(role) = job.segment.clone() else {
        return Some((job, result));
    };
    let (split, index) = match role {
        state::Role::Leader(split) => (split, 0),
        state::Role::Piece(split, index) => (split, index),
    };
    let failed = split.borrow().failure();
    match (index, result, failed) {
        (0, _, Some(e)) => Some(failing(job, e)),
        (0, Ok(Ending::Complete), None) => {
            split.borrow_mut().parked = Some(job);
            after_span(&split, pool)
        }
        (0, result, _) => Some((job, result)),
        (_, _, Some(e)) => {
            let leader = split.borrow_mut().parked.take();
            leader.map(|leader| failing(leader, e))
        }
        (_, Ok(_), None) => after_span(&split, pool),
        (_, Err(e), None) => Some((job, Err(e))),
    }
}

/// The first job, failed with the split's first error (not retried: the
/// other ranges say the file cannot be trusted, or the time is up); no
/// longer part of the split.
fn failing(mut job: Job, e: Error) -> (Job, Result<Ending>) {
    job.cut = false;
    job.segment = None;
    // The split's error may be transient (a 503, a reset): with retries
    // left, the service would otherwise try the first job again as a
    // plain download. Its budget is spent, so the error stands.
    job.retries = job.retries.max(job.config.retry.retries);
    (job, Err(e))
}

/// A span is whole: the first job goes on when all are, else a stolen
/// span takes the freed connection.
fn after_span(split: &Shared, pool: &SharedPool) -> Option<(Job, Result<Ending>)> {
    let mut s = split.borrow_mut();
    if s.is_whole() {
        let leader = s.parked.take()?;
        return Some((leader, Ok(Ending::Complete)));
    }
    let (from, start, end) = plan::steal(&s.spans, s.min)?;
    s.spans[from].end = start;
    s.spans.push(Span::new(start, end));
    s.asked.push(None);
    s.labels.push(0);
    let index = s.spans.len() - 1;
    log::info!("segment {index} takes {start}..{end} from segment {from}");
    drop(s);
    pool.borrow_mut().push_front(piece(split, index));
    None
}

/// A job of a split failed for good (no retry left). A piece fails the
/// whole download: the parked first job, if any, is handed back with the
/// error. The first job goes on as a plain failure.
pub fn gave_up(mut job: Job, e: Error) -> Option<(Job, Error)> {
    match job.segment.take() {
        None => Some((job, e)),
        Some(state::Role::Leader(split)) => {
            split.borrow_mut().fail(&e);
            Some((job, e))
        }
        Some(state::Role::Piece(split, _)) => {
            let mut s = split.borrow_mut();
            s.fail(&e);
            let mut leader = s.parked.take()?;
            leader.segment = None;
            Some((leader, e))
        }
    }
}

/// The split `job` belongs to has failed: the job is to send nothing more
/// and end (its own result is then set aside for the split's error).
pub fn abandoned(job: &Job) -> bool {
    split_of(job).is_some_and(|s| s.borrow().failed.is_some())
}

/// The jobs of failed splits among `sleeping` (waiting for a retry) and
/// queued in `pool` end without sending anything: they go to the pool's
/// finished list, for the service to settle on its next tick.
pub fn end_abandoned<T>(sleeping: &mut Vec<(T, Job)>, pool: &SharedPool) {
    let (dead, alive): (Vec<_>, _) = std::mem::take(sleeping)
        .into_iter()
        .partition(|(_, j)| abandoned(j));
    *sleeping = alive;
    let queued: Vec<Job> = std::iter::from_fn(|| pool.borrow_mut().take_where(abandoned)).collect();
    let mut pool = pool.borrow_mut();
    for job in dead.into_iter().map(|(_, j)| j).chain(queued) {
        pool.finished(job, Err(Error::Interrupted));
    }
}

/// Whether the split a job had the `role` in failed since the service
/// last asked, so that it wakes the connections still in flight to end them.
pub fn newly_failed(role: &Role) -> bool {
    let mut s = split_in(role).borrow_mut();
    let new = s.failed.is_some() && !s.told;
    s.told |= new;
    new
}

fn split_of(job: &Job) -> Option<&Shared> {
    job.segment.as_ref().map(split_in)
}

fn split_in(role: &Role) -> &Shared {
    match role {
        state::Role::Leader(split) | state::Role::Piece(split, _) => split,
    }
}

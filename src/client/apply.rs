//! A [`Plan`] carried out on a job: the heads shown, the head kept for the
//! service (a redirect's Location, `headers`' status), the `-J` name
//! taken, the body's target opened in the job's outlet. The decisions are
//! the plan's ([`super::plan`]); the waiting for bytes is the session's.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::config::Mode;
use super::ending::Ending;
use super::inspect::HopRecord;
use super::job::Job;
use super::outlet::BodyTarget;
use super::output::{Continue, Destination};
use super::partial::{parse_content_range, validator_of, BodyFacts, ContentRange};
use super::plan::{Ask, BodyPlan, Plan, Resume};
use super::reading::Reading;
use super::retry;
use crate::error::{shown, Error, Result};
use crate::http::body::Framing;
use crate::http::response::ResponseHead;

/// Where applying a plan leaves the exchange.
#[derive(Debug)]
pub enum Applied {
    /// An interim head was shown; the final one is still to come.
    Interim,
    /// A body to read.
    Body(Reading),
    /// The exchange is over.
    Done(Result<Ending>),
}

/// What the job asks, as the plan needs it.
pub fn ask(job: &Job) -> Ask<'_> {
    let config = &job.config;
    Ask {
        method: &job.method,
        mode: config.mode,
        follow: config.follow,
        fail: config.fail,
        decode: config.web.compressed && !config.web.raw_body,
        remote_name: config.web.remote_name || job.nameless,
        partial: job.partial.as_ref(),
        carry: job.carry.as_ref(),
    }
}

/// `--retry`: a final transient status (503 and the like) with retries
/// left ends the attempt, even with `--save-errors` (the body of a 503 is
/// not the download); the head is kept for its Retry-After. Any other
/// head is handed back for the plan.
pub fn unless_retried(job: &mut Job, response: ResponseHead, raw: &[u8]) -> Result<ResponseHead> {
    let retried = !response.is_interim()
        && retry::is_transient_status(response.status)
        && job.retries < job.config.retry.retries
        && job.config.mode == Mode::Fetch;
    if !retried {
        return Ok(response);
    }
    job.outlet.passing_head(raw);
    let reason = shown(Path::new(OsStr::from_bytes(&response.reason)));
    let status = response.status;
    job.head = Some(response);
    Err(Error::HttpStatus {
        status,
        reason,
        url: job.url().to_string(),
    })
}

/// Carries out `plan` for the head `response` (`raw`: its bytes, for
/// showing). `asked_keep_alive`: the request left the connection open.
pub fn apply(
    job: &mut Job,
    plan: Plan,
    response: ResponseHead,
    raw: &[u8],
    asked_keep_alive: bool,
) -> Result<Applied> {
    if !response.is_interim() {
        let hop = HopRecord::new(job.url(), job.peer, &response);
        job.hops.push(hop);
    }
    let outlet = &mut *job.outlet;
    match plan {
        Plan::Interim => {
            outlet.passing_head(raw);
            Ok(Applied::Interim)
        }
        Plan::SwitchRefused => Err(Error::Protocol(
            "the server switched protocols (101) without being asked".into(),
        )),
        Plan::Redirect { .. } => {
            outlet.passing_head(raw);
            job.head = Some(response);
            Ok(Applied::Done(Ok(Ending::Redirect)))
        }
        Plan::Fail { status } => {
            outlet.final_head(raw)?;
            let url = job.url().to_string();
            let reason = shown(Path::new(OsStr::from_bytes(&response.reason)));
            Err(Error::HttpStatus {
                status,
                reason,
                url,
            })
        }
        Plan::HeadersOnly => {
            job.head = Some(response);
            outlet.final_head(raw)?;
            Ok(Applied::Done(Ok(Ending::Complete)))
        }
        Plan::AlreadyComplete { name } => already_complete(job, name, response, raw),
        Plan::Body(body) => start_body(job, body, asked_keep_alive, response, raw),
    }
}

/// `-C` and the part is the whole: it is opened, to be put in place.
fn already_complete(
    job: &mut Job,
    name: Option<String>,
    response: ResponseHead,
    raw: &[u8],
) -> Result<Applied> {
    take_name(job, name, response.status);
    let validator = validator_of(&response);
    job.head = Some(response);
    open(job, Some(Continue::Complete), validator.as_deref())?;
    // The 416's own body (if any) is not ours to read, and the connection
    // is not kept for it.
    job.outlet.final_head(raw).ok();
    Ok(Applied::Done(Ok(Ending::Complete)))
}

/// A body to keep: opens its target, then shows the head, so whoever
/// sees the head knows the download is under way.
fn start_body(
    job: &mut Job,
    body: BodyPlan,
    asked_keep_alive: bool,
    response: ResponseHead,
    raw: &[u8],
) -> Result<Applied> {
    debug_assert_eq!(job.config.mode, Mode::Fetch);
    let reading = Reading::new(&body, asked_keep_alive)?;
    take_name(job, body.name.clone(), response.status);
    let validator = validator_of(&response);
    job.facts = Some(facts(&body, &response, validator.clone()));
    job.head = Some(response);
    let how = body.resume.map(|r| match r {
        Resume::Fresh => Continue::Fresh,
        Resume::Append => Continue::Append,
    });
    open(job, how, validator.as_deref())?;
    // The head on stdout is a courtesy here; a reader that went away
    // (`| head -3`) must not cost the download.
    if let Err(e) = job.outlet.final_head(raw) {
        log::debug!("could not show the head: {e}");
    }
    job.outlet.progress(0, reading.expected());
    Ok(Applied::Body(reading))
}

/// What this body says about continuing it: its validator, and the
/// representation's length (a 206's Content-Range total, else the length
/// of an undecoded 200).
fn facts(body: &BodyPlan, response: &ResponseHead, validator: Option<String>) -> BodyFacts {
    let total = match response.status {
        206 => match response
            .header("content-range")
            .and_then(parse_content_range)
        {
            Some(ContentRange::Bytes { total, .. }) => total,
            _ => None,
        },
        _ => match body.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        },
    };
    BodyFacts {
        validator,
        total,
        decoded: !body.decode.is_empty(),
    }
}

/// `-J`: the Content-Disposition name, sanitised by the plan, replaces
/// the name derived from the URL (an explicit `-o` stays). It is still
/// never allowed to overwrite: the derived-name rule adds `.1`, `.2`...
/// Without `-J` a server never names a file (curl and wget ask for an
/// opt-in too: a hostile one could pick `Makefile`), but when the URL
/// named none (`/dir/?download=zip` saves as `index.html`) one line says
/// what the server names it.
fn take_name(job: &mut Job, name: Option<String>, status: u16) {
    let Destination::Derived { name: derived, .. } = &mut job.destination else {
        return;
    };
    match name {
        Some(safe) if job.config.web.remote_name => {
            log::info!("Content-Disposition names the file {safe:?}");
            *derived = safe;
        }
        // Once, for the download itself: not for an error body kept with
        // --save-errors, nor again when a retry starts the body over.
        Some(safe)
            if job.nameless
                && job.config.summary
                && (200..300).contains(&status)
                && job.facts.is_none() =>
        {
            // Not "saved as": the never-overwrite rule may still add `.1`.
            let line = format!("wirecat: the server names this file {safe} (-J saves it so)");
            match &job.config.board {
                Some(b) => b.println(&line),
                None => eprintln!("{line}"),
            }
        }
        None if job.config.web.remote_name => {
            log::info!("no usable Content-Disposition name; keeping {derived:?}")
        }
        _ => {}
    }
}

/// Opens the body's target in the outlet: the destination, or with `-C`
/// (`how`) its part file.
fn open(job: &mut Job, how: Option<Continue>, validator: Option<&str>) -> Result<()> {
    let part = job
        .partial
        .as_ref()
        .zip(how)
        .map(|(p, h)| (p, h, validator));
    let keep = job.carry.is_some() && how == Some(Continue::Append);
    let target = BodyTarget {
        destination: &job.destination,
        part,
        keep,
    };
    job.outlet.open(target)
}

//! `fetch` and `headers`: an HTTP/1.1 client over the event loop. This file
//! turns the flags into a [`config::ClientConfig`] and runs the jobs; the rest
//! is split by concern:
//!
//! - [`config`]: the resolved settings, plain values ([`config::ClientConfig`],
//!   [`config::WebConfig`]).
//! - [`target`]: URL -> host, port, `Host` and request-target; resolution.
//! - [`proxy`]: which proxy a URL goes through; the CONNECT exchange.
//! - [`conn`]: one connection's layers: CONNECT tunnel, TLS, HTTP session.
//! - [`request`]: the request bytes.
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
//! - [`partial`]: `-C` part files, their validators, Content-Range.
//! - [`redirect`], [`output`], [`progress`], [`headers`]: the policies and
//!   the printing, each pure or behind `impl Write`.

pub mod apply;
pub mod config;
pub mod conn;
pub mod ending;
pub mod headers;
pub mod job;
pub mod outlet;
pub mod output;
pub mod partial;
pub mod plan;
pub mod pool;
pub mod progress;
pub mod proxy;
pub mod reading;
pub mod redirect;
pub mod request;
pub mod service;
pub mod session;
pub mod target;

use std::io::{IsTerminal, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::{seconds, FetchArgs, HeadersArgs, RequestArgs};
use crate::error::{Error, Result};
use crate::event_loop::{EventLoop, LoopConfig, Shutdown};
use config::{ClientConfig, Mode, WebConfig, NO_LIMIT};
use headers::{HeadOut, Printer, Style};
use job::Job;
use output::Destination;
use request::{Body, HeaderEdit};
use service::FetchService;

pub fn fetch_command(args: FetchArgs, verbose: u8) -> Result<()> {
    let urls = fetch_urls(&args)?;
    let config = fetch_config(&args, verbose, urls.len())?;
    run(config, urls, args.parallel)
}

pub fn headers_command(args: HeadersArgs, verbose: u8) -> Result<()> {
    let url = target::parse_url(&args.url)?;
    let config = headers_config(&args, verbose)?;
    run(config, vec![url], 1)
}

/// The URLs on the command line, then those of `-i FILE`. All are checked
/// before anything is fetched, so a typo on line 900 costs no downloads.
fn fetch_urls(args: &FetchArgs) -> Result<Vec<url::Url>> {
    let mut typed: Vec<String> = args.urls.clone();
    if let Some(file) = &args.input_file {
        let text = if file == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("reading URLs from stdin", e))?;
            s
        } else {
            std::fs::read_to_string(file).map_err(|e| Error::file(file, e))?
        };
        typed.extend(url_lines(&text).map(str::to_string));
    }
    if typed.is_empty() {
        return Err(Error::Usage("fetch: no URL given".into()));
    }
    if typed.len() > 1 && args.output.is_some() {
        return Err(Error::Usage(
            "fetch: -o names one file; with several URLs each gets a name of its own".into(),
        ));
    }
    if args.parallel == 0 {
        return Err(Error::Usage("fetch: -P must be at least 1".into()));
    }
    typed.iter().map(|u| target::parse_url(u)).collect()
}

/// The URLs of an input file: one a line, blank lines and `#` comments skipped.
fn url_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn fetch_config(args: &FetchArgs, verbose: u8, files: usize) -> Result<ClientConfig> {
    let many = files > 1;
    let body = match (&args.data, &args.data_binary) {
        (Some(d), _) => Some(Body::Bytes(Rc::from(d.as_bytes()))),
        (None, Some(spec)) => Some(data_binary(spec)?),
        (None, None) => None,
    };
    let default_method = if body.is_some() { "POST" } else { "GET" };
    let destination = match &args.output {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Destination::Stdout),
        Some(p) => Some(Destination::Exact(p.clone())),
    };
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    let final_head = match (&destination, args.quiet) {
        (_, true) => HeadOut::Nowhere,
        // The body owns stdout; the head is only shown with -v, on stderr.
        (Some(Destination::Stdout), _) if verbose > 0 => {
            HeadOut::Stderr(Style::prefixed("< ", stderr_tty))
        }
        (Some(Destination::Stdout), _) => HeadOut::Nowhere,
        // Many heads interleaved on stdout would help nobody; the summary
        // lines say what happened (-v still shows each exchange on stderr).
        _ if many => HeadOut::Nowhere,
        _ => {
            HeadOut::Stdout(Style::plain(stdout_tty).colored_if(stdout_tty, no_color().as_deref()))
        }
    };
    let mut config = common_config(&args.request, default_method)?;
    config.mode = Mode::Fetch;
    config.body = body;
    config.follow = !args.no_follow;
    config.fail = args.fail;
    config.destination = destination;
    config.printer = Printer {
        verbose: verbose > 0 && !args.quiet,
        escape_stderr: stderr_tty,
        final_head,
    };
    config.progress = !args.quiet && !args.no_progress && stderr_tty;
    config.summary = !args.quiet;
    config.resume = args.resume;
    if many && config.progress {
        config.board = Some(progress::Board::new(files));
    }
    config.web.compressed = args.compressed;
    config.web.raw_body = args.raw_body;
    config.web.remote_name = args.remote_name;
    Ok(config)
}

fn headers_config(args: &HeadersArgs, verbose: u8) -> Result<ClientConfig> {
    let stdout_tty = std::io::stdout().is_terminal();
    let default_method = if args.get { "GET" } else { "HEAD" };
    let mut config = common_config(&args.request, default_method)?;
    config.follow = args.location;
    config.timing = args.timing;
    config.printer = Printer {
        verbose: verbose > 0,
        escape_stderr: std::io::stderr().is_terminal(),
        final_head: HeadOut::Stdout(Style {
            raw: args.raw,
            ..Style::plain(stdout_tty).colored_if(stdout_tty, no_color().as_deref())
        }),
    };
    Ok(config)
}

/// `NO_COLOR` as set in the environment.
fn no_color() -> Option<std::ffi::OsString> {
    std::env::var_os("NO_COLOR")
}

/// The request and timing flags both commands share.
fn common_config(req: &RequestArgs, default_method: &str) -> Result<ClientConfig> {
    let web = WebConfig::from_flags(req)?;
    let method = match &req.method {
        Some(m) => request::check_method(m)?,
        None => default_method.to_string(),
    };
    let edits = req
        .headers
        .iter()
        .map(|h| HeaderEdit::parse(h))
        .collect::<Result<Vec<_>>>()?;
    Ok(ClientConfig {
        edits,
        max_redirs: req.max_redirs,
        connect_timeout: seconds(req.connect_timeout, "--connect-timeout")?.unwrap_or(NO_LIMIT),
        read_timeout: seconds(req.read_timeout, "--read-timeout")?,
        max_time: seconds(req.max_time, "--max-time")?,
        ..ClientConfig::new(method, web)
    })
}

/// `--data-binary`: "@FILE" sends the file (with sendfile), "@-" stdin,
/// anything else the text itself.
fn data_binary(spec: &str) -> Result<Body> {
    match spec.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Error::io("reading the body from stdin", e))?;
            Ok(Body::Bytes(Rc::from(buf)))
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| Error::file(path, e))?;
            let meta = file.metadata().map_err(|e| Error::file(path, e))?;
            if !meta.is_file() {
                return Err(Error::Usage(format!(
                    "--data-binary @{}: not a regular file",
                    crate::error::shown(std::path::Path::new(path))
                )));
            }
            Ok(Body::File {
                file: Arc::new(file),
                len: meta.len(),
            })
        }
        None => Ok(Body::Bytes(Rc::from(spec.as_bytes()))),
    }
}

/// Runs the jobs on one event loop until each is saved or failed, or
/// Ctrl-C stops them (temporary files are then removed as jobs drop).
fn run(config: ClientConfig, urls: Vec<url::Url>, parallel: usize) -> Result<()> {
    let now = Instant::now();
    let connect_timeout = config
        .max_time
        .map_or(config.connect_timeout, |m| m.min(config.connect_timeout));
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
    };
    let mut event_loop =
        EventLoop::new(loop_config, shutdown.clone()).map_err(|e| Error::io("event loop", e))?;
    let mut service = FetchService::new(jobs, parallel, shutdown);
    event_loop
        .run(&mut service)
        .map_err(|e| Error::io("event loop", e))?;
    service.into_result(quiet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_files_skip_blanks_and_comments() {
        let text = "# mirror list\nhttp://a/1\n\n   \n  http://a/2  \r\n#http://a/3\n";
        let got: Vec<&str> = url_lines(text).collect();
        assert_eq!(got, ["http://a/1", "http://a/2"]);
    }
}

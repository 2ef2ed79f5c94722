//! `fetch` and `headers` flags resolved into the client's plain [`Run`]:
//! the URLs (with `-i FILE`), the request, the outputs, what is printed
//! where, TLS and proxies. The client itself never sees a clap type.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use super::{seconds, FetchArgs, HeadersArgs, RequestArgs};
use crate::client::config::{ClientConfig, Mode, WebConfig, NO_LIMIT};
use crate::client::headers::{HeadOut, Printer, Style};
use crate::client::output::Destination;
use crate::client::progress::Board;
use crate::client::proxy::ProxyConfig;
use crate::client::request::{check_method, Body, HeaderEdit};
use crate::client::target::parse_url;
use crate::client::Run;
use crate::error::{shown, Error, Result};

/// `fetch URL...`: every URL checked, then the config.
pub fn fetch_run(args: &FetchArgs, verbose: u8) -> Result<Run> {
    let urls = fetch_urls(args)?;
    let config = fetch_config(args, verbose, urls.len())?;
    Ok(Run {
        config,
        urls,
        parallel: args.parallel,
    })
}

/// `headers URL`: one URL, one connection.
pub fn headers_run(args: &HeadersArgs, verbose: u8) -> Result<Run> {
    let url = parse_url(&args.url)?;
    Ok(Run {
        config: headers_config(args, verbose)?,
        urls: vec![url],
        parallel: 1,
    })
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
    typed.iter().map(|u| parse_url(u)).collect()
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
        config.board = Some(Board::new(files));
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
    let web = web_config(req)?;
    let method = match &req.method {
        Some(m) => check_method(m)?,
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
                    shown(Path::new(path))
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

/// The TLS and proxy flags both commands share, with the proxy
/// environment; `fetch` sets its own flags on top.
fn web_config(req: &RequestArgs) -> Result<WebConfig> {
    if req.insecure {
        eprintln!("wirecat: warning: --insecure: TLS certificates are not verified");
    }
    Ok(WebConfig {
        tls: Some(crate::tls::client_config(
            req.cacert.as_deref(),
            req.insecure,
        )?),
        proxy: ProxyConfig::resolve(req.proxy.as_deref(), req.noproxy.as_deref(), |name| {
            std::env::var(name).ok()
        })?,
        ..WebConfig::default()
    })
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

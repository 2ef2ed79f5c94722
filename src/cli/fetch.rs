//! `fetch` and `headers` flags resolved into the client's plain [`Run`]:
//! the URLs (with `-i FILE`), the request, the outputs, what is printed
//! where, TLS and proxies. The client itself never sees a clap type.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use super::client_args::{FetchArgs, HeadersArgs, RequestArgs};
use super::seconds;
use crate::client::config::{ClientConfig, Mode, Segments, WebConfig, NO_LIMIT};
use crate::client::crawl::config::CrawlConfig;
use crate::client::headers::{HeadOut, Printer, Style};
use crate::client::output::Destination;
use crate::client::progress::Board;
use crate::client::proxy::ProxyConfig;
use crate::client::request::{check_method, Body, HeaderEdit};
use crate::client::retry::RetryConfig;
use crate::client::target::parse_url;
use crate::client::write_out::JsonOut;
use crate::client::Run;
use crate::error::{shown, Error, Result};

/// `fetch`: a crawl with `--page`, `-r` or `--mirror`, else the downloads.
pub fn fetch(args: &FetchArgs, verbose: u8) -> Result<()> {
    habits(args)?;
    if !(args.page || args.recursive || args.mirror) {
        return fetch_run(args, verbose).and_then(crate::client::run);
    }
    let (config, crawl) = crawl_run(args, verbose)?;
    // The one place the page parser is chosen.
    let documents = Box::new(crate::page::PageDocuments);
    crate::client::crawl::run(config, crawl, documents)
}

/// `--page`, `-r`, `--mirror`: one URL, saved under `--output-dir`.
fn crawl_run(args: &FetchArgs, verbose: u8) -> Result<(ClientConfig, CrawlConfig)> {
    let refuse = |what: &str| Err(Error::Usage(format!("fetch --page/-r: {what}")));
    if args.urls.len() != 1 || args.input_file.is_some() {
        return refuse("give one URL to start from");
    }
    if args.request.write_out.is_some() || args.json_meta.is_some() {
        return refuse("-w and --json-meta report single downloads, not a crawl");
    }
    if args.output.is_some() || args.resume || args.remote_name || args.range.is_some() {
        return refuse(
            "files are named from their URLs under --output-dir (not -o, -C, -J, --range)",
        );
    }
    if args.parallel == 0 {
        return Err(Error::Usage("fetch: -P must be at least 1".into()));
    }
    let start = parse_url(&args.urls[0])?;
    let depth = match args.level.as_str() {
        _ if args.mirror => None,
        "inf" | "0" => None,
        n => Some(
            n.parse::<u32>()
                .map_err(|_| Error::Usage(format!("-l {n:?}: give a number of levels or inf")))?,
        ),
    };
    let mut config = fetch_config(args, verbose, 1)?;
    config.printer.final_head = HeadOut::Nowhere;
    // The crawl's summary line says it all; on a terminal the board
    // counts the files as the crawl finds them.
    config.summary = false;
    // Many small GETs to few origins: one request ahead on each connection.
    config.pipeline = true;
    if config.progress {
        config.board = Some(Board::new(0));
    }
    let crawl = CrawlConfig {
        start,
        out_dir: args.output_dir.clone(),
        requisites: args.page,
        recursive: args.recursive || args.mirror,
        depth,
        accept: args.accept.clone(),
        reject: args.reject.clone(),
        max_files: args.max_files,
        robots: !args.no_robots,
        mirror: args.mirror,
        max_page_size: size(&args.max_page_size, "--max-page-size")?,
        parallel: args.parallel,
        per_host: 6,
        quiet: args.quiet,
    };
    Ok((config, crawl))
}

/// "50M" as bytes: K, M, G are KiB, MiB, GiB.
fn size(spec: &str, flag: &str) -> Result<u64> {
    let (digits, unit) = match spec.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => spec.split_at(at),
        None => (spec, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KIB" => 10,
        "M" | "MIB" => 20,
        "G" | "GIB" => 30,
        _ => 64,
    };
    match digits.parse::<u64>() {
        Ok(n) if shift < 64 => n
            .checked_mul(1 << shift)
            .ok_or_else(|| Error::Usage(format!("{flag} {spec}: too large"))),
        _ => Err(Error::Usage(format!(
            "{flag} {spec:?}: give bytes, or a number with K, M or G"
        ))),
    }
}

/// `fetch URL...`: curl's and wget's spellings checked, every URL
/// checked, then the config.
pub fn fetch_run(args: &FetchArgs, verbose: u8) -> Result<Run> {
    let urls = fetch_urls(args)?;
    let mut config = fetch_config(args, verbose, urls.len())?;
    let json = super::inspect::json_meta(args.json_meta.as_ref());
    config.report = super::inspect::report(&args.request, json)?;
    config.segments = Segments {
        count: args.segments.max(1),
        min: size(&args.segment_min, "--segment-min")?.max(1),
    };
    let parallel = match urls.len() {
        1 => args.parallel.max(config.segments.count),
        _ => args.parallel,
    };
    Ok(Run {
        config,
        urls,
        parallel,
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

/// The flags of curl and wget that mean something else here: refused with
/// the one line that says what to type, before any URL is looked at.
fn habits(args: &FetchArgs) -> Result<()> {
    // curl's `-r 0-99`: with -r a flag, the range arrives as the first
    // URL; it is caught here, before anything could look it up.
    if args.recursive {
        if let Some(range) = args.urls.first().and_then(|u| range_header(u).map(|_| u)) {
            return Err(Error::Usage(format!(
                "fetch -r is wget's recursive download; for bytes {range} use --range {range}"
            )));
        }
    }
    if args.head {
        return Err(Error::Usage(
            "fetch -I: fetch saves bodies; for the head alone use `wirecat headers URL`".into(),
        ));
    }
    // wget's "-O FILE URL": the file would be taken for a host.
    let schemeless = |u: &String| !u.contains("://");
    if args.remote_name_url
        && args.urls.len() > 1
        && args.urls.first().is_some_and(schemeless)
        && !args.urls.iter().all(schemeless)
    {
        return Err(Error::Usage(format!(
            "fetch -O saves under the URL's name (curl's -O); to name the file use -o {}",
            args.urls[0]
        )));
    }
    if args.range.is_some() && args.resume {
        return Err(Error::Usage(
            "fetch: --range and -C both choose the bytes to ask for; use one".into(),
        ));
    }
    Ok(())
}

/// `--range A-B` as a Range header value: "A-B", "A-" or "-N" in bytes.
fn range_header(spec: &str) -> Option<String> {
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (number(first), number(last)) {
        (Some(a), Some(b)) if a <= b => {}
        (Some(_), None) if last.is_empty() => {}
        (None, Some(_)) if first.is_empty() => {}
        _ => return None,
    }
    Some(format!("bytes={spec}"))
}

/// The URLs on the command line, then those of `-i FILE`. All are checked
/// before anything is fetched, so a typo on line 900 costs no downloads.
/// curl's `-C -` leaves a "-" among them: with `-C` it is dropped.
fn fetch_urls(args: &FetchArgs) -> Result<Vec<url::Url>> {
    let mut typed: Vec<String> = args.urls.clone();
    if args.resume {
        typed.retain(|u| u != "-");
    }
    if let Some(file) = &args.input_file {
        let text = if file == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("reading URLs from stdin", e))?;
            s
        } else {
            std::fs::read_to_string(file).map_err(|e| input_file_error(file, e))?
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
    let mut urls = typed
        .iter()
        .map(|u| parse_url(u))
        .collect::<Result<Vec<_>>>()?;
    if let Some(file) = &args.upload_file {
        urls.iter_mut()
            .for_each(|u| upload_target(u, Path::new(file)));
    }
    Ok(urls)
}

/// curl's `-T FILE URL/`: a URL ending in "/" gets the file's name.
fn upload_target(url: &mut url::Url, file: &Path) {
    let (Some(name), true) = (file.file_name(), url.path().ends_with('/')) else {
        return;
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(&name.to_string_lossy());
    }
}

/// `-i FILE` unreadable: curl's `-i URL` ("include the head") gets a hint
/// rather than "No such file or directory".
fn input_file_error(file: &str, e: std::io::Error) -> Error {
    let lower = file.to_ascii_lowercase();
    let url_like = lower.starts_with("http:") || lower.starts_with("https:");
    if url_like && e.kind() == std::io::ErrorKind::NotFound {
        return Error::Usage(
            "-i reads URLs from a FILE (wget's -i); to see the head use `wirecat headers URL` or -v"
                .into(),
        );
    }
    Error::file(file, e)
}

/// The URLs of an input file: one a line, blank lines and `#` comments skipped.
fn url_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn fetch_config(args: &FetchArgs, verbose: u8, files: usize) -> Result<ClientConfig> {
    let many = files > 1;
    let body = match (&args.data, &args.data_binary, &args.upload_file) {
        (Some(d), _, _) => Some(Body::Bytes(Rc::from(d.as_bytes()))),
        (None, Some(spec), _) => Some(data_binary(spec)?),
        (None, None, Some(file)) => Some(data_binary(&format!("@{file}"))?),
        (None, None, None) => None,
    };
    let default_method = match (&body, &args.upload_file) {
        (Some(_), Some(_)) => "PUT",
        (Some(_), None) => "POST",
        (None, _) => "GET",
    };
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
    // -H comes last, so it overrides what these flags set.
    config.edits.splice(0..0, fetch_edits(args)?);
    config.mode = Mode::Fetch;
    config.body = body;
    config.follow = !args.no_follow;
    // A 4xx or 5xx body is not saved as a download unless asked for.
    config.fail = !args.save_errors;
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
    (config.retry, config.limit_rate) = retry_and_rate(args)?;
    Ok(config)
}

/// `--retry N`, `--retry-max-delay SECS` (0: no cap) and `--limit-rate
/// RATE` (0: no limit).
fn retry_and_rate(args: &FetchArgs) -> Result<(RetryConfig, Option<u64>)> {
    let retry = RetryConfig {
        retries: args.retry,
        max_delay: seconds(args.retry_max_delay, "--retry-max-delay")?.unwrap_or(NO_LIMIT),
    };
    let rate = match &args.limit_rate {
        Some(rate) => Some(size(rate, "--limit-rate")?).filter(|&n| n > 0),
        None => None,
    };
    Ok((retry, rate))
}

/// The header edits of `fetch`'s own flags: `-T` sends no form type,
/// `--range` its Range.
fn fetch_edits(args: &FetchArgs) -> Result<Vec<HeaderEdit>> {
    let mut edits = Vec::new();
    if args.upload_file.is_some() {
        // Like curl's -T: a file, not a form.
        edits.push(HeaderEdit::parse("Content-Type:")?);
    }
    if let Some(spec) = &args.range {
        let value = range_header(spec).ok_or_else(|| {
            Error::Usage(format!("--range {spec:?}: give bytes as A-B, A- or -N"))
        })?;
        edits.push(HeaderEdit::parse(&format!("Range: {value}"))?);
    }
    Ok(edits)
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
    if args.json {
        // The document replaces the head on stdout.
        config.printer.final_head = HeadOut::Nowhere;
    }
    config.report = super::inspect::report(&args.request, args.json.then_some(JsonOut::Stdout))?;
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
    let mut edits = habit_edits(req)?;
    for h in &req.headers {
        edits.push(HeaderEdit::parse(h)?);
    }
    Ok(ClientConfig {
        edits,
        max_redirs: req.max_redirs,
        connect_timeout: seconds(req.connect_timeout, "--connect-timeout")?.unwrap_or(NO_LIMIT),
        read_timeout: seconds(req.read_timeout, "--read-timeout")?,
        max_time: seconds(req.max_time, "--max-time")?,
        ..ClientConfig::new(method, web)
    })
}

/// `-u`, `-A` and `-e` as header edits, before `-H`'s so those win. The
/// Authorization of `-u` is an edit, so a redirect to another origin drops
/// it as it drops a `-H Authorization`.
fn habit_edits(req: &RequestArgs) -> Result<Vec<HeaderEdit>> {
    let mut edits = Vec::new();
    if let Some(user) = &req.user {
        if !user.contains(':') {
            return Err(Error::Usage(
                "-u: give USER:PASSWORD (wirecat does not prompt for the password)".into(),
            ));
        }
        edits.push(HeaderEdit::parse(&format!(
            "Authorization: {}",
            basic_auth(user.as_bytes())
        ))?);
    }
    if let Some(agent) = &req.user_agent {
        edits.push(HeaderEdit::parse(&format!("User-Agent: {agent}"))?);
    }
    if let Some(referer) = &req.referer {
        edits.push(HeaderEdit::parse(&format!("Referer: {referer}"))?);
    }
    Ok(edits)
}

/// `Basic` credentials (RFC 7617) for "user:password" as typed.
fn basic_auth(pair: &[u8]) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
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
        connect: super::inspect::connect_rules(req)?,
        ..WebConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        let cases = [
            ("50M", Some(50 << 20)),
            ("10", Some(10)),
            ("2k", Some(2048)),
            ("1G", Some(1 << 30)),
            ("x", None),
            ("5T", None),
            ("", None),
        ];
        for (spec, want) in cases {
            assert_eq!(size(spec, "--limit-rate").ok(), want, "{spec}");
        }
    }

    #[test]
    fn ranges_become_range_headers() {
        let cases = [
            ("0-99", Some("bytes=0-99")),
            ("100-", Some("bytes=100-")),
            ("-500", Some("bytes=-500")),
            ("5-5", Some("bytes=5-5")),
            ("9-5", None),
            ("-", None),
            ("a-b", None),
            ("0-99,200-", None),
            ("99", None),
            ("", None),
        ];
        for (spec, want) in cases {
            assert_eq!(range_header(spec).as_deref(), want, "{spec}");
        }
    }

    #[test]
    fn uploads_to_a_folder_url_take_the_files_name() {
        // (URL, file, the URL the PUT goes to)
        let cases = [
            ("http://h/up/", "dir/a b.txt", "http://h/up/a%20b.txt"),
            ("http://h/", "x", "http://h/x"),
            ("http://h/up/name", "x", "http://h/up/name"),
            ("http://h/up/?q=1", "x", "http://h/up/x?q=1"),
        ];
        for (url, file, want) in cases {
            let mut u = url::Url::parse(url).unwrap();
            upload_target(&mut u, Path::new(file));
            assert_eq!(u.as_str(), want, "{url} {file}");
        }
    }

    #[test]
    fn basic_auth_is_rfc_7617() {
        assert_eq!(
            basic_auth(b"Aladdin:open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn input_files_skip_blanks_and_comments() {
        let text = "# mirror list\nhttp://a/1\n\n   \n  http://a/2  \r\n#http://a/3\n";
        let got: Vec<&str> = url_lines(text).collect();
        assert_eq!(got, ["http://a/1", "http://a/2"]);
    }
}

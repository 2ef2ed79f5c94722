//! The command line: clap derive types, and their resolution into the plain
//! config values the library takes. Nothing here does network I/O.

pub mod fetch;
pub mod greet;
pub mod serve;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result, EXIT_CODES};

/// The end of every subcommand's help: the exit codes are listed once, in
/// `wirecat --help`.
macro_rules! see_exit_codes {
    () => {
        "Exit codes: see wirecat --help."
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "wirecat",
    version,
    about = "HTTP/1.1 and plain TCP straight over sockets",
    after_help = format!("{}\n{EXIT_CODES}", concat!(
        "Examples:\n",
        "  wirecat serve www                                    the demo site on http://127.0.0.1:8000/\n",
        "  wirecat fetch http://127.0.0.1:8000/files/notes.txt  saves notes.txt, prints the head\n",
        "  wirecat headers http://127.0.0.1:8000/style.css\n",
        "  wirecat talk 127.0.0.1:9999 Michael Tracy            (after wirecat greet)\n",
        "\n",
        "Each subcommand's --help has more, and says what -v adds there.\n",
    ))
)]
pub struct Cli {
    /// More output on stderr, repeatable: -v info logs, -vv debug, -vvv
    /// trace (RUST_LOG overrides the level). What -v adds depends on the
    /// subcommand: see the end of its --help.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download URLs over raw sockets and save the bodies to files.
    Fetch(FetchArgs),
    /// Show a response head exactly as it came off the wire.
    Headers(HeadersArgs),
    /// Serve a folder over HTTP/1.1.
    Serve(ServeArgs),
    /// Run the greeting server (TCP or UDP).
    Greet(GreetArgs),
    /// Talk to a line-based server: send lines, print replies.
    Talk(TalkArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// Options shared by `fetch` and `headers`: what to send and how long to wait.
#[derive(Debug, Args, Clone)]
pub struct RequestArgs {
    /// Request method (default GET for fetch, HEAD for headers).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Extra request header "Name: value"; repeatable; replaces a default of
    /// the same name. "Name:" with no value removes a default header.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Seconds allowed for each connect attempt.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,

    /// Seconds allowed for the whole transfer (0: no limit). Also bounds the
    /// wait for each read, so a server that stalls is reported.
    #[arg(
        short = 'm',
        long = "max-time",
        value_name = "SECS",
        default_value_t = 0.0
    )]
    pub max_time: f64,

    /// Seconds of silence from the server before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub read_timeout: f64,

    /// Most redirects to follow.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirs: u32,

    /// Extra PEM file of trusted certificate authorities (added to the
    /// built-in Mozilla roots). A certificate error exits with code 10.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Skip TLS certificate verification (a warning is printed on stderr).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Proxy URL (http://host:port, default port 1080) for http and https
    /// (through CONNECT); overrides http_proxy, https_proxy, HTTPS_PROXY.
    /// Upper-case HTTP_PROXY is ignored (httpoxy). "" turns proxies off.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Comma-separated hosts that bypass the proxy, subdomains included
    /// ("*" for all); overrides no_proxy / NO_PROXY.
    #[arg(long, value_name = "HOSTS")]
    pub noproxy: Option<String>,

    /// Basic auth "USER:PASSWORD" (as curl's -u); like credentials in the
    /// URL, not sent on after a redirect to another origin.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// User-Agent to send instead of wirecat's.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// Referer header to send.
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub referer: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples (against `wirecat serve www`):\n",
    "  wirecat fetch http://127.0.0.1:8000/                      saves index.html, prints the head\n",
    "  wirecat fetch -o page.html http://127.0.0.1:8000/         saves exactly there\n",
    "  wirecat fetch -o - http://127.0.0.1:8000/files/notes.txt  body to stdout\n",
    "  wirecat fetch -C http://127.0.0.1:8000/files/tone.wav     resumable (tone.wav.part)\n",
    "  wirecat fetch http://127.0.0.1:8000/style.css http://127.0.0.1:8000/logo.svg\n",
    "\n",
    "-v also prints the request sent, interim and redirect heads, and chunked trailers.\n",
    see_exit_codes!(),
))]
pub struct FetchArgs {
    /// URLs to download (http or https; without a scheme, http).
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Read more URLs from FILE, one per line ("-" for stdin), as wget's -i.
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input_file: Option<String>,

    /// Save the body to FILE (overwrites, like curl); "-" writes it to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub request: RequestArgs,

    /// Request body; sets Content-Length (and POST unless -X says otherwise).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_binary"
    )]
    pub data: Option<String>,

    /// Request body from a file with "@FILE", sent byte for byte.
    #[arg(long = "data-binary", value_name = "@FILE")]
    pub data_binary: Option<String>,

    /// Upload FILE with PUT (unless -X says otherwise), streamed as
    /// --data-binary @FILE sends it.
    #[arg(
        short = 'T',
        long = "upload-file",
        value_name = "FILE",
        conflicts_with_all = ["data", "data_binary"]
    )]
    pub upload_file: Option<String>,

    /// Ask for bytes A-B only ("Range: bytes=A-B", also "A-" or "-N"); the
    /// 206 body is saved. Not with -C.
    #[arg(long = "range", value_name = "A-B", allow_hyphen_values = true)]
    pub range: Option<String>,

    /// Reserved for a recursive download (wget's -r); curl's -r RANGE is --range.
    #[arg(short = 'r', value_name = "RANGE", num_args = 0..=1)]
    pub recursive: Option<Option<String>>,

    /// Do not follow redirects; stop at the first response.
    #[arg(long)]
    pub no_follow: bool,

    /// Accepted for curl's habit: fetch follows redirects by default.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Accepted for curl's habit: saving under the URL's name is the default
    /// (wget's "-O FILE" is -o FILE here).
    #[arg(short = 'O', long = "remote-name")]
    pub remote_name_url: bool,

    /// curl's HEAD request: answered with a pointer to `wirecat headers URL`,
    /// which shows the head.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// A final status of 400 or above is an error (exit 7, nothing saved):
    /// the default; accepted for curl's habit.
    #[arg(short, long, conflicts_with = "save_errors")]
    pub fail: bool,

    /// Save the body of a final status of 400 or above like any other (exit
    /// 0); by default it is not saved and the exit code is 7.
    #[arg(long, visible_alias = "no-fail")]
    pub save_errors: bool,

    /// Print nothing but errors.
    #[arg(short, long, visible_short_alias = 's', visible_alias = "silent")]
    pub quiet: bool,

    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,

    /// Resume a download interrupted earlier: the body goes to NAME.part
    /// (its ETag or Last-Modified to NAME.part.meta), kept on failure and
    /// continued with Range + If-Range by the next -C run. curl's "-C -"
    /// means the same.
    #[arg(short = 'C', long = "continue")]
    pub resume: bool,

    /// Name the file from the server's Content-Disposition header, made
    /// safe (no directories, no leading dot, no control characters) and
    /// never overwriting (.1, .2, ... as for names from the URL).
    #[arg(short = 'J', long = "remote-name-header")]
    pub remote_name: bool,

    /// Connections to run at once when several URLs are given (each carries
    /// further downloads from its origin while kept alive).
    #[arg(
        short = 'P',
        long = "parallel-max",
        value_name = "N",
        default_value_t = 8
    )]
    pub parallel: usize,

    /// Accepted for curl's habit: several URLs always download at once (-P
    /// sets how many).
    #[arg(short = 'Z', long = "parallel")]
    pub parallel_flag: bool,

    /// Ask for gzip, deflate or br and decode the body as it streams (at
    /// most 2 stacked codings; a decompression bomb is an error). Without
    /// it, Accept-Encoding: identity is sent and the body kept as sent.
    #[arg(long)]
    pub compressed: bool,

    /// With --compressed: save the body as it came, undecoded (also for
    /// codings wirecat cannot decode).
    #[arg(long)]
    pub raw_body: bool,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples (against `wirecat serve www`):\n",
    "  wirecat headers http://127.0.0.1:8000/          HEAD, head printed as received\n",
    "  wirecat headers --get --timing http://127.0.0.1:8000/\n",
    "  wirecat headers --raw http://127.0.0.1:8000/ | od -c\n",
    "  wirecat headers -v -L http://127.0.0.1:8000/files   the 301, then the folder\n",
    "\n",
    "-v also prints the request sent, every hop's head with -L, and for https\n",
    "the TLS version, cipher suite and certificate.\n",
    see_exit_codes!(),
))]
pub struct HeadersArgs {
    /// URL to ask.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Send GET instead of HEAD, and close once the head is read.
    #[arg(long)]
    pub get: bool,

    /// Write the head's exact bytes, CRLFs included, with no escaping.
    #[arg(long)]
    pub raw: bool,

    /// Follow redirects (each hop's head is shown with -v; without it only
    /// the final head is printed).
    #[arg(short = 'L', long)]
    pub location: bool,

    /// Print a timing breakdown: lookup, connect, TLS, first byte, total.
    #[arg(long)]
    pub timing: bool,

    /// Accepted for curl's habit: headers always asks for the head.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  wirecat serve www                 the demo site on http://127.0.0.1:8000/\n",
    "  wirecat serve -p 0 .              any free port; the URL is printed\n",
    "  wirecat serve -b 0.0.0.0 -p 8080 ~/share\n",
    "  wirecat serve -H 'Access-Control-Allow-Origin: *' dist\n",
    "\n",
    "-v logs on stderr the shutdown (signal, grace period over); -vv also each\n",
    "connection's trouble (a bad request, a slow head, a stalled client\n",
    "dropped, the connection limit). The access log goes to stdout (-q: none).\n",
    see_exit_codes!(),
))]
pub struct ServeArgs {
    /// Folder to serve (give the port with -p PORT).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Port to listen on (0 picks a free one).
    #[arg(short, long, default_value_t = 8000)]
    pub port: u16,

    // Help given as a string: rustdoc would read `[::]` in a doc comment as a link.
    #[arg(
        short,
        long,
        default_value = "127.0.0.1",
        help = "Address to bind: 127.0.0.1, 0.0.0.0, :: or [::] (dual-stack)"
    )]
    pub bind: String,

    /// Event loops (threads); default: one per core.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Answer 404 for folders without index.html instead of listing them.
    /// Listings sort by ?sort=name|size|time&order=asc|desc and come as JSON
    /// for Accept: application/json.
    #[arg(long)]
    pub no_listing: bool,

    /// Serve and list dotfiles.
    #[arg(long)]
    pub hidden: bool,

    /// Follow symlinks that point outside DIR.
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Header "Name: value" added to every response; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// No access log.
    #[arg(short, long)]
    pub quiet: bool,

    /// Seconds from a request's first byte to the end of its head.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub head_timeout: f64,

    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub idle_timeout: f64,

    /// Seconds a client may go without taking any of a response.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub send_timeout: f64,

    /// Seconds allowed after SIGINT/SIGTERM for responses in flight.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub grace: f64,

    /// Connections each event loop holds; more get a quick 503.
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    pub max_connections: usize,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  wirecat greet                     tcp://127.0.0.1:9999\n",
    "  wirecat greet --udp -p 0\n",
    "  wirecat -v greet -p 0 --threads 1   logs each connection\n",
    "\n",
    "-v logs on stderr \"accepted connection from IP:PORT\", \"connection from\n",
    "IP:PORT closed (N messages)\", idle and stalled clients closed, and over UDP\n",
    "the datagrams answered at exit; -vv also each datagram and socket error.\n",
    see_exit_codes!(),
))]
pub struct GreetArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(short, long, default_value_t = 9999)]
    pub port: u16,

    /// Address to bind.
    #[arg(short, long, default_value = "127.0.0.1")]
    pub bind: String,

    /// Answer datagrams instead of TCP connections.
    #[arg(long)]
    pub udp: bool,

    /// Seconds a silent TCP client may stay connected (0: forever).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// Seconds a TCP client may leave its replies unread before it is
    /// dropped (0: forever). Replies queued per client are capped either way.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub stall_timeout: f64,

    /// Longest line accepted, in bytes; a longer one is answered with an
    /// error and the connection closed.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub max_line: usize,

    /// Event loops (threads) for TCP; default: one per core.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  wirecat talk 127.0.0.1:9999 Michael Tracy Sarah\n",
    "  printf 'a\\nb\\n' | wirecat talk 127.0.0.1:9999\n",
    "  wirecat talk --udp 127.0.0.1:9999 hello\n",
    "  wirecat talk udp://127.0.0.1:9999 hello   (the server's own announcement)\n",
    "\n",
    "-v adds nothing for talk; -vv logs the connect attempts and, over UDP,\n",
    "datagrams from other addresses that are ignored.\n",
    see_exit_codes!(),
))]
pub struct TalkArgs {
    /// Server address, HOST:PORT.
    #[arg(value_name = "ADDR")]
    pub addr: String,

    /// Lines to send; with none, lines are read from stdin.
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,

    /// Use UDP datagrams.
    #[arg(long)]
    pub udp: bool,

    /// Seconds allowed for the connect.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub connect_timeout: f64,

    /// Seconds to wait for each reply (0: forever).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub reply_timeout: f64,

    /// Seconds to let a TCP server speak first (a welcome) before sending.
    #[arg(long, value_name = "SECS", default_value_t = 0.3)]
    pub greeting_wait: f64,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Example (bash):\n",
    "  mkdir -p ~/.local/share/bash-completion/completions\n",
    "  wirecat completions bash > ~/.local/share/bash-completion/completions/wirecat\n",
    "\n",
    see_exit_codes!(),
))]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// The longest timeout a flag gives: a century is "forever" to a person,
/// and unlike `1e30` seconds it still fits `Instant + Duration` everywhere.
const MAX_SECONDS: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

/// Turns a flag's seconds into a duration; 0 or less means "none", and
/// anything past a century is a century.
pub fn seconds(secs: f64, flag: &str) -> Result<Option<Duration>> {
    if !secs.is_finite() {
        return Err(Error::Usage(format!("{flag}: not a number of seconds")));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs.min(MAX_SECONDS))))
}

/// The address to listen on for `-b BIND -p PORT`: an IP literal
/// (`127.0.0.1`, `0.0.0.0`, `::`, with or without brackets) or a host name.
pub fn bind_addr(bind: &str, port: u16) -> Result<SocketAddr> {
    let host = bind
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or(bind);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            host: host.to_string(),
            source,
        })?
        .next()
        .ok_or_else(|| Error::Usage(format!("--bind {bind}: no address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bind_addresses() {
        let cases = [
            ("127.0.0.1", "127.0.0.1:80"),
            ("0.0.0.0", "0.0.0.0:80"),
            ("::", "[::]:80"),
            ("[::]", "[::]:80"),
            ("[::1]", "[::1]:80"),
            ("localhost", "127.0.0.1:80"),
        ];
        for (bind, want) in cases {
            assert_eq!(bind_addr(bind, 80).unwrap().to_string(), want, "{bind}");
        }
    }

    #[test]
    fn huge_seconds_are_a_century_not_a_panic() {
        let century = seconds(MAX_SECONDS, "--x").unwrap().unwrap();
        for huge in [1e19, 1e30, f64::MAX] {
            assert_eq!(seconds(huge, "--x").unwrap(), Some(century));
        }
        assert!(std::time::Instant::now().checked_add(century).is_some());
    }

    #[test]
    fn zero_seconds_means_no_limit() {
        assert_eq!(seconds(0.0, "x").unwrap(), None);
        assert_eq!(
            seconds(1.5, "x").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert!(seconds(f64::NAN, "x").is_err());
    }
}

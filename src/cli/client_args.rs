//! The flags of `fetch` and `headers` (and the request flags they share),
//! as clap derive types; `cli::fetch` resolves them into the client's config.

use std::path::PathBuf;

use clap::Args;

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

    /// After each transfer, print FORMAT on stdout with curl's variables:
    /// %{http_code} %{url_effective} %{size_download} %{speed_download}
    /// %{time_namelookup} %{time_connect} %{time_appconnect}
    /// %{time_starttransfer} %{time_total} %{num_redirects}
    /// %{num_connects} %{remote_ip} %{remote_port} %{content_type}
    /// %{filename_effective} %{json} %{header_json} %header{NAME}, and \n
    /// \t %%. Times are seconds from the start, redirects included; a
    /// download on a kept-alive connection took 0 to look up, connect and
    /// shake hands.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Connect to ADDR (comma list, IPv6 in brackets) for HOST:PORT, without
    /// asking the resolver; the URL's host still goes in Host, SNI and the
    /// certificate check (curl's flag). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Connect to HOST2:PORT2 instead of HOST:PORT (empty HOST or PORT
    /// matches any; empty HOST2 or PORT2 keeps the original); the URL is
    /// unchanged (curl's flag). Repeatable.
    #[arg(long = "connect-to", value_name = "HOST:PORT:HOST2:PORT2")]
    pub connect_to: Vec<String>,

    /// Connect to the Unix-domain socket at PATH instead of the network,
    /// for every request (redirects, every file of --page, -r and
    /// --mirror, and a proxy too: the socket then reaches the proxy);
    /// nothing is looked up. The URL's host still goes in Host, SNI and the
    /// certificate check. Wins over --resolve and --connect-to (curl's
    /// flag).
    #[arg(long = "unix-socket", value_name = "PATH")]
    pub unix_socket: Option<std::path::PathBuf>,

    /// Connect over IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Connect over IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples (against `wirecat serve www`):\n",
    "  wirecat fetch http://127.0.0.1:8000/                      saves index.html, prints the head\n",
    "  wirecat fetch -o page.html http://127.0.0.1:8000/         saves exactly there\n",
    "  wirecat fetch -o - http://127.0.0.1:8000/files/notes.txt  body to stdout\n",
    "  wirecat fetch -C http://127.0.0.1:8000/files/tone.wav     resumable (tone.wav.part)\n",
    "  wirecat fetch http://127.0.0.1:8000/style.css http://127.0.0.1:8000/logo.svg\n",
    "  wirecat fetch --page --output-dir saved http://127.0.0.1:8000/   page + requisites\n",
    "  wirecat fetch -r -l 2 --output-dir mirror http://127.0.0.1:8000/   2 links deep\n",
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

    /// Write a JSON document about each transfer to FILE (one line each;
    /// "-" for stdout): every hop's URL, address, status, headers as
    /// received, timings and TLS facts, and where the body went.
    #[arg(long = "json-meta", value_name = "FILE")]
    pub json_meta: Option<PathBuf>,

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

    /// Save the page and everything needed to show it offline (stylesheets
    /// and what they import, images, scripts, fonts, media, frames), on any
    /// host, with links rewritten to the local copies; prints the path to
    /// open. With -r: every page's requisites too.
    #[arg(long)]
    pub page: bool,

    /// Follow links recursively (wget's -r): same scheme, host and port,
    /// below the starting folder, to depth -l; robots.txt honoured. curl's
    /// "-r RANGE" is --range here.
    #[arg(short = 'r', long)]
    pub recursive: bool,

    /// -r -l inf, and revalidate what an earlier run saved in --output-dir
    /// (If-None-Match / If-Modified-Since; a 304 leaves the file alone).
    /// Validators are kept in DIR/.wirecat-mirror. (-m is --max-time.)
    #[arg(long)]
    pub mirror: bool,

    /// With -r: follow links this many levels deep ("inf": no limit).
    #[arg(short = 'l', long = "level", value_name = "N", default_value = "5")]
    pub level: String,

    /// With -r: follow only links whose file name matches GLOB (repeatable;
    /// folder URLs ending in "/" are always walked).
    #[arg(long, value_name = "GLOB")]
    pub accept: Vec<String>,

    /// With -r: never fetch links whose file name matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub reject: Vec<String>,

    /// With --page or -r: fetch at most N files, so a link trap ends.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_files: usize,

    /// With -r: ignore robots.txt (it is not even asked for).
    #[arg(long)]
    pub no_robots: bool,

    /// With --page or -r: a page larger than this is saved but not parsed
    /// (bytes; K, M, G suffixes are KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "50M")]
    pub max_page_size: String,

    /// With --page or -r: where the files go, as DIR/HOST_PORT/PATH (no _PORT for the default port).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,

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

    /// Try again up to N times after a transient failure (refused or reset
    /// connection, timeout, body cut short, status 408, 429, 500, 502, 503,
    /// 504), waiting 1 s, 2 s, 4 s... (+-25%) or what Retry-After asks. A
    /// body cut short continues with Range + If-Range when it has a validator.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry: u32,

    /// Longest wait between retries, Retry-After included (0: no cap).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub retry_max_delay: f64,

    /// Most body bytes per second, per download (K, M, G: KiB, MiB, GiB,
    /// as curl's).
    #[arg(long, value_name = "RATE")]
    pub limit_rate: Option<String>,

    /// Fetch one file over N connections at once, as N byte ranges written
    /// in place (aria2's -x), when the server allows ranges and sends a
    /// strong ETag; otherwise one connection, said on stderr. With one URL
    /// -P is raised to N; with several, segments count toward -P.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub segments: usize,

    /// The smallest range worth its own connection (tests split tiny files).
    #[arg(long, value_name = "BYTES", default_value = "1M", hide = true)]
    pub segment_min: String,
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

    /// Print one JSON document instead of the head: every hop's URL,
    /// address, status, headers as received, timings and TLS facts.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub request: RequestArgs,
}

//! The command line: clap derive types, and their resolution into the plain
//! config values the library takes. Nothing here does network I/O.

pub mod fetch;
pub mod greet;
mod inspect;
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

// After the macro, which its help texts use.
mod client_args;
pub use client_args::{FetchArgs, HeadersArgs, RequestArgs};

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
    Fetch(Box<FetchArgs>),
    /// Show a response head exactly as it came off the wire.
    Headers(HeadersArgs),
    /// Serve a folder over HTTP/1.1.
    Serve(ServeArgs),
    /// Run the greeting server (TCP or UDP).
    Greet(GreetArgs),
    /// Talk to a line-based server: send lines, print replies.
    Talk(TalkArgs),
    /// Run a chat room (TCP or UDP); `wirecat talk` is its client.
    Chat(ChatArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
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

    /// Port to listen on (0 picks a free one) [default: 8000].
    #[arg(short, long)]
    pub port: Option<u16>,

    // Help given as a string: rustdoc would read `[::]` in a doc comment as a link.
    #[arg(
        short,
        long,
        help = "Address to bind: 127.0.0.1, 0.0.0.0, :: or [::] (dual-stack) [default: 127.0.0.1]"
    )]
    pub bind: Option<String>,

    /// Listen on a Unix-domain socket at PATH (for a reverse proxy). Alone,
    /// it replaces TCP; with -p or -b, both are served. A stale socket file
    /// is replaced, anything else at PATH is an error; the file is removed
    /// on exit.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

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

    /// Allow any origin (Access-Control-Allow-Origin: *) and answer CORS
    /// preflights (OPTIONS) with 204.
    #[arg(long)]
    pub cors: bool,

    /// The page sent with 404 for paths that do not exist, beneath DIR
    /// (default: 404.html when it exists).
    #[arg(long = "404", value_name = "FILE")]
    pub not_found_page: Option<String>,

    /// Single-page app: a missing path without a file extension gets the
    /// root index.html with 200.
    #[arg(long)]
    pub spa: bool,

    /// Cache-Control value for every 200, 206 and 304, e.g. max-age=3600.
    #[arg(long, value_name = "VALUE")]
    pub cache_control: Option<String>,

    /// Print the URL as a QR code on the terminal at start.
    #[arg(long)]
    pub qr: bool,
    /// Never compress on the fly (precompressed FILE.br/.zst/.gz sidecars
    /// are still served to clients that accept them).
    #[arg(long)]
    pub no_compress: bool,

    /// Largest file compressed on the fly (text, JS, JSON, XML, SVG, wasm,
    /// ttf/otf), in bytes or with K, M or G: 512K, 8M.
    #[arg(long, value_name = "SIZE", default_value = "8M")]
    pub compress_max: String,
    /// Require HTTP Basic login as USER:PASSWORD; repeatable. PASSWORD may be
    /// sha256:HEX (the SHA-256 of the password) or an argon2 ($argon2id$...)
    /// or bcrypt ($2b$...) hash string, so no clear password sits in shell
    /// history. Repeated failures from one address get slower answers.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub auth: Vec<String>,

    /// Serve HTTPS with a self-signed certificate made at start (key kept
    /// in memory); its fingerprint and public-key pin are printed.
    #[arg(long)]
    pub tls: bool,

    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key for --tls-cert (PEM: PKCS#8, SEC1 or RSA).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Accept uploads: PUT /path/name (curl -T). Beyond loopback this needs
    /// --auth or --upload-open. Existing files are kept (409) unless
    /// --overwrite; If-None-Match: * and If-Match are honoured.
    #[arg(long)]
    pub upload: bool,

    /// Largest upload, in bytes or with K, M or G (413 beyond it).
    #[arg(long, value_name = "SIZE", default_value = "1G", requires = "upload")]
    pub max_upload: String,

    /// Uploads may replace existing files (204).
    #[arg(long, requires = "upload")]
    pub overwrite: bool,

    /// Uploads create missing folders on the way.
    #[arg(long, requires = "upload")]
    pub mkdir: bool,

    /// Allow --upload beyond loopback without --auth.
    #[arg(long, requires = "upload")]
    pub upload_open: bool,
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

    /// What to serve: the greeting, or one of inetd's small services (echo:
    /// RFC 862; daytime: RFC 867, a date line then close; time: RFC 868,
    /// four bytes then close) or clock (a Unix timestamp per line, answered
    /// with its date as ctime shows it). Over UDP, daytime, time and clock
    /// answer a source address at most 5 times a second.
    #[arg(long, value_enum, value_name = "NAME", default_value = "greet")]
    pub service: ServiceArg,

    /// daytime and clock: dates in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,

    /// Listen on a Unix-domain socket at PATH instead of TCP. A stale
    /// socket file there is replaced, anything else is an error (left
    /// untouched); the file is removed on exit (also after SIGTERM/Ctrl-C).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["udp", "port", "bind"])]
    pub unix: Option<PathBuf>,
}

/// `greet --service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceArg {
    Greet,
    Echo,
    Daytime,
    Time,
    Clock,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  wirecat talk 127.0.0.1:9999 Michael Tracy Sarah\n",
    "  printf 'a\\nb\\n' | wirecat talk 127.0.0.1:9999\n",
    "  wirecat talk --udp 127.0.0.1:9999 hello\n",
    "  wirecat talk udp://127.0.0.1:9999 hello   (the server's own announcement)\n",
    "  wirecat talk --name alice 127.0.0.1:7777    (after wirecat chat)\n",
    "\n",
    "A time server (after wirecat greet --service time, or daytime):\n",
    "  wirecat talk --service time 127.0.0.1:9999\n",
    "\n",
    "-v adds nothing for talk; -vv logs the connect attempts and, over UDP,\n",
    "datagrams from other addresses that are ignored.\n",
    see_exit_codes!(),
))]
pub struct TalkArgs {
    /// Server address, HOST:PORT (not with --unix).
    #[arg(value_name = "ADDR", required_unless_present = "unix")]
    pub addr: Option<String>,

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

    /// Join a `wirecat chat` room as NAME (sends /nick NAME first; implies --chat).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Talk to a chat room: show lines as they come, expect no reply per
    /// line, and send /quit at the end (of the MESSAGEs or of stdin).
    #[arg(long)]
    pub chat: bool,

    /// Ask a time server once (time: RFC 868, daytime: RFC 867) and print
    /// its answer and how far its clock is from ours.
    #[arg(long, value_enum, value_name = "NAME", conflicts_with_all = ["messages", "chat", "name"])]
    pub service: Option<TimeServiceArg>,

    /// Connect to the Unix-domain socket at PATH (a `greet --unix` or
    /// `chat --unix` server); every argument is then a MESSAGE.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["udp", "service"])]
    pub unix: Option<PathBuf>,
}

/// `talk --service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeServiceArg {
    Time,
    Daytime,
}

#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  wirecat chat                       tcp://127.0.0.1:7777\n",
    "  wirecat talk --name alice 127.0.0.1:7777\n",
    "  wirecat chat --udp -p 0\n",
    "\n",
    "A member's first line is its name (or /nick NAME): 1 to 24 printable ASCII\n",
    "characters, no spaces or < > *, unique whatever the case. Then each line\n",
    "goes to the others as <name> text; /me ACTION, /who, /nick NAME, /quit.\n",
    "Control characters and ANSI escapes are removed before relaying. A member\n",
    "with more than 1024 lines waiting is dropped once its connection has taken\n",
    "no byte for 2 seconds (it does not read).\n",
    "\n",
    "-v logs each connection, join and drop on stderr.\n",
    see_exit_codes!(),
))]
pub struct ChatArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(short, long, default_value_t = 7777)]
    pub port: u16,

    /// Address to bind.
    #[arg(short, long, default_value = "127.0.0.1")]
    pub bind: String,

    /// A room over UDP datagrams: an address's first datagram is its name.
    #[arg(long)]
    pub udp: bool,

    /// Members the room holds at most.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_members: usize,

    /// Seconds a member may send nothing before it leaves (0: forever).
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    pub idle_timeout: f64,

    /// Longest line accepted, in bytes; a longer one is answered with an
    /// error and the connection closed.
    #[arg(long, value_name = "BYTES", default_value_t = 2048)]
    pub max_line: usize,

    /// Listen on a Unix-domain socket at PATH instead of TCP. A stale
    /// socket file there is replaced, anything else is an error (left
    /// untouched); the file is removed on exit (also after SIGTERM/Ctrl-C).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["udp", "port", "bind"])]
    pub unix: Option<PathBuf>,
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

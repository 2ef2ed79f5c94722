//! `greet` and `talk`: the greeting server of the classic socket lesson
//! and its client, TCP and UDP, on the crate's event loop.
//!
//! - [`lines`]: pure line framing (LF or CRLF, lines split across reads, a cap).
//! - [`reply`]: the server's words (`Welcome!`, `Hello, <msg>!`, `Bye!`).
//! - [`session`]: [`GreetSession`], one TCP client of the server, and its service.
//! - [`udp`]: [`UdpGreeter`], the datagram server.
//! - [`talk`]: the client, TCP and UDP, given MESSAGEs or reading stdin.
//!
//! This module resolves the command line into configs and wires them to the
//! loops; the event loop binds and drives every socket.

pub mod lines;
pub mod reply;
pub mod session;
pub mod talk;
pub mod udp;

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

pub use reply::{BYE, HELLO_OVERHEAD, WELCOME};
pub use session::{GreetLimits, GreetService, GreetSession};
pub use talk::{Outgoing, TalkService, TalkSession, TalkTimeouts, UdpTalk};
pub use udp::UdpGreeter;

use crate::cli::{seconds, GreetArgs, TalkArgs};
use crate::error::{Error, Result};
use crate::event_loop::{
    bind_listeners, bind_udp, bind_udp_client, serve_threads, DatagramLoop, EventLoop, LoopConfig,
    Shutdown,
};

/// `greet`, resolved.
#[derive(Debug, Clone)]
pub struct GreetConfig {
    pub addr: SocketAddr,
    pub udp: bool,
    pub threads: usize,
    pub limits: GreetLimits,
}

impl GreetConfig {
    pub fn from_args(args: &GreetArgs) -> Result<Self> {
        let threads = match args.threads {
            Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if args.max_line == 0 {
            return Err(Error::Usage("--max-line must be at least 1".into()));
        }
        Ok(GreetConfig {
            addr: crate::cli::bind_addr(&args.bind, args.port)?,
            udp: args.udp,
            threads,
            limits: GreetLimits {
                max_line: args.max_line,
                idle_timeout: seconds(args.idle_timeout, "--idle-timeout")?,
                stall_timeout: seconds(args.stall_timeout, "--stall-timeout")?,
                ..GreetLimits::default()
            },
        })
    }
}

pub fn greet_command(args: GreetArgs) -> Result<()> {
    let config = GreetConfig::from_args(&args)?;
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .map_err(|e| Error::io("installing signal handlers", e))?;
    if config.udp {
        greet_udp(&config, shutdown)
    } else {
        greet_tcp(&config, shutdown)
    }
}

fn greet_tcp(config: &GreetConfig, shutdown: Shutdown) -> Result<()> {
    let cannot_listen = |e| Error::io(format!("cannot listen on {}", config.addr), e);
    let listeners = bind_listeners(config.addr, config.threads).map_err(cannot_listen)?;
    let local = listeners[0].local_addr().map_err(cannot_listen)?;
    announce("tcp", local);
    let limits = config.limits;
    serve_threads(listeners, LoopConfig::default(), shutdown, move || {
        GreetService::new(limits)
    })
    .map_err(|e| Error::io("greet", e))
}

fn greet_udp(config: &GreetConfig, shutdown: Shutdown) -> Result<()> {
    let cannot_listen = |e| Error::io(format!("cannot listen on udp {}", config.addr), e);
    // One socket whatever --threads says.
    let socket = bind_udp(config.addr).map_err(cannot_listen)?;
    let mut lp = DatagramLoop::new(socket, shutdown).map_err(cannot_listen)?;
    announce("udp", lp.local_addr().map_err(cannot_listen)?);
    lp.run(&mut UdpGreeter::new())
        .map_err(|e| Error::io("greet", e))
}

/// The line tests and scripts wait for; flushed at once, since stdout is a
/// pipe for them and would otherwise hold it.
fn announce(scheme: &str, addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "Greeting on {scheme}://{addr}");
    let _ = out.flush();
}

/// `talk`, resolved.
#[derive(Debug, Clone)]
pub struct TalkConfig {
    /// The address as given, for messages.
    pub target: String,
    pub addrs: Vec<SocketAddr>,
    pub udp: bool,
    /// `None`: read lines from stdin.
    pub messages: Option<Vec<String>>,
    pub connect_timeout: Duration,
    pub timeouts: TalkTimeouts,
}

impl TalkConfig {
    pub fn from_args(args: &TalkArgs) -> Result<Self> {
        // The server's own announcement (`tcp://...`, `udp://...`) works too.
        let (udp, hostport) = if let Some(rest) = args.addr.strip_prefix("udp://") {
            (true, rest)
        } else {
            (
                args.udp,
                args.addr.strip_prefix("tcp://").unwrap_or(&args.addr),
            )
        };
        let hostport = hostport.trim_end_matches('/');
        let Some((host, port)) = hostport.rsplit_once(':') else {
            return Err(Error::Usage(format!("{}: expected HOST:PORT", args.addr)));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| Error::Usage(format!("{}: bad port {port:?}", args.addr)))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|source| Error::Resolve {
                host: host.to_string(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(Error::Usage(format!("{host}: no address")));
        }
        Ok(TalkConfig {
            target: format!("{}://{hostport}", if udp { "udp" } else { "tcp" }),
            addrs,
            udp,
            messages: (!args.messages.is_empty()).then(|| args.messages.clone()),
            connect_timeout: seconds(args.connect_timeout, "--connect-timeout")?
                .unwrap_or(Duration::from_secs(3600)),
            timeouts: TalkTimeouts {
                reply: seconds(args.reply_timeout, "--reply-timeout")?,
                greeting_wait: seconds(args.greeting_wait, "--greeting-wait")?.unwrap_or_default(),
            },
        })
    }

    /// MESSAGE mode's lines; over TCP the lesson's `exit` comes last.
    fn message_lines(&self) -> Option<Vec<Vec<u8>>> {
        let mut lines: Vec<Vec<u8>> = self
            .messages
            .as_ref()?
            .iter()
            .map(|m| m.as_bytes().to_vec())
            .collect();
        if !self.udp {
            lines.push(b"exit".to_vec());
        }
        Some(lines)
    }
}

pub fn talk_command(args: TalkArgs) -> Result<()> {
    let config = TalkConfig::from_args(&args)?;
    if config.udp {
        talk_udp(&config)
    } else {
        talk_tcp(&config)
    }
}

fn stdin_lines() -> Box<dyn io::BufRead + Send> {
    Box::new(BufReader::new(io::stdin()))
}

fn talk_tcp(config: &TalkConfig) -> Result<()> {
    let (outgoing, stdin) = match config.message_lines() {
        Some(lines) => (Outgoing::messages(lines), None),
        None => (Outgoing::messages([]), Some(stdin_lines())),
    };
    let session = TalkSession::new(
        io::stdout().lock(),
        outgoing,
        config.timeouts,
        config.target.clone(),
    );
    let mut service = TalkService::new(config.addrs.clone(), session, stdin);
    let loop_config = LoopConfig {
        connect_timeout: config.connect_timeout,
        linger: Duration::from_secs(2),
        ..LoopConfig::default()
    };
    let mut lp = EventLoop::new(loop_config, Shutdown::new())
        .map_err(|e| Error::io("starting the event loop", e))?;
    lp.run(&mut service)
        .map_err(|e| Error::io("event loop", e))?;
    service.into_result()
}

fn talk_udp(config: &TalkConfig) -> Result<()> {
    let server = config.addrs[0];
    let socket = bind_udp_client(server).map_err(|e| Error::io("binding a UDP socket", e))?;
    let mut lp = DatagramLoop::new(socket, Shutdown::new())
        .map_err(|e| Error::io("starting the event loop", e))?;
    let outgoing = match config.message_lines() {
        Some(lines) => Outgoing::messages(lines),
        None => Outgoing::stream(talk::spawn_line_reader(stdin_lines(), lp.notifier())),
    };
    let mut svc = UdpTalk::new(server, io::stdout().lock(), outgoing, config.timeouts.reply);
    lp.run(&mut svc).map_err(|e| Error::io("event loop", e))?;
    svc.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk_args(addr: &str) -> TalkArgs {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from(["wirecat", "talk", addr, "hi"]);
        match cli.command {
            crate::cli::Command::Talk(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn talk_targets() {
        for (addr, udp, first) in [
            ("127.0.0.1:9", false, "127.0.0.1:9"),
            ("tcp://127.0.0.1:9", false, "127.0.0.1:9"),
            ("udp://127.0.0.1:9", true, "127.0.0.1:9"),
            ("[::1]:9", false, "[::1]:9"),
        ] {
            let c = TalkConfig::from_args(&talk_args(addr)).unwrap();
            assert_eq!(c.udp, udp, "{addr}");
            assert_eq!(c.addrs[0].to_string(), first, "{addr}");
        }
        for bad in ["127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"] {
            assert!(matches!(
                TalkConfig::from_args(&talk_args(bad)),
                Err(Error::Usage(_))
            ));
        }
        let c = TalkConfig::from_args(&talk_args("127.0.0.1:9")).unwrap();
        assert_eq!(
            c.message_lines().unwrap(),
            vec![b"hi".to_vec(), b"exit".to_vec()]
        );
    }
}

//! `greet` and `talk`: the greeting server of the classic socket lesson
//! and its client, TCP and UDP, on the crate's event loop.
//!
//! - [`lines`]: pure line framing (LF or CRLF, lines split across reads, a cap).
//! - [`reply`]: the server's words (`Welcome!`, `Hello, <msg>!`, `Bye!`).
//! - [`session`]: [`GreetSession`], one TCP client of the server, and its service.
//! - [`udp`]: [`UdpGreeter`], the datagram server.
//! - [`services`]: `greet --service echo|daytime|time|clock`.
//! - [`chat`](mod@chat): the chat room, TCP and UDP.
//! - [`talk`](mod@talk): the client, TCP and UDP, given MESSAGEs or reading stdin.
//! - [`config`]: [`GreetConfig`] and [`TalkConfig`], the plain values `cli`
//!   resolves the flags into.
//!
//! This file ([`greet()`], [`talk()`]) wires a config to the loops and to
//! stdin and stdout. It never sees a flag (`cli` resolves them) and never
//! touches a socket: the event loop binds and drives every one.

pub mod chat;
pub mod config;
pub mod lines;
pub mod reply;
pub mod services;
pub mod session;
pub mod talk;
pub mod udp;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use config::{ChatConfig, GreetConfig, ServiceName, TalkConfig};
pub use reply::{BYE, HELLO_OVERHEAD, WELCOME};
pub use session::{GreetLimits, GreetService, GreetSession};
pub use talk::{Outgoing, TalkService, TalkSession, TalkTimeouts, UdpTalk};
pub use udp::UdpGreeter;

use crate::error::{Error, Result};
use crate::event_loop::{
    bind_listener, bind_listeners, bind_udp, bind_udp_client, bind_unix, raise_descriptor_limit,
    serve_threads, DatagramLoop, EventLoop, Listener, LoopConfig, Shutdown, UnixSocketFile,
};

/// Runs the greeting server until SIGINT or SIGTERM.
pub fn greet(config: &GreetConfig) -> Result<()> {
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .map_err(|e| Error::io("installing signal handlers", e))?;
    if config.udp {
        greet_udp(config, shutdown)
    } else {
        greet_tcp(config, shutdown)
    }
}

/// The listeners of `greet`'s loops (one set per loop), and with
/// `--unix` the socket file that goes when the loops are done.
fn greet_listeners(config: &GreetConfig) -> Result<(Vec<Vec<Listener>>, Option<UnixSocketFile>)> {
    if let Some(path) = &config.unix {
        let (listener, file) = listen_unix(path)?;
        announce_unix("Greeting", file.path());
        let mut sets = Vec::with_capacity(config.threads);
        for _ in 0..config.threads {
            let handle = listener
                .try_clone()
                .map_err(|e| Error::io("unix socket", e))?;
            sets.push(vec![handle]);
        }
        return Ok((sets, Some(file)));
    }
    let cannot_listen = |e| Error::io(format!("cannot listen on {}", config.addr), e);
    let listeners = bind_listeners(config.addr, config.threads).map_err(cannot_listen)?;
    let local = listeners[0].local_addr().map_err(cannot_listen)?;
    announce("tcp", local);
    Ok((
        listeners.into_iter().map(|l| vec![l.into()]).collect(),
        None,
    ))
}

/// Binds `--unix PATH` (the stale-file rule is the loop's); an error
/// names the path.
fn listen_unix(path: &Path) -> Result<(Listener, UnixSocketFile)> {
    let (listener, file) = bind_unix(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    Ok((Listener::Unix(listener), file))
}

fn greet_tcp(config: &GreetConfig, shutdown: Shutdown) -> Result<()> {
    let (listeners, socket_file) = greet_listeners(config)?;
    let limits = config.limits;
    let zone = zone(config.utc);
    let loop_config = LoopConfig::default();
    let served = match config.service {
        ServiceName::Greet => serve_threads(listeners, loop_config, shutdown, move || {
            GreetService::new(limits)
        }),
        ServiceName::Clock => serve_threads(listeners, loop_config, shutdown, move || {
            GreetService::clock(limits, zone.clone())
        }),
        name => serve_threads(listeners, loop_config, shutdown, move || {
            services::SmallService::new(name, limits, zone.clone())
        }),
    };
    // The loops are done with the socket: its file goes (if still ours).
    drop(socket_file);
    served.map_err(|e| Error::io("greet", e))
}

/// The zone dates are shown in: UTC, or the system's (TZ, else
/// /etc/localtime), read once at start; UTC when neither can be read.
fn zone(utc: bool) -> jiff::tz::TimeZone {
    if utc {
        return jiff::tz::TimeZone::UTC;
    }
    jiff::tz::TimeZone::try_system().unwrap_or_else(|e| {
        log::warn!("local time zone unknown ({e}); using UTC");
        jiff::tz::TimeZone::UTC
    })
}

fn greet_udp(config: &GreetConfig, shutdown: Shutdown) -> Result<()> {
    let cannot_listen = |e| Error::io(format!("cannot listen on udp {}", config.addr), e);
    // One socket whatever --threads says.
    let socket = bind_udp(config.addr).map_err(cannot_listen)?;
    let mut lp = DatagramLoop::new(socket, shutdown).map_err(cannot_listen)?;
    announce("udp", lp.local_addr().map_err(cannot_listen)?);
    let ran = match config.service {
        ServiceName::Greet => lp.run(&mut UdpGreeter::new()),
        name => lp.run(&mut services::UdpServices::new(name, zone(config.utc))),
    };
    ran.map_err(|e| Error::io("greet", e))
}

/// Runs the chat room until SIGINT or SIGTERM: one loop, one room.
pub fn chat(config: &ChatConfig) -> Result<()> {
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .map_err(|e| Error::io("installing signal handlers", e))?;
    let limits = config.limits;
    if config.udp {
        let cannot_listen = |e| Error::io(format!("cannot listen on udp {}", config.addr), e);
        let socket = bind_udp(config.addr).map_err(cannot_listen)?;
        let mut lp = DatagramLoop::new(socket, shutdown).map_err(cannot_listen)?;
        announce_as("Chatting", "udp", lp.local_addr().map_err(cannot_listen)?);
        let room = chat::RoomLimits {
            max_members: limits.max_members,
            queue_cap: limits.queue_cap,
        };
        let mut svc = chat::UdpChat::new(room, limits.max_line, limits.idle_timeout);
        return lp.run(&mut svc).map_err(|e| Error::io("chat", e));
    }
    let (listener, socket_file) = chat_listener(config)?;
    // Every member is a descriptor: a soft limit of 1024 would cap the room.
    raise_descriptor_limit();
    let mut lp = EventLoop::new(LoopConfig::default(), shutdown)
        .map_err(|e| Error::io("starting the event loop", e))?;
    lp.listen(listener)
        .map_err(|e| Error::io("cannot listen", e))?;
    let ran = lp
        .run(&mut chat::ChatService::new(limits))
        .map_err(|e| Error::io("chat", e));
    drop(socket_file);
    ran
}

/// The chat room's stream listener, TCP or `--unix` (with its file).
fn chat_listener(config: &ChatConfig) -> Result<(Listener, Option<UnixSocketFile>)> {
    if let Some(path) = &config.unix {
        let (listener, file) = listen_unix(path)?;
        announce_unix("Chatting", file.path());
        return Ok((listener, Some(file)));
    }
    let cannot_listen = |e| Error::io(format!("cannot listen on {}", config.addr), e);
    let listener = bind_listener(config.addr, false).map_err(cannot_listen)?;
    announce_as(
        "Chatting",
        "tcp",
        listener.local_addr().map_err(cannot_listen)?,
    );
    Ok((listener.into(), None))
}

/// The line tests and scripts wait for; flushed at once, since stdout is a
/// pipe for them and would otherwise hold it.
fn announce(scheme: &str, addr: SocketAddr) {
    announce_as("Greeting", scheme, addr)
}

fn announce_as(what: &str, scheme: &str, addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{what} on {scheme}://{addr}");
    let _ = out.flush();
}

/// `Greeting on unix:PATH`, what `talk --unix PATH` is given.
fn announce_unix(what: &str, path: &Path) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{what} on unix:{}", path.display());
    let _ = out.flush();
}

/// Talks to a server until the MESSAGEs are answered or stdin ends.
pub fn talk(config: &TalkConfig) -> Result<()> {
    if config.service != ServiceName::Greet {
        return probe(config);
    }
    if config.udp {
        talk_udp(config)
    } else {
        talk_tcp(config)
    }
}

fn talk_tcp(config: &TalkConfig) -> Result<()> {
    let (outgoing, stdin) = match config.message_lines() {
        Some(lines) if config.chat => (Outgoing::chat(config.name.as_deref(), lines, None), None),
        Some(lines) => (Outgoing::messages(lines), None),
        None if config.chat => (
            Outgoing::chat(config.name.as_deref(), [], None),
            Some(talk::stdin_lines()),
        ),
        None => (Outgoing::messages([]), Some(talk::stdin_lines())),
    };
    let session = TalkSession::new(
        io::stdout().lock(),
        outgoing,
        config.timeouts,
        config.target.clone(),
    );
    let mut service = TalkService::new(config.addrs.clone(), session, stdin);
    if let Some(path) = &config.unix {
        service = service.over_unix(path.clone());
    }
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

/// `talk --service time|daytime`: one answer, shown with its offset.
fn probe(config: &TalkConfig) -> Result<()> {
    let answer = if config.udp {
        let server = config.addrs[0];
        let socket = bind_udp_client(server).map_err(|e| Error::io("binding a UDP socket", e))?;
        let mut lp = DatagramLoop::new(socket, Shutdown::new())
            .map_err(|e| Error::io("starting the event loop", e))?;
        let mut svc = talk::probe::UdpProbe::new(server, config.timeouts.reply);
        lp.run(&mut svc).map_err(|e| Error::io("event loop", e))?;
        svc.into_answer()?
    } else {
        let loop_config = LoopConfig {
            connect_timeout: config.connect_timeout,
            ..LoopConfig::default()
        };
        let mut lp = EventLoop::new(loop_config, Shutdown::new())
            .map_err(|e| Error::io("starting the event loop", e))?;
        let mut svc = talk::probe::ProbeService::new(config.addrs.clone(), config.target.clone());
        lp.run(&mut svc).map_err(|e| Error::io("event loop", e))?;
        svc.into_answer()?
    };
    let text = talk::probe::describe(config.service, &answer, jiff::Timestamp::now())?;
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

fn talk_udp(config: &TalkConfig) -> Result<()> {
    let server = config.addrs[0];
    let socket = bind_udp_client(server).map_err(|e| Error::io("binding a UDP socket", e))?;
    let mut lp = DatagramLoop::new(socket, Shutdown::new())
        .map_err(|e| Error::io("starting the event loop", e))?;
    let name = config.name.as_deref();
    let outgoing = match config.message_lines() {
        Some(lines) if config.chat => Outgoing::chat(name, lines, None),
        Some(lines) => Outgoing::messages(lines),
        None => {
            let rx = talk::spawn_line_reader(talk::stdin_lines(), lp.notifier());
            if config.chat {
                Outgoing::chat(name, [], Some(rx))
            } else {
                Outgoing::stream(rx)
            }
        }
    };
    let mut svc = UdpTalk::new(server, io::stdout().lock(), outgoing, config.timeouts.reply);
    lp.run(&mut svc).map_err(|e| Error::io("event loop", e))?;
    svc.into_result()
}

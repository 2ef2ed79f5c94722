//! A TCP delay proxy for the fetch benchmarks (benches/page.sh), since these
//! machines have no `tc netem`: it holds every chunk a fixed time (10 ms by
//! default) in each direction on every connection, so a request and its reply
//! cross a 20 ms round trip, as on a real network. Loopback only; not a test.
//!
//! ```text
//! delay_proxy [--delay-ms N] [--duration SECS] [--no-handshake] UPSTREAM...
//!     UPSTREAM is a port on 127.0.0.1 (or 127.0.0.1:PORT, [::1]:PORT).
//!     For each one, listens on a kernel-chosen 127.0.0.1 port and prints
//!     "127.0.0.1:LISTEN 127.0.0.1:UPSTREAM" on stdout, one line each, in
//!     order. Exits after SECS (default 3600) or on SIGTERM.
//! ```
//!
//! The kernel completes a client's TCP handshake with the proxy at once, so
//! a new connection would cost nothing, unlike on a network where `connect`
//! takes a round trip. To charge it, what a client sends on a new connection
//! reaches upstream no sooner than three one-way delays after the accept (the
//! SYN, the SYN-ACK, then the request), as it would on the wire. A tool that
//! opens more connections pays for them as it would on a network.
//! `--no-handshake` turns this off (connections then cost nothing).
//!
//! Each connection gets two pipes (client to upstream, upstream to client).
//! A pipe is a reader thread that stamps each chunk with `now + delay` and
//! queues it, and a writer thread that sleeps until the stamp and writes: a
//! pure propagation delay, chunks in order, a later chunk never waiting for
//! an earlier one longer than its own delay. Threads, not an event loop, so
//! the proxy stays out of the crate and plain `std`; a few hundred connections
//! at once are a few hundred small-stacked threads.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Each proxy thread only shuttles bytes through one 64 KiB heap buffer.
const STACK: usize = 128 * 1024;
const CHUNK: usize = 64 * 1024;

struct Options {
    delay: Duration,
    duration: Duration,
    handshake: bool,
    upstreams: Vec<SocketAddr>,
}

fn main() {
    // `cargo bench` appends `--bench` to the arguments it passes on.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("delay_proxy: {e}");
            eprintln!("usage: delay_proxy [--delay-ms N] [--duration SECS] [--no-handshake] UPSTREAM_PORT...");
            std::process::exit(2);
        }
    };
    let mut out = std::io::stdout().lock();
    for &upstream in &options.upstreams {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let local = listener.local_addr().expect("local address");
        writeln!(out, "{local} {upstream}").expect("stdout");
        let delay = Delay {
            each_way: options.delay,
            handshake: options.handshake,
        };
        thread::spawn(move || accept(listener, upstream, delay));
    }
    out.flush().expect("stdout");
    drop(out);
    // SIGTERM keeps its default action (end the process); this is the bound
    // when nobody sends one.
    thread::sleep(options.duration);
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        delay: Duration::from_millis(10),
        duration: Duration::from_secs(3600),
        handshake: true,
        upstreams: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{what} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{what}: not a number: {value}"))
        };
        match arg.as_str() {
            "--delay-ms" => options.delay = Duration::from_millis(number("--delay-ms")?),
            "--duration" => options.duration = Duration::from_secs(number("--duration")?),
            "--no-handshake" => options.handshake = false,
            _ => options.upstreams.push(upstream(arg)?),
        }
    }
    if options.upstreams.is_empty() {
        return Err("no upstream given".into());
    }
    Ok(options)
}

/// A port alone means 127.0.0.1; an address must be loopback, so the proxy
/// can never carry traffic off this machine.
fn upstream(arg: &str) -> Result<SocketAddr, String> {
    let addr = match arg.parse::<u16>() {
        Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        Err(_) => arg
            .parse::<SocketAddr>()
            .map_err(|_| format!("not a port or IP:PORT: {arg}"))?,
    };
    if !addr.ip().is_loopback() {
        return Err(format!("upstream must be on loopback: {arg}"));
    }
    Ok(addr)
}

#[derive(Clone, Copy)]
struct Delay {
    each_way: Duration,
    handshake: bool,
}

fn accept(listener: TcpListener, upstream: SocketAddr, delay: Delay) {
    for client in listener.incoming() {
        let accepted = Instant::now();
        match client {
            Ok(client) => spawn("conn", move || connect(client, upstream, delay, accepted)),
            Err(e) => eprintln!("delay_proxy: accept: {e}"),
        }
    }
}

fn connect(client: TcpStream, upstream: SocketAddr, delay: Delay, accepted: Instant) {
    let server = match TcpStream::connect_timeout(&upstream, Duration::from_secs(10)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("delay_proxy: connect {upstream}: {e}");
            return;
        }
    };
    // The delay is ours to add; Nagle's algorithm must not add more.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // SYN, SYN-ACK, then the request's own trip (see the module doc).
    let first_request = match delay.handshake {
        true => accepted + 3 * delay.each_way,
        false => accepted,
    };
    pipe(client, server2, delay.each_way, first_request);
    pipe(server, client2, delay.each_way, accepted);
}

type Chunk = (Instant, Option<Vec<u8>>);

/// Copies `from` to `to`, every chunk delayed by `delay` and none delivered
/// before `not_before`. End of input (or a read error) becomes a half-close
/// of `to`, after the same delay; a failed write shuts `from` down so its
/// reader stops too.
fn pipe(from: TcpStream, to: TcpStream, delay: Duration, not_before: Instant) {
    let (tx, rx) = mpsc::channel::<Chunk>();
    let Ok(from_for_writer) = from.try_clone() else {
        return;
    };
    spawn("read", move || read_side(from, tx, delay, not_before));
    spawn("write", move || write_side(rx, to, from_for_writer));
}

fn read_side(mut from: TcpStream, tx: mpsc::Sender<Chunk>, delay: Duration, not_before: Instant) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let chunk = match from.read(&mut buf) {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(buf[..n].to_vec()),
        };
        let end = chunk.is_none();
        let due = (Instant::now() + delay).max(not_before);
        if tx.send((due, chunk)).is_err() || end {
            return;
        }
    }
}

fn write_side(rx: mpsc::Receiver<Chunk>, mut to: TcpStream, from: TcpStream) {
    for (due, chunk) in rx {
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        match chunk {
            Some(bytes) => {
                if to.write_all(&bytes).is_err() {
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            }
            None => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = thread::Builder::new()
        .name(name.into())
        .stack_size(STACK)
        .spawn(f)
    {
        eprintln!("delay_proxy: thread: {e}");
    }
}

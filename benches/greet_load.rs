//! Load generator for `benches/greet.sh`, built on wirecat's own event loop
//! (its public `Session`/`Service` API), so thousands of clients cost one
//! thread. Not a test: run by hand through the script.
//!
//! ```text
//! greet_load pipelined ADDR [CLIENTS [LINES [LOOPS]]]
//!     each client writes LINES lines at once (then exit) and checks every
//!     byte of the replies; prints replies per second.
//! greet_load dialogues ADDR [CLIENTS [MESSAGES]]
//!     CLIENTS connections all open at once, then each does a MESSAGES-long
//!     dialogue, one line at a time, every reply checked.
//! ```

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wirecat::event_loop::{
    Control, Ended, EventLoop, Io, LoopConfig, Service, Session, Shutdown, Step,
};

/// No run may take longer than this; a stuck client is a failure, not a hang.
const DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    // `cargo bench` appends `--bench` to the arguments it passes on.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize, default: usize| -> usize {
        args.get(i)
            .map(|s| s.parse().expect("a number"))
            .unwrap_or(default)
    };
    let mode = args.first().map(String::as_str).unwrap_or("");
    let Some(addr) = args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: greet_load pipelined|dialogues HOST:PORT [N...]");
        std::process::exit(2);
    };
    let ok = match mode {
        "pipelined" => pipelined(addr, arg(2, 100), arg(3, 20_000), arg(4, 1)),
        "dialogues" => dialogues(addr, arg(2, 10_000), arg(3, 10)),
        _ => {
            eprintln!("unknown mode {mode:?}");
            false
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}

fn loop_config() -> LoopConfig {
    LoopConfig {
        read_chunk: 64 * 1024,
        connect_timeout: Duration::from_secs(30),
        ..LoopConfig::default()
    }
}

/// Tally of one loop's clients.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, error: Option<String>, how: Ended) {
        let error = match how {
            Ended::Closed => error,
            Ended::Failed(e) => Some(error.unwrap_or(format!("socket error: {e}"))),
            Ended::ConnectFailed(e) => Some(format!("connect: {e}")),
        };
        match error {
            None => self.ok += 1,
            Some(e) => {
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

/// Checks received bytes against what must come, in order.
struct Expect {
    want: Arc<Vec<u8>>,
    matched: usize,
}

impl Expect {
    /// Takes all input; an error on the first byte that differs.
    fn take(&mut self, io: &mut Io<'_>) -> Result<(), String> {
        let data = io.input.data();
        let end = self.matched + data.len();
        if end > self.want.len() || self.want[self.matched..end] != *data {
            return Err(format!(
                "unexpected bytes after {} good ones: {:?}",
                self.matched,
                String::from_utf8_lossy(&data[..data.len().min(60)])
            ));
        }
        self.matched = end;
        io.input.consume(data.len());
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.matched == self.want.len()
    }
}

// ---- pipelined -------------------------------------------------------------

struct PipeClient {
    request: Option<Vec<u8>>,
    expect: Expect,
    error: Option<String>,
    deadline: Instant,
}

impl Session for PipeClient {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if let Some(req) = self.request.take() {
            io.output.push(req);
        }
        if let Err(e) = self.expect.take(io) {
            self.error = Some(e);
            return Step::Abort;
        }
        if io.peer_closed {
            if !self.expect.is_done() {
                self.error = Some(format!("closed after {} bytes", self.expect.matched));
            }
            return Step::Close;
        }
        if io.now >= self.deadline {
            self.error = Some("timed out".into());
            return Step::Abort;
        }
        Step::read(Some(self.deadline))
    }
}

struct PipeLoad {
    addr: SocketAddr,
    clients: usize,
    request: Arc<Vec<u8>>,
    expected: Arc<Vec<u8>>,
    tally: Tally,
}

impl Service for PipeLoad {
    type Session = PipeClient;

    fn tick(&mut self, ctl: &mut Control<'_, PipeClient>) -> bool {
        for _ in 0..self.clients {
            let client = PipeClient {
                request: Some(self.request.as_ref().clone()),
                expect: Expect {
                    want: self.expected.clone(),
                    matched: 0,
                },
                error: None,
                deadline: ctl.now() + DEADLINE,
            };
            ctl.connect(vec![self.addr], client);
        }
        false
    }

    fn ended(&mut self, s: PipeClient, how: Ended) {
        self.tally.record(s.error, how);
    }
}

fn pipelined(addr: SocketAddr, clients: usize, lines: usize, loops: usize) -> bool {
    let mut request = Vec::new();
    let mut expected = b"Welcome!\n".to_vec();
    for i in 0..lines {
        request.extend_from_slice(format!("message {i:06}\n").as_bytes());
        expected.extend_from_slice(format!("Hello, message {i:06}!\n").as_bytes());
    }
    request.extend_from_slice(b"exit\n");
    expected.extend_from_slice(b"Bye!\n");
    let (request, expected) = (Arc::new(request), Arc::new(expected));
    let start = Instant::now();
    let threads: Vec<_> = (0..loops)
        .map(|i| {
            let share = clients / loops + usize::from(i < clients % loops);
            let (request, expected) = (request.clone(), expected.clone());
            std::thread::spawn(move || {
                let mut svc = PipeLoad {
                    addr,
                    clients: share,
                    request,
                    expected,
                    tally: Tally::default(),
                };
                let mut lp = EventLoop::new(loop_config(), Shutdown::new()).expect("event loop");
                lp.run(&mut svc).expect("event loop");
                svc.tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for t in threads {
        let t = t.join().expect("load thread");
        total.ok += t.ok;
        total.failed += t.failed;
        total.first_error = total.first_error.or(t.first_error);
    }
    let secs = start.elapsed().as_secs_f64();
    let replies = total.ok * lines;
    println!(
        "pipelined clients={clients} lines={lines} ok={} failed={} replies={replies} secs={secs:.3} replies_per_sec={:.0}",
        total.ok,
        total.failed,
        replies as f64 / secs
    );
    if let Some(e) = total.first_error {
        eprintln!("first failure: {e}");
    }
    total.failed == 0
}

// ---- dialogues -------------------------------------------------------------

/// State shared by one loop's dialogue clients (one thread, hence `Rc`).
#[derive(Default)]
struct Gate {
    /// Clients connected and welcomed.
    ready: Cell<usize>,
    /// Most clients connected at once.
    peak: Cell<usize>,
    open: Cell<bool>,
}

enum Phase {
    Welcome,
    AtGate,
    Message(usize),
    Bye,
}

struct DialogueClient {
    id: usize,
    messages: usize,
    phase: Phase,
    expect: Expect,
    gate: Rc<Gate>,
    error: Option<String>,
    deadline: Instant,
}

impl DialogueClient {
    fn say(&mut self, io: &mut Io<'_>, k: usize) {
        io.output
            .push(format!("client {} says {k}\n", self.id).into_bytes());
        self.expect = Expect {
            want: Arc::new(format!("Hello, client {} says {k}!\n", self.id).into_bytes()),
            matched: 0,
        };
        self.phase = Phase::Message(k);
    }

    fn advance(&mut self, io: &mut Io<'_>) {
        loop {
            match self.phase {
                Phase::Welcome if self.expect.is_done() => {
                    let g = &self.gate;
                    g.ready.set(g.ready.get() + 1);
                    g.peak.set(g.peak.get().max(g.ready.get()));
                    self.phase = Phase::AtGate;
                }
                Phase::AtGate if self.gate.open.get() => self.say(io, 1),
                Phase::Message(k) if self.expect.is_done() && k < self.messages => {
                    self.say(io, k + 1)
                }
                Phase::Message(_) if self.expect.is_done() => {
                    io.output.push(&b"exit\n"[..]);
                    self.expect = Expect {
                        want: Arc::new(b"Bye!\n".to_vec()),
                        matched: 0,
                    };
                    self.phase = Phase::Bye;
                }
                _ => return,
            }
        }
    }
}

impl Session for DialogueClient {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if let Err(e) = self.expect.take(io) {
            self.error = Some(format!("client {}: {e}", self.id));
            return Step::Abort;
        }
        self.advance(io);
        if io.peer_closed {
            if !matches!(self.phase, Phase::Bye) || !self.expect.is_done() {
                self.error = Some(format!("client {}: closed early", self.id));
            }
            return Step::Close;
        }
        if io.now >= self.deadline {
            self.error = Some(format!("client {}: timed out", self.id));
            return Step::Abort;
        }
        Step::read(Some(self.deadline))
    }
}

struct DialogueLoad {
    addr: SocketAddr,
    clients: usize,
    messages: usize,
    started: usize,
    ended: usize,
    gate: Rc<Gate>,
    opened_at: Option<Instant>,
    tally: Tally,
}

impl Service for DialogueLoad {
    type Session = DialogueClient;

    fn tick(&mut self, ctl: &mut Control<'_, DialogueClient>) -> bool {
        // Ramp up: a bounded number of connects in flight, so the server's
        // accept queue is not flooded into SYN retransmits.
        while self.started < self.clients
            && self
                .started
                .saturating_sub(self.gate.ready.get() + self.ended)
                < 1000
        {
            self.started += 1;
            let welcome = Arc::new(b"Welcome!\n".to_vec());
            let client = DialogueClient {
                id: self.started,
                messages: self.messages,
                phase: Phase::Welcome,
                expect: Expect {
                    want: welcome,
                    matched: 0,
                },
                gate: self.gate.clone(),
                error: None,
                deadline: ctl.now() + DEADLINE,
            };
            ctl.connect(vec![self.addr], client);
        }
        if !self.gate.open.get() && self.gate.ready.get() + self.ended >= self.clients {
            // Everyone is connected: start every dialogue at once.
            self.gate.open.set(true);
            self.opened_at = Some(Instant::now());
            ctl.notifier().notify();
        }
        self.ended < self.clients
    }

    fn ended(&mut self, s: DialogueClient, how: Ended) {
        self.ended += 1;
        if matches!(s.phase, Phase::AtGate) && !self.gate.open.get() {
            self.gate.ready.set(self.gate.ready.get() - 1);
        }
        self.tally.record(s.error, how);
    }
}

fn dialogues(addr: SocketAddr, clients: usize, messages: usize) -> bool {
    let start = Instant::now();
    let mut svc = DialogueLoad {
        addr,
        clients,
        messages,
        started: 0,
        ended: 0,
        gate: Rc::new(Gate::default()),
        opened_at: None,
        tally: Tally::default(),
    };
    let config = LoopConfig {
        max_connections: clients + 16,
        ..loop_config()
    };
    let mut lp = EventLoop::new(config, Shutdown::new()).expect("event loop");
    lp.run(&mut svc).expect("event loop");
    let total = start.elapsed().as_secs_f64();
    let talk = svc.opened_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let t = &svc.tally;
    println!(
        "dialogues clients={clients} messages={messages} concurrent={} ok={} failed={} connect_secs={:.3} dialogue_secs={talk:.3} total_secs={total:.3} replies_per_sec={:.0}",
        svc.gate.peak.get(),
        t.ok,
        t.failed,
        total - talk,
        (t.ok * messages) as f64 / talk.max(1e-9),
    );
    if let Some(e) = &t.first_error {
        eprintln!("first failure: {e}");
    }
    t.failed == 0 && t.ok == clients && svc.gate.peak.get() == clients
}

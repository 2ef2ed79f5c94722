//! The binary under test as a process: run it to the end with a
//! deadline, or in the background (killed on drop) with its announcement
//! line read; the `serve` / `greet` launcher; what a run printed.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use super::{trust, Transport, Trusted, TIMEOUT};

/// Removes what the caller's environment could change about a run.
fn clean_env(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("RUST_LOG")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_COLOR", "1")
}

/// The binary under test.
pub fn wirecat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirecat"));
    clean_env(&mut cmd);
    cmd
}

/// Runs `cmd` to completion, killing it if it outlives `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    run_with_stdin(cmd, None, timeout)
}

/// Runs `cmd` with `input` (if any) on its stdin, else an empty stdin,
/// killing it if it outlives `timeout`.
pub fn run_with_stdin(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        // A thread, so a child that does not read cannot block the test.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let status = match child.wait_timeout(timeout).expect("wait") {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
    };
    Output {
        status,
        stdout: out.recv_timeout(TIMEOUT).unwrap_or_default(),
        stderr: err.recv_timeout(TIMEOUT).unwrap_or_default(),
    }
}

fn drain(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `wirecat ARGS` in `dir`.
pub fn wirecat_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = wirecat();
    cmd.current_dir(dir).args(args);
    run(&mut cmd, TIMEOUT)
}

/// What a finished process wrote on stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a finished process wrote on stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with both outputs unless the process exited with `code`.
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// Fails with the whole of stderr when `needle` is not in it.
pub fn assert_stderr_has(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
}

/// The names in `dir`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A background process (a server, a download) killed when dropped.
pub struct Background {
    pub child: Child,
    /// Lines the process printed on stdout after the first, as they come.
    /// Always empty (disconnected) when stdout is left unread.
    pub lines: mpsc::Receiver<String>,
    /// Stdout after the first line, when it is left unread (see
    /// [`Launch::stdout_unread`]).
    pub stdout: Option<BufReader<ChildStdout>>,
    /// Stderr line by line, when collected (see [`Launch::stderr_lines`]);
    /// otherwise stderr is the test's.
    pub stderr: Option<mpsc::Receiver<String>>,
    /// A TLS server's pin registration (see [`super::trust`]), held here
    /// so it lasts exactly as long as the process is kept.
    pub trusted: Option<Arc<Trusted>>,
}

impl Background {
    /// Spawns `cmd` and waits for its first stdout line, which servers use
    /// to announce where they listen; returns it with the handle.
    pub fn start(cmd: &mut Command) -> (Background, String) {
        Background::spawn(cmd, false, false)
    }

    /// Like [`Background::start`], with stderr collected line by line
    /// (see [`Background::stderr_line`]).
    pub fn start_collecting_stderr(cmd: &mut Command) -> (Background, String) {
        Background::spawn(cmd, false, true)
    }

    /// Spawns `cmd` with no stdin, stdout or stderr, and waits for nothing.
    pub fn quiet(cmd: &mut Command) -> Background {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let (_, none) = mpsc::channel();
        Background {
            child,
            lines: none,
            stdout: None,
            stderr: None,
            trusted: None,
        }
    }

    fn spawn(cmd: &mut Command, stdout_unread: bool, stderr_lines: bool) -> (Background, String) {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if stderr_lines {
                Stdio::piped()
            } else {
                Stdio::inherit()
            });
        let mut child = cmd.spawn().expect("spawn");
        let stderr = stderr_lines.then(|| read_lines(child.stderr.take().unwrap()));
        let out = child.stdout.take().unwrap();
        let (first, lines, stdout) = if stdout_unread {
            let (first, rest) = first_line_only(out);
            let (_, none) = mpsc::channel();
            (first, none, rest)
        } else {
            let lines = read_lines(out);
            (lines.recv_timeout(TIMEOUT).ok(), lines, None)
        };
        let Some(first) = first else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} printed nothing within {TIMEOUT:?}");
        };
        let bg = Background {
            child,
            lines,
            stdout,
            stderr,
            trusted: None,
        };
        (bg, first)
    }

    /// Sends a signal (INT, TERM, KILL) to the process.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, failing the test after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        self.child
            .wait_timeout(timeout)
            .expect("wait")
            .unwrap_or_else(|| panic!("process did not exit within {timeout:?}"))
    }

    /// The next stdout line (after the first) that contains `needle`,
    /// waiting up to [`TIMEOUT`] in all.
    pub fn line_with(&self, needle: &str) -> String {
        next_line_with(&self.lines, needle, "stdout")
    }

    /// The next stderr line that contains `needle`, waiting up to
    /// [`TIMEOUT`] in all; stderr must be collected.
    pub fn stderr_line(&self, needle: &str) -> String {
        let lines = self.stderr.as_ref().expect("stderr is not collected");
        next_line_with(lines, needle, "stderr")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_line_with(lines: &mpsc::Receiver<String>, needle: &str, what: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(_) => {}
            Err(_) => panic!("no {what} line with {needle:?} within {TIMEOUT:?}"),
        }
    }
}

/// Each line `out` prints, without its end, as it comes (a reader thread).
pub fn read_lines(out: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads the first line of `out` (bounded by [`TIMEOUT`]) and hands back
/// the reader with nothing more taken from the pipe than that line (the
/// process writes nothing else before it is asked to).
fn first_line_only(out: ChildStdout) -> (Option<String>, Option<BufReader<ChildStdout>>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(out);
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        let _ = tx.send((first, reader));
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok((first, reader)) if !first.is_empty() => {
            (Some(first.trim_end().to_string()), Some(reader))
        }
        _ => (None, None),
    }
}

/// A wirecat server to start in the background on a kernel-chosen port:
/// `wirecat serve -p 0 [ARGS] DIR` or `wirecat greet -p 0 [ARGS]`.
pub struct Launch {
    args: Vec<OsString>,
    root: Option<OsString>,
    envs: Vec<(OsString, OsString)>,
    max_open_files: Option<u32>,
    stdout_unread: bool,
    stderr_lines: bool,
    announces: &'static str,
    transport: Transport,
}

/// `wirecat serve -p 0 DIR`, to be given more flags and started.
pub fn serve(dir: impl AsRef<Path>) -> Launch {
    Launch::new(&["serve", "-p", "0"], Some(dir.as_ref()), "Serving ")
}

/// `wirecat greet -p 0`, to be given more flags and started.
pub fn greet() -> Launch {
    Launch::new(&["greet", "-p", "0"], None, "Greeting on ")
}

/// `wirecat chat -p 0`, to be given more flags and started.
pub fn chat() -> Launch {
    Launch::new(&["chat", "-p", "0"], None, "Chatting on ")
}

impl Launch {
    fn new(args: &[&str], root: Option<&Path>, announces: &'static str) -> Launch {
        Launch {
            args: args.iter().map(OsString::from).collect(),
            root: root.map(|r| r.as_os_str().to_owned()),
            envs: Vec::new(),
            max_open_files: None,
            stdout_unread: false,
            stderr_lines: false,
            announces,
            transport: Transport::Plain,
        }
    }

    /// More flags (before the root directory).
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Launch {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Serve over `t`: with [`Transport::Tls`], `--tls`, and the printed
    /// pin trusted by the support clients for as long as the server runs.
    pub fn transport(mut self, t: Transport) -> Launch {
        if t == Transport::Tls {
            self.args.push("--tls".into());
        }
        self.transport = t;
        self
    }

    /// `-v` before the subcommand: log each connection on stderr.
    pub fn verbose(mut self) -> Launch {
        self.args.insert(0, "-v".into());
        self
    }

    /// An environment variable for the server.
    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs the server under `ulimit -n n` (through `sh`).
    pub fn max_open_files(mut self, n: u32) -> Launch {
        self.max_open_files = Some(n);
        self
    }

    /// Leaves stdout unread after the announcement, a pipe that fills up;
    /// the test takes it from [`Background::stdout`].
    pub fn stdout_unread(mut self) -> Launch {
        self.stdout_unread = true;
        self
    }

    /// Collects stderr line by line into [`Background::stderr`].
    pub fn stderr_lines(mut self) -> Launch {
        self.stderr_lines = true;
        self
    }

    /// The command this launches, for a test that runs it another way.
    pub fn command(&self) -> Command {
        let args = self.args.iter().chain(&self.root);
        let mut cmd = match self.max_open_files {
            None => wirecat(),
            Some(n) => {
                let mut sh = Command::new("sh");
                clean_env(&mut sh)
                    .arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(env!("CARGO_BIN_EXE_wirecat"));
                sh
            }
        };
        cmd.args(args);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the server and waits (bounded) for its announcement line.
    pub fn start(&self) -> Server {
        let (bg, announced) =
            Background::spawn(&mut self.command(), self.stdout_unread, self.stderr_lines);
        assert!(
            announced.starts_with(self.announces),
            "unexpected first line: {announced:?}"
        );
        let addr = addr_in(&announced);
        let mut bg = bg;
        bg.trusted = (self.transport == Transport::Tls).then(|| {
            // The startup lines come before any access-log line.
            let fingerprint = bg.line_with("fingerprint ");
            let fingerprint = fingerprint.rsplit(' ').next().unwrap();
            let line = bg.line_with("--pinnedpubkey ");
            let pin = line.rsplit(' ').next().unwrap();
            trust(addr.port(), pin, fingerprint)
        });
        Server {
            addr,
            bg,
            announced,
            transport: self.transport,
        }
    }
}

/// A running server from [`Launch::start`], killed on drop.
pub struct Server {
    pub bg: Background,
    /// Where it listens, from its announcement.
    pub addr: SocketAddr,
    /// Its first stdout line.
    pub announced: String,
    pub transport: Transport,
}

impl Server {
    /// `http://ADDR/PATH` (or `https://`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.transport.scheme(), self.addr)
    }

    /// With TLS, the `sha256//BASE64` pin it printed.
    pub fn pin(&self) -> Option<&str> {
        self.bg.trusted.as_ref().map(|t| t.pin.as_str())
    }

    /// With TLS, the certificate's SHA-256 fingerprint it printed.
    pub fn fingerprint(&self) -> Option<&str> {
        self.bg.trusted.as_ref().map(|t| t.fingerprint.as_str())
    }
}

/// The `host:port` at the end of an announcement such as
/// `Serving www at http://127.0.0.1:41234/`.
pub fn addr_in(line: &str) -> SocketAddr {
    let start = line
        .find("://")
        .map(|i| i + 3)
        .expect("no scheme in announcement");
    let rest = &line[start..];
    let end = rest.find('/').unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
}

//! Shared test helpers: run the real binary with a deadline, hold a
//! background server that is killed on drop, and open sockets with timeouts.
//! Nothing here sleeps to synchronise: servers announce their address on
//! stdout and tests wait for that line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use wait_timeout::ChildExt;

/// Upper bound for any single blocking step in a test.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn wirecat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirecat"));
    cmd.env_remove("RUST_LOG")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` to completion, killing it if it outlives `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
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

/// A background process (a server) killed when dropped.
pub struct Background {
    pub child: Child,
    /// Lines the process printed on stdout after the first, as they come.
    pub lines: mpsc::Receiver<String>,
}

impl Background {
    /// Spawns `cmd` and waits for its first stdout line, which servers use
    /// to announce where they listen; returns it with the handle.
    pub fn start(cmd: &mut Command) -> (Background, String) {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn");
        let lines = read_lines(child.stdout.take().unwrap());
        let first = match lines.recv_timeout(TIMEOUT) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("{cmd:?} printed nothing within {TIMEOUT:?}");
            }
        };
        (Background { child, lines }, first)
    }

    /// Sends a signal (SIGINT, SIGTERM) to the process.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, failing the test after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        self.child
            .wait_timeout(timeout)
            .expect("wait")
            .unwrap_or_else(|| panic!("process did not exit within {timeout:?}"))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(out: ChildStdout) -> mpsc::Receiver<String> {
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

/// A TCP connection with read and write timeouts, so no test can hang.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// What a finished process wrote on stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with the whole of stderr when `needle` is not in it.
pub fn assert_stderr_has(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
}

/// Set (to anything) to make a skipped test fail instead, on a machine
/// where every test is expected to run.
pub const NO_SKIP_ENV: &str = "WIRECAT_TEST_NO_SKIP";

/// Reports the running test as skipped; the caller then returns.
///
/// A plain `eprintln!` would be swallowed: libtest captures the print
/// macros of a test that passes. This writes to the process's stderr
/// itself, which libtest does not capture, so `SKIPPED <test>: <reason>`
/// shows in every `cargo test` run, next to the test's `ok`.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if std::env::var_os(NO_SKIP_ENV).is_some() {
        panic!("{test} cannot run here ({reason}) and {NO_SKIP_ENV} is set");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Whether this machine has an IPv6 loopback (`::1`); some containers do not.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// For a test that needs `::1`: true when it is there, otherwise the test
/// is reported as skipped (see [`skip`]) and should return.
pub fn needs_ipv6() -> bool {
    let there = ipv6_loopback();
    if !there {
        skip("no IPv6 loopback (::1) on this machine");
    }
    there
}

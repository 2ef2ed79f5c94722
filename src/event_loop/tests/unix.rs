//! The loop over Unix-domain stream sockets: accepted and outgoing
//! connections are driven exactly like TCP ones (the echo session does
//! not know the family), the session sees `Peer::Unix`, and a connect to
//! a path nobody listens on fails with the path in the error.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use super::*;

/// Echo sessions for accepted connections and for one outgoing connect
/// to `connect_to`; reports the peers each session was told of and how
/// each connection ended.
struct UnixEcho {
    connect_to: Option<PathBuf>,
    one_shot: bool,
    seen: mpsc::Sender<String>,
}

/// The echo session, noting the addresses it is given.
struct Seen {
    echo: Echo,
    seen: mpsc::Sender<String>,
}

impl Session for Seen {
    fn on_connect(&mut self, local: Peer, peer: Peer, _now: Instant) {
        let _ = self.seen.send(format!("connected {local} {peer}"));
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        assert_eq!(io.peer, Peer::Unix);
        self.echo.drive(io)
    }
}

impl UnixEcho {
    fn session(&self) -> Seen {
        let echo = Echo {
            idle: None,
            echoed: 0,
            deadline: None,
        };
        let seen = self.seen.clone();
        Seen { echo, seen }
    }
}

impl Service for UnixEcho {
    type Session = Seen;

    fn accept(&mut self, peer: Peer, local: Peer) -> Option<Seen> {
        let _ = self.seen.send(format!("accepted {peer} on {local}"));
        Some(self.session())
    }

    fn ended(&mut self, s: Seen, how: Ended) {
        let _ = self.seen.send(format!("ended {} {how:?}", s.echo.echoed));
    }

    fn tick(&mut self, ctl: &mut Control<'_, Seen>) -> bool {
        if let Some(path) = self.connect_to.take() {
            let session = self.session();
            ctl.connect_unix(path, session);
        }
        !self.one_shot
    }
}

fn client(path: &std::path::Path) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    s
}

#[test]
fn echoes_over_an_accepted_unix_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let (listener, _file) = bind_unix(&path).unwrap();
    let shutdown = Shutdown::new();
    let (tx, seen) = mpsc::channel();
    let sd = shutdown.clone();
    let h = thread::spawn(move || {
        let mut lp = EventLoop::new(LoopConfig::default(), sd)?;
        lp.listen(listener)?;
        lp.run(&mut UnixEcho {
            connect_to: None,
            one_shot: false,
            seen: tx,
        })
    });
    // Large enough to take partial writes and backpressure.
    let data = echo_data(2 * 1024 * 1024);
    let got = echo_back(&mut client(&path), &data);
    assert!(got == data, "echo differs");
    assert_eq!(seen.recv_timeout(T).unwrap(), "accepted unix: on unix:");
    assert_eq!(seen.recv_timeout(T).unwrap(), "connected unix: unix:");
    let ended = format!("ended {} Closed", data.len());
    assert_eq!(seen.recv_timeout(T).unwrap(), ended);
    shutdown.request();
    h.join().unwrap().unwrap();
}

/// Runs a loop with no listener that connects to `path` once and stops.
fn run_outgoing(path: PathBuf) -> (mpsc::Receiver<String>, thread::JoinHandle<io::Result<()>>) {
    let (tx, seen) = mpsc::channel();
    let h = thread::spawn(move || {
        let mut lp = EventLoop::new(LoopConfig::default(), Shutdown::new())?;
        lp.run(&mut UnixEcho {
            connect_to: Some(path),
            one_shot: true,
            seen: tx,
        })
    });
    (seen, h)
}

#[test]
fn connects_out_to_a_unix_socket_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let (seen, h) = run_outgoing(path);
    let (mut c, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(T)).unwrap();
    c.write_all(b"over unix q").unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"over unix q");
    assert_eq!(seen.recv_timeout(T).unwrap(), "connected unix: unix:");
    assert_eq!(seen.recv_timeout(T).unwrap(), "ended 11 Closed");
    h.join().unwrap().unwrap();
}

#[test]
fn a_connect_to_a_path_nobody_listens_on_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Absent, and a stale socket file (refused).
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    for path in [dir.path().join("absent.sock"), stale] {
        let (seen, h) = run_outgoing(path.clone());
        let how = seen.recv_timeout(T).unwrap();
        assert!(how.starts_with("ended 0 ConnectFailed"), "{how}");
        assert!(how.contains(&*path.to_string_lossy()), "{how}");
        h.join().unwrap().unwrap();
    }
}

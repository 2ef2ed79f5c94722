//! TlsSession over a real loopback socket: the event loop drives a TLS
//! client session against an in-process rustls server thread on
//! 127.0.0.1:0, with certificates made at test time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wirecat::event_loop::{Ended, EventLoop, Io, LoopConfig, Service, Session, Shutdown, Step};
use wirecat::tls::{client_config, TlsError, TlsSession};

use crate::support::TIMEOUT;
use crate::support::{test_ca, Pki};

/// Sends a request, keeps every byte of the reply, and finishes at EOF
/// (a close-delimited body), or gives up at its deadline.
struct Get {
    request: Vec<u8>,
    sent: bool,
    got: Vec<u8>,
    complete: bool,
    deadline: Instant,
}

impl Session for Get {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if !self.sent {
            io.output.push(self.request.clone());
            self.sent = true;
        }
        self.got.extend_from_slice(io.input.data());
        io.input.consume(io.input.len());
        if io.peer_closed {
            self.complete = true;
            return Step::Close;
        }
        if io.now >= self.deadline {
            return Step::Abort;
        }
        Step::read(Some(self.deadline))
    }
}

/// Starts one connection and keeps it when it ends.
struct OneShot {
    start: Option<(SocketAddr, TlsSession<Get>)>,
    ended: Option<(TlsSession<Get>, String)>,
}

impl Service for OneShot {
    type Session = TlsSession<Get>;

    fn tick(&mut self, ctl: &mut wirecat::event_loop::Control<'_, Self::Session>) -> bool {
        if let Some((addr, session)) = self.start.take() {
            ctl.connect(vec![addr], session);
        }
        false
    }

    fn ended(&mut self, session: Self::Session, how: Ended) {
        self.ended = Some((session, format!("{how:?}")));
    }
}

/// Serves one connection on 127.0.0.1:0: reads a head, sends `body`
/// close-delimited, then ends with or without close_notify.
fn serve_once(config: Arc<rustls::ServerConfig>, body: Vec<u8>, close_notify: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(TIMEOUT)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return, // e.g. the client refused our certificate
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let _ = tls.write_all(&body);
        if close_notify {
            tls.conn.send_close_notify();
        }
        let _ = tls.flush();
        let _ = tls.sock.shutdown(std::net::Shutdown::Write);
        // Wait for the client's close (or its close_notify) before dropping,
        // so the socket is not reset under unread data.
        let _ = tls.sock.read(&mut buf);
    });
    addr
}

fn fetch(pki: &Pki, addr: SocketAddr, host: &str) -> (TlsSession<Get>, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let config = client_config(Some(&ca), false).unwrap();
    let get = Get {
        request: format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
        sent: false,
        got: Vec::new(),
        complete: false,
        deadline: Instant::now() + TIMEOUT,
    };
    let session = TlsSession::new(config, host, get).unwrap();
    let loop_config = LoopConfig {
        connect_timeout: Duration::from_secs(5),
        ..LoopConfig::default()
    };
    let mut lp = EventLoop::new(loop_config, Shutdown::new()).unwrap();
    let mut svc = OneShot {
        start: Some((addr, session)),
        ended: None,
    };
    lp.run(&mut svc).unwrap();
    svc.ended.expect("the connection ended")
}

fn body() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn tls_close_delimited_body_over_loopback() {
    let pki = test_ca();
    let addr = serve_once(pki.server(&["localhost"], 2999), body(), true);
    let (session, how) = fetch(&pki, addr, "localhost");
    assert_eq!(session.error(), None, "{how}");
    assert!(session.clean_close());
    let info = session.info().unwrap();
    assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(info.certificate.unwrap().subject, "CN=localhost");
    let get = session.into_inner();
    assert!(get.complete);
    let head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
    assert!(get.got.starts_with(head));
    assert!(get.got[head.len()..] == body()[..], "body differs");
}

#[test]
fn tls_eof_without_close_notify_is_truncation_over_loopback() {
    let pki = test_ca();
    let addr = serve_once(pki.server(&["localhost"], 2999), body(), false);
    let (session, how) = fetch(&pki, addr, "localhost");
    assert_eq!(session.error(), Some(&TlsError::Truncated), "{how}");
    assert!(!session.inner().complete);
}

#[test]
fn tls_wrong_host_over_loopback() {
    let pki = test_ca();
    let addr = serve_once(pki.server(&["elsewhere.test"], 2999), body(), true);
    let (session, how) = fetch(&pki, addr, "127.0.0.1");
    assert!(
        matches!(session.error(), Some(TlsError::WrongHost(_))),
        "{:?} {how}",
        session.error()
    );
    assert!(session.inner().got.is_empty());
}

//! Raw HTTP over loopback sockets, every blocking call under a timeout:
//! a client that reads responses by their framing or to the close, and
//! in-process servers (an accept loop, and a plain or TLS server answering
//! from a handler and recording each request head).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use wirecat::http::response::try_parse_response;

use super::{Stream, TIMEOUT};

/// A TCP connection with read and write timeouts, so no test can hang.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// Reads until the peer closes (a reset counts as closing: closing with a
/// request unread may reset; so does a TLS stream ending without
/// close_notify); fails if it keeps the connection open past the timeout.
pub fn read_to_close(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof
                ) =>
            {
                return out
            }
            Err(e) => panic!(
                "connection left open ({e}); got {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// An in-process server's accept loop: each connection goes to `handle`
/// on a thread of its own; dropping it stops the loop. Connections are
/// bounded by the handler's socket timeouts.
pub struct Listening {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// An accept loop on 127.0.0.1 port 0 (see [`Listening`]).
pub fn listen(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Listening {
    listen_on(TcpListener::bind("127.0.0.1:0").unwrap(), handle)
}

/// An accept loop on `listener` (see [`Listening`]).
pub fn listen_on(
    listener: TcpListener,
    handle: impl Fn(TcpStream) + Send + Sync + 'static,
) -> Listening {
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(handle);
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let handle = handle.clone();
                std::thread::spawn(move || handle(conn));
            }
        })
    };
    Listening {
        addr,
        stop,
        thread: Some(thread),
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends `raw` in one write on a fresh connection (TLS to a TLS server,
/// see [`Stream::open`]) and reads until the server closes (see
/// [`read_to_close`]).
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut s = Stream::open(addr);
    s.write_all(raw).expect("write");
    read_to_close(&mut s)
}

/// Reads a request head up to its blank line; `None` if the connection
/// ends first. What follows the head stays in `r`.
pub fn read_request_head(r: &mut impl BufRead) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Some(head);
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A whole response read to the close: the head, and all after it as
    /// the body. A server that closes without a response fails here.
    pub fn parse(raw: &[u8], what: &str) -> Resp {
        let (h, n) = try_parse_response(raw, 64 * 1024)
            .expect("valid head")
            .unwrap_or_else(|| panic!("{what}: no response (did the loop die?)"));
        Resp {
            status: h.status,
            headers: h
                .headers
                .iter()
                .map(|x| (x.name.clone(), x.value_lossy().into_owned()))
                .collect(),
            body: raw[n..].to_vec(),
        }
    }
}

/// A client connection that reads responses one at a time, plain or TLS
/// (see [`Stream::open`]).
pub struct Client {
    pub stream: Stream,
    buf: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            stream: Stream::open(addr),
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Reads once more into the buffer; the byte count.
    pub fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk).expect("read (timed out?)");
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Reads one response; `head` says the request was HEAD (no body).
    pub fn response(&mut self, head: bool) -> Resp {
        let (h, n) = loop {
            if let Some(parsed) = try_parse_response(&self.buf, 64 * 1024).expect("valid head") {
                break parsed;
            }
            assert!(self.fill() > 0, "connection closed before a response head");
        };
        self.buf.drain(..n);
        let headers: Vec<(String, String)> = h
            .headers
            .iter()
            .map(|x| (x.name.clone(), x.value_lossy().into_owned()))
            .collect();
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse::<usize>().expect("numeric Content-Length"));
        let body = if head || h.status == 304 {
            Vec::new()
        } else if let Some(len) = len {
            while self.buf.len() < len {
                assert!(self.fill() > 0, "connection closed inside a body");
            }
            self.buf.drain(..len).collect()
        } else {
            while self.fill() > 0 {}
            std::mem::take(&mut self.buf)
        };
        Resp {
            status: h.status,
            headers,
            body,
        }
    }

    /// True when the server closed the connection (EOF, or a reset).
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_)) && self.buf.is_empty()
    }
}

/// One request on a fresh connection; the response read by its framing.
pub fn request(addr: SocketAddr, raw: &str) -> Resp {
    let mut c = Client::new(addr);
    c.send(raw.as_bytes());
    c.response(raw.starts_with("HEAD "))
}

/// `GET path` with `Connection: close` on a fresh connection, the
/// response read by its framing (the client does not wait for the close).
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    )
}

/// `GET path` with `Connection: close` and `extra` header lines (each
/// ending in CRLF), read to the close: the body is all after the head.
pub fn get_to_close(addr: SocketAddr, path: &str, extra: &str) -> Resp {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n");
    Resp::parse(&exchange(addr, req.as_bytes()), &format!("GET {path}"))
}

/// What a test server sends back for one request.
pub struct Reply {
    pub bytes: Vec<u8>,
    /// End the TLS stream with close_notify (ignored for plain servers).
    pub close_notify: bool,
}

pub fn reply(bytes: impl AsRef<[u8]>) -> Reply {
    Reply {
        bytes: bytes.as_ref().to_vec(),
        close_notify: true,
    }
}

type Handler = dyn Fn(&str) -> Reply + Send + Sync;

/// A server on 127.0.0.1:0, plain or TLS, answering every connection from
/// its handler, and recording each request head. It stops accepting when
/// dropped; each connection is bounded by socket timeouts.
pub struct TestServer {
    pub addr: SocketAddr,
    pub tls: bool,
    requests: Arc<Mutex<Vec<String>>>,
    _listening: Listening,
}

impl TestServer {
    pub fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        TestServer::on(listener, tls, handler)
    }

    pub fn on(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let is_tls = tls.is_some();
        let listening = listen_on(listener, move |conn| {
            answer(conn, tls.clone(), &seen, &handler)
        });
        TestServer {
            addr: listening.addr,
            tls: is_tls,
            requests,
            _listening: listening,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// One request on `sock`, plain or TLS: read the head, record it, send
/// the handler's reply, then close the writing side and wait for the client
/// to go, so unread data does not turn the close into a reset.
fn answer(
    sock: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    requests: &Mutex<Vec<String>>,
    handler: &Handler,
) {
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    sock.set_write_timeout(Some(TIMEOUT)).unwrap();
    match tls {
        None => {
            let head = read_request_head(&mut BufReader::new(&sock));
            let Some(head) = head else { return };
            requests.lock().unwrap().push(head.clone());
            let r = handler(&head);
            let _ = (&sock).write_all(&r.bytes);
            let _ = sock.shutdown(std::net::Shutdown::Write);
            let _ = (&sock).read(&mut [0u8; 1024]);
        }
        Some(config) => {
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            // A client that refuses our certificate ends here.
            let Some(head) = read_request_head(&mut BufReader::new(&mut tls)) else {
                return;
            };
            requests.lock().unwrap().push(head.clone());
            let r = handler(&head);
            let _ = tls.write_all(&r.bytes);
            if r.close_notify {
                tls.conn.send_close_notify();
            }
            let _ = tls.flush();
            let _ = tls.sock.shutdown(std::net::Shutdown::Write);
            // Wait for the client to go before dropping, so unread data
            // does not turn our close into a reset.
            let _ = tls.sock.read(&mut [0u8; 1024]);
        }
    }
}

//! [`TlsSession`]: a [`Session`] that wraps another one in TLS. Ciphertext
//! from the loop's input goes into rustls; the plaintext rustls yields goes
//! to the inner session through an `InBuf` of its own; what the inner session
//! queues in its own `Outbox` is encrypted and queued on the loop's output.
//! The inner session cannot tell it is inside TLS, except that the peer's
//! EOF is only shown to it after a close_notify (see [`Truncation`]).

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use super::config::server_name;
use super::error::TlsError;
use super::info::TlsInfo;
use super::server::{is_handshake_start, PLAIN_HTTP_REFUSAL};
use crate::error::Error;
use crate::event_loop::{InBuf, Io, Outbox, Peer, Session, Step};

/// Plaintext moved from the inner session into rustls per step: four
/// full records, so a file body costs one pread(2) and one queued
/// ciphertext buffer per 64 KiB rather than per 16 KiB record.
const SEND_CHUNK: usize = 64 * 1024;
/// Ciphertext queued for the socket before we stop encrypting more:
/// backpressure reaches the inner session through its own `Outbox`.
const CIPHER_CAP: u64 = 256 * 1024;

/// What the inner session sees when the peer closes the connection
/// without sending close_notify first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The inner session never sees that EOF. If it had already finished
    /// (returned `Close`), nothing is wrong; if it was still waiting for
    /// data, the connection is aborted with [`TlsError::Truncated`].
    /// A close-delimited body can therefore never complete without
    /// close_notify (RFC 9112 section 9.8). Note an idle keep-alive
    /// connection the server drops this way also ends as `Truncated`;
    /// the service decides from the inner state whether that matters.
    Abort,
    /// The inner session sees `peer_closed` as on plain TCP, and the
    /// service checks [`TlsSession::truncated`] itself afterwards.
    ShowEof,
}

/// An inner session `S` spoken over TLS on the loop's connection.
pub struct TlsSession<S> {
    /// A client or a server connection; the layer is the same for both.
    conn: Connection,
    /// A server not yet past the first byte: plain HTTP gets a 400.
    sniff: bool,
    inner: S,
    /// Plaintext for the inner session.
    plain_in: InBuf,
    /// Plaintext the inner session queued.
    plain_out: Outbox,
    /// Plaintext taken from `plain_out` that rustls has not accepted yet.
    staged: InBuf,
    truncation: Truncation,
    /// The transport EOF has been passed to rustls.
    eof_fed: bool,
    /// rustls has no more plaintext: `Some(true)` after close_notify,
    /// `Some(false)` after a bare EOF.
    plain_eof: Option<bool>,
    /// The inner session returned `Close`; we flush it, then close_notify.
    inner_closing: bool,
    /// The inner session's last deadline; it also bounds the flush after
    /// the inner session closed.
    deadline: Option<Instant>,
    /// Once set, every later `drive` answers this.
    done: Option<Step>,
    error: Option<TlsError>,
    started: Option<Instant>,
    handshake_time: Option<Duration>,
    /// Ciphertext queued on the loop's output so far.
    cipher_queued: u64,
    /// A server's bound on the handshake, from the first drive; until then
    /// the time allowed ([`TlsSession::with_handshake_timeout`]).
    handshake_limit: Option<Duration>,
    handshake_by: Option<Instant>,
}

impl<S: Session> TlsSession<S> {
    /// Starts a client handshake with `host` (a URL host: brackets of an
    /// IPv6 literal are stripped, IPs are checked against IP SANs).
    pub fn new(config: Arc<ClientConfig>, host: &str, inner: S) -> Result<Self, Error> {
        let name = server_name(host)?;
        let conn = ClientConnection::new(config, name)
            .map_err(|e| Error::Tls(format!("TLS setup for {host}: {e}")))?;
        Ok(Self::over(Connection::Client(conn), inner))
    }

    /// Waits for a client's handshake (`serve --tls`); a first byte that
    /// is not a TLS handshake record is answered with a plain-text 400.
    pub fn server(config: Arc<ServerConfig>, inner: S) -> Result<Self, Error> {
        let conn = ServerConnection::new(config)
            .map_err(|e| Error::Tls(format!("TLS server setup: {e}")))?;
        let mut session = Self::over(Connection::Server(conn), inner);
        session.sniff = true;
        Ok(session)
    }

    fn over(conn: Connection, inner: S) -> Self {
        TlsSession {
            conn,
            sniff: false,
            inner,
            plain_in: InBuf::new(),
            plain_out: Outbox::new(),
            staged: InBuf::new(),
            truncation: Truncation::Abort,
            eof_fed: false,
            plain_eof: None,
            inner_closing: false,
            deadline: None,
            done: None,
            error: None,
            started: None,
            handshake_time: None,
            cipher_queued: 0,
            handshake_limit: None,
            handshake_by: None,
        }
    }

    /// Drops a connection whose handshake is not done `limit` after it
    /// began (a server's answer to a client that stalls mid-handshake).
    pub fn with_handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_limit = Some(limit);
        self
    }

    /// The handshake deadline, while handshaking.
    fn handshake_deadline(&self) -> Option<Instant> {
        self.handshake_by.filter(|_| self.conn.is_handshaking())
    }

    /// Chooses what an EOF without close_notify looks like (default `Abort`).
    pub fn with_truncation(mut self, truncation: Truncation) -> Self {
        self.truncation = truncation;
        self
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Why the connection failed, if TLS is the reason.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The peer ended its side with close_notify.
    pub fn clean_close(&self) -> bool {
        self.plain_eof == Some(true)
    }

    /// The peer closed the connection without close_notify.
    pub fn truncated(&self) -> bool {
        self.plain_eof == Some(false)
    }

    /// From `on_connect` to the end of the handshake.
    pub fn handshake_time(&self) -> Option<Duration> {
        self.handshake_time
    }

    /// Version, cipher suite, ALPN and certificate; `None` before the
    /// handshake is done.
    pub fn info(&self) -> Option<TlsInfo> {
        TlsInfo::of(&self.conn, self.handshake_time)
    }

    /// Records a failure, queues whatever alert rustls has for the peer,
    /// and ends the connection (flushing the alert).
    fn fail(&mut self, e: TlsError, io: &mut Io<'_>) -> Step {
        log::debug!("TLS with {}: {e}", io.peer);
        self.error = Some(e);
        let _ = self.flush_tls(io, 0);
        let step = if io.output.is_empty() {
            Step::Abort
        } else {
            Step::Close
        };
        self.done = Some(step);
        step
    }

    /// Feeds ciphertext to rustls and moves the plaintext it yields to the
    /// inner session, until the input is used up or the inner buffer is full.
    fn pump_in(&mut self, io: &mut Io<'_>) -> Result<(), TlsError> {
        let cap = self.inner.input_cap();
        loop {
            while self.plain_eof.is_none() && self.plain_in.len() < cap {
                let want = cap - self.plain_in.len();
                // Straight from rustls's buffer: no zeroed scratch array
                // (a 16 KiB memset per drive was 3% of a small request).
                let mut reader = self.conn.reader();
                match reader.fill_buf() {
                    Ok([]) => self.plain_eof = Some(true),
                    Ok(chunk) => {
                        let n = chunk.len().min(want);
                        self.plain_in.extend(&chunk[..n]);
                        reader.consume(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        self.plain_eof = Some(false)
                    }
                    Err(e) => return Err(TlsError::Other(e.to_string())),
                }
            }
            if self.plain_eof.is_some() || !self.conn.wants_read() {
                return Ok(());
            }
            if io.input.is_empty() {
                if !io.peer_closed || self.eof_fed {
                    return Ok(());
                }
                // A zero-length read tells rustls the transport ended; it
                // then knows whether that EOF came after close_notify.
                self.conn.read_tls(&mut io::empty()).map_err(other)?;
                self.eof_fed = true;
                if self.conn.is_handshaking() {
                    return Err(TlsError::Other(
                        "connection closed during the handshake".to_string(),
                    ));
                }
            } else {
                let mut data = io.input.data();
                let n = self.conn.read_tls(&mut data).map_err(other)?;
                io.input.consume(n);
            }
            self.conn
                .process_new_packets()
                .map_err(|e| TlsError::from_rustls(&e))?;
        }
    }

    /// Encrypts what the inner session queued, while the loop's output has
    /// room, and queues all ciphertext rustls has for the peer.
    fn pump_out(&mut self, io: &mut Io<'_>) -> Result<(), TlsError> {
        while io.output.pending() < CIPHER_CAP {
            if self.staged.is_empty() {
                self.staged
                    .fill_from(&mut self.plain_out, SEND_CHUNK)
                    .map_err(|e| TlsError::Other(format!("reading data to send: {e}")))?;
                if self.staged.is_empty() {
                    break;
                }
            }
            let n = self
                .conn
                .writer()
                .write(self.staged.data())
                .map_err(other)?;
            self.staged.consume(n);
            self.flush_tls(io, n)?;
            if n == 0 {
                // rustls holds all it will before the handshake ends.
                break;
            }
        }
        self.flush_tls(io, 0)
    }

    /// Queues all ciphertext rustls has, `plain` bytes of fresh plaintext
    /// among it, in one buffer sized up front and taken from the loop's
    /// spares: a fresh, growing `Vec` per flush cost page faults and
    /// reallocating copies (40% of the CPU of a 1 MiB download).
    fn flush_tls(&mut self, io: &mut Io<'_>, plain: usize) -> Result<(), TlsError> {
        if !self.conn.wants_write() {
            return Ok(());
        }
        let mut out = io.output.spare(cipher_size(plain));
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).map_err(other)?;
        }
        self.cipher_queued += out.len() as u64;
        io.output.push(out);
        Ok(())
    }

    fn drive_inner(&mut self, io: &mut Io<'_>) -> Step {
        let eof_shown = match self.plain_eof {
            Some(clean) => clean || self.truncation == Truncation::ShowEof,
            None => false,
        };
        let mut inner_io = Io {
            input: &mut self.plain_in,
            output: &mut self.plain_out,
            peer_closed: eof_shown,
            shutting_down: io.shutting_down,
            now: io.now,
            peer: io.peer,
        };
        self.inner.drive(&mut inner_io)
    }

    /// The inner session is done: send what it queued, then close_notify
    /// (RFC 8446 section 6.1), then close.
    fn close(&mut self, io: &mut Io<'_>) -> Step {
        if let Err(e) = self.pump_out(io) {
            return self.fail(e, io);
        }
        // Before the handshake ends rustls only holds the plaintext, so
        // closing then would lose it.
        if self.plaintext_out_pending() || self.conn.is_handshaking() {
            if self.deadline.is_some_and(|d| io.now >= d) {
                self.done = Some(Step::Abort);
                return Step::Abort;
            }
            // The loop drives us again once the output drains; rustls
            // takes no plaintext until the handshake is done.
            return Step::Wait {
                read: self.conn.is_handshaking(),
                deadline: self.deadline.or(self.handshake_deadline()),
            };
        }
        self.conn.send_close_notify();
        if let Err(e) = self.flush_tls(io, 0) {
            return self.fail(e, io);
        }
        self.done = Some(Step::Close);
        Step::Close
    }

    /// A server's checks before any TLS: the handshake deadline, and plain
    /// HTTP on the TLS port (answered with a plain-text 400).
    fn server_checks(&mut self, io: &mut Io<'_>) -> Option<Step> {
        if let Some(limit) = self.handshake_limit.take() {
            self.handshake_by = Some(self.started.unwrap_or(io.now) + limit);
        }
        if self.handshake_deadline().is_some_and(|d| io.now >= d) {
            return Some(self.fail(TlsError::Other("handshake too slow".into()), io));
        }
        if self.sniff && !io.input.is_empty() {
            self.sniff = false;
            if !is_handshake_start(io.input.data()[0]) {
                log::debug!("plain HTTP from {} on the TLS port", io.peer);
                io.input.consume(io.input.len());
                io.output.push(PLAIN_HTTP_REFUSAL);
                self.done = Some(Step::Close);
                return Some(Step::Close);
            }
        }
        None
    }

    fn plaintext_out_pending(&self) -> bool {
        !self.staged.is_empty() || !self.plain_out.is_empty()
    }
}

/// Room for the records carrying `plain` bytes: TLS 1.3 adds 22 bytes to
/// each record of at most 16 KiB (header, content type, AEAD tag), TLS 1.2
/// 29; a margin covers the odd handshake message or alert queued beside.
fn cipher_size(plain: usize) -> usize {
    const RECORD: usize = 16 * 1024;
    const OVERHEAD: usize = 32;
    plain + plain.div_ceil(RECORD) * OVERHEAD + 256
}

fn other(e: io::Error) -> TlsError {
    TlsError::Other(e.to_string())
}

impl<S: Session> Session for TlsSession<S> {
    fn on_connect(&mut self, local: Peer, peer: Peer, now: Instant) {
        self.started = Some(now);
        self.inner.on_connect(local, peer, now);
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if let Some(step) = self.done {
            return step;
        }
        if let Some(step) = self.server_checks(io) {
            return step;
        }
        // Rounds repeat while the inner session makes room for plaintext
        // that is already here, so nothing waits for a readiness event
        // that will never come. They end, since each round eats bytes
        // that are already here.
        loop {
            if let Err(e) = self.pump_in(io) {
                return self.fail(e, io);
            }
            if self.handshake_time.is_none() && !self.conn.is_handshaking() {
                self.handshake_time = Some(self.started.map_or(Duration::ZERO, |t| io.now - t));
            }
            if self.inner_closing {
                return self.close(io);
            }
            let before = self.plain_in.len();
            let step = self.drive_inner(io);
            if let Err(e) = self.pump_out(io) {
                return self.fail(e, io);
            }
            match step {
                Step::Abort => {
                    self.done = Some(Step::Abort);
                    return Step::Abort;
                }
                Step::Close => {
                    self.inner_closing = true;
                    return self.close(io);
                }
                Step::Wait { read, deadline } => {
                    self.deadline = deadline;
                    let starved = read || self.plain_in.is_empty();
                    if self.truncated() && self.truncation == Truncation::Abort && starved {
                        return self.fail(TlsError::Truncated, io);
                    }
                    if self.plain_in.len() < before {
                        continue;
                    }
                    let deadline = match (deadline, self.handshake_deadline()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    return Step::Wait {
                        read: read || self.conn.is_handshaking(),
                        deadline,
                    };
                }
            }
        }
    }

    fn input_cap(&self) -> usize {
        self.inner.input_cap().max(64 * 1024)
    }

    fn send_timeout(&self) -> Option<Duration> {
        self.inner.send_timeout()
    }

    /// The inner session is told how much of its plaintext rustls took,
    /// or, when not all ciphertext reached the kernel, at most `written`
    /// (records are larger than the plaintext they carry).
    fn on_close(&mut self, written: u64) {
        let plain = self.plain_out.written() - self.staged.len() as u64;
        let sent = if written >= self.cipher_queued {
            plain
        } else {
            plain.min(written)
        };
        self.inner.on_close(sent);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event_loop::testing::Wire;
    use crate::tls::client_config;
    use crate::tls::test_pki::{server_config, Leaf, Pki};
    use rustls::ServerConnection;
    use std::io::Read;
    use std::net::SocketAddr;

    /// A client config trusting `pki`'s CA (through a real `--cacert` file).
    trait Trusting {
        fn client(&self) -> Arc<ClientConfig>;
    }

    impl Trusting for Pki {
        fn client(&self) -> Arc<ClientConfig> {
            let dir = tempfile::tempdir().unwrap();
            client_config(Some(&self.ca_file(dir.path())), false).unwrap()
        }
    }

    /// A plaintext session that sends `send` at once, keeps what it gets,
    /// and closes on EOF or after `close_after` bytes.
    #[derive(Default)]
    struct Recorder {
        send: Vec<u8>,
        sent: bool,
        got: Vec<u8>,
        eof: bool,
        close_after: Option<usize>,
        /// Consume at most this much per drive (0: all).
        per_drive: usize,
        cap: usize,
    }

    impl Session for Recorder {
        fn drive(&mut self, io: &mut Io<'_>) -> Step {
            if !self.sent {
                io.output.push(self.send.clone());
                self.sent = true;
            }
            let n = match self.per_drive {
                0 => io.input.len(),
                k => k.min(io.input.len()),
            };
            self.got.extend_from_slice(&io.input.data()[..n]);
            io.input.consume(n);
            if self.close_after.is_some_and(|c| self.got.len() >= c) {
                return Step::Close;
            }
            if io.peer_closed && io.input.is_empty() {
                self.eof = true;
                return Step::Close;
            }
            Step::read(None)
        }

        fn input_cap(&self) -> usize {
            if self.cap == 0 {
                64 * 1024
            } else {
                self.cap
            }
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum End {
        CloseNotify,
        /// The transport ends with no close_notify.
        Bare,
        Open,
    }

    /// A TlsSession and an in-memory rustls server, pumped the way the
    /// event loop would: `drive` only after new input, EOF or drained
    /// output, and input only while the session asks to read.
    struct Pair {
        tls: TlsSession<Recorder>,
        /// The loop's side: the ciphertext buffers and the peer's EOF.
        wire: Wire,
        server: ServerConnection,
        to_client: Vec<u8>,
        server_got: Vec<u8>,
        server_error: Option<rustls::Error>,
        server_saw_close_notify: bool,
        reply: Vec<u8>,
        /// The server replies once it has this much plaintext.
        reply_after: usize,
        replied: bool,
        end: End,
        step: Step,
        /// Bytes of ciphertext delivered per read, both ways.
        chunk: usize,
        drives: usize,
        /// Length and capacity of every large ciphertext buffer queued.
        cipher_buffers: Vec<(usize, usize)>,
    }

    impl Pair {
        fn new(client: Arc<ClientConfig>, host: &str, server: Arc<rustls::ServerConfig>) -> Pair {
            let inner = Recorder {
                send: b"hello".to_vec(),
                ..Recorder::default()
            };
            let mut server = ServerConnection::new(server).unwrap();
            server.set_buffer_limit(None);
            Pair {
                tls: TlsSession::new(client, host, inner).unwrap(),
                wire: Wire::with_peer(SocketAddr::from(([127, 0, 0, 1], 443))),
                server,
                to_client: Vec::new(),
                server_got: Vec::new(),
                server_error: None,
                server_saw_close_notify: false,
                reply: b"world".to_vec(),
                reply_after: 5,
                replied: false,
                end: End::CloseNotify,
                step: Step::read(None),
                chunk: usize::MAX,
                drives: 0,
                cipher_buffers: Vec::new(),
            }
        }

        fn drive(&mut self) {
            self.wire.now = Instant::now();
            self.step = self.wire.drive(&mut self.tls);
            self.drives += 1;
        }

        fn serve(&mut self) {
            for c in self.wire.output.chunks() {
                if let crate::event_loop::Chunk::Bytes { data, .. } = c {
                    if data.len() > 16 * 1024 {
                        self.cipher_buffers.push((data.len(), data.capacity()));
                    }
                }
            }
            self.wire.flush();
            let bytes = self.wire.take_sent();
            for piece in bytes.chunks(self.chunk.min(bytes.len().max(1))) {
                let mut s = piece;
                while !s.is_empty() && self.server_error.is_none() {
                    self.server.read_tls(&mut s).unwrap();
                    if let Err(e) = self.server.process_new_packets() {
                        self.server_error = Some(e);
                    }
                    self.server_read();
                }
            }
            self.server_read();
            if !self.replied
                && !self.server.is_handshaking()
                && self.server_got.len() >= self.reply_after
            {
                self.server.writer().write_all(&self.reply).unwrap();
                if self.end == End::CloseNotify {
                    self.server.send_close_notify();
                }
                self.replied = true;
            }
            while self.server.wants_write() {
                self.server.write_tls(&mut self.to_client).unwrap();
            }
        }

        fn server_read(&mut self) {
            let mut buf = [0u8; 16384];
            loop {
                match self.server.reader().read(&mut buf) {
                    Ok(0) => {
                        self.server_saw_close_notify = true;
                        break;
                    }
                    Ok(n) => self.server_got.extend_from_slice(&buf[..n]),
                    Err(_) => break,
                }
            }
        }

        fn run(&mut self) {
            self.drive();
            for _ in 0..1_000_000 {
                let had_output = !self.wire.output.is_empty();
                self.serve();
                if !matches!(self.step, Step::Wait { .. }) {
                    return;
                }
                let mut dirty = had_output; // "output drained"
                let wants = matches!(self.step, Step::Wait { read: true, .. });
                if wants && self.wire.input.len() < self.tls.input_cap() {
                    if !self.to_client.is_empty() {
                        let room = self.tls.input_cap() - self.wire.input.len();
                        let n = self.chunk.min(self.to_client.len()).min(room);
                        self.wire.input.extend(&self.to_client[..n]);
                        self.to_client.drain(..n);
                        dirty = true;
                    } else if self.replied && self.end != End::Open && !self.wire.peer_closed {
                        self.wire.peer_closed = true;
                        dirty = true;
                    }
                }
                if !dirty {
                    return;
                }
                self.drive();
            }
            panic!("no end in sight");
        }
    }

    fn good_pair(host: &str) -> Pair {
        let pki = Pki::new("wirecat test CA");
        let leaf = pki.leaf(&["localhost", "127.0.0.1", "::1"], 4000);
        Pair::new(pki.client(), host, server_config(&leaf, false))
    }

    #[test]
    fn good_certificate_data_both_ways_and_clean_close() {
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            let mut p = good_pair(host);
            p.run();
            assert_eq!(p.tls.error(), None, "{host}");
            assert_eq!(p.server_got, b"hello");
            assert_eq!(p.tls.inner().got, b"world");
            assert!(p.tls.inner().eof, "the inner session saw the clean EOF");
            assert!(p.tls.clean_close() && !p.tls.truncated());
            assert_eq!(p.step, Step::Close);
            assert!(p.server_saw_close_notify, "we answered with close_notify");
        }
    }

    #[test]
    fn info_after_the_handshake() {
        for (tls12, version) in [(false, "TLSv1.3"), (true, "TLSv1.2")] {
            let pki = Pki::new("wirecat test CA");
            let leaf = pki.leaf(&["localhost"], 4000);
            let mut p = Pair::new(pki.client(), "localhost", server_config(&leaf, tls12));
            assert!(p.tls.info().is_none());
            assert!(p.tls.is_handshaking());
            p.tls.on_connect(
                Peer::Tcp(SocketAddr::from(([127, 0, 0, 1], 1))),
                Peer::Tcp(SocketAddr::from(([127, 0, 0, 1], 2))),
                Instant::now(),
            );
            p.run();
            let info = p.tls.info().unwrap();
            assert_eq!(info.version, version);
            assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
            assert!(!info.cipher_suite.is_empty());
            let cert = info.certificate.unwrap();
            assert_eq!(cert.subject, "CN=localhost");
            assert_eq!(cert.issuer, "CN=wirecat test CA");
            assert!(p.tls.handshake_time().is_some());
        }
    }

    #[test]
    fn certificate_failures_are_classified() {
        let pki = Pki::new("wirecat test CA");
        let stranger = Pki::new("someone else's CA");
        let cases: Vec<(&str, Leaf, &str, &str)> = vec![
            (
                "wrong host",
                pki.leaf(&["other.test"], 4000),
                "localhost",
                "wrong-host",
            ),
            (
                "wrong IP",
                pki.leaf(&["127.0.0.2"], 4000),
                "127.0.0.1",
                "wrong-host",
            ),
            (
                "expired",
                pki.leaf(&["localhost"], 2001),
                "localhost",
                "expired",
            ),
            (
                "untrusted issuer",
                stranger.leaf(&["localhost"], 4000),
                "localhost",
                "unknown-issuer",
            ),
        ];
        for (what, leaf, host, class) in cases {
            let mut p = Pair::new(pki.client(), host, server_config(&leaf, false));
            p.run();
            let err = p.tls.error().unwrap_or_else(|| panic!("{what}: accepted"));
            assert_eq!(err.class(), class, "{what}: {err:?}");
            assert_ne!(p.step, Step::read(None), "{what}: still open");
            assert!(p.server_got.is_empty(), "{what}: plaintext leaked");
            assert!(p.tls.inner().got.is_empty(), "{what}");
            assert!(
                p.server_error.is_some(),
                "{what}: the server was told by an alert"
            );
            // Idempotent once failed.
            let step = p.step;
            p.drive();
            assert_eq!(p.step, step);
        }
    }

    #[test]
    fn insecure_accepts_any_certificate() {
        let stranger = Pki::new("someone else's CA");
        let leaf = stranger.leaf(&["other.test"], 2001);
        let mut p = Pair::new(
            client_config(None, true).unwrap(),
            "localhost",
            server_config(&leaf, false),
        );
        p.run();
        assert_eq!(p.tls.error(), None);
        assert_eq!(p.tls.inner().got, b"world");
    }

    #[test]
    fn mozilla_roots_do_not_trust_a_private_ca() {
        let pki = Pki::new("wirecat test CA");
        let leaf = pki.leaf(&["localhost"], 4000);
        let mut p = Pair::new(
            client_config(None, false).unwrap(),
            "localhost",
            server_config(&leaf, false),
        );
        p.run();
        assert!(matches!(p.tls.error(), Some(TlsError::UnknownIssuer(_))));
    }

    #[test]
    fn eof_without_close_notify_is_a_truncation() {
        let mut p = good_pair("localhost");
        p.end = End::Bare;
        p.run();
        assert_eq!(p.tls.error(), Some(&TlsError::Truncated));
        assert_eq!(p.step, Step::Abort);
        assert!(p.tls.truncated() && !p.tls.clean_close());
        assert_eq!(p.tls.inner().got, b"world", "the data itself arrived");
        assert!(!p.tls.inner().eof, "but never looked complete");
    }

    #[test]
    fn truncation_after_the_inner_session_finished_is_harmless() {
        let mut p = good_pair("localhost");
        p.end = End::Bare;
        p.tls.inner_mut().close_after = Some(5);
        p.run();
        assert_eq!(p.tls.error(), None);
        assert_eq!(p.step, Step::Close);
    }

    #[test]
    fn show_eof_policy_passes_the_bare_eof_on() {
        let pki = Pki::new("wirecat test CA");
        let leaf = pki.leaf(&["localhost"], 4000);
        let mut p = Pair::new(pki.client(), "localhost", server_config(&leaf, false));
        p.tls = TlsSession::new(
            pki.client(),
            "localhost",
            Recorder {
                send: b"hello".to_vec(),
                ..Recorder::default()
            },
        )
        .unwrap()
        .with_truncation(Truncation::ShowEof);
        p.end = End::Bare;
        p.run();
        assert_eq!(p.tls.error(), None);
        assert!(p.tls.inner().eof);
        assert!(p.tls.truncated(), "the service can still tell");
    }

    #[test]
    fn eof_during_the_handshake_is_an_error() {
        let mut p = good_pair("localhost");
        p.drive();
        p.wire.peer_closed = true;
        p.drive();
        assert!(matches!(p.tls.error(), Some(TlsError::Other(m)) if m.contains("handshake")));
        assert!(!matches!(p.step, Step::Wait { .. }));
    }

    #[test]
    fn garbage_from_the_server_is_an_error_not_a_panic() {
        let mut p = good_pair("localhost");
        p.drive();
        p.wire.input.extend(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        p.drive();
        assert!(matches!(p.tls.error(), Some(TlsError::PlainHttp)));
        assert_ne!(p.step, Step::read(None));
    }

    #[test]
    fn byte_at_a_time_both_ways() {
        let mut p = good_pair("localhost");
        p.chunk = 1;
        p.reply = (0..3000u32).map(|i| i as u8).collect();
        p.run();
        assert_eq!(p.tls.error(), None);
        assert_eq!(p.tls.inner().got, p.reply);
        assert!(p.tls.clean_close());
    }

    #[test]
    fn large_transfers_with_a_slow_small_inner_session() {
        let mut p = good_pair("localhost");
        let request: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        p.tls.inner_mut().send = request.clone();
        p.tls.inner_mut().per_drive = 1000;
        p.tls.inner_mut().cap = 4096;
        p.reply = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        p.reply_after = request.len();
        p.chunk = 20_000;
        p.run();
        assert_eq!(p.tls.error(), None);
        assert_eq!(p.server_got.len(), request.len());
        assert!(p.server_got == request);
        assert_eq!(p.tls.inner().got.len(), p.reply.len());
        assert!(p.tls.inner().got == p.reply);
        assert!(p.tls.clean_close());
    }

    #[test]
    fn inner_close_flushes_its_data_then_close_notify() {
        let mut p = good_pair("localhost");
        let request = vec![b'x'; 600_000];
        p.tls.inner_mut().send = request.clone();
        p.tls.inner_mut().close_after = Some(0);
        p.reply_after = usize::MAX;
        p.end = End::Open;
        p.run();
        assert_eq!(p.step, Step::Close);
        assert_eq!(p.server_got.len(), request.len());
        assert!(p.server_saw_close_notify);
        assert_eq!(p.tls.error(), None);
    }

    /// Bulk ciphertext goes into buffers sized up front: none grew (a
    /// growing `Vec` doubles past the estimate), in TLS 1.3 and 1.2.
    #[test]
    fn ciphertext_buffers_are_sized_up_front() {
        for tls12 in [false, true] {
            let pki = Pki::new("wirecat test CA");
            let leaf = pki.leaf(&["localhost"], 4000);
            let mut p = Pair::new(pki.client(), "localhost", server_config(&leaf, tls12));
            p.tls.inner_mut().send = vec![b'x'; 600_000];
            p.reply_after = 600_000;
            p.run();
            assert_eq!(p.server_got.len(), 600_000);
            assert!(p.cipher_buffers.len() >= 9, "{:?}", p.cipher_buffers);
            for &(len, capacity) in &p.cipher_buffers {
                assert!(len <= capacity && capacity <= cipher_size(SEND_CHUNK));
                assert!(len > SEND_CHUNK, "whole 64 KiB chunks: {len}");
            }
        }
    }

    #[test]
    fn inner_close_before_the_handshake_ends_still_delivers() {
        for request in [b"GET / HTTP/1.1\r\n\r\n".to_vec(), Vec::new()] {
            let mut p = good_pair("localhost");
            p.tls.inner_mut().send = request.clone();
            p.tls.inner_mut().close_after = Some(0);
            p.reply_after = usize::MAX;
            p.end = End::Open;
            p.run();
            assert_eq!(p.step, Step::Close);
            assert_eq!(p.server_got, request);
            assert!(p.server_saw_close_notify);
            assert!(!p.server.is_handshaking());
        }
    }

    #[test]
    fn idle_drives_change_nothing() {
        let mut p = good_pair("localhost");
        p.end = End::Open;
        p.run();
        assert_eq!(p.tls.inner().got, b"world");
        for _ in 0..3 {
            p.drive();
            assert_eq!(p.step, Step::read(None));
            assert!(p.wire.output.is_empty());
        }
    }
}

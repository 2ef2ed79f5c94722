//! One connection of a download, as the event loop sees it: an optional
//! CONNECT tunnel through a proxy, then TLS for https, then the
//! [`FetchSession`] speaking HTTP. [`open`] is the one place sessions are
//! made and wrapped; [`Conn::finish`] unwraps them and puts the layers'
//! failures (proxy refusal, certificate, truncation) in the job's result.
//! Sans-IO like the layers it stacks.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::connect_rules::{unix_failure, SocketFile};
use super::ending::{self, Ending};
use super::headers::Printer;
use super::job::Job;
use super::pool::SharedPool;
use super::proxy::{Tunnel, TunnelState};
use super::session::FetchSession;
use crate::error::{Error, Result};
use crate::event_loop::{Ended, Io, Peer, Session, Step};
use crate::tls::{MaybeTls, TlsError};

/// Where the connection stands below the HTTP exchange.
enum Stage {
    /// A CONNECT exchange runs before the inner session starts.
    Tunnel(Connecting),
    /// Bytes pass to the inner session (TLS, then HTTP).
    Through,
    /// The tunnel failed; this error explains the ending.
    Failed(Error),
}

/// The CONNECT exchange still to run before the inner session starts.
struct Connecting {
    tunnel: Tunnel,
    request: Request,
    /// Our and the proxy's address, passed on once the tunnel is open, so
    /// TLS and connect timings start there.
    addrs: Option<(Peer, Peer)>,
    deadline: Option<Instant>,
}

/// The CONNECT request: still to queue, or queued and awaiting the reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Request {
    Unsent,
    Sent,
}

pub struct Conn {
    stage: Stage,
    session: MaybeTls<FetchSession>,
    /// `-v`: the CONNECT exchange and the TLS parameters go in the transcript.
    printer: Printer,
    /// `--unix-socket`: a failed connect names this path and what is there.
    unix: Option<PathBuf>,
}

/// The connection for the job's current hop: through its proxy, in TLS
/// for https. `pool`: where the session finds the next job for a
/// kept-alive connection and leaves finished ones.
pub fn open(job: Job, pool: SharedPool) -> Result<Conn> {
    let target = job.target.clone();
    let config = job.config.clone();
    let stage = match (&target.via, target.is_https()) {
        (Some(proxy), true) => Stage::Tunnel(Connecting {
            tunnel: Tunnel::new(&target.host, target.port, proxy),
            request: Request::Unsent,
            addrs: None,
            deadline: config
                .read_timeout
                .into_iter()
                .chain(config.max_time)
                .min()
                .map(|d| Instant::now() + d),
        }),
        _ => Stage::Through,
    };
    let inner = FetchSession::new(job, pool);
    let session = if target.is_https() {
        let tls = match &config.web.tls {
            Some(t) => t.clone(),
            None => crate::tls::client_config(None, false)?,
        };
        let host = target.url.host_str().unwrap_or(&target.host);
        MaybeTls::tls(tls, host, inner)?
    } else {
        MaybeTls::Plain(inner)
    };
    Ok(Conn {
        stage,
        session,
        printer: config.printer,
        unix: config.web.connect.unix_socket.clone(),
    })
}

impl Conn {
    /// Hands the job back with how the exchange went. A proxy's refusal
    /// or a TLS failure explains a connection that ended early better than
    /// "connection closed" does.
    pub fn finish(self, how: Ended, interrupted: bool) -> (Job, Result<Ending>) {
        let info = self.session.as_tls().and_then(|t| t.info());
        let tls_error = self.session.tls_error().cloned();
        let unix = self.unix.as_deref().and_then(|p| unix_refused(p, &how));
        let (mut job, result) = self.session.into_inner().finish(how, interrupted);
        let failed = match self.stage {
            Stage::Failed(e) => Some(e),
            _ => None,
        };
        job.close_hop(Instant::now(), info);
        let result = match (result, failed, tls_error) {
            (Err(_), Some(e), _) => Err(e),
            (Err(Error::Interrupted), _, _) => Err(Error::Interrupted),
            // Where the data stopped is the inner session's to say.
            (Err(Error::Protocol(m)), None, Some(TlsError::Truncated)) => Err(Error::Protocol(
                format!("{m}, without TLS close_notify: the data may be truncated"),
            )),
            (Err(_), None, Some(TlsError::PlainHttp)) => {
                let mut plain = job.url().clone();
                let _ = plain.set_scheme("http");
                Err(ending::at(
                    job.url(),
                    Error::Tls(format!("the server answered in plain HTTP; try {plain}")),
                ))
            }
            (Err(_), None, Some(t)) => Err(ending::at(job.url(), Error::from(t))),
            (r, _, _) => r,
        };
        let result = match (result, unix) {
            (Err(Error::Connect(_)), Some(m)) => Err(ending::at(job.url(), Error::Connect(m))),
            (r, _) => r,
        };
        (job, result)
    }

    /// Runs the CONNECT exchange: `Some(step)` while it is under way,
    /// `None` once the tunnel is open (or when there is none).
    fn tunnel(&mut self, io: &mut Io<'_>) -> Result<Option<Step>> {
        let Stage::Tunnel(c) = &mut self.stage else {
            return Ok(None);
        };
        if io.shutting_down {
            return Err(Error::Interrupted);
        }
        if c.request == Request::Unsent {
            let request = c.tunnel.request();
            self.printer.request(&request);
            io.output.push(request);
            c.request = Request::Sent;
        }
        match c.tunnel.reply(io.input.data(), io.peer_closed)? {
            TunnelState::Waiting => {
                if c.deadline.is_some_and(|d| io.now >= d) {
                    return Err(Error::Timeout(format!(
                        "proxy {} did not answer CONNECT {} in time",
                        c.tunnel.proxy, c.tunnel.authority
                    )));
                }
                Ok(Some(Step::read(c.deadline)))
            }
            TunnelState::Open(n) => {
                self.printer.passing_head(&io.input.data()[..n]);
                io.input.consume(n);
                log::info!(
                    "tunnel to {} open via {}",
                    c.tunnel.authority,
                    c.tunnel.proxy
                );
                if let Some((local, peer)) = c.addrs {
                    self.session.on_connect(local, peer, io.now);
                }
                self.stage = Stage::Through;
                Ok(None)
            }
        }
    }
}

/// The message for a connect to the Unix socket at `path` that failed
/// (a timeout keeps the session's own words).
fn unix_refused(path: &Path, how: &Ended) -> Option<String> {
    match how {
        Ended::ConnectFailed(e) if e.kind() != io::ErrorKind::TimedOut => {
            Some(unix_failure(path, e, SocketFile::at(path)))
        }
        _ => None,
    }
}

impl Session for Conn {
    fn on_connect(&mut self, local: Peer, peer: Peer, now: Instant) {
        match &mut self.stage {
            Stage::Tunnel(c) => c.addrs = Some((local, peer)),
            Stage::Through => self.session.on_connect(local, peer, now),
            Stage::Failed(_) => {}
        }
    }

    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        if matches!(self.stage, Stage::Failed(_)) {
            return Step::Abort;
        }
        match self.tunnel(io) {
            Ok(Some(step)) => return step,
            Ok(None) => {}
            Err(e) => {
                self.stage = Stage::Failed(e);
                return Step::Abort;
            }
        }
        let handshaking = self.session.as_tls().is_some_and(|t| t.is_handshaking());
        let step = self.session.drive(io);
        if handshaking {
            if let Some(info) = self.session.as_tls().and_then(|t| t.info()) {
                if self.printer.verbose {
                    let prefix = match self.session.inner().label() {
                        Some(n) => format!("#{n} * "),
                        None => "* ".into(),
                    };
                    let _ = info.write_to(&mut std::io::stderr().lock(), &prefix);
                }
                // Before any response can have come (the server answers a
                // request sent after the handshake), so before the session
                // hands the connection on: every download it carries
                // reports the connection's facts.
                self.session.inner_mut().secured(info);
            }
        }
        step
    }

    fn input_cap(&self) -> usize {
        self.session.input_cap()
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::client::config::ClientConfig;
    use crate::client::pool::Pool;
    use crate::client::proxy::ProxyConfig;
    use crate::client::target::parse_url;
    use crate::event_loop::testing::Wire;

    /// The loop's side of a connection to the proxy.
    fn wire() -> Wire {
        Wire::with_peer("127.0.0.1:3128".parse().unwrap())
    }

    /// What the connection queued since the last look.
    fn sent(w: &mut Wire) -> Vec<u8> {
        w.flush();
        w.take_sent()
    }

    /// Opens a connection with a pool of its own.
    fn open_plain(job: Job) -> Result<Conn> {
        open(job, Pool::shared(Vec::new()))
    }

    fn job(url: &str, proxy: &str) -> Job {
        let mut config = ClientConfig::for_tests();
        config.web.proxy = ProxyConfig::resolve(Some(proxy), None, |_| None).unwrap();
        let mut job = Job::new(Rc::new(config), parse_url(url).unwrap(), Instant::now()).unwrap();
        job.target.route(&job.config.web.proxy);
        job
    }

    #[test]
    fn https_through_a_proxy_connects_first_then_speaks_tls() {
        let mut conn = open_plain(job("https://h.test:8443/x", "127.0.0.1:3128")).unwrap();
        let mut w = wire();
        assert!(matches!(w.drive(&mut conn), Step::Wait { read: true, .. }));
        let req = sent(&mut w);
        assert!(
            req.starts_with(b"CONNECT h.test:8443 HTTP/1.1\r\n"),
            "{req:?}"
        );
        assert!(req.ends_with(b"\r\n\r\n"));
        w.input.extend(b"HTTP/1.1 200 OK\r\n\r\n");
        w.drive(&mut conn);
        let hello = sent(&mut w);
        assert_eq!(hello[0], 0x16, "a TLS handshake record follows the tunnel");
        assert!(w.input.is_empty());
    }

    #[test]
    fn https_to_an_ipv6_literal_opens_without_brackets_in_the_name() {
        let mut config = ClientConfig::for_tests();
        config.web.tls = Some(crate::tls::client_config(None, true).unwrap());
        let url = parse_url("https://[::1]:8443/").unwrap();
        let job = Job::new(Rc::new(config), url, Instant::now()).unwrap();
        let conn = open_plain(job).unwrap();
        assert!(conn.session.as_tls().is_some());
        assert!(matches!(conn.stage, Stage::Through));
    }

    #[test]
    fn a_refused_tunnel_is_the_jobs_error() {
        let mut conn = open_plain(job("https://h.test/", "127.0.0.1:3128")).unwrap();
        let mut w = wire();
        w.drive(&mut conn);
        w.input
            .extend(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
        assert_eq!(w.drive(&mut conn), Step::Abort);
        let (_, res) = conn.finish(Ended::Closed, false);
        let err = res.unwrap_err();
        assert!(err.to_string().contains("407"), "{err}");
        assert_eq!(err.exit_code(), 4);
    }

    #[test]
    fn plain_http_through_a_proxy_asks_for_the_absolute_url() {
        let mut conn = open_plain(job("http://h.test/a?b", "127.0.0.1:3128")).unwrap();
        let mut w = wire();
        w.drive(&mut conn);
        let req = sent(&mut w);
        assert!(req.starts_with(b"GET http://h.test/a?b HTTP/1.1\r\nHost: h.test\r\n"));
    }
}

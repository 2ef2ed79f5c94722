//! `talk --service time|daytime`: ask a time server once and show what it
//! said and how far it is from the local clock. [`describe`] is the pure
//! part (the answer decoded, the difference computed); [`ProbeSession`]
//! (TCP: read until the server closes) and [`UdpProbe`] (one empty
//! datagram, one reply) only collect the answer. No socket here.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::event_loop::{
    Control, DatagramQueue, DatagramService, Ended, Flow, Io, Service, Session, Step,
};
use crate::greeter::config::ServiceName;
use crate::greeter::services::clock::from_time_bytes;

/// More than any time server says; a longer answer is not one.
const MAX_ANSWER: usize = 1024;

/// What to print for `answer`, received at `now`: the date (RFC 868
/// decoded, or the RFC 867 line as is) and, when the answer can be read as
/// an instant, its difference from the local clock.
pub fn describe(service: ServiceName, answer: &[u8], now: Timestamp) -> Result<String> {
    match service {
        ServiceName::Time => {
            let bytes: [u8; 4] = answer.try_into().map_err(|_| {
                Error::Protocol(format!("expected 4 bytes (RFC 868), got {}", answer.len()))
            })?;
            let secs = from_time_bytes(bytes, now);
            let at = Timestamp::from_second(secs)
                .map_err(|e| Error::Protocol(format!("time out of range: {e}")))?;
            Ok(format!("{at}\n{}\n", difference(secs as f64, now)))
        }
        _ => {
            // RFC 867: "a string of ASCII characters". UTF-8 alone let a
            // time server's 4 binary bytes pass for a line (EE B7 8D 3E,
            // valid UTF-8 for hours at a time around now).
            let text = std::str::from_utf8(answer).unwrap_or_default();
            let line = text.trim_matches(['\r', '\n']);
            let printable = |b: u8| b == b'\t' || (0x20..0x7f).contains(&b);
            if line.is_empty() || !line.bytes().all(printable) {
                return Err(Error::Protocol(format!(
                    "expected one line (RFC 867), got {answer:?}"
                )));
            }
            let mut out = format!("{line}\n");
            if let Some(secs) = parse_daytime(line) {
                out.push_str(&difference(secs as f64, now));
                out.push('\n');
            }
            Ok(out)
        }
    }
}

fn difference(server: f64, now: Timestamp) -> String {
    let local = now.as_second() as f64 + f64::from(now.subsec_nanosecond()) / 1e9;
    let d = server - local;
    let way = if d >= 0.0 { "ahead of" } else { "behind" };
    format!(
        "server clock {:.1} s {way} the local clock (1 s resolution)",
        d.abs()
    )
}

/// `wirecat greet --service daytime --utc`'s own form, `Tuesday, November
/// 14, 2023 22:13:20-UTC`; other servers' lines are shown, not read.
fn parse_daytime(line: &str) -> Option<i64> {
    let text = line.strip_suffix("-UTC")?;
    let dt = jiff::civil::DateTime::strptime("%A, %B %d, %Y %H:%M:%S", text).ok()?;
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// Collects a TCP time server's answer until it closes.
#[derive(Debug, Default)]
pub struct ProbeSession {
    answer: Vec<u8>,
    complete: bool,
}

impl Session for ProbeSession {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        let take = io.input.len().min(MAX_ANSWER + 1 - self.answer.len());
        self.answer.extend_from_slice(&io.input.data()[..take]);
        io.input.consume(io.input.len());
        if io.peer_closed || self.answer.len() > MAX_ANSWER {
            self.complete = io.peer_closed;
            return Step::Close;
        }
        Step::read(None)
    }
}

/// Starts the one connection and keeps its answer.
pub struct ProbeService {
    start: Option<Vec<SocketAddr>>,
    server: String,
    result: Option<Result<Vec<u8>>>,
}

impl ProbeService {
    pub fn new(addrs: Vec<SocketAddr>, server: String) -> Self {
        ProbeService {
            start: Some(addrs),
            server,
            result: None,
        }
    }

    pub fn into_answer(self) -> Result<Vec<u8>> {
        self.result
            .unwrap_or_else(|| Err(Error::Protocol("no answer".into())))
    }
}

impl Service for ProbeService {
    type Session = ProbeSession;

    fn tick(&mut self, ctl: &mut Control<'_, ProbeSession>) -> bool {
        if let Some(addrs) = self.start.take() {
            ctl.connect(addrs, ProbeSession::default());
        }
        false
    }

    fn ended(&mut self, session: ProbeSession, how: Ended) {
        let server = &self.server;
        self.result = Some(match how {
            Ended::ConnectFailed(e) => Err(Error::Connect(format!(
                "could not connect to {server}: {e}"
            ))),
            Ended::Failed(e) => Err(Error::io(format!("connection to {server}"), e)),
            Ended::Closed if session.complete => Ok(session.answer),
            Ended::Closed => Err(Error::Protocol(format!("{server} sent more than a time"))),
        });
    }
}

/// One empty datagram to a UDP time server, and its reply.
pub struct UdpProbe {
    server: SocketAddr,
    sent: Option<Instant>,
    wait: Duration,
    answer: Option<Vec<u8>>,
}

impl UdpProbe {
    pub fn new(server: SocketAddr, wait: Option<Duration>) -> Self {
        UdpProbe {
            server,
            sent: None,
            wait: wait.unwrap_or(Duration::from_secs(3600)),
            answer: None,
        }
    }

    pub fn into_answer(self) -> Result<Vec<u8>> {
        self.answer.ok_or_else(|| {
            Error::Timeout(format!(
                "no reply from udp://{} within {:?}",
                self.server, self.wait
            ))
        })
    }
}

impl DatagramService for UdpProbe {
    fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        _out: &mut DatagramQueue,
        _now: Instant,
    ) {
        if from == self.server && self.answer.is_none() {
            self.answer = Some(data.to_vec());
        }
    }

    fn tick(&mut self, out: &mut DatagramQueue, now: Instant, shutting_down: bool) -> Flow {
        let sent = *self.sent.get_or_insert_with(|| {
            out.push(Vec::new(), self.server);
            now
        });
        let deadline = sent.checked_add(self.wait);
        if self.answer.is_some() || shutting_down || deadline.is_some_and(|d| now >= d) {
            return Flow::Stop;
        }
        Flow::Continue(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_described() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let bytes = ((1_700_000_002i64 + 2_208_988_800) as u32).to_be_bytes();
        assert_eq!(
            describe(ServiceName::Time, &bytes, now).unwrap(),
            "2023-11-14T22:13:22Z\nserver clock 2.0 s ahead of the local clock (1 s resolution)\n"
        );
        assert!(describe(ServiceName::Time, b"abc", now).is_err());
        let ours = b"Tuesday, November 14, 2023 22:13:19-UTC\r\n";
        assert_eq!(
            describe(ServiceName::Daytime, ours, now).unwrap(),
            "Tuesday, November 14, 2023 22:13:19-UTC\nserver clock 1.0 s behind the local clock (1 s resolution)\n"
        );
        let theirs = b"14 NOV 2023 22:13:19 UTC\n";
        assert_eq!(
            describe(ServiceName::Daytime, theirs, now).unwrap(),
            "14 NOV 2023 22:13:19 UTC\n"
        );
        assert!(describe(ServiceName::Daytime, b"", now).is_err());
        assert!(describe(ServiceName::Daytime, b"a\nb\n", now).is_err());
        assert!(describe(ServiceName::Daytime, b"\x8a\x1b[2J\x03", now).is_err());
        // Some daytime servers send a line end before the line too.
        assert!(describe(
            ServiceName::Daytime,
            b"\n61009 26-11-30 06:40:00 00 0 0 0.0 UTC(NIST) *\r\n",
            now
        )
        .is_ok());
        // A time server's 4 bytes that happen to be valid UTF-8.
        assert!(describe(ServiceName::Daytime, b"\xee\xb7\x8d>", now).is_err());
        assert!(describe(ServiceName::Daytime, "caf\u{e9}\r\n".as_bytes(), now).is_err());
    }
}

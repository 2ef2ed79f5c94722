//! What `greet` and `talk` are told to do, as plain values: addresses
//! already resolved, timeouts already durations. `cli` fills these in from
//! the flags (a test or a benchmark can as well); nothing here parses a
//! flag, resolves a name or touches a socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::chat::ChatLimits;
use super::session::GreetLimits;
use super::talk::TalkTimeouts;

/// What `greet` serves (`--service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceName {
    /// The lesson's greeting.
    #[default]
    Greet,
    /// RFC 862.
    Echo,
    /// RFC 867.
    Daytime,
    /// RFC 868.
    Time,
    /// A Unix timestamp per line, answered with its date (`ctime` form).
    Clock,
}

/// `greet`, resolved.
#[derive(Debug, Clone)]
pub struct GreetConfig {
    pub addr: SocketAddr,
    pub udp: bool,
    pub service: ServiceName,
    /// Dates in UTC rather than the local time zone (daytime, clock).
    pub utc: bool,
    /// Listen on this Unix-domain socket instead of TCP (stream services).
    pub unix: Option<PathBuf>,
    /// Event loops for TCP, at least 1 (UDP uses one socket whatever this says).
    pub threads: usize,
    pub limits: GreetLimits,
}

/// `chat`, resolved.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    pub addr: SocketAddr,
    pub udp: bool,
    /// Listen on this Unix-domain socket instead of TCP.
    pub unix: Option<PathBuf>,
    pub limits: ChatLimits,
}

/// `talk`, resolved.
#[derive(Debug, Clone)]
pub struct TalkConfig {
    /// The address as given, for messages.
    pub target: String,
    pub addrs: Vec<SocketAddr>,
    pub udp: bool,
    /// Connect to this Unix-domain socket (then `addrs` is empty).
    pub unix: Option<PathBuf>,
    /// `None`: read lines from stdin.
    pub messages: Option<Vec<String>>,
    pub connect_timeout: Duration,
    pub timeouts: TalkTimeouts,
    /// Talk as a chat member (`--name`, `--chat`): lines owe no reply,
    /// `/nick NAME` goes first when named, `/quit` last.
    pub chat: bool,
    pub name: Option<String>,
    /// `--service time|daytime`: ask once and show the answer (`Greet`: talk).
    pub service: ServiceName,
}

impl TalkConfig {
    /// MESSAGE mode's lines; over TCP the lesson's `exit` comes last
    /// (a chat member's `/quit` is added by its `Outgoing`).
    pub fn message_lines(&self) -> Option<Vec<Vec<u8>>> {
        let mut lines: Vec<Vec<u8>> = self
            .messages
            .as_ref()?
            .iter()
            .map(|m| m.as_bytes().to_vec())
            .collect();
        if !self.udp && !self.chat {
            lines.push(b"exit".to_vec());
        }
        Some(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_end_with_exit_over_tcp_only() {
        let mut c = TalkConfig {
            target: "tcp://127.0.0.1:9".into(),
            addrs: vec!["127.0.0.1:9".parse().unwrap()],
            udp: false,
            unix: None,
            messages: Some(vec!["hi".into()]),
            connect_timeout: Duration::from_secs(1),
            timeouts: TalkTimeouts {
                reply: None,
                greeting_wait: Duration::ZERO,
            },
            chat: false,
            name: None,
            service: ServiceName::Greet,
        };
        assert_eq!(
            c.message_lines().unwrap(),
            vec![b"hi".to_vec(), b"exit".to_vec()]
        );
        c.udp = true;
        assert_eq!(c.message_lines().unwrap(), vec![b"hi".to_vec()]);
        c.messages = None;
        assert_eq!(c.message_lines(), None);
    }
}

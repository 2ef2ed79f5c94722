//! Who is at the other end of a stream connection, whatever the socket
//! family: [`Peer`] (a TCP address, or `unix:` for a Unix-domain socket)
//! and its [`Host`], what per-address limits count by. Plain values: no
//! socket is touched here, and sessions need not know the family.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The other end (or our end) of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    Tcp(SocketAddr),
    /// A Unix-domain stream socket. Clients' ends are unnamed, so every
    /// Unix peer looks the same; it is shown as `unix:` (nginx's form).
    Unix,
}

/// A peer without its port: what "the same address" means for a limit.
/// All Unix peers are one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Unix,
}

impl Peer {
    pub fn host(&self) -> Host {
        match self {
            Peer::Tcp(a) => Host::Ip(a.ip()),
            Peer::Unix => Host::Unix,
        }
    }

    /// The TCP address, if this is one.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Peer::Tcp(a) => Some(*a),
            Peer::Unix => None,
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(a: SocketAddr) -> Peer {
        Peer::Tcp(a)
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Host {
        Host::Ip(ip)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(a) => a.fmt(f),
            Peer::Unix => f.write_str("unix:"),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Unix => f.write_str("unix:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_show_as_address_or_unix() {
        let v4: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let v6: SocketAddr = "[::1]:8000".parse().unwrap();
        // (peer, shown, host shown)
        let cases = [
            (Peer::Tcp(v4), "127.0.0.1:8000", "127.0.0.1"),
            (Peer::Tcp(v6), "[::1]:8000", "::1"),
            (Peer::Unix, "unix:", "unix:"),
        ];
        for (peer, shown, host) in cases {
            assert_eq!(peer.to_string(), shown);
            assert_eq!(peer.host().to_string(), host);
        }
        assert_eq!(Peer::Tcp(v4).tcp(), Some(v4));
        assert_eq!(Peer::Unix.tcp(), None);
    }

    #[test]
    fn ports_do_not_make_another_host() {
        let a = Peer::Tcp("192.0.2.1:1".parse().unwrap());
        let b = Peer::Tcp("192.0.2.1:2".parse().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.host(), b.host());
        assert_ne!(a.host(), Peer::Unix.host());
    }
}

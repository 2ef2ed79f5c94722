//! Binding the sockets a server listens on and a client sends datagrams
//! from. Servers and clients say which address they want; only the event
//! loop binds, so socket options (SO_REUSEPORT, dual stack) are decided in
//! one place. Nothing here reads or writes a socket.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

/// `n` listeners on `addr`, one per loop, sharing one port through
/// SO_REUSEPORT so the kernel spreads connections and the loops share
/// nothing. With port 0 the first bind picks the port the others join.
///
/// A port given is first bound plainly: SO_REUSEPORT alone would join a
/// port another server (even another wirecat) already listens on and
/// silently take a share of its connections, where "address in use" is the
/// right answer. A single listener is bound without SO_REUSEPORT, so no
/// later process can join it either.
pub fn bind_listeners(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpListener>> {
    if addr.port() != 0 {
        drop(TcpListener::bind(addr)?);
    }
    let first = bind_listener(addr, n > 1)?;
    let local = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..n {
        listeners.push(bind_listener(local, true)?);
    }
    Ok(listeners)
}

/// Binds a listening socket with SO_REUSEADDR (so a restart does not fail
/// with "address in use") and, when `reuse_port`, SO_REUSEPORT so several
/// loops can each own a listener on the same port. An unspecified IPv6
/// address listens dual-stack.
pub fn bind_listener(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A UDP socket for a server on `addr`, without SO_REUSEPORT: a port in
/// use is an error, not a port shared with whoever holds it.
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::bind(addr)
}

/// A UDP socket to talk to `server` from: the wildcard address of the
/// server's family, on a port the system picks.
pub fn bind_udp_client(server: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    UdpSocket::bind(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_share_the_port_the_first_one_got() {
        let all = bind_listeners("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let port = all[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        for l in &all {
            assert_eq!(l.local_addr().unwrap().port(), port);
        }
    }

    #[test]
    fn a_port_in_use_is_an_error_even_with_reuse_port() {
        for n in [1, 2] {
            let taken = bind_listeners("127.0.0.1:0".parse().unwrap(), 2).unwrap();
            let addr = taken[0].local_addr().unwrap();
            let e = bind_listeners(addr, n).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{n} listeners");
        }
        let udp = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = bind_udp(udp.local_addr().unwrap()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn a_udp_client_binds_in_the_servers_family() {
        let s = bind_udp_client("127.0.0.1:9".parse().unwrap()).unwrap();
        assert!(s.local_addr().unwrap().is_ipv4());
        // Without IPv6 at all the bind itself fails; that is not this test's subject.
        if let Ok(s) = bind_udp_client("[::1]:9".parse().unwrap()) {
            assert!(s.local_addr().unwrap().is_ipv6());
        }
    }
}

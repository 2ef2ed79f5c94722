//! Binding the sockets a server listens on and a client sends datagrams
//! from. Servers and clients say which address they want; only the event
//! loop binds, so socket options (SO_REUSEPORT, dual stack) are decided in
//! one place, and so is the rule for a Unix socket's file (what may be
//! replaced, when it is removed). Nothing here reads or writes a socket.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use super::shutdown::{remove_if_unchanged, RemoveOnExit};

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

/// The socket file of a Unix listener this process bound, known by its
/// device and inode (which our bound socket keeps in use, so a file put
/// in its place while we listen has another). Dropping it
/// removes the file (a clean exit, or a shutdown after SIGTERM or Ctrl-C
/// once the loops are done), and a second signal's immediate exit removes
/// it too; either only while the path is still the socket we made, never
/// a file someone put there since.
#[derive(Debug)]
pub struct UnixSocketFile {
    path: PathBuf,
    identity: (u64, u64),
    _on_exit: RemoveOnExit,
}

impl UnixSocketFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        remove_if_unchanged(&self.path, Some(self.identity));
    }
}

/// Listens on a Unix-domain stream socket at `path`. The path may be free;
/// a stale socket (nothing answers a connect to it) is replaced; a socket
/// that answers is an `AddrInUse` error "in use by another server", and
/// anything else there (a file, a folder, a symlink) is an `AlreadyExists`
/// error and left untouched. Errors do not repeat the path.
pub fn bind_unix(path: &Path) -> io::Result<(UnixListener, UnixSocketFile)> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
        Ok(m) if !m.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket; left untouched",
            ))
        }
        Ok(_) => {
            if answers(path)? {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "in use by another server",
                ));
            }
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => log::debug!("replaced the stale socket {}", path.display()),
            }
        }
    }
    let listener = UnixListener::bind(path)?;
    let m = std::fs::symlink_metadata(path)?;
    let identity = (m.dev(), m.ino());
    let file = UnixSocketFile {
        path: path.to_path_buf(),
        identity,
        _on_exit: RemoveOnExit::if_unchanged(path.to_path_buf(), identity),
    };
    Ok((listener, file))
}

/// Whether a server listens on the socket at `path`. The connect is
/// nonblocking, so a server with a full backlog (`WouldBlock`) counts as
/// answering instead of blocking us; a refusal (or the file vanishing)
/// means nobody is there.
fn answers(path: &Path) -> io::Result<bool> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::unix(path)?) {
        Ok(()) => Ok(true),
        Err(e) if super::errors::is_would_block(&e) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
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

    /// The stale-file rule, case by case, in a temporary folder.
    #[test]
    fn a_unix_socket_path_is_taken_only_when_free_or_stale() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        // Free: bound, and removed again on drop.
        let (l, file) = bind_unix(&at("free")).unwrap();
        assert!(at("free").exists());
        drop((l, file));
        assert!(!at("free").exists(), "removed on drop");
        // Stale: a socket nobody listens on any more is replaced.
        drop(UnixListener::bind(at("stale")).unwrap());
        let (_l, _file) = bind_unix(&at("stale")).unwrap();
        // Live: refused, and the other server's socket still answers.
        let live = UnixListener::bind(at("live")).unwrap();
        let e = bind_unix(&at("live")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(e.to_string(), "in use by another server");
        std::os::unix::net::UnixStream::connect(at("live")).unwrap();
        drop(live);
        // Not a socket: refused and left as it was.
        std::fs::write(at("file"), "keep me").unwrap();
        std::fs::create_dir(at("dir")).unwrap();
        std::os::unix::fs::symlink(at("stale"), at("link")).unwrap();
        for name in ["file", "dir", "link"] {
            let e = bind_unix(&at(name)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{name}");
        }
        assert_eq!(std::fs::read_to_string(at("file")).unwrap(), "keep me");
        assert!(at("dir").is_dir());
        assert!(std::fs::symlink_metadata(at("link")).unwrap().is_symlink());
    }

    #[test]
    fn a_socket_file_someone_replaced_is_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        // Replaced while we still listen (our socket keeps its inode, so
        // theirs gets another), found replaced once we are done.
        let (l, ours) = bind_unix(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let theirs = UnixListener::bind(&path).unwrap();
        drop(l);
        drop(ours);
        assert!(path.exists(), "the other server's socket stays");
        drop(theirs);
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

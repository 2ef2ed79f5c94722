//! Where a connection really goes, whatever the URL says: curl's
//! `--connect-to HOST:PORT:HOST2:PORT2` (a host and port swapped for
//! another, empty parts matching any or keeping the original), then
//! `--resolve HOST:PORT:ADDR[,ADDR...]` (a name given its addresses), then
//! `-4`/`-6`. `--unix-socket PATH` overrides them all: every connection
//! goes to that socket. The URL keeps its host for `Host`, SNI and the
//! certificate check. [`ConnectRules::decide`] runs before any lookup, and
//! answers with addresses (or the socket) whenever a rule covers the name,
//! so a name given with `--resolve` or `--unix-socket` is never sent to
//! the resolver. Pure: parsing and deciding.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Which address families a connection may use (`-4`, `-6`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    pub fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// `--resolve HOST:PORT:ADDR,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// Lower case.
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// `--connect-to HOST:PORT:HOST2:PORT2`; `None` is an empty part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

/// Every rule of a run, in the order given (the first that matches wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRules {
    pub resolve: Vec<Resolve>,
    pub connect_to: Vec<ConnectTo>,
    pub family: Family,
    /// `--unix-socket PATH`: every connection goes there, whatever the
    /// other rules say.
    pub unix_socket: Option<PathBuf>,
}

/// What to do for a connection to a host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Connect to these, in order; no lookup.
    Addrs(Vec<SocketAddr>),
    /// Ask the resolver for this name and port.
    Lookup(String, u16),
    /// Connect to the Unix-domain socket at this path; no lookup.
    Unix(PathBuf),
}

/// Where a connection goes once its rules and the resolver have spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// These addresses, in the order to try them.
    Tcp(Vec<SocketAddr>),
    /// The Unix-domain stream socket at this path.
    Unix(PathBuf),
}

impl ConnectRules {
    /// Applies `--unix-socket` (which wins), then `--connect-to`, then
    /// `--resolve`, to `host` (as in the URL, IPv6 without brackets) and
    /// `port`. IP literals need no lookup.
    pub fn decide(&self, host: &str, port: u16) -> Decision {
        if let Some(path) = &self.unix_socket {
            return Decision::Unix(path.clone());
        }
        let host = host.to_ascii_lowercase();
        let (host, port) = self
            .connect_to
            .iter()
            .find(|c| {
                c.host.as_ref().is_none_or(|h| *h == host) && c.port.is_none_or(|p| p == port)
            })
            .map_or((host.clone(), port), |c| {
                let to = c.to_host.clone().unwrap_or_else(|| host.clone());
                (to, c.to_port.unwrap_or(port))
            });
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Decision::Addrs(vec![SocketAddr::new(ip, port)]);
        }
        match self
            .resolve
            .iter()
            .find(|r| r.host == host && r.port == port)
        {
            Some(r) => Decision::Addrs(
                r.addrs
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, port))
                    .collect(),
            ),
            None => Decision::Lookup(host, port),
        }
    }
}

/// Addresses in the order to try them: families alternating, IPv6 first,
/// each family in the order given (RFC 8305 section 4).
pub fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let (mut v6, mut v4): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| a.is_ipv6());
    let mut out = Vec::with_capacity(v6.len() + v4.len());
    v6.reverse();
    v4.reverse();
    while !v6.is_empty() || !v4.is_empty() {
        out.extend(v6.pop());
        out.extend(v4.pop());
    }
    out
}

/// What stands at a `--unix-socket` path, as far as a failed connect's
/// message cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketFile {
    Missing,
    Socket,
    /// A file, folder or device: connect says "refused", which misleads.
    NotSocket,
    /// Could not look (a folder on the way not searchable...).
    Unknown,
}

impl SocketFile {
    /// Looks at `path`, following symlinks as connect does.
    pub fn at(path: &Path) -> SocketFile {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_socket() => SocketFile::Socket,
            Ok(_) => SocketFile::NotSocket,
            Err(e) if e.kind() == io::ErrorKind::NotFound => SocketFile::Missing,
            Err(_) => SocketFile::Unknown,
        }
    }
}

/// The one line for a connect to the Unix socket at `path` that failed
/// with `e`, given what is at the path: "no such file", "not a socket",
/// "nobody listening" say what to fix where the system's "connection
/// refused" would not; anything else keeps the system's words.
pub fn unix_failure(path: &Path, e: &io::Error, file: SocketFile) -> String {
    let os = e.to_string();
    let prefix = format!("{}: ", path.display());
    let os = os.strip_prefix(&prefix).unwrap_or(&os);
    let why = match (file, e.kind()) {
        // A path too long for a socket address, whatever is there.
        (_, io::ErrorKind::InvalidInput) => os,
        (SocketFile::Missing, _) => "no such file",
        (SocketFile::NotSocket, _) => "not a socket",
        (SocketFile::Socket, io::ErrorKind::ConnectionRefused) => {
            "nobody listening (connection refused)"
        }
        _ => os,
    };
    format!("could not connect to unix socket {}: {why}", path.display())
}

/// A host as typed in a rule: `[v6]` loses its brackets, names go to lower case.
fn host_part(s: &str) -> String {
    let s = s
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(s);
    s.to_ascii_lowercase()
}

/// Splits `s` at its first `:` outside brackets.
fn split_colon(s: &str) -> Option<(&str, &str)> {
    let end = match s.starts_with('[') {
        true => s.find(']')? + 1,
        false => 0,
    };
    let i = end + s[end..].find(':')?;
    Some((&s[..i], &s[i + 1..]))
}

fn port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{s:?} is not a port"))
}

/// Parses `--resolve HOST:PORT:ADDR[,ADDR...]` (ADDR may be `[v6]`).
pub fn parse_resolve(spec: &str) -> Result<Resolve, String> {
    let shape = || format!("--resolve {spec}: give HOST:PORT:ADDR[,ADDR...]");
    let (host, rest) = split_colon(spec).ok_or_else(shape)?;
    let (p, addrs) = rest.split_once(':').ok_or_else(shape)?;
    if host.is_empty() || addrs.is_empty() {
        return Err(shape());
    }
    let port = port(p).map_err(|e| format!("--resolve {spec}: {e}"))?;
    let addrs = addrs
        .split(',')
        .map(|a| {
            host_part(a.trim())
                .parse::<IpAddr>()
                .map_err(|_| format!("--resolve {spec}: {a:?} is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Resolve {
        host: host_part(host),
        port,
        addrs,
    })
}

/// Parses `--connect-to HOST:PORT:HOST2:PORT2`, any part empty.
pub fn parse_connect_to(spec: &str) -> Result<ConnectTo, String> {
    let shape = || format!("--connect-to {spec}: give HOST:PORT:HOST2:PORT2 (parts may be empty)");
    let (host, rest) = split_colon(spec).ok_or_else(shape)?;
    let (p, rest) = rest.split_once(':').ok_or_else(shape)?;
    let (to_host, to_p) = split_colon(rest).ok_or_else(shape)?;
    let opt_port = |s: &str| match s {
        "" => Ok(None),
        s => port(s)
            .map(Some)
            .map_err(|e| format!("--connect-to {spec}: {e}")),
    };
    let opt_host = |s: &str| (!s.is_empty()).then(|| host_part(s));
    Ok(ConnectTo {
        host: opt_host(host),
        port: opt_port(p)?,
        to_host: opt_host(to_host),
        to_port: opt_port(to_p)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn resolve_rules_parse() {
        // (flag value, host, port, addresses)
        let cases = [
            (
                "example.test:80:127.0.0.1",
                "example.test",
                80,
                vec!["127.0.0.1"],
            ),
            ("Ex.TEST:443:[::1]", "ex.test", 443, vec!["::1"]),
            (
                "both.test:8080:[::1],127.0.0.1",
                "both.test",
                8080,
                vec!["::1", "127.0.0.1"],
            ),
            ("h.test:1:::1", "h.test", 1, vec!["::1"]),
        ];
        for (spec, host, port, addrs) in cases {
            let want = Resolve {
                host: host.into(),
                port,
                addrs: addrs.into_iter().map(ip).collect(),
            };
            assert_eq!(parse_resolve(spec).unwrap(), want, "{spec}");
        }
        for bad in [
            "",
            "example.test",
            "example.test:80",
            "example.test:80:",
            ":80:127.0.0.1",
            "example.test:http:127.0.0.1",
            "example.test:0:127.0.0.1",
            "example.test:80:localhost",
            "example.test:80:127.0.0.1,",
        ] {
            let err = parse_resolve(bad).unwrap_err();
            assert!(err.starts_with("--resolve "), "{bad}: {err}");
        }
    }

    #[test]
    fn connect_to_rules_parse() {
        let some = |s: &str| Some(s.to_string());
        // (flag value, host, port, to host, to port)
        let cases = [
            (
                "a.test:80:b.test:8080",
                some("a.test"),
                Some(80),
                some("b.test"),
                Some(8080),
            ),
            ("::127.0.0.1:", None, None, some("127.0.0.1"), None),
            ("a.test:::9", some("a.test"), None, None, Some(9)),
            (
                "[::1]:443:[::1]:8443",
                some("::1"),
                Some(443),
                some("::1"),
                Some(8443),
            ),
            (":::", None, None, None, None),
        ];
        for (spec, host, port, to_host, to_port) in cases {
            let want = ConnectTo {
                host,
                port,
                to_host,
                to_port,
            };
            assert_eq!(parse_connect_to(spec).unwrap(), want, "{spec}");
        }
        for bad in [
            "",
            "a.test:80",
            "a.test:80:b.test",
            "a:x:b:1",
            "a:1:b:99999",
        ] {
            let err = parse_connect_to(bad).unwrap_err();
            assert!(err.starts_with("--connect-to "), "{bad}: {err}");
        }
    }

    #[test]
    fn families_alternate_v6_first() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        // (given, tried)
        let cases = [
            (vec![], vec![]),
            (vec!["1.1.1.1:1"], vec!["1.1.1.1:1"]),
            (
                vec!["1.1.1.1:1", "2.2.2.2:1", "[::1]:1"],
                vec!["[::1]:1", "1.1.1.1:1", "2.2.2.2:1"],
            ),
            (
                vec!["[::1]:1", "[::2]:1", "[::3]:1", "1.1.1.1:1"],
                vec!["[::1]:1", "1.1.1.1:1", "[::2]:1", "[::3]:1"],
            ),
        ];
        for (given, tried) in cases {
            let given: Vec<_> = given.into_iter().map(a).collect();
            let tried: Vec<_> = tried.into_iter().map(a).collect();
            assert_eq!(interleave(given), tried);
        }
    }

    /// The proof that `--resolve` keeps a name from the resolver: the
    /// decision is made from the rules alone and names addresses.
    #[test]
    fn rules_decide_before_any_lookup() {
        let rules = ConnectRules {
            resolve: vec![
                parse_resolve("example.test:80:127.0.0.1").unwrap(),
                parse_resolve("both.test:80:[::1],127.0.0.1").unwrap(),
                parse_resolve("moved.test:9:127.0.0.9").unwrap(),
            ],
            connect_to: vec![
                parse_connect_to("old.test:80:moved.test:9").unwrap(),
                parse_connect_to(":8080::8081").unwrap(),
                parse_connect_to("lit.test:::").unwrap(),
            ],
            family: Family::Any,
            unix_socket: None,
        };
        let addrs = |v: &[&str]| Decision::Addrs(v.iter().map(|a| a.parse().unwrap()).collect());
        let lookup = |h: &str, p| Decision::Lookup(h.into(), p);
        // (host, port, decision)
        let cases = [
            ("example.test", 80, addrs(&["127.0.0.1:80"])),
            ("EXAMPLE.test", 80, addrs(&["127.0.0.1:80"])),
            ("both.test", 80, addrs(&["[::1]:80", "127.0.0.1:80"])),
            ("old.test", 80, addrs(&["127.0.0.9:9"])),
            // Another port is another rule: looked up as usual.
            ("example.test", 81, lookup("example.test", 81)),
            ("other.test", 8080, lookup("other.test", 8081)),
            ("127.0.0.1", 8080, addrs(&["127.0.0.1:8081"])),
            ("::1", 80, addrs(&["[::1]:80"])),
            ("lit.test", 5, lookup("lit.test", 5)),
        ];
        for (host, port, want) in cases {
            assert_eq!(rules.decide(host, port), want, "{host}:{port}");
        }
    }

    /// The proof that `--unix-socket` keeps every name from the resolver
    /// and wins over `--resolve` and `--connect-to`: the decision names
    /// the socket before any rule or lookup is considered.
    #[test]
    fn a_unix_socket_decides_before_every_other_rule() {
        let rules = ConnectRules {
            resolve: vec![parse_resolve("covered.test:80:127.0.0.1").unwrap()],
            connect_to: vec![parse_connect_to("moved.test:80:127.0.0.2:81").unwrap()],
            family: Family::V6,
            unix_socket: Some(PathBuf::from("/tmp/w.sock")),
        };
        let unix = Decision::Unix(PathBuf::from("/tmp/w.sock"));
        for (host, port) in [
            ("nowhere.test", 80),
            ("covered.test", 80),
            ("moved.test", 80),
            ("127.0.0.1", 8080),
            ("::1", 443),
            ("localhost", 1),
        ] {
            assert_eq!(rules.decide(host, port), unix, "{host}:{port}");
        }
    }

    #[test]
    fn unix_connect_failures_say_what_to_fix() {
        use io::ErrorKind::*;
        let path = Path::new("/run/w.sock");
        let err = |kind, msg: &str| io::Error::new(kind, format!("/run/w.sock: {msg}"));
        // (error, what is at the path, the reason shown)
        let cases = [
            (
                err(InvalidInput, "path must be shorter than SUN_LEN"),
                SocketFile::Missing,
                "path must be shorter than SUN_LEN",
            ),
            (
                err(NotFound, "No such file or directory"),
                SocketFile::Missing,
                "no such file",
            ),
            (
                err(ConnectionRefused, "Connection refused"),
                SocketFile::NotSocket,
                "not a socket",
            ),
            (
                err(ConnectionRefused, "Connection refused"),
                SocketFile::Socket,
                "nobody listening (connection refused)",
            ),
            (
                err(PermissionDenied, "Permission denied (os error 13)"),
                SocketFile::Socket,
                "Permission denied (os error 13)",
            ),
            (
                err(PermissionDenied, "Permission denied (os error 13)"),
                SocketFile::Unknown,
                "Permission denied (os error 13)",
            ),
        ];
        for (e, file, why) in cases {
            assert_eq!(
                unix_failure(path, &e, file),
                format!("could not connect to unix socket /run/w.sock: {why}"),
                "{e} {file:?}"
            );
        }
    }

    #[test]
    fn what_stands_at_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        // (name, kind)
        let cases = [
            ("s", SocketFile::Socket),
            ("f", SocketFile::NotSocket),
            (".", SocketFile::NotSocket),
            ("missing", SocketFile::Missing),
            ("f/below", SocketFile::Unknown),
        ];
        for (name, want) in cases {
            assert_eq!(SocketFile::at(&dir.path().join(name)), want, "{name}");
        }
    }
}

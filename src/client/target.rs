//! Where a request goes: URL checking (scheme, host), the `Host` header and
//! the request-target (origin form, RFC 9112 section 3.2.1, or absolute form
//! through a proxy), the proxy (if any) the connection goes to, and
//! resolution of that host to socket addresses. Resolution is blocking
//! (getaddrinfo); the event loop only ever sees addresses.

use std::net::{SocketAddr, ToSocketAddrs};

use url::{Host, Url};

use super::connect_rules::{interleave, ConnectRules, Decision, Family, Route};
use super::proxy::{absolute_form, basic_credentials, ProxyAddr, ProxyConfig};
use crate::error::{Error, Result};

/// A checked http URL, split into what the request and the connect need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: Url,
    /// The host as written in the URL, without brackets (for resolution and messages).
    pub host: String,
    pub port: u16,
    /// The `Host` header value: brackets for IPv6, the port only when not
    /// the scheme's default (RFC 9110 section 7.2).
    pub host_header: String,
    /// Origin form: absolute path plus query, never the fragment; the
    /// absolute form for plain http through a proxy.
    pub request_target: String,
    /// The proxy the connection goes to: the request itself for http, a
    /// CONNECT tunnel for https.
    pub via: Option<ProxyAddr>,
    /// `Authorization: Basic ...` from `user:password@` in the URL (RFC
    /// 7617, percent-decoded like curl). `url` itself keeps no credentials,
    /// so no message, progress line or log can show the password.
    pub credentials: Option<String>,
}

/// Parses a URL as typed on the command line. A URL without a scheme
/// ("localhost:8000/x", "example.test/x") is taken as http, like curl does:
/// whatever has no "://" gets "http://" in front. Near-misses of http and
/// https ("http//h/", "http:/h/", "htp://h/", "http:h") are refused with
/// the URL that was meant, before any name is looked up: "http" is never
/// taken for a host.
pub fn parse_url(input: &str) -> Result<Url> {
    let input = input.trim();
    if let Some(meant) = near_miss(input) {
        return Err(Error::Usage(format!(
            "{input:?} is not a URL; did you mean {meant}?"
        )));
    }
    let not_a_url =
        |why: &dyn std::fmt::Display| Error::Usage(format!("{input:?} is not a URL ({why})"));
    // A flag's value or a "-" that slipped into the URLs is no host to look up.
    if input.is_empty() || input.starts_with('-') {
        return Err(not_a_url(&"a URL starts with http://, https:// or a host"));
    }
    let parsed = match input.contains("://") {
        true => Url::parse(input),
        false => Url::parse(&format!("http://{input}")),
    };
    parsed.map_err(|e| not_a_url(&e))
}

/// The URL `input` was probably meant to be, when its scheme is http or
/// https misspelled ("htp://", "https//") or missing its slashes
/// ("http:/h", "http:h"). `None` for anything else, URLs that parse included.
pub fn near_miss(input: &str) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return None;
    }
    // "http//h", "https//h", "http:/h", "http:h", "https:h".
    for scheme in ["https", "http"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            if rest.starts_with("//") || rest.starts_with(':') {
                let tail = input[scheme.len()..].trim_start_matches([':', '/']);
                return Some(format!("{scheme}://{tail}"));
            }
        }
    }
    // "htp://h", "htps://h", "hhtp://h", "htttp://h": one letter off.
    let (scheme, tail) = input.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    ["https", "http"]
        .into_iter()
        .find(|want| one_edit_apart(&scheme, want))
        .map(|want| format!("{want}://{tail}"))
}

/// Whether `a` becomes `b` by changing, adding or removing one letter.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 || a == b {
        return false;
    }
    let same_start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let skip = usize::from(long.len() > short.len());
    short[same_start + 1 - skip..] == long[same_start + 1..]
}

impl Target {
    /// Checks that `url` is something we can fetch now, and takes any
    /// credentials out of it.
    pub fn new(mut url: Url) -> Result<Target> {
        let credentials = basic_credentials(&url);
        // Only URLs that cannot be a base refuse these, and no http URL is one.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Error::Usage(format!(
                    "{url}: unsupported scheme {other}: (only http and https)"
                )))
            }
        }
        let host = match url.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            _ => return Err(Error::Usage(format!("{url}: the URL has no host"))),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::Usage(format!("{url}: no port")))?;
        let host_str = url.host_str().unwrap_or_default();
        let host_header = match url.port() {
            Some(p) => format!("{host_str}:{p}"),
            None => host_str.to_string(),
        };
        let mut request_target = url.path().to_string();
        if request_target.is_empty() {
            request_target.push('/');
        }
        if let Some(q) = url.query() {
            request_target.push('?');
            request_target.push_str(q);
        }
        Ok(Target {
            url,
            host,
            port,
            host_header,
            request_target,
            via: None,
            credentials,
        })
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Sends this request through the proxy `proxies` names for its URL,
    /// if any. Plain http then asks the proxy for the absolute URL.
    pub fn route(&mut self, proxies: &ProxyConfig) {
        self.via = proxies.for_url(&self.url).cloned();
        if self.via.is_some() && !self.is_https() {
            self.request_target = absolute_form(&self.url);
        }
    }

    /// The host and port the TCP connection goes to: the proxy's, if any.
    fn connect_to(&self) -> (&str, u16) {
        match &self.via {
            Some(p) => (&p.host, p.port),
            None => (&self.host, self.port),
        }
    }

    /// Where to connect: `--unix-socket`'s path (no lookup at all, even
    /// for a proxy's name: the socket reaches the proxy, as in curl), or
    /// the addresses to try: `--connect-to` and `--resolve` first (IP
    /// literals and names they cover never reach the resolver), then the
    /// resolver; only the family `-4`/`-6` allow, interleaved IPv6 first
    /// (RFC 8305 section 4).
    pub fn resolve(&self, rules: &ConnectRules) -> Result<Route> {
        let (host, port) = self.connect_to();
        let (name, addrs) = match rules.decide(host, port) {
            Decision::Unix(path) => return Ok(Route::Unix(path)),
            Decision::Addrs(addrs) => (host.to_string(), addrs),
            Decision::Lookup(name, port) => {
                let found =
                    (name.as_str(), port)
                        .to_socket_addrs()
                        .map_err(|source| Error::Resolve {
                            host: name.clone(),
                            source,
                        })?;
                let found = found.collect();
                (name, found)
            }
        };
        let addrs: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| rules.family.allows(a))
            .collect();
        if addrs.is_empty() {
            let why = match rules.family {
                Family::Any => "no addresses",
                Family::V4 => "no IPv4 address (-4)",
                Family::V6 => "no IPv6 address (-6)",
            };
            return Err(Error::Resolve {
                host: name,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, why),
            });
        }
        Ok(Route::Tcp(interleave(addrs)))
    }

    /// Scheme, host and port: what a redirect must keep for credentials to follow.
    pub fn origin(&self) -> (&str, &str, u16) {
        (self.url.scheme(), &self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_urls() {
        // (input, host, port, Host header, request-target)
        let cases = [
            (
                "http://example.test",
                "example.test",
                80,
                "example.test",
                "/",
            ),
            (
                "http://Example.TEST:8080/a/b?x=1&y=%20#frag",
                "example.test",
                8080,
                "example.test:8080",
                "/a/b?x=1&y=%20",
            ),
            ("http://127.0.0.1:80/", "127.0.0.1", 80, "127.0.0.1", "/"),
            ("http://[::1]:8000/x", "::1", 8000, "[::1]:8000", "/x"),
            ("http://[::1]/", "::1", 80, "[::1]", "/"),
            (
                "example.test/p q",
                "example.test",
                80,
                "example.test",
                "/p%20q",
            ),
            ("http://h/?", "h", 80, "h", "/?"),
            ("http://h/caf\u{e9}", "h", 80, "h", "/caf%C3%A9"),
        ];
        for (input, host, port, header, target) in cases {
            let t = Target::new(parse_url(input).unwrap()).unwrap();
            assert_eq!(t.host, host, "{input}");
            assert_eq!(t.port, port, "{input}");
            assert_eq!(t.host_header, header, "{input}");
            assert_eq!(t.request_target, target, "{input}");
        }
    }

    #[test]
    fn urls_without_a_scheme_are_http() {
        // (typed, the URL fetched)
        let cases = [
            ("localhost:8000/x", "http://localhost:8000/x"),
            ("127.0.0.1:8000/", "http://127.0.0.1:8000/"),
            ("example.test/x", "http://example.test/x"),
            ("[::1]:9/a", "http://[::1]:9/a"),
            ("HTTP://h/", "http://h/"),
            ("https://h:8443/", "https://h:8443/"),
            ("user:pw@h/x", "http://user:pw@h/x"),
        ];
        for (typed, want) in cases {
            assert_eq!(parse_url(typed).unwrap().as_str(), want, "{typed}");
        }
    }

    #[test]
    fn near_misses_of_http_say_what_was_meant() {
        // (typed, the suggestion; None: no near miss)
        let cases = [
            ("http//host/", Some("http://host/")),
            ("https//host/x", Some("https://host/x")),
            ("http:/host/", Some("http://host/")),
            ("http:host", Some("http://host")),
            ("https:host:8443/", Some("https://host:8443/")),
            ("htp://host/", Some("http://host/")),
            ("htps://host/", Some("https://host/")),
            ("hhtp://host/", Some("http://host/")),
            ("htttp://host/", Some("http://host/")),
            ("ttp://host/", Some("http://host/")),
            ("HTTP//Host/", Some("http://Host/")),
            ("http://host/", None),
            ("https://host/", None),
            ("ftp://host/", None),
            ("httpbin.test/x", None),
            ("localhost:8000/", None),
            ("h1://x", None),
        ];
        for (typed, want) in cases {
            assert_eq!(near_miss(typed).as_deref(), want, "{typed}");
            if let Some(meant) = want {
                let err = parse_url(typed).unwrap_err();
                assert!(matches!(err, Error::Usage(_)), "{typed}");
                assert!(
                    err.to_string().ends_with(&format!("did you mean {meant}?")),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn what_is_not_a_url_says_so() {
        for typed in ["", "  ", "not a url", "-", "-C", "0-99 x", "http://[::1/"] {
            let err = parse_url(typed).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{typed}");
            assert!(err.to_string().contains("is not a URL"), "{typed}: {err}");
        }
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for input in [
            "http://",
            "http://:80/",
            "http://[::1/",
            "",
            "http://h:99999/",
        ] {
            let res = parse_url(input).and_then(Target::new);
            assert!(matches!(res, Err(Error::Usage(_))), "{input}: {res:?}");
        }
        for input in ["ftp://h/x", "file:///etc/passwd", "gopher://h/"] {
            let err = Target::new(parse_url(input).unwrap()).unwrap_err();
            assert!(err.to_string().contains("unsupported scheme"), "{err}");
        }
        let t = Target::new(parse_url("https://[::1]/x").unwrap()).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.is_https()), ("::1", 443, true));
    }

    #[test]
    fn proxies_change_the_target_and_the_address() {
        let proxies =
            ProxyConfig::resolve(Some("127.0.0.2:3128"), Some("direct.test"), |_| None).unwrap();
        let mut t = Target::new(parse_url("http://h:8/a?b#c").unwrap()).unwrap();
        t.route(&proxies);
        assert_eq!(t.request_target, "http://h:8/a?b");
        assert_eq!(t.host_header, "h:8");
        assert_eq!(
            t.resolve(&ConnectRules::default()).unwrap(),
            Route::Tcp(vec!["127.0.0.2:3128".parse().unwrap()])
        );
        let mut t = Target::new(parse_url("https://h/a").unwrap()).unwrap();
        t.route(&proxies);
        assert_eq!(t.request_target, "/a");
        assert!(t.via.is_some());
        let mut t = Target::new(parse_url("http://direct.test/a").unwrap()).unwrap();
        t.route(&proxies);
        assert_eq!((t.request_target.as_str(), t.via.is_none()), ("/a", true));
    }

    #[test]
    fn credentials_leave_the_url_for_basic_auth() {
        // (URL, Authorization, the URL as shown afterwards)
        let cases = [
            ("http://127.0.0.1:8/x", None, "http://127.0.0.1:8/x"),
            (
                "http://Aladdin:open%20sesame@h/x",
                Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
                "http://h/x",
            ),
            ("http://u@h/", Some("Basic dTo="), "http://h/"),
            ("http://:p@h/", Some("Basic OnA="), "http://h/"),
            // RFC 7617 section 2: the user-id cannot hold a colon, so a
            // decoded one goes into the password half as curl sends it.
            ("http://a%3Ab:c@h/", Some("Basic YTpiOmM="), "http://h/"),
        ];
        for (input, auth, shown) in cases {
            let t = Target::new(parse_url(input).unwrap()).unwrap();
            assert_eq!(t.credentials.as_deref(), auth, "{input}");
            assert_eq!(t.url.as_str(), shown, "{input}");
            assert!(!t.request_target.contains('@'), "{input}");
        }
    }

    #[test]
    fn literals_resolve_without_the_resolver() {
        let t = Target::new(parse_url("http://[::1]:9/").unwrap()).unwrap();
        assert_eq!(
            t.resolve(&ConnectRules::default()).unwrap(),
            Route::Tcp(vec!["[::1]:9".parse().unwrap()])
        );
    }

    /// `--unix-socket`: the URL's name (a reserved .test one, never
    /// looked up) stays in Host; through a proxy the socket reaches the
    /// proxy, which is asked for the absolute URL.
    #[test]
    fn a_unix_socket_takes_every_connection_and_keeps_the_url() {
        let rules = ConnectRules {
            unix_socket: Some("/tmp/w.sock".into()),
            ..ConnectRules::default()
        };
        let unix = Route::Unix("/tmp/w.sock".into());
        let t = Target::new(parse_url("https://name.test:8443/a").unwrap()).unwrap();
        assert_eq!(t.resolve(&rules).unwrap(), unix);
        assert_eq!(t.host_header, "name.test:8443");
        let proxies = ProxyConfig::resolve(Some("proxy.test:3128"), None, |_| None).unwrap();
        let mut t = Target::new(parse_url("http://name.test/a").unwrap()).unwrap();
        t.route(&proxies);
        assert_eq!(t.resolve(&rules).unwrap(), unix);
        assert_eq!(t.request_target, "http://name.test/a");
    }
}

//! Where a request goes: URL checking (scheme, host), the `Host` header and
//! the request-target (origin form, RFC 9112 section 3.2.1, or absolute form
//! through a proxy), the proxy (if any) the connection goes to, and
//! resolution of that host to socket addresses. Resolution is blocking
//! (getaddrinfo); the event loop only ever sees addresses.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use url::{Host, Url};

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
/// ("example.test/x") is taken as http, like curl and wget do.
pub fn parse_url(input: &str) -> Result<Url> {
    let input = input.trim();
    let parsed = match Url::parse(input) {
        Err(url::ParseError::RelativeUrlWithoutBase) if !input.is_empty() => {
            Url::parse(&format!("http://{input}"))
        }
        other => other,
    };
    parsed.map_err(|e| Error::Usage(format!("malformed URL {input:?}: {e}")))
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

    /// The addresses to try, in the resolver's order. IP literals are used
    /// as they are, without asking the resolver.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>> {
        let (host, port) = self.connect_to();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let resolve_error = |source| Error::Resolve {
            host: host.to_string(),
            source,
        };
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(resolve_error)?
            .collect();
        if addrs.is_empty() {
            return Err(resolve_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no addresses",
            )));
        }
        Ok(addrs)
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
            t.resolve().unwrap(),
            vec!["127.0.0.2:3128".parse().unwrap()]
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
        assert_eq!(t.resolve().unwrap(), vec!["[::1]:9".parse().unwrap()]);
    }
}

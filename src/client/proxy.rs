//! Proxies the way curl finds and uses them: `--proxy` or the environment
//! (`http_proxy` in lower case only, `https_proxy`/`HTTPS_PROXY`, then
//! `all_proxy`/`ALL_PROXY` for both),
//! exceptions from `--noproxy` or `no_proxy`/`NO_PROXY`; plain http goes
//! to the proxy with an absolute-form request-target (RFC 9112 section
//! 3.2.2), https through a CONNECT tunnel (RFC 9110 section 9.3.6).
//!
//! Pure: the settings are read once into [`ProxyConfig`]; [`Tunnel`] is the
//! sans-IO CONNECT exchange the connection runs before anything else.

use url::{Host, Url};

use crate::error::{Error, Result};
use crate::http::response::try_parse_response;

/// The port a proxy URL without one gets (curl's default).
const DEFAULT_PROXY_PORT: u16 = 1080;
/// The largest CONNECT reply head we read.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// Where a proxy listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAddr {
    /// As in a URL host, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// The proxy for messages, credentials left out.
    pub url: String,
    /// `Proxy-Authorization` value from credentials in the proxy URL.
    pub authorization: Option<String>,
}

/// Which proxy each scheme uses, and which hosts go direct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    pub http: Option<ProxyAddr>,
    pub https: Option<ProxyAddr>,
    pub no_proxy: Vec<String>,
}

impl ProxyConfig {
    /// From the flags, falling back to the environment `var` gives.
    ///
    /// Only the lower-case `http_proxy` counts: a CGI program gets the
    /// request header `Proxy:` as `HTTP_PROXY`, so trusting that name lets
    /// a client pick the proxy (httpoxy, CVE-2016-5385). `--proxy` serves
    /// both schemes; `--noproxy` replaces `no_proxy`.
    pub fn resolve(
        flag_proxy: Option<&str>,
        flag_noproxy: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ProxyConfig> {
        let nonempty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let (http, https) = match flag_proxy {
            // `--proxy ""` turns proxies off, like curl.
            Some(p) if p.trim().is_empty() => (None, None),
            Some(p) => {
                let addr = parse_proxy(p)?;
                (Some(addr.clone()), Some(addr))
            }
            None => {
                // curl's fallback for every scheme; either case is safe,
                // since no request header becomes `ALL_PROXY` under CGI.
                let all = || nonempty("all_proxy").or_else(|| nonempty("ALL_PROXY"));
                (
                    nonempty("http_proxy")
                        .or_else(all)
                        .map(|p| parse_proxy(&p))
                        .transpose()?,
                    nonempty("https_proxy")
                        .or_else(|| nonempty("HTTPS_PROXY"))
                        .or_else(all)
                        .map(|p| parse_proxy(&p))
                        .transpose()?,
                )
            }
        };
        let no_proxy = match flag_noproxy {
            Some(list) => list.to_string(),
            None => var("no_proxy")
                .or_else(|| var("NO_PROXY"))
                .unwrap_or_default(),
        };
        Ok(ProxyConfig {
            http,
            https,
            no_proxy: no_proxy
                .split(',')
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        })
    }

    /// The proxy for `url`, or `None` to connect directly.
    pub fn for_url(&self, url: &Url) -> Option<&ProxyAddr> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        let host = match url.host()? {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        };
        (!self.bypasses(&host)).then_some(proxy)
    }

    /// curl's `no_proxy` rules: `*` matches every host; otherwise an entry
    /// matches the host itself and its subdomains (a leading dot is
    /// optional). IP literals match exactly.
    fn bypasses(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.no_proxy.iter().any(|e| {
            let e = e.trim_start_matches('[').trim_end_matches(']');
            e == "*"
                || host == e
                || (host.len() > e.len()
                    && host.ends_with(e)
                    && host.as_bytes()[host.len() - e.len() - 1] == b'.')
        })
    }
}

/// A proxy as given: `http://host:port`, or `host:port` (taken as http).
/// Other proxy schemes and credentials are refused rather than ignored.
fn parse_proxy(spec: &str) -> Result<ProxyAddr> {
    let spec = spec.trim();
    let bad = |why: &str| Error::Usage(format!("proxy {spec:?}: {why}"));
    let with_scheme = if spec.contains("://") {
        spec.to_string()
    } else {
        format!("http://{spec}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad("only http:// proxies are supported"));
    }
    let authorization = basic_credentials(&url);
    let host = match url.host() {
        Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
        Some(Host::Ipv4(a)) => a.to_string(),
        Some(Host::Ipv6(a)) => a.to_string(),
        _ => return Err(bad("no host")),
    };
    let port = url.port().unwrap_or(DEFAULT_PROXY_PORT);
    let shown = match url.host() {
        Some(Host::Ipv6(a)) => format!("http://[{a}]:{port}"),
        _ => format!("http://{host}:{port}"),
    };
    Ok(ProxyAddr {
        host,
        port,
        url: shown,
        authorization,
    })
}

/// `Basic` credentials (RFC 7617) from `http://user:password@proxy`, the
/// user and password percent-decoded as curl does.
pub fn basic_credentials(url: &Url) -> Option<String> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
    let mut pair = decode(url.username());
    pair.push(b':');
    pair.extend(decode(url.password().unwrap_or("")));
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// The absolute-form request-target for a request sent to a proxy:
/// the whole URL but its fragment (RFC 9112 section 3.2.2).
pub fn absolute_form(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

/// What a CONNECT exchange has come to.
#[derive(Debug, PartialEq, Eq)]
pub enum TunnelState {
    /// The reply head is not complete yet.
    Waiting,
    /// The tunnel is open; `n` bytes of input were the reply head.
    Open(usize),
}

/// The CONNECT request for `host:port` and the check of its reply.
#[derive(Debug, Clone)]
pub struct Tunnel {
    pub authority: String,
    pub proxy: String,
    authorization: Option<String>,
}

impl Tunnel {
    /// A tunnel to `host` (as in a URL, IPv6 without brackets) and `port`.
    pub fn new(host: &str, port: u16, proxy: &ProxyAddr) -> Tunnel {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Tunnel {
            authority,
            proxy: proxy.url.clone(),
            authorization: proxy.authorization.clone(),
        }
    }

    /// RFC 9110 section 9.3.6: the request-target is the authority form.
    pub fn request(&self) -> Vec<u8> {
        let auth = match &self.authorization {
            Some(v) => format!("Proxy-Authorization: {v}\r\n"),
            None => String::new(),
        };
        format!(
            "CONNECT {a} HTTP/1.1\r\nHost: {a}\r\nUser-Agent: wirecat/{}\r\n{auth}\r\n",
            env!("CARGO_PKG_VERSION"),
            a = self.authority
        )
        .into_bytes()
    }

    /// Reads the proxy's reply from `input`. Any 2xx opens the tunnel; a
    /// 2xx reply to CONNECT has no body (RFC 9110 section 9.3.6), so what
    /// follows the head is already the tunnel's.
    pub fn reply(&self, input: &[u8], peer_closed: bool) -> Result<TunnelState> {
        let parsed = try_parse_response(input, MAX_CONNECT_HEAD).map_err(|e| {
            Error::Connect(format!("proxy {}: {e} in its CONNECT reply", self.proxy))
        })?;
        match parsed {
            None if peer_closed => Err(Error::Connect(format!(
                "proxy {} closed the connection before answering CONNECT {}",
                self.proxy, self.authority
            ))),
            None => Ok(TunnelState::Waiting),
            Some((head, n)) if (200..300).contains(&head.status) => Ok(TunnelState::Open(n)),
            Some((head, _)) if head.is_interim() => Err(Error::Connect(format!(
                "proxy {}: unexpected interim reply {} to CONNECT",
                self.proxy, head.status
            ))),
            Some((head, _)) => Err(Error::Connect(format!(
                "proxy {} refused CONNECT {}: {} {}",
                self.proxy,
                self.authority,
                head.status,
                // The proxy's words, but not its control characters.
                String::from_utf8_lossy(&head.reason).escape_debug()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn proxy_for(config: &ProxyConfig, url: &str) -> Option<String> {
        config
            .for_url(&Url::parse(url).unwrap())
            .map(|p| format!("{}:{}", p.host, p.port))
    }

    type Vars<'a> = &'a [(&'a str, &'a str)];

    #[test]
    fn environment_like_curl() {
        // (environment, url, proxy chosen)
        let cases: &[(Vars, &str, Option<&str>)] = &[
            (
                &[("http_proxy", "http://p:3128")],
                "http://h/",
                Some("p:3128"),
            ),
            // httpoxy: the upper-case name is never trusted.
            (&[("HTTP_PROXY", "http://p:3128")], "http://h/", None),
            (&[("http_proxy", "p:3128")], "https://h/", None),
            (&[("https_proxy", "p:1")], "https://h/", Some("p:1")),
            (&[("HTTPS_PROXY", "p:2")], "https://h/", Some("p:2")),
            (
                &[("https_proxy", "p:1"), ("HTTPS_PROXY", "p:2")],
                "https://h/",
                Some("p:1"),
            ),
            (&[("http_proxy", "p")], "http://h/", Some("p:1080")),
            (&[("http_proxy", "")], "http://h/", None),
            (
                &[("http_proxy", "p:1"), ("no_proxy", "example.test")],
                "http://www.example.test/",
                None,
            ),
            (
                &[("http_proxy", "p:1"), ("no_proxy", "example.test")],
                "http://notexample.test/",
                Some("p:1"),
            ),
            (
                &[
                    ("http_proxy", "p:1"),
                    ("NO_PROXY", " a.test , .example.test"),
                ],
                "http://example.test:8080/",
                None,
            ),
            (
                &[("http_proxy", "p:1"), ("no_proxy", "*")],
                "http://anything/",
                None,
            ),
            (
                &[("http_proxy", "p:1"), ("no_proxy", "127.0.0.1,::1")],
                "http://[::1]:9/",
                None,
            ),
            (
                &[("http_proxy", "p:1"), ("no_proxy", "127.0.0.1")],
                "http://127.0.0.10/",
                Some("p:1"),
            ),
            (
                &[("http_proxy", "http://[::1]:8")],
                "http://h/",
                Some("::1:8"),
            ),
            (&[("ALL_PROXY", "a:3")], "https://h/", Some("a:3")),
            (&[("all_proxy", "a:3")], "http://h/", Some("a:3")),
            (
                &[("all_proxy", "a:3"), ("http_proxy", "p:1")],
                "http://h/",
                Some("p:1"),
            ),
            (
                &[("all_proxy", "a:3"), ("no_proxy", "h")],
                "http://h/",
                None,
            ),
        ];
        for (vars, url, want) in cases {
            let config = ProxyConfig::resolve(None, None, env(vars)).unwrap();
            assert_eq!(proxy_for(&config, url).as_deref(), *want, "{vars:?} {url}");
        }
    }

    #[test]
    fn flags_override_the_environment() {
        let vars = [("http_proxy", "p:1"), ("no_proxy", "h")];
        let c = ProxyConfig::resolve(Some("q:2"), None, env(&vars)).unwrap();
        assert_eq!(proxy_for(&c, "https://x/").as_deref(), Some("q:2"));
        assert_eq!(proxy_for(&c, "http://h/"), None);
        let c = ProxyConfig::resolve(None, Some("other"), env(&vars)).unwrap();
        assert_eq!(proxy_for(&c, "http://h/").as_deref(), Some("p:1"));
        let c = ProxyConfig::resolve(Some(""), None, env(&vars)).unwrap();
        assert_eq!(proxy_for(&c, "http://x/"), None);
        let c = ProxyConfig::resolve(Some("q:2"), Some("*"), env(&vars)).unwrap();
        assert_eq!(proxy_for(&c, "http://x/"), None);
    }

    #[test]
    fn bad_proxies_are_usage_errors() {
        for p in ["socks5://p:1", "https://p:1", "http://", "p:x"] {
            let res = ProxyConfig::resolve(Some(p), None, env(&[]));
            assert!(matches!(res, Err(Error::Usage(_))), "{p}: {res:?}");
        }
    }

    #[test]
    fn credentials_become_basic_and_stay_out_of_messages() {
        let p = parse_proxy("http://Aladdin:open%20sesame@p:1").unwrap();
        // RFC 7617 section 2's example.
        assert_eq!(
            p.authorization.as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(p.url, "http://p:1");
        let req = String::from_utf8(Tunnel::new("h", 443, &p).request()).unwrap();
        assert!(req.contains("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
        assert_eq!(
            parse_proxy("http://u@p").unwrap().authorization.as_deref(),
            Some("Basic dTo=")
        );
        assert_eq!(parse_proxy("p:2").unwrap().authorization, None);
        assert_eq!(parse_proxy("[::1]:2").unwrap().url, "http://[::1]:2");
    }

    #[test]
    fn absolute_form_drops_the_fragment() {
        let u = Url::parse("http://h:8/a?b=1#c").unwrap();
        assert_eq!(absolute_form(&u), "http://h:8/a?b=1");
    }

    #[test]
    fn connect_exchange() {
        let p = parse_proxy("p:1").unwrap();
        let t = Tunnel::new("::1", 443, &p);
        assert!(String::from_utf8(t.request())
            .unwrap()
            .starts_with("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n"));
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03";
        for i in 0..ok.len() - 2 {
            assert_eq!(t.reply(&ok[..i], false).unwrap(), TunnelState::Waiting);
        }
        assert_eq!(t.reply(ok, false).unwrap(), TunnelState::Open(ok.len() - 2));
        let refused = t
            .reply(b"HTTP/1.1 403 Forbidden\r\n\r\n", false)
            .unwrap_err();
        assert!(refused.to_string().contains("403 Forbidden"), "{refused}");
        assert_eq!(refused.exit_code(), 4);
        assert!(t.reply(b"HTTP/1.1 200", true).is_err());
        assert!(t.reply(b"garbage\r\n\r\n", false).is_err());
    }
}

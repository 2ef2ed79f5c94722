//! Following redirects (RFC 9110 section 15.4): which statuses are
//! followed, where `Location` leads, how the method changes, when
//! credentials must be dropped, and the count and loop checks. Pure.

use url::Url;

use crate::error::{Error, Result};

/// Statuses that carry a `Location` to follow. 300 (a choice), 304 (not
/// modified) and 305 (deprecated) are final responses to us.
pub fn is_followed(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The next request after a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub url: Url,
    pub method: String,
    /// The request body goes along only when the method did not change.
    pub keep_body: bool,
    /// Scheme, host or port changed: Authorization and Cookie stay behind.
    pub crosses_origin: bool,
}

/// Where a `status` redirect with `location` leads from a `method` request to `current`.
pub fn next_hop(current: &Url, method: &str, status: u16, location: &[u8]) -> Result<Hop> {
    let location = String::from_utf8_lossy(location);
    let location = location.trim();
    // A relative reference resolves against the request's URL (RFC 9110 section 10.2.2).
    let url = current
        .join(location)
        .map_err(|e| Error::Redirect(format!("{current}: bad Location {location:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Redirect(format!(
            "{current}: refusing to follow a redirect to {url}: only http and https are followed"
        )));
    }
    // RFC 9110 section 15.4.2/15.4.3: user agents turn POST into GET on 301
    // and 302 (historic practice); 303 means "GET the result" for anything but HEAD.
    // 307 and 308 forbid changing the method (sections 15.4.8, 15.4.9).
    let new_method = match status {
        301 | 302 if method == "POST" => "GET",
        303 if method != "HEAD" => "GET",
        _ => method,
    };
    let crosses_origin = url.scheme() != current.scheme()
        || url.host() != current.host()
        || url.port_or_known_default() != current.port_or_known_default();
    Ok(Hop {
        keep_body: new_method == method,
        method: new_method.to_string(),
        url,
        crosses_origin,
    })
}

/// The requests made so far for one download: counts hops and spots loops.
#[derive(Debug, Clone)]
pub struct Trail {
    seen: Vec<(String, Url)>,
    max: u32,
}

impl Trail {
    pub fn new(max: u32, method: &str, first: &Url) -> Trail {
        Trail {
            seen: vec![(method.to_string(), first.clone())],
            max,
        }
    }

    pub fn redirects(&self) -> u32 {
        self.seen.len() as u32 - 1
    }

    /// Records a hop, refusing one too many or one already made: without
    /// cookies or other state, the same request again means a loop.
    pub fn visit(&mut self, hop: &Hop) -> Result<()> {
        if self.redirects() >= self.max {
            return Err(Error::Redirect(format!(
                "{}: too many redirects (more than {})",
                hop.url, self.max
            )));
        }
        if self
            .seen
            .iter()
            .any(|(m, u)| *m == hop.method && *u == hop.url)
        {
            return Err(Error::Redirect(format!(
                "redirect loop: {} {} was already requested",
                hop.method, hop.url
            )));
        }
        self.seen.push((hop.method.clone(), hop.url.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn methods_and_bodies_across_statuses() {
        // (status, method before, method after, body kept)
        let cases = [
            (301, "POST", "GET", false),
            (302, "POST", "GET", false),
            (301, "GET", "GET", true),
            (302, "PUT", "PUT", true),
            (303, "POST", "GET", false),
            (303, "PUT", "GET", false),
            (303, "HEAD", "HEAD", true),
            (303, "GET", "GET", true),
            (307, "POST", "POST", true),
            (308, "PUT", "PUT", true),
            (308, "HEAD", "HEAD", true),
        ];
        for (status, before, after, kept) in cases {
            let hop = next_hop(&url("http://h/a"), before, status, b"/b").unwrap();
            assert_eq!(hop.method, after, "{status} {before}");
            assert_eq!(hop.keep_body, kept, "{status} {before}");
        }
    }

    #[test]
    fn locations_resolve_and_origins_compare() {
        // (location, resolved, crosses origin)
        let cases = [
            ("/x?y=1", "http://h:8080/x?y=1", false),
            ("next", "http://h:8080/dir/next", false),
            ("../up", "http://h:8080/up", false),
            ("//h:8080/p", "http://h:8080/p", false),
            ("http://h:8080/abs", "http://h:8080/abs", false),
            ("http://h:8081/abs", "http://h:8081/abs", true),
            ("http://other:8080/", "http://other:8080/", true),
            ("https://h:8080/", "https://h:8080/", true),
            ("  /trimmed  ", "http://h:8080/trimmed", false),
        ];
        for (loc, want, crosses) in cases {
            let hop = next_hop(&url("http://h:8080/dir/page"), "GET", 302, loc.as_bytes()).unwrap();
            assert_eq!(hop.url.as_str(), want, "{loc}");
            assert_eq!(hop.crosses_origin, crosses, "{loc}");
        }
        let same = next_hop(&url("http://h/"), "GET", 301, b"http://h:80/x").unwrap();
        assert!(!same.crosses_origin);
    }

    #[test]
    fn other_schemes_and_junk_are_refused() {
        for loc in [
            &b"ftp://h/x"[..],
            b"file:///etc/passwd",
            b"javascript:alert(1)",
            b"http://[::1",
        ] {
            let err = next_hop(&url("http://h/"), "GET", 302, loc).unwrap_err();
            assert!(matches!(err, Error::Redirect(_)), "{err:?}");
        }
    }

    #[test]
    fn trail_counts_and_spots_loops() {
        let start = url("http://h/a");
        let mut trail = Trail::new(2, "GET", &start);
        let hop = |u: &str, m: &str| Hop {
            url: url(u),
            method: m.into(),
            keep_body: true,
            crosses_origin: false,
        };
        trail.visit(&hop("http://h/b", "GET")).unwrap();
        let err = trail.visit(&hop("http://h/a", "GET")).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        trail.visit(&hop("http://h/a", "POST")).unwrap();
        let err = trail.visit(&hop("http://h/c", "GET")).unwrap_err();
        assert!(err.to_string().contains("too many"), "{err}");
        assert_eq!(trail.redirects(), 2);
    }
}

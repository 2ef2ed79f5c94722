//! `serve --cors`: the header every response carries, and the answer to a
//! CORS preflight (an `OPTIONS` with `Access-Control-Request-Method`,
//! Fetch standard section 3.2.2). A leaf: pure decisions over request
//! headers, rendered into a [`Head`] the caller sends with no body.

use super::reply::Head;
use crate::http::{is_tchar, Header};

/// The line `--cors` adds to every response, after the `-H` lines.
pub const ALLOW_ORIGIN: &[u8] = b"Access-Control-Allow-Origin: *\r\n";

/// How long a browser may keep a preflight's answer (a day; browsers cap
/// it lower themselves).
pub const MAX_AGE: u32 = 86_400;

/// Whether a request is a CORS preflight: `OPTIONS` naming the method it
/// would send. A plain `OPTIONS` is not one and keeps the usual answer.
pub fn is_preflight(method: &str, headers: &[Header]) -> bool {
    method == "OPTIONS"
        && headers
            .iter()
            .any(|h| h.is("access-control-request-method"))
}

/// The request headers a preflight asks for, echoed when the list is a
/// comma-separated list of tokens (anything else is not repeated back).
pub fn allowed_headers(headers: &[Header]) -> Option<String> {
    let asked = headers
        .iter()
        .find(|h| h.is("access-control-request-headers"))?;
    let value = std::str::from_utf8(&asked.value).ok()?;
    let names: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() || names.iter().any(|n| !n.bytes().all(is_tchar)) {
        return None;
    }
    Some(names.join(", "))
}

/// The 204 that answers a preflight: methods (`allow`, the methods the
/// site answers, and OPTIONS), echoed headers, max age. `extra` (the `-H`
/// lines) already holds [`ALLOW_ORIGIN`].
pub fn preflight(headers: &[Header], date: &[u8], extra: &[u8], allow: &str) -> Head {
    let mut head = Head::new(204, date, extra);
    head.text("Access-Control-Allow-Methods", &format!("{allow}, OPTIONS"));
    if let Some(names) = allowed_headers(headers) {
        head.text("Access-Control-Allow-Headers", &names);
    }
    head.header("Access-Control-Max-Age", MAX_AGE);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs
            .iter()
            .map(|(n, v)| Header {
                name: n.to_string(),
                value: v.as_bytes().to_vec(),
            })
            .collect()
    }

    #[test]
    fn preflight_needs_options_and_a_requested_method() {
        let asked = hs(&[("Access-Control-Request-Method", "PUT")]);
        let cases = [
            ("OPTIONS", &asked[..], true),
            ("OPTIONS", &[][..], false),
            ("GET", &asked[..], false),
            ("options", &asked[..], false),
        ];
        for (method, headers, want) in cases {
            assert_eq!(is_preflight(method, headers), want, "{method}");
        }
    }

    #[test]
    fn requested_headers_are_echoed_only_when_they_are_tokens() {
        let cases = [
            ("Content-Type, X-Token", Some("Content-Type, X-Token")),
            ("x-a,x-b", Some("x-a, x-b")),
            (" x-a ,, ", Some("x-a")),
            ("", None),
            (",", None),
            ("x a", None),
            ("x-a, b\"c", None),
        ];
        for (value, want) in cases {
            let h = hs(&[("Access-Control-Request-Headers", value)]);
            assert_eq!(allowed_headers(&h).as_deref(), want, "{value:?}");
        }
        assert_eq!(allowed_headers(&[]), None);
    }

    #[test]
    fn preflight_head() {
        let h = hs(&[
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-a"),
        ]);
        let date = b"Mon, 30 Nov 2026 00:00:00 GMT";
        let text = String::from_utf8(
            preflight(&h, date, ALLOW_ORIGIN, "GET, HEAD")
                .finish(super::super::reply::Connection::Persist),
        )
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        for line in [
            "Access-Control-Allow-Origin: *\r\n",
            "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n",
            "Access-Control-Allow-Headers: x-a\r\n",
            "Access-Control-Max-Age: 86400\r\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(!text.contains("Content-Length"), "{text}");
    }
}

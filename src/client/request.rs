//! The request as bytes on the wire (RFC 9112 section 3): the request line
//! (origin form, or absolute form through a proxy), the default header
//! fields (Accept-Encoding as `--compressed` decides), the user's `-H` edits, and an
//! optional body with its Content-Length. Pure: no I/O but reading a
//! `--data-binary @file` when the config is built.

use std::fs::File;
use std::rc::Rc;
use std::sync::Arc;

use super::target::Target;
use crate::error::{Error, Result};
use crate::http::body::is_tchar;

/// A request body, sent with Content-Length.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Rc<[u8]>),
    /// A file sent with sendfile(2); `len` is its size when the run began.
    File {
        file: Arc<File>,
        len: u64,
    },
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One `-H` argument: set `name` to `value`, or remove it when `value` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEdit {
    pub name: String,
    pub value: Option<Vec<u8>>,
}

impl HeaderEdit {
    /// Parses "Name: value" ("Name:" removes a default). Names must be
    /// tokens and values free of CR, LF and NUL, so a flag can never
    /// smuggle a second header or request onto the wire.
    pub fn parse(arg: &str) -> Result<HeaderEdit> {
        let bad = |why: &str| Error::Usage(format!("-H {arg:?}: {why}"));
        let (name, value) = arg
            .split_once(':')
            .ok_or_else(|| bad("expected \"Name: value\""))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad("the name is not a valid header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(bad("the value holds a line break or NUL"));
        }
        Ok(HeaderEdit {
            name: name.to_string(),
            value: (!value.is_empty()).then(|| value.as_bytes().to_vec()),
        })
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// What Accept-Encoding says without `--compressed`. Sending nothing
/// would mean any coding is acceptable (RFC 9110 section 12.5.3), so we
/// ask for the bytes as they are, explicitly.
pub const IDENTITY: &str = "identity";

/// The request head, ending with the blank line. The body (if any) is
/// queued separately so a file body can go out with sendfile(2).
/// `accept_encoding` is the Accept-Encoding value.
pub fn head(
    method: &str,
    target: &Target,
    edits: &[HeaderEdit],
    body: Option<&Body>,
    accept_encoding: &str,
) -> Vec<u8> {
    let mut fields: Vec<(String, Vec<u8>)> = vec![
        ("Host".into(), target.host_header.clone().into_bytes()),
        (
            "User-Agent".into(),
            concat!("wirecat/", env!("CARGO_PKG_VERSION")).into(),
        ),
        ("Accept".into(), b"*/*".to_vec()),
        (
            "Accept-Encoding".into(),
            accept_encoding.as_bytes().to_vec(),
        ),
        // One request per connection: say so, so the server closes promptly
        // (RFC 9112 section 9.6).
        ("Connection".into(), b"close".to_vec()),
    ];
    if let Some(auth) = &target.credentials {
        fields.push(("Authorization".into(), auth.clone().into_bytes()));
    }
    // Plain http through a proxy carries the proxy's credentials; https
    // gave them to the CONNECT and keeps them out of the tunnel.
    if let Some(auth) = target.via.as_ref().and_then(|p| p.authorization.as_ref()) {
        if !target.is_https() {
            fields.push(("Proxy-Authorization".into(), auth.clone().into_bytes()));
        }
    }
    if let Some(body) = body {
        fields.push((
            "Content-Type".into(),
            b"application/x-www-form-urlencoded".to_vec(),
        ));
        fields.push(("Content-Length".into(), body.len().to_string().into_bytes()));
    }
    apply_edits(&mut fields, edits);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.request_target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The user's `-H` edits over the default fields: a value replaces the
/// field of that name (or adds one), an empty value removes it.
fn apply_edits(fields: &mut Vec<(String, Vec<u8>)>, edits: &[HeaderEdit]) {
    for edit in edits {
        let at = fields.iter().position(|(n, _)| edit.is(n));
        match (at, &edit.value) {
            (Some(i), Some(v)) => fields[i] = (edit.name.clone(), v.clone()),
            (Some(i), None) => {
                fields.remove(i);
            }
            (None, Some(v)) => fields.push((edit.name.clone(), v.clone())),
            (None, None) => {}
        }
    }
}

/// Checks a `-X` method: a token (RFC 9110 section 9.1), kept as typed
/// since methods are case-sensitive.
pub fn check_method(method: &str) -> Result<String> {
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(Error::Usage(format!("-X {method:?}: not a valid method")));
    }
    Ok(method.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::target::parse_url;

    fn target(url: &str) -> Target {
        Target::new(parse_url(url).unwrap()).unwrap()
    }

    #[test]
    fn default_request() {
        let got = head("GET", &target("http://h:8080/a?b=1"), &[], None, IDENTITY);
        let want = format!(
            "GET /a?b=1 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: wirecat/{}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }

    #[test]
    fn edits_replace_remove_and_add() {
        let edits: Vec<HeaderEdit> = [
            "user-agent: me/1",
            "Accept:",
            "X-A: 1",
            "X-Gone:",
            "accept-encoding:",
        ]
        .iter()
        .map(|a| HeaderEdit::parse(a).unwrap())
        .collect();
        let body = Body::Bytes(Rc::from(&b"a=1"[..]));
        let got = String::from_utf8(head(
            "POST",
            &target("http://h/"),
            &edits,
            Some(&body),
            "br",
        ))
        .unwrap();
        assert_eq!(
            got,
            "POST / HTTP/1.1\r\nHost: h\r\nuser-agent: me/1\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n"
        );
    }

    #[test]
    fn proxy_credentials_go_with_plain_http_only() {
        use crate::client::proxy::ProxyConfig;
        let proxies = ProxyConfig::resolve(Some("http://u:p@127.0.0.1:1"), None, |_| None).unwrap();
        for (url, sent) in [("http://h/x", true), ("https://h/x", false)] {
            let mut t = target(url);
            t.route(&proxies);
            let got = String::from_utf8(head("GET", &t, &[], None, IDENTITY)).unwrap();
            assert_eq!(
                got.contains("\r\nProxy-Authorization: Basic dTpw\r\n"),
                sent,
                "{got}"
            );
        }
    }

    #[test]
    fn header_and_method_arguments_are_checked() {
        for bad in [
            "NoColon",
            ": v",
            "Bad Name: v",
            "X: a\r\nEvil: 1",
            "X: a\nb",
            "X: \0",
        ] {
            assert!(HeaderEdit::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            HeaderEdit::parse("X-Y:  spaced value \t")
                .unwrap()
                .value
                .unwrap(),
            b"spaced value"
        );
        assert!(check_method("PROPFIND").is_ok());
        for bad in ["", "GET /x", "GE\rT"] {
            assert!(check_method(bad).is_err(), "{bad:?} accepted");
        }
    }
}

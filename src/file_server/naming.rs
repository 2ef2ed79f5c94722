//! What a request names, decided without the file system: the Host check
//! (RFC 9112 section 3.2), the small-file cache's key for a cleaned path,
//! and the Content-Type a file name implies. Pure, table-tested.

use super::path::UrlPath;
use crate::http::request::RequestHead;
use crate::http::Version;

/// The type for a file name, from the maintained MIME table; text types
/// are declared UTF-8.
pub fn content_type(name: &str) -> String {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let texty = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml" | "application/xml"
        );
    if texty {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// The cache key for a request: its relative path, or the index file of
/// the folder it names.
pub fn cache_key(url: &UrlPath) -> String {
    let mut key = url.segments.join("/");
    if url.trailing_slash {
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str("index.html");
    }
    key
}

/// RFC 9112 section 3.2: an HTTP/1.1 request needs exactly one Host; no
/// request may carry two. The value must look like `host[:port]`.
pub fn host_is_valid(req: &RequestHead) -> bool {
    let mut hosts = req.headers.iter().filter(|h| h.is("host"));
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => false,
        (None, _) => req.version == Version::Http10,
        (Some(h), None) => h
            .value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~:[]%!$&'()*+,;=".contains(&b)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::path;
    use super::*;

    #[test]
    fn content_types_from_the_mime_table() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("photo.PNG", "image/png"),
            ("tone.wav", "audio/wav"),
            ("noext", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn cache_keys_name_files_and_folder_indexes() {
        let key = |t: &str| cache_key(&path::clean(t).unwrap().0);
        assert_eq!(key("/"), "index.html");
        assert_eq!(key("/a/b.txt"), "a/b.txt");
        assert_eq!(key("/a/"), "a/index.html");
        assert_eq!(key("/a b/%23"), "a b/#");
    }
}

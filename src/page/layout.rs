//! Where a URL is saved (wget's layout: `HOST[_PORT]/PATH`, `index.html`
//! for a folder, the query folded into the name, `.html`/`.css` added),
//! and the relative reference from one saved file to another. Names are
//! made safe with the same rules as `-J` names; `..` cannot occur.

use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::http::disposition::sanitize;

/// What a body is, as far as the page codec cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocType {
    Html,
    Css,
    Other,
}

/// The type a Content-Type names; without one, the URL's extension.
pub fn doc_type(content_type: Option<&str>, url: &Url) -> DocType {
    let essence = match content_type {
        Some(ct) => ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
        None => {
            let path = url.path().to_ascii_lowercase();
            let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
            match ext {
                "html" | "htm" | "xhtml" => return DocType::Html,
                "css" => return DocType::Css,
                _ => return DocType::Other,
            }
        }
    };
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => DocType::Html,
        "text/css" => DocType::Css,
        _ => DocType::Other,
    }
}

/// Bytes of a query kept as they are in a file name; the rest (and `/`)
/// is percent-encoded, so different queries never share a name.
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'=')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'%');

/// A path segment as a safe file or folder name.
fn segment_name(segment: &str) -> String {
    let decoded = percent_decode_str(segment).decode_utf8();
    // Undecodable bytes keep their %XX spelling (still a distinct name).
    let text = decoded.map_or_else(|_| segment.to_string(), |d| d.into_owned());
    // A decoded `/` or `\` must not become a folder, nor a cut for sanitize.
    let flat = text.replace(['/', '\\'], "_");
    sanitize(&flat).unwrap_or_else(|| "_".to_string())
}

/// Where `url` is saved, relative to the output folder.
pub fn local_path(url: &Url, content_type: Option<&str>) -> PathBuf {
    let host = url.host_str().unwrap_or("localhost");
    let mut dir = match url.port() {
        Some(port) => format!("{host}_{port}"),
        None => host.to_string(),
    };
    dir = segment_name(&dir);
    let mut path = PathBuf::from(dir);
    let segments: Vec<&str> = url.path_segments().map_or(vec![""], |s| s.collect());
    let (last, folders) = segments.split_last().unwrap_or((&"", &[]));
    for folder in folders.iter().filter(|f| !f.is_empty()) {
        path.push(segment_name(folder));
    }
    let mut name = if last.is_empty() {
        "index.html".to_string()
    } else {
        percent_decode_str(last)
            .decode_utf8()
            .map_or_else(|_| last.to_string(), |d| d.into_owned())
    };
    if let Some(q) = url.query() {
        name.push('@');
        name.extend(utf8_percent_encode(q, QUERY_KEEP));
    }
    let lower = name.to_ascii_lowercase();
    match doc_type(content_type, url) {
        DocType::Html if !lower.ends_with(".html") && !lower.ends_with(".htm") => {
            name.push_str(".html")
        }
        DocType::Css if !lower.ends_with(".css") => name.push_str(".css"),
        _ => {}
    }
    let flat = name.replace(['/', '\\'], "_");
    path.push(sanitize(&flat).unwrap_or_else(|| "_".to_string()));
    path
}

/// Bytes of a saved path's segments written as they are in a reference;
/// `%`, `#`, `?`, `:` (a scheme in a first segment), space and the rest
/// are percent-encoded, so a browser opening `file://` finds the file.
const LINK_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b'@');

fn names(path: &Path) -> Vec<&std::ffi::OsStr> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// The reference from the saved file `from` to the saved file `to`.
pub fn relative_link(from: &Path, to: &Path) -> String {
    let from = names(from);
    let to = names(to);
    let from_dir = &from[..from.len().saturating_sub(1)];
    let common = from_dir.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from_dir.len() - common];
    for name in &to[common..] {
        let bytes = name.as_encoded_bytes();
        parts.push(percent_encoding::percent_encode(bytes, LINK_KEEP).to_string());
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(url: &str, ct: Option<&str>) -> String {
        local_path(&Url::parse(url).unwrap(), ct)
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn local_paths() {
        let html = Some("text/html; charset=utf-8");
        let css = Some("text/css");
        let png = Some("image/png");
        let cases = [
            ("http://h.test/", html, "h.test/index.html"),
            ("http://h.test", None, "h.test/index.html"),
            ("http://h.test:80/a/", html, "h.test/a/index.html"),
            ("https://h.test:443/a.png", png, "h.test/a.png"),
            ("http://h.test:8080/a.png", png, "h.test_8080/a.png"),
            ("http://127.0.0.1:9/x.css", css, "127.0.0.1_9/x.css"),
            ("http://[::1]:9/x", png, "[::1]_9/x"),
            (
                "http://h.test/page?x=1&y=2",
                html,
                "h.test/page@x=1&y=2.html",
            ),
            ("http://h.test/?p=2", html, "h.test/index.html@p=2.html"),
            ("http://h.test/s?a=/b#f", css, "h.test/s@a=%2Fb.css"),
            ("http://h.test/p.HTM", html, "h.test/p.HTM"),
            ("http://h.test/styles", css, "h.test/styles.css"),
            (
                "http://h.test/app.php",
                Some("application/xhtml+xml"),
                "h.test/app.php.html",
            ),
            (
                "http://h.test/x%20y/%E4%B8%AD.png",
                png,
                "h.test/x y/中.png",
            ),
            ("http://h.test/a%2Fb/c%5Cd", png, "h.test/a_b/c_d"),
            ("http://h.test/%2e%2e/%2E%2E/x", png, "h.test/x"),
            ("http://h.test/.hidden/..x", png, "h.test/hidden/x"),
            ("http://h.test/a%00b/%1b[31m", png, "h.test/a_b/_[31m"),
            ("http://h.test/-rf", png, "h.test/_rf"),
            ("http://h.test/a//b", png, "h.test/a/b"),
            ("http://h.test/%ff.png", png, "h.test/%ff.png"),
        ];
        for (url, ct, want) in cases {
            assert_eq!(path(url, ct), want, "{url}");
        }
    }

    #[test]
    fn long_names_are_shortened_and_nothing_climbs() {
        let long = format!(
            "http://h.test/{}/{}.png?{}",
            "d".repeat(400),
            "n".repeat(400),
            "q".repeat(400)
        );
        let p = local_path(&Url::parse(&long).unwrap(), None);
        for c in p.components() {
            assert!(matches!(c, Component::Normal(_)), "{p:?}");
            assert!(c.as_os_str().len() <= 255, "{p:?}");
        }
    }

    #[test]
    fn relative_links() {
        let cases = [
            ("h/index.html", "h/a.png", "a.png"),
            ("h/index.html", "h/index.html", "index.html"),
            ("h/a/b/p.html", "h/a/c/x.css", "../c/x.css"),
            ("h/a/p.html", "h/a/b/c/x.css", "b/c/x.css"),
            ("h/p.html", "o_8080/i/x.png", "../o_8080/i/x.png"),
            ("h/p.html", "h/a b#c?d%e.png", "a%20b%23c%3Fd%25e.png"),
            ("h/p.html", "h/page@x=1&y=2.html", "page@x=1&y=2.html"),
            ("h/p.html", "h/c:d.png", "c%3Ad.png"),
            ("h/p.html", "h/中.png", "%E4%B8%AD.png"),
            ("h/p.html", "[::1]_9/x", "../%5B%3A%3A1%5D_9/x"),
        ];
        for (from, to, want) in cases {
            assert_eq!(
                relative_link(Path::new(from), Path::new(to)),
                want,
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn doc_types() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            doc_type(Some("Text/HTML ; charset=x"), &u("http://h.test/a.css")),
            DocType::Html
        );
        assert_eq!(
            doc_type(Some("text/plain"), &u("http://h.test/a.html")),
            DocType::Other
        );
        assert_eq!(doc_type(None, &u("http://h.test/a.HTM")), DocType::Html);
        assert_eq!(doc_type(None, &u("http://h.test/a.css?x")), DocType::Css);
        assert_eq!(doc_type(None, &u("http://h.test/")), DocType::Other);
    }
}

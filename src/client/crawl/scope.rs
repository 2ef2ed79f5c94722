//! Which URLs a crawl takes: one spelling per URL (the url crate has
//! already normalised the path; the fragment is dropped here), the scope of
//! `-r` (same scheme, host and port, below the starting folder), and
//! `--accept`/`--reject` globs on file names. Pure.

use url::Url;

/// The URL as fetched and as looked up: no fragment; `None` for schemes
/// that are not fetched (`ftp:`, `file:`, `data:`...).
pub fn fetchable(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let mut url = url.clone();
    url.set_fragment(None);
    Some(url)
}

/// `-r`'s scope: same scheme, host and port as `start`, and a path below
/// the folder `start` is in (wget's `-np`).
pub fn in_scope(start: &Url, url: &Url) -> bool {
    let folder = match start.path().rfind('/') {
        Some(at) => &start.path()[..=at],
        None => "/",
    };
    url.scheme() == start.scheme()
        && url.host_str() == start.host_str()
        && url.port_or_known_default() == start.port_or_known_default()
        && url.path().starts_with(folder)
}

/// `--accept`/`--reject` on the URL's file name (its last path segment,
/// percent-decoded). A folder URL (ending in `/`) is always taken, so the
/// crawl can walk through it; a rejected name wins over an accepted one.
pub fn wanted(url: &Url, accept: &[String], reject: &[String]) -> bool {
    let name = url.path().rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return true;
    }
    let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    if reject.iter().any(|g| glob(g, &name)) {
        return false;
    }
    accept.is_empty() || accept.iter().any(|g| glob(g, &name))
}

/// A shell glob on one file name: `*` any run, `?` one character, `[abc]`
/// one of a set; nothing else is special.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| glob_at(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && glob_at(&p[1..], &n[1..]),
        Some('[') => match p.iter().position(|&c| c == ']') {
            Some(end) if end > 1 => {
                !n.is_empty() && p[1..end].contains(&n[0]) && glob_at(&p[end + 1..], &n[1..])
            }
            _ => n.first() == Some(&'[') && glob_at(&p[1..], &n[1..]),
        },
        Some(c) => n.first() == Some(c) && glob_at(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn spellings_become_one() {
        let base = u("http://h/dir/page.html");
        let spellings = ["./a", "a", "/dir/a", "/dir/./a", "/dir/../dir/a", "a#top"];
        for s in spellings {
            let got = fetchable(&base.join(s).unwrap()).unwrap();
            assert_eq!(got.as_str(), "http://h/dir/a", "{s}");
        }
        assert!(fetchable(&u("ftp://h/a")).is_none());
        assert!(fetchable(&u("file:///etc/passwd")).is_none());
    }

    #[test]
    fn scope_is_origin_and_folder() {
        let start = u("http://h:8080/docs/index.html");
        let cases = [
            ("http://h:8080/docs/a.html", true),
            ("http://h:8080/docs/sub/b.html", true),
            ("http://h:8080/other.html", false),
            ("http://h:8080/docsx/a.html", false),
            ("http://h:8081/docs/a.html", false),
            ("https://h:8080/docs/a.html", false),
            ("http://g:8080/docs/a.html", false),
        ];
        for (url, want) in cases {
            assert_eq!(in_scope(&start, &u(url)), want, "{url}");
        }
    }

    #[test]
    fn globs_on_names() {
        let cases = [
            ("*.html", "a.html", true),
            ("*.html", "a.htm", false),
            ("a?c", "abc", true),
            ("[ab]*", "bz", true),
            ("[ab]*", "cz", false),
            ("*", "", true),
        ];
        for (g, name, want) in cases {
            assert_eq!(glob(g, name), want, "{g} {name}");
        }
        let (acc, rej) = (vec!["*.html".to_string()], vec!["skip*".to_string()]);
        assert!(wanted(&u("http://h/d/"), &acc, &rej));
        assert!(wanted(&u("http://h/d/a.html"), &acc, &rej));
        assert!(!wanted(&u("http://h/d/a.png"), &acc, &rej));
        assert!(!wanted(&u("http://h/d/skip.html"), &acc, &rej));
    }
}

//! A small scanner for the references in saved HTML and CSS, enough for the
//! generated site (tags with quoted or unquoted attributes, `srcset`, `<base
//! href>`, `<style>` blocks, `url()` and `@import` with CSS escapes and
//! comments), and the check that each one leads somewhere: a saved file
//! for a relative reference, or an absolute URL the test expects.

use std::path::{Component, Path, PathBuf};

/// Where one reference in a saved file leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An absolute `http(s)://` URL, as written.
    Absolute(String),
    /// A file below the mirror root (relative, `/` separators), present or not.
    Local(String),
}

/// One reference: the saved file it is in, its text, where it leads.
#[derive(Debug, Clone)]
pub struct Link {
    pub file: String,
    pub text: String,
    pub target: Target,
}

/// Every reference in every `.html`/`.css` file below `root`, resolved the
/// way a browser opening the file from `file://` would: the fragment and
/// the query are dropped, the path is percent-decoded.
pub fn links(root: &Path, files: &[String]) -> Vec<Link> {
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let (refs, base) = if file.ends_with(".css") {
            (css_refs(&text), None)
        } else if file.ends_with(".html") {
            html_refs(&text)
        } else {
            continue;
        };
        if let Some(b) = &base {
            assert!(
                !b.contains("://"),
                "{file}: <base href={b:?}> points the saved copy at the network"
            );
        }
        let dir = Path::new(file)
            .parent()
            .unwrap()
            .join(base.unwrap_or_default());
        for r in refs {
            if let Some(target) = resolve(&dir, &r) {
                out.push(Link {
                    file: file.clone(),
                    text: r,
                    target,
                });
            }
        }
    }
    out
}

pub fn resolve(dir: &Path, r: &str) -> Option<Target> {
    let lower = r.to_ascii_lowercase();
    let leave = ["#", "data:", "javascript:", "mailto:", "about:"];
    if r.is_empty() || leave.iter().any(|p| lower.starts_with(p)) {
        return None;
    }
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//") {
        return Some(Target::Absolute(r.to_string()));
    }
    let path = r.split(['#', '?']).next().unwrap();
    let mut at = PathBuf::new();
    for c in dir.join(percent_decode(path)).components() {
        match c {
            Component::ParentDir => assert!(at.pop(), "{r:?} leads above the mirror root"),
            Component::Normal(n) => at.push(n),
            _ => {}
        }
    }
    Some(Target::Local(at.to_string_lossy().replace('\\', "/")))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The references of an HTML text, and its `<base href>` if any.
pub fn html_refs(text: &str) -> (Vec<String>, Option<String>) {
    let mut refs = Vec::new();
    let mut base = None;
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let tag = rest[..name_len].to_ascii_lowercase();
        let (attrs, after) = attributes(&rest[name_len..]);
        rest = after;
        for (name, value) in attrs {
            let value = value.replace("&amp;", "&");
            match (tag.as_str(), name.as_str()) {
                ("base", "href") => base = Some(value),
                (_, "href" | "src" | "poster" | "data") => refs.push(value),
                (_, "srcset") => refs.extend(srcset_urls(&value)),
                (_, "style") => refs.extend(css_refs(&value)),
                _ => {}
            }
        }
        if tag == "style" {
            let end = rest
                .to_ascii_lowercase()
                .find("</style")
                .unwrap_or(rest.len());
            refs.extend(css_refs(&rest[..end]));
            rest = &rest[end..];
        }
    }
    (refs, base)
}

/// The attributes of a tag (names lower-cased) and the text after its `>`.
fn attributes(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if s.is_empty() || s.starts_with('>') {
            return (out, s.get(1..).unwrap_or(""));
        }
        let n = s
            .find(|c: char| c.is_ascii_whitespace() || "=>/".contains(c))
            .unwrap_or(s.len());
        let name = s[..n].to_ascii_lowercase();
        s = s[n..].trim_start();
        let Some(v) = s.strip_prefix('=') else {
            out.push((name, String::new()));
            continue;
        };
        let v = v.trim_start();
        let (value, after) = match v.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = v[1..].find(q).map_or(v.len(), |e| e + 1);
                (&v[1..end], v.get(end + 1..).unwrap_or(""))
            }
            _ => {
                let end = v
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(v.len());
                (&v[..end], &v[end..])
            }
        };
        out.push((name, value.to_string()));
        s = after;
    }
}

/// The URLs of a `srcset`: each candidate's URL is a run of non-space
/// characters (commas inside it included), trailing commas removed; its
/// descriptors run to the next comma.
pub fn srcset_urls(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            return out;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let url = rest[..end].trim_end_matches(',');
        let had_comma = url.len() < end;
        out.push(url.to_string());
        rest = &rest[end..];
        if !had_comma {
            rest = rest.find(',').map_or("", |c| &rest[c + 1..]);
        }
    }
}

/// The references of a CSS text: `url()` (quoted or not, with escapes)
/// and `@import "..."`, outside comments.
pub fn css_refs(text: &str) -> Vec<String> {
    let mut clean = String::new();
    let mut rest = text;
    while let Some(c) = rest.find("/*") {
        clean.push_str(&rest[..c]);
        rest = rest[c + 2..]
            .find("*/")
            .map_or("", |e| &rest[c + 2 + e + 2..]);
    }
    clean.push_str(rest);
    let mut out = Vec::new();
    let mut s = clean.as_str();
    loop {
        let lower = s.to_ascii_lowercase();
        let (u, i) = (lower.find("url("), lower.find("@import"));
        let (at, is_url) = match (u, i) {
            (Some(u), Some(i)) if i < u => (i + 7, false),
            (Some(u), _) => (u + 4, true),
            (None, Some(i)) => (i + 7, false),
            (None, None) => return out,
        };
        let v = s[at..].trim_start();
        s = &s[at..];
        match v.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = v[1..].find(q).map_or(v.len(), |e| e + 1);
                out.push(css_unescape(&v[1..end]));
            }
            _ if is_url => {
                let mut end = 0;
                let b = v.as_bytes();
                while end < b.len() && b[end] != b')' {
                    end += if b[end] == b'\\' { 2 } else { 1 };
                }
                out.push(css_unescape(v[..end.min(v.len())].trim()));
            }
            _ => {}
        }
    }
}

fn css_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            out.extend(it.next());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_harness_scanner_reads_the_awkward_forms() {
        let (refs, base) = html_refs(
            "<HEAD><BASE HREF=deeper/></HEAD><!-- <img src=no.png> --><IMG SRC=x.png ALT=a>\
             <img srcset=\"a.png 1x, b,c.png 2x,d.png 640w\" src='e f.png'>\
             <a href=\"p.html?x=1&amp;y=2#top\">q</a><div style=\"background:url(s.png)\"></div>\
             <style>p { background: url( \"st.png\" ) } /* url(gone.png) */</style>",
        );
        assert_eq!(base.as_deref(), Some("deeper/"));
        assert_eq!(
            refs,
            [
                "x.png",
                "a.png",
                "b,c.png",
                "d.png",
                "e f.png",
                "p.html?x=1&y=2#top",
                "s.png",
                "st.png"
            ]
        );
        assert_eq!(
            css_refs(
                "@import \"a.css\";\n@import url(b.css) print;\n@import 'c.css';\n\
                 h1 { background: url(a\\(1\\).png) } .q { background: url('q.png') }\n\
                 /* url(gone.png) */ .m { background: url( m.png ) }"
            ),
            ["a.css", "b.css", "c.css", "a(1).png", "q.png", "m.png"]
        );
        // A URL runs to whitespace, commas and all, as the HTML standard parses it.
        assert_eq!(srcset_urls("x.png,y.png 2x"), ["x.png,y.png"]);
        assert_eq!(srcset_urls("x.png, y.png 2x,"), ["x.png", "y.png"]);
    }

    #[test]
    fn mirror_harness_resolves_as_a_browser_from_file() {
        let dir = Path::new("h_1/docs");
        let local = |s: &str| Some(Target::Local(s.to_string()));
        assert_eq!(resolve(dir, "../page.html#top"), local("h_1/page.html"));
        assert_eq!(
            resolve(dir, "p.html%3Fx=1&y=2.html"),
            local("h_1/docs/p.html?x=1&y=2.html")
        );
        // An unencoded `?` starts a query, which file:// drops.
        assert_eq!(resolve(dir, "p.html?x=1"), local("h_1/docs/p.html"));
        assert_eq!(resolve(dir, "a%281%29.png"), local("h_1/docs/a(1).png"));
        assert_eq!(resolve(dir, "#top"), None);
        assert_eq!(resolve(dir, "data:image/png;base64,AA"), None);
        assert_eq!(
            resolve(dir, "http://127.0.0.1:1/x"),
            Some(Target::Absolute("http://127.0.0.1:1/x".into()))
        );
    }
}

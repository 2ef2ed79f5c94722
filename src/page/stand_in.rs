//! TEMPORARY: a minimal [`Documents`] so `fetch --page` and `fetch -r` run
//! end to end before the real HTML/CSS parser lands; the lead replaces
//! [`documents`] with the real `PageDocuments`. It only sees double-quoted
//! `href="..."`/`src="..."` attributes, CSS `url(...)` and `@import "..."`
//! by a plain scan, which is NOT how HTML is to be read (the issue asks
//! for a real parser); nothing outside this file relies on its shortcuts.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use url::Url;

use super::{Documents, Found, Kind, Ref};

/// The documents the crawl is given (temporary: see the file's head).
pub fn documents() -> Box<dyn Documents> {
    Box::new(StandIn)
}

struct StandIn;

fn is(ct: Option<&str>, what: &str) -> bool {
    ct.is_some_and(|c| c.to_ascii_lowercase().contains(what))
}

/// Each reference's byte range in `body` and its kind.
fn spans(body: &[u8], css: bool) -> Vec<(Range<usize>, Kind)> {
    let text = String::from_utf8_lossy(body);
    if text.len() != body.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let keys: &[&str] = if css {
        &["url(\"", "url(", "@import \""]
    } else {
        &["href=\"", "src=\"", "url("]
    };
    let mut at = 0;
    while let Some((pos, key)) = keys
        .iter()
        .filter_map(|k| text[at..].find(k).map(|p| (at + p, *k)))
        .min_by_key(|(p, k)| (*p, usize::MAX - k.len()))
    {
        let start = pos + key.len();
        let close = if key.ends_with('"') { '"' } else { ')' };
        let Some(len) = text[start..].find(close) else {
            break;
        };
        out.push((start..start + len, kind(&text, pos, css)));
        at = start + len;
    }
    out
}

/// The kind of the reference at `pos`, from the tag it is in.
fn kind(text: &str, pos: usize, css: bool) -> Kind {
    if css {
        return Kind::Requisite;
    }
    let tag_start = text[..pos].rfind('<').unwrap_or(0);
    let tag_end = text[pos..].find('>').map_or(text.len(), |e| pos + e);
    let tag = text[tag_start..tag_end].to_ascii_lowercase();
    if text[..pos].ends_with("url(") || text[..pos].ends_with("style=\"") {
        return Kind::Requisite;
    }
    if tag.starts_with("<a ") || tag.starts_with("<area ") {
        return match tag.contains("rel=\"nofollow\"") {
            true => Kind::NoFollow,
            false => Kind::Link,
        };
    }
    if tag.starts_with("<iframe") || tag.starts_with("<frame") {
        return Kind::Frame;
    }
    Kind::Requisite
}

impl Documents for StandIn {
    fn references(&self, url: &Url, content_type: Option<&str>, body: &[u8]) -> Found {
        let css = is(content_type, "css");
        if !css && !is(content_type, "html") {
            return Found::default();
        }
        let text = String::from_utf8_lossy(body);
        let refs = spans(body, css)
            .into_iter()
            .filter_map(|(r, kind)| {
                let url = url.join(text[r].trim_matches(['"', '\''])).ok()?;
                Some(Ref { url, kind })
            })
            .collect();
        let nofollow = !css && text.contains("name=\"robots\" content=\"nofollow\"");
        Found { refs, nofollow }
    }

    fn rewrite(
        &self,
        url: &Url,
        content_type: Option<&str>,
        body: &[u8],
        map: &mut dyn FnMut(&Url) -> Option<String>,
    ) -> Option<Vec<u8>> {
        let css = is(content_type, "css");
        if !css && !is(content_type, "html") {
            return None;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut at = 0;
        for (r, _) in spans(body, css) {
            let raw = String::from_utf8_lossy(&body[r.clone()]).into_owned();
            let bare = raw.trim_matches(['"', '\'']);
            let skip = bare.is_empty() || bare.starts_with('#') || bare.starts_with("data:");
            let Some(target) = url.join(bare).ok().filter(|_| !skip) else {
                continue;
            };
            let mut new = map(&target).unwrap_or_else(|| target.to_string());
            if let (Some(f), false) = (target.fragment(), new.contains('#')) {
                new = format!("{new}#{f}");
            }
            out.extend_from_slice(&body[at..r.start]);
            out.extend_from_slice(new.as_bytes());
            at = r.end;
        }
        out.extend_from_slice(&body[at..]);
        Some(out)
    }

    fn local_path(&self, url: &Url, content_type: Option<&str>) -> PathBuf {
        let host = url
            .host_str()
            .unwrap_or("host")
            .replace([':', '[', ']'], "_");
        let mut path = PathBuf::from(match url.port() {
            Some(p) => format!("{host}_{p}"),
            None => host,
        });
        let decoded = percent_encoding::percent_decode_str(url.path()).decode_utf8_lossy();
        let segments: Vec<&str> = decoded.split('/').collect();
        for s in &segments[..segments.len() - 1] {
            if !s.is_empty() && *s != "." && *s != ".." {
                path.push(s.replace('\0', "_"));
            }
        }
        let mut name = match segments.last() {
            Some(s) if !s.is_empty() && *s != "." && *s != ".." => s.to_string(),
            _ => "index.html".to_string(),
        };
        if let Some(q) = url.query() {
            name = format!("{name}@{}", q.replace('/', "%2F"));
        }
        let lower = name.to_ascii_lowercase();
        if is(content_type, "html") && !lower.ends_with(".html") && !lower.ends_with(".htm") {
            name.push_str(".html");
        } else if is(content_type, "css") && !lower.ends_with(".css") {
            name.push_str(".css");
        }
        path.join(name)
    }

    fn relative_link(&self, from: &Path, to: &Path) -> String {
        let dir: Vec<Component> = from
            .parent()
            .map_or(Vec::new(), |p| p.components().collect());
        let to: Vec<Component> = to.components().collect();
        let common = dir.iter().zip(&to).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<String> = vec!["..".to_string(); dir.len() - common];
        for c in &to[common..] {
            let s = c.as_os_str().to_string_lossy();
            parts.push(percent_encoding::utf8_percent_encode(&s, SEGMENT).to_string());
        }
        parts.join("/")
    }
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>');

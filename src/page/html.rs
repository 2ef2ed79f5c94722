//! The references of an HTML page, found with lol_html's tokenizer (so raw
//! text in `<script>` and `<style>`, comments, unquoted and upper-case
//! attributes and malformed markup read as a browser reads them), and the
//! byte ranges that hold them, so a rewrite replaces only those bytes.
//! lol_html's own output is not used: it re-serialises a changed tag.

use std::ops::Range;

use encoding_rs::Encoding;
use lol_html::html_content::{Attribute, Element, TextChunk};
use lol_html::{element, text, AsciiCompatibleEncoding, HtmlRewriter, Settings};

use super::contract::Kind;

/// How an attribute value holds URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The whole value is one URL.
    Url,
    /// A `srcset`: URLs with descriptors.
    Srcset,
    /// A `style` attribute: CSS.
    Style,
    /// `<meta http-equiv=refresh content="5; url=...">`: the URL part.
    Refresh,
}

/// One attribute that holds references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrHit {
    pub kind: Kind,
    pub slot: Slot,
    /// The value with character references decoded.
    pub value: String,
    /// The value's bytes in the page (inside the quotes, if any).
    pub range: Range<usize>,
    pub quote: Option<u8>,
}

/// What a pass over a page found.
#[derive(Debug, Default)]
pub struct Scan {
    pub attrs: Vec<AttrHit>,
    /// The contents of `<style>` elements, as byte ranges.
    pub blocks: Vec<Range<usize>>,
    /// The first `<base href>`'s value: the document's base.
    pub base: Option<String>,
    /// The bytes of every `<base>`'s `href="..."`, which a rewrite removes
    /// (all of them: once the first is gone, a browser would obey the next).
    pub base_spans: Vec<Range<usize>>,
    /// `<meta name=robots content=nofollow>` (or `none`).
    pub nofollow: bool,
}

/// Which attributes of an element hold references, and of what kind.
fn attributes_of(tag: &str, el: &Element) -> Vec<(&'static str, Kind, Slot)> {
    use Kind::*;
    use Slot::*;
    match tag {
        "link" => match link_kind(el) {
            Some(Requisite) => vec![("href", Requisite, Url), ("imagesrcset", Requisite, Srcset)],
            Some(kind) => vec![("href", kind, Url)],
            None => vec![],
        },
        "meta" => match el.get_attribute("http-equiv") {
            Some(e) if e.trim().eq_ignore_ascii_case("refresh") => vec![("content", Link, Refresh)],
            _ => vec![],
        },
        "img" | "source" => vec![("src", Requisite, Url), ("srcset", Requisite, Srcset)],
        "input" => match el.get_attribute("type") {
            Some(t) if t.trim().eq_ignore_ascii_case("image") => vec![("src", Requisite, Url)],
            _ => vec![],
        },
        "script" | "audio" | "track" | "embed" => vec![("src", Requisite, Url)],
        "video" => vec![("src", Requisite, Url), ("poster", Requisite, Url)],
        "object" => vec![("data", Requisite, Url)],
        "body" | "table" | "td" | "th" => vec![("background", Requisite, Url)],
        "image" | "use" => vec![("href", Requisite, Url), ("xlink:href", Requisite, Url)],
        "iframe" | "frame" => vec![("src", Frame, Url)],
        "a" | "area" => {
            let nofollow = has_token(el.get_attribute("rel"), &["nofollow"]);
            vec![("href", if nofollow { NoFollow } else { Link }, Url)]
        }
        _ => vec![],
    }
}

/// The URL inside a refresh value, by the HTML standard's "shared
/// declarative refresh steps": a delay, then `;` or `,`, then the URL,
/// optionally after `url=` and in quotes.
pub fn refresh_url(value: &str) -> Option<std::ops::Range<usize>> {
    let b = value.as_bytes();
    let ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut i = 0;
    ws(&mut i);
    let digits = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i == digits {
        return None;
    }
    ws(&mut i);
    if i < b.len() && (b[i] == b';' || b[i] == b',') {
        i += 1;
    }
    ws(&mut i);
    if value
        .get(i..i + 3)
        .is_some_and(|u| u.eq_ignore_ascii_case("url"))
    {
        let mut j = i + 3;
        ws(&mut j);
        if b.get(j) == Some(&b'=') {
            i = j + 1;
            ws(&mut i);
        }
    }
    let mut end = b.len();
    if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
        i += 1;
        end = value[i..].find(q as char).map_or(b.len(), |e| i + e);
    }
    let url = value[i..end].trim_end_matches(|c: char| c.is_ascii_whitespace());
    (!url.is_empty()).then(|| i..i + url.len())
}

fn has_token(list: Option<String>, wanted: &[&str]) -> bool {
    list.is_some_and(|l| {
        l.split(|c: char| c.is_ascii_whitespace() || c == ',')
            .any(|t| wanted.iter().any(|w| t.eq_ignore_ascii_case(w)))
    })
}

/// `<link>`: requisites by `rel`; hints that name only an origin are
/// left alone; any other `rel` (alternate, next...) is a link.
fn link_kind(el: &Element) -> Option<Kind> {
    let rel = el.get_attribute("rel");
    let requisite = [
        "stylesheet",
        "icon",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "manifest",
        "preload",
        "modulepreload",
        "mask-icon",
    ];
    if has_token(rel.clone(), &requisite) {
        Some(Kind::Requisite)
    } else if has_token(rel.clone(), &["dns-prefetch", "preconnect"]) {
        None
    } else if has_token(rel, &["nofollow"]) {
        Some(Kind::NoFollow)
    } else {
        Some(Kind::Link)
    }
}

fn quote_before(input: &[u8], range: &Range<usize>) -> Option<u8> {
    let q = *input.get(range.start.checked_sub(1)?)?;
    matches!(q, b'"' | b'\'').then_some(q)
}

fn hit(input: &[u8], attr: &Attribute, kind: Kind, slot: Slot) -> Option<AttrHit> {
    let range = attr.value_source_location()?.bytes();
    Some(AttrHit {
        kind,
        slot,
        value: super::entities::decode(&attr.value()),
        quote: quote_before(input, &range),
        range,
    })
}

fn on_element(input: &[u8], el: &Element, scan: &mut Scan) {
    let tag = el.tag_name();
    let wanted = attributes_of(&tag, el);
    let mut seen: Vec<String> = Vec::new();
    for attr in el.attributes() {
        let name = attr.name();
        if seen.contains(&name) {
            continue; // a browser uses the first of duplicate attributes
        }
        let slot = match wanted.iter().find(|(n, _, _)| *n == name) {
            Some((_, kind, slot)) => Some((*kind, *slot)),
            None if name == "style" => Some((Kind::Requisite, Slot::Style)),
            None => None,
        };
        if let Some(h) = slot.and_then(|(kind, slot)| hit(input, attr, kind, slot)) {
            scan.attrs.push(h);
        }
        if tag == "base" && name == "href" {
            if scan.base.is_none() {
                scan.base = Some(super::entities::decode(&attr.value()));
            }
            scan.base_spans.push(whole(input, attr));
        }
        seen.push(name);
    }
    if tag == "meta"
        && el
            .get_attribute("name")
            .is_some_and(|n| n.eq_ignore_ascii_case("robots"))
    {
        scan.nofollow |= has_token(el.get_attribute("content"), &["nofollow", "none"]);
    }
}

/// The bytes of a whole attribute: name, `=`, and the quoted value.
fn whole(input: &[u8], attr: &Attribute) -> Range<usize> {
    let name = attr
        .name_source_location()
        .map(|l| l.bytes())
        .unwrap_or(0..0);
    match attr.value_source_location().map(|l| l.bytes()) {
        Some(v) => {
            let quoted = quote_before(input, &v).is_some() && v.end < input.len();
            name.start..v.end + usize::from(quoted)
        }
        None => name,
    }
}

fn on_text(chunk: &TextChunk, open: &mut Option<Range<usize>>, blocks: &mut Vec<Range<usize>>) {
    let r = chunk.source_location().bytes();
    let merged = match open.take() {
        Some(o) => o.start.min(r.start)..o.end.max(r.end),
        None => r,
    };
    if chunk.last_in_text_node() {
        if !merged.is_empty() {
            blocks.push(merged);
        }
    } else {
        *open = Some(merged);
    }
}

/// One pass of lol_html over the page, in its charset. `None` when the
/// charset is not ASCII-compatible or the tokenizer gave up.
pub fn scan(input: &[u8], encoding: &'static Encoding) -> Option<Scan> {
    let mut scan = Scan::default();
    let mut blocks = Vec::new();
    let mut open = None;
    {
        let settings = Settings::new()
            .with_encoding(AsciiCompatibleEncoding::new(encoding)?)
            .with_strict(false)
            .append_element_content_handler(element!("*", |el| {
                on_element(input, el, &mut scan);
                Ok(())
            }))
            .append_element_content_handler(text!("style", |chunk| {
                on_text(chunk, &mut open, &mut blocks);
                Ok(())
            }));
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        rewriter.write(input).ok()?;
        rewriter.end().ok()?;
    }
    scan.blocks = blocks;
    Some(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_urls() {
        let cases = [
            ("0; url=a.html", Some("a.html")),
            ("0;URL = 'b c.html' ", Some("b c.html")),
            ("5, \"d.html", Some("d.html")),
            ("3.5 e.html  ", Some("e.html")),
            ("10", None),
            ("x; url=f.html", None),
            ("0; url=", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(refresh_url(v).map(|r| &v[r]), want, "{v:?}");
        }
    }
}

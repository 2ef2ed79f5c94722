//! [`PageDocuments`]: the real [`Documents`], tying the charset, the HTML
//! scan, the CSS tokenizer and the layout together. A reference's meaning
//! comes from `reference`; the bytes it changes come from `edit`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_8};
use url::Url;

use super::contract::{Documents, Found, Kind, Ref};
use super::edit::{apply, Edit};
use super::html::{AttrHit, Scan, Slot};
use super::layout::{self, DocType};
use super::reference::{replacement, web_url};
use super::{charset, css, entities, html, srcset};

/// The page codec `fetch --page` and `fetch -r` use.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageDocuments;

type Map<'a> = &'a mut dyn FnMut(&Url) -> Option<String>;

impl Documents for PageDocuments {
    fn references(&self, url: &Url, content_type: Option<&str>, body: &[u8]) -> Found {
        let mut found = Found::default();
        let mut seen = HashSet::new();
        let mut add = |u: Option<Url>, kind: Kind| {
            if let Some(url) = u {
                if seen.insert((url.clone(), kind)) {
                    found.refs.push(Ref { url, kind });
                }
            }
        };
        match layout::doc_type(content_type, url) {
            DocType::Html => {
                let Some((scan, enc)) = scan_html(content_type, body) else {
                    return found;
                };
                let base = base_of(&scan, url);
                for hit in &scan.attrs {
                    for text in texts(hit) {
                        add(web_url(&text, &base), hit.kind);
                    }
                }
                for block in &scan.blocks {
                    for u in css::urls(&body[block.clone()], enc) {
                        add(web_url(&u.value, &base), Kind::Requisite);
                    }
                }
                found.nofollow = scan.nofollow;
            }
            DocType::Css => {
                let Some(enc) = charset::for_css(content_type, body) else {
                    return found;
                };
                for u in css::urls(body, enc) {
                    add(web_url(&u.value, url), Kind::Requisite);
                }
            }
            DocType::Other => {}
        }
        found
    }

    fn rewrite(
        &self,
        url: &Url,
        content_type: Option<&str>,
        body: &[u8],
        map: Map,
    ) -> Option<Vec<u8>> {
        let edits = match layout::doc_type(content_type, url) {
            DocType::Html => match scan_html(content_type, body) {
                Some((scan, enc)) => html_edits(&scan, url, body, enc, map),
                None => Vec::new(),
            },
            DocType::Css => match charset::for_css(content_type, body) {
                Some(enc) => css_edits(body, 0, enc, url, map),
                None => Vec::new(),
            },
            DocType::Other => return None,
        };
        Some(apply(body, edits))
    }

    fn local_path(&self, url: &Url, content_type: Option<&str>) -> PathBuf {
        layout::local_path(url, content_type)
    }

    fn relative_link(&self, from: &Path, to: &Path) -> String {
        layout::relative_link(from, to)
    }
}

fn scan_html(content_type: Option<&str>, body: &[u8]) -> Option<(Scan, &'static Encoding)> {
    let enc = charset::for_html(content_type, body)?;
    Some((html::scan(body, enc)?, enc))
}

/// The document's base URL: the first `<base href>`, resolved against the
/// page's own URL, when it resolves to something that can be a base.
fn base_of(scan: &Scan, url: &Url) -> Url {
    scan.base
        .as_ref()
        .and_then(|v| url.join(v.trim()).ok())
        .filter(|b| !b.cannot_be_a_base())
        .unwrap_or_else(|| url.clone())
}

/// The reference texts an attribute holds.
fn texts(hit: &AttrHit) -> Vec<String> {
    match hit.slot {
        Slot::Url => vec![hit.value.clone()],
        Slot::Srcset => srcset::urls(&hit.value)
            .into_iter()
            .map(|r| hit.value[r].to_string())
            .collect(),
        Slot::Style => css::urls(hit.value.as_bytes(), UTF_8)
            .into_iter()
            .map(|u| u.value)
            .collect(),
        Slot::Refresh => html::refresh_url(&hit.value)
            .map(|r| hit.value[r].to_string())
            .into_iter()
            .collect(),
    }
}

fn html_edits(scan: &Scan, url: &Url, body: &[u8], enc: &'static Encoding, map: Map) -> Vec<Edit> {
    let base = base_of(scan, url);
    let mut edits = Vec::new();
    for hit in &scan.attrs {
        if let Some(value) = new_value(hit, &base, map) {
            let bytes = entities::encode(&value, hit.quote, enc);
            edits.push(Edit {
                range: hit.range.clone(),
                bytes,
            });
        }
    }
    for block in &scan.blocks {
        edits.extend(css_edits(
            &body[block.clone()],
            block.start,
            enc,
            &base,
            map,
        ));
    }
    // The saved copy must not resolve anything against the network.
    for span in &scan.base_spans {
        edits.push(Edit {
            range: span.clone(),
            bytes: Vec::new(),
        });
    }
    edits
}

/// The attribute's new value, or `None` when nothing in it changes.
fn new_value(hit: &AttrHit, base: &Url, map: Map) -> Option<String> {
    let v = &hit.value;
    let spans: Vec<(std::ops::Range<usize>, String)> = match hit.slot {
        Slot::Url => return replacement(v, base, map).filter(|n| n != v),
        Slot::Srcset => srcset::urls(v)
            .into_iter()
            .filter_map(|r| Some((r.clone(), replacement(&v[r], base, map)?)))
            .collect(),
        Slot::Refresh => html::refresh_url(v)
            .into_iter()
            .filter_map(|r| Some((r.clone(), replacement(&v[r], base, map)?)))
            .collect(),
        Slot::Style => css::urls(v.as_bytes(), UTF_8)
            .into_iter()
            .filter_map(|u| {
                let new = replacement(&u.value, base, map).filter(|n| *n != u.value)?;
                Some((u.range, css::write(&new, u.quote)))
            })
            .collect(),
    };
    let mut out = String::with_capacity(v.len());
    let mut at = 0;
    for (r, new) in spans {
        out.push_str(&v[at..r.start]);
        out.push_str(&new);
        at = r.end;
    }
    out.push_str(&v[at..]);
    (out != *v).then_some(out)
}

/// Edits for the URLs of CSS text that starts at `offset` in the body.
fn css_edits(
    css_text: &[u8],
    offset: usize,
    enc: &'static Encoding,
    base: &Url,
    map: Map,
) -> Vec<Edit> {
    css::urls(css_text, enc)
        .into_iter()
        .filter_map(|u| {
            let new = replacement(&u.value, base, map).filter(|n| *n != u.value)?;
            let written = css::write(&new, u.quote);
            let bytes = enc.encode(&written).0.into_owned();
            let range = offset + u.range.start..offset + u.range.end;
            Some(Edit { range, bytes })
        })
        .collect()
}

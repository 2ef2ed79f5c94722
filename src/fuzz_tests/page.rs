//! The page codec target: random bytes and mutated HTML and CSS.

use super::*;

/// Pages whose every reference is already an absolute, normalised URL, so
/// a map that answers `url.as_str()` must give them back byte for byte.
const CANONICAL_PAGES: &[&[u8]] = &[
    b"<!doctype html><html><head><meta charset=utf-8>\n<link rel=stylesheet href='http://h.test/s.css'>\n<style>@import \"http://h.test/i.css\"; a{b:url(http://h.test/u.png)}</style></head>\n<body><img src=http://h.test/a.png srcset=\"http://h.test/a.png 1x, http://h.test/b,2.png 2x\">\n<a href=\"http://o.test/p?x=1&amp;y=2#f\" rel=nofollow>x</a><p style='c:url(\"http://h.test/c.png\")'>\n<script>var s='<img src=no.png>'</script><!-- <a href=c.html> --></body></html>\n",
    b"<html><head><meta http-equiv=content-type content='text/html; charset=gb2312'><title>\xd0\xc2\xce\xc5</title></head><body>\xd6\xd0<IMG SRC=http://h.test/%E5%9B%BE.png><iframe src=http://h.test/f.html></iframe><a href=#top>\xff\xfe</a></body></html>",
    b"@charset \"utf-8\";\n@import url(http://h.test/a.css) screen;\n/* url(x.png) */ b{background:url( 'http://h.test/b.png' ) no-repeat; content:\"url(no)\"}\n@font-face{src:url(http://h.test/f.woff2) format('woff2')}\n",
];

/// Content types the page codec is driven with.
const PAGE_TYPES: &[Option<&str>] = &[
    Some("text/html"),
    Some("text/html; charset=gbk"),
    Some("text/html; charset=shift_jis"),
    Some("application/xhtml+xml"),
    Some("text/css"),
    Some("text/css; charset=utf-16le"),
    None,
];

const PAGE_PIECES: &[&[u8]] = &[
    b"<base href=/x/>",
    b"<meta http-equiv=refresh content='0;url=",
    b"<img src=",
    b" srcset='a.png 1x, b,c.png 2x'",
    b"<style>",
    b"</style>",
    b"<script>",
    b"</script>",
    b"<!--",
    b"-->",
    b"url(",
    b")",
    b"\\",
    b"\"",
    b"'",
    b"&amp;",
    b"&#",
    b"@import ",
    b"/*",
    b"*/",
    b"<svg>",
    b"<![CDATA[",
    b"]]>",
    b" style='",
    b"\xd6\xd0",
    b"\xff",
];

fn page_input(rng: &mut Rng) -> Vec<u8> {
    if rng.one_in(8) {
        return rng.bytes(0, 400);
    }
    let mut m = rng.pick(CANONICAL_PAGES).to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(m.len() + 1);
        if rng.one_in(2) {
            m.splice(at..at, rng.pick(PAGE_PIECES).iter().copied());
        } else {
            mutate(rng, &mut m, CANONICAL_PAGES);
        }
    }
    m
}

#[test]
fn page_codec() {
    use crate::page::{Documents, PageDocuments};
    let docs = PageDocuments;
    let url = url::Url::parse("http://h.test/dir/p.html").unwrap();
    run("page_codec", |rng| {
        let body = page_input(rng);
        let ct = *rng.pick(PAGE_TYPES);
        let found = docs.references(&url, ct, &body);
        for r in &found.refs {
            assert!(matches!(r.url.scheme(), "http" | "https") && r.url.fragment().is_none());
        }
        let odd = ["", "a b\"c'd&e(f)g<h>", "../x%20y.png", "\u{4e2d}"];
        let answer = *rng.pick(&odd);
        let mut local = |_: &url::Url| Some(answer.to_string());
        let _ = docs.rewrite(&url, ct, &body, &mut local);
        let _ = docs.local_path(&url, ct);
        // Everything unsaved becomes absolute; doing it twice changes nothing.
        let mut absolute = |_: &url::Url| None;
        if let Some(once) = docs.rewrite(&url, ct, &body, &mut absolute) {
            let twice = docs.rewrite(&url, ct, &once, &mut absolute).unwrap();
            assert!(
                once == twice,
                "not idempotent:\n{:?}\n{:?}",
                String::from_utf8_lossy(&once),
                String::from_utf8_lossy(&twice)
            );
        }
    });
}

#[test]
fn page_codec_identity() {
    use crate::page::{Documents, PageDocuments};
    let url = url::Url::parse("http://h.test/dir/p.html").unwrap();
    for (page, ct) in CANONICAL_PAGES
        .iter()
        .zip([Some("text/html"), None, Some("text/css")])
    {
        let mut same = |u: &url::Url| Some(u.as_str().to_string());
        let out = PageDocuments.rewrite(&url, ct, page, &mut same).unwrap();
        assert!(out == *page, "{}", String::from_utf8_lossy(&out));
    }
}

/// The harness itself: a case replays from its seed.
#[test]
fn a_seed_replays_its_case() {
    let draw = |seed| {
        let mut rng = Rng(seed);
        let mut m = REQUESTS[0].to_vec();
        mutate(&mut rng, &mut m, REQUESTS);
        (m, cuts(&mut rng, 100))
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
}

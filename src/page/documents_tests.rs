//! Table tests of [`PageDocuments`] over whole documents: what an HTML or
//! CSS body references, and what its rewrite changes (only URL bytes).

use std::path::Path;

use url::Url;

use super::{Documents, Found, Kind, PageDocuments, Ref};

const HTML: Option<&str> = Some("text/html");
const CSS: Option<&str> = Some("text/css");

fn page() -> Url {
    Url::parse("http://h.test/dir/page.html").unwrap()
}

fn refs(ct: Option<&str>, body: &str) -> Vec<(String, Kind)> {
    refs_bytes(ct, body.as_bytes())
}

fn refs_bytes(ct: Option<&str>, body: &[u8]) -> Vec<(String, Kind)> {
    let found = PageDocuments.references(&page(), ct, body);
    found
        .refs
        .into_iter()
        .map(|r| (r.url.to_string(), r.kind))
        .collect()
}

fn one(url: &str, kind: Kind) -> Vec<(String, Kind)> {
    vec![(url.to_string(), kind)]
}

/// Saved URLs map to `L(<path>)`, so the tests see what was rewritten.
fn rewrite_with(ct: Option<&str>, body: &[u8], saved: &[&str]) -> Vec<u8> {
    let mut map = |u: &Url| {
        let s = u.as_str();
        saved.contains(&s).then(|| format!("L({})", u.path()))
    };
    PageDocuments.rewrite(&page(), ct, body, &mut map).unwrap()
}

fn rewrite(ct: Option<&str>, body: &str, saved: &[&str]) -> String {
    String::from_utf8(rewrite_with(ct, body.as_bytes(), saved)).unwrap()
}

#[test]
fn html_references_by_element() {
    use Kind::*;
    let r = "http://h.test/dir/";
    let cases: Vec<(&str, Vec<(String, Kind)>)> = vec![
        (
            "<link rel=stylesheet href=s.css>",
            one(&format!("{r}s.css"), Requisite),
        ),
        (
            "<LINK REL='Shortcut Icon' HREF=i.ico>",
            one(&format!("{r}i.ico"), Requisite),
        ),
        (
            "<link rel=manifest href=m.json>",
            one(&format!("{r}m.json"), Requisite),
        ),
        (
            "<link rel=modulepreload href=m.js>",
            one(&format!("{r}m.js"), Requisite),
        ),
        ("<link rel=preconnect href=//cdn.test>", vec![]),
        (
            "<link rel=alternate href=feed.xml>",
            one(&format!("{r}feed.xml"), Link),
        ),
        ("<IMG SRC=a.png>", one(&format!("{r}a.png"), Requisite)),
        (
            "<img srcset='a,1.png 1x, b.png 2x'>",
            vec![
                (format!("{r}a,1.png"), Requisite),
                (format!("{r}b.png"), Requisite),
            ],
        ),
        (
            "<picture><source srcset=\"p.webp 480w\"></picture>",
            one(&format!("{r}p.webp"), Requisite),
        ),
        (
            "<input type=IMAGE src=btn.png><input src=no.png>",
            one(&format!("{r}btn.png"), Requisite),
        ),
        (
            "<script src=app.js></script>",
            one(&format!("{r}app.js"), Requisite),
        ),
        (
            "<video src=v.mp4 poster=p.jpg><track src=t.vtt></video>",
            vec![
                (format!("{r}v.mp4"), Requisite),
                (format!("{r}p.jpg"), Requisite),
                (format!("{r}t.vtt"), Requisite),
            ],
        ),
        (
            "<audio src=a.ogg></audio>",
            one(&format!("{r}a.ogg"), Requisite),
        ),
        (
            "<object data=o.svg></object><embed src=o.svg>",
            one(&format!("{r}o.svg"), Requisite),
        ),
        (
            "<iframe src=f.html></iframe>",
            one(&format!("{r}f.html"), Frame),
        ),
        (
            "<frameset><frame src=g.html></frameset>",
            one(&format!("{r}g.html"), Frame),
        ),
        (
            "<a href=../up.html#x>up</a>",
            one("http://h.test/up.html", Link),
        ),
        (
            "<area href=/m.html rel='noopener nofollow'>",
            one("http://h.test/m.html", NoFollow),
        ),
        (
            "<p style=\"background:url('bg.png')\">",
            one(&format!("{r}bg.png"), Requisite),
        ),
        (
            "<style>@import 'i.css'; a{b:url(u.png)}</style>",
            vec![
                (format!("{r}i.css"), Requisite),
                (format!("{r}u.png"), Requisite),
            ],
        ),
        (
            "<a href='p?x=1&amp;y=2'>",
            one(&format!("{r}p?x=1&y=2"), Link),
        ),
        (
            "<a href=a.html>1</a><a href=./a.html>2</a>",
            one(&format!("{r}a.html"), Link),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(refs(HTML, body), want, "{body}");
    }
}

#[test]
fn html_references_left_alone() {
    for body in [
        "<a href='#top'>",
        "<a href=''>",
        "<a href=mailto:a@b.test>",
        "<a href='javascript:go(\"x.html\")'>",
        "<img src='data:image/png;base64,AAAA'>",
        "<a href=tel:+1><a href=about:blank><a href=ftp://h.test/f>",
        "<a href='http://[::1'>",
        "<!-- <img src=c.png> -->",
        "<script>var u = '<img src=s.png>'; load(\"x.png\")</script>",
        "<script><!-- document.write('<img src=w.png>') --></script>",
        "<textarea><img src=t.png></textarea>",
        "<style>/* url(no.png) */ a{content:'url(no2.png)'}</style>",
        "<p>url(text.png) <b>&lt;img src=x.png&gt;</b></p>",
        "<title><a href=t.html></title>",
    ] {
        assert_eq!(refs(HTML, body), vec![], "{body}");
    }
}

#[test]
fn base_href_is_honoured() {
    let cases = [
        (
            "<base href=/other/><img src=a.png>",
            "http://h.test/other/a.png",
        ),
        (
            "<img src=a.png><base href='http://o.test/x/'>",
            "http://o.test/x/a.png",
        ),
        (
            "<base href=sub/><base href=/ignored/><img src=a.png>",
            "http://h.test/dir/sub/a.png",
        ),
        (
            "<base target=_top><img src=a.png>",
            "http://h.test/dir/a.png",
        ),
        (
            "<base href='javascript:x'><img src=a.png>",
            "http://h.test/dir/a.png",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(refs(HTML, body), one(want, Kind::Requisite), "{body}");
    }
}

#[test]
fn robots_meta_sets_nofollow() {
    let f = |b: &str| {
        PageDocuments
            .references(&page(), HTML, b.as_bytes())
            .nofollow
    };
    assert!(f("<meta name=ROBOTS content='noindex, nofollow'>"));
    assert!(f("<meta name=robots content=none>"));
    assert!(!f("<meta name=robots content=noindex>"));
    assert!(!f("<meta name=description content=nofollow>"));
}

#[test]
fn malformed_html_reads_as_a_browser_reads_it() {
    let r = "http://h.test/dir/";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("<img src=a.png", vec![]),
        ("<img src=a.png >", vec!["a.png"]),
        ("<img src=\"a.png>b.png\">", vec!["a.png%3Eb.png"]),
        ("<img src=a.png src=b.png>", vec!["a.png"]),
        ("<img/src=a.png>", vec!["a.png"]),
        ("<p><img src = 'a.png'></div></b>", vec!["a.png"]),
        ("<img\nsrc\n=\na.png\n>", vec!["a.png"]),
        ("<svg><style>a{b:url(s.png)}</style></svg>", vec!["s.png"]),
        (
            "<svg><image href=i.svg xlink:href=j.svg /></svg>",
            vec!["i.svg", "j.svg"],
        ),
        (
            "<math><![CDATA[<img src=no.png>]]></math><img src=yes.png>",
            vec!["yes.png"],
        ),
    ];
    for (body, want) in cases {
        let got: Vec<String> = refs(HTML, body).into_iter().map(|(u, _)| u).collect();
        let want: Vec<String> = want.iter().map(|w| format!("{r}{w}")).collect();
        assert_eq!(got, want, "{body}");
    }
}

#[test]
fn css_documents() {
    let body = "@import url(base.css);\n@import \"../x.css\";\nb{background:url( i.png )}";
    let got = refs(CSS, body);
    let want = [
        "http://h.test/dir/base.css",
        "http://h.test/x.css",
        "http://h.test/dir/i.png",
    ];
    assert_eq!(
        got.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
        want
    );
    assert!(got.iter().all(|(_, k)| *k == Kind::Requisite));
    assert_eq!(
        rewrite(CSS, body, &["http://h.test/x.css"]),
        "@import url(http://h.test/dir/base.css);\n@import \"L(/x.css)\";\n\
         b{background:url( http://h.test/dir/i.png )}"
    );
}

#[test]
fn other_types_are_not_parsed() {
    let png = Some("image/png");
    assert_eq!(
        PageDocuments.references(&page(), png, b"<img src=a.png>"),
        Found::default()
    );
    let mut map = |_: &Url| None;
    assert_eq!(PageDocuments.rewrite(&page(), png, b"x", &mut map), None);
    let css = Url::parse("http://h.test/s.css").unwrap();
    let found = PageDocuments.references(&css, None, b"a{b:url(c.png)}");
    let want = Ref {
        url: Url::parse("http://h.test/c.png").unwrap(),
        kind: Kind::Requisite,
    };
    assert_eq!(found.refs, vec![want]);
}

#[test]
fn rewrites_only_url_bytes() {
    let saved = [
        "http://h.test/dir/a.png",
        "http://h.test/dir/s.css",
        "http://h.test/dir/b.png",
    ];
    let cases = [
        ("<IMG  SRC=a.png  ALT=x>", "<IMG  SRC=L(/dir/a.png)  ALT=x>"),
        ("<img src='a.png#f' >", "<img src='L(/dir/a.png)#f' >"),
        (
            "<a href=\"other.html\">",
            "<a href=\"http://h.test/dir/other.html\">",
        ),
        (
            "<a href=#top><a href=mailto:x@y.test>",
            "<a href=#top><a href=mailto:x@y.test>",
        ),
        (
            "<a href='p?x=1&amp;y=2'>",
            "<a href='http://h.test/dir/p?x=1&amp;y=2'>",
        ),
        (
            "<img srcset='a.png 1x,  c,1.png 2x'>",
            "<img srcset='L(/dir/a.png) 1x,  http://h.test/dir/c,1.png 2x'>",
        ),
        (
            "<p style=\"x:url(&quot;b.png&quot;);y:url(z.png)\">",
            "<p style=\"x:url(&quot;L(/dir/b.png)&quot;);y:url(http://h.test/dir/z.png)\">",
        ),
        (
            "<style>\n@import 's.css';/* url(a.png) */</style>",
            "<style>\n@import 'L(/dir/s.css)';/* url(a.png) */</style>",
        ),
        (
            "<base href=/dir/ target=x><img src=a.png>",
            "<base  target=x><img src=L(/dir/a.png)>",
        ),
        (
            "<base href=\"http://o.test/\"><img src=b.png>",
            "<base ><img src=http://o.test/b.png>",
        ),
        (
            "<script>x='<img src=a.png>'</script>",
            "<script>x='<img src=a.png>'</script>",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(rewrite(HTML, body, &saved), want, "{body}");
    }
}

#[test]
fn an_unquoted_value_gets_quotes_when_it_needs_them() {
    let mut map = |_: &Url| Some("my file.png".to_string());
    let out = PageDocuments
        .rewrite(&page(), HTML, b"<img src=a.png>", &mut map)
        .unwrap();
    assert_eq!(out, b"<img src=\"my file.png\">");
}

#[test]
fn identity_map_returns_the_input() {
    let body = "<!doctype html><html><head><link rel=stylesheet href='http://h.test/s.css'>\
        <style>a{b:url(\"http://h.test/i.png\")}</style></head><body>\
        <img srcset='http://h.test/a.png 1x, http://h.test/b.png 2x'>\
        <a href=http://o.test/x#y>x</a><p style='c:url(http://h.test/c.png)'></body>";
    let mut map = |u: &Url| Some(u.as_str().to_string());
    let out = PageDocuments
        .rewrite(&page(), HTML, body.as_bytes(), &mut map)
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), body);
}

/// A GB2312 page: every byte outside the rewritten URL is identical, and a
/// URL written in GBK resolves as a browser resolves it (path as UTF-8).
#[test]
fn gbk_page_keeps_every_other_byte() {
    let (head, _, _) = encoding_rs::GBK
        .encode("<html><head><meta charset=gb2312><title>新闻</title></head><body><p>中文 ");
    let (tail, _, _) = encoding_rs::GBK.encode("> 图片</p><a href=新.html>链接</a></body>");
    let invalid: &[u8] = b"\xff\xfe\x80 ";
    let img: &[u8] = b"<img src=\"\xcd\xbc.png\"";
    let body = [&head[..], invalid, img, &tail[..]].concat();
    let got = refs_bytes(HTML, &body);
    let img_url = "http://h.test/dir/%E5%9B%BE.png";
    assert_eq!(got[0], (img_url.to_string(), Kind::Requisite));
    assert_eq!(got[1].0, "http://h.test/dir/%E6%96%B0.html");
    let out = rewrite_with(HTML, &body, &[img_url]);
    let at = head.len() + invalid.len() + b"<img src=\"".len();
    assert_eq!(&out[..at], &body[..at]);
    let new = b"L(/dir/%E5%9B%BE.png)";
    assert_eq!(&out[at..at + new.len()], new);
    // The <a href> became absolute; the rest matches byte for byte.
    let rest = &out[at + new.len()..];
    let old_rest = &body[at + b"\xcd\xbc.png".len()..];
    let link_at = old_rest.windows(8).position(|w| w == b"<a href=").unwrap() + 8;
    assert_eq!(&rest[..link_at], &old_rest[..link_at]);
    let abs = b"http://h.test/dir/%E6%96%B0.html";
    assert_eq!(&rest[link_at..link_at + abs.len()], abs);
    assert_eq!(
        &rest[link_at + abs.len()..],
        &old_rest[link_at + b"\xd0\xc2.html".len()..]
    );
}

#[test]
fn utf16_pages_are_left_alone() {
    let ct = Some("text/html; charset=utf-16le");
    let body: Vec<u8> = "<img src=a.png>"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert_eq!(refs_bytes(ct, &body), vec![]);
    assert_eq!(rewrite_with(ct, &body, &[]), body);
}

#[test]
fn layout_through_the_trait() {
    let url = Url::parse("http://h.test:8080/a/b?x=1").unwrap();
    assert_eq!(
        PageDocuments.local_path(&url, HTML),
        Path::new("h.test_8080/a/b@x=1.html")
    );
    let link =
        PageDocuments.relative_link(Path::new("h.test/a/p.html"), Path::new("h.test/i/x y.png"));
    assert_eq!(link, "../i/x%20y.png");
}

//! The generated site of awkward HTML the mirror tests save: written into a
//! temp dir, served by `wirecat serve` or nginx as the origin, with a second
//! "host" (an in-test server on another loopback port) holding a requisite,
//! a redirecting requisite and an out-of-scope page.

use std::path::Path;

use crate::support::{reply, TestServer};

/// The GBK page, piece by piece: literal bytes, and the URLs (each inside
/// double quotes) the rewriter may change. Every literal byte must survive.
pub enum Piece {
    Lit(&'static [u8]),
    Url(&'static str),
}

/// `gbk.html`: GBK text (中文页面, 表 whose trail byte is `\`, and a
/// stray 0xFF) around an image and a link.
pub const GBK_PAGE: &[Piece] = &[
    Piece::Lit(b"<html><head><meta charset=\"gbk\"><title>\xd6\xd0\xce\xc4\xd2\xb3\xc3\xe6</title></head>\n<body><p>\xb1\xed\x5c \xd6\xd0\xce\xc4 \xff <img src=\""),
    Piece::Url("img/plain.png"),
    Piece::Lit(b"\" alt=\"\xd2\xb3\xc3\xe6\"> \xb1\xed <a href=\""),
    Piece::Url("page.html"),
    Piece::Lit(b"\">\xd2\xb3\xc3\xe6\xb1\xed</a></p></body></html>\n"),
];

/// The bytes of [`GBK_PAGE`] as served.
pub fn gbk_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    for p in GBK_PAGE {
        match p {
            Piece::Lit(b) => out.extend_from_slice(b),
            Piece::Url(u) => out.extend_from_slice(u.as_bytes()),
        }
    }
    out
}

/// The origin's pages and requisites below `root`. `side` is the second
/// host's `127.0.0.1:PORT`.
pub fn write_origin(root: &Path, side: &str) {
    let index = format!(
        r##"<!DOCTYPE html>
<HTML><HEAD><meta charset="utf-8"><TITLE>awkward</TITLE>
<LINK REL=stylesheet HREF=css/main.css>
<style>body {{ background: url( 'img/bg.png' ) }}</style>
</HEAD><BODY>
<h1 id=top>awkward</h1>
<IMG SRC=img/plain.png ALT=plain>
<img srcset="img/small.png 1x, img/big,wide.png 2x" src="img/small.png" alt="s">
<img srcset="img/w200.png 200w,img/w400.png 400w" sizes="50vw" src=img/w200.png alt="w">
<img src="http://{side}/far.png" alt="far">
<img src="http://{side}/moved.png" alt="moved">
<img src="img/missing.png" alt="missing">
<a href="page.html?x=1&amp;y=2">query</a>
<a href="page.html#top">fragment</a>
<a href="#top">self</a>
<A HREF=docs/>docs</A>
<a href="gbk.html">gbk</a>
<a href="http://{side}/elsewhere.html">elsewhere</a>
</BODY></HTML>
"##
    );
    let files: &[(&str, &[u8])] = &[
        ("index.html", index.as_bytes()),
        (
            "page.html",
            b"<!doctype html><title>page</title><p id=top>page</p><a href=\"index.html\">home</a>\n",
        ),
        (
            "docs/index.html",
            b"<!doctype html><head><base href=\"deeper/\"><title>docs</title>\n\
              <link rel=\"stylesheet\" href=\"../../css/main.css\"></head>\n\
              <body><img src=\"pic.png\" alt=\"pic\"><a href=\"../../page.html\">up</a></body>\n",
        ),
        ("gbk.html", &gbk_bytes()),
        (
            "css/main.css",
            b"@import \"theme.css\";\n@import url(print.css) print;\n\
              h1 { background: url(../img/a\\(1\\).png) }\n\
              .q { background: url('../img/quoted.png') }\n\
              /* .gone { background: url(../img/commented.png) } */\n",
        ),
        (
            "css/theme.css",
            b"@import 'deep/more.css';\n.t { background: url(\"../img/t.png\") }\n",
        ),
        (
            "css/deep/more.css",
            b"@import \"../main.css\";\n.m { background-image: url( ../../img/m.png ) }\n",
        ),
        ("css/print.css", b"body { color: black }\n"),
    ];
    for (name, bytes) in files {
        write(root, name, bytes);
    }
    for img in [
        "bg.png",
        "plain.png",
        "small.png",
        "big,wide.png",
        "w200.png",
        "w400.png",
        "a(1).png",
        "quoted.png",
        "t.png",
        "m.png",
    ] {
        write(
            root,
            &format!("img/{img}"),
            format!("image {img}").as_bytes(),
        );
    }
    write(root, "docs/deeper/pic.png", b"image pic");
}

fn write(root: &Path, name: &str, bytes: &[u8]) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The second host: `/far.png`, `/moved.png` redirecting (302) to
/// `/final/real.png`, and 404 for everything else (`/elsewhere.html` is
/// linked, never to be fetched).
pub fn side_server() -> TestServer {
    TestServer::start(None, |head| {
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let ok = |body: &str| {
            reply(format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            ))
        };
        match target {
            "/far.png" => ok("image far"),
            "/final/real.png" => ok("image real"),
            "/moved.png" => reply(
                "HTTP/1.1 302 Found\r\nLocation: /final/real.png\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n",
            ),
            _ => reply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        }
    })
}

/// A link trap: every `/trap?page=N` is a page linking `?page=N+1`.
pub fn trap_server() -> TestServer {
    TestServer::start(None, |head| {
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let n: u64 = target
            .strip_prefix("/trap?page=")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let body = format!(
            "<!doctype html><title>page {n}</title><a href=\"trap?page={}\">next</a>\n",
            n + 1
        );
        reply(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ))
    })
}

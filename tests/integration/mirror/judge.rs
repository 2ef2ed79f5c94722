//! How a saved tree is judged: every relative link leads to a saved file,
//! the GBK page is intact outside its URLs, the pages of the site are there,
//! and trees from two origins or two tools compare once their host folders
//! and ports are named alike.

use std::path::Path;

use super::links::{links, resolve, Link, Target};
use super::peers::tree;
use super::site::{Piece, GBK_PAGE};

/// Every relative link leads to a saved file; returns the absolute ones.
pub fn check_links(dir: &Path) -> (Vec<Link>, Vec<String>) {
    let files = tree(dir);
    let all = links(dir, &files);
    let mut absolute: Vec<String> = Vec::new();
    let mut broken = Vec::new();
    for l in &all {
        match &l.target {
            Target::Absolute(u) => absolute.push(u.clone()),
            Target::Local(p) if !files.contains(p) => broken.push(format!("{l:?}")),
            Target::Local(_) => {}
        }
    }
    assert!(
        broken.is_empty(),
        "links to files not saved:\n  {}\nsaved: {files:#?}",
        broken.join("\n  ")
    );
    absolute.sort();
    absolute.dedup();
    (all, absolute)
}

/// The saved GBK page is the served one byte for byte outside the two URLs
/// (each still inside its double quotes), and those lead to the saved
/// image and page; `img_absolute` allows the image's absolute URL instead
/// (a plain `-r` need not save requisites).
pub fn check_gbk(dir: &Path, host: &str, img_absolute: Option<&str>) {
    let saved = std::fs::read(dir.join(host).join("gbk.html")).expect("gbk.html saved");
    let mut at = 0;
    let mut urls = Vec::new();
    for piece in GBK_PAGE {
        match piece {
            Piece::Lit(lit) => {
                assert!(
                    saved[at..].starts_with(lit),
                    "gbk.html changed outside its URLs at byte {at}: {:?}",
                    String::from_utf8_lossy(&saved[at..])
                );
                at += lit.len();
            }
            Piece::Url(_) => {
                let end = saved[at..].iter().position(|&b| b == b'"').unwrap();
                urls.push(String::from_utf8_lossy(&saved[at..at + end]).into_owned());
                at += end;
            }
        }
    }
    assert_eq!(at, saved.len(), "gbk.html has bytes added at its end");
    let base = Path::new(host);
    let got: Vec<_> = urls.iter().map(|u| resolve(base, u)).collect();
    let local = |f: &str| Some(Target::Local(format!("{host}/{f}")));
    let img_ok = got[0] == local("img/plain.png")
        || img_absolute.is_some_and(|a| got[0] == Some(Target::Absolute(a.to_string())));
    assert!(
        img_ok && got[1] == local("page.html"),
        "gbk.html's links {urls:?} lead to {got:?}"
    );
}

/// A tree and its contents with the origin's port replaced, to compare
/// mirrors of the same site from two origins.
pub fn normalised(dir: &Path, port: u16) -> Vec<(String, Vec<u8>)> {
    let text = |s: &str| {
        s.replace(&format!("127.0.0.1_{port}"), "ORIGIN")
            .replace(&format!("127.0.0.1:{port}"), "ORIGIN")
    };
    let mut files: Vec<(String, Vec<u8>)> = tree(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (text(&f), replace_port(&bytes, port))
        })
        .collect();
    // Sorted by the names as compared, not as saved (ports sort apart).
    files.sort();
    files
}

/// `bytes` with the origin's address replaced, byte by byte, so a page in
/// any encoding (the GBK page is not UTF-8) compares the same.
fn replace_port(bytes: &[u8], port: u16) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for from in [format!("127.0.0.1_{port}"), format!("127.0.0.1:{port}")] {
        let from = from.as_bytes();
        let mut next = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(from) {
                next.extend_from_slice(b"ORIGIN");
                i += from.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

/// Fails naming the first file that differs between two normalised trees.
pub fn assert_same_trees(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: different files saved");
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(
            x == y,
            "{what}: {name} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y)
        );
    }
}

/// The pages `-r` of the site must save (the query page is found by its link).
pub fn assert_pages_saved(dir: &Path, host: &str, all: &[Link], what: &str) {
    let files = tree(dir);
    for page in ["index.html", "page.html", "docs/index.html", "gbk.html"] {
        let f = format!("{host}/{page}");
        assert!(files.contains(&f), "{what}: {f} not saved: {files:#?}");
    }
    let query = all
        .iter()
        .find(|l| l.file == format!("{host}/index.html") && l.text.contains("x=1"))
        .unwrap_or_else(|| panic!("{what}: no link to the query page in index.html: {all:#?}"));
    assert!(
        matches!(&query.target, Target::Local(p) if p != &format!("{host}/page.html")),
        "{what}: page.html?x=1&y=2 is not saved under a name of its own: {query:?}"
    );
}

/// The files of a mirror with its host folders (`127.0.0.1:PORT` for wget,
/// `127.0.0.1_PORT` for wirecat) named `ORIGIN` and `SIDE`.
pub fn hosts_named(dir: &Path, origin: u16, side: u16) -> Vec<String> {
    let mut out: Vec<String> = tree(dir)
        .into_iter()
        .map(|f| {
            let (host, rest) = f.split_once('/').unwrap();
            let name = match host.rsplit([':', '_']).next().unwrap().parse::<u16>() {
                Ok(p) if p == origin => "ORIGIN",
                Ok(p) if p == side => "SIDE",
                _ => panic!("a file in an unexpected host folder: {f}"),
            };
            format!("{name}/{rest}")
        })
        .collect();
    out.sort();
    out
}

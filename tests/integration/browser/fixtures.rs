//! Folders the browser tests serve, made fresh in a temp dir per test: a
//! tree of awkwardly named files and binary payloads for downloads (the
//! demo site is the repository's `www/`). Contents are derived from names
//! so a test can tell which file the browser actually opened.

use std::fs;
use std::path::Path;

use crate::support::pseudo_random;

/// File names a listing must escape and link correctly: spaces, `#`, `%`,
/// `?`, both quotes, HTML metacharacters, `+`/`;`, non-ASCII (two- to
/// four-byte UTF-8) and a very long name (250 bytes, near NAME_MAX).
pub fn awkward_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "with space.txt",
        "hash#tag.txt",
        "per%cent 100%25.txt",
        "question?mark.txt",
        "quote\"double.txt",
        "quote'single.txt",
        "a&b <i>c&amp;.txt",
        "plus+semi;colon=.txt",
        "ünïcødé 日本語 🐈.txt",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("long-{}.txt", "x".repeat(241)));
    v
}

/// What the file called `name` contains.
pub fn contents_of(name: &str) -> String {
    format!("contents of {name}\n")
}

/// `dir` with every awkward name at the top, plus
/// `sub dir #1/deeper ü%/inner.txt` for walking down and back up.
pub fn awkward_tree(dir: &Path) {
    for name in awkward_names() {
        fs::write(dir.join(&name), contents_of(&name)).expect("write fixture");
    }
    let deeper = dir.join("sub dir #1").join("deeper ü%");
    fs::create_dir_all(&deeper).unwrap();
    fs::write(deeper.join("inner.txt"), contents_of("inner.txt")).unwrap();
    fs::write(
        dir.join("sub dir #1").join("beside.txt"),
        contents_of("beside.txt"),
    )
    .unwrap();
}

/// `len` bytes that cover every byte value (NUL, CR, LF, 0xFF...) in an
/// order no transfer could produce by accident (xorshift).
pub fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len.min(256)).map(|i| i as u8).collect();
    bytes.extend(pseudo_random(len.saturating_sub(256), seed));
    bytes
}

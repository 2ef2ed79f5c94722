//! Folders the browser tests serve, made fresh in a temp dir per test:
//! a tree of awkwardly named files, binary payloads for downloads, and a
//! generated WAV tone for the media test. Contents are derived from names
//! so a test can tell which file the browser actually opened.

use std::fs;
use std::path::Path;

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
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            if i < 256 {
                return i as u8;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A mono 16-bit PCM WAV of a 440 Hz tone, `secs` long at 8 kHz.
pub fn wav_tone(secs: u32) -> Vec<u8> {
    let rate = 8000u32;
    let samples = rate * secs;
    let data_len = samples * 2;
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(rate);
        let s = (t * 440.0 * std::f64::consts::TAU).sin() * 8000.0;
        w.extend_from_slice(&(s as i16).to_le_bytes());
    }
    w
}

/// A site shaped like the demo site `www/` (welcome heading, stylesheet,
/// image, media, download, a subfolder without index), used until the
/// real one exists.
pub fn demo_like_site(dir: &Path) {
    fs::write(
        dir.join("index.html"),
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wirecat</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="style.css"></head>
<body><h1>Welcome!</h1>
<img src="img/logo.svg" alt="logo">
<audio controls preload="metadata" src="media/tone.wav"></audio>
<p><a href="files/sample.bin" download>Download a sample</a> or <a href="files/">browse the files</a>.</p>
</body></html>
"#,
    )
    .unwrap();
    fs::write(
        dir.join("style.css"),
        "body { font-family: sans-serif; background: #f4f1ea; margin: 2rem; }\nh1 { color: #8a2be2; }\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("img")).unwrap();
    fs::write(
        dir.join("img/logo.svg"),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" rx="12" fill="#8a2be2"/></svg>"##,
    )
    .unwrap();
    fs::create_dir_all(dir.join("media")).unwrap();
    fs::write(dir.join("media/tone.wav"), wav_tone(20)).unwrap();
    fs::create_dir_all(dir.join("files")).unwrap();
    fs::write(dir.join("files/sample.bin"), payload(64 * 1024, 7)).unwrap();
}

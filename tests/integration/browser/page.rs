//! `fetch --page` judged by a real browser: a page with a stylesheet (and
//! an `@import` and a `url()` background inside it), images by `src` and
//! `srcset`, a script and an image from a second "host" (another loopback
//! port) is saved; both servers are then stopped, and Chromium opens the
//! saved copy from `file://`. Every image must have loaded, every
//! stylesheet rule must apply, the script must have run, no request may
//! leave `file://`, and the screenshot must match the live page's.
//! Screenshots: `page-live.png`, `page-offline.png`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::server::serve;
use super::Rig;
use crate::support::{assert_code, wirecat_in};

/// A solid `w` x `h` PNG, made here so the test needs no image files.
fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    // Each row: filter byte 0, then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain((0..w).flat_map(|_| rgb)).collect();
    let raw = row.repeat(h as usize);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", b"");
    out
}

/// The second host: one image.
fn other_site(dir: &Path) {
    std::fs::write(dir.join("logo.png"), png(40, 20, [20, 120, 220])).unwrap();
}

/// The page under test, pointing at the second host's port.
fn main_site(dir: &Path, other: &str) {
    for sub in ["css", "img", "js"] {
        std::fs::create_dir(dir.join(sub)).unwrap();
    }
    let page = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>saved page</title>
<link rel="stylesheet" href="css/main.css">
<script src="js/app.js" defer></script>
</head><body>
<h1>Offline</h1>
<p>Kept for later.</p>
<img id="a" src="img/a.png" width="60" height="30" alt="a">
<img id="b" srcset="img/b.png 1x, img/b2.png 2x" src="img/b.png" width="60" height="30" alt="b">
<img id="c" src="{other}logo.png" width="40" height="20" alt="c">
<a href="elsewhere.html">a page that is not saved</a>
</body></html>
"#
    );
    std::fs::write(dir.join("index.html"), page).unwrap();
    std::fs::write(
        dir.join("css/main.css"),
        "@import \"base.css\";\nbody { background: url(\"../img/bg.png\") repeat-x; }\n\
         h1 { color: rgb(1, 2, 3); }\n",
    )
    .unwrap();
    std::fs::write(dir.join("css/base.css"), "p { margin-left: 7px; }\n").unwrap();
    std::fs::write(
        dir.join("js/app.js"),
        "document.body.dataset.ran = 'yes';\n",
    )
    .unwrap();
    std::fs::write(dir.join("img/a.png"), png(60, 30, [200, 30, 30])).unwrap();
    std::fs::write(dir.join("img/b.png"), png(60, 30, [30, 160, 60])).unwrap();
    std::fs::write(dir.join("img/b2.png"), png(120, 60, [30, 160, 60])).unwrap();
    std::fs::write(dir.join("img/bg.png"), png(8, 8, [240, 240, 200])).unwrap();
}

/// Every file below `dir` whose name is `name`.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            found.extend(find(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            found.push(p);
        }
    }
    found
}

/// What the page shows, as the browser computes it.
fn facts(b: &mut super::Chromium) -> serde_json::Value {
    b.eval(
        "(() => ({
            images: [...document.images].map(i => [i.id, i.complete && i.naturalWidth > 0]),
            h1: getComputedStyle(document.querySelector('h1')).color,
            p: getComputedStyle(document.querySelector('p')).marginLeft,
            bg: getComputedStyle(document.body).backgroundImage !== 'none',
            ran: document.body.dataset.ran || 'no',
        }))()",
    )
}

/// Fraction of pixels that differ between two same-sized PNG screenshots.
fn difference(a: &Path, b: &Path) -> f64 {
    let read = |p: &Path| {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type.samples(), buf)
    };
    let (wa, ha, sa, pa) = read(a);
    let (wb, hb, sb, pb) = read(b);
    assert_eq!((wa, ha, sa), (wb, hb, sb), "screenshots differ in size");
    let pixels = pa.len() / sa;
    let differ = pa
        .chunks(sa)
        .zip(pb.chunks(sb))
        .filter(|(x, y)| x.iter().zip(y.iter()).any(|(p, q)| p.abs_diff(*q) > 8))
        .count();
    differ as f64 / pixels as f64
}

#[test]
fn browser_opens_a_saved_page_offline_as_it_looked_live() {
    let other_dir = tempfile::tempdir().unwrap();
    other_site(other_dir.path());
    let other = serve(other_dir.path());
    let site = tempfile::tempdir().unwrap();
    main_site(site.path(), &other.base);
    let Rig {
        browser: mut b,
        server: s,
        ..
    } = Rig::new(site.path());
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 640, "height": 400, "deviceScaleFactor": 1, "mobile": false}),
    );

    b.navigate(&s.url("index.html"));
    let live = facts(&mut b);
    assert_eq!(
        live,
        json!({"images": [["a", true], ["b", true], ["c", true]], "h1": "rgb(1, 2, 3)",
               "p": "7px", "bg": true, "ran": "yes"}),
        "the live page itself is not as the test expects"
    );
    let live_shot = b.screenshot("page-live");

    let out = tempfile::tempdir().unwrap();
    let saved = wirecat_in(
        out.path(),
        &[
            "fetch",
            "--page",
            "--output-dir",
            "saved",
            &s.url("index.html"),
        ],
    );
    assert_code(&saved, 0);
    // Nothing may be fetched from here on: both servers go away.
    drop(s);
    drop(other);

    let pages = find(&out.path().join("saved"), "index.html");
    assert_eq!(pages.len(), 1, "{pages:?}");
    let html = std::fs::read_to_string(&pages[0]).unwrap();
    assert!(
        html.contains("/elsewhere.html\""),
        "a page that was not saved must stay an absolute URL: {html}"
    );
    b.clear_network();
    b.navigate(&format!("file://{}", pages[0].display()));
    let offline = facts(&mut b);
    assert_eq!(offline, live, "the saved page shows differently");
    let away: Vec<&str> = b
        .network
        .iter()
        .map(|r| r.url.as_str())
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:"))
        .collect();
    assert!(away.is_empty(), "the saved page reached for {away:?}");
    let offline_shot = b.screenshot("page-offline");
    let differs = difference(&live_shot, &offline_shot);
    assert!(differs < 0.001, "{:.3}% of pixels differ", differs * 100.0);
}

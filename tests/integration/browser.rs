//! End-to-end tests in a real browser: headless Chromium, driven over the
//! DevTools protocol, against `wirecat serve` on 127.0.0.1:0. Every
//! assertion comes from what the browser saw (DOM, its network log) or
//! from the server's access log, never from what the server meant to send.
//! Screenshots land in `target/browser-shots/` for a person to look at.
//! Chromium missing is a failure, not a skip: CI installs it.

pub(crate) mod chromium;
mod fixtures;
mod listing;
mod page;
mod server;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use chromium::Chromium;
use server::{serve, Served};

/// One browser at a time: the machine has two cores, and five Chromiums
/// starting at once would make every wait slower and flakier.
pub(crate) static TURN: Mutex<()> = Mutex::new(());

/// A browser and a server for one test. Fields drop in order: browser,
/// server, then the turn for the next test.
struct Rig {
    browser: Chromium,
    server: Served,
    _turn: MutexGuard<'static, ()>,
}

impl Rig {
    fn new(dir: &Path) -> Rig {
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let server = serve(dir);
        Rig {
            browser: Chromium::launch(),
            server,
            _turn: turn,
        }
    }
}

/// The demo site the README serves: the repository's `www/`.
fn demo_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www")
}

/// Lets the tab save downloads into `dir`, reporting progress as events.
fn allow_downloads(b: &mut Chromium, dir: &Path) {
    b.call_browser(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": dir, "eventsEnabled": true}),
    );
}

/// Clicks `element_expr`, waits for the download it starts to complete,
/// and returns the URL, the name the browser chose and the saved bytes.
fn download(b: &mut Chromium, element_expr: &str, dir: &Path) -> (String, String, Vec<u8>) {
    b.clear_events();
    b.click(element_expr);
    let begin = b.wait_event("Browser.downloadWillBegin", |_| true);
    let guid = begin["guid"].as_str().unwrap().to_string();
    let done = b.wait_event("Browser.downloadProgress", |p| {
        p["guid"] == guid.as_str() && p["state"] != "inProgress"
    });
    assert_eq!(
        done["state"], "completed",
        "download by {element_expr}: {done}"
    );
    let name = begin["suggestedFilename"].as_str().unwrap().to_string();
    let bytes = std::fs::read(dir.join(&name)).expect("the downloaded file");
    (begin["url"].as_str().unwrap().to_string(), name, bytes)
}

/// Fails with the first differing offset when `got` is not `want`.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what} differs: {} bytes, source {} bytes, first difference at {at:?}",
            got.len(),
            want.len()
        );
    }
}

/// A JS string literal for `s`.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A JS expression for the first link whose decoded path is `path` (or
/// `path` without its trailing slash, which the server redirects).
fn link_to(path: &str) -> String {
    format!(
        "[...document.querySelectorAll('a[href]')].find(a => {{
            try {{ const p = decodeURIComponent(new URL(a.href).pathname);
                   return p === {0} || p + '/' === {0}; }} catch (e) {{ return false; }} }})",
        js(path)
    )
}

/// The decoded path of the page, and whether its URL kept a query or fragment.
fn location(b: &mut Chromium) -> Value {
    b.eval(
        "({path: decodeURIComponent(location.pathname), search: location.search, hash: location.hash,
           text: document.body ? document.body.innerText : null})",
    )
}

/// Every request the page made went to the server under test (or stayed
/// inside the browser: data:, about:, blob:).
fn assert_only_local(b: &Chromium, s: &Served) {
    let foreign: Vec<_> = b
        .network
        .iter()
        .filter(|r| {
            !r.url.starts_with(&s.base)
                && !["data:", "about:", "blob:"]
                    .iter()
                    .any(|p| r.url.starts_with(p))
        })
        .map(|r| r.url.clone())
        .collect();
    assert!(
        foreign.is_empty(),
        "the page requested other hosts: {foreign:?}\n{}",
        b.network_summary()
    );
}

/// The requests that reached the server (not answered from the browser's cache).
fn server_targets(b: &Chromium, s: &Served) -> Vec<String> {
    b.network
        .iter()
        .filter(|r| r.url.starts_with(&s.base) && !r.from_cache && r.status.is_some())
        .map(|r| s.target_of(&r.url))
        .collect()
}

/// Plays the page's audio or video element muted, seeks it to three
/// quarters, and checks it played, sought, and that a Range request for
/// it got a 206 in the browser; returns the media URL.
pub(crate) fn play_and_seek(b: &mut Chromium) -> String {
    let media = b.eval(
        "(async () => {
            const m = document.querySelector('audio, video');
            if (!m) throw new Error('no audio or video element on the page');
            const bound = (what) => new Promise((_, no) => setTimeout(() => no(new Error(what + ' took over 15 s')), 15000));
            const once = (name) => new Promise((yes, no) => {
                m.addEventListener(name, yes, {once: true});
                m.addEventListener('error', () => no(new Error('media error ' + (m.error && m.error.code) + ': ' + (m.error && m.error.message))), {once: true});
            });
            m.muted = true;
            await Promise.race([m.play(), bound('play()')]);
            while (m.currentTime === 0) await Promise.race([once('timeupdate'), bound('playback')]);
            const played = m.currentTime;
            const target = m.duration * 0.75;
            const seeked = once('seeked');
            m.currentTime = target;
            await Promise.race([seeked, bound('seeking')]);
            return {src: m.currentSrc, duration: m.duration, played, target, currentTime: m.currentTime};
        })()",
    );
    let duration = media["duration"].as_f64().unwrap_or(f64::NAN);
    assert!(
        duration.is_finite() && duration > 0.0,
        "no duration: {media}"
    );
    assert!(
        media["played"].as_f64().unwrap() > 0.0,
        "did not play: {media}"
    );
    let (now, target) = (
        media["currentTime"].as_f64().unwrap(),
        media["target"].as_f64().unwrap(),
    );
    assert!(
        now >= target - 0.5 && now <= target + 2.0,
        "after seeking to {target}, currentTime is {now}"
    );
    let src = media["src"].as_str().unwrap().to_string();
    let ranged: Vec<_> = b
        .network
        .iter()
        .filter(|r| r.url == src && r.range.is_some())
        .collect();
    assert!(
        ranged.iter().any(|r| r.status == Some(206)),
        "no Range request for {src} got a 206 in the browser:\n{}",
        b.network_summary()
    );
    src
}

// 1. The demo site renders: welcome heading visible, stylesheet and image
//    loaded, nothing 4xx in the access log, no request to another host.
#[test]
fn browser_demo_site_renders_with_its_stylesheet_and_image() {
    let site = demo_site();
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig::new(&site);
    let loader = b.navigate(&s.base);
    b.wait_event("Page.lifecycleEvent", |p| {
        p["name"] == "networkIdle" && p["loaderId"] == loader.as_str()
    });
    let page = b.eval(
        "(() => {
            const h = [...document.querySelectorAll('h1, h2')].find(e => e.textContent.includes('Welcome!'));
            const r = h && h.getBoundingClientRect(), cs = h && getComputedStyle(h);
            return {
              heading: h ? h.textContent.trim() : null,
              visible: !!h && r.width > 0 && r.height > 0 && r.top < innerHeight && r.bottom > 0
                       && cs.visibility !== 'hidden' && cs.display !== 'none' && cs.opacity !== '0',
              sheets: [...document.styleSheets].filter(s => s.href).map(s => {
                let rules = -1; try { rules = s.cssRules.length; } catch (e) {}
                return {href: s.href, rules}; }),
              images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
            }; })()",
    );
    assert!(
        page["heading"].is_string(),
        "no heading saying Welcome! on {}: {page}",
        s.base
    );
    assert_eq!(
        page["visible"], true,
        "the Welcome! heading is not visible: {page}"
    );
    let sheets = page["sheets"].as_array().unwrap();
    assert!(!sheets.is_empty(), "the page links no stylesheet: {page}");
    for sheet in sheets {
        assert!(
            sheet["rules"].as_i64().unwrap() > 0,
            "stylesheet {} did not load (no rules): {page}\n{}",
            sheet["href"],
            b.network_summary()
        );
    }
    let images = page["images"].as_array().unwrap();
    assert!(!images.is_empty(), "the page shows no image: {page}");
    for img in images {
        assert_eq!(img["ok"], true, "image {} did not load: {page}", img["src"]);
    }
    assert_only_local(&b, &s);
    let targets = server_targets(&b, &s);
    s.wait_logged_all(&targets);
    let bad: Vec<_> = s.log.iter().filter(|l| l.status >= 400).collect();
    assert!(bad.is_empty(), "errors in the access log: {bad:#?}");
    // A media element stops reading once it has what it needs
    // (ERR_ABORTED after a response): that is not a failure, no response is.
    for r in &b.network {
        assert!(
            r.status.is_some_and(|st| st < 400),
            "request failed in the browser: {r:?}"
        );
    }
    let shot = b.screenshot("demo");
    eprintln!("screenshot: {}", shot.display());

    // Its subfolder has no index.html: the link opens a listing of it.
    let folder = b.eval(
        "(() => { const a = [...document.querySelectorAll('a[href]')].find(a => !a.hasAttribute('download')
              && new URL(a.href).pathname.endsWith('/') && new URL(a.href).pathname !== '/');
              return a ? new URL(a.href).pathname : null; })()",
    );
    let folder = folder
        .as_str()
        .expect("the demo page links no subfolder")
        .to_string();
    let on_disk = site.join(folder.trim_matches('/'));
    b.clear_events();
    b.click(&link_to(&folder));
    b.wait_loaded();
    assert_eq!(location(&mut b)["path"], folder.as_str());
    for entry in std::fs::read_dir(&on_disk).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !b.eval(&link_to(&format!("{folder}{name}"))).is_null(),
            "the listing of {folder} does not link {name}"
        );
    }
    b.screenshot("demo-listing");
    b.go(-1);

    // Its download links hand over the files as they are in www/.
    let downloads = tempfile::tempdir().unwrap();
    allow_downloads(&mut b, downloads.path());
    let hrefs =
        b.eval("[...document.querySelectorAll('a[download]')].map(a => a.getAttribute('href'))");
    let hrefs = hrefs.as_array().unwrap();
    assert!(!hrefs.is_empty(), "the demo page has no download link");
    for (i, href) in hrefs.iter().enumerate() {
        let by = format!("document.querySelectorAll('a[download]')[{i}]");
        let (url, _, got) = download(&mut b, &by, downloads.path());
        let rel = s.target_of(&url);
        let source = site.join(rel.trim_start_matches('/'));
        let want = std::fs::read(&source)
            .unwrap_or_else(|e| panic!("{href} -> {url}: no source {}: {e}", source.display()));
        assert_same_bytes(&got, &want, &format!("the download of {url}"));
    }
}

// 2. A listing renders; each awkwardly named entry opens the right file
//    when clicked; subfolders open; breadcrumbs lead back up.
#[test]
fn browser_listing_clicks_through_awkward_names_and_breadcrumbs() {
    let tmp = tempfile::tempdir().unwrap();
    fixtures::awkward_tree(tmp.path());
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig::new(tmp.path());
    b.navigate(&s.base);
    let shot = b.screenshot("listing");
    eprintln!("screenshot: {}", shot.display());

    // First what the listing shows, for every name at once, so that one
    // badly linked name does not hide the others.
    let mut problems = Vec::new();
    let mut linked = Vec::new();
    for name in fixtures::awkward_names() {
        let path = format!("/{name}");
        let link = link_to(&path);
        let text = b.eval(&format!(
            "(() => {{ const a = {link}; return a ? a.textContent : null; }})()"
        ));
        let shown: String = name.chars().take(40).collect();
        match text.as_str() {
            None => problems.push(format!("no link leads to {path:?}")),
            Some(t) if !t.contains(&shown) => problems.push(format!(
                "the link to {name:?} reads {t:?} (name not shown, or not HTML-escaped)"
            )),
            Some(_) => linked.push(name),
        }
    }
    // Then click each one that is linked and check what opens.
    for name in linked {
        b.navigate(&s.base);
        let path = format!("/{name}");
        b.clear_events();
        b.click(&link_to(&path));
        let url = b.wait_loaded();
        let at = location(&mut b);
        assert_eq!(at["path"], path.as_str(), "clicking {name:?} opened {url}");
        assert_eq!(at["search"], "", "clicking {name:?} opened {url}");
        assert_eq!(at["hash"], "", "clicking {name:?} opened {url}");
        assert_eq!(
            at["text"].as_str().map(str::trim_end),
            Some(fixtures::contents_of(&name).trim_end()),
            "clicking {name:?} ({url}) shows the wrong text"
        );
        let target = s.target_of(&url);
        s.wait_logged(&format!("200 for {target}"), |l| {
            l.target == target && l.status == 200
        });
    }

    // A folder asked for without its slash is redirected to it.
    b.navigate(&s.url("sub%20dir%20%231"));
    assert_eq!(
        location(&mut b)["path"],
        "/sub dir #1/",
        "no redirect to the slash"
    );
    assert!(!b.eval(&link_to("/sub dir #1/beside.txt")).is_null());
    s.wait_logged("a 301 for /sub%20dir%20%231", |l| {
        l.target == "/sub%20dir%20%231" && l.status == 301
    });

    // Down two folders by clicking, then back up by the breadcrumbs.
    b.navigate(&s.base);
    for (dir, expect) in [
        ("/sub dir #1/", "/sub dir #1/"),
        ("/sub dir #1/deeper ü%/", "/sub dir #1/deeper ü%/"),
    ] {
        b.clear_events();
        b.click(&link_to(dir));
        b.wait_loaded();
        assert_eq!(location(&mut b)["path"], expect, "clicking {dir:?}");
    }
    b.clear_events();
    b.click(&link_to("/sub dir #1/deeper ü%/inner.txt"));
    b.wait_loaded();
    let at = location(&mut b);
    assert_eq!(at["path"], "/sub dir #1/deeper ü%/inner.txt");
    assert_eq!(
        at["text"].as_str().map(str::trim_end),
        Some(fixtures::contents_of("inner.txt").trim_end())
    );
    b.go(-1);
    for up in ["/sub dir #1/", "/"] {
        let crumb = format!(
            "[...document.querySelectorAll('a[href]')].find(a => {{
                try {{ return decodeURIComponent(new URL(a.href).pathname) === {}
                          && !a.textContent.trim().startsWith('..'); }} catch (e) {{ return false; }} }})",
            js(up)
        );
        let here = location(&mut b)["path"].clone();
        assert!(
            !b.eval(&crumb).is_null(),
            "no breadcrumb on {here} leads up to {up}"
        );
        b.clear_events();
        b.click(&crumb);
        b.wait_loaded();
        assert_eq!(
            location(&mut b)["path"],
            up,
            "the breadcrumb on {here} to {up}"
        );
    }
    assert!(
        !b.eval(&link_to("/with space.txt")).is_null(),
        "back at the top, the listing lost its entries"
    );
    assert_only_local(&b, &s);
    assert!(
        problems.is_empty(),
        "the listing of {} links some names wrongly:\n  {}\nits hrefs: {}",
        s.base,
        problems.join("\n  "),
        b.eval("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    );
}

// 3. Audio or video plays and seeks: the browser uses Range requests and
//    gets 206s; the element reports a duration and the sought currentTime.
#[test]
fn browser_media_plays_and_seeks_with_range_requests() {
    let site = demo_site();
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig::new(&site);
    b.navigate(&s.base);
    let src = play_and_seek(&mut b);
    let target = s.target_of(&src);
    s.wait_logged(&format!("206 for {target}"), |l| {
        l.target == target && l.status == 206
    });
    assert_only_local(&b, &s);
}

// 4. Files downloaded through the browser (a `download` link, and a plain
//    link to a type the browser does not display) are byte-identical.
#[test]
fn browser_downloads_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let linked = "payload ü #1.bin";
    let plain = "plain data.bin";
    std::fs::write(tmp.path().join(linked), fixtures::payload(3 << 20, 1)).unwrap();
    std::fs::write(tmp.path().join(plain), fixtures::payload(200_000, 2)).unwrap();
    std::fs::write(
        tmp.path().join("index.html"),
        "<!doctype html><meta charset=utf-8><title>downloads</title>\
         <p><a id=linked href=\"payload%20%C3%BC%20%231.bin\" download>with download attribute</a>\
         <p><a id=plain href=\"plain%20data.bin\">plain link</a>",
    )
    .unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig::new(tmp.path());
    allow_downloads(&mut b, downloads.path());
    b.navigate(&s.base);
    for (id, name) in [("linked", linked), ("plain", plain)] {
        let by = format!("document.getElementById({})", js(id));
        let (url, saved_as, got) = download(&mut b, &by, downloads.path());
        assert_eq!(saved_as, name, "the browser named the download of {name}");
        let want = std::fs::read(tmp.path().join(name)).unwrap();
        assert_same_bytes(&got, &want, &format!("the download of {name}"));
        let target = s.target_of(&url);
        let line = s.wait_logged(&format!("a line for {target}"), |l| l.target == target);
        assert!(line.status < 300, "download answered {}", line.line);
    }
    assert_only_local(&b, &s);
}

// 5. Back, forward and reload of a listing and of a file work, and reloading
//    an unchanged file is answered 304 by the server.
#[test]
fn browser_back_forward_and_reload_with_304() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("a dir")).unwrap();
    for name in ["page one.txt", "two#.txt"] {
        std::fs::write(
            tmp.path().join("a dir").join(name),
            fixtures::contents_of(name),
        )
        .unwrap();
    }
    std::fs::write(tmp.path().join("top.txt"), fixtures::contents_of("top.txt")).unwrap();
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig::new(tmp.path());
    let file = "/a dir/page one.txt";
    let file_text = fixtures::contents_of("page one.txt");
    let shows_file = |b: &mut Chromium| {
        let at = location(b);
        assert_eq!(at["path"], file);
        assert_eq!(
            at["text"].as_str().map(str::trim_end),
            Some(file_text.trim_end())
        );
    };
    let shows_listing = |b: &mut Chromium, dir: &str, entry: &str| {
        assert_eq!(location(b)["path"], dir);
        assert!(
            !b.eval(&link_to(entry)).is_null(),
            "the listing of {dir} has no entry {entry}"
        );
    };

    b.navigate(&s.base);
    b.clear_events();
    b.click(&link_to("/a dir/"));
    b.wait_loaded();
    shows_listing(&mut b, "/a dir/", file);
    b.clear_events();
    b.click(&link_to(file));
    b.wait_loaded();
    shows_file(&mut b);

    b.go(-1);
    shows_listing(&mut b, "/a dir/", file);
    b.go(-1);
    shows_listing(&mut b, "/", "/top.txt");
    b.go(1);
    shows_listing(&mut b, "/a dir/", file);
    b.go(1);
    shows_file(&mut b);

    s.clear_log();
    b.clear_network();
    let url = b.reload();
    shows_file(&mut b);
    let target = s.target_of(&url);
    let line = s.wait_logged(&format!("a line for the reload of {target}"), |l| {
        l.target == target
    });
    assert_eq!(
        line.status,
        304,
        "reloading an unchanged file was not answered 304: {}\nbrowser: {}",
        line.line,
        b.network_summary()
    );
    let seen: Vec<_> = b.network.iter().filter(|r| r.url == url).collect();
    assert!(
        seen.iter().any(|r| r.wire_status == Some(304)),
        "the browser's network stack did not read a 304 on reload:\n{}",
        b.network_summary()
    );

    b.go(-1);
    s.clear_log();
    b.reload();
    shows_listing(&mut b, "/a dir/", file);
    let line = s.wait_logged("a line for the reload of the listing", |l| {
        l.target == "/a%20dir/"
    });
    assert!(
        line.status == 200 || line.status == 304,
        "reloading the listing: {}",
        line.line
    );
    assert_only_local(&b, &s);
}

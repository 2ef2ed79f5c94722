//! `wirecat serve` against hostile file systems: modification times that
//! HTTP dates cannot carry (before 1970, after 9999), and symlinks that
//! lead out of the root at request time, through folders and chains.
//! The race itself (a folder swapped for a symlink mid-lookup) is tested
//! deterministically in `file_server::path`'s unit tests.

use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::both;
use crate::support::{self, get_to_close as get, Server, Transport};

fn serve(t: Transport, dir: &Path) -> Server {
    support::serve(dir)
        .transport(t)
        .args(["-q", "--threads", "1"])
        .start()
}

/// Sets a file's mtime; `false` when the file system refuses the date.
fn set_mtime(path: &Path, t: SystemTime) -> bool {
    let f = File::options().write(true).open(path).unwrap();
    f.set_modified(t).is_ok() && fs::metadata(path).unwrap().modified().unwrap() == t
}

both!(
    files_dated_before_1970_or_after_9999_are_served_and_listed,
    |t| {
        // ext4 clamps mtimes to 2446; tmpfs keeps year 10000.
        let d = match tempfile::tempdir_in("/dev/shm") {
            Ok(d) => d,
            Err(_) => tempfile::tempdir().unwrap(),
        };
        fs::write(d.path().join("old.txt"), "old").unwrap();
        fs::write(d.path().join("future.txt"), "future").unwrap();
        fs::write(d.path().join("now.txt"), "now").unwrap();
        // 1960-01-01, as `touch -d 1960-01-01` would set it.
        assert!(set_mtime(
            &d.path().join("old.txt"),
            UNIX_EPOCH - Duration::from_secs(315_619_200)
        ));
        // Year 10000 and a little more.
        let far = UNIX_EPOCH + Duration::from_secs(253_402_300_800 + 86_400);
        let future_ok = set_mtime(&d.path().join("future.txt"), far);
        if !future_ok {
            support::skip("this file system refuses a year-10000 mtime; only 1960 is tested");
        }
        let Server { addr, bg: _bg, .. } = serve(t, d.path());

        let r = get(addr, "/old.txt", "");
        assert_eq!((r.status, r.text().as_str()), (200, "old"));
        assert_eq!(r.header("Last-Modified"), None, "1960 is not an HTTP-date");
        assert!(r.header("ETag").is_some());
        // No modification date: If-Modified-Since is ignored (RFC 9110
        // section 13.1.3), not compared with a made-up one.
        let ims = "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
        assert_eq!(get(addr, "/old.txt", ims).status, 200);
        let etag = r.header("ETag").unwrap().to_string();
        let inm = format!("If-None-Match: {etag}\r\n");
        assert_eq!(get(addr, "/old.txt", &inm).status, 304);

        if future_ok {
            let r = get(addr, "/future.txt", "");
            assert_eq!((r.status, r.text().as_str()), (200, "future"));
            assert_eq!(r.header("Last-Modified"), None);
            let ius = "If-Unmodified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n";
            assert_eq!(get(addr, "/future.txt", ius).status, 200);
        }

        for _ in 0..2 {
            let page = get(addr, "/", "");
            assert_eq!(page.status, 200);
            assert!(page.text().contains("\"./old.txt\""), "{}", page.text());
            assert!(page.text().contains("\"./future.txt\""), "{}", page.text());
            let json = get(addr, "/", "Accept: application/json\r\n");
            assert_eq!(json.status, 200);
            let j: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
            let modified = |name: &str| {
                j["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["name"] == name)
                    .map(|e| e["modified"].clone())
                    .unwrap()
            };
            assert_eq!(modified("old.txt"), -315_619_200);
            if future_ok {
                assert_eq!(modified("future.txt"), 253_402_300_800u64 + 86_400);
            }
        }
        // The loop is still alive for ordinary files.
        assert_eq!(get(addr, "/now.txt", "").status, 200);
    }
);

/// A root with a real folder, links that stay inside (relative and
/// absolute) and links that leave it (directly, through a chain, through a
/// folder, by `..`), next to a secret outside.
fn tricky_root(top: &Path) -> std::path::PathBuf {
    let root = top.join("root");
    let out = top.join("out");
    fs::create_dir_all(root.join("real/deeper")).unwrap();
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("secret.txt"), "SECRET").unwrap();
    fs::write(root.join("real/in.txt"), "inside").unwrap();
    fs::write(root.join("real/deeper/d.txt"), "deep").unwrap();
    let root = root.canonicalize().unwrap();
    let out = out.canonicalize().unwrap();
    symlink(root.join("real"), root.join("abs-in")).unwrap();
    symlink("real", root.join("rel-in")).unwrap();
    symlink("../in.txt", root.join("real/deeper/up.txt")).unwrap();
    symlink(&out, root.join("abs-out")).unwrap();
    symlink("../out", root.join("rel-out")).unwrap();
    symlink(&out, root.join("real/nested-out")).unwrap();
    symlink("abs-out", root.join("chain")).unwrap();
    symlink(
        root.join("real/deeper/../../../out"),
        root.join("dotdot-out"),
    )
    .unwrap();
    symlink("loop", root.join("loop")).unwrap();
    root
}

both!(symlinks_are_resolved_beneath_the_root_or_refused, |t| {
    let top = tempfile::tempdir().unwrap();
    let root = tricky_root(&top.path().canonicalize().unwrap());
    let Server { addr, bg: _bg, .. } = serve(t, &root);
    let served = [
        ("/real/in.txt", "inside"),
        ("/abs-in/in.txt", "inside"),
        ("/rel-in/in.txt", "inside"),
        ("/abs-in/deeper/d.txt", "deep"),
        ("/abs-in/deeper/up.txt", "inside"),
    ];
    for (path, body) in served {
        let r = get(addr, path, "");
        assert_eq!((r.status, r.text().as_str()), (200, body), "{path}");
    }
    let refused = [
        "/abs-out/secret.txt",
        "/rel-out/secret.txt",
        "/real/nested-out/secret.txt",
        "/abs-in/nested-out/secret.txt",
        "/chain/secret.txt",
        "/dotdot-out/secret.txt",
        "/abs-out/",
        "/abs-in/nested-out/",
        "/chain/",
        "/loop",
        "/loop/x",
    ];
    for path in refused {
        let r = get(addr, path, "");
        let body = r.text();
        assert_eq!(r.status, 404, "{path}: {body}");
        assert!(!body.contains("SECRET") && !body.contains("secret.txt"));
    }
    // Listings through an inside link work and leave out links that leave.
    let page = get(addr, "/abs-in/", "");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("\"./in.txt\""), "{}", page.text());
    assert!(!page.text().contains("nested-out"), "{}", page.text());
    let page = get(addr, "/", "").text();
    for name in ["abs-in/", "rel-in/"] {
        assert!(page.contains(&format!("\"./{name}\"")), "{name}: {page}");
    }
    for name in ["abs-out", "rel-out", "chain", "dotdot-out", "loop"] {
        assert!(!page.contains(&format!("\"./{name}")), "{name}: {page}");
    }
});

// The audit's race over the real binary: a thread swaps a folder and a
// symlink out of the root (renameat2 RENAME_EXCHANGE) as fast as it can
// while files and listings are asked for through that folder. Every
// answer is the inside file, the inside listing, or a 404; never the
// outside. (The old canonicalise-then-open-by-name fallback leaked in
// about a third of such requests.) A race can only fail to show a
// regression, never fail a correct server; the deterministic version is
// `file_server::path`'s mid-walk swap test.
both!(
    folder_swapped_for_an_outside_symlink_under_load_never_leaks,
    |t| {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let top = tempfile::tempdir().unwrap();
        let base = top.path().canonicalize().unwrap();
        let (root, out) = (base.join("root"), base.join("out"));
        fs::create_dir_all(root.join("d")).unwrap();
        fs::create_dir(&out).unwrap();
        fs::write(root.join("d/f.txt"), "inside").unwrap();
        fs::write(out.join("f.txt"), "SECRET").unwrap();
        fs::write(out.join("outside-only.txt"), "SECRET").unwrap();
        symlink(&out, root.join("swap")).unwrap();
        let Server { addr, bg: _bg, .. } = serve(t, &root);

        let stop = Arc::new(AtomicBool::new(false));
        let (started, running) = std::sync::mpsc::channel();
        let flipper = {
            let stop = stop.clone();
            let (a, b) = (root.join("d"), root.join("swap"));
            std::thread::spawn(move || {
                let cwd = rustix::fs::CWD;
                let mut flips = 0u64;
                while flips < 2 || !stop.load(Ordering::Relaxed) {
                    rustix::fs::renameat_with(cwd, &a, cwd, &b, rustix::fs::RenameFlags::EXCHANGE)
                        .unwrap();
                    flips += 1;
                    if flips == 1 {
                        started.send(()).unwrap();
                    }
                }
                flips
            })
        };
        // Requests start only once the swapping has.
        running
            .recv_timeout(support::TIMEOUT)
            .expect("swapper started");
        let (mut inside, mut refused) = (0, 0);
        for i in 0..600 {
            let path = if i % 3 == 0 { "/d/" } else { "/d/f.txt" };
            let r = get(addr, path, "");
            let body = r.text();
            assert!(
                !body.contains("SECRET") && !body.contains("outside-only"),
                "{path} leaked: {} {body}",
                r.status,
            );
            match r.status {
                200 => inside += 1,
                404 => refused += 1,
                s => panic!("{path}: {s} {body}"),
            }
        }
        stop.store(true, Ordering::Relaxed);
        let flips = flipper.join().unwrap();
        eprintln!("{inside} served inside, {refused} refused, {flips} swaps");
        assert!(flips >= 2);
    }
);

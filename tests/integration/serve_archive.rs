//! Folder downloads (`GET /dir/?download=tar|tar.gz|zip`) checked by the
//! tools people extract them with: `tar`, `unzip`, Python's `zipfile`.
//! Every extracted file's SHA-256 must equal the original's, with modes,
//! mtimes, awkward names and empty folders carried, dotfiles and symlinks
//! out of the root left out; ranges, resuming with `curl -C -`, and a file
//! that grows between planning and sending (the connection must be cut).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::support::{self, get, pseudo_random, request, Client, Server, TIMEOUT};

/// One file of the fixture: where under `top/`, its bytes, mode, mtime.
struct Fixture {
    rel: String,
    data: Vec<u8>,
    mode: u32,
    mtime: u64,
}

const LONG_DIR: &str = "a folder with a rather long name to push the path";

/// `root/top/` with awkward names, a 100+ byte path, an empty folder, a
/// dotfile and a symlink out of the root; the files it should archive.
fn tree(root: &Path) -> Vec<Fixture> {
    let top = root.join("top");
    let long_name = format!(
        "{LONG_DIR}/and a file name that is long as well, longer than ustar allows \u{e9}.txt"
    );
    assert!(format!("top/{long_name}").len() > 100);
    let files = vec![
        ("a b.txt", b"hello\n".to_vec(), 0o644, 1_600_000_000),
        (
            "uni \u{e9}\u{fc} \u{1f600}/100%#?.txt",
            b"u".to_vec(),
            0o600,
            1_500_000_000,
        ),
        (
            long_name.as_str(),
            pseudo_random(70_000, 3),
            0o640,
            1_400_000_000,
        ),
        ("run.sh", b"#!/bin/sh\n".to_vec(), 0o755, 1_300_000_000),
        ("big.bin", pseudo_random(3 << 20, 7), 0o644, 1_700_000_000),
        ("empty.txt", Vec::new(), 0o644, 1_650_000_000),
    ];
    let mut out = Vec::new();
    for (rel, data, mode, mtime) in files {
        let p = top.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
            .unwrap();
        out.push(Fixture {
            rel: rel.to_string(),
            data,
            mode,
            mtime,
        });
    }
    std::fs::create_dir_all(top.join("empty folder")).unwrap();
    std::fs::write(top.join(".secret"), "dot").unwrap();
    std::fs::write(root.join("../outside.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(root.join("../outside.txt"), top.join("escape")).unwrap();
    out
}

/// A fixture in a folder of its own (the symlink target sits beside the
/// served root, so it is outside it).
fn setup() -> (tempfile::TempDir, PathBuf, Vec<Fixture>) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let files = tree(&root);
    (d, root, files)
}

fn serve(root: &Path, extra: &[&str]) -> Server {
    support::serve(root).args(["-q"]).args(extra).start()
}

/// Runs a peer tool, failing clearly when it is not installed.
fn tool(name: &str) -> Command {
    // unzip has no --version; -v prints its version.
    let probe = if name == "unzip" { "-v" } else { "--version" };
    let found = Command::new(name).arg(probe).output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "{name} is required for this test (apt-get install -y {name})"
    );
    let mut cmd = Command::new(name);
    cmd.env_remove("http_proxy").env_remove("HTTP_PROXY");
    cmd
}

fn ok(cmd: &mut Command) -> Output {
    let out = support::run(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `curl -sS ARGS`, which must succeed.
fn curl(args: &[&str]) -> Output {
    ok(tool("curl").args(["-sS", "--max-time", "20"]).args(args))
}

/// Downloads `url` to `to` with curl; the response head's headers.
fn download(url: &str, to: &Path) -> String {
    let out = curl(&["-D", "-", "-o", to.to_str().unwrap(), url]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every fixture file is in `out/top/` with its bytes (by SHA-256), and
/// with its mode and mtime when `meta`; the empty folder is there, the
/// dotfile and the symlink out of the root are not.
fn check_extracted(out: &Path, files: &[Fixture], meta: bool) {
    let top = out.join("top");
    for f in files {
        let p = top.join(&f.rel);
        let got = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", f.rel));
        assert_eq!(sha(&got), sha(&f.data), "{}", f.rel);
        if meta {
            let m = std::fs::metadata(&p).unwrap();
            assert_eq!(m.permissions().mode() & 0o7777, f.mode, "{}", f.rel);
            let mtime = m.modified().unwrap().duration_since(UNIX_EPOCH).unwrap();
            assert_eq!(mtime.as_secs(), f.mtime, "{}", f.rel);
        }
    }
    assert!(top.join("empty folder").is_dir());
    assert!(!top.join(".secret").exists());
    assert!(!top.join("escape").exists());
}

#[test]
fn tar_lists_and_extracts_byte_identical_with_modes_and_mtimes() {
    let (d, root, files) = setup();
    let s = serve(&root, &[]);
    let tar = d.path().join("top.tar");
    let head = download(&s.url("/top/?download=tar"), &tar);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let len = std::fs::metadata(&tar).unwrap().len();
    assert_eq!(
        header(&head, "content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(header(&head, "content-type"), Some("application/x-tar"));
    assert!(header(&head, "etag").is_some_and(|e| e.starts_with('"')));
    let listed = ok(tool("tar").arg("-tvf").arg(&tar));
    let listed = String::from_utf8_lossy(&listed.stdout);
    for f in &files {
        assert!(listed.contains(&format!("top/{}", f.rel)), "{listed}");
    }
    assert!(listed.contains("-rwxr-xr-x"), "{listed}");
    assert!(listed.contains("top/empty folder/"), "{listed}");
    assert!(!listed.contains(".secret") && !listed.contains("escape"));
    // Names are relative: none starts with '/' or holds a `..` segment.
    for line in ok(tool("tar").arg("-tf").arg(&tar))
        .stdout
        .split(|&b| b == b'\n')
    {
        let name = String::from_utf8_lossy(line);
        assert!(!name.starts_with('/') && !name.split('/').any(|s| s == ".."));
    }
    let out = d.path().join("x");
    std::fs::create_dir(&out).unwrap();
    ok(tool("tar").arg("-xpf").arg(&tar).arg("-C").arg(&out));
    check_extracted(&out, &files, true);
}

#[test]
fn tar_gz_is_chunked_and_extracts_byte_identical() {
    let (d, root, files) = setup();
    let s = serve(&root, &[]);
    let tgz = d.path().join("top.tar.gz");
    let head = download(&s.url("/top/?download=tar.gz"), &tgz);
    assert_eq!(
        header(&head, "transfer-encoding"),
        Some("chunked"),
        "{head}"
    );
    assert_eq!(header(&head, "content-length"), None);
    let out = d.path().join("x");
    std::fs::create_dir(&out).unwrap();
    ok(tool("tar").arg("-xzpf").arg(&tgz).arg("-C").arg(&out));
    check_extracted(&out, &files, true);
    // HTTP/1.0 has no chunks: the body ends with the connection.
    // A small folder for these two: gzip is slow in a debug build.
    let small = "/top/uni%20%C3%A9%C3%BC%20%F0%9F%98%80/?download=tar.gz";
    let r = support::get_to_close(s.addr, small, "");
    assert_eq!(r.status, 200);
    assert!(
        r.body.ends_with(b"\r\n0\r\n\r\n"),
        "chunked to its last chunk"
    );
    let raw = format!("GET {small} HTTP/1.0\r\n\r\n");
    let r = support::Resp::parse(&support::exchange(s.addr, raw.as_bytes()), "1.0");
    assert_eq!(r.header("transfer-encoding"), None);
    let mut gz = flate2::read::GzDecoder::new(&r.body[..]);
    let mut tar = Vec::new();
    gz.read_to_end(&mut tar).unwrap();
    assert_eq!(tar.len() % 512, 0);
    assert!(tar.windows(10).any(|w| w == b"100%#?.txt"));
}

#[test]
fn zip_tests_clean_and_extracts_byte_identical() {
    let (d, root, files) = setup();
    let s = serve(&root, &[]);
    let zip = d.path().join("top.zip");
    let head = download(&s.url("/top/?download=zip"), &zip);
    let len = std::fs::metadata(&zip).unwrap().len();
    assert_eq!(
        header(&head, "content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(header(&head, "content-type"), Some("application/zip"));
    let t = ok(tool("unzip").arg("-t").arg(&zip));
    assert!(String::from_utf8_lossy(&t.stdout).contains("No errors detected"));
    let out = d.path().join("x");
    std::fs::create_dir(&out).unwrap();
    ok(tool("unzip").arg("-q").arg(&zip).arg("-d").arg(&out));
    check_extracted(&out, &files, true);
    // Python: testzip() finds no bad CRC, and extractall gives the bytes.
    let py_out = d.path().join("py");
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        assert all(i.flag_bits & 0x800 or i.filename.isascii() for i in z.infolist())\n\
        z.extractall(sys.argv[2])\n";
    ok(tool("python3").args(["-c", script]).arg(&zip).arg(&py_out));
    check_extracted(&py_out, &files, false);
}

#[test]
fn hidden_files_only_with_hidden() {
    let (d, root, _) = setup();
    let s = serve(&root, &["--hidden"]);
    let tar = d.path().join("h.tar");
    download(&s.url("/top/?download=tar"), &tar);
    let listed = ok(tool("tar").arg("-tf").arg(&tar));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("top/.secret"), "{listed}");
    assert!(!listed.contains("escape"), "{listed}");
}

#[test]
fn a_range_is_the_same_slice_of_the_whole_and_if_range_guards_it() {
    let (_d, root, _) = setup();
    let s = serve(&root, &[]);
    for format in ["tar", "zip"] {
        let path = format!("/top/?download={format}");
        let whole = get(s.addr, &path);
        assert_eq!(whole.status, 200);
        let etag = whole.header("etag").unwrap().to_string();
        let len = whole.body.len();
        // From inside big.bin's bytes across the parts after it.
        let (a, b) = (len / 3, len - 100);
        let range = |extra: &str| {
            request(
                s.addr,
                &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes={a}-{b}\r\n{extra}\r\n"),
            )
        };
        let part = range("");
        assert_eq!(part.status, 206, "{format}");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {a}-{b}/{len}").as_str())
        );
        assert!(part.body == whole.body[a..=b], "{format}: slice differs");
        assert_eq!(range(&format!("If-Range: {etag}\r\n")).status, 206);
        let stale = range("If-Range: \"other\"\r\n");
        assert_eq!((stale.status, stale.body.len()), (200, len));
        // Several ranges: the whole archive.
        let two = request(
            s.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes=0-1,5-9\r\n\r\n"),
        );
        assert_eq!((two.status, two.body.len()), (200, len));
        let past = request(
            s.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes={len}-\r\n\r\n"),
        );
        assert_eq!(past.status, 416);
        assert_eq!(
            past.header("content-range"),
            Some(format!("bytes */{len}").as_str())
        );
        let head = request(
            s.addr,
            &format!("HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(
            head.header("content-length"),
            Some(len.to_string().as_str())
        );
        assert!(head.body.is_empty());
    }
}

/// A download cut short (the first part of the bytes on disk) and
/// finished by `curl -C -` is the same archive, byte for byte.
#[test]
fn curl_resume_after_a_cut_gives_an_identical_archive() {
    let (d, root, _) = setup();
    let s = serve(&root, &[]);
    for format in ["tar", "zip"] {
        let url = s.url(&format!("/top/?download={format}"));
        let whole = d.path().join(format!("whole.{format}"));
        download(&url, &whole);
        let whole = std::fs::read(&whole).unwrap();
        let cut = d.path().join(format!("cut.{format}"));
        std::fs::write(&cut, &whole[..whole.len() / 2 + 7]).unwrap();
        curl(&["-C", "-", "-o", cut.to_str().unwrap(), &url]);
        assert!(std::fs::read(&cut).unwrap() == whole, "{format}");
    }
}

/// Several requests on one connection: the archive is wholly sent before
/// the next request is answered.
#[test]
fn pipelined_requests_wait_for_the_archive() {
    let (_d, root, _) = setup();
    let s = serve(&root, &[]);
    let mut c = Client::new(s.addr);
    c.send(
        b"GET /top/?download=tar HTTP/1.1\r\nHost: t\r\n\r\nGET /top/a%20b.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let tar = c.response(false);
    assert_eq!(tar.status, 200);
    assert_eq!(tar.body.len() % 512, 0);
    let next = c.response(false);
    assert_eq!((next.status, next.text().as_str()), (200, "hello\n"));
}

#[test]
fn listings_offer_the_downloads_and_bad_formats_are_refused() {
    let (_d, root, _) = setup();
    let s = serve(&root, &[]);
    let page = get(s.addr, "/top/").text();
    for f in ["tar", "tar.gz", "zip"] {
        assert!(page.contains(&format!("href=\"?download={f}\"")), "{page}");
    }
    assert_eq!(get(s.addr, "/top/?download=rar").status, 400);
    assert_eq!(
        get(s.addr, "/top/?download=tar").header("content-disposition"),
        Some("attachment; filename=\"top.tar\"; filename*=UTF-8''top%2Etar")
    );
    let s = serve(&root, &["--no-listing"]);
    assert_eq!(get(s.addr, "/top/?download=tar").status, 404);
}

/// A file appended to after the archive was planned (and its length
/// promised) but before its bytes are due: the server must cut the
/// connection, so the body is short, never a whole-looking archive.
/// Deterministic: `a.bin` (16 MiB, more than the socket buffers hold)
/// comes first, and `b.txt` grows once the head has arrived.
#[test]
fn a_file_that_grows_while_archived_cuts_the_connection() {
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("top");
    std::fs::create_dir(&top).unwrap();
    std::fs::write(top.join("a.bin"), vec![1u8; 16 << 20]).unwrap();
    std::fs::write(top.join("b.txt"), "before").unwrap();
    let s = serve(d.path(), &[]);
    for format in ["tar", "zip"] {
        std::fs::write(top.join("b.txt"), "before").unwrap();
        // The same download with nothing growing comes whole.
        let (len, body) = grown_download(s.addr, &top, format, false);
        assert_eq!(body, len, "{format}");
        let (len, body) = grown_download(s.addr, &top, format, true);
        assert!(body < len, "{format}: {body} of {len} bytes, and no cut");
    }
}

/// Starts `?download=format` with a small receive buffer, reads the head,
/// appends to `b.txt` if `grow`, then reads to the end: (Content-Length,
/// body bytes).
fn grown_download(addr: SocketAddr, top: &Path, format: &str, grow: bool) -> (usize, usize) {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    sock.connect_timeout(&addr.into(), TIMEOUT).unwrap();
    let mut c: std::net::TcpStream = sock.into();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    let req =
        format!("GET /top/?download={format} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the head");
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    let len: usize = header(&head, "content-length").unwrap().parse().unwrap();
    if grow {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(top.join("b.txt"))
            .unwrap();
        f.write_all(b" and after").unwrap();
    }
    let mut body = got.len() - end;
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body += n,
        }
    }
    (len, body)
}

#[test]
fn the_root_folder_is_named_after_the_served_folder() {
    let (d, root, _) = setup();
    let s = serve(&root, &[]);
    let tar = d.path().join("r.tar");
    let head = download(&s.url("/?download=tar"), &tar);
    assert!(header(&head, "content-disposition")
        .unwrap()
        .contains("filename=\"root.tar\""));
    let listed = ok(tool("tar").arg("-tf").arg(&tar));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.starts_with("root/\nroot/top/\n"), "{listed}");
}

/// `wirecat fetch -C` finishes an archive download from what a cut one
/// leaves behind (the part file and its If-Range validator, as
/// tests/integration/resume.rs shows `fetch` writes them): 206, and the
/// same archive byte for byte.
#[test]
fn wirecat_fetch_resumes_an_archive() {
    let (d, root, _) = setup();
    let s = serve(&root, &[]);
    let dl = d.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    for format in ["tar", "zip"] {
        let path = format!("/top/?download={format}");
        let whole = get(s.addr, &path);
        let etag = whole.header("etag").unwrap();
        // `fetch` names a download by its URL path: a folder's is index.html.
        let part = dl.join("index.html.part");
        std::fs::write(&part, &whole.body[..whole.body.len() / 3]).unwrap();
        std::fs::write(
            dl.join("index.html.part.meta"),
            format!("if-range {etag}\n"),
        )
        .unwrap();
        let out = support::run(
            support::wirecat().current_dir(&dl).args([
                "fetch",
                "-C",
                "--no-progress",
                &s.url(&path),
            ]),
            TIMEOUT,
        );
        support::assert_code(&out, 0);
        assert!(
            support::stdout(&out).starts_with("HTTP/1.1 206"),
            "{}",
            support::stdout(&out)
        );
        let got = std::fs::read(dl.join("index.html")).unwrap();
        assert!(got == whole.body, "{format}");
        std::fs::remove_file(dl.join("index.html")).unwrap();
    }
}

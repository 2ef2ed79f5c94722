//! A 1 GiB upload each way people send one: `curl -T` (PUT) and `curl -F`
//! (a multipart form), into the debug build. Each arrives byte-identical by
//! SHA-256 and the server's peak RSS stays flat while 2 GiB go through.
//! The hashes are `sha256sum`'s: the test's own debug-built SHA-256 would
//! take minutes for 2 GiB.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::serve_upload::peak_rss_kib;
use crate::support::{self, pseudo_random};

/// How long one 1 GiB transfer or hash may take: the debug server takes
/// about 8 s for 1 GiB on an idle machine, and the suite runs beside it.
const SLOW: Duration = Duration::from_secs(240);

/// 1 GiB of pseudo-random bytes, each MiB different, so a misplaced or
/// repeated piece changes the hash.
fn gib_file(path: &Path) {
    let mut f = fs::File::create(path).unwrap();
    let block = pseudo_random(1 << 20, 11);
    for i in 0u64..1024 {
        let mut b = block.clone();
        b[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&b).unwrap();
    }
}

fn sha256sum(path: &Path) -> String {
    let out = support::run(Command::new("sha256sum").arg(path), SLOW);
    assert!(out.status.success(), "sha256sum {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().unwrap().to_string()
}

fn curl(args: &[&str]) -> String {
    let mut cmd = Command::new("curl");
    cmd.env_remove("http_proxy").env_remove("HTTP_PROXY");
    cmd.args([
        "-sS",
        "--max-time",
        "200",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ]);
    let out = support::run(cmd.args(args), SLOW);
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_gib_by_curl_t_and_by_curl_f_arrives_whole_in_flat_memory() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src.bin");
    let root = d.path().join("root");
    fs::create_dir(&root).unwrap();
    gib_file(&src);
    let want = sha256sum(&src);
    let s = support::serve(&root)
        .args(["-q", "--threads", "1", "--upload", "--max-upload", "2G"])
        .start();
    let before = peak_rss_kib(s.bg.child.id());
    let src_arg = src.to_str().unwrap();

    let put = curl(&["-T", src_arg, &s.url("/put.bin")]);
    assert_eq!(put, "201");
    assert_eq!(sha256sum(&root.join("put.bin")), want, "curl -T");
    fs::remove_file(root.join("put.bin")).unwrap();

    let form = curl(&[
        "-F",
        &format!("f=@{src_arg};filename=form.bin"),
        &s.url("/"),
    ]);
    assert_eq!(form, "303");
    assert_eq!(sha256sum(&root.join("form.bin")), want, "curl -F");

    // Read in pieces of at most 1 MiB, 2 MiB ahead: far from the 2 GiB.
    let after = peak_rss_kib(s.bg.child.id());
    assert!(
        after < before + 16 * 1024,
        "VmHWM {before} KiB -> {after} KiB"
    );
}

//! Zip64 folder downloads read back by real readers: more than 65,535
//! entries (the Zip64 end records) and a member of 4.5 GiB followed by one
//! whose local header sits past 4 GiB (Zip64 sizes and offsets). The big
//! member is a sparse file of zeros, so the test fetches only the archive's
//! first and last bytes with ranges, writes them into a sparse copy of the
//! archive's full length (its hole reads as the same zeros), and lets
//! Python's `zipfile` check every CRC.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{self, request, Server, TIMEOUT};

fn serve(root: &Path) -> Server {
    support::serve(root).args(["-q"]).start()
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = support::run(cmd, TIMEOUT);
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn python(script: &str, args: &[&str]) -> Output {
    run_ok(Command::new("python3").arg("-c").arg(script).args(args))
}

#[test]
fn more_than_65535_entries_get_the_zip64_end_records() {
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("root/top");
    std::fs::create_dir_all(&top).unwrap();
    const FILES: usize = 65_536;
    for i in 0..FILES {
        std::fs::write(top.join(format!("f{i:05}")), format!("{i}\n")).unwrap();
    }
    let s = serve(&d.path().join("root"));
    let zip = d.path().join("top.zip");
    run_ok(
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "-o"])
            .arg(&zip)
            .arg(s.url("/top/?download=zip")),
    );
    let bytes = std::fs::read(&zip).unwrap();
    // The Zip64 end record and its locator, and 0xFFFF in the classic
    // record's entry counts (APPNOTE 4.4.1.4: "see the Zip64 record").
    assert!(bytes.windows(4).any(|w| w == b"PK\x06\x06"));
    assert!(bytes.windows(4).any(|w| w == b"PK\x06\x07"));
    let eocd = &bytes[bytes.len() - 22..];
    assert_eq!(&eocd[..4], b"PK\x05\x06");
    assert_eq!(&eocd[8..12], &[0xff; 4]);
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        names = z.namelist()\n\
        assert len(names) == int(sys.argv[2]) + 1, len(names)\n\
        assert names[0] == 'top/', names[0]\n\
        assert z.read('top/f65535') == b'65535\\n'\n\
        assert z.read('top/f00000') == b'0\\n'\n\
        assert z.testzip() is None\n";
    python(script, &[zip.to_str().unwrap(), &FILES.to_string()]);
    let t = run_ok(Command::new("unzip").arg("-tq").arg(&zip));
    assert!(
        String::from_utf8_lossy(&t.stdout).contains("No errors detected"),
        "{}",
        String::from_utf8_lossy(&t.stdout)
    );
}

/// Fetches `bytes=a-b` of `path` and checks it is that exact 206.
fn range(s: &Server, path: &str, a: u64, b: u64, len: u64) -> Vec<u8> {
    let r = request(
        s.addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes={a}-{b}\r\n\r\n"
        ),
    );
    assert_eq!(r.status, 206);
    let want = format!("bytes {a}-{b}/{len}");
    assert_eq!(r.header("content-range"), Some(want.as_str()));
    assert_eq!(r.body.len() as u64, b - a + 1);
    r.body
}

#[test]
fn a_member_of_4_5_gib_and_one_past_4_gib_read_back_whole() {
    use std::io::{Seek, SeekFrom, Write};
    const BIG: u64 = 9 << 29; // 4.5 GiB
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("root/top");
    std::fs::create_dir_all(&top).unwrap();
    // Sparse: no disk is used, and every byte reads as zero.
    std::fs::File::create(top.join("big"))
        .unwrap()
        .set_len(BIG)
        .unwrap();
    std::fs::write(top.join("z.txt"), "after\n").unwrap();
    let s = serve(&d.path().join("root"));
    let path = "/top/?download=zip";
    let head = request(
        s.addr,
        &format!("HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(head.status, 200);
    let len: u64 = head.header("content-length").unwrap().parse().unwrap();
    assert!(len > BIG, "{len}");
    // Everything but the big member's zeros: its local header at the
    // front; its data descriptor, z.txt, the central directory and the
    // end records at the back.
    let front = range(&s, path, 0, 65_535, len);
    let back_from = len - (1 << 20);
    let back = range(&s, path, back_from, len - 1, len);
    let zip = d.path().join("top.zip");
    let mut f = std::fs::File::create(&zip).unwrap();
    f.set_len(len).unwrap();
    f.write_all(&front).unwrap();
    f.seek(SeekFrom::Start(back_from)).unwrap();
    f.write_all(&back).unwrap();
    drop(f);
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        big, small = z.getinfo('top/big'), z.getinfo('top/z.txt')\n\
        assert big.file_size == big.compress_size == int(sys.argv[2]), big\n\
        assert small.header_offset > 0xFFFFFFFF, small.header_offset\n\
        assert z.read('top/z.txt') == b'after\\n'\n\
        assert z.testzip() is None\n";
    python(script, &[zip.to_str().unwrap(), &BIG.to_string()]);
}

//! Directory listings: reading a folder's entries (with the dotfile and
//! symlink policy), and rendering them as HTML (breadcrumbs, folders first,
//! sizes and dates) or JSON. Names are HTML-escaped and links
//! percent-encoded, so spaces, `#`, `%`, `?`, quotes and unicode all work.
//!
//! Entries are read through the descriptor of the folder as it was opened
//! beneath the root, never by its name. Any modification time is accepted:
//! the HTML shows an HTTP-date when one can carry it (1970 through 9999)
//! and leaves the cell blank otherwise; JSON gives signed seconds since the
//! epoch for any date.

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::utf8_percent_encode;
use rustix::fs::{self, AtFlags, Dir, FileType};

use super::path::{Root, UrlPath, SEGMENT};
use super::reply::http_date_time;

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// Reads the entries of the folder `dir`, the descriptor that
/// [`Root::open_file`] gave for `rel`, sorted folders first then by name.
/// Entries and their metadata are read through that descriptor (getdents,
/// fstatat without following), never by path, so a folder swapped for a
/// symlink after the safe open cannot widen what is listed. A symlink entry
/// is shown only if [`Root::stat_beneath`] of `rel/name` resolves beneath
/// the root (or symlinks are followed). Dotfiles are left out unless
/// `hidden`; names that are not UTF-8 cannot be asked for by URL, so they
/// are left out too, as are entries that vanish while being read.
pub fn read_entries(root: &Root, dir: &File, rel: &Path, hidden: bool) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    // A stream of its own, opened as "." of `dir`: the same folder.
    let mut stream = Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(item) = stream.read() {
        names.push(item?.file_name().to_owned());
    }
    for cname in names {
        let Ok(name) = cname.to_str() else {
            continue;
        };
        if name == "." || name == ".." || (name.starts_with('.') && !hidden) {
            continue;
        }
        let Ok(mut st) = fs::statat(dir, cname.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue; // gone since it was read
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            let followed = if root.follows_symlinks() {
                fs::statat(dir, cname.as_c_str(), AtFlags::empty()).map_err(io::Error::from)
            } else {
                root.stat_beneath(&rel.join(name))
            };
            match followed {
                Ok(target) => st = target,
                Err(_) => continue, // dangling, or leads out of the root
            }
        }
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        out.push(Entry {
            name: name.to_string(),
            is_dir,
            len: if is_dir { 0 } else { st.st_size.max(0) as u64 },
            modified: mtime_of(&st),
        });
    }
    out.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The stat(2) mtime; the fields' integer types vary by architecture.
#[allow(clippy::unnecessary_cast)]
fn mtime_of(st: &fs::Stat) -> Option<SystemTime> {
    system_time(st.st_mtime as i64, st.st_mtime_nsec as i64)
}

/// A stat(2) time as a `SystemTime`, on either side of the epoch; `None`
/// if it is out of the platform's range.
fn system_time(secs: i64, nsec: i64) -> Option<SystemTime> {
    let nsec = u32::try_from(nsec).ok().filter(|&n| n < 1_000_000_000)?;
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }?;
    whole.checked_add(Duration::from_nanos(nsec.into()))
}

/// Whole seconds since the epoch, negative before it (rounded down).
fn unix_seconds(t: SystemTime) -> i64 {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => secs(d),
        Err(before) => {
            let d = before.duration();
            -secs(d) - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Sizes as people read them: 512 B, 1.5 KiB, 3.0 MiB.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The HTML listing of the folder at `url`.
pub fn html(url: &UrlPath, entries: &[Entry]) -> Vec<u8> {
    let title = escape_html(&url_display(url));
    let mut s = String::with_capacity(1024 + entries.len() * 160);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(&format!("<title>Index of {title}</title>\n"));
    s.push_str(concat!(
        "<style>body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:56rem;",
        "padding:0 1rem;color:#222}a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}",
        "table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;text-align:left}",
        "tr:nth-child(even){background:#f4f6f8}td.n{text-align:right;white-space:nowrap}",
        "td:first-child{overflow-wrap:anywhere}td:last-child{white-space:nowrap}",
        "nav{font-size:1.3rem;margin-bottom:1rem}</style>\n</head>\n<body>\n"
    ));
    s.push_str("<nav>Index of ");
    breadcrumbs(url, &mut s);
    s.push_str("</nav>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>\n<tbody>\n");
    if !url.segments.is_empty() {
        s.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        // Percent-encoding leaves `&` and `;` alone, so the href must also be
        // HTML-escaped or `a&amp;b` would reach the server as `a&b`.
        let href = escape_html(&utf8_percent_encode(&e.name, SEGMENT).to_string());
        let name = escape_html(&e.name);
        let (slash, size) = if e.is_dir {
            ("/", "-".to_string())
        } else {
            ("", human_size(e.len))
        };
        // Blank when an HTTP-date cannot carry it (before 1970, after 9999).
        let when = e
            .modified
            .and_then(http_date_time)
            .map(httpdate::fmt_http_date)
            .unwrap_or_default();
        s.push_str(&format!(
            "<tr><td><a href=\"./{href}{slash}\">{name}{slash}</a></td><td class=\"n\" title=\"{} bytes\">{size}</td><td>{when}</td></tr>\n",
            e.len
        ));
    }
    s.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    s.into_bytes()
}

/// Links to each ancestor: `/ › a › b`.
fn breadcrumbs(url: &UrlPath, s: &mut String) {
    s.push_str("<a href=\"/\">/</a>");
    let mut href = String::from("/");
    for seg in &url.segments {
        href.extend(utf8_percent_encode(seg, SEGMENT));
        href.push('/');
        s.push_str(&format!(
            " <a href=\"{}\">{}/</a>",
            escape_html(&href),
            escape_html(seg)
        ));
    }
}

fn url_display(url: &UrlPath) -> String {
    let mut s = String::from("/");
    for seg in &url.segments {
        s.push_str(seg);
        s.push('/');
    }
    s
}

/// The JSON listing: `{"path": "/a/", "entries": [{"name", "type", "size",
/// "modified" (seconds since the epoch, negative before 1970; any year),
/// "href"}]}`.
pub fn json(url: &UrlPath, entries: &[Entry]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let mut href: String = utf8_percent_encode(&e.name, SEGMENT).collect();
            if e.is_dir {
                href.push('/');
            }
            serde_json::json!({
                "name": e.name,
                "type": if e.is_dir { "dir" } else { "file" },
                "size": e.len,
                "modified": e.modified.map(unix_seconds),
                "href": href,
            })
        })
        .collect();
    let doc = serde_json::json!({ "path": url_display(url), "entries": list });
    let mut out = serde_json::to_vec_pretty(&doc).expect("JSON values always serialise");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(segs: &[&str]) -> UrlPath {
        UrlPath {
            segments: segs.iter().map(|s| s.to_string()).collect(),
            trailing_slash: true,
        }
    }

    #[test]
    fn escaping_and_sizes() {
        assert_eq!(
            escape_html("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (3 << 20, "3.0 MiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_size(n), want);
        }
    }

    #[test]
    fn awkward_names_are_escaped_and_encoded() {
        let entries = vec![
            Entry {
                name: "sub dir".into(),
                is_dir: true,
                len: 0,
                modified: None,
            },
            Entry {
                name: "a #%?\"<é>.txt".into(),
                is_dir: false,
                len: 5,
                modified: None,
            },
        ];
        let page = String::from_utf8(html(&url(&["x y"]), &entries)).unwrap();
        assert!(
            page.contains("href=\"./sub%20dir/\">sub dir/</a>"),
            "{page}"
        );
        assert!(
            page.contains(
                "href=\"./a%20%23%25%3F%22%3C%C3%A9%3E.txt\">a #%?&quot;&lt;é&gt;.txt</a>"
            ),
            "{page}"
        );
        assert!(page.contains("<a href=\"/x%20y/\">x y/</a>"), "{page}");
        let j: serde_json::Value = serde_json::from_slice(&json(&url(&[]), &entries)).unwrap();
        assert_eq!(j["entries"][1]["name"], "a #%?\"<é>.txt");
        assert_eq!(j["entries"][0]["type"], "dir");
        assert_eq!(j["entries"][1]["size"], 5);
    }

    #[test]
    fn entity_like_names_survive_the_href() {
        // A browser decodes `&amp;` inside an attribute; the href must be
        // escaped so that the decoded link names the file again.
        let entries = vec![Entry {
            name: "a&b <i>c&amp;.txt".into(),
            is_dir: false,
            len: 1,
            modified: None,
        }];
        let page = String::from_utf8(html(&url(&["d&amp;"]), &entries)).unwrap();
        assert!(
            page.contains("href=\"./a&amp;b%20%3Ci%3Ec&amp;amp;.txt\""),
            "{page}"
        );
        assert!(page.contains("<a href=\"/d&amp;amp;/\">"), "{page}");
    }

    #[test]
    fn entries_sorted_dirs_first_and_hidden_filtered() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.txt"), "b").unwrap();
        std::fs::write(d.path().join(".secret"), "s").unwrap();
        std::fs::create_dir(d.path().join("z")).unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let names = |hidden| -> Vec<String> {
            let dir = root.open_file(Path::new(".")).unwrap();
            read_entries(&root, &dir, Path::new("."), hidden)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(false), vec!["z", "b.txt"]);
        assert_eq!(names(true), vec![".git", "z", ".secret", "b.txt"]);
    }

    /// The folder is swapped (RENAME_EXCHANGE) for a symlink out of the
    /// root after it was opened safely and before it is listed: the listing
    /// still shows the folder that was opened. Reading by name, as before,
    /// listed the outside folder.
    #[test]
    fn listing_reads_the_opened_folder_not_its_name() {
        let top = tempfile::tempdir().unwrap();
        let (root_dir, out) = (top.path().join("root"), top.path().join("out"));
        std::fs::create_dir_all(root_dir.join("pub")).unwrap();
        std::fs::create_dir(&out).unwrap();
        std::fs::write(root_dir.join("pub/mine.txt"), "m").unwrap();
        std::fs::write(out.join("outside-secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(&out, root_dir.join("swap")).unwrap();
        let root = Root::open(&root_dir, false).unwrap();
        let dir = root.open_file(Path::new("pub")).unwrap();
        let cwd = rustix::fs::CWD;
        rustix::fs::renameat_with(
            cwd,
            root_dir.join("pub"),
            cwd,
            root_dir.join("swap"),
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .unwrap();
        assert!(std::fs::symlink_metadata(root_dir.join("pub"))
            .unwrap()
            .is_symlink());
        let names: Vec<String> = read_entries(&root, &dir, Path::new("pub"), false)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, vec!["mine.txt"]);
        // And a fresh open now refuses the swapped-in symlink.
        let e = root.open_file(Path::new("pub")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn times_on_both_sides_of_the_epoch() {
        let t = |s: i64, n: i64| system_time(s, n);
        assert_eq!(t(0, 0), Some(UNIX_EPOCH));
        assert_eq!(t(-1, 500_000_000).map(unix_seconds), Some(-1));
        assert_eq!(t(-315_619_200, 0).map(unix_seconds), Some(-315_619_200));
        assert_eq!(
            t(253_402_387_200, 0).map(unix_seconds),
            Some(253_402_387_200)
        );
        assert_eq!(t(5, 1_000_000_000), None);
        assert_eq!(t(5, -1), None);
        // Out of SystemTime's range: None, not a panic.
        let _ = t(i64::MIN, 999_999_999);
        let _ = t(i64::MAX, 999_999_999);
        // Dates an HTTP-date cannot carry are left blank in HTML; JSON has
        // the signed seconds.
        let entries: Vec<Entry> = [(-315_619_200, "old"), (253_402_387_200, "far")]
            .into_iter()
            .map(|(secs, name)| Entry {
                name: name.into(),
                is_dir: false,
                len: 1,
                modified: system_time(secs, 0),
            })
            .collect();
        let page = String::from_utf8(html(&url(&[]), &entries)).unwrap();
        assert!(
            page.contains(">old</a></td><td class=\"n\" title=\"1 bytes\">1 B</td><td></td>"),
            "{page}"
        );
        let j: serde_json::Value = serde_json::from_slice(&json(&url(&[]), &entries)).unwrap();
        assert_eq!(j["entries"][0]["modified"], -315_619_200);
        assert_eq!(j["entries"][1]["modified"], 253_402_387_200u64);
    }
}

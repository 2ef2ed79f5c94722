//! Directory listings: reading a folder's entries (with the dotfile and
//! symlink policy), ordering them (`?sort=name|size|time&order=asc|desc`,
//! folders first), and rendering them as HTML (breadcrumbs, counts, sizes,
//! UTC dates, sortable column heads, a filter box that only a running
//! script reveals) or JSON. Names are HTML-escaped and links
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

use super::page::{self, Utc};
use super::path::{Root, UrlPath, SEGMENT};

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

/// What a listing is ordered by; folders always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Size,
    Modified,
}

impl SortKey {
    fn param(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Modified => "time",
        }
    }
}

/// A listing's order: `?sort=name|size|time&order=asc|desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// The order a query asks for. Unknown parameters and values fall back
    /// to the default (by name, ascending): a listing never fails on them.
    pub fn from_query(query: Option<&str>) -> Sort {
        let mut sort = Sort::default();
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("sort", "name") => sort.key = SortKey::Name,
                ("sort", "size") => sort.key = SortKey::Size,
                ("sort", "time" | "modified" | "mtime" | "date") => sort.key = SortKey::Modified,
                ("order", "asc") => sort.descending = false,
                ("order", "desc") => sort.descending = true,
                _ => {}
            }
        }
        sort
    }

    /// The link of a column head: this column's other order if it is the
    /// current one, else its natural first order (names A to Z, the
    /// largest and the newest first).
    fn link_for(self, key: SortKey) -> Sort {
        let descending = if key == self.key {
            !self.descending
        } else {
            key != SortKey::Name
        };
        Sort { key, descending }
    }
}

/// Orders `entries` by `sort`, folders first; ties by name. Entries
/// without a modification time count as the oldest.
pub fn sort(entries: &mut [Entry], sort: Sort) {
    entries.sort_by(|a, b| {
        let by_key = match sort.key {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Size => a.len.cmp(&b.len),
            SortKey::Modified => a.modified.cmp(&b.modified),
        };
        let by_key = if sort.descending {
            by_key.reverse()
        } else {
            by_key
        };
        b.is_dir
            .cmp(&a.is_dir)
            .then(by_key)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Filters the rows as the box is typed in. The box is `hidden` until this
/// runs, so without scripts the page simply has no box.
const FILTER_SCRIPT: &str = concat!(
    "<script>(function(){var f=document.getElementById('filter');f.hidden=false;",
    "var rows=document.querySelectorAll('tbody tr:not(.up)');",
    "f.addEventListener('input',function(){var q=f.value.toLowerCase();",
    "rows.forEach(function(r){r.hidden=q!==''&&",
    "r.cells[0].textContent.toLowerCase().indexOf(q)<0;});});})();</script>\n"
);

/// The folder as an archive (`file_server::archive`), in the summary line.
const DOWNLOADS: &str = concat!(
    " &middot; download as <a href=\"?download=tar\">.tar</a> ",
    "<a href=\"?download=tar.gz\">.tar.gz</a> <a href=\"?download=zip\">.zip</a>"
);

/// The HTML listing of the folder at `url`, its `entries` already in
/// `sort`'s order.
pub fn html(url: &UrlPath, entries: &[Entry], sort: Sort) -> Vec<u8> {
    let title = escape_html(&url_display(url));
    let mut s = String::with_capacity(2048 + entries.len() * 200);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(&format!("<title>Index of {title}</title>\n"));
    s.push_str(&format!(
        "<style>{}{}</style>\n</head>\n<body>\n",
        page::STYLE,
        page::LISTING_STYLE
    ));
    s.push_str("<nav>Index of ");
    breadcrumbs(url, &mut s);
    s.push_str("</nav>\n<p class=\"sum\"><span>");
    s.push_str(&summary(entries));
    s.push_str(DOWNLOADS);
    s.push_str(concat!(
        "</span><input id=\"filter\" type=\"search\" placeholder=\"Filter names\" ",
        "aria-label=\"Filter names\" hidden></p>\n<table>\n<thead><tr>"
    ));
    for (key, label, class) in [
        (SortKey::Name, "Name", ""),
        (SortKey::Size, "Size", " class=\"n\""),
        (SortKey::Modified, "Modified (UTC)", ""),
    ] {
        let to = sort.link_for(key);
        let order = if to.descending { "desc" } else { "asc" };
        let arrow = match (sort.key == key, sort.descending) {
            (false, _) => "",
            (true, false) => " \u{25b2}",
            (true, true) => " \u{25bc}",
        };
        s.push_str(&format!(
            "<th{class}><a href=\"?sort={}&amp;order={order}\">{label}{arrow}</a></th>",
            key.param()
        ));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    if !url.segments.is_empty() {
        s.push_str("<tr class=\"up\"><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        row(e, &mut s);
    }
    s.push_str("</tbody>\n</table>\n");
    s.push_str(FILTER_SCRIPT);
    s.push_str("</body>\n</html>\n");
    s.into_bytes()
}

/// One entry's row: the escaped link, the size and the date.
fn row(e: &Entry, s: &mut String) {
    // Percent-encoding leaves `&` and `;` alone, so the href must also be
    // HTML-escaped or `a&amp;b` would reach the server as `a&b`.
    let href = escape_html(&utf8_percent_encode(&e.name, SEGMENT).to_string());
    let name = escape_html(&e.name);
    let (slash, size) = if e.is_dir {
        ("/", "-".to_string())
    } else {
        ("", human_size(e.len))
    };
    // Blank when the year has more than four digits (or the clock none).
    let when = e
        .modified
        .and_then(|t| Utc::from_unix(unix_seconds(t)))
        .map(|u| {
            format!(
                "<time datetime=\"{}\" title=\"{}\">{}</time>",
                u.rfc3339(),
                u.long(),
                u.short()
            )
        })
        .unwrap_or_default();
    s.push_str(&format!(
        "<tr><td><a href=\"./{href}{slash}\">{name}{slash}</a></td><td class=\"n\" title=\"{} bytes\">{size}</td><td>{when}</td></tr>\n",
        e.len
    ));
}

/// `2 folders, 3 files, 12.4 KiB in total`.
fn summary(entries: &[Entry]) -> String {
    let folders = entries.iter().filter(|e| e.is_dir).count();
    let files = entries.len() - folders;
    let total: u64 = entries.iter().filter(|e| !e.is_dir).map(|e| e.len).sum();
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, <span title=\"{total} bytes\">{}</span> in total",
        plural(folders, "folder"),
        plural(files, "file"),
        human_size(total)
    )
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
/// "modified_rfc3339" (`2026-11-29T22:27:13Z`, null outside years 0 to
/// 9999), "href"}]}`.
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
                "modified_rfc3339": e.modified
                    .and_then(|t| Utc::from_unix(unix_seconds(t)))
                    .map(|u| u.rfc3339()),
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

    fn html_default(url: &UrlPath, entries: &[Entry]) -> Vec<u8> {
        html(url, entries, Sort::default())
    }

    fn url(segs: &[&str]) -> UrlPath {
        UrlPath {
            segments: segs.iter().map(|s| s.to_string()).collect(),
            trailing_slash: true,
        }
    }

    fn entry(name: &str, is_dir: bool, len: u64, secs: i64) -> Entry {
        Entry {
            name: name.into(),
            is_dir,
            len,
            modified: system_time(secs, 0),
        }
    }

    #[test]
    fn sorts_by_name_size_or_time_folders_first() {
        let entries = [
            entry("b.txt", false, 300, 20),
            entry("a.txt", false, 100, 30),
            entry("c.txt", false, 200, 10),
            entry("zdir", true, 0, 5),
            entry("adir", true, 0, 40),
        ];
        let cases = [
            (None, "adir zdir a.txt b.txt c.txt"),
            (Some("sort=name&order=desc"), "zdir adir c.txt b.txt a.txt"),
            (Some("sort=size"), "adir zdir a.txt c.txt b.txt"),
            (Some("sort=size&order=desc"), "adir zdir b.txt c.txt a.txt"),
            (Some("order=desc&sort=time"), "adir zdir a.txt b.txt c.txt"),
            (Some("sort=time&order=asc"), "zdir adir c.txt b.txt a.txt"),
            // Bad values are the default, never an error.
            (
                Some("sort=<script>&order=sideways"),
                "adir zdir a.txt b.txt c.txt",
            ),
            (Some("sort&order=&&x=1"), "adir zdir a.txt b.txt c.txt"),
        ];
        for (query, want) in cases {
            let mut list = entries.to_vec();
            sort(&mut list, Sort::from_query(query));
            let got: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(got.join(" "), want, "{query:?}");
        }
    }

    #[test]
    fn column_heads_link_the_other_orders_and_counts_add_up() {
        let entries = [
            entry("d", true, 0, 0),
            entry("x", false, 1024, 0),
            entry("y", false, 512, 0),
        ];
        let page = |q| String::from_utf8(html(&url(&[]), &entries, Sort::from_query(q))).unwrap();
        let p = page(None);
        assert!(
            p.contains("<a href=\"?sort=name&amp;order=desc\">Name \u{25b2}</a>"),
            "{p}"
        );
        assert!(
            p.contains("<a href=\"?sort=size&amp;order=desc\">Size</a>"),
            "{p}"
        );
        assert!(
            p.contains("<a href=\"?sort=time&amp;order=desc\">Modified (UTC)</a>"),
            "{p}"
        );
        assert!(
            p.contains("1 folder, 2 files, <span title=\"1536 bytes\">1.5 KiB</span> in total"),
            "{p}"
        );
        let p = page(Some("sort=size&order=desc"));
        assert!(
            p.contains("<a href=\"?sort=size&amp;order=asc\">Size \u{25bc}</a>"),
            "{p}"
        );
        assert!(
            p.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"),
            "{p}"
        );
        // The filter box is hidden until the script reveals it.
        assert!(p.contains("id=\"filter\" type=\"search\""), "{p}");
        assert!(p.contains("aria-label=\"Filter names\" hidden>"), "{p}");
        let empty = String::from_utf8(html_default(&url(&["e"]), &[])).unwrap();
        assert!(
            empty.contains("0 folders, 0 files, <span title=\"0 bytes\">0 B</span>"),
            "{empty}"
        );
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
        let page = String::from_utf8(html_default(&url(&["x y"]), &entries)).unwrap();
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
        let page = String::from_utf8(html_default(&url(&["d&amp;"]), &entries)).unwrap();
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
        // 1960 is shown; a five-digit year is left blank in HTML. JSON has
        // the signed seconds, and RFC 3339 where the year has four digits.
        let entries: Vec<Entry> = [(-315_619_200, "old"), (253_402_387_200, "far")]
            .into_iter()
            .map(|(secs, name)| Entry {
                name: name.into(),
                is_dir: false,
                len: 1,
                modified: system_time(secs, 0),
            })
            .collect();
        let page = String::from_utf8(html_default(&url(&[]), &entries)).unwrap();
        assert!(
            page.contains(concat!(
                ">old</a></td><td class=\"n\" title=\"1 bytes\">1 B</td><td><time ",
                "datetime=\"1960-01-01T00:00:00Z\" title=\"1960-01-01 00:00:00 UTC\">1960-01-01 00:00</time></td>"
            )),
            "{page}"
        );
        assert!(
            page.contains(">far</a></td><td class=\"n\" title=\"1 bytes\">1 B</td><td></td>"),
            "{page}"
        );
        let j: serde_json::Value = serde_json::from_slice(&json(&url(&[]), &entries)).unwrap();
        assert_eq!(j["entries"][0]["modified"], -315_619_200);
        assert_eq!(j["entries"][0]["modified_rfc3339"], "1960-01-01T00:00:00Z");
        assert_eq!(j["entries"][1]["modified"], 253_402_387_200u64);
        assert_eq!(j["entries"][1]["modified_rfc3339"], serde_json::Value::Null);
    }
}

//! Directory listings: reading a folder's entries (with the dotfile and
//! symlink policy), and rendering them as HTML (breadcrumbs, folders first,
//! sizes and dates) or JSON. Names are HTML-escaped and links
//! percent-encoded, so spaces, `#`, `%`, `?`, quotes and unicode all work.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::utf8_percent_encode;

use super::path::{Root, UrlPath, SEGMENT};

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// Reads the entries of `dir`, sorted folders first then by name. Dotfiles
/// are left out unless `hidden`; names that are not UTF-8 cannot be asked
/// for by URL, and symlinks out of the root could not be opened, so both
/// are left out too.
pub fn read_entries(root: &Root, dir: &Path, hidden: bool) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && !hidden {
            continue;
        }
        let path = item.path();
        let is_link = item.file_type().is_ok_and(|t| t.is_symlink());
        if is_link && !root.follows_symlinks() {
            match path.canonicalize() {
                Ok(real) if root.contains(&real) => {}
                _ => continue,
            }
        }
        let Ok(meta) = fs::metadata(&path) else {
            continue; // dangling symlink, or gone since read_dir
        };
        out.push(Entry {
            name,
            is_dir: meta.is_dir(),
            len: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().ok(),
        });
    }
    out.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
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
        let when = e.modified.map(httpdate::fmt_http_date).unwrap_or_default();
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
/// "modified" (seconds since the epoch), "href"}]}`.
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
                "modified": e.modified
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
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
        fs::write(d.path().join("b.txt"), "b").unwrap();
        fs::write(d.path().join(".secret"), "s").unwrap();
        fs::create_dir(d.path().join("z")).unwrap();
        fs::create_dir(d.path().join(".git")).unwrap();
        let root = Root::open(d.path(), false).unwrap();
        let names = |hidden| -> Vec<String> {
            read_entries(&root, &root.dir, hidden)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(false), vec!["z", "b.txt"]);
        assert_eq!(names(true), vec![".git", "z", ".secret", "b.txt"]);
    }
}

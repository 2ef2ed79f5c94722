//! `--mirror`'s memory of an earlier run: one file per output folder,
//! `DIR/.wirecat-mirror`, a line per saved URL: `URL`, `PATH` (relative to
//! the folder), content type and ETag, separated by tabs (`-` when absent).
//! The next run asks for each with `If-None-Match` (the ETag) and
//! `If-Modified-Since` (the file's mtime); a 304 leaves the file as it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What an earlier run saved for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

#[derive(Debug, Default)]
pub struct Index {
    entries: HashMap<String, Entry>,
}

pub const NAME: &str = ".wirecat-mirror";

impl Index {
    /// The index in `dir`, empty when there is none (or it is unreadable).
    pub fn load(dir: &Path) -> Index {
        let text = std::fs::read_to_string(dir.join(NAME)).unwrap_or_default();
        Index::parse(&text)
    }

    fn parse(text: &str) -> Index {
        let field = |s: &str| (s != "-").then(|| s.to_string());
        let entries = text
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\t');
                let (url, path) = (f.next()?, f.next()?);
                let entry = Entry {
                    path: PathBuf::from(path),
                    content_type: f.next().and_then(field),
                    etag: f.next().and_then(field),
                };
                Some((url.to_string(), entry))
            })
            .collect();
        Index { entries }
    }

    pub fn get(&self, url: &str) -> Option<&Entry> {
        self.entries.get(url)
    }

    pub fn set(&mut self, url: &str, entry: Entry) {
        self.entries.insert(url.to_string(), entry);
    }

    fn text(&self) -> String {
        let mut lines: Vec<String> = self
            .entries
            .iter()
            .filter(|(url, e)| clean(url) && e.path.to_str().is_some_and(clean))
            .map(|(url, e)| {
                let field = |v: &Option<String>| match v {
                    Some(s) if clean(s) && !s.is_empty() => s.clone(),
                    _ => "-".to_string(),
                };
                format!(
                    "{url}\t{}\t{}\t{}\n",
                    e.path.display(),
                    field(&e.content_type),
                    field(&e.etag)
                )
            })
            .collect();
        lines.sort();
        lines.concat()
    }

    /// Writes the index atomically into `dir`.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut temp, self.text().as_bytes())?;
        temp.persist(dir.join(NAME))
            .map(|_| ())
            .map_err(|e| e.error)
    }
}

/// Fits in a tab-separated line.
fn clean(s: &str) -> bool {
    !s.contains(['\t', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut index = Index::default();
        let entry = Entry {
            path: "h_80/a.html".into(),
            content_type: Some("text/html".into()),
            etag: Some("\"e1\"".into()),
        };
        index.set("http://h/a", entry.clone());
        let bare = Entry {
            path: "h_80/b".into(),
            content_type: None,
            etag: None,
        };
        index.set("http://h/b", bare.clone());
        index.set("http://h/bad\tline", bare.clone());
        let again = Index::parse(&index.text());
        assert_eq!(again.get("http://h/a"), Some(&entry));
        assert_eq!(again.get("http://h/b"), Some(&bare));
        assert_eq!(again.entries.len(), 2);
    }
}

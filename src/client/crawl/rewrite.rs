//! The pass after every download: each saved HTML and CSS file is
//! rewritten so that what was saved is linked by a relative path and
//! everything else by its absolute URL, and written back atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use url::Url;

use super::scope::fetchable;
use crate::error::{Error, Result};
use crate::page::Documents;

/// One file the crawl saved.
#[derive(Debug, Clone)]
pub struct SavedFile {
    /// Where its body came from (after redirects).
    pub url: Url,
    /// Relative to the output folder.
    pub path: PathBuf,
    pub content_type: Option<String>,
    /// Left as an earlier run saved (and rewrote) it: a 304.
    pub unchanged: bool,
}

/// Rewrites every saved document in `out_dir`; `links` maps each saved
/// URL (without fragment) to its path relative to `out_dir`.
pub fn rewrite_all(
    docs: &dyn Documents,
    out_dir: &Path,
    files: &[SavedFile],
    links: &HashMap<String, PathBuf>,
) -> Result<()> {
    // Two URLs can be saved as one file (`/` and `/index.html`): the file
    // is rewritten once, or the second pass would read the first's
    // relative links as links to pages that were never saved.
    let mut done = std::collections::HashSet::new();
    for file in files.iter().filter(|f| !f.unchanged) {
        if !done.insert(&file.path) {
            continue;
        }
        let full = out_dir.join(&file.path);
        let body = std::fs::read(&full).map_err(|e| Error::file(&full, e))?;
        let mut map = |u: &Url| {
            let key = fetchable(u)?;
            let to = links.get(key.as_str())?;
            Some(docs.relative_link(&file.path, to))
        };
        let ct = file.content_type.as_deref();
        let Some(new) = docs.rewrite(&file.url, ct, &body, &mut map) else {
            continue;
        };
        if new != body {
            write_atomically(&full, &new)?;
        }
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Error::file(path, e);
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    // The rewritten file keeps the permissions the download gave it.
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = temp.as_file().set_permissions(meta.permissions());
    }
    std::io::Write::write_all(&mut temp, bytes).map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

//! An upload's target, looked at before a byte is written: the path's
//! segments checked (dotfiles, safe names), the folder opened with the
//! safe resolver (or made, `--mkdir`), what the name holds now, and the
//! decision of [`super::plan`] carried out up to the temporary file.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode};
use rustix::io::Errno;

use super::plan::{self, Decision, Existing, Facts, Folder};
use super::sink::TempFile;
use crate::file_server::path::{Root, UrlPath};
use crate::file_server::reply::Validators;
use crate::file_server::site::Site;

/// What the client asked, besides the target.
pub struct Asks<'a> {
    pub length: Option<u64>,
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// Decides an upload to `target` and, if it may go ahead, makes the
/// folders (`--mkdir`) and the temporary file; with whether it replaces.
pub fn prepare(
    site: &Site,
    opts: &plan::Options,
    target: Target,
    asks: &Asks<'_>,
) -> Result<(Target, TempFile, bool), u16> {
    let facts = Facts {
        length: asks.length,
        folder: target.folder,
        existing: match (target.existing_other, target.existing_tag.as_deref()) {
            (true, _) => Existing::Other,
            (false, Some(t)) => Existing::File(t),
            (false, None) => Existing::Nothing,
        },
        if_match: asks.if_match,
        if_none_match: asks.if_none_match,
    };
    let replace = match plan::decide(opts, &facts) {
        Decision::Refuse(status) => return Err(status),
        Decision::Create { mkdir: true } => {
            make_folders(&site.root, &target.url.segments).map_err(|e| status_of(&e, 409))?;
            false
        }
        Decision::Create { mkdir: false } => false,
        Decision::Replace => true,
    };
    let folder = open_folder(&site.root, &target.url.segments).map_err(|e| status_of(&e, 409))?;
    let temp = TempFile::create(folder).map_err(|e| status_of(&e, 500))?;
    Ok((target, temp, replace))
}

/// The target of an upload, looked at.
pub struct Target {
    pub url: UrlPath,
    pub name: String,
    folder: Folder,
    existing_tag: Option<String>,
    existing_other: bool,
}

/// Cleans and checks the target, and looks at its folder and name.
/// `Err(status)` for a target no file may be written at.
pub fn inspect(site: &Site, url: UrlPath) -> Result<Target, u16> {
    if url.trailing_slash || url.segments.is_empty() {
        // A folder is not replaced by a file.
        return Err(405);
    }
    if url.is_hidden() && !site.hidden {
        return Err(404);
    }
    if !url
        .segments
        .iter()
        .all(|s| plan::is_safe_name(s, site.hidden))
    {
        return Err(400);
    }
    let name = url.segments.last().cloned().unwrap_or_default();
    let (folder, existing) = match open_folder(&site.root, &url.segments) {
        Ok(fd) => (Folder::Exists, existing(&fd, &name)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Folder::Missing, Ok(None)),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => (Folder::NotFolder, Ok(None)),
        Err(e) => return Err(status_of(&e, 500)),
    };
    let (existing_tag, existing_other) = match existing {
        Ok(tag) => (tag, false),
        Err(()) => (None, true),
    };
    Ok(Target {
        url,
        name,
        folder,
        existing_tag,
        existing_other,
    })
}

/// The folder the last segment goes in, opened beneath the root.
pub fn open_folder(root: &Root, segments: &[String]) -> io::Result<OwnedFd> {
    let parent: PathBuf = segments[..segments.len().saturating_sub(1)]
        .iter()
        .collect();
    if parent.as_os_str().is_empty() {
        return root.open_dir(Path::new("."));
    }
    root.open_dir(&parent)
}

/// What `name` in `dir` is now: `Ok(None)` nothing, `Ok(Some(etag))` a
/// regular file, `Err(())` anything else (never followed: a symlink too).
fn existing(dir: &OwnedFd, name: &str) -> Result<Option<String>, ()> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
            let mtime = std::time::UNIX_EPOCH
                .checked_add(std::time::Duration::new(
                    st.st_mtime as u64,
                    st.st_mtime_nsec as u32,
                ))
                .filter(|_| st.st_mtime >= 0);
            Ok(Some(Validators::new(st.st_size as u64, mtime).etag))
        }
        Err(Errno::NOENT) => Ok(None),
        _ => Err(()),
    }
}

/// `--mkdir`: creates the missing folders on the way to the last
/// segment, each with mkdirat in its parent opened by the resolver.
fn make_folders(root: &Root, segments: &[String]) -> io::Result<()> {
    let folders = &segments[..segments.len().saturating_sub(1)];
    let mut fd = root.open_dir(Path::new("."))?;
    for i in 0..folders.len() {
        let rel: PathBuf = folders[..=i].iter().collect();
        fd = match root.open_dir(&rel) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match rustix::fs::mkdirat(&fd, folders[i].as_str(), Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                root.open_dir(&rel)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(())
}

/// The status for a file system error: `missing` for a folder that is
/// not there (or not reachable beneath the root).
pub fn status_of(e: &io::Error, missing: u16) -> u16 {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::NOSPC) | Some(Errno::DQUOT) => 507,
        Some(Errno::ACCESS) | Some(Errno::PERM) | Some(Errno::ROFS) => 403,
        Some(Errno::NOENT) | Some(Errno::NOTDIR) | Some(Errno::LOOP) => missing,
        _ if e.kind() == io::ErrorKind::NotFound => missing,
        _ => 500,
    }
}

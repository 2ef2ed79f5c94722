//! What an upload gets, decided before a byte of its body is read: pure,
//! table-tested. The session and the sink only carry the decision out.
//!
//! The order follows RFC 9110: a body too large is refused first (413,
//! section 15.5.14, so no folder is made for it), then the folder (409 if
//! it is missing and `--mkdir` is off), then the preconditions (section
//! 13.2.2: they are evaluated before the method's own semantics, 412),
//! then the no-clobber rule (409 unless `--overwrite`).

/// `serve --upload`'s options, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--max-upload`: the largest body accepted, in bytes.
    pub max: u64,
    /// `--overwrite`: an existing file may be replaced.
    pub overwrite: bool,
    /// `--mkdir`: missing folders on the way are created.
    pub mkdir: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max: 1 << 30,
            overwrite: false,
            mkdir: false,
        }
    }
}

/// What the target's folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    Exists,
    /// Missing, or not reachable beneath the root (a symlink out of it).
    Missing,
    /// Something on the way is a file.
    NotFolder,
}

/// What the target name holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing<'a> {
    Nothing,
    /// A regular file, with its strong entity tag.
    File(&'a str),
    /// A folder, a symlink or anything else that is not replaced.
    Other,
}

/// What is known of one upload before its body is read.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The declared Content-Length; `None` for a chunked body.
    pub length: Option<u64>,
    pub folder: Folder,
    pub existing: Existing<'a>,
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer with this status; write nothing.
    Refuse(u16),
    /// A new file (201); `mkdir`: make the missing folders first.
    Create { mkdir: bool },
    /// Replace the file there now (204).
    Replace,
}

/// Decides one upload.
pub fn decide(opts: &Options, f: &Facts<'_>) -> Decision {
    if f.length.is_some_and(|n| n > opts.max) {
        return Decision::Refuse(413);
    }
    let mkdir = match f.folder {
        Folder::Exists => false,
        Folder::Missing if opts.mkdir => true,
        Folder::Missing | Folder::NotFolder => return Decision::Refuse(409),
    };
    let current = match f.existing {
        Existing::File(tag) => Some(tag),
        Existing::Nothing => None,
        Existing::Other => return Decision::Refuse(409),
    };
    // RFC 9110 section 13.1.1: If-Match is false when there is no current
    // representation, or no listed tag matches strongly.
    if let Some(want) = f.if_match {
        if !current.is_some_and(|tag| list_matches(want, tag, true)) {
            return Decision::Refuse(412);
        }
    }
    // Section 13.1.2: If-None-Match is false when a listed tag matches
    // weakly, or for `*` when there is a representation; for methods
    // other than GET and HEAD that is a 412.
    if let Some(want) = f.if_none_match {
        if current.is_some_and(|tag| list_matches(want, tag, false)) {
            return Decision::Refuse(412);
        }
    }
    match current {
        None => Decision::Create { mkdir },
        Some(_) if opts.overwrite => Decision::Replace,
        Some(_) => Decision::Refuse(409),
    }
}

/// Does the If-Match / If-None-Match list `value` match `tag` (`*`
/// matches any)? `strong`: weak tags never match (section 8.8.3.2).
fn list_matches(value: &str, tag: &str, strong: bool) -> bool {
    let value = value.trim();
    if value == "*" {
        return true;
    }
    value.split(',').map(str::trim).any(|t| {
        let weak = t.starts_with("W/");
        let opaque = t.trim_start_matches("W/");
        !(strong && weak) && opaque == tag.trim_start_matches("W/")
    })
}

/// Is `name` a plain name a file may be created under: not empty, no
/// separator, no control character, not `.` or `..`, and no leading dot
/// unless `hidden`? (The path cleaner has already split at `/` and `\`.)
pub fn is_safe_name(name: &str, hidden: bool) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && (hidden || !name.starts_with('.'))
        && name.len() <= 255
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"5f.0-3\"";

    /// Options, length, folder, existing, If-Match, If-None-Match, want.
    type Case<'a> = (
        &'a Options,
        Option<u64>,
        Folder,
        Existing<'a>,
        Option<&'a str>,
        Option<&'a str>,
        Decision,
    );

    fn facts<'a>(folder: Folder, existing: Existing<'a>) -> Facts<'a> {
        Facts {
            length: Some(10),
            folder,
            existing,
            if_match: None,
            if_none_match: None,
        }
    }

    #[test]
    fn decisions() {
        use Decision::*;
        use Existing::{File, Nothing, Other};
        use Folder::*;
        let off = Options::default();
        let on = Options {
            overwrite: true,
            mkdir: true,
            ..Options::default()
        };
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // length, folder, existing, If-Match, If-None-Match
            (&off, Some(10), Exists, Nothing, None, None, Create { mkdir: false }),
            (&off, None, Exists, Nothing, None, None, Create { mkdir: false }),
            (&off, Some(1 << 30), Exists, Nothing, None, None, Create { mkdir: false }),
            (&off, Some((1 << 30) + 1), Exists, Nothing, None, None, Refuse(413)),
            (&off, Some((1 << 30) + 1), Missing, Nothing, None, None, Refuse(413)),
            (&off, Some(10), Missing, Nothing, None, None, Refuse(409)),
            (&on, Some(10), Missing, Nothing, None, None, Create { mkdir: true }),
            (&on, Some(10), NotFolder, Nothing, None, None, Refuse(409)),
            (&off, Some(10), Exists, File(TAG), None, None, Refuse(409)),
            (&on, Some(10), Exists, File(TAG), None, None, Replace),
            (&on, Some(10), Exists, Other, None, None, Refuse(409)),
            // If-None-Match: * creates only.
            (&on, Some(10), Exists, Nothing, None, Some("*"), Create { mkdir: false }),
            (&on, Some(10), Exists, File(TAG), None, Some("*"), Refuse(412)),
            (&on, Some(10), Exists, File(TAG), None, Some("\"other\""), Replace),
            (&on, Some(10), Exists, File(TAG), None, Some("W/\"5f.0-3\""), Refuse(412)),
            // If-Match replaces only that version.
            (&on, Some(10), Exists, File(TAG), Some(TAG), None, Replace),
            (&on, Some(10), Exists, File(TAG), Some("\"a\", \"5f.0-3\""), None, Replace),
            (&on, Some(10), Exists, File(TAG), Some("*"), None, Replace),
            (&on, Some(10), Exists, File(TAG), Some("\"other\""), None, Refuse(412)),
            (&on, Some(10), Exists, File(TAG), Some("W/\"5f.0-3\""), None, Refuse(412)),
            (&on, Some(10), Exists, Nothing, Some("*"), None, Refuse(412)),
            (&on, Some(10), Missing, Nothing, Some(TAG), None, Refuse(412)),
            // Preconditions come before the no-clobber rule.
            (&off, Some(10), Exists, File(TAG), Some(TAG), None, Refuse(409)),
            (&off, Some(10), Exists, File(TAG), Some("\"x\""), None, Refuse(412)),
        ];
        for (i, (opts, length, folder, existing, im, inm, want)) in cases.iter().enumerate() {
            let f = Facts {
                length: *length,
                if_match: *im,
                if_none_match: *inm,
                ..facts(*folder, existing.clone())
            };
            assert_eq!(decide(opts, &f), *want, "case {i}: {f:?}");
        }
    }

    #[test]
    fn safe_names() {
        let cases = [
            ("a.txt", false, true),
            ("with space & ü.bin", false, true),
            ("", false, false),
            (".", true, false),
            ("..", true, false),
            (".env", false, false),
            (".env", true, true),
            ("a\nb", false, false),
            ("a\0b", false, false),
            ("a\u{7f}", false, false),
            ("a\\b", false, false),
            ("a/b", false, false),
        ];
        for (name, hidden, want) in cases {
            assert_eq!(is_safe_name(name, hidden), want, "{name:?} {hidden}");
        }
        assert!(!is_safe_name(&"x".repeat(256), false));
    }
}

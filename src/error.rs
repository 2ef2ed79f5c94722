//! The crate's error type and its exit-code policy: every failure a person
//! can meet maps to one line of text and one documented exit code, here and
//! nowhere else.

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Bad flags, a malformed or unsupported URL.
    Usage(String),
    /// The host name did not resolve.
    Resolve { host: String, source: io::Error },
    /// No address accepted the connection, or a listener could not be bound.
    Connect(String),
    /// A connect, reply or overall deadline passed.
    Timeout(String),
    /// The peer broke HTTP (bad head, bad framing, truncated body).
    Protocol(String),
    /// The final status was 4xx or 5xx (`fetch` without `--save-errors`).
    /// `reason`: the reason phrase as sent, escaped for a terminal.
    HttpStatus {
        status: u16,
        reason: String,
        url: String,
    },
    /// Reading or writing a local file failed.
    File { path: PathBuf, source: io::Error },
    /// The folder `serve` was given is missing, not a folder, or unreadable.
    Folder { path: PathBuf, source: io::Error },
    /// Too many redirects, a loop, or a redirect to a scheme we refuse.
    Redirect(String),
    /// TLS handshake or certificate verification failed.
    Tls(String),
    /// Ctrl-C or SIGTERM stopped the work.
    Interrupted,
    /// Ctrl-C or SIGTERM stopped downloads: what is left of them and how
    /// to go on, in a few words.
    Stopped(String),
    /// Several downloads ran and `failed` of `total` failed (each already reported).
    Some { failed: usize, total: usize },
    /// Any other I/O failure, with what we were doing.
    Io { context: String, source: io::Error },
}

impl Error {
    /// The process exit code for this error. Documented in `--help` and README.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Resolve { .. } => 3,
            Error::Connect(_) => 4,
            Error::Timeout(_) => 5,
            Error::Protocol(_) => 6,
            Error::HttpStatus { .. } => 7,
            Error::File { .. } => 8,
            Error::Redirect(_) => 9,
            Error::Tls(_) => 10,
            Error::Some { .. } => 11,
            Error::Folder { .. } => 12,
            Error::Io { .. } => 1,
            Error::Interrupted | Error::Stopped(_) => 130,
        }
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn file(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::File {
            path: path.into(),
            source,
        }
    }
}

/// The table printed at the end of `--help` and quoted in the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    other I/O error (e.g. cannot bind the listening port)
  2    usage error: bad flag, malformed or unsupported URL
  3    could not resolve the host
  4    could not connect
  5    timed out (connect, reply or overall deadline)
  6    protocol error: malformed response, bad framing, truncated body
  7    HTTP status 400 or above (fetch saves nothing unless --save-errors)
  8    local file error (cannot create, write or rename the output)
  9    too many redirects, a redirect loop, or a refused redirect
  10   TLS error (handshake, certificate)
  11   several URLs fetched and some failed
  12   serve: the folder does not exist, is not a folder, or cannot be read
  130  interrupted (Ctrl-C or SIGTERM)";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m)
            | Error::Connect(m)
            | Error::Timeout(m)
            | Error::Protocol(m)
            | Error::Redirect(m)
            | Error::Tls(m) => f.write_str(m),
            Error::Resolve { host, source } => write!(f, "could not resolve host {host}: {source}"),
            Error::HttpStatus {
                status,
                reason,
                url,
            } => match reason.is_empty() {
                true => write!(f, "{url} answered {status}"),
                false => write!(f, "{url} answered {status} {reason}"),
            },
            Error::File { path, source } => write!(f, "{}: {source}", shown(path)),
            Error::Folder { path, source } => {
                let why = match source.kind() {
                    io::ErrorKind::NotFound => "no such folder".to_string(),
                    io::ErrorKind::NotADirectory => "not a folder".to_string(),
                    _ => source.to_string(),
                };
                write!(f, "cannot serve {}: {why}", shown(path))
            }
            Error::Interrupted => f.write_str("interrupted"),
            Error::Stopped(what) => write!(f, "interrupted; {what}"),
            Error::Some { failed, total } => {
                write!(f, "{failed} of {total} downloads failed")
            }
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        let errs = [
            Error::Usage(String::new()),
            Error::Resolve {
                host: String::new(),
                source: io::ErrorKind::NotFound.into(),
            },
            Error::Connect(String::new()),
            Error::Timeout(String::new()),
            Error::Protocol(String::new()),
            Error::HttpStatus {
                status: 404,
                reason: String::new(),
                url: String::new(),
            },
            Error::file("x", io::ErrorKind::NotFound.into()),
            Error::Folder {
                path: "x".into(),
                source: io::ErrorKind::NotFound.into(),
            },
            Error::Redirect(String::new()),
            Error::Tls(String::new()),
            Error::Some {
                failed: 1,
                total: 2,
            },
            Error::io("x", io::ErrorKind::NotFound.into()),
            Error::Interrupted,
        ];
        let mut codes: Vec<i32> = errs.iter().map(Error::exit_code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errs.len());
        for c in codes {
            assert!(EXIT_CODES.contains(&format!("  {c} ")), "{c} undocumented");
        }
    }
}

/// A path as a person may safely see it on a terminal: control characters,
/// the bidirectional overrides that disguise extensions, and bytes that are
/// not UTF-8 become visible escapes, so a name cannot retitle the window or
/// move the cursor (an OSC sequence in a file name is enough for that).
pub fn shown(path: &Path) -> String {
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                c if (c as u32) < 0x80 && c.is_control() => out += &format!("\\x{:02x}", c as u32),
                c if c.is_control()
                    || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
                {
                    out += &format!("\\u{{{:x}}}", c as u32)
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out += &format!("\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod shown_tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn names_are_escaped_for_terminals() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain name.txt", "plain name.txt"),
            (
                b"\x1b]0;PWNED\x07report.pdf",
                "\\x1b]0;PWNED\\x07report.pdf",
            ),
            (b"bad\xffbyte", "bad\\xffbyte"),
            (
                "c1\u{85}x\u{202e}fdp.exe".as_bytes(),
                "c1\\u{85}x\\u{202e}fdp.exe",
            ),
            ("caf\u{e9}".as_bytes(), "caf\u{e9}"),
        ];
        for &(raw, want) in cases {
            assert_eq!(shown(Path::new(OsStr::from_bytes(raw))), want);
        }
    }
}

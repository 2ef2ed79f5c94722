//! Showing heads: the response head exactly as received (names in their
//! case and order, no reformatting), escaped when a terminal would
//! interpret control bytes, coloured on a terminal (status by class, names
//! in bold; never when piped or with `NO_COLOR`), byte for byte with `--raw`; the `> `/`< `
//! transcript of `-v`; the `--timing` breakdown. Everything writes into any
//! `impl Write`, so it is tested into a `Vec`.

use std::io::{self, Write};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::Header;

/// How a head is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Put before every line (`"> "`, `"< "` or nothing).
    pub prefix: &'static str,
    /// Show control characters and invalid UTF-8 as `\xNN` (for terminals).
    pub escape: bool,
    /// The exact bytes, CRLFs included; `prefix` and `escape` are ignored.
    pub raw: bool,
    /// ANSI colours: the status line by class, header names in bold.
    /// Only with `escape`, so the head's own bytes cannot add any.
    pub color: bool,
}

impl Style {
    pub const fn plain(escape: bool) -> Style {
        Style {
            prefix: "",
            escape,
            raw: false,
            color: false,
        }
    }

    pub const fn prefixed(prefix: &'static str, escape: bool) -> Style {
        Style {
            prefix,
            escape,
            raw: false,
            color: false,
        }
    }

    /// Coloured when `terminal` and the user did not set `NO_COLOR`
    /// (<https://no-color.org>: any non-empty value turns colour off).
    pub fn colored_if(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        Style {
            color: terminal && no_color.is_none_or(|v| v.is_empty()),
            ..self
        }
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";

/// The colour of a status line: 2xx green, 3xx cyan, 4xx yellow, 5xx red,
/// anything else (1xx, a request line) bold only.
fn status_color(line: &[u8]) -> &'static str {
    let code = line
        .strip_prefix(b"HTTP/")
        .and_then(|rest| rest.iter().position(|&b| b == b' ').map(|i| &rest[i + 1..]))
        .and_then(|rest| rest.first());
    match code {
        Some(b'2') => "\x1b[1;32m",
        Some(b'3') => "\x1b[1;36m",
        Some(b'4') => "\x1b[1;33m",
        Some(b'5') => "\x1b[1;31m",
        _ => BOLD,
    }
}

/// Writes a head (request or response, ending in its blank line) as `style` says.
pub fn write_head(w: &mut impl Write, head: &[u8], style: Style) -> io::Result<()> {
    if style.raw {
        return w.write_all(head);
    }
    let body = head.strip_suffix(b"\n").unwrap_or(head);
    let color = style.color && style.escape;
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        w.write_all(style.prefix.as_bytes())?;
        let text = |w: &mut dyn Write, bytes: &[u8]| -> io::Result<()> {
            if style.escape {
                write_escaped(w, bytes)
            } else {
                w.write_all(bytes)
            }
        };
        match line.iter().position(|&b| b == b':') {
            _ if !color || line.is_empty() => text(w, line)?,
            _ if i == 0 => {
                w.write_all(status_color(line).as_bytes())?;
                text(w, line)?;
                w.write_all(RESET.as_bytes())?;
            }
            Some(colon) => {
                w.write_all(BOLD.as_bytes())?;
                text(w, &line[..colon])?;
                w.write_all(RESET.as_bytes())?;
                text(w, &line[colon..])?;
            }
            None => text(w, line)?,
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// A request head with the credentials of `Authorization` and
/// `Proxy-Authorization` replaced by `***`, the scheme kept: Basic
/// credentials are the password in base64, and a transcript is often pasted
/// into a bug report. The bytes sent are unchanged.
pub fn hide_credentials(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    for line in head.split_inclusive(|&b| b == b'\n') {
        let secret = line.iter().position(|&b| b == b':').filter(|&colon| {
            let name = &line[..colon];
            name.eq_ignore_ascii_case(b"authorization")
                || name.eq_ignore_ascii_case(b"proxy-authorization")
        });
        let Some(colon) = secret else {
            out.extend_from_slice(line);
            continue;
        };
        let value = crate::http::trim(&line[colon + 1..]);
        let scheme = value
            .split(|&b| matches!(b, b' ' | b'\r' | b'\n'))
            .next()
            .unwrap_or_default();
        out.extend_from_slice(&line[..=colon]);
        out.push(b' ');
        out.extend_from_slice(scheme);
        out.extend_from_slice(b" ***\r\n");
    }
    out
}

/// Trailer fields of a chunked body, as `Name: value` lines.
pub fn write_trailers(w: &mut impl Write, trailers: &[Header], style: Style) -> io::Result<()> {
    let mut block = Vec::new();
    for t in trailers {
        block.extend_from_slice(t.name.as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(&t.value);
        block.extend_from_slice(b"\r\n");
    }
    write_head(w, &block, style)
}

/// Copies `line`, turning C0 and C1 controls (but tab), DEL and bytes that
/// are not UTF-8 into visible escapes, so a hostile header cannot move the
/// cursor, retitle the window or hide text.
fn write_escaped(w: &mut (impl Write + ?Sized), line: &[u8]) -> io::Result<()> {
    for chunk in line.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => w.write_all(b"\t")?,
                c if (c as u32) < 0x80 && c.is_control() => write!(w, "\\x{:02x}", c as u32)?,
                c if c.is_control() => write!(w, "\\u{{{:x}}}", c as u32)?,
                c => write!(w, "{c}")?,
            }
        }
        for b in chunk.invalid() {
            write!(w, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// Times of one exchange, each from the start of the last hop (like
/// curl's `-w` fields, which are cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub lookup: Option<Duration>,
    pub connect: Option<Duration>,
    /// The end of the TLS handshake (curl's appconnect).
    pub tls: Option<Duration>,
    /// The request's last byte was handed on (to the kernel, or to TLS).
    pub request_sent: Option<Duration>,
    pub first_byte: Option<Duration>,
    /// From the first request of the run to the end, redirects included.
    pub total: Option<Duration>,
    pub redirects: u32,
}

pub fn write_timing(w: &mut impl Write, t: &Timing) -> io::Result<()> {
    let show = |d: Option<Duration>| match d {
        Some(d) => format!("{:.6}s", d.as_secs_f64()),
        None => "-".to_string(),
    };
    writeln!(w, "lookup:     {}", show(t.lookup))?;
    writeln!(w, "connect:    {}", show(t.connect))?;
    writeln!(w, "tls:        {}", show(t.tls))?;
    writeln!(w, "first byte: {}", show(t.first_byte))?;
    writeln!(w, "total:      {}", show(t.total))?;
    if t.redirects > 0 {
        writeln!(w, "redirects:  {}", t.redirects)?;
    }
    Ok(())
}

/// Where the final head goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadOut {
    Nowhere,
    Stdout(Style),
    Stderr(Style),
}

/// What to show while a request runs: the `-v` transcript on stderr and
/// the final head on stdout or stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    pub verbose: bool,
    /// Escape the transcript (stderr is a terminal).
    pub escape_stderr: bool,
    pub final_head: HeadOut,
}

impl Printer {
    pub fn silent() -> Printer {
        Printer {
            verbose: false,
            escape_stderr: false,
            final_head: HeadOut::Nowhere,
        }
    }

    fn transcript(&self, bytes: &[u8], prefix: &'static str) {
        if self.verbose {
            let style = Style::prefixed(prefix, self.escape_stderr);
            // The transcript is diagnostics: a closed stderr must not stop the download.
            let _ = write_head(&mut io::stderr().lock(), bytes, style);
        }
    }

    pub fn request(&self, head: &[u8]) {
        if self.verbose {
            self.transcript(&hide_credentials(head), "> ");
        }
    }

    /// A 1xx head, or the head of a redirect being followed.
    pub fn passing_head(&self, head: &[u8]) {
        self.transcript(head, "< ");
    }

    pub fn trailers(&self, trailers: &[Header]) {
        if self.verbose && !trailers.is_empty() {
            let style = Style::prefixed("< ", self.escape_stderr);
            let _ = write_trailers(&mut io::stderr().lock(), trailers, style);
        }
    }

    /// The final head: in the `-v` transcript (like curl -v), and where
    /// the head goes, unless that is the transcript already.
    pub fn final_head(&self, head: &[u8]) -> Result<()> {
        if !matches!(self.final_head, HeadOut::Stderr(_)) {
            self.transcript(head, "< ");
        }
        match self.final_head {
            HeadOut::Nowhere => Ok(()),
            HeadOut::Stdout(style) => {
                let mut out = io::stdout().lock();
                write_head(&mut out, head, style)
                    .and_then(|_| out.flush())
                    .map_err(|e| Error::io("writing to stdout", e))
            }
            HeadOut::Stderr(style) => {
                let _ = write_head(&mut io::stderr().lock(), head, style);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_hide_credentials() {
        let head = b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dTpw\r\n\
            proxy-authorization:Bearer tok en\r\nX-Authorization: kept\r\nAuthorization: bare\r\n\r\n";
        let want = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic ***\r\n\
            proxy-authorization: Bearer ***\r\nX-Authorization: kept\r\nAuthorization: bare ***\r\n\r\n";
        assert_eq!(String::from_utf8(hide_credentials(head)).unwrap(), want);
    }

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nX-Odd-CASE: a\x1b[31mred\x07\r\nx-latin: caf\xe9\tok\r\nX-C1: \xc2\x9b2J\r\n\r\n";

    fn render(head: &[u8], style: Style) -> String {
        let mut v = Vec::new();
        write_head(&mut v, head, style).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn styles() {
        let cases = [
            (
                Style::plain(true),
                "HTTP/1.1 200 OK\nX-Odd-CASE: a\\x1b[31mred\\x07\nx-latin: caf\\xe9\tok\nX-C1: \\u{9b}2J\n\n",
            ),
            (
                Style::prefixed("< ", true),
                "< HTTP/1.1 200 OK\n< X-Odd-CASE: a\\x1b[31mred\\x07\n< x-latin: caf\\xe9\tok\n< X-C1: \\u{9b}2J\n< \n",
            ),
        ];
        for (style, want) in cases {
            assert_eq!(render(HEAD, style), want);
        }
        let mut v = Vec::new();
        write_head(&mut v, HEAD, Style::plain(false)).unwrap();
        assert_eq!(
            v,
            b"HTTP/1.1 200 OK\nX-Odd-CASE: a\x1b[31mred\x07\nx-latin: caf\xe9\tok\nX-C1: \xc2\x9b2J\n\n"
        );
        let mut v = Vec::new();
        let raw = Style {
            raw: true,
            ..Style::prefixed("> ", true)
        };
        write_head(&mut v, HEAD, raw).unwrap();
        assert_eq!(v, HEAD);
    }

    #[test]
    fn colours_by_status_class_and_only_when_asked() {
        let colored = |head: &[u8], on: bool| {
            let style = Style::plain(true).colored_if(on, None);
            render(head, style)
        };
        // (status line, its colour)
        let cases = [
            ("HTTP/1.1 200 OK", "\x1b[1;32m"),
            ("HTTP/1.1 304 Not Modified", "\x1b[1;36m"),
            ("HTTP/1.0 404 Not Found", "\x1b[1;33m"),
            ("HTTP/1.1 503 Busy", "\x1b[1;31m"),
            ("HTTP/1.1 103 Early Hints", "\x1b[1m"),
            ("GET / HTTP/1.1", "\x1b[1m"),
        ];
        for (status, color) in cases {
            let head = format!("{status}\r\nX-A: b:c\r\n\r\n");
            assert_eq!(
                colored(head.as_bytes(), true),
                format!("{color}{status}\x1b[0m\n\x1b[1mX-A\x1b[0m: b:c\n\n")
            );
            assert_eq!(
                colored(head.as_bytes(), false),
                format!("{status}\nX-A: b:c\n\n")
            );
        }
        // A hostile value stays escaped inside the colours.
        let out = colored(HEAD, true);
        assert!(
            out.contains("\x1b[1mX-Odd-CASE\x1b[0m: a\\x1b[31mred"),
            "{out:?}"
        );
        // NO_COLOR set (non-empty) wins; empty does not count.
        let on = Style::plain(true);
        assert!(!on.colored_if(true, Some("1".as_ref())).color);
        assert!(on.colored_if(true, Some("".as_ref())).color);
        assert!(!on.colored_if(false, None).color);
        // Never without escaping, never raw.
        let unescaped = Style::plain(false).colored_if(true, None);
        assert_eq!(
            render(b"HTTP/1.1 200 OK\r\n\r\n", unescaped),
            "HTTP/1.1 200 OK\n\n"
        );
        let raw = Style {
            raw: true,
            ..Style::plain(true).colored_if(true, None)
        };
        let mut v = Vec::new();
        write_head(&mut v, HEAD, raw).unwrap();
        assert_eq!(v, HEAD);
    }

    #[test]
    fn bare_lf_and_lone_cr_are_handled() {
        assert_eq!(
            render(b"HTTP/1.0 200 OK\nA: b\rc\n\n", Style::plain(true)),
            "HTTP/1.0 200 OK\nA: b\\x0dc\n\n"
        );
    }

    #[test]
    fn trailers_and_timing() {
        let mut v = Vec::new();
        write_trailers(
            &mut v,
            &[Header::new("X-Sum", "42")],
            Style::prefixed("< ", false),
        )
        .unwrap();
        assert_eq!(v, b"< X-Sum: 42\n");
        let mut v = Vec::new();
        let t = Timing {
            lookup: Some(Duration::from_micros(5)),
            total: Some(Duration::from_millis(2)),
            ..Timing::default()
        };
        write_timing(&mut v, &t).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.contains("lookup:     0.000005s\n"), "{s}");
        assert!(s.contains("connect:    -\n"), "{s}");
        assert!(s.contains("total:      0.002000s\n"), "{s}");
    }
}

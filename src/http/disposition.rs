//! File names from Content-Disposition (RFC 6266), for `-J`: the parameter
//! parser (`filename*` in RFC 8187 encoding preferred over `filename`,
//! quoted-string escapes undone) and the sanitiser that makes whatever a
//! server suggests safe to create in the current directory.
//!
//! The sanitiser exists because servers are hostile: wget (CVE-2010-2252)
//! and HTTPie (CVE-2019-10751) wrote server-chosen dotfiles such as
//! `.bashrc`, and curl (CVE-2020-8177) let `-J` overwrite local files. So:
//! no directory parts, no leading dot, no control characters, a length cap.
//! Never overwriting an existing file is the caller's half of the job.
//! Pure: no file system access here.

use percent_encoding::percent_decode;

use super::{find, Header};

/// The longest file name we produce, in bytes (Linux NAME_MAX).
pub const MAX_NAME: usize = 255;
/// An extension up to this long survives the length cap.
const MAX_KEPT_EXTENSION: usize = 16;

/// The safe local file name the message's Content-Disposition suggests,
/// if it suggests one that survives sanitising.
pub fn from_headers(headers: &[Header]) -> Option<String> {
    safe_filename(find(headers, "content-disposition")?)
}

/// [`filename`] then [`sanitize`].
pub fn safe_filename(value: &[u8]) -> Option<String> {
    sanitize(&filename(value)?)
}

/// The file name a Content-Disposition value suggests, decoded but not yet
/// sanitised: `filename*` (RFC 8187) when present and decodable, else
/// `filename` (UTF-8 if valid, else Latin-1).
pub fn filename(value: &[u8]) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (name, v) in params(value) {
        if name.eq_ignore_ascii_case(b"filename*") {
            if extended.is_none() {
                extended = decode_ext_value(&v);
            }
        } else if name.eq_ignore_ascii_case(b"filename") && plain.is_none() {
            plain = Some(match String::from_utf8(v) {
                Ok(s) => s,
                Err(e) => latin1(e.as_bytes()),
            });
        }
    }
    // RFC 6266 section 4.3: filename* wins, whatever the order.
    extended.or(plain).filter(|s| !s.is_empty())
}

/// The `name=value` parameters of a Content-Disposition value, values
/// unquoted. The disposition type (a leading token without `=`) is
/// skipped; a missing one is tolerated.
pub fn params(mut s: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while !s.is_empty() {
        s = skip_ws(s);
        let name_end = s
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(s.len());
        let name = trim_ws(&s[..name_end]).to_vec();
        s = &s[name_end..];
        if s.first() != Some(&b'=') {
            // The disposition type, or a stray token.
            s = s.get(1..).unwrap_or_default();
            continue;
        }
        s = skip_ws(&s[1..]);
        let value;
        if s.first() == Some(&b'"') {
            let (v, rest) = quoted_string(&s[1..]);
            value = v;
            s = rest;
            // Anything between the closing quote and the next ';' is junk.
            let next = s.iter().position(|&b| b == b';').unwrap_or(s.len());
            s = &s[next..];
        } else {
            let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
            value = trim_ws(&s[..end]).to_vec();
            s = &s[end..];
        }
        s = s.get(1..).unwrap_or_default();
        out.push((name, value));
    }
    out
}

/// The contents of a quoted-string whose opening quote is already gone,
/// with quoted-pairs undone (RFC 9110 section 5.6.4), and the rest after
/// the closing quote. An unterminated string runs to the end.
fn quoted_string(s: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => return (out, &s[i + 1..]),
            b'\\' if i + 1 < s.len() => {
                out.push(s[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, &[])
}

/// RFC 8187 section 3.2: `charset'[language]'value-chars`, percent-decoded.
/// UTF-8 and ISO-8859-1 are understood; anything else (or bytes that are
/// not UTF-8 after all) gives `None`, so `filename` is used instead.
fn decode_ext_value(v: &[u8]) -> Option<String> {
    let mut parts = v.splitn(3, |&b| b == b'\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let encoded = parts.next()?;
    let bytes: Vec<u8> = percent_decode(encoded).collect();
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(latin1(&bytes))
    } else {
        None
    }
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn skip_ws(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn trim_ws(s: &[u8]) -> &[u8] {
    super::trim(s)
}

/// Makes a server-suggested name safe to create in the current directory,
/// or `None` if nothing usable is left (the caller then falls back to the
/// name derived from the URL).
///
/// - Only the part after the last `/` or `\` is kept: no directories, and
///   `..` cannot climb anywhere.
/// - Control characters (C0, DEL, C1) and the invisible bidirectional
///   overrides used to disguise extensions (`fdp.exe` shown as `exe.pdf`)
///   become `_`.
/// - Leading dots are dropped (no hidden files, no `.` or `..`), and
///   leading and trailing white space; a leading `-` becomes `_` so the
///   name cannot pass for an option in a later shell command.
/// - At most [`MAX_NAME`] bytes, cut on a character boundary, keeping a
///   short extension.
pub fn sanitize(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .map(|c| if is_unsafe_char(c) { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_start();
    if trimmed.is_empty() {
        return None;
    }
    let mut safe = match trimmed.strip_prefix('-') {
        Some(rest) => format!("_{rest}"),
        None => trimmed.to_string(),
    };
    if safe.len() > MAX_NAME {
        safe = shorten(&safe);
    }
    Some(safe)
}

fn is_unsafe_char(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Cuts `name` to [`MAX_NAME`] bytes on a character boundary, keeping its
/// extension when that is short.
fn shorten(name: &str) -> String {
    let ext = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= MAX_KEPT_EXTENSION => &name[i..],
        _ => "",
    };
    let stem = &name[..name.len() - ext.len()];
    let mut cut = MAX_NAME - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_from_content_disposition() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"attachment; filename=foo.html", Some("foo.html")),
            (
                b"attachment; filename=\"foo bar.html\"",
                Some("foo bar.html"),
            ),
            (b"inline; filename=\"x.pdf\"", Some("x.pdf")),
            (b"attachment ; FILENAME = \"y.txt\" ", Some("y.txt")),
            (b"filename=no-type.txt", Some("no-type.txt")),
            (b"attachment; filename=\"a\\\"b.txt\"", Some("a\"b.txt")),
            (
                b"attachment; filename=\"back\\\\slash\"",
                Some("back\\slash"),
            ),
            (b"attachment; filename=\"unterminated", Some("unterminated")),
            // RFC 8187 section 3.2.2's example.
            (
                b"attachment; filename*=iso-8859-1'en'%A3%20rates",
                Some("\u{a3} rates"),
            ),
            (
                b"attachment; filename*=UTF-8''%e2%82%ac%20rates",
                Some("\u{20ac} rates"),
            ),
            // filename* wins in either order (RFC 6266 section 4.3).
            (
                b"attachment; filename*=UTF-8''na%C3%AFve.txt; filename=\"naive.txt\"",
                Some("na\u{ef}ve.txt"),
            ),
            (
                b"attachment; filename=\"naive.txt\"; filename*=utf-8'de'na%C3%AFve.txt",
                Some("na\u{ef}ve.txt"),
            ),
            // An unknown charset or undecodable bytes fall back to filename.
            (
                b"attachment; filename*=KOI8-R''%F0; filename=plain.txt",
                Some("plain.txt"),
            ),
            (
                b"attachment; filename*=UTF-8''%FF%FE; filename=plain.txt",
                Some("plain.txt"),
            ),
            (
                b"attachment; filename*=no-quotes; filename=plain.txt",
                Some("plain.txt"),
            ),
            // A ';' inside a quoted string does not end the parameter.
            (
                b"attachment; foo=\"bar;filename=evil\"; filename=good",
                Some("good"),
            ),
            (
                b"attachment; filename=\"first\"; filename=\"second\"",
                Some("first"),
            ),
            // Raw UTF-8 as servers send it, and Latin-1 otherwise.
            (
                "attachment; filename=\"\u{e9}t\u{e9}.txt\"".as_bytes(),
                Some("\u{e9}t\u{e9}.txt"),
            ),
            (
                b"attachment; filename=\"\xe9t\xe9.txt\"",
                Some("\u{e9}t\u{e9}.txt"),
            ),
            (b"attachment", None),
            (b"attachment; filename=", None),
            (b"attachment; filename=\"\"", None),
            (b"", None),
            (b";;;===;\"", None),
        ];
        for &(value, want) in cases {
            assert_eq!(
                filename(value).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn hostile_names_are_made_safe() {
        let long_stem = "a".repeat(300);
        let long_pdf = format!("{long_stem}.pdf");
        let long_accents = "\u{e9}".repeat(200);
        let cases: &[(&str, Option<&str>)] = &[
            // wget CVE-2010-2252, HTTPie CVE-2019-10751: dotfiles.
            (".bashrc", Some("bashrc")),
            ("..bashrc", Some("bashrc")),
            (" .profile", Some("profile")),
            // curl CVE-2020-8177 and every path traversal.
            ("../../../../etc/passwd", Some("passwd")),
            ("/etc/passwd", Some("passwd")),
            ("..\\..\\Windows\\system32\\evil.dll", Some("evil.dll")),
            ("dir/..", None),
            ("..", None),
            (".", None),
            ("/etc/", None),
            ("...", None),
            ("", None),
            ("   ", None),
            // Control characters and disguising bidi overrides.
            ("evil\0.txt", Some("evil_.txt")),
            ("two\r\nlines", Some("two__lines")),
            ("esc\u{1b}[31mred", Some("esc_[31mred")),
            ("c1\u{85}x", Some("c1_x")),
            ("invoice\u{202e}fdp.exe", Some("invoice_fdp.exe")),
            // Not an option to a later command.
            ("-rf", Some("_rf")),
            // Ordinary names are left alone.
            ("report 2024 (final).pdf", Some("report 2024 (final).pdf")),
            ("na\u{ef}ve.txt", Some("na\u{ef}ve.txt")),
            ("archive.tar.gz", Some("archive.tar.gz")),
        ];
        for &(name, want) in cases {
            assert_eq!(sanitize(name).as_deref(), want, "{name:?}");
        }
        let s = sanitize(&long_pdf).unwrap();
        assert_eq!(s.len(), MAX_NAME);
        assert!(s.ends_with(".pdf"));
        let s = sanitize(&long_accents).unwrap();
        assert!(s.len() <= MAX_NAME && s.len() >= MAX_NAME - 1);
        assert!(s.chars().all(|c| c == '\u{e9}'));
        let ext_too_long = format!("x.{}", "e".repeat(300));
        assert_eq!(sanitize(&ext_too_long).unwrap().len(), MAX_NAME);
    }

    #[test]
    fn hostile_headers_end_to_end() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"attachment; filename=.bashrc", Some("bashrc")),
            (
                b"attachment; filename=\"../../.ssh/authorized_keys\"",
                Some("authorized_keys"),
            ),
            (
                b"attachment; filename*=UTF-8''%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                Some("passwd"),
            ),
            (b"attachment; filename*=UTF-8''%2e%2e", None),
            (b"attachment; filename*=UTF-8''evil%00.sh", Some("evil_.sh")),
            (
                b"attachment; filename=\"..\\\\..\\\\evil.bat\"",
                Some("evil.bat"),
            ),
            (b"attachment; filename=\"a\nb\"", Some("a_b")),
        ];
        for &(value, want) in cases {
            assert_eq!(
                safe_filename(value).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        let hs = [Header::new(
            "Content-Disposition",
            &b"attachment; filename=\"report.pdf\""[..],
        )];
        assert_eq!(from_headers(&hs).as_deref(), Some("report.pdf"));
        assert_eq!(from_headers(&[]), None);
    }

    /// Whatever bytes arrive, every prefix and every one-byte change of
    /// some nasty values: no panic, and anything returned is safe.
    #[test]
    fn any_input_gives_a_safe_name_or_none() {
        let seeds: &[&[u8]] = &[
            b"attachment; filename*=UTF-8''%2e%2e%2f%C3%A9vil; filename=\"..\\\\x\"",
            b"inline;filename=\"\\\"\\\\/.\";filename*=iso-8859-1'x'%2F%85",
        ];
        let mut inputs = Vec::new();
        for seed in seeds {
            for end in 0..=seed.len() {
                inputs.push(seed[..end].to_vec());
            }
            for i in 0..seed.len() {
                for b in [0u8, b'"', b'\\', b'/', b'.', b';', b'\'', b'%', 0xff] {
                    let mut v = seed.to_vec();
                    v[i] = b;
                    inputs.push(v);
                }
            }
        }
        for v in inputs {
            if let Some(name) = safe_filename(&v) {
                assert!(!name.is_empty());
                assert!(name.len() <= MAX_NAME);
                assert!(!name.contains(['/', '\\']), "{name:?}");
                assert!(!name.starts_with(['.', '-', ' ']), "{name:?}");
                assert!(!name.chars().any(is_unsafe_char), "{name:?}");
            }
        }
    }
}

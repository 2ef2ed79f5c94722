//! The charset of a page or stylesheet, found the way a browser finds it
//! (byte order mark, the Content-Type `charset`, a `<meta>` prescan or
//! `@charset`), so that URLs with non-ASCII text resolve as they do there.
//! `None` means the document is not in an ASCII-compatible charset (UTF-16)
//! and is left alone.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use lol_html::{element, AsciiCompatibleEncoding, HtmlRewriter, Settings};

/// How far the `<meta>` prescan looks (the HTML standard's 1024 bytes).
const PRESCAN: usize = 1024;

/// The `charset` parameter of a Content-Type value.
fn from_content_type(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// UTF-16 pages are left unparsed; every other charset is used as it is.
fn compatible(encoding: &'static Encoding) -> Option<&'static Encoding> {
    AsciiCompatibleEncoding::new(encoding).map(|_| encoding)
}

fn from_bom(body: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_bom(body).map(|(e, _)| e)
}

/// The charset of an HTML page: BOM, Content-Type, `<meta>` prescan, then
/// UTF-8 when the bytes are valid UTF-8 (the common undeclared case), and
/// windows-1252 otherwise (it maps every byte).
pub fn for_html(content_type: Option<&str>, body: &[u8]) -> Option<&'static Encoding> {
    if let Some(e) = from_bom(body).or_else(|| from_content_type(content_type)) {
        return compatible(e);
    }
    if let Some(e) = prescan(&body[..body.len().min(PRESCAN)]) {
        // A <meta> cannot declare UTF-16 (the page would not have been
        // readable to find it): the standard reads that as UTF-8.
        return Some(match e.name() {
            "UTF-16LE" | "UTF-16BE" => UTF_8,
            "x-user-defined" => WINDOWS_1252,
            _ => e,
        });
    }
    Some(match std::str::from_utf8(body) {
        Ok(_) => UTF_8,
        Err(_) => WINDOWS_1252,
    })
}

/// The charset of a stylesheet: BOM, Content-Type, `@charset "X";`, UTF-8.
pub fn for_css(content_type: Option<&str>, body: &[u8]) -> Option<&'static Encoding> {
    let declared = from_bom(body)
        .or_else(|| from_content_type(content_type))
        .or_else(|| at_charset(body));
    compatible(declared.unwrap_or(UTF_8))
}

fn at_charset(body: &[u8]) -> Option<&'static Encoding> {
    let rest = body.strip_prefix(b"@charset \"")?;
    let end = rest.iter().take(64).position(|&b| b == b'"')?;
    rest[end..].starts_with(b"\";").then_some(())?;
    Encoding::for_label(&rest[..end])
}

/// `<meta charset>` or `<meta http-equiv=content-type content=...>` in the
/// first bytes, read with lol_html's tokenizer (windows-1252 keeps every
/// byte readable), so comments and scripts are skipped as a browser does.
fn prescan(head: &[u8]) -> Option<&'static Encoding> {
    let mut found: Option<&'static Encoding> = None;
    let handler = element!("meta", |el| {
        if found.is_none() {
            let label = el.get_attribute("charset").or_else(|| {
                let equiv = el.get_attribute("http-equiv")?;
                equiv.eq_ignore_ascii_case("content-type").then_some(())?;
                content_charset(&el.get_attribute("content")?)
            });
            found = label.and_then(|l| Encoding::for_label(l.trim().as_bytes()));
        }
        Ok(())
    });
    let settings = Settings::new()
        .with_encoding(AsciiCompatibleEncoding::new(WINDOWS_1252)?)
        .with_strict(false)
        .append_element_content_handler(handler);
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    if rewriter.write(head).is_ok() {
        let _ = rewriter.end();
    } else {
        drop(rewriter);
    }
    found
}

/// The HTML standard's "extracting a character encoding from a meta
/// element": the value after `charset=`, quoted or up to `;` or space.
fn content_charset(content: &str) -> Option<String> {
    let lower = content.to_ascii_lowercase();
    let at = lower.find("charset")?;
    let rest = content[at + 7..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let value = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].split(q).next()?,
        _ => rest.split([';', ' ', '\t', '\n']).next()?,
    };
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(e: Option<&'static Encoding>) -> &'static str {
        e.map_or("none", |e| e.name())
    }

    #[test]
    fn html_charsets() {
        let cases: &[(Option<&str>, &[u8], &str)] = &[
            (Some("text/html; charset=GB2312"), b"<p>", "GBK"),
            (Some("text/html;charset=\"shift_jis\""), b"", "Shift_JIS"),
            (Some("text/html; charset=utf-16le"), b"", "none"),
            (None, b"\xff\xfe<\0", "none"),
            (None, b"\xef\xbb\xbf<p>", "UTF-8"),
            (None, b"<meta charset=gbk><p>\xd6\xd0", "GBK"),
            (None, b"<META CHARSET='ISO-8859-1'>", "windows-1252"),
            (
                None,
                b"<meta http-equiv=Content-Type content=\"text/html; charset=euc-jp\">",
                "EUC-JP",
            ),
            (None, b"<!-- <meta charset=gbk> --><p>\xd6", "windows-1252"),
            (None, b"<meta charset=utf-16>", "UTF-8"),
            (None, b"<p>caf\xc3\xa9", "UTF-8"),
            (None, b"<p>caf\xe9", "windows-1252"),
            (Some("text/html; charset=bogus"), b"<p>", "UTF-8"),
        ];
        for (ct, body, want) in cases {
            assert_eq!(name(for_html(*ct, body)), *want, "{ct:?} {body:?}");
        }
    }

    #[test]
    fn css_charsets() {
        assert_eq!(name(for_css(None, b"a{}")), "UTF-8");
        assert_eq!(name(for_css(None, b"@charset \"gbk\";a{}")), "GBK");
        assert_eq!(
            name(for_css(Some("text/css; charset=latin1"), b"")),
            "windows-1252"
        );
        assert_eq!(
            name(for_css(Some("text/css; charset=utf-16be"), b"")),
            "none"
        );
    }
}

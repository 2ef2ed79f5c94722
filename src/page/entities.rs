//! Character references in attribute values: decoding what a page wrote
//! (`&amp;` in a query string), and writing a new value back so that it
//! reads as the same text in the attribute's quoting and the page's charset.

use encoding_rs::Encoding;

/// The named references that occur in URLs; the full table of 2,000 names
/// would only matter for text that no URL holds.
const NAMED: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
];

/// Decodes the character references of an attribute value: numeric ones,
/// and the named ones in [`NAMED`]. As the HTML standard says for
/// attributes, a legacy reference without `;` that is followed by `=` or an
/// alphanumeric (`?a=1&ampx=2`) is left as written.
pub fn decode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match reference(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference at the start of `s` (which starts with `&`)
/// stands for, and how many bytes it used.
fn reference(s: &str) -> Option<(char, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        return numeric(num).map(|(c, n)| (c, n + 2));
    }
    for (name, c) in NAMED {
        if let Some(after) = body.strip_prefix(name) {
            if after.starts_with(';') {
                return Some((*c, name.len() + 2));
            }
            let legacy = matches!(*name, "amp" | "lt" | "gt" | "quot" | "nbsp");
            let next = after.chars().next();
            if legacy && !next.is_some_and(|n| n == '=' || n.is_ascii_alphanumeric()) {
                return Some((*c, name.len() + 1));
            }
        }
    }
    None
}

fn numeric(s: &str) -> Option<(char, usize)> {
    let (radix, digits_at) = match s.as_bytes().first() {
        Some(b'x' | b'X') => (16, 1),
        _ => (10, 0),
    };
    let digits = s[digits_at..]
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let text = &s[digits_at..digits_at + digits];
    let mut used = digits_at + digits;
    if s[used..].starts_with(';') {
        used += 1;
    }
    let code = u32::from_str_radix(text, radix).unwrap_or(u32::MAX);
    // Out of range, surrogates and NUL become U+FFFD, as in a browser.
    let c = match code {
        0 => '\u{fffd}',
        _ => char::from_u32(code).unwrap_or('\u{fffd}'),
    };
    Some((c, used))
}

/// The bytes that replace an attribute value's bytes (the range between
/// the quotes, or the unquoted value) so that it reads as `text`. An
/// unquoted value that would not survive unquoted gets double quotes.
/// Characters the charset cannot hold become numeric references.
pub fn encode(text: &str, quote: Option<u8>, encoding: &'static Encoding) -> Vec<u8> {
    let needs_quotes = quote.is_none()
        && (text.is_empty()
            || text.contains(|c: char| c.is_ascii_whitespace() || "\"'=<>`".contains(c)));
    let quote = if needs_quotes { Some(b'"') } else { quote };
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' if quote == Some(b'"') => escaped.push_str("&quot;"),
            '\'' if quote == Some(b'\'') => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    let (bytes, _, _) = encoding.encode(&escaped);
    if needs_quotes {
        [b"\"", &bytes[..], b"\""].concat()
    } else {
        bytes.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let cases = [
            ("a.png", "a.png"),
            ("p?x=1&amp;y=2", "p?x=1&y=2"),
            ("p?x=1&y=2", "p?x=1&y=2"),
            ("&#47;a&#x2F;b&#X2f;", "/a/b/"),
            ("&#0;&#xD800;&#99999999999;", "\u{fffd}\u{fffd}\u{fffd}"),
            ("a&amp", "a&"),
            ("?a=1&ampx=2", "?a=1&ampx=2"),
            ("?a=1&amp=2", "?a=1&amp=2"),
            ("&lt;&gt;&quot;&apos;", "<>\"'"),
            ("&copy;&", "&copy;&"),
            ("&#", "&#"),
            ("&#x;", "&#x;"),
        ];
        for (input, want) in cases {
            assert_eq!(decode(input), want, "{input:?}");
        }
    }

    #[test]
    fn encodes_for_each_quoting() {
        let utf8 = encoding_rs::UTF_8;
        let e = |t: &str, q: Option<u8>| String::from_utf8(encode(t, q, utf8)).unwrap();
        assert_eq!(e("a.png?x=1&y=2", Some(b'"')), "a.png?x=1&amp;y=2");
        assert_eq!(e("a\"b'c", Some(b'"')), "a&quot;b'c");
        assert_eq!(e("a\"b'c", Some(b'\'')), "a\"b&#39;c");
        assert_eq!(e("a.png", None), "a.png");
        assert_eq!(e("a b", None), "\"a b\"");
        assert_eq!(e("", None), "\"\"");
        let gbk = encoding_rs::GBK;
        assert_eq!(encode("中", Some(b'"'), gbk), vec![0xd6, 0xd0]);
        assert_eq!(encode("☃", Some(b'"'), gbk), b"&#9731;".to_vec());
    }
}

//! The URLs of a stylesheet: `url(...)` (quoted or not, with escapes),
//! `@import "x"`, and the strings of `image-set()`. A small tokenizer that
//! follows CSS Syntax Level 3 (section 4) for what can hide or fake a URL:
//! comments, strings, escapes, url tokens, and names such as `#url(`.
//! It works on bytes, so the caller can replace exactly the URL's bytes;
//! other bytes (in any ASCII-compatible charset) are never interpreted.

use std::ops::Range;

use encoding_rs::Encoding;

/// One URL in a stylesheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssUrl {
    /// The bytes to replace: inside the quotes of a string, or the url
    /// token's value without the white space around it.
    pub range: Range<usize>,
    /// The URL text, escapes decoded.
    pub value: String,
    /// The quote of a string, `None` for an unquoted `url(...)`.
    pub quote: Option<u8>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn is_newline(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | b'\x0c')
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

/// A backslash that starts an escape (CSS Syntax 4.3.8).
fn is_escape(s: &[u8], i: usize) -> bool {
    s.get(i) == Some(&b'\\') && s.get(i + 1).is_none_or(|b| !is_newline(*b))
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    encoding: &'static Encoding,
    /// Open functions, innermost last (for `image-set("a.png" 1x)`).
    functions: Vec<String>,
    /// Set after `@import`, until the next token that is not white space.
    after_import: bool,
    out: Vec<CssUrl>,
}

/// The URLs of a stylesheet (or a `style` attribute), with byte ranges.
pub fn urls(css: &[u8], encoding: &'static Encoding) -> Vec<CssUrl> {
    let mut sc = Scanner {
        s: css,
        i: 0,
        encoding,
        functions: Vec::new(),
        after_import: false,
        out: Vec::new(),
    };
    while sc.i < sc.s.len() {
        sc.token();
    }
    sc.out
}

impl Scanner<'_> {
    fn token(&mut self) {
        let (s, i) = (self.s, self.i);
        let b = s[i];
        let was_import = std::mem::take(&mut self.after_import);
        if s[i..].starts_with(b"/*") {
            self.i = find(s, i + 2, b"*/").map_or(s.len(), |e| e + 2);
            self.after_import = was_import;
        } else if is_space(b) {
            self.i += 1;
            self.after_import = was_import;
        } else if b == b'"' || b == b'\'' {
            self.string(was_import);
        } else if b == b'@' || b == b'#' {
            self.i += 1;
            let name = self.name();
            self.after_import = b == b'@' && name.eq_ignore_ascii_case("import");
        } else if b.is_ascii_digit() {
            while self.i < s.len() && (s[self.i].is_ascii_digit() || s[self.i] == b'.') {
                self.i += 1;
            }
            self.name();
        } else if is_name(b) || is_escape(s, i) {
            self.ident_like();
        } else if b == b'(' {
            self.functions.push(String::new());
            self.i += 1;
        } else if b == b')' {
            self.functions.pop();
            self.i += 1;
        } else {
            self.i += 1;
        }
    }

    /// Consumes a name (CSS Syntax 4.3.12), escapes decoded.
    fn name(&mut self) -> String {
        let mut name = String::new();
        let mut run = self.i;
        while self.i < self.s.len() {
            if is_escape(self.s, self.i) {
                name.push_str(&self.decode(run..self.i));
                name.push(self.escape());
                run = self.i;
            } else if is_name(self.s[self.i]) {
                self.i += 1;
            } else {
                break;
            }
        }
        name.push_str(&self.decode(run..self.i));
        name
    }

    fn decode(&self, r: Range<usize>) -> String {
        let (text, _) = self.encoding.decode_without_bom_handling(&self.s[r]);
        text.into_owned()
    }

    /// Consumes an escape at `self.i` (a backslash; CSS Syntax 4.3.7).
    fn escape(&mut self) -> char {
        self.i += 1;
        let s = self.s;
        let Some(&first) = s.get(self.i) else {
            return '\u{fffd}';
        };
        if !first.is_ascii_hexdigit() {
            // One whole character of the document's charset.
            let start = self.i;
            let len = (1..=4.min(s.len() - start))
                .find(|n| !self.decode(start..start + n).contains('\u{fffd}'))
                .unwrap_or(1);
            self.i += len;
            return self
                .decode(start..self.i)
                .chars()
                .next()
                .unwrap_or('\u{fffd}');
        }
        let start = self.i;
        while self.i < s.len() && self.i - start < 6 && s[self.i].is_ascii_hexdigit() {
            self.i += 1;
        }
        let code = u32::from_str_radix(&self.decode(start..self.i), 16).unwrap_or(0);
        if s[self.i..].starts_with(b"\r\n") {
            self.i += 2;
        } else if self.i < s.len() && is_space(s[self.i]) {
            self.i += 1;
        }
        match code {
            0 => '\u{fffd}',
            _ => char::from_u32(code).unwrap_or('\u{fffd}'),
        }
    }

    fn ident_like(&mut self) {
        let name = self.name();
        if self.s.get(self.i) != Some(&b'(') {
            return;
        }
        self.i += 1;
        if !name.eq_ignore_ascii_case("url") {
            self.functions.push(name.to_ascii_lowercase());
            return;
        }
        let mut j = self.i;
        while j < self.s.len() && is_space(self.s[j]) {
            j += 1;
        }
        match self.s.get(j) {
            // `url("x")` is a function holding a string.
            Some(b'"' | b'\'') => self.functions.push("url".into()),
            _ => self.url_token(j),
        }
    }

    /// An unquoted url token whose value starts at `start` (CSS Syntax
    /// 4.3.6); a bad url (a quote, `(` or control character inside) is not
    /// a URL and is skipped to its `)`.
    fn url_token(&mut self, start: usize) {
        let s = self.s;
        self.i = start;
        let mut value = String::new();
        let mut run = start;
        let mut end = start;
        while self.i < s.len() {
            let b = s[self.i];
            if b == b')' {
                break;
            } else if is_space(b) {
                self.i += 1;
            } else if is_escape(s, self.i) && end == self.i {
                value.push_str(&self.decode(run..self.i));
                value.push(self.escape());
                (run, end) = (self.i, self.i);
            } else if end == self.i
                && !matches!(b, b'"' | b'\'' | b'(' | b'\\' | 0..=8 | 0xb | 0xe..=0x1f | 0x7f)
            {
                self.i += 1;
                end = self.i;
            } else {
                return self.bad_url();
            }
        }
        value.push_str(&self.decode(run..end));
        self.i = (self.i + 1).min(s.len());
        if !value.is_empty() {
            self.out.push(CssUrl {
                range: start..end,
                value,
                quote: None,
            });
        }
    }

    fn bad_url(&mut self) {
        while self.i < self.s.len() && self.s[self.i] != b')' {
            if is_escape(self.s, self.i) {
                self.i += 1;
            }
            self.i += 1;
        }
        self.i = (self.i + 1).min(self.s.len());
    }

    /// A string token (CSS Syntax 4.3.5); an unescaped newline makes it a
    /// bad string, which is never a URL.
    fn string(&mut self, after_import: bool) {
        let s = self.s;
        let quote = s[self.i];
        self.i += 1;
        let start = self.i;
        let mut value = String::new();
        let mut run = start;
        while let Some(&b) = s.get(self.i) {
            if b == quote {
                break;
            } else if is_newline(b) {
                // A bad string: `url("...` is broken, and so is its value.
                if self.functions.last().is_some_and(|f| f == "url") {
                    self.functions.pop();
                }
                return;
            } else if b == b'\\' {
                value.push_str(&self.decode(run..self.i));
                match s.get(self.i + 1) {
                    None => self.i += 1,
                    Some(b'\r') if s.get(self.i + 2) == Some(&b'\n') => self.i += 3,
                    Some(n) if is_newline(*n) => self.i += 2,
                    Some(_) => value.push(self.escape()),
                }
                run = self.i;
            } else {
                self.i += 1;
            }
        }
        let end = self.i;
        value.push_str(&self.decode(run..end));
        self.i = (self.i + 1).min(s.len());
        let inner = self.functions.last().map(String::as_str);
        let is_url =
            after_import || matches!(inner, Some("url" | "image-set" | "-webkit-image-set"));
        if is_url && !value.is_empty() {
            self.out.push(CssUrl {
                range: start..end,
                value,
                quote: Some(quote),
            });
        }
    }
}

fn find(s: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    s.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The text that replaces a URL's bytes: escaped for its string, or for an
/// unquoted url token (white space, quotes, parentheses, backslashes and
/// control characters become hex escapes).
pub fn write(text: &str, quote: Option<u8>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let escape = match quote {
            Some(q) => c == q as char || c == '\\' || c == '\n' || c == '\r' || c == '\x0c',
            None => c.is_whitespace() || c.is_control() || "\"'()\\".contains(c),
        };
        if escape {
            out.push_str(&format!("\\{:x} ", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(css: &str) -> Vec<(String, String, Option<u8>)> {
        urls(css.as_bytes(), encoding_rs::UTF_8)
            .into_iter()
            .map(|u| (css[u.range].to_string(), u.value, u.quote))
            .collect()
    }

    fn values(css: &str) -> Vec<String> {
        found(css).into_iter().map(|(_, v, _)| v).collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str])] = &[
            ("a{background:url(a.png)}", &["a.png"]),
            ("a{background:url( a.png )}", &["a.png"]),
            ("a{background:URL(\"b.png\")}", &["b.png"]),
            ("a{background:url( 'c d.png' )}", &["c d.png"]),
            (r"a{b:url(a\)b.png)}", &["a)b.png"]),
            (r"a{b:url(a\20 b.png)}", &["a b.png"]),
            (r"a{b:url('x\'y.png')}", &["x'y.png"]),
            (r"a{b:u\72l(e.png)}", &["e.png"]),
            ("@import \"x.css\";", &["x.css"]),
            ("@import 'y.css' screen;", &["y.css"]),
            ("@IMPORT url(z.css);", &["z.css"]),
            ("@import /* c */ \"w.css\";", &["w.css"]),
            ("/* url(no.png) */ a{}", &[]),
            ("/* unterminated url(no.png)", &[]),
            ("a{content:\"url(no.png)\"}", &[]),
            ("a{font-family:\"x.css\"}", &[]),
            (
                "@font-face{src:url(f.woff2) format(\"woff2\")}",
                &["f.woff2"],
            ),
            (
                "a{b:image-set(\"1.png\" 1x, url(2.png) 2x)}",
                &["1.png", "2.png"],
            ),
            ("a{b:url(a b.png)}", &[]),
            ("a{b:url(a\"b)} c{d:url(ok.png)}", &["ok.png"]),
            ("a{b:url()}", &[]),
            ("a{b:url(\"\")}", &[]),
            ("#url(no.png) .url(yes.png)", &["yes.png"]),
            ("10url(no.png)", &[]),
            ("a{b:url(unterminated.png", &["unterminated.png"]),
            ("a{b:url(\"bad\nstring\")}", &[]),
            ("a{b:url('x\\\ny.png')}", &["xy.png"]),
            (
                "a{b:url(data:image/png;base64,AA==)}",
                &["data:image/png;base64,AA=="],
            ),
            ("a{b:url(\\", &["\u{fffd}"]),
        ];
        for (css, want) in cases {
            assert_eq!(values(css), *want, "{css:?}");
        }
    }

    #[test]
    fn ranges_cover_only_the_url_bytes() {
        let f = found("x{a:url( a.png ) ; b:url('q.png') ; c:url(\"d\\\"e\")}");
        let got: Vec<_> = f.iter().map(|(raw, _, q)| (raw.as_str(), *q)).collect();
        assert_eq!(
            got,
            [
                ("a.png", None),
                ("q.png", Some(b'\'')),
                ("d\\\"e", Some(b'"'))
            ]
        );
    }

    #[test]
    fn non_ascii_in_the_page_charset() {
        let gbk = encoding_rs::GBK;
        let css = b"a{b:url(\xd6\xd0.png)} c{d:url(\\\xd6\xd0.png)}";
        let got: Vec<_> = urls(css, gbk).into_iter().map(|u| u.value).collect();
        assert_eq!(got, ["中.png", "中.png"]);
    }

    #[test]
    fn writes_escaped_urls() {
        assert_eq!(write("a.png", None), "a.png");
        assert_eq!(write("a b(1).png", None), "a\\20 b\\28 1\\29 .png");
        assert_eq!(write("it's.png", Some(b'\'')), "it\\27 s.png");
        assert_eq!(write("it's.png", Some(b'"')), "it's.png");
        for text in ["a b(1)'\".png", "x\\y\nz"] {
            for q in [None, Some(b'"'), Some(b'\'')] {
                let css = match q {
                    None => format!("a{{b:url({})}}", write(text, q)),
                    Some(q) => format!("a{{b:url({0}{1}{0})}}", q as char, write(text, Some(q))),
                };
                assert_eq!(values(&css), [text], "{css}");
            }
        }
    }
}

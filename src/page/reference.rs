//! What one reference, as written in a page, points at, and the text that
//! replaces it in a saved copy. Shared by the HTML and CSS codecs; pure.

use url::Url;

/// What a written reference means for the crawl and the rewriter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Left exactly as written: empty, fragment-only, an absolute URL of a
    /// scheme that is not fetched (`data:`, `javascript:`, `mailto:`,
    /// `about:`, `tel:`, `ftp:`...), or text that does not parse.
    Leave,
    /// An `http:` or `https:` URL, without its fragment (which the rewrite
    /// puts back): fetched, or linked to.
    Web { url: Url, fragment: Option<String> },
    /// A relative reference that resolves to another scheme: written out
    /// absolute so that removing `<base>` cannot change what it means.
    Other(Url),
}

/// Resolves `text` (an attribute value or a CSS URL, entities and escapes
/// already decoded) against `base`, as a browser does.
pub fn target(text: &str, base: &Url) -> Target {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Target::Leave;
    }
    let Ok(mut url) = base.join(trimmed) else {
        return Target::Leave;
    };
    if !matches!(url.scheme(), "http" | "https") {
        // Written absolute (it parses alone): leave it as it is.
        return match Url::parse(trimmed) {
            Ok(_) => Target::Leave,
            Err(_) => Target::Other(url),
        };
    }
    let fragment = url.fragment().map(str::to_string);
    url.set_fragment(None);
    Target::Web { url, fragment }
}

/// The fetchable URL of a reference, if it has one.
pub fn web_url(text: &str, base: &Url) -> Option<Url> {
    match target(text, base) {
        Target::Web { url, .. } => Some(url),
        _ => None,
    }
}

/// The text that replaces `text` in the saved copy, or `None` to leave it:
/// `map` gives the local path of a saved URL; one that was not saved is
/// written as an absolute URL (never a broken local path). The fragment is
/// kept either way.
pub fn replacement(
    text: &str,
    base: &Url,
    map: &mut dyn FnMut(&Url) -> Option<String>,
) -> Option<String> {
    match target(text, base) {
        Target::Leave => None,
        Target::Other(url) => Some(url.as_str().to_string()),
        Target::Web { mut url, fragment } => match map(&url) {
            Some(mut local) => {
                if let Some(f) = fragment {
                    local.push('#');
                    local.push_str(&f);
                }
                Some(local)
            }
            None => {
                url.set_fragment(fragment.as_deref());
                Some(url.as_str().to_string())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://h.test/dir/page.html").unwrap()
    }

    #[test]
    fn targets() {
        let web = |s: &str| target(s, &base());
        for leave in [
            "",
            "  ",
            "#top",
            "data:image/png;base64,AAAA",
            "javascript:void(0)",
            "mailto:a@b.test",
            "about:blank",
            "tel:+123",
            "ftp://h.test/f",
            "http://[bad",
        ] {
            assert_eq!(web(leave), Target::Leave, "{leave:?}");
        }
        let cases = [
            ("a.png", "http://h.test/dir/a.png", None),
            ("./a", "http://h.test/dir/a", None),
            ("/dir/./a", "http://h.test/dir/a", None),
            ("/dir/../dir/a", "http://h.test/dir/a", None),
            ("../up.css#x", "http://h.test/up.css", Some("x")),
            ("  b.png\n", "http://h.test/dir/b.png", None),
            ("//o.test/c", "http://o.test/c", None),
            ("p?x=1&y=2", "http://h.test/dir/p?x=1&y=2", None),
            ("€.png", "http://h.test/dir/%E2%82%AC.png", None),
        ];
        for (text, want, frag) in cases {
            let Target::Web { url, fragment } = web(text) else {
                panic!("{text:?}")
            };
            assert_eq!(
                (url.as_str(), fragment.as_deref()),
                (want, frag),
                "{text:?}"
            );
        }
    }

    #[test]
    fn replacements_keep_fragments_and_fall_back_to_absolute() {
        let mut saved = |u: &Url| (u.path() == "/dir/a.png").then(|| "a.png".to_string());
        let r = |t: &str, m: &mut dyn FnMut(&Url) -> Option<String>| replacement(t, &base(), m);
        assert_eq!(r("a.png#f", &mut saved).as_deref(), Some("a.png#f"));
        assert_eq!(
            r("b.png#g", &mut saved).as_deref(),
            Some("http://h.test/dir/b.png#g")
        );
        assert_eq!(r("#only", &mut saved), None);
        assert_eq!(r("mailto:x@y.test", &mut saved), None);
        let ftp = Url::parse("ftp://f.test/d/").unwrap();
        assert_eq!(
            replacement("x", &ftp, &mut saved).as_deref(),
            Some("ftp://f.test/d/x")
        );
    }
}

//! The URLs of a `srcset` attribute, parsed by the HTML standard's rules
//! ("parse a srcset attribute"): a URL runs to the next white space, so it
//! may hold commas; trailing commas belong to the separator; a descriptor
//! list runs to the next comma outside parentheses.

use std::ops::Range;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// Byte ranges of each candidate's URL in `value`.
pub fn urls(value: &str) -> Vec<Range<usize>> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
        let start = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        let mut end = i;
        if b[end - 1] == b',' {
            // "a.png," : the commas end the candidate, no descriptors.
            while end > start && b[end - 1] == b',' {
                end -= 1;
            }
        } else {
            i = skip_descriptors(b, i);
        }
        if end > start {
            out.push(start..end);
        }
    }
}

/// Skips a descriptor list up to and including the comma that ends it;
/// commas inside parentheses do not end it (the standard's tokenizer).
fn skip_descriptors(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &str) -> Vec<&str> {
        urls(v).into_iter().map(|r| &v[r]).collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" , ,", &[]),
            ("a.png", &["a.png"]),
            ("a.png 1x, b.png 2x", &["a.png", "b.png"]),
            ("c.jpg 480w,d.jpg 800w", &["c.jpg", "d.jpg"]),
            ("a.png,b.png", &["a.png,b.png"]),
            ("a.png, b.png", &["a.png", "b.png"]),
            ("a.png,, b.png 2x", &["a.png", "b.png"]),
            ("img,1.png 1x, img,2.png 2x", &["img,1.png", "img,2.png"]),
            (
                "data:image/png;base64,AAA= 1x, x.png 2x",
                &["data:image/png;base64,AAA=", "x.png"],
            ),
            ("a.png 1x (a, b), c.png", &["a.png", "c.png"]),
            ("\n\ta.png\n 100w ,\n b.png", &["a.png", "b.png"]),
        ];
        for (v, want) in cases {
            assert_eq!(texts(v), *want, "{v:?}");
        }
    }
}

//! Byte splices: the rewriters describe their changes as replacements of
//! byte ranges of the input, so every byte outside them is kept as it came.

use std::ops::Range;

/// Replace `range` of the input with `bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub bytes: Vec<u8>,
}

/// The input with the edits applied. Edits that change nothing are
/// dropped; overlapping or out-of-range ones (which the codecs never make)
/// are ignored rather than trusted.
pub fn apply(input: &[u8], mut edits: Vec<Edit>) -> Vec<u8> {
    edits.sort_by_key(|e| e.range.start);
    let mut out = Vec::with_capacity(input.len() + edits.len() * 16);
    let mut at = 0;
    for e in edits {
        if e.range.start < at || e.range.end > input.len() || e.range.start > e.range.end {
            continue;
        }
        out.extend_from_slice(&input[at..e.range.start]);
        out.extend_from_slice(&e.bytes);
        at = e.range.end;
    }
    out.extend_from_slice(&input[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(range: Range<usize>, bytes: &str) -> Edit {
        Edit {
            range,
            bytes: bytes.into(),
        }
    }

    #[test]
    fn splices_in_order_and_ignores_bad_edits() {
        let got = apply(
            b"0123456789",
            vec![e(6..8, "x"), e(1..2, "AB"), e(7..9, "no"), e(9..20, "no")],
        );
        assert_eq!(got, b"0AB2345x89");
        assert_eq!(apply(b"abc", vec![]), b"abc");
        assert_eq!(apply(b"abc", vec![e(3..3, "d")]), b"abcd");
    }
}

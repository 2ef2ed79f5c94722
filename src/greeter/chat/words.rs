//! The chat room's words, pure and sans I/O: what a line means
//! ([`parse_line`]: a message or a command), which names are acceptable
//! ([`check_name`]), and how a message is made safe for other members'
//! terminals ([`sanitize`]). Table-tested; nothing here knows a member,
//! a queue or a socket.

/// Longest name, in bytes (names are ASCII).
pub const MAX_NAME: usize = 24;

/// What one line from a member asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// Text for the room (or, before a name is chosen, the name).
    Say(&'a [u8]),
    /// `/nick NAME`
    Nick(&'a [u8]),
    /// `/me action`
    Me(&'a [u8]),
    /// `/who`
    Who,
    /// `/quit`
    Quit,
    /// `/something` else, or a command missing its argument.
    Unknown(&'a [u8]),
}

/// Reads one line (terminator already removed). A line starting with `//`
/// says the rest with one `/` (so a message may start with a slash).
pub fn parse_line(line: &[u8]) -> Line<'_> {
    let Some(rest) = line.strip_prefix(b"/") else {
        return Line::Say(line);
    };
    if rest.starts_with(b"/") {
        return Line::Say(rest);
    }
    let (word, arg) = match rest.iter().position(|&b| b == b' ') {
        Some(i) => (&rest[..i], trim(&rest[i + 1..])),
        None => (rest, &b""[..]),
    };
    match (word, arg.is_empty()) {
        (b"nick", false) => Line::Nick(arg),
        (b"me", false) => Line::Me(arg),
        (b"who", true) => Line::Who,
        (b"quit", _) => Line::Quit,
        _ => Line::Unknown(word),
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end]
}

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    /// Not printable ASCII, or a space: names must be unambiguous in
    /// `/who` and in `<name>`, and look the same on every terminal.
    NotPrintable,
    Taken,
}

impl NameError {
    pub fn message(self) -> String {
        match self {
            NameError::Empty => "Error: a name cannot be empty\n".into(),
            NameError::TooLong => format!("Error: a name is at most {MAX_NAME} characters\n"),
            NameError::NotPrintable => {
                "Error: a name is printable ASCII without spaces or < > *\n".into()
            }
            NameError::Taken => "Error: that name is taken\n".into(),
        }
    }
}

/// A name's shape (not whether it is taken): 1 to [`MAX_NAME`] printable
/// ASCII characters, without the ones the room's own lines use (`<`,
/// `>`, `*`) or a leading `/`. Returns the name as text.
pub fn check_name(name: &[u8]) -> Result<&str, NameError> {
    let name = trim(name);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let printable = |b: &u8| b.is_ascii_graphic() && !b"<>*".contains(b);
    if !name.iter().all(printable) || name[0] == b'/' {
        return Err(NameError::NotPrintable);
    }
    if name.len() > MAX_NAME {
        return Err(NameError::TooLong);
    }
    Ok(std::str::from_utf8(name).expect("ASCII"))
}

/// The key names are unique under: `Alice` and `alice` are one name.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A message made safe to show on another member's terminal, never longer
/// than it came: control characters (C0, DEL, C1) are removed, so ESC is
/// and an ANSI sequence loses its power (`ESC[2J` arrives as `[2J`); a
/// tab becomes a space; bytes that are not UTF-8 become `?` (one byte for
/// one, so a line of them is not tripled as U+FFFD would).
pub fn sanitize(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.push(' '),
                c if c.is_control() || is_bidi_control(c) => {}
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push('?');
        }
    }
    out
}

/// Bidirectional overrides and isolates reorder the rest of a terminal
/// line (the "Trojan Source" trick): one member could make another's
/// message appear to say something else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        for (input, want) in [
            (&b"hello"[..], Line::Say(b"hello")),
            (b"", Line::Say(b"")),
            (b"//etc/passwd", Line::Say(b"/etc/passwd")),
            (b"/nick Alice", Line::Nick(b"Alice")),
            (b"/nick   Alice  ", Line::Nick(b"Alice")),
            (b"/nick", Line::Unknown(b"nick")),
            (b"/nick  ", Line::Unknown(b"nick")),
            (b"/me waves", Line::Me(b"waves")),
            (b"/me", Line::Unknown(b"me")),
            (b"/who", Line::Who),
            (b"/who cares", Line::Unknown(b"who")),
            (b"/quit", Line::Quit),
            (b"/quit bye all", Line::Quit),
            (b"/", Line::Unknown(b"")),
            (b"/WHO", Line::Unknown(b"WHO")),
            (b"/rm -rf", Line::Unknown(b"rm")),
            (b" /who", Line::Say(b" /who")),
        ] {
            assert_eq!(
                parse_line(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn names() {
        let long = "x".repeat(MAX_NAME);
        let too_long = "x".repeat(MAX_NAME + 1);
        for (input, want) in [
            (&b"Alice"[..], Ok("Alice")),
            (b"  bob ", Ok("bob")),
            (b"o'Neil-2_x.y", Ok("o'Neil-2_x.y")),
            (long.as_bytes(), Ok(long.as_str())),
            (too_long.as_bytes(), Err(NameError::TooLong)),
            (b"", Err(NameError::Empty)),
            (b"   ", Err(NameError::Empty)),
            (b"two words", Err(NameError::NotPrintable)),
            (b"\x1b[31mred", Err(NameError::NotPrintable)),
            (b"tab\there", Err(NameError::NotPrintable)),
            (b"caf\xc3\xa9", Err(NameError::NotPrintable)),
            (b"\xff", Err(NameError::NotPrintable)),
            (b"<admin>", Err(NameError::NotPrintable)),
            (b"*", Err(NameError::NotPrintable)),
            (b"/who", Err(NameError::NotPrintable)),
            (b"a\x00b", Err(NameError::NotPrintable)),
        ] {
            assert_eq!(
                check_name(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(name_key("Alice"), name_key("aLICE"));
    }

    #[test]
    fn sanitizing() {
        for (input, want) in [
            (&b"hello"[..], "hello"),
            (b"caf\xc3\xa9 \xe2\x82\xac", "caf\u{e9} \u{20ac}"),
            (b"\x1b[2J\x1b[31mred\x1b[0m", "[2J[31mred[0m"),
            (b"\x1b]0;title\x07x", "]0;titlex"),
            (b"a\tb", "a b"),
            (b"bell\x07 bs\x08 del\x7f nul\x00", "bell bs del nul"),
            (b"\r\x0b\x0c", ""),
            ("c1 \u{9b}2J".as_bytes(), "c1 2J"),
            ("\u{202e}evil".as_bytes(), "evil"),
            (b"\xff\xfe ok \xc3", "?? ok ?"),
            (b"", ""),
        ] {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn sanitizing_never_grows_a_message() {
        for input in [
            vec![0xff; 1000],
            vec![0x1b; 1000],
            b"\xe2\x82".repeat(500),
            "\u{e9}\t".repeat(300).into_bytes(),
        ] {
            assert!(sanitize(&input).len() <= input.len());
        }
    }
}

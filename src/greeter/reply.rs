//! What the greeting server says: the welcome, the goodbye and `Hello,
//! <msg>!`, as bytes. Pure and a leaf: the TCP and UDP servers both take
//! their words from here, and nothing here knows about either of them.

/// Sent to every TCP client on connect.
pub const WELCOME: &[u8] = b"Welcome!\n";
/// The answer to `exit`, after which the server closes.
pub const BYE: &[u8] = b"Bye!\n";

/// What a reply adds around the message: `Hello, ` before it, `!` after.
pub const HELLO_OVERHEAD: usize = b"Hello, !".len();

/// Appends `Hello, <msg>!`, the message's bytes as received. Nothing is
/// decoded: a lossy UTF-8 decoding would turn each invalid byte into
/// U+FFFD (3 bytes), making the reply up to three times the request, which
/// over UDP is a reflection amplifier. So a reply is never longer than the
/// message plus [`HELLO_OVERHEAD`].
pub fn push_hello(out: &mut Vec<u8>, msg: &[u8]) {
    out.reserve(msg.len() + HELLO_OVERHEAD);
    out.extend_from_slice(b"Hello, ");
    out.extend_from_slice(msg);
    out.push(b'!');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello() {
        for (input, want) in [
            (&b"Michael"[..], "Hello, Michael!"),
            (b"", "Hello, !"),
            ("Zo\u{eb}".as_bytes(), "Hello, Zo\u{eb}!"),
        ] {
            let mut out = Vec::new();
            push_hello(&mut out, input);
            assert_eq!(out, want.as_bytes(), "{input:?}");
        }
    }

    #[test]
    fn hello_echoes_bytes_as_received_and_never_amplifies() {
        let mut out = Vec::new();
        push_hello(&mut out, b"a\xffb");
        assert_eq!(out, b"Hello, a\xffb!");
        for msg in [vec![0xff; 21_833], vec![0x80; 1000], b"\xc3".to_vec()] {
            let mut out = Vec::new();
            push_hello(&mut out, &msg);
            assert_eq!(out.len(), msg.len() + HELLO_OVERHEAD);
        }
    }
}

//! The multipart target: `multipart/form-data` bodies, valid and mutated,
//! split at random points. No panic, progress on every call that does
//! not ask for more, and the same events (data joined) whatever the cuts.

use super::*;
use crate::http::multipart::{Event, Multipart, MultipartError};

const BODIES: &[&[u8]] = &[
    b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhello\r\n--B--\r\n",
    b"pre\r\n--B\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=\"y\"; filename=\"\"\r\nContent-Type: a/b\r\n\r\n\r\n--B--",
    b"--B  \r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''%C3%A9.bin\r\n\r\n\r\n--B\r\n--B--\r\n\r\n--B\r\n",
    b"--B\r\n\r\nno disposition\r\n--B--",
];

/// What a parse came to: per part (field, file name, data), whether it
/// ended, and the error if any.
type Parsed = (
    Vec<(String, Option<String>, Vec<u8>)>,
    bool,
    Option<MultipartError>,
);

fn parse_in_pieces(input: &[u8], cuts: &[usize]) -> Parsed {
    let mut m = Multipart::new(b"B");
    let (mut buf, mut parts, mut fed) = (Vec::new(), Vec::new(), 0);
    for end in cuts.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        let at_end = fed == input.len();
        for _ in 0..=buf.len() + 2 {
            let (ev, n) = match m.next(&buf, at_end) {
                Ok(Some(got)) => got,
                Ok(None) => break,
                Err(e) => return (parts, m.is_done(), Some(e)),
            };
            assert!(n <= buf.len(), "used more than given");
            match ev {
                Event::PartStart { field, filename } => parts.push((field, filename, Vec::new())),
                Event::Data(r) => {
                    assert!(r.end <= n);
                    if let Some(p) = parts.last_mut() {
                        p.2.extend_from_slice(&buf[r]);
                    }
                }
                Event::PartEnd | Event::Done => {}
            }
            assert!(n > 0 || m.is_done(), "an event that used nothing");
            buf.drain(..n);
        }
    }
    (parts, m.is_done(), None)
}

#[test]
fn multipart_parser() {
    run("multipart_parser", |rng| {
        let input = message(rng, BODIES, 2);
        let whole = parse_in_pieces(&input, &[]);
        let split = parse_in_pieces(&input, &cuts(rng, input.len()));
        assert_eq!(whole, split, "input {:?}", String::from_utf8_lossy(&input));
    });
}

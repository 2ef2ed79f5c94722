//! `-v` for a segmented download: the heads of every connection after the
//! first go in the transcript like the first's, each line labelled with
//! its connection's number (`#2 > GET /f HTTP/1.1`, `#2 < HTTP/1.1 206`),
//! as curl numbers connections (`Connection #1`), so that interleaved
//! connections can be told apart. A head is written in one piece, line by
//! line, so stderr stays line-based. Only shows; decides nothing.

use std::io::{self, Write};

use crate::client::headers::{hide_credentials, write_head, Printer, Style};

/// Which way a head went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Sent,
    Received,
}

/// Shows `head` of connection `label` on stderr, with `-v`.
pub fn show(printer: &Printer, label: usize, head: &[u8], way: Way) {
    if !printer.verbose {
        return;
    }
    let mut text = Vec::new();
    // Into memory first: one write, so no other output lands mid-line.
    if write_labelled(&mut text, label, head, way, printer.escape_stderr).is_ok() {
        // The transcript is diagnostics: a closed stderr must not stop the download.
        let _ = io::stderr().lock().write_all(&text);
    }
}

/// One `* ` line of the transcript, with `-v`.
pub fn note(printer: &Printer, text: &str) {
    if printer.verbose {
        let _ = writeln!(io::stderr().lock(), "* {text}");
    }
}

fn write_labelled(
    w: &mut impl Write,
    label: usize,
    head: &[u8],
    way: Way,
    escape: bool,
) -> io::Result<()> {
    let (head, arrow) = match way {
        Way::Sent => (hide_credentials(head), "> "),
        Way::Received => (head.to_vec(), "< "),
    };
    let mut plain = Vec::new();
    write_head(&mut plain, &head, Style::prefixed(arrow, escape))?;
    for line in plain.split_inclusive(|&b| b == b'\n') {
        write!(w, "#{label} ")?;
        w.write_all(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_names_its_connection() {
        let render = |head: &[u8], way, escape| {
            let mut v = Vec::new();
            write_labelled(&mut v, 3, head, way, escape).unwrap();
            String::from_utf8(v).unwrap()
        };
        let cases: [(&[u8], Way, bool, &str); 3] = [
            (
                b"GET /f HTTP/1.1\r\nRange: bytes=10-19\r\nAuthorization: Basic dTpw\r\n\r\n",
                Way::Sent,
                false,
                "#3 > GET /f HTTP/1.1\n#3 > Range: bytes=10-19\n#3 > Authorization: Basic ***\n#3 > \n",
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nETag: \"e\x1b\"\r\n\r\n",
                Way::Received,
                true,
                "#3 < HTTP/1.1 206 Partial Content\n#3 < ETag: \"e\\x1b\"\n#3 < \n",
            ),
            (
                b"HTTP/1.1 100 Continue\n\n",
                Way::Received,
                false,
                "#3 < HTTP/1.1 100 Continue\n#3 < \n",
            ),
        ];
        for (head, way, escape, want) in cases {
            assert_eq!(render(head, way, escape), want);
        }
    }
}

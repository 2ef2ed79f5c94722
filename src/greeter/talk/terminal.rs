//! `talk`'s terminal side: the thread that reads lines from stdin and wakes
//! the loop, and how what the server sends is written out (whole lines, a
//! datagram as one line). It writes into any `impl Write` it is given and
//! never touches a socket or decides what is sent when.

use std::io::{self, BufRead, BufReader, Write};
use std::sync::mpsc::{self, Receiver};

use crate::event_loop::Notifier;
use crate::greeter::lines::trim_line_end;

/// Lines from stdin waiting for the loop; the reader blocks beyond this.
const STDIN_BACKLOG: usize = 1024;
/// A "line" this long without a newline is printed as it is, newline later,
/// rather than held.
const PRINT_AHEAD: usize = 60 * 1024;

/// The process's stdin, as lines for [`spawn_line_reader`].
pub fn stdin_lines() -> Box<dyn BufRead + Send> {
    Box::new(BufReader::new(io::stdin()))
}

/// Reads lines on a thread and hands them over, waking the loop after each
/// one and once more at end of input (the sender hanging up says so).
pub fn spawn_line_reader(input: Box<dyn BufRead + Send>, notifier: Notifier) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::sync_channel(STDIN_BACKLOG);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            read_lines(input, &tx, &notifier);
            drop(tx);
            notifier.notify();
        });
    if let Err(e) = spawned {
        // The receiver sees a hung-up sender: no input, which is reported
        // by the conversation simply ending.
        log::warn!("cannot start the stdin reader: {e}");
    }
    rx
}

/// The reader thread's loop: until end of input, an error, or the loop
/// no longer listening.
fn read_lines(
    mut input: Box<dyn BufRead + Send>,
    tx: &mpsc::SyncSender<Vec<u8>>,
    notifier: &Notifier,
) {
    loop {
        let mut line = Vec::new();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                let len = trim_line_end(&line).len();
                line.truncate(len);
                if tx.send(line).is_err() {
                    return;
                }
                notifier.notify();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::warn!("reading stdin: {e}");
                return;
            }
        }
    }
}

/// What [`print_lines`] took from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Printed {
    /// Bytes consumed.
    pub used: usize,
    /// Complete lines written (a last unterminated one at EOF counts).
    pub lines: u64,
}

/// Writes every complete line in `data` to `out`. At EOF (`at_eof`) a last
/// line without its newline is written with one; a line too long to hold
/// is written as far as it goes. Flushes once if any line was written.
pub(super) fn print_lines(out: &mut impl Write, data: &[u8], at_eof: bool) -> io::Result<Printed> {
    let mut used = 0;
    let mut lines = 0;
    while let Some(i) = memchr::memchr(b'\n', &data[used..]) {
        out.write_all(&data[used..used + i + 1])?;
        used += i + 1;
        lines += 1;
    }
    let rest = &data[used..];
    if at_eof && !rest.is_empty() {
        out.write_all(rest)?;
        out.write_all(b"\n")?;
        used = data.len();
        lines += 1;
    } else if rest.len() >= PRINT_AHEAD {
        out.write_all(rest)?;
        used = data.len();
    }
    if lines > 0 {
        out.flush()?;
    }
    Ok(Printed { used, lines })
}

/// Writes one datagram as one line.
pub(super) fn print_datagram(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    out.write_all(data)?;
    if !data.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_printed_whole_and_the_rest_kept() {
        let mut out = Vec::new();
        let p = print_lines(&mut out, b"a\r\nb\npart", false).unwrap();
        assert_eq!(p, Printed { used: 5, lines: 2 });
        assert_eq!(out, b"a\r\nb\n");
        let p = print_lines(&mut out, b"part", true).unwrap();
        assert_eq!(p, Printed { used: 4, lines: 1 });
        assert_eq!(out, b"a\r\nb\npart\n");
        assert_eq!(print_lines(&mut out, b"", true).unwrap().lines, 0);
    }

    #[test]
    fn a_line_too_long_to_hold_is_printed_as_far_as_it_goes() {
        let mut out = Vec::new();
        let long = vec![b'x'; PRINT_AHEAD];
        let p = print_lines(&mut out, &long, false).unwrap();
        assert_eq!(
            p,
            Printed {
                used: PRINT_AHEAD,
                lines: 0
            }
        );
        assert_eq!(out, long);
    }

    #[test]
    fn a_datagram_is_one_line() {
        let mut out = Vec::new();
        print_datagram(&mut out, b"Hello, a!").unwrap();
        print_datagram(&mut out, b"b\n").unwrap();
        assert_eq!(out, b"Hello, a!\nb\n");
    }

    #[test]
    fn the_reader_hands_over_trimmed_lines_then_hangs_up() {
        use crate::event_loop::{bind_udp, DatagramLoop, Shutdown};
        use std::time::Duration;
        let socket = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let lp = DatagramLoop::new(socket, Shutdown::new()).unwrap();
        let input = Box::new(io::Cursor::new(b"a\r\nb\nc".to_vec()));
        let rx = spawn_line_reader(input, lp.notifier());
        let mut got = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            got.push(line);
        }
        assert_eq!(got, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(
            rx.try_recv(),
            Err(mpsc::TryRecvError::Disconnected),
            "end of input hangs up"
        );
    }
}

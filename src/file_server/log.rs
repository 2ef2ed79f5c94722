//! The access log: one line per response in the combined log format
//! (`host - - [time] "request" status bytes "referer" "user-agent"`),
//! written to stdout. Client-controlled text is escaped so a request
//! cannot forge log lines or terminal sequences.

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// What one log line says.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub peer: IpAddr,
    pub time: SystemTime,
    /// The request line, or `None` when none could be parsed.
    pub request: Option<(&'a str, &'a str, &'a str)>,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

/// Writes one line, newline included.
pub fn write_line(w: &mut impl Write, e: &Entry<'_>) -> io::Result<()> {
    let mut line = Vec::with_capacity(200);
    write!(line, "{} - - [", e.peer)?;
    clf_time(&mut line, e.time)?;
    line.extend_from_slice(b"] \"");
    match e.request {
        Some((method, target, version)) => {
            escape(&mut line, method.as_bytes());
            line.push(b' ');
            escape(&mut line, target.as_bytes());
            line.push(b' ');
            escape(&mut line, version.as_bytes());
        }
        None => line.push(b'-'),
    }
    write!(line, "\" {} ", e.status)?;
    if e.bytes == 0 {
        line.push(b'-');
    } else {
        write!(line, "{}", e.bytes)?;
    }
    for field in [e.referer, e.user_agent] {
        line.extend_from_slice(b" \"");
        match field {
            Some(v) => escape(&mut line, v),
            None => line.push(b'-'),
        }
        line.push(b'"');
    }
    line.push(b'\n');
    w.write_all(&line)
}

/// Writes `line` to stdout whole; a closed stdout is ignored (the server
/// keeps serving when its log reader goes away).
pub fn emit(e: &Entry<'_>) {
    let _ = write_line(&mut io::stdout().lock(), e);
}

/// `"`, `\` and bytes outside printable ASCII as `\xHH`, as nginx does.
fn escape(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b);
        }
    }
}

/// `10/Oct/2000:13:55:36 +0000`, in UTC.
fn clf_time(out: &mut Vec<u8>, t: SystemTime) -> io::Result<()> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    write!(
        out,
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn combined_format() {
        let e = Entry {
            peer: "127.0.0.1".parse().unwrap(),
            time: UNIX_EPOCH + Duration::from_secs(971_186_136),
            request: Some(("GET", "/a\"b\n", "HTTP/1.1")),
            status: 200,
            bytes: 2326,
            referer: None,
            user_agent: Some(b"curl/8.0 \x1b[31m"),
        };
        let mut out = Vec::new();
        write_line(&mut out, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /a\\x22b\\x0A HTTP/1.1\" 200 2326 \"-\" \"curl/8.0 \\x1B[31m\"\n"
        );
        let e = Entry {
            request: None,
            bytes: 0,
            status: 400,
            ..e
        };
        let mut out = Vec::new();
        write_line(&mut out, &e).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("\"-\" 400 - \"-\""));
    }

    #[test]
    fn calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }
}

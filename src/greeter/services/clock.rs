//! The words of the small services, pure: the `clock` service's answer to
//! a line ([`clock_reply`]: a Unix timestamp, integer or decimal, to its
//! date in the lesson's `ctime` form), the RFC 867 daytime line and the
//! RFC 868 time value. The lesson's server computed its answer with `eval`
//! on the bytes received; here a line is parsed as a number by a strict
//! grammar, and anything else is an error line: nothing is ever evaluated.
//! Time zones come from jiff (TZ, else /etc/localtime); no I/O here
//! beyond what `TimeZone::system` reads once, at start.

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Seconds from 1900-01-01 to 1970-01-01 (RFC 868).
pub const RFC868_OFFSET: i64 = 2_208_988_800;

/// Longest timestamp line looked at; longer ones are not numbers anyone means.
const MAX_NUMBER: usize = 32;

/// Why a line is not a timestamp we can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockError {
    NotANumber,
    OutOfRange,
}

impl ClockError {
    pub fn line(self) -> &'static [u8] {
        match self {
            ClockError::NotANumber => {
                b"Error: send a Unix timestamp in seconds, like 1700000000 or 1700000000.5\n"
            }
            ClockError::OutOfRange => b"Error: timestamp out of range (years -9999 to 9999)\n",
        }
    }
}

/// `[+-]digits[.digits]`, or `[+-].digits`; at most `MAX_NUMBER` (32) bytes.
/// Returns whole seconds, rounded toward the past as `ctime` shows them.
pub fn parse_timestamp(line: &[u8]) -> Result<i64, ClockError> {
    let line = line.trim_ascii();
    if line.is_empty() || line.len() > MAX_NUMBER {
        return Err(ClockError::NotANumber);
    }
    let (negative, body) = match line[0] {
        b'-' => (true, &line[1..]),
        b'+' => (false, &line[1..]),
        _ => (false, line),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &b""[..]),
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(ClockError::NotANumber);
    }
    let mut secs: i64 = 0;
    for &d in int {
        secs = secs
            .checked_mul(10)
            .and_then(|s| s.checked_add(i64::from(d - b'0')))
            .ok_or(ClockError::OutOfRange)?;
    }
    let has_fraction = frac.iter().any(|&d| d != b'0');
    Ok(match (negative, has_fraction) {
        (false, _) => secs,
        (true, false) => -secs,
        (true, true) => -secs - 1,
    })
}

/// `Thu Jan  1 00:00:00 1970`: Python's `time.ctime`, in `zone`.
pub fn ctime(secs: i64, zone: &TimeZone) -> Result<String, ClockError> {
    let ts = Timestamp::from_second(secs).map_err(|_| ClockError::OutOfRange)?;
    let dt = zone.to_datetime(ts);
    Ok(dt.strftime("%a %b %e %H:%M:%S %Y").to_string())
}

/// The reply to one line of the `clock` service, newline included.
pub fn clock_reply(line: &[u8], zone: &TimeZone) -> Vec<u8> {
    match parse_timestamp(line).and_then(|s| ctime(s, zone)) {
        Ok(text) => format!("{text}\n").into_bytes(),
        Err(e) => e.line().to_vec(),
    }
}

/// RFC 867 suggests `Weekday, Month Day, Year Time-Zone`; this is that,
/// with the zone's abbreviation or offset, and CRLF as inetd sends it.
pub fn daytime_line(now: Timestamp, zone: &TimeZone) -> Vec<u8> {
    let zoned = now.to_zoned(zone.clone());
    format!("{}\r\n", zoned.strftime("%A, %B %-d, %Y %H:%M:%S-%Z")).into_bytes()
}

/// RFC 868: seconds since 1900-01-01 00:00 UTC, 32 bits, network byte
/// order; the count wraps in 2036 as the RFC's 32 bits do.
pub fn time_bytes(now: Timestamp) -> [u8; 4] {
    let since_1900 = now.as_second().wrapping_add(RFC868_OFFSET);
    (since_1900 as u32).to_be_bytes()
}

/// An RFC 868 value back as a Unix time, taking the era nearest `near`
/// (so an answer after 2036's wrap still reads right).
pub fn from_time_bytes(bytes: [u8; 4], near: Timestamp) -> i64 {
    let value = i64::from(u32::from_be_bytes(bytes));
    let era = 1i64 << 32;
    let guess = near.as_second() + RFC868_OFFSET;
    let base = guess - guess.rem_euclid(era);
    let candidates = [base - era + value, base + value, base + era + value];
    let best = candidates
        .into_iter()
        .min_by_key(|c| (c - guess).abs())
        .expect("three candidates");
    best - RFC868_OFFSET
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        use ClockError::*;
        for (input, want) in [
            (&b"0"[..], Ok(0)),
            (b"1700000000", Ok(1_700_000_000)),
            (b"1700000000.999", Ok(1_700_000_000)),
            (b" 42 ", Ok(42)),
            (b"+42", Ok(42)),
            (b"-1", Ok(-1)),
            (b"-1.5", Ok(-2)),
            (b"-1.0", Ok(-1)),
            (b".5", Ok(0)),
            (b"5.", Ok(5)),
            (b"", Err(NotANumber)),
            (b"   ", Err(NotANumber)),
            (b".", Err(NotANumber)),
            (b"-", Err(NotANumber)),
            (b"1e9", Err(NotANumber)),
            (b"0x10", Err(NotANumber)),
            (b"1_000", Err(NotANumber)),
            (b"1.2.3", Err(NotANumber)),
            (b"__import__('os').system('rm -rf /')", Err(NotANumber)),
            (b"time.time()", Err(NotANumber)),
            (b"NaN", Err(NotANumber)),
            (b"inf", Err(NotANumber)),
            (b"\xff", Err(NotANumber)),
            (b"99999999999999999999", Err(OutOfRange)),
            (&[b'1'; 33][..], Err(NotANumber)),
        ] {
            assert_eq!(
                parse_timestamp(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn ctime_is_the_lessons_form() {
        let utc = TimeZone::UTC;
        for (secs, want) in [
            (0, Ok("Thu Jan  1 00:00:00 1970")),
            (1_700_000_000, Ok("Tue Nov 14 22:13:20 2023")),
            (-1, Ok("Wed Dec 31 23:59:59 1969")),
            (4_102_444_800, Ok("Fri Jan  1 00:00:00 2100")),
            (253_402_300_800, Err(ClockError::OutOfRange)),
        ] {
            assert_eq!(
                ctime(secs, &utc).as_deref(),
                want.as_ref().map(|s| *s),
                "{secs}"
            );
        }
        let paris = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(ctime(0, &paris).unwrap(), "Thu Jan  1 01:00:00 1970");
        assert_eq!(clock_reply(b"0\r", &utc), b"Thu Jan  1 00:00:00 1970\n");
        assert_eq!(clock_reply(b"", &utc), ClockError::NotANumber.line());
    }

    #[test]
    fn rfc_868_and_867() {
        let t = Timestamp::from_second(0).unwrap();
        assert_eq!(time_bytes(t), 2_208_988_800u32.to_be_bytes());
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(from_time_bytes(time_bytes(now), now), 1_700_000_000);
        // After the 2036 wrap the era is taken from the local clock.
        let later = Timestamp::from_second(2_200_000_000).unwrap();
        assert_eq!(
            time_bytes(later),
            ((2_200_000_000i64 + RFC868_OFFSET) as u32).to_be_bytes()
        );
        assert_eq!(from_time_bytes(time_bytes(later), later), 2_200_000_000);
        let line = daytime_line(now, &TimeZone::UTC);
        assert_eq!(line, b"Tuesday, November 14, 2023 22:13:20-UTC\r\n");
    }
}

//! The machine-readable reports of a finished transfer, built from the
//! job's [`HopRecord`]s: the JSON document of `headers --json` and
//! `fetch --json-meta` ([`document`]), and a `-w` format rendered with
//! curl's meanings ([`write_out`]). Pure over the records and a
//! [`Finished`] summary; the service decides where the text goes.
//!
//! JSON choices: times are seconds as numbers with microsecond precision
//! (`null` when not measured: `tls` without TLS); a hop on a connection
//! kept alive from an earlier download says `reused` and, as curl counts
//! it, took 0 to look up, connect and shake hands; a header value, or a
//! reason phrase, that is not UTF-8 is an array of its byte values instead
//! of a string, so every byte is kept and a string is always exactly what
//! came.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::headers::Timing;
use super::inspect::HopRecord;
use super::job::Job;
use super::write_out::{Piece, Var, VARS};
use crate::http::{Header, Version};
use crate::tls::TlsInfo;

/// How a transfer ended, as the reports need it.
#[derive(Debug, Clone)]
pub struct Finished<'a> {
    /// Body bytes delivered (after content decoding).
    pub size: u64,
    /// Where the body was saved, when it went to a file.
    pub file: Option<&'a Path>,
    /// From the first request to the end, redirects included.
    pub total: Duration,
    /// The failure, as it is reported on stderr.
    pub error: Option<String>,
}

/// The transfer as one JSON document.
pub fn document(job: &Job, end: &Finished<'_>) -> Value {
    let last = job.hops.last();
    let unix = job.config.web.connect.unix_socket.as_deref();
    json!({
        "url": job.hops.first().map_or(job.url(), |h| &h.url).as_str(),
        "url_effective": job.url().as_str(),
        "http_code": last.map(|h| h.status),
        "num_redirects": job.trail.redirects(),
        "num_connects": job.connects,
        "size_download": end.size,
        "filename_effective": end.file.map(|p| p.to_string_lossy()),
        "time_total": seconds(end.total),
        "error": end.error,
        "hops": job.hops.iter().map(|h| hop(h, unix)).collect::<Vec<_>>(),
    })
}

/// One hop; `unix`: `--unix-socket`'s path, which every hop went over
/// (its `remote_ip` and `remote_port` are then `null`).
fn hop(h: &HopRecord, unix: Option<&Path>) -> Value {
    let t = &h.timing;
    let secs = |d: Option<Duration>| d.map(seconds);
    json!({
        "url": h.url.as_str(),
        "remote_ip": h.remote.map(|a| a.ip().to_string()),
        "remote_port": h.remote.map(|a| a.port()),
        "unix_socket": unix.map(|p| p.to_string_lossy()),
        "reused": h.reused,
        "http_version": version(h.version),
        "status": h.status,
        "reason": text_or_bytes(&h.reason),
        "headers": h.headers.iter().map(|f| json!([f.name, text_or_bytes(&f.value)])).collect::<Vec<_>>(),
        "timings": {
            "lookup": secs(t.lookup),
            "connect": secs(t.connect),
            "tls": secs(t.tls),
            "request_sent": secs(t.request_sent),
            "first_byte": secs(t.first_byte),
            "total": secs(t.total),
        },
        "tls": h.tls.as_ref().map(tls),
    })
}

fn tls(info: &TlsInfo) -> Value {
    let cert = info.certificate.as_ref();
    json!({
        "version": info.version,
        "cipher": info.cipher_suite,
        "alpn": info.alpn,
        "subject": cert.map(|c| &c.subject),
        "issuer": cert.map(|c| &c.issuer),
        "not_after": cert.and_then(|c| c.not_after).map(rfc3339),
    })
}

fn version(v: Version) -> &'static str {
    match v {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
    }
}

/// A string when the bytes are UTF-8, else the bytes as numbers.
fn text_or_bytes(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::from(s),
        Err(_) => Value::from(bytes.to_vec()),
    }
}

/// Seconds with microsecond precision, as a JSON number.
fn seconds(d: Duration) -> Value {
    json!(d.as_micros() as f64 / 1e6)
}

/// `2027-03-01T12:00:00Z`.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// curl's cumulative times: each phase summed over the hops (each hop
/// measured from its own start), as `curl -w` reports them with `-L`.
fn cumulative(job: &Job) -> Timing {
    let hops: Vec<&Timing> = match job.hops.is_empty() {
        true => vec![&job.timing],
        false => job.hops.iter().map(|h| &h.timing).collect(),
    };
    let sum = |f: fn(&Timing) -> Option<Duration>| Some(hops.iter().filter_map(|t| f(t)).sum());
    Timing {
        lookup: sum(|t| t.lookup),
        connect: sum(|t| t.connect),
        tls: sum(|t| t.tls),
        request_sent: sum(|t| t.request_sent),
        first_byte: sum(|t| t.first_byte),
        total: None,
        redirects: job.trail.redirects(),
    }
}

/// Renders a `-w` format for a finished transfer.
pub fn write_out(pieces: &[Piece], job: &Job, end: &Finished<'_>) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(&variable(*v, job, end)),
            Piece::Header(name) => {
                let values: Vec<String> = final_headers(job)
                    .iter()
                    .filter(|h| h.is(name))
                    .map(|h| String::from_utf8_lossy(&h.value).into_owned())
                    .collect();
                out.push_str(&values.join(", "));
            }
        }
    }
    out
}

fn final_headers(job: &Job) -> &[Header] {
    job.hops.last().map_or(&[], |h| &h.headers)
}

/// One variable's value as `curl -w` prints it.
fn variable(var: Var, job: &Job, end: &Finished<'_>) -> String {
    let t = cumulative(job);
    let secs = |d: Option<Duration>| format!("{:.6}", d.unwrap_or_default().as_secs_f64());
    let remote = job.hops.last().and_then(|h| h.remote).or(job.peer);
    match var {
        Var::HttpCode => format!("{:03}", job.hops.last().map_or(0, |h| h.status)),
        Var::UrlEffective => job.url().to_string(),
        Var::SizeDownload => end.size.to_string(),
        Var::SpeedDownload => {
            let s = end.total.as_secs_f64();
            let speed = if s > 0.0 { end.size as f64 / s } else { 0.0 };
            format!("{}", speed as u64)
        }
        Var::TimeNamelookup => secs(t.lookup),
        Var::TimeConnect => secs(t.connect),
        Var::TimeAppconnect => secs(t.tls),
        Var::TimeStarttransfer => secs(t.first_byte),
        Var::TimeTotal => secs(Some(end.total)),
        Var::NumRedirects => t.redirects.to_string(),
        Var::NumConnects => job.connects.to_string(),
        Var::RemoteIp => remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        Var::RemotePort => remote.map(|a| a.port().to_string()).unwrap_or_default(),
        Var::ContentType => crate::http::find(final_headers(job), "content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default(),
        Var::FilenameEffective => end
            .file
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Var::Json => all_variables(job, end).to_string(),
        Var::HeaderJson => header_json(final_headers(job)).to_string(),
    }
}

/// `%{json}`: every other variable, numbers as numbers.
fn all_variables(job: &Job, end: &Finished<'_>) -> Value {
    let mut map = Map::new();
    for (name, var) in VARS {
        if matches!(var, Var::Json | Var::HeaderJson) {
            continue;
        }
        let text = variable(var, job, end);
        let value = match var {
            Var::HttpCode
            | Var::SizeDownload
            | Var::SpeedDownload
            | Var::NumRedirects
            | Var::NumConnects => text.parse::<u64>().map_or(Value::from(text), Value::from),
            Var::RemotePort => text.parse::<u16>().map_or(Value::Null, Value::from),
            _ if name.starts_with("time_") => text.parse::<f64>().map_or(Value::Null, Value::from),
            _ => Value::from(text),
        };
        map.insert(name.to_string(), value);
    }
    Value::Object(map)
}

/// `%{header_json}`: names in lower case, each with its values in order.
fn header_json(headers: &[Header]) -> Value {
    let mut map = Map::new();
    for h in headers {
        let entry = map
            .entry(h.name.to_ascii_lowercase())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::from(String::from_utf8_lossy(&h.value).into_owned()));
        }
    }
    Value::Object(map)
}

/// The document as one line, for a JSON Lines file or stdout.
pub fn line(doc: &Value) -> String {
    let mut s = doc.to_string();
    let _ = writeln!(s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        // (seconds since the epoch, the date)
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_798_761_599, "2026-12-31T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn values_that_are_not_utf8_become_bytes() {
        assert_eq!(text_or_bytes(b"caf\xc3\xa9"), json!("café"));
        assert_eq!(text_or_bytes(b"caf\xe9"), json!([99, 97, 102, 233]));
        assert_eq!(seconds(Duration::from_nanos(1_234_567)), json!(0.001234));
    }

    #[test]
    fn header_json_lowers_names_and_keeps_repeats() {
        let headers = [
            Header::new("Set-Cookie", "a=1"),
            Header::new("X-One", "x"),
            Header::new("set-cookie", "b=2"),
        ];
        assert_eq!(
            header_json(&headers),
            json!({"set-cookie": ["a=1", "b=2"], "x-one": ["x"]})
        );
    }
}

//! What the server's own pages share: the style (light and dark, narrow
//! screens), the choice between HTML, JSON and plain text from `Accept`,
//! UTC dates for people and for RFC 3339, and the error pages. Error
//! bodies depend only on status and format, so each is built once per
//! loop thread and shared by every response that needs it.
//!
//! Pure: no I/O, no request state beyond the headers it is handed.

use std::cell::RefCell;
use std::rc::Rc;

use super::reply::status_line;
use crate::http::{self, Header};

/// The style every page shares (error pages have only this): dark when
/// the system is.
pub const STYLE: &str = concat!(
    ":root{color-scheme:light dark}",
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:56rem;",
    "padding:0 1rem;color:#222;background:#fff}",
    "a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}",
    "nav,h1{font-size:1.3rem;margin:0 0 1rem;overflow-wrap:anywhere}",
    "@media (prefers-color-scheme:dark){body{color:#ddd;background:#121417}a{color:#6cb6ff}}",
    "@media (max-width:30rem){body{margin:1rem auto;padding:0 .5rem}}",
);

/// What a listing adds: the table, the summary line and the filter box,
/// narrower cells on a phone (a 360 px screen fits all three columns).
pub const LISTING_STYLE: &str = concat!(
    "table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;text-align:left}",
    "tr:nth-child(even){background:#f4f6f8}.n{text-align:right;white-space:nowrap}",
    "td:first-child{overflow-wrap:anywhere}td:last-child{white-space:nowrap}",
    ".sum{color:#666;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;",
    "justify-content:space-between;margin:0 0 .5rem}",
    "input{font:inherit;padding:.2rem .4rem;max-width:100%;box-sizing:border-box}",
    "@media (prefers-color-scheme:dark){tr:nth-child(even){background:#1d2126}.sum{color:#999}}",
    "@media (max-width:30rem){td,th{padding:.25rem .3rem}}",
);

/// The form of a page the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Text,
}

/// The best of HTML, JSON and plain text by `Accept` (RFC 9110 section
/// 12.5.1): the highest q wins, a named type beats a wildcard at the same
/// q, then the first listed. No Accept, or nothing we offer, is HTML.
pub fn negotiate(headers: &[Header]) -> Format {
    let mut best = (0u16, false, Format::Html);
    for item in http::list(headers, "accept") {
        let mut parts = item.split(|&b| b == b';');
        let mime = http::trim(parts.next().unwrap_or(b""));
        let q = parts
            .filter_map(|p| http::trim(p).strip_prefix(b"q=").map(quality))
            .next()
            .unwrap_or(1000);
        let is = |m: &str| mime.eq_ignore_ascii_case(m.as_bytes());
        let (format, named) = if is("text/html") || is("application/xhtml+xml") {
            (Format::Html, true)
        } else if is("application/json") {
            (Format::Json, true)
        } else if is("text/plain") {
            (Format::Text, true)
        } else if is("*/*") || is("text/*") {
            (Format::Html, false)
        } else {
            continue;
        };
        if q > 0 && (q, named) > (best.0, best.1) {
            best = (q, named, format);
        }
    }
    best.2
}

/// A qvalue in thousandths; anything malformed counts as 1.
fn quality(v: &[u8]) -> u16 {
    let s = std::str::from_utf8(v).unwrap_or("1");
    s.parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(1000, |q| (q * 1000.0).round() as u16)
}

/// A moment in UTC, years 0 through 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Utc {
    /// Seconds since the epoch (negative before it), if the year has four
    /// digits.
    pub fn from_unix(secs: i64) -> Option<Utc> {
        let rest = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = super::log::civil_from_days(secs.div_euclid(86_400))?;
        (0..=9999).contains(&year).then_some(Utc {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        })
    }

    /// `2026-11-29`.
    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `2026-11-29 22:27`: what a listing shows.
    pub fn short(&self) -> String {
        format!("{} {:02}:{:02}", self.date(), self.hour, self.minute)
    }

    /// `2026-11-29 22:27:13 UTC`: the full date, for a title.
    pub fn long(&self) -> String {
        format!("{}:{:02} UTC", self.short(), self.second)
    }

    /// `2026-11-29T22:27:13Z` (RFC 3339).
    pub fn rfc3339(&self) -> String {
        let (h, m, s) = (self.hour, self.minute, self.second);
        format!("{}T{h:02}:{m:02}:{s:02}Z", self.date())
    }
}

/// One sentence on what a status means for the person who met it.
fn explanation(status: u16) -> &'static str {
    match status {
        400 => "The request could not be understood.",
        403 => "This file or folder may not be read.",
        404 => "Nothing is served at this address.",
        405 => "Only GET and HEAD are answered here.",
        408 => "The request took too long to arrive.",
        412 => "The file has changed since the version the request named.",
        414 => "The address is too long.",
        416 => "The requested range lies outside the file.",
        431 => "The request's headers are too large.",
        501 => "This server does not do what the request asked.",
        503 => "The server is busy; try again in a moment.",
        505 => "This server speaks HTTP/1.0 and HTTP/1.1.",
        _ => "The server could not answer this request.",
    }
}

/// An error body already rendered, by status and format.
type Rendered = (u16, Format, Rc<[u8]>);

/// The body of an error response and its Content-Type, built once per
/// status and format on this thread.
pub fn error_body(status: u16, format: Format) -> (Rc<[u8]>, &'static str) {
    thread_local! {
        static PAGES: RefCell<Vec<Rendered>> = const { RefCell::new(Vec::new()) };
    }
    let ctype = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Json => "application/json",
        Format::Text => "text/plain; charset=utf-8",
    };
    let body = PAGES.with(|pages| {
        let mut pages = pages.borrow_mut();
        if let Some((_, _, b)) = pages.iter().find(|p| p.0 == status && p.1 == format) {
            return b.clone();
        }
        let b: Rc<[u8]> = render_error(status, format).into_bytes().into();
        pages.push((status, format, b.clone()));
        b
    });
    (body, ctype)
}

fn render_error(status: u16, format: Format) -> String {
    let line = status_line(status);
    let reason = line.split_once(' ').map_or(line, |(_, r)| r);
    match format {
        Format::Text => format!("{line}\n"),
        // The reasons are fixed ASCII words: nothing to escape.
        Format::Json => format!("{{\"status\":{status},\"error\":\"{reason}\"}}\n"),
        Format::Html => format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{line}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>{line}</h1>\n<p>{}</p>\n<p><a href=\"/\">Go to the top folder /</a></p>\n\
             </body>\n</html>\n",
            explanation(status)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_html_json_or_text() {
        let accept = |v: &str| negotiate(&[Header::new("Accept", v)]);
        let cases = [
            ("", Format::Html),
            ("*/*", Format::Html),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                Format::Html,
            ),
            ("application/json", Format::Json),
            ("application/json, */*", Format::Json),
            ("*/*, application/json", Format::Json),
            ("text/plain", Format::Text),
            ("TEXT/PLAIN; charset=utf-8", Format::Text),
            ("text/plain;q=0.5, application/json;q=0.9", Format::Json),
            ("application/json;q=0, text/plain", Format::Text),
            ("text/html;q=0.1, text/plain", Format::Text),
            ("image/png", Format::Html),
            ("text/plain;q=bogus", Format::Text),
        ];
        for (v, want) in cases {
            assert_eq!(accept(v), want, "{v:?}");
        }
        assert_eq!(negotiate(&[]), Format::Html);
    }

    #[test]
    fn utc_dates_for_any_four_digit_year() {
        let cases = [
            (0, Some("1970-01-01T00:00:00Z")),
            (1_795_991_233, Some("2026-11-29T22:27:13Z")),
            (-1, Some("1969-12-31T23:59:59Z")),
            (-315_619_200, Some("1960-01-01T00:00:00Z")),
            (951_782_400, Some("2000-02-29T00:00:00Z")),
            (253_402_300_799, Some("9999-12-31T23:59:59Z")),
            (253_402_300_800, None),
            (-62_167_219_200, Some("0000-01-01T00:00:00Z")),
            (-62_167_219_201, None),
            (i64::MAX, None),
            (i64::MIN, None),
        ];
        for (secs, want) in cases {
            let got = Utc::from_unix(secs).map(|u| u.rfc3339());
            assert_eq!(got.as_deref(), want, "{secs}");
        }
        let u = Utc::from_unix(1_795_991_233).unwrap();
        assert_eq!(u.short(), "2026-11-29 22:27");
        assert_eq!(u.long(), "2026-11-29 22:27:13 UTC");
    }

    #[test]
    fn error_bodies_by_format_built_once() {
        let (html, ctype) = error_body(404, Format::Html);
        assert_eq!(ctype, "text/html; charset=utf-8");
        let html = std::str::from_utf8(&html).unwrap();
        assert!(html.contains("<title>404 Not Found</title>"), "{html}");
        assert!(html.contains("<a href=\"/\">"), "{html}");
        assert!(html.contains("prefers-color-scheme"), "{html}");
        let (text, ctype) = error_body(403, Format::Text);
        assert_eq!(
            (&*text, ctype),
            (&b"403 Forbidden\n"[..], "text/plain; charset=utf-8")
        );
        let (json, ctype) = error_body(404, Format::Json);
        assert_eq!(ctype, "application/json");
        assert_eq!(&*json, &b"{\"status\":404,\"error\":\"Not Found\"}\n"[..]);
        // The same status and format share one buffer.
        let (a, _) = error_body(400, Format::Html);
        let (b, _) = error_body(400, Format::Html);
        assert!(Rc::ptr_eq(&a, &b));
    }
}

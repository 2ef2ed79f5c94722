//! What `--json`, `--json-meta` and `-w/--write-out` ask for, as plain
//! values ([`Report`]), and the pure parser of a `-w` format into
//! [`Piece`]s with curl's variable names. An unknown variable is refused
//! here, when the flags are resolved, before any connection. Rendering the
//! pieces is [`super::report`]'s; this file reads nothing else of the client.

use std::path::PathBuf;

/// Where the JSON document of each transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOut {
    /// `headers --json`: on stdout, in place of the head.
    Stdout,
    /// `fetch --json-meta FILE`: into FILE (one line per transfer).
    File(PathBuf),
}

/// The machine-readable reports a run writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub json: Option<JsonOut>,
    /// `-w`: written on stdout after each transfer.
    pub write_out: Option<Vec<Piece>>,
}

/// One part of a `-w` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Var(Var),
    /// `%header{name}`: the final response's field of that name.
    Header(String),
}

/// curl's `-w` variables that wirecat knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    HttpCode,
    UrlEffective,
    SizeDownload,
    SpeedDownload,
    TimeNamelookup,
    TimeConnect,
    TimeAppconnect,
    TimeStarttransfer,
    TimeTotal,
    NumRedirects,
    /// Connections opened: 0 for a download on a kept-alive one.
    NumConnects,
    RemoteIp,
    RemotePort,
    ContentType,
    FilenameEffective,
    Json,
    HeaderJson,
}

/// Every variable with its curl name, in the order `%{json}` lists them.
pub const VARS: [(&str, Var); 17] = [
    ("content_type", Var::ContentType),
    ("filename_effective", Var::FilenameEffective),
    ("header_json", Var::HeaderJson),
    ("http_code", Var::HttpCode),
    ("json", Var::Json),
    ("num_connects", Var::NumConnects),
    ("num_redirects", Var::NumRedirects),
    ("remote_ip", Var::RemoteIp),
    ("remote_port", Var::RemotePort),
    ("size_download", Var::SizeDownload),
    ("speed_download", Var::SpeedDownload),
    ("time_appconnect", Var::TimeAppconnect),
    ("time_connect", Var::TimeConnect),
    ("time_namelookup", Var::TimeNamelookup),
    ("time_starttransfer", Var::TimeStarttransfer),
    ("time_total", Var::TimeTotal),
    ("url_effective", Var::UrlEffective),
];

/// Parses a `-w` format: `%{var}`, `%header{name}`, `%%`, and the escapes
/// `\n`, `\r`, `\t`, `\\`. Any other `%` or `\` stays as it is (curl's
/// reading). The error names what is wrong, for a usage message.
pub fn parse_format(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let escape = match (c, after.chars().next()) {
            ('\\', Some('n')) => Some('\n'),
            ('\\', Some('r')) => Some('\r'),
            ('\\', Some('t')) => Some('\t'),
            ('\\', Some('\\')) => Some('\\'),
            ('%', Some('%')) => Some('%'),
            _ => None,
        };
        if let Some(e) = escape {
            text.push(e);
            rest = &after[1..];
            continue;
        }
        let var = (c == '%').then(|| variable(after)).flatten().transpose()?;
        let Some((piece, used)) = var else {
            text.push(c);
            rest = after;
            continue;
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(piece);
        rest = &after[used..];
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// After a `%`: `{name}` or `header{name}` and the bytes they take;
/// `None` when neither starts here.
fn variable(after: &str) -> Option<Result<(Piece, usize), String>> {
    let (header, inner) = match after.strip_prefix("header{") {
        Some(inner) => (true, inner),
        None => (false, after.strip_prefix('{')?),
    };
    let Some(end) = inner.find('}') else {
        return Some(Err(format!("unterminated %{{ in {after:?}")));
    };
    let name = &inner[..end];
    let used = after.len() - inner.len() + end + 1;
    if header {
        return Some(Ok((Piece::Header(name.to_string()), used)));
    }
    Some(match VARS.iter().find(|(n, _)| *n == name) {
        Some((_, var)) => Ok((Piece::Var(*var), used)),
        None => Err(format!("unknown variable %{{{name}}}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Piece {
        Piece::Text(s.into())
    }

    #[test]
    fn formats_parse_into_pieces() {
        // (format, pieces)
        let cases: Vec<(&str, Vec<Piece>)> = vec![
            ("", vec![]),
            ("plain", vec![text("plain")]),
            (
                "%{http_code}\\n",
                vec![Piece::Var(Var::HttpCode), text("\n")],
            ),
            (
                "a%{time_total}b%{json}",
                vec![
                    text("a"),
                    Piece::Var(Var::TimeTotal),
                    text("b"),
                    Piece::Var(Var::Json),
                ],
            ),
            (
                "%header{Content-Type}|",
                vec![Piece::Header("Content-Type".into()), text("|")],
            ),
            ("100%% \\t\\r\\\\", vec![text("100% \t\r\\")]),
            // A lone % or \ and unknown escapes stay as typed.
            ("50% off \\x %", vec![text("50% off \\x %")]),
            ("%header", vec![text("%header")]),
            (
                "é%{num_redirects}",
                vec![text("é"), Piece::Var(Var::NumRedirects)],
            ),
        ];
        for (format, want) in cases {
            assert_eq!(parse_format(format).unwrap(), want, "{format:?}");
        }
    }

    #[test]
    fn every_variable_parses_by_its_curl_name() {
        for (name, var) in VARS {
            assert_eq!(
                parse_format(&format!("%{{{name}}}")).unwrap(),
                vec![Piece::Var(var)]
            );
        }
    }

    #[test]
    fn unknown_and_unterminated_variables_are_refused() {
        // (format, words the error has)
        let cases = [
            ("%{nope}", "unknown variable %{nope}"),
            ("x %{http_code", "unterminated"),
            ("%{}", "unknown variable %{}"),
            ("%header{x", "unterminated"),
            ("%{HTTP_CODE}", "unknown variable"),
        ];
        for (format, words) in cases {
            let err = parse_format(format).unwrap_err();
            assert!(err.contains(words), "{format:?}: {err}");
        }
    }
}

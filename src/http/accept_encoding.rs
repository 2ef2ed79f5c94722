//! Accept-Encoding negotiation (RFC 9110 section 12.5.3): which content
//! coding, if any, a request lets the server send. Pure: parses header
//! values, never touches a file.

use super::Header;

/// A content coding the file server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    Br,
    Zstd,
    Gzip,
}

impl Coding {
    /// Server preference among codings the client likes equally.
    pub const PREFERENCE: [Coding; 3] = [Coding::Br, Coding::Zstd, Coding::Gzip];

    /// The token in Content-Encoding.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The file name suffix of a precompressed sidecar.
    pub fn suffix(self) -> &'static str {
        match self {
            Coding::Br => ".br",
            Coding::Zstd => ".zst",
            Coding::Gzip => ".gz",
        }
    }
}

/// A parsed Accept-Encoding: q-values in thousandths per coding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptEncoding {
    /// No header at all: anything goes, identity preferred.
    absent: bool,
    /// (token lower-cased, q in 0..=1000)
    entries: Vec<(String, u16)>,
}

impl AcceptEncoding {
    /// From all Accept-Encoding fields of a request (lists combine).
    pub fn from_headers(headers: &[Header]) -> AcceptEncoding {
        let mut out = AcceptEncoding {
            absent: true,
            entries: Vec::new(),
        };
        for h in headers.iter().filter(|h| h.is("accept-encoding")) {
            out.absent = false;
            let value = String::from_utf8_lossy(&h.value);
            out.entries.extend(value.split(',').filter_map(entry));
        }
        out
    }

    /// The q-value (thousandths) the request gives `token`: its own entry,
    /// else `*`'s, else 0. Identity is acceptable unless refused.
    fn q(&self, token: &str) -> u16 {
        let find = |t: &str| self.entries.iter().find(|(n, _)| n == t).map(|e| e.1);
        match (find(token), find("*")) {
            (Some(q), _) | (None, Some(q)) => q,
            (None, None) if token == "identity" => 1000,
            (None, None) => 0,
        }
    }

    /// Whether `coding` may be sent at all.
    pub fn allows(&self, coding: Coding) -> bool {
        !self.absent && self.q(coding.token()) > 0
    }

    /// The coding to send among `available`: the highest q, ties broken by
    /// [`Coding::PREFERENCE`]; `None` means identity. Without the header
    /// identity is preferred (RFC 9110 section 12.5.3). When identity is
    /// refused and nothing else fits, `None` still: identity is sent
    /// rather than a 406.
    pub fn choose(&self, available: &[Coding]) -> Option<Coding> {
        if self.absent {
            return None;
        }
        let mut best: Option<(Coding, u16)> = None;
        for c in Coding::PREFERENCE {
            let q = self.q(c.token());
            if available.contains(&c) && q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((c, q));
            }
        }
        let (coding, q) = best?;
        // A client that ranks identity above every coding gets it; an
        // unlisted identity is acceptable, not preferred.
        let identity = self.entries.iter().find(|(n, _)| n == "identity");
        (identity.is_none_or(|&(_, iq)| q >= iq)).then_some(coding)
    }
}

/// One list member, `token[;q=VALUE]`, lower-cased; `x-gzip` is gzip.
/// A malformed q drops the member.
fn entry(item: &str) -> Option<(String, u16)> {
    let mut parts = item.split(';');
    let mut token = parts.next()?.trim().to_ascii_lowercase();
    if token.is_empty() {
        return None;
    }
    if token == "x-gzip" {
        token = "gzip".into();
    }
    let mut q = 1000;
    for p in parts {
        let (name, value) = p.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = qvalue(value.trim())?;
        }
    }
    Some((token, q))
}

/// RFC 9110 section 12.4.2: `0[.ddd]` or `1[.000]`, in thousandths.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{frac:0<3}");
    let thousandths: u16 = digits.parse().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::*;

    fn ae(values: &[&str]) -> AcceptEncoding {
        let headers: Vec<Header> = values
            .iter()
            .map(|v| Header::new("Accept-Encoding", v.as_bytes()))
            .collect();
        AcceptEncoding::from_headers(&headers)
    }

    #[test]
    fn qvalues() {
        let cases = [
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("0", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.001", Some(1)),
            ("1.5", None),
            ("2", None),
            ("0.0001", None),
            ("x", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(qvalue(v), want, "{v:?}");
        }
    }

    #[test]
    fn negotiation() {
        let all = [Br, Zstd, Gzip];
        let cases: &[(&[&str], &[Coding], Option<Coding>)] = &[
            // No header: identity preferred.
            (&[], &all, None),
            // An empty header: identity only.
            (&[""], &all, None),
            (&["gzip"], &all, Some(Gzip)),
            (&["x-gzip"], &all, Some(Gzip)),
            (&["gzip, deflate, br"], &all, Some(Br)),
            (&["gzip, deflate, br, zstd"], &all, Some(Br)),
            (&["GZIP, Zstd"], &all, Some(Zstd)),
            (&["br;q=0.5, gzip"], &all, Some(Gzip)),
            (&["br;q=0, gzip"], &all, Some(Gzip)),
            (&["br;q=0"], &all, None),
            (&["*"], &all, Some(Br)),
            (&["*;q=0"], &all, None),
            (&["*, br;q=0"], &all, Some(Zstd)),
            (&["*", "br;q=0"], &[Br, Gzip], Some(Gzip)),
            (&["br"], &[Gzip], None),
            (&["gzip", "br"], &[Br, Gzip], Some(Br)),
            (&["gzip;q=0.2, identity;q=0.5"], &all, None),
            (&["gzip;q=0.5, identity;q=0"], &all, Some(Gzip)),
            (&["identity;q=0"], &all, None),
            (&["br;q=2, gzip"], &all, Some(Gzip)),
            (&["br ; q=0.9 , gzip;q=0.8"], &all, Some(Br)),
            (&["br;level=5"], &all, Some(Br)),
        ];
        for (values, available, want) in cases {
            assert_eq!(ae(values).choose(available), *want, "{values:?}");
        }
    }

    #[test]
    fn allows() {
        assert!(!ae(&[]).allows(Br));
        assert!(ae(&["br"]).allows(Br));
        assert!(!ae(&["br"]).allows(Gzip));
        assert!(ae(&["*"]).allows(Gzip));
        assert!(!ae(&["*;q=0"]).allows(Gzip));
    }
}

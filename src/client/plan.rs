//! What a response head means for the exchange, decided in one place and
//! purely: given what was asked ([`Ask`]: method, `--location`, `--fail`,
//! the mode, `--compressed`/`--raw-body`, `-J`, the `-C` part) and the
//! parsed head, [`plan`] returns a [`Plan`] or a [`Refusal`]. The session
//! applies the plan; it never re-decides. No files, sockets or terminal:
//! the tests are a table of heads and options.

use std::fmt;
use std::path::PathBuf;

use super::config::Mode;
use super::partial::{parse_content_range, Carry, ContentRange, Partial};
use super::redirect;
use crate::error::{shown, Error};
use crate::http::body::{response_framing, Framing};
use crate::http::content_coding::{codings, Coding, CodingError};
use crate::http::disposition;
use crate::http::response::ResponseHead;
use crate::http::{keeps_alive, ParseError, Version};

/// What the request asked for, as far as the response head's meaning goes.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub method: &'a str,
    pub mode: Mode,
    /// `--location` (headers) or not `--no-follow` (fetch).
    pub follow: bool,
    /// A final 4xx or 5xx is an error, its body not kept: `fetch`'s
    /// default (off with `--save-errors`); never for `headers`.
    pub fail: bool,
    /// `--compressed` without `--raw-body`: undo content codings.
    pub decode: bool,
    /// `-J`: take the file name from Content-Disposition.
    pub remote_name: bool,
    /// `-C`: the part whose rest was asked for.
    pub partial: Option<&'a Partial>,
    /// `--retry`: the rest of the body kept so far was asked for.
    pub carry: Option<&'a Carry>,
}

/// What to do with a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A 1xx head: show it, and read the next (RFC 9110 section 15.2).
    Interim,
    /// 101 though no upgrade was asked for (RFC 9110 section 15.2.2).
    SwitchRefused,
    /// A redirect being followed: its body is not ours to read.
    Redirect { location: Vec<u8> },
    /// A 4xx or 5xx status when [`Ask::fail`]: nothing saved, exit 7.
    Fail { status: u16 },
    /// `headers`: the head is all that was wanted.
    HeadersOnly,
    /// `-C` and a 416 for exactly the part's size: nothing left to fetch;
    /// the part is complete (`name`: as for [`BodyPlan::name`]).
    AlreadyComplete { name: Option<String> },
    /// Read and keep the body.
    Body(BodyPlan),
}

/// How to read and keep a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPlan {
    pub framing: Framing,
    /// Content codings to undo, in the order they were applied (empty:
    /// keep the bytes as they come).
    pub decode: Vec<Coding>,
    /// `-J`: the sanitised Content-Disposition name, when there is one.
    pub name: Option<String>,
    /// `-C`: how the part file continues (`None` without `-C`).
    pub resume: Option<Resume>,
    /// The response lets the connection carry another request once the
    /// body is complete (RFC 9112 section 9.3).
    pub keep_alive: bool,
}

/// How `-C` continues a part file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// 200 (or any full response): start over from zero.
    Fresh,
    /// 206 at the end of the part: append.
    Append,
}

/// A head whose body cannot be taken as asked. Messages leave out the URL
/// (see [`super::ending::at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No way to find where the body ends (RFC 9112 section 6.3).
    Framing(ParseError),
    /// `--compressed` and codings we cannot undo.
    Coding(CodingError),
    /// `-C`: a 206 whose Content-Range does not start where the part ends.
    Misplaced {
        content_range: String,
        part: PathBuf,
        have: u64,
    },
    /// `--retry`: a 206 that does not continue the body kept so far (its
    /// Content-Range starts elsewhere or names another total).
    NotContinuing { content_range: String, have: u64 },
    /// `-C`: a 416 whose complete length is not the part's size.
    NotExtending { part: PathBuf, have: u64 },
    /// Transfer codings that do not end in chunked: the body is delimited
    /// by the close but still coded, and we decode only chunked.
    TransferCoding(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Framing(e) => write!(f, "{e} in the response head"),
            Refusal::Coding(e @ CodingError::Unsupported(_)) => {
                write!(f, "{e}; --raw-body saves the body as it came")
            }
            Refusal::Coding(e) => write!(f, "{e}"),
            Refusal::Misplaced {
                content_range,
                part,
                have,
            } => write!(
                f,
                "206 with Content-Range {content_range:?} does not continue {} ({have} bytes)",
                shown(part)
            ),
            Refusal::NotContinuing {
                content_range,
                have,
            } => write!(
                f,
                "206 with Content-Range {content_range:?} does not continue the {have} bytes received"
            ),
            Refusal::NotExtending { part, have } => write!(
                f,
                "416: the server's copy does not extend {} ({have} bytes)",
                shown(part)
            ),
            Refusal::TransferCoding(te) => write!(
                f,
                "unsupported Transfer-Encoding {te:?} in the response: the body cannot be decoded"
            ),
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Protocol(r.to_string())
    }
}

/// What the head of a `-C` request's response says about the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartReply {
    Continue(Resume),
    Complete,
}

/// Decides what `head` means for a request asked as `ask`. The order of
/// the checks is the order of precedence: an interim head before all, a
/// redirect being followed before `--fail`, `--fail` before headers mode,
/// a body's codings before its `-C` continuation.
pub fn plan(head: &ResponseHead, ask: &Ask<'_>) -> Result<Plan, Refusal> {
    if head.is_interim() {
        return Ok(Plan::Interim);
    }
    if head.status == 101 {
        return Ok(Plan::SwitchRefused);
    }
    // RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message is
    // faulty framing, even with a Content-Length beside it.
    if head.version == Version::Http10 && head.header("transfer-encoding").is_some() {
        return Err(Refusal::Framing(ParseError::TransferEncodingInHttp10));
    }
    let framing =
        response_framing(ask.method, head.status, &head.headers).map_err(Refusal::Framing)?;
    if ask.follow && redirect::is_followed(head.status) {
        if let Some(location) = head.header("location") {
            return Ok(Plan::Redirect {
                location: location.to_vec(),
            });
        }
    }
    let part = match ask.carry {
        Some(carry) => Some(carry_reply(head, carry)),
        None => ask.partial.map(|p| part_reply(head, p)),
    };
    let whole_already = matches!(part, Some(Ok(PartReply::Complete)));
    if ask.fail && head.status >= 400 && !whole_already {
        return Ok(Plan::Fail {
            status: head.status,
        });
    }
    if ask.mode == Mode::Headers {
        return Ok(Plan::HeadersOnly);
    }
    check_transfer_coding(head, framing)?;
    let decode = codings_to_undo(head, ask, framing)?;
    let name = if ask.remote_name {
        disposition::from_headers(&head.headers)
    } else {
        None
    };
    let resume = match part.transpose()? {
        Some(PartReply::Complete) => return Ok(Plan::AlreadyComplete { name }),
        Some(PartReply::Continue(how)) => Some(how),
        None => None,
    };
    Ok(Plan::Body(BodyPlan {
        framing,
        decode,
        name,
        resume,
        keep_alive: framing != Framing::Close && keeps_alive(head.version, &head.headers),
    }))
}

/// The codings to undo: with `--compressed` (and not `--raw-body`), those
/// of Content-Encoding; a coding we cannot undo refuses the body before
/// anything is written. An empty body is left alone.
fn codings_to_undo(
    head: &ResponseHead,
    ask: &Ask<'_>,
    framing: Framing,
) -> Result<Vec<Coding>, Refusal> {
    if !ask.decode || framing == Framing::Empty {
        return Ok(Vec::new());
    }
    codings(&head.headers).map_err(Refusal::Coding)
}

/// A body whose transfer codings end in something other than chunked is
/// delimited by the close (RFC 9112 section 6.3, rule 4), but its bytes are
/// still transfer-coded, and a recipient must decode every transfer coding
/// (RFC 9112 section 6.1); we decode only chunked. Saving such a body would
/// hand the user bytes nobody asked for with a success status, so it is a
/// framing error, like any other body we cannot delimit and decode.
fn check_transfer_coding(head: &ResponseHead, framing: Framing) -> Result<(), Refusal> {
    match head.header("transfer-encoding") {
        Some(te) if framing == Framing::Close => Err(Refusal::TransferCoding(
            String::from_utf8_lossy(te).into_owned(),
        )),
        _ => Ok(()),
    }
}

/// `--retry`: what the final head says about the body whose rest we
/// asked for. Only a 206 that starts exactly at the end of what we have,
/// and names the same complete length, is appended; any other success is
/// a whole new representation (the validator changed): start over.
fn carry_reply(head: &ResponseHead, carry: &Carry) -> Result<PartReply, Refusal> {
    if head.status != 206 {
        return Ok(PartReply::Continue(Resume::Fresh));
    }
    let value = head.header("content-range");
    match value.and_then(parse_content_range) {
        Some(ContentRange::Bytes { first, total, .. })
            if first == carry.have && (carry.total.is_none() || total == carry.total) =>
        {
            Ok(PartReply::Continue(Resume::Append))
        }
        _ => Err(Refusal::NotContinuing {
            content_range: value
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default(),
            have: carry.have,
        }),
    }
}

/// `-C`: what the final head says about the part we asked the rest of.
fn part_reply(head: &ResponseHead, partial: &Partial) -> Result<PartReply, Refusal> {
    let have = partial.have;
    let range = head.header("content-range").and_then(parse_content_range);
    match head.status {
        // RFC 9110 section 15.3.7: the range we asked for, of the same
        // representation (If-Range matched).
        206 => match range {
            // (A segmented part may have nothing from byte 0 yet.)
            Some(ContentRange::Bytes { first, .. })
                if first == have && (have > 0 || partial.segmented.is_some()) =>
            {
                Ok(PartReply::Continue(Resume::Append))
            }
            _ => Err(Refusal::Misplaced {
                content_range: head
                    .header("content-range")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default(),
                part: partial.part.clone(),
                have,
            }),
        },
        // RFC 9110 section 15.5.17: nothing at or past our offset, and the
        // whole is exactly what we have.
        416 => match range {
            Some(ContentRange::Unsatisfied { total }) if total == have && have > 0 => {
                Ok(PartReply::Complete)
            }
            _ => Err(Refusal::NotExtending {
                part: partial.part.clone(),
                have,
            }),
        },
        // 200 and the rest: a whole new representation; start over.
        _ => Ok(PartReply::Continue(Resume::Fresh)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::try_parse_response;

    fn head(bytes: &[u8]) -> ResponseHead {
        let (head, n) = try_parse_response(bytes, 64 * 1024).unwrap().unwrap();
        assert_eq!(n, bytes.len(), "one whole head: {bytes:?}");
        head
    }

    /// `fetch URL` with the defaults: follow, no `--fail`, no decoding.
    fn fetch() -> Ask<'static> {
        Ask {
            method: "GET",
            mode: Mode::Fetch,
            follow: true,
            fail: false,
            decode: false,
            remote_name: false,
            partial: None,
            carry: None,
        }
    }

    /// A body of this framing, kept as sent, on a connection that stays.
    fn body(framing: Framing) -> Plan {
        Plan::Body(BodyPlan {
            framing,
            decode: Vec::new(),
            name: None,
            resume: None,
            keep_alive: true,
        })
    }

    fn with(plan: Plan, change: impl FnOnce(&mut BodyPlan)) -> Plan {
        let Plan::Body(mut b) = plan else {
            panic!("not a body: {plan:?}")
        };
        change(&mut b);
        Plan::Body(b)
    }

    fn part() -> Partial {
        Partial {
            part: PathBuf::from("dl/f.part"),
            meta: PathBuf::from("dl/f.part.meta"),
            have: 5,
            validator: Some("\"v\"".into()),
            segmented: None,
        }
    }

    #[test]
    fn heads_and_options_make_plans() {
        let part = part();
        let no_follow = Ask {
            follow: false,
            ..fetch()
        };
        let fail = Ask {
            fail: true,
            ..fetch()
        };
        let headers = Ask {
            mode: Mode::Headers,
            follow: false,
            ..fetch()
        };
        let head_method = Ask {
            method: "HEAD",
            ..fetch()
        };
        let decode = Ask {
            decode: true,
            ..fetch()
        };
        let remote = Ask {
            remote_name: true,
            ..fetch()
        };
        let resume = Ask {
            partial: Some(&part),
            ..fetch()
        };
        let resume_fail = Ask {
            fail: true,
            ..resume
        };
        let len4 = body(Framing::Length(4));
        // (head, what was asked, the plan)
        let cases: Vec<(&[u8], Ask<'_>, Plan)> = vec![
            (b"HTTP/1.1 100 Continue\r\n\r\n", fetch(), Plan::Interim),
            (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", fail, Plan::Interim),
            (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", fetch(), Plan::SwitchRefused),
            (
                b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 4\r\n\r\n",
                fail,
                Plan::Redirect {
                    location: b"/next".to_vec(),
                },
            ),
            (
                b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 4\r\n\r\n",
                no_follow,
                len4.clone(),
            ),
            (b"HTTP/1.1 301 Moved\r\nContent-Length: 4\r\n\r\n", fetch(), len4.clone()),
            (b"HTTP/1.1 304 Not Modified\r\nLocation: /x\r\n\r\n", fetch(), body(Framing::Empty)),
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\n", fail, Plan::Fail { status: 404 }),
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\n", fetch(), len4.clone()),
            (b"HTTP/1.1 399 Odd\r\nContent-Length: 4\r\n\r\n", fail, len4.clone()),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", headers, Plan::HeadersOnly),
            // headers shows the head of any status.
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\n", headers, Plan::HeadersOnly),
            (b"HTTP/1.1 503 Busy\r\n\r\n", headers, Plan::HeadersOnly),
            (
                b"HTTP/1.1 500 Oops\r\n\r\n",
                Ask { fail: true, ..headers },
                Plan::Fail { status: 500 },
            ),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head_method, body(Framing::Empty)),
            (b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", fetch(), body(Framing::Empty)),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                fetch(),
                body(Framing::Chunked),
            ),
            // Keep-alive: not after a close-delimited body, nor when the
            // server says close, nor from HTTP/1.0 unless it says keep-alive.
            (
                b"HTTP/1.1 200 OK\r\n\r\n",
                fetch(),
                with(body(Framing::Close), |b| b.keep_alive = false),
            ),
            (
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\n",
                fetch(),
                with(len4.clone(), |b| b.keep_alive = false),
            ),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n",
                fetch(),
                with(len4.clone(), |b| b.keep_alive = false),
            ),
            (
                b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\n",
                fetch(),
                len4.clone(),
            ),
            // Codings: undone only when asked, in the order applied, and
            // never for a body that is not there.
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n",
                decode,
                with(len4.clone(), |b| b.decode = vec![Coding::Gzip]),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, identity\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\n",
                decode,
                with(len4.clone(), |b| b.decode = vec![Coding::Gzip, Coding::Brotli]),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: 4\r\n\r\n",
                fetch(),
                len4.clone(),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: 4\r\n\r\n",
                Ask { decode: true, method: "HEAD", ..fetch() },
                body(Framing::Empty),
            ),
            // -J: the sanitised Content-Disposition name, when usable.
            (
                b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"../r.pdf\"\r\nContent-Length: 4\r\n\r\n",
                remote,
                with(len4.clone(), |b| b.name = Some("r.pdf".into())),
            ),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", remote, len4.clone()),
            (
                b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Length: 4\r\n\r\n",
                fetch(),
                len4.clone(),
            ),
            // -C: append after a 206 at the part's end, start over after a
            // 200, nothing to fetch after a 416 for exactly the part.
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-8/9\r\nContent-Length: 4\r\n\r\n",
                resume,
                with(len4.clone(), |b| b.resume = Some(Resume::Append)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
                resume,
                with(len4.clone(), |b| b.resume = Some(Resume::Fresh)),
            ),
            (
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */5\r\n\r\n",
                resume,
                Plan::AlreadyComplete { name: None },
            ),
            (
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */5\r\n\r\n",
                resume_fail,
                Plan::AlreadyComplete { name: None },
            ),
            (
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */5\r\nContent-Disposition: attachment; filename=g\r\n\r\n",
                Ask { remote_name: true, ..resume },
                Plan::AlreadyComplete { name: Some("g".into()) },
            ),
            (
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */9\r\n\r\n",
                resume_fail,
                Plan::Fail { status: 416 },
            ),
        ];
        for (bytes, ask, want) in cases {
            let got = plan(&head(bytes), &ask);
            assert_eq!(got, Ok(want), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn heads_that_cannot_be_taken_are_refused() {
        let part = part();
        let resume = Ask {
            partial: Some(&part),
            ..fetch()
        };
        let decode = Ask {
            decode: true,
            ..fetch()
        };
        let misplaced = |range: &str| Refusal::Misplaced {
            content_range: range.into(),
            part: part.part.clone(),
            have: 5,
        };
        // (head, what was asked, the refusal, its message)
        let cases: Vec<(&[u8], Ask<'_>, Refusal, &str)> = vec![
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                fetch(),
                Refusal::Framing(ParseError::BadContentLength),
                "invalid or conflicting Content-Length in the response head",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                fetch(),
                Refusal::Framing(ParseError::LengthWithTransferEncoding),
                "both Transfer-Encoding and Content-Length present in the response head",
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                fetch(),
                Refusal::Framing(ParseError::TransferEncodingInHttp10),
                "Transfer-Encoding in an HTTP/1.0 message in the response head",
            ),
            // A redirect is no excuse for framing we cannot trust.
            (
                b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: x\r\n\r\n",
                fetch(),
                Refusal::Framing(ParseError::BadContentLength),
                "in the response head",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: 3\r\n\r\n",
                decode,
                Refusal::Coding(CodingError::Unsupported("zstd".into())),
                "unsupported Content-Encoding \"zstd\"; --raw-body saves the body as it came",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip, gzip, gzip, gzip\r\nContent-Length: 3\r\n\r\n",
                decode,
                Refusal::Coding(CodingError::TooManyCodings(6)),
                "6 stacked Content-Encodings",
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-8/9\r\nContent-Length: 9\r\n\r\n",
                resume,
                misplaced("bytes 0-8/9"),
                "206 with Content-Range \"bytes 0-8/9\" does not continue dl/f.part (5 bytes)",
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Length: 9\r\n\r\n",
                resume,
                misplaced(""),
                "206 with Content-Range \"\" does not continue",
            ),
            (
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */9\r\n\r\n",
                resume,
                Refusal::NotExtending {
                    part: part.part.clone(),
                    have: 5,
                },
                "416: the server's copy does not extend dl/f.part (5 bytes)",
            ),
        ];
        for (bytes, ask, want, message) in cases {
            let got = plan(&head(bytes), &ask);
            assert_eq!(got, Err(want), "{}", String::from_utf8_lossy(bytes));
            let text = Error::from(got.unwrap_err()).to_string();
            assert!(text.contains(message), "{text:?} lacks {message:?}");
        }
    }

    #[test]
    fn a_retry_appends_only_the_206_that_continues_what_it_kept() {
        let carry = |total| Carry {
            have: 5,
            validator: "\"v\"".into(),
            total,
        };
        let (known, unknown) = (carry(Some(9)), carry(None));
        // With -C too: the carry, not the part's old size, decides.
        let part = part();
        let ask = |carry| Ask {
            carry: Some(carry),
            partial: Some(&part),
            ..fetch()
        };
        let resumed = |how| Ok(with(body(Framing::Length(4)), |b| b.resume = Some(how)));
        let not_continuing = |range: &str| {
            Err(Refusal::NotContinuing {
                content_range: range.into(),
                have: 5,
            })
        };
        let cases: Vec<(&[u8], &Carry, Result<Plan, Refusal>)> = vec![
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-8/9\r\nContent-Length: 4\r\n\r\n",
                &known,
                resumed(Resume::Append),
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-8/*\r\nContent-Length: 4\r\n\r\n",
                &unknown,
                resumed(Resume::Append),
            ),
            // The validator changed: a whole new representation.
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
                &known,
                resumed(Resume::Fresh),
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 4-8/9\r\nContent-Length: 5\r\n\r\n",
                &known,
                not_continuing("bytes 4-8/9"),
            ),
            // Another total: not the same representation.
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-8/10\r\nContent-Length: 4\r\n\r\n",
                &known,
                not_continuing("bytes 5-8/10"),
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-8/*\r\nContent-Length: 4\r\n\r\n",
                &known,
                not_continuing("bytes 5-8/*"),
            ),
            (
                b"HTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\n\r\n",
                &known,
                not_continuing(""),
            ),
        ];
        for (bytes, carry, want) in cases {
            let got = plan(&head(bytes), &ask(carry));
            assert_eq!(got, want, "{}", String::from_utf8_lossy(bytes));
        }
    }
}

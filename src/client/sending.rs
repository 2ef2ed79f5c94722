//! What a session sends for a job: the request head with the job's header
//! edits (and a retry's `Range` + `If-Range`), then its body, queued on the
//! connection's outbox. Whether the connection is asked to stay open
//! depends on the pool; nothing here reads a response.

use super::job::Job;
use super::pool::{Origin, SharedPool};
use super::request::{self, Body, HeaderEdit};
use crate::event_loop::Io;
use crate::http::content_coding::ACCEPT_ENCODING;

/// Queues `job`'s request and its body; says whether it asked to keep the
/// connection. Without `Connection: close` HTTP/1.1 keeps it open (RFC
/// 9112 section 9.3): asked only when another job for the origin waits.
pub fn queue_request(job: &Job, pool: &SharedPool, io: &mut Io<'_>) -> (Vec<u8>, bool) {
    let more = pool.borrow().has_more_for(&Origin::of(job));
    let keep_alive = more && !job.edits.iter().any(|e| e.is("connection"));
    let mut edits = job.edits.clone();
    if let Some(carry) = &job.carry {
        // A retry asks for the rest of what it kept, not what `-C` had.
        edits.retain(|e| !e.is("range") && !e.is("if-range"));
        edits.extend(carry.request_edits());
    }
    if let Some(range) = super::segments::range_edits(job) {
        edits.retain(|e| !e.is("range") && !e.is("if-range"));
        edits.extend(range);
    }
    if keep_alive {
        edits.push(HeaderEdit {
            name: "Connection".into(),
            value: None,
        });
    }
    // Ranges count bytes of the representation as sent (RFC 9110 section
    // 14.1.2): with `-C` or a retry's rest the part holds identity bytes,
    // so only identity is asked for.
    let accept = if job.config.web.compressed && !job.config.resume && job.carry.is_none() {
        ACCEPT_ENCODING
    } else {
        request::IDENTITY
    };
    let request = request::head(&job.method, &job.target, &edits, job.body.as_ref(), accept);
    io.output.push(request.as_slice());
    match &job.body {
        Some(Body::Bytes(b)) => io.output.push(b.to_vec()),
        Some(Body::File { file, len }) => io.output.push_file(file.clone(), 0, *len),
        None => {}
    }
    (request, keep_alive)
}

/// Only a GET without a body goes ahead of an answer: it is idempotent,
/// so it can be asked again if the connection ends first (RFC 9112
/// section 9.3.2).
pub fn pipelines(job: &Job) -> bool {
    job.method == "GET" && job.body.is_none()
}

//! A form's POST (`multipart/form-data` to a folder URL, what the
//! listing's upload form and `curl -F` send): the body goes through
//! [`crate::http::multipart`] and each file part into a temporary file of
//! its own, checked like a PUT of that name (no conditionals) when its
//! head arrives and committed when its closing delimiter does.
//!
//! All-or-nothing per part: a part is whole or absent. A part that fails
//! (an unsafe or taken name, a write error) ends the request with that
//! status; parts committed before it stay. Fields that are not files, and
//! file inputs left empty (`filename=""`), are read and dropped.
//! `--max-upload` bounds the whole body.

use crate::file_server::path::UrlPath;
use crate::file_server::site::Site;
use crate::http::multipart::{Event, Multipart};

use super::plan::{self, Options};
use super::sink::{Commit, TempFile};
use super::target::{inspect, prepare, status_of, Asks};

/// One form upload under way.
#[derive(Debug)]
pub struct Form {
    parser: Multipart,
    /// Body bytes the parser has not used yet: at most a part head or a
    /// possible delimiter start, so this stays small.
    pending: Vec<u8>,
    /// The folder the files go in.
    folder: UrlPath,
    opts: Options,
    /// The file part being written, with its name; `None` between parts
    /// and in parts that are not files.
    current: Option<(TempFile, String, bool)>,
}

impl Form {
    pub fn new(boundary: &[u8], folder: UrlPath, opts: Options) -> Form {
        Form {
            parser: Multipart::new(boundary),
            pending: Vec::new(),
            folder,
            opts,
            current: None,
        }
    }

    /// Takes more body bytes (`at_end`: the body is over). `Err(status)`
    /// ends the request.
    pub fn feed(&mut self, site: &Site, bytes: &[u8], at_end: bool) -> Result<(), u16> {
        self.pending.extend_from_slice(bytes);
        let mut used = 0;
        loop {
            let next = self.parser.next(&self.pending[used..], at_end);
            let (event, n) = match next {
                Ok(Some(got)) => got,
                Ok(None) => break,
                Err(e) => {
                    log::debug!("form upload: {e}");
                    return Err(400);
                }
            };
            match event {
                Event::PartStart {
                    filename: Some(name),
                    ..
                } if !name.is_empty() => self.current = Some(self.start(site, name)?),
                Event::PartStart { .. } => self.current = None,
                Event::Data(r) => {
                    if let Some((temp, _, _)) = &mut self.current {
                        let at = used + r.start..used + r.end;
                        temp.write(&self.pending[at])
                            .map_err(|e| status_of(&e, 500))?;
                    }
                }
                Event::PartEnd => {
                    if let Some((mut temp, name, replace)) = self.current.take() {
                        match temp.commit(&name, replace) {
                            Ok(()) => {}
                            Err(Commit::Exists) => return Err(409),
                            Err(Commit::Io(e)) => return Err(status_of(&e, 500)),
                        }
                    }
                }
                Event::Done => {}
            }
            used += n;
            if n == 0 {
                break;
            }
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// A file part begins: its name checked and its temporary file made.
    fn start(&self, site: &Site, name: String) -> Result<(TempFile, String, bool), u16> {
        if !plan::is_safe_name(&name, site.hidden) {
            return Err(400);
        }
        let mut segments = self.folder.segments.clone();
        segments.push(name);
        let url = UrlPath {
            segments,
            trailing_slash: false,
        };
        let asks = Asks {
            length: None,
            if_match: None,
            if_none_match: None,
        };
        let (target, temp, replace) = prepare(site, &self.opts, inspect(site, url)?, &asks)?;
        Ok((temp, target.name, replace))
    }

    /// The body is over: where to send the browser (the folder's
    /// listing), or 400 if the form never closed.
    pub fn finish(&self) -> Result<String, u16> {
        if self.parser.is_done() {
            Ok(self.folder.encoded(true))
        } else {
            Err(400)
        }
    }
}

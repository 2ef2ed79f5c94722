//! The inspection flags of `fetch` and `headers` (`-w`, `--json`,
//! `--json-meta`) resolved into the client's [`Report`]. A `-w` format is
//! parsed here, so an unknown variable is a usage error before anything
//! is looked up or connected.

use std::path::PathBuf;

use super::client_args::RequestArgs;
use crate::client::write_out::{parse_format, JsonOut, Report};
use crate::error::{Error, Result};

/// `-w` from the shared flags, and where the JSON goes (`json`).
pub fn report(req: &RequestArgs, json: Option<JsonOut>) -> Result<Report> {
    let write_out = match &req.write_out {
        Some(format) => {
            Some(parse_format(format).map_err(|e| Error::Usage(format!("-w/--write-out: {e}")))?)
        }
        None => None,
    };
    Ok(Report { json, write_out })
}

/// `--json-meta FILE`, with "-" for stdout.
pub fn json_meta(path: Option<&PathBuf>) -> Option<JsonOut> {
    path.map(|p| match p.as_os_str() == "-" {
        true => JsonOut::Stdout,
        false => JsonOut::File(p.clone()),
    })
}

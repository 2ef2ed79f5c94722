//! The inspection flags of `fetch` and `headers` (`-w`, `--json`,
//! `--json-meta`) resolved into the client's [`Report`], and the
//! connecting ones (`--resolve`, `--connect-to`, `-4`, `-6`,
//! `--unix-socket`) into its [`ConnectRules`]. Both are checked here, so a
//! bad format or rule is a usage error before anything is looked up or
//! connected.

use std::path::PathBuf;

use super::client_args::RequestArgs;
use crate::client::connect_rules::{parse_connect_to, parse_resolve, ConnectRules, Family};
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

/// `--resolve`, `--connect-to`, `-4`, `-6` and `--unix-socket`.
pub fn connect_rules(req: &RequestArgs) -> Result<ConnectRules> {
    let resolve = req.resolve.iter().map(|s| parse_resolve(s));
    let connect_to = req.connect_to.iter().map(|s| parse_connect_to(s));
    let family = match (req.ipv4, req.ipv6) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Any,
    };
    Ok(ConnectRules {
        resolve: resolve
            .collect::<std::result::Result<_, _>>()
            .map_err(Error::Usage)?,
        connect_to: connect_to
            .collect::<std::result::Result<_, _>>()
            .map_err(Error::Usage)?,
        family,
        unix_socket: req.unix_socket.clone(),
    })
}

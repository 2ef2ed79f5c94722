//! `fetch` and `headers`: the HTTP client sessions, redirects and output files.

use crate::cli::{FetchArgs, HeadersArgs};
use crate::error::{Error, Result};

pub fn fetch_command(_args: FetchArgs, _verbose: u8) -> Result<()> {
    Err(Error::Usage("fetch: not implemented yet".into()))
}

pub fn headers_command(_args: HeadersArgs, _verbose: u8) -> Result<()> {
    Err(Error::Usage("headers: not implemented yet".into()))
}

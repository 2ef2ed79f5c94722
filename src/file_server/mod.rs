//! `serve`: the static file server session and its service.

use crate::cli::ServeArgs;
use crate::error::{Error, Result};

pub fn serve_command(_args: ServeArgs) -> Result<()> {
    Err(Error::Usage("serve: not implemented yet".into()))
}

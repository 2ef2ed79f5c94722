//! `greet` and `talk`: the greeting server and its client, TCP and UDP.

use crate::cli::{GreetArgs, TalkArgs};
use crate::error::{Error, Result};

pub fn greet_command(_args: GreetArgs) -> Result<()> {
    Err(Error::Usage("greet: not implemented yet".into()))
}

pub fn talk_command(_args: TalkArgs) -> Result<()> {
    Err(Error::Usage("talk: not implemented yet".into()))
}

//! `patina tui` — placeholder until its issue lands; replaced wholesale by its owner.

use anyhow::Result;

use crate::output::{CmdError, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina tui` is not built yet").into())
}

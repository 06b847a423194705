//! `patina scry` and `patina index` — placeholder until the scry issue lands.

use anyhow::Result;

use crate::output::{CmdError, Ctx};

#[derive(Debug, clap::Args)]
pub struct ScryArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run_scry(_args: ScryArgs, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina scry` is not built yet").into())
}

pub fn run_index(_args: IndexArgs, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina index` is not built yet").into())
}

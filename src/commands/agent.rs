//! `patina agent` and `patina adapter` — placeholder until the agents issue lands.

use anyhow::Result;

use crate::output::{CmdError, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct AdapterArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina agent` is not built yet").into())
}

pub fn run_adapter(_args: AdapterArgs, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina adapter` is not built yet").into())
}

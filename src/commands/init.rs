//! `patina init`

use anyhow::Result;

use crate::output::Ctx;
use crate::project;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  patina init\n  patina init --llm gemini")]
pub struct Args {
    /// The coding agent this project uses by default.
    #[arg(long, value_parser = ["claude", "gemini", "codex", "opencode"])]
    pub llm: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let report = project::init(&ctx.cwd, args.llm.as_deref())?;
    ctx.emit(&report, |r| {
        let mut s = format!("patina project at {}\n", r.root.display());
        for c in &r.created {
            s.push_str(&format!("  created {c}\n"));
        }
        for k in &r.kept {
            s.push_str(&format!("  kept    {k}\n"));
        }
        s
    });
    Ok(())
}

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
    // --llm X also installs that agent's command files and hooks (docs/json.md: `adapter`).
    if let Some(llm) = &args.llm {
        #[derive(serde::Serialize)]
        struct WithAdapter<'a> {
            #[serde(flatten)]
            init: &'a project::InitReport,
            adapter: crate::agent::InstallReport,
        }
        let adapter = crate::agent::install(&report.root, llm, Default::default())?;
        let both = WithAdapter {
            init: &report,
            adapter,
        };
        ctx.emit(&both, |b| {
            format!(
                "{}{}",
                human(b.init),
                super::agent::render_install(&b.adapter)
            )
        });
        super::compat::warn_unknown(ctx, &report.root);
        return Ok(());
    }
    ctx.emit(&report, human);
    super::compat::warn_unknown(ctx, &report.root);
    Ok(())
}

fn human(r: &project::InitReport) -> String {
    let mut s = format!("patina project at {}\n", r.root.display());
    for c in &r.created {
        s.push_str(&format!("  created {c}\n"));
    }
    for k in &r.kept {
        s.push_str(&format!("  kept    {k}\n"));
    }
    s
}

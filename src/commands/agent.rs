//! `patina agent` (the coding agent's side: transcript, state events, context) and
//! `patina adapter` (install an agent's command files and hooks).

use anyhow::Result;

use crate::output::{CmdError, Ctx};
use crate::project::Project;
use crate::transcript;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    /// Show what would be captured from the agents' logs for the active session (the same as
    /// `patina session transcript`).
    #[command(after_help = TRANSCRIPT_EXAMPLES)]
    Transcript(TranscriptArgs),
}

pub const TRANSCRIPT_EXAMPLES: &str = "\
Examples:
  patina session transcript           the prompts and agent activity the session would record
  patina session transcript --json    the same as data (prompts, activity, redactions, sources)

Prompts come from the agents' own local logs (Claude Code, Codex CLI, Gemini CLI), limited to this
project and the session's time window; secrets are redacted. `transcripts = false` in
.patina/config.toml turns capture off. See docs/transcripts.md.";

/// Flags of `session transcript` / `agent transcript`.
#[derive(Debug, clap::Args)]
pub struct TranscriptArgs {}

#[derive(Debug, clap::Args)]
pub struct AdapterArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        AgentCommand::Transcript(a) => run_transcript(a, ctx),
    }
}

pub fn run_adapter(_args: AdapterArgs, _ctx: &Ctx) -> Result<()> {
    Err(CmdError::unavailable("`patina adapter` is not built yet").into())
}

/// `session transcript`: what the active session would capture.
pub fn run_transcript(_args: TranscriptArgs, ctx: &Ctx) -> Result<()> {
    let project = Project::discover(&ctx.cwd)?;
    let Some(active) = transcript::active_session(&project)? else {
        return Err(CmdError::conflict(
            "no active session; start one with `patina session start \"title\"`",
        )
        .into());
    };
    let cap = transcript::capture(&project, &active.llm, &active.window)?;
    ctx.emit(&cap, |c| {
        let mut s = String::new();
        if !c.enabled {
            return "transcript capture is off (`transcripts = false` in .patina/config.toml)\n"
                .to_string();
        }
        match &c.markdown {
            Some(md) => s.push_str(md),
            None => s.push_str("nothing captured yet: no prompts or agent activity for this project since the session started\n"),
        }
        s.push_str(&format!(
            "\n(session {} since {}",
            active.id,
            c.window.start.format("%Y-%m-%d %H:%M %:z")
        ));
        let read: Vec<String> = c
            .sources
            .iter()
            .filter(|src| src.files > 0)
            .map(|src| format!("{} {} file(s)", src.agent, src.files))
            .collect();
        if !read.is_empty() {
            s.push_str(&format!("; read {}", read.join(", ")));
        }
        if c.malformed_lines > 0 {
            s.push_str(&format!("; {} malformed line(s) skipped", c.malformed_lines));
        }
        s.push_str(")\n");
        for n in &c.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    });
    Ok(())
}

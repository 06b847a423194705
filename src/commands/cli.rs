//! The command line: one `clap` definition that also generates help and shell completions.
//!
//! Each top-level command's flags live beside its handler in `commands/<area>.rs`; this file only
//! names them, so areas grow without touching each other.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands::{self, *};
use crate::output::Ctx;

const EXAMPLES: &str = "\
Examples:
  patina init --llm claude                 lay out .patina/, layer/ and sessions/ here
  patina session start \"fix login race\"    open a session (annotated git tag + activity log)
  patina session note \"found the cause\"    append to the activity log
  patina session end --commit              classify, tag, archive and commit the session
  patina belief new --id measure-first --statement \"Measure before optimising\"
  patina scry \"how do we handle stale sockets\" --json
  patina tui                               the cockpit, beside your coding agent

Every command prints JSON with --json. Exit codes: 0 ok, 1 error, 2 usage or invalid value,
3 state conflict, 4 not found, 5 service unavailable, 6 not in a project, 7 locked, 8 denied.";

#[derive(Debug, Parser)]
#[command(
    name = "patina",
    version,
    about = "A terminal cockpit for AI-assisted coding: sessions, beliefs, scry, secrets",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// Print machine-readable JSON on stdout (errors too, as {"error", "kind", "exit_code"}).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lay out a patina project here (idempotent; never overwrites your files).
    Init(commands::init::Args),
    /// Start, log, track, end and recover coding sessions.
    Session(commands::session::Args),
    /// Capture, list, check and link beliefs (decisions and lessons).
    Belief(commands::belief::Args),
    /// Run the daemon on a 0600 Unix socket (status, stop, --background, --listen).
    Serve(commands::serve::Args),
    /// Search the project's knowledge: layer, beliefs, sessions, commits, code.
    Scry(commands::scry::ScryArgs),
    /// Build or refresh scry's index.
    Index(commands::scry::IndexArgs),
    /// Provision and verify the local embedding model.
    Model(commands::model::Args),
    /// Age-encrypted secrets, released only into a child process's environment.
    Secrets(commands::secrets::Args),
    /// The cockpit: session, activity, commits, beliefs and scry in one terminal.
    Tui(commands::tui::Args),
    /// Federate scry across your projects and remote daemons.
    Mother(commands::mother::Args),
    /// The coding agent's side: state events and a context bundle.
    Agent(commands::agent::Args),
    /// Install, check or remove a coding agent's adapter (commands, MCP, instructions, hooks).
    Adapter(commands::agent::AdapterArgs),
    /// Serve patina's tools to a coding agent over MCP (stdio).
    Mcp(commands::agent::McpArgs),
    /// The command names newer patina versions' adapter files call (`patina ai session end`):
    /// accepted as aliases so those files keep working.
    #[command(hide = true)]
    Ai {
        #[command(subcommand)]
        command: AiCommand,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// `patina ai …`: the same commands under the prefix newer patina versions use.
#[derive(Debug, Subcommand)]
pub enum AiCommand {
    /// = `patina session …`
    Session(commands::session::Args),
    /// = `patina belief …`
    Belief(commands::belief::Args),
    /// = `patina scry …`
    Scry(commands::scry::ScryArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// Run the parsed command line.
pub fn run(cli: Cli, ctx: &Ctx) -> Result<()> {
    match cli.command {
        Command::Init(a) => init::run(a, ctx),
        Command::Session(a) => session::run(a, ctx),
        Command::Ai { command } => match command {
            AiCommand::Session(a) => session::run(a, ctx),
            AiCommand::Belief(a) => belief::run(a, ctx),
            AiCommand::Scry(a) => scry::run_scry(a, ctx),
        },
        Command::Belief(a) => belief::run(a, ctx),
        Command::Serve(a) => serve::run(a, ctx),
        Command::Scry(a) => scry::run_scry(a, ctx),
        Command::Index(a) => scry::run_index(a, ctx),
        Command::Model(a) => model::run(a, ctx),
        Command::Secrets(a) => secrets::run(a, ctx),
        Command::Tui(a) => tui::run(a, ctx),
        Command::Mother(a) => mother::run(a, ctx),
        Command::Agent(a) => agent::run(a, ctx),
        Command::Adapter(a) => agent::run_adapter(a, ctx),
        Command::Mcp(a) => agent::run_mcp(a, ctx),
        Command::Completions { shell } => {
            let shell = match shell {
                CompletionShell::Bash => clap_complete::Shell::Bash,
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                CompletionShell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "patina", &mut std::io::stdout());
            Ok(())
        }
    }
}

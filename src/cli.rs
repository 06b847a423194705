//! The command line: one `clap` definition that also generates help and shell completions.
//!
//! Each top-level command's flags live beside its handler in `commands/<area>.rs`; this file only
//! names them, so areas grow without touching each other.

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands;

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
    /// Install a coding agent's command files and hooks.
    Adapter(commands::agent::AdapterArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

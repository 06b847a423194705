//! Thin command handlers: parse flags, call the domain, print human text or JSON.

pub mod agent;
pub mod belief;
pub mod init;
pub mod model;
pub mod mother;
pub mod scry;
pub mod secrets;
pub mod serve;
pub mod session;
pub mod tui;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, Command, CompletionShell};
use crate::output::Ctx;

/// Run the parsed command line.
pub fn run(cli: Cli, ctx: &Ctx) -> Result<()> {
    match cli.command {
        Command::Init(a) => init::run(a, ctx),
        Command::Session(a) => session::run(a, ctx),
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

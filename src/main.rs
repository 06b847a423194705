use std::process::ExitCode;

use clap::Parser;

use patina::cli::Cli;
use patina::output::{self, Ctx};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_guard = patina::logging::init();
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = Ctx {
        json: cli.json,
        cwd,
    };
    match patina::cli::run(cli, &ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::debug!(error = %format!("{err:#}"), "command failed");
            ExitCode::from(output::report(&err, ctx.json))
        }
    }
}

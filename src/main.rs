use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use patina::commands::cli::Cli;
use patina::error::ErrorKind;
use patina::output::{self, Ctx};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(clap_failed(e)),
    };
    patina::logging::init();
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
    match patina::commands::cli::run(cli, &ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::debug!(error = %format!("{err:#}"), "command failed");
            ExitCode::from(output::report(&err, ctx.json))
        }
    }
}

/// clap could not parse the command line. Help and version print as clap prints them; a usage
/// error is the JSON error shape on stdout when `--json` appears anywhere before `--` (clap
/// never got far enough to tell us), else clap's own text.
fn clap_failed(e: clap::Error) -> u8 {
    use clap::error::ErrorKind as Clap;
    let informational = matches!(e.kind(), Clap::DisplayHelp | Clap::DisplayVersion);
    if informational || !wants_json(std::env::args_os()) {
        e.exit();
    }
    let message = if e.kind() == Clap::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap's "error" here is the whole help text: say what is missing instead.
        "a subcommand is required; `--help` lists them".to_string()
    } else {
        let text = e.render().to_string();
        let text = text.trim();
        text.strip_prefix("error: ").unwrap_or(text).to_string()
    };
    output::print_error(&message, ErrorKind::Usage, None, None, true)
}

fn wants_json(args: impl Iterator<Item = OsString>) -> bool {
    args.skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

//! `patina tui` — the cockpit.

use anyhow::Result;

use crate::output::Ctx;
use crate::tui;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  patina tui                       the cockpit for the project you are in
  patina tui --theme light         pick a theme (dark, light, high-contrast, or your own)

Keys: ? shows them all (generated from your keymap). Remap them in
$XDG_CONFIG_HOME/patina/config.toml:
  [keys]
  note = \"N\"
  belief = [\"b\", \"ctrl-b\"]
  [tui]
  theme = \"high-contrast\"
  mouse = false
Themes: themes/*.toml are built in; $XDG_CONFIG_HOME/patina/themes/NAME.toml overrides or adds one.")]
pub struct Args {
    /// Theme to start with (built in: dark, light, high-contrast; `t` cycles while running).
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    tui::run(tui::Options {
        cwd: ctx.cwd.clone(),
        theme: args.theme,
    })
}

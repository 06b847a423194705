//! `patina agent` (the coding agent's side: transcript, state events, context) and
//! `patina adapter` (install an agent's command files and hooks).

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::agent;
use crate::backend::{self, Backend};
use crate::error::Error;
use crate::output::Ctx;
use crate::project::Project;
use crate::transcript;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  patina agent event busy --agent claude   (from a hook; silent, exit 0)
  patina agent status --json               busy / waiting / idle per agent
  patina agent context --json              what /session-start feeds the agent
  patina agent transcript                  = patina session transcript")]
pub struct Args {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    /// Report the agent's state (busy, waiting, idle): for the agent's hooks. Prints nothing and
    /// always exits 0; reads the hook's JSON from stdin when there is one.
    #[command(after_help = EVENT_EXAMPLES)]
    Event(EventArgs),
    /// Show the project's agent state (what `GET /api/agent` answers).
    #[command(after_help = "Examples:\n  patina agent status\n  patina agent status --json")]
    Status,
    /// A compact context bundle for the start of an agent conversation: previous session,
    /// open goals, recent beliefs, related notes.
    #[command(
        after_help = "Examples:\n  patina agent context\n  patina agent context --json   (what /session-start feeds the agent)"
    )]
    Context,
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

const EVENT_EXAMPLES: &str = "\
Examples:
  patina agent event busy --agent claude       from a UserPromptSubmit hook
  patina agent event waiting --agent gemini    from a Notification hook
  patina agent event idle --agent codex '{\"type\":\"agent-turn-complete\"}'   Codex notify

Installed for you by `patina init --llm <agent>` / `patina adapter install <agent>`.";

/// `agent event`: lenient by design — a hook must never fail or print, so nothing here is
/// validated by clap (an unknown state is ignored silently).
#[derive(Debug, clap::Args)]
pub struct EventArgs {
    /// busy | waiting | idle
    pub state: String,
    /// The agent reporting (claude, codex, gemini, opencode). Default: the project's llm.
    #[arg(long)]
    pub agent: Option<String>,
    /// A trailing JSON payload (Codex `notify` passes one); other extra words are ignored.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub payload: Vec<String>,
}

/// Flags of `session transcript` / `agent transcript`.
#[derive(Debug, clap::Args)]
pub struct TranscriptArgs {}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  patina adapter install claude
  patina adapter status codex --json
  patina adapter uninstall gemini")]
pub struct AdapterArgs {
    #[command(subcommand)]
    pub command: AdapterCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdapterCommand {
    /// Install the agent's adapter: commands (or skills), the `patina mcp` server registration,
    /// an instruction block in CLAUDE.md / AGENTS.md / GEMINI.md, and state hooks. Keeps your
    /// content (comments included); idempotent; all files or none.
    #[command(after_help = INSTALL_EXAMPLES)]
    Install {
        #[arg(value_parser = ["claude", "codex", "gemini", "opencode"])]
        agent: String,
        /// Replace command files that differ from patina's.
        #[arg(long)]
        force: bool,
        /// Put hooks (and Codex's MCP registration) in the project's committed files instead
        /// of your per-user ones.
        #[arg(long)]
        shared: bool,
    },
    /// Remove the agent's adapter: every file back as it was before install (your later edits
    /// kept).
    #[command(
        after_help = "Examples:\n  patina adapter uninstall claude\n  patina adapter uninstall codex --json"
    )]
    Uninstall {
        #[arg(value_parser = ["claude", "codex", "gemini", "opencode"])]
        agent: String,
    },
    /// Show which of the agent's adapter files are in place.
    #[command(
        after_help = "Examples:\n  patina adapter status claude\n  patina adapter status opencode --json"
    )]
    Status {
        #[arg(value_parser = ["claude", "codex", "gemini", "opencode"])]
        agent: String,
    },
}

const INSTALL_EXAMPLES: &str = "\
Examples:
  patina adapter install claude     .claude/commands/*.md, .mcp.json, CLAUDE.md block,
                                    hooks in .claude/settings.local.json
  patina adapter install codex      .agents/skills/patina-*/SKILL.md, AGENTS.md block,
                                    [mcp_servers.patina] + hooks in $CODEX_HOME (~/.codex)
  patina adapter install gemini     .gemini/commands/*.toml, mcpServers in .gemini/settings.json,
                                    GEMINI.md block, hooks in ~/.gemini/settings.json
  patina adapter install opencode   .opencode/commands/*.md, mcp in opencode.json, AGENTS.md
                                    block, plugin ~/.config/opencode/plugins/patina.js
  patina adapter install claude --shared   hooks in the committed .claude/settings.json

Formats and their sources: docs/agents.md.";

/// `patina mcp`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  patina mcp        (started by the agent: registered by `patina adapter install <agent>`)

Speaks MCP (JSON-RPC) on stdin/stdout; logs go to PATINA_HOME/logs/patina.log. Tools: scry,
context, session_status, session_note, belief_capture, belief_show. See docs/agents.md.")]
pub struct McpArgs {}

/// Serve MCP on stdio for the project the agent started us in.
pub fn run_mcp(_args: McpArgs, ctx: &Ctx) -> Result<()> {
    crate::mcp::serve(&ctx.cwd)
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        AgentCommand::Event(a) => {
            run_event(a, ctx);
            Ok(())
        }
        AgentCommand::Status => {
            let project = Project::discover(&ctx.cwd)?;
            let st =
                backend::pick(false, backend::InProcess::default()).agent_status(project.root())?;
            ctx.emit(&st, |a| render_status(&a.answer));
            Ok(())
        }
        AgentCommand::Context => {
            let project = Project::discover(&ctx.cwd)?;
            let c = agent::context(&project);
            ctx.emit(&c, agent::context_markdown);
            Ok(())
        }
        AgentCommand::Transcript(a) => run_transcript(a, ctx),
    }
}

fn render_status(st: &agent::AgentStatus) -> String {
    if st.agents.is_empty() {
        return "no agent has reported yet (hooks: `patina adapter install <agent>`)\n".into();
    }
    let mut s = if st.waiting > 0 {
        format!("WAITING FOR YOU ({} session(s))\n", st.waiting)
    } else {
        format!(
            "{} ({})\n",
            st.state.as_str(),
            st.agent.as_deref().unwrap_or("-")
        )
    };
    for a in &st.agents {
        let sid: String = a.session_id.chars().take(8).collect();
        s.push_str(&format!(
            "  {:<9} {:<9} {:<8} since {}{}\n",
            a.agent,
            if sid.is_empty() { "-".to_string() } else { sid },
            a.state.as_str(),
            a.since.format("%Y-%m-%d %H:%M:%S"),
            if a.stale { " (expired)" } else { "" }
        ));
    }
    s
}

pub fn run_adapter(args: AdapterArgs, ctx: &Ctx) -> Result<()> {
    let project = Project::discover(&ctx.cwd)?;
    match args.command {
        AdapterCommand::Install {
            agent,
            force,
            shared,
        } => {
            let opts = agent::InstallOptions { force, shared };
            let report = agent::install(project.root(), &agent, opts)?;
            ctx.emit(&report, render_install);
            super::compat::warn_unknown(ctx, project.root());
        }
        AdapterCommand::Uninstall { agent } => {
            let report = agent::uninstall(project.root(), &agent)?;
            ctx.emit(&report, render_install);
        }
        AdapterCommand::Status { agent } => {
            let st = agent::adapter_status(project.root(), &agent)?;
            ctx.emit(&st, render_adapter_status);
        }
    }
    Ok(())
}

fn render_adapter_status(st: &agent::AdapterStatus) -> String {
    let mut s = format!(
        "{} adapter: {}{}\n",
        st.agent,
        if st.installed {
            "installed"
        } else {
            "not installed"
        },
        if st.shared { " (shared hooks)" } else { "" }
    );
    for f in &st.files {
        s.push_str(&format!("  {:<8} {:<12} {}\n", f.state, f.role, f.path));
    }
    if !st.patina_on_path {
        s.push_str("  note: `patina` is not on PATH (hooks stay silent, MCP cannot start)\n");
    }
    for n in &st.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// Human text of an adapter install (also used by `patina init --llm`).
pub fn render_install(r: &agent::InstallReport) -> String {
    let mut s = format!("{} adapter:\n", r.agent);
    for f in &r.files {
        s.push_str(&format!("  {:<9} {:<12} {}\n", f.action, f.role, f.path));
    }
    for n in &r.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// Longest a hook's stdin is waited for: hook runners write the payload and close at once.
const STDIN_WAIT: Duration = Duration::from_millis(500);
const STDIN_MAX: u64 = 1 << 20;

/// `agent event`: record the state; never print, never fail (problems go to the log).
fn run_event(args: EventArgs, ctx: &Ctx) {
    if let Err(e) = try_event(args, ctx) {
        tracing::warn!("agent event ignored: {e:#}");
    }
}

fn try_event(args: EventArgs, ctx: &Ctx) -> Result<()> {
    let requested = agent::State::parse(&args.state)
        .ok_or_else(|| Error::usage(format!("unknown state {:?}", args.state)))?;
    // The payload: a trailing JSON argument (Codex notify), else stdin when it is not a terminal.
    let arg_json = args
        .payload
        .iter()
        .rev()
        .find(|a| a.trim_start().starts_with('{'));
    let text = match arg_json {
        Some(a) => a.clone(),
        None => read_stdin_briefly(),
    };
    let input = agent::parse_hook_input(&text);
    let Some(state) = agent::refine_state(requested, &input) else {
        return Ok(()); // a notification that says nothing about the agent's state
    };
    let cwd = input
        .cwd
        .as_deref()
        .map(Path::new)
        .filter(|p| p.is_dir())
        .unwrap_or(&ctx.cwd);
    let project = Project::discover(cwd)?;
    if !project.is_initialized() {
        return Err(Error::not_in_project(format!(
            "{} is not a patina project",
            project.root().display()
        ))
        .into());
    }
    let agent_name = args
        .agent
        .or_else(|| project.config().llm().map(String::from))
        .unwrap_or_else(|| "unknown".into());
    let ev = agent::Event {
        agent: agent_name,
        state: Some(state),
        event: input.event,
        session_id: input.session_id,
    };
    // Through the daemon when one answers (it records the same way and can tell the cockpit),
    // else in-process; a short deadline because hooks must be fast.
    let req = crate::proto::agent::AgentEventRequest {
        project: project.root().to_string_lossy().into_owned(),
        agent: ev.agent,
        state,
        event: ev.event,
        session_id: ev.session_id,
    };
    let daemon = backend::Daemon::local().with_timeout(Duration::from_millis(800));
    backend::Auto::new(daemon, backend::InProcess::default()).agent_event(&req)?;
    Ok(())
}

fn read_stdin_briefly() -> String {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(0) } == 1 {
        return String::new();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::stdin()
            .lock()
            .take(STDIN_MAX)
            .read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    // A runner that keeps stdin open without writing must not hang the hook: give up quickly
    // (the reader thread ends with the process).
    rx.recv_timeout(STDIN_WAIT)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// `session update --prompts`: after the git update, write the transcript sections into the
/// active session; prints the update report with a `prompts` object added.
pub fn emit_update_with_prompts(
    project: &Project,
    update: &crate::session::UpdateReport,
    ctx: &Ctx,
) -> Result<()> {
    #[derive(serde::Serialize)]
    struct WithPrompts<'a> {
        #[serde(flatten)]
        update: &'a crate::session::UpdateReport,
        prompts: Option<transcript::Refreshed>,
    }
    let refreshed = transcript::refresh_active(project, &transcript::KnownSecrets)?;
    let out = WithPrompts {
        update,
        prompts: refreshed,
    };
    ctx.emit(&out, |o| {
        let mut s = format!("{}\n", o.update.summary.replace("**", ""));
        match &o.prompts {
            Some(p) if p.written => s.push_str(&format!(
                "Wrote ## User Prompts ({}) and agent activity into {}\n",
                p.prompts, p.id
            )),
            Some(_) => s.push_str("No prompts or agent activity found (or capture is off).\n"),
            None => {}
        }
        s
    });
    Ok(())
}

/// `session transcript`: what the active session would capture.
pub fn run_transcript(_args: TranscriptArgs, ctx: &Ctx) -> Result<()> {
    let project = Project::discover(&ctx.cwd)?;
    let Some(active) = transcript::active_session(&project)? else {
        return Err(Error::conflict(
            "no active session; start one with `patina session start \"title\"`",
        )
        .into());
    };
    let cap = transcript::capture(
        &project,
        &active.llm,
        &active.window,
        &transcript::KnownSecrets,
    )?;
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

//! `patina session`: thin wrappers over `crate::session`.

use std::io::Read;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::Subcommand;

use crate::error::Error;
use crate::output::Ctx;
use crate::project::Project;
use crate::session::{self, ListFilter, SessionDoc};

const EXAMPLES: &str = "\
Examples:
  patina session start \"fix login race\" --llm claude
  patina session note \"root cause: the token refresh is not awaited\"
  git log -1 --format=%B | patina session note -
  patina session goal add \"write the regression test\"
  patina session goal done 2
  patina session update \"refactor done, tests next\"
  patina session status --json
  patina session show layer/sessions/20250728-182427.md --json
  patina session list --since 2026-01-01 --llm claude
  patina session end --commit
  patina session recover --at 2026-11-29T18:00:00+01:00

Exit codes: 3 when the state forbids it (a session is already active / none is), 4 not found.";

#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: SessionCmd,
}

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Start a session: annotated start tag, active session file with the previous session's context.
    #[command(after_help = "Example:\n  patina session start \"security review\" --llm gemini")]
    Start {
        /// What the session is about (one line; newlines become spaces).
        title: String,
        /// The coding agent (claude, gemini, codex, opencode); default from .patina/config.toml.
        #[arg(long)]
        llm: Option<String>,
    },
    /// Append a note to the activity log (`-` reads it from stdin).
    #[command(
        after_help = "Examples:\n  patina session note \"found the cause\"\n  echo text | patina session note -"
    )]
    Note {
        /// The note, or `-` for stdin.
        #[arg(allow_hyphen_values = true)]
        text: String,
    },
    /// Add goals and tick them off.
    #[command(subcommand)]
    Goal(GoalCmd),
    /// Record git activity since the start (commits, files, uncommitted) in the log.
    #[command(
        after_help = "Examples:\n  patina session update \"parser done\"\n  patina session update --prompts   also refresh ## User Prompts / ## Agent Activity"
    )]
    Update {
        /// An optional line to add under the git activity.
        #[arg(allow_hyphen_values = true)]
        message: Option<String>,
        /// Also write the prompts and agent activity so far (from the agents' logs).
        #[arg(long)]
        prompts: bool,
    },
    /// Show what the agents' logs would add to the session: prompts and agent activity.
    #[command(after_help = super::agent::TRANSCRIPT_EXAMPLES)]
    Transcript(super::agent::TranscriptArgs),
    /// The active session: goals, activity, git, staleness.
    #[command(after_help = "Example:\n  patina session status --json")]
    Status,
    /// Show a session: the active one, an archived id, or any session file (either header format).
    #[command(
        after_help = "Examples:\n  patina session show\n  patina session show 20261129-141503\n  patina session show path/to/file.md --json"
    )]
    Show {
        /// A session id or a path to a session file; default: the active session.
        target: Option<String>,
    },
    /// List archived sessions and the active one.
    #[command(
        after_help = "Example:\n  patina session list --since 2026-11-01 --llm claude --json"
    )]
    List {
        /// Only sessions started on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Only sessions of this coding agent.
        #[arg(long)]
        llm: Option<String>,
    },
    /// End the session: end tag, classification, beliefs captured, archive.
    #[command(after_help = "Example:\n  patina session end --commit")]
    End {
        /// Commit the archived file as `session: archive <id> (<title>)`.
        #[arg(long)]
        commit: bool,
    },
    /// Close a session left active by a crash: end tag on its last commit, status recovered.
    #[command(
        after_help = "Examples:\n  patina session recover\n  patina session recover --at 2026-11-29T18:00:00+01:00"
    )]
    Recover {
        /// An unterminated session in the archive (left `status: active` by an old crash);
        /// default: the active session.
        id: Option<String>,
        /// Place the end at this time (RFC 3339): the last commit at or before it.
        #[arg(long)]
        at: Option<DateTime<FixedOffset>>,
        /// Commit the archived file.
        #[arg(long)]
        commit: bool,
    },
    /// Close the active session as abandoned.
    #[command(after_help = "Example:\n  patina session abandon")]
    Abandon {
        /// An unterminated session in the archive; default: the active session.
        id: Option<String>,
        /// Commit the archived file.
        #[arg(long)]
        commit: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GoalCmd {
    /// Add an open goal.
    #[command(after_help = "Example:\n  patina session goal add \"update the docs\"")]
    Add {
        #[arg(allow_hyphen_values = true)]
        text: String,
    },
    /// Mark a goal done, by number or by (a unique part of) its text.
    #[command(
        after_help = "Examples:\n  patina session goal done 2\n  patina session goal done docs"
    )]
    Done { goal: String },
    /// Reopen a goal, by number or text.
    #[command(after_help = "Example:\n  patina session goal undo 2")]
    Undo { goal: String },
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    // `show <path>` reads any file, inside a project or not.
    if let SessionCmd::Show { target: Some(t) } = &args.command {
        let p = ctx.cwd.join(t);
        if t.ends_with(".md") || t.contains('/') || p.is_file() {
            if !p.is_file() {
                return Err(Error::not_found(format!("{}: no such file", p.display())).into());
            }
            let doc = session::read_doc(&p)?;
            ctx.emit(&doc, human_doc);
            return Ok(());
        }
    }
    let project = Project::discover(&ctx.cwd)?;
    let engine = crate::backend::session_engine()?;
    match args.command {
        SessionCmd::Start { title, llm } => {
            let r = engine.start(&project, &title, llm.as_deref())?;
            for w in &r.warnings {
                ctx.notice(&format!("warning: {w}"));
            }
            ctx.emit(&r, |r| {
                let mut s = format!("Started session {} \"{}\" ({})\n", r.id, r.title, r.llm);
                if let Some(t) = &r.start_tag {
                    s.push_str(&format!("Tagged {t}\n"));
                }
                match &r.previous {
                    Some(p) => s.push_str(&format!("Previous: {} \"{}\"\n", p.id, p.title)),
                    None => s.push_str("No previous session.\n"),
                }
                s
            });
        }
        SessionCmd::Note { text } => {
            let text = if text == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the note from stdin")?;
                s
            } else {
                text
            };
            let r = engine.note(&project, &text)?;
            for w in &r.warnings {
                ctx.notice(&format!("warning: {w}"));
            }
            ctx.emit(&r, |r| format!("Noted in {} ({})", r.id, r.heading));
        }
        SessionCmd::Goal(g) => {
            let r = match g {
                GoalCmd::Add { text } => session::goal_add(&project, &text)?,
                GoalCmd::Done { goal } => session::goal_done(&project, &goal)?,
                GoalCmd::Undo { goal } => session::goal_set(&project, &goal, false)?,
            };
            ctx.emit(&r, |r| {
                let mut s = String::new();
                for g in &r.goals {
                    s.push_str(&format!(
                        "{:>2}. [{}] {}\n",
                        g.index,
                        if g.done { "x" } else { " " },
                        g.text
                    ));
                }
                s
            });
        }
        SessionCmd::Update { message, prompts } => {
            let r = engine.update(&project, message.as_deref())?;
            if prompts {
                return super::agent::emit_update_with_prompts(&project, &r, ctx);
            }
            ctx.emit(&r, |r| format!("{}\n", r.summary.replace("**", "")));
        }
        SessionCmd::Transcript(a) => return super::agent::run_transcript(a, ctx),
        SessionCmd::Status => {
            let r = engine.status(&project)?;
            ctx.emit(&r, human_status);
        }
        SessionCmd::Show { target } => {
            let doc = session::show(&project, target.as_deref())?;
            ctx.emit(&doc, human_doc);
        }
        SessionCmd::List { since, llm } => {
            let r = session::list(&project, &ListFilter { since, llm })?;
            for e in &r.errors {
                ctx.notice(&format!("warning: {}: {}", e.path.display(), e.error));
            }
            ctx.emit(&r, |r| {
                let mut s = String::new();
                for x in &r.sessions {
                    s.push_str(&format!(
                        "{}  {:<9} {:<8} {:<13} {}\n",
                        x.id,
                        x.status,
                        x.llm.as_deref().unwrap_or("-"),
                        x.work_type.as_deref().unwrap_or("-"),
                        x.title
                    ));
                }
                if s.is_empty() {
                    s.push_str("No sessions.\n");
                }
                s
            });
        }
        SessionCmd::End { commit } => close(ctx, engine.end(&project, commit)?),
        SessionCmd::Recover {
            id: None,
            at,
            commit,
        } => close(ctx, engine.recover(&project, at, commit)?),
        SessionCmd::Recover {
            id: Some(id),
            at,
            commit,
        } => close(
            ctx,
            engine.close_unterminated(&project, &id, session::CloseKind::Recover, at, commit)?,
        ),
        SessionCmd::Abandon { id: None, commit } => close(ctx, engine.abandon(&project, commit)?),
        SessionCmd::Abandon {
            id: Some(id),
            commit,
        } => close(
            ctx,
            engine.close_unterminated(&project, &id, session::CloseKind::Abandon, None, commit)?,
        ),
    }
    Ok(())
}

fn close(ctx: &Ctx, r: session::CloseReport) {
    for w in &r.warnings {
        ctx.notice(&format!("warning: {w}"));
    }
    ctx.emit(&r, |r| {
        let mut s = format!(
            "Session {} {} ({}: {} commits, {} files, {} beliefs)\n",
            r.id,
            r.status,
            r.classification.work_type,
            r.classification.commits,
            r.classification.files_changed,
            r.classification.beliefs_captured
        );
        if let Some(t) = &r.end_tag {
            s.push_str(&format!("Tagged {t}\n"));
        }
        s.push_str(&format!("Archived to {}\n", r.path.display()));
        if let Some(c) = &r.archive_commit {
            s.push_str(&format!("Committed {}\n", crate::git::short(c)));
        }
        s
    });
}

fn human_status(s: &session::SessionStatus) -> String {
    if !s.active {
        let mut out = "No active session.\n".to_string();
        if let Some(l) = &s.last_session {
            out.push_str(&format!("Last: {} \"{}\" ({})\n", l.id, l.title, l.status));
        }
        return out;
    }
    let mut out = format!(
        "Session {} \"{}\" ({})\n",
        s.id.as_deref().unwrap_or("?"),
        s.title.as_deref().unwrap_or(""),
        s.llm.as_deref().unwrap_or("-")
    );
    if let Some(b) = &s.branch {
        out.push_str(&format!("Branch: {b}\n"));
    }
    if let Some(l) = &s.last_activity {
        out.push_str(&format!("Last activity: {l}\n"));
    }
    if s.stale {
        out.push_str(&format!(
            "STALE: no activity for more than {} h; `patina session recover` closes it\n",
            s.stale_hours
        ));
    }
    if let Some(g) = &s.git {
        out.push_str(&format!(
            "Git: {} commits, {} files changed (+{} −{}), {} uncommitted\n",
            g.commits,
            g.files.len(),
            g.insertions,
            g.deletions,
            g.uncommitted.len()
        ));
    }
    out.push_str(&format!(
        "Goals ({}/{} done):\n",
        s.goals_done,
        s.goals.len()
    ));
    for g in &s.goals {
        out.push_str(&format!(
            "{:>2}. [{}] {}\n",
            g.index,
            if g.done { "x" } else { " " },
            g.text
        ));
    }
    out.push_str(&format!("Activity entries: {}\n", s.entries));
    out
}

fn human_doc(d: &SessionDoc) -> String {
    let mut out = format!("{} \"{}\" [{}]\n", d.id, d.title, d.status);
    if let Some(c) = &d.created {
        out.push_str(&format!("Created: {c}\n"));
    }
    if let Some(c) = &d.classification {
        out.push_str(&format!(
            "Work type: {} ({} commits, {} files)\n",
            c.work_type, c.commits, c.files_changed
        ));
    }
    for g in &d.goals {
        out.push_str(&format!(
            "{:>2}. [{}] {}\n",
            g.index,
            if g.done { "x" } else { " " },
            g.text
        ));
    }
    for e in &d.activity {
        out.push_str(&format!("  {} - {}\n", e.time_text, e.heading));
    }
    for w in &d.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

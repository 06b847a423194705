//! `patina belief`: capture, list, show, link, revise and check beliefs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::belief::{self, Belief, NewBelief, Relation};
use crate::error::Error;
use crate::output::{Ctx, SilentExit};
use crate::project::Project;

const EXAMPLES: &str = "\
Examples:
  patina belief new --id measure-first --statement \"Measure before optimising\" \\
      --evidence \"profiling showed 80% in parsing (weight: 0.9)\" --facets perf,process
  patina belief list --status active --facet rust
  patina belief show measure-first --json
  patina belief link measure-first supports spec-first
  patina belief revise measure-first \"scoped to hot paths\" --status scoped
  patina belief check            # exit 1 when anything is wrong";

#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Capture a new belief (refuses to overwrite; links the active session).
    #[command(after_help = "\
Examples:
  patina belief new --id duplicate-before-extract \\
      --statement \"Duplicate small code; extract at the third consumer\" \\
      --evidence \"two UDS clients, chose duplication (weight: 0.9)\" \\
      --supports dependable-rust --facets architecture,rust --entrenchment medium
  patina belief new --id x --statement \"...\" --attacks not-written-yet --hypothetical
  patina belief new --id x --statement \"...\" --edit      # then opens $EDITOR

With an active session, exactly one evidence line links [[session-<id>]] and the session log
gets \"Belief captured: <id> — <statement>\".")]
    New(NewArgs),
    /// List beliefs, optionally filtered by status or facet.
    #[command(after_help = "\
Examples:
  patina belief list
  patina belief list --status active --facet rust --json
  patina belief list --since HEAD~3")]
    List {
        /// Only beliefs with this status (active, scoped, defeated, archived).
        #[arg(long)]
        status: Option<String>,
        /// Only beliefs with this facet.
        #[arg(long)]
        facet: Option<String>,
        /// Only beliefs added or changed since this commit (committed, staged or untracked).
        /// `session end` counts fewer: only the beliefs the session itself created or revised.
        #[arg(long, value_name = "COMMIT")]
        since: Option<String>,
    },
    /// Show one belief.
    #[command(
        after_help = "Examples:\n  patina belief show measure-first\n  patina belief show measure-first --json"
    )]
    Show {
        /// The belief id.
        id: String,
    },
    /// Link two beliefs: <from> supports|attacks <to>; edits both files.
    #[command(after_help = "\
Examples:
  patina belief link measure-first supports spec-first
  patina belief link move-fast attacks measure-first
  patina belief link measure-first attacks intuition-is-enough --hypothetical

from gets [[to]] under ## Supports / ## Attacks. When <to> is a belief it gets the
back-reference: supports → an evidence line \"[[from]]: supporting belief\";
attacks → [[from]] under ## Attacked-By. <to> may also be a layer document or session
(then only <from> changes). Running it again changes nothing.")]
    Link {
        /// The belief that supports or attacks.
        from: String,
        /// supports | attacks
        relation: RelationArg,
        /// The belief (or layer document / session) supported or attacked.
        to: String,
        /// Accept a <to> that does not exist yet; it is listed in from's `hypothetical:`.
        #[arg(long)]
        hypothetical: bool,
    },
    /// Record a revision: Revision Log entry + revised date (optionally new status/entrenchment).
    #[command(after_help = "\
Examples:
  patina belief revise measure-first \"evidence from the Q4 review\"
  patina belief revise measure-first \"only for hot paths\" --status scoped --entrenchment high")]
    Revise {
        /// The belief id.
        id: String,
        /// One line describing the revision.
        note: String,
        /// New status (active, scoped, defeated, archived).
        #[arg(long)]
        status: Option<String>,
        /// New entrenchment (low, medium, high, very-high).
        #[arg(long)]
        entrenchment: Option<String>,
    },
    /// Check every belief: dangling links, duplicated evidence, missing sections,
    /// invalid frontmatter, id ≠ file name, duplicate ids. Exit 1 when anything is found.
    #[command(after_help = "\
Examples:
  patina belief check
  patina belief check --json | jq '.counts'

A link that is intentionally hypothetical (a belief not written yet) is listed in the
linking belief's frontmatter: `hypothetical: [some-id]`. Commit refs ([[commit-<sha>]],
[[<short sha>]]) and URLs count as external and are never dangling.")]
    Check,
    /// List the layer's documents: core, surface, beliefs, archived sessions and every other
    /// `.md`/`.toml` file under layer/.
    #[command(
        after_help = "Examples:\n  patina belief docs\n  patina belief docs --kind core --json"
    )]
    Docs {
        /// Only this kind: core, surface, belief, session, layer.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Complete a [[link]] target: known belief, layer and session ids, best first.
    #[command(
        after_help = "Examples:\n  patina belief complete meas\n  patina belief complete session-2026 --limit 5 --json"
    )]
    Complete {
        /// The typed prefix (may be empty).
        #[arg(default_value = "")]
        prefix: String,
        /// At most this many ids.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RelationArg {
    Supports,
    Attacks,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The id and file name: lowercase letters, digits, dashes (^[a-z][a-z0-9-]*$).
    #[arg(long)]
    pub id: String,
    /// The one-line statement.
    #[arg(long)]
    pub statement: String,
    /// An evidence line (repeatable), e.g. "what happened (weight: 0.9)".
    #[arg(long)]
    pub evidence: Vec<String>,
    /// A belief/layer id this one supports (repeatable).
    #[arg(long)]
    pub supports: Vec<String>,
    /// A belief/layer id this one attacks (repeatable).
    #[arg(long)]
    pub attacks: Vec<String>,
    /// Comma-separated facets, e.g. rust,architecture.
    #[arg(long, value_delimiter = ',')]
    pub facets: Vec<String>,
    /// low | medium | high | very-high.
    #[arg(long, default_value = "medium")]
    pub entrenchment: String,
    /// Whose belief this is.
    #[arg(long, default_value = "architect")]
    pub persona: String,
    /// Accept --supports/--attacks targets that do not exist yet (recorded as hypothetical).
    #[arg(long)]
    pub hypothetical: bool,
    /// Open $EDITOR (else $VISUAL, else vi) on the new file, then re-validate it.
    #[arg(long)]
    pub edit: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let project = Project::discover(&ctx.cwd)?;
    match args.command {
        Sub::New(a) => new(&project, a, ctx),
        Sub::List {
            status,
            facet,
            since,
        } => list(&project, status, facet, since, ctx),
        Sub::Show { id } => {
            let b = belief::load(&project, &id)?;
            ctx.emit(&b, |b| show_human(&project, b));
            Ok(())
        }
        Sub::Link {
            from,
            relation,
            to,
            hypothetical,
        } => {
            let relation = match relation {
                RelationArg::Supports => Relation::Supports,
                RelationArg::Attacks => Relation::Attacks,
            };
            let out = belief::link(&project, &from, relation, &to, hypothetical)?;
            ctx.emit(&out, |o| {
                let verb = match o.relation {
                    Relation::Supports => "supports",
                    Relation::Attacks => "attacks",
                };
                if o.changed.is_empty() {
                    format!("{} already {verb} {}; nothing changed", o.from, o.to)
                } else {
                    let files: Vec<String> = o.changed.iter().map(|p| rel(&project, p)).collect();
                    format!("{} {verb} {} (updated {})", o.from, o.to, files.join(", "))
                }
            });
            Ok(())
        }
        Sub::Revise {
            id,
            note,
            status,
            entrenchment,
        } => {
            let b = belief::revise(
                &project,
                &id,
                &note,
                status.as_deref(),
                entrenchment.as_deref(),
            )?;
            ctx.emit(&b, |b| {
                format!("revised {} ({})", b.id, b.revised.as_deref().unwrap_or(""))
            });
            Ok(())
        }
        Sub::Check => check(&project, ctx),
        Sub::Docs { kind } => docs(&project, kind, ctx),
        Sub::Complete { prefix, limit } => {
            let ids = crate::layer::complete_link(&project, &prefix, limit)?;
            ctx.emit(&ids, |ids| ids.join("\n"));
            Ok(())
        }
    }
}

fn docs(project: &Project, kind: Option<String>, ctx: &Ctx) -> Result<()> {
    use crate::layer::DocKind;
    let want = match kind.as_deref() {
        None => None,
        Some("core") => Some(DocKind::Core),
        Some("surface") => Some(DocKind::Surface),
        Some("belief") => Some(DocKind::Belief),
        Some("session") => Some(DocKind::Session),
        Some("layer") => Some(DocKind::Layer),
        Some(other) => {
            return Err(Error::usage(format!(
                "--kind `{other}` is unknown: use core, surface, belief, session or layer"
            ))
            .into());
        }
    };
    let mut docs = crate::layer::documents(project)?;
    docs.retain(|d| want.is_none_or(|k| d.kind == k));
    for d in &mut docs {
        d.path = d
            .path
            .strip_prefix(project.root())
            .unwrap_or(&d.path)
            .to_path_buf();
    }
    ctx.emit(&docs, |docs| {
        docs.iter()
            .map(|d| {
                let kind = serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                format!("{kind:<8} {}  {}", d.link_id(), truncate(&d.title, 70))
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

fn rel(project: &Project, p: &Path) -> String {
    p.strip_prefix(project.root())
        .unwrap_or(p)
        .display()
        .to_string()
}

fn new(project: &Project, a: NewArgs, ctx: &Ctx) -> Result<()> {
    let nb = NewBelief {
        id: a.id,
        statement: a.statement,
        evidence: a.evidence,
        supports: a.supports,
        attacks: a.attacks,
        facets: a.facets,
        entrenchment: a.entrenchment,
        persona: a.persona,
        hypothetical: a.hypothetical,
    };
    let mut editor = |path: &Path| run_editor(path);
    let hook: Option<belief::EditHook<'_>> = if a.edit { Some(&mut editor) } else { None };
    let created = belief::create(project, &nb, hook, &crate::backend::session_engine()?)?;
    ctx.emit(&created, |c| {
        let mut s = format!(
            "captured {} ({})",
            c.belief.id,
            rel(project, &c.belief.path)
        );
        if let Some(sid) = &c.session {
            s.push_str(&format!("\nlinked to session {sid}"));
        }
        if !c.back_references.is_empty() {
            s.push_str(&format!(
                "\nback-references added in: {}",
                c.back_references.join(", ")
            ));
        }
        s
    });
    Ok(())
}

/// `$EDITOR` (else `$VISUAL`, else `vi`) on `path`, through `sh` so "code --wait" works.
fn run_editor(path: &Path) -> Result<()> {
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("VISUAL")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("patina-editor")
        .arg(path)
        .status()
        .with_context(|| format!("starting the editor `{editor}`"))?;
    if !status.success() {
        return Err(Error::new(
            crate::error::ErrorKind::Io,
            format!("the editor `{editor}` exited with {status}; the new belief was removed"),
        )
        .into());
    }
    Ok(())
}

#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    statement: &'a str,
    status: Option<&'a str>,
    entrenchment: Option<&'a str>,
    persona: Option<&'a str>,
    facets: &'a [String],
    endorsed: Option<bool>,
    extracted: Option<&'a str>,
    revised: Option<&'a str>,
    evidence: usize,
    path: String,
}

fn list(
    project: &Project,
    status: Option<String>,
    facet: Option<String>,
    since: Option<String>,
    ctx: &Ctx,
) -> Result<()> {
    if let Some(s) = &status
        && !belief::STATUSES.contains(&s.as_str())
    {
        return Err(Error::usage(format!(
            "--status `{s}` is unknown: use one of {}",
            belief::STATUSES.join(", ")
        ))
        .into());
    }
    let captured: Option<Vec<std::path::PathBuf>> = match &since {
        Some(rev) => Some(
            belief::captured_since(project, Some(rev))?
                .into_iter()
                .map(|c| c.path)
                .collect(),
        ),
        None => None,
    };
    let all = belief::list(project)?;
    for e in &all.errors {
        ctx.notice(&format!("warning: skipped {}", e.error));
    }
    let shown: Vec<&Belief> = all
        .beliefs
        .iter()
        .filter(|b| {
            status
                .as_deref()
                .is_none_or(|s| b.status.as_deref() == Some(s))
        })
        .filter(|b| {
            facet
                .as_deref()
                .is_none_or(|f| b.facets.iter().any(|x| x == f))
        })
        .filter(|b| captured.as_ref().is_none_or(|c| c.contains(&b.path)))
        .collect();
    let rows: Vec<Summary> = shown
        .iter()
        .map(|b| Summary {
            id: &b.id,
            statement: &b.statement,
            status: b.status.as_deref(),
            entrenchment: b.entrenchment.as_deref(),
            persona: b.persona.as_deref(),
            facets: &b.facets,
            endorsed: b.endorsed,
            extracted: b.extracted.as_deref(),
            revised: b.revised.as_deref(),
            evidence: b.evidence.len(),
            path: rel(project, &b.path),
        })
        .collect();
    ctx.emit(&rows, |rows| {
        if rows.is_empty() {
            return "no beliefs".into();
        }
        let w = rows.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
        rows.iter()
            .map(|r| {
                format!(
                    "{:<w$}  {:<8}  {:<9}  {}",
                    r.id,
                    r.status.unwrap_or("-"),
                    r.entrenchment.unwrap_or("-"),
                    truncate(r.statement, 80)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn show_human(project: &Project, b: &Belief) -> String {
    let mut s = format!("{}\n{}\n\n", b.id, b.statement);
    s.push_str(&format!(
        "status: {}  entrenchment: {}  persona: {}  facets: {}\n",
        b.status.as_deref().unwrap_or("-"),
        b.entrenchment.as_deref().unwrap_or("-"),
        b.persona.as_deref().unwrap_or("-"),
        if b.facets.is_empty() {
            "-".into()
        } else {
            b.facets.join(", ")
        }
    ));
    s.push_str(&format!(
        "extracted: {}  revised: {}  file: {}\n",
        b.extracted.as_deref().unwrap_or("-"),
        b.revised.as_deref().unwrap_or("-"),
        rel(project, &b.path)
    ));
    for (title, items) in [
        ("Evidence", &b.evidence),
        ("Supports", &b.supports),
        ("Attacks", &b.attacks),
        ("Attacked-By", &b.attacked_by),
        ("Applied-In", &b.applied_in),
        ("Revision Log", &b.revision_log),
    ] {
        if items.is_empty() {
            continue;
        }
        s.push_str(&format!("\n{title}:\n"));
        for i in items {
            s.push_str(&format!("  - {}\n", i.text));
        }
    }
    s
}

fn check(project: &Project, ctx: &Ctx) -> Result<()> {
    let report = belief::check(project)?;
    ctx.emit(&report, |r| {
        let mut s = String::new();
        for f in &r.findings {
            s.push_str(&format!(
                "{}:{}: {}: {}\n",
                f.path.display(),
                f.line,
                f.kind.as_str(),
                f.message
            ));
        }
        if r.ok {
            s.push_str(&format!("{} beliefs, no problems\n", r.beliefs));
        } else {
            let counts: Vec<String> = r
                .counts
                .iter()
                .map(|(k, n)| format!("{} {n}", k.as_str()))
                .collect();
            s.push_str(&format!(
                "{} beliefs, {} problems ({})\n",
                r.beliefs,
                r.findings.len(),
                counts.join(", ")
            ));
        }
        s
    });
    if report.ok {
        Ok(())
    } else {
        Err(SilentExit(1).into())
    }
}

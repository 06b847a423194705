//! `patina scry` and `patina index`: thin over `crate::scry`.
//!
//! Both go through `crate::backend`: the daemon when one answers (same engine, same answers, model
//! already hot), else in-process; `--json` says which (`"backend"`).

use std::sync::Arc;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::backend::{self, BackendKind, InProcess};
use crate::output::Ctx;
use crate::project::Project;
use crate::proto::scry::ScryRequest;
use crate::scry::{self, IndexReport, Kind, Phase, Query, ScryAnswer};

const SCRY_EXAMPLES: &str = "\
Examples:
  patina scry \"how do we handle stale sockets\"
  patina scry \"why atomic writes\" --kind belief --kind session --limit 5
  patina scry \"token comparison\" --kind code --json

Searches layer docs, beliefs, sessions, commit messages and source files, semantically (local
ONNX model, see `patina model pull`) and lexically (BM25), fused by reciprocal rank. Without a
model the answer is lexical and a notice says so. Through a running daemon the answer comes at
once from the current index (the daemon watches the project and keeps it fresh; while it is
still embedding, the answer says how much is semantic). Without a daemon the index is brought
up to date first.";

const INDEX_EXAMPLES: &str = "\
Examples:
  patina index                      bring .patina/local/index/ up to date (only changed chunks embedded)
  patina index --rebuild            embed everything again
  patina index --export team.vec    write this index's vectors for a teammate
  patina index --import team.vec    reuse a teammate's vectors; embed only what differs
  patina index --json";

/// Search the project's knowledge.
#[derive(Debug, clap::Args)]
#[command(after_help = SCRY_EXAMPLES)]
pub struct ScryArgs {
    /// What to look for, in your own words (never parsed as query syntax).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = false)]
    pub query: Vec<String>,
    /// Number of results (1..=1000).
    #[arg(long, short = 'n', default_value_t = scry::DEFAULT_LIMIT)]
    pub limit: usize,
    /// Only these kinds (repeatable): session, belief, layer, commit, code.
    #[arg(long = "kind", value_parser = parse_kind)]
    pub kinds: Vec<Kind>,
    /// Accept env-override model files that differ from the pinned hashes.
    #[arg(long)]
    pub allow_unpinned: bool,
    /// Run in this process even when a daemon answers.
    #[arg(long)]
    pub no_daemon: bool,
    /// Search every project and remote daemon registered with `patina mother` (and this one).
    #[arg(long)]
    pub all: bool,
    /// With --all: each source's deadline in milliseconds (default 3000).
    #[arg(long, value_name = "MS", requires = "all", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
}

/// Build or refresh the index.
#[derive(Debug, clap::Args)]
#[command(after_help = INDEX_EXAMPLES)]
pub struct IndexArgs {
    /// Discard the index and embed everything again.
    #[arg(long)]
    pub rebuild: bool,
    /// Accept env-override model files that differ from the pinned hashes.
    #[arg(long)]
    pub allow_unpinned: bool,
    /// Index in this process even when a daemon answers.
    #[arg(long)]
    pub no_daemon: bool,
    /// Write the vectors of the current corpus to FILE (nothing is embedded).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["import", "rebuild"])]
    pub export: Option<std::path::PathBuf>,
    /// Add the vectors in FILE (from `--export`, same model) before indexing.
    #[arg(long, value_name = "FILE", conflicts_with = "rebuild")]
    pub import: Option<std::path::PathBuf>,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub(crate) fn progress_bar() -> (ProgressBar, impl FnMut(Phase)) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let b = bar.clone();
    let f = move |p: Phase| match p {
        Phase::Scanning => {
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
            b.set_message("scanning the project");
            b.tick();
        }
        Phase::Embedding { done, total } => {
            if b.length() != Some(total as u64) {
                b.set_style(
                    ProgressStyle::with_template(
                        "embedding {bar:30} {pos}/{len} chunks ({per_sec}, eta {eta})",
                    )
                    .expect("template"),
                );
                b.set_length(total as u64);
            }
            b.set_position(done as u64);
        }
        Phase::Writing => {
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
            b.set_message("writing the index");
            b.tick();
        }
    };
    (bar, f)
}

/// This process's backend for one invocation, its indexing progress on a bar on stderr. A
/// one-shot process has no watcher keeping the index fresh, so it brings it up to date before
/// answering.
pub(crate) fn in_process(allow_unpinned: bool) -> (InProcess, ProgressBar) {
    let (bar, progress) = progress_bar();
    let progress = std::sync::Mutex::new(progress);
    let local = InProcess::new(scry::Options {
        allow_unpinned,
        ..Default::default()
    })
    .refreshing_first()
    .with_progress(Arc::new(move |p| {
        (progress.lock().unwrap_or_else(|e| e.into_inner()))(p)
    }));
    (local, bar)
}

pub fn run_scry(args: ScryArgs, ctx: &Ctx) -> Result<()> {
    if args.all {
        return crate::commands::mother::run_scry_all(args, ctx);
    }
    let project = Project::discover(&ctx.cwd)?;
    // A broken `[scry]` in the user config stops the command (exit 2), not just semantic search.
    crate::scry::embed::configured_threads()?;
    let req = ScryRequest {
        project: project.root().to_string_lossy().into_owned(),
        query: args.query.join(" "),
        limit: Some(args.limit),
        kinds: args.kinds,
        // The daemon watches the project: its current index is fresh; in-process refreshes.
        refresh: false,
    };
    Query {
        query: req.query.clone(),
        limit: req.limit,
        kinds: req.kinds.clone(),
    }
    .validate()?;
    // --allow-unpinned is a per-invocation decision the daemon's hot engine cannot take.
    let (local, bar) = in_process(args.allow_unpinned);
    let answer = backend::pick(args.no_daemon || args.allow_unpinned, local).scry(&req);
    bar.finish_and_clear();
    let answer = answer?;
    if let Some(n) = answer.answer.lexical_notice() {
        ctx.notice(&n);
    }
    ctx.emit(&answer, |a| render_answer(&a.answer));
    Ok(())
}

/// Human rendering: kind, path:line (the best-matching line), title, snippet with the query's
/// words in bold (only when stdout is a terminal), score; "no good match" above weak rows.
pub fn render_answer(a: &ScryAnswer) -> String {
    use std::io::IsTerminal;
    let bold = std::io::stdout().is_terminal();
    let mut out = String::new();
    if a.results.is_empty() {
        out.push_str("no results\n");
    } else if a.no_good_match {
        out.push_str("no good match; the closest:\n");
    }
    for h in &a.results {
        let loc = if h.kind == Kind::Commit {
            h.path.clone()
        } else {
            format!("{}:{}", h.path, h.best_line())
        };
        let title = if h.title == h.path {
            String::new()
        } else {
            format!("  {}", h.title)
        };
        let weak = if h.weak { "  (weak)" } else { "" };
        out.push_str(&format!(
            "{:<7} {loc}{title}  ({:.4}){weak}\n        {}\n",
            h.kind.as_str(),
            h.score,
            marked(&h.snippet, &h.highlights, bold)
        ));
    }
    for e in &a.errors {
        if e.source != "semantic" || a.mode != "lexical" {
            out.push_str(&format!("error ({}): {}\n", e.source, e.message));
        }
    }
    out
}

pub fn run_index(args: IndexArgs, ctx: &Ctx) -> Result<()> {
    let project = Project::discover(&ctx.cwd)?;
    crate::scry::embed::configured_threads()?;
    let (local, bar) = in_process(args.allow_unpinned);
    let eng = local.engine().clone();
    if let Some(file) = &args.export {
        bar.finish_and_clear();
        let report = eng.export_vectors(&project, &ctx.cwd.join(file))?;
        if !report.coverage.complete() {
            ctx.notice(&format!(
                "notice: the index is {:.0}% semantic; the file holds the {} chunks embedded so far",
                report.coverage.ratio * 100.0,
                report.coverage.embedded
            ));
        }
        ctx.emit(&report, |r| {
            format!(
                "exported {} vectors to {} (model {})",
                r.exported,
                r.file.display(),
                &r.model_hash[..r.model_hash.len().min(16)]
            )
        });
        return Ok(());
    }
    let imported = match &args.import {
        Some(file) => Some(eng.import_vectors(&project, &ctx.cwd.join(file))?),
        None => None,
    };
    // Unpinned model files are this call's own choice; the daemon's engine cannot take it.
    let report = backend::pick(args.allow_unpinned || args.no_daemon, local)
        .index(project.root(), args.rebuild);
    bar.finish_and_clear();
    let mut report = report?;
    if report.backend == BackendKind::InProcess
        && !report.answer.coverage.complete()
        && let Err(why) = eng.embedder()
    {
        ctx.notice(&format!("notice: lexical index only — {why}"));
    }
    report.answer.imported = imported;
    ctx.emit(&report, |r| render_index(&r.answer));
    Ok(())
}

pub fn render_index(r: &IndexReport) -> String {
    let mut kinds: Vec<_> = r.by_kind.iter().collect();
    kinds.sort();
    let kinds = kinds
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if r.changed {
        format!(
            "indexed {} chunks ({kinds}): {} embedded, {} reused, {} removed",
            r.chunks, r.embedded, r.reused, r.removed
        )
    } else {
        format!("index up to date: {} chunks ({kinds})", r.chunks)
    };
    let imported = r
        .imported
        .map(|n| format!("{n} vectors imported; "))
        .unwrap_or_default();
    format!(
        "{imported}{what}; {}/{} chunks semantic ({:.0}%) [{} mode, {} ms]",
        r.coverage.embedded,
        r.coverage.total,
        r.coverage.ratio * 100.0,
        r.mode,
        r.took_ms
    )
}

/// `snippet` with its highlighted character ranges in ANSI bold (or unchanged when `bold` is off).
fn marked(snippet: &str, highlights: &[[usize; 2]], bold: bool) -> String {
    if !bold || highlights.is_empty() {
        return snippet.to_string();
    }
    let mut out = String::with_capacity(snippet.len() + highlights.len() * 8);
    for (i, c) in snippet.chars().enumerate() {
        if highlights.iter().any(|h| h[0] == i) {
            out.push_str("\x1b[1m");
        }
        out.push(c);
        if highlights.iter().any(|h| h[1] == i + 1) {
            out.push_str("\x1b[0m");
        }
    }
    out
}

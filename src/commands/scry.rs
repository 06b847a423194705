//! `patina scry` and `patina index`: thin over `crate::scry`.
//!
//! Both run in-process here; when a daemon answers they go through it instead (same engine, same
//! answers, model already hot).

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Ctx;
use crate::project::Project;
use crate::scry::{self, IndexReport, Kind, Phase, Query, Scry, ScryAnswer};

const SCRY_EXAMPLES: &str = "\
Examples:
  patina scry \"how do we handle stale sockets\"
  patina scry \"why atomic writes\" --kind belief --kind session --limit 5
  patina scry \"token comparison\" --kind code --json

Searches layer docs, beliefs, sessions, commit messages and source files, semantically (local
ONNX model, see `patina model pull`) and lexically (BM25), fused by reciprocal rank. Without a
model the answer is lexical and a notice says so. A missing or stale index is built first.";

const INDEX_EXAMPLES: &str = "\
Examples:
  patina index              bring .patina/local/index/ up to date (only changed chunks embedded)
  patina index --rebuild    embed everything again
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

fn engine(allow_unpinned: bool) -> Scry {
    Scry::new(scry::Options {
        allow_unpinned,
        ..Default::default()
    })
}

pub fn run_scry(args: ScryArgs, ctx: &Ctx) -> Result<()> {
    if args.all {
        let q = args.query.join(" ");
        return crate::commands::mother::run_scry_all(
            q,
            args.limit,
            args.kinds,
            args.timeout_ms,
            args.allow_unpinned,
            ctx,
        );
    }
    let project = Project::discover(&ctx.cwd)?;
    let q = Query {
        query: args.query.join(" "),
        limit: Some(args.limit),
        kinds: args.kinds,
    };
    q.validate()?;
    let eng = engine(args.allow_unpinned);
    let (bar, mut progress) = progress_bar();
    let answer = eng.refresh_and_search_with(&project, &q, &mut progress);
    bar.finish_and_clear();
    let answer = answer?;
    if let Some(n) = answer.lexical_notice() {
        ctx.notice(&n);
    }
    ctx.emit(&answer, render_answer);
    Ok(())
}

/// Human rendering: kind, path:line, title, snippet, score.
pub fn render_answer(a: &ScryAnswer) -> String {
    let mut out = String::new();
    if a.results.is_empty() {
        out.push_str("no results\n");
    }
    for h in &a.results {
        let loc = if h.kind == Kind::Commit {
            h.path.clone()
        } else {
            format!("{}:{}", h.path, h.line_start)
        };
        out.push_str(&format!(
            "{:<7} {}  {}  ({:.4})\n        {}\n",
            h.kind.as_str(),
            loc,
            h.title,
            h.score,
            h.snippet
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
    let eng = engine(args.allow_unpinned);
    let (bar, mut progress) = progress_bar();
    let report = eng.index(&project, args.rebuild, &mut progress);
    bar.finish_and_clear();
    let report = report?;
    if report.mode == "lexical"
        && let Err(why) = eng.embedder()
    {
        ctx.notice(&format!("notice: lexical index only — {why}"));
    }
    ctx.emit(&report, render_index);
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
    format!("{what} [{} mode, {} ms]", r.mode, r.took_ms)
}

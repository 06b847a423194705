//! `patina mother`: the registry of projects and remote daemons that `patina scry --all` searches;
//! and the `--all` path of `patina scry` (kept here so scry's command file stays untouched but for
//! one call).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::backend;
use crate::commands::scry::ScryArgs;
use crate::error::Error;
use crate::mother::registry::{self, ProjectEntry, Registry, RemoteEntry};
use crate::mother::{self, FanOut, FederatedAnswer};
use crate::output::Ctx;
use crate::project::Project;
use crate::proto::scry::FederatedScryRequest;
use crate::scry::{Kind, Query};

const EXAMPLES: &str = "\
Examples:
  patina mother add ~/src/other-repo               register a local project (name: its directory)
  patina mother add ../api --name api-server
  patina mother add box --remote http://10.0.0.5:7420 --token-file ~/.config/patina/box.token
  ssh box cat .patina/run/serve.token | patina mother add box --remote http://box:7420 --token-stdin
  patina mother list --json
  patina mother rm box
  patina scry --all \"how did I handle stale sockets\"

The registry is PATINA_HOME/mother/registry.toml (0600). Each remote keeps its own token (a file
path, or the token itself read from stdin, never from the command line); it is only ever sent to
that remote. Remotes are `patina serve --listen ADDR` daemons; a query they receive over TCP searches
their own registered projects and goes no further. Per-source timeout: 3 s, or `[mother]
timeout_ms` in the user config, or `timeout_ms` on a remote entry, or `scry --all --timeout-ms`.";

/// Federate scry across your projects and remote daemons.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Register a local project (PATH) or, with --remote, a remote daemon named NAME.
    Add(AddArgs),
    /// Remove a project or remote by name, or a project by path.
    Rm {
        /// Name, or the path of a registered project.
        target: String,
    },
    /// List the registered projects and remotes (token file paths, never tokens).
    List,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The project's path; with --remote, the remote's name.
    pub target: String,
    /// The remote daemon's address: http://HOST:PORT (its `patina serve --listen`).
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Name of a local project (default: its directory's name).
    #[arg(long, conflicts_with = "remote")]
    pub name: Option<String>,
    /// File holding the remote's token (its PATINA_HOME/run/serve.token); read at query time.
    #[arg(
        long,
        value_name = "FILE",
        requires = "remote",
        conflicts_with = "token_stdin"
    )]
    pub token_file: Option<PathBuf>,
    /// Read the remote's token from stdin and keep it in the 0600 registry.
    #[arg(long, requires = "remote")]
    pub token_stdin: bool,
    /// Search only this project root on the remote (default: the remote's registered projects).
    #[arg(long, value_name = "ROOT", requires = "remote")]
    pub project: Option<String>,
    /// Deadline for this remote in milliseconds (default 3000 or `[mother] timeout_ms`).
    #[arg(long, value_name = "MS", requires = "remote", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Sub::Add(a) => add(a, ctx),
        Sub::Rm { target } => rm(&target, ctx),
        Sub::List => list(ctx),
    }
}

/// One registry entry as printed (never a token value).
#[derive(Debug, Serialize)]
struct EntryView {
    name: String,
    /// `project` or `remote`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exists: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// `file`, `stored` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
}

fn project_view(e: &ProjectEntry) -> EntryView {
    EntryView {
        name: e.name.clone(),
        kind: "project",
        path: Some(e.path.to_string_lossy().into_owned()),
        exists: Some(e.path.is_dir()),
        url: None,
        token: None,
        token_file: None,
        project: None,
        timeout_ms: None,
    }
}

fn remote_view(r: &RemoteEntry) -> EntryView {
    EntryView {
        name: r.name.clone(),
        kind: "remote",
        path: None,
        exists: None,
        url: Some(r.url.clone()),
        token: Some(if r.token_file.is_some() {
            "file"
        } else if r.token.is_some() {
            "stored"
        } else {
            "none"
        }),
        token_file: r
            .token_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        project: r.project.clone(),
        timeout_ms: r.timeout_ms,
    }
}

#[derive(Debug, Serialize)]
struct Changed {
    /// `added` or `removed`.
    status: &'static str,
    registry: String,
    entry: EntryView,
}

fn render_entry(e: &EntryView) -> String {
    match e.kind {
        "project" => format!(
            "{:<16} project  {}{}",
            e.name,
            e.path.as_deref().unwrap_or(""),
            if e.exists == Some(false) {
                "  (missing)"
            } else {
                ""
            }
        ),
        _ => {
            let token = match (e.token, &e.token_file) {
                (_, Some(f)) => format!("token file {f}"),
                (Some("stored"), _) => "token stored in the registry".into(),
                _ => "no token".into(),
            };
            let mut s = format!(
                "{:<16} remote   {}  ({token})",
                e.name,
                e.url.as_deref().unwrap_or("")
            );
            if let Some(p) = &e.project {
                s.push_str(&format!("  project {p}"));
            }
            if let Some(ms) = e.timeout_ms {
                s.push_str(&format!("  timeout {ms} ms"));
            }
            s
        }
    }
}

fn add(a: AddArgs, ctx: &Ctx) -> Result<()> {
    let entry = match &a.remote {
        Some(url) => add_remote(&a, url, ctx)?,
        None => add_project(&a, ctx)?,
    };
    let out = Changed {
        status: "added",
        registry: registry::path().to_string_lossy().into_owned(),
        entry,
    };
    ctx.emit(&out, |c| {
        format!("added {}\nregistry: {}", render_entry(&c.entry), c.registry)
    });
    Ok(())
}

fn add_project(a: &AddArgs, ctx: &Ctx) -> Result<EntryView> {
    let given = ctx.cwd.join(&a.target);
    let canon = given
        .canonicalize()
        .with_context(|| format!("resolving {}", given.display()))?;
    if !canon.is_dir() {
        return Err(Error::usage(format!("{} is not a directory", canon.display())).into());
    }
    let project = Project::discover(&canon)?;
    let root = project.root().to_path_buf();
    if root != canon {
        ctx.notice(&format!(
            "notice: {} is inside the project at {}; registering the project root",
            canon.display(),
            root.display()
        ));
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => registry::name_from_dir(&root),
    };
    registry::validate_name(&name)?;
    let entry = ProjectEntry {
        name: name.clone(),
        path: root.clone(),
    };
    let e = entry.clone();
    Registry::update(move |reg| {
        if let Some(old) = reg.projects.iter().find(|p| p.path == e.path) {
            return Err(Error::conflict(format!(
                "{} is already registered as {:?}",
                e.path.display(),
                old.name
            ))
            .into());
        }
        if reg.has_name(&e.name) {
            return Err(Error::conflict(format!(
                "the name {:?} is taken; choose another with --name",
                e.name
            ))
            .into());
        }
        reg.projects.push(e);
        Ok(())
    })?;
    Ok(project_view(&entry))
}

fn add_remote(a: &AddArgs, url: &str, ctx: &Ctx) -> Result<EntryView> {
    let name = a.target.clone();
    registry::validate_name(&name)?;
    let (host, port) = registry::parse_url(url)?;
    let url = registry::format_url(&host, port);
    let mut entry = RemoteEntry {
        name,
        url,
        token_file: None,
        token: None,
        project: a.project.clone(),
        timeout_ms: a.timeout_ms,
    };
    if let Some(f) = &a.token_file {
        let given = ctx.cwd.join(f);
        let canon = given
            .canonicalize()
            .with_context(|| format!("resolving token file {}", given.display()))?;
        let probe = RemoteEntry {
            token_file: Some(canon.clone()),
            ..entry.clone()
        };
        probe.read_token()?;
        if let Ok(meta) = std::fs::metadata(&canon) {
            use std::os::unix::fs::MetadataExt;
            if meta.mode() & 0o077 != 0 {
                ctx.notice(&format!(
                    "warning: token file {} is readable by group or others (mode {:o}); chmod 600 it",
                    canon.display(),
                    meta.mode() & 0o777
                ));
            }
        }
        entry.token_file = Some(canon);
    } else if a.token_stdin {
        let mut buf = Zeroizing::new(String::new());
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut buf)
            .context("reading the token from stdin")?;
        let t = buf.trim().to_string();
        registry::validate_token(&t).context("the token read from stdin")?;
        entry.token = Some(t);
    } else {
        ctx.notice(
            "notice: no token given (--token-file or --token-stdin); the remote will answer 401 \
             to searches until one is registered",
        );
    }
    let e = entry.clone();
    Registry::update(move |reg| {
        if let Some(old) = reg.remotes.iter().find(|r| r.url == e.url) {
            return Err(Error::conflict(format!(
                "{} is already registered as {:?}",
                e.url, old.name
            ))
            .into());
        }
        if reg.has_name(&e.name) {
            return Err(Error::conflict(format!("the name {:?} is taken", e.name)).into());
        }
        reg.remotes.push(e);
        Ok(())
    })?;
    Ok(remote_view(&entry))
}

fn rm(target: &str, ctx: &Ctx) -> Result<()> {
    let as_path = ctx.cwd.join(target).canonicalize().ok();
    let t = target.to_string();
    let removed = Registry::update(move |reg| {
        if let Some(i) = reg.projects.iter().position(|p| p.name == t) {
            return Ok(project_view(&reg.projects.remove(i)));
        }
        if let Some(i) = reg.remotes.iter().position(|r| r.name == t) {
            return Ok(remote_view(&reg.remotes.remove(i)));
        }
        let by_path = as_path
            .as_ref()
            .and_then(|p| reg.projects.iter().position(|e| &e.path == p))
            // A project whose directory is gone can still be removed by its recorded path.
            .or_else(|| {
                reg.projects
                    .iter()
                    .position(|e| e.path == std::path::Path::new(&t))
            });
        match by_path {
            Some(i) => Ok(project_view(&reg.projects.remove(i))),
            None => Err(Error::not_found(format!(
                "nothing registered as {t:?} (see `patina mother list`)"
            ))
            .into()),
        }
    })?;
    let out = Changed {
        status: "removed",
        registry: registry::path().to_string_lossy().into_owned(),
        entry: removed,
    };
    ctx.emit(&out, |c| format!("removed {}", render_entry(&c.entry)));
    Ok(())
}

#[derive(Debug, Serialize)]
struct ListView {
    registry: String,
    entries: Vec<EntryView>,
}

fn list(ctx: &Ctx) -> Result<()> {
    let reg = Registry::load()?;
    let out = ListView {
        registry: registry::path().to_string_lossy().into_owned(),
        entries: reg
            .projects
            .iter()
            .map(project_view)
            .chain(reg.remotes.iter().map(remote_view))
            .collect(),
    };
    ctx.emit(&out, |l| {
        let mut s = String::new();
        if l.entries.is_empty() {
            s.push_str("nothing registered; `patina mother add PATH` adds a project\n");
        }
        for e in &l.entries {
            s.push_str(&render_entry(e));
            s.push('\n');
        }
        s.push_str(&format!("registry: {}", l.registry));
        s
    });
    Ok(())
}

/// `patina scry --all`: through `crate::backend` — the local daemon when one answers (hot model,
/// cached indexes; it fans out the same way), else in-process: the current project, registered
/// projects, remotes.
pub fn run_scry_all(args: ScryArgs, ctx: &Ctx) -> Result<()> {
    let here = Project::discover(&ctx.cwd).ok();
    let req = FederatedScryRequest {
        here: here
            .as_ref()
            .map(|p| p.root().to_string_lossy().into_owned()),
        query: args.query.join(" "),
        limit: Some(args.limit),
        kinds: args.kinds,
        refresh: true,
    };
    Query {
        query: req.query.clone(),
        limit: req.limit,
        kinds: req.kinds.clone(),
    }
    .validate()?;
    let mut opts = FanOut::from_user_config()?;
    if let Some(ms) = args.timeout_ms {
        opts.timeout = Duration::from_millis(ms);
    }
    // --timeout-ms and --allow-unpinned are per-invocation decisions the daemon can't take.
    let in_process_only = args.no_daemon || args.allow_unpinned || args.timeout_ms.is_some();
    let (local, bar) = crate::commands::scry::in_process(args.allow_unpinned);
    let answer = backend::pick(in_process_only, local.with_fan_out(opts)).scry_all(&req);
    bar.finish_and_clear();
    let answer = answer?;
    if let Some(n) = mother::lexical_notice(&answer.answer) {
        ctx.notice(&n);
    }
    ctx.emit(&answer, |a| render_federated(&a.answer));
    Ok(())
}

/// Human rendering of a federated answer: `[source] kind path:line title (score)` + snippet,
/// then each failed source.
pub fn render_federated(a: &FederatedAnswer) -> String {
    let mut out = String::new();
    if a.results.is_empty() {
        out.push_str("no results\n");
    }
    for f in &a.results {
        let h = &f.hit;
        let loc = if h.kind == Kind::Commit {
            h.path.clone()
        } else {
            format!("{}:{}", h.path, h.best_line())
        };
        out.push_str(&format!(
            "[{}] {:<7} {}  {}  ({:.4})\n        {}\n",
            printable(&f.source),
            h.kind.as_str(),
            printable(&loc),
            printable(&h.title),
            h.score,
            printable(&h.snippet)
        ));
    }
    let ok = a.sources.iter().filter(|s| s.status == "ok").count();
    out.push_str(&format!(
        "searched {ok} of {} sources in {} ms\n",
        a.sources.len(),
        a.took_ms
    ));
    for e in &a.errors {
        // "<name>: semantic" errors (no model) are summed up by the lexical notice.
        if !e.source.ends_with(": semantic") {
            out.push_str(&format!(
                "error ({}): {}\n",
                printable(&e.source),
                printable(&e.message)
            ));
        }
    }
    out
}

/// Text from another host goes to the terminal: control characters (escape sequences) become `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

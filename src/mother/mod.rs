//! Mother: scry federated across the user's projects and remote daemons.
//!
//! The [`registry`] (`PATINA_HOME/mother/registry.toml`, 0600) lists local projects and remote
//! daemons, each remote with its own token. [`search_all`] fans a query out to every source at
//! once — local projects through a [`LocalSearch`] the caller supplies (the CLI: one in-process
//! engine; the daemon: its hot engine with indexes cached per root), remotes over TCP through the
//! typed `client` with *that* host's token only — waits for each source at most its timeout,
//! reports every failure in `errors` instead of failing the query, and fuses the ranked lists by
//! reciprocal rank with deterministic ties ([`fuse`]). Every hit names its source and project.
//!
//! Loops cannot happen: a federated query that arrives over TCP searches only that host's local
//! projects ([`FanOut::include_remotes`] = false); tokens never travel further than the host
//! they were issued for.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use patina::{mother, scry::{Query, Scry}};
//! # fn main() -> anyhow::Result<()> {
//! let engine = Arc::new(Scry::new(Default::default()));
//! let answer = mother::search_all_in_process(None, &Query::new("stale sockets"), engine)?;
//! for h in &answer.results { println!("{} {} {}", h.source, h.hit.path, h.hit.title); }
//! # Ok(()) }
//! ```

mod fuse;
pub mod registry;
mod remote;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Deserialize;

pub use registry::{ProjectEntry, Registry, RemoteEntry};

pub use crate::proto::scry::{FederatedAnswer, FederatedHit, SourceStatus};

use crate::error::Error;
use crate::project::Project;
use crate::scry::{Query, Scry, ScryAnswer, SourceError};

/// Default per-source deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Searches one local project (the caller decides how: in-process engine or the daemon's).
pub type LocalSearch = Arc<dyn Fn(&Project, &Query) -> Result<ScryAnswer> + Send + Sync>;

/// How a fan-out runs.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// Deadline of each source (a remote entry may set its own).
    pub timeout: Duration,
    /// Also ask remote daemons (false for a query that itself arrived over TCP).
    pub include_remotes: bool,
}

impl Default for FanOut {
    fn default() -> Self {
        FanOut {
            timeout: DEFAULT_TIMEOUT,
            include_remotes: true,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MotherConfig {
    timeout_ms: Option<u64>,
}

impl FanOut {
    /// Defaults with `[mother] timeout_ms` from the user config.
    pub fn from_user_config() -> Result<FanOut> {
        let user = crate::user_config::UserConfig::load()?;
        let cfg: MotherConfig = user.section("mother")?;
        let mut f = FanOut::default();
        if let Some(ms) = cfg.timeout_ms {
            if ms == 0 {
                return Err(user
                    .invalid("mother.timeout_ms", "must be above 0 (value: 0)")
                    .into());
            }
            f.timeout = Duration::from_millis(ms);
        }
        Ok(f)
    }
}

enum Source {
    Local { name: String, root: PathBuf },
    Remote(RemoteEntry),
}

impl Source {
    fn name(&self) -> &str {
        match self {
            Source::Local { name, .. } => name,
            Source::Remote(r) => &r.name,
        }
    }
}

/// What one source produced.
struct Outcome {
    hits: Vec<FederatedHit>,
    mode: String,
    errors: Vec<SourceError>,
}

/// Federated search with the registry as it is on disk. `here` (the project the query was made
/// from) is searched too when it isn't registered.
pub fn search_all(
    here: Option<&Project>,
    q: &Query,
    local: LocalSearch,
    opts: &FanOut,
) -> Result<FederatedAnswer> {
    let reg = Registry::load()?;
    search_registry(&reg, here, q, local, opts)
}

/// [`search_all`] with one in-process engine for the local projects (refreshing each index first,
/// like `patina scry`): what the CLI and the cockpit without a daemon use.
pub fn search_all_in_process(
    here: Option<&Project>,
    q: &Query,
    engine: Arc<Scry>,
) -> Result<FederatedAnswer> {
    let local: LocalSearch = Arc::new(move |p, q| engine.refresh_and_search(p, q));
    search_all(here, q, local, &FanOut::from_user_config()?)
}

/// What the daemon's `POST /api/scry` with `scope: "all"` runs: `local` is its hot engine;
/// `exposed_over_tcp` (the request came from another host: the roots the owner exposed) limits
/// the fan-out to those local projects, so federation never loops, never relays onward and
/// never answers for a project the owner did not expose.
pub fn daemon_search(
    here: Option<&Project>,
    q: &Query,
    local: LocalSearch,
    exposed_over_tcp: Option<&[PathBuf]>,
) -> Result<FederatedAnswer> {
    let mut opts = FanOut::from_user_config()?;
    let mut reg = Registry::load()?;
    if let Some(exposed) = exposed_over_tcp {
        // A query that arrived over TCP: only what the owner exposed (`serve --expose`), no
        // remotes (no loops, no token relayed onward).
        opts.include_remotes = false;
        reg.projects.retain(|e| exposed.contains(&e.path));
    }
    search_registry(&reg, here, q, local, &opts)
}

/// Federated search over `reg` (see [`search_all`]).
pub fn search_registry(
    reg: &Registry,
    here: Option<&Project>,
    q: &Query,
    local: LocalSearch,
    opts: &FanOut,
) -> Result<FederatedAnswer> {
    let started = Instant::now();
    let limit = q.validate()?;
    let sources = sources(reg, here, opts.include_remotes);
    if sources.is_empty() {
        return Err(Error::not_found(
            "no projects to search: register some with `patina mother add PATH` (or run this inside a project)",
        )
        .into());
    }
    let (tx, rx) = mpsc::channel::<(usize, Result<Outcome>, u64)>();
    let mut pending: Vec<(usize, Instant)> = vec![];
    let mut statuses: Vec<SourceStatus> = vec![];
    let mut outcomes: Vec<Option<Result<Outcome>>> = (0..sources.len()).map(|_| None).collect();
    for (i, src) in sources.iter().enumerate() {
        let timeout = match src {
            Source::Remote(r) => r.timeout(opts.timeout),
            Source::Local { .. } => opts.timeout,
        };
        statuses.push(SourceStatus {
            name: src.name().to_string(),
            kind: match src {
                Source::Local { .. } => "project".into(),
                Source::Remote(_) => "remote".into(),
            },
            location: match src {
                Source::Local { root, .. } => root.to_string_lossy().into_owned(),
                Source::Remote(r) => r.url.clone(),
            },
            status: "timeout".into(),
            hits: 0,
            took_ms: timeout.as_millis() as u64,
            mode: None,
        });
        pending.push((i, started + timeout));
        let tx = tx.clone();
        let q = q.clone();
        let job: Box<dyn FnOnce() -> Result<Outcome> + Send> = match src {
            Source::Local { name, root } => {
                let (name, root, local) = (name.clone(), root.clone(), local.clone());
                Box::new(move || search_local(&name, &root, &q, &local))
            }
            Source::Remote(r) => {
                let r = r.clone();
                Box::new(move || remote::search(&r, &q, timeout))
            }
        };
        // A source that misses its deadline is abandoned, not waited for: its thread finishes
        // (or fails) on its own and its answer goes nowhere.
        let spawned = std::thread::Builder::new()
            .name(format!("mother-{i}"))
            .spawn(move || {
                let t = Instant::now();
                let res = job();
                let _ = tx.send((i, res, t.elapsed().as_millis() as u64));
            });
        if let Err(e) = spawned {
            pending.retain(|p| p.0 != i);
            outcomes[i] = Some(Err(anyhow::anyhow!("cannot start a thread: {e}")));
        }
    }
    drop(tx);

    while !pending.is_empty() {
        let next = pending.iter().map(|p| p.1).min().expect("pending");
        let wait = next.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, res, ms)) => {
                if let Some(pos) = pending.iter().position(|p| p.0 == i) {
                    pending.remove(pos);
                    statuses[i].took_ms = ms;
                    outcomes[i] = Some(res);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                pending.retain(|p| p.1 > now);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }

    let mut lists = vec![];
    let mut errors = vec![];
    let mut modes = vec![];
    for (i, out) in outcomes.into_iter().enumerate() {
        let st = &mut statuses[i];
        match out {
            None => {
                st.status = "timeout".into();
                let mut message = format!("no answer within {} ms", st.took_ms);
                if st.kind == "project" {
                    // Usually a first index being built (embedding takes a while).
                    message.push_str(&format!(
                        " (building its index? run `patina index` in {}, or raise the timeout)",
                        st.location
                    ));
                }
                errors.push(SourceError {
                    source: st.name.clone(),
                    message,
                });
            }
            Some(Err(e)) => {
                st.status = "error".into();
                errors.push(SourceError {
                    source: st.name.clone(),
                    message: format!("{e:#}"),
                });
            }
            Some(Ok(o)) => {
                st.status = "ok".into();
                st.hits = o.hits.len();
                st.mode = Some(o.mode.clone());
                modes.push(o.mode);
                errors.extend(o.errors);
                lists.push(fuse::SourceList { hits: o.hits });
            }
        }
    }
    let mode = if !modes.is_empty() && modes.iter().all(|m| m == "hybrid") {
        "hybrid"
    } else {
        "lexical"
    };
    Ok(FederatedAnswer {
        query_id: query_id(),
        took_ms: started.elapsed().as_millis() as u64,
        mode: mode.into(),
        scope: "all".into(),
        results: fuse::fuse(lists, limit),
        errors,
        sources: statuses,
    })
}

/// The sources of a query: `here` (unless registered), registered projects, then remotes.
fn sources(reg: &Registry, here: Option<&Project>, include_remotes: bool) -> Vec<Source> {
    let mut out = vec![];
    if let Some(p) = here
        && !reg.projects.iter().any(|e| e.path == p.root())
    {
        let mut name = registry::name_from_dir(p.root());
        if reg.has_name(&name) {
            name = format!("{name}-here");
        }
        out.push(Source::Local {
            name,
            root: p.root().to_path_buf(),
        });
    }
    for e in &reg.projects {
        out.push(Source::Local {
            name: e.name.clone(),
            root: e.path.clone(),
        });
    }
    if include_remotes {
        out.extend(reg.remotes.iter().cloned().map(Source::Remote));
    }
    out
}

fn search_local(name: &str, root: &Path, q: &Query, local: &LocalSearch) -> Result<Outcome> {
    if !root.is_dir() {
        anyhow::bail!(
            "{} no longer exists; `patina mother rm {name}` removes it",
            root.display()
        );
    }
    let project = Project::open(root)?;
    let answer = local(&project, q)?;
    Ok(Outcome {
        hits: answer
            .results
            .into_iter()
            .map(|hit| FederatedHit {
                source: name.to_string(),
                source_rank: 0,
                source_score: 0.0,
                hit,
            })
            .collect(),
        mode: answer.mode,
        errors: answer
            .errors
            .into_iter()
            .map(|e| SourceError {
                source: format!("{name}: {}", e.source),
                message: e.message,
            })
            .collect(),
    })
}

/// The one-line notice for a lexical federated answer (no model somewhere).
pub fn lexical_notice(a: &FederatedAnswer) -> Option<String> {
    if a.mode != "lexical" || a.sources.iter().all(|s| s.status != "ok") {
        return None;
    }
    let lexical: Vec<&str> = a
        .sources
        .iter()
        .filter(|s| s.mode.as_deref() == Some("lexical"))
        .map(|s| s.name.as_str())
        .collect();
    Some(format!(
        "notice: lexical results only from {} (no embedding model there; `patina model pull`)",
        lexical.join(", ")
    ))
}

fn query_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scry::{Hit, Kind, Ranks};

    fn answer(root: &Path, titles: &[&str]) -> ScryAnswer {
        ScryAnswer {
            query_id: "q".into(),
            took_ms: 0,
            mode: "hybrid".into(),
            results: titles
                .iter()
                .map(|t| Hit {
                    doc_id: format!("code:{t}:1"),
                    kind: Kind::Code,
                    project: root.to_string_lossy().into_owned(),
                    path: format!("{t}.rs"),
                    title: t.to_string(),
                    line_start: 1,
                    line_end: 1,
                    line: 1,
                    snippet: String::new(),
                    highlights: vec![],
                    score: 0.03,
                    ranks: Ranks::default(),
                    weak: false,
                    explain: None,
                })
                .collect(),
            errors: vec![],
            coverage: Default::default(),
            no_good_match: false,
        }
    }

    #[test]
    fn a_slow_source_is_abandoned_at_its_deadline_and_the_rest_answer() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = Registry::default();
        for n in ["fast", "slow", "broken"] {
            let d = tmp.path().join(n);
            std::fs::create_dir_all(d.join(".patina")).unwrap();
            reg.projects.push(ProjectEntry {
                name: n.into(),
                path: d.canonicalize().unwrap(),
            });
        }
        let local: LocalSearch = Arc::new(|p: &Project, _q: &Query| {
            let name = p.root().file_name().unwrap().to_string_lossy().into_owned();
            match name.as_str() {
                "slow" => {
                    std::thread::sleep(Duration::from_secs(5));
                    Ok(answer(p.root(), &["late"]))
                }
                "broken" => anyhow::bail!("index unreadable"),
                _ => Ok(answer(p.root(), &["a", "b"])),
            }
        });
        let opts = FanOut {
            timeout: Duration::from_millis(200),
            include_remotes: true,
        };
        let started = Instant::now();
        let ans = search_registry(&reg, None, &Query::new("x"), local, &opts).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "waited for the slow source"
        );
        let titles: Vec<&str> = ans.results.iter().map(|h| h.hit.title.as_str()).collect();
        assert_eq!(titles, ["a", "b"]);
        assert!(ans.results.iter().all(|h| h.source == "fast"));
        assert_eq!(ans.mode, "hybrid");
        let errs: Vec<(&str, &str)> = ans
            .errors
            .iter()
            .map(|e| (e.source.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].0, "slow");
        assert!(
            errs[0]
                .1
                .starts_with("no answer within 200 ms (building its index?")
        );
        assert_eq!(errs[1], ("broken", "index unreadable"));
        let st: Vec<&str> = ans.sources.iter().map(|s| s.status.as_str()).collect();
        assert_eq!(st, ["ok", "timeout", "error"]);
    }
}

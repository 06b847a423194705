//! Scry: search the project's knowledge — layer docs, beliefs, sessions, commits and code —
//! semantically (local ONNX embeddings) and lexically (BM25), fused by reciprocal rank.
//!
//! The interface is [`Scry`], an engine that keeps the model hot and caches indexes per project
//! root: the CLI makes one per process, the daemon one for its lifetime, the cockpit and the agent
//! context call it in-process. [`model`] provisions and verifies the model files.
//!
//! ```no_run
//! # use patina::{project::Project, scry::{Scry, Query}};
//! # fn main() -> anyhow::Result<()> {
//! let project = Project::discover(std::path::Path::new("."))?;
//! let engine = Scry::new(Default::default());
//! let answer = engine.refresh_and_search(&project, &Query::new("how do we handle stale sockets"))?;
//! for hit in answer.results { println!("{} {}:{}", hit.kind, hit.path, hit.line_start); }
//! # Ok(()) }
//! ```

mod corpus;
pub mod embed;
mod hybrid;
mod index;
mod lexical;
pub mod model;
mod service;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

pub use corpus::ScryConfig;
pub use embed::Embedder;
pub use index::{IndexManifest, IndexReport, Phase};
pub use service::{IndexStatus, ScryService};

use crate::error::Error;
use crate::project::Project;

/// Largest `limit` a query may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Default number of results.
pub const DEFAULT_LIMIT: usize = 10;
/// Share of the query's content terms a document must exceed to enter the lexical list in hybrid
/// mode ("more than a third": 1 of 2, 2 of 3-5, 3 of 6-8 ...).
const HYBRID_MIN_SHARE: f64 = 0.34;
/// How long a failed model load is remembered before the next attempt.
const MODEL_RETRY: Duration = Duration::from_secs(30);

/// What a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Session,
    Belief,
    Layer,
    Commit,
    Code,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Session,
        Kind::Belief,
        Kind::Layer,
        Kind::Commit,
        Kind::Code,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Belief => "belief",
            Kind::Layer => "layer",
            Kind::Commit => "commit",
            Kind::Code => "code",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind {s:?} (session, belief, layer, commit, code)"))
    }
}

/// A search request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub query: String,
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only these kinds (all when empty).
    #[serde(default)]
    pub kinds: Vec<Kind>,
}

impl Query {
    pub fn new(text: &str) -> Query {
        Query {
            query: text.to_string(),
            limit: None,
            kinds: vec![],
        }
    }

    /// Reject what no search can answer: empty text, limit 0 or above [`MAX_LIMIT`].
    pub fn validate(&self) -> Result<usize> {
        if self.query.trim().is_empty() {
            return Err(Error::usage("the query is empty").into());
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::usage(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            ))
            .into());
        }
        Ok(limit)
    }
}

/// Rank of a result in each source (1 = best).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranks {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub semantic: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lexical: Option<usize>,
}

/// One result (DESIGN §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub doc_id: String,
    pub kind: Kind,
    pub project: String,
    pub path: String,
    pub title: String,
    pub line_start: usize,
    pub line_end: usize,
    pub snippet: String,
    pub score: f64,
    pub ranks: Ranks,
}

/// A source that failed; the others still answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceError {
    pub source: String,
    pub message: String,
}

/// The answer to a query (DESIGN §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScryAnswer {
    pub query_id: String,
    pub took_ms: u64,
    /// `hybrid` when the semantic source answered, `lexical` otherwise.
    pub mode: String,
    pub results: Vec<Hit>,
    pub errors: Vec<SourceError>,
}

impl ScryAnswer {
    /// The one-line notice the CLI prints when the answer is lexical only.
    pub fn lexical_notice(&self) -> Option<String> {
        if self.mode != "lexical" {
            return None;
        }
        let why = self
            .errors
            .iter()
            .find(|e| e.source == "semantic")
            .map(|e| e.message.as_str())
            .unwrap_or("no embedding model");
        Some(format!("notice: lexical results only — {why}"))
    }
}

/// Each source's ranking separately (see [`Scry::rankings`]).
#[derive(Debug, Clone)]
pub struct Rankings {
    pub semantic: Vec<Hit>,
    pub lexical: Vec<Hit>,
    pub hybrid: Vec<Hit>,
    pub errors: Vec<SourceError>,
}

fn hit(c: &corpus::Chunk, root: &str, words: &[String], score: f64, ranks: Ranks) -> Hit {
    Hit {
        doc_id: c.doc_id.clone(),
        kind: c.kind,
        project: root.to_string(),
        path: c.path.clone(),
        title: c.title.clone(),
        line_start: c.line_start,
        line_end: c.line_end,
        snippet: snippet(&c.text, words),
        score: (score * 1e6).round() / 1e6,
        ranks,
    }
}

/// How an engine is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// ONNX Runtime intra-op threads (0 = user config `[scry] threads`, else the runtime default).
    pub threads: usize,
    /// Accept env-override model files whose hash differs from the pin.
    pub allow_unpinned: bool,
    /// Never load the model (lexical only).
    pub lexical_only: bool,
}

enum ModelSlot {
    Unloaded,
    Ready(Arc<Mutex<Embedder>>),
    Failed { message: String, at: Instant },
}

/// The search engine: one model, loaded once, and a cache of loaded indexes per project root.
pub struct Scry {
    opts: Options,
    model: Mutex<ModelSlot>,
    indexes: Mutex<HashMap<PathBuf, Arc<index::LoadedIndex>>>,
}

impl std::fmt::Debug for Scry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scry").field("opts", &self.opts).finish()
    }
}

impl Scry {
    pub fn new(opts: Options) -> Scry {
        Scry {
            opts,
            model: Mutex::new(ModelSlot::Unloaded),
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// The loaded embedder, loading (and verifying) it on first use. A failure is remembered
    /// for 30 s so a missing model doesn't cost a verification per query.
    pub fn embedder(&self) -> Result<Arc<Mutex<Embedder>>, String> {
        if self.opts.lexical_only {
            return Err("lexical-only engine".into());
        }
        let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            ModelSlot::Ready(e) => return Ok(e.clone()),
            ModelSlot::Failed { message, at } if at.elapsed() < MODEL_RETRY => {
                return Err(message.clone());
            }
            _ => {}
        }
        let threads = if self.opts.threads > 0 {
            self.opts.threads
        } else {
            embed::configured_threads()
        };
        let started = Instant::now();
        match Embedder::load(threads, self.opts.allow_unpinned) {
            Ok(e) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "embedding model loaded"
                );
                let e = Arc::new(Mutex::new(e));
                *slot = ModelSlot::Ready(e.clone());
                Ok(e)
            }
            Err(err) => {
                let message = format!("{err:#}");
                tracing::warn!("embedding model unavailable: {message}");
                *slot = ModelSlot::Failed {
                    message: message.clone(),
                    at: Instant::now(),
                };
                Err(message)
            }
        }
    }

    /// True when the model is loaded (without trying to load it).
    pub fn model_loaded(&self) -> bool {
        matches!(
            &*self.model.lock().unwrap_or_else(|p| p.into_inner()),
            ModelSlot::Ready(_)
        )
    }

    /// Bring the project's index up to date; lexical-only when no model is usable.
    pub fn index(
        &self,
        project: &Project,
        rebuild: bool,
        progress: &mut dyn FnMut(Phase),
    ) -> Result<IndexReport> {
        let report = match self.embedder() {
            Ok(emb) => {
                let model_hash = emb
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .model_hash()
                    .to_string();
                // Lock per batch: queries on the hot model wait at most one batch.
                let mut embed =
                    |texts: &[&str]| emb.lock().unwrap_or_else(|p| p.into_inner()).embed(texts);
                index::refresh(
                    project,
                    Some(index::VectorSource {
                        model_id: model::model_id(),
                        model_hash,
                        dims: model::DIMS,
                        embed: &mut embed,
                    }),
                    rebuild,
                    progress,
                )?
            }
            Err(_) => index::refresh(project, None, rebuild, progress)?,
        };
        if report.changed {
            self.indexes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(project.root());
        }
        Ok(report)
    }

    /// The loaded index of `project` (cached while its generation is current); `None` when it has
    /// none or it does not validate.
    fn loaded(&self, project: &Project) -> Option<Arc<index::LoadedIndex>> {
        let dir = project.index_dir();
        let generation = index::current_generation(&dir)?;
        let mut cache = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = cache.get(project.root())
            && i.manifest.generation == generation
        {
            return Some(i.clone());
        }
        match index::load(&dir) {
            Ok(Some(i)) => {
                let i = Arc::new(i);
                cache.insert(project.root().to_path_buf(), i.clone());
                Some(i)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("index of {} unusable: {e:#}", project.root().display());
                cache.remove(project.root());
                None
            }
        }
    }

    /// True when the project has a valid index right now.
    pub fn has_index(&self, project: &Project) -> bool {
        self.loaded(project).is_some()
    }

    /// Refresh the index (building it when missing, stale or corrupt), then search. What the CLI
    /// and one-shot callers use.
    pub fn refresh_and_search(&self, project: &Project, q: &Query) -> Result<ScryAnswer> {
        self.refresh_and_search_with(project, q, &mut |_| {})
    }

    pub fn refresh_and_search_with(
        &self,
        project: &Project,
        q: &Query,
        progress: &mut dyn FnMut(Phase),
    ) -> Result<ScryAnswer> {
        q.validate()?;
        self.index(project, false, progress)?;
        self.search(project, q)
    }

    /// Search the project's current index (built first when there is none). Never refreshes an
    /// existing index: the daemon refreshes in the background.
    pub fn search(&self, project: &Project, q: &Query) -> Result<ScryAnswer> {
        let started = Instant::now();
        let limit = q.validate()?;
        let idx = match self.loaded(project) {
            Some(i) => i,
            None => {
                // A manifest that names an index we could not load means a corrupt index:
                // rebuild it rather than trusting the no-change check.
                let corrupt = index::current_generation(&project.index_dir()).is_some();
                self.index(project, corrupt, &mut |_| {})?;
                self.loaded(project).ok_or_else(|| {
                    anyhow::anyhow!(
                        "the index of {} could not be loaded",
                        project.root().display()
                    )
                })?
            }
        };
        let (semantic, lexical, errors) = self.sources(&idx, q, limit.max(50));
        let mode = if semantic.is_some() {
            "hybrid"
        } else {
            "lexical"
        };
        let doc_id = |o: usize| idx.chunks[o].doc_id.as_str();
        let fused = hybrid::rrf(semantic.as_deref().unwrap_or(&[]), &lexical, doc_id);
        let words = query_words(&q.query);
        let root = project.root().to_string_lossy().into_owned();
        let results = fused
            .into_iter()
            .take(limit)
            .map(|f| {
                hit(
                    &idx.chunks[f.ord],
                    &root,
                    &words,
                    f.score,
                    Ranks {
                        semantic: f.semantic,
                        lexical: f.lexical,
                    },
                )
            })
            .collect();
        Ok(ScryAnswer {
            query_id: query_id(),
            took_ms: started.elapsed().as_millis() as u64,
            mode: mode.into(),
            results,
            errors,
        })
    }

    /// Both sources' rankings (chunk ordinals, best first, ties by doc_id) and their failures.
    fn sources(
        &self,
        idx: &index::LoadedIndex,
        q: &Query,
        pool: usize,
    ) -> (Option<Vec<usize>>, Vec<usize>, Vec<SourceError>) {
        let mut errors = vec![];
        let doc_id = |o: usize| idx.chunks[o].doc_id.as_str();
        let semantic = match self.semantic(idx, q, pool) {
            Ok(list) => Some(
                hybrid::rank_scored(list, pool, doc_id)
                    .into_iter()
                    .map(|x| x.0)
                    .collect(),
            ),
            Err(message) => {
                errors.push(SourceError {
                    source: "semantic".into(),
                    message,
                });
                None
            }
        };
        // Beside a semantic ranking, lexical evidence must be real: a document has to contain more
        // than a third of the query's content words, or a paraphrase's incidental common word would
        // lift unrelated documents over the semantic answer (RRF rewards presence in both lists).
        // Alone, lexical ranks every match. See docs/ARCHITECTURE.md (Scry) for the measurements.
        let share = if semantic.is_some() {
            HYBRID_MIN_SHARE
        } else {
            0.0
        };
        let lexical = match idx.lexical.search(&q.query, &q.kinds, pool, share) {
            Ok(list) => hybrid::rank_scored(list, pool, doc_id)
                .into_iter()
                .map(|x| x.0)
                .collect(),
            Err(e) => {
                errors.push(SourceError {
                    source: "lexical".into(),
                    message: format!("{e:#}"),
                });
                vec![]
            }
        };
        (semantic, lexical, errors)
    }

    /// Semantic-only, lexical-only and fused rankings of the current index, `pool` deep each —
    /// for relevance evaluation (benches/scry_relevance.rs). The index must exist.
    pub fn rankings(&self, project: &Project, q: &Query, pool: usize) -> Result<Rankings> {
        let idx = self
            .loaded(project)
            .ok_or_else(|| anyhow::anyhow!("no index; run `patina index`"))?;
        let (semantic, lexical, mut errors) = self.sources(&idx, q, pool);
        let doc_id = |o: usize| idx.chunks[o].doc_id.as_str();
        let fused = hybrid::rrf(semantic.as_deref().unwrap_or(&[]), &lexical, doc_id);
        // Lexical as it ranks alone (no model): every match.
        let lexical_alone: Vec<usize> = match idx.lexical.search(&q.query, &q.kinds, pool, 0.0) {
            Ok(list) => hybrid::rank_scored(list, pool, doc_id)
                .into_iter()
                .map(|x| x.0)
                .collect(),
            Err(e) => {
                errors.push(SourceError {
                    source: "lexical".into(),
                    message: format!("{e:#}"),
                });
                vec![]
            }
        };
        let words = query_words(&q.query);
        let root = project.root().to_string_lossy().into_owned();
        let mk = |ords: &[usize]| -> Vec<Hit> {
            ords.iter()
                .map(|&o| hit(&idx.chunks[o], &root, &words, 0.0, Ranks::default()))
                .collect()
        };
        Ok(Rankings {
            semantic: mk(semantic.as_deref().unwrap_or(&[])),
            lexical: mk(&lexical_alone),
            hybrid: fused
                .iter()
                .take(pool)
                .map(|f| hit(&idx.chunks[f.ord], &root, &words, f.score, Ranks::default()))
                .collect(),
            errors,
        })
    }

    /// Cosine top `pool` over the index's vectors, restricted to the requested kinds.
    fn semantic(
        &self,
        idx: &index::LoadedIndex,
        q: &Query,
        pool: usize,
    ) -> std::result::Result<Vec<(usize, f32)>, String> {
        let emb = self.embedder()?;
        if !idx.has_vectors() {
            return Err(
                "the index has no vectors (built without a model); run `patina index`".into(),
            );
        }
        let qv = {
            let mut e = emb.lock().unwrap_or_else(|p| p.into_inner());
            if Some(e.model_hash()) != idx.manifest.model_hash.as_deref() {
                return Err("the index was built with another model; run `patina index`".into());
            }
            e.embed(&[q.query.as_str()])
                .map_err(|e| format!("{e:#}"))?
                .pop()
                .ok_or("the model returned no vector")?
        };
        let mut scored: Vec<(usize, f32)> = idx
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| q.kinds.is_empty() || q.kinds.contains(&c.kind))
            .map(|(i, _)| (i, embed::dot(&qv, idx.vector(i))))
            .collect();
        if scored.len() > pool {
            scored.select_nth_unstable_by(pool, |a, b| {
                b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal)
            });
            scored.truncate(pool + 1);
        }
        Ok(scored)
    }

    /// The manifest of the project's current index, if valid.
    pub fn manifest(&self, project: &Project) -> Option<IndexManifest> {
        self.loaded(project).map(|i| i.manifest.clone())
    }
}

/// Search the project once, in-process (refreshing the index first): for callers without an engine.
pub fn search_once(project: &Project, q: &Query) -> Result<ScryAnswer> {
    Scry::new(Options::default()).refresh_and_search(project, q)
}

fn query_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// Lower-cased query words of 3+ characters, for snippet highlighting.
fn query_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| w.to_lowercase())
        .collect()
}

/// The most relevant line(s) of `text` for `words`, at most 200 characters (never cut mid-char).
pub(crate) fn snippet(text: &str, words: &[String]) -> String {
    const MAX: usize = 200;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let stem = |w: &str| -> String { w.chars().take(5).collect() };
    let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
    let score = |l: &str| {
        let lower = l.to_lowercase();
        stems.iter().filter(|s| lower.contains(s.as_str())).count()
    };
    let (best, best_score) = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i, score(l)))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .unwrap_or((0, 0));
    let start = if best_score == 0 { 0 } else { best };
    let mut out = String::new();
    for l in &lines[start..] {
        if !out.is_empty() {
            out.push_str(" ⏎ ");
        }
        out.push_str(&l.split_whitespace().collect::<Vec<_>>().join(" "));
        if out.chars().count() >= MAX {
            break;
        }
    }
    if out.chars().count() > MAX {
        out = out.chars().take(MAX - 1).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_prefers_matching_line_and_counts_chars() {
        let text = "first line\n\nthe socket is stale here\nlast";
        let s = snippet(text, &query_words("stale sockets"));
        assert!(s.starts_with("the socket is stale here"), "{s}");
        let long = "é".repeat(500);
        let s = snippet(&long, &[]);
        assert_eq!(s.chars().count(), 200);
    }

    #[test]
    fn query_validation() {
        assert!(Query::new("  ").validate().is_err());
        let mut q = Query::new("x");
        q.limit = Some(1001);
        assert!(q.validate().is_err());
        q.limit = Some(1000);
        assert_eq!(q.validate().unwrap(), 1000);
    }

    #[test]
    fn kinds_parse() {
        assert_eq!("code".parse::<Kind>().unwrap(), Kind::Code);
        assert!("nope".parse::<Kind>().is_err());
    }
}

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

mod chunk;
mod corpus;
pub mod embed;
mod hybrid;
mod index;
mod joined;
mod lexical;
pub mod model;
mod results;
mod service;
mod vectors;
mod watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

pub use corpus::ScryConfig;
pub use embed::Embedder;
pub use index::{IndexManifest, IndexReport, Phase};
pub use service::{IndexStatus, ScryService};
pub use vectors::ExportHeader;

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
    /// The region: adjacent matching chunks of the file merged (1-based, inclusive).
    pub line_start: usize,
    pub line_end: usize,
    /// The best-matching line (most query terms; else the region's first line): `path:line`.
    #[serde(default)]
    pub line: usize,
    /// From the best-matching line on, whitespace collapsed, at most 200 characters.
    pub snippet: String,
    /// The query's words in `snippet`, as `[start, end)` character (not byte) offsets.
    #[serde(default)]
    pub highlights: Vec<[usize; 2]>,
    /// Fused score (RRF).
    pub score: f64,
    pub ranks: Ranks,
    /// Below the relevance floor: shown only because nothing cleared it (`no_good_match`).
    #[serde(default)]
    pub weak: bool,
    /// How the score came about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

impl Hit {
    /// The line to show and open (`path:line`): the best-matching line, else the region's first
    /// (an answer from an older daemon has no `line`).
    pub fn best_line(&self) -> usize {
        self.line.max(self.line_start)
    }
}

/// The evidence behind a hit's score (`--json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Explain {
    /// RRF: Σ 1/(60 + rank) over the sources that ranked the best chunk.
    pub fused: f64,
    /// Cosine of the best chunk to the query (semantic source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosine: Option<f64>,
    /// BM25 of the best chunk (lexical source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bm25: Option<f64>,
    /// The query's terms (analyzed: lower-cased, stemmed) found in the best chunk.
    #[serde(default)]
    pub matched: Vec<String>,
    /// Chunks merged into this row.
    #[serde(default)]
    pub chunks: usize,
}

/// A source that failed; the others still answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceError {
    pub source: String,
    pub message: String,
}

/// How much of the index is semantic: chunks with a vector of the engine's model / all chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub embedded: usize,
    pub total: usize,
    /// `embedded / total`, 4 decimals (1 for an empty corpus).
    pub ratio: f64,
}

impl Coverage {
    pub fn new(embedded: usize, total: usize) -> Coverage {
        let ratio = if total == 0 {
            1.0
        } else {
            (embedded as f64 / total as f64 * 1e4).floor() / 1e4
        };
        Coverage {
            embedded,
            total,
            ratio,
        }
    }

    pub fn complete(&self) -> bool {
        self.embedded >= self.total
    }
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
    /// How much of the index the semantic source could rank (the rest is lexical only while
    /// embedding goes on).
    #[serde(default)]
    pub coverage: Coverage,
    /// Nothing cleared the relevance floor: `results` are the closest few, each `weak`.
    #[serde(default)]
    pub no_good_match: bool,
}

impl ScryAnswer {
    /// The one-line notice the CLI prints when the answer is lexical only or partly semantic.
    pub fn lexical_notice(&self) -> Option<String> {
        let c = self.coverage;
        let why = self
            .errors
            .iter()
            .find(|e| e.source == "semantic")
            .map(|e| e.message.clone());
        if self.mode == "lexical" {
            let why = why.unwrap_or_else(|| {
                if c.total > 0 && !c.complete() {
                    format!(
                        "no chunk is embedded yet (0 of {}); embedding goes on in the daemon or with `patina index`",
                        c.total
                    )
                } else {
                    "no embedding model".into()
                }
            });
            return Some(format!("notice: lexical results only — {why}"));
        }
        (!c.complete()).then(|| {
            format!(
                "notice: {:.0}% semantic ({} of {} chunks embedded; the rest answers lexically until embedded)",
                c.ratio * 100.0,
                c.embedded,
                c.total
            )
        })
    }
}

/// Each source's ranking separately (see [`Scry::rankings`]).
#[derive(Debug, Clone)]
pub struct Rankings {
    /// Cosine ranking (each hit's `score` is its cosine).
    pub semantic: Vec<Hit>,
    /// BM25 ranking of every match, as lexical ranks alone (`score` = BM25).
    pub lexical: Vec<Hit>,
    /// The lexical list the fusion was given (beside a complete semantic ranking, only the
    /// documents holding enough of the query's terms).
    pub lexical_fused: Vec<Hit>,
    pub hybrid: Vec<Hit>,
    pub errors: Vec<SourceError>,
}

/// One chunk as a hit (no region merging): the per-source rankings of [`Scry::rankings`].
fn hit(c: &corpus::Chunk, root: &str, terms: &[String], score: f64) -> Hit {
    let (line, snippet, highlights) = results::best_line(c, terms);
    Hit {
        doc_id: c.doc_id.clone(),
        kind: c.kind,
        project: root.to_string(),
        path: c.path.clone(),
        title: c.title.clone(),
        line_start: c.line_start,
        line_end: c.line_end,
        line,
        snippet,
        highlights,
        score: (score * 1e6).round() / 1e6,
        ranks: Ranks::default(),
        weak: false,
        explain: None,
    }
}

/// Chunk ordinals with their source's score (cosine or BM25), best first.
type Scored = Vec<(usize, f32)>;

/// What each source ranked for one query ([`Scry::sources`]).
struct SourceLists {
    semantic: Option<Scored>,
    /// What lexical contributes to the fusion.
    lexical: Scored,
    /// Every lexical match, when `lexical` was gated (else `lexical` is every match).
    lexical_all: Option<Scored>,
    errors: Vec<SourceError>,
}

/// Fuse a query's rankings over generation `g` (hybrid.rs); a chunk's document is its path.
fn fuse(
    g: &index::Generation,
    semantic: Option<&[(usize, f32)]>,
    lexical: &[(usize, f32)],
    lexical_all: Option<&[(usize, f32)]>,
) -> Vec<hybrid::Fused> {
    hybrid::fuse(
        &hybrid::Sources {
            semantic: semantic.unwrap_or(&[]),
            lexical,
            lexical_all: lexical_all.unwrap_or(lexical),
        },
        |o| g.chunks[o].path.as_str(),
        |o| g.chunks[o].doc_id.as_str(),
    )
}

/// How an engine is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// ONNX Runtime intra-op threads for builds (0 = user config `[scry] threads`, else the
    /// runtime default). Queries always use one thread of their own.
    pub threads: usize,
    /// Accept env-override model files whose hash differs from the pin.
    pub allow_unpinned: bool,
    /// Never load the model (lexical only).
    pub lexical_only: bool,
}

/// Texts per embedding slice. The embedder sorts a slice by length and cuts it into token-budget
/// batches, so a larger slice pads less; each batch is appended and published as it finishes, and a newer lexical round
/// cuts the slice short, so queries never wait for a slice.
const SLICE: usize = 256;

/// Vectors embedded by this process (the test hook [`GATE_ENV`] counts against it).
static EMBEDDED_HERE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Test hook: while the named file exists, embedding pauses once this process has embedded the
/// number of chunks written in the file (0 when empty). Lets tests hold a build open.
pub const GATE_ENV: &str = "PATINA_SCRY_EMBED_GATE";

enum ModelSlot {
    Unloaded,
    Ready(Arc<Mutex<Embedder>>),
    Failed { message: String, at: Instant },
}

/// One project's snapshots. Each is swapped whole; a query clones the `Arc`s and reads without
/// holding anything a build needs.
#[derive(Default)]
struct ProjectState {
    generation: Mutex<Option<Arc<index::Generation>>>,
    vectors: Mutex<Option<Arc<vectors::VectorSet>>>,
    /// The last join of the two snapshots above (joined.rs).
    joined: Mutex<Option<Arc<joined::Joined>>>,
    /// Serialises loading from disk inside this process (queries never wait on a build for it).
    loading: Mutex<()>,
}

/// What the embedding phase did.
#[derive(Debug, Clone, Default)]
pub(crate) struct EmbedRound {
    pub embedded: usize,
}

/// The search engine: the query model, loaded once, and per project root the snapshots of the
/// current generation and of the vectors embedded so far.
pub struct Scry {
    opts: Options,
    model: Mutex<ModelSlot>,
    projects: Mutex<HashMap<PathBuf, Arc<ProjectState>>>,
    model_hash: std::sync::OnceLock<Option<String>>,
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
            projects: Mutex::new(HashMap::new()),
            model_hash: std::sync::OnceLock::new(),
        }
    }

    /// The query embedder (one intra-op thread: a query is a dozen tokens, and it must not
    /// contend with a build for both cores), loaded and verified on first use. A failure is
    /// remembered for 30 s so a missing model doesn't cost a verification per query.
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
        let started = Instant::now();
        match Embedder::load_for_queries(self.opts.allow_unpinned) {
            Ok(e) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "embedding model loaded (queries)"
                );
                // Loading parses the model file and folds its weights: give back the
                // transient copies (tens of MB), keep the session.
                embed::release_freed_memory();
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

    /// A build's own embedder with the configured threads, dropped when the build ends (so an
    /// idle engine holds only the small query session).
    pub(crate) fn build_embedder(&self) -> Result<Embedder, String> {
        if self.opts.lexical_only {
            return Err("lexical-only engine".into());
        }
        let threads = if self.opts.threads > 0 {
            Ok(self.opts.threads)
        } else {
            embed::configured_threads().map(|t| if t == 0 { embed::default_threads() } else { t })
        };
        threads
            .and_then(|t| Embedder::load(t, self.opts.allow_unpinned))
            .map_err(|e| format!("{e:#}"))
    }

    /// Why no model can be used, known without loading one: a lexical-only engine, a load that
    /// failed recently, or model files that are not there.
    fn model_problem(&self) -> Option<String> {
        if self.opts.lexical_only {
            return Some("lexical-only engine".into());
        }
        match &*self.model.lock().unwrap_or_else(|p| p.into_inner()) {
            ModelSlot::Ready(_) => None,
            ModelSlot::Failed { message, at } if at.elapsed() < MODEL_RETRY => {
                Some(message.clone())
            }
            _ => (!model::status(false).ready)
                .then(|| "no embedding model installed (run `patina model pull`)".to_string()),
        }
    }

    /// Remember that a build could not load the model, so queries say why without trying.
    pub(crate) fn note_model_failure(&self, message: &str) {
        let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(&*slot, ModelSlot::Ready(_)) {
            *slot = ModelSlot::Failed {
                message: message.to_string(),
                at: Instant::now(),
            };
        }
    }

    /// True when the query model is loaded (without trying to load it).
    pub fn model_loaded(&self) -> bool {
        matches!(
            &*self.model.lock().unwrap_or_else(|p| p.into_inner()),
            ModelSlot::Ready(_)
        )
    }

    /// The model hash vectors are kept under, known without loading the model: the pinned
    /// hash, or with `allow_unpinned` the hash of the files as they are. `None` for a
    /// lexical-only engine.
    fn vector_model(&self) -> Option<String> {
        if self.opts.lexical_only {
            return None;
        }
        self.model_hash
            .get_or_init(|| {
                if self.opts.allow_unpinned {
                    model::verified(true).ok().map(|v| v.model_hash)
                } else {
                    Some(model::pinned_model_hash())
                }
            })
            .clone()
    }

    fn state(&self, project: &Project) -> Arc<ProjectState> {
        self.projects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(project.root().to_path_buf())
            .or_default()
            .clone()
    }

    /// The project's current generation: the snapshot in memory while `manifest.json` still
    /// names it (one small read), else loaded from disk. `Ok(None)`: no index; `Err`: an index
    /// that does not validate.
    fn generation(&self, project: &Project) -> Result<Option<Arc<index::Generation>>> {
        let st = self.state(project);
        let dir = project.index_dir();
        let on_disk = index::current_generation(&dir);
        let mem = st
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (Some(m), Some(d)) = (&mem, &on_disk)
            && &m.manifest.generation == d
        {
            return Ok(mem);
        }
        if on_disk.is_none() && !index::manifest_path(&dir).exists() {
            return Ok(None);
        }
        let _loading = st.loading.lock().unwrap_or_else(|p| p.into_inner());
        // Another query may have loaded it meanwhile.
        let mem = st
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (Some(m), Some(d)) = (&mem, index::current_generation(&dir))
            && m.manifest.generation == d
        {
            return Ok(mem);
        }
        let loaded = match index::load(&dir) {
            Ok(g) => g,
            // A writer in another process may be between its lexical commit and its manifest:
            // wait for it (the lexical phase is short), then look again.
            Err(_) => {
                let _lock = crate::store::FileLock::acquire(&index::lock_path(project))?;
                index::load(&dir)?
            }
        };
        let loaded = loaded.map(Arc::new);
        *st.generation.lock().unwrap_or_else(|p| p.into_inner()) = loaded.clone();
        Ok(loaded)
    }

    fn publish_generation(&self, project: &Project, g: Arc<index::Generation>) {
        let st = self.state(project);
        let old = st
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(g.clone());
        // The join holds the old generation: let it go now, not at the next query.
        if !old.is_some_and(|o| Arc::ptr_eq(&o, &g)) {
            *st.joined.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// The vectors embedded so far for the engine's model, brought up to date with the log
    /// (one stat when nothing is new). `None` for a lexical-only engine.
    fn vectors(&self, project: &Project) -> Option<Arc<vectors::VectorSet>> {
        let model_hash = self.vector_model()?;
        let st = self.state(project);
        let dir = project.index_dir();
        let mem = st.vectors.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(s) = &mem
            && s.model_hash == model_hash
            && !vectors::has_news(&dir, s)
        {
            return mem;
        }
        let _loading = st.loading.lock().unwrap_or_else(|p| p.into_inner());
        let base = st
            .vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|s| s.model_hash == model_hash)
            .unwrap_or_else(|| Arc::new(vectors::VectorSet::empty(&model_hash, model::DIMS)));
        match vectors::read_news(&dir, &base) {
            Ok(s) => {
                let s = Arc::new(s);
                *st.vectors.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
                Some(s)
            }
            Err(e) => {
                tracing::warn!("vectors of {} unusable: {e:#}", project.root().display());
                Some(base)
            }
        }
    }

    /// The generation joined with the vectors: reused while neither snapshot changed.
    fn joined(
        &self,
        project: &Project,
        g: &Arc<index::Generation>,
        set: Option<Arc<vectors::VectorSet>>,
    ) -> Arc<joined::Joined> {
        let st = self.state(project);
        let mut slot = st.joined.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = slot.as_ref()
            && j.is_of(g, set.as_ref())
        {
            return j.clone();
        }
        let j = Arc::new(joined::Joined::new(g.clone(), set));
        *slot = Some(j.clone());
        j
    }

    /// The lexical phase: bring the chunks and the lexical index up to date and publish the
    /// new generation. Never loads the model.
    pub(crate) fn refresh_lexical(
        &self,
        project: &Project,
        rebuild: bool,
    ) -> Result<index::LexicalRound> {
        let current = self
            .state(project)
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let round = index::refresh_lexical(project, current, rebuild)?;
        if let Some(g) = &round.generation {
            self.publish_generation(project, g.clone());
        }
        Ok(round)
    }

    /// The lexical phase for a caller that needs the generation itself.
    fn build_generation(&self, project: &Project, rebuild: bool) -> Result<Arc<index::Generation>> {
        if let Some(g) = self.refresh_lexical(project, rebuild)?.generation {
            return Ok(g);
        }
        self.generation(project)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the index of {} could not be loaded",
                project.root().display()
            )
        })
    }

    /// Forget the project's vectors of the engine's model (`index --rebuild`).
    pub(crate) fn reset_vectors(&self, project: &Project) -> Result<()> {
        if let Some(h) = self.vector_model() {
            vectors::remove(&project.index_dir(), &h)?;
            *self
                .state(project)
                .vectors
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
        }
        Ok(())
    }

    /// How much of the current generation has vectors (`None` without an index).
    pub fn coverage(&self, project: &Project) -> Option<Coverage> {
        let g = self.generation(project).ok().flatten()?;
        Some(self.joined(project, &g, self.vectors(project)).coverage)
    }

    /// The embedding phase: embed the chunks of the current generation that have no vector, in
    /// priority order, one slice at a time; each slice is appended to the log and published
    /// before the next. The generation is looked up again before every slice, so chunks of a
    /// newer lexical round are picked up and vanished ones are not embedded.
    pub(crate) fn embed_missing(
        &self,
        project: &Project,
        emb: &mut Embedder,
        progress: &mut dyn FnMut(Phase),
    ) -> Result<EmbedRound> {
        let dir = project.index_dir();
        let model_hash = emb.model_hash().to_string();
        let dims = emb.dims();
        if self.vector_model().as_deref() != Some(model_hash.as_str()) {
            anyhow::bail!(
                "the loaded model ({model_hash}) is not the one the index keeps vectors for"
            );
        }
        let mut known = self
            .vectors(project)
            .map(|s| s.hashes())
            .unwrap_or_default();
        let mut round = EmbedRound::default();
        loop {
            let Some(g) = self.generation(project)? else {
                break;
            };
            let todo = g.missing(&known);
            if todo.is_empty() {
                break;
            }
            progress(Phase::Embedding {
                done: round.embedded,
                total: round.embedded + todo.len(),
            });
            let allowed = gate();
            let n = todo.len().min(SLICE).min(allowed);
            let slice = &todo[..n];
            let texts: Vec<String> = slice.iter().map(|&o| g.chunks[o].embed_text()).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            // Length-sorted, token-budget batches within the slice (embed.rs); each batch is
            // appended and published as soon as it is done, so queries see vectors arrive
            // batch by batch whatever the slice size.
            let plan = emb.plan(&refs)?;
            let total = round.embedded + todo.len();
            for b in 0..plan.len() {
                let vecs = emb.embed_planned(&plan, b)?;
                if vecs.len() != plan.batch(b).len() || vecs.iter().any(|(_, v)| v.len() != dims) {
                    anyhow::bail!("the embedder returned the wrong number or size of vectors");
                }
                let rows: Vec<(vectors::ChunkHash, &[f32])> = vecs
                    .iter()
                    .filter_map(|(i, v)| {
                        vectors::parse_hash(&g.chunks[slice[*i]].hash).map(|h| (h, v.as_slice()))
                    })
                    .collect();
                vectors::append(&dir, &model_hash, dims, &rows)?;
                known.extend(rows.iter().map(|(h, _)| *h));
                round.embedded += vecs.len();
                EMBEDDED_HERE.fetch_add(vecs.len(), Ordering::SeqCst);
                // Publish: the snapshot now includes this batch.
                self.vectors(project);
                progress(Phase::Embedding {
                    done: round.embedded,
                    total,
                });
                // A newer lexical round: go back and embed what it needs (what this slice
                // already embedded is known and not done twice).
                if b + 1 < plan.len()
                    && index::current_generation(&dir).as_ref() != Some(&g.manifest.generation)
                {
                    break;
                }
            }
        }
        // Records of chunks that no longer exist pile up with edits; rewrite the log when they
        // are the majority.
        if let (Some(g), Some(set)) = (
            self.generation(project).ok().flatten(),
            self.vectors(project),
        ) {
            match vectors::compact(&dir, &set, &|h| g.has_hash(h)) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(dropped = n, "vector log compacted");
                    self.vectors(project);
                }
                Err(e) => tracing::warn!("compacting the vector log: {e:#}"),
            }
        }
        Ok(round)
    }

    /// Bring the project's index fully up to date: the lexical phase, then every missing vector
    /// (lexical-only when no model is usable). Nothing is loaded when nothing is missing.
    pub fn index(
        &self,
        project: &Project,
        rebuild: bool,
        progress: &mut dyn FnMut(Phase),
    ) -> Result<IndexReport> {
        let started = Instant::now();
        progress(Phase::Scanning);
        if rebuild {
            self.reset_vectors(project)?;
        }
        let round = self.refresh_lexical(project, rebuild)?;
        let before = round.hashes.coverage(self.vectors(project).as_deref());
        let mut embedded = 0;
        let mut model_loaded = false;
        if self.vector_model().is_some() && !before.complete() {
            match self.build_embedder() {
                Ok(mut emb) => {
                    model_loaded = true;
                    embedded = self.embed_missing(project, &mut emb, progress)?.embedded;
                }
                Err(why) => {
                    tracing::info!("index without vectors: {why}");
                    self.note_model_failure(&why);
                }
            }
        }
        progress(Phase::Writing);
        // The corpus as this refresh gathered it (a round made meanwhile by another process
        // is reported by its own refresh).
        let coverage = round.hashes.coverage(self.vectors(project).as_deref());
        Ok(IndexReport {
            root: project.root().to_path_buf(),
            changed: round.changed || embedded > 0,
            mode: if coverage.complete() && coverage.total > 0 {
                "hybrid".into()
            } else {
                "lexical".into()
            },
            chunks: coverage.total,
            embedded,
            reused: before.embedded,
            removed: round.removed,
            by_kind: round.by_kind.clone(),
            model_loaded,
            coverage,
            imported: None,
            rebuilt_because: round.rebuilt_because,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// True when the project has a valid index right now.
    pub fn has_index(&self, project: &Project) -> bool {
        matches!(self.generation(project), Ok(Some(_)))
    }

    /// Refresh the index fully (building it when missing, stale or corrupt), then search. What
    /// one-shot in-process callers use (CLI `--no-daemon`, mother in-process).
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

    /// Search the snapshots as they are: the current generation and the vectors embedded so
    /// far. Only when the project has no usable index is its lexical phase built first (about
    /// a second); embedding is never waited for.
    pub fn search(&self, project: &Project, q: &Query) -> Result<ScryAnswer> {
        let started = Instant::now();
        let limit = q.validate()?;
        let g = match self.generation(project) {
            Ok(Some(g)) => g,
            Ok(None) => self.build_generation(project, false)?,
            Err(e) => {
                tracing::warn!(
                    "index of {} unusable, rebuilding: {e:#}",
                    project.root().display()
                );
                self.build_generation(project, true)?
            }
        };
        let joined = self.joined(project, &g, self.vectors(project));
        let coverage = joined.coverage;
        let src = self.sources(&g, &joined, q, limit.max(50));
        let (semantic, lexical, errors) = (src.semantic, src.lexical, src.errors);
        let mode = if semantic.is_some() {
            "hybrid"
        } else {
            "lexical"
        };
        let fused = fuse(
            &g,
            semantic.as_deref(),
            &lexical,
            src.lexical_all.as_deref(),
        );
        let evidence = results::Evidence {
            cosine: semantic.iter().flatten().copied().collect(),
            bm25: lexical.iter().copied().collect(),
        };
        let root = project.root().to_string_lossy().into_owned();
        let (results, no_good_match) =
            results::rows(&g.chunks, &fused, &evidence, &q.query, &root, limit);
        Ok(ScryAnswer {
            query_id: query_id(),
            took_ms: started.elapsed().as_millis() as u64,
            mode: mode.into(),
            results,
            errors,
            coverage,
            no_good_match,
        })
    }

    /// Both sources' rankings (chunk ordinals with their cosine / BM25, best first, ties by
    /// doc_id) and their failures.
    /// Semantic is `None` when it could not rank anything (no model, or nothing embedded yet —
    /// the latter is not an error: the coverage says it).
    fn sources(
        &self,
        g: &index::Generation,
        joined: &joined::Joined,
        q: &Query,
        pool: usize,
    ) -> SourceLists {
        let coverage = &joined.coverage;
        let mut errors = vec![];
        let doc_id = |o: usize| g.chunks[o].doc_id.as_str();
        let semantic = if coverage.embedded == 0 {
            None
        } else {
            match self.semantic(joined, q, pool) {
                Ok(list) => Some(hybrid::rank_scored(list, pool, doc_id)),
                Err(message) => {
                    errors.push(SourceError {
                        source: "semantic".into(),
                        message,
                    });
                    None
                }
            }
        };
        if semantic.is_none() && coverage.embedded == 0 {
            // Say why there is no semantic ranking when the model itself is the problem —
            // without loading it for a query that could not use it anyway.
            if let Some(message) = self.model_problem() {
                errors.push(SourceError {
                    source: "semantic".into(),
                    message,
                });
            }
        }
        // Beside a complete semantic ranking, lexical evidence must be real: a document has to
        // contain more than a third of the query's content words, or a paraphrase's incidental
        // common word would lift unrelated documents over the semantic answer (RRF rewards
        // presence in both lists). While the index is partly embedded, the chunks without a
        // vector can only be found lexically, so lexical ranks every match (as it does alone).
        let share = if semantic.is_some() && coverage.complete() {
            HYBRID_MIN_SHARE
        } else {
            0.0
        };
        let (lexical, lexical_all) = match self.lexical(g, q, pool, share) {
            // Every match too, when the gate applied: BM25's clear best joins the fusion even
            // when it holds few of the query's words (hybrid.rs).
            Ok(list) if share > 0.0 => {
                let all = self
                    .lexical(g, q, pool, 0.0)
                    .unwrap_or_else(|_| list.clone());
                (list, Some(all))
            }
            Ok(list) => (list, None),
            Err(e) => {
                errors.push(SourceError {
                    source: "lexical".into(),
                    message: format!("{e:#}"),
                });
                (vec![], None)
            }
        };
        SourceLists {
            semantic,
            lexical,
            lexical_all,
            errors,
        }
    }

    fn lexical(&self, g: &index::Generation, q: &Query, pool: usize, share: f64) -> Result<Scored> {
        let doc_id = |o: usize| g.chunks[o].doc_id.as_str();
        let list: Vec<(usize, f32)> = g
            .lexical
            .search(&q.query, &q.kinds, pool, share)?
            .into_iter()
            .filter_map(|(id, s)| g.ord(&id).map(|o| (o, s)))
            .collect();
        Ok(hybrid::rank_scored(list, pool, doc_id))
    }

    /// Semantic-only, lexical-only and fused rankings of the current index, `pool` deep each —
    /// for relevance evaluation (benches/scry_relevance.rs). The index must exist.
    pub fn rankings(&self, project: &Project, q: &Query, pool: usize) -> Result<Rankings> {
        let g = self
            .generation(project)?
            .ok_or_else(|| Error::not_found("no index; run `patina index`"))?;
        let joined = self.joined(project, &g, self.vectors(project));
        let src = self.sources(&g, &joined, q, pool);
        let fused = fuse(
            &g,
            src.semantic.as_deref(),
            &src.lexical,
            src.lexical_all.as_deref(),
        );
        let (semantic, lexical, errors) = (src.semantic, src.lexical, src.errors);
        // Lexical as it ranks alone (no model): every match.
        let lexical_alone = src.lexical_all.unwrap_or_else(|| lexical.clone());
        let terms = lexical::analyze(&q.query);
        let root = project.root().to_string_lossy().into_owned();
        let mk = |scored: &[(usize, f32)]| -> Vec<Hit> {
            scored
                .iter()
                .map(|&(o, s)| hit(&g.chunks[o], &root, &terms, f64::from(s)))
                .collect()
        };
        Ok(Rankings {
            semantic: mk(semantic.as_deref().unwrap_or(&[])),
            lexical: mk(&lexical_alone),
            lexical_fused: mk(&lexical),
            hybrid: fused
                .iter()
                .take(pool)
                .map(|f| hit(&g.chunks[f.ord], &root, &terms, f.score))
                .collect(),
            errors,
        })
    }

    /// Cosine top `pool` over the embedded chunks, restricted to the requested kinds.
    fn semantic(
        &self,
        joined: &joined::Joined,
        q: &Query,
        pool: usize,
    ) -> std::result::Result<Vec<(usize, f32)>, String> {
        let set = joined
            .vectors()
            .filter(|s| !s.is_empty())
            .ok_or("no vectors for this model")?;
        let emb = self.embedder()?;
        let qv = {
            let mut e = emb.lock().unwrap_or_else(|p| p.into_inner());
            if e.model_hash() != set.model_hash {
                return Err("the index was built with another model; run `patina index`".into());
            }
            e.embed(&[q.query.as_str()])
                .map_err(|e| format!("{e:#}"))?
                .pop()
                .ok_or("the model returned no vector")?
        };
        let mut scored = joined.cosines(&qv, &q.kinds);
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
        self.generation(project)
            .ok()
            .flatten()
            .map(|g| g.manifest.clone())
    }

    /// Write the vectors of the current corpus to `file` (see docs/ARCHITECTURE.md, "Sharing
    /// vectors"). The lexical phase runs first so the export matches the work tree.
    pub fn export_vectors(&self, project: &Project, file: &Path) -> Result<ExportReport> {
        let g = self.build_generation(project, false)?;
        let set = self
            .vectors(project)
            .ok_or_else(|| Error::usage("a lexical-only engine has no vectors to export"))?;
        let exported = vectors::export(file, &model::model_id(), &set, &|h| g.has_hash(h))?;
        Ok(ExportReport {
            file: file.to_path_buf(),
            exported,
            model_hash: set.model_hash.clone(),
            coverage: self.joined(project, &g, Some(set.clone())).coverage,
        })
    }

    /// Add the vectors of an export file that the log does not have yet. Nothing is embedded
    /// here; the next index embeds only what is still missing.
    pub fn import_vectors(&self, project: &Project, file: &Path) -> Result<usize> {
        let model_hash = self
            .vector_model()
            .ok_or_else(|| Error::usage("a lexical-only engine cannot import vectors"))?;
        let (_, rows) = vectors::read_export(file, &model_hash, model::DIMS)?;
        let known = self
            .vectors(project)
            .map(|s| s.hashes())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        let new: Vec<(vectors::ChunkHash, &[f32])> = rows
            .iter()
            .filter(|(h, _)| !known.contains(h) && seen.insert(*h))
            .map(|(h, v)| (*h, v.as_slice()))
            .collect();
        let dir = project.index_dir();
        crate::store::create_dirs(&dir)?;
        vectors::append(&dir, &model_hash, model::DIMS, &new)?;
        self.vectors(project);
        Ok(new.len())
    }
}

/// What `patina index --export` wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportReport {
    pub file: PathBuf,
    pub exported: usize,
    pub model_hash: String,
    /// Chunks of the current corpus with a vector (those are what the file holds).
    pub coverage: Coverage,
}

/// How many more chunks this process may embed before the test gate holds it
/// ([`GATE_ENV`]); waits while the gate is closed.
fn gate() -> usize {
    let Some(path) = std::env::var_os(GATE_ENV).filter(|p| !p.is_empty()) else {
        return usize::MAX;
    };
    let path = PathBuf::from(path);
    loop {
        let Ok(text) = std::fs::read_to_string(&path) else {
            return usize::MAX; // no file: open
        };
        let allowed: usize = text.trim().parse().unwrap_or(0);
        let done = EMBEDDED_HERE.load(Ordering::SeqCst);
        if done < allowed {
            return allowed - done;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The texts an index build of `project` embeds (one per chunk, in corpus order): for benchmarks
/// and tools that compare embedders on a real corpus.
pub fn corpus_texts(project: &Project) -> Result<Vec<String>> {
    Ok(corpus::gather(project)?
        .iter()
        .map(corpus::Chunk::embed_text)
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! The long-lived side of scry, for the daemon (and any long-running caller): one engine, and
//! for each project it has been asked about a refresher thread fed by a file watcher, plus one
//! embedding worker for all projects (one model per machine; the CPU is the limit). No HTTP
//! here — `serve/scry.rs` maps requests onto these calls.
//!
//! Queries never wait for a build: they read the engine's snapshots. Only a project seen for
//! the first time without any index waits for its lexical phase (about a second).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::watch::ProjectWatcher;
use super::{Coverage, Embedder, IndexReport, Options, Phase, Query, Scry, ScryAnswer};
use crate::project::Project;

/// Quiet time after the last file event before a refresh (editors write in bursts).
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Without a watcher (inotify unavailable), a query older than this triggers a refresh.
const POLL_REFRESH_AFTER: Duration = Duration::from_secs(10);
/// How long a caller waits for a lexical round it asked for.
const ROUND_WAIT: Duration = Duration::from_secs(120);

/// Where a project's indexing stands (`GET /api/index`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexStatus {
    /// `idle` (no job since the daemon started), `running`, `done` or `failed`. A job runs from
    /// the request (or file change) until every chunk has a vector or no model can be loaded.
    pub state: String,
    /// While running: `scanning` (lexical phase), `embedding`, or `queued` (waiting for the
    /// embedding worker, busy with another project).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Chunks embedded by this job / to embed in it (0/0 while scanning or when nothing is
    /// missing).
    pub done: usize,
    pub total: usize,
    /// Time the job took (so far, while running).
    pub took_ms: u64,
    /// How much of the current index is semantic right now: the cockpit's gauge.
    #[serde(default)]
    pub coverage: Coverage,
    /// True while a file watcher keeps the project fresh (false: refreshed on queries at most
    /// every 10 s, e.g. when inotify is out of watches).
    #[serde(default)]
    pub watching: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<IndexReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl IndexStatus {
    fn idle() -> IndexStatus {
        IndexStatus {
            state: "idle".into(),
            phase: String::new(),
            done: 0,
            total: 0,
            took_ms: 0,
            coverage: Coverage::default(),
            watching: false,
            report: None,
            error: None,
        }
    }
}

/// A job: from a request (or a file change) until the index is complete again.
struct Job {
    started: Instant,
    status: IndexStatus,
    changed: bool,
    removed: usize,
    embedded: usize,
    reused: Option<usize>,
    model_loaded: bool,
    rebuilt_because: Option<String>,
    by_kind: std::collections::BTreeMap<String, usize>,
}

#[derive(Default)]
struct TrackState {
    /// A lexical round is wanted; `explicit` skips the debounce, `rebuild` starts over.
    wanted: bool,
    explicit: bool,
    rebuild: bool,
    last_event: Option<Instant>,
    /// Tickets: a request takes `requested + 1`; a round serves every ticket taken before it
    /// started.
    requested: u64,
    served: u64,
    rounds: u64,
    last_round: Option<Instant>,
    /// In the embedding queue or being embedded.
    embedding: bool,
    job: Option<Job>,
}

/// A project the service keeps fresh.
struct Tracked {
    project: Project,
    state: Mutex<TrackState>,
    cv: Condvar,
    watching: AtomicBool,
}

impl Tracked {
    fn lock(&self) -> MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask for a lexical round; returns the ticket it will serve.
    fn request(&self, explicit: bool, rebuild: bool) -> u64 {
        let mut s = self.lock();
        s.wanted = true;
        s.explicit |= explicit;
        s.rebuild |= rebuild;
        if !explicit {
            s.last_event = Some(Instant::now());
        }
        s.requested += 1;
        start_job(&mut s);
        self.cv.notify_all();
        s.requested
    }

    /// Wait until the round serving `ticket` is done (bounded).
    fn wait_served(&self, ticket: u64) {
        let deadline = Instant::now() + ROUND_WAIT;
        let mut s = self.lock();
        while s.served < ticket {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("gave up waiting for a lexical round after {ROUND_WAIT:?}");
                return;
            }
            s = self
                .cv
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

fn start_job(s: &mut TrackState) {
    if s.job.as_ref().is_some_and(|j| j.status.state == "running") {
        return;
    }
    s.job = Some(Job {
        started: Instant::now(),
        status: IndexStatus {
            state: "running".into(),
            phase: "scanning".into(),
            ..IndexStatus::idle()
        },
        changed: false,
        removed: 0,
        embedded: 0,
        reused: None,
        model_loaded: false,
        rebuilt_because: None,
        by_kind: Default::default(),
    });
}

/// The single embedding worker's queue.
#[derive(Default)]
struct EmbedQueue {
    queue: Mutex<VecDeque<Arc<Tracked>>>,
    cv: Condvar,
}

/// One per daemon: the engine (query model loaded once), the tracked projects and the
/// embedding worker.
pub struct ScryService {
    engine: Arc<Scry>,
    tracked: Mutex<HashMap<PathBuf, Arc<Tracked>>>,
    embed: Arc<EmbedQueue>,
    worker_started: AtomicBool,
}

impl Default for ScryService {
    fn default() -> Self {
        ScryService::new(Options::default())
    }
}

impl ScryService {
    pub fn new(opts: Options) -> ScryService {
        ScryService {
            engine: Arc::new(Scry::new(opts)),
            tracked: Mutex::new(HashMap::new()),
            embed: Arc::new(EmbedQueue::default()),
            worker_started: AtomicBool::new(false),
        }
    }

    pub fn engine(&self) -> &Arc<Scry> {
        &self.engine
    }

    /// Answer a query from the current snapshots. `refresh`: wait for one lexical round first
    /// (never for embedding). A project without any index waits for its lexical phase.
    pub fn search(&self, project: &Project, q: &Query, refresh: bool) -> Result<ScryAnswer> {
        q.validate()?;
        let t = self.track(project);
        if refresh || !self.engine.has_index(project) {
            let ticket = t.request(true, false);
            t.wait_served(ticket);
        } else if !t.watching.load(Ordering::SeqCst) {
            let stale = t
                .lock()
                .last_round
                .is_none_or(|at| at.elapsed() > POLL_REFRESH_AFTER);
            if stale {
                t.request(true, false);
            }
        }
        self.engine.search(project, q)
    }

    /// Ask for a refresh (or a rebuild) in the background. With `wait`, answer once its lexical
    /// phase is done (so a no-change request answers with its final report).
    pub fn start_index(&self, project: &Project, rebuild: bool, wait: bool) -> IndexStatus {
        let t = self.track(project);
        let ticket = t.request(true, rebuild);
        if wait {
            t.wait_served(ticket);
        }
        self.status_of(&t)
    }

    /// The current or last job of the project, with the live coverage.
    pub fn index_status(&self, project: &Project) -> IndexStatus {
        let t = self
            .tracked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(project.root())
            .cloned();
        match t {
            Some(t) => self.status_of(&t),
            None => {
                let mut s = IndexStatus::idle();
                s.coverage = self.engine.coverage(project).unwrap_or_default();
                s
            }
        }
    }

    fn status_of(&self, t: &Tracked) -> IndexStatus {
        let coverage = self.engine.coverage(&t.project).unwrap_or_default();
        let s = t.lock();
        let mut st = match &s.job {
            Some(j) => {
                let mut st = j.status.clone();
                if st.state == "running" {
                    st.took_ms = j.started.elapsed().as_millis() as u64;
                }
                st
            }
            None => IndexStatus::idle(),
        };
        st.coverage = coverage;
        st.watching = t.watching.load(Ordering::SeqCst);
        st
    }

    /// The tracked state of `project`, created (with its refresher, watcher and a first
    /// catch-up round) on first use.
    fn track(&self, project: &Project) -> Arc<Tracked> {
        let mut map = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(project.root()) {
            return t.clone();
        }
        let t = Arc::new(Tracked {
            project: project.clone(),
            state: Mutex::new(TrackState::default()),
            cv: Condvar::new(),
            watching: AtomicBool::new(false),
        });
        map.insert(project.root().to_path_buf(), t.clone());
        drop(map);
        self.ensure_worker();
        // The daemon did not see what changed while it was not watching: one round to catch up.
        t.request(true, false);
        let (engine, embed, tr) = (self.engine.clone(), self.embed.clone(), t.clone());
        let spawned = std::thread::Builder::new()
            .name("scry-refresh".into())
            .spawn(move || refresher(engine, embed, tr));
        if let Err(e) = spawned {
            tracing::error!("starting the scry refresher: {e}");
        }
        t
    }

    fn ensure_worker(&self) {
        if self.worker_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let (engine, embed) = (self.engine.clone(), self.embed.clone());
        let spawned = std::thread::Builder::new()
            .name("scry-embed".into())
            .spawn(move || embed_worker(engine, embed));
        if let Err(e) = spawned {
            tracing::error!("starting the scry embedding worker: {e}");
            self.worker_started.store(false, Ordering::SeqCst);
        }
    }
}

/// One project's refresher: waits for a wanted round (debounced for file events), runs the
/// lexical phase, publishes, and hands the missing vectors to the embedding worker.
fn refresher(engine: Arc<Scry>, embed: Arc<EmbedQueue>, t: Arc<Tracked>) {
    let mut watcher: Option<ProjectWatcher> = None;
    let mut watch_failed = false;
    loop {
        let (rebuild, ticket) = {
            let mut s = t.lock();
            loop {
                if s.wanted {
                    match (s.explicit, s.last_event) {
                        (false, Some(at)) if at.elapsed() < DEBOUNCE => {
                            let left = DEBOUNCE - at.elapsed();
                            s =
                                t.cv.wait_timeout(s, left)
                                    .unwrap_or_else(|p| p.into_inner())
                                    .0;
                            continue;
                        }
                        _ => break,
                    }
                }
                s = t.cv.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            s.wanted = false;
            s.explicit = false;
            let rebuild = std::mem::take(&mut s.rebuild);
            if let Some(j) = s.job.as_mut() {
                j.status.phase = "scanning".into();
            }
            (rebuild, s.requested)
        };
        let _span =
            tracing::info_span!("scry_refresh", root = %t.project.root().display()).entered();
        let res = if rebuild {
            engine
                .reset_vectors(&t.project)
                .and_then(|_| engine.refresh_lexical(&t.project, true))
        } else {
            engine.refresh_lexical(&t.project, false)
        };
        let coverage = res
            .as_ref()
            .ok()
            .map(|r| r.hashes.coverage(engine.vectors(&t.project).as_deref()));
        let mut s = t.lock();
        s.served = s.served.max(ticket);
        s.rounds += 1;
        s.last_round = Some(Instant::now());
        match res {
            Ok(round) => {
                if let Some(j) = s.job.as_mut() {
                    j.changed |= round.changed;
                    j.by_kind = round.by_kind.clone();
                    j.removed += round.removed;
                    if j.rebuilt_because.is_none() {
                        j.rebuilt_because = round.rebuilt_because.clone();
                    }
                    if j.reused.is_none() {
                        j.reused = coverage.map(|c| c.embedded);
                    }
                }
                let complete = coverage.is_none_or(|c| c.complete());
                if !complete && !s.embedding {
                    s.embedding = true;
                    if let Some(j) = s.job.as_mut() {
                        j.status.phase = "queued".into();
                    }
                    embed
                        .queue
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_back(t.clone());
                    embed.cv.notify_all();
                } else if !s.embedding && !s.wanted {
                    finish(&mut s, &engine, &t.project, None, coverage);
                }
            }
            Err(e) => {
                tracing::warn!("scry refresh failed: {e:#}");
                finish(&mut s, &engine, &t.project, Some(format!("{e:#}")), None);
            }
        }
        t.cv.notify_all();
        drop(s);
        // The round's transient heap (the gathered corpus, tantivy's writer buffers) goes back
        // to the system instead of staying in the daemon's idle RSS.
        super::embed::release_freed_memory();
        // Watch what the corpus reads now (new directories included).
        if !watch_failed {
            let ok = match watcher.as_mut() {
                Some(w) => w.sync(&t.project),
                None => {
                    let tw = Arc::downgrade(&t);
                    ProjectWatcher::start(
                        &t.project,
                        Box::new(move || {
                            if let Some(t) = tw.upgrade() {
                                t.request(false, false);
                            }
                        }),
                    )
                    .map(|w| {
                        tracing::info!(dirs = w.watched(), "watching the project for changes");
                        watcher = Some(w);
                    })
                }
            };
            if let Err(e) = ok {
                tracing::warn!(
                    "file watching unavailable ({e:#}); refreshing on queries at most every {}s",
                    POLL_REFRESH_AFTER.as_secs()
                );
                watch_failed = true;
                watcher = None;
            }
            t.watching.store(!watch_failed, Ordering::SeqCst);
        }
    }
}

/// End the running job with its report (or error).
fn finish(
    s: &mut TrackState,
    engine: &Scry,
    project: &Project,
    error: Option<String>,
    coverage: Option<Coverage>,
) {
    let Some(j) = s.job.as_mut() else { return };
    if j.status.state != "running" {
        return;
    }
    j.status.took_ms = j.started.elapsed().as_millis() as u64;
    j.status.phase = String::new();
    match error {
        Some(e) => {
            j.status.state = "failed".into();
            j.status.error = Some(e);
        }
        None => {
            let coverage = coverage
                .or_else(|| engine.coverage(project))
                .unwrap_or_default();
            j.status.state = "done".into();
            j.status.report = Some(IndexReport {
                root: project.root().to_path_buf(),
                changed: j.changed || j.embedded > 0,
                mode: if coverage.complete() && coverage.total > 0 {
                    "hybrid".into()
                } else {
                    "lexical".into()
                },
                chunks: coverage.total,
                embedded: j.embedded,
                reused: j.reused.unwrap_or(0),
                removed: j.removed,
                by_kind: j.by_kind.clone(),
                model_loaded: j.model_loaded,
                coverage,
                imported: None,
                rebuilt_because: j.rebuilt_because.clone(),
                took_ms: j.status.took_ms,
            });
        }
    }
}

/// The one embedding worker: projects in the order their rounds asked, one at a time, with a
/// build embedder loaded for the busy period and dropped when the queue is empty.
fn embed_worker(engine: Arc<Scry>, q: Arc<EmbedQueue>) {
    // Before the build model (and its thread pool) exists: queries come first.
    super::embed::deprioritize_this_thread();
    let mut emb: Option<Embedder> = None;
    loop {
        let next = {
            let mut queue = q.queue.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(t) = queue.pop_front() {
                    break t;
                }
                if emb.take().is_some() {
                    super::embed::release_freed_memory();
                    tracing::info!("embedding done; build model released");
                }
                queue = q.cv.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
        };
        let t = next;
        let _span = tracing::info_span!("scry_embed", root = %t.project.root().display()).entered();
        loop {
            let rounds_before = t.lock().rounds;
            if emb.is_none() {
                match engine.build_embedder() {
                    Ok(e) => emb = Some(e),
                    Err(why) => {
                        tracing::info!("no vectors for now: {why}");
                        engine.note_model_failure(&why);
                        let mut s = t.lock();
                        s.embedding = false;
                        if !s.wanted {
                            finish(&mut s, &engine, &t.project, None, None);
                        }
                        t.cv.notify_all();
                        break;
                    }
                }
            }
            {
                let mut s = t.lock();
                if let Some(j) = s.job.as_mut() {
                    j.model_loaded = true;
                    j.status.phase = "embedding".into();
                }
            }
            let base = t.lock().job.as_ref().map_or(0, |j| j.embedded);
            let tp = t.clone();
            let mut progress = move |p: Phase| {
                if let Phase::Embedding { done, total } = p {
                    let mut s = tp.lock();
                    if let Some(j) = s.job.as_mut() {
                        j.status.done = base + done;
                        j.status.total = base + total;
                    }
                }
            };
            let res = engine.embed_missing(
                &t.project,
                emb.as_mut().expect("loaded above"),
                &mut progress,
            );
            let mut s = t.lock();
            match res {
                Ok(r) => {
                    if let Some(j) = s.job.as_mut() {
                        j.embedded += r.embedded;
                        j.status.done = j.embedded;
                        j.status.total = j.status.total.max(j.embedded);
                    }
                    // A round that finished while we embedded may have left new chunks.
                    if s.rounds != rounds_before {
                        continue;
                    }
                    s.embedding = false;
                    if !s.wanted {
                        finish(&mut s, &engine, &t.project, None, None);
                    }
                }
                Err(e) => {
                    tracing::warn!("embedding failed: {e:#}");
                    s.embedding = false;
                    finish(&mut s, &engine, &t.project, Some(format!("{e:#}")), None);
                }
            }
            t.cv.notify_all();
            break;
        }
    }
}

//! The long-lived side of scry, for the daemon (and any other long-running caller, e.g. the
//! cockpit in-process): one hot engine, background re-indexing per project root, progress you
//! can poll. No HTTP here — `serve/scry.rs` maps requests onto these calls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{IndexReport, Options, Phase, Query, Scry, ScryAnswer};
use crate::project::Project;

/// A query that finds an index older than this triggers a background refresh.
const REFRESH_AFTER: Duration = Duration::from_secs(10);

/// Where a project's indexing stands (`GET /api/index`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexStatus {
    /// `idle` (no job since the daemon started), `running`, `done` or `failed`.
    pub state: String,
    /// Chunks embedded so far / to embed in this job (0/0 while scanning or when nothing changed).
    pub done: usize,
    pub total: usize,
    /// Time the job took (so far, while running).
    pub took_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<IndexReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl IndexStatus {
    fn idle() -> IndexStatus {
        IndexStatus {
            state: "idle".into(),
            done: 0,
            total: 0,
            took_ms: 0,
            report: None,
            error: None,
        }
    }
}

struct Job {
    started: Instant,
    status: Mutex<IndexStatus>,
}

/// One per daemon: the engine (model loaded once) and the indexing jobs per project root.
pub struct ScryService {
    engine: Arc<Scry>,
    jobs: Mutex<HashMap<PathBuf, Arc<Job>>>,
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
            jobs: Mutex::new(HashMap::new()),
        }
    }

    pub fn engine(&self) -> &Arc<Scry> {
        &self.engine
    }

    /// Answer a query. `refresh`: bring the index up to date first (what the CLI asks for, so it
    /// answers exactly as in-process); otherwise answer from the current index at once and
    /// refresh it in the background when it is older than a few seconds. A project without an
    /// index is always indexed first.
    pub fn search(&self, project: &Project, q: &Query, refresh: bool) -> Result<ScryAnswer> {
        q.validate()?;
        if refresh || !self.engine.has_index(project) {
            self.run_now(project)?;
        } else {
            self.refresh_in_background(project);
        }
        self.engine.search(project, q)
    }

    /// Index synchronously, recorded as a job so `GET /api/index` sees it.
    fn run_now(&self, project: &Project) -> Result<IndexReport> {
        let job = Arc::new(Job {
            started: Instant::now(),
            status: Mutex::new(running()),
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project.root().to_path_buf(), job.clone());
        let res = self.engine.index(project, false, &mut |p| update(&job, p));
        finish(&job, &res);
        res
    }

    fn refresh_in_background(&self, project: &Project) {
        let recent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(project.root())
            .is_some_and(|j| j.started.elapsed() < REFRESH_AFTER);
        if !recent {
            self.start_index(project);
        }
    }

    /// Start re-indexing in the background (no-op while a job for the root is running).
    pub fn start_index(&self, project: &Project) -> IndexStatus {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = jobs.get(project.root()) {
            let s = j.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if s.state == "running" {
                return s;
            }
        }
        let job = Arc::new(Job {
            started: Instant::now(),
            status: Mutex::new(running()),
        });
        jobs.insert(project.root().to_path_buf(), job.clone());
        drop(jobs);
        let engine = self.engine.clone();
        let project = project.clone();
        let j = job.clone();
        let spawned = std::thread::Builder::new()
            .name("scry-index".into())
            .spawn(move || {
                let res = engine.index(&project, false, &mut |p| update(&j, p));
                if let Err(e) = &res {
                    tracing::warn!(root = %project.root().display(), "background index failed: {e:#}");
                }
                finish(&j, &res);
            });
        if let Err(e) = spawned {
            finish(
                &job,
                &Err(anyhow::anyhow!("starting the index thread: {e}")),
            );
        }
        self.status_of(&job)
    }

    /// The current or last job of the project.
    pub fn index_status(&self, project: &Project) -> IndexStatus {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        match jobs.get(project.root()) {
            Some(j) => self.status_of(j),
            None => IndexStatus::idle(),
        }
    }

    fn status_of(&self, job: &Job) -> IndexStatus {
        let mut s = job.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if s.state == "running" {
            s.took_ms = job.started.elapsed().as_millis() as u64;
        }
        s
    }
}

fn running() -> IndexStatus {
    IndexStatus {
        state: "running".into(),
        ..IndexStatus::idle()
    }
}

fn update(job: &Job, p: Phase) {
    if let Phase::Embedding { done, total } = p {
        let mut s = job.status.lock().unwrap_or_else(|p| p.into_inner());
        s.done = done;
        s.total = total;
    }
}

fn finish(job: &Job, res: &Result<IndexReport>) {
    let mut s = job.status.lock().unwrap_or_else(|p| p.into_inner());
    s.took_ms = job.started.elapsed().as_millis() as u64;
    match res {
        Ok(r) => {
            s.state = "done".into();
            s.report = Some(r.clone());
        }
        Err(e) => {
            s.state = "failed".into();
            s.error = Some(format!("{e:#}"));
        }
    }
}

//! The in-process backend: the domain functions the daemon's handlers call, called here.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use super::{Answered, Backend, BackendKind};
use crate::agent::{self, AgentStatus};
use crate::error::Error;
use crate::mother::{self, FanOut, FederatedAnswer, LocalSearch};
use crate::project::Project;
use crate::proto::agent::AgentEventRequest;
use crate::proto::scry::{FederatedScryRequest, IndexStatus, ScryRequest};
use crate::proto::session::SessionStatus;
use crate::scry::{self, IndexReport, Phase, Query, ScryAnswer, ScryService};
use crate::{clock, session, transcript};

/// Where indexing progress goes (a progress bar, the cockpit's status bar).
pub type Progress = Arc<dyn Fn(Phase) + Send + Sync>;

/// This process as a [`Backend`]. Holds one engine (the model is loaded once, lazily) with the
/// same job bookkeeping the daemon has, so `index_start`/`index_status` work here too.
#[derive(Clone)]
pub struct InProcess {
    service: Arc<ScryService>,
    progress: Option<Progress>,
    fan_out: Option<FanOut>,
    refresh_first: bool,
    session: session::Engine,
}

impl Default for InProcess {
    fn default() -> Self {
        InProcess::new(scry::Options::default())
    }
}

impl InProcess {
    /// A fresh engine with `opts` (e.g. `allow_unpinned`).
    pub fn new(opts: scry::Options) -> InProcess {
        InProcess::with_service(Arc::new(ScryService::new(opts)))
    }

    /// Share an existing engine (the cockpit keeps one hot; the daemon has its own).
    pub fn with_service(service: Arc<ScryService>) -> InProcess {
        InProcess {
            service,
            progress: None,
            fan_out: None,
            refresh_first: false,
            session: session::Engine::new(
                // A bad PATINA_NOW is refused by every session command; here it is only the
                // idle time of a status.
                clock::from_env().unwrap_or_else(|_| Arc::new(clock::SystemClock)),
                Arc::new(transcript::KnownSecrets),
            ),
        }
    }

    /// Report indexing progress (also used by [`super::Auto`] for the daemon's progress).
    pub fn with_progress(mut self, progress: Progress) -> InProcess {
        self.progress = Some(progress);
        self
    }

    /// Answer session questions with this engine (its clock).
    pub fn with_session(mut self, session: session::Engine) -> InProcess {
        self.session = session;
        self
    }

    /// Bring an index up to date before every answer, whatever the request says: for a
    /// one-shot process, which has no watcher keeping indexes fresh (the CLI without a daemon).
    pub fn refreshing_first(mut self) -> InProcess {
        self.refresh_first = true;
        self
    }

    /// Federated searches use these deadlines instead of the user config's.
    pub fn with_fan_out(mut self, fan_out: FanOut) -> InProcess {
        self.fan_out = Some(fan_out);
        self
    }

    pub fn engine(&self) -> &Arc<scry::Scry> {
        self.service.engine()
    }

    pub(super) fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    fn report(&self) -> impl FnMut(Phase) + '_ {
        move |p| {
            if let Some(f) = &self.progress {
                f(p)
            }
        }
    }

    pub(super) fn scry_now(&self, req: &ScryRequest) -> Result<ScryAnswer> {
        let q = query(&req.query, req.limit, &req.kinds);
        q.validate()?;
        let project = open_root(&req.project)?;
        if self.refresh_first {
            // A one-shot process: nothing keeps its index fresh after it exits.
            self.engine().index(&project, false, &mut self.report())?;
            return self.engine().search(&project, &q);
        }
        // A long-lived caller (the cockpit without a daemon): answer from the snapshots like
        // the daemon does, embedding in the background; `refresh` waits for a lexical round.
        self.service.search(&project, &q, req.refresh)
    }

    pub(super) fn scry_all_now(&self, req: &FederatedScryRequest) -> Result<FederatedAnswer> {
        let q = query(&req.query, req.limit, &req.kinds);
        q.validate()?;
        let here = req.here.as_deref().map(open_root).transpose()?;
        let opts = match &self.fan_out {
            Some(f) => f.clone(),
            None => FanOut::from_user_config()?,
        };
        let engine = self.engine().clone();
        let refresh = req.refresh || self.refresh_first;
        let local: LocalSearch = Arc::new(move |p, q| {
            if refresh {
                engine.refresh_and_search(p, q)
            } else {
                engine.search(p, q)
            }
        });
        mother::search_all(here.as_ref(), &q, local, &opts)
    }

    pub(super) fn session_status_now(&self, root: &Path) -> Result<SessionStatus> {
        self.session.status(&open_path(root)?)
    }

    pub(super) fn index_now(&self, root: &Path, rebuild: bool) -> Result<IndexReport> {
        self.engine()
            .index(&open_path(root)?, rebuild, &mut self.report())
    }

    pub(super) fn index_start_now(&self, root: &Path) -> Result<IndexStatus> {
        Ok(self.service.start_index(&open_path(root)?, false, false))
    }

    pub(super) fn index_status_now(&self, root: &Path) -> Result<IndexStatus> {
        Ok(self.service.index_status(&open_path(root)?))
    }

    pub(super) fn agent_status_now(&self, root: &Path) -> Result<AgentStatus> {
        agent::status(&open_path(root)?)
    }

    pub(super) fn agent_event_now(&self, req: &AgentEventRequest) -> Result<AgentStatus> {
        if req.agent.trim().is_empty() {
            return Err(Error::usage("agent is required").into());
        }
        let ev = agent::Event {
            agent: req.agent.clone(),
            state: Some(req.state),
            event: req.event.clone(),
            session_id: req.session_id.clone(),
        };
        Ok(agent::record(&open_root(&req.project)?, &ev)?.status)
    }
}

fn query(text: &str, limit: Option<usize>, kinds: &[scry::Kind]) -> Query {
    Query {
        query: text.to_string(),
        limit,
        kinds: kinds.to_vec(),
    }
}

fn open_root(root: &str) -> Result<Project> {
    Project::named(Path::new(root))
}

fn open_path(path: &Path) -> Result<Project> {
    Project::named(path)
}

fn in_process<T>(answer: T) -> Answered<T> {
    Answered::by(BackendKind::InProcess, answer)
}

impl Backend for InProcess {
    fn scry(&self, req: &ScryRequest) -> Result<Answered<ScryAnswer>> {
        self.scry_now(req).map(in_process)
    }
    fn scry_all(&self, req: &FederatedScryRequest) -> Result<Answered<FederatedAnswer>> {
        self.scry_all_now(req).map(in_process)
    }
    fn session_status(&self, root: &Path) -> Result<Answered<SessionStatus>> {
        self.session_status_now(root).map(in_process)
    }
    fn index(&self, root: &Path, rebuild: bool) -> Result<Answered<IndexReport>> {
        self.index_now(root, rebuild).map(in_process)
    }
    fn index_start(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        self.index_start_now(root).map(in_process)
    }
    fn index_status(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        self.index_status_now(root).map(in_process)
    }
    fn agent_status(&self, root: &Path) -> Result<Answered<AgentStatus>> {
        self.agent_status_now(root).map(in_process)
    }
    fn agent_event(&self, req: &AgentEventRequest) -> Result<Answered<AgentStatus>> {
        self.agent_event_now(req).map(in_process)
    }
}

//! The daemon backend: the typed client on the local socket (or a given one).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use super::{Answered, Backend, BackendKind, Progress, judged};
use crate::agent::AgentStatus;
use crate::client::{Client, ClientError};
use crate::mother::FederatedAnswer;
use crate::proto::agent::AgentEventRequest;
use crate::proto::scry::{FederatedScryRequest, IndexRequest, IndexStatus, ScryRequest};
use crate::proto::session::SessionStatus;
use crate::scry::{IndexReport, Phase, ScryAnswer};

/// How long a call that may build a whole index waits (a first query in a big project).
const LONG_CALL: Duration = Duration::from_secs(3600);
/// How long a quick question (status, agent state) waits.
const QUICK_CALL: Duration = Duration::from_secs(5);
/// Federated calls: the daemon enforces each source's deadline; this only guards against a
/// wedged daemon (a first query may also load the model).
const FEDERATED_CALL: Duration = Duration::from_secs(120);

/// A running daemon, if one answers `/health` with our protocol on the local socket; `None`
/// otherwise (logged when something answered badly). Never starts one. This is the one "is a
/// daemon there" check: [`super::Auto`] falls back on the same errors, and `secrets` uses it
/// to decide between the daemon's cache and decrypting in-process.
pub fn running_daemon() -> Option<Client> {
    let c = Client::local();
    match c.health() {
        Ok(_) => Some(c),
        Err(e) => {
            if !e.is_not_running() {
                tracing::warn!(error = %e, "the daemon did not answer properly; working in-process");
            }
            None
        }
    }
}

/// The daemon as a [`Backend`]: every answer comes from it or is an error.
#[derive(Clone)]
pub struct Daemon {
    client: Client,
    pub(super) progress: Option<Progress>,
    /// Overrides every call's own deadline (hooks must be fast).
    timeout: Option<Duration>,
}

impl Daemon {
    /// The daemon on `PATINA_HOME/run/serve.sock`.
    pub fn local() -> Daemon {
        Daemon::with_client(Client::local())
    }

    pub fn with_client(client: Client) -> Daemon {
        Daemon {
            client,
            progress: None,
            timeout: None,
        }
    }

    /// One deadline for every call instead of each call's own.
    pub fn with_timeout(mut self, timeout: Duration) -> Daemon {
        self.timeout = Some(timeout);
        self
    }

    /// Report the daemon's indexing progress while a call that refreshes waits.
    pub fn with_progress(mut self, progress: Option<Progress>) -> Daemon {
        self.progress = progress;
        self
    }

    fn timed(&self, t: Duration) -> Client {
        self.client.clone().with_timeout(self.timeout.unwrap_or(t))
    }

    pub(super) fn scry(&self, req: &ScryRequest) -> Result<ScryAnswer, ClientError> {
        let root = Path::new(&req.project);
        let watch = (req.refresh)
            .then(|| self.progress.clone())
            .flatten()
            .map(|p| watch_index(self.client.clone(), root, p));
        let res = self.timed(LONG_CALL).scry(req);
        drop(watch);
        res
    }

    pub(super) fn scry_all(
        &self,
        req: &FederatedScryRequest,
    ) -> Result<FederatedAnswer, ClientError> {
        self.timed(FEDERATED_CALL).scry_all(req)
    }

    pub(super) fn session_status(&self, root: &Path) -> Result<SessionStatus, ClientError> {
        self.timed(QUICK_CALL).session_status(root)
    }

    /// `POST /api/index` (answered after the lexical phase), then follow `GET /api/index` while
    /// the daemon embeds. The inner error is the job's own failure: the daemon did the work and
    /// it failed, which in-process work would only repeat, slower — an answer, not a reason to
    /// fall back.
    pub(super) fn index(
        &self,
        root: &Path,
        rebuild: bool,
    ) -> Result<Result<IndexReport, String>, ClientError> {
        let c = self.timed(Duration::from_secs(300));
        let mut st = c.index_request(&IndexRequest {
            project: root.to_string_lossy().into_owned(),
            rebuild,
            wait: true,
        })?;
        let mut pause = Duration::from_millis(20);
        while st.state == "running" {
            if let Some(p) = &self.progress
                && st.total > 0
            {
                p(Phase::Embedding {
                    done: st.done,
                    total: st.total,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
            st = c.index_status(root)?;
        }
        match (st.report, st.error) {
            (Some(r), _) => Ok(Ok(r)),
            (None, Some(e)) => Ok(Err(format!("indexing failed: {e}"))),
            (None, None) => Err(ClientError::BadAnswer {
                endpoint: c.endpoint().to_string(),
                message: format!("the index job ended as {:?} without a report", st.state),
            }),
        }
    }

    pub(super) fn index_start(&self, root: &Path) -> Result<IndexStatus, ClientError> {
        self.timed(QUICK_CALL).index_start(root)
    }

    pub(super) fn index_status(&self, root: &Path) -> Result<IndexStatus, ClientError> {
        self.timed(QUICK_CALL).index_status(root)
    }

    pub(super) fn agent_status(&self, root: &Path) -> Result<AgentStatus, ClientError> {
        self.timed(QUICK_CALL).agent_status(root)
    }

    pub(super) fn agent_event(&self, req: &AgentEventRequest) -> Result<AgentStatus, ClientError> {
        self.timed(QUICK_CALL).agent_event(req)
    }
}

/// Polls `GET /api/index` on a thread while a refreshing call waits, feeding `progress`; stops
/// when dropped.
struct IndexWatch(Arc<AtomicBool>);

impl Drop for IndexWatch {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn watch_index(client: Client, root: &Path, progress: Progress) -> IndexWatch {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let client = client.with_timeout(Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(300));
        while !s.load(Ordering::Relaxed) {
            match client.index_status(&root) {
                Ok(st) if st.state == "running" && st.total > 0 => progress(Phase::Embedding {
                    done: st.done,
                    total: st.total,
                }),
                Ok(_) => {}
                Err(_) => break,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    IndexWatch(stop)
}

/// A daemon error as the caller's error: a verdict on the request keeps its kind, anything else
/// says the daemon is unavailable.
fn failed(e: ClientError) -> anyhow::Error {
    match judged(&e) {
        Some(err) => err.into(),
        None => e.into_error().into(),
    }
}

impl Answered<Result<IndexReport, String>> {
    /// An index job's own failure as the caller's error.
    pub(super) fn flatten_job(self) -> Result<Answered<IndexReport>> {
        let Answered {
            answer,
            backend,
            fallback,
        } = self;
        Ok(Answered {
            answer: answer.map_err(anyhow::Error::msg)?,
            backend,
            fallback,
        })
    }
}

fn by_daemon<T>(r: Result<T, ClientError>) -> Result<Answered<T>> {
    r.map(|a| Answered::by(BackendKind::Daemon, a))
        .map_err(failed)
}

impl Backend for Daemon {
    fn scry(&self, req: &ScryRequest) -> Result<Answered<ScryAnswer>> {
        by_daemon(Daemon::scry(self, req))
    }
    fn scry_all(&self, req: &FederatedScryRequest) -> Result<Answered<FederatedAnswer>> {
        by_daemon(Daemon::scry_all(self, req))
    }
    fn session_status(&self, root: &Path) -> Result<Answered<SessionStatus>> {
        by_daemon(Daemon::session_status(self, root))
    }
    fn index(&self, root: &Path, rebuild: bool) -> Result<Answered<IndexReport>> {
        by_daemon(Daemon::index(self, root, rebuild))?.flatten_job()
    }
    fn index_start(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        by_daemon(Daemon::index_start(self, root))
    }
    fn index_status(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        by_daemon(Daemon::index_status(self, root))
    }
    fn agent_status(&self, root: &Path) -> Result<Answered<AgentStatus>> {
        by_daemon(Daemon::agent_status(self, root))
    }
    fn agent_event(&self, req: &AgentEventRequest) -> Result<Answered<AgentStatus>> {
        by_daemon(Daemon::agent_event(self, req))
    }
}

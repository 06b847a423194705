//! One way to ask patina for an answer: the [`Backend`] trait, served by the local daemon
//! ([`Daemon`]: model and indexes hot, shared by every caller) or by this process
//! ([`InProcess`]: the same domain functions, called directly). The CLI, the cockpit and
//! `patina mcp` hold a `Box<dyn Backend>` and never decide themselves where an answer comes from.
//!
//! **The fallback rule lives here, once** ([`Auto`]): ask the daemon; when it is not running or
//! fails in a way that says nothing about the request (no answer, timeout, protocol mismatch, 5xx,
//! a bad answer), answer in-process and say so; when it *judged the request* (400, 404, 409, 422),
//! that judgement is the answer — in-process would judge the same. Every answer carries which
//! backend gave it ([`Answered::backend`], `"backend": "daemon" | "in-process"` in `--json`) and,
//! after a fallback, why ([`Answered::fallback`]).
//!
//! Choices the daemon cannot take for a caller (`--no-daemon`, `--allow-unpinned`, a rebuild, a
//! per-call timeout) are the caller's: it asks [`pick`] for in-process work.
//!
//! Secrets never fall back (an unlock lives only in the daemon's memory), so they are not on the
//! trait; [`running_daemon`] is their "is a daemon there" check, the same one [`Auto`] uses.
//!
//! Module graph: `backend/` sits above `client/` and the domain (it calls both) and below
//! `commands/`, `tui/` and `serve/`; nothing it calls imports it.

mod daemon;
mod in_process;

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

pub use daemon::{Daemon, running_daemon};
pub use in_process::{InProcess, Progress};

use crate::agent::AgentStatus;
use crate::client::ClientError;
use crate::error::Error;
use crate::mother::FederatedAnswer;
use crate::proto::agent::AgentEventRequest;
use crate::proto::scry::{FederatedScryRequest, IndexStatus, ScryRequest};
use crate::proto::session::SessionStatus;
use crate::scry::{IndexReport, ScryAnswer};

/// Which backend produced an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    Daemon,
    InProcess,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Daemon => "daemon",
            BackendKind::InProcess => "in-process",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An answer and where it came from. Serialises as the answer's own fields plus `backend` (and
/// `fallback` after one), so `--json` documents keep their shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answered<T> {
    #[serde(flatten)]
    pub answer: T,
    pub backend: BackendKind,
    /// Why the daemon did not answer when it was asked (the answer is then in-process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl<T> Answered<T> {
    fn by(backend: BackendKind, answer: T) -> Answered<T> {
        Answered {
            answer,
            backend,
            fallback: None,
        }
    }

    /// The answer with its provenance changed into another type (e.g. a view of it).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answered<U> {
        Answered {
            answer: f(self.answer),
            backend: self.backend,
            fallback: self.fallback,
        }
    }
}

/// What the CLI, the cockpit and `patina mcp` ask. Every method takes the absolute project root
/// (or a request naming it); none depends on the process's cwd.
pub trait Backend: Send + Sync {
    /// Search one project.
    fn scry(&self, req: &ScryRequest) -> Result<Answered<ScryAnswer>>;
    /// Search every registered project and remote (mother's fan-out).
    fn scry_all(&self, req: &FederatedScryRequest) -> Result<Answered<FederatedAnswer>>;
    /// The active session summary (`session status --json`).
    fn session_status(&self, root: &Path) -> Result<Answered<SessionStatus>>;
    /// Bring the index up to date (`rebuild`: embed everything again) and wait until every chunk
    /// has a vector or no model can be loaded; progress goes to the backend's [`Progress`].
    fn index(&self, root: &Path, rebuild: bool) -> Result<Answered<IndexReport>>;
    /// Start bringing the index up to date in the background.
    fn index_start(&self, root: &Path) -> Result<Answered<IndexStatus>>;
    /// Where the background index job stands.
    fn index_status(&self, root: &Path) -> Result<Answered<IndexStatus>>;
    /// The coding agents' state.
    fn agent_status(&self, root: &Path) -> Result<Answered<AgentStatus>>;
    /// Record an agent's state; answers the project's agent status.
    fn agent_event(&self, req: &AgentEventRequest) -> Result<Answered<AgentStatus>>;
}

/// The daemon when it answers, else in-process: the one fallback rule.
pub struct Auto {
    daemon: Daemon,
    local: InProcess,
}

impl Auto {
    /// `daemon` reports its indexing progress where `local` does, unless it has its own.
    pub fn new(mut daemon: Daemon, local: InProcess) -> Auto {
        if daemon.progress.is_none() {
            daemon.progress = local.progress().cloned();
        }
        Auto { daemon, local }
    }

    /// The in-process side (e.g. to reuse its engine).
    pub fn local(&self) -> &InProcess {
        &self.local
    }

    fn call<T>(
        &self,
        what: &str,
        daemon: impl FnOnce(&Daemon) -> Result<T, ClientError>,
        local: impl FnOnce(&InProcess) -> Result<T>,
    ) -> Result<Answered<T>> {
        let why = match daemon(&self.daemon) {
            Ok(answer) => return Ok(Answered::by(BackendKind::Daemon, answer)),
            Err(e) => match judged(&e) {
                Some(err) => return Err(err.into()),
                None => e,
            },
        };
        if !why.is_not_running() {
            tracing::warn!("{what} through the daemon failed, working in-process: {why}");
        }
        let answer = local(&self.local)?;
        Ok(Answered {
            answer,
            backend: BackendKind::InProcess,
            fallback: Some(why.to_string()),
        })
    }
}

/// A daemon error that is a verdict on the request itself — an error answer whose kind is the
/// caller's to fix (usage, not found, conflict, invalid input, ...): in-process work would judge
/// the same, so it is the answer, with the daemon's kind. `None`: the daemon failed (not running,
/// timeout, protocol mismatch, an I/O or internal error on its side), so in-process work answers.
fn judged(e: &ClientError) -> Option<Error> {
    match e {
        ClientError::Status {
            kind: Some(kind),
            message,
            ..
        } if kind.is_caller_error() => Some(Error::new(*kind, message.clone())),
        _ => None,
    }
}

impl Backend for Auto {
    fn scry(&self, req: &ScryRequest) -> Result<Answered<ScryAnswer>> {
        self.call("scry", |d| d.scry(req), |l| l.scry_now(req))
    }
    fn scry_all(&self, req: &FederatedScryRequest) -> Result<Answered<FederatedAnswer>> {
        self.call("scry --all", |d| d.scry_all(req), |l| l.scry_all_now(req))
    }
    fn session_status(&self, root: &Path) -> Result<Answered<SessionStatus>> {
        self.call(
            "session status",
            |d| d.session_status(root),
            |l| l.session_status_now(root),
        )
    }
    fn index(&self, root: &Path, rebuild: bool) -> Result<Answered<IndexReport>> {
        self.call(
            "index",
            |d| d.index(root, rebuild),
            |l| l.index_now(root, rebuild).map(Ok),
        )?
        .flatten_job()
    }
    fn index_start(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        self.call(
            "index",
            |d| d.index_start(root),
            |l| l.index_start_now(root),
        )
    }
    fn index_status(&self, root: &Path) -> Result<Answered<IndexStatus>> {
        self.call(
            "index status",
            |d| d.index_status(root),
            |l| l.index_status_now(root),
        )
    }
    fn agent_status(&self, root: &Path) -> Result<Answered<AgentStatus>> {
        self.call(
            "agent status",
            |d| d.agent_status(root),
            |l| l.agent_status_now(root),
        )
    }
    fn agent_event(&self, req: &AgentEventRequest) -> Result<Answered<AgentStatus>> {
        self.call(
            "agent event",
            |d| d.agent_event(req),
            |l| l.agent_event_now(req),
        )
    }
}

/// The session engine as a command or the cockpit runs it: the process's clock
/// (`clock::from_env`: the system's, or `PATINA_NOW`) and transcripts redacted of vault secret
/// values by the fingerprints recorded for this user (whatever the daemon holds).
pub fn session_engine() -> Result<crate::session::Engine> {
    Ok(crate::session::Engine::new(
        crate::clock::from_env()?,
        std::sync::Arc::new(crate::transcript::KnownSecrets),
    ))
}

/// The backend for a caller: daemon first with in-process fallback ([`Auto`]), or in-process
/// only when the caller made a choice the daemon cannot take (`in_process_only`).
pub fn pick(in_process_only: bool, local: InProcess) -> Box<dyn Backend> {
    if in_process_only {
        Box::new(local)
    } else {
        Box::new(Auto::new(Daemon::local(), local))
    }
}

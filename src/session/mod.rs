//! Sessions: start, log, goals, update, end, recover (issue "Session engine and CLI").
//!
//! Every CLI operation is a function here (on [`Engine`] when it stamps time or captures
//! transcripts), so the cockpit, the daemon and the CLI run the same code. Every change to the active session is a read-modify-write of
//! `.patina/local/active-session.md` under the exclusive lock `.patina/local/session.lock`,
//! replaced atomically (`store::update_locked`): concurrent writers never lose an entry, and a
//! writer killed mid-way leaves the old or the new file.
//!
//! CONTRACT used by other modules: [`active_id`], [`Engine::log_entry`] (also as
//! `activity::ActivityLog`), [`Engine::status`], [`active`] (the parsed active session),
//! [`SessionDoc`].

mod classify;
mod model;
mod ops;
mod pending;

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::activity::ActivityLog;
use crate::clock::Clock;
use crate::project::Project;
use crate::transcript::SecretRedactor;

pub use model::{
    ActivityEntry, Classification, GitMeta, Goal, HeaderFormat, SessionDoc, one_line, read_doc,
};
pub use ops::{
    CloseKind, CloseReport, GoalReport, ListFilter, ListReport, NoteReport, PreviousSession,
    SessionStatus, SessionSummary, StartReport, UpdateReport, active, commits, goal_add, goal_done,
    goal_set, goal_toggle, list, show,
};

/// `[session]` in `.patina/config.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Hours without activity after which an active session is flagged stale.
    pub stale_hours: f64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { stale_hours: 8.0 }
    }
}

/// The id of the active session (`.patina/local/active-session.md`), if one is active.
pub fn active_id(project: &Project) -> Result<Option<String>> {
    ops::active_id(project)
}

/// The session engine: every operation that stamps time or captures transcripts, with what it
/// needs from outside passed in by the caller instead of read from globals — the [`Clock`]
/// (tests set the time instead of sleeping) and the [`SecretRedactor`] for the transcripts
/// appended at end/recover/abandon. Read-only functions (`show`, `list`, `active`, goals) stay
/// plain functions.
#[derive(Clone)]
pub struct Engine {
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretRedactor>,
}

impl Engine {
    pub fn new(clock: Arc<dyn Clock>, secrets: Arc<dyn SecretRedactor>) -> Engine {
        Engine { clock, secrets }
    }

    pub(crate) fn now(&self) -> DateTime<FixedOffset> {
        self.clock.now()
    }

    pub(crate) fn secrets(&self) -> &dyn SecretRedactor {
        self.secrets.as_ref()
    }

    /// Start a session: refuses (conflict) when one is active; tags HEAD with an annotated
    /// `session-<id>-<llm>-start`; writes the active session with the previous session's context.
    pub fn start(&self, project: &Project, title: &str, llm: Option<&str>) -> Result<StartReport> {
        ops::start(self, project, title, llm)
    }

    /// Append a note `### <date time> - Note [branch@sha]`. Empty notes are refused (usage).
    pub fn note(&self, project: &Project, text: &str) -> Result<NoteReport> {
        ops::note(self, project, text)
    }

    /// Append an activity entry `### <date time> - <heading>` + `body` to the active session,
    /// under the session lock, atomically. The session id, or `None` when none is active.
    pub fn log_entry(
        &self,
        project: &Project,
        heading: &str,
        body: &str,
    ) -> Result<Option<String>> {
        ops::log_entry(self, project, heading, body)
    }

    /// Record git activity since the start as an `Update` entry, with an optional message.
    pub fn update(&self, project: &Project, message: Option<&str>) -> Result<UpdateReport> {
        ops::update(self, project, message)
    }

    /// The active session's state (or `active: false` with the last session): the answer of
    /// `session status --json` and `GET /api/session`.
    pub fn status(&self, project: &Project) -> Result<SessionStatus> {
        ops::status(self, project)
    }

    /// End the active session: end tag on HEAD, classification, beliefs, transcript, archive.
    pub fn end(&self, project: &Project, commit: bool) -> Result<CloseReport> {
        ops::end(self, project, commit)
    }

    /// Close a session left active by a crash: end tag on the last commit made during the
    /// session (or the last one at or before `at`), `status: recovered`.
    pub fn recover(
        &self,
        project: &Project,
        at: Option<DateTime<FixedOffset>>,
        commit: bool,
    ) -> Result<CloseReport> {
        ops::recover(self, project, at, commit)
    }

    /// Close the active session as `abandoned` (tagged and classified like a recovery).
    pub fn abandon(&self, project: &Project, commit: bool) -> Result<CloseReport> {
        ops::abandon(self, project, commit)
    }

    /// Close a session an old crash left `status: active` inside the archive (recover or
    /// abandon it in place; the active session is not touched).
    pub fn close_unterminated(
        &self,
        project: &Project,
        id: &str,
        kind: CloseKind,
        at: Option<DateTime<FixedOffset>>,
        commit: bool,
    ) -> Result<CloseReport> {
        ops::close_unterminated(self, project, id, kind, at, commit)
    }

    /// Rename an active-session file that cannot be parsed aside (kept, 0600), so a new session
    /// can start; refused when the file parses.
    pub fn set_aside_unreadable(&self, project: &Project) -> Result<std::path::PathBuf> {
        ops::set_aside_unreadable(self, project)
    }
}

/// Belief capture and secret releases write into the session through this seam.
impl ActivityLog for Engine {
    fn active_session(&self, project: &Project) -> Result<Option<String>> {
        active_id(project)
    }
    fn record(&self, project: &Project, heading: &str, body: &str) -> Result<Option<String>> {
        self.log_entry(project, heading, body)
    }
}

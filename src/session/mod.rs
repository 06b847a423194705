//! Sessions: start, log, goals, update, end, recover (issue "Session engine and CLI").
//!
//! Every CLI operation is a plain function here, so the cockpit, the daemon and the CLI run the
//! same code. Every change to the active session is a read-modify-write of
//! `.patina/local/active-session.md` under the exclusive lock `.patina/local/session.lock`,
//! replaced atomically (`store::update_locked`): concurrent writers never lose an entry, and a
//! writer killed mid-way leaves the old or the new file.
//!
//! CONTRACT used by other modules (signatures kept): [`active_id`], [`log_entry`], [`status`],
//! [`active`] (the parsed active session), [`SessionDoc`].

mod classify;
mod model;
mod ops;
mod pending;

use anyhow::Result;
use serde::Deserialize;

use crate::project::Project;

pub use model::{
    ActivityEntry, Classification, GitMeta, Goal, HeaderFormat, SessionDoc, one_line, parse_any,
    read_doc,
};
pub use ops::{
    CloseKind, CloseReport, GoalReport, ListFilter, ListReport, NoteReport, PreviousSession,
    SessionStatus, SessionSummary, StartReport, UpdateReport, abandon, active, close_unterminated,
    commits, end, goal_add, goal_done, goal_set, goal_toggle, list, note, recover,
    set_aside_unreadable, show, start, status, update,
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

/// Append an activity entry `### <date time> - <heading>` + `body` to the active session,
/// under the session lock, atomically. Returns the session id, or `None` when no session is active.
pub fn log_entry(project: &Project, heading: &str, body: &str) -> Result<Option<String>> {
    ops::log_entry(project, heading, body)
}

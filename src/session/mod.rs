//! Sessions: start, log, goals, update, end, recover (issue "Session engine and CLI").
//!
//! CONTRACT used by other modules before the engine lands (keep these signatures):
//! - [`active_id`]: the active session's id, if any.
//! - [`log_entry`]: append one activity entry to the active session under the session lock.

use anyhow::Result;

use crate::project::Project;

/// The id of the active session (`.patina/local/active-session.md`), if one is active.
pub fn active_id(_project: &Project) -> Result<Option<String>> {
    Ok(None) // placeholder until the session engine lands
}

/// Append an activity entry `### <date time> - <heading>` + `body` to the active session,
/// under the session lock, atomically. Returns the session id, or `None` when no session is active.
pub fn log_entry(_project: &Project, _heading: &str, _body: &str) -> Result<Option<String>> {
    Ok(None) // placeholder until the session engine lands
}

//! The seam through which domain modules below the session engine (belief, secrets) write into
//! the active session's activity log without importing it: the caller passes an
//! [`ActivityLog`] (the session engine implements it; `session::Engine`), so `session → belief`
//! is the only direction between them and there is no import cycle.

use anyhow::Result;

use crate::project::Project;

/// The active session's log, as seen from below the session engine.
pub trait ActivityLog: Send + Sync {
    /// The id of the project's active session, if one is active.
    fn active_session(&self, project: &Project) -> Result<Option<String>>;
    /// Append an entry (`### <time> - <heading>` + `body`) to the active session; the session id,
    /// or `None` when no session is active (nothing is written then).
    fn record(&self, project: &Project, heading: &str, body: &str) -> Result<Option<String>>;
}

/// No session anywhere: nothing is active, nothing is recorded (callers without a session
/// engine, tests of the module alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSession;

impl ActivityLog for NoSession {
    fn active_session(&self, _: &Project) -> Result<Option<String>> {
        Ok(None)
    }
    fn record(&self, _: &Project, _: &str, _: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

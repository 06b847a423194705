//! `POST /api/agent/event` and `GET /api/agent?project=ROOT` (Unix socket only): the coding
//! agent's state per project. The answer of both is the domain's [`AgentStatus`] (the same JSON as
//! `patina agent status --json`).

use serde::{Deserialize, Serialize};

pub use crate::agent::{AgentState, AgentStatus, State};

pub const EVENT: &str = "/api/agent/event";
pub const STATUS: &str = "/api/agent";

/// `POST /api/agent/event` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEventRequest {
    /// The project root (absolute).
    pub project: String,
    pub agent: String,
    /// `busy`, `waiting` or `idle`.
    pub state: State,
    /// The agent's own event name (`UserPromptSubmit`, ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The agent's own session id (one badge per session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

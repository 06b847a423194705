//! Typed calls for the agent endpoints.

use std::path::Path;

use super::{Client, ClientError};
use crate::proto::agent::{AgentEventRequest, AgentStatus, EVENT, STATUS};

impl Client {
    /// `POST /api/agent/event`: record an agent's state; answers the project's agent status.
    pub fn agent_event(&self, req: &AgentEventRequest) -> Result<AgentStatus, ClientError> {
        self.post(EVENT, req)
    }

    /// `GET /api/agent?project=ROOT`.
    pub fn agent_status(&self, root: &Path) -> Result<AgentStatus, ClientError> {
        let root = root.to_string_lossy();
        self.get(STATUS, &[("project", &root)])
    }
}

//! Agent state endpoints: `POST /api/agent/event`, `GET /api/agent?project=ROOT` — the same
//! `agent::record` / `agent::status` the CLI uses in-process.

use super::router::{Access, ApiError, Router, ok};
use crate::agent;
use crate::proto::agent as wire;

pub(super) fn routes(r: &mut Router) {
    r.post(wire::EVENT, Access::LocalOnly, |cx| async move {
        let req: wire::AgentEventRequest = cx.json()?;
        if req.agent.trim().is_empty() {
            return Err(ApiError::bad_request("agent is required"));
        }
        let project = cx.project_at(&req.project)?;
        let ev = agent::Event {
            agent: req.agent,
            state: Some(req.state),
            event: req.event,
            session_id: req.session_id,
        };
        let rec = cx.blocking(move || agent::record(&project, &ev)).await?;
        ok(&rec.status)
    });
    r.get(wire::STATUS, Access::LocalOnly, |cx| async move {
        let project = cx.project()?;
        let st = cx.blocking(move || agent::status(&project)).await?;
        ok(&st)
    });
}

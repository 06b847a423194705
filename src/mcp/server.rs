//! The rmcp glue: one `#[tool]` per operation of [`Ops`]. Each call runs the blocking domain work
//! on tokio's blocking pool and answers with the result as JSON text, or — when the domain says
//! no — a tool error carrying the CLI's own message (`isError: true`), so the agent sees what a
//! person at the terminal would.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;

use super::ops::{CaptureArgs, ContextArgs, NoteArgs, Ops, ScryArgs, ShowArgs};

const INSTRUCTIONS: &str = "patina keeps this project's knowledge: layer docs, beliefs \
(decisions and lessons), archived sessions, commit messages and source. Use `scry` before \
reading code to find where something lives and why it is so; `context` before starting on a \
topic; `session_note` at milestones (what changed, what you learned); `belief_capture` when a \
decision or lesson should outlive this conversation; `belief_show` to read one.";

#[derive(Clone)]
pub struct PatinaServer {
    ops: Arc<Ops>,
    tool_router: ToolRouter<Self>,
}

impl PatinaServer {
    pub fn new(ops: Ops) -> PatinaServer {
        PatinaServer {
            ops: Arc::new(ops),
            tool_router: Self::tool_router(),
        }
    }

    /// Run `f` on the blocking pool; `Ok` becomes the JSON answer, `Err` a tool error with the
    /// message the CLI prints (`{:#}`: the whole context chain on one line).
    async fn call<T, F>(&self, name: &'static str, f: F) -> Result<CallToolResult, ErrorData>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Ops) -> anyhow::Result<T> + Send + 'static,
    {
        let ops = self.ops.clone();
        let res = tokio::task::spawn_blocking(move || f(&ops))
            .await
            .map_err(|e| ErrorData::internal_error(format!("{name} failed: {e}"), None))?;
        match res {
            Ok(v) => {
                let text = serde_json::to_string_pretty(&v)
                    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
            }
            Err(e) => {
                let message = format!("{e:#}");
                tracing::info!(tool = name, error = %message, "mcp tool refused");
                Ok(CallToolResult::error(vec![ContentBlock::text(message)]))
            }
        }
    }
}

#[tool_router]
impl PatinaServer {
    #[tool(
        description = "Search this project's knowledge (layer docs, beliefs, sessions, commit \
messages, source) semantically and lexically. Use it before reading code. Answers path:line, \
title, snippet and kind per hit."
    )]
    async fn scry(&self, Parameters(a): Parameters<ScryArgs>) -> Result<CallToolResult, ErrorData> {
        self.call("scry", move |o| o.scry(a)).await
    }

    #[tool(
        description = "Everything patina knows that bears on a topic: the beliefs, layer docs \
and past sessions most related to it, plus the active session. Bounded in size; call it before \
starting on a subject."
    )]
    async fn context(
        &self,
        Parameters(a): Parameters<ContextArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call("context", move |o| o.context(a)).await
    }

    #[tool(
        description = "The active patina session: id, title, goals, activity count, git activity \
since it started (or `active: false` and the last session)."
    )]
    async fn session_status(&self) -> Result<CallToolResult, ErrorData> {
        self.call("session_status", |o| o.session_status()).await
    }

    #[tool(
        description = "Append a note to the active session's activity log (at milestones: what \
changed, what you found). Fails when no session is active."
    )]
    async fn session_note(
        &self,
        Parameters(a): Parameters<NoteArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call("session_note", move |o| o.session_note(a)).await
    }

    #[tool(
        description = "Capture a belief (a decision, principle or lesson) with the same checks \
as `patina belief new`: a valid unused id, a one-line statement, links that resolve. Linked to \
the active session."
    )]
    async fn belief_capture(
        &self,
        Parameters(a): Parameters<CaptureArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call("belief_capture", move |o| o.belief_capture(a))
            .await
    }

    #[tool(description = "Read one belief: statement, evidence, links, revision log.")]
    async fn belief_show(
        &self,
        Parameters(a): Parameters<ShowArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call("belief_show", move |o| o.belief_show(a)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PatinaServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("patina", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

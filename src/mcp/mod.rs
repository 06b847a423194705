//! `patina mcp`: a Model Context Protocol server on stdio (the official Rust SDK, `rmcp`), so a
//! coding agent can use patina's knowledge as tools: `scry`, `context`, `session_status`,
//! `session_note`, `belief_capture`, `belief_show`.
//!
//! stdout is the protocol: nothing else may write to it (logs go to the log file, see
//! `logging.rs`). The tools call the same domain functions as the CLI through one seam
//! (`ops.rs`), and a refusal comes back as a tool error with the CLI's message.

mod ops;
mod server;

use std::path::Path;

use anyhow::{Context as _, Result};
use rmcp::ServiceExt as _;

pub use ops::{CONTEXT_MAX_BYTES, Ops};

/// Serve MCP on stdin/stdout until the client closes the stream. `cwd` is where the agent
/// started the server (its project).
pub fn serve(cwd: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the MCP runtime")?;
    let res = rt.block_on(async {
        tracing::info!(cwd = %cwd.display(), "mcp server starting");
        let server = server::PatinaServer::new(Ops::new(cwd.to_path_buf()));
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .context("MCP handshake failed")?;
        let reason = running.waiting().await;
        tracing::info!(?reason, "mcp server stopped");
        Ok(())
    });
    // A read on stdin may still be parked on the blocking pool; do not wait for it.
    rt.shutdown_background();
    res
}

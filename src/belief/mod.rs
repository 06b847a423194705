//! Beliefs: capture, list, check, link, revise (issue "Beliefs and the layer").
//!
//! CONTRACT used by the session engine before the belief engine lands (keep this signature):
//! - [`captured_since`]: beliefs created or changed since the session's starting commit
//!   (committed since then, or uncommitted now), each with its one-line statement.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::project::Project;

/// A belief created or changed during a session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CapturedBelief {
    pub id: String,
    pub statement: String,
    pub path: PathBuf,
}

/// Beliefs created or changed since `starting_commit` (committed or uncommitted), sorted by id.
pub fn captured_since(
    _project: &Project,
    _starting_commit: Option<&str>,
) -> Result<Vec<CapturedBelief>> {
    Ok(vec![]) // placeholder until the belief engine lands
}

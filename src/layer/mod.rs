//! The layer: enumerate the project's knowledge documents (issue "Beliefs and the layer").
//!
//! CONTRACT used by scry and the cockpit before the layer module lands (keep these signatures).

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::project::Project;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// `layer/core/*.md`
    Core,
    /// `layer/surface/**.md` other than beliefs
    Surface,
    /// `layer/surface/epistemic/beliefs/*.md`
    Belief,
    /// an archived session in the sessions dir
    Session,
}

/// One document of the layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerDoc {
    pub kind: DocKind,
    pub id: String,
    pub title: String,
    pub path: PathBuf,
}

/// Every document of layer/core, layer/surface (beliefs included) and the sessions archive.
pub fn documents(_project: &Project) -> Result<Vec<LayerDoc>> {
    Ok(vec![]) // placeholder until the layer module lands
}

/// Known link targets (belief ids, `session-<id>`, layer doc ids) starting with `prefix`, best first.
pub fn complete_link(_project: &Project, _prefix: &str, _limit: usize) -> Result<Vec<String>> {
    Ok(vec![]) // placeholder until the layer module lands
}

//! The layer: the project's knowledge documents and the ids `[[links]]` point at.
//!
//! Documents: `layer/core/**.md` (kind `core`), `layer/surface/**.md` (kind `surface`, except
//! `layer/surface/epistemic/beliefs/*.md`, kind `belief`), the sessions archive
//! (`Project::sessions_dir()`, kind `session`) and every other `.md` or `.toml` file under
//! `layer/` (`layer/slate/…`, work items; kind `layer`). Hidden files and directories are skipped.
//!
//! Ids: a document's frontmatter `id` (else its file stem); for a session that is the bare
//! session id (`20260204-074557`). A `[[link]]` names a session as `session-<id>`
//! ([`LayerDoc::link_id`]); everything else by its id. Titles: frontmatter `title`, else the first `# heading`, else the id; a
//! belief's title is its one-line statement; a session's is the one `session list` shows. All of
//! it is read by the document layer (`doc::header`).
//!
//! Link resolution (used by `belief check`, documented in docs/ARCHITECTURE.md): a target
//! resolves when it is a known id (belief, layer doc, `session-<id>` of the archive or the active
//! session; a bare session id too, after beliefs and documents), else a session link that is a
//! unique prefix of one session's id ending at a `-` (`session-20260709-091408` → the file
//! `20260709-091408-460632000.md`; two candidates are reported as ambiguous, never guessed),
//! else a path to an existing file relative to the project root or `layer/` (with or without
//! `.md`). Commit references (`commit-<hex>`, or a bare 7–40 digit hex sha) and URLs are
//! external and never dangle.
//!
//! CONTRACT (keep these signatures): [`documents`], [`complete_link`].

mod docs;
mod targets;

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::project::Project;

pub(crate) use targets::{LinkTargets, Resolution};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    /// any other file under `layer/` (`layer/slate/**.md`, TOML work items, ...)
    Layer,
}

/// One document of the layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerDoc {
    pub kind: DocKind,
    pub id: String,
    pub title: String,
    pub path: PathBuf,
}

impl LayerDoc {
    /// What a `[[link]]` to this document says: `session-<id>` for sessions, else the id.
    pub fn link_id(&self) -> String {
        match self.kind {
            DocKind::Session => format!("session-{}", self.id),
            _ => self.id.clone(),
        }
    }
}

/// Every document of layer/core, layer/surface (beliefs included) and the sessions archive,
/// in that order, each group sorted by path.
pub fn documents(project: &Project) -> Result<Vec<LayerDoc>> {
    docs::documents(project)
}

/// Every layer document's kind and path, in [`documents`]' order, without reading them (for
/// callers that read the files themselves; [`describe`] gives each one's id and title).
pub fn document_files(project: &Project) -> Result<Vec<(DocKind, std::path::PathBuf)>> {
    docs::document_files(project)
}

/// The id and title of the document `text` read from `path`, as [`documents`] lists them.
pub fn describe(kind: DocKind, path: &std::path::Path, text: &str) -> LayerDoc {
    docs::describe(kind, path, text)
}

/// Known link targets (belief ids, `session-<id>`, layer doc ids) matching `prefix`, best first:
/// ids that start with it (case-insensitive) before ids that merely contain it; then shorter ids
/// first; then beliefs, core, surface, sessions; sessions newest first, others alphabetically.
/// An empty prefix lists everything in that order. At most `limit` ids.
pub fn complete_link(project: &Project, prefix: &str, limit: usize) -> Result<Vec<String>> {
    let docs = docs::documents(project)?;
    Ok(targets::complete(&docs, prefix, limit))
}

/// The belief files (`layer/surface/epistemic/beliefs/*.md`), sorted.
pub(crate) fn list_belief_files(project: &Project) -> Result<Vec<PathBuf>> {
    let mut v = docs::list_dir_md(&project.beliefs_dir())?;
    v.sort();
    Ok(v)
}

//! Beliefs: the decisions and lessons a team keeps, in patina 0.11's format (DESIGN §5).
//!
//! Interface (used by the CLI, the cockpit, scry and the session engine):
//! - [`list`], [`load`]: read beliefs (lenient; values are judged by [`check`]).
//! - [`create`]: a new belief with the same validation as `patina belief new` (optionally
//!   through an editor hook), linking the active session and logging it there.
//! - [`link`], [`revise`]: edit beliefs; both files of a link stay consistent.
//! - [`check`]: dangling links, duplicated evidence, missing sections, invalid frontmatter,
//!   id ≠ file name, duplicate ids — each at path:line.
//! - [`captured_since`]: beliefs created or changed since a session's starting commit.
//!
//! Files are kept verbatim: unknown frontmatter keys (legacy `confidence:`) and sections
//! survive every edit, and parse → render gives the same bytes.

mod captured;
mod check;
mod format;
mod model;
mod write;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::activity::ActivityLog;
use crate::error::Error;
use crate::project::Project;

pub use check::{CheckReport, Finding, FindingKind};
pub use format::Item;
pub use model::Belief;

/// Allowed `entrenchment:` values.
pub const ENTRENCHMENTS: &[&str] = check::ENTRENCHMENTS;
/// Allowed `status:` values.
pub const STATUSES: &[&str] = check::STATUSES;

/// A hook run on a freshly written belief file before it is re-validated (e.g. `$EDITOR`).
pub type EditHook<'a> = &'a mut dyn FnMut(&Path) -> Result<()>;

/// A belief created or changed during a session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CapturedBelief {
    pub id: String,
    pub statement: String,
    pub path: PathBuf,
}

/// Beliefs whose files were added or changed since `starting_commit` (committed since then,
/// staged, modified or untracked now), each with its one-line statement, sorted by id.
/// `None` compares with the empty tree (every belief counts). Not a git repo → empty.
/// Beliefs captured *by this session* (created or revised in it; see `captured.rs` for the rule).
pub fn captured_in_session(
    project: &Project,
    session: &captured::SessionRef,
) -> Result<Vec<CapturedBelief>> {
    captured::captured_in_session(project, session)
}

pub use captured::SessionRef;

pub fn captured_since(
    project: &Project,
    starting_commit: Option<&str>,
) -> Result<Vec<CapturedBelief>> {
    captured::captured_since(project, starting_commit)
}

/// What a new belief says. `Default` gives persona `architect`, entrenchment `medium`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBelief {
    pub id: String,
    pub statement: String,
    pub evidence: Vec<String>,
    pub supports: Vec<String>,
    pub attacks: Vec<String>,
    /// As typed: `create` trims each and drops blanks before checking them.
    pub facets: Vec<String>,
    pub entrenchment: String,
    pub persona: String,
    /// Accept `supports`/`attacks` targets that do not exist; they are recorded in the
    /// frontmatter `hypothetical:` list so `check` does not report them.
    pub hypothetical: bool,
}

impl Default for NewBelief {
    fn default() -> Self {
        NewBelief {
            id: String::new(),
            statement: String::new(),
            evidence: vec![],
            supports: vec![],
            attacks: vec![],
            facets: vec![],
            entrenchment: "medium".into(),
            persona: "architect".into(),
            hypothetical: false,
        }
    }
}

/// The result of [`create`].
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub belief: Belief,
    /// The active session the belief was linked to (and logged in), if any.
    pub session: Option<String>,
    /// Beliefs that received a back-reference (Evidence or Attacked-By).
    pub back_references: Vec<String>,
}

/// How one belief relates to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Supports,
    Attacks,
}

/// The result of [`link`].
#[derive(Debug, Clone, Serialize)]
pub struct LinkOutcome {
    pub from: String,
    pub relation: Relation,
    pub to: String,
    /// Files that changed (empty when the link already existed on both sides).
    pub changed: Vec<PathBuf>,
}

/// A belief file that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct LoadError {
    pub path: PathBuf,
    pub error: String,
}

/// Every belief of the project, plus the files that failed to parse.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Beliefs {
    pub beliefs: Vec<Belief>,
    pub errors: Vec<LoadError>,
}

/// Load every belief (sorted by id); unreadable files are reported in `errors`, not fatal.
pub fn list(project: &Project) -> Result<Beliefs> {
    let mut out = Beliefs::default();
    for path in crate::layer::list_belief_files(project)? {
        match model::read_doc(&path) {
            Ok(doc) => out.beliefs.push(Belief::from_doc(&doc, &path)),
            Err(e) => out.errors.push(LoadError {
                path,
                error: format!("{e:#}"),
            }),
        }
    }
    out.beliefs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Load belief `id` (`<id>.md`, else the file declaring that id). Not found → exit 4.
pub fn load(project: &Project, id: &str) -> Result<Belief> {
    match write::find_path(project, id)? {
        Some(p) => load_path(&p),
        None => Err(Error::not_found(format!(
            "no belief `{id}` in {}",
            project.beliefs_dir().display()
        ))
        .into()),
    }
}

/// Load the belief file at `path`; errors name the file, line and field.
pub fn load_path(path: &Path) -> Result<Belief> {
    let doc = model::read_doc(path)?;
    Ok(Belief::from_doc(&doc, path))
}

/// Create a belief (see [`NewBelief`]). With `edit`, the hook runs on the written file (e.g.
/// `$EDITOR`); the result is re-validated and removed again when invalid. Errors: invalid
/// fields → usage (2); existing id → conflict (3); unknown link target → not found (4).
/// Nothing is left written on error. With a session active in `log` (the session engine, passed
/// by the caller), the evidence links it and the capture is logged in it.
pub fn create(
    project: &Project,
    new: &NewBelief,
    edit: Option<EditHook<'_>>,
    log: &dyn ActivityLog,
) -> Result<Created> {
    write::create(project, new, edit, log)
}

/// `from supports|attacks to`: adds `[[to]]` under from's `## Supports`/`## Attacks` and, when
/// `to` is a belief, the back-reference in `to` (supports → an Evidence line
/// `[[from]]: supporting belief`; attacks → `[[from]]` under `## Attacked-By`). Idempotent.
/// With `hypothetical`, a `to` that exists nowhere is accepted and added to from's
/// frontmatter `hypothetical:` list; otherwise it is "not found" (exit 4).
pub fn link(
    project: &Project,
    from: &str,
    relation: Relation,
    to: &str,
    hypothetical: bool,
) -> Result<LinkOutcome> {
    write::link(project, from, relation, to, hypothetical)
}

/// Append `- <date>: <note>` to the Revision Log and set `revised:`; optionally change
/// `status` / `entrenchment` (recorded in the note).
pub fn revise(
    project: &Project,
    id: &str,
    note: &str,
    status: Option<&str>,
    entrenchment: Option<&str>,
) -> Result<Belief> {
    write::revise(project, id, note, status, entrenchment)
}

/// Check every belief file (see the module docs).
pub fn check(project: &Project) -> Result<CheckReport> {
    check::check(project)
}

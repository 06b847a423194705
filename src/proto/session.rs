//! `GET /api/session?project=ROOT`: the active session summary — the same document
//! `patina session status --json` prints (docs/json.md). The session engine builds it
//! (`session::status`); the daemon serves it and the client decodes this very type.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The answer of `session status` and `GET /api/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub active: bool,
    pub id: Option<String>,
    pub title: Option<String>,
    pub llm: Option<String>,
    /// The file's own `status:` (`active` for patina's sessions; old files may say anything).
    pub status: Option<String>,
    pub created: Option<String>,
    pub path: Option<PathBuf>,
    pub branch: Option<String>,
    pub starting_commit: Option<String>,
    pub start_tag: Option<String>,
    pub last_activity: Option<String>,
    pub idle_seconds: Option<i64>,
    pub stale: bool,
    pub stale_hours: f64,
    pub goals: Vec<Goal>,
    pub goals_done: usize,
    pub entries: usize,
    pub git: Option<GitActivity>,
    /// The last ended session, for "no session active" screens.
    pub last_session: Option<PreviousSession>,
}

/// One goal checkbox; `index` is 1-based in file order (what `goal done <n>` takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    pub index: usize,
    pub text: String,
    pub done: bool,
    /// Nesting depth (0 = top level).
    pub depth: usize,
}

/// One changed file: `status` is `A M D R C T`, or `?` for untracked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub status: char,
    pub path: String,
    /// The old path of a rename or copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

/// What happened in the session's range of history, plus the work tree (docs/json.md
/// `RangeActivity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitActivity {
    pub commits: usize,
    pub files: Vec<FileChange>,
    pub insertions: usize,
    pub deletions: usize,
    pub uncommitted: Vec<FileChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit_time: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// The last ended session, as summarised in "Previous Session Context".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSession {
    pub id: String,
    pub title: String,
    pub path: PathBuf,
    pub status: String,
    pub work_type: Option<String>,
    pub open_goals: Vec<String>,
    pub beliefs: Vec<String>,
}

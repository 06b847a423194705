//! What the cockpit shows, in its own terms. Background jobs translate domain answers into these
//! (`jobs.rs`), so the state and the render code never depend on how a domain module shapes its
//! types, and tests build them by hand.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};

/// Where the cockpit was started.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectState {
    Loading,
    /// A patina project.
    Ready {
        root: PathBuf,
        name: String,
    },
    /// A git repository without `.patina/`: the cockpit offers `init`.
    NotInitialized {
        root: PathBuf,
    },
    /// Neither: the cockpit says what is needed.
    NoGit {
        cwd: PathBuf,
    },
}

/// A feature's data: loading, there, or not available (with the reason shown in its pane).
#[derive(Debug, Clone, PartialEq)]
pub enum Feed<T> {
    Loading,
    Ready(T),
    Unavailable(String),
}

impl<T> Feed<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Feed::Ready(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// 1-based position in the file (what the session engine's goal operations take).
    pub index: usize,
    pub text: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    /// As written in the heading ("2026-11-29 14:40").
    pub time: String,
    pub heading: String,
    pub body: String,
}

/// The active session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub id: String,
    pub title: String,
    pub branch: String,
    pub llm: String,
    pub started: Option<DateTime<FixedOffset>>,
    pub starting_commit: Option<String>,
    pub goals: Vec<Goal>,
    pub activity: Vec<ActivityEntry>,
    /// The newest activity heading's time (or `created`).
    pub last_activity: Option<DateTime<FixedOffset>>,
    /// Too long without activity: the cockpit offers recovery.
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommitRow {
    pub sha: String,
    pub short: String,
    pub subject: String,
    pub time: DateTime<FixedOffset>,
    pub files: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BeliefRow {
    pub id: String,
    pub statement: String,
    pub entrenchment: String,
    /// Captured during the active session.
    pub this_session: bool,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScryHitView {
    /// The project (or remote source) a hit of an all-projects search comes from.
    pub source: Option<String>,
    /// That project's root, to open the hit from (None: the cockpit's project).
    pub root: Option<std::path::PathBuf>,
    pub kind: String,
    pub title: String,
    pub path: String,
    pub line: usize,
    /// Last line of the region (0: unknown).
    pub line_end: usize,
    pub snippet: String,
    pub score: f64,
}

/// What the agents' logs say about the active session (`transcript::summary`).
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptView {
    pub prompt_count: usize,
    /// The agent's last action: (time, agent, text).
    pub last_action: Option<(DateTime<FixedOffset>, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScryView {
    pub query: String,
    /// Which backend answered (`daemon` / `in-process`), when known.
    pub backend: Option<String>,
    pub mode: String,
    pub took_ms: u64,
    pub hits: Vec<ScryHitView>,
    /// Per-source problems ("semantic: no model").
    pub notes: Vec<String>,
    /// How much of the corpus is embedded (embedded, total), when the engine says.
    pub coverage: Option<(usize, usize)>,
}

/// A past (or the active) session, for the History pane.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub title: String,
    pub status: String,
    pub work_type: Option<String>,
    pub path: PathBuf,
}

/// A commit's patch, for the diff viewer.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffView {
    pub sha: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DaemonState {
    Unknown,
    Starting,
    Up { version: String, protocol: String },
    Down(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    Unknown,
    Ready,
    /// Lexical search only, and why.
    Lexical(String),
    /// Being installed; the latest progress line.
    Installing(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum IndexState {
    Idle,
    Building {
        phase: String,
        done: usize,
        total: usize,
    },
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct VaultView {
    pub vault_id: String,
    pub locked: bool,
    /// When the cached values expire (sliding TTL); counts down on the tick.
    pub expires_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AgentState {
    Unknown,
    Busy,
    Waiting,
    Idle,
}

/// A secret release waiting for a y/n in the cockpit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRequest {
    pub id: String,
    pub names: Vec<String>,
    pub pid: u32,
    pub command: String,
    /// The requester's working directory, when the daemon reports it.
    pub cwd: Option<String>,
    /// The project root the request is for, when the daemon reports it.
    pub project: Option<String>,
    /// Seconds left before the daemon refuses it for lack of an answer (at the poll).
    pub expires_in_secs: u64,
}

/// The belief capture form as submitted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BeliefDraft {
    pub id: String,
    pub statement: String,
    pub evidence: Vec<String>,
    pub supports: Vec<String>,
    pub attacks: Vec<String>,
    pub facets: Vec<String>,
    pub entrenchment: String,
}

//! The cockpit's message types.
//!
//! - [`Action`]: everything `App::update` consumes — terminal events, the 1 Hz tick, and
//!   [`Msg`]s that background jobs send back.
//! - [`Effect`]: what `App::update` asks the runtime to do (domain calls, the editor, quitting).
//!   The state machine never performs I/O itself, so it is tested by feeding actions and
//!   asserting state and effects.
//! - [`Op`]: a mutation. Ops run one at a time, in the order they were asked for, on one worker,
//!   and answer `Msg::Done` with their id.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use crossterm::event::KeyEvent;

use super::model::*;

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    FocusGained,
    FocusLost,
    Mouse(crossterm::event::MouseEvent),
    /// The 1 Hz clock, with the current time.
    Tick(DateTime<FixedOffset>),
    Msg(Msg),
}

/// Answers from background jobs.
#[derive(Debug, Clone)]
pub enum Msg {
    Project(ProjectState),
    /// The active session (`None`: no session is active).
    Session(Feed<Option<SessionView>>),
    Commits(Feed<Vec<CommitRow>>),
    Beliefs(Feed<Vec<BeliefRow>>),
    /// Archived sessions, newest first.
    History(Feed<Vec<SessionRow>>),
    Scry {
        seq: u64,
        result: Result<ScryView, String>,
    },
    Daemon(DaemonState),
    Model(ModelState),
    Index(IndexState),
    Secrets(Feed<Vec<VaultView>>),
    Agent(AgentState),
    /// Prompt count and last agent action of the active session (None: no session/logs).
    Transcript(Option<TranscriptView>),
    Pending(Vec<ReleaseRequest>),
    /// Releases made without asking (policy `first` after the first answer): shown as toasts.
    Released(Vec<String>),
    /// The end-of-session classification preview (text lines).
    EndPreview(Result<Vec<String>, String>),
    /// Link completions for the belief form's supports/attacks fields.
    Completions {
        prefix: String,
        items: Vec<String>,
    },
    /// A commit's patch.
    Diff {
        sha: String,
        result: Result<Vec<String>, String>,
    },
    /// Lines of a file region, for the scry preview.
    Preview {
        path: PathBuf,
        line: usize,
        result: Result<Vec<String>, String>,
    },
    /// An archived session's text, for the viewer.
    SessionText {
        path: PathBuf,
        result: Result<Vec<String>, String>,
    },
    /// An [`Op`] finished.
    Done {
        id: u64,
        what: String,
        result: Result<String, String>,
    },
    /// A background problem worth a line in the message log.
    Notice(String),
}

/// Mutations (one worker, in order).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    InitProject,
    StartSession {
        title: String,
        llm: Option<String>,
    },
    Note(String),
    AddGoal(String),
    ToggleGoal(usize),
    UpdateSession,
    EndSession {
        commit: bool,
    },
    Recover,
    /// Rename an unreadable active-session file aside so a session can start.
    SetAsideSession,
    CreateBelief(BeliefDraft),
    LockSecrets,
    AnswerRelease {
        id: String,
        allow: bool,
    },
}

impl Op {
    /// What the op is, for messages ("note: …").
    pub fn what(&self) -> &'static str {
        match self {
            Op::InitProject => "init",
            Op::StartSession { .. } => "start",
            Op::Note(_) => "note",
            Op::AddGoal(_) | Op::ToggleGoal(_) => "goal",
            Op::UpdateSession => "update",
            Op::EndSession { .. } => "end",
            Op::Recover => "recover",
            Op::SetAsideSession => "set aside",
            Op::CreateBelief(_) => "belief",
            Op::LockSecrets => "lock",
            Op::AnswerRelease { .. } => "release",
        }
    }
}

/// Work for the runtime. Domain calls run off the UI task and answer with a [`Msg`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Re-read everything now (after a mutation, or on focus gain).
    Refresh,
    Op {
        id: u64,
        op: Op,
    },
    PreviewEnd,
    CompleteLink(String),
    Scry {
        seq: u64,
        query: String,
        /// All registered projects instead of this one.
        all: bool,
    },
    Diff(String),
    Preview {
        path: PathBuf,
        line: usize,
        line_end: usize,
    },
    ReadSession(PathBuf),
    OpenEditor {
        path: PathBuf,
        line: usize,
    },
    /// Remember the cockpit's own state (theme, query history) in `PATINA_HOME/tui-state.json`.
    SaveState(UiState),
    SetMouse(bool),
    Suspend,
}

/// What the cockpit remembers between runs.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct UiState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(default)]
    pub scry_history: Vec<String>,
}

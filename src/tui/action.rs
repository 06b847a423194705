//! The cockpit's three message types.
//!
//! - [`Action`]: everything `App::update` consumes — terminal events, the 1 Hz tick, and
//!   [`Msg`]s that background jobs send back.
//! - [`Effect`]: what `App::update` asks the runtime to do (domain calls, the editor, quitting).
//!   The state machine never performs I/O itself, so it is tested by feeding actions and
//!   asserting state and effects.

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
    /// The end-of-session classification preview (text lines).
    EndPreview(Result<Vec<String>, String>),
    /// Link completions for the belief form's supports/attacks fields.
    Completions {
        prefix: String,
        items: Vec<String>,
    },
    /// A mutating operation finished: a toast, and the popup closes on success.
    Done {
        what: String,
        result: Result<String, String>,
    },
}

/// Work for the runtime. Domain calls run off the UI task and answer with a [`Msg`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Re-read everything now (after a mutation, or on focus gain).
    Refresh,
    InitProject,
    StartSession {
        title: String,
        llm: Option<String>,
    },
    Note(String),
    AddGoal(String),
    ToggleGoal(usize),
    UpdateSession,
    PreviewEnd,
    EndSession,
    Recover,
    CreateBelief(BeliefDraft),
    CompleteLink(String),
    Scry {
        seq: u64,
        query: String,
        /// All registered projects instead of this one.
        all: bool,
    },
    OpenEditor {
        path: PathBuf,
        line: usize,
    },
    LockSecrets,
    AnswerRelease {
        id: String,
        allow: bool,
    },
    SetMouse(bool),
    Suspend,
}

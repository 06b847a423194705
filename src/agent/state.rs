//! Agent state per project: what each coding agent is doing (busy, waiting for the person, idle),
//! kept in `.patina/local/agent-state.json` (git-ignored), written under a lock.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, FixedOffset, Local};
use serde::{Deserialize, Serialize};

use crate::project::Project;
use crate::store;

/// What an agent is doing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Nothing to do: finished its turn, or never started.
    Idle,
    /// Working on a prompt.
    Busy,
    /// Blocked on the person: a permission prompt or a question.
    Waiting,
}

impl State {
    /// `busy`, `waiting` or `idle` (any case).
    pub fn parse(s: &str) -> Option<State> {
        match s.trim().to_ascii_lowercase().as_str() {
            "busy" => Some(State::Busy),
            "waiting" => Some(State::Waiting),
            "idle" => Some(State::Idle),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Busy => "busy",
            State::Waiting => "waiting",
        }
    }
}

/// A `busy` older than this without any new event counts as idle: agents do not always report
/// the end of a turn (Claude Code's Stop hook does not fire on a user interrupt).
pub const BUSY_STALE_MINUTES: i64 = 30;

/// One agent's last known state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentState {
    pub agent: String,
    pub state: State,
    /// When it entered this state.
    pub since: DateTime<FixedOffset>,
    /// The last event received.
    pub updated: DateTime<FixedOffset>,
    /// The agent's own event name, when it said (`UserPromptSubmit`, `Stop`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// True when a `busy` aged past [`BUSY_STALE_MINUTES`] and is reported as idle.
    #[serde(default)]
    pub stale: bool,
}

/// The project's agents, for `GET /api/agent` and `patina agent status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentStatus {
    pub project: PathBuf,
    /// The overall state: waiting if any agent waits, else busy if any works, else idle.
    pub state: State,
    /// The agent that decides `state` (null when none ever reported).
    pub agent: Option<String>,
    pub since: Option<DateTime<FixedOffset>>,
    pub agents: Vec<AgentState>,
}

/// One event from an agent's hook.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub agent: String,
    pub state: Option<State>,
    pub event: Option<String>,
    pub session_id: Option<String>,
}

/// What recording an event changed.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// The agent's previous state (null when it never reported).
    pub previous: Option<State>,
    pub changed: bool,
    pub status: AgentStatus,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    #[serde(default)]
    agents: BTreeMap<String, AgentState>,
}

fn path(project: &Project) -> PathBuf {
    project.local_dir().join("agent-state.json")
}

fn lock_path(project: &Project) -> PathBuf {
    project.local_dir().join("agent-state.lock")
}

/// Longest agent name, event name and session id kept (a hook's payload is input).
pub const MAX_FIELD_CHARS: usize = 128;
/// Most agents remembered per project; the least recently updated one goes first.
pub const MAX_AGENTS: usize = 32;

/// Refuse fields that no agent sends: too long, or with control characters (a state file of
/// 40 names of 500 KB each was 42 MB).
fn check_fields(ev: &Event) -> Result<()> {
    let fields = [
        ("agent", Some(ev.agent.as_str())),
        ("event", ev.event.as_deref()),
        ("session_id", ev.session_id.as_deref()),
    ];
    for (what, v) in fields {
        let Some(v) = v else { continue };
        if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
            anyhow::bail!(
                "agent event: {what} must be at most {MAX_FIELD_CHARS} characters without control characters"
            );
        }
    }
    Ok(())
}

/// Record `ev` for the project; `ev.state` must be set.
pub fn record(project: &Project, ev: &Event) -> Result<Recorded> {
    let Some(state) = ev.state else {
        anyhow::bail!("an agent event needs a state (busy, waiting, idle)");
    };
    check_fields(ev)?;
    let now = Local::now().fixed_offset();
    let file = path(project);
    let (previous, changed, all) =
        store::update_locked(&file, &lock_path(project), 0o600, |current| {
            // A damaged state file is replaced: it only ever holds the latest events.
            let mut sf: StateFile = current
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            let prev = sf.agents.get(&ev.agent).cloned();
            let prev_state = prev.as_ref().map(|p| effective(p, now).state);
            let changed = prev_state != Some(state);
            let since = match &prev {
                Some(p) if !changed => p.since,
                _ => now,
            };
            sf.agents.insert(
                ev.agent.clone(),
                AgentState {
                    agent: ev.agent.clone(),
                    state,
                    since,
                    updated: now,
                    event: ev.event.clone(),
                    session_id: ev.session_id.clone(),
                    stale: false,
                },
            );
            while sf.agents.len() > MAX_AGENTS {
                let oldest = sf
                    .agents
                    .values()
                    .min_by_key(|a| a.updated)
                    .map(|a| a.agent.clone());
                match oldest {
                    Some(k) => sf.agents.remove(&k),
                    None => break,
                };
            }
            let text = serde_json::to_string_pretty(&sf)? + "\n";
            Ok((Some(text), (prev_state, changed, sf)))
        })
        .with_context(|| format!("recording agent state in {}", file.display()))?;
    Ok(Recorded {
        previous,
        changed,
        status: summarise(project, all, now),
    })
}

/// The project's agent states now.
pub fn status(project: &Project) -> Result<AgentStatus> {
    let file = path(project);
    let sf: StateFile = match std::fs::read_to_string(&file) {
        Ok(t) => serde_json::from_str(&t).unwrap_or_default(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    Ok(summarise(project, sf, Local::now().fixed_offset()))
}

fn effective(a: &AgentState, now: DateTime<FixedOffset>) -> AgentState {
    let mut a = a.clone();
    if a.state == State::Busy && (now - a.updated).num_minutes() >= BUSY_STALE_MINUTES {
        a.state = State::Idle;
        a.stale = true;
    }
    a
}

fn summarise(project: &Project, sf: StateFile, now: DateTime<FixedOffset>) -> AgentStatus {
    let agents: Vec<AgentState> = sf.agents.values().map(|a| effective(a, now)).collect();
    // The most pressing state wins; among equals, the most recent event.
    let lead = agents
        .iter()
        .max_by(|a, b| a.state.cmp(&b.state).then(a.updated.cmp(&b.updated)));
    AgentStatus {
        project: project.root().to_path_buf(),
        state: lead.map(|a| a.state).unwrap_or(State::Idle),
        agent: lead.map(|a| a.agent.clone()),
        since: lead.map(|a| a.since),
        agents,
    }
}

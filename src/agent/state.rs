//! Agent state per project: what each coding-agent *session* is doing (busy, waiting for the
//! person, idle), kept in `.patina/local/agent-state.json` (git-ignored, 0600), written under a
//! lock. Keyed by the agent's own session id (its hooks receive it), so two windows of one agent
//! are two badges.
//!
//! Agents do not always report the end of a turn (Claude Code's Stop hook does not fire when the
//! person interrupts with Esc), so `busy` and `waiting` expire after a configurable time without
//! events (`[agent] busy_expiry_minutes`, `waiting_expiry_minutes` in the user config). Every
//! value from a hook is bounded (lengths, number of sessions): the file is written by whatever
//! runs `patina agent event`, and must never grow without limit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Duration, FixedOffset, Local};
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

/// Default minutes without an event after which `busy` / `waiting` count as idle.
pub const BUSY_STALE_MINUTES: i64 = 30;
pub const WAITING_STALE_MINUTES: i64 = 60;
/// Most sessions kept per project (the least recently updated goes first).
pub const MAX_SESSIONS: usize = 32;
/// Longest agent name, session id and event name kept (characters).
pub const MAX_AGENT_CHARS: usize = 32;
pub const MAX_SESSION_CHARS: usize = 128;
pub const MAX_EVENT_CHARS: usize = 64;
/// A state file larger than this is damage, not state: it is replaced.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Idle sessions without news for this long are dropped.
const FORGET_IDLE_HOURS: i64 = 24;

/// The agents' own events that mean the session (window) is gone.
const SESSION_END_EVENTS: &[&str] = &["SessionEnd", "session.deleted"];

/// When `busy` and `waiting` expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub busy: Duration,
    pub waiting: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            busy: Duration::minutes(BUSY_STALE_MINUTES),
            waiting: Duration::minutes(WAITING_STALE_MINUTES),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpirySettings {
    busy_expiry_minutes: Option<u32>,
    waiting_expiry_minutes: Option<u32>,
}

impl Expiry {
    /// `[agent]` in `$XDG_CONFIG_HOME/patina/config.toml` (a bad value is an error naming it).
    pub fn from_user_config() -> Result<Expiry> {
        let s: ExpirySettings = crate::user_config::UserConfig::load()?.section("agent")?;
        let d = Expiry::default();
        let minutes = |v: Option<u32>, name: &str, default: Duration| -> Result<Duration> {
            match v {
                None => Ok(default),
                Some(0) => anyhow::bail!("[agent] {name} must be at least 1 (minutes)"),
                Some(m) => Ok(Duration::minutes(m.into())),
            }
        };
        Ok(Expiry {
            busy: minutes(s.busy_expiry_minutes, "busy_expiry_minutes", d.busy)?,
            waiting: minutes(
                s.waiting_expiry_minutes,
                "waiting_expiry_minutes",
                d.waiting,
            )?,
        })
    }
}

/// One agent session's last known state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentState {
    pub agent: String,
    /// The agent's own session id (empty when its hook did not say).
    #[serde(default)]
    pub session_id: String,
    pub state: State,
    /// When it entered this state.
    pub since: DateTime<FixedOffset>,
    /// The last event received.
    pub updated: DateTime<FixedOffset>,
    /// The agent's own event name, when it said (`UserPromptSubmit`, `Stop`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// True when a `busy` or `waiting` expired without news and is reported as idle.
    #[serde(default)]
    pub stale: bool,
}

/// The project's agent sessions, for `GET /api/agent`, `patina agent status` and the cockpit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentStatus {
    pub project: PathBuf,
    /// The overall state: waiting if any session waits, else busy if any works, else idle.
    pub state: State,
    /// The agent that decides `state` (null when none ever reported).
    pub agent: Option<String>,
    pub since: Option<DateTime<FixedOffset>>,
    /// Sessions waiting for the person (what the cockpit shows as "waiting for you").
    #[serde(default)]
    pub waiting: usize,
    /// One entry per agent session, most pressing first.
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
    /// The session's previous state (null when it never reported).
    pub previous: Option<State>,
    pub changed: bool,
    pub status: AgentStatus,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    /// Key: `<agent>/<session id>`.
    #[serde(default)]
    sessions: BTreeMap<String, AgentState>,
}

fn path(project: &Project) -> PathBuf {
    project.local_dir().join("agent-state.json")
}

fn lock_path(project: &Project) -> PathBuf {
    project.local_dir().join("agent-state.lock")
}

/// Keep printable, path- and terminal-safe characters only, at most `max` of them: a hook's
/// values end up in a file and on the cockpit's screen.
fn bounded(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .take(max)
        .collect()
}

fn parse_file(text: Option<&str>) -> StateFile {
    // A damaged or oversized state file is replaced: it only ever holds the latest events.
    text.filter(|t| t.len() as u64 <= MAX_FILE_BYTES)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// Record `ev` for the project now; `ev.state` must be set.
pub fn record(project: &Project, ev: &Event) -> Result<Recorded> {
    let expiry = Expiry::from_user_config().unwrap_or_else(|e| {
        tracing::warn!("agent state: {e:#}; using the default expiry");
        Expiry::default()
    });
    record_at(project, ev, Local::now().fixed_offset(), expiry)
}

/// [`record`] at a given instant (tests pass their own clock).
pub fn record_at(
    project: &Project,
    ev: &Event,
    now: DateTime<FixedOffset>,
    expiry: Expiry,
) -> Result<Recorded> {
    let Some(state) = ev.state else {
        anyhow::bail!("an agent event needs a state (busy, waiting, idle)");
    };
    let agent = match bounded(&ev.agent, MAX_AGENT_CHARS) {
        a if a.is_empty() => "unknown".to_string(),
        a => a,
    };
    let session_id = bounded(ev.session_id.as_deref().unwrap_or(""), MAX_SESSION_CHARS);
    let event = ev
        .event
        .as_deref()
        .map(|e| bounded(e, MAX_EVENT_CHARS))
        .filter(|e| !e.is_empty());
    let ends = event
        .as_deref()
        .is_some_and(|e| SESSION_END_EVENTS.contains(&e));
    let key = format!("{agent}/{session_id}");
    let file = path(project);
    if let Ok(meta) = std::fs::metadata(&file)
        && meta.len() > MAX_FILE_BYTES
    {
        // Never read a file this size into memory: it is damage, start over.
        tracing::warn!("{}: {} bytes, replaced", file.display(), meta.len());
        let _ = std::fs::remove_file(&file);
    }
    let (previous, changed, all) =
        store::update_locked(&file, &lock_path(project), 0o600, |current| {
            let mut sf = parse_file(current.as_deref());
            let prev = sf.sessions.get(&key).cloned();
            let prev_state = prev.as_ref().map(|p| effective(p, now, expiry).state);
            if ends {
                sf.sessions.remove(&key);
            } else {
                let changed = prev_state != Some(state);
                let since = match &prev {
                    Some(p) if !changed => p.since,
                    _ => now,
                };
                sf.sessions.insert(
                    key.clone(),
                    AgentState {
                        agent: agent.clone(),
                        session_id: session_id.clone(),
                        state,
                        since,
                        updated: now,
                        event: event.clone(),
                        stale: false,
                    },
                );
            }
            prune(&mut sf, now);
            let changed = ends || prev_state != Some(state);
            let text = serde_json::to_string_pretty(&sf)? + "\n";
            Ok((Some(text), (prev_state, changed, sf)))
        })
        .with_context(|| format!("recording agent state in {}", file.display()))?;
    Ok(Recorded {
        previous,
        changed,
        status: summarise(project, all, now, expiry),
    })
}

/// Forget idle sessions nobody heard from in a day, and keep at most [`MAX_SESSIONS`].
fn prune(sf: &mut StateFile, now: DateTime<FixedOffset>) {
    sf.sessions.retain(|_, s| {
        s.state != State::Idle || now - s.updated < Duration::hours(FORGET_IDLE_HOURS)
    });
    while sf.sessions.len() > MAX_SESSIONS {
        let oldest = sf
            .sessions
            .iter()
            .min_by_key(|(_, s)| s.updated)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => sf.sessions.remove(&k),
            None => break,
        };
    }
}

/// The project's agent states now.
pub fn status(project: &Project) -> Result<AgentStatus> {
    let expiry = Expiry::from_user_config()?;
    status_at(project, Local::now().fixed_offset(), expiry)
}

/// [`status`] at a given instant (tests pass their own clock).
pub fn status_at(
    project: &Project,
    now: DateTime<FixedOffset>,
    expiry: Expiry,
) -> Result<AgentStatus> {
    let file = path(project);
    let text = match std::fs::metadata(&file) {
        Ok(m) if m.len() > MAX_FILE_BYTES => None,
        Ok(_) => Some(
            std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    Ok(summarise(project, parse_file(text.as_deref()), now, expiry))
}

fn effective(a: &AgentState, now: DateTime<FixedOffset>, expiry: Expiry) -> AgentState {
    let mut a = a.clone();
    let limit = match a.state {
        State::Busy => Some(expiry.busy),
        State::Waiting => Some(expiry.waiting),
        State::Idle => None,
    };
    if limit.is_some_and(|l| now - a.updated >= l) {
        a.state = State::Idle;
        a.stale = true;
    }
    a
}

fn summarise(
    project: &Project,
    sf: StateFile,
    now: DateTime<FixedOffset>,
    expiry: Expiry,
) -> AgentStatus {
    let mut agents: Vec<AgentState> = sf
        .sessions
        .values()
        .map(|a| effective(a, now, expiry))
        .collect();
    // Most pressing first; among equals, the most recent event.
    agents.sort_by(|a, b| b.state.cmp(&a.state).then(b.updated.cmp(&a.updated)));
    let lead = agents.first();
    AgentStatus {
        project: project.root().to_path_buf(),
        state: lead.map(|a| a.state).unwrap_or(State::Idle),
        agent: lead.map(|a| a.agent.clone()),
        since: lead.map(|a| a.since),
        waiting: agents.iter().filter(|a| a.state == State::Waiting).count(),
        agents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_safe_characters_only() {
        assert_eq!(bounded("8f0c-1234_a.b:c", 64), "8f0c-1234_a.b:c");
        assert_eq!(bounded("a\u{1b}[2Jb/../c d", 64), "a2Jb..cd");
        assert_eq!(bounded(&"x".repeat(500_000), 128).len(), 128);
    }
}

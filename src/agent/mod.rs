//! The coding agent as a first-class user: its state (busy / waiting / idle, reported by its
//! hooks), the adapters that install its command files and hooks, and the context bundle it
//! reads at the start of a conversation.
//!
//! Interface:
//! - [`record`] / [`status`]: agent state per project and agent session
//!   (`.patina/local/agent-state.json`); the daemon's `POST /api/agent/event` and
//!   `GET /api/agent` call the same functions. `record_at` / `status_at` take the clock.
//! - [`parse_hook_input`]: what an agent's hook said on stdin (or in a trailing JSON argument).
//! - [`install`] / [`uninstall`] / [`adapter_status`]: an agent's adapter in a project (commands,
//!   MCP registration, instruction block, hooks); uninstall restores the files as they were.
//! - [`context`]: the start-of-conversation bundle.

mod adapter;
mod context;
mod state;

use serde_json::Value;

pub use adapter::{
    AGENTS, AdapterStatus, FileAction, FileStatus, InstallOptions, InstallReport, install,
    status as adapter_status, uninstall,
};
pub use context::{
    AgentContext, BeliefBrief, ScryBrief, SessionBrief, gather as context,
    markdown as context_markdown,
};
pub use state::{
    AgentState, AgentStatus, BUSY_STALE_MINUTES, Event, Expiry, MAX_SESSIONS, Recorded, State,
    WAITING_STALE_MINUTES, record, record_at, status, status_at,
};

/// What a hook's JSON said, leniently: every field is optional, unknown fields are ignored
/// (Claude Code, Codex and Gemini CLI add fields every release).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookInput {
    pub cwd: Option<String>,
    pub event: Option<String>,
    pub session_id: Option<String>,
    pub notification_type: Option<String>,
}

/// Parse a hook's payload (stdin, or Codex `notify`'s JSON argument). Anything that is not a
/// JSON object gives an empty [`HookInput`].
pub fn parse_hook_input(text: &str) -> HookInput {
    let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text.trim()) else {
        return HookInput::default();
    };
    let s = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    HookInput {
        cwd: s(&["cwd"]),
        event: s(&["hook_event_name", "type"]),
        session_id: s(&["session_id", "thread-id", "thread_id"]),
        notification_type: s(&["notification_type"]),
    }
}

/// The state an event really means, or `None` to ignore it. Notification hooks fire for several
/// things: Claude's `idle_prompt` means idle; a permission prompt or question
/// (`permission_prompt`, `elicitation_dialog`, Gemini's `ToolPermission`) means waiting; any other
/// notification type (e.g. `auth_success`) says nothing about the agent's state.
pub fn refine_state(requested: State, input: &HookInput) -> Option<State> {
    match input.notification_type.as_deref() {
        None => Some(requested),
        Some("idle_prompt") => Some(State::Idle),
        Some("permission_prompt" | "elicitation_dialog" | "ToolPermission") => Some(requested),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_input_is_lenient() {
        let h = parse_hook_input(
            r#"{"session_id":"s1","cwd":"/x","hook_event_name":"Notification","notification_type":"idle_prompt","new_field":[1]}"#,
        );
        assert_eq!(h.cwd.as_deref(), Some("/x"));
        assert_eq!(h.event.as_deref(), Some("Notification"));
        assert_eq!(refine_state(State::Waiting, &h), Some(State::Idle));
        let auth = parse_hook_input(r#"{"notification_type":"auth_success"}"#);
        assert_eq!(refine_state(State::Waiting, &auth), None);
        // Codex notify: kebab-case keys in one JSON argument.
        let c = parse_hook_input(r#"{"type":"agent-turn-complete","thread-id":"t","cwd":"/y"}"#);
        assert_eq!(c.session_id.as_deref(), Some("t"));
        assert_eq!(parse_hook_input("not json"), HookInput::default());
        assert_eq!(parse_hook_input("[1,2]"), HookInput::default());
        assert_eq!(parse_hook_input(""), HookInput::default());
    }
}

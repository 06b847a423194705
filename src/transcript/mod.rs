//! Agent transcripts: the user's prompts and the agent's activity (issue "Agent transcripts").
//!
//! CONTRACT used by the session engine before the transcript readers land (keep this signature).

use anyhow::Result;
use chrono::{DateTime, FixedOffset};

use crate::project::Project;

/// The time window of a session: start .. end (or now when `end` is None).
#[derive(Debug, Clone)]
pub struct SessionWindow {
    pub start: DateTime<FixedOffset>,
    pub end: Option<DateTime<FixedOffset>>,
}

/// The markdown sections `## User Prompts (N)` and `## Agent Activity` for this session window,
/// read from `llm`'s local logs; `None` when capture is off or nothing was found.
pub fn session_sections(
    _project: &Project,
    _llm: &str,
    _window: &SessionWindow,
) -> Result<Option<String>> {
    Ok(None) // placeholder until the transcript readers land
}

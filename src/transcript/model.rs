//! What a reader hands back: prompts and activity found in one agent's logs, already limited to
//! the project and the session window. Texts are raw here; redaction and shortening happen once,
//! in `render`, for every agent alike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// Where and when to look.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// The canonical project root; entries at the root or below it belong to the project.
    pub root: PathBuf,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Scope {
    pub fn contains_time(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && t <= self.end
    }
}

/// One prompt the person typed.
#[derive(Debug, Clone)]
pub(crate) struct RawPrompt {
    pub time: DateTime<Utc>,
    pub agent: &'static str,
    /// As recorded; multi-line pastes are still inside (folded later by `render`), except where
    /// the agent already replaced them by a placeholder (Claude's history: `[pasted N lines]`).
    pub text: String,
}

/// One error the agent hit.
#[derive(Debug, Clone)]
pub(crate) struct RawError {
    pub time: DateTime<Utc>,
    pub text: String,
}

/// Token counts, when the log records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    /// Input served from the provider's prompt cache (counted apart from `input`).
    pub cache_read: u64,
}

impl Tokens {
    pub fn add(&mut self, o: Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
    }
}

/// What the agent did.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawActivity {
    pub tool_calls: BTreeMap<String, usize>,
    /// Paths as the agent named them (absolute, or relative to its cwd — resolved by the reader).
    pub files_edited: BTreeSet<PathBuf>,
    pub errors: Vec<RawError>,
    pub tokens: Option<Tokens>,
    /// The latest tool call or reply: (time, description).
    pub last_action: Option<(DateTime<Utc>, String)>,
}

impl RawActivity {
    pub fn tool(&mut self, name: &str) {
        *self.tool_calls.entry(name.to_string()).or_default() += 1;
    }

    pub fn add_tokens(&mut self, t: Tokens) {
        self.tokens.get_or_insert_with(Tokens::default).add(t);
    }

    pub fn action(&mut self, time: DateTime<Utc>, text: String) {
        if self.last_action.as_ref().is_none_or(|(t, _)| time >= *t) {
            self.last_action = Some((time, text));
        }
    }

    pub fn merge(&mut self, o: RawActivity) {
        for (k, v) in o.tool_calls {
            *self.tool_calls.entry(k).or_default() += v;
        }
        self.files_edited.extend(o.files_edited);
        self.errors.extend(o.errors);
        if let Some(t) = o.tokens {
            self.add_tokens(t);
        }
        if let Some((t, a)) = o.last_action {
            self.action(t, a);
        }
    }
}

/// Everything one reader found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub prompts: Vec<RawPrompt>,
    pub activity: RawActivity,
    /// Lines that were not valid JSON (skipped, never fatal).
    pub malformed: usize,
    /// Files read (for the report).
    pub files: Vec<PathBuf>,
    /// Things deliberately not read, and why.
    pub notes: Vec<String>,
}

/// Join `p` to `base` unless it is absolute.
pub(crate) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

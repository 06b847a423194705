//! Agent transcripts: the user's prompts and the agent's activity, read from the coding agents'
//! own local logs (read-only) for one project and one session window (docs/transcripts.md).
//!
//! Interface:
//! - [`session_sections`] — the `## User Prompts (N)` and `## Agent Activity` markdown that
//!   `session end`, `session recover` and `session update --prompts` write (CONTRACT: keep the
//!   signature).
//! - [`capture`] — the same as data (`session transcript --json`).
//! - [`summary`] — prompt count and the agent's last action, for the cockpit.
//! - Vault secret values are redacted by their keyed fingerprints (`secrets::Fingerprints`),
//!   whatever the daemon holds: every reading function takes a [`SecretRedactor`] from its caller
//!   (commands and the cockpit pass [`KnownSecrets`], the fingerprints recorded for this user); a
//!   fingerprint file that cannot be read fails the capture rather than let a value through.
//!
//! One reader per agent (`claude`, `codex`, `gemini`, `opencode`), each a function
//! `read(location, &Scope) -> Found`; everything after reading (redaction, folding pastes,
//! truncation, the git cross-check, markdown) is shared.

mod claude;
mod codex;
mod gemini;
mod model;
mod opencode;
mod redact;
mod render;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, FixedOffset, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};

use crate::project::Project;
use crate::secrets::Fingerprints;

pub use model::Tokens;

/// The time window of a session: start .. end (or now when `end` is None).
#[derive(Debug, Clone)]
pub struct SessionWindow {
    pub start: DateTime<FixedOffset>,
    pub end: Option<DateTime<FixedOffset>>,
}

/// The agents patina knows, in the order they are read.
pub const AGENTS: &[&str] = &[claude::AGENT, codex::AGENT, gemini::AGENT, opencode::AGENT];

/// Default length of one prompt line, in characters.
pub const DEFAULT_PROMPT_CHARS: usize = 200;

/// What would be captured for a session window.
#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    /// False when `transcripts = false` in `.patina/config.toml` (nothing else is filled).
    pub enabled: bool,
    pub window: WindowJson,
    pub prompt_chars: usize,
    pub prompts: Vec<Prompt>,
    pub activity: Activity,
    /// Redactions by kind (`github-token`, `secret`, ...), over prompts and activity.
    pub redacted: BTreeMap<String, usize>,
    pub redacted_total: usize,
    /// Log lines that were not valid JSON: skipped, never fatal.
    pub malformed_lines: usize,
    pub sources: Vec<Source>,
    /// What was deliberately not read, and why.
    pub notes: Vec<String>,
    /// The markdown sections, or null when nothing was found.
    pub markdown: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowJson {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// One prompt, redacted, on one line, cut to `prompt_chars`.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    pub n: usize,
    pub time: DateTime<FixedOffset>,
    pub agent: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Activity {
    pub tool_calls: BTreeMap<String, usize>,
    pub tool_calls_total: usize,
    pub files_edited: Vec<EditedFile>,
    pub errors: Vec<AgentError>,
    pub tokens: Option<Tokens>,
    pub last_action: Option<LastAction>,
}

/// A file the agent wrote; `in_git` says whether git shows it changed since the session began
/// (null when git could not tell, e.g. outside the work tree).
#[derive(Debug, Clone, Serialize)]
pub struct EditedFile {
    pub path: String,
    pub in_git: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentError {
    pub time: DateTime<FixedOffset>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastAction {
    pub time: DateTime<FixedOffset>,
    pub agent: String,
    pub text: String,
}

/// One agent's contribution: where it was looked for and how many of its logs had something.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub agent: String,
    pub location: PathBuf,
    pub files: usize,
    pub prompts: usize,
}

/// For the cockpit's Session pane.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub prompt_count: usize,
    pub last_action: Option<LastAction>,
}

/// The markdown sections `## User Prompts (N)` and `## Agent Activity` for this session window,
/// read from the agents' local logs; `None` when capture is off or nothing was found.
/// `llm` is the session's agent: it is read first, but every known agent's logs are read (one
/// session can involve several agents).
pub fn session_sections(
    project: &Project,
    llm: &str,
    window: &SessionWindow,
    secrets: &dyn SecretRedactor,
) -> Result<Option<String>> {
    Ok(capture(project, llm, window, secrets)?.markdown)
}

/// Prompt count and last action for the window (cheap enough for a cockpit refresh).
pub fn summary(
    project: &Project,
    llm: &str,
    window: &SessionWindow,
    secrets: &dyn SecretRedactor,
) -> Result<Summary> {
    let c = capture(project, llm, window, secrets)?;
    Ok(Summary {
        prompt_count: c.prompts.len(),
        last_action: c.activity.last_action,
    })
}

/// Where the values of the user's vault secrets are recognised from: their keyed fingerprints,
/// recorded at `secrets add`/`unlock`, so redaction needs no plaintext and no daemon (after lock,
/// expiry or `serve stop` a pasted value is still found). The caller passes one in.
pub trait SecretRedactor: Send + Sync {
    /// The fingerprints to check texts against; `Ok(None)` when none are recorded. An error (a
    /// fingerprint file that cannot be read) must fail the capture: nothing is written unredacted.
    fn fingerprints(&self) -> Result<Option<Fingerprints>>;
}

/// No vault values to look for: only the pattern-based redaction applies (tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretRedactor for NoSecrets {
    fn fingerprints(&self) -> Result<Option<Fingerprints>> {
        Ok(None)
    }
}

/// The fingerprints recorded for this user under `PATINA_HOME`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownSecrets;

impl SecretRedactor for KnownSecrets {
    fn fingerprints(&self) -> Result<Option<Fingerprints>> {
        Fingerprints::load()
    }
}

/// Project settings: `transcripts = false`, or a `[transcripts]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSettings {
    enabled: Option<bool>,
    prompt_chars: Option<usize>,
    agents: Option<Vec<String>>,
}

/// User settings `[transcripts]` in `$XDG_CONFIG_HOME/patina/config.toml`: where the agents keep
/// their logs (when not in the default place) and the prompt length.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSettings {
    prompt_chars: Option<usize>,
    agents: Option<Vec<String>>,
    claude_dir: Option<PathBuf>,
    codex_dir: Option<PathBuf>,
    gemini_dir: Option<PathBuf>,
    opencode_dir: Option<PathBuf>,
}

struct Settings {
    enabled: bool,
    prompt_chars: usize,
    agents: Vec<String>,
    user: UserSettings,
}

fn settings(project: &Project) -> Result<Settings> {
    let proj: ProjectSettings = match project.config().top_level("transcripts") {
        None => ProjectSettings::default(),
        Some(toml::Value::Boolean(b)) => ProjectSettings {
            enabled: Some(*b),
            ..Default::default()
        },
        Some(toml::Value::Table(_)) => project
            .config()
            .decode_top_level("transcripts")?
            .unwrap_or_default(),
        Some(v) => {
            return Err(project
                .config()
                .invalid(
                    "transcripts",
                    format!(
                        "must be true, false or a table (enabled, prompt_chars, agents) (value: {v})"
                    ),
                )
                .into());
        }
    };
    let user: UserSettings = crate::user_config::UserConfig::load()?.section("transcripts")?;
    let prompt_chars = proj
        .prompt_chars
        .or(user.prompt_chars)
        .unwrap_or(DEFAULT_PROMPT_CHARS)
        .max(8);
    let agents = proj
        .agents
        .clone()
        .or(user.agents.clone())
        .unwrap_or_else(|| AGENTS.iter().map(|a| a.to_string()).collect());
    for a in &agents {
        if !AGENTS.contains(&a.as_str()) {
            anyhow::bail!(
                "transcripts: unknown agent {a:?} in `agents` (known: {})",
                AGENTS.join(", ")
            );
        }
    }
    Ok(Settings {
        enabled: proj.enabled.unwrap_or(true),
        prompt_chars,
        agents,
        user,
    })
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where `agent` keeps its logs: patina's user config, else the agent's own env override, else
/// its default under `$HOME`.
fn location(agent: &str, user: &UserSettings) -> PathBuf {
    let home = crate::paths::home_dir();
    match agent {
        "claude" => user
            .claude_dir
            .clone()
            .or_else(|| env_dir("CLAUDE_CONFIG_DIR"))
            .unwrap_or_else(|| home.join(".claude")),
        "codex" => user
            .codex_dir
            .clone()
            .or_else(|| env_dir("CODEX_HOME"))
            .unwrap_or_else(|| home.join(".codex")),
        "gemini" => user
            .gemini_dir
            .clone()
            .or_else(|| env_dir("GEMINI_CLI_HOME").map(|h| h.join(".gemini")))
            .unwrap_or_else(|| home.join(".gemini")),
        _ => user
            .opencode_dir
            .clone()
            .or_else(|| env_dir("XDG_DATA_HOME").map(|d| d.join("opencode")))
            .unwrap_or_else(|| home.join(".local").join("share").join("opencode")),
    }
}

/// Read every configured agent's logs for this project and window, and prepare what would be
/// written: redacted, folded, cut, cross-checked with git.
pub fn capture(
    project: &Project,
    llm: &str,
    window: &SessionWindow,
    secrets: &dyn SecretRedactor,
) -> Result<Capture> {
    let offset = *window.start.offset();
    let now = Utc::now().with_timezone(&offset);
    let end = window.end.unwrap_or(now);
    let settings = settings(project)?;
    let mut cap = Capture {
        enabled: settings.enabled,
        window: WindowJson {
            start: window.start,
            // Shown to the second; the selection below uses the exact instant.
            end: end.trunc_subsecs(0),
        },
        prompt_chars: settings.prompt_chars,
        prompts: vec![],
        activity: Activity::default(),
        redacted: BTreeMap::new(),
        redacted_total: 0,
        malformed_lines: 0,
        sources: vec![],
        notes: vec![],
        markdown: None,
    };
    if !settings.enabled {
        return Ok(cap);
    }
    let scope = model::Scope {
        root: project.root().to_path_buf(),
        start: window.start.with_timezone(&Utc),
        end: end.with_timezone(&Utc),
    };
    // The session's own agent first, then the others in their usual order.
    let mut order: Vec<&str> = settings.agents.iter().map(String::as_str).collect();
    order.sort_by_key(|a| (*a != llm, AGENTS.iter().position(|k| k == a)));

    let mut prompts = Vec::new();
    let mut activity = model::RawActivity::default();
    let mut last_agent: Option<(DateTime<Utc>, &str)> = None;
    for agent in order {
        let loc = location(agent, &settings.user);
        let found = match agent {
            "claude" => claude::read(&loc, &scope),
            "codex" => codex::read(&loc, &scope),
            "gemini" => gemini::read(&loc, &scope),
            _ => opencode::read(&loc, &scope),
        };
        tracing::debug!(
            agent,
            files = found.files.len(),
            prompts = found.prompts.len(),
            malformed = found.malformed,
            "transcript read"
        );
        cap.sources.push(Source {
            agent: agent.to_string(),
            location: loc,
            files: found.files.len(),
            prompts: found.prompts.len(),
        });
        cap.malformed_lines += found.malformed;
        cap.notes.extend(found.notes);
        if let Some((t, _)) = &found.activity.last_action
            && last_agent.is_none_or(|(lt, _)| *t >= lt)
        {
            last_agent = Some((*t, agent));
        }
        prompts.extend(found.prompts);
        activity.merge(found.activity);
    }
    prompts.sort_by_key(|p| p.time);

    // Secret values are redacted first, on the raw texts (before anything is cut, so no prefix of
    // a value can survive a truncation), by their fingerprints: no daemon, no plaintext needed.
    let mut redactor = redact::Redactor::new(secrets.fingerprints()?);
    cap.prompts = prompts
        .into_iter()
        .enumerate()
        .map(|(i, p)| Prompt {
            n: i + 1,
            time: p.time.with_timezone(&offset),
            agent: p.agent.to_string(),
            text: render::prompt_line(&redactor.redact(&p.text), settings.prompt_chars),
        })
        .collect();
    // The cross-check's base: the active session's starting commit when this is its window
    // (exact even when commits share a second with the start), else the last commit before it.
    let base = active_session(project).ok().flatten().and_then(|a| {
        let same = (a.window.start - window.start).num_seconds().abs() <= 1;
        a.starting_commit.filter(|_| same)
    });
    cap.activity = finish_activity(
        project.root(),
        &scope,
        base.as_deref(),
        activity,
        last_agent,
        &mut redactor,
        offset,
    );
    cap.redacted_total = redactor.total();
    cap.redacted = redactor.counts;
    cap.markdown = render::markdown(&cap);
    Ok(cap)
}

fn finish_activity(
    root: &Path,
    scope: &model::Scope,
    base: Option<&str>,
    raw: model::RawActivity,
    last_agent: Option<(DateTime<Utc>, &str)>,
    redactor: &mut redact::Redactor,
    offset: FixedOffset,
) -> Activity {
    let changed = crate::git::paths_changed_since(root, base, scope.start.timestamp());
    let root_prefix = format!("{}/", root.display());
    let files_edited = raw
        .files_edited
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root).ok().map(Path::to_path_buf);
            let in_git = match (&rel, &changed) {
                (Some(r), Some(set)) => Some(set.contains(r)),
                _ => None,
            };
            let full = redactor.redact(&p.to_string_lossy());
            let prefix = format!("{}/", root.display());
            EditedFile {
                path: full.strip_prefix(&prefix).map(String::from).unwrap_or(full),
                in_git,
            }
        })
        .collect();
    Activity {
        tool_calls_total: raw.tool_calls.values().sum(),
        tool_calls: raw.tool_calls,
        files_edited,
        errors: raw
            .errors
            .iter()
            .map(|e| AgentError {
                time: e.time.with_timezone(&offset),
                text: redactor.redact(&e.text),
            })
            .collect(),
        tokens: raw.tokens,
        last_action: raw.last_action.map(|(t, text)| LastAction {
            time: t.with_timezone(&offset),
            agent: last_agent.map(|(_, a)| a.to_string()).unwrap_or_default(),
            text: redactor.redact(&text).replace(&root_prefix, ""),
        }),
    }
}

/// What `session update --prompts` did.
#[derive(Debug, Clone, Serialize)]
pub struct Refreshed {
    pub id: String,
    pub prompts: usize,
    /// False when nothing was found (the sections are then removed, not written empty).
    pub written: bool,
    pub redacted_total: usize,
    pub malformed_lines: usize,
}

/// Write the current `## User Prompts (N)` / `## Agent Activity` into the active session file,
/// replacing earlier copies (under the session lock, atomically). `None` when no session is
/// active; with capture off nothing is touched.
pub fn refresh_active(
    project: &Project,
    secrets: &dyn SecretRedactor,
) -> Result<Option<Refreshed>> {
    let Some(active) = active_session(project)? else {
        return Ok(None);
    };
    let cap = capture(project, &active.llm, &active.window, secrets)?;
    let mut out = Refreshed {
        id: active.id,
        prompts: cap.prompts.len(),
        written: false,
        redacted_total: cap.redacted_total,
        malformed_lines: cap.malformed_lines,
    };
    if !cap.enabled {
        return Ok(Some(out));
    }
    let path = project.active_session_path();
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644)
    };
    let md = cap.markdown.clone();
    let ended = crate::store::update_locked(&path, &project.session_lock_path(), mode, |cur| {
        // The session may have ended between the read above and the lock.
        let Some(text) = cur else {
            return Ok((None, true));
        };
        let next = render::replace_sections(&text, md.as_deref());
        Ok(((next != text).then_some(next), false))
    })?;
    if ended {
        return Ok(None);
    }
    out.written = md.is_some();
    Ok(Some(out))
}

/// `text` (a session file) with any earlier `## User Prompts (…)` / `## Agent Activity` sections
/// removed and `sections` appended: for writers that must not duplicate them (end, recover).
pub fn replace_sections(text: &str, sections: Option<&str>) -> String {
    render::replace_sections(text, sections)
}

/// Session file body lines without `## User Prompts (…)` / `## Agent Activity` sections (for the
/// session engine, before it appends fresh ones at end / recover).
pub fn strip_sections(body: &[String]) -> Vec<String> {
    render::replace_sections(&body.join("\n"), None)
        .lines()
        .map(String::from)
        .collect()
}

/// The active session as far as transcripts care: its id, agent and window (start .. now).
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub id: String,
    pub llm: String,
    pub window: SessionWindow,
    /// `git.starting_commit`, the base of the "changed in git" cross-check.
    pub starting_commit: Option<String>,
}

/// Read the active session's frontmatter (`id`, `llm`, `created` / `start_timestamp`) from
/// `.patina/local/active-session.md`; `None` when no session is active.
pub fn active_session(project: &Project) -> Result<Option<ActiveSession>> {
    let path = project.active_session_path();
    let text = match crate::store::read_text_torn(&path) {
        Ok((t, _)) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", path.display())));
        }
    };
    let fm = crate::doc::session::frontmatter(&path, &crate::doc::Document::parse(&text))?;
    let created = fm
        .created
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok());
    let from_ms = fm
        .start_timestamp
        .and_then(chrono::DateTime::from_timestamp_millis);
    let start = match (created, from_ms) {
        // The millisecond stamp is the more precise instant; `created` carries the offset.
        (Some(c), Some(ms)) => ms.with_timezone(c.offset()),
        (Some(c), None) => c,
        (None, Some(ms)) => ms.fixed_offset(),
        (None, None) => anyhow::bail!(
            "{}: frontmatter has neither `created` nor `start_timestamp`",
            path.display()
        ),
    };
    Ok(Some(ActiveSession {
        id: fm.id,
        llm: fm
            .llm
            .unwrap_or_else(|| project.config().llm().unwrap_or("claude").to_string()),
        window: SessionWindow { start, end: None },
        starting_commit: fm.git.starting_commit,
    }))
}

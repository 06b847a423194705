//! The cockpit's only door to the domain: blocking calls into session, belief, git, scry,
//! secrets and the daemon client, translated into the cockpit's own view types. Everything here
//! runs on background threads, never on the UI task.
//!
//! A domain that is not in this build answers `Feed::Unavailable` / `Err` with a sentence the
//! cockpit shows as is, so a missing piece is named rather than silently empty.

use anyhow::{Result, anyhow};

use super::model::*;
use crate::project::Project;

const NO_SESSION_ENGINE: &str = "the session engine is not in this build yet";

/// The active session, parsed.
pub fn load_session(_p: &Project) -> Feed<Option<SessionView>> {
    Feed::Unavailable(NO_SESSION_ENGINE.into())
}

/// Commits of the session range, newest first.
pub fn load_commits(_p: &Project, session: Option<&SessionView>) -> Feed<Vec<CommitRow>> {
    if session.is_none() {
        return Feed::Ready(vec![]);
    }
    Feed::Unavailable(NO_SESSION_ENGINE.into())
}

/// This session's beliefs first, then the others, most recently revised or extracted first.
pub fn load_beliefs(p: &Project, session: Option<&SessionView>) -> Feed<Vec<BeliefRow>> {
    let all = match crate::belief::list(p) {
        Ok(b) => b,
        Err(e) => return Feed::Unavailable(format!("{e:#}")),
    };
    let mine: Vec<String> = match session {
        Some(s) => crate::belief::captured_since(p, s.starting_commit.as_deref())
            .map(|c| c.into_iter().map(|b| b.id).collect())
            .unwrap_or_default(),
        None => vec![],
    };
    let mut rows: Vec<(String, BeliefRow)> = all
        .beliefs
        .into_iter()
        .map(|b| {
            let when = b
                .revised
                .clone()
                .or(b.extracted.clone())
                .unwrap_or_default();
            (
                when,
                BeliefRow {
                    this_session: mine.contains(&b.id),
                    id: b.id,
                    statement: b.statement,
                    entrenchment: b.entrenchment.unwrap_or_default(),
                    path: b.path,
                },
            )
        })
        .collect();
    rows.sort_by(|(wa, a), (wb, b)| {
        b.this_session
            .cmp(&a.this_session)
            .then_with(|| wb.cmp(wa))
            .then_with(|| a.id.cmp(&b.id))
    });
    Feed::Ready(rows.into_iter().map(|(_, r)| r).collect())
}

pub fn start_session(_p: &Project, _title: &str, _llm: Option<&str>) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn note(_p: &Project, _text: &str) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn add_goal(_p: &Project, _text: &str) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn toggle_goal(_p: &Project, _index: usize) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn update(_p: &Project) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn end_preview(_p: &Project) -> Result<Vec<String>> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn end(_p: &Project) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn recover(_p: &Project) -> Result<String> {
    Err(anyhow!(NO_SESSION_ENGINE))
}

pub fn create_belief(p: &Project, d: &BeliefDraft) -> Result<String> {
    let new = crate::belief::NewBelief {
        id: d.id.clone(),
        statement: d.statement.clone(),
        evidence: d.evidence.clone(),
        supports: d.supports.clone(),
        attacks: d.attacks.clone(),
        facets: d.facets.clone(),
        entrenchment: if d.entrenchment.is_empty() {
            "medium".into()
        } else {
            d.entrenchment.clone()
        },
        ..Default::default()
    };
    let created = crate::belief::create(p, &new, None)?;
    Ok(match created.session {
        Some(s) => format!("belief {} captured (linked to session {s})", d.id),
        None => format!("belief {} captured", d.id),
    })
}

pub fn complete_link(p: &Project, prefix: &str) -> Vec<String> {
    crate::layer::complete_link(p, prefix, 5).unwrap_or_default()
}

/// A cheap fingerprint of the refs the Commits pane depends on: HEAD's target. Reading one ref
/// is far cheaper than walking the range, so the range is walked only when this changes.
pub fn head_fingerprint(p: &Project) -> Option<String> {
    let repo = git2::Repository::open(p.root()).ok()?;
    let head = repo.head().ok()?;
    Some(format!(
        "{}@{}",
        head.shorthand().unwrap_or("?"),
        head.target().map(|o| o.to_string()).unwrap_or_default()
    ))
}

pub fn daemon_state() -> DaemonState {
    DaemonState::Down("the daemon is not in this build yet".into())
}

pub fn secrets_state() -> Feed<Vec<VaultView>> {
    Feed::Unavailable("needs the daemon".into())
}

pub fn agent_state(_p: &Project) -> AgentState {
    AgentState::Unknown
}

pub fn pending_releases() -> Vec<ReleaseRequest> {
    vec![]
}

pub fn lock_secrets() -> Result<String> {
    Err(anyhow!(
        "locking needs the daemon, which is not in this build yet"
    ))
}

pub fn answer_release(_id: &str, _allow: bool) -> Result<String> {
    Err(anyhow!("needs the daemon, which is not in this build yet"))
}

/// Start a daemon in the background when none answers.
pub fn ensure_daemon() -> DaemonState {
    daemon_state()
}

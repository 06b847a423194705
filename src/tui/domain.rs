//! The cockpit's only door to the domain: blocking calls into session, belief, git, scry,
//! secrets and the daemon client, translated into the cockpit's own view types. Everything here
//! runs on background threads, never on the UI task.
//!
//! A domain that is not in this build answers `Feed::Unavailable` / `Err` with a sentence the
//! cockpit shows as is, so a missing piece is named rather than silently empty.

use std::time::Duration;

use anyhow::{Result, anyhow};

use super::model::*;
use crate::client::Client;
use crate::project::Project;
use crate::{backend, git, session};

/// The active session, parsed.
pub fn load_session(p: &Project) -> Feed<Option<SessionView>> {
    let doc = match session::active(p) {
        Ok(Some(d)) => d,
        Ok(None) => return Feed::Ready(None),
        Err(e) => return Feed::Unavailable(format!("{e:#}")),
    };
    let stale_hours = p
        .config()
        .section::<session::SessionConfig>("session")
        .map(|c| c.stale_hours)
        .unwrap_or(8.0);
    let last_activity = doc.last_activity();
    let stale = last_activity.is_some_and(|last| {
        (chrono::Local::now().fixed_offset() - last).num_seconds() as f64 >= stale_hours * 3600.0
    });
    Feed::Ready(Some(SessionView {
        started: doc.created_time(),
        id: doc.id,
        title: doc.title,
        branch: doc.git.branch.unwrap_or_default(),
        llm: doc.llm.unwrap_or_default(),
        starting_commit: doc.git.starting_commit,
        goals: doc
            .goals
            .into_iter()
            .map(|g| Goal {
                index: g.index,
                text: g.text,
                done: g.done,
            })
            .collect(),
        activity: doc
            .activity
            .into_iter()
            .map(|e| ActivityEntry {
                time: e.time_text,
                heading: e.heading,
                body: e.body,
            })
            .collect(),
        last_activity,
        stale,
    }))
}

/// Archived sessions, newest first (the active one is in the Session pane).
pub fn load_history(p: &Project) -> Feed<Vec<SessionRow>> {
    match session::list(p, &session::ListFilter::default()) {
        Ok(r) => {
            let active = p.active_session_path();
            let mut rows: Vec<SessionRow> = r
                .sessions
                .into_iter()
                .filter(|s| s.path != active)
                .map(|s| SessionRow {
                    id: s.id,
                    title: s.title,
                    status: s.status,
                    work_type: s.work_type,
                    path: s.path,
                })
                .collect();
            rows.sort_by(|a, b| b.id.cmp(&a.id));
            Feed::Ready(rows)
        }
        Err(e) => Feed::Unavailable(format!("{e:#}")),
    }
}

/// A commit's patch (at most 5000 lines).
pub fn commit_patch(p: &Project, rev: &str) -> Result<Vec<String>> {
    let repo = git::open(p.root())?.ok_or_else(|| anyhow!("not a git repository"))?;
    git::commit_patch(&repo, rev, 5000)
}

/// Lines `line..=end` of a file (a scry hit's region, at most 400 lines), for the preview.
/// Read-only: the file is whatever scry pointed at inside a project.
pub fn read_region(path: &std::path::Path, line: usize, end: usize) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
    let start = line.max(1) - 1;
    let end = end.max(line).min(start + 400);
    Ok(text
        .lines()
        .skip(start)
        .take(end - start)
        .map(str::to_string)
        .collect())
}

/// An archived session's text, for the viewer.
pub fn read_session(path: &std::path::Path) -> Result<Vec<String>> {
    let doc =
        std::fs::read_to_string(path).map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
    Ok(doc.lines().map(str::to_string).collect())
}

/// The model as far as files go (no load): the status bar shows this before the first search.
pub fn model_state() -> ModelState {
    if crate::scry::model::status(false).ready {
        ModelState::Ready
    } else {
        ModelState::Lexical("no embedding model installed (`patina model pull`)".into())
    }
}

/// The repository's git directory (to watch HEAD and refs).
pub fn git_dir(p: &Project) -> Option<std::path::PathBuf> {
    git::open(p.root())
        .ok()
        .flatten()
        .map(|r| r.path().to_path_buf())
}

pub fn set_aside(p: &Project) -> Result<String> {
    let aside = backend::session_engine()?.set_aside_unreadable(p)?;
    Ok(format!(
        "the unreadable session file was kept as {}; you can start a new session",
        aside.strip_prefix(p.root()).unwrap_or(&aside).display()
    ))
}

/// Commits of the session range, newest first (at most 200).
pub fn load_commits(p: &Project, session: Option<&SessionView>) -> Feed<Vec<CommitRow>> {
    let Some(s) = session else {
        return Feed::Ready(vec![]);
    };
    let repo = match git::open(p.root()) {
        Ok(Some(r)) => r,
        Ok(None) => return Feed::Unavailable("not a git repository".into()),
        Err(e) => return Feed::Unavailable(format!("{e:#}")),
    };
    match git::commits_since(&repo, s.starting_commit.as_deref(), 200) {
        Ok(list) => Feed::Ready(
            list.into_iter()
                .map(|c| CommitRow {
                    time: c
                        .time
                        .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH.fixed_offset()),
                    sha: c.sha,
                    short: c.short,
                    subject: c.subject,
                    files: c.files_changed,
                })
                .collect(),
        ),
        Err(e) => Feed::Unavailable(format!("{e:#}")),
    }
}

/// The beliefs this session created or revised — the rule `session end` records
/// (`belief::captured_in_session`), so the cockpit and the archive never disagree.
fn captured(
    p: &Project,
    id: &str,
    starting_commit: Option<&str>,
    started: Option<i64>,
) -> Result<Vec<crate::belief::CapturedBelief>> {
    crate::belief::captured_in_session(
        p,
        &crate::belief::SessionRef {
            id,
            starting_commit,
            started,
        },
    )
}

/// This session's beliefs first, then the others, most recently revised or extracted first.
pub fn load_beliefs(p: &Project, session: Option<&SessionView>) -> Feed<Vec<BeliefRow>> {
    let all = match crate::belief::list(p) {
        Ok(b) => b,
        Err(e) => return Feed::Unavailable(format!("{e:#}")),
    };
    let mine: Vec<String> = match session {
        Some(s) => captured(
            p,
            &s.id,
            s.starting_commit.as_deref(),
            s.started.map(|t| t.timestamp()),
        )
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

pub fn start_session(p: &Project, title: &str, llm: Option<&str>) -> Result<String> {
    let r = backend::session_engine()?.start(p, title, llm)?;
    let mut msg = format!("session {} started", r.id);
    if let Some(tag) = r.start_tag {
        msg.push_str(&format!(" (tag {tag})"));
    }
    if let Some(w) = r.warnings.first() {
        msg.push_str(&format!(" — {w}"));
    }
    Ok(msg)
}

pub fn note(p: &Project, text: &str) -> Result<String> {
    backend::session_engine()?.note(p, text)?;
    Ok("note added".into())
}

pub fn add_goal(p: &Project, text: &str) -> Result<String> {
    session::goal_add(p, text)?;
    Ok("goal added".into())
}

pub fn toggle_goal(p: &Project, index: usize) -> Result<String> {
    let r = session::goal_toggle(p, index)?;
    Ok(format!(
        "goal {} {}",
        index,
        if r.goal.done { "done" } else { "open again" }
    ))
}

pub fn update(p: &Project) -> Result<String> {
    let r = backend::session_engine()?.update(p, None)?;
    Ok(match r.git {
        Some(g) => format!(
            "update logged: {} commits, {} files changed",
            g.commits,
            g.files.len()
        ),
        None => "update logged".into(),
    })
}

/// What ending would record, from the session's current state.
pub fn end_preview(p: &Project) -> Result<Vec<String>> {
    let st = backend::session_engine()?.status(p)?;
    let mut lines = vec![];
    if let Some(g) = &st.git {
        lines.push(format!(
            "Commits: {} · Files changed: {} (+{} −{})",
            g.commits,
            g.files.len(),
            g.insertions,
            g.deletions
        ));
        if !g.uncommitted.is_empty() {
            lines.push(format!(
                "Uncommitted: {} files (not part of the session range)",
                g.uncommitted.len()
            ));
        }
    }
    let started = st
        .created
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.timestamp());
    let beliefs = match &st.id {
        Some(id) => captured(p, id, st.starting_commit.as_deref(), started)
            .map(|b| b.len())
            .unwrap_or(0),
        None => 0,
    };
    lines.push(format!(
        "Goals: {}/{} done · Beliefs captured: {beliefs} · Entries: {}",
        st.goals_done,
        st.goals.len(),
        st.entries
    ));
    lines.push("Ending tags HEAD, classifies the work and archives the log.".into());
    Ok(lines)
}

pub fn end(p: &Project, commit: bool) -> Result<String> {
    let r = backend::session_engine()?.end(p, commit)?;
    let mut msg = format!(
        "session {} ended ({}, {} commits) → {}",
        r.id,
        r.classification.work_type,
        r.classification.commits,
        r.path.strip_prefix(p.root()).unwrap_or(&r.path).display()
    );
    if let Some(c) = &r.archive_commit {
        msg.push_str(&format!(", committed as {}", git::short(c)));
    }
    Ok(msg)
}

pub fn recover(p: &Project) -> Result<String> {
    let r = backend::session_engine()?.recover(p, None, false)?;
    Ok(format!("session {} recovered → {}", r.id, r.path.display()))
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
    let created = crate::belief::create(p, &new, None, &backend::session_engine()?)?;
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
    git::head_fingerprint(p.root())
}

fn client() -> Client {
    Client::local().with_timeout(Duration::from_secs(2))
}

/// Whether the local daemon answers /health (with our protocol).
pub fn daemon_state() -> DaemonState {
    match client().health() {
        Ok(h) => DaemonState::Up {
            version: h.version,
            protocol: h.protocol.to_string(),
        },
        Err(e) => DaemonState::Down(e.to_string()),
    }
}

/// Start a daemon in the background when none answers (DESIGN §6: the cockpit does).
pub fn ensure_daemon() -> DaemonState {
    match crate::client::ensure_running(Duration::from_secs(5)) {
        Ok(_) => daemon_state(),
        Err(e) => DaemonState::Down(format!("could not start the daemon: {e}")),
    }
}

pub fn secrets_state() -> Feed<Vec<VaultView>> {
    let now = chrono::Local::now().fixed_offset();
    match client().secrets_status() {
        Ok(st) => Feed::Ready(
            st.vaults
                .into_iter()
                .map(|v| VaultView {
                    expires_at: (!v.locked)
                        .then(|| now + chrono::Duration::seconds(v.expires_in_secs as i64)),
                    vault_id: v.vault_id,
                    locked: v.locked,
                })
                .collect(),
        ),
        Err(e) => Feed::Unavailable(e.to_string()),
    }
}

pub fn agent_state(p: &Project) -> AgentState {
    match client().agent_status(p.root()) {
        Ok(st) if st.agent.is_some() => match st.state {
            crate::agent::State::Busy => AgentState::Busy,
            crate::agent::State::Waiting => AgentState::Waiting,
            crate::agent::State::Idle => AgentState::Idle,
        },
        _ => AgentState::Unknown,
    }
}

/// Releases waiting for a y/n. Polling this also tells the daemon a cockpit is attached.
pub fn pending_releases() -> Vec<ReleaseRequest> {
    match client().secrets_pending() {
        Ok(p) => p
            .pending
            .into_iter()
            .map(|r| ReleaseRequest {
                id: r.id.to_string(),
                names: r.names,
                pid: r.requester.pid,
                command: r.requester.command,
                cwd: None,
                project: None,
                expires_in_secs: r.expires_in_secs,
            })
            .collect(),
        Err(_) => vec![],
    }
}

pub fn lock_secrets() -> Result<String> {
    let r = client()
        .secrets_lock(None)
        .map_err(|e| anyhow!("locking secrets: {e}"))?;
    Ok(format!("secrets locked ({} vaults dropped)", r.dropped))
}

pub fn answer_release(id: &str, allow: bool) -> Result<String> {
    let n: u64 = id.parse().map_err(|_| anyhow!("bad release id {id:?}"))?;
    client()
        .secrets_decide(n, allow)
        .map_err(|e| anyhow!("answering the release: {e}"))?;
    Ok(if allow {
        "secrets released".into()
    } else {
        "release refused".into()
    })
}

/// The daemon's index job for the project, as the status bar shows it.
pub fn daemon_index_state(p: &Project) -> Option<IndexState> {
    let st = client().index_status(p.root()).ok()?;
    Some(match st.state.as_str() {
        "running" => IndexState::Building {
            phase: "indexing".into(),
            done: st.done,
            total: st.total,
        },
        "failed" => IndexState::Failed(st.error.unwrap_or_else(|| "index build failed".into())),
        _ => IndexState::Idle,
    })
}

/// The active session's prompt count and the agent's last action, read from the agents' logs
/// (slow poll only: it opens the session's log files). None without a session or on error.
pub fn transcript_summary(p: &Project) -> Option<TranscriptView> {
    let active = crate::transcript::active_session(p).ok()??;
    match crate::transcript::summary(
        p,
        &active.llm,
        &active.window,
        &crate::transcript::KnownSecrets,
    ) {
        Ok(s) => Some(TranscriptView {
            prompt_count: s.prompt_count,
            last_action: s.last_action.map(|a| (a.time, a.agent, a.text)),
        }),
        Err(e) => {
            tracing::debug!("transcript summary: {e:#}");
            None
        }
    }
}

//! The session operations behind the CLI, the cockpit and the daemon.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, FixedOffset, SecondsFormat};
use serde::Serialize;

use super::classify::{Measured, classify};
use super::model::{
    Classification, Frontmatter, GitMeta, Goal, SessionDoc, SessionFile, one_line, read_doc,
};
use super::{Engine, SessionConfig};
use crate::doc;
use crate::error::Error;
use crate::git::{self, FileChange, RangeActivity};
use crate::project::Project;
use crate::store;

/// The active session file is per-checkout and may hold private notes.
const ACTIVE_MODE: u32 = 0o600;
/// Archived sessions are tracked files.
const ARCHIVE_MODE: u32 = 0o644;

fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `2026-11-29 14:15`: activity headings carry the date (the offset is the header's).
fn heading_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn config(project: &Project) -> Result<SessionConfig> {
    project.config().section::<SessionConfig>("session")
}

fn no_active() -> anyhow::Error {
    Error::conflict("no active session; start one with `patina session start \"<title>\"`").into()
}

/// Run `edit` on the active session under the lock; the file is rewritten only when `edit`
/// returns true. Errors with exit 3 when no session is active.
fn with_active<T>(
    project: &Project,
    edit: impl FnOnce(&mut SessionFile) -> Result<(bool, T)>,
) -> Result<T> {
    let path = project.active_session_path();
    store::update_locked(&path, &project.session_lock_path(), ACTIVE_MODE, |cur| {
        let Some(text) = cur else {
            return Err(no_active());
        };
        let mut file = SessionFile::parse(&path, &text)?;
        let (changed, out) = edit(&mut file)?;
        Ok((if changed { Some(file.render()?) } else { None }, out))
    })
}

/// Remove temp files left by writers killed between creating and renaming them. Only called with
/// the session lock held: every live writer holds it while its temp file exists.
fn sweep_temp_files(project: &Project) {
    let Ok(rd) = std::fs::read_dir(project.local_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".active-session.md.") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn read_active(project: &Project) -> Result<Option<SessionFile>> {
    let path = project.active_session_path();
    match store::read_text_torn(&path) {
        Ok((text, _)) => Ok(Some(SessionFile::parse(&path, &text)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub(crate) fn active_id(project: &Project) -> Result<Option<String>> {
    Ok(read_active(project)?.map(|f| f.fm.id))
}

/// The parsed active session (goals with index and done flag, activity entries), if any.
pub fn active(project: &Project) -> Result<Option<SessionDoc>> {
    let path = project.active_session_path();
    Ok(read_active(project)?.map(|f| f.doc(Some(&path))))
}

pub(crate) fn log_entry(
    eng: &Engine,
    project: &Project,
    heading: &str,
    body: &str,
) -> Result<Option<String>> {
    if !project.active_session_path().exists() {
        return Ok(None);
    }
    let when = heading_time(&eng.now());
    let path = project.active_session_path();
    // The session may end between the check above and the lock: then there is nothing to log to.
    store::update_locked(&path, &project.session_lock_path(), ACTIVE_MODE, |cur| {
        let Some(text) = cur else {
            return Ok((None, None));
        };
        let mut file = SessionFile::parse(&path, &text)?;
        file.append_activity(&when, heading, body);
        let id = file.fm.id.clone();
        Ok((Some(file.render()?), Some(id)))
    })
}

fn archive_path(project: &Project, id: &str) -> PathBuf {
    project.sessions_dir().join(doc::archive::file_name(id))
}

fn rel(project: &Project, p: &Path) -> String {
    p.strip_prefix(project.root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------------

pub use crate::proto::session::PreviousSession;

#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    pub id: String,
    pub title: String,
    pub llm: String,
    pub path: PathBuf,
    pub branch: Option<String>,
    pub starting_commit: Option<String>,
    pub start_tag: Option<String>,
    pub created: String,
    pub previous: Option<PreviousSession>,
    /// Why something was skipped (no git, no commits yet, detached HEAD).
    pub warnings: Vec<String>,
}

fn stale_message(eng: &Engine, doc: &SessionDoc, cfg: &SessionConfig) -> Option<String> {
    let last = doc.last_activity()?;
    let idle = eng.now().signed_duration_since(last);
    if idle.num_seconds() as f64 >= cfg.stale_hours * 3600.0 {
        Some(format!(
            "it is stale: no activity for {} (since {})",
            human_duration(idle),
            rfc3339(&last)
        ))
    } else {
        None
    }
}

/// Start a session: refuses (exit 3) when one is active; tags HEAD with an annotated
/// `session-<id>-<llm>-start`; writes the active session with the previous session's context.
pub(crate) fn start(
    eng: &Engine,
    project: &Project,
    title: &str,
    llm: Option<&str>,
) -> Result<StartReport> {
    let title = one_line(title);
    if title.is_empty() {
        return Err(Error::usage("the session title is empty").into());
    }
    let llm = llm
        .map(str::to_string)
        .or_else(|| project.config().llm().map(str::to_string))
        .unwrap_or_else(|| "claude".into());
    if llm.is_empty()
        || !llm
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::usage(format!(
            "--llm {llm:?}: use letters, digits, '-' or '_' (it becomes part of a git tag name)"
        ))
        .into());
    }
    let cfg = config(project)?;
    // Session text lives here: 0700 whatever the umask (an older one is narrowed).
    store::private_dir(&project.local_dir())?;
    let path = project.active_session_path();
    store::update_locked(&path, &project.session_lock_path(), ACTIVE_MODE, |cur| {
        if let Some(text) = cur {
            let existing = SessionFile::parse(&path, &text)?;
            let archived = archive_path(project, &existing.fm.id);
            let finished =
                archived.exists() && read_doc(&archived).is_ok_and(|d| d.status != "active");
            if !finished {
                let doc = existing.doc(Some(&path));
                let msg = match stale_message(eng, &doc, &cfg) {
                    Some(stale) => format!(
                        "session {} (\"{}\") is still active and {stale}; close it with \
                         `patina session recover` (or `patina session end`), then start again",
                        doc.id, doc.title
                    ),
                    None => format!(
                        "session {} (\"{}\") is already active; end it with `patina session end` \
                         (or close a crashed one with `patina session recover`) before starting another",
                        doc.id, doc.title
                    ),
                };
                return Err(Error::conflict(msg).into());
            }
            // A leftover of an `end` interrupted after archiving: the archive is complete.
        }
        sweep_temp_files(project);
        let report = start_locked(eng, project, &title, &llm)?;
        Ok((Some(report.1), report.0))
    })
}

fn start_locked(
    eng: &Engine,
    project: &Project,
    title: &str,
    llm: &str,
) -> Result<(StartReport, String)> {
    let t0 = eng.now();
    let mut warnings = Vec::new();
    super::pending::flush(project, &mut warnings);
    let repo = git::open(project.root())?;
    let head = match &repo {
        Some(r) => Some(git::head(r)?),
        None => {
            warnings
                .push("not a git repository: the session has no tags and no git activity".into());
            None
        }
    };
    if let Some(h) = &head {
        if h.commit.is_none() {
            warnings.push(
                "no commits yet: no start tag; git activity counts from the first commit".into(),
            );
        }
        if h.detached {
            warnings.push("HEAD is detached: the session records no branch".into());
        }
    }
    // The id is local time to the second and the file stem; never reuse one (two starts in one
    // second, or a leftover tag): take the next free second.
    let mut id = String::new();
    let mut created = t0;
    for k in 0..3600 {
        let t = t0 + Duration::seconds(k);
        let cand = t.format("%Y%m%d-%H%M%S").to_string();
        // Any tag that names this id blocks it, whichever agent made it and in whichever form
        // (`session-<id>-<llm>-start|end`, legacy `session-<id>-start`, nanosecond ids).
        let tag_taken = repo
            .as_ref()
            .is_some_and(|r| git::session_id_tagged(r, &cand));
        if !tag_taken && !archive_path(project, &cand).exists() {
            id = cand;
            created = t;
            break;
        }
    }
    if id.is_empty() {
        anyhow::bail!(
            "could not find a free session id near {}",
            t0.format("%Y%m%d-%H%M%S")
        );
    }
    let mut start_tag = None;
    if let (Some(r), Some(h)) = (&repo, &head)
        && let Some(c) = &h.commit
    {
        let name = format!("session-{id}-{llm}-start");
        let msg = format!("Session start: {title}");
        super::pending::tag_or_defer(project, r, &name, c, &msg, &mut warnings)?;
        start_tag = Some(name);
    }
    let previous = previous_session(project);
    let prev_text = match &previous {
        Some((_, text)) => text.clone(),
        None => "_No previous session._".to_string(),
    };
    let branch = head.as_ref().and_then(|h| h.branch.clone());
    let starting_commit = head.as_ref().and_then(|h| h.commit.clone());
    let fm = Frontmatter {
        kind: "session".into(),
        id: id.clone(),
        title: title.to_string(),
        status: "active".into(),
        llm: Some(llm.to_string()),
        created: Some(rfc3339(&created)),
        start_timestamp: Some(created.timestamp_millis()),
        git: GitMeta {
            branch: branch.clone(),
            starting_commit: starting_commit.clone(),
            start_tag: start_tag.clone(),
            end_tag: None,
            end_commit: None,
        },
        ended: None,
        classification: None,
        extra: Default::default(),
    };
    let mut body = vec![String::new(), "## Previous Session Context".to_string()];
    body.extend(prev_text.lines().map(str::to_string));
    body.extend([
        String::new(),
        "## Goals".to_string(),
        format!("- [ ] {title}"),
        String::new(),
        "## Activity Log".to_string(),
    ]);
    let mut file = SessionFile::new(fm, body);
    let mut start_body = vec![format!("Session initialized with goal: {title}")];
    if let Some(h) = &head {
        start_body.push(format!(
            "Working on branch: {}",
            h.branch.as_deref().unwrap_or("(detached HEAD)")
        ));
        if let Some(t) = &start_tag {
            start_body.push(format!("Tagged as: {t}"));
        }
    }
    for w in &warnings {
        start_body.push(format!("Note: {w}"));
    }
    file.append_activity(
        &heading_time(&created),
        "Session Start",
        &start_body.join("\n"),
    );
    let text = file.render()?;
    Ok((
        StartReport {
            id,
            title: title.to_string(),
            llm: llm.to_string(),
            path: project.active_session_path(),
            branch,
            starting_commit,
            start_tag,
            created: rfc3339(&created),
            previous: previous.map(|p| p.0),
            warnings,
        },
        text,
    ))
}

/// The last ended session: the `last-session.md` pointer, else the newest archive.
fn last_ended(project: &Project) -> Option<SessionDoc> {
    if let Ok(text) = std::fs::read_to_string(project.last_session_path())
        && let Some(pointer) = doc::pointer::LastSession::parse(&text)
        && let Ok(d) = read_doc(&project.root().join(pointer.path.trim()))
    {
        return Some(d);
    }
    let dated = doc::archive::dated(&project.sessions_dir()).ok()?;
    dated.into_iter().rev().find_map(|e| read_doc(&e.path).ok())
}

fn previous_session(project: &Project) -> Option<(PreviousSession, String)> {
    let d = last_ended(project)?;
    let open: Vec<String> = d
        .goals
        .iter()
        .filter(|g| !g.done)
        .map(|g| g.text.clone())
        .collect();
    let done = d.goals.iter().filter(|g| g.done).count();
    let mut lines = vec![format!(
        "Last session: **{}** ([[session-{}]], {}{})",
        d.title,
        d.id,
        d.status,
        d.ended
            .as_deref()
            .map(|e| format!(", ended {e}"))
            .unwrap_or_default()
    )];
    match &d.classification {
        Some(c) => lines.push(format!(
            "Classification: {} — {} commits, {} files changed, {} patterns modified, {} beliefs captured",
            c.work_type, c.commits, c.files_changed, c.patterns_modified, c.beliefs_captured
        )),
        None => lines.push("Classification: (none recorded)".into()),
    }
    lines.push(format!(
        "Goals: {done} of {} done{}",
        d.goals.len(),
        if open.is_empty() { "" } else { "; still open:" }
    ));
    for g in &open {
        lines.push(format!("- [ ] {g}"));
    }
    if !d.beliefs.is_empty() {
        lines.push("Beliefs captured:".into());
        for b in &d.beliefs {
            lines.push(format!("- {b}"));
        }
    }
    if let Some(last) = d
        .activity
        .iter()
        .rev()
        .find(|e| !e.body.is_empty() && e.heading.starts_with("Note"))
    {
        let snippet: String = last.body.chars().take(300).collect();
        let more = if last.body.chars().count() > 300 {
            "…"
        } else {
            ""
        };
        lines.push(format!(
            "Last entry ({}): {}{more}",
            last.heading,
            one_line(&snippet)
        ));
    }
    let prev = PreviousSession {
        id: d.id.clone(),
        title: d.title.clone(),
        path: d.path.clone().unwrap_or_default(),
        status: d.status.clone(),
        work_type: d.classification.as_ref().map(|c| c.work_type.clone()),
        open_goals: open,
        beliefs: d.beliefs.clone(),
    };
    Some((prev, lines.join("\n")))
}

// ---------------------------------------------------------------------------------------------
// note, goals
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct NoteReport {
    pub id: String,
    pub heading: String,
    pub time: String,
    /// E.g. pending session tags created now (`.git` was read-only before).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Append a note `### <date time> - Note [branch@sha]`. Empty notes are refused (exit 2).
pub(crate) fn note(eng: &Engine, project: &Project, text: &str) -> Result<NoteReport> {
    if text.trim().is_empty() {
        return Err(Error::usage("the note is empty; nothing was written").into());
    }
    let heading = match git::head_label(project.root()) {
        Some(l) => format!("Note [{l}]"),
        None => "Note".to_string(),
    };
    let mut warnings = Vec::new();
    // A vault value typed into a note never reaches the session file (nor the cockpit, the
    // agent context or scry that read it): replaced by `[redacted: NAME]` from the values'
    // keyed fingerprints, and the user is told.
    let text = match eng.secrets().fingerprints() {
        Ok(Some(known)) => {
            let (clean, hits) = known.redact(text);
            if !hits.is_empty() {
                let mut names = hits;
                names.sort();
                names.dedup();
                warnings.push(format!(
                    "the value of {} was redacted from the note",
                    names.join(", ")
                ));
            }
            clean
        }
        Ok(None) => text.to_string(),
        Err(e) => {
            warnings.push(format!("note not checked for secret values: {e:#}"));
            text.to_string()
        }
    };
    let t = eng.now();
    let when = heading_time(&t);
    let id = with_active(project, |f| {
        f.append_activity(&when, &heading, &text);
        Ok((true, f.fm.id.clone()))
    })?;
    super::pending::flush(project, &mut warnings);
    Ok(NoteReport {
        id,
        heading,
        time: rfc3339(&t),
        warnings,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalReport {
    pub id: String,
    pub goal: Goal,
    pub goals: Vec<Goal>,
}

/// Add an open goal.
pub fn goal_add(project: &Project, text: &str) -> Result<GoalReport> {
    let text = one_line(text);
    if text.is_empty() {
        return Err(Error::usage("the goal is empty").into());
    }
    with_active(project, |f| {
        let index = f.add_goal(&text);
        let goals = f.goals();
        let goal = goals[index - 1].clone();
        Ok((
            true,
            GoalReport {
                id: f.fm.id.clone(),
                goal,
                goals,
            },
        ))
    })
}

/// Find a goal by 1-based index, exact text, or a unique case-insensitive substring.
fn select_goal(goals: &[Goal], sel: &str) -> Result<usize> {
    let sel = sel.trim();
    if let Ok(n) = sel.parse::<usize>() {
        return goals
            .iter()
            .find(|g| g.index == n)
            .map(|g| g.index)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "there is no goal {n} (the session has {} goals)",
                    goals.len()
                ))
                .into()
            });
    }
    if let Some(g) = goals.iter().find(|g| g.text == sel) {
        return Ok(g.index);
    }
    let low = sel.to_lowercase();
    let hits: Vec<&Goal> = goals
        .iter()
        .filter(|g| g.text.to_lowercase().contains(&low))
        .collect();
    match hits.as_slice() {
        [g] => Ok(g.index),
        [] => Err(Error::not_found(format!("no goal matches {sel:?}")).into()),
        many => Err(Error::usage(format!(
            "{sel:?} matches {} goals ({}); give its number",
            many.len(),
            many.iter()
                .map(|g| format!("{}: {}", g.index, g.text))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

/// Set a goal (by number or text) done or open.
pub fn goal_set(project: &Project, sel: &str, done: bool) -> Result<GoalReport> {
    with_active(project, |f| {
        let index = select_goal(&f.goals(), sel)?;
        let goal = f
            .set_goal(index, done)
            .ok_or_else(|| Error::not_found(format!("no goal {index}")))?;
        Ok((
            true,
            GoalReport {
                id: f.fm.id.clone(),
                goal,
                goals: f.goals(),
            },
        ))
    })
}

/// Mark a goal done.
pub fn goal_done(project: &Project, sel: &str) -> Result<GoalReport> {
    goal_set(project, sel, true)
}

/// Flip a goal by index (the cockpit's space bar).
pub fn goal_toggle(project: &Project, index: usize) -> Result<GoalReport> {
    with_active(project, |f| {
        let cur = f
            .goals()
            .into_iter()
            .find(|g| g.index == index)
            .ok_or_else(|| Error::not_found(format!("no goal {index}")))?;
        let goal = f.set_goal(index, !cur.done).expect("goal exists");
        Ok((
            true,
            GoalReport {
                id: f.fm.id.clone(),
                goal,
                goals: f.goals(),
            },
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// update, status
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct UpdateReport {
    pub id: String,
    pub git: Option<RangeActivity>,
    /// The `**Git Activity:**` line written to the log.
    pub summary: String,
}

fn human_duration(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 48 * 3600 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} days", s / 86400)
    }
}

fn activity_summary(eng: &Engine, a: &RangeActivity) -> String {
    let last = match a.last_commit_time {
        Some(t) => format!(
            "last commit {} ago",
            human_duration(eng.now().signed_duration_since(t))
        ),
        None => "no commits yet".to_string(),
    };
    format!(
        "**Git Activity:** commits {}, files changed {} (+{} −{}), uncommitted {}, {last}",
        a.commits,
        a.files.len(),
        a.insertions,
        a.deletions,
        a.uncommitted.len()
    )
}

fn file_line(f: &FileChange) -> String {
    match &f.old_path {
        Some(o) => format!("{} {o} → {}", f.status, f.path),
        None => format!("{} {}", f.status, f.path),
    }
}

fn list_files(label: &str, files: &[FileChange], out: &mut Vec<String>) {
    if files.is_empty() {
        return;
    }
    const MAX: usize = 30;
    let mut s: Vec<String> = files.iter().take(MAX).map(file_line).collect();
    if files.len() > MAX {
        s.push(format!("… and {} more", files.len() - MAX));
    }
    out.push(format!("- {label}: {}", s.join(", ")));
}

/// The session range's git activity. The committed part of the last measurement is kept in
/// `.patina/local/range-memo.json` and reused while HEAD has not moved ([`git::RangeMemo`] says
/// when that is exact); only the work tree is read then. The memo is a cache: unreadable means
/// measure again, and it is written without fsync (a torn file is just unreadable).
fn measure(project: &Project, starting_commit: Option<&str>) -> Result<Option<RangeActivity>> {
    let Some(repo) = git::open(project.root())? else {
        return Ok(None);
    };
    let path = project.local_dir().join("range-memo.json");
    let known: Option<git::RangeMemo> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let (activity, memo) = git::range_activity_memo(&repo, starting_commit, known.clone())?;
    if memo != known {
        let kept = match &memo {
            Some(m) => serde_json::to_vec(m)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| keep_memo(&path, &bytes)),
            None => {
                let _ = std::fs::remove_file(&path);
                Ok(())
            }
        };
        if let Err(e) = kept {
            tracing::debug!("range memo not kept: {e:#}");
        }
    }
    Ok(Some(activity))
}

/// Replace the memo file (0600, temp file + rename, no fsync: it is a cache).
fn keep_memo(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".range-memo.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Record git activity since the start (commits, files incl. added/deleted/renamed, uncommitted,
/// insertions/deletions, age of the last commit) as an `Update` entry, with an optional message.
pub(crate) fn update(
    eng: &Engine,
    project: &Project,
    message: Option<&str>,
) -> Result<UpdateReport> {
    let file = read_active(project)?.ok_or_else(no_active)?;
    // Measure outside the lock (it can take a while on a long range); the range start never changes.
    let activity = measure(project, file.fm.git.starting_commit.as_deref())?;
    let mut body = Vec::new();
    let summary = match &activity {
        Some(a) => {
            let s = activity_summary(eng, a);
            body.push(s.clone());
            list_files("Files", &a.files, &mut body);
            list_files("Uncommitted", &a.uncommitted, &mut body);
            s
        }
        None => "**Git Activity:** not a git repository".to_string(),
    };
    if body.is_empty() {
        body.push(summary.clone());
    }
    if let Some(m) = message.filter(|m| !m.trim().is_empty()) {
        body.push(String::new());
        body.push(m.trim_end().to_string());
    }
    let when = heading_time(&eng.now());
    let id = with_active(project, |f| {
        f.append_activity(&when, "Update", &body.join("\n"));
        Ok((true, f.fm.id.clone()))
    })?;
    Ok(UpdateReport {
        id,
        git: activity,
        summary,
    })
}

pub use crate::proto::session::SessionStatus;

/// The active session's state (or `active: false` with the last session).
pub(crate) fn status(eng: &Engine, project: &Project) -> Result<SessionStatus> {
    let cfg = config(project)?;
    let path = project.active_session_path();
    let Some(file) = read_active(project)? else {
        return Ok(SessionStatus {
            active: false,
            id: None,
            title: None,
            llm: None,
            status: None,
            created: None,
            path: None,
            branch: None,
            starting_commit: None,
            start_tag: None,
            last_activity: None,
            idle_seconds: None,
            stale: false,
            stale_hours: cfg.stale_hours,
            goals: vec![],
            goals_done: 0,
            entries: 0,
            git: None,
            last_session: previous_session(project).map(|p| p.0),
        });
    };
    let doc = file.doc(Some(&path));
    let last = doc.last_activity();
    let idle = last.map(|l| eng.now().signed_duration_since(l).num_seconds());
    let stale = idle.is_some_and(|s| s as f64 >= cfg.stale_hours * 3600.0);
    let git = measure(project, doc.git.starting_commit.as_deref()).unwrap_or_else(|e| {
        tracing::warn!("session status: git activity unavailable: {e:#}");
        None
    });
    Ok(SessionStatus {
        active: true,
        goals_done: doc.goals.iter().filter(|g| g.done).count(),
        entries: doc.activity.len(),
        id: Some(doc.id),
        title: Some(doc.title),
        llm: doc.llm,
        status: Some(doc.status),
        created: doc.created,
        path: Some(path),
        branch: doc.git.branch,
        starting_commit: doc.git.starting_commit,
        start_tag: doc.git.start_tag,
        last_activity: last.map(|l| rfc3339(&l)),
        idle_seconds: idle,
        stale,
        stale_hours: cfg.stale_hours,
        goals: doc.goals.into_iter().map(wire_goal).collect(),
        git: git.as_ref().map(wire_activity),
        last_session: None,
    })
}

fn wire_goal(g: Goal) -> crate::proto::session::Goal {
    crate::proto::session::Goal {
        index: g.index,
        text: g.text,
        done: g.done,
        depth: g.depth,
    }
}

fn wire_change(c: &git::FileChange) -> crate::proto::session::FileChange {
    crate::proto::session::FileChange {
        status: c.status,
        path: c.path.clone(),
        old_path: c.old_path.clone(),
    }
}

fn wire_activity(a: &git::RangeActivity) -> crate::proto::session::GitActivity {
    crate::proto::session::GitActivity {
        commits: a.commits,
        files: a.files.iter().map(wire_change).collect(),
        insertions: a.insertions,
        deletions: a.deletions,
        uncommitted: a.uncommitted.iter().map(wire_change).collect(),
        last_commit_time: a.last_commit_time,
        head: a.head.clone(),
    }
}

/// The active session's commits (`starting_commit..HEAD`), newest first, at most `limit`; empty
/// when no session is active or outside git. For the cockpit's Commits pane.
pub fn commits(project: &Project, limit: usize) -> Result<Vec<git::CommitInfo>> {
    let Some(file) = read_active(project)? else {
        return Ok(vec![]);
    };
    match git::open(project.root())? {
        Some(r) => git::commits_since(&r, file.fm.git.starting_commit.as_deref(), limit),
        None => Ok(vec![]),
    }
}

// ---------------------------------------------------------------------------------------------
// show, list
// ---------------------------------------------------------------------------------------------

/// A session by id (`20261129-141503` or `session-20261129-141503`); `None`: the active one.
pub fn show(project: &Project, id: Option<&str>) -> Result<SessionDoc> {
    let active_path = project.active_session_path();
    match id {
        None => active(project)?.ok_or_else(|| {
            Error::not_found(
                "no active session; give an id or a path (`patina session list` shows them)",
            )
            .into()
        }),
        Some(id) => {
            let id = id.trim().trim_start_matches("session-");
            if let Some(f) = read_active(project)?
                && f.fm.id == id
            {
                return Ok(f.doc(Some(&active_path)));
            }
            if let Some(p) = doc::archive::find(&project.sessions_dir(), id) {
                return read_doc(&p);
            }
            Err(Error::not_found(format!(
                "no session {id} (looked at the active session and {})",
                archive_path(project, id).display()
            ))
            .into())
        }
    }
}

/// One line of `session list`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub id: String,
    pub title: String,
    pub status: String,
    pub llm: Option<String>,
    pub created: Option<String>,
    pub ended: Option<String>,
    pub end_tag: Option<String>,
    pub end_commit: Option<String>,
    /// Where `ended`, `end_tag` and `end_commit` come from: `file` (the session file says so),
    /// `tag` (the file does not; the `session-<id>-…-end` tag in git does), or null (neither).
    pub end_source: Option<&'static str>,
    pub work_type: Option<String>,
    pub goals: usize,
    pub goals_done: usize,
    pub entries: usize,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only sessions whose id date is on or after this day.
    pub since: Option<chrono::NaiveDate>,
    pub llm: Option<String>,
}

/// `session list`: the sessions, oldest first, plus the files that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub sessions: Vec<SessionSummary>,
    pub errors: Vec<ListError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListError {
    pub path: PathBuf,
    pub error: String,
}

fn summary(d: SessionDoc, path: PathBuf) -> SessionSummary {
    let end_source = (d.ended.is_some() || d.git.end_tag.is_some()).then_some("file");
    SessionSummary {
        end_tag: d.git.end_tag.clone(),
        end_commit: d.git.end_commit.clone(),
        end_source,
        goals_done: d.goals.iter().filter(|g| g.done).count(),
        goals: d.goals.len(),
        entries: d.activity.len(),
        work_type: d.classification.map(|c| c.work_type),
        id: d.id,
        title: d.title,
        status: d.status,
        llm: d.llm,
        created: d.created,
        ended: d.ended,
        path,
    }
}

/// An archived session's end, from its end tag when the file does not say; a file left
/// `status: active` in the archive (a crash long ago) is `unterminated` — `session recover <id>`
/// or `abandon <id>` closes it.
fn complete_from_tags(
    s: &mut SessionSummary,
    tags: &std::collections::BTreeMap<String, git::SessionEndTag>,
) {
    if s.status == "active" {
        s.status = "unterminated".into();
    }
    if s.ended.is_some() && s.end_tag.is_some() {
        return;
    }
    if let Some(t) = git::end_tag_for(tags, &s.id) {
        if s.end_tag.is_none() {
            s.end_tag = Some(t.name.clone());
            s.end_commit = Some(t.commit.clone());
        }
        if s.ended.is_none() {
            s.ended = t.time.map(|t| rfc3339(&t));
        }
        if s.end_source.is_none() {
            s.end_source = Some("tag");
        }
    }
}

fn id_date(id: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(id.get(..8)?, "%Y%m%d").ok()
}

/// The archived sessions and the active one.
pub fn list(project: &Project, filter: &ListFilter) -> Result<ListReport> {
    let mut sessions = Vec::new();
    let mut errors = Vec::new();
    // End tags are read once for the whole archive: most archived 0.11 sessions have an end tag
    // in git and no `ended` in their file.
    let end_tags = match git::open(project.root()) {
        Ok(Some(r)) => git::session_end_tags(&r).unwrap_or_default(),
        _ => Default::default(),
    };
    for p in doc::archive::list(&project.sessions_dir())?
        .into_iter()
        .map(|e| e.path)
    {
        match read_doc(&p) {
            Ok(d) => {
                let mut s = summary(d, p);
                complete_from_tags(&mut s, &end_tags);
                sessions.push(s)
            }
            Err(e) => errors.push(ListError {
                path: p,
                error: format!("{e:#}"),
            }),
        }
    }
    if let Some(a) = active(project)? {
        sessions.push(summary(a, project.active_session_path()));
    }
    sessions.retain(|s| {
        filter
            .since
            .is_none_or(|since| id_date(&s.id).is_some_and(|d| d >= since))
            && filter
                .llm
                .as_deref()
                .is_none_or(|l| s.llm.as_deref() == Some(l))
    });
    Ok(ListReport { sessions, errors })
}

// ---------------------------------------------------------------------------------------------
// end, recover, abandon
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseKind {
    End,
    Recover,
    Abandon,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloseReport {
    pub id: String,
    pub title: String,
    pub status: String,
    pub end_tag: Option<String>,
    pub end_commit: Option<String>,
    pub ended: String,
    pub classification: Classification,
    pub beliefs: Vec<crate::belief::CapturedBelief>,
    /// The archived file.
    pub path: PathBuf,
    /// The commit made by `--commit`.
    pub archive_commit: Option<String>,
    pub warnings: Vec<String>,
}

/// End the active session: end tag on HEAD, classification, beliefs, transcript, archive.
pub(crate) fn end(eng: &Engine, project: &Project, commit: bool) -> Result<CloseReport> {
    close(eng, project, CloseKind::End, None, commit)
}

/// Close a session left active by a crash: end tag on the last commit made during the session
/// (or the last one at or before `at`), `status: recovered`.
pub(crate) fn recover(
    eng: &Engine,
    project: &Project,
    at: Option<DateTime<FixedOffset>>,
    commit: bool,
) -> Result<CloseReport> {
    close(eng, project, CloseKind::Recover, at, commit)
}

/// Close the active session as `abandoned` (tagged and classified like a recovery).
pub(crate) fn abandon(eng: &Engine, project: &Project, commit: bool) -> Result<CloseReport> {
    close(eng, project, CloseKind::Abandon, None, commit)
}

fn close(
    eng: &Engine,
    project: &Project,
    kind: CloseKind,
    at: Option<DateTime<FixedOffset>>,
    commit: bool,
) -> Result<CloseReport> {
    let path = project.active_session_path();
    store::update_locked(&path, &project.session_lock_path(), ACTIVE_MODE, |cur| {
        let text = cur.ok_or_else(no_active)?;
        let mut file = SessionFile::parse(&path, &text)?;
        let report = close_locked(eng, project, &mut file, &path, kind, at, commit)?;
        sweep_temp_files(project);
        // The archive is written and the pointer updated: the active file goes away.
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        Ok((None, report))
    })
}

/// Close a session that an old crash left `status: active` inside the archive (an
/// *unterminated* session): tagged, classified and rewritten in place like `recover`/`abandon`
/// of the active one; the active session and the last-session pointer are not touched.
pub(crate) fn close_unterminated(
    eng: &Engine,
    project: &Project,
    id: &str,
    kind: CloseKind,
    at: Option<DateTime<FixedOffset>>,
    commit: bool,
) -> Result<CloseReport> {
    if kind == CloseKind::End {
        return Err(crate::error::Error::usage(
            "an archived session is closed with `recover <id>` or `abandon <id>`, not `end`",
        )
        .into());
    }
    let Some(path) = find_archived(project, id) else {
        return Err(crate::error::Error::not_found(format!(
            "no archived session {id} in {}",
            project.sessions_dir().display()
        ))
        .into());
    };
    let _lock = store::FileLock::acquire(&project.session_lock_path())?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut file = SessionFile::parse(&path, &text)?;
    // The session's range ends at its own last activity, not at today's HEAD.
    let at = at.or_else(|| file.doc(None).last_activity());
    if file.fm.status != "active" {
        return Err(crate::error::Error::conflict(format!(
            "session {id} is {}, not unterminated ({})",
            file.fm.status,
            path.display()
        ))
        .into());
    }
    close_locked(eng, project, &mut file, &path, kind, at, commit)
}

/// The archive file of session `id` (`doc::archive::find`: exact name, legacy name, or the one
/// nanosecond-id file named by its seconds).
fn find_archived(project: &Project, id: &str) -> Option<PathBuf> {
    doc::archive::find(&project.sessions_dir(), id)
}

fn close_locked(
    eng: &Engine,
    project: &Project,
    file: &mut SessionFile,
    source: &Path,
    kind: CloseKind,
    at: Option<DateTime<FixedOffset>>,
    commit: bool,
) -> Result<CloseReport> {
    let t = eng.now();
    let mut warnings = Vec::new();
    super::pending::flush(project, &mut warnings);
    let doc = file.doc(None);
    let llm = file.fm.llm.clone().unwrap_or_else(|| "claude".into());
    let id = file.fm.id.clone();
    let mut start = file.fm.git.starting_commit.clone();
    let repo = git::open(project.root())?;
    // The starting commit can be gone (its tag deleted, a reset, then gc): the session must still
    // close. The end tag then goes on HEAD and the range is measured by time instead.
    let mut start_gone = false;
    if let (Some(r), Some(sha)) = (&repo, &start)
        && !git::commit_exists(r, sha)
    {
        warnings.push(format!(
            "the starting commit {sha} (`git.starting_commit` in {}) is no longer in the \
             repository (tag deleted, reset or gc): the end tag goes on HEAD and the counts \
             cover the commits made since the session started, by commit time",
            source.display()
        ));
        start_gone = true;
        start = None;
    }
    let since = start_gone.then(|| doc.created_time()).flatten();
    // Where the session ends in history.
    let end_commit = match (&repo, kind) {
        (None, _) => None,
        (Some(r), CloseKind::End) => git::head(r)?.commit,
        (Some(r), _) if start_gone => git::head(r)?.commit,
        (Some(r), _) => git::last_commit_before(r, start.as_deref(), at)?,
    };
    let ended = match kind {
        CloseKind::End => t,
        _ => at.or_else(|| doc.last_activity()).unwrap_or(t),
    };
    let mut end_tag = None;
    // An old session may have its end tag already (0.11 tagged, then crashed before writing the
    // file): keep that tag and its commit.
    let existing_end = match (&repo, kind) {
        (Some(r), CloseKind::Recover | CloseKind::Abandon) => git::session_end_tags(r)
            .ok()
            .and_then(|tags| git::end_tag_for(&tags, &id).cloned()),
        _ => None,
    };
    let end_commit = match &existing_end {
        Some(t) => Some(t.commit.clone()),
        None => end_commit,
    };
    if let Some(t) = &existing_end {
        end_tag = Some(t.name.clone());
    } else if let (Some(r), Some(c)) = (&repo, &end_commit) {
        let name = format!("session-{id}-{llm}-end");
        let verb = match kind {
            CloseKind::End => "end",
            CloseKind::Recover => "end (recovered)",
            CloseKind::Abandon => "end (abandoned)",
        };
        let msg = format!("Session {verb}: {}", file.fm.title);
        super::pending::tag_or_defer(project, r, &name, c, &msg, &mut warnings).map_err(
            |e| match e.downcast::<git::TagError>() {
                Ok(te) => Error::conflict(format!("{te}; the session is still active")).into(),
                Err(e) => e,
            },
        )?;
        end_tag = Some(name);
    } else if repo.is_some() {
        warnings.push("no commits: no end tag".into());
    }
    // Measure the tagged range.
    let (commits, files) = match (&repo, &end_commit) {
        (Some(r), Some(c)) if start_gone => match since {
            Some(t) => git::activity_since_time(r, c, t.timestamp())?,
            None => (0, vec![]),
        },
        (Some(r), Some(c)) => {
            let n = git::count_commits(r, start.as_deref(), c)?;
            let files = git::range_files(r, start.as_deref(), c)?;
            (n, files)
        }
        _ => (0, vec![]),
    };
    let session_ref = crate::belief::SessionRef {
        id: &id,
        starting_commit: start.as_deref(),
        started: doc.created_time().map(|t| t.timestamp()),
    };
    let beliefs = crate::belief::captured_in_session(project, &session_ref).unwrap_or_else(|e| {
        warnings.push(format!("beliefs captured could not be read: {e:#}"));
        vec![]
    });
    let sessions_prefix = format!("{}/", rel(project, &project.sessions_dir()));
    let class = classify(&Measured {
        commits,
        files: &files,
        branch: file.fm.git.branch.as_deref(),
        beliefs_captured: beliefs.len(),
        sessions_prefix: &sessions_prefix,
    });
    // Activity entry saying how the session closed.
    let (heading, status, how) = match kind {
        CloseKind::End => (
            "Session End",
            "archived",
            "Ended with `patina session end`.".to_string(),
        ),
        CloseKind::Recover => (
            "Session Recovered",
            "recovered",
            format!(
                "The session was left active (crash or forgotten); closed with `patina session recover`{}. \
                 Last activity: {}.",
                at.map(|a| format!(" --at {}", rfc3339(&a)))
                    .unwrap_or_default(),
                doc.last_activity()
                    .map(|l| rfc3339(&l))
                    .unwrap_or_else(|| "unknown".into())
            ),
        ),
        CloseKind::Abandon => (
            "Session Abandoned",
            "abandoned",
            "Closed with `patina session abandon`.".to_string(),
        ),
    };
    let mut body = vec![how];
    match (&end_tag, &end_commit) {
        (Some(tag), Some(c)) => body.push(format!(
            "Tagged as: {tag} (on {}{})",
            git::short(c),
            if kind == CloseKind::End {
                ""
            } else {
                ", the last commit made during the session"
            }
        )),
        _ => body.push("No end tag (no git history).".into()),
    }
    body.push(format!(
        "Commits: {}, files changed: {}, work type: {}",
        class.commits, class.files_changed, class.work_type
    ));
    file.append_activity(&heading_time(&t), heading, &body.join("\n"));
    // Beliefs Captured and Session Classification, with 0.11's exact labels.
    let mut bl = Vec::new();
    if beliefs.is_empty() {
        bl.push("_No beliefs captured this session_".to_string());
    } else {
        for b in &beliefs {
            bl.push(format!("- **{}**: {}", b.id, one_line(&b.statement)));
        }
    }
    file.push_section(&format!("Beliefs Captured: {}", beliefs.len()), &bl);
    let tags = match (&file.fm.git.start_tag, &end_tag) {
        (Some(s), Some(e)) => format!("{s}..{e}"),
        (None, Some(e)) => e.clone(),
        (Some(s), None) => s.clone(),
        (None, None) => "(none)".into(),
    };
    file.push_section(
        "Session Classification",
        &[
            format!("- Work Type: {}", class.work_type),
            format!("- Files Changed: {}", class.files_changed),
            format!("- Commits: {}", class.commits),
            format!("- Patterns Modified: {}", class.patterns_modified),
            format!("- Beliefs Captured: {}", class.beliefs_captured),
            format!("- Session Tags: {tags}"),
        ],
    );
    // Transcripts (the user's prompts and the agent's activity), when the reader finds any.
    if let Some(start_time) = doc.created_time() {
        // A crashed conversation goes on after the last logged activity: recover/abandon read
        // the agents' logs up to `--at`, else up to now.
        let window = crate::transcript::SessionWindow {
            start: start_time,
            end: if matches!(kind, CloseKind::End) {
                Some(ended)
            } else {
                at
            },
        };
        match crate::transcript::session_sections(project, &llm, &window, eng.secrets()) {
            Ok(Some(md)) if !md.trim().is_empty() => {
                // Replaces the copy `session update --prompts` may have written earlier.
                file.body = crate::transcript::strip_sections(&file.body);
                file.push_markdown(&md)
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("transcript not captured: {e:#}")),
        }
    }
    file.fm.status = status.to_string();
    file.fm.ended = Some(rfc3339(&ended));
    file.fm.git.end_tag = end_tag.clone();
    file.fm.git.end_commit = end_commit.clone();
    file.fm.classification = Some(class.clone());
    // The active session is archived under its id; an unterminated archived one stays where it is.
    let closing_active = source == project.active_session_path();
    let archive = if closing_active {
        archive_path(project, &id)
    } else {
        source.to_path_buf()
    };
    // No vault secret value in an archive, whatever the daemon holds: the whole text (notes
    // included) is checked against the values' keyed fingerprints.
    let rendered = file.render()?;
    let rendered = match eng.secrets().fingerprints() {
        Ok(Some(known)) => known.redact(&rendered).0,
        Ok(None) => rendered,
        Err(e) => {
            warnings.push(format!("archive not checked for secret values: {e:#}"));
            rendered
        }
    };
    store::atomic_write(&archive, rendered.as_bytes(), ARCHIVE_MODE)?;
    let archive_rel = rel(project, &archive);
    let pointer = doc::pointer::LastSession {
        id: id.clone(),
        path: archive_rel.clone(),
        status: status.to_string(),
        ended: rfc3339(&ended),
    }
    .render(&file.fm.title);
    if closing_active {
        store::atomic_write(
            &project.last_session_path(),
            pointer.as_bytes(),
            ACTIVE_MODE,
        )?;
    }
    let mut archive_commit = None;
    if commit {
        match &repo {
            Some(r) => {
                let msg = format!("session: archive {id} ({})", file.fm.title);
                archive_commit = Some(git::commit_one_file(r, Path::new(&archive_rel), &msg)?);
            }
            None => warnings.push("--commit: not a git repository; nothing committed".into()),
        }
    }
    tracing::info!(session = %id, status, "session closed");
    Ok(CloseReport {
        id,
        title: file.fm.title.clone(),
        status: status.to_string(),
        end_tag,
        end_commit,
        ended: rfc3339(&ended),
        classification: class,
        beliefs,
        path: archive,
        archive_commit,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// set aside (an active-session file that does not parse)
// ---------------------------------------------------------------------------------------------

/// Rename an active-session file that cannot be parsed to
/// `.patina/local/active-session.unreadable-<time>.md` (kept, 0600, nothing deleted), so a new
/// session can start. Refused when the file parses (then `recover` or `end` are the way out).
pub(crate) fn set_aside_unreadable(eng: &Engine, project: &Project) -> Result<PathBuf> {
    let path = project.active_session_path();
    store::update_locked(&path, &project.session_lock_path(), ACTIVE_MODE, |cur| {
        let text = cur.ok_or_else(no_active)?;
        if SessionFile::parse(&path, &text).is_ok() {
            return Err(Error::conflict(
                "the active session file is readable; use `patina session recover` or `end`",
            )
            .into());
        }
        let stamp = eng.now().format("%Y%m%d-%H%M%S");
        let aside = path.with_file_name(format!("active-session.unreadable-{stamp}.md"));
        store::atomic_write(&aside, text.as_bytes(), ACTIVE_MODE)?;
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        Ok((None, aside))
    })
}

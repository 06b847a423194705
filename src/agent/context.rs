//! `patina agent context`: a compact bundle for the start of an agent conversation — the previous
//! session's summary, open goals, recent beliefs, and the project notes most related to the
//! session's title (scry, lexical in-process so it never waits for a model).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::project::Project;

const RECENT_BELIEFS: usize = 5;
const SCRY_HITS: usize = 5;
const LAST_ENTRIES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct AgentContext {
    pub project: PathBuf,
    /// The active session, if any.
    pub session: Option<SessionBrief>,
    /// The most recent archived session.
    pub previous: Option<SessionBrief>,
    /// Unchecked goals of the active session, else of the previous one.
    pub open_goals: Vec<String>,
    pub beliefs: Vec<BeliefBrief>,
    /// What the scry query was (the session's title), and its hits.
    pub scry_query: Option<String>,
    pub scry: Vec<ScryBrief>,
    /// Parts that could not be gathered (the rest is still there).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionBrief {
    pub id: String,
    pub title: String,
    pub status: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub path: PathBuf,
    pub work_type: Option<String>,
    pub goals_done: Vec<String>,
    pub goals_open: Vec<String>,
    /// The last activity entries: heading and first line.
    pub last_entries: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BeliefBrief {
    pub id: String,
    pub statement: String,
    pub revised: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScryBrief {
    pub kind: String,
    pub path: String,
    pub title: String,
    pub line_start: usize,
    pub snippet: String,
}

/// Gather the bundle. Each part fails on its own (into `errors`), never the whole.
pub fn gather(project: &Project) -> AgentContext {
    let mut errors = Vec::new();
    let session = if project.active_session_path().is_file() {
        match read_session(&project.active_session_path()) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(format!("active session: {e:#}"));
                None
            }
        }
    } else {
        None
    };
    let previous = match latest_archived(&project.sessions_dir()) {
        Ok(Some(p)) => match read_session(&p) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(format!("previous session: {e:#}"));
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            errors.push(format!("sessions: {e:#}"));
            None
        }
    };
    let open_goals = session
        .as_ref()
        .filter(|s| !s.goals_open.is_empty())
        .or(previous.as_ref())
        .map(|s| s.goals_open.clone())
        .unwrap_or_default();
    let beliefs = match crate::belief::list(project) {
        Ok(list) => {
            let mut b: Vec<BeliefBrief> = list
                .beliefs
                .into_iter()
                .filter(|b| {
                    b.status
                        .as_deref()
                        .is_none_or(|s| s == "active" || s == "scoped")
                })
                .map(|b| BeliefBrief {
                    id: b.id,
                    statement: b.statement,
                    revised: b.revised.or(b.extracted),
                })
                .collect();
            b.sort_by(|x, y| y.revised.cmp(&x.revised).then(x.id.cmp(&y.id)));
            b.truncate(RECENT_BELIEFS);
            b
        }
        Err(e) => {
            errors.push(format!("beliefs: {e:#}"));
            vec![]
        }
    };
    let scry_query = session
        .as_ref()
        .or(previous.as_ref())
        .map(|s| s.title.clone())
        .filter(|t| !t.trim().is_empty());
    let scry = match &scry_query {
        Some(q) => match search(project, q) {
            Ok(h) => h,
            Err(e) => {
                errors.push(format!("scry: {e:#}"));
                vec![]
            }
        },
        None => vec![],
    };
    AgentContext {
        project: project.root().to_path_buf(),
        session,
        previous,
        open_goals,
        beliefs,
        scry_query,
        scry,
        errors,
    }
}

fn search(project: &Project, q: &str) -> Result<Vec<ScryBrief>> {
    let engine = crate::scry::Scry::new(crate::scry::Options {
        lexical_only: true,
        ..Default::default()
    });
    let mut query = crate::scry::Query::new(q);
    query.limit = Some(SCRY_HITS);
    let answer = engine.refresh_and_search(project, &query)?;
    Ok(answer
        .results
        .into_iter()
        .map(|h| ScryBrief {
            kind: serde_json::to_value(h.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            path: h.path,
            title: h.title,
            line_start: h.line_start,
            snippet: h.snippet,
        })
        .collect())
}

/// The newest archived session file (the archive's dated entries, newest by id).
fn latest_archived(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(crate::doc::archive::dated(dir)?.pop().map(|e| e.path))
}

fn read_session(path: &Path) -> Result<SessionBrief> {
    // A torn tail of a killed append is dropped as the session engine drops it.
    let (text, _) = crate::store::read_text_torn(path)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(brief(crate::doc::session::parse(path, &text)?))
}

/// The brief of a parsed session (the document layer's reading, shared with `session show`).
fn brief(d: crate::doc::session::SessionDoc) -> SessionBrief {
    let entries: Vec<String> = d
        .activity
        .iter()
        .map(|e| {
            let mut s = if e.time_text.is_empty() {
                e.heading.clone()
            } else {
                format!("{} - {}", e.time_text, e.heading)
            };
            if let Some(first) = e.body.lines().map(str::trim).find(|l| !l.is_empty()) {
                s.push_str(" — ");
                s.extend(first.chars().take(120));
            }
            s
        })
        .collect();
    let skip = entries.len().saturating_sub(LAST_ENTRIES);
    let (done, open): (Vec<_>, Vec<_>) = d.goals.into_iter().partition(|g| g.done);
    SessionBrief {
        id: d.id,
        title: d.title,
        status: Some(d.status),
        started: d.created,
        ended: d.ended,
        path: d.path.unwrap_or_default(),
        work_type: d.classification.map(|c| c.work_type),
        goals_done: done.into_iter().map(|g| g.text).collect(),
        goals_open: open.into_iter().map(|g| g.text).collect(),
        last_entries: entries.into_iter().skip(skip).collect(),
    }
}

/// The bundle as short markdown (the human output of `agent context`).
pub fn markdown(c: &AgentContext) -> String {
    let mut s = String::new();
    let brief = |s: &mut String, label: &str, b: &SessionBrief| {
        let _ = writeln!(s, "## {label}: {} ({})", b.title, b.id);
        if let Some(w) = &b.work_type {
            let _ = writeln!(s, "Work type: {w}");
        }
        if !b.goals_done.is_empty() {
            let _ = writeln!(s, "Done: {}", b.goals_done.join("; "));
        }
        for e in &b.last_entries {
            let _ = writeln!(s, "- {e}");
        }
        s.push('\n');
    };
    if let Some(b) = &c.session {
        brief(&mut s, "Active session", b);
    }
    if let Some(b) = &c.previous {
        brief(&mut s, "Previous session", b);
    }
    if !c.open_goals.is_empty() {
        s.push_str("## Open goals\n");
        for g in &c.open_goals {
            let _ = writeln!(s, "- [ ] {g}");
        }
        s.push('\n');
    }
    if !c.beliefs.is_empty() {
        s.push_str("## Recent beliefs\n");
        for b in &c.beliefs {
            let _ = writeln!(s, "- **{}**: {}", b.id, b.statement);
        }
        s.push('\n');
    }
    if !c.scry.is_empty() {
        let _ = writeln!(
            s,
            "## Related (scry: {})",
            c.scry_query.as_deref().unwrap_or_default()
        );
        for h in &c.scry {
            let _ = writeln!(
                s,
                "- {}:{} {} — {}",
                h.path, h.line_start, h.title, h.snippet
            );
        }
        s.push('\n');
    }
    for e in &c.errors {
        let _ = writeln!(s, "(not available: {e})");
    }
    if s.is_empty() {
        s.push_str("No previous session, goals or beliefs yet.\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{self, header};

    proptest::proptest! {
        /// The brief shows the id, title and status every other reader shows.
        #[test]
        fn brief_agrees_with_the_document_layer((stem, text) in doc::testgen::session_file()) {
            let path = PathBuf::from(format!("/s/{stem}.md"));
            let h = header::read(header::Kind::Session, &path, &doc::Document::parse(&text));
            if let Ok(d) = doc::session::parse(&path, &text) {
                let b = brief(d);
                proptest::prop_assert_eq!((b.id, b.title, b.status), (h.id, h.title, h.status));
            }
        }
    }
}

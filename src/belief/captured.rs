//! Which beliefs a session captured: files added or changed since its starting commit.

use std::path::Path;

use anyhow::Result;

use super::CapturedBelief;
use crate::git;
use crate::project::Project;

pub(crate) fn captured_since(
    project: &Project,
    starting_commit: Option<&str>,
) -> Result<Vec<CapturedBelief>> {
    Ok(changed_since(project, starting_commit)?
        .into_iter()
        .map(|c| describe(&c.path))
        .collect())
}

/// The session a capture count is for.
pub struct SessionRef<'a> {
    pub id: &'a str,
    pub starting_commit: Option<&'a str>,
    /// When the session started (unix seconds): a file that first appeared before it is a
    /// leftover of an earlier session.
    pub started: Option<i64>,
}

/// Beliefs this session created or revised: a file that links the session (`[[session-<id>]]` in
/// its evidence or Revision Log); else a file that first appeared after the session started and
/// names no other session as its origin; else a tracked file whose change is more than the
/// back-references another belief's `supports`/`attacks` link added. Not counted: files changed
/// only by back-references, and beliefs left uncommitted by an earlier session.
pub(crate) fn captured_in_session(
    project: &Project,
    session: &SessionRef,
) -> Result<Vec<CapturedBelief>> {
    let link = format!("[[session-{}", session.id);
    let mut out = Vec::new();
    for c in changed_since(project, session.starting_commit)? {
        let Ok(text) = std::fs::read_to_string(&c.path) else {
            continue;
        };
        let links_this = text.match_indices(&link).any(|(i, _)| {
            // `[[session-<id>]]`, `[[session-<id>|…]]`, or a nanosecond id's longer form
            matches!(
                text[i + link.len()..].chars().next(),
                Some(']' | '|' | '#' | '-')
            )
        });
        let counted = if links_this {
            true
        } else if created_in_other_session(&text) {
            false
        } else {
            match &c.old_text {
                // tracked at the start: only a change beyond back-references counts
                Some(old) => strip_back_references(old) != strip_back_references(&text),
                // new since the start: it must have appeared after the session began
                None => match (session.started, mtime_secs(&c.path)) {
                    (Some(start), Some(m)) => m >= start,
                    _ => true,
                },
            }
        };
        if counted {
            out.push(describe(&c.path));
        }
    }
    Ok(out)
}

/// A Revision Log line `Created in [[session-X]]` (what `belief new` writes) names the session
/// that made the file; any session link there means it is not this one's when the caller already
/// found no link to this session.
fn created_in_other_session(text: &str) -> bool {
    text.lines()
        .any(|l| l.contains("Created in [[session-") || l.contains("created in [[session-"))
}

/// The text without the lines `belief link` / `belief new --supports|--attacks` write into the
/// *other* belief: `- [[a]]: supporting belief` evidence bullets and bare `- [[a]]` bullets (the
/// Attacked-By back-reference), plus the `revised:` date such an edit may bump.
fn strip_back_references(text: &str) -> String {
    // Sections as the document layer splits them (fence-aware), each line with its section.
    let d = crate::doc::Document::parse(text);
    let fm = d.frontmatter().map(|f| f.text()).unwrap_or_default();
    let head = fm
        .lines()
        .chain(d.preamble.iter().map(|l| crate::doc::line_text(l)))
        .map(|l| ("", l));
    let sections = d.sections.iter().flat_map(|s| {
        std::iter::once(&s.heading)
            .chain(&s.body)
            .map(move |l| (s.title.as_str(), crate::doc::line_text(l)))
    });
    let mut kept = Vec::new();
    for (section, l) in head.chain(sections) {
        let t = l.trim();
        let bare_link = t.starts_with("- [[") && t.ends_with("]]") && t.matches("[[").count() == 1;
        let attacked_by = section == "Attacked-By" && bare_link;
        let supporting = t.starts_with("- [[") && t.ends_with("]]: supporting belief");
        if !(attacked_by || supporting || t.starts_with("revised:")) {
            kept.push(t.to_string());
        }
    }
    kept.join("\n")
}

fn mtime_secs(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_secs()).ok()
}

/// A belief file that differs from the starting commit, with its text there (None: it did not
/// exist there).
struct Changed {
    path: std::path::PathBuf,
    old_text: Option<String>,
}

fn changed_since(project: &Project, starting_commit: Option<&str>) -> Result<Vec<Changed>> {
    let files = git::files_changed_since(project.root(), starting_commit, &project.beliefs_dir())?;
    Ok(files
        .into_iter()
        // beliefs are the `.md` files directly in the beliefs folder
        .filter(|f| f.rel.components().count() == 1 && f.rel.extension().is_some_and(|e| e == "md"))
        .map(|f| Changed {
            path: f.path,
            old_text: f.old_text,
        })
        .collect())
}

fn describe(path: &Path) -> CapturedBelief {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match super::model::read_doc(path) {
        Ok(doc) => {
            let b = super::Belief::from_doc(&doc, path);
            CapturedBelief {
                id: b.id,
                statement: b.statement,
                path: path.to_path_buf(),
            }
        }
        Err(e) => CapturedBelief {
            id: stem,
            statement: format!("(unreadable: {e:#})"),
            path: path.to_path_buf(),
        },
    }
}

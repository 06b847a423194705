//! Walking the layer directories and reading each document's id and title.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{DocKind, LayerDoc};
use crate::project::Project;

pub(crate) fn documents(project: &Project) -> Result<Vec<LayerDoc>> {
    let beliefs_dir = project.beliefs_dir();
    let mut out = Vec::new();
    for path in markdown_files(&project.core_dir(), None)? {
        out.push(read_doc(DocKind::Core, &path)?);
    }
    for path in markdown_files(&project.surface_dir(), Some(&beliefs_dir))? {
        out.push(read_doc(DocKind::Surface, &path)?);
    }
    let mut beliefs: Vec<PathBuf> = list_dir_md(&beliefs_dir)?;
    beliefs.sort();
    for path in beliefs {
        out.push(read_doc(DocKind::Belief, &path)?);
    }
    let sessions_dir = project.sessions_dir();
    // The sessions archive may live under layer/ (0.11 layout) — never under core/surface.
    for path in markdown_files(&sessions_dir, None)? {
        out.push(read_doc(DocKind::Session, &path)?);
    }
    Ok(out)
}

/// `*.md` directly in `dir` (missing dir → none).
pub(crate) fn list_dir_md(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading directory {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.with_context(|| format!("reading directory {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".md") {
            continue;
        }
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// `**.md` under `dir`, recursively, skipping hidden entries and the `skip` directory; sorted.
fn markdown_files(dir: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if skip.is_some_and(|s| s == d) {
            continue;
        }
        out.extend(list_dir_md(&d)?);
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading directory {}", d.display())),
        };
        for entry in rd.flatten() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The id in the active session's frontmatter (`.patina/local/active-session.md`, always
/// patina's own format), when a session is active. Read here, as a document, so the layer needs
/// nothing from the session engine (no import cycle).
pub(crate) fn active_session_id(project: &Project) -> Option<String> {
    let text = std::fs::read(project.active_session_path()).ok()?;
    Head::read(&String::from_utf8_lossy(&text)).id
}

fn read_doc(kind: DocKind, path: &Path) -> Result<LayerDoc> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let head = Head::read(&text);
    let id = head.id.clone().unwrap_or_else(|| stem.clone());
    let title = match kind {
        DocKind::Belief => head.first_line_after_h1.or(head.title).or(head.h1),
        _ => head.title.or(head.h1),
    }
    .unwrap_or_else(|| id.clone());
    Ok(LayerDoc {
        kind,
        id,
        title,
        path: path.to_path_buf(),
    })
}

/// What the top of a markdown document says about itself.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub id: Option<String>,
    pub title: Option<String>,
    pub h1: Option<String>,
    pub first_line_after_h1: Option<String>,
}

impl Head {
    pub(crate) fn read(text: &str) -> Head {
        let mut head = Head::default();
        let mut body = text;
        if let Some(rest) = text
            .strip_prefix("---\n")
            .or_else(|| text.strip_prefix("---\r\n"))
            && let Some(end) = find_close(rest)
        {
            let fm = &rest[..end];
            if let Ok(serde_yaml::Value::Mapping(m)) = serde_yaml::from_str(fm) {
                head.id = m.get("id").and_then(scalar_string);
                head.title = m.get("title").and_then(scalar_string);
            }
            body = rest[end..].split_once('\n').map(|x| x.1).unwrap_or("");
        }
        let mut lines = body.lines();
        for l in lines.by_ref() {
            if let Some(h) = l.strip_prefix("# ") {
                head.h1 = Some(h.trim().to_string()).filter(|s| !s.is_empty());
                break;
            }
        }
        if head.h1.is_some() {
            head.first_line_after_h1 = lines
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("<!--"))
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string);
        }
        head
    }
}

fn find_close(rest: &str) -> Option<usize> {
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some(pos);
        }
        pos += line.len();
    }
    None
}

fn scalar_string(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_cover_core_surface_beliefs_and_legacy_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let w = |rel: &str, text: &str| {
            let p = r.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        std::fs::create_dir_all(r.join(".patina")).unwrap();
        w(
            "layer/core/dependable-rust.md",
            "---\nid: dependable-rust\n---\n# Dependable Rust\n",
        );
        w(
            "layer/surface/epistemic/rules/r.md",
            "---\nid: rule-x\n---\n# rule: x\n",
        );
        w(
            "layer/surface/epistemic/beliefs/b.md",
            "---\nid: b\n---\n\n# b\n\nThe statement.\n",
        );
        w("layer/surface/.hidden/h.md", "# hidden\n");
        w(
            "layer/sessions/20260101-000000.md",
            "---\nid: 20260101-000000\ntitle: T\n---\n",
        );
        w("layer/sessions/20250728-notes.md", "# Legacy notes\n");
        let p = Project::open(r).unwrap();
        let docs = documents(&p).unwrap();
        let got: Vec<(DocKind, &str, &str)> = docs
            .iter()
            .map(|d| (d.kind, d.id.as_str(), d.title.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (DocKind::Core, "dependable-rust", "Dependable Rust"),
                (DocKind::Surface, "rule-x", "rule: x"),
                (DocKind::Belief, "b", "The statement."),
                (DocKind::Session, "20250728-notes", "Legacy notes"),
                (DocKind::Session, "20260101-000000", "T"),
            ]
        );
        assert_eq!(docs[4].link_id(), "session-20260101-000000");
    }

    #[test]
    fn head_reads_frontmatter_and_h1() {
        let h = Head::read("---\nid: a\ntitle: T\n---\n\n# a\n\nThe statement.\n");
        assert_eq!(h.id.as_deref(), Some("a"));
        assert_eq!(h.title.as_deref(), Some("T"));
        assert_eq!(h.h1.as_deref(), Some("a"));
        assert_eq!(h.first_line_after_h1.as_deref(), Some("The statement."));
        let legacy = Head::read("# Hook Session\n**Date**: x\n");
        assert_eq!(legacy.h1.as_deref(), Some("Hook Session"));
        assert!(legacy.id.is_none());
    }
}

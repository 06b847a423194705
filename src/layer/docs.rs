//! Walking the layer directories and reading each document's id and title.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{DocKind, LayerDoc};
use crate::doc;
use crate::project::Project;

pub(crate) fn documents(project: &Project) -> Result<Vec<LayerDoc>> {
    document_files(project)?
        .into_iter()
        .map(|(kind, path)| read_doc(kind, &path))
        .collect()
}

/// Every layer document's kind and path, in [`documents`]' order, without reading them.
pub(crate) fn document_files(project: &Project) -> Result<Vec<(DocKind, PathBuf)>> {
    let beliefs_dir = project.beliefs_dir();
    let mut out = Vec::new();
    for path in markdown_files(&project.core_dir(), None)? {
        out.push((DocKind::Core, path));
    }
    for path in markdown_files(&project.surface_dir(), Some(&beliefs_dir))? {
        out.push((DocKind::Surface, path));
    }
    let mut beliefs: Vec<PathBuf> = list_dir_md(&beliefs_dir)?;
    beliefs.sort();
    for path in beliefs {
        out.push((DocKind::Belief, path));
    }
    // The sessions archive may live under layer/ (0.11 layout) — never under core/surface.
    let sessions_dir = project.sessions_dir();
    for entry in doc::archive::list(&sessions_dir)? {
        out.push((DocKind::Session, entry.path));
    }
    for path in other_layer_files(project, &sessions_dir)? {
        out.push((DocKind::Layer, path));
    }
    Ok(out)
}

/// `.md` and `.toml` files under `layer/` outside core/, surface/ and the sessions archive
/// (`layer/slate/`, work items, ...), recursively, skipping hidden entries; sorted.
fn other_layer_files(project: &Project, sessions_dir: &Path) -> Result<Vec<PathBuf>> {
    let skip = [
        project.core_dir(),
        project.surface_dir(),
        sessions_dir.to_path_buf(),
    ];
    files_under(&project.layer_dir(), &skip, &["md", "toml"])
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
    let skip: Vec<PathBuf> = skip.map(Path::to_path_buf).into_iter().collect();
    files_under(dir, &skip, &["md"])
}

/// Files with one of `exts` under `dir`, recursively, skipping hidden entries and the `skip`
/// directories (missing directories → none); sorted.
fn files_under(dir: &Path, skip: &[PathBuf], exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if skip.contains(&d) {
            continue;
        }
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading directory {}", d.display())),
        };
        for entry in rd {
            let entry = entry.with_context(|| format!("reading directory {}", d.display()))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(t) = entry.file_type() else { continue };
            let p = entry.path();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() && p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)) {
                out.push(p);
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
    let doc = doc::Document::parse(&String::from_utf8_lossy(&text));
    let yaml = doc.frontmatter()?.mapping().ok()?;
    doc::header::scalar(&yaml, "id")
}

fn read_doc(kind: DocKind, path: &Path) -> Result<LayerDoc> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(describe(kind, path, &String::from_utf8_lossy(&text)))
}

/// The id and title of the document `text` read from `path`.
pub(crate) fn describe(kind: DocKind, path: &Path, text: &str) -> LayerDoc {
    if path.extension().is_some_and(|e| e == "toml") {
        return toml_doc(kind, path, text);
    }
    layer_doc(kind, path, text)
}

/// A TOML work item: its `id` and `title` keys (top level, or in the first table that has
/// them), else the file stem. A file that is not valid TOML is still a link target by its stem:
/// the layer lists files, it does not judge formats it does not own.
fn toml_doc(kind: DocKind, path: &Path, text: &str) -> LayerDoc {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let table: Option<toml::Table> = text.parse().ok();
    let key = |k: &str| -> Option<String> {
        let t = table.as_ref()?;
        let direct = t.get(k).and_then(|v| v.as_str());
        let nested = || {
            t.values()
                .filter_map(|v| v.as_table())
                .find_map(|s| s.get(k).and_then(|v| v.as_str()))
        };
        direct
            .or_else(nested)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let id = key("id").unwrap_or_else(|| stem.clone());
    LayerDoc {
        kind,
        title: key("title").unwrap_or_else(|| id.clone()),
        id,
        path: path.to_path_buf(),
    }
}

/// The layer's view of one file: the document layer's header, a missing title being the id.
fn layer_doc(kind: DocKind, path: &Path, text: &str) -> LayerDoc {
    let header_kind = match kind {
        DocKind::Session => doc::header::Kind::Session,
        DocKind::Belief => doc::header::Kind::Belief,
        DocKind::Core | DocKind::Surface | DocKind::Layer => doc::header::Kind::Layer,
    };
    let head = doc::header::read(header_kind, path, &doc::Document::parse(text));
    // A belief without a statement is listed by its id.
    let title = Some(head.title).filter(|t| !t.is_empty());
    LayerDoc {
        kind,
        title: title.unwrap_or_else(|| head.id.clone()),
        id: head.id,
        path: path.to_path_buf(),
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

    proptest::proptest! {
        /// Layer documents carry the id and title of the document layer's header.
        #[test]
        fn sessions_and_beliefs_agree_with_the_document_layer(
            (stem, text) in crate::doc::testgen::session_file(),
            (bstem, btext) in crate::doc::testgen::belief_file(),
        ) {
            for (kind, hk, stem, text) in [
                (DocKind::Session, doc::header::Kind::Session, stem, text),
                (DocKind::Belief, doc::header::Kind::Belief, bstem, btext),
            ] {
                let path = PathBuf::from(format!("/p/{stem}.md"));
                let h = doc::header::read(hk, &path, &doc::Document::parse(&text));
                let d = layer_doc(kind, &path, &text);
                proptest::prop_assert_eq!(&d.id, &h.id);
                if !h.title.is_empty() {
                    proptest::prop_assert_eq!(&d.title, &h.title);
                }
            }
        }
    }
}

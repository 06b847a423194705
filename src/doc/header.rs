//! What a document says about itself — id, title, status — read one way for every reader
//! (session list, agent context, scry, the layer, belief list), so they never disagree.

use std::path::Path;

use super::document::{Document, line_text};
use super::session;

/// The kinds of document with a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A session file (archive or active).
    Session,
    /// A belief (`layer/surface/epistemic/beliefs/*.md`).
    Belief,
    /// Any other layer document (core, surface).
    Layer,
}

/// The id, title and status of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub id: String,
    /// Sessions: the title; beliefs: the one-line statement; layer docs: frontmatter `title`,
    /// else the first `# heading`, else the id.
    pub title: String,
    pub status: Option<String>,
}

/// The header of `doc`, read from `path` (whose stem is the id when the file names none).
/// Never fails: a session file that does not parse gets the layer rule (its errors are reported
/// by `session list`).
pub fn read(kind: Kind, path: &Path, doc: &Document) -> Header {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match kind {
        Kind::Session => match session::read(path, doc) {
            Ok(d) => Header {
                id: d.id,
                title: d.title,
                status: Some(d.status),
            },
            Err(_) => layer_header(doc, super::archive::id_of_stem(&stem)),
        },
        Kind::Belief => {
            let yaml = yaml_of(doc);
            let id = scalar(&yaml, "id").unwrap_or(stem);
            Header {
                title: belief_statement(doc).map(|s| s.1).unwrap_or_default(),
                status: scalar(&yaml, "status"),
                id,
            }
        }
        Kind::Layer => layer_header(doc, &stem),
    }
}

fn layer_header(doc: &Document, stem: &str) -> Header {
    let yaml = yaml_of(doc);
    let id = scalar(&yaml, "id").unwrap_or_else(|| stem.to_string());
    let title = scalar(&yaml, "title")
        .or_else(|| doc.h1().map(|h| h.1).filter(|t| !t.is_empty()))
        .unwrap_or_else(|| id.clone());
    Header {
        id,
        title,
        status: scalar(&yaml, "status"),
    }
}

/// The frontmatter mapping, or an empty one when there is none or it does not parse (the
/// header is then the file's stem and headings; `belief check` reports the YAML).
fn yaml_of(doc: &Document) -> serde_yaml::Mapping {
    doc.frontmatter()
        .and_then(|f| f.mapping().ok())
        .unwrap_or_default()
}

/// A scalar frontmatter value as text (strings trimmed, numbers and booleans as written);
/// empty → none.
pub fn scalar(yaml: &serde_yaml::Mapping, key: &str) -> Option<String> {
    let s = match yaml.get(key)? {
        serde_yaml::Value::String(s) => s.trim().to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

fn is_comment_line(t: &str) -> bool {
    t.starts_with("<!--") && t.ends_with("-->")
}

/// A belief's one-line statement with its 1-based line: the first non-empty line after
/// `# id`, else the first non-empty line of `## Statement` (HTML comment lines skipped).
pub fn belief_statement(doc: &Document) -> Option<(usize, String)> {
    let mut seen_h1 = false;
    for (i, l) in doc.preamble.iter().enumerate() {
        let t = line_text(l).trim();
        if line_text(l).starts_with("# ") || line_text(l).starts_with("#\t") {
            seen_h1 = true;
            continue;
        }
        if seen_h1 && !t.is_empty() && !is_comment_line(t) {
            return Some((doc.preamble_line + i, t.to_string()));
        }
    }
    let s = doc.section("Statement")?;
    s.body.iter().enumerate().find_map(|(i, l)| {
        let t = line_text(l).trim();
        (!t.is_empty() && !is_comment_line(t)).then(|| (s.line + 1 + i, t.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_its_header() {
        let p = Path::new("/x/layer/a.md");
        let d = Document::parse("---\nid: a\ntitle: T\n---\n\n# a\n\nThe statement.\n");
        assert_eq!(read(Kind::Layer, p, &d).title, "T");
        assert_eq!(read(Kind::Belief, p, &d).title, "The statement.");
        let legacy = Document::parse("# Hook Session\n**Date**: x\n");
        let h = read(Kind::Layer, Path::new("/s/20250728-hook.md"), &legacy);
        assert_eq!(
            (h.id.as_str(), h.title.as_str()),
            ("20250728-hook", "Hook Session")
        );
        let s = read(Kind::Session, Path::new("/s/20250728-hook.md"), &legacy);
        assert_eq!(
            (s.id.as_str(), s.title.as_str()),
            ("20250728-hook", "Hook Session")
        );
        let s = read(
            Kind::Session,
            Path::new("/s/1.md"),
            &Document::parse("# Session: x\n**ID**: 20250101-000000\n"),
        );
        assert_eq!((s.id.as_str(), s.title.as_str()), ("20250101-000000", "x"));
        assert_eq!(s.status.as_deref(), Some("archived"));
    }

    #[test]
    fn statement_from_the_section_when_the_preamble_has_none() {
        let d = Document::parse("---\nid: b\n---\n# b\n\n## Statement\n\n<!-- c -->\nOne line.\n");
        assert_eq!(belief_statement(&d), Some((9, "One line.".into())));
    }
}

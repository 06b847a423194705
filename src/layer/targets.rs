//! What a `[[link]]` may point at, and link completion.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Result;
use regex::Regex;

use super::{DocKind, LayerDoc};
use crate::project::Project;

/// How a link target resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// A known document id of this kind.
    Known(DocKind),
    /// An existing file named by path.
    File,
    /// A commit reference or URL: outside the layer, never checked.
    External,
    /// A session link that is a prefix of more than one session id ([`LinkTargets::candidates`]).
    Ambiguous,
    /// Points at nothing.
    Dangling,
}

static COMMIT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(commit-)?[0-9a-f]{7,40}$").unwrap());

/// Every id a link can name in one project, built once per check.
#[derive(Debug)]
pub(crate) struct LinkTargets {
    ids: HashMap<String, DocKind>,
    /// Every session link id (frontmatter id and file-stem alias) → its file (empty path for
    /// the active session), for prefix matching.
    session_files: HashMap<String, PathBuf>,
    root: PathBuf,
    layer: PathBuf,
}

impl LinkTargets {
    /// Build from the layer's documents plus the active session (`session-<id>`), which is not
    /// archived yet but is what a freshly captured belief links.
    pub(crate) fn load(project: &Project) -> Result<LinkTargets> {
        let docs = super::docs::documents(project)?;
        let active = super::docs::active_session_id(project);
        Ok(Self::from_docs(project, &docs, active.as_deref()))
    }

    pub(crate) fn from_docs(project: &Project, docs: &[LayerDoc], active: Option<&str>) -> Self {
        let mut ids = HashMap::new();
        let mut session_files = HashMap::new();
        let mut bare = Vec::new();
        for d in docs {
            let mut aliases = vec![d.link_id()];
            // A file is also reachable by its stem when its frontmatter id differs.
            if let Some(stem) = d.path.file_stem().map(|s| s.to_string_lossy().into_owned()) {
                aliases.push(match d.kind {
                    DocKind::Session => format!("session-{stem}"),
                    _ => stem,
                });
            }
            if d.kind == DocKind::Session {
                // The bare id (`[[20260204-193822]]`) names the session too, after any belief
                // or document that has that id (inserted first, never replaced).
                bare.push(d.id.clone());
            }
            for alias in aliases {
                if d.kind == DocKind::Session {
                    session_files
                        .entry(alias.clone())
                        .or_insert_with(|| d.path.clone());
                }
                ids.entry(alias).or_insert(d.kind);
            }
        }
        for id in bare {
            ids.entry(id).or_insert(DocKind::Session);
        }
        if let Some(a) = active {
            let id = format!("session-{a}");
            session_files.entry(id.clone()).or_default();
            ids.entry(id).or_insert(DocKind::Session);
        }
        LinkTargets {
            ids,
            session_files,
            root: project.root().to_path_buf(),
            layer: project.layer_dir(),
        }
    }

    pub(crate) fn resolve(&self, target: &str) -> Resolution {
        let t = target.trim();
        if let Some(k) = self.ids.get(t) {
            return Resolution::Known(*k);
        }
        match self.candidates(t).len() {
            0 => {}
            1 => return Resolution::Known(DocKind::Session),
            _ => return Resolution::Ambiguous,
        }
        if COMMIT_RE.is_match(t) || t.contains("://") {
            return Resolution::External;
        }
        if is_relative_path(t) {
            for base in [&self.root, &self.layer] {
                let p = base.join(t);
                if p.is_file() || p.with_extension("md").is_file() || {
                    let mut s = p.clone().into_os_string();
                    s.push(".md");
                    Path::new(&s).is_file()
                } {
                    return Resolution::File;
                }
            }
        }
        Resolution::Dangling
    }

    /// The session link ids that `target` (`session-<prefix>`) is a prefix of, ending at a `-`
    /// (`session-20260709-091408` names `session-20260709-091408-460632000`); sorted. Empty for
    /// a target that is not a session link or is an exact id.
    pub(crate) fn candidates(&self, target: &str) -> Vec<String> {
        let t = target.trim();
        if !t.starts_with("session-") || t.len() <= "session-".len() || self.ids.contains_key(t) {
            return vec![];
        }
        let mut out: Vec<String> = self
            .session_files
            .keys()
            .filter(|id| id.len() > t.len() && id.starts_with(t) && id.as_bytes()[t.len()] == b'-')
            .cloned()
            .collect();
        out.sort();
        // One session file reachable by two aliases (frontmatter id and file stem) is one
        // candidate, named by its first alias.
        let mut seen = HashSet::new();
        out.retain(|id| seen.insert(self.session_files.get(id).cloned().unwrap_or_default()));
        out
    }

    /// All known ids (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn ids(&self) -> HashSet<&str> {
        self.ids.keys().map(String::as_str).collect()
    }
}

/// A path that stays inside its base: relative, no `..` components.
fn is_relative_path(t: &str) -> bool {
    !t.is_empty()
        && !t.starts_with('/')
        && Path::new(t)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn kind_rank(k: DocKind) -> u8 {
    match k {
        DocKind::Belief => 0,
        DocKind::Core => 1,
        DocKind::Surface => 2,
        DocKind::Session => 3,
        DocKind::Layer => 4,
    }
}

/// Ranked completion (see `layer::complete_link`).
pub(crate) fn complete(docs: &[LayerDoc], prefix: &str, limit: usize) -> Vec<String> {
    let needle = prefix.trim().to_lowercase();
    let mut seen = HashSet::new();
    let mut cands: Vec<(u8, usize, u8, String)> = Vec::new();
    for d in docs {
        let id = d.link_id();
        if !seen.insert(id.clone()) {
            continue;
        }
        let hay = id.to_lowercase();
        let class = if hay.starts_with(&needle) {
            0
        } else if hay.contains(&needle) {
            1
        } else {
            continue;
        };
        cands.push((class, id.chars().count(), kind_rank(d.kind), id));
    }
    cands.sort_by(|a, b| {
        (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then_with(|| {
            if a.2 == kind_rank(DocKind::Session) {
                b.3.cmp(&a.3) // same length sessions: newest first
            } else {
                a.3.cmp(&b.3)
            }
        })
    });
    cands.into_iter().take(limit).map(|c| c.3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: DocKind, id: &str) -> LayerDoc {
        LayerDoc {
            kind,
            id: id.into(),
            title: id.into(),
            path: PathBuf::from(format!("/x/{id}.md")),
        }
    }

    #[test]
    fn prefix_before_substring_then_shorter() {
        let docs = vec![
            doc(DocKind::Belief, "measure-the-measurement"),
            doc(DocKind::Belief, "measure-first"),
            doc(DocKind::Core, "dont-measure"),
            doc(DocKind::Session, "20260101-000000"),
            doc(DocKind::Session, "20260202-000000"),
        ];
        assert_eq!(
            complete(&docs, "measure", 10),
            vec!["measure-first", "measure-the-measurement", "dont-measure"]
        );
        assert_eq!(
            complete(&docs, "session-2026", 10),
            vec!["session-20260202-000000", "session-20260101-000000"]
        );
        assert_eq!(complete(&docs, "MEAS", 1), vec!["measure-first"]);
        assert!(complete(&docs, "zzz", 5).is_empty());
    }

    #[test]
    fn a_seconds_id_names_its_nanosecond_file_unless_two_share_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".patina")).unwrap();
        let p = Project::open(dir.path()).unwrap();
        let docs = [
            doc(DocKind::Session, "20260709-091408-460632000"),
            doc(DocKind::Session, "20260710-100000-000000001"),
            doc(DocKind::Session, "20260710-100000-000000002"),
            doc(DocKind::Belief, "session-notes-belief"),
        ];
        let t = LinkTargets::from_docs(&p, &docs, None);
        assert_eq!(
            t.resolve("session-20260709-091408"),
            Resolution::Known(DocKind::Session)
        );
        assert_eq!(
            t.resolve("20260709-091408-460632000"),
            Resolution::Known(DocKind::Session)
        );
        assert_eq!(t.resolve("session-20260710-100000"), Resolution::Ambiguous);
        assert_eq!(
            t.candidates("session-20260710-100000"),
            vec![
                "session-20260710-100000-000000001",
                "session-20260710-100000-000000002"
            ]
        );
        // only whole `-` components: a digit prefix is not a match, nor a belief id
        assert_eq!(t.resolve("session-20260709-0914"), Resolution::Dangling);
        assert_eq!(t.resolve("session-notes"), Resolution::Dangling);
        assert_eq!(t.resolve("session-"), Resolution::Dangling);
    }

    #[test]
    fn commits_and_urls_are_external() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".patina")).unwrap();
        std::fs::create_dir_all(dir.path().join("layer")).unwrap();
        std::fs::write(dir.path().join("layer/notes.md"), "x").unwrap();
        let p = Project::open(dir.path()).unwrap();
        let t = LinkTargets::from_docs(&p, &[doc(DocKind::Belief, "a")], Some("20260101-000000"));
        assert_eq!(t.resolve("a"), Resolution::Known(DocKind::Belief));
        assert_eq!(
            t.resolve("session-20260101-000000"),
            Resolution::Known(DocKind::Session)
        );
        assert_eq!(t.resolve("0dd3b9ca"), Resolution::External);
        assert_eq!(t.resolve("commit-09e2abbf"), Resolution::External);
        assert_eq!(t.resolve("https://x.org/a"), Resolution::External);
        assert_eq!(t.resolve("notes"), Resolution::File);
        assert_eq!(t.resolve("notes.md"), Resolution::File);
        assert_eq!(t.resolve("../etc/passwd"), Resolution::Dangling);
        assert_eq!(t.resolve("b"), Resolution::Dangling);
        assert!(t.ids().contains("a"));
    }
}

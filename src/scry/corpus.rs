//! The corpus: everything scry indexes, cut into chunks with stable ids and content hashes.
//!
//! Kinds: layer docs (by `## ` section when long), beliefs (one chunk each), sessions (a header
//! chunk plus one chunk per activity entry), commit messages (git2, newest first, capped) and
//! source files (line windows with overlap; .gitignore respected with the `ignore` crate, binary
//! and huge files skipped). `[scry] include/exclude` in `.patina/config.toml` adjust the source set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Kind;
use crate::layer::{self, DocKind};
use crate::project::Project;

/// Lines per source window and the overlap between consecutive windows.
pub const WINDOW_LINES: usize = 40;
pub const WINDOW_OVERLAP: usize = 10;
/// Source files larger than this are skipped.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
/// Layer docs up to this many characters are one chunk; longer ones are split by section.
const WHOLE_DOC_CHARS: usize = 2400;

/// `[scry]` in `.patina/config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ScryConfig {
    /// gitignore-syntax globs of extra files to index even when git ignores them.
    pub include: Vec<String>,
    /// gitignore-syntax globs of files never to index.
    pub exclude: Vec<String>,
    /// How many commits (newest first) to index; default 5000.
    pub max_commits: Option<usize>,
    /// Set false to leave source files out.
    pub code: Option<bool>,
}

/// One indexed unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Chunk {
    pub doc_id: String,
    pub kind: Kind,
    /// Relative to the project root (a commit's short sha for commits).
    pub path: String,
    pub title: String,
    pub line_start: usize,
    pub line_end: usize,
    pub text: String,
    /// SHA-256 of [`Chunk::embed_text`]: vectors are reused by this hash.
    pub hash: String,
}

impl Chunk {
    fn new(
        doc_id: String,
        kind: Kind,
        path: String,
        title: String,
        lines: (usize, usize),
        text: String,
    ) -> Chunk {
        let mut c = Chunk {
            doc_id,
            kind,
            path,
            title,
            line_start: lines.0,
            line_end: lines.1,
            text,
            hash: String::new(),
        };
        c.hash = hex::encode(Sha256::digest(c.embed_text().as_bytes()));
        c
    }

    /// What the model sees: title, then the text.
    pub fn embed_text(&self) -> String {
        format!("{}\n{}", self.title, self.text)
    }
}

/// Gather every chunk of the project, sorted by doc_id.
pub fn gather(project: &Project) -> Result<Vec<Chunk>> {
    let cfg: ScryConfig = project.config().section("scry")?;
    let root = project.root();
    let mut chunks = vec![];
    let mut seen_paths: HashSet<PathBuf> = HashSet::new();

    for doc in layer_documents(project)? {
        let abs = if doc.path.is_absolute() {
            doc.path.clone()
        } else {
            root.join(&doc.path)
        };
        if !seen_paths.insert(abs.clone()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&abs) else {
            continue;
        };
        let rel = rel_path(root, &abs);
        match doc.kind {
            DocKind::Session => {
                let id = doc.id.strip_prefix("session-").unwrap_or(&doc.id);
                session_chunks(&rel, id, &text, &mut chunks)
            }
            DocKind::Belief => belief_chunk(&rel, &doc.id, &text, &mut chunks),
            DocKind::Core | DocKind::Surface => layer_chunks(&rel, &text, &mut chunks),
        }
    }
    // The active session is knowledge too.
    let active = project.active_session_path();
    if let Ok(text) = std::fs::read_to_string(&active) {
        let id = frontmatter_value(&text, "id").unwrap_or_else(|| "active".into());
        session_chunks(&rel_path(root, &active), &id, &text, &mut chunks);
    }

    commit_chunks(project, cfg.max_commits.unwrap_or(5000), &mut chunks)?;
    if cfg.code != Some(false) {
        code_chunks(project, &cfg, &mut chunks)?;
    }
    chunks.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
    chunks.dedup_by(|a, b| a.doc_id == b.doc_id);
    Ok(chunks)
}

/// Layer documents from the layer module; until it enumerates anything, walk the layout here.
fn layer_documents(project: &Project) -> Result<Vec<layer::LayerDoc>> {
    let docs = layer::documents(project)?;
    if !docs.is_empty() {
        return Ok(docs);
    }
    let mut out = vec![];
    let beliefs = project.beliefs_dir();
    for (dir, kind) in [
        (project.core_dir(), DocKind::Core),
        (project.surface_dir(), DocKind::Surface),
        (project.sessions_dir(), DocKind::Session),
    ] {
        for path in markdown_files(&dir) {
            let kind = if kind == DocKind::Surface && path.starts_with(&beliefs) {
                DocKind::Belief
            } else {
                kind
            };
            // layer/sessions sits inside layer/ but is walked as sessions, not surface docs.
            if kind != DocKind::Session && path.starts_with(project.sessions_dir()) {
                continue;
            }
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(layer::LayerDoc {
                kind,
                title: id.clone(),
                id,
                path,
            });
        }
    }
    Ok(out)
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() && p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// Split off YAML frontmatter: (frontmatter, body, number of lines before the body).
fn split_frontmatter(text: &str) -> (&str, &str, usize) {
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---")
    {
        let fm = &rest[..end];
        let after = &rest[end + 4..];
        let after = after.strip_prefix('\n').unwrap_or(after);
        let skipped = text[..text.len() - after.len()].lines().count();
        return (fm, after, skipped);
    }
    ("", text, 0)
}

fn frontmatter_value(text: &str, key: &str) -> Option<String> {
    let (fm, _, _) = split_frontmatter(text);
    fm.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        let v = v.split(" #").next().unwrap_or(v).trim().trim_matches('"');
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn first_heading(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.trim().to_string())
}

fn session_chunks(rel: &str, id: &str, text: &str, out: &mut Vec<Chunk>) {
    let title = frontmatter_value(text, "title")
        .or_else(|| {
            first_heading(text).map(|h| h.trim_start_matches("Session:").trim().to_string())
        })
        .unwrap_or_else(|| id.to_string());
    let lines: Vec<&str> = text.lines().collect();
    // Header = everything outside activity entries; entries = `### ` blocks under `## Activity Log`.
    let mut header: Vec<&str> = vec![];
    let mut entries: Vec<(usize, usize)> = vec![]; // [start, end) line indexes
    let mut in_log = false;
    let mut current: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("## ") {
            if let Some(s) = current.take() {
                entries.push((s, i));
            }
            in_log = line
                .trim_start_matches('#')
                .trim()
                .eq_ignore_ascii_case("activity log")
                || line
                    .trim_start_matches('#')
                    .trim()
                    .eq_ignore_ascii_case("timeline");
            header.push(line);
            continue;
        }
        if in_log && line.starts_with("### ") {
            if let Some(s) = current.take() {
                entries.push((s, i));
            }
            current = Some(i);
            continue;
        }
        if current.is_none() {
            header.push(line);
        }
    }
    if let Some(s) = current {
        entries.push((s, lines.len()));
    }
    let header_text = header.join("\n");
    out.push(Chunk::new(
        format!("session:{id}:0"),
        Kind::Session,
        rel.to_string(),
        title.clone(),
        (1, lines.len().max(1)),
        header_text.trim().to_string(),
    ));
    for (n, (s, e)) in entries.into_iter().enumerate() {
        let heading = lines[s].trim_start_matches('#').trim();
        if is_release_log(heading) {
            // Who got which secret when (`secrets::log_release`) is for the session's own
            // record, not for search results (or an index file) to repeat.
            continue;
        }
        let body = lines[s + 1..e].join("\n");
        out.push(Chunk::new(
            format!("session:{id}:{}", n + 1),
            Kind::Session,
            rel.to_string(),
            format!("{title} — {heading}"),
            (s + 1, e),
            body.trim().to_string(),
        ));
    }
}

/// The heading `secrets::log_release` writes: `YYYY-MM-DD HH:MM - Secrets released`.
fn is_release_log(heading: &str) -> bool {
    heading
        .rsplit_once(" - ")
        .is_some_and(|(_, what)| what.trim() == "Secrets released")
}

fn belief_chunk(rel: &str, id: &str, text: &str, out: &mut Vec<Chunk>) {
    let (_, body, skipped) = split_frontmatter(text);
    let id = frontmatter_value(text, "id").unwrap_or_else(|| id.to_string());
    let total = text.lines().count().max(1);
    out.push(Chunk::new(
        format!("belief:{id}"),
        Kind::Belief,
        rel.to_string(),
        id,
        (skipped + 1, total),
        body.trim().to_string(),
    ));
}

fn layer_chunks(rel: &str, text: &str, out: &mut Vec<Chunk>) {
    let (_, body, skipped) = split_frontmatter(text);
    let stem = Path::new(rel)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = first_heading(body).unwrap_or(stem);
    let lines: Vec<&str> = body.lines().collect();
    if body.chars().count() <= WHOLE_DOC_CHARS {
        out.push(Chunk::new(
            format!("layer:{rel}:0"),
            Kind::Layer,
            rel.to_string(),
            title,
            (skipped + 1, skipped + lines.len().max(1)),
            body.trim().to_string(),
        ));
        return;
    }
    let mut starts: Vec<usize> = vec![0];
    starts.extend(
        lines
            .iter()
            .enumerate()
            .filter(|(i, l)| *i > 0 && l.starts_with("## "))
            .map(|(i, _)| i),
    );
    let mut n = 0;
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(lines.len());
        let heading = lines[s].strip_prefix("## ").map(str::trim);
        let section_title = match heading {
            Some(h) => format!("{title} › {h}"),
            None => title.clone(),
        };
        for (ws, we) in windows(e - s, WINDOW_LINES * 2, WINDOW_OVERLAP) {
            let text = lines[s + ws..s + we].join("\n");
            if text.trim().is_empty() {
                continue;
            }
            out.push(Chunk::new(
                format!("layer:{rel}:{n}"),
                Kind::Layer,
                rel.to_string(),
                section_title.clone(),
                (skipped + s + ws + 1, skipped + s + we),
                text.trim().to_string(),
            ));
            n += 1;
        }
    }
}

/// Windows `[start, end)` over `len` lines of `size` lines overlapping by `overlap`.
fn windows(len: usize, size: usize, overlap: usize) -> Vec<(usize, usize)> {
    if len == 0 {
        return vec![];
    }
    let step = size.saturating_sub(overlap).max(1);
    let mut out = vec![];
    let mut s = 0;
    loop {
        let e = (s + size).min(len);
        out.push((s, e));
        if e == len {
            break;
        }
        s += step;
    }
    out
}

fn commit_chunks(project: &Project, max: usize, out: &mut Vec<Chunk>) -> Result<()> {
    if max == 0 {
        return Ok(());
    }
    let Ok(repo) = git2::Repository::discover(project.root()) else {
        return Ok(());
    };
    let mut walk = repo.revwalk().context("walking git history")?;
    if walk.push_head().is_err() {
        return Ok(()); // no commits yet
    }
    for oid in walk.take(max) {
        let oid = oid.context("walking git history")?;
        let commit = repo
            .find_commit(oid)
            .with_context(|| format!("reading commit {oid}"))?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let subject = message.lines().next().unwrap_or("").trim().to_string();
        let sha = oid.to_string();
        let short = sha[..7].to_string();
        let lines = message.lines().count().max(1);
        out.push(Chunk::new(
            format!("commit:{sha}"),
            Kind::Commit,
            short,
            subject,
            (1, lines),
            message.trim().to_string(),
        ));
    }
    Ok(())
}

fn matcher(root: &Path, globs: &[String]) -> Result<Option<Gitignore>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GitignoreBuilder::new(root);
    for g in globs {
        b.add_line(None, g)
            .with_context(|| format!(".patina/config.toml: [scry] invalid glob {g:?}"))?;
    }
    Ok(Some(
        b.build().context(".patina/config.toml: [scry] globs")?,
    ))
}

fn code_chunks(project: &Project, cfg: &ScryConfig, out: &mut Vec<Chunk>) -> Result<()> {
    let root = project.root();
    let exclude = matcher(root, &cfg.exclude)?;
    let include = matcher(root, &cfg.include)?;
    let skip_dirs = [
        root.join(".git"),
        project.patina_dir(),
        project.layer_dir(),
        project.sessions_dir(),
    ];
    let mut files: Vec<PathBuf> = vec![];
    let walk = |standard: bool, files: &mut Vec<PathBuf>| {
        let skip = skip_dirs.clone();
        let mut wb = ignore::WalkBuilder::new(root);
        wb.standard_filters(standard)
            .require_git(false)
            .hidden(true)
            .follow_links(false)
            .filter_entry(move |e| !skip.iter().any(|s| e.path() == s));
        for entry in wb.build().flatten() {
            if entry.file_type().is_some_and(|t| t.is_file()) {
                files.push(entry.into_path());
            }
        }
    };
    walk(true, &mut files);
    if let Some(inc) = &include {
        let mut extra = vec![];
        walk(false, &mut extra);
        files.extend(
            extra
                .into_iter()
                .filter(|p| inc.matched_path_or_any_parents(p, false).is_ignore()),
        );
    }
    files.sort();
    files.dedup();
    for path in files {
        if let Some(ex) = &exclude
            && ex.matched_path_or_any_parents(&path, false).is_ignore()
        {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.len() > MAX_FILE_BYTES || meta.len() == 0 {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            continue; // binary
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let rel = rel_path(root, &path);
        let lines: Vec<&str> = text.lines().collect();
        for (s, e) in windows(lines.len(), WINDOW_LINES, WINDOW_OVERLAP) {
            let body = lines[s..e].join("\n");
            if body.trim().is_empty() {
                continue;
            }
            out.push(Chunk::new(
                format!("code:{rel}:{}", s + 1),
                Kind::Code,
                rel.clone(),
                rel.clone(),
                (s + 1, e),
                body,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_and_cover() {
        assert_eq!(windows(0, 40, 10), vec![]);
        assert_eq!(windows(10, 40, 10), vec![(0, 10)]);
        assert_eq!(windows(70, 40, 10), vec![(0, 40), (30, 70)]);
        assert_eq!(windows(71, 40, 10), vec![(0, 40), (30, 70), (60, 71)]);
    }

    #[test]
    fn release_log_entries_are_not_indexed() {
        let text = "---\ntype: session\nid: 1\ntitle: t\n---\n## Activity Log\n### 2026-11-29 14:15 - Note\nkept\n### 2026-11-29 14:16 - Secrets released\nReleased `api-key` to pid 7 (`deploy`) via daemon.\n";
        let mut out = vec![];
        session_chunks("sessions/x.md", "1", text, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|c| !c.text.contains("Released")));
    }

    #[test]
    fn session_splits_header_and_entries() {
        let text = "---\ntype: session\nid: 20261129-141503\ntitle: review\n---\n\n## Goals\n- [ ] a\n## Activity Log\n### 2026-11-29 14:15 - Session Start\nstarted\n### 2026-11-29 14:40 - Note\nfound the cause\n## Session Classification\n- Work Type: feature\n";
        let mut out = vec![];
        session_chunks("sessions/x.md", "20261129-141503", text, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].title, "review");
        assert!(out[0].text.contains("Work Type"));
        assert!(!out[0].text.contains("found the cause"));
        assert_eq!(out[2].title, "review — 2026-11-29 14:40 - Note");
        assert_eq!(out[2].text, "found the cause");
        assert_eq!((out[2].line_start, out[2].line_end), (12, 13));
    }

    #[test]
    fn legacy_session_title() {
        let text = "# Session: first run\n**ID**: 20250728-182427\n\n## Activity Log\n### 18:24 - Start\nx\n";
        let mut out = vec![];
        session_chunks("layer/sessions/a.md", "20250728-182427", text, &mut out);
        assert_eq!(out[0].title, "first run");
        assert_eq!(out.len(), 2);
    }
}

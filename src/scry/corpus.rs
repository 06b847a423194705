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
use crate::doc;
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

    for doc in layer::documents(project)? {
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
            DocKind::Core | DocKind::Surface => layer_chunks(&rel, &doc.title, &text, &mut chunks),
        }
    }
    // The active session is knowledge too.
    let active = project.active_session_path();
    if let Ok(text) = std::fs::read_to_string(&active) {
        let head = doc::header::read(
            doc::header::Kind::Session,
            &active,
            &doc::Document::parse(&text),
        );
        session_chunks(&rel_path(root, &active), &head.id, &text, &mut chunks);
    }

    commit_chunks(project, cfg.max_commits.unwrap_or(5000), &mut chunks)?;
    if cfg.code != Some(false) {
        code_chunks(project, &cfg, &mut chunks)?;
    }
    chunks.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
    chunks.dedup_by(|a, b| a.doc_id == b.doc_id);
    Ok(chunks)
}

fn rel_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// The body (everything after the frontmatter) as lines without terminators, and the number
/// of lines before it.
fn body_lines(d: &doc::Document) -> (Vec<&str>, usize) {
    let lines = d.body_lines().map(|(_, l)| doc::line_text(l)).collect();
    (lines, d.preamble_line - 1)
}

fn session_chunks(rel: &str, id: &str, text: &str, out: &mut Vec<Chunk>) {
    let d = doc::Document::parse(text);
    // The title every other reader shows (`doc::header`), so scry agrees with `session list`.
    let title = doc::header::read(doc::header::Kind::Session, Path::new(rel), &d).title;
    let lines: Vec<&str> = doc::strip_bom(text).lines().collect();
    // Header = everything outside activity entries; entries = `### ` blocks of the log sections.
    let entries: Vec<doc::session::EntrySpan> = d
        .sections
        .iter()
        .filter(|s| doc::session::is_log_section(&s.title))
        .flat_map(doc::session::entries)
        .collect();
    let mut in_entry = vec![false; lines.len()];
    for e in &entries {
        for flag in in_entry.iter_mut().skip(e.line - 1).take(e.body.len() + 1) {
            *flag = true;
        }
    }
    let header: Vec<&str> = lines
        .iter()
        .zip(&in_entry)
        .filter(|(_, inside)| !**inside)
        .map(|(l, _)| *l)
        .collect();
    out.push(Chunk::new(
        format!("session:{id}:0"),
        Kind::Session,
        rel.to_string(),
        title.clone(),
        (1, lines.len().max(1)),
        header.join("\n").trim().to_string(),
    ));
    for (n, e) in entries.iter().enumerate() {
        if is_release_log(&e.heading) {
            // Who got which secret when (`secrets::log_release`) is for the session's own
            // record, not for search results (or an index file) to repeat.
            continue;
        }
        let body: Vec<&str> = e.body.iter().map(|l| doc::line_text(l)).collect();
        out.push(Chunk::new(
            format!("session:{id}:{}", n + 1),
            Kind::Session,
            rel.to_string(),
            format!("{title} — {}", e.heading),
            (e.line, e.line + e.body.len()),
            body.join("\n").trim().to_string(),
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
    let d = doc::Document::parse(text);
    let (body, skipped) = body_lines(&d);
    let total = skipped + body.len();
    out.push(Chunk::new(
        format!("belief:{id}"),
        Kind::Belief,
        rel.to_string(),
        id.to_string(),
        (skipped + 1, total.max(1)),
        body.join("\n").trim().to_string(),
    ));
}

fn layer_chunks(rel: &str, title: &str, text: &str, out: &mut Vec<Chunk>) {
    let d = doc::Document::parse(text);
    let (lines, skipped) = body_lines(&d);
    let body = lines.join("\n");
    if body.chars().count() <= WHOLE_DOC_CHARS {
        out.push(Chunk::new(
            format!("layer:{rel}:0"),
            Kind::Layer,
            rel.to_string(),
            title.to_string(),
            (skipped + 1, skipped + lines.len().max(1)),
            body.trim().to_string(),
        ));
        return;
    }
    // The preamble, then one part per `## ` section (fence-aware), as (start, end, heading).
    let mut parts: Vec<(usize, usize, Option<&str>)> = vec![(0, d.preamble.len(), None)];
    let mut at = d.preamble.len();
    for s in &d.sections {
        parts.push((at, at + 1 + s.body.len(), Some(s.title.as_str())));
        at += 1 + s.body.len();
    }
    let mut n = 0;
    for (s, e, heading) in parts {
        let section_title = match heading {
            Some(h) => format!("{title} › {h}"),
            None => title.to_string(),
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

    proptest::proptest! {
        /// Session chunks carry the title every other reader shows (`doc::header`).
        #[test]
        fn session_title_agrees_with_the_document_layer(
            (stem, text) in crate::doc::testgen::session_file()
        ) {
            let rel = format!("layer/sessions/{stem}.md");
            let h = doc::header::read(
                doc::header::Kind::Session,
                Path::new(&rel),
                &doc::Document::parse(&text),
            );
            let mut out = vec![];
            session_chunks(&rel, &h.id, &text, &mut out);
            proptest::prop_assert_eq!(&out[0].title, &h.title);
            proptest::prop_assert_eq!(&out[0].doc_id, &format!("session:{}:0", h.id));
        }
    }
}

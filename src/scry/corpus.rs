//! The corpus: everything scry indexes, cut into chunks with stable ids and content hashes.
//!
//! Kinds: layer docs (every `.md` and `.toml` under `layer/`, as `layer::documents` lists them),
//! beliefs, sessions (one chunk per activity entry and per other section), commit messages (git::recent_messages,
//! newest first, capped) and source files (.gitignore respected with the `ignore` crate; binary,
//! huge, lockfiles, generated, minified and vendored files skipped — [`default_exclusion`]).
//! Chunking is structure-aware and edit-stable (`chunk.rs`): items for code, headings and
//! paragraphs for markdown, tables for TOML, paragraphs for the rest, every chunk under the
//! model's window. `[scry] include/exclude` in `.patina/config.toml` adjust the source set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Kind;
use super::chunk::{self, Lang, Piece, Shape};
use crate::doc;
use crate::layer::{self, DocKind};
use crate::project::Project;

/// Source files larger than this are skipped.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;

/// `[scry]` in `.patina/config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ScryConfig {
    /// gitignore-syntax globs of extra files to index even when git ignores them or they are
    /// excluded by default (lockfiles, generated, minified, vendored: [`default_exclusion`]).
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

/// Bump when chunking changes what the same files produce, so that an index whose sources are
/// unchanged is still rebuilt by a binary that cuts them differently.
const CHUNKING_REVISION: u32 = 1;

/// Gather every chunk of the project, sorted by doc_id.
pub fn gather(project: &Project) -> Result<Vec<Chunk>> {
    Ok(Sources::read(project)?.chunks())
}

/// Everything the corpus is made of, read from the work tree and git but not chunked yet, with
/// a digest of all of it. A refresh whose digest is the index's own stops here: reading and
/// hashing is a tenth of chunking (tree-sitter parses, markdown sections), so an unchanged
/// project costs about what `sha256sum` over its files does.
pub(crate) struct Sources {
    docs: Vec<DocSource>,
    /// The active session: (path from the root, text).
    active: Option<(String, String)>,
    /// (sha, message), newest first.
    commits: Vec<(String, String)>,
    /// Source files: (path from the root, text), sorted by path.
    code: Vec<(String, String)>,
    known: Option<crate::secrets::Fingerprints>,
    /// SHA-256 (hex) over the chunking revision, the `[scry]` config, the known secret
    /// fingerprints and every input above.
    pub digest: String,
}

struct DocSource {
    kind: DocKind,
    path: PathBuf,
    rel: String,
    text: String,
}

impl Sources {
    pub fn read(project: &Project) -> Result<Sources> {
        let cfg: ScryConfig = project.config().section("scry")?;
        // A vault value pasted into a note or a layer document must not reach an index file or
        // a search result: documents are redacted by the values' keyed fingerprints before
        // chunking (whatever the daemon holds). An unreadable fingerprint file fails the refresh.
        let known = crate::secrets::Fingerprints::load()?;
        // Source files are walked and read on a second thread while this one reads the layer
        // and the history.
        let (knowledge, code) = std::thread::scope(|s| {
            let code = (cfg.code != Some(false)).then(|| s.spawn(|| code_sources(project, &cfg)));
            let knowledge = knowledge_sources(project, &cfg);
            let code = match code {
                Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => Ok(vec![]),
            };
            (knowledge, code)
        });
        let (docs, active, commits) = knowledge?;
        let code = code?;
        let mut h = Sha256::new();
        let mut field = |tag: u8, bytes: &[u8]| {
            h.update([tag]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(0, &CHUNKING_REVISION.to_le_bytes());
        field(1, format!("{cfg:?}").as_bytes());
        field(2, &known.as_ref().map(|k| k.digest()).unwrap_or_default());
        for d in &docs {
            field(3, d.rel.as_bytes());
            field(4, &[d.kind as u8]);
            field(5, d.text.as_bytes());
        }
        if let Some((rel, text)) = &active {
            field(8, rel.as_bytes());
            field(9, text.as_bytes());
        }
        for (sha, message) in &commits {
            field(10, sha.as_bytes());
            field(11, message.as_bytes());
        }
        for (rel, text) in &code {
            field(12, rel.as_bytes());
            field(13, text.as_bytes());
        }
        Ok(Sources {
            docs,
            active,
            commits,
            code,
            known,
            digest: hex::encode(h.finalize()),
        })
    }

    /// Cut everything into chunks, sorted by doc_id. Source files (tree-sitter parses: on a
    /// real project the larger half of the work) are chunked on a second thread (a first
    /// lexical build of 20.6k chunks: 1.07 → 0.96 s with the other changes of e70da2e).
    pub fn chunks(&self) -> Vec<Chunk> {
        let (mut chunks, code) = std::thread::scope(|s| {
            let code = s.spawn(|| {
                let mut out = vec![];
                for (rel, text) in &self.code {
                    source_chunks(rel, text, &mut out);
                }
                out
            });
            let knowledge = self.knowledge_chunks();
            let code = code.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (knowledge, code)
        });
        chunks.extend(code);
        chunks.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
        chunks.dedup_by(|a, b| a.doc_id == b.doc_id);
        chunks
    }

    fn redacted(&self, text: &str) -> String {
        match &self.known {
            Some(f) => f.redact(text).0,
            None => text.to_string(),
        }
    }

    /// The layer's documents, the active session and the commit messages.
    fn knowledge_chunks(&self) -> Vec<Chunk> {
        let mut chunks = vec![];
        for d in &self.docs {
            let text = self.redacted(&d.text);
            // Id and title from the text as read (the layer's own rule), not a second read.
            let doc = layer::describe(d.kind, &d.path, &d.text);
            match d.kind {
                DocKind::Session => {
                    let id = doc.id.strip_prefix("session-").unwrap_or(&doc.id);
                    session_chunks(&d.rel, id, &text, &mut chunks)
                }
                DocKind::Belief => belief_chunk(&d.rel, &doc.id, &text, &mut chunks),
                // Work items and slates outside core/surface may be TOML.
                DocKind::Layer if d.rel.ends_with(".toml") => {
                    toml_chunks(&d.rel, &text, &mut chunks)
                }
                DocKind::Core | DocKind::Surface | DocKind::Layer => {
                    layer_chunks(&d.rel, &doc.title, &text, &mut chunks)
                }
            }
        }
        // The active session is knowledge too.
        if let Some((rel, text)) = &self.active {
            let text = self.redacted(text);
            let head = doc::header::read(
                doc::header::Kind::Session,
                Path::new(rel),
                &doc::Document::parse(&text),
            );
            session_chunks(rel, &head.id, &text, &mut chunks);
        }
        for (sha, message) in &self.commits {
            commit_chunks(sha, &self.redacted(message), &mut chunks);
        }
        chunks
    }
}

type KnowledgeSources = (
    Vec<DocSource>,
    Option<(String, String)>,
    Vec<(String, String)>,
);

/// The layer's documents, the active session and the commit messages, as read.
fn knowledge_sources(project: &Project, cfg: &ScryConfig) -> Result<KnowledgeSources> {
    let root = project.root();
    let mut docs = vec![];
    let mut seen_paths: HashSet<PathBuf> = HashSet::new();
    for (kind, path) in layer::document_files(project)? {
        let abs = if path.is_absolute() {
            path.clone()
        } else {
            root.join(&path)
        };
        if !seen_paths.insert(abs.clone()) {
            continue;
        }
        // An unreadable layer file fails the refresh, naming it; one that is not UTF-8 is
        // listed by the layer but not indexed.
        let bytes = std::fs::read(&abs).with_context(|| format!("reading {}", abs.display()))?;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        docs.push(DocSource {
            kind,
            path,
            rel: rel_path(root, &abs),
            text,
        });
    }
    let active_path = project.active_session_path();
    let active = crate::store::read_text_torn(&active_path)
        .ok()
        .map(|(text, _)| (rel_path(root, &active_path), text));
    let max = cfg.max_commits.unwrap_or(5000);
    let commits = if max == 0 {
        vec![]
    } else {
        crate::git::recent_messages(root, max)?
    };
    Ok((docs, active, commits))
}

fn rel_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// The body (everything after the frontmatter) as one text, and the number of lines before it.
fn body_of(d: &doc::Document) -> (String, usize) {
    let lines: Vec<&str> = d.body_lines().map(|(_, l)| doc::line_text(l)).collect();
    (lines.join("\n"), d.preamble_line - 1)
}

/// A piece's text without its leading and trailing blank lines (indentation kept), and the
/// 1-based inclusive lines that text spans in the file (`skipped` = lines before the piece's
/// document body): line `line_start + i` of the file is line `i` of the text.
fn trimmed(p: &Piece, skipped: usize) -> ((usize, usize), String) {
    let lines: Vec<&str> = p.text.lines().collect();
    let Some(first) = lines.iter().position(|l| !l.trim().is_empty()) else {
        let s = skipped + p.lines.start + 1;
        return ((s, s), String::new());
    };
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .unwrap_or(first);
    let start = skipped + p.lines.start + first + 1;
    (
        (start, start + (last - first)),
        lines[first..=last].join("\n"),
    )
}

/// The pieces of a markdown body, titled `title` or `title{sep}heading`.
fn markdown_pieces(body: &str, title: &str, sections_apart: bool) -> Vec<(Piece, String)> {
    let lines: Vec<&str> = body.lines().collect();
    let title_tokens = chunk::estimate_tokens(title) + 8;
    chunk::split(&lines, Shape::Markdown { sections_apart }, title_tokens)
        .into_iter()
        .map(|p| {
            let t = match &p.context {
                Some(h) if !h.ends_with(title) && !title.ends_with(h.as_str()) => {
                    format!("{title} › {h}")
                }
                _ => title.to_string(),
            };
            (p, t)
        })
        .collect()
}

/// Sessions: one chunk per `### ` activity entry and per other section (never merged, so a
/// hit points at the entry); long ones split by paragraph. Frontmatter is left out (the title
/// carries the session's title); a piece that is only headings is dropped.
fn session_chunks(rel: &str, id: &str, text: &str, out: &mut Vec<Chunk>) {
    let d = doc::Document::parse(text);
    // The title every other reader shows (`doc::header`), so scry agrees with `session list`.
    let title = doc::header::read(doc::header::Kind::Session, Path::new(rel), &d).title;
    let (body, skipped) = body_of(&d);
    let body = without_release_log(&d, body, skipped);
    let mut n = 0;
    for (p, t) in markdown_pieces(&body, &title, true) {
        let only_headings = p
            .text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_headings {
            continue;
        }
        let t = t.replacen(" › ", " — ", 1);
        let (span, text) = trimmed(&p, skipped);
        out.push(Chunk::new(
            format!("session:{id}:{n}"),
            Kind::Session,
            rel.to_string(),
            t,
            span,
            text,
        ));
        n += 1;
    }
}

/// `body` (line `i` is line `skipped + i + 1` of the file) with the entries `secrets::log_release`
/// writes blanked out (line numbers kept): who got which secret when is for the session's own
/// record, not for search results (or an index file) to repeat.
fn without_release_log(d: &doc::Document, body: String, skipped: usize) -> String {
    let spans: Vec<(usize, usize)> = d
        .sections
        .iter()
        .filter(|s| doc::session::is_log_section(&s.title))
        .flat_map(doc::session::entries)
        .filter(|e| is_release_log(&e.heading))
        .map(|e| (e.line, e.body.len()))
        .collect();
    if spans.is_empty() {
        return body;
    }
    let mut lines: Vec<&str> = body.lines().collect();
    for (line, body_len) in spans {
        let start = line.saturating_sub(skipped + 1);
        for l in lines.iter_mut().skip(start).take(body_len + 1) {
            *l = "";
        }
    }
    lines.join("\n")
}

/// The heading `secrets::log_release` writes: `YYYY-MM-DD HH:MM - Secrets released`.
fn is_release_log(heading: &str) -> bool {
    heading
        .rsplit_once(" - ")
        .is_some_and(|(_, what)| what.trim() == "Secrets released")
}

/// A belief: one chunk when it fits the window (the usual case), else by section.
fn belief_chunk(rel: &str, id: &str, text: &str, out: &mut Vec<Chunk>) {
    let (body, skipped) = body_of(&doc::Document::parse(text));
    for (n, (p, t)) in markdown_pieces(&body, id, false).into_iter().enumerate() {
        let doc_id = if n == 0 {
            format!("belief:{id}")
        } else {
            format!("belief:{id}:{n}")
        };
        let (span, text) = trimmed(&p, skipped);
        out.push(Chunk::new(
            doc_id,
            Kind::Belief,
            rel.to_string(),
            t,
            span,
            text,
        ));
    }
}

/// A layer document: one chunk when it fits, else sections and paragraphs (small ones merged).
/// `title` is the document's header title (`doc::header`).
fn layer_chunks(rel: &str, title: &str, text: &str, out: &mut Vec<Chunk>) {
    let (body, skipped) = body_of(&doc::Document::parse(text));
    for (n, (p, t)) in markdown_pieces(&body, title, false).into_iter().enumerate() {
        let (span, text) = trimmed(&p, skipped);
        out.push(Chunk::new(
            format!("layer:{rel}:{n}"),
            Kind::Layer,
            rel.to_string(),
            t,
            span,
            text,
        ));
    }
}

/// A TOML file under `layer/` (a work item, a slate): one chunk, or one per table.
fn toml_chunks(rel: &str, text: &str, out: &mut Vec<Chunk>) {
    let lines: Vec<&str> = text.lines().collect();
    let title = toml_title(text).unwrap_or_else(|| rel.to_string());
    let title_tokens = chunk::estimate_tokens(&title) + 8;
    for (n, p) in chunk::split(&lines, Shape::Toml, title_tokens)
        .into_iter()
        .enumerate()
    {
        let t = match &p.context {
            Some(c) => format!("{title} › {c}"),
            None => title.clone(),
        };
        let (span, text) = trimmed(&p, 0);
        out.push(Chunk::new(
            format!("layer:{rel}:{n}"),
            Kind::Layer,
            rel.to_string(),
            t,
            span,
            text,
        ));
    }
}

/// `title = "…"` (else `name`) of a TOML document's top level, read with the toml parser.
fn toml_title(text: &str) -> Option<String> {
    let v: toml::Table = toml::from_str(text).ok()?;
    ["title", "name", "id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_string))
}

/// Commit messages as chunks, each first passed through `redacted` (vault values out).
fn commit_chunks(sha: &str, message: &str, out: &mut Vec<Chunk>) {
    let subject = message.lines().next().unwrap_or("").trim().to_string();
    let short = crate::git::short(sha).to_string();
    // Long messages (a merge summary, a release note) are split by paragraph like text.
    let lines: Vec<&str> = message.lines().collect();
    let title_tokens = chunk::estimate_tokens(&subject) + 8;
    for (n, p) in chunk::split(&lines, Shape::Text, title_tokens)
        .into_iter()
        .enumerate()
    {
        let doc_id = if n == 0 {
            format!("commit:{sha}")
        } else {
            format!("commit:{sha}:{n}")
        };
        let (span, text) = trimmed(&p, 0);
        out.push(Chunk::new(
            doc_id,
            Kind::Commit,
            short.clone(),
            subject.clone(),
            span,
            text,
        ));
    }
}

/// Source files nobody searches for knowledge, left out unless `[scry] include` names them:
/// lockfiles, vendored trees, generated and minified files. `rel` is the path from the root,
/// `head` the file's first bytes (for generated-file markers), `text` the whole file. Returns
/// why, for the record; the list is in docs/ARCHITECTURE.md (Scry, Corpus).
pub(crate) fn default_exclusion(rel: &str, text: &str) -> Option<&'static str> {
    const LOCKFILES: &[&str] = &[
        "package-lock.json",
        "npm-shrinkwrap.json",
        "pnpm-lock.yaml",
        "go.sum",
        "packages.lock.json",
    ];
    const VENDORED_DIRS: &[&str] = &[
        "vendor",
        "third_party",
        "third-party",
        "node_modules",
        "bower_components",
        "Pods",
    ];
    const GENERATED_SUFFIXES: &[&str] = &[
        ".min.js",
        ".min.css",
        ".map",
        ".pb.go",
        "_pb2.py",
        "_pb2_grpc.py",
        ".pb.rs",
        ".g.dart",
        ".freezed.dart",
        ".designer.cs",
    ];
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name.ends_with(".lock") || LOCKFILES.contains(&name) {
        return Some("lockfile");
    }
    if rel
        .split('/')
        .rev()
        .skip(1)
        .any(|dir| VENDORED_DIRS.contains(&dir))
    {
        return Some("vendored");
    }
    if GENERATED_SUFFIXES.iter().any(|s| name.ends_with(s)) || name.contains(".generated.") {
        return Some("generated");
    }
    // Generator markers in the first lines: Go's "Code generated … DO NOT EDIT.", "@generated"
    // (Rust, Facebook tools, protobuf, insta-less snapshots of other tools).
    let head: String = text.lines().take(5).collect::<Vec<_>>().join("\n");
    if head.contains("@generated")
        || (head.contains("Code generated") && head.contains("DO NOT EDIT"))
    {
        return Some("generated");
    }
    // Minified: long lines on average, or one enormous line.
    let lines = text.lines().count().max(1);
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    if text.len() / lines > 300 || longest > 5000 {
        return Some("minified");
    }
    None
}

/// How a source file is split.
fn shape_of(rel: &str) -> Shape {
    if let Some(lang) = Lang::from_path(rel) {
        return Shape::Code(lang);
    }
    match rel.rsplit_once('.').map(|x| x.1) {
        Some("md" | "markdown") => Shape::Markdown {
            sections_apart: false,
        },
        Some("toml") => Shape::Toml,
        _ => Shape::Text,
    }
}

/// The chunks of one source file.
fn source_chunks(rel: &str, text: &str, out: &mut Vec<Chunk>) {
    let lines: Vec<&str> = text.lines().collect();
    let title_tokens = chunk::estimate_tokens(rel) + 8;
    for p in chunk::split(&lines, shape_of(rel), title_tokens) {
        let title = match &p.context {
            Some(c) => format!("{rel} › {c}"),
            None => rel.to_string(),
        };
        let ((s, e), text) = trimmed(&p, 0);
        // A line longer than the window is cut into several pieces on the same line.
        let mut doc_id = format!("code:{rel}:{s}");
        if out
            .last()
            .is_some_and(|c: &Chunk| c.doc_id.starts_with(&doc_id))
        {
            let k = out
                .iter()
                .rev()
                .take_while(|c| c.doc_id.starts_with(&doc_id))
                .count();
            doc_id = format!("{doc_id}.{k}");
        }
        out.push(Chunk::new(
            doc_id,
            Kind::Code,
            rel.to_string(),
            title,
            (s, e),
            text,
        ));
    }
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

/// The source files to index, read: (path from the root, text), sorted by path.
fn code_sources(project: &Project, cfg: &ScryConfig) -> Result<Vec<(String, String)>> {
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
    let mut out = Vec::with_capacity(files.len());
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
        let included = include
            .as_ref()
            .is_some_and(|inc| inc.matched_path_or_any_parents(&path, false).is_ignore());
        if !included && let Some(why) = default_exclusion(&rel, &text) {
            tracing::debug!(path = %rel, why, "not indexed");
            continue;
        }
        out.push((rel, text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_log_entries_are_not_indexed() {
        let text = "---\ntype: session\nid: 1\ntitle: t\n---\n## Activity Log\n### 2026-11-29 14:15 - Note\nkept\n### 2026-11-29 14:16 - Secrets released\nReleased `api-key` to pid 7 (`deploy`) via daemon.\n### 2026-11-29 14:17 - Note\nafter\n";
        let mut out = vec![];
        session_chunks("sessions/x.md", "1", text, &mut out);
        assert!(out.iter().all(|c| !c.text.contains("Released")), "{out:?}");
        assert!(out.iter().any(|c| c.text.contains("kept")), "{out:?}");
        let after = out
            .iter()
            .find(|c| c.text.contains("after"))
            .expect("later entry");
        // Line numbers are kept: the chunk's first line is that line of the file.
        let first = after.text.lines().next().unwrap();
        assert_eq!(
            text.lines().nth(after.line_start - 1),
            Some(first),
            "{after:?}"
        );
    }

    #[test]
    fn session_entries_and_sections_are_chunks() {
        let text = "---\ntype: session\nid: 20261129-141503\ntitle: review\n---\n\n## Goals\n- [ ] a\n## Activity Log\n### 2026-11-29 14:15 - Session Start\nstarted\n### 2026-11-29 14:40 - Note\nfound the cause\n## Session Classification\n- Work Type: feature\n";
        let mut out = vec![];
        session_chunks("sessions/x.md", "20261129-141503", text, &mut out);
        let titles: Vec<&str> = out.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "review — Goals",
                "review — 2026-11-29 14:15 - Session Start",
                "review — 2026-11-29 14:40 - Note",
                "review — Session Classification"
            ]
        );
        assert!(out[2].text.ends_with("found the cause"));
        assert!(!out[3].text.contains("found the cause"));
        assert_eq!((out[2].line_start, out[2].line_end), (12, 13));
        assert!(out.iter().all(|c| !c.text.contains("type: session")));
    }

    #[test]
    fn legacy_session_title() {
        let text = "# Session: first run\n**ID**: 20250728-182427\n\n## Activity Log\n### 18:24 - Start\nx\n";
        let mut out = vec![];
        session_chunks("layer/sessions/a.md", "20250728-182427", text, &mut out);
        assert_eq!(out[0].title, "first run");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].title, "first run — 18:24 - Start");
    }

    #[test]
    fn a_long_session_without_entries_is_split_not_cut() {
        let para = "We looked at the indexer and measured where the time goes. ".repeat(8);
        let body: String = (0..30).map(|i| format!("{para} ({i})\n\n")).collect();
        let text = format!("# Session: long\n\n## Notes\n\n{body}");
        let mut out = vec![];
        session_chunks("layer/sessions/b.md", "b", &text, &mut out);
        assert!(out.len() >= 10, "{}", out.len());
        for c in &out {
            assert!(
                chunk::estimate_tokens(&c.embed_text()) <= crate::scry::embed::MAX_TOKENS - 2,
                "{} over the window",
                c.doc_id
            );
        }
        let kept: usize = out.iter().map(|c| c.text.matches("measured").count()).sum();
        assert_eq!(kept, 30 * 8);
    }

    #[test]
    fn default_exclusions() {
        assert_eq!(default_exclusion("Cargo.lock", "x"), Some("lockfile"));
        assert_eq!(
            default_exclusion("web/package-lock.json", "{}"),
            Some("lockfile")
        );
        assert_eq!(default_exclusion("go.sum", "x"), Some("lockfile"));
        assert_eq!(default_exclusion("vendor/lib/a.go", "x"), Some("vendored"));
        assert_eq!(
            default_exclusion("x/node_modules/a.js", "x"),
            Some("vendored")
        );
        assert_eq!(
            default_exclusion("static/app.min.js", "x"),
            Some("generated")
        );
        assert_eq!(
            default_exclusion(
                "api/x.go",
                "// Code generated by protoc. DO NOT EDIT.\npackage x"
            ),
            Some("generated")
        );
        assert_eq!(
            default_exclusion("src/gen.rs", "// @generated\nfn a() {}"),
            Some("generated")
        );
        let blob = format!("var a={};", "x".repeat(9000));
        assert_eq!(default_exclusion("static/app.js", &blob), Some("minified"));
        assert_eq!(default_exclusion("src/main.rs", "fn main() {}\n"), None);
        assert_eq!(default_exclusion("src/vendor.rs", "fn main() {}\n"), None);
        assert_eq!(default_exclusion("docs/lock.md", "text\n"), None);
    }

    proptest::proptest! {
        /// Session chunks carry the title every other reader shows (`doc::header`), alone or
        /// followed by the entry's or section's heading.
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
            for (n, c) in out.iter().enumerate() {
                proptest::prop_assert!(
                    c.title == h.title || c.title.starts_with(&format!("{} — ", h.title)),
                    "{:?} vs {:?}", c.title, h.title
                );
                proptest::prop_assert_eq!(&c.doc_id, &format!("session:{}:{n}", h.id));
            }
        }
    }

    #[test]
    fn toml_work_items_are_layer_chunks() {
        let text = "title = \"Faster first index\"\nstatus = \"open\"\n\n[[task]]\nname = \"sort by length\"\n";
        let mut out = vec![];
        toml_chunks("layer/slate/faster.toml", text, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, Kind::Layer);
        assert_eq!(out[0].title, "Faster first index");
        assert!(out[0].text.contains("sort by length"));
    }
}

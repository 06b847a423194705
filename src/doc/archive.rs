//! The sessions archive: which files in it are sessions, and what their names say.
//!
//! Names seen in real archives (the 0.11 corpus and newer projects):
//! - `<id>.md`, id `YYYYMMDD-HHMMSS` (local time) — what this version writes;
//! - `YYYYMMDD-HHMMSS-NNNNNNNNN.md` — nanosecond ids of newer patina versions;
//! - `session-<id>.md` — older scripts; the id is the name without `session-`;
//! - dated notes (`YYYYMMDD-HHMMSS-init.md`, `YYYYMMDD-topic.md`) and undated ones
//!   (`session_summary_july27.md`).
//!
//! Every `*.md` directly in the directory is an entry, except hidden files and `README.md`.
//! Entries sort by id, which is chronological for every dated form.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDateTime;

/// The archive file name of a session id.
pub fn file_name(id: &str) -> String {
    format!("{id}.md")
}

/// The session id a file stem stands for: the stem without a legacy `session-` prefix.
pub fn id_of_stem(stem: &str) -> &str {
    match stem.strip_prefix("session-") {
        Some(rest) if starts_dated(rest) => rest,
        _ => stem,
    }
}

fn starts_dated(s: &str) -> bool {
    s.len() >= 8 && s.as_bytes()[..8].iter().all(u8::is_ascii_digit)
}

/// The start time an id (or stem) begins with: `YYYYMMDD-HHMMSS`, then the end or a `-`.
pub fn started(id: &str) -> Option<NaiveDateTime> {
    let head = id.get(..15)?;
    if !matches!(id.as_bytes().get(15), None | Some(b'-')) {
        return None;
    }
    NaiveDateTime::parse_from_str(head, "%Y%m%d-%H%M%S").ok()
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// The id its name gives (see [`id_of_stem`]); the file's header may name another.
    pub id: String,
    /// The start time the name carries, when it is a dated session name.
    pub started: Option<NaiveDateTime>,
}

/// The entry a file name makes, or `None` when the file is not part of the archive.
pub fn entry(path: &Path) -> Option<Entry> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".md")?;
    if stem.is_empty() || name.starts_with('.') || name == "README.md" {
        return None;
    }
    let id = id_of_stem(stem).to_string();
    Some(Entry {
        path: path.to_path_buf(),
        started: started(&id),
        id,
    })
}

/// Every entry of the archive directory (missing directory → none), sorted by id then name.
pub fn list(dir: &Path) -> Result<Vec<Entry>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading directory {}", dir.display())),
    };
    let mut out = Vec::new();
    for item in rd {
        let item = item.with_context(|| format!("reading directory {}", dir.display()))?;
        if let Some(e) = entry(&item.path())
            && e.path.is_file()
        {
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

/// The dated entries (sessions, not undated notes), newest last.
pub fn dated(dir: &Path) -> Result<Vec<Entry>> {
    Ok(list(dir)?
        .into_iter()
        .filter(|e| e.started.is_some())
        .collect())
}

/// The file of session `id`: `<id>.md`, else the legacy `session-<id>.md`, else the one entry
/// whose id starts with `<id>-` (a nanosecond id named by its seconds). Two such entries are
/// ambiguous: none is returned, never a guess.
pub fn find(dir: &Path, id: &str) -> Option<PathBuf> {
    let id = id.trim();
    if let Some(p) = [file_name(id), format!("session-{id}.md")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    {
        return Some(p);
    }
    let prefix = format!("{id}-");
    let mut found = list(dir)
        .ok()?
        .into_iter()
        .filter(|e| e.id.starts_with(&prefix));
    let first = found.next()?;
    found.next().is_none().then_some(first.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_every_form() {
        let e = |n: &str| entry(Path::new(n)).map(|e| (e.id, e.started.is_some()));
        assert_eq!(
            e("20260709-091408.md"),
            Some(("20260709-091408".into(), true))
        );
        assert_eq!(
            e("20260709-091408-460632000.md"),
            Some(("20260709-091408-460632000".into(), true))
        );
        assert_eq!(
            e("session-20250101-120000.md"),
            Some(("20250101-120000".into(), true))
        );
        assert_eq!(
            e("20250812-123323-init.md"),
            Some(("20250812-123323-init".into(), true))
        );
        assert_eq!(
            e("20250728-hook-architecture-session.md"),
            Some(("20250728-hook-architecture-session".into(), false))
        );
        assert_eq!(
            e("session_summary_july27.md"),
            Some(("session_summary_july27".into(), false))
        );
        assert_eq!(e("session-notes.md"), Some(("session-notes".into(), false)));
        assert_eq!(e("README.md"), None);
        assert_eq!(e(".hidden.md"), None);
        assert_eq!(e("x.txt"), None);
    }

    #[test]
    fn list_sorts_chronologically_and_find_knows_legacy_names() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "20260709-091409.md",
            "session-20260709-091407.md",
            "20260709-091408-460632000.md",
            "notes.md",
            "README.md",
        ] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let ids: Vec<String> = list(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            ids,
            [
                "20260709-091407",
                "20260709-091408-460632000",
                "20260709-091409",
                "notes"
            ]
        );
        assert_eq!(dated(dir.path()).unwrap().len(), 3);
        assert_eq!(
            find(dir.path(), "20260709-091407"),
            Some(dir.path().join("session-20260709-091407.md"))
        );
        assert_eq!(
            find(dir.path(), "20260709-091408"),
            Some(dir.path().join("20260709-091408-460632000.md"))
        );
        std::fs::write(dir.path().join("20260709-091408-1.md"), "x").unwrap();
        assert_eq!(find(dir.path(), "20260709-091408"), None, "ambiguous");
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    }
}

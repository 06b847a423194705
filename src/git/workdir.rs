//! Questions about the working tree and the repository's layout that other modules ask (the
//! transcript filter, belief capture, scry's corpus and watcher, project discovery, the cockpit).
//! They live here so that git2 is used only inside `git/`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Delta, DiffOptions};

/// The work tree of the repository that contains `cwd`; `None` outside git or in a bare repo.
pub fn discover_workdir(cwd: &Path) -> Option<PathBuf> {
    super::discover_raw(cwd)
        .ok()?
        .workdir()
        .map(Path::to_path_buf)
}

/// The repository's git directory and common directory, canonical (they differ in a linked
/// worktree); empty outside git.
pub fn git_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(repo) = super::discover_raw(root) else {
        return vec![];
    };
    let mut out = vec![repo.path().to_path_buf(), repo.commondir().to_path_buf()];
    out.iter_mut().for_each(|p| {
        if let Ok(c) = p.canonicalize() {
            *p = c;
        }
    });
    out.dedup();
    out
}

/// A cheap fingerprint of HEAD (`branch@sha`): reading one ref is far cheaper than walking a
/// range, so callers walk only when this changes.
pub fn head_fingerprint(root: &Path) -> Option<String> {
    let repo = super::open_raw(root).ok()?;
    let head = repo.head().ok()?;
    Some(format!(
        "{}@{}",
        head.shorthand().unwrap_or("?"),
        head.target().map(|o| o.to_string()).unwrap_or_default()
    ))
}

/// The newest `max` commits reachable from HEAD as (sha, full message). Empty outside git or
/// before the first commit.
pub fn recent_messages(root: &Path, max: usize) -> Result<Vec<(String, String)>> {
    let Ok(repo) = super::discover_raw(root) else {
        return Ok(vec![]);
    };
    let mut walk = repo.revwalk().context("walking git history")?;
    if walk.push_head().is_err() {
        return Ok(vec![]); // no commits yet
    }
    let mut out = Vec::new();
    for oid in walk.take(max) {
        let oid = oid.context("walking git history")?;
        let commit = repo
            .find_commit(oid)
            .with_context(|| format!("reading commit {oid}"))?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        out.push((oid.to_string(), message));
    }
    Ok(out)
}

/// `.git/info/exclude` when `rel` would not be ignored by git as things stand (per-user files
/// must never be committed by accident). When `rel` is already ignored, the exclude file is
/// returned only if it already carries exactly that line (an earlier install's line, to keep
/// recording it); `None` outside git.
pub fn info_exclude_needed(root: &Path, rel: &str) -> Option<PathBuf> {
    let repo = super::open_raw(root).ok()?;
    let exclude = repo.path().join("info").join("exclude");
    if repo.is_path_ignored(rel).unwrap_or(false) {
        let ours = std::fs::read_to_string(&exclude).is_ok_and(|t| t.lines().any(|l| l == rel));
        return ours.then_some(exclude);
    }
    Some(exclude)
}

/// Paths (relative to the work tree) that differ between a base commit and the working tree
/// now — committed, staged, unstaged or untracked. The base is `base_sha` when it resolves,
/// else the newest first-parent commit made at or before `start_secs`, else the empty tree.
/// `None` when git cannot tell.
pub fn paths_changed_since(
    root: &Path,
    base_sha: Option<&str>,
    start_secs: i64,
) -> Option<HashSet<PathBuf>> {
    let repo = super::open_raw(root).ok()?;
    let known = base_sha
        .and_then(|s| git2::Oid::from_str(s).ok())
        .and_then(|oid| repo.find_commit(oid).ok());
    let base = match known {
        Some(c) => Some(c),
        None => {
            let mut c = repo.head().ok()?.peel_to_commit().ok();
            while let Some(x) = &c {
                if x.time().seconds() <= start_secs {
                    break;
                }
                c = x.parent(0).ok();
            }
            c
        }
    };
    let tree = match &base {
        Some(c) => Some(c.tree().ok()?),
        None => None,
    };
    let mut opts = DiffOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))
        .ok()?;
    let mut set = HashSet::new();
    for d in diff.deltas() {
        for f in [d.old_file(), d.new_file()] {
            if let Some(p) = f.path() {
                set.insert(p.to_path_buf());
            }
        }
    }
    Some(set)
}

/// A file under a directory that was added or changed since a revision.
#[derive(Debug, Clone)]
pub struct ChangedFile {
    /// Path relative to the directory asked about.
    pub rel: PathBuf,
    /// Absolute path in the (canonical) work tree.
    pub path: PathBuf,
    /// The file's text at the revision; `None` when it did not exist there.
    pub old_text: Option<String>,
}

/// Files under `dir` (absolute, inside the work tree) that were added, modified, renamed,
/// copied, retyped or are untracked, comparing `rev`'s tree (the empty tree when `None`) with
/// the index and working tree. Empty outside git or when `dir` is outside the work tree.
pub fn files_changed_since(root: &Path, rev: Option<&str>, dir: &Path) -> Result<Vec<ChangedFile>> {
    let Ok(repo) = super::discover_raw(root) else {
        return Ok(vec![]);
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(vec![]);
    };
    let workdir = workdir
        .canonicalize()
        .with_context(|| format!("resolving {}", workdir.display()))?;
    let Ok(rel_dir) = dir.strip_prefix(&workdir) else {
        return Ok(vec![]);
    };
    let tree = match rev {
        Some(rev) => Some(
            repo.revparse_single(rev)
                .and_then(|o| o.peel_to_tree())
                .with_context(|| format!("resolving starting commit `{rev}`"))?,
        ),
        None => None,
    };
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .pathspec(rel_dir);
    let diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))
        .with_context(|| format!("comparing {} with the starting commit", dir.display()))?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added
                | Delta::Modified
                | Delta::Renamed
                | Delta::Copied
                | Delta::Untracked
                | Delta::Typechange
        ) {
            continue;
        }
        let Some(rel) = delta.new_file().path() else {
            continue;
        };
        let Ok(under) = rel.strip_prefix(rel_dir) else {
            continue;
        };
        let old_text = match delta.status() {
            Delta::Added | Delta::Untracked => None,
            _ => repo
                .find_blob(delta.old_file().id())
                .ok()
                .map(|b| String::from_utf8_lossy(b.content()).into_owned()),
        };
        out.push(ChangedFile {
            rel: under.to_path_buf(),
            path: workdir.join(rel),
            old_text,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

//! git, through libgit2 (`git2`): HEAD, annotated tags, commit ranges, diffs, one-file commits.
//!
//! Why git2 and not the git CLI: no subprocess per call (the session commands run on every agent
//! action), no parsing of porcelain output, and the same code works in the daemon. Every count
//! here is cross-checked in tests against `git rev-list --count` and `git diff --name-status`.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset, TimeZone};
use git2::{Delta, DiffFindOptions, ErrorCode, FileMode, Oid, Repository, Signature, Sort};
use serde::{Deserialize, Serialize};

pub use git2::Repository as Repo;

mod ident;
mod workdir;
pub use ident::Role;
pub use workdir::{
    ChangedFile, discover_workdir, files_changed_since, git_dirs, head_fingerprint,
    info_exclude_needed, paths_changed_since, recent_messages,
};

/// Process-wide libgit2 settings, applied once before the first repository is opened.
///
/// Objects are not re-hashed on read: git itself does not verify an object's hash when it reads
/// it (only `fsck` and transfers do), and libgit2's default SHA-1 (collision-detecting) check was
/// ~5 % of `session update` over an 1 800-commit range (perf).
fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// `Repository::discover` with the settings of [`configure_libgit2`] (every opener in `git/`
/// goes through this or [`open_raw`]).
fn discover_raw(path: &Path) -> std::result::Result<Repository, git2::Error> {
    configure_libgit2();
    Repository::discover(path)
}

/// `Repository::open` with the settings of [`configure_libgit2`].
fn open_raw(path: &Path) -> std::result::Result<Repository, git2::Error> {
    configure_libgit2();
    Repository::open(path)
}

/// Open the repository whose work tree is `root` (or contains it). `Ok(None)` when `root` is not
/// inside a git repository.
pub fn open(root: &Path) -> Result<Option<Repository>> {
    match discover_raw(root) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("opening git repository at {}", root.display())),
    }
}

/// Where HEAD is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeadInfo {
    /// The branch name; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// The commit HEAD points at; `None` in a repository without commits yet.
    pub commit: Option<String>,
    pub detached: bool,
}

impl HeadInfo {
    /// `main@0dd3b9c`, `HEAD@0dd3b9c` when detached, `main@(no commits)` on an unborn branch.
    pub fn label(&self) -> String {
        let b = self.branch.as_deref().unwrap_or("HEAD");
        match &self.commit {
            Some(c) => format!("{b}@{}", short(c)),
            None => format!("{b}@(no commits)"),
        }
    }
}

/// The first 7 characters of a sha.
pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// `branch@sha7` of HEAD (see [`HeadInfo::label`]) from the refs alone: the commit HEAD names
/// is not read, so the object database is never opened (a note's heading needs only this).
/// `None` outside git.
///
/// The common case is read straight from the files git writes ([`head_label_from_files`]);
/// anything else goes through libgit2 (discovery, config, packed refs, ownership checks).
pub fn head_label(root: &Path) -> Option<String> {
    head_label_from_files(root).or_else(|| head_label_libgit2(root))
}

/// [`head_label`] through libgit2.
fn head_label_libgit2(root: &Path) -> Option<String> {
    let repo = open(root).ok()??;
    let info = match repo.head() {
        Ok(r) => {
            let detached = repo.head_detached().unwrap_or(false);
            HeadInfo {
                branch: (!detached)
                    .then(|| r.shorthand().ok().map(str::to_string))
                    .flatten(),
                // A branch names a commit directly; only a symbolic or odd ref needs peeling.
                commit: match r.target() {
                    Some(oid) => Some(oid.to_string()),
                    None => r.peel_to_commit().ok().map(|c| c.id().to_string()),
                },
                detached,
            }
        }
        Err(_) => head(&repo).ok()?,
    };
    Some(info.label())
}

/// [`head_label`] without opening the repository (libgit2's open reads and parses every git
/// config file and checks ownership: ~0.25 ms of a 3 ms note). Only the plain case is answered:
/// `root/.git` is a directory owned by this user (no `commondir`: not a linked worktree's), HEAD
/// is a detached id or a symbolic ref to a well-formed `refs/heads/<name>` whose loose file holds
/// an id. Everything else (a `.git` file, another owner, packed or missing refs, an unborn branch,
/// an odd name) is `None`: the caller asks libgit2, so the label is the same either way.
fn head_label_from_files(root: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let git = root.join(".git");
    let meta = std::fs::symlink_metadata(&git).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != euid || std::fs::metadata(root).ok()?.uid() != euid {
        return None;
    }
    if std::fs::symlink_metadata(git.join("commondir")).is_ok() {
        return None;
    }
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.strip_suffix('\n').unwrap_or(&head);
    let (branch, id) = match head.strip_prefix("ref: ") {
        Some(target) => {
            let branch = target.strip_prefix("refs/heads/")?;
            if !plain_ref_name(branch) {
                return None;
            }
            let id = std::fs::read_to_string(git.join(target)).ok()?;
            (Some(branch.to_string()), id)
        }
        None => (None, head.to_string()),
    };
    let id = id.strip_suffix('\n').unwrap_or(&id);
    let is_id = matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_id {
        return None;
    }
    let info = HeadInfo {
        detached: branch.is_none(),
        branch,
        commit: Some(id.to_ascii_lowercase()),
    };
    Some(info.label())
}

/// A branch name whose loose ref file can be read without a doubt: non-empty `/`-separated
/// components of ASCII letters, digits, `-`, `_` and `.`, none starting with `.` or ending with
/// `.lock`. Stricter than git's rules (anything else is left to libgit2), and never a path out of
/// `refs/heads/`.
fn plain_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && !c.ends_with(".lock")
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

/// HEAD's branch and commit; handles unborn branches and detached HEAD.
pub fn head(repo: &Repository) -> Result<HeadInfo> {
    let detached = repo.head_detached().unwrap_or(false);
    match repo.head() {
        Ok(r) => {
            let commit = r.peel_to_commit().ok().map(|c| c.id().to_string());
            let branch = if detached {
                None
            } else {
                r.shorthand().ok().map(str::to_string)
            };
            Ok(HeadInfo {
                branch,
                commit,
                detached,
            })
        }
        Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
            // An unborn branch: HEAD names a branch with no commit yet.
            let branch = repo
                .find_reference("HEAD")
                .ok()
                .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
                .map(|t| t.trim_start_matches("refs/heads/").to_string());
            Ok(HeadInfo {
                branch,
                commit: None,
                detached: false,
            })
        }
        Err(e) => Err(e).context("reading HEAD"),
    }
}

/// The signature git itself would use for `role` (environment, then config, then a fallback so
/// that a repository without user.name/user.email still gets its tags); see `ident.rs`.
pub fn signature(repo: &Repository, role: Role) -> Result<Signature<'static>> {
    ident::signature(repo, role)
}

/// What happened when a tag was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagOutcome {
    Created,
    /// The tag already existed and points at the same commit: kept as it is.
    Existing,
}

/// Why a tag could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error(
        "tag {name} already exists and points at {existing}, not at {wanted}; delete it with `git tag -d {name}` and retry"
    )]
    Conflict {
        name: String,
        existing: String,
        wanted: String,
    },
}

/// The commit a tag (annotated or lightweight) points at, if the tag exists.
pub fn tag_target(repo: &Repository, name: &str) -> Result<Option<String>> {
    match repo.find_reference(&format!("refs/tags/{name}")) {
        Ok(r) => Ok(Some(
            r.peel_to_commit()
                .with_context(|| format!("tag {name} does not point at a commit"))?
                .id()
                .to_string(),
        )),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading tag {name}")),
    }
}

/// True when the tag exists.
pub fn tag_exists(repo: &Repository, name: &str) -> bool {
    repo.find_reference(&format!("refs/tags/{name}")).is_ok()
}

/// True when any tag names the session id `id`: `session-<id>` followed by the end of the name or
/// `-` (`session-<id>-claude-start`, legacy `session-<id>-start`, `session-<id>-<nanos>-…`).
pub fn session_id_tagged(repo: &Repository, id: &str) -> bool {
    let stem = format!("session-{id}");
    let Ok(names) = repo.tag_names(Some(&format!("{stem}*"))) else {
        return false;
    };
    names.iter().filter_map(|n| n.ok().flatten()).any(|n| {
        n.strip_prefix(stem.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    })
}

/// A session's end tag as git has it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionEndTag {
    pub name: String,
    pub commit: String,
    /// The tagger's time (annotated tags), else the commit's time.
    pub time: Option<DateTime<FixedOffset>>,
}

/// Every `session-…-end` tag, keyed by what stands between `session-` and `-end`
/// (`<id>-<agent>`, or `<id>` for the legacy form). Look one up with [`end_tag_for`].
pub fn session_end_tags(
    repo: &Repository,
) -> Result<std::collections::BTreeMap<String, SessionEndTag>> {
    let mut out = std::collections::BTreeMap::new();
    let names = repo
        .tag_names(Some("session-*-end"))
        .context("listing session tags")?;
    for name in names.iter().filter_map(|n| n.ok().flatten()) {
        let Some(middle) = name
            .strip_prefix("session-")
            .and_then(|m| m.strip_suffix("-end"))
        else {
            continue;
        };
        let Ok(reference) = repo.find_reference(&format!("refs/tags/{name}")) else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        let time = match reference.peel_to_tag() {
            Ok(tag) => tag.tagger().and_then(|t| {
                let when = t.when();
                FixedOffset::east_opt(when.offset_minutes() * 60)
                    .and_then(|o| o.timestamp_opt(when.seconds(), 0).single())
            }),
            Err(_) => None,
        }
        .or_else(|| commit_time(&commit));
        out.insert(
            middle.to_string(),
            SessionEndTag {
                name: name.to_string(),
                commit: commit.id().to_string(),
                time,
            },
        );
    }
    Ok(out)
}

/// The end tag of session `id` among `tags`: `session-<id>-end` or `session-<id>-<agent>-end`
/// (an agent name, not the nanosecond part of a longer id). Several agents' tags: the first by
/// name.
pub fn end_tag_for<'t>(
    tags: &'t std::collections::BTreeMap<String, SessionEndTag>,
    id: &str,
) -> Option<&'t SessionEndTag> {
    if let Some(t) = tags.get(id) {
        return Some(t);
    }
    let prefix = format!("{id}-");
    tags.range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .find(|(k, _)| {
            let agent = &k[prefix.len()..];
            !agent.is_empty()
                && !agent.bytes().all(|b| b.is_ascii_digit())
                && !agent.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|(_, t)| t)
}

/// Create the annotated tag `name` on `target` with `message` (never moves an existing tag).
pub fn create_annotated_tag(
    repo: &Repository,
    name: &str,
    target: &str,
    message: &str,
) -> Result<TagOutcome> {
    if !git2::Tag::is_valid_name(name) {
        return Err(crate::error::Error::invalid_input(format!(
            "{name:?} is not a valid git tag name"
        ))
        .into());
    }
    if let Some(existing) = tag_target(repo, name)? {
        if existing == target {
            return Ok(TagOutcome::Existing);
        }
        return Err(TagError::Conflict {
            name: name.to_string(),
            existing: short(&existing).to_string(),
            wanted: short(target).to_string(),
        }
        .into());
    }
    let oid = Oid::from_str(target).with_context(|| format!("bad commit id {target}"))?;
    let obj = repo
        .find_object(oid, None)
        .with_context(|| format!("finding commit {target}"))?;
    // A tag's tagger is the committer identity, as with `git tag -a`.
    let sig = signature(repo, Role::Committer)?;
    repo.tag(name, &obj, &sig, message, false)
        .with_context(|| format!("creating tag {name}"))?;
    Ok(TagOutcome::Created)
}

/// One changed file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileChange {
    /// `A` added, `M` modified, `D` deleted, `R` renamed, `C` copied, `T` type change, `?` untracked.
    pub status: char,
    pub path: String,
    /// The old path of a rename or copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

/// What happened in a range of history, plus the work tree.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RangeActivity {
    /// Commits reachable from HEAD and not from the start (`git rev-list --count start..HEAD`).
    pub commits: usize,
    /// Files changed between start and HEAD (`git diff --name-status start HEAD`, renames found).
    pub files: Vec<FileChange>,
    pub insertions: usize,
    pub deletions: usize,
    /// Uncommitted changes (staged, unstaged, untracked) relative to HEAD.
    pub uncommitted: Vec<FileChange>,
    /// When the newest commit of the range was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit_time: Option<DateTime<FixedOffset>>,
    /// HEAD at the time of the measurement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

fn resolve_commit<'r>(repo: &'r Repository, rev: &str) -> Result<git2::Commit<'r>> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .with_context(|| format!("resolving {rev} to a commit"))
}

fn commit_time(c: &git2::Commit) -> Option<DateTime<FixedOffset>> {
    let t = c.time();
    let off = FixedOffset::east_opt(t.offset_minutes() * 60)?;
    off.timestamp_opt(t.seconds(), 0).single()
}

fn delta_char(d: Delta) -> char {
    match d {
        Delta::Added => 'A',
        Delta::Deleted => 'D',
        Delta::Modified => 'M',
        Delta::Renamed => 'R',
        Delta::Copied => 'C',
        Delta::Typechange => 'T',
        Delta::Untracked => '?',
        Delta::Conflicted => 'U',
        _ => 'X',
    }
}

fn diff_files(diff: &git2::Diff) -> Vec<FileChange> {
    diff.deltas()
        .map(|d| {
            let new = d
                .new_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned());
            let old = d
                .old_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned());
            let status = delta_char(d.status());
            let path = match status {
                'D' => old.clone().unwrap_or_default(),
                _ => new.clone().or_else(|| old.clone()).unwrap_or_default(),
            };
            let old_path = if matches!(status, 'R' | 'C') {
                old
            } else {
                None
            };
            FileChange {
                status,
                path,
                old_path,
            }
        })
        .collect()
}

/// Count commits in `from..to` (`from` None: everything reachable from `to`).
pub fn count_commits(repo: &Repository, from: Option<&str>, to: &str) -> Result<usize> {
    let mut walk = repo.revwalk().context("walking history")?;
    walk.push(resolve_commit(repo, to)?.id())?;
    if let Some(f) = from {
        walk.hide(resolve_commit(repo, f)?.id())?;
    }
    let mut n = 0;
    for oid in walk {
        oid.context("walking history")?;
        n += 1;
    }
    Ok(n)
}

/// Commits, files changed, insertions/deletions from `start` to HEAD, plus uncommitted changes.
/// `start` None (a session started before the first commit): everything since the root.
pub fn range_activity(repo: &Repository, start: Option<&str>) -> Result<RangeActivity> {
    Ok(range_activity_memo(repo, start, None)?.0)
}

/// The committed half of a [`RangeActivity`] (commits, files, line counts) for one `start` and
/// one HEAD, kept by the caller between runs so that an unchanged range is not walked again.
///
/// Exact because everything it holds is a function of the two commit ids alone: commits and
/// trees are content-addressed, rename detection and the line count use fixed options, and a
/// memo is made (and reused) only when no gitattributes file applies to the range's paths and
/// the history has no grafts or shallow boundary (both change what libgit2 walks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeMemo {
    start: Option<String>,
    head: String,
    commits: usize,
    files: Vec<FileChange>,
    insertions: usize,
    deletions: usize,
}

/// [`range_activity`], reusing `memo` when it was made for the same start and the same HEAD and
/// still holds (see [`RangeMemo`]); only the work tree is read then. Returns the memo to keep for
/// next time (`None`: nothing may be kept; the caller drops what it had).
///
/// When measured, the three parts are independent, so the commit count and the status walk run
/// on threads of their own (each with its own handle on the repository: a `Repository` is not
/// `Sync`) while this thread diffs the trees; the numbers are the same as one after the other.
pub fn range_activity_memo(
    repo: &Repository,
    start: Option<&str>,
    memo: Option<RangeMemo>,
) -> Result<(RangeActivity, Option<RangeMemo>)> {
    let head = match repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
        Some(c) => c,
        None => {
            // No commits yet: only the work tree can have changed.
            let activity = RangeActivity {
                uncommitted: uncommitted(repo)?,
                ..Default::default()
            };
            return Ok((activity, None));
        }
    };
    let head_id = head.id().to_string();
    let finish = |m: RangeMemo, uncommitted: Vec<FileChange>| {
        let activity = RangeActivity {
            commits: m.commits,
            files: m.files.clone(),
            insertions: m.insertions,
            deletions: m.deletions,
            uncommitted,
            last_commit_time: if m.commits > 0 {
                commit_time(&head)
            } else {
                None
            },
            head: Some(head_id.clone()),
        };
        (activity, Some(m))
    };
    let history_plain = !repo.commondir().join("shallow").exists()
        && !repo.commondir().join("info").join("grafts").exists();
    if let Some(m) = memo.filter(|m| {
        history_plain
            && m.head == head_id
            && m.start.as_deref() == start
            && !attributes_may_apply(repo, memo_paths(&m.files))
    }) {
        return Ok(finish(m, uncommitted(repo)?));
    }
    let location = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    let reopen = || {
        open_raw(&location)
            .with_context(|| format!("opening git repository at {}", location.display()))
    };
    let (commits, uncommitted, diff, lines) = std::thread::scope(|s| {
        let count = s.spawn(|| count_commits(&reopen()?, start, &head_id));
        let status = s.spawn(|| uncommitted(&reopen()?));
        let diffed = range_diff(repo, start, &head_id).and_then(|diff| {
            let lines = line_stats(repo, &diff)?;
            Ok((diff, lines))
        });
        let commits = joined(count, "counting commits");
        let uncommitted = joined(status, "reading git status");
        let (diff, lines) = diffed?;
        anyhow::Ok((commits?, uncommitted?, diff, lines))
    })?;
    let m = RangeMemo {
        start: start.map(str::to_string),
        head: head_id.clone(),
        commits,
        files: diff_files(&diff),
        insertions: lines.insertions,
        deletions: lines.deletions,
    };
    let (activity, m) = finish(m, uncommitted);
    Ok((
        activity,
        m.filter(|_| lines.attribute_free && history_plain),
    ))
}

/// The paths (old and new) of `files`, for the attributes check of a memo.
fn memo_paths(files: &[FileChange]) -> Vec<&Path> {
    files
        .iter()
        .flat_map(|f| std::iter::once(&f.path).chain(f.old_path.as_ref()))
        .map(Path::new)
        .collect()
}

/// Lines inserted and deleted, and whether no attributes file applied.
struct LineStats {
    insertions: usize,
    deletions: usize,
    attribute_free: bool,
}

/// A scoped thread's result; a panic in it becomes an error naming `what`.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>, what: &str) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(anyhow!("{what}: the thread panicked")))
}

/// Lines inserted and deleted over `diff`, as `git diff --shortstat` counts them.
///
/// libgit2's `Diff::stats` looks up the `diff` attribute of both sides of every file, which costs
/// a `realpath` per path and a `stat` per directory (≈ 10 % of `session update` over 1 800
/// commits, strace/perf). When no attributes file can apply to any of the paths the attribute is
/// unset everywhere, and the patches are made from the blobs with no path attached, which is the
/// same computation (content-based binary detection, same diff options) without the lookups.
/// Anything else (an attributes file, a submodule, a symlink) goes through `Diff::stats`.
fn line_stats(repo: &Repository, diff: &git2::Diff) -> Result<LineStats> {
    let paths: Vec<&Path> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .collect();
    if !plain_files_only(diff) || attributes_may_apply(repo, paths) {
        let stats = diff.stats().context("diff stats")?;
        return Ok(LineStats {
            insertions: stats.insertions(),
            deletions: stats.deletions(),
            attribute_free: false,
        });
    }
    let blob = |f: git2::DiffFile| -> Result<Option<git2::Blob>> {
        if f.id().is_zero() {
            return Ok(None);
        }
        repo.find_blob(f.id())
            .map(Some)
            .with_context(|| format!("reading blob {}", f.id()))
    };
    let (mut insertions, mut deletions) = (0, 0);
    for d in diff.deltas() {
        let (old, new) = (blob(d.old_file())?, blob(d.new_file())?);
        let patch = git2::Patch::from_buffers(content(&old), None, content(&new), None, None)
            .context("diff stats")?;
        let (_, added, removed) = patch.line_stats().context("diff stats")?;
        insertions += added;
        deletions += removed;
    }
    Ok(LineStats {
        insertions,
        deletions,
        attribute_free: true,
    })
}

/// A blob's bytes; nothing for the absent side of an added or deleted file.
fn content<'b>(blob: &'b Option<git2::Blob>) -> &'b [u8] {
    blob.as_ref().map_or(&[], |b| b.content())
}

/// True when every side of every delta is absent or a regular file (no submodule, no symlink).
fn plain_files_only(diff: &git2::Diff) -> bool {
    let plain = |f: git2::DiffFile| {
        f.id().is_zero() || matches!(f.mode(), FileMode::Blob | FileMode::BlobExecutable)
    };
    diff.deltas()
        .all(|d| plain(d.old_file()) && plain(d.new_file()))
}

/// Whether any gitattributes file could set an attribute on one of `paths`: the repository's
/// `info/attributes`, the user's (`core.attributesFile`, else `$XDG_CONFIG_HOME/git/attributes`),
/// the system's (`/etc/gitattributes`), or a `.gitattributes` in the work tree or the index in
/// any directory above a path (where git and libgit2 look for a non-bare repository). Unsure
/// (bare repository, config unreadable) counts as yes.
fn attributes_may_apply<'p>(repo: &Repository, paths: impl IntoIterator<Item = &'p Path>) -> bool {
    let Some(workdir) = repo.workdir() else {
        return true;
    };
    let info = |dir: &Path| dir.join("info").join("attributes").exists();
    if info(repo.path()) || info(repo.commondir()) {
        return true;
    }
    match repo.config() {
        Ok(cfg) if cfg.get_path("core.attributesFile").is_err() => {}
        _ => return true,
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
    if xdg.is_some_and(|x| x.join("git").join("attributes").exists())
        || Path::new("/etc/gitattributes").exists()
    {
        return true;
    }
    let Ok(index) = repo.index() else {
        return true;
    };
    let mut dirs = std::collections::BTreeSet::new();
    for path in paths {
        let mut up = path.parent();
        // A directory already seen had its ancestors added with it.
        while let Some(dir) = up {
            if !dirs.insert(dir.to_path_buf()) {
                break;
            }
            up = dir.parent();
        }
    }
    dirs.iter().any(|dir| {
        let rel = dir.join(".gitattributes");
        workdir.join(&rel).symlink_metadata().is_ok() || index.get_path(&rel, 0).is_some()
    })
}

/// Files changed between `from` (None: the empty tree) and `to`, renames found
/// (`git diff --name-status from to`).
pub fn range_files(repo: &Repository, from: Option<&str>, to: &str) -> Result<Vec<FileChange>> {
    let diff = range_diff(repo, from, to)?;
    Ok(diff_files(&diff))
}

fn range_diff<'r>(repo: &'r Repository, from: Option<&str>, to: &str) -> Result<git2::Diff<'r>> {
    let from_tree = match from {
        Some(s) => Some(resolve_commit(repo, s)?.tree()?),
        None => None,
    };
    let to_tree = resolve_commit(repo, to)?.tree()?;
    let mut diff = repo
        .diff_tree_to_tree(from_tree.as_ref(), Some(&to_tree), None)
        .context("diffing the session range")?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))
        .context("finding renames")?;
    Ok(diff)
}

/// Files that differ from HEAD in the index or the work tree (untracked included).
pub fn uncommitted(repo: &Repository) -> Result<Vec<FileChange>> {
    if repo.is_bare() {
        return Ok(vec![]);
    }
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .renames_head_to_index(true)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .context("reading git status")?;
    // libgit2 knows nothing of sparse checkouts: an entry the sparse patterns keep out of the work
    // tree carries the skip-worktree bit and is absent on disk, which libgit2 reports as deleted.
    // git does not (and neither does `git status` for `git update-index --skip-worktree`).
    let skip_worktree = skip_worktree_paths(repo, &statuses)?;
    let mut out = Vec::new();
    for e in statuses.iter() {
        let s = e.status();
        if s.is_wt_deleted() && !s.is_index_deleted() && skip_worktree.contains(e.path_bytes()) {
            continue;
        }
        let path = String::from_utf8_lossy(e.path_bytes()).into_owned();
        let status = if s.is_wt_new() && !s.is_index_new() {
            '?'
        } else if s.is_index_new() {
            'A'
        } else if s.is_index_deleted() || s.is_wt_deleted() {
            'D'
        } else if s.is_index_renamed() || s.is_wt_renamed() {
            'R'
        } else if s.is_ignored() {
            continue;
        } else {
            'M'
        };
        out.push(FileChange {
            status,
            path,
            old_path: None,
        });
    }
    Ok(out)
}

/// `GIT_INDEX_ENTRY_SKIP_WORKTREE` in an index entry's extended flags (libgit2 `index.h`).
const SKIP_WORKTREE: u16 = 1 << 14;

/// The paths among `statuses`' work-tree deletions whose index entry has the skip-worktree bit.
/// The index is read only when there is a deletion to judge.
fn skip_worktree_paths(
    repo: &Repository,
    statuses: &git2::Statuses,
) -> Result<std::collections::HashSet<Vec<u8>>> {
    let deleted: Vec<Vec<u8>> = statuses
        .iter()
        .filter(|e| e.status().is_wt_deleted() && !e.status().is_index_deleted())
        .map(|e| e.path_bytes().to_vec())
        .collect();
    let mut out = std::collections::HashSet::new();
    if deleted.is_empty() {
        return Ok(out);
    }
    let index = repo.index().context("reading the git index")?;
    for path in deleted {
        let skipped = index
            .get_path(Path::new(&*String::from_utf8_lossy(&path)), 0)
            .is_some_and(|entry| entry.flags_extended & SKIP_WORKTREE != 0);
        if skipped {
            out.insert(path);
        }
    }
    Ok(out)
}

/// True when `sha` names a commit that is still in the object database.
pub fn commit_exists(repo: &Repository, sha: &str) -> bool {
    Oid::from_str(sha).is_ok_and(|oid| repo.find_commit(oid).is_ok())
}

/// For a range whose starting commit is gone: the commits reachable from `to` made at or after
/// `since` (unix seconds, committer time), and the files changed from the parent of the oldest of
/// them to `to`. The walk is in time order and stops at the first older commit.
pub fn activity_since_time(
    repo: &Repository,
    to: &str,
    since: i64,
) -> Result<(usize, Vec<FileChange>)> {
    let mut walk = repo.revwalk().context("walking history")?;
    walk.set_sorting(Sort::TIME)?;
    walk.push(resolve_commit(repo, to)?.id())?;
    let mut n = 0;
    let mut oldest = None;
    for oid in walk {
        let c = repo.find_commit(oid.context("walking history")?)?;
        if c.time().seconds() < since {
            break;
        }
        n += 1;
        oldest = Some(c.id());
    }
    let Some(oldest) = oldest else {
        return Ok((0, vec![]));
    };
    let base = repo
        .find_commit(oldest)?
        .parents()
        .next()
        .map(|p| p.id().to_string());
    Ok((n, range_files(repo, base.as_deref(), to)?))
}

/// One commit, for listings (the cockpit's Commits pane).
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub short: String,
    pub subject: String,
    pub time: Option<DateTime<FixedOffset>>,
    /// Files changed relative to the first parent (all files for a root commit).
    pub files_changed: usize,
}

/// Commits in `from..to` (`from` None: from the root), newest first, at most `limit`.
pub fn commits_in_range(
    repo: &Repository,
    from: Option<&str>,
    to: &str,
    limit: usize,
) -> Result<Vec<CommitInfo>> {
    let mut walk = repo.revwalk().context("walking history")?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    walk.push(resolve_commit(repo, to)?.id())?;
    if let Some(f) = from {
        walk.hide(resolve_commit(repo, f)?.id())?;
    }
    let mut out = Vec::new();
    for oid in walk.take(limit) {
        let c = repo.find_commit(oid?)?;
        let parent_tree = c.parents().next().map(|p| p.tree()).transpose()?;
        let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&c.tree()?), None)?;
        let sha = c.id().to_string();
        out.push(CommitInfo {
            short: short(&sha).to_string(),
            subject: c.summary().ok().flatten().unwrap_or_default().to_string(),
            time: commit_time(&c),
            files_changed: diff.deltas().len(),
            sha,
        });
    }
    Ok(out)
}

/// Commits since `from` up to HEAD for the cockpit (newest first). Empty without commits.
pub fn commits_since(
    repo: &Repository,
    from: Option<&str>,
    limit: usize,
) -> Result<Vec<CommitInfo>> {
    match head(repo)?.commit {
        Some(h) => commits_in_range(repo, from, &h, limit),
        None => Ok(vec![]),
    }
}

/// The newest commit in `start..HEAD` made at or before `at` (None: the newest of the range).
/// Falls back to `start` itself when the range has no such commit.
pub fn last_commit_before(
    repo: &Repository,
    start: Option<&str>,
    at: Option<DateTime<FixedOffset>>,
) -> Result<Option<String>> {
    let Some(h) = head(repo)?.commit else {
        return Ok(start.map(str::to_string));
    };
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TIME)?;
    walk.push(Oid::from_str(&h)?)?;
    if let Some(s) = start {
        walk.hide(resolve_commit(repo, s)?.id())?;
    }
    for oid in walk {
        let c = repo.find_commit(oid?)?;
        match (at, commit_time(&c)) {
            (Some(limit), Some(t)) if t > limit => continue,
            _ => return Ok(Some(c.id().to_string())),
        }
    }
    Ok(start.map(str::to_string))
}

/// Commit the single file `rel` (relative to the work tree) on HEAD with `message`, leaving
/// whatever else is staged untouched (the commit is built from HEAD's tree plus this file).
pub fn commit_one_file(repo: &Repository, rel: &Path, message: &str) -> Result<String> {
    let workdir = repo
        .workdir()
        .ok_or_else(|| anyhow!("the repository has no work tree"))?;
    let content = std::fs::read(workdir.join(rel))
        .with_context(|| format!("reading {}", workdir.join(rel).display()))?;
    let blob = repo.blob(&content).context("writing blob")?;
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let mut idx = git2::Index::new().context("creating an index")?;
    if let Some(p) = &parent {
        idx.read_tree(&p.tree()?)?;
    }
    let rel_str = rel.to_string_lossy().into_owned();
    let entry = git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100644,
        uid: 0,
        gid: 0,
        file_size: content.len() as u32,
        id: blob,
        flags: 0,
        flags_extended: 0,
        path: rel_str.clone().into_bytes(),
    };
    idx.add(&entry).context("adding to the commit tree")?;
    let tree_id = idx.write_tree_to(repo).context("writing tree")?;
    let tree = repo.find_tree(tree_id)?;
    let author = signature(repo, Role::Author)?;
    let committer = signature(repo, Role::Committer)?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repo
        .commit(Some("HEAD"), &author, &committer, message, &tree, &parents)
        .context("committing")?;
    // Keep the real index in step for this one path so `git status` stays clean for it.
    let mut real = repo.index().context("opening the index")?;
    real.add_path(rel)
        .with_context(|| format!("staging {rel_str}"))?;
    real.write().context("writing the index")?;
    Ok(oid.to_string())
}

/// A commit's patch against its first parent (the empty tree for a root commit), as text lines
/// (`diff --git`, `@@`, `+`/`-` lines), at most `max_lines`; `rev` is any revision git2 parses.
pub fn commit_patch(repo: &Repository, rev: &str, max_lines: usize) -> Result<Vec<String>> {
    let obj = repo
        .revparse_single(rev)
        .with_context(|| format!("no commit {rev}"))?;
    let commit = obj
        .peel_to_commit()
        .with_context(|| format!("{rev} is not a commit"))?;
    let tree = commit.tree()?;
    let parent = commit.parents().next().map(|p| p.tree()).transpose()?;
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(3);
    let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut opts))?;
    let mut lines = vec![];
    let message = commit.message().unwrap_or("").trim_end().to_string();
    let author = commit.author();
    lines.push(format!(
        "{} · {} <{}>",
        commit.id(),
        author.name().unwrap_or("?"),
        author.email().unwrap_or("?")
    ));
    lines.extend(message.lines().map(|l| format!("    {l}")));
    lines.push(String::new());
    let mut cut = false;
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if lines.len() >= max_lines {
            cut = true;
            return false;
        }
        let text = String::from_utf8_lossy(line.content());
        let text = text.trim_end_matches('\n');
        let prefix = match line.origin() {
            '+' | '-' | ' ' => line.origin().to_string(),
            _ => String::new(),
        };
        for l in text.split('\n') {
            lines.push(format!("{prefix}{l}"));
        }
        true
    })
    .or_else(|e| if cut { Ok(()) } else { Err(e) })?;
    if cut {
        lines.push(format!(
            "… (cut at {max_lines} lines; `git show {rev}` has the rest)"
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// The file read answers only what libgit2 would answer, and the public label is libgit2's in
    /// every state: branch, nested branch, detached, packed refs, unborn, linked worktree, odd name.
    #[test]
    fn head_label_from_files_agrees_with_libgit2() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("r");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        // unborn: left to libgit2
        assert_eq!(head_label_from_files(&repo), None);
        assert_eq!(head_label(&repo).as_deref(), Some("main@(no commits)"));
        std::fs::write(repo.join("a"), "a").unwrap();
        git(&repo, &["add", "a"]);
        git(&repo, &["commit", "-qm", "a"]);
        let c = git(&repo, &["rev-parse", "HEAD"]);
        let want = format!("main@{}", &c[..7]);
        assert_eq!(head_label_from_files(&repo).as_deref(), Some(want.as_str()));
        assert_eq!(head_label_libgit2(&repo).as_deref(), Some(want.as_str()));

        git(&repo, &["checkout", "-q", "-b", "feat/x-1.2"]);
        let want = format!("feat/x-1.2@{}", &c[..7]);
        assert_eq!(head_label_from_files(&repo).as_deref(), Some(want.as_str()));
        assert_eq!(head_label_libgit2(&repo).as_deref(), Some(want.as_str()));

        git(&repo, &["checkout", "-q", "--detach"]);
        let want = format!("HEAD@{}", &c[..7]);
        assert_eq!(head_label_from_files(&repo).as_deref(), Some(want.as_str()));
        assert_eq!(head_label_libgit2(&repo).as_deref(), Some(want.as_str()));

        // packed refs only: no loose file, libgit2 answers
        git(&repo, &["checkout", "-q", "main"]);
        git(&repo, &["pack-refs", "--all", "--prune"]);
        assert!(!repo.join(".git/refs/heads/main").exists());
        assert_eq!(head_label_from_files(&repo), None);
        assert_eq!(head_label(&repo), Some(format!("main@{}", &c[..7])));

        // a linked worktree has a `.git` file: libgit2 answers
        let wt = tmp.path().join("wt");
        git(
            &repo,
            &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
        );
        assert_eq!(head_label_from_files(&wt), None);
        assert_eq!(head_label(&wt), Some(format!("side@{}", &c[..7])));

        // a HEAD naming something outside refs/heads/ or an odd name is never read as a file
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/../../a\n").unwrap();
        assert_eq!(head_label_from_files(&repo), None);
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/remotes/o/main\n").unwrap();
        assert_eq!(head_label_from_files(&repo), None);

        // not a repository
        let plain = tmp.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        assert_eq!(head_label_from_files(&plain), None);
    }

    #[test]
    fn plain_ref_names() {
        for ok in ["main", "feat/x", "a.b-c_d/1"] {
            assert!(plain_ref_name(ok), "{ok}");
        }
        for bad in [
            "", "a//b", ".hidden", "a/..", "x.lock", "a b", "a~1", "a\\b", "/a", "a/",
        ] {
            assert!(!plain_ref_name(bad), "{bad}");
        }
    }
}

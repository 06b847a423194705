//! Session tags that could not be written because `.git` is read-only (Codex's workspace-write
//! sandbox mounts it so): the session goes on, the tag is recorded in
//! `.patina/local/pending-tags.json`, and the next session command that can write `.git`
//! creates it. Every command that touches the list says what it did, so nobody is surprised by
//! a missing tag.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::git;
use crate::project::Project;
use crate::store;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct PendingTag {
    name: String,
    target: String,
    message: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PendingFile {
    #[serde(default)]
    tags: Vec<PendingTag>,
}

fn path(project: &Project) -> PathBuf {
    project.local_dir().join("pending-tags.json")
}

fn lock_path(project: &Project) -> PathBuf {
    project.local_dir().join("pending-tags.lock")
}

/// Whether git may write under `git_dir` (a probe file, removed at once): a read-only mount or
/// missing permission both say no.
fn git_dir_writable(git_dir: &Path) -> bool {
    tempfile::Builder::new()
        .prefix(".patina-probe")
        .tempfile_in(git_dir)
        .is_ok()
}

/// Create the annotated tag, or — when `.git` is read-only — record it for later and say so in
/// `warnings`. Any other failure (a conflicting tag, a bad name) is returned as it is.
pub(crate) fn tag_or_defer(
    project: &Project,
    repo: &git::Repo,
    name: &str,
    target: &str,
    message: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if git_dir_writable(repo.path()) {
        git::create_annotated_tag(repo, name, target, message)?;
        return Ok(());
    }
    let tag = PendingTag {
        name: name.to_string(),
        target: target.to_string(),
        message: message.to_string(),
    };
    update(project, |f| {
        if !f.tags.iter().any(|t| t.name == tag.name) {
            f.tags.push(tag.clone());
        }
    })?;
    warnings.push(format!(
        "could not write tag {name}: {} is read-only; recorded in .patina/local/pending-tags.json \
         — the next patina session command that can write .git creates it",
        repo.path().display()
    ));
    Ok(())
}

/// Create the recorded tags when `.git` is writable again; each outcome is a line in
/// `warnings` (created, still pending, or refused with the reason). Quiet when nothing waits.
pub(crate) fn flush(project: &Project, warnings: &mut Vec<String>) {
    let file = path(project);
    if !file.exists() {
        return;
    }
    let repo = match git::open(project.root()) {
        Ok(Some(r)) => r,
        _ => return,
    };
    if !git_dir_writable(repo.path()) {
        let n = load(&file).map(|f| f.tags.len()).unwrap_or(0);
        if n > 0 {
            warnings.push(format!(
                "{n} session tag(s) still pending: {} is read-only (see .patina/local/pending-tags.json)",
                repo.path().display()
            ));
        }
        return;
    }
    let res = update(project, |f| {
        f.tags.retain(
            |t| match git::create_annotated_tag(&repo, &t.name, &t.target, &t.message) {
                Ok(_) => {
                    warnings.push(format!("created the pending tag {}", t.name));
                    false
                }
                Err(e) => {
                    warnings.push(format!("pending tag {} not created: {e:#}", t.name));
                    true
                }
            },
        );
    });
    if let Err(e) = res {
        warnings.push(format!("pending tags: {e:#}"));
    }
}

fn load(file: &Path) -> Result<PendingFile> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a pending-tags file", file.display()))
}

fn update(project: &Project, f: impl FnOnce(&mut PendingFile)) -> Result<()> {
    let file = path(project);
    store::update_locked(&file, &lock_path(project), 0o644, |cur| {
        let mut pf: PendingFile = match cur.as_deref() {
            Some(t) => serde_json::from_str(t)
                .with_context(|| format!("{}: not a pending-tags file", file.display()))?,
            None => PendingFile::default(),
        };
        f(&mut pf);
        if pf.tags.is_empty() {
            // Nothing waits: the file goes (written empty here, removed below).
            return Ok((Some(String::new()), ()));
        }
        Ok((Some(serde_json::to_string_pretty(&pf)? + "\n"), ()))
    })?;
    if std::fs::read_to_string(&file).is_ok_and(|t| t.is_empty()) {
        let _ = std::fs::remove_file(&file);
    }
    Ok(())
}

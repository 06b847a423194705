//! Which beliefs a session captured: files added or changed since its starting commit.

use std::path::Path;

use anyhow::{Context, Result};
use git2::{Delta, DiffOptions, Repository};

use super::CapturedBelief;
use crate::project::Project;

pub(crate) fn captured_since(
    project: &Project,
    starting_commit: Option<&str>,
) -> Result<Vec<CapturedBelief>> {
    let Ok(repo) = Repository::discover(project.root()) else {
        return Ok(vec![]);
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(vec![]);
    };
    let workdir = workdir
        .canonicalize()
        .with_context(|| format!("resolving {}", workdir.display()))?;
    let beliefs_dir = project.beliefs_dir();
    let Ok(rel_dir) = beliefs_dir.strip_prefix(&workdir) else {
        return Ok(vec![]);
    };
    let tree = match starting_commit {
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
        .context("comparing the beliefs with the starting commit")?;
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
        if rel.parent() != Some(rel_dir) || rel.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let path = workdir.join(rel);
        out.push(describe(&path));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

fn describe(path: &Path) -> CapturedBelief {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match super::model::read_doc(path) {
        Ok(doc) => {
            let b = super::Belief::from_doc(&doc, path);
            CapturedBelief {
                id: b.id,
                statement: b.statement,
                path: path.to_path_buf(),
            }
        }
        Err(e) => CapturedBelief {
            id: stem,
            statement: format!("(unreadable: {e:#})"),
            path: path.to_path_buf(),
        },
    }
}

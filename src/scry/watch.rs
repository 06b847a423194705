//! Watching a project for the changes scry indexes (inotify through `notify`).
//!
//! Every directory the corpus can read is watched *non-recursively*: the walk that finds them
//! respects .gitignore and skips hidden directories, so a build tree such as `target/` (tens of
//! thousands of directories) costs no watch. `.patina/` and `.patina/local/` (the active
//! session) are added by hand, and so is git: `HEAD` and `packed-refs` in the git directories and
//! every directory under `refs/` (new commits change commit chunks). Directories that appear
//! later are added by [`ProjectWatcher::sync`] after the next refresh.
//!
//! Only changes count: opening or reading a file (our own refresh reads everything) and metadata
//! changes are dropped, and so are the index's own files and lock files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::project::Project;

/// A live watch on one project; dropping it stops the watching.
pub struct ProjectWatcher {
    watcher: RecommendedWatcher,
    watched: HashSet<PathBuf>,
    root: PathBuf,
    git_dirs: Vec<PathBuf>,
}

/// What the watch reports to: called on the notify thread for each change that matters.
pub type OnChange = Box<dyn Fn() + Send + Sync>;

struct Filter {
    index_dir: PathBuf,
    git_dirs: Vec<PathBuf>,
}

impl Filter {
    fn matters(&self, kind: &EventKind, path: &Path) -> bool {
        let change = match kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
            EventKind::Modify(_) => true,
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            EventKind::Any | EventKind::Other => true,
        };
        if !change || path.starts_with(&self.index_dir) {
            return false;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".lock") || name.ends_with(".tmp") || name.starts_with(".tmp") {
            return false;
        }
        match self.git_dirs.iter().find(|g| path.starts_with(g)) {
            Some(g) => {
                name == "HEAD"
                    || name == "packed-refs"
                    || path.strip_prefix(g).is_ok_and(|r| r.starts_with("refs"))
            }
            None => true,
        }
    }
}

impl ProjectWatcher {
    /// Watch `project`; `on_change` is called for every change that matters (debounce there).
    pub fn start(project: &Project, on_change: OnChange) -> Result<ProjectWatcher> {
        let root = project.root().to_path_buf();
        let git_dirs = crate::git::git_dirs(&root);
        let filter = Filter {
            index_dir: project.index_dir(),
            git_dirs: git_dirs.clone(),
        };
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            match res {
                Ok(ev) => {
                    if ev.paths.iter().any(|p| filter.matters(&ev.kind, p)) {
                        on_change();
                    }
                }
                // Overflowed queue and the like: something changed, we don't know what.
                Err(e) => {
                    tracing::warn!("file watcher: {e}");
                    on_change();
                }
            }
        })
        .context("starting the file watcher")?;
        let mut w = ProjectWatcher {
            watcher,
            watched: HashSet::new(),
            root,
            git_dirs,
        };
        w.sync(project)?;
        Ok(w)
    }

    /// Watch the directories that appeared since the last call (and forget vanished ones).
    pub fn sync(&mut self, project: &Project) -> Result<()> {
        let want = dirs_to_watch(project, &self.root, &self.git_dirs);
        self.watched.retain(|d| d.is_dir());
        for d in want {
            if self.watched.contains(&d) {
                continue;
            }
            match self.watcher.watch(&d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(d);
                }
                // A directory that vanished between the walk and the watch is no loss; running
                // out of inotify watches is, and the caller falls back to periodic refreshes.
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    return Err(anyhow::anyhow!(
                        "out of inotify watches after {} directories (fs.inotify.max_user_watches)",
                        self.watched.len()
                    ));
                }
                Err(e) => tracing::debug!(dir = %d.display(), "not watched: {e}"),
            }
        }
        Ok(())
    }

    pub fn watched(&self) -> usize {
        self.watched.len()
    }
}

fn dirs_to_watch(project: &Project, root: &Path, git_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = vec![
        root.to_path_buf(),
        project.patina_dir(),
        project.local_dir(),
    ];
    let index_dir = project.index_dir();
    let mut wb = ignore::WalkBuilder::new(root);
    wb.standard_filters(true)
        .require_git(false)
        .hidden(true)
        .follow_links(false);
    for entry in wb.build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_dir()) && !entry.path().starts_with(&index_dir) {
            out.push(entry.into_path());
        }
    }
    // The layer and the sessions archive are read whatever .gitignore says.
    for top in [project.layer_dir(), project.sessions_dir()] {
        let mut stack = vec![top];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            out.push(d);
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir())
                    && !e.file_name().to_string_lossy().starts_with('.')
                {
                    stack.push(e.path());
                }
            }
        }
    }
    for g in git_dirs {
        out.push(g.clone());
        let mut stack = vec![g.join("refs")];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            out.push(d);
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out.retain(|d| d.is_dir());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind};

    #[test]
    fn reads_and_own_files_do_not_count() {
        let f = Filter {
            index_dir: PathBuf::from("/p/.patina/local/index"),
            git_dirs: vec![PathBuf::from("/p/.git")],
        };
        let modify = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(f.matters(&modify, Path::new("/p/src/a.rs")));
        assert!(f.matters(&closed, Path::new("/p/src/a.rs")));
        assert!(!f.matters(&open, Path::new("/p/src/a.rs")));
        assert!(!f.matters(&modify, Path::new("/p/.patina/local/index/lexical/x")));
        assert!(!f.matters(&modify, Path::new("/p/.patina/local/index.lock")));
        assert!(f.matters(&modify, Path::new("/p/.patina/local/active-session.md")));
        let create = EventKind::Create(CreateKind::File);
        assert!(f.matters(&create, Path::new("/p/.git/HEAD")));
        assert!(f.matters(&create, Path::new("/p/.git/refs/heads/main")));
        assert!(!f.matters(&create, Path::new("/p/.git/index")));
        assert!(!f.matters(&create, Path::new("/p/.git/objects/ab/cdef")));
    }
}

//! File watching with inotify (the `notify` crate, debounced 100 ms by
//! `notify-debouncer-full`): the active session file, the beliefs directory (recursively — an
//! in-place edit of a belief file changes no directory mtime, which is why polling missed it),
//! the sessions archive, the layer, and git's HEAD and refs. Each event becomes a [`Change`]
//! for the watcher thread, which reloads only what changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    Session,
    Beliefs,
    History,
    Git,
    /// Anything else in the layer (scry's corpus).
    Layer,
}

/// What to watch, and what a change under each path means.
pub struct Targets {
    pub local: PathBuf,
    pub active_session: PathBuf,
    pub beliefs: PathBuf,
    pub sessions: PathBuf,
    pub layer: PathBuf,
    pub git_dir: Option<PathBuf>,
}

pub type Handle = Debouncer<RecommendedWatcher, RecommendedCache>;

fn classify(t: &Targets, p: &Path) -> Option<Change> {
    if p == t.active_session {
        return Some(Change::Session);
    }
    if p.starts_with(&t.beliefs) {
        return Some(Change::Beliefs);
    }
    if p.starts_with(&t.sessions) {
        return Some(Change::History);
    }
    if let Some(g) = &t.git_dir
        && p.starts_with(g)
    {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The index and objects change on every `git status`/fetch; HEAD and refs matter.
        if name == "index" || name.ends_with(".lock") && !p.starts_with(g.join("refs")) {
            return None;
        }
        return Some(Change::Git);
    }
    if p.starts_with(&t.layer) {
        return Some(Change::Layer);
    }
    None
}

/// Start watching; changes arrive at `on_change` in batches. Paths that do not exist yet are skipped
/// (the watcher's slow poll notices them appear).
pub fn start(
    t: Targets,
    on_change: impl Fn(Vec<Change>) + Send + 'static,
) -> notify::Result<Handle> {
    let targets = Targets {
        local: t.local.clone(),
        active_session: t.active_session.clone(),
        beliefs: t.beliefs.clone(),
        sessions: t.sessions.clone(),
        layer: t.layer.clone(),
        git_dir: t.git_dir.clone(),
    };
    let mut d = new_debouncer(
        Duration::from_millis(100),
        None,
        move |res: DebounceEventResult| {
            let Ok(events) = res else {
                return;
            };
            let mut changes: Vec<Change> = events
                .iter()
                .flat_map(|e| e.paths.iter())
                .filter_map(|p| classify(&targets, p))
                .collect();
            changes.sort();
            changes.dedup();
            if !changes.is_empty() {
                on_change(changes);
            }
        },
    )?;
    let mut watch = |p: &Path, mode: RecursiveMode| {
        if p.exists()
            && let Err(e) = d.watch(p, mode)
        {
            tracing::warn!("cannot watch {}: {e}", p.display());
        }
    };
    watch(&t.local, RecursiveMode::NonRecursive);
    watch(&t.layer, RecursiveMode::Recursive);
    if !t.beliefs.starts_with(&t.layer) {
        watch(&t.beliefs, RecursiveMode::Recursive);
    }
    if !t.sessions.starts_with(&t.layer) {
        watch(&t.sessions, RecursiveMode::NonRecursive);
    }
    if let Some(g) = &t.git_dir {
        watch(g, RecursiveMode::NonRecursive);
        watch(&g.join("refs"), RecursiveMode::Recursive);
    }
    Ok(d)
}

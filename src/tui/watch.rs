//! File watching with inotify (the `notify` crate): the active session file, the beliefs
//! directory (recursively — an in-place edit of a belief file changes no directory mtime, which is
//! why polling missed it), the sessions archive, the layer, and git's HEAD and refs. Each event
//! that changes something becomes a [`Change`]; changes are batched for 100 ms after the first
//! one and handed to the watcher thread, which reloads only what changed.
//!
//! Two things keep an idle cockpit idle: opening or reading a file is not a change (inotify
//! reports opens, and the cockpit and the daemon read these very files, so counting them made
//! every reload trigger the next), and the batching thread blocks on its channel instead of
//! ticking (a debouncer crate's timer woke it 40 times a second for nothing).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// How long changes are gathered after the first one (an editor's save is several events).
const BATCH: Duration = Duration::from_millis(100);

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

/// The live watch; dropping it stops watching (and ends the batching thread).
pub struct Handle {
    _watcher: RecommendedWatcher,
}

/// Whether an event can change what the cockpit shows: writes, creations, removals, renames.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Any | EventKind::Other => true,
    }
}

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
    let (tx, rx) = mpsc::channel::<Change>();
    let mut d = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else {
            return;
        };
        if !is_change(&event.kind) {
            return;
        }
        for c in event.paths.iter().filter_map(|p| classify(&targets, p)) {
            let _ = tx.send(c);
        }
    })?;
    std::thread::Builder::new()
        .name("patina-watch".into())
        .spawn(move || batch(rx, on_change))
        .map_err(|e| notify::Error::generic(&format!("starting the watch thread: {e}")))?;
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
    Ok(Handle { _watcher: d })
}

/// Hands changes on in batches: blocks until one arrives (no wake-ups while nothing changes),
/// gathers what follows within [`BATCH`], sends the set. Ends when the watcher is dropped.
fn batch(rx: Receiver<Change>, on_change: impl Fn(Vec<Change>)) {
    while let Ok(first) = rx.recv() {
        let mut changes = vec![first];
        let until = Instant::now() + BATCH;
        let open = loop {
            match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(c) => changes.push(c),
                Err(RecvTimeoutError::Timeout) => break true,
                Err(RecvTimeoutError::Disconnected) => break false,
            }
        };
        changes.sort();
        changes.dedup();
        on_change(changes);
        if !open {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(root: &Path) -> Targets {
        let local = root.join(".patina/local");
        let git = root.join(".git");
        for d in [&local, &root.join("layer/beliefs"), &git.join("refs/heads")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(local.join("active-session.md"), "# s\n").unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        Targets {
            active_session: local.join("active-session.md"),
            local,
            beliefs: root.join("layer/beliefs"),
            sessions: root.join("layer/sessions"),
            layer: root.join("layer"),
            git_dir: Some(git),
        }
    }

    /// Reading the watched files (what every reload and the daemon do) is not a change; writing
    /// is. Counting opens made each reload trigger the next, forever.
    #[test]
    fn reads_are_not_changes_and_writes_are() {
        let dir = tempfile::tempdir().unwrap();
        let t = targets(dir.path());
        let (session, head) = (
            t.active_session.clone(),
            t.git_dir.clone().unwrap().join("HEAD"),
        );
        let (tx, rx) = mpsc::channel();
        let _h = start(t, move |c| {
            let _ = tx.send(c);
        })
        .unwrap();
        for _ in 0..5 {
            std::fs::read_to_string(&session).unwrap();
            std::fs::read_to_string(&head).unwrap();
        }
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(500)).ok(),
            None,
            "reading reported a change"
        );
        std::fs::write(&session, "# s\n- note\n").unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, vec![Change::Session]);
        std::fs::write(&head, "ref: refs/heads/other\n").unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, vec![Change::Git]);
    }
}

//! Background work. Long-lived threads and short-lived blocking tasks, all answering the UI loop
//! with `Action::Msg`:
//!
//! - the **watcher** reloads what inotify says changed (`watch.rs`: the active session file,
//!   belief files edited in place, the archive, HEAD and refs), with a 2 s fingerprint poll as a
//!   safety net; daemon, secrets and agent state are re-read every 2 s, pending releases every
//!   500 ms. A daemon that stops answering is started again (at most every 5 s).
//! - the **op worker** runs mutations one at a time in the order they were asked for (so two
//!   notes typed in a burst land in that order), sends the fresh session before `Msg::Done`
//!   (so keys replayed after it see the new state), then pokes the watcher.
//! - the **scry worker**: queries debounced 150 ms, only the newest answered. While the daemon
//!   answers, queries go to it and nothing is loaded here — while it indexes, the cockpit shows
//!   its progress instead of loading a second model. Without a daemon it searches in-process.
//! - the **model puller** (first run only, `[scry] auto_pull`, default true) installs the model
//!   with progress in the status bar.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, Effect, Msg, Op, UiState};
use super::domain;
use super::model::*;
use super::watch;
use crate::backend::{Answered, Auto, Backend, Daemon, InProcess};
use crate::project::Project;
use crate::proto::scry::{FederatedScryRequest, ScryRequest};
use crate::scry::{self, Phase};

const WATCH_EVERY: Duration = Duration::from_millis(500);
const POLL_EVERY: Duration = Duration::from_secs(2);
const RESTART_EVERY: Duration = Duration::from_secs(5);
const STATUS_EVERY: Duration = Duration::from_secs(2);
const SCRY_DEBOUNCE: Duration = Duration::from_millis(150);

/// True while the model puller runs: the scry worker then leaves the model state to it.
static PULLING: AtomicBool = AtomicBool::new(false);
/// The watcher's last word on the daemon: scry goes through it while it answers.
static DAEMON_UP: AtomicBool = AtomicBool::new(false);
/// The daemon is running an index job for this project (GET /api/index, polled by the watcher).
/// A query must then not ask for a refresh: the daemon would answer only after a whole lexical
/// round over the corpus (seconds on a large project), so every keystroke's results came 3–4 s
/// late while a build embedded (benches/tui.sh). The running job picks the change up instead.
static INDEX_BUILDING: AtomicBool = AtomicBool::new(false);

enum Poke {
    Refresh,
    /// The project changed (after `init`): discover it again.
    Reopen,
    /// Files changed (from inotify).
    Changed(Vec<watch::Change>),
}

enum ScryReq {
    Query {
        seq: u64,
        text: String,
        all: bool,
    },
    /// The corpus may have changed: refresh the index before the next search.
    Dirty,
    /// The model may have become available.
    ModelChanged,
    /// Ask the last query again (the daemon finished a build after timing out on it).
    Retry,
}

type Slot = Arc<Mutex<Option<Project>>>;

/// Handles to the background threads.
pub struct Jobs {
    tx: UnboundedSender<Action>,
    project: Slot,
    poke: Sender<Poke>,
    scry: Sender<ScryReq>,
    ops: Sender<(u64, Op)>,
}

/// Settings the jobs read from the user config.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ScryPrefs {
    pub auto_pull: Option<bool>,
}

fn send(tx: &UnboundedSender<Action>, m: Msg) {
    let _ = tx.send(Action::Msg(m));
}

impl Jobs {
    pub fn start(cwd: PathBuf, tx: UnboundedSender<Action>, auto_pull: bool) -> Jobs {
        let project: Slot = Arc::new(Mutex::new(None));
        let (poke_tx, poke_rx) = mpsc::channel();
        let (scry_tx, scry_rx) = mpsc::channel();
        {
            let (cwd, tx, slot, scry_tx, poke) = (
                cwd.clone(),
                tx.clone(),
                project.clone(),
                scry_tx.clone(),
                poke_tx.clone(),
            );
            std::thread::Builder::new()
                .name("tui-watch".into())
                .spawn(move || watcher(cwd, tx, poke_rx, poke, slot, scry_tx))
                .expect("spawning the watcher thread");
        }
        {
            let (tx, slot) = (tx.clone(), project.clone());
            std::thread::Builder::new()
                .name("tui-scry".into())
                .spawn(move || scry_worker(scry_rx, tx, slot))
                .expect("spawning the scry thread");
        }
        if auto_pull {
            let (tx, scry_tx) = (tx.clone(), scry_tx.clone());
            std::thread::Builder::new()
                .name("tui-model".into())
                .spawn(move || model_puller(tx, scry_tx))
                .expect("spawning the model thread");
        }
        let (ops_tx, ops_rx) = mpsc::channel();
        {
            let (tx, slot, poke, scry) = (
                tx.clone(),
                project.clone(),
                poke_tx.clone(),
                scry_tx.clone(),
            );
            std::thread::Builder::new()
                .name("tui-ops".into())
                .spawn(move || op_worker(ops_rx, tx, slot, cwd, poke, scry))
                .expect("spawning the op thread");
        }
        Jobs {
            tx,
            project,
            poke: poke_tx,
            scry: scry_tx,
            ops: ops_tx,
        }
    }

    fn project(&self) -> Option<Project> {
        self.project
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn blocking(&self, f: impl FnOnce(&Project) -> Msg + Send + 'static) {
        if let Some(p) = self.project() {
            let tx = self.tx.clone();
            tokio::task::spawn_blocking(move || send(&tx, f(&p)));
        }
    }

    /// Carry out an effect that needs no terminal access (the runtime handles the others).
    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::Quit | Effect::OpenEditor { .. } | Effect::SetMouse(_) | Effect::Suspend => {}
            Effect::Refresh => {
                let _ = self.poke.send(Poke::Refresh);
            }
            Effect::Op { id, op } => {
                let _ = self.ops.send((id, op));
            }
            Effect::PreviewEnd => self.blocking(|p| {
                Msg::EndPreview(domain::end_preview(p).map_err(|e| format!("{e:#}")))
            }),
            Effect::CompleteLink(prefix) => self.blocking(move |p| {
                let items = domain::complete_link(p, &prefix);
                Msg::Completions { prefix, items }
            }),
            Effect::Diff(sha) => self.blocking(move |p| {
                let result = domain::commit_patch(p, &sha).map_err(|e| format!("{e:#}"));
                Msg::Diff { sha, result }
            }),
            Effect::Preview {
                path,
                line,
                line_end,
            } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result =
                        domain::read_region(&path, line, line_end).map_err(|e| format!("{e:#}"));
                    send(&tx, Msg::Preview { path, line, result });
                });
            }
            Effect::ReadSession(path) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result = domain::read_session(&path).map_err(|e| format!("{e:#}"));
                    send(&tx, Msg::SessionText { path, result });
                });
            }
            Effect::SaveState(state) => {
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = save_state(&state) {
                        tracing::warn!("saving the cockpit state: {e:#}");
                    }
                });
            }
            Effect::Scry { seq, query, all } => {
                let _ = self.scry.send(ScryReq::Query {
                    seq,
                    text: query,
                    all,
                });
            }
        }
    }
}

/// `PATINA_HOME/tui-state.json`: the theme chosen with `t` and the scry query history. Queries
/// can be private, so 0600.
fn state_path() -> PathBuf {
    crate::paths::patina_home().join("tui-state.json")
}

pub fn load_state() -> UiState {
    std::fs::read_to_string(state_path())
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn save_state(state: &UiState) -> anyhow::Result<()> {
    let path = state_path();
    if let Some(dir) = path.parent() {
        crate::store::ensure_private_dir(dir)?;
    }
    let text = serde_json::to_string_pretty(state)?;
    crate::store::atomic_write(&path, text.as_bytes(), 0o600)
}

/// Runs ops one at a time, in order. Session-changing ops send the fresh session first, so a
/// key replayed after `Done` sees it (the `n` after a start finds the session).
fn op_worker(
    rx: Receiver<(u64, Op)>,
    tx: UnboundedSender<Action>,
    slot: Slot,
    cwd: PathBuf,
    poke: Sender<Poke>,
    scry: Sender<ScryReq>,
) {
    while let Ok((id, op)) = rx.recv() {
        let what = op.what().to_string();
        let started = Instant::now();
        let project = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let result: anyhow::Result<String> = match (&op, &project) {
            (Op::InitProject, _) => crate::project::init(&cwd, None)
                .map(|r| format!("patina project initialised at {}", r.root.display())),
            (Op::LockSecrets, _) => domain::lock_secrets(),
            (Op::AnswerRelease { id, allow }, _) => domain::answer_release(id, *allow),
            (_, None) => Err(anyhow::anyhow!("no patina project here")),
            (op, Some(p)) => match op {
                Op::StartSession { title, llm } => domain::start_session(p, title, llm.as_deref()),
                Op::Note(text) => domain::note(p, text),
                Op::AddGoal(text) => domain::add_goal(p, text),
                Op::ToggleGoal(i) => domain::toggle_goal(p, *i),
                Op::UpdateSession => domain::update(p),
                Op::EndSession { commit } => domain::end(p, *commit),
                Op::Recover => domain::recover(p),
                Op::SetAsideSession => domain::set_aside(p),
                Op::CreateBelief(d) => domain::create_belief(p, d),
                Op::InitProject | Op::LockSecrets | Op::AnswerRelease { .. } => unreachable!(),
            },
        };
        tracing::info!(op = %what, ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "cockpit operation");
        let ok = result.is_ok();
        if let Op::InitProject = op {
            let _ = poke.send(Poke::Reopen);
        } else if ok && let Some(p) = &project {
            // The new state first, then the answer.
            send(&tx, Msg::Session(domain::load_session(p)));
            if matches!(op, Op::CreateBelief(_)) {
                let s = domain::load_session(p).ready().cloned().flatten();
                send(&tx, Msg::Beliefs(domain::load_beliefs(p, s.as_ref())));
            }
        }
        send(
            &tx,
            Msg::Done {
                id,
                what,
                result: result.map_err(|e| format!("{e:#}")),
            },
        );
        let _ = poke.send(Poke::Refresh);
        let _ = scry.send(ScryReq::Dirty);
    }
}

fn discover(cwd: &Path) -> (ProjectState, Option<Project>) {
    match Project::discover(cwd) {
        Ok(p) if p.is_initialized() => {
            let name = p
                .root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.root().display().to_string());
            (
                ProjectState::Ready {
                    root: p.root().to_path_buf(),
                    name,
                },
                Some(p),
            )
        }
        Ok(p) => (
            ProjectState::NotInitialized {
                root: p.root().to_path_buf(),
            },
            None,
        ),
        Err(_) => (
            ProjectState::NoGit {
                cwd: cwd.to_path_buf(),
            },
            None,
        ),
    }
}

fn file_fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Sends a value only when it differs from the last one sent.
struct Latest<T: PartialEq + Clone>(Option<T>);

impl<T: PartialEq + Clone> Latest<T> {
    fn changed(&mut self, v: &T) -> bool {
        if self.0.as_ref() == Some(v) {
            false
        } else {
            self.0 = Some(v.clone());
            true
        }
    }
}

fn targets(p: &Project) -> watch::Targets {
    let local = p
        .active_session_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    watch::Targets {
        local,
        active_session: p.active_session_path(),
        beliefs: p.beliefs_dir(),
        sessions: p.sessions_dir(),
        layer: p.root().join("layer"),
        git_dir: domain::git_dir(p),
    }
}

/// (name, mtime, len) of every entry: an in-place edit changes a file's mtime, not the dir's.
fn dir_fingerprint(dir: &Path) -> Option<Vec<(std::ffi::OsString, SystemTime, u64)>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.file_name(), m.modified().ok()?, m.len()))
        })
        .collect();
    v.sort();
    Some(v)
}

fn watcher(
    cwd: PathBuf,
    tx: UnboundedSender<Action>,
    pokes: Receiver<Poke>,
    poke_tx: Sender<Poke>,
    slot: Slot,
    scry: Sender<ScryReq>,
) {
    let (state, mut project) = discover(&cwd);
    send(&tx, Msg::Project(state));
    send(&tx, Msg::Model(domain::model_state()));
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = project.clone();
    if project.is_some() {
        let _ = scry.send(ScryReq::Dirty);
    }
    let start_watch = |p: &Project| {
        let poke = poke_tx.clone();
        match watch::start(targets(p), move |c| {
            let _ = poke.send(Poke::Changed(c));
        }) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!("file watching unavailable ({e}); polling every 2 s");
                None
            }
        }
    };
    let mut _watch = project.as_ref().and_then(start_watch);
    let mut daemon_was_up = false;
    let mut last_restart: Option<Instant> = None;
    let mut daemon_started = false;
    let mut session_fp = None;
    let mut beliefs_fp = None;
    let mut head_fp = None;
    let mut history_fp = None;
    let mut first = true;
    let mut last_status: Option<Instant> = None;
    let mut last_poll = Instant::now();
    let mut session_sent: Latest<Feed<Option<SessionView>>> = Latest(None);
    let mut commits_sent: Latest<Feed<Vec<CommitRow>>> = Latest(None);
    let mut beliefs_sent: Latest<Feed<Vec<BeliefRow>>> = Latest(None);
    let mut history_sent: Latest<Feed<Vec<SessionRow>>> = Latest(None);
    let mut daemon_sent: Latest<DaemonState> = Latest(None);
    let mut secrets_sent: Latest<Feed<Vec<VaultView>>> = Latest(None);
    let mut agent_sent: Latest<AgentState> = Latest(None);
    let mut transcript_sent: Latest<Option<TranscriptView>> = Latest(None);
    let mut pending_sent: Latest<Vec<ReleaseRequest>> = Latest(None);
    let mut model_sent: Latest<bool> = Latest(None);
    let mut index_sent: Latest<IndexState> = Latest(None);
    let mut session: Option<SessionView> = None;
    loop {
        let mut changes: Vec<watch::Change> = vec![];
        let forced = if first {
            first = false;
            true
        } else {
            match pokes.recv_timeout(WATCH_EVERY) {
                Ok(Poke::Refresh) => true,
                Ok(Poke::Changed(c)) => {
                    changes = c;
                    false
                }
                Ok(Poke::Reopen) => {
                    let (state, p) = discover(&cwd);
                    send(&tx, Msg::Project(state));
                    project = p;
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = project.clone();
                    _watch = project.as_ref().and_then(start_watch);
                    let _ = scry.send(ScryReq::Dirty);
                    true
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if tx.is_closed() {
            return;
        }
        let poll = last_poll.elapsed() >= POLL_EVERY;
        if poll {
            last_poll = Instant::now();
        }
        let has = |c: watch::Change| changes.contains(&c);
        if let Some(p) = &project {
            let mut session_changed = false;
            let sfp = if poll || forced {
                file_fingerprint(&p.active_session_path())
            } else {
                session_fp
            };
            if forced || has(watch::Change::Session) || sfp != session_fp {
                session_fp = file_fingerprint(&p.active_session_path());
                let feed = domain::load_session(p);
                session = feed.ready().cloned().flatten();
                if session_sent.changed(&feed) {
                    session_changed = true;
                    send(&tx, Msg::Session(feed));
                    let _ = scry.send(ScryReq::Dirty);
                }
            }
            let hfp = if poll || forced || has(watch::Change::Git) {
                domain::head_fingerprint(p)
            } else {
                head_fp.clone()
            };
            if forced || session_changed || hfp != head_fp {
                head_fp = hfp;
                let feed = domain::load_commits(p, session.as_ref());
                if commits_sent.changed(&feed) {
                    send(&tx, Msg::Commits(feed));
                }
            }
            let bfp = if poll || forced || has(watch::Change::Beliefs) {
                dir_fingerprint(&p.beliefs_dir())
            } else {
                beliefs_fp.clone()
            };
            if forced || session_changed || has(watch::Change::Beliefs) || bfp != beliefs_fp {
                beliefs_fp = bfp;
                let feed = domain::load_beliefs(p, session.as_ref());
                if beliefs_sent.changed(&feed) {
                    send(&tx, Msg::Beliefs(feed));
                    let _ = scry.send(ScryReq::Dirty);
                }
            }
            let afp = if poll || forced || has(watch::Change::History) {
                dir_fingerprint(&p.sessions_dir())
            } else {
                history_fp.clone()
            };
            if forced || afp != history_fp {
                history_fp = afp;
                let feed = domain::load_history(p);
                if history_sent.changed(&feed) {
                    send(&tx, Msg::History(feed));
                    let _ = scry.send(ScryReq::Dirty);
                }
            }
            if has(watch::Change::Layer) {
                let _ = scry.send(ScryReq::Dirty);
            }
        }
        // Releases wait for a person: ask every round (it also marks the cockpit attached).
        if DAEMON_UP.load(Ordering::SeqCst) {
            let pending = domain::pending_releases();
            if pending_sent.changed(&pending) {
                send(&tx, Msg::Pending(pending));
            }
        }
        if forced || last_status.is_none_or(|t| t.elapsed() >= STATUS_EVERY) {
            last_status = Some(Instant::now());
            let mut d = if daemon_started {
                domain::daemon_state()
            } else {
                daemon_started = true;
                send(&tx, Msg::Daemon(DaemonState::Starting));
                domain::ensure_daemon()
            };
            // A daemon that answered before and stopped: start it again (not in a tight loop).
            if !matches!(d, DaemonState::Up { .. })
                && daemon_was_up
                && last_restart.is_none_or(|t| t.elapsed() >= RESTART_EVERY)
            {
                last_restart = Some(Instant::now());
                send(&tx, Msg::Notice(super::strings::DAEMON_DIED.into()));
                d = domain::ensure_daemon();
            }
            daemon_was_up |= matches!(d, DaemonState::Up { .. });
            DAEMON_UP.store(matches!(d, DaemonState::Up { .. }), Ordering::SeqCst);
            if daemon_sent.changed(&d) {
                send(&tx, Msg::Daemon(d));
            }
            let s = domain::secrets_state();
            if secrets_sent.changed(&s) {
                send(&tx, Msg::Secrets(s));
            }
            if let Some(p) = &project
                && DAEMON_UP.load(Ordering::SeqCst)
                && let Some(i) = domain::daemon_index_state(p)
                && index_sent.changed(&i)
            {
                INDEX_BUILDING.store(matches!(i, IndexState::Building { .. }), Ordering::SeqCst);
                if matches!(i, IndexState::Idle) {
                    // A build finished: a query that timed out during it can be answered now.
                    let _ = scry.send(ScryReq::Retry);
                }
                send(&tx, Msg::Index(i));
            }
            if let Some(p) = &project {
                let a = domain::agent_state(p);
                if agent_sent.changed(&a) {
                    send(&tx, Msg::Agent(a));
                }
                let tv = domain::transcript_summary(p);
                if transcript_sent.changed(&tv) {
                    send(&tx, Msg::Transcript(tv));
                }
            }
            let ready = scry::model::status(false).ready;
            if model_sent.changed(&ready) && ready {
                let _ = scry.send(ScryReq::ModelChanged);
            }
        }
    }
}

/// The cockpit's backend: the daemon when it answers (model and indexes hot there, shared with
/// the CLI), else this process's engine, whose index refreshes show in the status bar. The
/// choice and the fallback are `crate::backend`'s; answers say which one answered.
pub(crate) fn cockpit_backend(tx: &UnboundedSender<Action>) -> Auto {
    let tx = tx.clone();
    let last = Mutex::new(Instant::now());
    let progress = move |ph: Phase| {
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() < Duration::from_millis(100) {
            return;
        }
        *last = Instant::now();
        let (phase, done, total) = match ph {
            Phase::Scanning => ("scanning", 0, 0),
            Phase::Embedding { done, total } => ("embedding", done, total),
            Phase::Writing => ("writing", 0, 0),
        };
        send(
            &tx,
            Msg::Index(IndexState::Building {
                phase: phase.into(),
                done,
                total,
            }),
        );
    };
    let local = InProcess::default().with_progress(Arc::new(progress));
    Auto::new(Daemon::local().with_timeout(SCRY_CALL), local)
}

/// The longest the cockpit waits for one daemon call before answering in-process.
const SCRY_CALL: Duration = Duration::from_secs(30);

fn scry_worker(rx: Receiver<ScryReq>, tx: UnboundedSender<Action>, slot: Slot) {
    let mut backend = cockpit_backend(&tx);
    let mut dirty = false;
    let mut model_reported: Option<ModelState> = None;
    loop {
        let Ok(first) = rx.recv() else { return };
        let mut query = None;
        let mut apply =
            |r: ScryReq, query: &mut Option<(u64, String, bool)>, dirty: &mut bool| match r {
                ScryReq::Query { seq, text, all } => *query = Some((seq, text, all)),
                ScryReq::Dirty => *dirty = true,
                // The backend's own fallback rule answers a query that timed out; the next
                // keystroke asks again.
                ScryReq::Retry => {}
                ScryReq::ModelChanged => {
                    // A fresh engine picks the model up (a failed load is remembered for a while).
                    backend = cockpit_backend(&tx);
                    *dirty = true;
                }
            };
        apply(first, &mut query, &mut dirty);
        // Debounce: while requests keep coming within 150 ms, keep only the newest query.
        loop {
            match rx.recv_timeout(SCRY_DEBOUNCE) {
                Ok(r) => apply(r, &mut query, &mut dirty),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let Some(project) = slot.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            if let Some((seq, _, _)) = query {
                send(
                    &tx,
                    Msg::Scry {
                        seq,
                        result: Err("scry needs a patina project".into()),
                    },
                );
            }
            continue;
        };
        let root = project.root().to_string_lossy().into_owned();
        let Some((seq, text, all)) = query else {
            // Nothing to answer: ask for the index to be brought up to date in the background
            // (the daemon's job, or this process's service when no daemon answers). Never wait
            // for it here: a build that is embedding is still answering queries, and its
            // progress shows in the status bar from GET /api/index.
            if dirty {
                let _span = tracing::info_span!("tui_index_refresh").entered();
                match backend.index_start(project.root()) {
                    Ok(_) => dirty = false,
                    Err(e) => send(&tx, Msg::Index(IndexState::Failed(format!("{e:#}")))),
                }
            }
            continue;
        };
        // All registered projects: the federated fan-out (each local index refreshed first;
        // remotes answer within the per-source timeout).
        if all {
            let req = FederatedScryRequest {
                here: Some(root),
                query: text.clone(),
                limit: Some(30),
                kinds: vec![],
                refresh: true,
            };
            let result = backend
                .scry_all(&req)
                .map(|a| federated_view(text, a))
                .map_err(|e| format!("{e:#}"));
            send(&tx, Msg::Scry { seq, result });
            continue;
        }
        let building = DAEMON_UP.load(Ordering::SeqCst) && INDEX_BUILDING.load(Ordering::SeqCst);
        if dirty && building {
            // Queue the change for the running job and answer from what is indexed now.
            let _span = tracing::info_span!("tui_index_refresh").entered();
            if backend.index_start(project.root()).is_ok() {
                dirty = false;
            }
        }
        let req = ScryRequest {
            project: root,
            query: text.clone(),
            limit: Some(30),
            kinds: vec![],
            refresh: dirty,
        };
        let result = backend.scry(&req);
        if let Ok(answer) = &result {
            if dirty {
                dirty = false;
                send(&tx, Msg::Index(IndexState::Idle));
            }
            let m = model_state(&answer.answer);
            if model_reported.as_ref() != Some(&m) && !PULLING.load(Ordering::SeqCst) {
                model_reported = Some(m.clone());
                send(&tx, Msg::Model(m));
            }
        }
        let result = result.map(|a| view(text, a)).map_err(|e| format!("{e:#}"));
        send(&tx, Msg::Scry { seq, result });
    }
}

/// What an answer says about the model: hybrid = ready; lexical = why not (scry's `semantic`
/// error).
fn model_state(a: &scry::ScryAnswer) -> ModelState {
    let why = a.errors.iter().find(|e| e.source == "semantic");
    // Lexical only because nothing is embedded yet is not a model problem: the index is being
    // built (the status bar shows its progress).
    if a.mode == "hybrid" || why.is_none() && a.coverage.total > 0 && !a.coverage.complete() {
        return ModelState::Ready;
    }
    ModelState::Lexical(
        why.map(|e| e.message.clone())
            .unwrap_or_else(|| "no embedding model".into()),
    )
}

fn federated_view(query: String, a: Answered<crate::mother::FederatedAnswer>) -> ScryView {
    let backend = Some(a.backend.to_string());
    let a = a.answer;
    ScryView {
        query,
        backend,
        mode: a.mode.clone(),
        took_ms: a.took_ms,
        hits: a
            .results
            .into_iter()
            .map(|f| ScryHitView {
                line: f.hit.best_line(),
                root: Some(PathBuf::from(&f.hit.project)),
                source: Some(f.source),
                kind: f.hit.kind.to_string(),
                title: f.hit.title,
                path: f.hit.path,
                line_end: f.hit.line_end,
                snippet: f.hit.snippet,
                score: f.hit.score,
            })
            .collect(),
        notes: a
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect(),
        coverage: None,
    }
}

fn view(query: String, a: Answered<scry::ScryAnswer>) -> ScryView {
    let backend = Some(a.backend.to_string());
    let a = a.answer;
    ScryView {
        query,
        backend,
        mode: a.mode.clone(),
        took_ms: a.took_ms,
        hits: a
            .results
            .into_iter()
            .map(|h| ScryHitView {
                line: h.best_line(),
                source: None,
                root: None,
                kind: h.kind.to_string(),
                title: h.title,
                path: h.path,
                line_end: h.line_end,
                snippet: h.snippet,
                score: h.score,
            })
            .collect(),
        notes: a
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect(),
        coverage: Some((a.coverage.embedded, a.coverage.total)),
    }
}

fn model_puller(tx: UnboundedSender<Action>, scry: Sender<ScryReq>) {
    if scry::model::status(false).ready {
        return;
    }
    PULLING.store(true, Ordering::SeqCst);
    send(
        &tx,
        Msg::Model(ModelState::Installing("installing…".into())),
    );
    let mut last = Instant::now();
    let result = scry::model::pull(&mut |line: &str| {
        if last.elapsed() >= Duration::from_millis(250) {
            last = Instant::now();
            let short: String = line.chars().take(40).collect();
            send(&tx, Msg::Model(ModelState::Installing(short)));
        }
    });
    PULLING.store(false, Ordering::SeqCst);
    match result {
        Ok(_) => {
            send(&tx, Msg::Model(ModelState::Ready));
            let _ = scry.send(ScryReq::ModelChanged);
        }
        Err(e) => send(
            &tx,
            Msg::Model(ModelState::Lexical(format!("model install failed: {e:#}"))),
        ),
    }
}

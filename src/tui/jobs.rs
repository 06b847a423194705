//! Background work. Three long-lived threads and short-lived blocking tasks, all answering the
//! UI loop with `Action::Msg`:
//!
//! - the **watcher** polls cheap fingerprints every 500 ms (mtime+len of the active session file,
//!   the beliefs directory's mtime, HEAD's target) and reloads only what changed, so the agent's
//!   `patina session note` shows within a second and an outside commit appears in Commits; daemon,
//!   model, secrets and agent state are re-read every 2 s. A `poke` makes it look right away.
//! - the **scry worker** keeps the engine (and the model) hot; queries are debounced 150 ms and
//!   only the newest is answered; the index is refreshed first when something changed.
//! - the **model puller** (first run only, `[scry] auto_pull`, default true) installs the model
//!   with progress in the status bar.
//! - mutations (start, note, belief, end...) run on `spawn_blocking` and answer `Msg::Done`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, Effect, Msg};
use super::domain;
use super::model::*;
use crate::backend::{Answered, Auto, Backend, Daemon, InProcess};
use crate::project::Project;
use crate::proto::scry::{FederatedScryRequest, ScryRequest};
use crate::scry::{self, Phase};

const WATCH_EVERY: Duration = Duration::from_millis(500);
const STATUS_EVERY: Duration = Duration::from_secs(2);
const SCRY_DEBOUNCE: Duration = Duration::from_millis(150);

/// True while the model puller runs: the scry worker then leaves the model state to it.
static PULLING: AtomicBool = AtomicBool::new(false);
/// The watcher's last word on the daemon: scry goes through it while it answers.
static DAEMON_UP: AtomicBool = AtomicBool::new(false);

enum Poke {
    Refresh,
    /// The project changed (after `init`): discover it again.
    Reopen,
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
}

type Slot = Arc<Mutex<Option<Project>>>;

/// Handles to the background threads.
pub struct Jobs {
    tx: UnboundedSender<Action>,
    cwd: PathBuf,
    project: Slot,
    poke: Sender<Poke>,
    scry: Sender<ScryReq>,
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
            let (cwd, tx, slot, scry_tx) =
                (cwd.clone(), tx.clone(), project.clone(), scry_tx.clone());
            std::thread::Builder::new()
                .name("tui-watch".into())
                .spawn(move || watcher(cwd, tx, poke_rx, slot, scry_tx))
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
        Jobs {
            tx,
            cwd,
            project,
            poke: poke_tx,
            scry: scry_tx,
        }
    }

    fn project(&self) -> Option<Project> {
        self.project
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Run a blocking mutation and report it as `Msg::Done`, then refresh.
    fn mutate(
        &self,
        what: &str,
        f: impl FnOnce(&Project) -> anyhow::Result<String> + Send + 'static,
    ) {
        let Some(p) = self.project() else {
            send(
                &self.tx,
                Msg::Done {
                    what: what.into(),
                    result: Err("no project".into()),
                },
            );
            return;
        };
        let (tx, poke, scry, what) = (
            self.tx.clone(),
            self.poke.clone(),
            self.scry.clone(),
            what.to_string(),
        );
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = f(&p).map_err(|e| format!("{e:#}"));
            tracing::info!(op = %what, ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "cockpit operation");
            send(&tx, Msg::Done { what, result });
            let _ = poke.send(Poke::Refresh);
            let _ = scry.send(ScryReq::Dirty);
        });
    }

    /// Carry out an effect that needs no terminal access (the runtime handles the others).
    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::Quit | Effect::OpenEditor { .. } | Effect::SetMouse(_) | Effect::Suspend => {}
            Effect::Refresh => {
                let _ = self.poke.send(Poke::Refresh);
            }
            Effect::InitProject => {
                let (tx, poke, cwd) = (self.tx.clone(), self.poke.clone(), self.cwd.clone());
                tokio::task::spawn_blocking(move || {
                    let result = crate::project::init(&cwd, None)
                        .map(|r| format!("patina project initialised at {}", r.root.display()))
                        .map_err(|e| format!("{e:#}"));
                    send(
                        &tx,
                        Msg::Done {
                            what: "init".into(),
                            result,
                        },
                    );
                    let _ = poke.send(Poke::Reopen);
                });
            }
            Effect::StartSession { title, llm } => self.mutate("start", move |p| {
                domain::start_session(p, &title, llm.as_deref())
            }),
            Effect::Note(text) => self.mutate("note", move |p| domain::note(p, &text)),
            Effect::AddGoal(text) => self.mutate("goal", move |p| domain::add_goal(p, &text)),
            Effect::ToggleGoal(i) => self.mutate("goal", move |p| domain::toggle_goal(p, i)),
            Effect::UpdateSession => self.mutate("update", domain::update),
            Effect::EndSession => self.mutate("end", domain::end),
            Effect::Recover => self.mutate("recover", domain::recover),
            Effect::CreateBelief(d) => self.mutate("belief", move |p| domain::create_belief(p, &d)),
            Effect::PreviewEnd => {
                if let Some(p) = self.project() {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = domain::end_preview(&p).map_err(|e| format!("{e:#}"));
                        send(&tx, Msg::EndPreview(r));
                    });
                }
            }
            Effect::CompleteLink(prefix) => {
                if let Some(p) = self.project() {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let items = domain::complete_link(&p, &prefix);
                        if !items.is_empty() {
                            send(&tx, Msg::Completions { prefix, items });
                        }
                    });
                }
            }
            Effect::Scry { seq, query, all } => {
                let _ = self.scry.send(ScryReq::Query {
                    seq,
                    text: query,
                    all,
                });
            }
            Effect::LockSecrets => {
                let (tx, poke) = (self.tx.clone(), self.poke.clone());
                tokio::task::spawn_blocking(move || {
                    let result = domain::lock_secrets().map_err(|e| format!("{e:#}"));
                    send(
                        &tx,
                        Msg::Done {
                            what: "lock".into(),
                            result,
                        },
                    );
                    let _ = poke.send(Poke::Refresh);
                });
            }
            Effect::AnswerRelease { id, allow } => {
                let (tx, poke) = (self.tx.clone(), self.poke.clone());
                tokio::task::spawn_blocking(move || {
                    let result = domain::answer_release(&id, allow).map_err(|e| format!("{e:#}"));
                    send(
                        &tx,
                        Msg::Done {
                            what: "release".into(),
                            result,
                        },
                    );
                    let _ = poke.send(Poke::Refresh);
                });
            }
        }
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

fn watcher(
    cwd: PathBuf,
    tx: UnboundedSender<Action>,
    pokes: Receiver<Poke>,
    slot: Slot,
    scry: Sender<ScryReq>,
) {
    let (state, mut project) = discover(&cwd);
    send(&tx, Msg::Project(state));
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = project.clone();
    if project.is_some() {
        let _ = scry.send(ScryReq::Dirty);
    }
    let mut daemon_started = false;
    let mut session_fp = None;
    let mut beliefs_fp = None;
    let mut head_fp = None;
    let mut first = true;
    let mut last_status: Option<Instant> = None;
    let mut session_sent: Latest<Feed<Option<SessionView>>> = Latest(None);
    let mut commits_sent: Latest<Feed<Vec<CommitRow>>> = Latest(None);
    let mut beliefs_sent: Latest<Feed<Vec<BeliefRow>>> = Latest(None);
    let mut daemon_sent: Latest<DaemonState> = Latest(None);
    let mut secrets_sent: Latest<Feed<Vec<VaultView>>> = Latest(None);
    let mut agent_sent: Latest<AgentState> = Latest(None);
    let mut transcript_sent: Latest<Option<TranscriptView>> = Latest(None);
    let mut pending_sent: Latest<Vec<ReleaseRequest>> = Latest(None);
    let mut model_sent: Latest<bool> = Latest(None);
    let mut index_sent: Latest<IndexState> = Latest(None);
    let mut session: Option<SessionView> = None;
    loop {
        let forced = if first {
            first = false;
            true
        } else {
            match pokes.recv_timeout(WATCH_EVERY) {
                Ok(Poke::Refresh) => true,
                Ok(Poke::Reopen) => {
                    let (state, p) = discover(&cwd);
                    send(&tx, Msg::Project(state));
                    project = p;
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = project.clone();
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
        if let Some(p) = &project {
            let sfp = file_fingerprint(&p.active_session_path());
            let mut session_changed = false;
            if forced || sfp != session_fp {
                session_fp = sfp;
                let feed = domain::load_session(p);
                session = feed.ready().cloned().flatten();
                if session_sent.changed(&feed) {
                    session_changed = true;
                    send(&tx, Msg::Session(feed));
                    let _ = scry.send(ScryReq::Dirty);
                }
            }
            let hfp = domain::head_fingerprint(p);
            if forced || session_changed || hfp != head_fp {
                head_fp = hfp;
                let feed = domain::load_commits(p, session.as_ref());
                if commits_sent.changed(&feed) {
                    send(&tx, Msg::Commits(feed));
                }
            }
            let bfp = file_fingerprint(&p.beliefs_dir());
            if forced || session_changed || bfp != beliefs_fp {
                beliefs_fp = bfp;
                let feed = domain::load_beliefs(p, session.as_ref());
                if beliefs_sent.changed(&feed) {
                    send(&tx, Msg::Beliefs(feed));
                    let _ = scry.send(ScryReq::Dirty);
                }
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
            let d = if daemon_started {
                domain::daemon_state()
            } else {
                daemon_started = true;
                send(&tx, Msg::Daemon(DaemonState::Starting));
                domain::ensure_daemon()
            };
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
            // Nothing to answer: bring the index up to date now (progress in the status bar,
            // whichever backend builds it), so the next query answers at once.
            if dirty {
                let _span = tracing::info_span!("tui_index_refresh").entered();
                match backend.index(project.root(), false) {
                    Ok(r) => {
                        dirty = false;
                        send(&tx, Msg::Index(IndexState::Idle));
                        let m = if r.answer.mode == "hybrid" {
                            ModelState::Ready
                        } else {
                            ModelState::Lexical(match backend.local().engine().embedder() {
                                Err(why) => why,
                                Ok(_) => "no embedding model".into(),
                            })
                        };
                        if model_reported.as_ref() != Some(&m) && !PULLING.load(Ordering::SeqCst) {
                            model_reported = Some(m.clone());
                            send(&tx, Msg::Model(m));
                        }
                    }
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
    if a.mode == "hybrid" {
        return ModelState::Ready;
    }
    ModelState::Lexical(
        a.errors
            .iter()
            .find(|e| e.source == "semantic")
            .map(|e| e.message.clone())
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
                root: Some(PathBuf::from(&f.hit.project)),
                source: Some(f.source),
                kind: f.hit.kind.to_string(),
                title: f.hit.title,
                path: f.hit.path,
                line: f.hit.line_start,
                snippet: f.hit.snippet,
                score: f.hit.score,
            })
            .collect(),
        notes: a
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect(),
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
                source: None,
                root: None,
                kind: h.kind.to_string(),
                title: h.title,
                path: h.path,
                line: h.line_start,
                snippet: h.snippet,
                score: h.score,
            })
            .collect(),
        notes: a
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect(),
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

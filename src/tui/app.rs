//! The cockpit's state and its one transition function, [`App::update`].
//!
//! `App` keeps what several components share ([`Shared`]), the panes (in `panes::all()` order),
//! the popup stack, and the keys held back while an operation runs. `update` is plain state: no
//! I/O, no clock reads (time arrives with `Action::Tick`), no terminal; work comes back as
//! [`Effect`]s. It sets `dirty` when what is on screen would change.
//!
//! **Every keystroke in order.** A popup that submits an operation (note, start, belief…)
//! shows "working…" and from then on keys and pastes are *held* in arrival order. When the
//! operation answers, the popup closes (success) and the held keys are replayed through the
//! normal dispatch — `n burst one ⏎ n burst two ⏎` typed in one burst saves both notes. If it
//! failed, the popup stays with the error and the held keys are not applied (they were typed
//! for a state that did not happen); the message log says which keys. Navigation keys typed in
//! scry while its answer is pending are held the same way until the answer (or 3 s).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

use super::action::{Action, Effect, Msg, Op, UiState};
use super::component::{Cx, Flow, Pane, Popup};
use super::keymap::{Command, Context, Key, Keymap};
use super::model::*;
use super::popups;
use super::strings as S;
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub level: Level,
    pub until: DateTime<FixedOffset>,
}

/// One line of the message log (`:`): every toast and error, in full.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: DateTime<FixedOffset>,
    pub level: Level,
    pub text: String,
}

/// Ticks a release request must have been on screen before it can be allowed.
pub const RELEASE_ARM_TICKS: u32 = 2;
/// Seconds navigation keys wait for a pending scry answer before they are replayed anyway.
const SCRY_HOLD_SECS: i64 = 3;

/// What several components read: data feeds, the keymap and theme, toasts and the log.
#[derive(Debug, Clone)]
pub struct Shared {
    pub now: DateTime<FixedOffset>,
    pub size: (u16, u16),
    pub project: ProjectState,
    pub session: Feed<Option<SessionView>>,
    pub beliefs: Feed<Vec<BeliefRow>>,
    pub daemon: DaemonState,
    /// The daemon was up once and is down now: the watcher is restarting it.
    pub daemon_restarting: bool,
    pub model: ModelState,
    pub index: IndexState,
    pub secrets: Feed<Vec<VaultView>>,
    pub agent: AgentState,
    pub transcript: Option<TranscriptView>,
    /// Release requests, this project's first.
    pub pending: Vec<ReleaseRequest>,
    /// Ticks each pending request has been shown (arming).
    pub pending_ticks: BTreeMap<String, u32>,
    /// When each request's countdown ends (from `expires_in_secs` at the poll).
    pub pending_until: BTreeMap<String, DateTime<FixedOffset>>,
    pub keymap: Keymap,
    pub themes: Vec<Theme>,
    pub theme: usize,
    /// `[tui] theme` from the config, which picks the start theme over the remembered one.
    pub config_theme: Option<String>,
    pub mouse: bool,
    /// Default llm for the start popup (project config).
    pub default_llm: String,
    pub toasts: Vec<Toast>,
    pub log: Vec<LogLine>,
    pub scry_history: Vec<String>,
    /// Keys held while an operation runs (shown in the popup).
    pub held: usize,
}

impl Shared {
    pub fn theme(&self) -> &Theme {
        &self.themes[self.theme]
    }

    pub fn active_session(&self) -> Option<&SessionView> {
        self.session.ready().and_then(|s| s.as_ref())
    }

    pub fn project_root(&self) -> Option<&PathBuf> {
        match &self.project {
            ProjectState::Ready { root, .. } => Some(root),
            _ => None,
        }
    }

    pub fn known_belief_ids(&self) -> Vec<String> {
        self.beliefs
            .ready()
            .map(|b| b.iter().map(|r| r.id.clone()).collect())
            .unwrap_or_default()
    }

    /// Show a toast and keep it in the log.
    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.log.push(LogLine {
            time: self.now,
            level,
            text: text.clone(),
        });
        let secs = if matches!(level, Level::Error | Level::Warn) {
            8
        } else {
            4
        };
        self.toasts.retain(|t| t.text != text);
        self.toasts.push(Toast {
            text,
            level,
            until: self.now + chrono::Duration::seconds(secs),
        });
        if self.toasts.len() > 3 {
            self.toasts.remove(0);
        }
    }

    /// Record without showing (background notices).
    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        self.log.push(LogLine {
            time: self.now,
            level,
            text: text.into(),
        });
    }

    /// Whether request `id` may be answered yet.
    pub fn release_armed(&self, id: &str) -> bool {
        self.pending_ticks.get(id).copied().unwrap_or(0) >= RELEASE_ARM_TICKS
    }

    pub fn ui_state(&self) -> UiState {
        UiState {
            theme: Some(self.theme().name.clone()),
            scry_history: self.scry_history.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Barrier {
    /// An operation a popup waits for.
    Op(u64),
    /// A pane's pending answer (scry), since this time.
    Pane(DateTime<FixedOffset>),
}

/// The cockpit.
pub struct App {
    pub sh: Shared,
    pub panes: Vec<Box<dyn Pane>>,
    pub focus: usize,
    pub popups: Vec<Box<dyn Popup>>,
    held: VecDeque<Action>,
    barrier: Option<Barrier>,
    next_op: u64,
    pub quit: bool,
    pub dirty: bool,
    clock_sig: String,
    recover_offered: bool,
    init_declined: bool,
}

impl App {
    pub fn new(
        now: DateTime<FixedOffset>,
        keymap: Keymap,
        themes: Vec<Theme>,
        theme: usize,
    ) -> App {
        let themes = if themes.is_empty() {
            vec![Theme::fallback()]
        } else {
            themes
        };
        let theme = theme.min(themes.len() - 1);
        let problems = keymap.problems.clone();
        let mut app = App {
            sh: Shared {
                now,
                size: (80, 24),
                project: ProjectState::Loading,
                session: Feed::Loading,
                beliefs: Feed::Loading,
                daemon: DaemonState::Unknown,
                daemon_restarting: false,
                model: ModelState::Unknown,
                index: IndexState::Idle,
                secrets: Feed::Loading,
                agent: AgentState::Unknown,
                transcript: None,
                pending: vec![],
                pending_ticks: BTreeMap::new(),
                pending_until: BTreeMap::new(),
                keymap,
                themes,
                theme,
                config_theme: None,
                mouse: false,
                default_llm: "claude".into(),
                toasts: vec![],
                log: vec![],
                scry_history: vec![],
                held: 0,
            },
            panes: super::panes::all(),
            focus: 0,
            popups: vec![],
            held: VecDeque::new(),
            barrier: None,
            next_op: 0,
            quit: false,
            dirty: true,
            clock_sig: String::new(),
            recover_offered: false,
            init_declined: false,
        };
        if !problems.is_empty() {
            for p in &problems {
                app.sh.log(Level::Warn, p.clone());
            }
            let mut lines = vec![S::CONFIG_INTRO.to_string(), String::new()];
            lines.extend(problems);
            app.popups.push(Box::new(popups::viewer::Viewer::text(
                S::CONFIG_TITLE,
                lines,
            )));
        }
        app.clock_sig = app.clock_signature();
        app
    }

    pub fn theme(&self) -> &Theme {
        self.sh.theme()
    }

    /// The focused pane.
    pub fn focused(&self) -> &dyn Pane {
        self.panes[self.focus].as_ref()
    }

    pub fn focused_name(&self) -> &'static str {
        self.panes[self.focus].name()
    }

    /// The pane of type `T` (tests and the layout use it).
    pub fn pane<T: 'static>(&self) -> Option<&T> {
        self.panes
            .iter()
            .find_map(|p| p.as_any().downcast_ref::<T>())
    }

    pub fn pane_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.panes
            .iter_mut()
            .find_map(|p| p.as_any_mut().downcast_mut::<T>())
    }

    /// The top popup, if it is a `T`.
    pub fn popup<T: 'static>(&self) -> Option<&T> {
        self.popups
            .last()
            .and_then(|p| p.as_any().downcast_ref::<T>())
    }

    pub fn popup_name(&self) -> Option<&'static str> {
        self.popups.last().map(|p| p.name())
    }

    /// The keymap contexts in effect now, most specific first (hint bar, help).
    pub fn contexts(&self) -> Vec<Context> {
        if let Some(p) = self.popups.last() {
            let mut v = vec![p.context()];
            if p.context() == Context::Form {
                v.push(Context::Field);
            }
            return v;
        }
        let pane = self.focused();
        match pane.typing() {
            Some(ctx) => vec![ctx, Context::Field],
            None => vec![pane.context(), Context::List, Context::Global],
        }
    }

    pub fn focus_pane(&mut self, name: &str) {
        if let Some(i) = self.panes.iter().position(|p| p.name() == name) {
            self.focus = i;
        }
    }

    /// Time-dependent text on screen: the tick redraws only when it changes.
    fn clock_signature(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.sh.active_session().and_then(|s| s.started) {
            s.push_str(&((self.sh.now - st).num_minutes()).to_string());
        }
        if let Feed::Ready(vaults) = &self.sh.secrets {
            for v in vaults {
                if let Some(e) = v.expires_at
                    && !v.locked
                {
                    s.push_str(&format!(",{}", (e - self.sh.now).num_seconds()));
                }
            }
        }
        for until in self.sh.pending_until.values() {
            s.push_str(&format!(",r{}", (*until - self.sh.now).num_seconds()));
        }
        for p in &self.panes {
            s.push_str(&p.clock(&self.sh));
        }
        for p in &self.popups {
            s.push_str(&p.clock(&self.sh));
        }
        s.push_str(&format!("T{}", self.sh.toasts.len()));
        s
    }

    /// The one transition function.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = vec![];
        match action {
            Action::Tick(now) => {
                self.tick(now, &mut fx);
                let sig = self.clock_signature();
                if sig != self.clock_sig {
                    self.clock_sig = sig;
                    self.dirty = true;
                }
                return fx;
            }
            Action::Resize(w, h) => self.sh.size = (w, h),
            Action::FocusGained => fx.push(Effect::Refresh),
            Action::FocusLost => return fx,
            Action::Key(key) if key.kind == KeyEventKind::Release => return fx,
            Action::Key(_) | Action::Paste(_) if self.barrier.is_some() => {
                self.held.push_back(action);
                self.sh.held = self.held.len();
                if let Some(p) = self.popups.last_mut() {
                    p.set_held(self.held.len());
                }
            }
            Action::Key(key) => self.key(key, &mut fx),
            Action::Paste(text) => self.paste(&text, &mut fx),
            Action::Mouse(m) => {
                if !self.sh.mouse {
                    return fx;
                }
                self.mouse(m, &mut fx);
            }
            Action::Msg(msg) => self.msg(msg, &mut fx),
        }
        self.dirty = true;
        self.clock_sig = self.clock_signature();
        fx
    }

    fn tick(&mut self, now: DateTime<FixedOffset>, fx: &mut Vec<Effect>) {
        self.sh.now = now;
        let before = self.sh.toasts.len();
        self.sh.toasts.retain(|t| t.until > now);
        if before != self.sh.toasts.len() {
            self.dirty = true;
        }
        for id in self
            .sh
            .pending
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>()
        {
            let n = self.sh.pending_ticks.entry(id).or_insert(0);
            if *n < RELEASE_ARM_TICKS {
                *n += 1;
                self.dirty = true;
            }
        }
        for p in &mut self.popups {
            if p.tick(&self.sh) {
                self.dirty = true;
            }
        }
        if let Some(Barrier::Pane(since)) = self.barrier
            && (now - since).num_seconds() >= SCRY_HOLD_SECS
        {
            self.barrier = None;
            self.replay(fx);
            self.dirty = true;
        }
    }

    /// Run a handler with a context, then apply what it asked for.
    fn with_cx<R>(&mut self, fx: &mut Vec<Effect>, f: impl FnOnce(&mut Self, &mut Cx) -> R) -> R {
        // The handler borrows panes/popups mutably and Shared through Cx: split them.
        let stand_in = placeholder_shared(&self.sh);
        let mut sh = std::mem::replace(&mut self.sh, stand_in);
        let mut next_op = self.next_op;
        let (r, opened, focus, commands) = {
            let mut cx = Cx::new(&mut sh, fx, &mut next_op);
            let r = f(self, &mut cx);
            (
                r,
                std::mem::take(&mut cx.opened),
                cx.focus,
                std::mem::take(&mut cx.commands),
            )
        };
        self.sh = sh;
        self.next_op = next_op;
        for p in opened {
            self.popups.push(p);
        }
        if let Some(name) = focus {
            self.focus_pane(name);
        }
        for c in commands {
            self.command(c, None, fx);
        }
        self.check_barrier();
        r
    }

    /// After a handler: a popup now waiting for an op holds the keys that follow.
    fn check_barrier(&mut self) {
        if self.barrier.is_none()
            && let Some(id) = self.popups.last().and_then(|p| p.waiting())
        {
            self.barrier = Some(Barrier::Op(id));
        }
    }

    fn key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let km = &self.sh.keymap;
        if km.lookup(Context::Always, &key) == Some(Command::ReviewRelease) {
            self.review_release();
            return;
        }
        if !self.popups.is_empty() {
            // Popups the handler opens go above it, so its index stays valid.
            let i = self.popups.len() - 1;
            let flow = self.with_cx(fx, |app, cx| app.popups[i].key(&key, cx));
            if flow == Flow::Close && i < self.popups.len() {
                self.popups.remove(i);
            }
            self.check_barrier();
            return;
        }
        let typing = self.focused().typing();
        if let Some(ctx) = typing {
            if let Some(cmd) = self.sh.keymap.lookup(ctx, &key)
                && self.pane_holds(cmd)
            {
                self.barrier = Some(Barrier::Pane(self.sh.now));
                self.held.push_back(Action::Key(key));
                self.sh.held = self.held.len();
                return;
            }
            let consumed = self.with_cx(fx, |app, cx| app.panes[app.focus].key(&key, cx));
            if !consumed && let Some(cmd) = self.sh.keymap.lookup(ctx, &key) {
                self.command(cmd, Some(&key), fx);
            }
            return;
        }
        let ctx = self.focused().context();
        let Some(cmd) = self
            .sh
            .keymap
            .lookup_in(&[ctx, Context::List, Context::Global], &key)
        else {
            return;
        };
        if self.pane_holds(cmd) {
            self.barrier = Some(Barrier::Pane(self.sh.now));
            self.held.push_back(Action::Key(key));
            self.sh.held = self.held.len();
            return;
        }
        let handled = self.with_cx(fx, |app, cx| app.panes[app.focus].command(cmd, cx));
        if !handled {
            self.command(cmd, Some(&key), fx);
        }
    }

    /// Whether the focused pane wants `cmd` to wait for its pending answer.
    fn pane_holds(&self, cmd: Command) -> bool {
        self.pane::<super::panes::scry::ScryPane>()
            .is_some_and(|s| self.focused_name() == "scry" && s.holds(cmd))
    }

    fn paste(&mut self, text: &str, fx: &mut Vec<Effect>) {
        if !self.popups.is_empty() {
            self.with_cx(fx, |app, cx| {
                app.popups.last_mut().expect("a popup").paste(text, cx)
            });
            return;
        }
        let consumed = self.with_cx(fx, |app, cx| app.panes[app.focus].paste(text, cx));
        if !consumed {
            // Pasting outside a field searches: the scry input takes it.
            self.focus_pane("scry");
            self.with_cx(fx, |app, cx| {
                let i = app.focus;
                app.panes[i].start_typing(cx);
                app.panes[i].paste(text, cx)
            });
        }
    }

    fn mouse(&mut self, m: crossterm::event::MouseEvent, fx: &mut Vec<Effect>) {
        let area = ratatui::layout::Rect::new(0, 0, self.sh.size.0, self.sh.size.1);
        let l = super::layout::layout(area, self);
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let cmd = if m.kind == MouseEventKind::ScrollUp {
                    Command::Up
                } else {
                    Command::Down
                };
                if let Some(p) = self.popups.last_mut() {
                    let code = if cmd == Command::Up {
                        KeyCode::Up
                    } else {
                        KeyCode::Down
                    };
                    let key = KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
                    if p.context() == Context::Viewer {
                        self.with_cx(fx, |app, cx| {
                            app.popups.last_mut().expect("popup").key(&key, cx)
                        });
                    }
                    return;
                }
                if let Some(i) = l.pane_at(m.column, m.row) {
                    self.focus = i;
                    self.with_cx(fx, |app, cx| app.panes[i].command(cmd, cx));
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(b) = l.banner
                    && m.row == b.y
                {
                    self.review_release();
                    return;
                }
                if !self.popups.is_empty() {
                    return;
                }
                if let Some(i) = l.tab_at(m.column, m.row) {
                    self.focus = i;
                    return;
                }
                if let Some(i) = l.pane_at(m.column, m.row) {
                    self.focus = i;
                    if let Some(r) = l.inner_of(i)
                        && m.row >= r.y
                        && m.row < r.bottom()
                    {
                        let row = m.row - r.y;
                        self.with_cx(fx, |app, cx| app.panes[i].click(row, cx));
                    }
                }
            }
            _ => {}
        }
    }

    fn review_release(&mut self) {
        if self.sh.pending.is_empty() {
            return;
        }
        if self.popup_name() == Some("release") {
            return;
        }
        self.popups
            .push(Box::new(popups::release::ReleaseReview::new(&self.sh)));
    }

    fn msg(&mut self, msg: Msg, fx: &mut Vec<Effect>) {
        match &msg {
            Msg::Project(p) => {
                match p {
                    ProjectState::NotInitialized { root } => {
                        self.sh.session = Feed::Unavailable(S::INIT_DECLINED.into());
                        self.sh.beliefs = Feed::Unavailable(S::INIT_DECLINED.into());
                        if self.popups.is_empty() && !self.init_declined {
                            self.popups
                                .push(Box::new(popups::confirm::Confirm::init(root.clone())));
                        }
                    }
                    ProjectState::NoGit { .. } => {
                        self.sh.session = Feed::Unavailable(S::NOT_GIT.into());
                        self.sh.beliefs = Feed::Unavailable(S::NOT_GIT.into());
                    }
                    ProjectState::Ready { .. } => {
                        if matches!(self.sh.session, Feed::Unavailable(_)) {
                            self.sh.session = Feed::Loading;
                            self.sh.beliefs = Feed::Loading;
                        }
                    }
                    ProjectState::Loading => {}
                }
                self.sh.project = p.clone();
            }
            Msg::Session(s) => {
                self.sh.session = s.clone();
                if let Some(s) = self.sh.active_session()
                    && s.stale
                    && !self.recover_offered
                    && self.popups.is_empty()
                {
                    self.recover_offered = true;
                    let p = popups::confirm::Confirm::recover(Some(s), self.sh.now);
                    self.popups.push(Box::new(p));
                }
            }
            Msg::Beliefs(b) => self.sh.beliefs = b.clone(),
            Msg::Daemon(d) => {
                if matches!(d, DaemonState::Up { .. }) {
                    self.sh.daemon_restarting = false;
                }
                self.sh.daemon = d.clone();
            }
            Msg::Model(m) => self.sh.model = m.clone(),
            Msg::Index(i) => self.sh.index = i.clone(),
            Msg::Secrets(s) => self.sh.secrets = s.clone(),
            Msg::Agent(a) => self.sh.agent = a.clone(),
            Msg::Transcript(t) => self.sh.transcript = t.clone(),
            Msg::Pending(list) => self.pending(list.clone()),
            Msg::Released(lines) => {
                for l in lines {
                    self.sh.toast(Level::Warn, l.clone());
                }
            }
            Msg::Notice(n) => {
                if n == S::DAEMON_DIED {
                    self.sh.daemon_restarting = true;
                }
                self.sh.log(Level::Warn, n.clone());
            }
            Msg::Done { id, what, result } => {
                self.done(*id, what, result, fx);
                return;
            }
            _ => {}
        }
        // Every component sees every message; each takes what it shows.
        self.with_cx(fx, |app, cx| {
            for p in app.panes.iter_mut() {
                p.msg(&msg, cx);
            }
            for p in app.popups.iter_mut() {
                p.msg(&msg, cx);
            }
        });
        // A pending scry answer arrived: held navigation keys go on.
        if matches!(msg, Msg::Scry { .. }) && matches!(self.barrier, Some(Barrier::Pane(_))) {
            self.barrier = None;
            self.replay(fx);
        }
    }

    fn pending(&mut self, mut list: Vec<ReleaseRequest>) {
        // This project's requests first; the rest keep the daemon's order.
        let root = self
            .sh
            .project_root()
            .map(|r| r.to_string_lossy().into_owned());
        list.sort_by_key(|r| match (&root, &r.project) {
            (Some(root), Some(p)) if p == root => 0,
            (_, None) => 1,
            _ => 2,
        });
        self.sh
            .pending_ticks
            .retain(|id, _| list.iter().any(|r| &r.id == id));
        self.sh
            .pending_until
            .retain(|id, _| list.iter().any(|r| &r.id == id));
        for r in &list {
            self.sh.pending_ticks.entry(r.id.clone()).or_insert(0);
            self.sh.pending_until.insert(
                r.id.clone(),
                self.sh.now + chrono::Duration::seconds(r.expires_in_secs as i64),
            );
        }
        self.sh.pending = list;
    }

    fn done(&mut self, id: u64, what: &str, result: &Result<String, String>, fx: &mut Vec<Effect>) {
        let at = self.popups.iter().rposition(|p| p.waiting() == Some(id));
        match result {
            Ok(text) => self.sh.toast(Level::Ok, text.clone()),
            Err(e) => {
                let shown = format!("{what}: {e}");
                if at.is_some() {
                    self.sh.log(Level::Error, shown);
                } else {
                    self.sh.toast(Level::Error, shown);
                }
            }
        }
        if let Some(i) = at {
            let flow = self.with_cx(fx, |app, cx| app.popups[i].done(result, cx));
            if flow == Flow::Close && i < self.popups.len() {
                self.popups.remove(i);
            }
        }
        if result.is_ok() {
            fx.push(Effect::Refresh);
        }
        if self.barrier == Some(Barrier::Op(id)) {
            self.barrier = None;
            if result.is_ok() {
                self.replay(fx);
            } else if !self.held.is_empty() {
                let keys = describe_held(&self.held);
                self.held.clear();
                self.sh.held = 0;
                self.sh.log(Level::Warn, S::typed_ahead_dropped(&keys));
            }
        }
        self.check_barrier();
    }

    /// Feed held keys back in order until one of them sets a new barrier.
    fn replay(&mut self, fx: &mut Vec<Effect>) {
        while self.barrier.is_none() {
            let Some(a) = self.held.pop_front() else {
                break;
            };
            self.sh.held = self.held.len();
            match a {
                Action::Key(k) => self.key(k, fx),
                Action::Paste(t) => self.paste(&t, fx),
                _ => {}
            }
        }
        self.sh.held = self.held.len();
        if let Some(p) = self.popups.last_mut() {
            p.set_held(self.held.len());
        }
    }

    /// Refuse with a toast when the project is not ready; true when it is.
    fn need_project(&mut self) -> bool {
        match &self.sh.project {
            ProjectState::Ready { .. } => true,
            ProjectState::Loading => {
                self.sh.toast(Level::Warn, S::STILL_LOADING);
                false
            }
            ProjectState::NotInitialized { root } => {
                let p = popups::confirm::Confirm::init(root.clone());
                self.popups.push(Box::new(p));
                false
            }
            ProjectState::NoGit { .. } => {
                self.sh.toast(Level::Error, S::NOT_GIT);
                false
            }
        }
    }

    fn need_session(&mut self) -> bool {
        if !self.need_project() {
            return false;
        }
        match &self.sh.session {
            Feed::Ready(Some(_)) => true,
            Feed::Ready(None) => {
                let k = self.sh.keymap.hint(Command::StartSession);
                self.sh.toast(Level::Warn, S::need_session(&k));
                false
            }
            Feed::Loading => {
                self.sh.toast(Level::Warn, S::LOADING_SESSION);
                false
            }
            Feed::Unavailable(why) => {
                let why = why.clone();
                self.popups
                    .push(Box::new(popups::confirm::Confirm::set_aside(why)));
                false
            }
        }
    }

    /// App-level commands (the ones no pane took).
    fn command(&mut self, cmd: Command, key: Option<&KeyEvent>, fx: &mut Vec<Effect>) {
        use Command as C;
        match cmd {
            C::Help => {
                let p = popups::viewer::Viewer::help(&self.sh.keymap, &self.contexts());
                self.popups.push(Box::new(p));
            }
            C::Messages => {
                let p = popups::viewer::Viewer::messages(&self.sh.log);
                self.popups.push(Box::new(p));
            }
            C::Quit => {
                self.quit = true;
                fx.push(Effect::Quit);
            }
            C::FocusNext | C::FocusPrev => {
                let n = self.panes.len();
                self.focus = if cmd == C::FocusNext {
                    (self.focus + 1) % n
                } else {
                    (self.focus + n - 1) % n
                };
            }
            C::FocusPane => {
                if let Some(KeyCode::Char(c)) = key.map(|k| k.code)
                    && let Some(d) = c.to_digit(10)
                    && d >= 1
                    && (d as usize) <= self.panes.len()
                {
                    self.focus = d as usize - 1;
                }
            }
            C::StartSession => {
                if !self.need_project() {
                    return;
                }
                if let Some(s) = self.sh.active_session() {
                    let (id, k) = (s.id.clone(), self.sh.keymap.hint(C::EndSession));
                    self.sh.toast(Level::Warn, S::session_active(&id, &k));
                    return;
                }
                if let Feed::Unavailable(why) = &self.sh.session {
                    let why = why.clone();
                    self.popups
                        .push(Box::new(popups::confirm::Confirm::set_aside(why)));
                    return;
                }
                let p = popups::form::Form::start(&self.sh.default_llm);
                self.popups.push(Box::new(p));
            }
            C::EndSession if self.need_session() => {
                self.popups.push(Box::new(popups::confirm::Confirm::end()));
                fx.push(Effect::PreviewEnd);
            }
            C::Note if self.need_session() => {
                self.popups.push(Box::new(popups::form::Form::note()));
            }
            C::Goal if self.need_session() => {
                self.popups.push(Box::new(popups::form::Form::goal()));
            }
            C::Update if self.need_session() => {
                self.next_op += 1;
                fx.push(Effect::Op {
                    id: self.next_op,
                    op: Op::UpdateSession,
                });
            }
            C::Belief if self.need_project() => {
                if let Feed::Unavailable(why) = &self.sh.beliefs {
                    let why = why.clone();
                    self.sh.toast(Level::Error, S::unavailable("beliefs", &why));
                    return;
                }
                self.popups
                    .push(Box::new(popups::belief::BeliefForm::new()));
            }
            C::Scry => {
                self.focus_pane("scry");
                self.with_cx(fx, |app, cx| {
                    let i = app.focus;
                    app.panes[i].start_typing(cx)
                });
            }
            C::ScryScope => {
                self.focus_pane("scry");
                self.with_cx(fx, |app, cx| {
                    let i = app.focus;
                    app.panes[i].command(C::ScryScope, cx)
                });
            }
            C::Recover => {
                if !self.need_project() {
                    return;
                }
                if let Feed::Unavailable(why) = &self.sh.session {
                    let why = why.clone();
                    self.popups
                        .push(Box::new(popups::confirm::Confirm::set_aside(why)));
                    return;
                }
                let p = popups::confirm::Confirm::recover(self.sh.active_session(), self.sh.now);
                self.popups.push(Box::new(p));
            }
            C::LockSecrets => {
                self.next_op += 1;
                fx.push(Effect::Op {
                    id: self.next_op,
                    op: Op::LockSecrets,
                });
            }
            C::NextTheme => {
                self.sh.theme = (self.sh.theme + 1) % self.sh.themes.len();
                let name = self.sh.theme().name.clone();
                match self.sh.config_theme.clone() {
                    Some(cfg) if cfg != name => self
                        .sh
                        .toast(Level::Info, S::theme_config_wins(&name, &cfg)),
                    _ => self.sh.toast(Level::Info, S::theme_now(&name)),
                }
                fx.push(Effect::SaveState(self.sh.ui_state()));
            }
            C::Mouse => {
                self.sh.mouse = !self.sh.mouse;
                fx.push(Effect::SetMouse(self.sh.mouse));
                let on = self.sh.mouse;
                self.sh.toast(Level::Info, S::mouse_now(on));
            }
            C::Suspend => fx.push(Effect::Suspend),
            C::Leave | C::Cancel | C::Close => {
                self.sh.toasts.clear();
            }
            _ => {}
        }
    }
}

/// A stand-in while the real `Shared` is lent to a handler (cheap: no feeds cloned).
fn placeholder_shared(sh: &Shared) -> Shared {
    Shared {
        now: sh.now,
        size: sh.size,
        project: ProjectState::Loading,
        session: Feed::Loading,
        beliefs: Feed::Loading,
        daemon: DaemonState::Unknown,
        daemon_restarting: false,
        model: ModelState::Unknown,
        index: IndexState::Idle,
        secrets: Feed::Loading,
        agent: AgentState::Unknown,
        transcript: None,
        pending: vec![],
        pending_ticks: BTreeMap::new(),
        pending_until: BTreeMap::new(),
        keymap: Keymap::empty(),
        themes: vec![],
        theme: 0,
        config_theme: None,
        mouse: false,
        default_llm: String::new(),
        toasts: vec![],
        log: vec![],
        scry_history: vec![],
        held: 0,
    }
}

/// Held keys as the user would read them: `n burst two ⏎`.
fn describe_held(held: &VecDeque<Action>) -> String {
    let mut out = String::new();
    for a in held {
        match a {
            Action::Key(k) => match k.code {
                KeyCode::Char(c) if Key::from_event(k).is_printable() => out.push(c),
                _ => {
                    out.push('⟨');
                    out.push_str(&Key::from_event(k).label());
                    out.push('⟩');
                }
            },
            Action::Paste(t) => out.push_str(t),
            _ => {}
        }
    }
    out
}

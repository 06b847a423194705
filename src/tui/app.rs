//! The cockpit's state and its one transition function, [`App::update`].
//!
//! `update` is plain state: no I/O, no clock reads (time arrives with `Action::Tick`), no
//! terminal. Work it needs done comes back as [`Effect`]s for the runtime. It sets `dirty` when
//! what is on screen would change, so the runtime redraws only then.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::action::{Action, Effect, Msg};
use super::input::{Edit, Input};
use super::keymap::{Command, Keymap};
use super::model::*;
use super::theme::Theme;

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Session,
    Activity,
    Commits,
    Beliefs,
    Scry,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Session,
        Pane::Activity,
        Pane::Commits,
        Pane::Beliefs,
        Pane::Scry,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Session => "Session",
            Pane::Activity => "Activity",
            Pane::Commits => "Commits",
            Pane::Beliefs => "Beliefs",
            Pane::Scry => "Scry",
        }
    }
    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// The belief form's fields, in Tab order.
pub const BELIEF_FIELDS: [&str; 7] = [
    "id",
    "statement",
    "evidence",
    "supports",
    "attacks",
    "facets",
    "entrenchment",
];
const ENTRENCHMENTS: [&str; 4] = ["low", "medium", "high", "very-high"];

#[derive(Debug, Clone, PartialEq)]
pub struct BeliefForm {
    pub fields: Vec<Input>,
    pub field: usize,
    /// Known ids completing the current supports/attacks token.
    pub completions: Vec<String>,
    pub error: Option<String>,
    pub busy: bool,
}

impl BeliefForm {
    fn new() -> BeliefForm {
        let mut fields = vec![Input::default(); BELIEF_FIELDS.len()];
        fields[6] = Input::new("medium");
        BeliefForm {
            fields,
            field: 0,
            completions: vec![],
            error: None,
            busy: false,
        }
    }

    fn list(&self, i: usize) -> Vec<String> {
        self.fields[i]
            .text()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn draft(&self) -> BeliefDraft {
        let evidence = self.fields[2].text().trim();
        BeliefDraft {
            id: self.fields[0].text().trim().to_string(),
            statement: self.fields[1].text().trim().to_string(),
            evidence: if evidence.is_empty() {
                vec![]
            } else {
                vec![evidence.to_string()]
            },
            supports: self.list(3),
            attacks: self.list(4),
            facets: self.list(5),
            entrenchment: self.fields[6].text().trim().to_string(),
        }
    }

    /// The token being completed in a supports/attacks field.
    fn current_token(&self) -> Option<String> {
        if self.field != 3 && self.field != 4 {
            return None;
        }
        let text = self.fields[self.field].text();
        Some(text.rsplit(',').next().unwrap_or("").trim().to_string())
    }
}

/// The answer a key gives to a yes/no popup (end, recover, init): Enter, `y` or `Y` confirm,
/// `n` or `N` decline, anything else is no answer. (Secret releases take `y` only, on purpose.)
fn confirm_answer(key: &KeyEvent) -> Option<bool> {
    match key.code {
        KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') => Some(true),
        KeyCode::Char('n') | KeyCode::Char('N') => Some(false),
        _ => None,
    }
}

/// Problems with a belief id as typed, or `None` when it is fine.
pub fn id_problem(id: &str, known: &[String]) -> Option<String> {
    if id.is_empty() {
        return Some("required".into());
    }
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("use a-z, 0-9 and -, starting with a letter".into());
    }
    if known.iter().any(|k| k == id) {
        return Some(format!("`{id}` already exists"));
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help {
        scroll: u16,
    },
    Start {
        title: Input,
        llm: Input,
        field: usize,
        busy: bool,
        error: Option<String>,
    },
    End {
        preview: Feed<Vec<String>>,
        busy: bool,
        error: Option<String>,
    },
    Note {
        text: Input,
        busy: bool,
        error: Option<String>,
    },
    Goal {
        text: Input,
        busy: bool,
        error: Option<String>,
    },
    Belief(BeliefForm),
    Recover {
        id: String,
        busy: bool,
        error: Option<String>,
    },
    Release(ReleaseRequest),
    Init {
        root: PathBuf,
        busy: bool,
        error: Option<String>,
    },
    Message {
        title: String,
        lines: Vec<String>,
    },
}

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

/// Everything the cockpit shows and remembers.
#[derive(Debug, Clone)]
pub struct App {
    pub now: DateTime<FixedOffset>,
    pub size: (u16, u16),
    pub project: ProjectState,
    pub session: Feed<Option<SessionView>>,
    pub commits: Feed<Vec<CommitRow>>,
    pub beliefs: Feed<Vec<BeliefRow>>,
    pub daemon: DaemonState,
    pub model: ModelState,
    pub index: IndexState,
    pub secrets: Feed<Vec<VaultView>>,
    pub agent: AgentState,
    pub pending: Vec<ReleaseRequest>,

    pub focus: Pane,
    pub popup: Option<Popup>,
    pub toast: Option<Toast>,
    pub goal_sel: usize,
    /// `None` follows the newest entry; `Some(i)` pins entry `i` at the top.
    pub activity_top: Option<usize>,
    pub commit_sel: usize,
    pub belief_sel: usize,
    pub scry_input: Input,
    pub scry_editing: bool,
    pub scry_seq: u64,
    pub scry: Option<ScryView>,
    pub scry_error: Option<String>,
    pub scry_waiting: bool,
    pub scry_sel: usize,
    /// Scry searches all registered projects (else this project only).
    pub scry_all: bool,
    /// Prompt count and last agent action, from the slow poll.
    pub transcript: Option<TranscriptView>,

    pub keymap: Keymap,
    pub themes: Vec<Theme>,
    pub theme: usize,
    pub mouse: bool,
    /// Default llm for the start popup (project config).
    pub default_llm: String,
    pub quit: bool,
    pub dirty: bool,
    recover_offered: bool,
    release_shown: Option<String>,
    clock_sig: String,
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
        let mut app = App {
            now,
            size: (80, 24),
            project: ProjectState::Loading,
            session: Feed::Loading,
            commits: Feed::Loading,
            beliefs: Feed::Loading,
            daemon: DaemonState::Unknown,
            model: ModelState::Unknown,
            index: IndexState::Idle,
            secrets: Feed::Loading,
            agent: AgentState::Unknown,
            pending: vec![],
            focus: Pane::Session,
            popup: None,
            toast: None,
            goal_sel: 0,
            activity_top: None,
            commit_sel: 0,
            belief_sel: 0,
            scry_input: Input::default(),
            scry_editing: false,
            scry_seq: 0,
            scry: None,
            scry_error: None,
            scry_waiting: false,
            scry_sel: 0,
            scry_all: false,
            transcript: None,
            keymap,
            themes,
            theme,
            mouse: false,
            default_llm: "claude".into(),
            quit: false,
            dirty: true,
            recover_offered: false,
            release_shown: None,
            clock_sig: String::new(),
        };
        if !app.keymap.problems.is_empty() {
            let mut lines = vec![
                "Problems in your config (the cockpit runs with defaults for these):".to_string(),
                String::new(),
            ];
            lines.extend(app.keymap.problems.iter().cloned());
            app.popup = Some(Popup::Message {
                title: "Configuration".into(),
                lines,
            });
        }
        app.clock_sig = app.clock_signature();
        app
    }

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

    fn known_belief_ids(&self) -> Vec<String> {
        self.beliefs
            .ready()
            .map(|b| b.iter().map(|r| r.id.clone()).collect())
            .unwrap_or_default()
    }

    fn toast(&mut self, level: Level, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            level,
            until: self.now + chrono::Duration::seconds(if level == Level::Error { 8 } else { 4 }),
        });
    }

    /// Time-dependent text on screen: the tick redraws only when it changes.
    fn clock_signature(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.active_session().and_then(|s| s.started) {
            s.push_str(&((self.now - st).num_minutes()).to_string());
        }
        if let Feed::Ready(vaults) = &self.secrets {
            for v in vaults {
                if let Some(e) = v.expires_at
                    && !v.locked
                {
                    s.push_str(&format!(",{}", (e - self.now).num_seconds()));
                }
            }
        }
        for c in self.commits.ready().into_iter().flatten().take(40) {
            s.push_str(&format!(",{}", super::ui::age(self.now, c.time)));
        }
        s.push_str(if self.toast.is_some() { "T" } else { "" });
        s
    }

    /// The one transition function.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = vec![];
        match action {
            Action::Tick(now) => {
                self.now = now;
                if self.toast.as_ref().is_some_and(|t| t.until <= now) {
                    self.toast = None;
                }
                let sig = self.clock_signature();
                if sig != self.clock_sig {
                    self.clock_sig = sig;
                    self.dirty = true;
                }
                return fx;
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
            }
            Action::FocusGained => fx.push(Effect::Refresh),
            Action::FocusLost => return fx,
            Action::Paste(text) => self.paste(&text, &mut fx),
            Action::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return fx;
                }
                self.key(key, &mut fx);
            }
            Action::Mouse(m) => {
                if !self.mouse {
                    return fx;
                }
                match m.kind {
                    MouseEventKind::ScrollUp => self.command(Command::Up, &mut fx),
                    MouseEventKind::ScrollDown => self.command(Command::Down, &mut fx),
                    MouseEventKind::Down(_) => {
                        if self.popup.is_none() {
                            let layout = super::ui::layout(
                                ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
                                self,
                            );
                            if let Some(p) = layout.pane_at(m.column, m.row) {
                                self.focus = p;
                            }
                        }
                    }
                    _ => return fx,
                }
            }
            Action::Msg(msg) => self.msg(msg, &mut fx),
        }
        self.dirty = true;
        self.clock_sig = self.clock_signature();
        fx
    }

    fn msg(&mut self, msg: Msg, fx: &mut Vec<Effect>) {
        match msg {
            Msg::Project(p) => {
                if let ProjectState::NotInitialized { root } = &p
                    && self.popup.is_none()
                {
                    self.popup = Some(Popup::Init {
                        root: root.clone(),
                        busy: false,
                        error: None,
                    });
                }
                if matches!(p, ProjectState::Ready { .. })
                    && matches!(self.popup, Some(Popup::Init { .. }))
                {
                    self.popup = None;
                }
                self.project = p;
            }
            Msg::Session(s) => {
                let before = self.active_session().map(|s| s.activity.len());
                self.session = s;
                let session = self.active_session().cloned();
                if let Some(s) = &session {
                    self.goal_sel = self.goal_sel.min(s.goals.len().saturating_sub(1));
                    if s.stale && !self.recover_offered && self.popup.is_none() {
                        self.recover_offered = true;
                        self.popup = Some(Popup::Recover {
                            id: s.id.clone(),
                            busy: false,
                            error: None,
                        });
                    }
                }
                if before.is_none() {
                    self.activity_top = None;
                }
            }
            Msg::Commits(c) => {
                self.commits = c;
                let n = self.commits.ready().map_or(0, |c| c.len());
                self.commit_sel = self.commit_sel.min(n.saturating_sub(1));
            }
            Msg::Beliefs(b) => {
                self.beliefs = b;
                let n = self.beliefs.ready().map_or(0, |c| c.len());
                self.belief_sel = self.belief_sel.min(n.saturating_sub(1));
            }
            Msg::Scry { seq, result } => {
                // Newest query wins: answers to older queries are dropped.
                if seq < self.scry_seq {
                    return;
                }
                self.scry_waiting = false;
                match result {
                    Ok(v) => {
                        self.scry = Some(v);
                        self.scry_error = None;
                        self.scry_sel = 0;
                    }
                    Err(e) => self.scry_error = Some(e),
                }
            }
            Msg::Daemon(d) => self.daemon = d,
            Msg::Model(m) => self.model = m,
            Msg::Index(i) => self.index = i,
            Msg::Secrets(s) => self.secrets = s,
            Msg::Agent(a) => self.agent = a,
            Msg::Transcript(t) => self.transcript = t,
            Msg::Pending(p) => {
                self.pending = p;
                self.show_next_release();
            }
            Msg::EndPreview(r) => {
                if let Some(Popup::End { preview, .. }) = &mut self.popup {
                    *preview = match r {
                        Ok(lines) => Feed::Ready(lines),
                        Err(e) => Feed::Unavailable(e),
                    };
                }
            }
            Msg::Completions { prefix, items } => {
                if let Some(Popup::Belief(form)) = &mut self.popup
                    && form.current_token().as_deref() == Some(prefix.as_str())
                {
                    form.completions = items;
                }
            }
            Msg::Done { what, result } => self.done(what, result, fx),
        }
    }

    fn done(&mut self, what: String, result: Result<String, String>, fx: &mut Vec<Effect>) {
        match result {
            Ok(text) => {
                // The popup that asked for it closes; the panes refresh.
                let close = matches!(
                    self.popup,
                    Some(
                        Popup::Start { busy: true, .. }
                            | Popup::End { busy: true, .. }
                            | Popup::Note { busy: true, .. }
                            | Popup::Goal { busy: true, .. }
                            | Popup::Recover { busy: true, .. }
                            | Popup::Init { busy: true, .. }
                    )
                ) || matches!(&self.popup, Some(Popup::Belief(f)) if f.busy);
                if close {
                    self.popup = None;
                }
                self.toast(Level::Ok, text);
                fx.push(Effect::Refresh);
            }
            Err(e) => {
                let shown = format!("{what}: {e}");
                let in_popup = match &mut self.popup {
                    Some(
                        Popup::Start { busy, error, .. }
                        | Popup::End { busy, error, .. }
                        | Popup::Note { busy, error, .. }
                        | Popup::Goal { busy, error, .. }
                        | Popup::Recover { busy, error, .. }
                        | Popup::Init { busy, error, .. },
                    ) if *busy => {
                        *busy = false;
                        *error = Some(e.clone());
                        true
                    }
                    Some(Popup::Belief(f)) if f.busy => {
                        f.busy = false;
                        f.error = Some(e.clone());
                        true
                    }
                    _ => false,
                };
                if !in_popup {
                    self.toast(Level::Error, shown);
                }
            }
        }
    }

    fn show_next_release(&mut self) {
        if self.popup.is_some() {
            return;
        }
        if let Some(r) = self.pending.first().cloned()
            && self.release_shown.as_deref() != Some(&r.id)
        {
            self.release_shown = Some(r.id.clone());
            self.popup = Some(Popup::Release(r));
        }
    }

    fn paste(&mut self, text: &str, fx: &mut Vec<Effect>) {
        match &mut self.popup {
            Some(Popup::Start {
                title, llm, field, ..
            }) => if *field == 0 { title } else { llm }.insert_str(text),
            Some(Popup::Note { text: t, .. } | Popup::Goal { text: t, .. }) => t.insert_str(text),
            Some(Popup::Belief(form)) => {
                let f = form.field;
                form.fields[f].insert_str(text);
            }
            Some(_) => {}
            None => {
                if !self.scry_editing {
                    self.scry_editing = true;
                    self.focus = Pane::Scry;
                }
                self.scry_input.insert_str(text);
                self.send_scry(fx);
            }
        }
    }

    fn key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        // A fast "Esc x" arrives as Alt-x from most terminals: in a field, treat it as both keys.
        if key.modifiers == KeyModifiers::ALT
            && matches!(key.code, KeyCode::Char(_))
            && (self.popup.is_some() || self.scry_editing)
        {
            self.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), fx);
            self.key(KeyEvent::new(key.code, KeyModifiers::NONE), fx);
            return;
        }
        if self.popup.is_some() {
            self.popup_key(key, fx);
            return;
        }
        if self.scry_editing {
            match key.code {
                KeyCode::Esc => self.scry_editing = false,
                KeyCode::Enter => {
                    self.scry_editing = false;
                    self.send_scry(fx);
                }
                KeyCode::Up => self.command(Command::Up, fx),
                KeyCode::Down => self.command(Command::Down, fx),
                KeyCode::Tab | KeyCode::BackTab => {
                    self.scry_editing = false;
                    let c = if key.code == KeyCode::Tab {
                        Command::FocusNext
                    } else {
                        Command::FocusPrev
                    };
                    self.command(c, fx);
                }
                _ => {
                    if key.modifiers.contains(KeyModifiers::CONTROL)
                        && key.code == KeyCode::Char('c')
                    {
                        self.command(Command::Quit, fx);
                    } else if self.scry_input.handle(&key) == Edit::Changed {
                        self.send_scry(fx);
                    }
                }
            }
            return;
        }
        if let Some(cmd) = self.keymap.command(&key) {
            self.command(cmd, fx);
        }
    }

    /// What the Scry pane's title shows.
    pub fn scry_scope_label(&self) -> &'static str {
        if self.scry_all {
            "all projects"
        } else {
            "this project"
        }
    }

    fn send_scry(&mut self, fx: &mut Vec<Effect>) {
        let q = self.scry_input.text().trim().to_string();
        self.scry_seq += 1;
        if q.is_empty() {
            self.scry = None;
            self.scry_error = None;
            self.scry_waiting = false;
            return;
        }
        self.scry_waiting = true;
        fx.push(Effect::Scry {
            seq: self.scry_seq,
            query: q,
            all: self.scry_all,
        });
    }

    /// Refuse with a toast when the project is not ready; true when it is.
    fn need_project(&mut self) -> bool {
        match &self.project {
            ProjectState::Ready { .. } => true,
            ProjectState::Loading => {
                self.toast(Level::Warn, "still loading the project…");
                false
            }
            ProjectState::NotInitialized { root } => {
                let root = root.clone();
                self.popup = Some(Popup::Init {
                    root,
                    busy: false,
                    error: None,
                });
                false
            }
            ProjectState::NoGit { .. } => {
                self.toast(
                    Level::Error,
                    "not in a git repository: run `git init` first",
                );
                false
            }
        }
    }

    fn need_session(&mut self) -> bool {
        if !self.need_project() {
            return false;
        }
        match &self.session {
            Feed::Ready(Some(_)) => true,
            Feed::Ready(None) => {
                let k = self.keymap.hint(Command::StartSession);
                self.toast(
                    Level::Warn,
                    format!("no active session — press {k} to start one"),
                );
                false
            }
            Feed::Loading => {
                self.toast(Level::Warn, "still loading the session…");
                false
            }
            Feed::Unavailable(why) => {
                let why = why.clone();
                self.toast(Level::Error, format!("sessions unavailable: {why}"));
                false
            }
        }
    }

    fn list_len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Session => self.active_session().map_or(0, |s| s.goals.len()),
            Pane::Activity => self.active_session().map_or(0, |s| s.activity.len()),
            Pane::Commits => self.commits.ready().map_or(0, |c| c.len()),
            Pane::Beliefs => self.beliefs.ready().map_or(0, |c| c.len()),
            Pane::Scry => self.scry.as_ref().map_or(0, |s| s.hits.len()),
        }
    }

    fn move_sel(&mut self, delta: isize) {
        let n = self.list_len(self.focus);
        let clamp = |v: usize, d: isize| -> usize {
            if n == 0 {
                0
            } else {
                (v as isize + d).clamp(0, n as isize - 1) as usize
            }
        };
        match self.focus {
            Pane::Session => self.goal_sel = clamp(self.goal_sel, delta),
            Pane::Activity => {
                let cur = self.activity_top.unwrap_or(n.saturating_sub(1));
                let next = clamp(cur, delta);
                self.activity_top = if next + 1 >= n { None } else { Some(next) };
            }
            Pane::Commits => self.commit_sel = clamp(self.commit_sel, delta),
            Pane::Beliefs => self.belief_sel = clamp(self.belief_sel, delta),
            Pane::Scry => self.scry_sel = clamp(self.scry_sel, delta),
        }
    }

    fn open_editor_for_selection(&mut self, fx: &mut Vec<Effect>) {
        let root = self.project_root().cloned();
        match self.focus {
            Pane::Beliefs => {
                if let Some(b) = self.beliefs.ready().and_then(|b| b.get(self.belief_sel)) {
                    fx.push(Effect::OpenEditor {
                        path: b.path.clone(),
                        line: 1,
                    });
                }
            }
            Pane::Scry => {
                let hit = self.scry.as_ref().and_then(|s| s.hits.get(self.scry_sel));
                if let (Some(h), Some(root)) = (hit, root) {
                    if h.kind == "commit" {
                        self.toast(
                            Level::Info,
                            format!("{} is a commit: `git show` it", h.title),
                        );
                        return;
                    }
                    fx.push(Effect::OpenEditor {
                        path: h.root.as_deref().unwrap_or(&root).join(&h.path),
                        line: h.line.max(1),
                    });
                }
            }
            _ => self.toast(
                Level::Info,
                "nothing to open here (Beliefs and Scry open in $EDITOR)",
            ),
        }
    }

    fn command(&mut self, cmd: Command, fx: &mut Vec<Effect>) {
        match cmd {
            Command::Help => self.popup = Some(Popup::Help { scroll: 0 }),
            Command::Quit => {
                self.quit = true;
                fx.push(Effect::Quit);
            }
            Command::FocusNext | Command::FocusPrev => {
                let i = self.focus.index();
                let n = Pane::ALL.len();
                let j = if cmd == Command::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = Pane::ALL[j];
            }
            Command::StartSession => {
                if !self.need_project() {
                    return;
                }
                if let Some(s) = self.active_session() {
                    let (id, k) = (s.id.clone(), self.keymap.hint(Command::EndSession));
                    self.toast(
                        Level::Warn,
                        format!("session {id} is active — end it first ({k})"),
                    );
                    return;
                }
                if let Feed::Unavailable(why) = &self.session {
                    let why = why.clone();
                    self.toast(Level::Error, format!("sessions unavailable: {why}"));
                    return;
                }
                self.popup = Some(Popup::Start {
                    title: Input::default(),
                    llm: Input::new(&self.default_llm),
                    field: 0,
                    busy: false,
                    error: None,
                });
            }
            Command::EndSession => {
                if self.need_session() {
                    self.popup = Some(Popup::End {
                        preview: Feed::Loading,
                        busy: false,
                        error: None,
                    });
                    fx.push(Effect::PreviewEnd);
                }
            }
            Command::Note => {
                if self.need_session() {
                    self.popup = Some(Popup::Note {
                        text: Input::default(),
                        busy: false,
                        error: None,
                    });
                }
            }
            Command::Goal => {
                if self.need_session() {
                    self.popup = Some(Popup::Goal {
                        text: Input::default(),
                        busy: false,
                        error: None,
                    });
                }
            }
            Command::ToggleGoal => {
                if self.need_session() {
                    let goal = self
                        .active_session()
                        .and_then(|s| s.goals.get(self.goal_sel))
                        .map(|g| g.index);
                    match goal {
                        Some(index) => fx.push(Effect::ToggleGoal(index)),
                        None => {
                            let k = self.keymap.hint(Command::Goal);
                            self.toast(Level::Info, format!("no goals yet — press {k} to add one"));
                        }
                    }
                }
            }
            Command::Update => {
                if self.need_session() {
                    fx.push(Effect::UpdateSession);
                }
            }
            Command::Belief => {
                if self.need_project() {
                    if let Feed::Unavailable(why) = &self.beliefs {
                        let why = why.clone();
                        self.toast(Level::Error, format!("beliefs unavailable: {why}"));
                        return;
                    }
                    self.popup = Some(Popup::Belief(BeliefForm::new()));
                }
            }
            Command::Scry => {
                self.focus = Pane::Scry;
                self.scry_editing = true;
            }
            Command::ScryScope => {
                self.scry_all = !self.scry_all;
                self.focus = Pane::Scry;
                self.toast(
                    Level::Info,
                    format!("scry scope: {}", self.scry_scope_label()),
                );
                self.send_scry(fx);
            }
            Command::Open => match self.focus {
                Pane::Session => self.command(Command::ToggleGoal, fx),
                Pane::Scry if self.scry.is_none() => self.command(Command::Scry, fx),
                _ => self.open_editor_for_selection(fx),
            },
            Command::Edit => self.open_editor_for_selection(fx),
            Command::Recover => {
                if self.need_project() {
                    let id = self
                        .active_session()
                        .map(|s| s.id.clone())
                        .unwrap_or_default();
                    self.popup = Some(Popup::Recover {
                        id,
                        busy: false,
                        error: None,
                    });
                }
            }
            Command::LockSecrets => fx.push(Effect::LockSecrets),
            Command::NextTheme => {
                self.theme = (self.theme + 1) % self.themes.len();
                let name = self.theme().name.clone();
                self.toast(Level::Info, format!("theme: {name}"));
            }
            Command::Mouse => {
                self.mouse = !self.mouse;
                fx.push(Effect::SetMouse(self.mouse));
                let state = if self.mouse { "on" } else { "off" };
                self.toast(Level::Info, format!("mouse {state}"));
            }
            Command::Up => self.move_sel(-1),
            Command::Down => self.move_sel(1),
            Command::PageUp => self.move_sel(-10),
            Command::PageDown => self.move_sel(10),
            Command::Top => self.move_sel(isize::MIN / 2),
            Command::Bottom => self.move_sel(isize::MAX / 2),
            Command::Suspend => fx.push(Effect::Suspend),
            Command::Back => {
                self.toast = None;
            }
        }
    }

    fn popup_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        let is_note = matches!(self.popup, Some(Popup::Note { .. }));
        let Some(popup) = self.popup.as_mut() else {
            return;
        };
        // Esc closes any popup that is not waiting on an operation.
        let busy = matches!(
            popup,
            Popup::Start { busy: true, .. }
                | Popup::End { busy: true, .. }
                | Popup::Note { busy: true, .. }
                | Popup::Goal { busy: true, .. }
                | Popup::Recover { busy: true, .. }
                | Popup::Init { busy: true, .. }
        ) || matches!(popup, Popup::Belief(f) if f.busy);
        if key.code == KeyCode::Esc || ctrl_c {
            if !busy {
                if let Popup::Release(r) = popup {
                    // Closing a release request answers it: no.
                    fx.push(Effect::AnswerRelease {
                        id: r.id.clone(),
                        allow: false,
                    });
                    self.pending.retain(|p| p.id != r.id);
                }
                self.popup = None;
                self.show_next_release();
            }
            return;
        }
        if busy {
            return;
        }
        match popup {
            Popup::Help { scroll } => match key.code {
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                _ => self.popup = None,
            },
            Popup::Message { .. } => {
                if matches!(
                    key.code,
                    KeyCode::Enter | KeyCode::Char(' ') | KeyCode::Char('q')
                ) {
                    self.popup = None;
                }
            }
            Popup::Start {
                title,
                llm,
                field,
                busy,
                error,
            } => match key.code {
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Down | KeyCode::Up => {
                    *field = 1 - *field
                }
                KeyCode::Enter => {
                    let t = title.text().trim().to_string();
                    if t.is_empty() {
                        *error = Some("a title is required".into());
                        *field = 0;
                        return;
                    }
                    let l = llm.text().trim().to_string();
                    *busy = true;
                    *error = None;
                    fx.push(Effect::StartSession {
                        title: t,
                        llm: (!l.is_empty()).then_some(l),
                    });
                }
                _ => {
                    if *field == 0 { title } else { llm }.handle(&key);
                }
            },
            Popup::Note { text, busy, error } | Popup::Goal { text, busy, error } => {
                match key.code {
                    KeyCode::Enter => {
                        let t = text.text().trim().to_string();
                        if t.is_empty() {
                            *error = Some("empty — type something or press Esc".into());
                            return;
                        }
                        *busy = true;
                        *error = None;
                        fx.push(if is_note {
                            Effect::Note(t)
                        } else {
                            Effect::AddGoal(t)
                        });
                    }
                    _ => {
                        text.handle(&key);
                    }
                }
            }
            Popup::End { busy, error, .. } => match confirm_answer(&key) {
                Some(true) => {
                    *busy = true;
                    *error = None;
                    fx.push(Effect::EndSession);
                }
                Some(false) => self.popup = None,
                None => {}
            },
            Popup::Recover { busy, error, .. } => match confirm_answer(&key) {
                Some(true) => {
                    *busy = true;
                    *error = None;
                    fx.push(Effect::Recover);
                }
                Some(false) => self.popup = None,
                None => {}
            },
            Popup::Init { busy, error, .. } => match confirm_answer(&key) {
                Some(true) => {
                    *busy = true;
                    *error = None;
                    fx.push(Effect::InitProject);
                }
                Some(false) => self.popup = None,
                None => {}
            },
            Popup::Release(r) => {
                let allow = match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => true,
                    KeyCode::Char('n') | KeyCode::Char('N') => false,
                    _ => return,
                };
                let id = r.id.clone();
                fx.push(Effect::AnswerRelease {
                    id: id.clone(),
                    allow,
                });
                self.pending.retain(|p| p.id != id);
                self.popup = None;
                self.show_next_release();
            }
            Popup::Belief(form) => {
                let known = self
                    .beliefs
                    .ready()
                    .map(|b| b.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
                    .unwrap_or_default();
                match key.code {
                    KeyCode::Tab | KeyCode::Down => {
                        form.field = (form.field + 1) % BELIEF_FIELDS.len();
                        form.completions.clear();
                    }
                    KeyCode::BackTab | KeyCode::Up => {
                        form.field = (form.field + BELIEF_FIELDS.len() - 1) % BELIEF_FIELDS.len();
                        form.completions.clear();
                    }
                    KeyCode::Enter => {
                        let draft = form.draft();
                        let problem = if let Some(p) = id_problem(&draft.id, &known) {
                            form.field = 0;
                            Some(format!("id: {p}"))
                        } else if draft.statement.is_empty() {
                            form.field = 1;
                            Some("statement: required".into())
                        } else if !ENTRENCHMENTS.contains(&draft.entrenchment.as_str()) {
                            form.field = 6;
                            Some(format!("entrenchment: one of {}", ENTRENCHMENTS.join(", ")))
                        } else {
                            None
                        };
                        match problem {
                            Some(p) => form.error = Some(p),
                            None => {
                                form.busy = true;
                                form.error = None;
                                fx.push(Effect::CreateBelief(draft));
                            }
                        }
                    }
                    KeyCode::Right
                        if (form.field == 3 || form.field == 4)
                            && form.fields[form.field].cursor()
                                == form.fields[form.field].text().chars().count()
                            && !form.completions.is_empty() =>
                    {
                        // Accept the first completion for the token being typed.
                        let f = form.field;
                        let text = form.fields[f].text().to_string();
                        let head = match text.rfind(',') {
                            Some(i) => format!("{}, ", text[..i].trim_end()),
                            None => String::new(),
                        };
                        form.fields[f].set(&format!("{head}{}", form.completions[0]));
                        form.completions.clear();
                    }
                    KeyCode::Left | KeyCode::Right
                        if form.field == 6 && key.modifiers.is_empty() =>
                    {
                        let cur = ENTRENCHMENTS
                            .iter()
                            .position(|e| *e == form.fields[6].text())
                            .unwrap_or(1);
                        let next = if key.code == KeyCode::Right {
                            (cur + 1).min(ENTRENCHMENTS.len() - 1)
                        } else {
                            cur.saturating_sub(1)
                        };
                        form.fields[6].set(ENTRENCHMENTS[next]);
                    }
                    _ => {
                        let f = form.field;
                        if form.fields[f].handle(&key) == Edit::Changed {
                            form.error = None;
                            if let Some(tok) = form.current_token() {
                                form.completions = if tok.is_empty() {
                                    vec![]
                                } else {
                                    known
                                        .iter()
                                        .filter(|k| k.starts_with(&tok) && **k != tok)
                                        .take(5)
                                        .cloned()
                                        .collect()
                                };
                                if !tok.is_empty() {
                                    fx.push(Effect::CompleteLink(tok));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The id problem shown under the belief form's id field as you type.
    pub fn belief_id_hint(&self) -> Option<String> {
        match &self.popup {
            Some(Popup::Belief(f)) if !f.fields[0].text().is_empty() => {
                id_problem(f.fields[0].text().trim(), &self.known_belief_ids())
            }
            _ => None,
        }
    }
}

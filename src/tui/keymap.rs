//! Keys → commands, per context. The one table ([`DEFAULTS`]) drives three things: dispatch
//! (`Keymap::lookup`), the help overlay (`Keymap::help`) and the key-hint bar (`Keymap::hints`).
//! The user remaps commands in `$XDG_CONFIG_HOME/patina/config.toml`:
//!
//! ```toml
//! [keys]
//! note = "N"                 # replaces the default key(s) of `note` in every context it has
//! belief = ["b", "ctrl-b"]   # several keys
//! mouse = []                 # unbound
//! ```
//!
//! A context is where the keyboard is: a pane, the scry input, a text field, a popup. The app
//! asks the contexts in order (the focused one first, then `Global` for panes; `Always` first of
//! all), so a pane key shadows a global one. Conflicts inside a context, or between a pane and
//! `Global`, are reported when the map is loaded; the user's binding wins over a default.
//!
//! Text fields: a printable key is text, always; so commands of a context that has a text field
//! (`Field`, `Form`, `Input`, `Release`...) may not be bound to a printable key — such a binding is
//! reported and the default kept. Alt+letter in a field is editing (word motions) or nothing,
//! never a command.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// Where the keyboard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Keys no text field types, honoured everywhere (the release review).
    Always,
    /// Panes, when no text field has the keyboard.
    Global,
    /// Every list pane (movement, filter, open).
    List,
    Session,
    Activity,
    Commits,
    Beliefs,
    History,
    Scry,
    /// The scry query input.
    ScryInput,
    /// A list's `/` filter input.
    FilterInput,
    /// Editing inside any text field.
    Field,
    /// A popup with text fields (note, goal, start, belief).
    Form,
    /// A yes/no popup (end, recover, init).
    Confirm,
    /// A scrollable text popup (help, messages, diff, a past session, the preview).
    Viewer,
    /// The secret-release review.
    Release,
}

impl Context {
    /// Contexts whose keyboard belongs to a text field: no printable key may be bound there.
    pub fn has_text(self) -> bool {
        matches!(
            self,
            Context::Always
                | Context::ScryInput
                | Context::FilterInput
                | Context::Field
                | Context::Form
                | Context::Release
        )
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    // Always
    ReviewRelease,
    // Global
    Help,
    Quit,
    FocusNext,
    FocusPrev,
    /// Digits 1-9: the pane with that number (order of `panes::all()`).
    FocusPane,
    StartSession,
    EndSession,
    Note,
    Goal,
    Belief,
    Update,
    Scry,
    ScryScope,
    Recover,
    LockSecrets,
    NextTheme,
    Mouse,
    Messages,
    Suspend,
    // Lists
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Open,
    Edit,
    ToggleGoal,
    Preview,
    // Inputs
    Leave,
    HistoryPrev,
    HistoryNext,
    // Field editing
    CharLeft,
    CharRight,
    WordLeft,
    WordRight,
    LineStart,
    LineEnd,
    LineUp,
    LineDown,
    DeleteBack,
    DeleteForward,
    DeleteWordBack,
    DeleteWordForward,
    KillToEnd,
    KillToStart,
    Undo,
    Redo,
    Newline,
    // Forms and popups
    Submit,
    Cancel,
    NextField,
    PrevField,
    CompletionNext,
    CompletionPrev,
    Yes,
    No,
    CommitArchive,
    Close,
    Allow,
    Deny,
}

/// One default binding: the command, its context, its keys, and whether the hint bar shows it.
pub struct Def {
    pub ctx: Context,
    pub cmd: Command,
    pub keys: &'static [&'static str],
    pub hint: bool,
}

const fn d(ctx: Context, cmd: Command, keys: &'static [&'static str], hint: bool) -> Def {
    Def {
        ctx,
        cmd,
        keys,
        hint,
    }
}

use Command as C;
use Context as X;

/// The table. Order = help order and hint order.
pub const DEFAULTS: &[Def] = &[
    d(X::Always, C::ReviewRelease, &["f2"], false),
    // Global
    d(X::Global, C::Help, &["?"], true),
    d(X::Global, C::Quit, &["q", "ctrl-c"], false),
    d(X::Global, C::FocusNext, &["tab"], false),
    d(X::Global, C::FocusPrev, &["shift-tab"], false),
    d(
        X::Global,
        C::FocusPane,
        &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        false,
    ),
    d(X::Global, C::StartSession, &["S"], false),
    d(X::Global, C::EndSession, &["E"], false),
    d(X::Global, C::Note, &["n"], true),
    d(X::Global, C::Goal, &["g"], false),
    d(X::Global, C::Belief, &["b"], true),
    d(X::Global, C::Update, &["u"], false),
    d(X::Global, C::Scry, &["s"], true),
    d(X::Global, C::ScryScope, &["A"], false),
    d(X::Global, C::Recover, &["R"], false),
    d(X::Global, C::LockSecrets, &["L"], false),
    d(X::Global, C::NextTheme, &["t"], false),
    d(X::Global, C::Mouse, &["m"], false),
    d(X::Global, C::Messages, &[":"], false),
    d(X::Global, C::Suspend, &["ctrl-z"], false),
    // Every list
    d(X::List, C::Up, &["up", "k"], false),
    d(X::List, C::Down, &["down", "j"], false),
    d(X::List, C::PageUp, &["pageup"], false),
    d(X::List, C::PageDown, &["pagedown"], false),
    d(X::List, C::Top, &["home"], false),
    d(X::List, C::Bottom, &["end", "G"], false),
    d(X::List, C::Filter, &["/"], true),
    // Pane-specific
    d(X::Session, C::ToggleGoal, &["space"], true),
    d(X::Session, C::Goal, &["g"], true),
    d(X::Activity, C::Bottom, &["end", "G"], true),
    d(X::Commits, C::Open, &["enter"], true),
    d(X::Beliefs, C::Open, &["enter"], true),
    d(X::History, C::Open, &["enter"], true),
    d(X::History, C::Edit, &["o"], true),
    d(X::Beliefs, C::Edit, &["o"], false),
    d(X::Scry, C::Filter, &["/", "i"], true),
    d(X::Scry, C::Open, &["enter", "o"], true),
    d(X::Scry, C::Preview, &["p"], true),
    // The scry input
    d(X::ScryInput, C::Open, &["enter"], true),
    d(X::ScryInput, C::Leave, &["esc"], true),
    d(X::ScryInput, C::Up, &["up", "ctrl-p"], true),
    d(X::ScryInput, C::Down, &["down", "ctrl-n"], false),
    d(X::ScryInput, C::PageUp, &["pageup"], false),
    d(X::ScryInput, C::PageDown, &["pagedown"], false),
    d(X::ScryInput, C::HistoryPrev, &["alt-p", "ctrl-up"], true),
    d(X::ScryInput, C::HistoryNext, &["alt-n", "ctrl-down"], false),
    d(X::ScryInput, C::Preview, &["ctrl-o"], true),
    d(X::ScryInput, C::FocusNext, &["tab"], false),
    d(X::ScryInput, C::FocusPrev, &["shift-tab"], false),
    d(X::ScryInput, C::Quit, &["ctrl-c"], false),
    // A list filter
    d(X::FilterInput, C::Submit, &["enter"], true),
    d(X::FilterInput, C::Cancel, &["esc"], true),
    // Editing (every text field)
    d(X::Field, C::CharLeft, &["left", "ctrl-b"], false),
    d(X::Field, C::CharRight, &["right", "ctrl-f"], false),
    d(
        X::Field,
        C::WordLeft,
        &["alt-b", "ctrl-left", "alt-left"],
        true,
    ),
    d(
        X::Field,
        C::WordRight,
        &["alt-f", "ctrl-right", "alt-right"],
        true,
    ),
    d(X::Field, C::LineStart, &["home", "ctrl-a"], false),
    d(X::Field, C::LineEnd, &["end", "ctrl-e"], false),
    d(X::Field, C::LineUp, &["up"], false),
    d(X::Field, C::LineDown, &["down"], false),
    d(X::Field, C::DeleteBack, &["backspace", "ctrl-h"], false),
    d(X::Field, C::DeleteForward, &["delete", "ctrl-d"], false),
    d(
        X::Field,
        C::DeleteWordBack,
        &["ctrl-w", "alt-backspace"],
        true,
    ),
    d(X::Field, C::DeleteWordForward, &["alt-d"], false),
    d(X::Field, C::KillToEnd, &["ctrl-k"], false),
    d(X::Field, C::KillToStart, &["ctrl-u"], false),
    d(X::Field, C::Undo, &["ctrl-_", "ctrl-7", "ctrl-/"], true),
    d(X::Field, C::Redo, &["alt-_", "ctrl-r"], false),
    d(X::Field, C::Newline, &["ctrl-j", "alt-enter"], false),
    // Forms
    d(X::Form, C::Submit, &["enter"], true),
    d(X::Form, C::Cancel, &["esc", "ctrl-c"], true),
    d(X::Form, C::NextField, &["tab"], true),
    d(X::Form, C::PrevField, &["shift-tab"], false),
    d(X::Form, C::CompletionNext, &["ctrl-n"], false),
    d(X::Form, C::CompletionPrev, &["ctrl-p"], false),
    // Yes/no
    d(X::Confirm, C::Yes, &["y", "Y", "enter"], true),
    d(X::Confirm, C::No, &["n", "N", "esc"], true),
    d(X::Confirm, C::CommitArchive, &["c"], true),
    // Viewers
    d(X::Viewer, C::Up, &["up", "k"], false),
    d(X::Viewer, C::Down, &["down", "j"], false),
    d(X::Viewer, C::PageUp, &["pageup", "b"], true),
    d(X::Viewer, C::PageDown, &["pagedown", "space"], true),
    d(X::Viewer, C::Top, &["home", "g"], false),
    d(X::Viewer, C::Bottom, &["end", "G"], false),
    d(X::Viewer, C::Close, &["esc", "q", "enter"], true),
    // The release review
    d(X::Release, C::Allow, &["ctrl-y"], true),
    d(X::Release, C::Deny, &["ctrl-n", "delete"], true),
    d(X::Release, C::Down, &["down", "tab"], false),
    d(X::Release, C::Up, &["up", "shift-tab"], false),
    d(X::Release, C::Close, &["esc"], true),
];

impl Command {
    /// Every command, in help order (first appearance in the table).
    pub fn all() -> Vec<Command> {
        let mut v: Vec<Command> = vec![];
        for def in DEFAULTS {
            if !v.contains(&def.cmd) {
                v.push(def.cmd);
            }
        }
        v
    }

    /// The name used in `[keys]`: kebab-case of the variant.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn from_name(name: &str) -> Option<Command> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

/// A key with its modifiers, normalised so that `S` and shift-`s` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                // The character already carries shift ("S", "?"): drop the modifier.
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// A key that types a character into a text field.
    pub fn is_printable(&self) -> bool {
        matches!(self.code, KeyCode::Char(_))
            && !self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }

    /// Parse `q`, `S`, `?`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `f5`...
    pub fn parse(s: &str) -> Result<Key, String> {
        let bad = || {
            format!(
                "{s:?} is not a key (examples: q, S, ?, ctrl-c, alt-x, shift-tab, enter, space, f5)"
            )
        };
        if s.is_empty() {
            return Err(bad());
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
        }
        if rest.ends_with('-') && rest.len() > 1 {
            return Err(bad());
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "insert" => KeyCode::Insert,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().map_err(|_| bad())?)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if mods.contains(KeyModifiers::SHIFT) {
                            mods.remove(KeyModifiers::SHIFT);
                            c.to_ascii_uppercase()
                        } else {
                            c
                        };
                        KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        })
                    }
                    _ => return Err(bad()),
                }
            }
        };
        Ok(Key { code, mods })
    }

    /// How help and hints show the key.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("shift-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Tab => s.push_str("tab"),
            KeyCode::BackTab => s.push_str("shift-tab"),
            KeyCode::Enter => s.push_str("enter"),
            KeyCode::Esc => s.push_str("esc"),
            KeyCode::Backspace => s.push_str("backspace"),
            KeyCode::Delete => s.push_str("delete"),
            KeyCode::Up => s.push_str("up"),
            KeyCode::Down => s.push_str("down"),
            KeyCode::Left => s.push_str("left"),
            KeyCode::Right => s.push_str("right"),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::PageUp => s.push_str("pageup"),
            KeyCode::PageDown => s.push_str("pagedown"),
            KeyCode::Insert => s.push_str("insert"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            _ => s.push('?'),
        }
        s
    }
}

/// The `[keys]` section of the user config: command name → one key or a list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct KeysConfig(pub BTreeMap<String, KeySpec>);

impl KeysConfig {
    /// `[keys]` of the user config, entry by entry: an entry of the wrong type is reported
    /// (file, key, value) and left out, so every valid binding still applies.
    pub fn from_user(user: &crate::user_config::UserConfig) -> (KeysConfig, Vec<String>) {
        let mut problems = vec![];
        let mut map = BTreeMap::new();
        match user.table("keys") {
            Err(e) => problems.push(e.to_string()),
            Ok(None) => {}
            Ok(Some(table)) => {
                for (name, value) in table {
                    match user.decode::<KeySpec>(&format!("keys.{name}"), value) {
                        Ok(spec) => {
                            map.insert(name.clone(), spec);
                        }
                        Err(_) => problems.push(
                            user.invalid(
                                &format!("keys.{name}"),
                                format!("expected a key or a list of keys (value: {value})"),
                            )
                            .to_string(),
                        ),
                    }
                }
            }
        }
        (KeysConfig(map), problems)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone)]
struct Binding {
    ctx: Context,
    key: Key,
    cmd: Command,
    hint: bool,
}

/// The resolved map.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// In table order (help lists keys in this order).
    bindings: Vec<Binding>,
    /// What is wrong with the user's `[keys]`, one line per problem.
    pub problems: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::load(&KeysConfig::default())
    }
}

/// The default keys of `cmd` (in its first context of the table).
fn default_keys(cmd: Command) -> Vec<&'static str> {
    DEFAULTS
        .iter()
        .find(|d| d.cmd == cmd)
        .map(|d| d.keys.to_vec())
        .unwrap_or_default()
}

/// Contexts asked together with `ctx` (a key there would be shadowed or shadow).
fn overlapping(ctx: Context) -> &'static [Context] {
    match ctx {
        X::Session | X::Activity | X::Commits | X::Beliefs | X::History | X::Scry => {
            &[X::Always, X::List, X::Global]
        }
        X::List => &[X::Always, X::Global],
        X::Field => &[X::Always, X::Form, X::ScryInput, X::FilterInput],
        _ => &[X::Always],
    }
}

impl Keymap {
    /// No bindings at all (a placeholder; `Keymap::default()` has the defaults).
    pub fn empty() -> Keymap {
        Keymap {
            bindings: vec![],
            problems: vec![],
        }
    }

    /// Defaults with the user's bindings applied; see the module docs for conflict rules.
    pub fn load(cfg: &KeysConfig) -> Keymap {
        let mut problems = vec![];
        let mut user: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for (name, spec) in &cfg.0 {
            let Some(cmd) = Command::from_name(name) else {
                problems.push(format!(
                    "[keys] {name}: unknown command (known: {})",
                    Command::all()
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            };
            let list = match spec {
                KeySpec::One(s) => vec![s.clone()],
                KeySpec::Many(v) => v.clone(),
            };
            let mut keys = vec![];
            for s in &list {
                match Key::parse(s) {
                    Ok(k) => keys.push(k),
                    Err(e) => problems.push(format!("[keys] {name}: {e}")),
                }
            }
            if keys.is_empty() && !list.is_empty() {
                // Nothing the user wrote is a key: keep the defaults rather than leave the
                // command (perhaps `quit`) without any.
                problems.push(format!(
                    "[keys] {name}: no valid key given; keeping the default {}",
                    default_keys(cmd).join(", ")
                ));
                continue;
            }
            // A command that lives only in text contexts cannot take a key that types text.
            let text_only = DEFAULTS
                .iter()
                .filter(|d| d.cmd == cmd)
                .all(|d| d.ctx.has_text());
            if text_only && let Some(k) = keys.iter().find(|k| k.is_printable()) {
                problems.push(format!(
                    "[keys] {name}: {} types text in a field; `{name}` keeps its default keys",
                    k.label()
                ));
                continue;
            }
            user.insert(cmd, keys);
        }
        let mut bindings: Vec<Binding> = vec![];
        let clash = |bindings: &[Binding], ctx: Context, k: &Key| -> Option<(Context, Command)> {
            bindings
                .iter()
                .find(|b| {
                    b.key == *k
                        && (b.ctx == ctx
                            || overlapping(ctx).contains(&b.ctx)
                            || overlapping(b.ctx).contains(&ctx))
                })
                .map(|b| (b.ctx, b.cmd))
        };
        // User bindings first, in table order.
        for def in DEFAULTS {
            let Some(keys) = user.get(&def.cmd) else {
                continue;
            };
            // In a text context printable keys are text: there the command keeps the user's
            // other keys, or its defaults.
            let parsed_defaults: Vec<Key>;
            let keys: &[Key] = if def.ctx.has_text() {
                let usable: Vec<Key> = keys.iter().copied().filter(|k| !k.is_printable()).collect();
                parsed_defaults = if usable.is_empty() {
                    def.keys
                        .iter()
                        .map(|s| Key::parse(s).expect("default keys parse"))
                        .collect()
                } else {
                    usable
                };
                &parsed_defaults
            } else {
                keys
            };
            for k in keys {
                if bindings
                    .iter()
                    .any(|b| b.key == *k && b.ctx == def.ctx && b.cmd == def.cmd)
                {
                    continue;
                }
                match clash(&bindings, def.ctx, k) {
                    Some((_, other)) if other != def.cmd => problems.push(format!(
                        "[keys] {} is bound to both `{}` and `{}`; `{}` keeps it",
                        k.label(),
                        other.name(),
                        def.cmd.name(),
                        other.name()
                    )),
                    _ => bindings.push(Binding {
                        ctx: def.ctx,
                        key: *k,
                        cmd: def.cmd,
                        hint: def.hint,
                    }),
                }
            }
        }
        // Then defaults of commands the user did not rebind, where the key is still free. A
        // default may repeat a key of the same command in an overlapping context (pane + list).
        for def in DEFAULTS {
            if user.contains_key(&def.cmd) {
                continue;
            }
            for s in def.keys {
                let k = Key::parse(s).expect("default keys parse");
                match clash(&bindings, def.ctx, &k) {
                    Some((_, other)) if other == def.cmd => bindings.push(Binding {
                        ctx: def.ctx,
                        key: k,
                        cmd: def.cmd,
                        hint: def.hint,
                    }),
                    Some((ctx, other)) => {
                        // Two defaults on one key in overlapping contexts are by design (a pane
                        // key shadows a global one); report only shadowing by a user key.
                        if user.contains_key(&other) {
                            problems.push(format!(
                                "[keys] {} of `{}` shadows the default of `{}`; `{}` now has no {} key",
                                k.label(),
                                other.name(),
                                def.cmd.name(),
                                def.cmd.name(),
                                k.label()
                            ));
                        } else {
                            let _ = ctx;
                            bindings.push(Binding {
                                ctx: def.ctx,
                                key: k,
                                cmd: def.cmd,
                                hint: def.hint,
                            });
                        }
                    }
                    None => bindings.push(Binding {
                        ctx: def.ctx,
                        key: k,
                        cmd: def.cmd,
                        hint: def.hint,
                    }),
                }
            }
        }
        // Quit must stay reachable whatever the user's map did to it (a conflict can take its
        // only key): give back its free defaults.
        if !bindings
            .iter()
            .any(|b| b.cmd == Command::Quit && b.ctx == Context::Global)
        {
            for s in default_keys(Command::Quit) {
                let k = Key::parse(s).expect("default keys parse");
                if !bindings
                    .iter()
                    .any(|b| b.key == k && b.ctx == Context::Global)
                {
                    bindings.push(Binding {
                        ctx: Context::Global,
                        key: k,
                        cmd: Command::Quit,
                        hint: false,
                    });
                    problems.push(format!(
                        "[keys] `quit` had no key left; {} quits",
                        k.label()
                    ));
                }
            }
        }
        Keymap { bindings, problems }
    }

    /// The command `ev` means in `ctx`, if any.
    pub fn lookup(&self, ctx: Context, ev: &KeyEvent) -> Option<Command> {
        let k = Key::from_event(ev);
        self.bindings
            .iter()
            .find(|b| b.ctx == ctx && b.key == k)
            .map(|b| b.cmd)
    }

    /// The first command `ev` means in `ctxs`, asked in order.
    pub fn lookup_in(&self, ctxs: &[Context], ev: &KeyEvent) -> Option<Command> {
        ctxs.iter().find_map(|c| self.lookup(*c, ev))
    }

    /// The keys bound to `cmd` in `ctx`, as help shows them.
    pub fn keys_in(&self, ctx: Context, cmd: Command) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| b.ctx == ctx && b.cmd == cmd)
            .map(|b| b.key.label())
            .collect()
    }

    /// The keys bound to `cmd` anywhere.
    pub fn keys_for(&self, cmd: Command) -> Vec<String> {
        let mut v: Vec<String> = vec![];
        for b in self.bindings.iter().filter(|b| b.cmd == cmd) {
            let l = b.key.label();
            if !v.contains(&l) {
                v.push(l);
            }
        }
        v
    }

    /// The first key of `cmd` for hints ("S start"), or `-` when unbound.
    pub fn hint(&self, cmd: Command) -> String {
        self.keys_for(cmd)
            .into_iter()
            .next()
            .unwrap_or_else(|| "-".into())
    }

    /// The first key of `cmd` in `ctx`, or `-`.
    pub fn hint_in(&self, ctx: Context, cmd: Command) -> String {
        self.keys_in(ctx, cmd)
            .into_iter()
            .next()
            .unwrap_or_else(|| "-".into())
    }

    /// The hint bar for a stack of contexts: (key, command) of the bindings marked `hint`.
    pub fn hints(&self, ctxs: &[Context]) -> Vec<(String, Command)> {
        let mut out: Vec<(String, Command)> = vec![];
        for ctx in ctxs {
            for b in self.bindings.iter().filter(|b| b.ctx == *ctx && b.hint) {
                if out.iter().any(|(_, c)| *c == b.cmd) {
                    continue;
                }
                out.push((b.key.label(), b.cmd));
            }
        }
        out
    }

    /// Help: per context, (keys, command) in table order.
    pub fn help(&self) -> Vec<(Context, Vec<(String, Command)>)> {
        let mut out: Vec<(Context, Vec<(String, Command)>)> = vec![];
        for def in DEFAULTS {
            let keys = self.keys_in(def.ctx, def.cmd);
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.join(" ")
            };
            match out.iter_mut().find(|(c, _)| *c == def.ctx) {
                Some((_, rows)) => {
                    if !rows.iter().any(|(_, c)| *c == def.cmd) {
                        rows.push((keys, def.cmd))
                    }
                }
                None => out.push((def.ctx, vec![(keys, def.cmd)])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, mods, KeyEventKind::Press)
    }

    #[test]
    fn defaults_have_no_conflicts() {
        let km = Keymap::default();
        assert!(km.problems.is_empty(), "{:?}", km.problems);
        assert_eq!(
            km.lookup(
                Context::Global,
                &ev(KeyCode::Char('S'), KeyModifiers::SHIFT)
            ),
            Some(Command::StartSession)
        );
        assert_eq!(
            km.lookup(Context::Global, &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            km.lookup(
                Context::Global,
                &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Command::Quit)
        );
        // Every name round-trips.
        for c in Command::all() {
            assert_eq!(Command::from_name(&c.name()), Some(c), "{c:?}");
        }
    }

    #[test]
    fn remap_and_conflicts_are_reported() {
        let cfg: KeysConfig = toml::from_str(
            "note = \"b\"\nquit = [\"x\", \"ctrl-q\"]\nbogus = \"z\"\nhelp = \"ctrl-\"\nallow = \"y\"\n",
        )
        .unwrap();
        let km = Keymap::load(&cfg);
        let g = |c, m| km.lookup(Context::Global, &ev(c, m));
        assert_eq!(
            g(KeyCode::Char('b'), KeyModifiers::NONE),
            Some(Command::Note)
        );
        assert_eq!(g(KeyCode::Char('n'), KeyModifiers::NONE), None);
        assert_eq!(g(KeyCode::Char('q'), KeyModifiers::NONE), None);
        assert_eq!(
            g(KeyCode::Char('q'), KeyModifiers::CONTROL),
            Some(Command::Quit)
        );
        let all = km.problems.join("\n");
        assert!(all.contains("shadows the default of `belief`"), "{all}");
        assert!(all.contains("bogus: unknown command"), "{all}");
        assert!(all.contains("help"), "{all}");
        assert!(all.contains("allow: y types text"), "{all}");
        // The refused binding keeps the default.
        assert_eq!(
            km.lookup(
                Context::Release,
                &ev(KeyCode::Char('y'), KeyModifiers::CONTROL)
            ),
            Some(Command::Allow)
        );
        assert_eq!(km.keys_for(Command::Belief), Vec::<String>::new());
    }

    #[test]
    fn an_invalid_quit_key_keeps_the_default_quit_keys() {
        let cfg: KeysConfig =
            toml::from_str("quit = \"ctrl-\"\nnote = [\"N\", \"nope-x\"]\n").unwrap();
        let km = Keymap::load(&cfg);
        assert_eq!(
            km.lookup(Context::Global, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Command::Quit)
        );
        assert_eq!(
            km.lookup(
                Context::Global,
                &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Command::Quit)
        );
        // The valid half of a partly broken list is bound.
        assert_eq!(
            km.lookup(
                Context::Global,
                &ev(KeyCode::Char('N'), KeyModifiers::SHIFT)
            ),
            Some(Command::Note)
        );
        let all = km.problems.join("\n");
        assert!(
            all.contains("quit: no valid key given; keeping the default q, ctrl-c"),
            "{all}"
        );
        assert!(all.contains("nope-x"), "{all}");

        // Quit's only key taken by another command: quit gets its free defaults back.
        let cfg: KeysConfig = toml::from_str("help = \"x\"\nquit = \"x\"\n").unwrap();
        let km = Keymap::load(&cfg);
        assert_eq!(
            km.lookup(Context::Global, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Command::Quit),
            "{:?}",
            km.problems
        );
    }

    #[test]
    fn parse_labels_round_trip() {
        for s in [
            "q",
            "S",
            "?",
            "ctrl-c",
            "alt-x",
            "shift-tab",
            "enter",
            "space",
            "f5",
            "ctrl-_",
            "alt-_",
            "ctrl-left",
        ] {
            let k = Key::parse(s).unwrap();
            assert_eq!(Key::parse(&k.label()).unwrap(), k, "{s}");
        }
        assert_eq!(Key::parse("shift-s").unwrap(), Key::parse("S").unwrap());
        assert!(Key::parse("hello").is_err());
        assert!(Key::parse("ctrl-").is_err());
    }
}

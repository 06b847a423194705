//! Keys → commands. The one place that knows which key does what: the help popup and the footer
//! hints are generated from it, and the user remaps it in `$XDG_CONFIG_HOME/patina/config.toml`:
//!
//! ```toml
//! [keys]
//! note = "N"                 # replaces the default key(s) of `note`
//! belief = ["b", "ctrl-b"]   # several keys
//! mouse = []                 # unbound
//! ```
//!
//! Conflicts (two commands on one key) are reported when the map is loaded; the user's binding
//! wins over a default, and between two user bindings the first command in help order wins.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// Everything a key can do outside a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    Help,
    Quit,
    FocusNext,
    FocusPrev,
    StartSession,
    EndSession,
    Note,
    Belief,
    Goal,
    ToggleGoal,
    Update,
    Scry,
    ScryScope,
    Open,
    Edit,
    Recover,
    LockSecrets,
    NextTheme,
    Mouse,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Suspend,
    Back,
}

impl Command {
    /// Help order.
    pub const ALL: [Command; 27] = [
        Command::Help,
        Command::Quit,
        Command::FocusNext,
        Command::FocusPrev,
        Command::StartSession,
        Command::EndSession,
        Command::Note,
        Command::Belief,
        Command::Goal,
        Command::ToggleGoal,
        Command::Update,
        Command::Scry,
        Command::ScryScope,
        Command::Open,
        Command::Edit,
        Command::Recover,
        Command::LockSecrets,
        Command::NextTheme,
        Command::Mouse,
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::Suspend,
        Command::Back,
    ];

    /// The name used in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::Quit => "quit",
            Command::FocusNext => "focus-next",
            Command::FocusPrev => "focus-prev",
            Command::StartSession => "start-session",
            Command::EndSession => "end-session",
            Command::Note => "note",
            Command::Belief => "belief",
            Command::Goal => "goal",
            Command::ToggleGoal => "toggle-goal",
            Command::Update => "update",
            Command::Scry => "scry",
            Command::ScryScope => "scry-scope",
            Command::Open => "open",
            Command::Edit => "edit",
            Command::Recover => "recover",
            Command::LockSecrets => "lock-secrets",
            Command::NextTheme => "next-theme",
            Command::Mouse => "mouse",
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page-up",
            Command::PageDown => "page-down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::Suspend => "suspend",
            Command::Back => "back",
        }
    }

    /// One line for the help popup.
    pub fn describe(self) -> &'static str {
        match self {
            Command::Help => "this help",
            Command::Quit => "quit (the session stays active)",
            Command::FocusNext => "focus the next pane",
            Command::FocusPrev => "focus the previous pane",
            Command::StartSession => "start a session",
            Command::EndSession => "end the session (preview, then confirm)",
            Command::Note => "add a note to the activity log",
            Command::Belief => "capture a belief",
            Command::Goal => "add a goal",
            Command::ToggleGoal => "toggle the selected goal",
            Command::Update => "write an update entry (git activity)",
            Command::Scry => "search (type; Esc leaves the input)",
            Command::ScryScope => "scry scope: this project / all registered projects",
            Command::Open => "open the selection",
            Command::Edit => "open the selection in $EDITOR",
            Command::Recover => "recover a stale or crashed session",
            Command::LockSecrets => "lock unlocked secrets now",
            Command::NextTheme => "next theme",
            Command::Mouse => "mouse on/off",
            Command::Up => "move up",
            Command::Down => "move down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first item",
            Command::Bottom => "last item (activity: follow)",
            Command::Suspend => "suspend to the shell (fg to return)",
            Command::Back => "close popup / leave input",
        }
    }

    fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Command::Help => &["?"],
            Command::Quit => &["q", "ctrl-c"],
            Command::FocusNext => &["tab"],
            Command::FocusPrev => &["shift-tab"],
            Command::StartSession => &["S"],
            Command::EndSession => &["E"],
            Command::Note => &["n"],
            Command::Belief => &["b"],
            Command::Goal => &["g"],
            Command::ToggleGoal => &["space"],
            Command::Update => &["u"],
            Command::Scry => &["/"],
            Command::ScryScope => &["A"],
            Command::Open => &["enter"],
            Command::Edit => &["o"],
            Command::Recover => &["R"],
            Command::LockSecrets => &["L"],
            Command::NextTheme => &["t"],
            Command::Mouse => &["m"],
            Command::Up => &["up", "k"],
            Command::Down => &["down", "j"],
            Command::PageUp => &["pageup"],
            Command::PageDown => &["pagedown"],
            Command::Top => &["home"],
            Command::Bottom => &["end", "G"],
            Command::Suspend => &["ctrl-z"],
            Command::Back => &["esc"],
        }
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
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
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

    /// How help shows the key.
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
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::PageUp => s.push_str("pgup"),
            KeyCode::PageDown => s.push_str("pgdn"),
            KeyCode::Insert => s.push_str("insert"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            _ => s.push('?'),
        }
        s
    }
}

struct Bindings(Vec<(Key, Command)>);

impl Bindings {
    fn get(&self, k: &Key) -> Option<&Command> {
        self.0.iter().find(|(b, _)| b == k).map(|(_, c)| c)
    }
    fn insert(&mut self, k: Key, c: Command) {
        self.0.push((k, c));
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

/// The resolved map.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// In binding order (help lists keys in this order).
    bindings: Vec<(Key, Command)>,
    /// What is wrong with the user's `[keys]`, one line per problem.
    pub problems: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::load(&KeysConfig::default())
    }
}

impl Keymap {
    /// Defaults with the user's bindings applied; see the module docs for conflict rules.
    pub fn load(cfg: &KeysConfig) -> Keymap {
        let mut problems = vec![];
        let mut user: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for (name, spec) in &cfg.0 {
            let Some(cmd) = Command::from_name(name) else {
                problems.push(format!(
                    "[keys] {name}: unknown command (known: {})",
                    Command::ALL.map(|c| c.name()).join(", ")
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
                    cmd.defaults().join(", ")
                ));
                continue;
            }
            user.insert(cmd, keys);
        }
        let mut bindings = Bindings(vec![]);
        // User bindings first, in help order.
        for cmd in Command::ALL {
            if let Some(keys) = user.get(&cmd) {
                for k in keys {
                    match bindings.get(k) {
                        Some(other) if *other != cmd => problems.push(format!(
                            "[keys] {} is bound to both `{}` and `{}`; `{}` keeps it",
                            k.label(),
                            other.name(),
                            cmd.name(),
                            other.name()
                        )),
                        _ => {
                            bindings.insert(*k, cmd);
                        }
                    }
                }
            }
        }
        // Then defaults of commands the user did not rebind, where the key is still free.
        for cmd in Command::ALL {
            if user.contains_key(&cmd) {
                continue;
            }
            for s in cmd.defaults() {
                let k = Key::parse(s).expect("default keys parse");
                match bindings.get(&k) {
                    Some(other) => problems.push(format!(
                        "[keys] {} of `{}` shadows the default of `{}`; `{}` now has no {} key",
                        k.label(),
                        other.name(),
                        cmd.name(),
                        cmd.name(),
                        k.label()
                    )),
                    None => {
                        bindings.insert(k, cmd);
                    }
                }
            }
        }
        // Quit must stay reachable whatever the user's map did to it (a conflict can take its
        // only key): give back its free defaults.
        if !bindings.0.iter().any(|(_, c)| *c == Command::Quit) {
            for s in Command::Quit.defaults() {
                let k = Key::parse(s).expect("default keys parse");
                if bindings.get(&k).is_none() {
                    bindings.insert(k, Command::Quit);
                    problems.push(format!(
                        "[keys] `quit` had no key left; {} quits",
                        k.label()
                    ));
                }
            }
        }
        Keymap {
            bindings: bindings.0,
            problems,
        }
    }

    pub fn command(&self, ev: &KeyEvent) -> Option<Command> {
        let k = Key::from_event(ev);
        self.bindings.iter().find(|(b, _)| *b == k).map(|(_, c)| *c)
    }

    /// The keys bound to `cmd`, as help shows them.
    pub fn keys_for(&self, cmd: Command) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(_, c)| *c == cmd)
            .map(|(k, _)| k.label())
            .collect()
    }

    /// The first key of `cmd` for hints ("S start"), or `-` when unbound.
    pub fn hint(&self, cmd: Command) -> String {
        let keys = self.keys_for(cmd);
        // Prefer the default's first key when it is still bound, so hints stay familiar.
        for d in cmd.defaults() {
            if let Ok(k) = Key::parse(d)
                && self.bindings.iter().any(|(b, c)| *b == k && *c == cmd)
            {
                return k.label();
            }
        }
        keys.into_iter().next().unwrap_or_else(|| "-".into())
    }

    /// Help lines: (keys, command name, description), in help order.
    pub fn help(&self) -> Vec<(String, &'static str, &'static str)> {
        Command::ALL
            .into_iter()
            .map(|c| {
                let keys = self.keys_for(c);
                let keys = if keys.is_empty() {
                    "(unbound)".to_string()
                } else {
                    keys.join(" ")
                };
                (keys, c.name(), c.describe())
            })
            .collect()
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
            km.command(&ev(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Command::StartSession)
        );
        assert_eq!(
            km.command(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            km.command(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
    }

    #[test]
    fn remap_and_conflicts_are_reported() {
        let cfg: KeysConfig = toml::from_str(
            "note = \"b\"\nquit = [\"x\", \"ctrl-q\"]\nbogus = \"z\"\nhelp = \"ctrl-\"\n",
        )
        .unwrap();
        let km = Keymap::load(&cfg);
        assert_eq!(
            km.command(&ev(KeyCode::Char('b'), KeyModifiers::NONE)),
            Some(Command::Note)
        );
        assert_eq!(
            km.command(&ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.command(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.command(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        let all = km.problems.join("\n");
        assert!(all.contains("shadows the default of `belief`"), "{all}");
        assert!(all.contains("bogus: unknown command"), "{all}");
        assert!(all.contains("help"), "{all}");
        assert_eq!(km.keys_for(Command::Belief), Vec::<String>::new());
    }

    #[test]
    fn an_invalid_quit_key_keeps_the_default_quit_keys() {
        let cfg: KeysConfig =
            toml::from_str("quit = \"ctrl-\"\nnote = [\"N\", \"nope-x\"]\n").unwrap();
        let km = Keymap::load(&cfg);
        assert_eq!(
            km.command(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Command::Quit)
        );
        assert_eq!(
            km.command(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        // The valid half of a partly broken list is bound.
        assert_eq!(
            km.command(&ev(KeyCode::Char('N'), KeyModifiers::SHIFT)),
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
            km.command(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
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
        ] {
            let k = Key::parse(s).unwrap();
            assert_eq!(Key::parse(&k.label()).unwrap(), k, "{s}");
        }
        assert_eq!(Key::parse("shift-s").unwrap(), Key::parse("S").unwrap());
        assert!(Key::parse("hello").is_err());
    }
}

//! Themes: semantic roles (text, accent, error, selection...) mapped to colors.
//!
//! The shipped themes live in `themes/*.toml` and are embedded in the binary; a file of the same
//! name in `$XDG_CONFIG_HOME/patina/themes/` overrides one, a new name adds one. A user theme may
//! set only some roles and take the rest from `inherits` (default: the shipped theme of the same
//! name, else `dark`). Render code asks for roles, never for colors.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The shipped themes, in the order `t` cycles through them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Every role a theme defines.
pub const ROLES: &[&str] = &[
    "background",
    "text",
    "dim",
    "accent",
    "title",
    "border",
    "border_focus",
    "selection_fg",
    "selection_bg",
    "ok",
    "warn",
    "error",
    "info",
    "key",
    "sha",
    "popup_border",
    "popup_bg",
    "status_fg",
    "status_bg",
    "input_bg",
];

/// A resolved theme: one color per role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub background: Color,
    pub text: Color,
    pub dim: Color,
    pub accent: Color,
    pub title: Color,
    pub border: Color,
    pub border_focus: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub info: Color,
    pub key: Color,
    pub sha: Color,
    pub popup_border: Color,
    pub popup_bg: Color,
    pub status_fg: Color,
    pub status_bg: Color,
    pub input_bg: Color,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, String>,
}

impl Theme {
    /// The base style of the screen.
    pub fn base(&self) -> Style {
        Style::default().fg(self.text).bg(self.background)
    }
    pub fn dim(&self) -> Style {
        Style::default().fg(self.dim)
    }
    pub fn fg(&self, c: Color) -> Style {
        Style::default().fg(c)
    }
    pub fn selected(&self) -> Style {
        Style::default()
            .fg(self.selection_fg)
            .bg(self.selection_bg)
            .add_modifier(Modifier::BOLD)
    }
    pub fn title(&self) -> Style {
        Style::default().fg(self.title).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            Style::default().fg(self.border_focus)
        } else {
            Style::default().fg(self.border)
        }
    }

    /// The shipped `dark` theme (always valid: a unit test parses every shipped theme).
    pub fn fallback() -> Theme {
        parse(BUILTIN[0].1, None, "themes/dark.toml").expect("shipped dark theme parses")
    }

    fn set(&mut self, role: &str, color: Color) -> bool {
        let slot = match role {
            "background" => &mut self.background,
            "text" => &mut self.text,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "title" => &mut self.title,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "selection_fg" => &mut self.selection_fg,
            "selection_bg" => &mut self.selection_bg,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "error" => &mut self.error,
            "info" => &mut self.info,
            "key" => &mut self.key,
            "sha" => &mut self.sha,
            "popup_border" => &mut self.popup_border,
            "popup_bg" => &mut self.popup_bg,
            "status_fg" => &mut self.status_fg,
            "status_bg" => &mut self.status_bg,
            "input_bg" => &mut self.input_bg,
            _ => return false,
        };
        *slot = color;
        true
    }
}

/// Parse a theme file. `base` supplies roles the file leaves out; without a base every role is
/// required. `origin` names the file in errors.
fn parse(text: &str, base: Option<&Theme>, origin: &str) -> Result<Theme> {
    let file: ThemeFile =
        toml::from_str(text).with_context(|| format!("{origin}: invalid theme"))?;
    let mut theme = match base {
        Some(b) => b.clone(),
        None => {
            if let Some(missing) = ROLES.iter().find(|r| !file.roles.contains_key(**r)) {
                bail!("{origin}: role `{missing}` is missing");
            }
            blank()
        }
    };
    for (role, value) in &file.roles {
        let color = Color::from_str(value.trim())
            .map_err(|_| anyhow!("{origin}: role `{role}`: {value:?} is not a color (a name like `red`, an index 0-255 or #rrggbb)"))?;
        if !theme.set(role, color) {
            bail!(
                "{origin}: unknown role `{role}` (known: {})",
                ROLES.join(", ")
            );
        }
    }
    if let Some(n) = file.name {
        theme.name = n;
    }
    Ok(theme)
}

fn blank() -> Theme {
    let c = Color::Reset;
    Theme {
        name: String::new(),
        background: c,
        text: c,
        dim: c,
        accent: c,
        title: c,
        border: c,
        border_focus: c,
        selection_fg: c,
        selection_bg: c,
        ok: c,
        warn: c,
        error: c,
        info: c,
        key: c,
        sha: c,
        popup_border: c,
        popup_bg: c,
        status_fg: c,
        status_bg: c,
        input_bg: c,
    }
}

/// The themes available: the shipped ones (overridden by user files of the same name), then user
/// themes with new names, sorted. Problems with user files are returned, not fatal: a broken
/// user theme must not keep the cockpit from opening.
pub fn load_all(user_dir: &Path) -> (Vec<Theme>, Vec<String>) {
    let mut problems = vec![];
    let mut themes: Vec<Theme> = BUILTIN
        .iter()
        .map(|(name, text)| {
            parse(text, None, &format!("themes/{name}.toml")).expect("shipped themes parse")
        })
        .collect();
    let mut extra = vec![];
    let entries = match std::fs::read_dir(user_dir) {
        Ok(e) => e.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => vec![],
    };
    let mut paths: Vec<_> = entries
        .into_iter()
        .filter(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match load_user(&path, &stem, &themes) {
            Ok(theme) => match themes.iter_mut().find(|t| t.name == stem) {
                Some(slot) => *slot = theme,
                None => extra.push(theme),
            },
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    themes.extend(extra);
    (themes, problems)
}

fn load_user(path: &Path, stem: &str, shipped: &[Theme]) -> Result<Theme> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // Bad TOML, an unknown key or a wrong type: named with the file, line or key, and value.
    let file: ThemeFile = crate::config_file::TomlFile::parse(path, &text)?.decode_all()?;
    let base_name = file.inherits.as_deref().unwrap_or(stem);
    let base = shipped
        .iter()
        .find(|t| t.name == base_name)
        .or_else(|| {
            if file.inherits.is_none() {
                shipped.first()
            } else {
                None
            }
        })
        .ok_or_else(|| anyhow!("{}: inherits unknown theme `{base_name}`", path.display()))?;
    let mut theme = parse(&text, Some(base), &path.display().to_string())?;
    theme.name = stem.to_string();
    Ok(theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_define_every_role() {
        for (name, text) in BUILTIN {
            let t = parse(text, None, name).unwrap();
            assert_eq!(&t.name, name);
        }
    }

    #[test]
    fn user_theme_overrides_and_inherits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dark.toml"),
            "[roles]\naccent = \"#010203\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "inherits = \"light\"\n[roles]\nerror = \"red\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.toml"), "[roles]\nnope = \"red\"\n").unwrap();
        let (themes, problems) = load_all(dir.path());
        let dark = themes.iter().find(|t| t.name == "dark").unwrap();
        assert_eq!(dark.accent, Color::Rgb(1, 2, 3));
        let mine = themes.iter().find(|t| t.name == "mine").unwrap();
        assert_eq!(mine.error, Color::Red);
        assert_eq!(mine.background, themes[1].background);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("unknown role `nope`"), "{problems:?}");
    }

    #[test]
    fn bad_color_names_role_and_value() {
        let err = parse(
            "[roles]\ntext = \"blurple\"\n",
            Some(&Theme::fallback()),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("text") && err.contains("blurple"), "{err}");
    }

    #[test]
    fn a_broken_user_theme_names_file_key_and_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "inherit = \"light\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "[roles\n").unwrap();
        std::fs::write(dir.path().join("c.toml"), "name = 7\n").unwrap();
        let (_, problems) = load_all(dir.path());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("a.toml") && problems[0].contains("inherit"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("b.toml: invalid TOML at line 1"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("c.toml: name:") && problems[2].contains("(value: 7)"),
            "{problems:?}"
        );
    }
}

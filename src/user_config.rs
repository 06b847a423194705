//! `$XDG_CONFIG_HOME/patina/config.toml`: per-user settings (keymap, theme, TUI, secrets policy,
//! daemon limits). Like the project config, each area reads its own section.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    table: toml::Table,
    path: PathBuf,
}

impl UserConfig {
    /// Load the user's config; missing is empty, malformed is an error naming the file.
    pub fn load() -> Result<UserConfig> {
        let path = crate::paths::user_config_dir().join("config.toml");
        let table = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("{}: invalid TOML", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(UserConfig { table, path })
    }

    /// Deserialize section `name` (default when absent); errors name the file and section.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(v) => v
                .clone()
                .try_into()
                .with_context(|| format!("{}: invalid [{name}] section", self.path.display())),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

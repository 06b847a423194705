//! `$XDG_CONFIG_HOME/patina/config.toml`: per-user settings (keymap, theme, TUI, secrets policy,
//! daemon limits). Like the project config, each area reads its own section, and a bad value is an
//! error naming the file, key and value (exit 2), never a silent default.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::de::DeserializeOwned;

use crate::config_file::TomlFile;
use crate::error::Error;

#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    file: TomlFile,
}

impl UserConfig {
    /// Load the user's config; missing is empty, malformed is an error naming the file and line.
    pub fn load() -> Result<UserConfig> {
        Ok(UserConfig {
            file: TomlFile::load(&Self::default_path())?,
        })
    }

    /// `$XDG_CONFIG_HOME/patina/config.toml`
    pub fn default_path() -> PathBuf {
        crate::paths::user_config_dir().join("config.toml")
    }

    /// Deserialize section `name` (default when absent); errors name the file, key and value.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        Ok(self.file.section(name)?)
    }

    /// Section `name` as a raw table, for areas that judge entry by entry (the keymap keeps
    /// every valid binding of a partly broken `[keys]`). A non-table is an error.
    pub fn table(&self, name: &str) -> Result<Option<&toml::Table>, Error> {
        match self.file.get(name) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(t)),
            Some(other) => Err(self.invalid(
                name,
                format!("must be a table like [{name}] (value: {other})"),
            )),
        }
    }

    /// Decode one value found at `key` (a full key path such as `keys.quit`).
    pub fn decode<T: DeserializeOwned>(&self, key: &str, value: &toml::Value) -> Result<T, Error> {
        self.file.decode(key, value)
    }

    /// An invalid-input error about `key` of this file.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> Error {
        Error::invalid_input(message)
            .in_file(self.file.path())
            .at_field(key)
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

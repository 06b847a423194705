//! `.patina/config.toml`, the tracked project configuration.
//!
//! Each domain owns its own section and reads it with [`ProjectConfig::section`], so adding a
//! setting never means touching a central struct. Unknown keys are kept as they are: patina only
//! ever edits the file with `toml_edit`, which preserves the user's comments and layout.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    table: toml::Table,
}

impl ProjectConfig {
    /// Load the file; a missing file is an empty config, a malformed one is an error naming it.
    pub fn load(path: &Path) -> Result<ProjectConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))?;
        Ok(ProjectConfig { table })
    }

    /// Deserialize section `name` into `T` (`T::default()` when the section is absent). The error
    /// names the section and the offending field.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(v) => v
                .clone()
                .try_into()
                .with_context(|| format!(".patina/config.toml: invalid [{name}] section")),
        }
    }

    /// A top-level value, for the few settings that live outside a section
    /// (e.g. `transcripts = false`).
    pub fn top_level(&self, key: &str) -> Option<&toml::Value> {
        self.table.get(key)
    }

    /// The project's default agent: `[project] llm`, else the keys older patina versions wrote
    /// (`[interfaces] default`, then `[adapters] default`).
    pub fn llm(&self) -> Option<&str> {
        self.llm_with_source().map(|(_, v)| v)
    }

    /// The default agent and the key it was read from (`project.llm`, `interfaces.default`,
    /// `adapters.default`).
    pub fn llm_with_source(&self) -> Option<(&'static str, &str)> {
        const KEYS: [(&str, &str, &str); 3] = [
            ("project", "llm", "project.llm"),
            ("interfaces", "default", "interfaces.default"),
            ("adapters", "default", "adapters.default"),
        ];
        KEYS.iter().find_map(|(section, key, label)| {
            self.table
                .get(*section)
                .and_then(|t| t.get(*key))
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (*label, v))
        })
    }

    /// `[project] sessions_dir`, relative to the root.
    pub fn sessions_dir(&self) -> Option<&str> {
        self.project_str("sessions_dir")
    }

    fn project_str(&self, key: &str) -> Option<&str> {
        self.table
            .get("project")
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_str())
    }
}

//! `.patina/config.toml`, the tracked project configuration.
//!
//! Each domain owns its own section and reads it with [`ProjectConfig::section`], so adding a
//! setting never means touching a central struct. Unknown keys are kept as they are: patina only
//! ever edits the file with `toml_edit`, which preserves the user's comments and layout. A value
//! of the wrong type or an unknown enum value is an error naming the file, key and value
//! (exit 2), never a silent default.

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config_file::TomlFile;
use crate::error::Error;

#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    file: TomlFile,
    project: ProjectSection,
}

fn nonempty(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|v| !v.is_empty())
}

/// `[project]`, read by [`Project`](super::Project) itself.
#[derive(Debug, Clone, Default, Deserialize)]
struct ProjectSection {
    llm: Option<String>,
    sessions_dir: Option<String>,
}

impl ProjectConfig {
    /// Load the file; a missing file is an empty config, a malformed one (bad TOML, a wrong
    /// `[project]` value) is an error naming it.
    pub fn load(path: &Path) -> Result<ProjectConfig> {
        let file = TomlFile::load(path)?;
        let project = file.section("project")?;
        Ok(ProjectConfig { file, project })
    }

    /// Deserialize section `name` into `T` (`T::default()` when the section is absent). The error
    /// names the file, the key and the offending value.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        Ok(self.file.section(name)?)
    }

    /// A top-level value, for the few settings that live outside a section
    /// (e.g. `transcripts = false`).
    pub fn top_level(&self, key: &str) -> Option<&toml::Value> {
        self.file.get(key)
    }

    /// Decode the top-level `key` into `T` (`None` when absent); errors as for [`Self::section`].
    pub fn decode_top_level<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.file
            .get(key)
            .map(|v| self.file.decode(key, v))
            .transpose()
    }

    /// An invalid-input error about `key` of this file, for checks serde cannot express.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> Error {
        Error::invalid_input(message)
            .in_file(self.file.path())
            .at_field(key)
    }

    /// The project's default agent: `[project] llm`, else the keys older patina versions wrote
    /// (`[interfaces] default`, then `[adapters] default`).
    pub fn llm(&self) -> Option<&str> {
        self.llm_with_source().map(|(_, v)| v)
    }

    /// The default agent and the key it was read from (`project.llm`, else the legacy
    /// `interfaces.default`, `adapters.default`).
    pub fn llm_with_source(&self) -> Option<(&'static str, &str)> {
        if let Some(v) = self.project.llm.as_deref().and_then(nonempty) {
            return Some(("project.llm", v));
        }
        const LEGACY: [(&str, &str, &str); 2] = [
            ("interfaces", "default", "interfaces.default"),
            ("adapters", "default", "adapters.default"),
        ];
        LEGACY.iter().find_map(|(section, key, label)| {
            self.file
                .get(section)
                .and_then(|t| t.get(*key))
                .and_then(|v| v.as_str())
                .and_then(nonempty)
                .map(|v| (*label, v))
        })
    }

    /// `[project] sessions_dir`, relative to the root.
    pub fn sessions_dir(&self) -> Option<&str> {
        self.project.sessions_dir.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, kind_of};

    #[test]
    fn a_wrong_project_value_is_an_error_naming_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[project]\nsessions_dir = 5\n").unwrap();
        let e = ProjectConfig::load(&path).unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::InvalidInput);
        let msg = format!("{e:#}");
        assert!(msg.contains("config.toml: project.sessions_dir:"), "{msg}");
        assert!(msg.contains("(value: 5)"), "{msg}");

        std::fs::write(&path, "[project]\nllm = \"codex\"\n").unwrap();
        assert_eq!(ProjectConfig::load(&path).unwrap().llm(), Some("codex"));
        assert!(
            ProjectConfig::load(&dir.path().join("none.toml"))
                .unwrap()
                .llm()
                .is_none()
        );
    }
}

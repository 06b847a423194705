//! `[secrets]` in the user config: cache lifetimes and the release policy.
//!
//! ```toml
//! [secrets]
//! ttl_secs = 600              # sliding: each release extends it (1 ..= max_ttl_secs)
//! max_ttl_secs = 7200         # absolute cap from unlock (1 ..= 604800)
//! confirm = "first"           # never | first | always: ask in the cockpit before a release
//! confirm_timeout_secs = 60   # no answer in time → refused (1 ..= 600)
//! allow_project_env = []      # variables a committed project vault may set anyway (see envguard)
//! ```

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::user_config::UserConfig;

pub const DEFAULT_TTL_SECS: u64 = 600;
pub const DEFAULT_MAX_TTL_SECS: u64 = 7200;
/// Upper bound for any lifetime: a week. Keeps every Instant + Duration far from overflow.
pub const LIMIT_SECS: u64 = 7 * 24 * 3600;
pub const DEFAULT_CONFIRM_TIMEOUT_SECS: u64 = 60;

/// When a release waits for a y/n in the cockpit (only when a cockpit is attached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmPolicy {
    /// Never ask.
    Never,
    /// Ask for the first release from each unlocked vault; later ones go through.
    #[default]
    First,
    /// Ask for every release.
    Always,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    ttl_secs: Option<u64>,
    max_ttl_secs: Option<u64>,
    confirm: Option<ConfirmPolicy>,
    confirm_timeout_secs: Option<u64>,
    allow_project_env: Option<Vec<String>>,
}

/// Effective settings, clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecretsConfig {
    pub ttl_secs: u64,
    pub max_ttl_secs: u64,
    pub confirm: ConfirmPolicy,
    pub confirm_timeout_secs: u64,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig::clamped(None, None, None, None)
    }
}

impl SecretsConfig {
    pub fn load() -> Result<SecretsConfig> {
        let s: Section = UserConfig::load()?.section("secrets")?;
        Ok(SecretsConfig::clamped(
            s.ttl_secs,
            s.max_ttl_secs,
            s.confirm,
            s.confirm_timeout_secs,
        ))
    }

    fn clamped(
        ttl: Option<u64>,
        max: Option<u64>,
        confirm: Option<ConfirmPolicy>,
        timeout: Option<u64>,
    ) -> SecretsConfig {
        let max_ttl_secs = max.unwrap_or(DEFAULT_MAX_TTL_SECS).clamp(1, LIMIT_SECS);
        let ttl_secs = ttl.unwrap_or(DEFAULT_TTL_SECS).clamp(1, max_ttl_secs);
        SecretsConfig {
            ttl_secs,
            max_ttl_secs,
            confirm: confirm.unwrap_or_default(),
            confirm_timeout_secs: timeout
                .unwrap_or(DEFAULT_CONFIRM_TIMEOUT_SECS)
                .clamp(1, 600),
        }
    }

    /// `[secrets] allow_project_env`: variables the user lets a project vault release into even
    /// though they change how programs run (each must be a valid variable name).
    pub fn allowed_project_env() -> Result<std::collections::BTreeSet<String>> {
        let s: Section = UserConfig::load()?.section("secrets")?;
        let list = s.allow_project_env.unwrap_or_default();
        for v in &list {
            super::names::validate_env(v).map_err(|e| {
                anyhow::anyhow!("[secrets] allow_project_env in the user config: {e}")
            })?;
        }
        Ok(list.into_iter().collect())
    }

    /// A requested TTL (e.g. `unlock --ttl`), clamped to 1 ..= max_ttl_secs.
    pub fn ttl_for(&self, requested: Option<u64>) -> Duration {
        Duration::from_secs(
            requested
                .unwrap_or(self.ttl_secs)
                .clamp(1, self.max_ttl_secs),
        )
    }

    pub fn max_ttl(&self) -> Duration {
        Duration::from_secs(self.max_ttl_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_without_overflow() {
        let c = SecretsConfig::clamped(Some(u64::MAX), Some(u64::MAX), None, Some(0));
        assert_eq!(c.max_ttl_secs, LIMIT_SECS);
        assert_eq!(c.ttl_secs, LIMIT_SECS);
        assert_eq!(c.confirm_timeout_secs, 1);
        let c = SecretsConfig::clamped(Some(0), Some(10), None, None);
        assert_eq!((c.ttl_secs, c.max_ttl_secs), (1, 10));
        assert_eq!(c.ttl_for(Some(u64::MAX)), Duration::from_secs(10));
        let d = SecretsConfig::default();
        assert_eq!((d.ttl_secs, d.max_ttl_secs), (600, 7200));
    }
}

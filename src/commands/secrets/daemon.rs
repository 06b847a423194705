//! The daemon side of `secrets` commands, through the typed client (Unix socket only).
//!
//! Placeholder until the daemon's client lands: no daemon is ever found, so every command works
//! in-process and `unlock` reports the daemon as unavailable.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::output::CmdError;
use crate::secrets::{Requester, SecretValue, Unlocked, cache::VaultStatus};

pub struct Daemon {
    _private: (),
}

impl Daemon {
    /// A running daemon that answers on the socket, if any (never started from here).
    pub fn connect() -> Option<Daemon> {
        None
    }

    /// The daemon, started in the background when none answers.
    pub fn ensure_running() -> Result<Daemon> {
        Err(CmdError::unavailable("the daemon is not available in this build").into())
    }

    pub fn cache(&self, _u: &Unlocked, _ttl_secs: u64) -> Result<()> {
        Ok(())
    }

    /// `Ok(None)` when the vault is not cached (locked, expired, changed): decrypt in-process.
    pub fn resolve(
        &self,
        _vault_id: &str,
        _names: &[String],
        _requester: &Requester,
        _project: Option<&Path>,
    ) -> Result<Option<BTreeMap<String, SecretValue>>> {
        Ok(None)
    }

    pub fn lock(&self, _vault_id: Option<&str>) -> Result<()> {
        Ok(())
    }

    pub fn status(&self) -> Result<Vec<VaultStatus>> {
        Ok(vec![])
    }
}

/// Best effort: drop a vault id the daemon may hold (the vault just changed).
pub fn forget(vault_id: &str) {
    if vault_id.is_empty() {
        return;
    }
    if let Some(d) = Daemon::connect() {
        let _ = d.lock(Some(vault_id));
    }
}

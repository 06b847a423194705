//! The daemon side of `secrets` commands, through the typed client (Unix socket only).
//!
//! Placeholder until the daemon's client lands: no daemon is ever found, so every command works
//! in-process and `unlock` reports the daemon as unavailable.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::output::CmdError;
use crate::secrets::{Requester, SecretValue, Unlocked, cache::VaultStatus};

/// What the daemon holds (names and TTLs only) and how it releases.
pub struct DaemonView {
    pub vaults: Vec<VaultStatus>,
    pub confirm: String,
    pub cockpit_attached: bool,
}

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

    pub fn lock(&self, _vault_id: Option<&str>) -> Result<usize> {
        Ok(0)
    }

    pub fn status(&self) -> Result<DaemonView> {
        Ok(DaemonView {
            vaults: vec![],
            confirm: String::new(),
            cockpit_attached: false,
        })
    }
}

/// Best effort: drop a vault id the daemon may hold (the vault just changed). True when the
/// daemon had it cached.
pub fn forget(vault_id: &str) -> bool {
    if vault_id.is_empty() {
        return false;
    }
    match Daemon::connect() {
        Some(d) => d.lock(Some(vault_id)).unwrap_or(0) > 0,
        None => false,
    }
}

//! The daemon side of `secrets` commands, through the typed client (Unix socket only; the client
//! never sends `/secrets/*` over TCP).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use zeroize::Zeroizing;

use crate::client::{self, Client, ClientError};
use crate::error::Error;
use crate::proto::secrets as p;
use crate::secrets::cache::VaultStatus;
use crate::secrets::{Requester, SecretValue, SecretsConfig, Unlocked};

/// What the daemon holds (names and TTLs only) and how it releases.
pub struct DaemonView {
    pub vaults: Vec<VaultStatus>,
    pub confirm: String,
    pub cockpit_attached: bool,
}

pub struct Daemon {
    client: Client,
}

fn client_err(e: ClientError) -> anyhow::Error {
    e.into_error().into()
}

impl Daemon {
    /// A running daemon that answers on the socket, if any (never started from here): the
    /// backend's one "is a daemon there" check. Secrets never fall back *for the cache* — an
    /// unlock lives only in the daemon — so this is all they take from `crate::backend`.
    pub fn connect() -> Option<Daemon> {
        crate::backend::running_daemon().map(|client| Daemon { client })
    }

    /// The daemon, started in the background when none answers.
    pub fn ensure_running() -> Result<Daemon> {
        let client = client::ensure_running(Duration::from_secs(15)).map_err(client_err)?;
        Ok(Daemon { client })
    }

    pub fn cache(&self, u: &Unlocked, ttl_secs: u64) -> Result<()> {
        let req = p::CacheRequest {
            vault_id: u.vault_id.clone(),
            secrets: u
                .values
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        p::WireSecret(Zeroizing::new(v.expose().to_string())),
                    )
                })
                .collect(),
            env: u
                .entries
                .iter()
                .map(|e| (e.name.clone(), e.env.clone()))
                .collect(),
            vault_path: Some(u.paths.vault.display().to_string()),
            ttl_secs: Some(ttl_secs),
        };
        self.client.secrets_cache(&req).map_err(client_err)?;
        Ok(())
    }

    /// `Ok(None)` when the vault is not cached (locked, expired, changed) or the daemon went
    /// away: decrypt in-process. A refusal in the cockpit is an error (no fallback).
    pub fn resolve(
        &self,
        vault_id: &str,
        names: &[String],
        requester: &Requester,
        project: Option<&Path>,
    ) -> Result<Option<BTreeMap<String, SecretValue>>> {
        if names.is_empty() {
            return Ok(Some(BTreeMap::new()));
        }
        let cfg = SecretsConfig::load()?;
        // The daemon may wait for the cockpit's y/n: cover its whole window.
        let c = self
            .client
            .clone()
            .with_timeout(Duration::from_secs(cfg.confirm_timeout_secs + 10));
        let req = p::ResolveRequest {
            vault_id: vault_id.to_string(),
            names: names.to_vec(),
            requester: p::Requester {
                pid: requester.pid,
                command: requester.command.clone(),
                cwd: None,
            },
            project: project.map(|p| p.display().to_string()),
        };
        match c.secrets_resolve(&req) {
            Ok(a) => {
                let mut out = BTreeMap::new();
                for (k, v) in a.env {
                    out.insert(k, SecretValue::new(v.0)?);
                }
                Ok(Some(out))
            }
            // 423: not unlocked in the daemon (locked, expired or changed): decrypt here instead.
            Err(e) if e.status() == Some(423) || e.is_not_running() => Ok(None),
            Err(e) if e.status() == Some(403) => Err(Error::denied(format!(
                "release refused: {}",
                match &e {
                    ClientError::Status { message, .. } => message.clone(),
                    other => other.to_string(),
                }
            ))
            .into()),
            Err(e) => Err(client_err(e)),
        }
    }

    pub fn lock(&self, vault_id: Option<&str>) -> Result<usize> {
        Ok(self
            .client
            .secrets_lock(vault_id)
            .map_err(client_err)?
            .dropped)
    }

    pub fn status(&self) -> Result<DaemonView> {
        let s = self.client.secrets_status().map_err(client_err)?;
        Ok(DaemonView {
            vaults: s
                .vaults
                .into_iter()
                .map(|v| VaultStatus {
                    vault_id: v.vault_id,
                    locked: v.locked,
                    names: v.names,
                    expires_in_secs: v.expires_in_secs,
                    max_expires_in_secs: v.max_expires_in_secs,
                })
                .collect(),
            confirm: s.confirm,
            cockpit_attached: s.cockpit_attached,
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
